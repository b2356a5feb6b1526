#!/usr/bin/env python3
"""Vendors the part of Stripe's OpenAPI spec the emulator serves.

Reads Stripe's published spec (stripe/openapi, MIT), keeps the operations listed in
`operations.txt` and the component schemas their responses reach, drops prose, applies
`overlay.json` (the documented endive differences) and writes `stripe-subset.json`,
which the emulator embeds at build time (`src/spec/`).

    python3 stripe-emulator/spec/extract.py [path/to/spec3.json]

Default input: ../shared/stripe-openapi/spec3.json beside the project. Run it again after
changing the served operations or the overlay, and commit its output.
"""

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_SPEC = HERE.parents[2] / "shared" / "stripe-openapi" / "spec3.json"
# What validation reads; everything else (descriptions, titles, examples) is dropped.
KEEP = {
    "type", "properties", "required", "additionalProperties", "items", "anyOf", "oneOf",
    "allOf", "enum", "maxLength", "nullable", "format", "$ref", "x-stripeBypassValidation",
}
FORM = "application/x-www-form-urlencoded"


def strip(node):
    """The schema without prose; `properties` keeps every name."""
    if isinstance(node, list):
        return [strip(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: strip(s) for name, s in value.items()}
        elif key in KEEP:
            out[key] = strip(value)
    return out


def refs(node, found=None):
    """Names of the component schemas `node` references, not following expandable
    fields (a string id or, when expanded, another object: `x-expansionResources`)."""
    found = set() if found is None else found
    if isinstance(node, list):
        for n in node:
            refs(n, found)
    elif isinstance(node, dict) and "x-expansionResources" not in node:
        if "$ref" in node:
            found.add(node["$ref"].rsplit("/", 1)[-1])
        for value in node.values():
            refs(value, found)
    return found


def apply_overlay(spec, overlay):
    """Sets each entry's `value` at its `target` (a list of keys into the spec)."""
    for entry in overlay["entries"]:
        *parents, last = entry["target"]
        node = spec
        for part in parents:
            node = node[part]
        node[last] = entry["value"]


def main():
    spec = json.loads(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SPEC).read_text())
    apply_overlay(spec, json.loads((HERE / "overlay.json").read_text()))
    schemas = spec["components"]["schemas"]
    operations, roots = {}, set()
    for line in (HERE / "operations.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        method, path = line.split()
        op = spec["paths"][path][method.lower()]
        query = [p for p in op.get("parameters", []) if p["in"] == "query"]
        body = op.get("requestBody", {}).get("content", {}).get(FORM, {}).get("schema")
        if query:
            body = {
                "type": "object",
                "properties": {p["name"]: p["schema"] for p in query},
                "required": [p["name"] for p in query if p.get("required")],
                "additionalProperties": False,
            }
        response = op["responses"]["200"]["content"]["application/json"]["schema"]
        roots |= refs(response)
        operations[f"{method} {path}"] = {
            "params": strip(body or {"type": "object", "properties": {}}),
            "response": response,
        }
    # Every schema a served response reaches, except through expandable fields.
    kept, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name not in kept:
            kept.add(name)
            todo.extend(refs(schemas[name]) - kept)
    # An expandable field's object is checked only when the emulator serves that object.
    for op in operations.values():
        op["response"] = strip(prune(op["response"], kept))
    out = {}
    for name in sorted(kept):
        out[name] = strip(prune(schemas[name], kept))
    subset = {"version": spec["info"]["version"], "operations": operations, "schemas": out}
    (HERE / "stripe-subset.json").write_text(json.dumps(subset, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"{len(operations)} operations, {len(out)} schemas")


def prune(node, kept):
    """In expandable fields, replaces objects the emulator does not serve by an unchecked object."""
    if isinstance(node, list):
        return [prune(n, kept) for n in node]
    if not isinstance(node, dict):
        return node
    if "x-expansionResources" in node:
        node = {k: v for k, v in node.items() if k != "x-expansionResources"}
        node["anyOf"] = [
            {"type": "object"} if "$ref" in alt and alt["$ref"].rsplit("/", 1)[-1] not in kept else alt
            for alt in node.get("anyOf", [])
        ]
    return {k: prune(v, kept) for k, v in node.items()}


if __name__ == "__main__":
    main()
