#!/usr/bin/env bash
# Makes the Linux installers: target/release/bundle/deb/Shequ_<version>_amd64.deb (and the
# AppImage when asked, SHEQU_BUNDLES=deb,appimage) holding the desktop app, its desktop entry
# and icons, and the `shequ` command line. The release build is the one the README's first
# command runs. The Windows installer (NSIS) is configured in src-tauri/tauri.conf.json and built on
# Windows (README, "Installers").
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh
scripts/build.sh --release
bundles="${SHEQU_BUNDLES:-deb}"
rm -rf target/release/bundle/deb
# The Tauri CLI (npm @tauri-apps/cli) packages the binaries just built: `bundle`, not `build`,
# so nothing is compiled twice.
TAURI_APP_PATH=src-tauri TAURI_FRONTEND_PATH=ui ui/node_modules/.bin/tauri bundle --bundles "$bundles" --ci
ls target/release/bundle/*/* 2>/dev/null
