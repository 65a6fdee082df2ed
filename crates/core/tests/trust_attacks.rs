//! The trust model of bundle verification against forgers (issue 14 item 1, issue 20 item
//! 6): every attack is built here as described, and refused under the trust policy that
//! `kpledger demo` writes for an importing authority (`trust-policy.txt`: the MRU
//! Secretariat's key pinned for the log `kpledger.mru/regional`, the four national
//! authorities as witnesses, all required, and each as the only authority trusted for its
//! own country's certificates).
//!
//! Each forgery is also shown to verify under a policy that trusts the forger's own keys,
//! so that the refusal is the policy's doing and not a flaw of the forgery.

// Tests: a failed unwrap is a failed test, and the panic says where.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use kpledger_core::Ledger;
use kpledger_core::demo::importer;
use kpledger_core::demo::{self, DEMO_ORIGIN, DEMO_SEED, DEMO_START};
use kpledger_core::sim::{Enrolment, Sim, licence, site, text};
use kpledger_model::note::{Checkpoint, Cosigner, Note, SignerKey};
use kpledger_model::{
    ActorId, Bundle, Cents, Event, LeafProof, Origin, Payload, Points, PublicKey, Role, SecretKey, SiteId,
    Time,
};
use kpledger_testkit::TempDir;
use kpledger_testkit::events::to_exporter;
use kpledger_verify::{ISSUER_KEYWORD, issuer_vkey, log_vkey, witness_vkey};
use kpledger_verify::{Report, TrustPolicy, verify_bundle};

/// What the demo gives the world: its importer's trust policy, its genuine SL-2026-004312
/// bundle, and the one key the attacker stole, Sierra Leone's authority key (`sl.nma`).
struct DemoOut {
    policy: TrustPolicy,
    policy_text: String,
    sl_bundle: Vec<u8>,
    gn_bundle: Vec<u8>,
    sl_nma: SecretKey,
    /// The public keys of the demo's `manifest.json` `trust` list (all five authorities).
    manifest_keys: Vec<(String, PublicKey)>,
}

fn demo_out() -> &'static DemoOut {
    static DEMO: OnceLock<DemoOut> = OnceLock::new();
    DEMO.get_or_init(|| {
        let scratch = TempDir::new("trust-attacks-demo");
        let dir = scratch.join("demo");
        demo::run(&dir, 8, &mut |_| {}).unwrap();
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        let policy_text = std::fs::read_to_string(dir.join(manifest["policy"].as_str().unwrap())).unwrap();
        DemoOut {
            policy: TrustPolicy::parse(policy_text.as_bytes()).unwrap(),
            policy_text,
            sl_bundle: std::fs::read(dir.join("bundles").join("SL-2026-004312.json")).unwrap(),
            gn_bundle: std::fs::read(dir.join("bundles").join("GN-2026-000117.json")).unwrap(),
            sl_nma: SecretKey::read_pem_file(&dir.join("keys").join("sl.nma.pem")).unwrap(),
            manifest_keys: manifest["trust"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let p = p.as_str().unwrap();
                    (p.to_owned(), PublicKey::read_pem_file(&dir.join(p)).unwrap())
                })
                .collect(),
        }
    })
}

fn verify(bundle: &Bundle, policy: &TrustPolicy) -> Report {
    verify_bundle(&serde_json::to_vec_pretty(bundle).unwrap(), policy).unwrap()
}

fn error_codes(report: &Report) -> BTreeSet<&'static str> {
    report.findings.iter().filter(|f| f.is_error()).map(|f| f.code.code()).collect()
}

fn has(report: &Report, code: &str, contains: &str) -> bool {
    report.findings.iter().any(|f| f.code.code() == code && f.message.contains(contains))
}

/// A regional ledger with the demo's origin, built by someone: `seed` makes every key but
/// the root's; `root_key` (if given) is the root authority's key.
struct Regional {
    sim: Sim,
    root: ActorId,
    _scratch: TempDir,
}

const YEAR: (&str, &str) = ("2026-01-01", "2026-12-31");

impl Regional {
    fn new(
        tag: &str,
        seed: &str,
        root_key: Option<SecretKey>,
        authorities: &[(&str, &str, &str)],
    ) -> Regional {
        let scratch = TempDir::new(&format!("trust-attacks-{tag}"));
        let ledger = Ledger::create(&scratch.join("ledger.kpl")).unwrap();
        let origin = Origin::new(DEMO_ORIGIN).unwrap();
        let mut sim = Sim::new(ledger, origin, seed, &Time::new(DEMO_START).unwrap());
        let name = "Mano River Union Secretariat - KP Regional Approach";
        let root = match root_key {
            Some(k) => sim.genesis_with_key("mru.secretariat", name, "SL", k).unwrap(),
            None => sim.genesis("mru.secretariat", name, "SL").unwrap(),
        };
        for (code, id, name) in authorities {
            sim.enrol(&root, id, name, Role::Authority, code, None).unwrap();
        }
        Regional { sim, root, _scratch: scratch }
    }

    fn id(s: &str) -> ActorId {
        ActorId::new(s).unwrap()
    }

