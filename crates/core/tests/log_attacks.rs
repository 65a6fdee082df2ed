//! The transparency log against attackers (issue 4's acceptance list): each attack is run on
//! a copy of the demo ledger (`kpledger_core::demo::run`: the Mano River Union ledger, whose
//! root authority published two checkpoints, each cosigned by the four national authorities
//! as witnesses), and the test asserts the exact rule codes that catch it, and says why.
//!
//! Two strengths of attacker edit the ledger file:
//!
//! - a *naive* one, who deletes or inserts event rows (and the rows that obviously go with
//!   them) with plain SQL;
//! - a *consistent* one, who makes the file exactly what kpledger itself writes for the
//!   history the attacker wants (every event renumbered, every index row, Merkle tree node
//!   and derived row right) by re-ingesting the signed events of that history into a fresh
//!   ledger with kpledger, then copies the stored checkpoints over, since only the root
//!   authority can sign new ones. Only the checkpoints can then tell.
//!
//! When the attacker also deletes the checkpoints that cover the change (or is the root
//! authority and signs new ones), the ledger verifies on its own: that is what witnesses
//! are for. The fork tests show a witness refuses any checkpoint that is not a consistent
//! extension of the last one it cosigned, and the quorum tests show that an importer who
//! requires the witnesses' cosignatures refuses a bundle without them (LOG-3). The controls
//! at the end show that an honest change (the root authority rotating its key before a
//! checkpoint) is not taken for an attack.

// Tests: a failed unwrap is a failed test, and the panic says where.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kpledger_core::demo::{self, DEMO_ORIGIN};
use kpledger_core::{Ledger, OpenOptions, StoreError};
use kpledger_model::note::{Note, SigType, Signature, VerifierKey};
use kpledger_model::{Event, EventBody, ParcelId, ParsedEvent, Payload, PublicKey, SecretKey, Time};
use kpledger_testkit::TempDir;
use kpledger_verify::StoredCheckpoint;
use kpledger_verify::witness::{self, LogState, Refusal};
use kpledger_verify::{Report, TrustPolicy, verify_bundle};

// ---------------------------------------------------------------------------------------
// The demo ledger and the attacker's tools
// ---------------------------------------------------------------------------------------

/// The demo, run into a fresh directory, verified clean.
struct Demo {
    scratch: TempDir,
}

impl Demo {
    fn new(tag: &str) -> Demo {
        let scratch = TempDir::new(&format!("log-attacks-{tag}"));
        let summary = demo::run(&scratch.join("demo"), 8, &mut |_| {}).unwrap();
        assert!(summary.report.ok, "the demo does not verify: {:#?}", summary.report.findings);
        let demo = Demo { scratch };
        assert_eq!(demo.checkpoints().len(), 2, "the demo publishes two checkpoints");
        demo
    }

    fn dir(&self) -> PathBuf {
        self.scratch.join("demo")
    }

    fn ledger(&self) -> PathBuf {
        self.dir().join("ledger.kpl")
    }

    /// A copy of the ledger file to attack (the WAL folded in first).
    fn copy(&self, name: &str) -> PathBuf {
        let conn = rusqlite::Connection::open(self.ledger()).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        drop(conn);
        let to = self.scratch.join(name);
        std::fs::copy(self.ledger(), &to).unwrap();
        to
    }

    /// Every recorded event, in order.
    fn events(&self) -> Vec<ParsedEvent> {
        events_of(&self.ledger())
    }

    /// The stored checkpoints, oldest first.
    fn checkpoints(&self) -> Vec<StoredCheckpoint> {
        open(&self.ledger()).stored_checkpoints().unwrap()
    }

    /// A demo actor's key (the demo writes them all to `keys/`).
    fn key(&self, id: &str) -> SecretKey {
        SecretKey::read_pem_file(&self.dir().join("keys").join(format!("{id}.pem"))).unwrap()
    }

    /// The log's key: the root authority's (the MRU Secretariat, the genesis signer).
    fn log_key(&self) -> VerifierKey {
        VerifierKey::new(DEMO_ORIGIN, SigType::Ed25519, self.key("mru.secretariat").public()).unwrap()
    }

    /// The witnesses: the actors who cosigned the newest checkpoint (the four national
    /// authorities), as C2SP cosignature keys.
    fn witnesses(&self) -> Vec<VerifierKey> {
        let newest = self.checkpoints().pop().unwrap();
        let note = Note::parse(newest.note.as_bytes()).unwrap();
        let keys: Vec<VerifierKey> = note
            .signatures()
            .iter()
            .filter(|s| s.name() != DEMO_ORIGIN)
            .map(|s| VerifierKey::new(s.name(), SigType::CosignatureV1, self.key(s.name()).public()).unwrap())
            .collect();
        assert_eq!(keys.len(), 4, "the four national authorities witness the demo's log");
        keys
    }

    /// What every witness remembers: the newest checkpoint, which they all cosigned.
    fn witness_state(&self) -> LogState {
        let newest = self.checkpoints().pop().unwrap();
        let opened = witness::check(None, newest.note.as_bytes(), &self.log_key(), &[]).unwrap();
        let cp = opened.checkpoint();
        LogState { origin: DEMO_ORIGIN.to_owned(), size: cp.size(), root: *cp.root_hash() }
    }

    /// The trust policy the demo wrote for an importer (all four witnesses required).
    fn policy(&self) -> TrustPolicy {
        TrustPolicy::parse(&std::fs::read(self.dir().join(demo::DEMO_POLICY)).unwrap()).unwrap()
    }

    /// An importer's trust policy: `log` the root key pinned for the demo's log, the national
    /// authorities as their countries' issuers, the `witnesses` given, and `quorum` of them
    /// (`None`: `quorum none`).
    fn policy_with(&self, log: PublicKey, witnesses: &[VerifierKey], quorum: Option<usize>) -> TrustPolicy {
        use kpledger_verify::{ISSUER_KEYWORD, issuer_vkey, log_vkey};
        let mut t = format!("log {}\n", log_vkey(DEMO_ORIGIN, log).unwrap().to_vkey());
        for w in witnesses {
            t.push_str(&format!("witness {} {}\n", w.name(), w.to_vkey()));
        }
        match quorum {
            None => t.push_str("quorum none\n"),
            Some(k) => {
                let names: Vec<&str> = witnesses.iter().map(VerifierKey::name).collect();
                t.push_str(&format!("group required {k} {}\nquorum required\n", names.join(" ")));
            }
        }
        for a in open(&self.ledger()).actors().unwrap() {
            if a.record.role == kpledger_model::Role::Authority && a.record.id.as_str() != "mru.secretariat" {
                let k = issuer_vkey(a.record.id.as_str(), a.record.key).unwrap();
                t.push_str(&format!("{ISSUER_KEYWORD} {} {}\n", a.record.country, k.to_vkey()));
            }
        }
        TrustPolicy::parse(t.as_bytes()).unwrap()
    }

