#!/usr/bin/env python3
"""Checks recorded AWS requests against botocore's service models, as boto3 would before
sending them: each request's operation must exist in the service's model and its parameters
must pass botocore's ParamValidator against the operation's input shape (unknown members,
wrong types and missing required members are errors).

Input: a JSON file with a list of {"signingName", "target", "contentType", "body"} as the
test proxy recorded them. JSON-protocol bodies (awsJson1_0/1_1) are the input shape itself;
query-protocol bodies (ELBv2) are decoded from their flattened form through the model.
Exit status 0 when every request is valid; prints one line per problem otherwise.
"""
import json
import sys
import urllib.parse

import botocore.session
from botocore.validate import ParamValidator

SIGNING_TO_SERVICE = {"elasticloadbalancing": "elbv2"}


def decode_query(params, shape, prefix, errors, used):
    """Builds the input dict for `shape` from flattened query params under `prefix`."""
    t = shape.type_name
    if t == "structure":
        out = {}
        for name, member in shape.members.items():
            key = f"{prefix}.{name}" if prefix else name
            if any(k == key or k.startswith(key + ".") for k in params):
                out[name] = decode_query(params, member, key, errors, used)
        return out
    if t == "list":
        items = []
        i = 1
        while any(k == f"{prefix}.member.{i}" or k.startswith(f"{prefix}.member.{i}.") for k in params):
            items.append(decode_query(params, shape.member, f"{prefix}.member.{i}", errors, used))
            i += 1
        if prefix in params:  # an empty list is sent as `Name=`
            used.add(prefix)
        return items
    if t == "map":
        out = {}
        i = 1
        while f"{prefix}.entry.{i}.key" in params:
            k = decode_query(params, shape.key, f"{prefix}.entry.{i}.key", errors, used)
            out[k] = decode_query(params, shape.value, f"{prefix}.entry.{i}.value", errors, used)
            i += 1
        return out
    used.add(prefix)
    raw = params.get(prefix)
    if t in ("integer", "long"):
        return int(raw)
    if t in ("float", "double"):
        return float(raw)
    if t == "boolean":
        if raw not in ("true", "false"):
            errors.append(f"{prefix}: {raw!r} is not a boolean")
        return raw == "true"
    return raw


def main():
    records = json.load(open(sys.argv[1]))
    session = botocore.session.get_session()
    validator = ParamValidator()
    models = {}
    problems = 0
    for i, r in enumerate(records):
        service = SIGNING_TO_SERVICE.get(r["signingName"], r["signingName"])
        if service not in models:
            models[service] = session.get_service_model(service)
        model = models[service]
        errors = []
        if r["target"]:
            operation = r["target"].split(".", 1)[1]
            params = json.loads(r["body"] or "{}")
        else:
            flat = dict(urllib.parse.parse_qsl(r["body"], keep_blank_values=True))
            operation = flat.pop("Action", None)
            flat.pop("Version", None)
            params = None
        try:
            op = model.operation_model(operation)
        except Exception as e:
            print(f"[{i}] {service}.{operation}: unknown operation: {e}")
            problems += 1
            continue
        if params is None:
            used = set()
            params = decode_query(flat, op.input_shape, "", errors, used) if op.input_shape else {}
            for k in sorted(set(flat) - used):
                errors.append(f"unknown parameter {k}")
        if op.input_shape is not None:
            report = validator.validate(params, op.input_shape)
            if report.has_errors():
                errors.append(report.generate_report())
        for e in errors:
            print(f"[{i}] {service}.{operation}: {e}")
        problems += bool(errors)
    print(f"{len(records)} requests checked against botocore {botocore.__version__}; {problems} invalid")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
