#!/usr/bin/env bash
# The README's "Witnessing over the network": three national authorities (Sierra Leone,
# Liberia, Guinea) each keep a ledger and run a witness (C2SP tlog-witness) on this machine;
# each witnesses the other two's logs. Run from the repository root after `cargo build
# --release`; it works in a new temporary directory and stops the witnesses it started.
#   bash docs/witness-network.sh        (KPLEDGER_BIN=path/to/kpledger to use another build;
#                                        the witnesses listen on free ports of 127.0.0.1)
# tests/e2e/witness_net.rs runs it (`the_readme_witness_network_runs`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
K=${KPLEDGER_BIN:-$root/target/release/kpledger}
kp() {
  local shown="\$ kpledger"
  for a in "$@"; do case "$a" in *\ *) shown+=" \"$a\"" ;; *) shown+=" $a" ;; esac; done
  echo "$shown" | sed "s|$root/||g; s|$work/||g"
  "$K" "$@"
  echo
}
work=$(mktemp -d)
cd "$work"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

# Each authority: a ledger (its office's key signs the log) and a witness key of its own.
declare -A name=([sl]="National Minerals Agency" [lr]="Ministry of Mines and Energy" [gn]="Ministere des Mines")
declare -A id=([sl]=sl.nma [lr]=lr.mme [gn]=gn.mines)
declare -A host=([sl]=nma.gov.sl [lr]=mme.gov.lr [gn]=mines.gov.gn)
declare -A url
for c in sl lr gn; do
  "$K" key new $c-office.pem >/dev/null
  "$K" key new $c-witness.pem >/dev/null
  "$K" init --ledger $c.kpl --origin ${host[$c]}/kpledger --id ${id[$c]} --name "${name[$c]}" \
    --country ${c^^} --key $c-office.pem --time 2026-03-02T08:00:00Z >/dev/null
done

# The lines every party needs, printed from public keys (exchanged through the KP's channels).
# A witness's policy names the logs it witnesses.
for c in sl lr gn; do
  : > $c-witness-policy.txt
  for o in sl lr gn; do
    [ $o = $c ] && continue
    "$K" trust log --origin ${host[$o]}/kpledger $o-office.pem.pub >> $c-witness-policy.txt
  done
  echo "quorum none" >> $c-witness-policy.txt
done
echo "\$ cat sl-witness-policy.txt"; cat sl-witness-policy.txt; echo

# Each authority starts its witness (here in the background; a service in production) on a
# free port, which it prints first.
for c in sl lr gn; do
  echo "\$ kpledger witness serve --name ${host[$c]}/witness --key $c-witness.pem --state $c-witness.json --policy $c-witness-policy.txt --listen 127.0.0.1:0 &"
  "$K" witness serve --name ${host[$c]}/witness --key $c-witness.pem --state $c-witness.json \
    --policy $c-witness-policy.txt --listen 127.0.0.1:0 > $c-witness.out 2> $c-witness.log &
  pids+=($!)
  for _ in $(seq 100); do [ "$(wc -l < $c-witness.out)" -ge 2 ] && break; sleep 0.1; done
  cat $c-witness.out
  url[$c]=$(sed -n '1s/^listening on //p' $c-witness.out)
  [ -n "${url[$c]}" ] || { echo "the witness of $c did not start" >&2; exit 1; }
  echo
done

# A log's policy names its witnesses with their URLs (submission prefixes) and the quorum.
for c in sl lr gn; do
  "$K" trust log --origin ${host[$c]}/kpledger $c-office.pem.pub > $c-log-policy.txt
  for o in sl lr gn; do
    [ $o = $c ] && continue
    echo "$("$K" trust witness --name ${host[$o]}/witness $o-witness.pem.pub) ${url[$o]}" >> $c-log-policy.txt
  done
  names=$(awk '/^witness/ {print $2}' $c-log-policy.txt | paste -sd' ')
  echo "group neighbours 2 $names" >> $c-log-policy.txt
  echo "quorum neighbours" >> $c-log-policy.txt
done
echo "\$ cat sl-log-policy.txt"; cat sl-log-policy.txt; echo

# Each log publishes a checkpoint and asks its neighbours to cosign it.
for c in sl lr gn; do
  kp log publish --ledger $c.kpl --key $c-office.pem
  kp log witness --ledger $c.kpl --policy $c-log-policy.txt
done

# Sierra Leone's ledger grows: the ledger office enrols the NMA's Kono office; a new checkpoint,
# proven consistent with the one each witness cosigned. A copy of the ledger is kept first.
cp sl.kpl sl-copy.kpl; [ -f sl.kpl-wal ] && cp sl.kpl-wal sl-copy.kpl-wal
"$K" key new kono.pem >/dev/null
kp actor enrol --ledger sl.kpl --key sl-office.pem --id sl.nma.kono --name "NMA Kono office" --role authority --country SL --pubkey kono.pem.pub --time 2026-03-02T09:00:00Z
kp log publish --ledger sl.kpl --key sl-office.pem
kp log witness --ledger sl.kpl --policy sl-log-policy.txt

# A fork: the old copy, grown otherwise and signed with the same key, is refused by every
# witness, which keeps both signed checkpoints as evidence.
"$K" key new other.pem >/dev/null
"$K" actor enrol --ledger sl-copy.kpl --key sl-office.pem --id sl.nma.kenema --name "NMA Kenema office" --role authority --country SL --pubkey other.pem.pub --time 2026-03-02T09:00:00Z >/dev/null
"$K" log publish --ledger sl-copy.kpl --key sl-office.pem >/dev/null
kp log witness --ledger sl-copy.kpl --policy sl-log-policy.txt || true
echo "\$ cat lr-witness.log"
cat lr-witness.log
echo "\$ ls lr-witness.json.evidence"
ls lr-witness.json.evidence
