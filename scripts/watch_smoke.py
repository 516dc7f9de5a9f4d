#!/usr/bin/env python3
"""Every function under `cargo lambda watch`, answering `cargo lambda invoke` on its samples.

Starts `cargo lambda watch` with events/watch.env (in-memory backend, seeded), invokes every
sample of events/manifest.json with `cargo lambda invoke` (or only those of the functions
named on the command line), checks each answer against the sample's expectation (its
`expectUnderWatch` when the real clock or the disabled replay window makes it differ), and
stops the watcher. Exits non-zero on any mismatch. Loopback only.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def contains(expected, actual, path=""):
    """The output contains the expected value (same rule as lambda_support::samples::contains)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k, v in expected.items():
            if k not in actual:
                return f"{path}/{k} is missing"
            err = contains(v, actual[k], f"{path}/{k}")
            if err:
                return err
        return None
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (e, a) in enumerate(zip(expected, actual)):
            err = contains(e, a, f"{path}/{i}")
            if err:
                return err
        return None
    return None if expected == actual else f"{path}: expected {expected!r}, got {actual!r}"


def check(expect, ok, value):
    if not ok:
        if expect.get("errorType") != value:
            return f"unexpected error {value}"
        return None
    if "errorType" in expect:
        return f"expected error {expect['errorType']}, got output"
    if "status" in expect and value.get("statusCode") != expect["status"]:
        return f"expected HTTP {expect['status']}, got {value.get('statusCode')}"
    if "output" in expect:
        # An HTTP function's body is JSON text, as API Gateway hands it on: compare it parsed,
        # as the handler tests do.
        if isinstance(value, dict) and isinstance(value.get("body"), str):
            try:
                value = dict(value, body=json.loads(value["body"]))
            except ValueError:
                pass
        return contains(expect["output"], value)
    return None


def main():
    only = set(sys.argv[1:])
    manifest = json.load(open(os.path.join(ROOT, "events/manifest.json")))
    samples = [s for s in manifest["samples"] if not only or s["function"] in only]
    env = dict(os.environ, PATH=os.path.join(ROOT, ".venv/bin") + os.pathsep + os.environ["PATH"], NO_COLOR="1")
    # Build the binaries first, so the first invocation does not wait for a compile.
    bins = sorted({s["function"] for s in samples})
    subprocess.run(["cargo", "build", "--quiet"] + [a for b in bins for a in ("--bin", b)], cwd=ROOT, env=env, check=True)
    port = free_port()
    log = open(os.path.join(ROOT, "target", "watch-smoke.log"), "w")
    watcher = subprocess.Popen(
        ["cargo", "lambda", "watch", "--ignore-changes", "--invoke-address", "127.0.0.1", "--invoke-port", str(port),
         "--env-file", "events/watch.env",
         # The pre-traffic hook reaches the watcher's functions through its Invoke API.
         "--env-var", f"AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    failures = []
    try:
        deadline = time.time() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if watcher.poll() is not None or time.time() > deadline:
                    sys.exit(f"cargo lambda watch did not start; see target/watch-smoke.log")
                time.sleep(0.5)
        for s in samples:
            cmd = ["cargo", "lambda", "invoke", "--invoke-address", "127.0.0.1", "--invoke-port", str(port),
                   s["function"], "--data-file", os.path.join("events", s["file"])]
            try:
                r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                # A function that failed its init under watch (its process exits, the invoke
                # waits for an answer that never comes): say why instead of waiting on.
                log.flush()
                tail = open(os.path.join(ROOT, "target", "watch-smoke.log")).read().splitlines()[-15:]
                sys.exit(f"{s['function']} did not answer {s['file']} within 120 s; the end of target/watch-smoke.log:\n  "
                         + "\n  ".join(tail))
            if r.returncode == 0:
                ok, value = True, json.loads(r.stdout.strip().splitlines()[-1])
            else:
                m = re.search(r"Error: (\S+)", r.stdout + r.stderr)
                ok, value = False, m.group(1) if m else (r.stderr.strip() or "no output")
            expect = s.get("expectUnderWatch") or s["expect"]
            problem = check(expect, ok, value)
            print(f"{'ok  ' if not problem else 'FAIL'} {s['function']:<14} {s['file']}" + (f": {problem}" if problem else ""))
            if problem:
                failures.append(s["file"])
    finally:
        os.killpg(watcher.pid, signal.SIGTERM)
        try:
            watcher.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(watcher.pid, signal.SIGKILL)
    print(f"{len(samples) - len(failures)}/{len(samples)} samples answered as expected under cargo lambda watch")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
