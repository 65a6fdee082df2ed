//! Second red-team review, through the binary: each test asserts the correct behaviour, so it
//! failed on the build it was written against.

use kpledger_core::demo::importer;
use kpledger_core::sim::Sim;
use kpledger_model::note::{Checkpoint, Cosigner, Note};
use kpledger_model::{ActorId, Cents};
use kpledger_testkit::cast::{self, KAMARA, KOIDU, KONO_GEMS, KOROMA, MRU, NMA, PMT, Terms};
use kpledger_testkit::events::to_exporter;
use kpledger_verify::{ISSUER_KEYWORD, issuer_vkey, log_vkey, witness_vkey};

use crate::util::TempDir;

const ORIGIN: &str = "kpledger.mru/regional";

/// A regional ledger in `d`: the root (genesis country SL), Sierra Leone's and Liberia's
/// authorities, Sierra Leone's traders; one lot mined, sold, valued, sealed, certified as SL-2026-004999 and exported, by
/// `issuer` (the root itself, or `sl.nma`). Returns the ledger's path and the simulator.
fn regional_ledger(d: &TempDir, root_issues: bool) -> (std::path::PathBuf, Sim) {
    let path = d.join("ledger.kpl");
    let terms = Terms::new(ORIGIN, "redteam2-e2e", "2026-03-02T08:00:00Z");
    let mut sim = cast::sim_at(&path, &terms);
    // The root, Sierra Leone's and Liberia's authorities with their policies, the Koidu site
    // and its traders.
    let c = cast::build(&mut sim, &cast::REGIONAL[..10], &terms);
    let (root, nma, koidu) = (c.actor(MRU.id), c.actor(NMA.id), c.site(KOIDU.0));
    let (miner, dealer, exporter, valuer) =
        (c.actor(KOROMA.id), c.actor(KAMARA.id), c.actor(KONO_GEMS.id), c.actor(PMT.id));
    sim.tick(60);
    let prices = (Cents(10_000_000), Cents(20_000_000));
    let p = to_exporter(&mut sim, [&miner, &dealer, &exporter], &koidu, (100_000, 90, "7102.31"), prices);
    let v = Cents(30_000_000);
    sim.value(&valuer, &p, v, v, Some(v), v).unwrap();
    sim.tick(60);
    let issuer = if root_issues { root.clone() } else { nma.clone() };
    sim.seal(&issuer, &p, &["SL-SEAL-2026-9001"]).unwrap();
    sim.tick(60);
    let to = importer("Diamcor Rough Trading NV", "Hoveniersstraat 22, Antwerp", "BE").unwrap();
    let draft = sim.draft_certificate("SL-2026-004999", &issuer, &exporter, to, &[p], 60).unwrap();
    sim.certify(&issuer, draft).unwrap();
    sim.tick(60);
    sim.export(&issuer, "SL-2026-004999").unwrap();
    (path, sim)
}

/// The importer's policy for that ledger: the root's key for the log, `sl.nma` trusted for SL,
/// and, with `witnessed`, `sl.nma` as the one witness required.
fn policy_for(sim: &Sim, witnessed: bool) -> String {
    let k = |a: &str| sim.key(&ActorId::new(a).unwrap()).unwrap().public();
    let mut t = format!("log {}\n", log_vkey(ORIGIN, k("mru.secretariat")).unwrap().to_vkey());
    if witnessed {
        t.push_str(&format!(
            "witness nma {}\nquorum nma\n",
            witness_vkey("sl.nma", k("sl.nma")).unwrap().to_vkey()
        ));
    } else {
        t.push_str("quorum none\n");
    }
    t.push_str(&format!("{ISSUER_KEYWORD} SL {}\n", issuer_vkey("sl.nma", k("sl.nma")).unwrap().to_vkey()));
    t
}