    /// A fresh extraction by the miner who signed `like` (an extraction event), of a new
    /// parcel at the same site and weight, dated `time`: a validly signed event that the
    /// rules accept wherever the miner's licence holds.
    fn extraction_like(&self, like: &ParsedEvent, time: &Time, salt: u8) -> ParsedEvent {
        let Payload::Extraction { site, weight_pt, stones, hs_code, .. } = &like.event.body.payload else {
            panic!("not an extraction")
        };
        let millis = u64::try_from(time.unix()).unwrap() * 1000;
        let parcel: ParcelId = uuid::Builder::from_unix_timestamp_millis(millis, &[salt; 10]).into_uuid();
        let body = EventBody {
            v: 1,
            ledger: like.event.body.ledger.clone(),
            time: time.clone(),
            signer: like.event.body.signer.clone(),
            payload: Payload::Extraction {
                parcel,
                site: site.clone(),
                weight_pt: *weight_pt,
                stones: *stones,
                hs_code: hs_code.clone(),
            },
        };
        let key = self.key(like.event.body.signer.as_str());
        Event::sign(body, &key).unwrap().into_parsed().unwrap()
    }
}

fn open(path: &Path) -> Ledger {
    Ledger::open(path, OpenOptions::default()).unwrap()
}

fn events_of(path: &Path) -> Vec<ParsedEvent> {
    let ledger = open(path);
    (1..=ledger.len().unwrap()).map(|seq| ledger.event(seq).unwrap().unwrap()).collect()
}

/// Whole-ledger verification of the file.
fn verify(path: &Path) -> Report {
    open(path).verify(&mut |_, _| {}).unwrap()
}

/// The distinct codes of a report's error findings.
fn error_codes(report: &Report) -> BTreeSet<&'static str> {
    report.findings.iter().filter(|f| f.is_error()).map(|f| f.code.code()).collect()
}

fn has(report: &Report, code: &str, contains: &str) -> bool {
    report.findings.iter().any(|f| f.code.code() == code && f.message.contains(contains))
}

/// LOG-2 is the only error, and it names every checkpoint of `cps` as signing a size whose
/// root is no longer the log's: the signed checkpoints are what shows the history changed.
#[track_caller]
fn only_log2_naming(report: &Report, cps: &[StoredCheckpoint]) {
    assert_eq!(error_codes(report), BTreeSet::from(["LOG-2"]), "{:#?}", report.findings);
    for cp in cps {
        assert!(
            has(report, "LOG-2", &format!("checkpoint {} signs size", cp.size)),
            "{:#?}",
            report.findings
        );
    }
}

