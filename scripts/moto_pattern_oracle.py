#!/usr/bin/env python3
"""moto's EventBridge pattern matcher as an oracle for the differential test.

Reads a JSON list of {"pattern": {...}, "event": {...}} on stdin and writes a JSON list of
true/false (or {"error": "..."} for a pattern moto refuses) on stdout. Runs in-process: no
server, no network.
"""
import json
import sys

from moto.events.models import EventPattern, EventPatternParser


def main():
    cases = json.load(sys.stdin)
    out = []
    for case in cases:
        try:
            pattern = EventPatternParser(json.dumps(case["pattern"])).parse()
            out.append(bool(EventPattern(None, pattern).matches_event(case["event"])))
        except Exception as e:  # moto refusing a pattern is an answer, not a crash
            out.append({"error": f"{type(e).__name__}: {e}"})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
