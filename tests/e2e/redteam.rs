//! Red-team attacks run through the binary; each test asserts the CORRECT behaviour, so it
//! fails on the build it was written against.

use crate::util::{TempDir, init, openssl, small_demo};

/// ATTACK (anyone with write access to the ledger file): replace the whole ledger with one
/// of the forger's making: same origin (`kpledger.mru/regional`), same root id and name as
/// the demo's, but the forger's own genesis key. The importing authority checks it with its
/// trust policy, which pins the Secretariat's key for this origin:
/// `kpledger verify --ledger forged.kpl --policy trust-policy.txt`. `verify --ledger` never
/// reads `--policy` (crates/cli/commands.rs, `Command::Verify`: `(Some(l), _, _) =>
/// verify_ledger(..)` drops it) and trusts the genesis key in the file: VERIFIED, exit 0.
///
/// Correct: with `--policy`, the ledger's root key must be the key the policy pins for its
/// origin (LOG-2, exit 1, as for a bundle), or the combination is refused as unsupported
/// (exit 2); never a silent VERIFIED.
#[test]
fn redteam_verify_ledger_with_policy_refuses_a_forged_root_key() {
    let d = TempDir::new("redteam-forged-root");
    let demo = small_demo(d.join("demo"));
    let policy = demo.join("trust-policy.txt");
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", "forger.pem"], d.path());
    let forged = d.join("forged.kpl");
    init(
        &forged,
        "kpledger.mru/regional",
        ["mru.secretariat", "Mano River Union Secretariat - KP Regional Approach", "SL"],
        d.join("forger.pem"),
    )
    .args(["--time", "2026-03-01T09:00:00Z"])
    .run()
    .ok();
    let out = kp!("verify", "--ledger", &forged, "--policy", &policy).run();
    assert!(
        (out.code == 1 || out.code == 2) && !out.stdout.contains("VERIFIED"),
        "a ledger whose root key is not the policy's pin must not verify under that policy:\n{out}"
    );
}
