#!/usr/bin/env bash
# Start-up time and memory of the release app beside an empty Tauri v2 app built with the same
# profile, in the same run (BENCHMARKS.md). Builds both in release, then measures under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/build.sh --release
cargo build --release -p shequ-empty-app
xvfb-run -a -s "-screen 0 1400x1000x24" cargo bench -p shequ-e2e --bench startup
