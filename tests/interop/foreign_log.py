"""A transparency log that kpledger did not make, for the interoperability test
(tests/e2e/witness_net.rs, `interop_*`): it is built, signed and submitted with the
aics-tlog and aics-witness packages from PyPI (C2SP tlog-checkpoint, signed-note,
tlog-cosignature and tlog-witness, written independently of kpledger).

    foreign_log.py vkey ORIGIN SEED_HEX
        prints the log's verifier key (C2SP vkey)
    foreign_log.py submit ORIGIN SEED_HEX WITNESS_URL WITNESS_VKEY
        grows the log to 3, 7 and 12 entries and has the witness cosign each checkpoint
        through aics-witness's client (which verifies every cosignature it gets back with the
        witness's vkey), then offers a fork at 12 entries; prints one JSON object per line
"""

import json
import sys
import tempfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aics_tlog import Checkpoint, MerkleTree, sign_checkpoint, vkey_from_ed25519, format_vkey
from aics_witness.feeder import FeederError, WitnessClient


def key(seed_hex: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))


def main() -> int:
    cmd, origin, seed = sys.argv[1], sys.argv[2], sys.argv[3]
    sk = key(seed)
    if cmd == "vkey":
        print(format_vkey(vkey_from_ed25519(origin, sk.public_key())))
        return 0
    url, witness_vkey = sys.argv[4], sys.argv[5]
    tree = MerkleTree()
    with tempfile.TemporaryDirectory() as d:
        client = WitnessClient(url, witness_vkey, state_path=f"{d}/state.json", max_attempts=1)
        for size in (3, 7, 12):
            while tree.size < size:
                tree.append(f"entry {tree.size}".encode())
            note = sign_checkpoint(Checkpoint(origin, size, tree.root(size)), sk, origin).to_bytes()
            lines = client.submit(note, tree.consistency_proof)
            print(json.dumps({"size": size, "cosigned": True, "note": note.decode(), "lines": lines}), flush=True)
        fork = MerkleTree([f"forged {i}".encode() for i in range(12)])
        note = sign_checkpoint(Checkpoint(origin, 12, fork.root(12)), sk, origin).to_bytes()
        try:
            client.submit(note, fork.consistency_proof)
            print(json.dumps({"size": 12, "fork": True, "cosigned": True}), flush=True)
        except FeederError as e:
            print(json.dumps({"size": 12, "fork": True, "cosigned": False, "error": str(e)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
