#!/usr/bin/env python3
"""Validates objects rendered by the target plugins against the real upstream schemas.

- Kubernetes objects (anything with apiVersion and kind) go through the PyPI package
  `kubernetes-validate` in strict mode, so unknown fields are errors.
- Typed AWS operations (contract version 2: objects with an `op` tag, as the ECS plugin
  renders them): every field the host passes to AWS unchanged is checked against the
  botocore service model's shape for it (enums such as `networkMode`, `launchType`,
  `requiresCompatibilities`, health-check protocols and predefined metrics; names' length
  limits), and an unknown `op` fails. The requests the host builds from them are checked
  whole against botocore in `runner/deploy-ecs/tests` (`check_requests.py`).

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
# op tag -> [(field path, service, shape name)]: values passed to AWS as they are.
TYPED_FIELDS = {
    "logGroup": [("name", "logs", "LogGroupName")],
    "secret": [],
    "taskDefinition": [("family", "ecs", "String"), ("networkMode", "ecs", "NetworkMode"),
                       ("requiresCompatibilities[]", "ecs", "Compatibility")],
    "targetGroup": [("name", "elbv2", "TargetGroupName"), ("protocol", "elbv2", "ProtocolEnum"),
                    ("targetType", "elbv2", "TargetTypeEnum"),
                    ("healthCheck.protocol", "elbv2", "ProtocolEnum")],
    "listenerRule": [("priority", "elbv2", "RulePriority")],
    "service": [("launchType", "ecs", "LaunchType")],
    "scalableTarget": [],
    "scalingPolicy": [("name", "application-autoscaling", "PolicyName")],
}


def load_objects(path):
    with open(path) as f:
        data = json.load(f)
    return data if isinstance(data, list) else [data]


class Checker:
    def __init__(self, k8s_version):
        import botocore.session
        import kubernetes_validate

        self.kv = kubernetes_validate
        self.k8s_version = k8s_version
        self.session = botocore.session.get_session()
        self.models = {}

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

    def check_typed(self, obj):
        op = obj.get("op")
        if op not in TYPED_FIELDS:
            return [f"unknown AWS operation {op!r}"]
        errors = []
        for path, service, shape_name in TYPED_FIELDS[op]:
            values = [obj]
            for step in path.split("."):
                many = step.endswith("[]")
                step = step.rstrip("[]")
                values = [v.get(step) for v in values if isinstance(v, dict) and v.get(step) is not None]
                if many:
                    values = [x for v in values for x in v]
            shape = self.model(service).shape_for(shape_name)
            for v in values:
                problem = _against(shape, v)
                if problem:
                    errors.append(f"{op}.{path} = {v!r} ({service} {shape_name}): {problem}")
        return errors

    def check(self, obj):
        if isinstance(obj, dict) and "op" in obj:
            return "aws", self.check_typed(obj)
        if isinstance(obj, dict) and "apiVersion" in obj and "kind" in obj:
            return "k8s", self.check_k8s(obj)
        return "?", [f"not a Kubernetes object nor an AWS operation: {json.dumps(obj)[:120]}"]


def _against(shape, v):
    """What is wrong with `v` as a value of a botocore scalar shape: its type, enum,
    length limits and numeric range (botocore's ParamValidator checks neither enums nor
    maximums, which AWS enforces)."""
    m = shape.metadata
    if shape.type_name == "string":
        if not isinstance(v, str):
            return "not a string"
        if shape.enum and v not in shape.enum:
            return f"not one of {shape.enum}"
        if len(v) < m.get("min", 0) or len(v) > m.get("max", len(v)):
            return f"length {len(v)} outside {m.get('min', 0)}..{m.get('max')}"
    elif shape.type_name in ("integer", "long"):
        if not isinstance(v, int) or isinstance(v, bool):
            return "not an integer"
        if v < m.get("min", v) or v > m.get("max", v):
            return f"outside {m.get('min')}..{m.get('max')}"
    return None


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
            label = obj.get("kind") or obj.get("op") if isinstance(obj, dict) else "?"
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
