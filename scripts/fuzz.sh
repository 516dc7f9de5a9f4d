#!/usr/bin/env bash
# `make fuzz`: every fuzz target (crates/fuzz-targets) under AFL++ through cargo-afl, on the
# stable toolchain, EXECS executions each (default 1,000,000), seeded from events/. Prints
# executions, speed, coverage and findings per target and fails on any crash or hang, naming
# the inputs to turn into unit tests. TARGETS="a b" runs some targets only.
set -euo pipefail
cd "$(dirname "$0")/.."
EXECS=${EXECS:-1000000}
# release for the long runs; CI's short smoke builds the harness in debug (minutes less to
# build, and 20,000 executions need no speed).
FUZZ_PROFILE=${FUZZ_PROFILE:-release}
OUT=target/fuzz
export PATH="$PWD/.local/cargo-afl/bin:$PATH"

if ! command -v cargo-afl >/dev/null; then
  echo "[fuzz] installing cargo-afl 0.18.2 into .local/cargo-afl (from crates.io)"
  cargo install cargo-afl --locked --version 0.18.2 --root .local/cargo-afl
fi
# AFL++ itself, built once per Rust toolchain (cargo-afl carries its source).
if ! built=$(cargo afl config --build 2>&1); then
  grep -q "already built" <<<"$built" || { echo "$built" >&2; exit 1; }
fi
cargo build -q -p fuzz-targets --bin fuzz-corpus
if [ "$FUZZ_PROFILE" = release ]; then
  cargo afl build -q --release --manifest-path fuzz/Cargo.toml
else
  cargo afl build -q --manifest-path fuzz/Cargo.toml
fi

rm -rf "$OUT"
mkdir -p "$OUT/out"
REPO_ROOT="$PWD" target/debug/fuzz-corpus "$OUT/seeds" >/dev/null
TARGETS=${TARGETS:-$(ls "$OUT/seeds")}

printf '%-18s %12s %10s %9s %8s %8s %7s\n' target executions "execs/s" coverage edges crashes hangs
failed=0
for t in $TARGETS; do
  AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
    FUZZ_TARGET="$t" cargo afl fuzz -i "$OUT/seeds/$t" -o "$OUT/out/$t" -E "$EXECS" \
    -- "fuzz/target/$FUZZ_PROFILE/fuzz" >"$OUT/$t.log" 2>&1 || { echo "[fuzz] $t: afl-fuzz failed, see $OUT/$t.log" >&2; failed=1; continue; }
  stats="$OUT/out/$t/default/fuzzer_stats"
  get() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
  printf '%-18s %12s %10s %9s %8s %8s %7s\n' "$t" "$(get execs_done)" "$(get execs_per_sec)" \
    "$(get bitmap_cvg)" "$(get edges_found)" "$(get saved_crashes)" "$(get saved_hangs)"
  if [ "$(get saved_crashes)" != 0 ] || [ "$(get saved_hangs)" != 0 ]; then
    failed=1
    ls "$OUT/out/$t/default/crashes" "$OUT/out/$t/default/hangs" 2>/dev/null | sed 's/^/    /'
  fi
done
if [ "$failed" != 0 ]; then
  echo "[fuzz] findings above: each input under $OUT/out/<target>/default/{crashes,hangs} becomes a unit test in the target's crate" >&2
  exit 1
fi
