#!/usr/bin/env python3
"""Validates objects rendered by the target plugins against the real upstream schemas.

- Kubernetes objects (anything with apiVersion and kind) go through the PyPI package
  `kubernetes-validate` in strict mode, so unknown fields are errors.
- AWS requests (objects with service, operation and input, as the ECS plugin renders them)
  go through botocore's ParamValidator against the operation's input shape of the service
  model (`botocore.session.get_session().get_service_model(service)`), as boto3 would before
  sending them; an `onExists` fallback request is checked the same way.
  `${id.path}` output placeholders are strings and are checked as such.

Input: files or directories of JSON; a file holds one object or a list of objects.
Default: every `*.golden.json` under plugins/*/testdata/render/.
Run scripts/setup-python.sh first. Exit status 0 when everything is valid, 1 otherwise.
"""
import argparse
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AWS_SERVICES = {"ecs", "elbv2", "logs", "application-autoscaling"}


def load_objects(path):
    with open(path) as f:
        data = json.load(f)
    return data if isinstance(data, list) else [data]


class Checker:
    def __init__(self, k8s_version):
        import botocore.session
        from botocore.validate import ParamValidator
        import kubernetes_validate

        self.kv = kubernetes_validate
        self.k8s_version = k8s_version
        self.session = botocore.session.get_session()
        self.models = {}
        self.param_validator = ParamValidator()

    def model(self, service):
        if service not in self.models:
            self.models[service] = self.session.get_service_model(service)
        return self.models[service]

    def check_k8s(self, obj):
        try:
            self.kv.validate(obj, self.k8s_version, strict=True)
        except self.kv.ValidationError as e:
            where = "/".join(str(p) for p in e.path)
            return [f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}: {where}: {e.message}"]
        except Exception as e:  # Unknown kind/version and similar.
            return [f"{obj.get('kind')}: {type(e).__name__}: {e}"]
        return []

    def check_aws_request(self, service, operation, params):
        if service not in AWS_SERVICES:
            return [f"{service}.{operation}: unexpected service {service!r}"]
        try:
            op = self.model(service).operation_model(operation)
        except Exception as e:
            return [f"{service}.{operation}: unknown operation: {e}"]
        report = self.param_validator.validate(params, op.input_shape)
        if report.has_errors():
            return [f"{service}.{operation}: {report.generate_report()}"]
        return []

    def check_aws(self, obj):
        service, operation = obj.get("service"), obj.get("operation")
        errors = self.check_aws_request(service, operation, obj.get("input", {}))
        alt = obj.get("onExists")
        if alt:
            errors += self.check_aws_request(service, alt.get("operation"), alt.get("input", {}))
        return errors

    def check(self, obj):
        if isinstance(obj, dict) and "apiVersion" in obj and "kind" in obj:
            return "k8s", self.check_k8s(obj)
        if isinstance(obj, dict) and {"service", "operation", "input"} <= obj.keys():
            return "aws", self.check_aws(obj)
        return "?", [f"not a Kubernetes object nor an AWS request: {json.dumps(obj)[:120]}"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", help="JSON files or directories (default: the plugins' golden renders)")
    parser.add_argument("--k8s-version", default=None, help="Kubernetes schema version (default: newest known)")
    args = parser.parse_args()

    files = []
    for p in args.paths or [os.path.join(ROOT, "plugins")]:
        if os.path.isdir(p):
            pattern = "**/testdata/render/*.golden.json" if not args.paths else "**/*.json"
            files += sorted(glob.glob(os.path.join(p, pattern), recursive=True))
        else:
            files.append(p)
    if not files:
        print("check_rendered: no input files", file=sys.stderr)
        return 1

    try:
        from kubernetes_validate.utils import latest_version
        version = args.k8s_version or latest_version()
        checker = Checker(version)
    except ImportError as e:
        print(f"check_rendered: {e}; run scripts/setup-python.sh", file=sys.stderr)
        return 1

    passed = failed = 0
    for path in files:
        rel = os.path.relpath(path, ROOT)
        for i, obj in enumerate(load_objects(path)):
            kind, errors = checker.check(obj)
            label = obj.get("kind") or obj.get("operation") if isinstance(obj, dict) else "?"
            if errors:
                failed += 1
                for e in errors:
                    print(f"FAIL {rel}[{i}] ({kind} {label}): {e}")
            else:
                passed += 1
    print(f"kubernetes schema version {version}; botocore {__import__('botocore').__version__}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
