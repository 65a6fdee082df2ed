#!/usr/bin/env bash
# Stress runs of the crash-safety and concurrency tests, far longer than CI runs them.
#
#   docs/stress.sh                          # 1000 SIGKILLs, 20 rounds of writers and readers
#   KILLS=5000 ROUNDS=100 docs/stress.sh    # longer
#   SERVE_KILLS=5000 docs/stress.sh         # more kills of the service under load
#   SEED=1234 docs/stress.sh                # replay a kill schedule printed by an earlier run
#
# Crash safety (tests/e2e/crash.rs): a demo ledger's events (`kpledger demo --parcels 8`) are
# ingested into a new ledger, one to three events per `kpledger ingest` process; now and then
# a process is killed with SIGKILL at a pseudo-random moment of its life (start-up, reading,
# the transaction, the commit, printing "recorded … as event #N"). After every kill the ledger
# must open and verify (`verify --ledger --json`, exit 0), hold every acknowledged event, hold
# the batch in flight whole or not at all, equal the source events byte for byte, and take the
# next ingest where it stopped. When all events are in, it starts again on a new ledger file.
# The kill moments come from SEED; where they land also depends on the machine's timing, so a
# seed replays the schedule, not necessarily the outcome.
#
# Concurrency (tests/e2e/concurrency.rs): per round, two writer processes ingest the same
# events in order while three readers run `verify --ledger` in a loop: every event recorded
# exactly once (the other writer is refused, or told "locked" after --wait), no reader ever
# sees half an event, and the ledger equals the source at the end. Also: a held lock gives
# "locked" after --wait, and a duplicate event is refused (exit 1), not a database error.
#
# Witnesses (tests/e2e/witness_net.rs): `kpledger witness serve` processes, each waiting 15 ms
# between its decision and its durable write, are killed with SIGKILL at pseudo-random moments
# while a log and a forked log send them checkpoints (WITNESS_KILLS of them, default 1000): no
# witness ever cosigns both histories beyond the fork, a rollback, or two roots at one size, and
# a restarted witness never remembers less than it answered for.
#
# The service (tests/e2e/serve.rs): `kpledger serve` is killed with SIGKILL SERVE_KILLS times
# (default 1000) while four clients submit signed events one at a time, each time after a
# pseudo-random number (1 to 12, from SEED) of acknowledgements, and restarted: every event
# acknowledged before a kill must be there at the acknowledged position, its retry answered 200
# with that position (idempotent), an event in flight recorded once or not at all; at the end
# the ledger verifies and holds every event exactly once.
#
# CI runs the same tests with 10 kills (3 for the service) and 1 round (`cargo test --test e2e crash concurrency`).
# Release mode here: many more processes per second, so many more interleavings. SIGKILL tests
# the file's atomicity (SQLite WAL); it does not simulate power loss (synchronous=FULL is
# what covers that).
set -euo pipefail
cd "$(dirname "$0")/.."

KILLS=${KILLS:-1000}
WITNESS_KILLS=${WITNESS_KILLS:-1000}
SERVE_KILLS=${SERVE_KILLS:-1000}
ROUNDS=${ROUNDS:-20}
SEED=${SEED:-$(date +%s)}
echo "stress: $KILLS kills, $SERVE_KILLS service kills (seed $SEED), $ROUNDS concurrency rounds" >&2

KPLEDGER_STRESS_KILLS=$KILLS KPLEDGER_STRESS_SEED=$SEED \
  cargo test --release --locked --test e2e crash -- --nocapture --test-threads 1
KPLEDGER_WITNESS_KILLS=$WITNESS_KILLS KPLEDGER_STRESS_SEED=$SEED \
  cargo test --release --locked --test e2e witness_net::sigkill -- --nocapture --test-threads 1
KPLEDGER_SERVE_KILLS=$SERVE_KILLS KPLEDGER_STRESS_SEED=$SEED \
  cargo test --release --locked --test e2e serve::sigkill -- --nocapture --test-threads 1
KPLEDGER_STRESS_ROUNDS=$ROUNDS \
  cargo test --release --locked --test e2e concurrency -- --nocapture --test-threads 1
echo "stress: passed (seed $SEED)" >&2
