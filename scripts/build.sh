#!/usr/bin/env bash
# Builds the front end, then the desktop app (which embeds it) and the `shequ` CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
(cd ui && npm run --silent build)
cargo build -p shequ-desktop -p shequ-cli