    /// `authority` publishes its country's policy, registers a mine site and enrols a miner,
    /// a dealer, an exporter and a valuer; `pt` points are mined and sold to the exporter,
    /// valued at `usd_cents`, sealed by `sealer` and certified as `number` by `issuer`, then
    /// exported. Returns the certificate's number.
    #[allow(clippy::too_many_arguments)]
    fn certified_lot(
        &mut self,
        country: &str,
        authority: &ActorId,
        sealer: &ActorId,
        issuer: &ActorId,
        number: &str,
        pt: u64,
        usd_cents: u64,
    ) {
        let sim = &mut self.sim;
        let c = country.to_lowercase();
        sim.policy(authority, common::policy(country)).unwrap();
        let class = match country {
            "LR" => "class-c",
            _ => "artisanal",
        };
        let area = if country == "SL" { 8_000 } else { 40_000 };
        let mine = sim
            .site(
                authority,
                site(&format!("{c}.forged.claim-1"), "Claim 1", country, "North", "7.28,-10.65", area)
                    .unwrap(),
            )
            .unwrap();
        // A licensed trader `<c>.<who>` of `role`, its licence `number` of `class`.
        let mut trader =
            |who: &str, name: &str, role: Role, (number, class): (&str, &str), sites: &[&SiteId]| {
                let lic = licence(number, class, YEAR.0, YEAR.1, sites).unwrap();
                sim.enrol(authority, &format!("{c}.{who}"), name, role, country, Some(lic)).unwrap()
            };
        let miner = trader("miner.one", "Miner One", Role::Miner, ("M/1", class), &[&mine]);
        let dealer = trader("dealer.one", "Dealer One", Role::Dealer, ("D/1", "dealer"), &[]);
        let exporter = trader("exporter.one", "Exporter One Ltd", Role::Exporter, ("E/1", "exporter"), &[]);
        let valuer = sim
            .enrol(authority, &format!("{c}.valuer"), "Government Valuer", Role::Valuer, country, None)
            .unwrap();
        sim.tick(60);
        let prices = (Cents(usd_cents / 2), Cents(usd_cents * 9 / 10));
        let p = to_exporter(sim, [&miner, &dealer, &exporter], &mine, (pt, 900, "7102.31"), prices);
        let v = Cents(usd_cents);
        let independent = if matches!(country, "SL" | "LR") { Some(v) } else { None };
        sim.value(&valuer, &p, v, v, independent, v).unwrap();
        sim.tick(60);
        let s1 = format!("{country}-SEAL-2026-9001");
        let s2 = format!("{country}-SEAL-2026-9002");
        sim.seal(sealer, &p, &[s1.as_str(), s2.as_str()]).unwrap();
        sim.tick(60);
        let to = importer("Diamcor Rough Trading NV", "Hoveniersstraat 22, Antwerp", "BE").unwrap();
        let draft = sim.draft_certificate(number, issuer, &exporter, to, &[p], 60).unwrap();
        sim.certify(issuer, draft).unwrap();
        sim.tick(60);
        sim.export(issuer, number).unwrap();
        sim.tick(60);
    }

    /// The root publishes a checkpoint; the bundle of `number`, its checkpoint cosigned by
    /// each of `cosigners` (name, key), whoever holds those keys.
    fn bundle(&mut self, number: &str, cosigners: &[(&str, SecretKey)]) -> Bundle {
        let root_key = self.sim.key(&self.root).unwrap().clone();
        self.sim.ledger_mut().publish_checkpoint(&root_key).unwrap();
        let mut bundle = self.sim.ledger().bundle(&text(number).unwrap()).unwrap();
        let mut note = Note::parse(bundle.log.checkpoint.as_bytes()).unwrap();
        let cp = Checkpoint::parse(note.text()).unwrap();
        for (name, key) in cosigners {
            let c = Cosigner::new(name, key.clone()).unwrap();
            note.add_signature(c.cosign(&cp, 1_773_000_000).unwrap()).unwrap();
        }
        bundle.log.checkpoint = String::from_utf8(note.to_bytes()).unwrap();
        bundle
    }

    fn key(&self, id: &str) -> SecretKey {
        self.sim.key(&Regional::id(id)).unwrap().clone()
    }
}

