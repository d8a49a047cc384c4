#!/usr/bin/env bash
# Builds the front end, then the desktop app (which embeds it) and the `shequ` CLI: the
# release build with `--release` (what the README's first command runs and the installers
# hold), else the debug build for development and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
(cd ui && npm run --silent build)
if [[ ${1:-} == --release ]]; then
  cargo build --release -p shequ-desktop -p shequ-cli
else
  cargo build -p shequ-desktop -p shequ-cli
fi
