#!/usr/bin/env bash
# The README's trade flow, end to end, on a fresh national ledger. Run from the repository
# root after `cargo build --release`; it works in a new temporary directory.
#   bash docs/walkthrough.sh            (KPLEDGER_BIN=path/to/kpledger to use another build)
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

# Keys: each party makes its own; kpledger and openssl keys are interchangeable. The NMA keeps
# two: its ledger office's, which signs the log, and its own, which validates certificates.
kp key new nma.pem
"$K" key new office.pem >/dev/null
openssl genpkey -algorithm ed25519 -out koroma.pem && openssl pkey -in koroma.pem -pubout -out koroma.pem.pub
for k in kamara gems pmt; do "$K" key new $k.pem >/dev/null; done
# Liberia's Ministry of Mines and Energy, a neighbouring authority, will witness the log.
kp key new lr.pem

# The National Minerals Agency's ledger office opens the ledger (its key signs the log) and
# enrols the NMA, which publishes the policy, registers a site and enrols licensed actors.
kp init --ledger sl.kpl --origin kpledger.sl/national --id sl.ledger --name "NMA ledger office" --country SL --key office.pem --time 2026-03-02T07:59:00Z
export KPLEDGER_LEDGER=sl.kpl
kp actor enrol --key office.pem --id sl.nma --name "National Minerals Agency" --role authority --country SL --pubkey nma.pem.pub --time 2026-03-02T08:00:00Z
kp policy set --key nma.pem "$root/policies/SL.json" --time 2026-03-02T08:01:00Z
kp site add --key nma.pem --id sl.kono.koidu-12 --name "Koidu claim 12" --country SL --region Kono --location 8.6446,-10.9712 --area-m2 8000 --time 2026-03-02T08:02:00Z
kp actor enrol --key nma.pem --id sl.miner.koroma --name "Ibrahim Koroma" --role miner --country SL --pubkey koroma.pem.pub --licence NMA/AML/2026/0142 --class artisanal --valid-from 2026-01-01 --valid-to 2026-12-31 --site sl.kono.koidu-12 --time 2026-03-02T08:03:00Z
"$K" actor enrol --key nma.pem --id sl.dealer.kamara --name "Kamara Diamond Dealers" --role dealer --country SL --pubkey kamara.pem.pub --licence NMA/DL/2026/031 --class dealer --valid-from 2026-01-01 --valid-to 2026-12-31 --time 2026-03-02T08:04:00Z >/dev/null
"$K" actor enrol --key nma.pem --id sl.exporter.kono-gems --name "Kono Gems Export Ltd" --role exporter --country SL --pubkey gems.pem.pub --licence NMA/EXP/2026/007 --class exporter --valid-from 2026-01-01 --valid-to 2026-12-31 --time 2026-03-02T08:05:00Z >/dev/null
"$K" actor enrol --key nma.pem --id sl.pmt --name "Precious Minerals Trading Directorate" --role valuer --country SL --pubkey pmt.pem.pub --time 2026-03-02T08:06:00Z >/dev/null
# The witness is enrolled too (only the root authority enrols another authority), before the
# checkpoints it cosigns, so that whole-ledger verification checks its cosignatures as well
# (a witness need not be enrolled: docs/SPEC.md §13.4).
kp actor enrol --key office.pem --id lr.mme --name "Ministry of Mines and Energy of Liberia" --role authority --country LR --pubkey lr.pem.pub --time 2026-03-02T08:07:00Z
kp actor list

# The miner registers two parcels at the mine site.
p1=$("$K" extract --key koroma.pem --site sl.kono.koidu-12 --weight 12.34 --stones 9 --hs 7102.31 --time 2026-03-03T10:00:00Z --json | sed 's/.*"parcels":\["\([^"]*\)".*/\1/')
p2=$("$K" extract --key koroma.pem --site sl.kono.koidu-12 --weight 8.10 --stones 6 --hs 7102.31 --time 2026-03-03T11:00:00Z --json | sed 's/.*"parcels":\["\([^"]*\)".*/\1/')
echo "parcels: $p1 $p2"; echo

# Offline handover: the miner signs an offer on his phone, the dealer re-weighs and signs
# the acceptance on hers, and either of them brings the file to the ledger.
kp handover offer --key koroma.pem --parcel "$p1" --to sl.dealer.kamara --price 3566.26 --out offer.json --time 2026-03-04T09:00:00Z
kp handover accept offer.json --key kamara.pem --weight 12.33 --out handover.json --time 2026-03-04T09:20:00Z
kp ingest handover.json
# Both at one desk: one step.
kp handover record --parcel "$p2" --from-key koroma.pem --to-key kamara.pem --price 2340.90 --time 2026-03-04T10:00:00Z

