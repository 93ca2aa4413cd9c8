#!/usr/bin/env python3
"""Writes api/openapi/openshift-4.19.json: the OpenShift kinds' definitions for OpenAPI v3.

Reads openshift/api's openapi/openapi.json (Swagger 2.0 definitions) and keeps the definitions
of the OpenShift kinds the scheme serves (api/src/scheme/builtin.rs) and everything they reference,
except the io.k8s.* definitions: the server takes those from k8s-openapi, as it does for the
Kubernetes kinds, so one copy of each is shared. References point into components/schemas,
and a reference with siblings (description, default) becomes `allOf: [{$ref}]` with them, as
in upstream's v3 documents.

Usage: hack/gen-openshift-schemas.py [path/to/openapi.json]
(default: ../shared/spec/openshift-api/openapi.json, from the repository's root)
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEME = ROOT / "api" / "src" / "scheme" / "builtin.rs"
OUTPUT = ROOT / "api" / "openapi" / "openshift-4.19.json"
DEFAULT_SOURCE = ROOT.parent / "shared" / "spec" / "openshift-api" / "openapi.json"

V2_PREFIX = "#/definitions/"
V3_PREFIX = "#/components/schemas/"

# io.k8s definitions to keep from the file because k8s-openapi has no type of that name
# (none today: api/src/schemas.rs registers each referenced one from k8s-openapi).
KEEP_KUBERNETES = set()

RESOURCE = re.compile(
    r'resource!\(\s*"([a-z0-9.-]+\.openshift\.io)"\s*/\s*"([a-z0-9]+)"\s*,\s*"([A-Za-z0-9]+)"'
)


def definition_name(group, version, kind):
    """As api::schemas::schema_name: the package is the group without `.openshift.io` and
    without dots (security.internal.openshift.io -> securityinternal)."""
    package = group[: -len(".openshift.io")].replace(".", "")
    return f"com.github.openshift.api.{package}.{version}.{kind}"


def served_kinds():
    return sorted(set(RESOURCE.findall(SCHEME.read_text())))


def references(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item[len(V2_PREFIX) :] if item.startswith(V2_PREFIX) else item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def to_v3(value):
    """References into components/schemas; a reference with siblings as an `allOf` of one."""
    if isinstance(value, list):
        return [to_v3(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: to_v3(item) for key, item in value.items() if key != "$ref"}
    if "$ref" in value:
        ref = {"$ref": V3_PREFIX + value["$ref"][len(V2_PREFIX) :]}
        if out:
            out["allOf"] = [ref]
        else:
            out = ref
    return out


def main():
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    definitions = json.loads(source.read_text())["definitions"]
    roots = [definition_name(*k) for k in served_kinds()]
    missing = [r for r in roots if r not in definitions]
    if missing:
        sys.exit(f"no definition for served kinds: {', '.join(missing)}")

    kept, kubernetes, pending = set(), set(), list(roots)
    while pending:
        name = pending.pop()
        if name in kept:
            continue
        if name.startswith("io.k8s.") and name not in KEEP_KUBERNETES:
            kubernetes.add(name)
            continue
        if name not in definitions:
            sys.exit(f"unresolved reference: {name}")
        kept.add(name)
        pending.extend(references(definitions[name]))

    out = {name: to_v3(definitions[name]) for name in sorted(kept)}
    # One definition per line: small, and a regeneration diffs by definition.
    lines = [
        json.dumps(name) + ":" + json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        for name, schema in out.items()
    ]
    text = '{"definitions":{\n' + ",\n".join(lines) + "\n}}\n"
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"{OUTPUT.relative_to(ROOT)}: {len(out)} definitions, {len(text.encode())} bytes", file=sys.stderr)
    print(f"served kinds: {len(roots)}", file=sys.stderr)
    print("io.k8s definitions taken from k8s-openapi:", file=sys.stderr)
    for name in sorted(kubernetes):
        print(f"  {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
