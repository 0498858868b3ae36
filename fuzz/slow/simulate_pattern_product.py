#!/usr/bin/env python3
"""Writes SimulateCustomPolicy requests that take seconds to evaluate (fuzz/README.md, open findings).

    python3 fuzz/slow/simulate_pattern_product.py OUT_DIR
    cargo fuzz run --sanitizer none -a simulate OUT_DIR/<name>.json -- -timeout=100

Each request is under 1 MiB (warden sidecar's default body limit) and within
`SimulateLimits::default()`. A condition's time is (patterns) × (context values) × (value length):
every pattern is matched against every value, each match linear in the value. A policy of ~10^4
patterns against ~10^6 characters of context values costs ~10^10 steps. Times seen with a release
build of warden-policy on this project's 2-core machine are given per request.

Not in regressions/: CI replays those and would time out until the engine bounds this work.
"""

import json
import pathlib
import sys


def policy(condition):
    stmt = {"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": condition}
    return json.dumps({"Version": "2012-10-17", "Statement": [stmt]}, separators=(",", ":"))


def request(condition, key, values, ty):
    return {
        "PolicyInputList": [policy(condition)],
        "ActionNames": ["ecr:BatchGetImage"],
        "ContextEntries": [{"ContextKeyName": key, "ContextKeyValues": values, "ContextKeyType": ty}],
    }


REQUESTS = {
    # 12,000 patterns × one 900,001-character value: 13.4 s.
    "one-value": request({"StringLike": {"aws:username": ["*c*b"] * 12000}}, "aws:username", ["a" * 900000 + "b"], "string"),
    # ForAnyValue: 12,000 patterns × 1,000 values of 880 characters: 13.5 s.
    "for-any-value": request(
        {"ForAnyValue:StringLike": {"aws:TagKeys": ["*c*b"] * 12000}}, "aws:TagKeys", ["a" * 879 + "b"] * 1000, "stringList"
    ),
    # One pattern of 40,000 `?a` segments × one 900,001-character value: 2.7 s (the `?` bound,
    # segment × text / 64, of warden_policy::wildcard).
    "question-marks": request({"StringLike": {"aws:username": "*" + "?a" * 40000 + "*b"}}, "aws:username", ["a" * 900000 + "b"], "string"),
}


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "fuzz/artifacts/simulate-slow")
    out.mkdir(parents=True, exist_ok=True)
    for name, req in REQUESTS.items():
        text = json.dumps(req, separators=(",", ":"))
        assert len(text) < 1024 * 1024, name
        (out / f"{name}.json").write_text(text)
        print(f"{out / name}.json: {len(text)} bytes")


if __name__ == "__main__":
    main()
