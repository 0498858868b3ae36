#!/usr/bin/env python3
"""Writes seed inputs from the repository's policies (policies/**/*.json) into a corpus folder.

    python3 fuzz/seed.py fuzz/corpus-work

makes OUT/parse_policy/ (every policy document: the conformance cases' policies and validation
texts, the ECR user guide examples, the managed policies, the demo identities) and OUT/simulate/
(one SimulateCustomPolicy request per conformance case). The `evaluate` target takes `arbitrary`
input, not JSON: it reaches the same policies and request fields through the table that
fuzz/build.rs compiles into it. Files are named by the SHA-1 of their content, as libFuzzer names
its own, so seeding twice adds nothing.
"""

import hashlib
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def policy_docs(value, found):
    """Every policy document (object with Statement) or raw policy text in a JSON value."""
    if isinstance(value, dict):
        if "Statement" in value:
            found.append(json.dumps(value, indent=2))
            return
        for v in value.values():
            policy_docs(v, found)
    elif isinstance(value, list):
        for v in value:
            policy_docs(v, found)
    elif isinstance(value, str) and value.lstrip().startswith("{"):
        found.append(value)


def as_text(policy):
    return policy if isinstance(policy, str) else json.dumps(policy, indent=2)


def simulate_requests(doc):
    """One SimulateCustomPolicy request per case of an evaluation file."""
    policies = doc.get("policies") or {}
    for case in doc.get("cases") or []:
        req = {"PolicyInputList": [as_text(p) for p in policies.get("identity") or []], "ActionNames": [case["action"]]}
        if "boundary" in policies:
            req["PermissionsBoundaryPolicyInputList"] = [as_text(policies["boundary"])]
        if "resource" in policies:
            req["ResourcePolicy"] = as_text(policies["resource"])
        if case.get("resource", "*") != "*":
            req["ResourceArns"] = [case["resource"]]
        if "resource_owner" in case:
            req["ResourceOwner"] = case["resource_owner"]
        if "principal" in case:
            req["CallerArn"] = case["principal"]
        entries = []
        for c in case.get("context") or []:
            entries.append({"ContextKeyName": c["key"], "ContextKeyValues": c["values"], "ContextKeyType": c["type"]})
        if entries:
            req["ContextEntries"] = entries
        yield json.dumps(req, indent=1)


def write(folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    data = text.encode()
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "fuzz" / "corpus-work")
    counts = {"parse_policy": 0, "simulate": 0}
    for path in sorted((ROOT / "policies").rglob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            continue
        found = []
        policy_docs(doc, found)
        for text in found:
            write(out / "parse_policy", text)
            counts["parse_policy"] += 1
        if isinstance(doc, dict):
            for req in simulate_requests(doc):
                write(out / "simulate", req)
                counts["simulate"] += 1
    for target, n in counts.items():
        print(f"{target}: {n} seeds in {out / target}")


if __name__ == "__main__":
    main()
