#!/usr/bin/env bash
# Seeds the fuzz corpora (fuzz/corpus/<target>/) from the repository's fixtures. Run from
# anywhere; needs python3 (to split JSON-lines files and pull checkpoints out of bundles).
# Idempotent: seeds are named by content hash, and corpora the fuzzer grew are kept.
# Seeds over 64 KiB (the 1 MB name, the 10,000-deep nestings) are left out: they are in
# the hostile-input test already and would only slow the fuzzer down.
set -euo pipefail
cd "$(dirname "$0")"
python3 - <<'PY'
import glob, hashlib, json, os

ROOT = ".."
LIMIT = 64 * 1024

def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > LIMIT:
        return
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

def files(*patterns):
    for p in patterns:
        for f in sorted(glob.glob(os.path.join(ROOT, p))):
            if os.path.isfile(f) and not os.path.islink(f) and os.path.getsize(f) <= LIMIT:
                with open(f, "rb") as h:
                    yield h.read()

def lines(*patterns):
    for data in files(*patterns):
        for line in data.splitlines():
            if line.strip():
                yield line

events = list(files("fixtures/hostile/events/*.json", "fixtures/invalid/*/event.json",
                    "fixtures/warn/*/event.json"))
events += list(lines("fixtures/invalid/*/setup.jsonl", "fixtures/warn/*/setup.jsonl",
                     "fixtures/valid/*/events.jsonl", "fixtures/ledgers/*/events.jsonl"))
bundles = list(files("fixtures/bundles/*/bundle.json"))
other_json = list(files("fixtures/*/*/expect.json", "policies/*.json", "schemas/*.json",
                        "fixtures/hostile/expect.json"))

for e in events:
    put("event_roundtrip", e)
    put("ingest", e)
    put("canonical_json", e)
for j in bundles + other_json:
    put("canonical_json", j)

# bundle_verify: first byte even = the bytes as a bundle; odd = mutations of the fixture.
for b in bundles:
    put("bundle_verify", b"\x00" + b)
for i in range(1, 256, 2):
    put("bundle_verify", bytes([i, i * 7 % 256, i * 13 % 256, i % 5, i * 3 % 256, 4, 1, 7]))

# note_parse: the bundles' checkpoints, their text and lines, the vkeys, the C2SP vectors.
for b in bundles:
    note = json.loads(b)["log"]["checkpoint"]
    put("note_parse", note)
    text, _, sigs = note.rpartition("\n\n")
    put("note_parse", text + "\n")
    for line in sigs.splitlines():
        put("note_parse", line + "\n")
# The verifier keys of the bundle cases' trust policies (the last field of each key line).
for pol in files("fixtures/bundles/*/policy.txt"):
    for line in pol.decode().splitlines():
        f = line.split()
        if f and f[0] in ("log", "witness", "kpledger-issuer"):
            put("note_parse", f[-1])
vectors = os.path.join(ROOT, "tests", "vectors", "checkpoint", "signed-note-vectors.json")
if os.path.exists(vectors):
    def strings(v):
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            for x in v.values():
                yield from strings(x)
        elif isinstance(v, list):
            for x in v:
                yield from strings(x)
    with open(vectors) as h:
        for s in strings(json.load(h)):
            put("note_parse", s)

# key_file: the hostile keys (PEM and DER, every kind), the fixtures' public keys.
for k in files("fixtures/hostile/keys/*"):
    put("key_file", k)

# trust_policy: the bundle cases' policies, each also cut off after every line.
for pol in files("fixtures/bundles/*/policy.txt"):
    put("trust_policy", pol)
    cut = pol.split(b"\n")
    for i in range(1, len(cut)):
        put("trust_policy", b"\n".join(cut[:i]) + b"\n")

# card_verify: each card fixture as the whole input (first byte even), and a few byte
# changes of the genuine card (first byte odd).
for c in files("fixtures/cards/*/card.json"):
    put("card_verify", b"\x00" + c)
put("card_verify", b"\x01\x00\x10A")

# serve_request: signature headers (input 0x00 signature) and tile paths.
sig = b"sig1=:" + b"A" * 86 + b"==:"
for inp in [b'sig1=("@method" "@target-uri");created=1773216000;keyid="sl.nma";nonce="n1";alg="ed25519"',
            b'sig1=("@method" "@target-uri" "content-digest");created=0;keyid="a";nonce="_-";alg="ed25519"']:
    put("serve_request", inp + b"\0" + sig)
for path in [b"0/000", b"0/x001/x234/067.p/255", b"entries/000.p/1", b"7/x999/999", b"1/000.p/3"]:
    put("serve_request", path)
# add_checkpoint: add-checkpoint bodies around the bundles' checkpoints (old 0, and a bad proof
# line), and chosen-checkpoint inputs (first byte odd).
for b in bundles:
    note = json.loads(b)["log"]["checkpoint"]
    put("add_checkpoint", "old 0\n\n" + note)
    put("add_checkpoint", "old 3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n" + note)
for i in range(1, 256, 2):
    put("add_checkpoint", bytes([i, 8, 8 + i % 8, i % 6] + [i % 251] * 6 + [i] * 40))

for t in sorted(os.listdir("corpus")):
    print(f"{t}: {len(os.listdir(os.path.join('corpus', t)))} inputs")
PY