/// ATTACK (the regional root, or whoever holds the log key): the root's genesis says SL, so the
/// ledger's rules let it seal, certify and export a Sierra Leone lot itself (SL-2026-004999).
/// An importing authority checks the WHOLE ledger under its trust policy, which pins the root's
/// key for the log and only `sl.nma` for Sierra Leone's certificates:
/// `kpledger verify --ledger L --policy P` checked only the root key and said VERIFIED (exit
/// 0), while `kpledger verify BUNDLE --policy P` refuses the same certificate (KP-7,
/// `trust_attacks.rs::genuine_root_issuing_as_sierra_leone_is_kp7`).
///
/// Correct: under a policy, the whole ledger is held to the same issuers as its bundles:
/// KP-7, exit 1. Without a policy the ledger verifies (the control).
#[test]
fn redteam2_verify_ledger_under_a_policy_refuses_the_roots_own_certificate() {
    let d = TempDir::new("redteam2-root-cert");
    let (path, sim) = regional_ledger(&d, true);
    std::fs::write(d.join("policy.txt"), policy_for(&sim, false)).unwrap();
    drop(sim);
    let control = kp!("verify", "--ledger", &path).run();
    control.check(control.code == 0, "the ledger verifies by its own rules (the control)");
    let out = kp!("verify", "--ledger", &path, "--policy", d.join("policy.txt")).run();
    out.no_panic();
    out.check(
        out.code == 1 && out.stdout.contains("KP-7") && out.stdout.contains("SL-2026-004999"),
        "a certificate validated by the log's root, not by the authority the policy trusts for SL, must not verify \
         under that policy (KP-7, exit 1), as its bundle does not",
    );
}

/// ATTACK (the root, rewriting its own history; or anyone handing over a ledger file): the
/// importer's policy requires `sl.nma`'s cosignature, as bundle verification enforces (LOG-3).
/// `verify --ledger L --policy P` on a ledger that has no checkpoint at all, or whose newest
/// checkpoint no witness cosigned, said VERIFIED (exit 0) and nothing about witnesses: the
/// file alone cannot show that anyone else saw this history (docs/SPEC.md §15).
///
/// Correct: under a policy, the whole ledger's newest checkpoint carries the policy's quorum
/// (LOG-3, exit 1); with `quorum none` the verdict says it is not witnessed (LOG-4); with the
/// witness's cosignature stored, it verifies.
#[test]
fn redteam2_verify_ledger_under_a_policy_needs_its_witnesses() {
    let d = TempDir::new("redteam2-ledger-witnesses");
    let (path, mut sim) = regional_ledger(&d, false);
    std::fs::write(d.join("witnessed.txt"), policy_for(&sim, true)).unwrap();
    std::fs::write(d.join("unwitnessed.txt"), policy_for(&sim, false)).unwrap();
    let verify = |policy: &str| kp!("verify", "--ledger", &path, "--policy", d.join(policy)).run();
    let out = verify("witnessed.txt");
    out.check(out.code == 1 && out.stdout.contains("LOG-3"), "no checkpoint: not witnessed (LOG-3)");
    let root_key = sim.key(&ActorId::new("mru.secretariat").unwrap()).unwrap().clone();
    let stored = sim.ledger_mut().publish_checkpoint(&root_key).unwrap();
    let out = verify("witnessed.txt");
    out.check(out.code == 1 && out.stdout.contains("LOG-3"), "a checkpoint no witness cosigned (LOG-3)");
    let out = verify("unwitnessed.txt");
    out.check(out.code == 0 && out.stdout.contains("LOG-4"), "quorum none: verified, not witnessed (LOG-4)");
    let nma_key = sim.key(&ActorId::new("sl.nma").unwrap()).unwrap().clone();
    let mut note = Note::parse(stored.note.as_bytes()).unwrap();
    let cp = Checkpoint::parse(note.text()).unwrap();
    note.add_signature(Cosigner::new("sl.nma", nma_key.clone()).unwrap().cosign(&cp, 1_773_000_000).unwrap())
        .unwrap();
    let witness = witness_vkey("sl.nma", nma_key.public()).unwrap();
    sim.ledger_mut().add_cosignatures(&note.to_bytes(), &[witness]).unwrap();
    drop(sim);
    let out = verify("witnessed.txt");
    out.check(out.code == 0 && !out.stdout.contains("LOG-3"), "cosigned by the policy's witness: verified");
}