# The dealer sorts: merges both, then splits by size.
lot=$("$K" merge --key kamara.pem --parcel "$p1" --parcel "$p2" --time 2026-03-05T08:00:00Z --json | sed 's/.*"parcels":\["\([^"]*\)".*/\1/')
parts=$("$K" split --key kamara.pem --parcel "$lot" --into 12.00 --into 8.43 --time 2026-03-05T09:00:00Z --json | sed 's/.*"parcels":\[\([^]]*\)\].*/\1/; s/"//g; s/,/ /')
for p in $parts; do
  "$K" handover record --parcel "$p" --from-key kamara.pem --to-key gems.pem --price 4100 --time 2026-03-06T09:00:00Z >/dev/null
done
export_lot=$("$K" merge --key gems.pem $(for p in $parts; do echo --parcel $p; done) --time 2026-03-07T08:00:00Z --json | sed 's/.*"parcels":\["\([^"]*\)".*/\1/')

# The exporter's workflow: official valuation (highest of three), sealing, certificate,
# export.
kp value --key pmt.pem --parcel "$export_lot" --exporter 5900 --government 6140.20 --independent 6020 --time 2026-03-09T10:00:00Z
kp seal --key nma.pem --parcel "$export_lot" --seal SL-SEAL-2026-0101 --time 2026-03-09T12:00:00Z
kp certificate issue --key nma.pem --number SL-2026-004312 --exporter sl.exporter.kono-gems --parcel "$export_lot" --importer-name "Diamcor Rough Trading NV" --importer-address "Hoveniersstraat 22, Antwerp" --importer-country BE --time 2026-03-10T09:00:00Z
kp certificate export --key nma.pem --number SL-2026-004312 --time 2026-03-11T07:00:00Z
kp certificate list
kp parcel history "$export_lot"

# The transparency log: the root authority signs a checkpoint of the log (C2SP
# tlog-checkpoint); Liberia's authority, as a witness, cosigns it and remembers it; the
# cosignature is stored with the checkpoint. A bundle needs a checkpoint covering its events.
kp log publish --key office.pem --out checkpoint.txt
kp witness cosign checkpoint.txt --log-origin kpledger.sl/national --log-key office.pem.pub --name lr.mme --key lr.pem --state lr-witness.json --out cosigned.txt --time 1773216000
kp log cosignatures --ledger sl.kpl cosigned.txt --witness lr.mme=lr.pem.pub
kp log head
kp bundle --certificate SL-2026-004312 --out SL-2026-004312.json

# The trade goes on; later the authority publishes a second checkpoint. The witness cosigns it
# only with a proof that it extends the one it cosigned before.
size=$("$K" log head --json | sed 's/.*"size":\([0-9]*\).*/\1/')
p3=$("$K" extract --key koroma.pem --site sl.kono.koidu-12 --weight 5.02 --stones 4 --hs 7102.31 --time 2026-03-12T10:00:00Z --json | sed 's/.*"parcels":\["\([^"]*\)".*/\1/')
"$K" handover record --parcel "$p3" --from-key koroma.pem --to-key kamara.pem --price 1450 --time 2026-03-12T11:00:00Z >/dev/null
kp log publish --key office.pem --out checkpoint2.txt
kp log prove-consistency --from "$size" --out proof.json
kp witness cosign checkpoint2.txt --log-origin kpledger.sl/national --log-key office.pem.pub --name lr.mme --key lr.pem --state lr-witness.json --proof proof.json --out cosigned2.txt --time 1773388800
kp log cosignatures --ledger sl.kpl cosigned2.txt --witness lr.mme=lr.pem.pub
# Offered the older checkpoint again (a log rolled back to hide the new events), the witness
# refuses, keeps the evidence, and exits 1.
kp witness cosign checkpoint.txt --log-origin kpledger.sl/national --log-key office.pem.pub --name lr.mme --key lr.pem --state lr-witness.json --out rolled-back.txt --time 1773392400 2>&1 | sed 's/refused-[0-9]*/refused-PID/' || true
kp verify --ledger sl.kpl
unset KPLEDGER_LEDGER

# The importing authority's workflow: nothing but the bundle and its trust policy, written once
# from keys obtained through KP channels: the ledger office's key for the log, Liberia's
# ministry as the witness it requires, the NMA for Sierra Leone's certificates.
{
  echo "# Trust policy for bundles from Sierra Leone's national ledger"
  "$K" trust log --origin kpledger.sl/national office.pem.pub
  "$K" trust witness --name lr.mme lr.pem.pub
  echo "quorum lr.mme"
  "$K" trust issuer --country SL --actor sl.nma nma.pem.pub
} > importer-policy.txt
echo '$ cat importer-policy.txt'; cat importer-policy.txt; echo
kp trust check importer-policy.txt
kp verify SL-2026-004312.json --policy importer-policy.txt
# A policy that pins the dealer's key for the NMA refuses the certificate (KP-7).
grep -v '^kpledger-issuer' importer-policy.txt > wrong-policy.txt
"$K" trust issuer --country SL --actor sl.nma kamara.pem.pub >> wrong-policy.txt
kp verify SL-2026-004312.json --policy wrong-policy.txt || true
