#!/usr/bin/env bash
# Run one libFuzzer target for a bounded time on a corpus seeded from the
# golden recordings. Exit status non-zero on any crash, leak, sanitizer report
# or property violation. Usage: run_fuzz.sh TARGET SECONDS
set -euo pipefail
target=$1 seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$target")
corpus=$(dirname "$target")/corpus/$name
mkdir -p "$corpus"
if [ -x "${target}_seed" ]; then
  "${target}_seed" "$corpus"
else
  python3 "$here/seed_corpus.py" "$here/../proto/golden" "$corpus" >/dev/null
fi
log=$(dirname "$target")/$name.log
if "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
     -print_final_stats=1 -artifact_prefix="$(dirname "$target")/" "$corpus" >"$log" 2>&1 \
   && ! grep -q 'runtime error:' "$log"; then
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  echo "fuzz $name: ${runs:-?} inputs in ${seconds}s, no crash, leak or sanitizer report"
else
  tail -40 "$log"
  echo "fuzz $name: FAILED (crash input saved beside $target; full log $log)"
  exit 1
fi