/// ATTACK (someone handing an importer a crafted bundle): the strict reader's "unknown field"
/// and serde's "unknown variant" messages quote the file's own text, and kpledger printed them
/// raw. A bundle whose event kind is `ESC[2K CR "VERIFIED: evidence bundle SL-2026-004312"
/// ESC[8m` made `kpledger verify` print, on a terminal, a cleared line reading "VERIFIED:
/// evidence bundle SL-2026-004312" and hide the rest: the exit code was 2, the screen said
/// VERIFIED. The same through a member name, an actor's role, and `epcis check`'s event type.
///
/// Correct: exit 2 with the refusal on the screen; no control character of the file reaches
/// the terminal (shown escaped).
#[test]
fn redteam2_a_hostile_file_cannot_print_verified_over_its_refusal() {
    let d = TempDir::new("redteam2-terminal");
    let demo = d.join("demo");
    kp!("demo", &demo, "--parcels", "8").run().ok();
    let bundle = std::fs::read_to_string(demo.join("bundles").join("SL-2026-004312.json")).unwrap();
    let fake = "\u{1b}[2K\rVERIFIED: evidence bundle SL-2026-004312\u{1b}[8m";
    let escaped = serde_json::to_string(fake).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&bundle).unwrap();
    type Edit = fn(&mut serde_json::Value, &str);
    let variants: [(&str, Edit); 4] = [
        ("kind", |d: &mut serde_json::Value, f: &str| d["events"][1]["body"]["kind"] = f.into()),
        ("role", |d: &mut serde_json::Value, f: &str| d["events"][1]["body"]["actor"]["role"] = f.into()),
        ("member", |d: &mut serde_json::Value, f: &str| {
            d["events"][1]["body"].as_object_mut().unwrap().insert(f.to_owned(), 1.into());
        }),
        ("top", |d: &mut serde_json::Value, f: &str| {
            d.as_object_mut().unwrap().insert(f.to_owned(), 1.into());
        }),
    ];
    for (what, edit) in variants {
        let mut evil = doc.clone();
        edit(&mut evil, fake);
        let path = d.join(format!("evil-{what}.json"));
        std::fs::write(&path, serde_json::to_vec(&evil).unwrap()).unwrap();
        let out = kp!("verify", &path, "--policy", demo.join("trust-policy.txt")).run();
        out.no_panic();
        out.check(out.code == 2, &format!("{what}: an unreadable bundle is exit 2"));
        out.check(
            !out.stderr.contains('\u{1b}') && !out.stderr.contains('\r') && !out.stdout.contains('\u{1b}'),
            &format!("{what}: the file's escape sequence reached the terminal ({escaped})"),
        );
    }
    // `epcis check`: an EPCIS document from outside, its event type an escape sequence.
    let epcis = d.join("evil-epcis.json");
    kp!("epcis", "export", "--ledger", demo.join("ledger.kpl"), "--out", &epcis).run().ok();
    let mut e: serde_json::Value = serde_json::from_slice(&std::fs::read(&epcis).unwrap()).unwrap();
    e["epcisBody"]["eventList"][0]["type"] = fake.into();
    std::fs::write(&epcis, serde_json::to_vec(&e).unwrap()).unwrap();
    let out = kp!("epcis", "check", &epcis, "--ledger", demo.join("ledger.kpl")).run();
    out.no_panic();
    out.check(
        !out.stderr.contains('\u{1b}') && !out.stdout.contains('\u{1b}') && !out.stdout.contains('\r'),
        "epcis check: the document's escape sequence reached the terminal",
    );
}
