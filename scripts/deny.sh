#!/usr/bin/env bash
# Dependency hygiene with cargo-deny (deny.toml): licences, bans (duplicates reported) and
# sources, always; advisories against the RustSec database when it is on this machine.
# These build machines reach package registries but not GitHub, where the database lives:
# set SHEQU_ADVISORY_DB to a clone of https://github.com/rustsec/advisory-db (any copy, e.g.
# carried on a stick) and it is used; otherwise the advisory check says it was skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;32m[deny]\033[0m %s\n' "$*"; }

if ! command -v cargo-deny >/dev/null 2>&1; then
  log "installing cargo-deny"
  cargo install cargo-deny --locked --quiet
fi

# Every crate of every platform in Cargo.lock (cargo-deny reads them offline; a build on
# Linux never downloads the Windows-only ones).
cargo fetch --locked --quiet
cargo deny --offline --log-level error check licenses bans sources

# Where cargo-deny keeps the database for the URL in deny.toml.
db_root="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
db="$db_root/advisory-db-3157b0e258782691"
if [[ -n "${SHEQU_ADVISORY_DB:-}" && -d "$SHEQU_ADVISORY_DB" && ! -d "$db" ]]; then
  mkdir -p "$db_root"
  git clone -q "$SHEQU_ADVISORY_DB" "$db"
fi
if [[ -d "$db/.git" ]]; then
  log "advisories: RustSec database of $(git -C "$db" log -1 --format=%cs)"
  cargo deny --offline --log-level error check advisories
elif timeout 20 git ls-remote https://github.com/rustsec/advisory-db HEAD >/dev/null 2>&1; then
  cargo deny --log-level error check advisories
else
  log "advisories: SKIPPED, no RustSec database here and GitHub unreachable (set SHEQU_ADVISORY_DB)"
fi

# npm audit of what the window ships (dev tools excluded). Findings fail the run; a registry
# that refuses the audit endpoint (the mirror these machines use answers 405) is reported as
# skipped, not passed.
audit_out=$(cd ui && npm audit --omit=dev --audit-level=moderate 2>&1) && audit_rc=0 || audit_rc=$?
if ((audit_rc == 0)); then
  log "npm audit: $(tail -n 1 <<<"$audit_out")"
elif grep -q "audit endpoint returned an error\|405 Method Not Allowed\|ENOTFOUND\|ECONNREFUSED" <<<"$audit_out"; then
  log "npm audit: SKIPPED, the registry refused the audit endpoint: $(grep -m1 -o '40[0-9] [A-Za-z ]*' <<<"$audit_out" || true)"
else
  printf '%s\n' "$audit_out"
  exit 1
fi
