#!/usr/bin/env bash
# Fuzzes the three readers of what arrives from outside: the expression parser, the XLSForm
# reader and the bundle reader, each for SECONDS (default 600), seeded from the test fixtures.
#   scripts/fuzz.sh [SECONDS] [TARGET…]      e.g. scripts/fuzz.sh 60 expr
# Needs the nightly toolchain (rustup) and cargo-fuzz (installed here if missing). A crash is
# saved under fuzz/artifacts/TARGET/; turn each into a regression test, then delete it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
shift || true
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(expr xlsform bundle)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# Seeds: every expression of the scales and fixture forms, every fixture workbook, every
# fixture bundle. The corpus grows in fuzz/corpus/ (not committed).
mkdir -p fuzz/corpus/expr fuzz/corpus/xlsform fuzz/corpus/bundle
cp -n assets/instruments/*.xlsx tests/fixtures/xlsform/*.xlsx fuzz/corpus/xlsform/ 2>/dev/null || true
find tests/fixtures/pyxform -name '*.xlsx' -exec cp -n {} fuzz/corpus/xlsform/ \; 2>/dev/null || true
cp -n tests/fixtures/bundles/*.shequ fuzz/corpus/bundle/ 2>/dev/null || true
python3 - <<'PY'
import glob, hashlib, os, openpyxl
out = 'fuzz/corpus/expr'
n = 0
for path in glob.glob('assets/instruments/*.xlsx') + glob.glob('tests/fixtures/xlsform/*.xlsx'):
    try:
        wb = openpyxl.load_workbook(path, read_only=True)
    except Exception:
        continue
    for ws in wb.worksheets:
        rows = ws.iter_rows(values_only=True)
        header = [str(h or '').strip().lower() for h in next(rows, [])]
        cols = [i for i, h in enumerate(header)
                if h in ('relevant', 'constraint', 'calculation', 'choice_filter', 'required', 'readonly', 'default', 'repeat_count', 'trigger')]
        for row in rows:
            for i in cols:
                v = row[i] if i < len(row) else None
                if isinstance(v, str) and v.strip():
                    name = hashlib.sha1(v.encode()).hexdigest()
                    with open(os.path.join(out, name), 'w') as f:
                        f.write(v)
                    n += 1
print(f'{n} expressions seeded')
PY

for t in "${targets[@]}"; do
  echo "== $t for ${seconds}s"
  # -rss_limit_mb: a reader that holds more than 2 GiB for one input is a finding too.
  cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>&1 |
    tee "fuzz/$t.log" | grep -E '^(#[0-9]+.*(DONE|pulse))|stat::|SUMMARY|ERROR|panicked' || true
done
