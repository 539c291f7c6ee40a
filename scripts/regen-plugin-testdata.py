#!/usr/bin/env python3
"""Regenerates the JSON test fixtures from the YAML sources in testdata/yaml/.

The plugin crates have no YAML parser (they receive JSON), so tests read JSON files.
Sources: the seed user guide's examples (copied verbatim) and the conformance corpus's
built outputs (shared/conformance/kustomize/*/expected.yaml). Built overlays of the seed's
patches are merged here the way kustomize merges a custom kind: maps merge key by key,
lists and scalars are replaced, null deletes.
Run from anywhere: python3 scripts/regen-plugin-testdata.py plugins/<crate>
"""
import json, os, sys
import yaml

if len(sys.argv) != 2:
    sys.exit("usage: regen-plugin-testdata.py plugins/<crate>")
HERE = os.path.join(os.path.abspath(sys.argv[1]), "testdata")

def merge(base, patch):
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return patch
    out = dict(base)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        elif k in out:
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out

def main():
    src = os.path.join(HERE, "yaml")
    docs = {}
    for name in sorted(os.listdir(src)):
        if name.endswith(".yaml"):
            with open(os.path.join(src, name)) as f:
                docs[name[:-5]] = yaml.safe_load(f)
    if "seed-base" in docs:
        for overlay in ("prod", "local"):
            patch = docs.get(f"seed-{overlay}-patch")
            if patch is not None:
                docs[f"seed-{overlay}-built"] = merge(docs["seed-base"], patch)
    # Overlay patches are not whole manifests (no spec.version, for one): they go to
    # patches/, apart from the manifests/ that must validate clean.
    for sub in ("manifests", "patches"):
        os.makedirs(os.path.join(HERE, sub), exist_ok=True)
    for name, doc in sorted(docs.items()):
        out_dir = os.path.join(HERE, "patches" if name.endswith("-patch") else "manifests")
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    print(f"wrote {len(docs)} fixtures to {HERE}", file=sys.stderr)

if __name__ == "__main__":
    main()
