#!/usr/bin/env python3
"""Transforms infra/template.yaml into plain CloudFormation, offline.

cfn-lint 1.58+ validates SAM resources by schema only and no longer runs the SAM transform,
so wrong runtimes, timeouts and policies inside the generated resources would go unseen. This
runs aws-sam-translator locally (managed policy ARNs from its bundled table, no IAM call),
with the local paths `sam package` would upload replaced by placeholders and the workflow
definition inlined, and writes target/template.cfn.json for cfn-lint.

usage: sam_transform.py [template] [output]
"""
import json
import os
import sys

# The translator needs a region for pseudo parameters; any will do, nothing is called.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

from cfnlint.decode import cfn_yaml
from samtranslator.translator.transform import transform

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED_POLICIES = os.path.join(os.path.dirname(__import__("samtranslator").__file__), "internal/data/aws_managed_policies.json")


class BundledManagedPolicies:
    """The translator's managed-policy loader, from the table it ships (aws partition)."""

    def load(self):
        with open(BUNDLED_POLICIES) as f:
            return json.load(f)["aws"]


def plain(value):
    """cfn-lint's YAML nodes → plain Python values (the translator deep-copies the template)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def compact_joins(value):
    """Merges adjacent literal parts of every Fn::Join: the same string, in fewer parts.

    SAM writes an inline state machine definition as a Fn::Join of one part per line; with
    about a thousand lines cfn-lint's Fn::Join check exceeds Python's recursion limit."""
    if isinstance(value, dict):
        if set(value) == {"Fn::Join"} and isinstance(value["Fn::Join"], list) and len(value["Fn::Join"]) == 2:
            delimiter, parts = value["Fn::Join"]
            if isinstance(delimiter, str) and isinstance(parts, list):
                sequence = []
                for i, part in enumerate(compact_joins(p) for p in parts):
                    if i:
                        sequence.append(delimiter)
                    sequence.append(part)
                merged = []
                for item in sequence:
                    if merged and isinstance(item, str) and isinstance(merged[-1], str):
                        merged[-1] += item
                    else:
                        merged.append(item)
                return {"Fn::Join": ["", merged]}
        return {k: compact_joins(v) for k, v in value.items()}
    if isinstance(value, list):
        return [compact_joins(v) for v in value]
    return value


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "infra/template.yaml")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "target/template.cfn.json")
    template = plain(cfn_yaml.load(src))
    base = os.path.dirname(src)
    for name, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = f"s3://sam-package-placeholder/{name}.zip"
        if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            with open(os.path.join(base, props.pop("DefinitionUri"))) as f:
                props["Definition"] = json.load(f)
    parameters = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    # Metadata passes through, so the checkov skips (with their reasons) travel with the resources.
    cfn = compact_joins(transform(template, parameters, BundledManagedPolicies(), passthrough_metadata=True))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(cfn, f, indent=1)
    print(f"transformed {src} → {out}: {len(cfn.get('Resources', {}))} CloudFormation resources")


if __name__ == "__main__":
    main()
