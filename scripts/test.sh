#!/usr/bin/env bash
# The README's second command, and what CI runs: every test.
#   0. dependency hygiene: cargo deny (licences, bans, sources, advisories) and npm audit
#   1. Rust unit and integration tests of the core crates and the CLI (incl. pyxform conformance)
#   2. the TypeScript IPC types generated from Rust are committed and current
#   3. front end: type check, unit tests, production build
#   4. the desktop app built (debug, and release packaged as a .deb), then driven in a real
#      window under Xvfb (tauri-driver), the installed package included
# Screenshots from step 4 land in artifacts/e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# A test run builds from what is on disk, it does not iterate on an edit: cargo's incremental
# caches would only add to the disk it needs (BENCHMARKS.md, "Disk a test run needs").
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }
LOG=$(mktemp)
exec > >(tee "$LOG") 2>&1

step "setup"
scripts/setup.sh

step "dependency hygiene (cargo deny, npm audit)"
scripts/deny.sh

step "Rust tests (core crates, CLI, pyxform conformance)"
cargo test --workspace --exclude shequ-e2e --exclude shequ-desktop --exclude shequ-empty-app

step "generated IPC types are current"
if ! git diff --exit-code --stat -- ui/src/ipc/generated; then
  echo "ui/src/ipc/generated changed when the tests regenerated it: commit the new types." >&2
  exit 1
fi
if [[ -n $(git ls-files --others --exclude-standard ui/src/ipc/generated) ]]; then
  echo "new generated IPC types are not committed:" >&2
  git ls-files --others --exclude-standard ui/src/ipc/generated >&2
  exit 1
fi

step "front end: type check, unit tests, build"
(cd ui && npx vue-tsc --noEmit && npx vitest run && npx vite build --logLevel warn)

step "desktop app build"
cargo build -p shequ-desktop

step "release build and the Debian package (scripts/package.sh)"
scripts/package.sh

step "end-to-end tests in the real window (Xvfb + tauri-driver)"
rm -rf artifacts/e2e
# Every e2e file runs even after one fails; the screenshots and the tally below are printed
# either way, and the script then fails.
e2e=0
xvfb-run -a -s "-screen 0 1400x1000x24" cargo test -p shequ-e2e --no-fail-fast --test '*' -- --test-threads=1 || e2e=$?
echo "screenshots: $(ls artifacts/e2e | tr '\n' ' ')"

# One closing line over every runner above (cargo's "N passed; M failed", Vitest's "Tests N passed").
sed 's/\x1b\[[0-9;]*m//g' "$LOG" | awk '
  /^test result:/ { p += $4; f += $6 }
  /^ *Tests +[0-9]+ passed/ { p += $2 }
  END { printf "tests: %d passed, %d failed\n", p, f }'
exit "$e2e"