/// Runs SQL on a ledger file behind kpledger's back, in one transaction.
fn sql(path: &Path, statements: &[String]) {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    for s in statements {
        tx.execute_batch(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    tx.commit().unwrap();
}

/// The consistent attacker: a ledger at `path` holding exactly `events` (ingested by
/// kpledger, so every derived row, index row and tree node is right), and the stored
/// `checkpoints` copied over as they were.
fn rebuild(path: &Path, events: &[ParsedEvent], checkpoints: &[StoredCheckpoint]) {
    let mut ledger = Ledger::create(path).unwrap();
    for (i, ev) in events.iter().enumerate() {
        if let Err(e) = ledger.append(ev) {
            panic!("the rewritten history is refused at event {}: {e}", i + 1);
        }
    }
    drop(ledger);
    common::store_checkpoints(path, checkpoints);
}

/// The 1-based positions of the events that name `parcel`.
fn positions_of(events: &[ParsedEvent], parcel: &ParcelId) -> Vec<u64> {
    (1..)
        .zip(events)
        .filter(|(_, e)| e.event.body.payload.parcels().iter().any(|(p, _)| p == parcel))
        .map(|(seq, _)| seq)
        .collect()
}

/// Position (1-based) of the first event of `kind` signed by `signer`.
fn position(events: &[ParsedEvent], kind: &str, signer: &str) -> u64 {
    let i = events
        .iter()
        .position(|e| e.event.body.payload.kind() == kind && e.event.body.signer.as_str() == signer)
        .unwrap_or_else(|| panic!("no {kind} by {signer}"));
    i as u64 + 1
}

/// `DELETE` statements for the stored Merkle tree nodes that the leaves of events `seqs`
/// (1-based) are part of, at every level: what a naive attacker removes with the events.
fn delete_nodes_sql(seqs: &[u64]) -> Vec<String> {
    let mut out = Vec::new();
    for seq in seqs {
        for level in 0..63u32 {
            let idx = (seq - 1) >> level;
            out.push(format!("DELETE FROM log_nodes WHERE level = {level} AND idx = {idx}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Rows deleted from the database
// ---------------------------------------------------------------------------------------

/// The newest event of a parcel — the export of the Sierra Leone lot, covered by both
/// checkpoints — deleted from the database.
#[test]
fn newest_event_of_a_parcel_deleted() {
    let demo = Demo::new("newest");
    let events = demo.events();
    let export = position(&events, "export", "sl.nma");
    let cps = demo.checkpoints();
    assert!(cps[0].size >= export, "both checkpoints cover the export");
    let lot = events[export as usize - 1].event.body.payload.parcels()[0].0;
    assert_eq!(positions_of(&events, &lot).last(), Some(&export), "the export is the lot's newest event");

    // Naive: the event row and its parcel index rows go; the lot's stored row still says
    // "exported" and the tree still holds the event's leaf.
    let naive = demo.copy("naive.kpl");
    sql(
        &naive,
        &[
            format!("DELETE FROM events WHERE seq = {export}"),
            format!("DELETE FROM event_parcels WHERE seq = {export}"),
        ],
    );
    let report = verify(&naive);
    // CH-1: the positions jump from export − 1 to export + 1. LOG-2: from the gap on, the
    // recomputed tree differs from the one the checkpoints signed, and the newest checkpoint
    // covers one more event than remain. DB-1: the stored tree nodes, the lot's row and
    // its certificate's row (both still "exported") no longer match the events.
    assert_eq!(error_codes(&report), BTreeSet::from(["CH-1", "DB-1", "LOG-2"]), "{:#?}", report.findings);
    assert!(has(&report, "CH-1", "jumps"), "{:#?}", report.findings);

    // Consistent: the ledger rebuilt by kpledger from every other event (renumbered, every
    // row right; the certificate is now merely issued), the signed checkpoints kept.
    let consistent = demo.scratch.join("consistent.kpl");
    let mut rest = events.clone();
    rest.remove(export as usize - 1);
    rebuild(&consistent, &rest, &cps);
    let report = verify(&consistent);
    // Only LOG-2 is left, and it is enough: the first checkpoint's root is not the root of
    // the first events any more, and the second covers one event more than remain.
    only_log2_naming(&report, &cps[..1]);
    assert!(has(&report, "LOG-2", &format!("now has only {} events", rest.len())), "{:#?}", report.findings);
}

/// The newest event of the whole ledger deleted consistently, and with it the checkpoint
/// that covers it: the file then verifies, and only the witnesses can tell — they refuse
/// every checkpoint the ledger can publish afterwards.
#[test]
fn newest_event_and_its_checkpoint_deleted_only_witnesses_tell() {
    let demo = Demo::new("newest-and-checkpoint");
    let events = demo.events();
    let cps = demo.checkpoints();
    let n = events.len() as u64;
    assert_eq!(cps[1].size, n, "the second checkpoint covers every event");

    // Without the newest checkpoint, the first is intact and nothing local remembers the
    // deleted event: the attacker's file verifies.
    let path = demo.scratch.join("rewritten.kpl");
    rebuild(&path, &events[..events.len() - 1], &cps[..1]);
    let report = verify(&path);
    assert!(report.ok && error_codes(&report).is_empty(), "{:#?}", report.findings);

    // The (honest) root authority publishes the log as it now is; each witness remembers
    // the checkpoint of n events it cosigned.
    let state = demo.witness_state();
    let log_key = demo.log_key();
    let root = demo.key("mru.secretariat");
    let mut ledger = open(&path);
    let smaller = ledger.publish_checkpoint(&root).unwrap();
    assert_eq!(smaller.size, n - 1);
    let refusal = witness::check(Some(&state), smaller.note.as_bytes(), &log_key, &[]).unwrap_err();
    assert!(matches!(refusal, Refusal::Rollback { old, new } if old == n && new == n - 1), "{refusal}");

    // One more event (an extraction the miner records later) brings the log back to n
    // events, with another history: a fork.
    let last = &events[events.len() - 1];
    let extraction = events.iter().rev().find(|e| e.event.body.payload.kind() == "extraction").unwrap();
    let later = Time::from_unix(last.event.body.time.unix() + 3600);
    ledger.append(&demo.extraction_like(extraction, &later, 1)).unwrap();
    let same_size = ledger.publish_checkpoint(&root).unwrap();
    assert_eq!(same_size.size, n);
    let refusal = witness::check(Some(&state), same_size.note.as_bytes(), &log_key, &[]).unwrap_err();
    assert!(matches!(refusal, Refusal::Fork { size, .. } if size == n), "{refusal}");

    // And another: a larger tree, but no consistency proof the ledger can give shows it
    // extends the tree the witnesses cosigned.
    let later = Time::from_unix(later.unix() + 3600);
    ledger.append(&demo.extraction_like(extraction, &later, 2)).unwrap();
    let larger = ledger.publish_checkpoint(&root).unwrap();
    assert_eq!(larger.size, n + 1);
    let proof = ledger.consistency_proof(n, n + 1).unwrap();
    let refusal = witness::check(Some(&state), larger.note.as_bytes(), &log_key, &proof).unwrap_err();
    assert!(matches!(refusal, Refusal::Inconsistent { old, new } if old == n && new == n + 1), "{refusal}");
}

/// A whole parcel's events deleted: the Guinean export lot (its merge, valuation, seal,
/// certificate and export), as if the shipment to Dubai had never been.
#[test]
fn whole_parcel_deleted() {
    let demo = Demo::new("parcel");
    let events = demo.events();
    let cps = demo.checkpoints();
    let export = position(&events, "export", "gn.mines");
    let lot = events[export as usize - 1].event.body.payload.parcels()[0].0;
    let gone = positions_of(&events, &lot);
    assert_eq!(gone.len(), 5, "merge, valuation, seal, certificate, export: {gone:?}");
    assert!(gone[0] < cps[0].size, "the first checkpoint covers the lot's merge");

    // Naive, but thorough: the events, their index rows, their leaves and every tree node
    // above them, the lot's row and its certificate's row.
    let naive = demo.copy("naive.kpl");
    let list = gone.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    let mut statements = vec![
        format!("DELETE FROM events WHERE seq IN ({list})"),
        format!("DELETE FROM event_parcels WHERE seq IN ({list})"),
        format!("DELETE FROM parcels WHERE id = '{lot}'"),
        "DELETE FROM certificates WHERE number = 'GN-2026-000117'".to_owned(),
    ];
    statements.extend(delete_nodes_sql(&gone));
    sql(&naive, &statements);
    let report = verify(&naive);
    // CH-1: the positions jump over each deleted event. DB-1: the merge's inputs are still
    // stored as consumed, though no remaining event consumed them, and the stored tree has
    // lost nodes the remaining events need. LOG-2: both checkpoints' roots differ from the
    // recomputed tree.
    assert_eq!(error_codes(&report), BTreeSet::from(["CH-1", "DB-1", "LOG-2"]), "{:#?}", report.findings);

    // Consistent: the ledger rebuilt without the lot's events (the merge's inputs are back
    // at the exporter), the checkpoints kept.
    let consistent = demo.scratch.join("consistent.kpl");
    let rest: Vec<ParsedEvent> =
        (1..).zip(&events).filter(|(seq, _)| !gone.contains(seq)).map(|(_, e)| e.clone()).collect();
    rebuild(&consistent, &rest, &cps);
    let report = verify(&consistent);
    // Every row agrees with the remaining events; only the signed checkpoints show the
    // history changed (the first's root, the second's size).
    only_log2_naming(&report, &cps[..1]);
    assert!(has(&report, "LOG-2", &format!("now has only {} events", rest.len())), "{:#?}", report.findings);
}

// ---------------------------------------------------------------------------------------
// An event inserted into the middle of the log
// ---------------------------------------------------------------------------------------

/// A demo ledger, its events, its checkpoints, and a [`ghost`] event for it.
fn with_ghost(tag: &str) -> (Demo, Vec<ParsedEvent>, Vec<StoredCheckpoint>, (u64, ParsedEvent)) {
    let demo = Demo::new(tag);
    let events = demo.events();
    let cps = demo.checkpoints();
    let ghost = ghost(&demo, &events);
    (demo, events, cps, ghost)
}

/// Where a ghost extraction goes: just before the Guinean collector merges his parcels
/// (a validly signed extraction by the Guinean miner, dated between its neighbours), so
/// that it looks as if the parcel had been mined with the others.
fn ghost(demo: &Demo, events: &[ParsedEvent]) -> (u64, ParsedEvent) {
    let merge = position(events, "merge", "gn.collector.diallo");
    let before = &events[merge as usize - 2];
    let time = Time::from_unix(before.event.body.time.unix() + 60);
    assert!(time < events[merge as usize - 1].event.body.time, "room for the ghost before the merge");
    let like = events[..merge as usize - 1]
        .iter()
        .rev()
        .find(|e| e.event.body.payload.kind() == "extraction")
        .unwrap();
    assert_eq!(like.event.body.signer.as_str(), "gn.miner.camara");
    (merge, demo.extraction_like(like, &time, 7))
}

#[test]
fn event_inserted_into_the_middle() {
    let (demo, events, cps, (at, ghost)) = with_ghost("insert");
    assert!(at <= cps[0].size, "the insertion is under both checkpoints");

    // Naive: the later events are renumbered to make room (negated first, so that no two
    // rows ever share a position), and the ghost goes in at `at` with its index row.
    let naive = demo.copy("naive.kpl");
    let parcel = ghost.event.body.payload.parcels()[0].0;
    sql(
        &naive,
        &[
            format!("UPDATE events SET seq = -seq WHERE seq >= {at}"),
            "UPDATE events SET seq = 1 - seq WHERE seq < 0".to_owned(),
            format!("UPDATE event_parcels SET seq = -seq WHERE seq >= {at}"),
            "UPDATE event_parcels SET seq = 1 - seq WHERE seq < 0".to_owned(),
        ],
    );
    {
        let conn = rusqlite::Connection::open(&naive).unwrap();
        let body = &ghost.event.body;
        conn.execute(
            "INSERT INTO events(seq, hash, kind, time, signer, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                at as i64,
                &ghost.hash.0[..],
                body.payload.kind(),
                body.time.as_str(),
                body.signer.as_str(),
                String::from_utf8(ghost.canonical.clone()).unwrap()
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO event_parcels(parcel, seq) VALUES (?1, ?2)",
            rusqlite::params![parcel.to_string(), at as i64],
        )
        .unwrap();
    }
    let report = verify(&naive);
    // No CH-1: the positions are gap-free and the ghost breaks no chain. DB-1: the stored
    // tree nodes from the ghost on do not match the events, and no parcel row exists for
    // the ghost's parcel. LOG-2: the checkpoints' roots are not the roots of the events.
    assert_eq!(error_codes(&report), BTreeSet::from(["DB-1", "LOG-2"]), "{:#?}", report.findings);

    // Consistent: kpledger itself ingests the history with the ghost in it (every row
    // right, the ghost's parcel at the miner), and the checkpoints are kept.
    let consistent = demo.scratch.join("consistent.kpl");
    let mut with_ghost = events.clone();
    with_ghost.insert(at as usize - 1, ghost);
    rebuild(&consistent, &with_ghost, &cps);
    let report = verify(&consistent);
    // Only the checkpoints can tell, and they do: both roots differ from the recomputed
    // tree at their sizes.
    only_log2_naming(&report, &cps);
}

// ---------------------------------------------------------------------------------------
// Forks: the witness refuses
// ---------------------------------------------------------------------------------------

/// The log's operator (the root authority, who holds the signing key) rewrites history and
/// signs checkpoints of the new one. Locally that is undetectable once the old checkpoints
/// are gone; a witness that cosigned the old history refuses.
#[test]
fn fork_is_refused_by_the_witnesses() {
    let demo = Demo::new("fork");
    let events = demo.events();
    let state = demo.witness_state();
    let log_key = demo.log_key();
    let root = demo.key("mru.secretariat");
    let n = events.len() as u64;
    let (at, ghost) = ghost(&demo, &events);

    // Two checkpoints of the same size with different roots: the ghost inserted and the
    // newest event dropped, so the forked log has n events too.
    let same = demo.scratch.join("fork-same-size.kpl");
    let mut forked = events.clone();
    forked.insert(at as usize - 1, ghost.clone());
    forked.pop();
    rebuild(&same, &forked, &[]);
    let mut ledger = open(&same);
    let cp = ledger.publish_checkpoint(&root).unwrap();
    assert_eq!(cp.size, n);
    // The rewritten ledger, with checkpoints its operator signed afresh, verifies.
    let report = verify(&same);
    assert!(report.ok && error_codes(&report).is_empty(), "{:#?}", report.findings);
    let refusal = witness::check(Some(&state), cp.note.as_bytes(), &log_key, &[]).unwrap_err();
    assert!(
        matches!(refusal, Refusal::Fork { size, old, new } if size == n && old == state.root && new != state.root),
        "{refusal}"
    );

    // A new checkpoint that does not extend the old one: the ghost inserted, nothing
    // dropped (n + 1 events). Neither the forked ledger's own consistency proof nor any
    // other (the genuine ledger has none to n + 1; an empty one) convinces the witness.
    let longer = demo.scratch.join("fork-longer.kpl");
    let mut forked = events.clone();
    forked.insert(at as usize - 1, ghost);
    rebuild(&longer, &forked, &[]);
    let mut ledger = open(&longer);
    let cp = ledger.publish_checkpoint(&root).unwrap();
    assert_eq!(cp.size, n + 1);
    let proof = ledger.consistency_proof(n, n + 1).unwrap();
    for proof in [proof, Vec::new()] {
        let refusal = witness::check(Some(&state), cp.note.as_bytes(), &log_key, &proof).unwrap_err();
        assert!(
            matches!(refusal, Refusal::Inconsistent { old, new } if old == n && new == n + 1),
            "{refusal}"
        );
    }

    // The control: the genuine ledger, extended by one honest event, is cosigned.
    let honest = demo.copy("honest.kpl");
    let mut ledger = open(&honest);
    let extraction = events.iter().rev().find(|e| e.event.body.payload.kind() == "extraction").unwrap();
    let later = Time::from_unix(events[events.len() - 1].event.body.time.unix() + 3600);
    ledger.append(&demo.extraction_like(extraction, &later, 3)).unwrap();
    let cp = ledger.publish_checkpoint(&root).unwrap();
    let proof = ledger.consistency_proof(n, n + 1).unwrap();
    let opened = witness::check(Some(&state), cp.note.as_bytes(), &log_key, &proof).unwrap();
    assert_eq!(opened.checkpoint().size(), n + 1);
    assert!(verify(&honest).ok);
}

/// The forked ledger keeps the checkpoints the witnesses cosigned: whole-ledger
/// verification then shows the fork itself (LOG-2), without asking any witness.
#[test]
fn fork_under_the_old_checkpoints_is_log2() {
    let (demo, events, cps, (at, ghost)) = with_ghost("fork-kept");
    let path = demo.scratch.join("fork.kpl");
    let mut forked = events.clone();
    forked.insert(at as usize - 1, ghost);
    forked.pop();
    rebuild(&path, &forked, &cps);
    let report = verify(&path);
    only_log2_naming(&report, &cps);
}

// ---------------------------------------------------------------------------------------
// Bundles without the required cosignatures
// ---------------------------------------------------------------------------------------

/// The demo's evidence bundle of the Sierra Leone certificate, as JSON.
fn sl_bundle(demo: &Demo) -> serde_json::Value {
    let bytes = std::fs::read(demo.dir().join("bundles").join("SL-2026-004312.json")).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn verify_with(bundle: &serde_json::Value, policy: &TrustPolicy) -> Report {
    let bytes = serde_json::to_vec_pretty(bundle).unwrap();
    verify_bundle(&bytes, policy).unwrap()
}

/// The bundle with its checkpoint's signature lines replaced by `lines` (the log's own
/// signature is always kept first).
fn with_signatures(
    bundle: &serde_json::Value,
    lines: impl Fn(&[Signature]) -> Vec<Signature>,
) -> serde_json::Value {
    let note = Note::parse(bundle["log"]["checkpoint"].as_str().unwrap().as_bytes()).unwrap();
    let (log, cosigs): (Vec<Signature>, Vec<Signature>) =
        note.signatures().iter().cloned().partition(|s| s.name() == DEMO_ORIGIN);
    let mut text = note.text().to_owned();
    text.push('\n');
    for s in log.iter().chain(lines(&cosigs).iter()) {
        text.push_str(&s.to_line());
    }
    let mut out = bundle.clone();
    out["log"]["checkpoint"] = serde_json::Value::String(text);
    out
}

#[test]
fn bundle_without_the_required_cosignatures_is_log3() {
    let demo = Demo::new("quorum");
    let bundle = sl_bundle(&demo);
    let witnesses = demo.witnesses();
    let root = demo.key("mru.secretariat").public();
    let policy = demo.policy();

    // The genuine bundle, under the demo's policy: cosigned by all four witnesses, named.
    let report = verify_with(&bundle, &policy);
    assert!(report.ok && report.findings.iter().all(|f| f.code.code() != "LOG-4"), "{:#?}", report.findings);
    assert_eq!(report.witnesses, ["sl.nma", "lr.mme", "gn.mines", "ci.sprpk"]);

    // A quorum the checkpoint cannot meet: a fifth witness, all five required.
    let absent =
        VerifierKey::new("be.fps-economy", SigType::CosignatureV1, SecretKey::from_seed(&[9; 32]).public())
            .unwrap();
    let five: Vec<VerifierKey> = witnesses.iter().cloned().chain([absent.clone()]).collect();
    let report = verify_with(&bundle, &demo.policy_with(root, &five, Some(5)));
    assert_eq!(error_codes(&report), BTreeSet::from(["LOG-3"]), "{:#?}", report.findings);
    assert!(has(&report, "LOG-3", "do not meet its quorum, group required (5 of"), "{:#?}", report.findings);

    // The cosignatures stripped: only the log's signature is left. An importer whose policy
    // requires no witness is told so (LOG-4, a warning); one whose policy requires them refuses.
    let stripped = with_signatures(&bundle, |_| Vec::new());
    let report = verify_with(&stripped, &demo.policy_with(root, &witnesses, None));
    assert!(report.ok, "{:#?}", report.findings);
    assert!(has(&report, "LOG-4", "not witnessed"), "{:#?}", report.findings);
    assert!(report.witnesses.is_empty());
    let report = verify_with(&stripped, &policy);
    assert_eq!(error_codes(&report), BTreeSet::from(["LOG-3"]), "{:#?}", report.findings);
    assert!(has(&report, "LOG-3", "(none) do not meet its quorum"), "{:#?}", report.findings);

    // One witness's cosignature repeated in place of another's counts once.
    let repeated = with_signatures(&bundle, |c| vec![c[0].clone(), c[0].clone(), c[1].clone(), c[2].clone()]);
    let report = verify_with(&repeated, &policy);
    assert_eq!(error_codes(&report), BTreeSet::from(["LOG-3"]), "{:#?}", report.findings);
    assert!(has(&report, "LOG-3", "do not meet its quorum"), "{:#?}", report.findings);

    // The witnesses' cosignatures of the earlier checkpoint, pasted onto this one (a bundle
    // dressed up with cosignatures that are genuine, but of another tree): under any policy
    // that lists them they do not verify (LOG-3, docs/SPEC.md §14.3), whatever the quorum.
    let first = demo.checkpoints().remove(0);
    let old_cosigs: Vec<Signature> = Note::parse(first.note.as_bytes())
        .unwrap()
        .signatures()
        .iter()
        .filter(|s| s.name() != DEMO_ORIGIN)
        .cloned()
        .collect();
    assert_eq!(old_cosigs.len(), 4);
    let replayed = with_signatures(&bundle, |_| old_cosigs.clone());
    for p in [policy.clone(), demo.policy_with(root, &witnesses, None)] {
        let report = verify_with(&replayed, &p);
        assert_eq!(error_codes(&report), BTreeSet::from(["LOG-3"]), "{:#?}", report.findings);
        assert!(has(&report, "LOG-3", "does not verify"), "{:#?}", report.findings);
        assert!(report.witnesses.is_empty(), "no witness is named whose cosignature failed");
    }
    // A policy that lists no witness does not know those lines: it ignores them (C2SP signed
    // notes), names no witness, and says the verdict is unwitnessed (LOG-4).
    let report = verify_with(&replayed, &demo.policy_with(root, &[], None));
    assert!(report.ok && has(&report, "LOG-4", "cosignatures verified: none"), "{:#?}", report.findings);
    assert!(report.witnesses.is_empty());

    // A witness the checkpoint lacks, required alone.
    let report = verify_with(&bundle, &demo.policy_with(root, std::slice::from_ref(&absent), Some(1)));
    assert_eq!(error_codes(&report), BTreeSet::from(["LOG-3"]), "{:#?}", report.findings);
    assert!(has(&report, "LOG-3", "(none) do not meet its quorum"), "{:#?}", report.findings);
}

// ---------------------------------------------------------------------------------------
// Controls: honest changes are not attacks
// ---------------------------------------------------------------------------------------

/// The root authority rotates its key (signed with the old one) and signs the next
/// checkpoint with the new key: the ledger verifies, and the witnesses cosign (they are
/// told the new log key).
#[test]
fn root_key_rotation_then_checkpoint_verifies() {
    let demo = Demo::new("rotation");
    let (path, _, new, cp) = rotated(&demo, "rotated.kpl");
    // The rotation is the newest event, just before the checkpoint: verification must know
    // the new key from that event on (it once followed the root's keys one event late).
    let report = verify(&path);
    assert!(report.ok && error_codes(&report).is_empty(), "{:#?}", report.findings);
    let state = demo.witness_state();
    let new_log_key = VerifierKey::new(DEMO_ORIGIN, SigType::Ed25519, new.public()).unwrap();
    let proof = open(&path).consistency_proof(state.size, cp.size).unwrap();
    witness::check(Some(&state), cp.note.as_bytes(), &new_log_key, &proof).unwrap();
}

/// After a root key rotation, a bundle's checkpoint is signed by the new key: the bundle
/// carries the root's rotation, and a policy that pins the root's genesis key is enough,
/// because the rotation itself is signed by it.
#[test]
fn bundle_after_root_key_rotation_verifies() {
    let demo = Demo::new("rotation-bundle");
    let (path, old, new, _) = rotated(&demo, "rotated.kpl");
    let bundle = open(&path).bundle(&kpledger_core::sim::text("SL-2026-004312").unwrap()).unwrap();
    let bytes = serde_json::to_vec_pretty(&bundle).unwrap();
    let report = verify_bundle(&bytes, &demo.policy_with(old.public(), &[], None)).unwrap();
    assert!(report.ok, "{:#?}", report.findings);
    // The policy pins the log's key, and the chain of the root's keys starts there: a policy
    // that pins only the newer key does not know the genesis key that signed the rotation.
    let report = verify_bundle(&bytes, &demo.policy_with(new.public(), &[], None)).unwrap();
    assert!(has(&report, "LOG-2", "must start at the pinned key"), "{:#?}", report.findings);
}

/// The root authority rotates to a key that a policy lists as a witness's (the policy cannot
/// know the keys the root rotates to) and cosigns its own checkpoint with it: the log does
/// not witness itself, so the cosignature counts for nothing and names no one (LOG-3).
#[test]
fn a_root_key_cosigning_as_a_witness_counts_for_nothing() {
    use kpledger_model::note::Cosigner;
    let demo = Demo::new("root-as-witness");
    let (path, old, new, _) = rotated(&demo, "rotated.kpl");
    let mut bundle = open(&path).bundle(&kpledger_core::sim::text("SL-2026-004312").unwrap()).unwrap();
    let mut note = Note::parse(bundle.log.checkpoint.as_bytes()).unwrap();
    note.cosign(&Cosigner::new("mru.witness", new.clone()).unwrap(), 1_773_000_000).unwrap();
    bundle.log.checkpoint = String::from_utf8(note.to_bytes()).unwrap();
    let bytes = serde_json::to_vec_pretty(&bundle).unwrap();
    let as_witness = VerifierKey::new("mru.witness", SigType::CosignatureV1, new.public()).unwrap();
    let report =
        verify_bundle(&bytes, &demo.policy_with(old.public(), std::slice::from_ref(&as_witness), Some(1)))
            .unwrap();
    assert_eq!(error_codes(&report), BTreeSet::from(["LOG-3"]), "{:#?}", report.findings);
    assert!(report.witnesses.is_empty(), "{:?}", report.witnesses);
}

/// A copy of the demo ledger (`name`) whose root authority rotated from its demo key to a new
/// one, then signed a checkpoint with the new key: the copy, the old and new keys, and that
/// checkpoint.
fn rotated(demo: &Demo, name: &str) -> (PathBuf, SecretKey, SecretKey, StoredCheckpoint) {
    let path = demo.copy(name);
    let (old, new) = (demo.key("mru.secretariat"), SecretKey::from_seed(&[42; 32]));
    let mut ledger = open(&path);
    rotate_root(&mut ledger, &old, &new);
    let cp = ledger.publish_checkpoint(&new).unwrap();
    (path, old, new, cp)
}

/// Appends the root authority's rotation from `old` to `new` (signed with `old`).
fn rotate_root(ledger: &mut Ledger, old: &SecretKey, new: &SecretKey) {
    let last = ledger.event(ledger.len().unwrap()).unwrap().unwrap();
    let root: kpledger_model::ActorId = "mru.secretariat".parse().unwrap();
    let body = EventBody {
        v: 1,
        ledger: last.event.body.ledger.clone(),
        time: Time::from_unix(last.event.body.time.unix() + 60),
        signer: root.clone(),
        payload: Payload::RotateKey { actor: root, key: new.public() },
    };
    ledger.append(&Event::sign(body, old).unwrap().into_parsed().unwrap()).unwrap();
}

// ---------------------------------------------------------------------------------------
// The stored Merkle tree edited
// ---------------------------------------------------------------------------------------

/// Verification streams the stored tree level by level beside the events; an edited node is
/// named at any level, a node that goes missing or one added where none belongs is caught.
#[test]
fn stored_tree_nodes_edited_missing_or_added() {
    let demo = Demo::new("tree-nodes");
    let n = demo.events().len() as u64;
    let top = 63 - n.leading_zeros();
    for (level, idx) in [(0u32, 0u64), (0, n - 1), (1, 3), (top, 0)] {
        let edited = demo.copy(&format!("edited-{level}-{idx}.kpl"));
        sql(
            &edited,
            &[format!("UPDATE log_nodes SET hash = zeroblob(32) WHERE level = {level} AND idx = {idx}")],
        );
        let report = verify(&edited);
        assert_eq!(error_codes(&report), BTreeSet::from(["DB-1"]), "{:#?}", report.findings);
        assert!(has(&report, "DB-1", &format!("level {level} index {idx} ")), "{:#?}", report.findings);
    }
    let short = demo.copy("short-hash.kpl");
    sql(&short, &[String::from("UPDATE log_nodes SET hash = x'00' WHERE level = 2 AND idx = 1")]);
    assert!(has(&verify(&short), "DB-1", "level 2 index 1 "), "a hash of the wrong length is a mismatch");
    let missing = demo.copy("missing.kpl");
    sql(&missing, &[String::from("DELETE FROM log_nodes WHERE level = 1 AND idx = 2")]);
    assert!(has(&verify(&missing), "DB-1", "level 1 index 2 "));
    let added = demo.copy("added.kpl");
    sql(&added, &[format!("INSERT INTO log_nodes(level, idx, hash) VALUES (0, {}, zeroblob(32))", n + 5)]);
    let report = verify(&added);
    assert_eq!(error_codes(&report), BTreeSet::from(["DB-1"]), "{:#?}", report.findings);
}

/// A consumed parcel's stored row is compared when verification sees it consumed (the state
/// then forgets it): an edit of any of its cells names the column, a deleted row is missing,
/// and a cell of another type (an integer stored as text) is a change too.
#[test]
fn consumed_parcel_rows_edited_or_missing() {
    let demo = Demo::new("consumed-rows");
    let consumed: String = rusqlite::Connection::open(demo.ledger())
        .unwrap()
        .query_row("SELECT min(id) FROM parcels WHERE status = 'consumed'", [], |r| r.get(0))
        .unwrap();
    let row = format!("row \"{consumed}\"");
    let update = |set: &str| vec![format!("UPDATE parcels SET {set} WHERE id = '{consumed}'")];
    let column = |name: &str| format!("table parcels, {row}: column {name} is ");
    // Each case: its name, the transactions that edit the file, and what the finding says.
    let cases = [
        ("holder", vec![update("holder = 'xx.someone'")], column("holder")),
        ("status", vec![update("status = 'open'")], column("status")),
        ("weight", vec![update("weight_pt = weight_pt + 1")], column("weight_pt")),
        ("head", vec![update("head = zeroblob(32)")], column("head")),
        ("doc", vec![update("doc = doc || ' '")], column("doc")),
        (
            "missing",
            vec![vec![format!("DELETE FROM parcels WHERE id = '{consumed}'")]],
            format!("{row} is missing from table parcels"),
        ),
    ];
    for (name, transactions, message) in cases {
        let edited = demo.copy(&format!("{name}.kpl"));
        for statements in &transactions {
            sql(&edited, statements);
        }
        let report = verify(&edited);
        assert_eq!(error_codes(&report), BTreeSet::from(["DB-1"]), "{name}: {:#?}", report.findings);
        assert!(has(&report, "DB-1", &message), "{name}: {message}: {:#?}", report.findings);
    }
    // A STRICT table refuses text in an integer column; to store it, the table must stop
    // being STRICT (the schema edited first), and a ledger whose schema is not kpledger's is
    // not read at all.
    let retyped = demo.copy("retyped.kpl");
    sql(
        &retyped,
        &[
            "PRAGMA writable_schema = ON".to_owned(),
            "UPDATE sqlite_schema SET sql = replace(sql, ') STRICT', ')') WHERE name = 'parcels'".to_owned(),
        ],
    );
    sql(&retyped, &update("weight_pt = 'heavy'"));
    match Ledger::open(&retyped, OpenOptions::default()) {
        Err(StoreError::Storage(kpledger_core::StorageError::Schema { differences, .. })) => {
            assert!(differences.contains("table \"parcels\" is defined differently"), "{differences}");
        }
        other => panic!("a table that is no longer STRICT should be refused: {other:?}"),
    }
}

/// A key the root authority rotated away from signs nothing after: a checkpoint of the log
/// past the rotation, signed with the old key (say, a stolen one), is refused by whole-ledger
/// verification and in a bundle, though the old key is the root's and signs its earlier
/// checkpoints, which stay good.
#[test]
fn checkpoint_signed_with_a_retired_root_key_is_log2() {
    let demo = Demo::new("retired-key");
    let (path, old, _, cp) = rotated(&demo, "rotated.kpl");
    let text = Note::parse(cp.note.as_bytes()).unwrap().text().to_owned();
    let mut forged = Note::new(&text).unwrap();
    forged.sign(&kpledger_model::note::SignerKey::new(DEMO_ORIGIN, old.clone()).unwrap()).unwrap();
    let forged = String::from_utf8(forged.to_bytes()).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE checkpoints SET note = ?1 WHERE size = ?2",
        rusqlite::params![forged, cp.size as i64],
    )
    .unwrap();
    drop(conn);
    let report = verify(&path);
    assert_eq!(error_codes(&report), BTreeSet::from(["LOG-2"]), "{:#?}", report.findings);
    assert!(
        has(
            &report,
            "LOG-2",
            &format!("checkpoint {} is signed with a key the root authority had rotated away", cp.size)
        ),
        "{:#?}",
        report.findings
    );
    assert_eq!(
        report.findings.iter().filter(|f| f.is_error()).count(),
        1,
        "the earlier checkpoints stay good"
    );
    let bundle = open(&path).bundle(&kpledger_core::sim::text("SL-2026-004312").unwrap()).unwrap();
    let bytes = serde_json::to_vec_pretty(&bundle).unwrap();
    let report = verify_bundle(&bytes, &demo.policy_with(old.public(), &[], None)).unwrap();
    assert!(!report.ok);
    assert!(
        has(&report, "LOG-2", "signed with a key the root authority had rotated away"),
        "{:#?}",
        report.findings
    );
}

/// Stored rows that agree with whatever is asked (the test feeds whole-ledger verification
/// directly, as a file without `UNIQUE(hash)` would hold its rows).
struct Agreeing;

impl kpledger_verify::StoredRows for Agreeing {
    fn compare_rows(
        &mut self,
        _: &str,
        expected: &[Vec<kpledger_verify::Cell>],
    ) -> Vec<kpledger_verify::StoredRow> {
        vec![kpledger_verify::StoredRow::Same; expected.len()]
    }
    fn log_node(&mut self, _: u32, _: u64) -> Option<kpledger_model::Hash> {
        None
    }
}

/// Issue 14, item 6: with `UNIQUE(hash)` dropped, a signed `rotate_key` replayed at the tail
/// gave a miner back the key it had rotated away from because it was stolen, and the ledger
/// verified. The store refuses the replay (CH-1), a file whose schema lost the constraint is
/// not opened at all, and whole-ledger verification refuses a repeated event itself (CH-1)
/// and does not apply it again: the thief's extraction under the old key stays refused.
#[test]
fn a_replayed_event_is_refused_by_whole_ledger_verification() {
    let demo = Demo::new("replayed");
    let path = demo.copy("replayed.kpl");
    let mut ledger = open(&path);
    let events = ledger.events().unwrap();
    let (_, last) = events.last().unwrap();
    let base = last.event.body.time.unix();
    let at = |s: i64| Time::from_unix(base + s);
    let stolen = SecretKey::from_seed(&[0x51; 32]);
    let fresh = SecretKey::from_seed(&[0x52; 32]);
    let rotate = |key: &SecretKey, s: i64| {
        let body = EventBody {
            v: 1,
            ledger: last.event.body.ledger.clone(),
            time: at(s),
            signer: kpledger_model::ActorId::new("sl.nma").unwrap(),
            payload: Payload::RotateKey {
                actor: kpledger_model::ActorId::new("sl.miner.koroma").unwrap(),
                key: key.public(),
            },
        };
        Event::sign(body, &demo.key("sl.nma")).unwrap().into_parsed().unwrap()
    };
    let to_stolen = rotate(&stolen, 60);
    ledger.append(&to_stolen).unwrap();
    // The key is stolen: the authority rotates the miner to a fresh one.
    ledger.append(&rotate(&fresh, 120)).unwrap();
    match ledger.append(&to_stolen) {
        Err(StoreError::Rejected { findings, .. }) => {
            assert!(
                findings
                    .iter()
                    .any(|f| f.code.code() == "CH-1" && f.message.contains("already in this ledger"))
            )
        }
        other => panic!("the store should refuse the replay: {other:?}"),
    }
    // The thief's extraction, signed with the stolen key after the replay.
    let like = events
        .iter()
        .map(|(_, e)| e)
        .find(|e| {
            e.event.body.signer.as_str() == "sl.miner.koroma" && e.event.body.payload.kind() == "extraction"
        })
        .unwrap();
    let theft = demo.extraction_like(like, &at(180), 0x53);
    let theft = Event::sign(theft.event.body.clone(), &stolen).unwrap().into_parsed().unwrap();
    // The rows a file without UNIQUE(hash) holds: the ledger, the replay, the theft.
    let n = ledger.len().unwrap();
    let mut docs = ledger.event_docs(1, n).unwrap();
    docs.push(to_stolen.canonical.clone());
    docs.push(theft.canonical.clone());
    let check = common::fed_check(&docs, &mut Agreeing);
    let report = check.finish(
        &mut Agreeing,
        &kpledger_verify::Tables::new(),
        &mut std::iter::empty(),
        Default::default(),
        &[],
    );
    let at_seq = |seq: u64| report.findings.iter().filter(move |f| f.is_error() && f.seq == Some(seq));
    assert!(
        at_seq(n + 1).any(|f| f.code.code() == "CH-1" && f.message.contains("already recorded earlier")),
        "the replay should be refused: {:#?}",
        report.findings
    );
    assert!(
        at_seq(n + 2).any(|f| f.code.code() == "CH-2"),
        "the stolen key should stay retired: {:#?}",
        report.findings
    );
}

/// A witness that is no actor of the ledger (a public witness, named only by the readers'
/// trust policies) gets its cosignature stored, and the ledger still verifies; a witness named
/// like an actor must hold that actor's key. An edited note's unknown line of another shape
/// than a cosignature is still DB-1; an unknown cosignature-shaped line counts for no one.
#[test]
fn witnesses_outside_the_ledger() {
    use kpledger_model::note::Cosigner;
    let demo = Demo::new("outside-witness");
    let path = demo.copy("outside.kpl");
    let newest = open(&path).stored_checkpoints().unwrap().pop().unwrap();
    let public = Cosigner::new("witness.example/public", SecretKey::from_seed(&[42; 32])).unwrap();
    let mut note = Note::parse(newest.note.as_bytes()).unwrap();
    note.cosign(&public, 1_770_000_000).unwrap();
    let added = open(&path).add_cosignatures(&note.to_bytes(), &[public.verifier()]).unwrap();
    assert_eq!(added, 1);
    let report = verify(&path);
    assert!(report.ok, "{:#?}", report.findings);
    let stored = open(&path).stored_checkpoints().unwrap().pop().unwrap();
    assert!(stored.note.contains("\u{2014} witness.example/public "));

    // A cosigner that takes an actor's name, with another key, is refused.
    let impostor = Cosigner::new("lr.mme", SecretKey::from_seed(&[43; 32])).unwrap();
    let mut forged = Note::parse(newest.note.as_bytes()).unwrap();
    forged.cosign(&impostor, 1_770_000_000).unwrap();
    let e = open(&path).add_cosignatures(&forged.to_bytes(), &[impostor.verifier()]).unwrap_err();
    assert!(e.to_string().contains("enrolled with another key"), "{e}");

    // Edited behind kpledger's back: a 64-byte line by no actor is DB-1 (not a cosignature).
    let mut edited = Note::parse(stored.note.as_bytes()).unwrap();
    edited
        .add_signature(Signature::new("someone.else", kpledger_model::note::KeyId(1), vec![7; 64]).unwrap())
        .unwrap();
    let text = String::from_utf8(edited.to_bytes()).unwrap().replace('\'', "''");
    sql(&path, &[format!("UPDATE checkpoints SET note = '{text}' WHERE size = {}", stored.size)]);
    let report = verify(&path);
    assert!(has(&report, "DB-1", "not cosignatures"), "{:#?}", report.findings);
}
