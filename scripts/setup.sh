#!/usr/bin/env bash
# Installs what Shequ needs to build, run and test, skipping whatever is already there:
# Debian packages for Tauri's WebKitGTK (and Xvfb, WebKitWebDriver, xdotool for the native
# folder dialog in end-to-end tests, CJK fonts, sqlite3),
# pyxform (the reference XLSForm converter, for conformance tests), tauri-driver, and the
# front end's npm packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev
  build-essential pkg-config libssl-dev xvfb xauth xdotool webkit2gtk-driver fonts-noto-cjk sqlite3
)

log() { printf '\033[1;32m[setup]\033[0m %s\n' "$*"; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

if ! python3 -c "import pyxform" 2>/dev/null; then
  log "installing pyxform"
  python3 -m pip install -q pyxform
fi

if ! python3 -c "import pandas" 2>/dev/null; then
  log "installing pandas (the reference for the analysis: profile test and benchmark)"
  python3 -m pip install -q pandas
fi

export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v tauri-driver >/dev/null; then
  log "installing tauri-driver"
  cargo install tauri-driver --locked -q
fi

if [[ ! -d ui/node_modules ]] || [[ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]]; then
  log "installing npm packages"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
fi

if [[ ! -d tests/reference-engine/node_modules ]] \
  || [[ tests/reference-engine/package-lock.json -nt tests/reference-engine/node_modules/.package-lock.json ]]; then
  log "installing the reference expression engine (openrosa-xpath-evaluator)"
  (cd tests/reference-engine && npm ci --no-audit --no-fund --loglevel=error)
fi
