#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, one after the other, with
# one libFuzzer process (never two at once), and prints a line of figures per target:
# seconds fuzzed, inputs executed, executions per second, coverage (edges) at the end,
# corpus files, new crash files, and the result. Each target's log is fuzz/logs/<target>.log.
#
#   fuzz/run.sh 600                      # every target, 10 minutes each
#   fuzz/run.sh 60 ingest note_parse     # two targets, a minute each
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Only a stable toolchain is needed:
# RUSTC_BOOTSTRAP=1 lets it take the nightly -Z flags cargo-fuzz passes. The corpora are
# seeded from the fixtures first (fuzz/seed.sh); crashes land in fuzz/artifacts/<target>/.
# SANITIZER=none (the default: the code is `forbid(unsafe_code)`, and the run is faster)
# or SANITIZER=address.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:?usage: fuzz/run.sh SECONDS [TARGET...]}"
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(canonical_json event_roundtrip note_parse key_file trust_policy card_verify bundle_verify ingest serve_request add_checkpoint)
fi
sanitizer="${SANITIZER:-none}"
export RUSTC_BOOTSTRAP=1

./seed.sh >/dev/null
for t in "${targets[@]}"; do
  RUSTC_BOOTSTRAP=1 cargo fuzz build -s "$sanitizer" "$t"
done

mkdir -p logs
printf '%-16s %8s %12s %9s %9s %8s %8s %s\n' target seconds execs exec/s coverage corpus crashes result
status=0
for t in "${targets[@]}"; do
  dict=()
  case "$t" in canonical_json | event_roundtrip | ingest | bundle_verify) dict=(-dict=dict/json.dict) ;; esac
  mkdir -p "artifacts/$t"
  before=$(find "artifacts/$t" -type f | wc -l)
  log="logs/$t.log"
  start=$(date +%s)
  set +e
  RUSTC_BOOTSTRAP=1 cargo fuzz run -s "$sanitizer" "$t" -- \
    -max_total_time="$secs" -print_final_stats=1 -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    "${dict[@]}" >"$log" 2>&1
  rc=$?
  set -e
  took=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o '[0-9]* second' | grep -o '[0-9]*' || true)
  took=${took:-$(( $(date +%s) - start ))}
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  corpus=$(find "corpus/$t" -type f | wc -l)
  crashes=$(( $(find "artifacts/$t" -type f | wc -l) - before ))
  if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]; then result=ok; else result="FAILED (exit $rc, see fuzz/$log)"; status=1; fi
  printf '%-16s %8s %12s %9s %9s %8s %8s %s\n' "$t" "$took" "$execs" "$rate" "$cov" "$corpus" "$crashes" "$result"
done
exit "$status"
