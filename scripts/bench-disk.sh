#!/usr/bin/env bash
# The disk the test command's debug builds need, stage by stage, from an empty target folder:
# once with the settings before issue 12's CI run ran out of disk (full debug info, cargo's
# incremental caches) as the reference, once as configured now (line tables only, no
# incremental caches in scripts/test.sh). Builds into target/disk-bench (removed at the end),
# so the usual target/debug is left alone. About 25 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
[[ -f ui/dist/index.html ]] || (cd ui && npx vite build --logLevel warn)
export CARGO_TARGET_DIR=target/disk-bench

size() { du -sm "$CARGO_TARGET_DIR/debug" | cut -f1; }

measure() {
  local label=$1 t0 a b c
  rm -rf "$CARGO_TARGET_DIR"
  t0=$(date +%s)
  cargo test -q --workspace --exclude shequ-e2e --exclude shequ-desktop --exclude shequ-empty-app --no-run
  a=$(size)
  cargo build -q -p shequ-desktop
  b=$(size)
  cargo test -q -p shequ-e2e --no-run
  c=$(size)
  printf '| %s | %s MiB | %s MiB | %s MiB | %s s |\n' "$label" "$a" "$b" "$c" "$(($(date +%s) - t0))" >> "$CARGO_TARGET_DIR.md"
}

: > "$CARGO_TARGET_DIR.md"
CARGO_PROFILE_DEV_DEBUG=true CARGO_INCREMENTAL=1 measure "full debug info, incremental (before)"
CARGO_INCREMENTAL=0 measure "line tables only, no incremental (now)"
rm -rf "$CARGO_TARGET_DIR"
echo
echo '| debug target | after the Rust tests | + the desktop app | + the e2e tests | build time |'
echo '|---|---|---|---|---|'
cat "$CARGO_TARGET_DIR.md"
rm -f "$CARGO_TARGET_DIR.md"
