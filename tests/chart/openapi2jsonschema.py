#!/usr/bin/env python3
"""Writes kubeconform's schema folder from a kube-apiserver's /openapi/v2 document.

    openapi2jsonschema.py OPENAPI_V2_JSON OUT_DIR

One standalone JSON schema per kind the server serves, CRDs included, named as
kubeconform looks them up with -schema-location 'OUT_DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json'
(deployment-apps-v1.json, service-v1.json, gotestrun-gotestrun-v1alpha1.json).
Strict, as the "-strict" schemas kubeconform is used with: an object that lists its
properties accepts no others unless it says so. $refs are inlined; a reference back into
a definition being expanded (JSONSchemaProps inside a CRD) is left open ({}).
IntOrString and Quantity accept a string or a number, as the API server does.
"""
import json
import os
import sys

LOOSE = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"oneOf": [{"type": "string"}, {"type": "number"}]},
}


def expand(node, definitions, stack):
    if isinstance(node, list):
        return [expand(n, definitions, stack) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].split("/")[-1]
        if name in LOOSE:
            return dict(LOOSE[name])
        if name in stack:
            return {}
        return expand(definitions[name], definitions, stack + [name])
    out = {}
    for key, value in node.items():
        if key == "format" and value == "int-or-string":
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {k: expand(v, definitions, stack) for k, v in value.items()}
        else:
            out[key] = expand(value, definitions, stack)
    if node.get("format") == "int-or-string" or node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["oneOf"] = [{"type": "string"}, {"type": "integer"}]
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def file_name(group, version, kind):
    suffix = "-" + (group.split(".")[0] + "-" + version if group else version)
    return (kind + suffix).lower() + ".json"


def main():
    spec = json.load(open(sys.argv[1]))
    out_dir = sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    definitions = spec["definitions"]
    written = 0
    for name, definition in definitions.items():
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            schema = expand(definition, definitions, [name])
            schema["$schema"] = "http://json-schema.org/schema#"
            props = schema.setdefault("properties", {})
            api_version = (gvk["group"] + "/" if gvk["group"] else "") + gvk["version"]
            props["apiVersion"] = {"type": "string", "enum": [api_version]}
            props["kind"] = {"type": "string", "enum": [gvk["kind"]]}
            with open(os.path.join(out_dir, file_name(gvk["group"], gvk["version"], gvk["kind"])), "w") as f:
                json.dump(schema, f)
            written += 1
    print(f"{written} schemas in {out_dir}", file=sys.stderr)
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
