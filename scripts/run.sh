#!/usr/bin/env bash
# The README's first command: install what is missing, build, load the demo district on the
# first run, and open the desktop app. Extra arguments go to the app (e.g. --data-dir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh

DATA_DIR="${SHEQU_DATA_DIR:-}"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [[ ${args[i]} == --data-dir ]] && DATA_DIR="${args[i + 1]:-}"
  [[ ${args[i]} == --data-dir=* ]] && DATA_DIR="${args[i]#--data-dir=}"
done
dir_args=()
[[ -n $DATA_DIR ]] && dir_args=(--data-dir "$DATA_DIR")

# First run: no database yet → the demo district, so every screen has content. The store is
# encrypted; the demo's passphrase is published (README, and the unlock screen says it).
resolved_dir="${DATA_DIR:-${SHEQU_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/shequ}}"
if [[ ! -s $resolved_dir/shequ.db ]]; then
  export SHEQU_PASSPHRASE=shequ-demo
  ./target/debug/shequ "${dir_args[@]}" demo
  # The demo district is the centre's view: analysis screens and the import side of the exchange.
  ./target/debug/shequ "${dir_args[@]}" role centre >/dev/null
  unset SHEQU_PASSPHRASE
  echo "The demo district is in $resolved_dir; its passphrase is: shequ-demo" >&2
fi

if [[ -z ${DISPLAY:-} && -z ${WAYLAND_DISPLAY:-} ]]; then
  echo "No display found: starting Shequ under a virtual display (xvfb-run). Press Ctrl+C to stop." >&2
  exec xvfb-run -a -s "-screen 0 1400x950x24" ./target/debug/shequ-desktop "$@"
fi
exec ./target/debug/shequ-desktop "$@"
