//! Second red-team review, through the binary: each test asserts the correct behaviour, so it
//! failed on the build it was written against.

use kpledger_core::Ledger;
use kpledger_core::demo::{POLICIES, importer};
use kpledger_core::sim::{Sim, licence, site};
use kpledger_model::canonical::from_slice_strict;
use kpledger_model::{ActorId, Cents, Origin, Points, Policy, Role, Time};
use kpledger_verify::trust::{ISSUER_KEYWORD, issuer_vkey, log_vkey};

use crate::util::TempDir;

const ORIGIN: &str = "kpledger.mru/regional";

fn policy(country: &str) -> Policy {
    let (_, doc) = POLICIES.iter().find(|(c, _)| *c == country).unwrap();
    from_slice_strict(doc.as_bytes()).unwrap()
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
    let path = d.join("ledger.kpl");
    let ledger = Ledger::create(&path).unwrap();
    let mut sim = Sim::new(
        ledger,
        Origin::new(ORIGIN).unwrap(),
        "redteam2-e2e",
        &Time::new("2026-03-02T08:00:00Z").unwrap(),
    );
    let root = sim.genesis("mru.secretariat", "Mano River Union Secretariat", "SL").unwrap();
    let nma = sim
        .enrol(&root, "sl.nma", "National Minerals Agency of Sierra Leone", Role::Authority, "SL", None)
        .unwrap();
    sim.policy(&nma, policy("SL")).unwrap();
    let koidu = sim
        .site(
            &nma,
            site("sl.kono.koidu-12", "Koidu claim 12", "SL", "Kono", "8.6446,-10.9712", 8_000).unwrap(),
        )
        .unwrap();
    let lic = |n: &str, class: &str, sites: &[&kpledger_model::SiteId]| {
        licence(n, class, "2026-01-01", "2026-12-31", sites).unwrap()
    };
    let miner = sim
        .enrol(
            &nma,
            "sl.miner.koroma",
            "Ibrahim Koroma",
            Role::Miner,
            "SL",
            Some(lic("M/1", "artisanal", &[&koidu])),
        )
        .unwrap();
    let dealer = sim
        .enrol(
            &nma,
            "sl.dealer.kamara",
            "Kamara Diamond Dealers",
            Role::Dealer,
            "SL",
            Some(lic("D/1", "dealer", &[])),
        )
        .unwrap();
    let exporter = sim
        .enrol(
            &nma,
            "sl.exporter.one",
            "Exporter One Ltd",
            Role::Exporter,
            "SL",
            Some(lic("E/1", "exporter", &[])),
        )
        .unwrap();
    let valuer = sim.enrol(&nma, "sl.pmt", "Government Valuer", Role::Valuer, "SL", None).unwrap();
    sim.tick(60);
    let p = sim.extract(&miner, &koidu, Points(100_000), 90, "7102.31").unwrap();
    sim.tick(60);
    sim.handover(&miner, &p, &dealer, Cents(10_000_000), None).unwrap();
    sim.tick(60);
    sim.handover(&dealer, &p, &exporter, Cents(20_000_000), None).unwrap();
    sim.tick(60);
    let v = Cents(30_000_000);
    sim.value(&valuer, &p, v, v, Some(v), v).unwrap();
    sim.tick(60);
    sim.seal(&root, &p, &["SL-SEAL-2026-9001"]).unwrap();
    sim.tick(60);
    let to = importer("Diamcor Rough Trading NV", "Hoveniersstraat 22, Antwerp", "BE").unwrap();
    let draft = sim.draft_certificate("SL-2026-004999", &root, &exporter, to, &[p], 60).unwrap();
    sim.certify(&root, draft).unwrap();
    sim.tick(60);
    sim.export(&root, "SL-2026-004999").unwrap();
    let k = |a: &ActorId| sim.key(a).unwrap().public();
    let policy_text = format!(
        "log {}\nquorum none\n{ISSUER_KEYWORD} SL {}\n",
        log_vkey(ORIGIN, k(&root)).unwrap().to_vkey(),
        issuer_vkey(nma.as_str(), k(&nma)).unwrap().to_vkey()
    );
    drop(sim);
    std::fs::write(d.join("policy.txt"), policy_text).unwrap();

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
