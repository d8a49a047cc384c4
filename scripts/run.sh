#!/usr/bin/env bash
# The README's first command: install what is missing, build the release app (once; later
# runs rebuild only what changed), load the demo district on the first run, and open the
# desktop app. `scripts/run.sh --debug` runs the debug build instead, for development. Extra
# arguments go to the app (e.g. --data-dir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release
if [[ ${1:-} == --debug ]]; then
  profile=debug
  shift
fi
scripts/setup.sh
if [[ $profile == release ]]; then
  echo "Building the release app (the first time takes several minutes)…" >&2
  scripts/build.sh --release
else
  scripts/build.sh
fi
bin=target/$profile

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
  "$bin/shequ" "${dir_args[@]}" demo
  # The demo district is the centre's view: analysis screens and the import side of the exchange.
  "$bin/shequ" "${dir_args[@]}" role centre >/dev/null
  unset SHEQU_PASSPHRASE
  echo "The demo district is in $resolved_dir; its passphrase is: shequ-demo" >&2
fi

if [[ -z ${DISPLAY:-} && -z ${WAYLAND_DISPLAY:-} ]]; then
  echo "No display found: starting Shequ under a virtual display (xvfb-run). Press Ctrl+C to stop." >&2
  exec xvfb-run -a -s "-screen 0 1400x950x24" "$bin/shequ-desktop" "$@"
fi
exec "$bin/shequ-desktop" "$@"
