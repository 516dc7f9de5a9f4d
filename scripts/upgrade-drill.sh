#!/usr/bin/env bash
# The upgrade drill (`make upgrade-drill`): the last release (its tag, or FROM=<tag>) checked
# out in a worktree and built there, this checkout built, then `local-cloud upgrade-drill`:
# the previous release takes a chaos mix of held, scheduled, cancelled and courier-released
# orders; this build is deployed over it mid-run with its canary, then a build whose
# accept-order fails every call, which its canary alarm must roll back. Extra arguments go to
# the drill (for example --orders 300 --seed 7). Loopback only; it stops by itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# The release to start from: FROM, else the newest tag, else the commit the newest compat
# snapshot was cut from (compat/<release>/COMMIT: a clone without tags still has it).
from=${FROM:-$(git describe --tags --abbrev=0 2>/dev/null || true)}
if [[ -z "$from" ]]; then
  newest=$(ls -d compat/v*/ 2>/dev/null | sort -V | tail -n 1)
  if [[ -n "$newest" && -f "$newest/COMMIT" ]]; then
    from=$(tr -d '[:space:]' < "$newest/COMMIT")
  fi
fi
if [[ -z "$from" ]]; then
  echo "upgrade-drill: no release to start from: no tag (git tag v0.N marks a release), no compat/<release>/COMMIT, no FROM=<commit>" >&2
  exit 2
fi
if ! git cat-file -e "$from^{commit}" 2>/dev/null; then
  echo "upgrade-drill: $from is not in this clone (a shallow clone? git fetch --unshallow --tags)" >&2
  exit 2
fi
worktree="$root/target/upgrade-drill/$from"
if [[ ! -e "$worktree/.git" ]]; then
  git worktree prune
  git worktree add --detach "$worktree" "$from" >/dev/null
fi
echo "upgrade-drill: building the previous release ($from) in $worktree …"
(cd "$worktree" && cargo build --workspace --bins --quiet)
echo "upgrade-drill: building this checkout …"
cargo build --workspace --bins --quiet
exec target/debug/local-cloud upgrade-drill --from "$worktree" --from-bin "$worktree/target/debug" "$@"