/// A policy trusting the given keys: the log, the witnesses (all required, or none), issuers.
fn policy_of(
    log: &SecretKey,
    witnesses: &[(&str, SecretKey)],
    issuers: &[(&str, &str, SecretKey)],
) -> TrustPolicy {
    let mut t = format!("log {}\n", log_vkey(DEMO_ORIGIN, log.public()).unwrap().to_vkey());
    for (name, k) in witnesses {
        t.push_str(&format!("witness {name} {}\n", witness_vkey(name, k.public()).unwrap().to_vkey()));
    }
    if witnesses.is_empty() {
        t.push_str("quorum none\n");
    } else {
        let names: Vec<&str> = witnesses.iter().map(|(n, _)| *n).collect();
        t.push_str(&format!("group all-of-them all {}\nquorum all-of-them\n", names.join(" ")));
    }
    for (country, actor, k) in issuers {
        t.push_str(&format!(
            "{ISSUER_KEYWORD} {country} {}\n",
            issuer_vkey(actor, k.public()).unwrap().to_vkey()
        ));
    }
    TrustPolicy::parse(t.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{t}"))
}

const ATTACKER: &str = "an attacker's own seed";
const FAKES: [(&str, &str, &str); 3] = [
    ("LR", "lr.mme", "Ministry of Mines and Energy of Liberia"),
    ("GN", "gn.mines", "Ministere des Mines et de la Geologie de Guinee"),
    ("CI", "ci.sprpk", "SPRPK-CI, Processus de Kimberley Cote d'Ivoire"),
];

/// Issue 14 item 1, as it was run: with only Sierra Leone's authority key, a fake ledger with
/// the real origin `kpledger.mru/regional`: a root named `mru.secretariat` holding SL's key,
/// fake enrolments of the Liberian, Guinean and Ivorian authorities with the attacker's keys,
/// and Liberian certificate LR-2026-000043 for 5,000 ct / US$9M, its checkpoint cosigned by
/// the fake authorities (and by SL's key, which the attacker holds). Under the demo's
/// policy: the log is not the pinned one (LOG-2), and LR's certificate is validated by a key
/// the policy does not trust for LR (KP-7); no witness is named.
#[test]
fn forged_regional_bundle_from_one_national_key_is_refused() {
    let d = demo_out();
    let mut f = Regional::new("forged-lr", ATTACKER, Some(d.sl_nma.clone()), &FAKES);
    let lr = Regional::id("lr.mme");
    f.certified_lot("LR", &lr, &lr, &lr, "LR-2026-000043", 500_000, 900_000_000);
    let cosigners: Vec<(&str, SecretKey)> = vec![
        ("sl.nma", d.sl_nma.clone()),
        ("lr.mme", f.key("lr.mme")),
        ("gn.mines", f.key("gn.mines")),
        ("ci.sprpk", f.key("ci.sprpk")),
    ];
    let forged = f.bundle("LR-2026-000043", &cosigners);

    let report = verify(&forged, &d.policy);
    assert!(!report.ok);
    assert_eq!(error_codes(&report), BTreeSet::from(["KP-7", "LOG-2"]), "{:#?}", report.findings);
    assert!(has(&report, "LOG-2", "is not the key the trust policy pins for log"), "{:#?}", report.findings);
    assert!(
        has(&report, "KP-7", "certificate LR-2026-000043 of LR is validated by lr.mme"),
        "{:#?}",
        report.findings
    );
    assert!(report.witnesses.is_empty(), "no witness may be named: {:?}", report.witnesses);

    // The forgery is sound in itself: under a policy that trusts the forger's keys, it verifies.
    let fakes: Vec<(&str, SecretKey)> = cosigners[1..].to_vec();
    let naive = policy_of(&d.sl_nma, &fakes, &[("LR", "lr.mme", f.key("lr.mme"))]);
    let report = verify(&forged, &naive);
    assert!(report.ok, "{:#?}", report.findings);
    assert_eq!(report.witnesses, ["lr.mme", "gn.mines", "ci.sprpk"]);
}

/// The SL-2026-004999 variant in the forged world: the fake root (holding SL's key, genesis
/// country SL) seals, issues and exports a Sierra Leone certificate itself. The key that
/// signed it is the real `sl.nma` key, but the signer is `mru.secretariat`: the policy trusts
/// `sl.nma` by name and key, so KP-7 refuses it as well as LOG-2.
#[test]
fn forged_root_issuing_as_sierra_leone_is_refused() {
    let d = demo_out();
    let mut f = Regional::new("forged-sl", ATTACKER, Some(d.sl_nma.clone()), &FAKES);
    let root = f.root.clone();
    f.certified_lot("SL", &root, &root, &root, "SL-2026-004999", 100_000, 30_000_000);
    let forged = f.bundle("SL-2026-004999", &[("sl.nma", d.sl_nma.clone())]);
    let report = verify(&forged, &d.policy);
    assert_eq!(error_codes(&report), BTreeSet::from(["KP-7", "LOG-2"]), "{:#?}", report.findings);
    assert!(
        has(&report, "KP-7", "validated by mru.secretariat") && has(&report, "KP-7", "trusts only sl.nma"),
        "{:#?}",
        report.findings
    );
    // Even a policy that pinned this forged log would refuse the certificate: the log key
    // is never a country's issuer.
    let naive = policy_of(&d.sl_nma, &[], &[("LR", "lr.mme", f.key("lr.mme"))]);
    let report = verify(&forged, &naive);
    assert_eq!(error_codes(&report), BTreeSet::from(["KP-7"]), "{:#?}", report.findings);
}

/// The same with the genuine regional root: the real MRU Secretariat (its log pinned, its
/// checkpoint cosigned by the four real national authorities) seals, issues and exports
/// SL-2026-004999 itself. Every rule of the ledger holds (its genesis says SL), the log and the
/// witnesses are the pinned ones, and the bundle is still refused: the policy trusts only
/// `sl.nma` for Sierra Leone's certificates (KP-7).
#[test]
fn genuine_root_issuing_as_sierra_leone_is_kp7() {
    let d = demo_out();
    let real: [(&str, &str, &str); 4] =
        [("SL", "sl.nma", "National Minerals Agency of Sierra Leone"), FAKES[0], FAKES[1], FAKES[2]];
    let mut g = Regional::new("genuine-root", DEMO_SEED, None, &real);
    let (root, sl) = (g.root.clone(), Regional::id("sl.nma"));
    g.certified_lot("SL", &sl, &root, &root, "SL-2026-004999", 100_000, 30_000_000);
    let witnesses: Vec<(&str, SecretKey)> =
        ["sl.nma", "lr.mme", "gn.mines", "ci.sprpk"].iter().map(|w| (*w, g.key(w))).collect();
    let bundle = g.bundle("SL-2026-004999", &witnesses);
    let report = verify(&bundle, &d.policy);
    assert_eq!(error_codes(&report), BTreeSet::from(["KP-7"]), "{:#?}", report.findings);
    assert!(has(&report, "KP-7", "validated by mru.secretariat"), "{:#?}", report.findings);
    assert_eq!(report.witnesses.len(), 4, "the log and its witnesses are the pinned ones");

    // A variant: the genuine root enrols a second "authority" of Liberia with a key of its own,
    // which issues a Liberian certificate. The ledger's rules accept the enrolment; the
    // importer's policy does not know that authority (KP-7).
    let lr2 = g
        .sim
        .enrol(&root, "lr.mme.regional", "Regional desk for Liberia", Role::Authority, "LR", None)
        .unwrap();
    g.certified_lot_again(&lr2, "LR-2026-000044");
    let bundle = g.bundle("LR-2026-000044", &witnesses);
    let report = verify(&bundle, &d.policy);
    assert_eq!(error_codes(&report), BTreeSet::from(["KP-7"]), "{:#?}", report.findings);
    assert!(has(&report, "KP-7", "validated by lr.mme.regional"), "{:#?}", report.findings);
}

impl Regional {
    /// A second Liberian lot, mined by the Liberian actors already enrolled, sealed and
    /// certified by `issuer`.
    fn certified_lot_again(&mut self, issuer: &ActorId, number: &str) {
        let sim = &mut self.sim;
        let id = Regional::id;
        let (miner, dealer, exporter, valuer) =
            (id("lr.miner.one"), id("lr.dealer.one"), id("lr.exporter.one"), id("lr.valuer"));
        // The lot of `certified_lot` for LR was not made in this world: make the Liberian
        // trade first, with the genuine Liberian authority.
        let lr = id("lr.mme");
        if sim.ledger().actor(&miner).unwrap().is_none() {
            sim.policy(&lr, common::policy("LR")).unwrap();
            let mine = sim
                .site(
                    &lr,
                    site("lr.forged.claim-1", "Claim 1", "LR", "North", "7.28,-10.65", 40_000).unwrap(),
                )
                .unwrap();
            let lic =
                |n: &str, class: &str, sites: &[&SiteId]| licence(n, class, YEAR.0, YEAR.1, sites).unwrap();
            sim.enrol(
                &lr,
                "lr.miner.one",
                "Miner One",
                Role::Miner,
                "LR",
                Some(lic("M/1", "class-c", &[&mine])),
            )
            .unwrap();
            sim.enrol(
                &lr,
                "lr.dealer.one",
                "Dealer One",
                Role::Dealer,
                "LR",
                Some(lic("D/1", "dealer", &[])),
            )
            .unwrap();
            sim.enrol(
                &lr,
                "lr.exporter.one",
                "Exporter One Ltd",
                Role::Exporter,
                "LR",
                Some(lic("E/1", "exporter", &[])),
            )
            .unwrap();
            sim.enrol(&lr, "lr.valuer", "Government Valuer", Role::Valuer, "LR", None).unwrap();
        }
        let mine = SiteId::new("lr.forged.claim-1").unwrap();
        let p = sim.extract(&miner, &mine, Points(20_000), 40, "7102.31").unwrap();
        sim.handover(&miner, &p, &dealer, Cents(1_000_000), None).unwrap();
        sim.handover(&dealer, &p, &exporter, Cents(2_000_000), None).unwrap();
        let v = Cents(3_000_000);
        sim.value(&valuer, &p, v, v, Some(v), v).unwrap();
        sim.seal(issuer, &p, &["LR-SEAL-2026-9101", "LR-SEAL-2026-9102"]).unwrap();
        let to = importer("Diamcor Rough Trading NV", "Hoveniersstraat 22, Antwerp", "BE").unwrap();
        let draft = sim.draft_certificate(number, issuer, &exporter, to, &[p], 60).unwrap();
        sim.certify(issuer, draft).unwrap();
        sim.export(issuer, number).unwrap();
    }
}

/// Issue 20 item 6: with only Sierra Leone's authority key, the genuine SL-2026-004312 bundle
/// re-rooted: a throwaway genesis key for `mru.secretariat`, the four root-signed enrolments
/// re-signed with it, every other event byte-identical, one appended `rotate_key` of
/// `mru.secretariat` to `sl.nma`'s key, a new tree over these events and a checkpoint signed
/// with `sl.nma`'s key (and cosigned with it). The chain of root keys must start at the key
/// the policy pins: refused (LOG-2). The Secretariat's key appears nowhere in the bundle.
#[test]
fn rerooted_bundle_with_a_throwaway_genesis_key_is_refused() {
    let d = demo_out();
    let genuine: Bundle = serde_json::from_slice(&d.sl_bundle).unwrap();
    let throwaway = SecretKey::from_seed(&[0x66; 32]);
    let root = Regional::id("mru.secretariat");
    let mut events = Vec::new();
    let mut last_time = None;
    for v in &genuine.events {
        let ev: Event = serde_json::from_value(v.clone()).unwrap();
        let mut body = ev.body.clone();
        let resign = match &mut body.payload {
            Payload::Genesis { authority } => {
                authority.key = throwaway.public();
                true
            }
            _ => body.signer == root,
        };
        last_time = Some(body.time.clone());
        events.push(if resign {
            serde_json::to_value(Event::sign(body, &throwaway).unwrap()).unwrap()
        } else {
            v.clone()
        });
    }
    let time = Time::from_unix(last_time.unwrap().unix() + 60);
    let rotate = kpledger_model::EventBody {
        v: 1,
        ledger: genuine.ledger.clone(),
        time,
        signer: root.clone(),
        payload: Payload::RotateKey { actor: root.clone(), key: d.sl_nma.public() },
    };
    events.push(serde_json::to_value(Event::sign(rotate, &throwaway).unwrap()).unwrap());
    // The log as the forger presents it: exactly these events, in order.
    let leaves: Vec<kpledger_model::Hash> = events
        .iter()
        .map(|v| {
            let e = Event::parse(&kpledger_model::canonical::canonical_value(v)).unwrap();
            kpledger_verify::log::leaf_hash(&e.hash)
        })
        .collect();
    let proofs: Vec<LeafProof> = (0..leaves.len())
        .map(|i| LeafProof {
            index: i as u64,
            path: kpledger_verify::merkle::inclusion_proof(&leaves, i as u64).unwrap(),
        })
        .collect();
    let cp =
        Checkpoint::new(DEMO_ORIGIN, leaves.len() as u64, kpledger_verify::merkle::root(&leaves)).unwrap();
    let mut note = cp.sign(&SignerKey::new(DEMO_ORIGIN, d.sl_nma.clone()).unwrap()).unwrap();
    note.cosign(&Cosigner::new("sl.nma", d.sl_nma.clone()).unwrap(), 1_773_000_000).unwrap();
    let mut forged = genuine.clone();
    forged.events = events;
    forged.log.proofs = proofs;
    forged.log.checkpoint = String::from_utf8(note.to_bytes()).unwrap();

    let report = verify(&forged, &d.policy);
    assert_eq!(error_codes(&report), BTreeSet::from(["LOG-2"]), "{:#?}", report.findings);
    assert!(has(&report, "LOG-2", "must start at the pinned key"), "{:#?}", report.findings);
    assert!(report.witnesses.is_empty());
    // The old trust ("the Secretariat's key and SL's key") is what it fooled: a policy that
    // pins the throwaway key as the log's (as the bundle claims) accepts it, which is why the
    // log key may come only from the policy.
    let naive = TrustPolicy::parse(
        d.policy_text
            .lines()
            .map(|l| {
                if l.starts_with("log ") {
                    format!("log {}", log_vkey(DEMO_ORIGIN, throwaway.public()).unwrap().to_vkey())
                } else if l.starts_with("quorum ") {
                    "quorum none".to_owned()
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            .as_bytes(),
    )
    .unwrap();
    let report = verify(&forged, &naive);
    assert!(report.ok, "{:#?}", report.findings);
}

/// A variant: the certificates a bundle relies on are judged too, not only the one it is
/// for. SL-2026-004312 carries Liberian stones imported under LR-2026-000042; under a policy
/// that trusts no authority for Liberia, the imported certificate is not anchored (KP-7).
#[test]
fn an_imported_certificate_in_the_provenance_needs_a_trusted_issuer() {
    let d = demo_out();
    let without_lr: String = d
        .policy_text
        .lines()
        .filter(|l| !l.starts_with(&format!("{ISSUER_KEYWORD} LR ")))
        .collect::<Vec<_>>()
        .join("\n");
    let policy = TrustPolicy::parse(without_lr.as_bytes()).unwrap();
    let bundle: Bundle = serde_json::from_slice(&d.sl_bundle).unwrap();
    assert!(verify(&bundle, &d.policy).ok);
    let report = verify(&bundle, &policy);
    assert_eq!(error_codes(&report), BTreeSet::from(["KP-7"]), "{:#?}", report.findings);
    assert!(has(&report, "KP-7", "certificate LR-2026-000042 of LR"), "{:#?}", report.findings);
    assert!(has(&report, "KP-7", "trusts no authority for LR"), "{:#?}", report.findings);
}

/// A variant on witness names: the genuine bundle with its four cosignature lines replaced by
/// lines under the same four names made with the attacker's keys. They verify with no key
/// of the policy: ignored, never named, and the quorum is not met (LOG-3).
#[test]
fn cosignatures_under_witness_names_by_other_keys_name_no_one() {
    let d = demo_out();
    let mut bundle: Bundle = serde_json::from_slice(&d.sl_bundle).unwrap();
    let note = Note::parse(bundle.log.checkpoint.as_bytes()).unwrap();
    let cp = Checkpoint::parse(note.text()).unwrap();
    let mut forged = Note::new(note.text()).unwrap();
    for s in note.signatures().iter().filter(|s| s.name() == DEMO_ORIGIN) {
        forged.add_signature(s.clone()).unwrap();
    }
    for (i, name) in ["sl.nma", "lr.mme", "gn.mines", "ci.sprpk"].iter().enumerate() {
        let fake = Cosigner::new(name, SecretKey::from_seed(&[0x70 + i as u8; 32])).unwrap();
        let sig = fake.cosign(&cp, 1_773_000_000).unwrap();
        forged.add_signature(sig).unwrap();
    }
    bundle.log.checkpoint = String::from_utf8(forged.to_bytes()).unwrap();
    let report = verify(&bundle, &d.policy);
    assert_eq!(error_codes(&report), BTreeSet::from(["LOG-3"]), "{:#?}", report.findings);
    assert!(has(&report, "LOG-3", "(none) do not meet its quorum"), "{:#?}", report.findings);
    assert!(report.witnesses.is_empty(), "{:?}", report.witnesses);
}

/// The policy itself: a key pinned both as the log's and as an issuer, or a witness's key
/// equal to the log's, is refused with the lines named, so no policy can make the log key
/// an issuer or let the log witness itself.
#[test]
fn policies_that_mix_the_roles_of_keys_are_refused() {
    let d = demo_out();
    let root_line = d.policy_text.lines().position(|l| l.starts_with("log ")).unwrap() + 1;
    let root_vkey = d.policy_text.lines().nth(root_line - 1).unwrap()["log ".len()..].to_owned();
    let root = kpledger_model::note::VerifierKey::parse(&root_vkey).unwrap();
    let n = d.policy_text.lines().count();
    let as_issuer = format!(
        "{}\n{ISSUER_KEYWORD} SL {}\n",
        d.policy_text.trim_end(),
        issuer_vkey("mru.secretariat", *root.public_key()).unwrap().to_vkey()
    );
    let e = TrustPolicy::parse(as_issuer.as_bytes()).unwrap_err();
    assert_eq!(e.lines, vec![root_line, n + 1], "{e}");
    let as_witness = d.policy_text.replace(
        "quorum mru-authorities",
        &format!(
            "witness mru {}\nquorum mru-authorities",
            witness_vkey("mru.secretariat", *root.public_key()).unwrap().to_vkey()
        ),
    );
    let e = TrustPolicy::parse(as_witness.as_bytes()).unwrap_err();
    assert!(e.lines.contains(&root_line) && e.to_string().contains("cannot witness itself"), "{e}");
}

/// Issue 20 item 9: bundles no longer carry the enrolments of witnesses that nothing else in
/// them relies on (a verifier takes witness keys from its policy only). Guinea's bundle relies
/// on Guinea's authority alone, yet its checkpoint is cosigned by all four: it holds no
/// enrolment of the other three, and verifies under the demo's policy with all four named.
#[test]
fn bundles_carry_no_witness_enrolments() {
    let d = demo_out();
    let bundle: Bundle = serde_json::from_slice(&d.gn_bundle).unwrap();
    let enrolled: BTreeSet<String> = bundle
        .events
        .iter()
        .filter(|e| e["body"]["kind"] == "enrol" && e["body"]["actor"]["role"] == "authority")
        .map(|e| e["body"]["actor"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(enrolled, BTreeSet::from(["gn.mines".to_owned()]));
    let report = verify(&bundle, &d.policy);
    assert!(report.ok, "{:#?}", report.findings);
    assert_eq!(report.witnesses, ["sl.nma", "lr.mme", "gn.mines", "ci.sprpk"]);
}

/// A variant: a bundle of a log the policy does not pin at all (the rule fixtures' national
/// ledger `kpledger.sl/national`, verified under the demo's policy for the regional log):
/// LOG-2, the policy pins no key for that origin; and KP-7, its `sl.nma` is not the one the
/// policy trusts.
#[test]
fn a_bundle_of_a_log_the_policy_does_not_pin_is_log2() {
    let d = demo_out();
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bundles/ok_sl_witnessed_export/bundle.json");
    let bundle: Bundle = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let report = verify(&bundle, &d.policy);
    assert_eq!(error_codes(&report), BTreeSet::from(["KP-7", "LOG-2"]), "{:#?}", report.findings);
    assert!(has(&report, "LOG-2", "pins no key for log \"kpledger.sl/national\""), "{:#?}", report.findings);
    assert!(report.witnesses.is_empty());
}

/// `kpledger verify BUNDLE --trust KEYFILE …` (the command line of 0.1.0, kept) trusts bare
/// keys without roles. It must not be a way around the trust policy: the key that anchors a log
/// never vouches for a certificate in it, and an issuer's key must be one of those given. Under
/// every set of the demo manifest's keys — all five, or the Secretariat's and Sierra Leone's as
/// the old README recommended — the forgeries built from `sl.nma`'s key alone are refused, and
/// the genuine bundles verify, unwitnessed (LOG-4).
#[test]
fn bare_trusted_keys_refuse_the_forgeries_too() {
    let d = demo_out();
    let key = |name: &str| {
        d.manifest_keys.iter().find(|(p, _)| p.ends_with(&format!("{name}.pub"))).map(|(_, k)| *k).unwrap()
    };
    let all: Vec<PublicKey> = d.manifest_keys.iter().map(|(_, k)| *k).collect();
    let readme = vec![key("mru.secretariat"), key("sl.nma")];

    let mut lr = Regional::new("bare-lr", ATTACKER, Some(d.sl_nma.clone()), &FAKES);
    let lr_id = Regional::id("lr.mme");
    lr.certified_lot("LR", &lr_id, &lr_id, &lr_id, "LR-2026-000043", 500_000, 900_000_000);
    let forged_lr =
        lr.bundle("LR-2026-000043", &[("sl.nma", d.sl_nma.clone()), ("lr.mme", lr.key("lr.mme"))]);

    let mut sl = Regional::new("bare-sl", ATTACKER, Some(d.sl_nma.clone()), &FAKES);
    let root = sl.root.clone();
    sl.certified_lot("SL", &root, &root, &root, "SL-2026-004999", 100_000, 30_000_000);
    let forged_sl = sl.bundle("SL-2026-004999", &[("sl.nma", d.sl_nma.clone())]);

    for keys in [&all, &readme] {
        let trust = TrustPolicy::from_keys(keys.clone());
        // The fake root holds sl.nma's key, which is trusted: the log passes, the certificate
        // validated by an attacker's "lr.mme" key does not.
        let report = verify(&forged_lr, &trust);
        assert_eq!(error_codes(&report), BTreeSet::from(["KP-7"]), "{:#?}", report.findings);
        assert!(has(&report, "KP-7", "not among the keys given with --trust"), "{:#?}", report.findings);
        // The fake root issuing as Sierra Leone with sl.nma's key: that key anchors the log.
        let report = verify(&forged_sl, &trust);
        assert_eq!(error_codes(&report), BTreeSet::from(["KP-7"]), "{:#?}", report.findings);
        assert!(has(&report, "KP-7", "the log's root authority holds"), "{:#?}", report.findings);
        assert!(report.witnesses.is_empty(), "{:?}", report.witnesses);
    }
    // The genuine bundles verify under the manifest's keys, and say they are not witnessed.
    for bytes in [&d.sl_bundle, &d.gn_bundle] {
        let report = verify_bundle(bytes, &TrustPolicy::from_keys(all.clone())).unwrap();
        assert!(report.ok, "{:#?}", report.findings);
        assert!(report.findings.iter().any(|f| f.code.code() == "LOG-4"), "{:#?}", report.findings);
    }
    // A key the policy file pins as an issuer is still just a key: sl.nma alone anchors no log
    // of the Secretariat's.
    let report = verify_bundle(&d.sl_bundle, &TrustPolicy::from_keys(vec![key("sl.nma")])).unwrap();
    assert!(error_codes(&report).contains("LOG-2"), "{:#?}", report.findings);
}

/// Issue 15 item 5 with issue 14 item 3: an importing authority records what a verified bundle
/// proves. Sierra Leone certifies a shipment of two parcels under two headings to Antwerp; the
/// Belgian authority verifies the bundle under its trust policy and admits exactly that
/// shipment: both parcels, with their ids, weights, stones and headings, the certificate's
/// carats heading by heading. Then, as a smuggler would: one parcel left out (IM-1), the same
/// bundle again (KP-2), the same parcels under another number (CH-3), carats moved between the
/// headings (IM-1); and a policy that does not pin the log proves nothing.
#[test]
fn a_verified_bundle_of_two_parcels_is_imported_as_its_shipment() {
    let mut r = Regional::new(
        "import-two",
        "kpledger-import-bundle-v1",
        None,
        &[("SL", "sl.nma", "National Minerals Agency of Sierra Leone")],
    );
    let nma = Regional::id("sl.nma");
    let sim = &mut r.sim;
    sim.policy(&nma, common::policy("SL")).unwrap();
    let mine = sim
        .site(&nma, site("sl.kono.claim-1", "Claim 1", "SL", "Kono", "8.64,-10.97", 8_000).unwrap())
        .unwrap();
    let lic = |n: &str, class: &str, sites: &[&SiteId]| licence(n, class, YEAR.0, YEAR.1, sites).unwrap();
    let miner = sim
        .enrol(&nma, "sl.miner.one", "Miner One", Role::Miner, "SL", Some(lic("M/1", "artisanal", &[&mine])))
        .unwrap();
    let dealer = sim
        .enrol(&nma, "sl.dealer.one", "Dealer One", Role::Dealer, "SL", Some(lic("D/1", "dealer", &[])))
        .unwrap();
    let exporter = sim
        .enrol_with(
            &nma,
            Enrolment {
                id: "sl.exporter.one",
                name: "Exporter One Ltd",
                role: Role::Exporter,
                country: "SL",
                licence: Some(lic("E/1", "exporter", &[])),
                address: Some("1 Main Road, Koidu"),
            },
        )
        .unwrap();
    let valuer = sim.enrol(&nma, "sl.valuer", "Government Valuer", Role::Valuer, "SL", None).unwrap();
    let mut lots = Vec::new();
    for (i, (pt, hs)) in [(4_000u64, "7102.31"), (2_500, "7102.21")].into_iter().enumerate() {
        sim.tick(60);
        let prices = (Cents(pt * 100), Cents(pt * 120));
        let p = to_exporter(sim, [&miner, &dealer, &exporter], &mine, (pt, 100, hs), prices);
        let v = Cents(pt * 150);
        sim.value(&valuer, &p, v, v, Some(v), v).unwrap();
        sim.tick(60);
        let seal = format!("SL-SEAL-2026-910{i}");
        sim.seal(&nma, &p, &[seal.as_str()]).unwrap();
        lots.push(p);
    }
    sim.tick(60);
    let to = importer("Diamcor Rough Trading NV", "Hoveniersstraat 22, Antwerp", "BE").unwrap();
    let draft = sim.draft_certificate("SL-2026-004400", &nma, &exporter, to, &lots, 60).unwrap();
    assert_eq!((draft.parcel_count, draft.lines.len()), (2, 2));
    sim.certify(&nma, draft).unwrap();
    sim.tick(60);
    sim.export(&nma, "SL-2026-004400").unwrap();
    sim.tick(60);
    let arrival = r.sim.now();
    let bundle = serde_json::to_vec(&r.bundle("SL-2026-004400", &[])).unwrap();
    let root = r.sim.key(&r.root).unwrap().clone();
    let policy = policy_of(&root, &[], &[("SL", "sl.nma", r.key("sl.nma"))]);

    // Under a policy that does not pin the log, the bundle proves nothing.
    let stranger = SecretKey::from_seed(&[7; 32]);
    let (report, none) = kpledger_verify::verify_bundle_shipment(
        &bundle,
        &policy_of(&stranger, &[], &[("SL", "sl.nma", r.key("sl.nma"))]),
        kpledger_model::sign::SigMode::Strict,
    )
    .unwrap();
    assert!(!report.ok && none.is_none() && error_codes(&report).contains("LOG-2"), "{report:#?}");

    let (report, shipment) =
        kpledger_verify::verify_bundle_shipment(&bundle, &policy, kpledger_model::sign::SigMode::Strict)
            .unwrap();
    assert!(report.ok, "{report:#?}");
    let shipment = shipment.unwrap();
    let certified: Vec<_> = shipment.parcels.iter().map(|p| p.id).collect();
    assert_eq!(certified, lots);

    // The Belgian authority's ledger.
    let scratch = TempDir::new("trust-attacks-import-two-be");
    let ledger = Ledger::create(&scratch.join("be.kpl")).unwrap();
    let mut be =
        Sim::new(ledger, Origin::new("kpledger.be/national").unwrap(), "kpledger-import-be-v1", &arrival);
    let fpsd = be.genesis("be.fpsd", "FPS Economy, Diamond Office", "BE").unwrap();
    let mut own = common::policy("SL");
    own.country = kpledger_model::Country::new("BE").unwrap();
    be.policy(&fpsd, own).unwrap();
    let diamcor = be
        .enrol(
            &fpsd,
            "be.dealer.diamcor",
            "Diamcor Rough Trading NV",
            Role::Dealer,
            "BE",
            Some(lic("BE/D/1", "dealer", &[])),
        )
        .unwrap();
    be.tick(60);
    let import = |parcels: Vec<kpledger_model::ImportParcel>,
                  certificate: kpledger_model::ForeignCertificate| {
        let mut parcels = parcels.into_iter();
        let first = parcels.next().unwrap();
        Payload::Import {
            parcel: first.parcel,
            holder: diamcor.clone(),
            weight_pt: first.weight_pt,
            stones: first.stones,
            hs_code: first.hs_code,
            certificate,
            more_parcels: parcels.collect(),
        }
    };
    let refused = |be: &Sim, payload: Payload| -> BTreeSet<&'static str> {
        let ev = be.sign(&fpsd, payload).unwrap();
        be.ledger()
            .dry_run(&ev)
            .unwrap()
            .findings()
            .iter()
            .filter(|f| f.is_error())
            .map(|f| f.code.code())
            .collect()
    };
    let proven = shipment.import_parcels(&[], &[]).unwrap();
    let certificate = shipment.foreign_certificate();
    // One of the two parcels left out: refused.
    assert!(refused(&be, import(proven[..1].to_vec(), certificate.clone())).contains("IM-1"));
    // Carats moved between the headings, totals unchanged: refused.
    let mut moved = proven.clone();
    moved[0].weight_pt = Points(3_900);
    moved[1].weight_pt = Points(2_600);
    assert!(refused(&be, import(moved, certificate.clone())).contains("IM-1"));
    // The shipment as proven: admitted, parcel for parcel.
    be.submit(&fpsd, import(proven.clone(), certificate.clone())).unwrap();
    for p in &proven {
        let held = be.parcel(&p.parcel).unwrap();
        assert_eq!(
            (held.weight_pt, held.hs_code.clone(), held.holder.clone()),
            (p.weight_pt, p.hs_code.clone(), diamcor.clone())
        );
    }
    be.tick(60);
    // The same bundle again (KP-2); the same parcels under another number (CH-3).
    assert!(refused(&be, import(proven.clone(), certificate.clone())).contains("KP-2"));
    let mut renamed = certificate;
    renamed.number = text("SL-2026-004401").unwrap();
    assert!(refused(&be, import(proven, renamed)).contains("CH-3"));
}
