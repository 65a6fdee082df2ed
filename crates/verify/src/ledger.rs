//! Whole-ledger verification, fed one stored row at a time.
//!
//! The store hands over every stored event in order ([`StoredEvent`]), then every row of
//! its derived tables ([`Cell`] rows). This module recomputes everything from the signed
//! events and reports each stored value that differs, so that editing any cell of the
//! database is caught — without this crate knowing anything about SQLite.

use std::collections::BTreeMap;

use kpledger_model::{Hash, ParcelId};
use serde::Serialize;

use crate::finding::{Finding, Rule, Severity};
use crate::prepare::Prepared;
use crate::rules::{Signatures, check_event_signed};
use crate::state::{MemState, State as _};

/// One value of a stored row, as the store read it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// An SQL `INTEGER` (64-bit signed).
    Int(i64),
    /// An SQL `TEXT` (UTF-8).
    Text(String),
    /// An SQL `BLOB`.
    Blob(Vec<u8>),
}

impl Cell {
    /// `self` and `other` shown from a little before the first place they differ, and that
    /// place (byte or character, 1-based), for two values that `show` cuts to the same text.
    fn show_where_differs(&self, other: &Cell) -> (String, String, String) {
        match (self, other) {
            (Cell::Blob(a), Cell::Blob(b)) => {
                let i = a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count();
                let from = i.saturating_sub(4);
                let hex = |v: &[u8]| {
                    let end = v.len().min(from + 16);
                    let more = if end < v.len() { "…" } else { "" };
                    format!(
                        "x'…{}{more}'",
                        v.get(from..end)
                            .unwrap_or(&[])
                            .iter()
                            .map(|x| format!("{x:02x}"))
                            .collect::<String>()
                    )
                };
                let of = if a.len() == b.len() {
                    a.len().to_string()
                } else {
                    format!("{} and {}", a.len(), b.len())
                };
                (hex(a), hex(b), format!("byte {} of {of}", i + 1))
            }
            (Cell::Text(a), Cell::Text(b)) => {
                let i = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
                let from = i.saturating_sub(10);
                let text = |v: &str| {
                    let s: String = v.chars().skip(from).take(60).collect();
                    format!("…{s:?}")
                };
                (text(a), text(b), format!("character {}", i + 1))
            }
            _ => (self.show(), other.show(), "the type".into()),
        }
    }

    fn show(&self) -> String {
        match self {
            Cell::Null => "NULL".into(),
            Cell::Int(i) => i.to_string(),
            Cell::Text(t) => {
                let s: String = t.chars().take(60).collect();
                format!("{s:?}")
            }
            Cell::Blob(b) => {
                format!("x'{}'", b.iter().take(16).map(|x| format!("{x:02x}")).collect::<String>())
            }
        }
    }
}

/// A stored event row.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// Its position (1-based, gap-free).
    pub seq: u64,
    /// The stored hash column.
    pub hash: Vec<u8>,
    /// The stored kind column.
    pub kind: String,
    /// The stored time column.
    pub time: String,
    /// The stored signer column.
    pub signer: String,
    /// The stored canonical document.
    pub doc: Vec<u8>,
    /// The stored index rows `(parcel, seq)` that point at this event.
    pub index: Vec<String>,
}

/// What a store holds under the key of a row the events give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredRow {
    /// The stored row is the given one, cell for cell.
    Same,
    /// The store has no row with that key.
    Missing,
    /// The stored row differs: its cells.
    Differs(Vec<Cell>),
}

/// Looks up stored rows by key while whole-ledger verification streams the events.
pub trait StoredRows {
    /// Compares each of `expected`, derived rows of `table`, with the stored row under its key
    /// (its first cell): `out[i]` is for `expected[i]`, and a row the answer leaves out counts
    /// as missing. Only a differing row is read out. Verification compares the rows of
    /// consumed parcels this way, a batch at a time, so that a store across a network answers
    /// one query for many keys rather than a round trip each.
    fn compare_rows(&mut self, table: &str, expected: &[Vec<Cell>]) -> Vec<StoredRow>;
    /// A stored Merkle tree node (every perfect subtree, leaves at level 0).
    fn log_node(&mut self, level: u32, index: u64) -> Option<Hash>;
}

/// Row counts of the tables verification reads by key.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoredCounts {
    /// Rows of the parcel index.
    pub index_rows: u64,
    /// Rows of the Merkle tree.
    pub log_nodes: u64,
}

/// The tables derived from events, as a store keeps them: table name → rows.
pub type Tables = BTreeMap<String, Vec<Vec<Cell>>>;

/// The result of verifying a whole ledger or a bundle.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// True when there is no error finding.
    pub ok: bool,
    /// The ledger's origin name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
    /// The certificate, for a bundle's report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Number of events checked.
    pub events: u64,
    /// Number of signatures checked (an event's own, and the holder's offer in a handover).
    pub signatures: u64,
    /// Number of parcels known.
    pub parcels: u64,
    /// Number of enrolled actors.
    pub actors: u64,
    /// Error findings.
    pub errors: u64,
    /// Warning findings.
    pub warnings: u64,
    /// Every finding, in ledger order.
    pub findings: Vec<Finding>,
    /// For a bundle: the witnesses whose cosignatures on its checkpoint verified with a key of
    /// the verifier's trust policy (the names they sign with), in the checkpoint's order.
    /// Names on other signature lines are never listed. Omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<String>,
    /// What a successful verification does not prove.
    pub limits: &'static str,
}

/// What verification cannot see; printed with every report.
pub(crate) const LIMITS: &str = "Verification proves the records: signatures, chains, weights and licences. \
It cannot prove that the stones in a bag are the stones in the record: that rests on physical seals, \
weighing and inspection.";

/// Most findings a report keeps; past this, counts go on but details stop.
const MAX_FINDINGS: usize = 10_000;

/// Streaming verifier of a stored ledger.
#[derive(Debug, Default)]
pub struct LedgerCheck {
    state: MemState,
    findings: Vec<Finding>,
    errors: u64,
    warnings: u64,
    events: u64,
    signatures: u64,
    index_rows: u64,
    last_time: Option<kpledger_model::Time>,
    frontier: crate::merkle::Frontier,
    /// Checkpoint sizes to capture the recomputed root at, and the roots captured.
    checkpoint_roots: BTreeMap<u64, Option<Hash>>,
    /// Every key the root authority has held (checkpoints are signed by it).
    root_keys: Vec<kpledger_model::PublicKey>,
    /// The key the root authority holds now.
    root_key: Option<kpledger_model::PublicKey>,
    /// The key the root authority held when the log reached each checkpoint's size: the one
    /// key that may sign that checkpoint (a key it rotated away from signs nothing after).
    checkpoint_keys: BTreeMap<u64, kpledger_model::PublicKey>,
    /// Every key each actor has held: enrolled actors may witness the log.
    actor_keys: std::collections::BTreeSet<(kpledger_model::ActorId, [u8; 32])>,
    /// The first 16 bytes of every event hash seen, to refuse an event recorded twice (17
    /// bytes an event in memory, about 35 MiB at 10^6 events; two different events agree on
    /// 128 bits only by a 2^64 search, which could only make a false refusal).
    seen: std::collections::HashSet<[u8; 16]>,
    /// The final rows of parcels consumed since the last comparison, compared with the
    /// store's rows [`RETIRED_BATCH`] at a time ([`StoredRows::compare_rows`]) and the rest
    /// in [`LedgerCheck::finish`]: a consumed parcel's row never changes again.
    retired: Vec<Vec<Cell>>,
}

/// Rows of consumed parcels compared with the store's in one [`StoredRows::compare_rows`].
const RETIRED_BATCH: usize = 1024;

/// A stored checkpoint row.
#[derive(Debug, Clone)]
pub struct StoredCheckpoint {
    /// The `size` column.
    pub size: u64,
    /// The `root` column.
    pub root: Vec<u8>,
    /// The `note` column: the signed note, with any cosignatures.
    pub note: String,
}

impl LedgerCheck {
    /// A verifier for an empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// A verifier that will check checkpoints of these sizes: it records the root it
    /// recomputes when the log reaches each size.
    pub fn with_checkpoints(sizes: impl IntoIterator<Item = u64>) -> Self {
        LedgerCheck { checkpoint_roots: sizes.into_iter().map(|s| (s, None)).collect(), ..Self::default() }
    }

    fn push(&mut self, mut f: Finding) {
        if f.certificate.is_none()
            && let Some(c) =
                f.parcel.and_then(|p| self.state.parcels.get(&p)).and_then(|p| p.certificate.as_ref())
        {
            f.certificate = Some(c.to_string());
        }
        match f.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
        }
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(f);
        }
    }

    /// Checks the next stored event, whose state-free checks (parsing, hash, signatures) were
    /// done ahead, in parallel, by [`crate::prepare`] on `row.doc`. `stored` serves
    /// the store's current rows by key (the rows of the parcels the events consume are
    /// compared with it a batch at a time, the last batch by [`LedgerCheck::finish`]).
    pub fn feed_prepared(&mut self, row: &StoredEvent, prepared: &Prepared, stored: &mut dyn StoredRows) {
        self.events += 1;
        let expected_seq = self.events;
        let at = |f: Finding| Finding { seq: Some(row.seq), ..f };
        if row.seq != expected_seq {
            self.push(at(Finding::error(
                Rule::Ch1,
                format!(
                    "the ledger jumps from event #{} to #{}: events are missing or renumbered",
                    expected_seq - 1,
                    row.seq
                ),
            )));
            self.events = row.seq;
        }
        let parsed = match &prepared.parsed {
            Ok(p) => p,
            Err(e) => {
                self.push(at(Finding::error(
                    Rule::Ch1,
                    format!(
                        "stored event #{} is not a valid signed event any more ({e}); it was altered",
                        row.seq
                    ),
                )));
                return;
            }
        };
        let parcels: Vec<ParcelId> =
            parsed.event.body.payload.parcels().into_iter().map(|(p, _)| p).collect();
        let first_parcel = parcels.first().copied();
        let tampered = |msg: String| {
            let mut f = Finding::error(Rule::Ch1, msg);
            f.parcel = first_parcel;
            f.seq = Some(row.seq);
            f.event = Some(parsed.hash);
            f
        };
        if parsed.canonical != row.doc {
            self.push(tampered(format!(
                "stored event #{} is not in canonical form: it was altered",
                row.seq
            )));
        }
        if row.hash != parsed.hash.0 {
            self.push(tampered(format!(
                "stored event #{} does not hash to its recorded hash: its content was altered after it was recorded",
                row.seq
            )));
        }
        let body = &parsed.event.body;
        let columns = [
            ("kind", row.kind.as_str(), body.payload.kind()),
            ("time", row.time.as_str(), body.time.as_str()),
            ("signer", row.signer.as_str(), body.signer.as_str()),
        ];
        for (name, stored, signed) in columns {
            if stored != signed {
                let mut f = Finding::error(
                    Rule::Db1,
                    format!(
                        "event #{} has {name} {stored:?} in the database but {signed:?} in the signed event",
                        row.seq
                    ),
                );
                f.parcel = first_parcel;
                f.seq = Some(row.seq);
                self.push(f);
            }
        }
        let mut expected_index: Vec<String> = parcels.iter().map(ParcelId::to_string).collect();
        expected_index.sort();
        let mut stored_index = row.index.clone();
        stored_index.sort();
        self.index_rows += expected_index.len() as u64;
        if expected_index != stored_index {
            let mut f = Finding::error(
                Rule::Db1,
                format!(
                    "the parcel index for event #{} lists {:?}, but the event touches {:?}",
                    row.seq, stored_index, expected_index
                ),
            );
            f.parcel = first_parcel;
            f.seq = Some(row.seq);
            self.push(f);
        }
        if let Some(mut f) = crate::rules::ledger_clock(self.last_time.as_ref(), parsed) {
            f.seq = Some(row.seq);
            f.parcel = first_parcel;
            self.push(f);
        }
        if self.last_time.as_ref().is_none_or(|t| *t < body.time) {
            self.last_time = Some(body.time.clone());
        }
        let sigs = prepared.sigs.unwrap_or_else(|| Signatures::check(parsed));
        self.signatures += sigs.count();
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&parsed.hash.0[..16]);
        if !self.seen.insert(prefix) {
            // A ledger holds each event once. The rules judge an event against the state, and
            // some pass a second time (a key rotation replayed at the tail re-activates the
            // key it rotated away from); the store's UNIQUE index refuses a second copy, but
            // the verdict must not rest on the file's own constraints. Its leaf stays in the
            // recomputed tree (the stored tree holds it), its effects are not applied.
            self.push(tampered(format!(
                "stored event #{} is an event already recorded earlier in this ledger (the same hash): \
                 a ledger holds each event once, so it was replayed into the file",
                row.seq
            )));
            self.append_leaf(row.seq, &parsed.hash, stored);
            self.note_checkpoint_key();
            return;
        }
        let (findings, effects) = check_event_signed(&self.state, parsed, sigs).into_parts();
        for mut f in findings {
            f.seq = Some(row.seq);
            if f.parcel.is_none() {
                f.parcel = first_parcel;
            }
            self.push(f);
        }
        self.append_leaf(row.seq, &parsed.hash, stored);
        for e in &effects {
            if let crate::state::Effect::PutActor(a) = e {
                self.actor_keys.insert((a.record.id.clone(), a.record.key.to_bytes()));
            }
        }
        for gone in self.state.apply(effects) {
            // Its stored row is final now: compared with the next batch, only the id kept.
            self.retired.push(crate::rows::parcel_row(&gone));
        }
        if self.retired.len() >= RETIRED_BATCH {
            self.compare_retired(stored);
        }
        // Follow the root authority's keys (checkpoints are signed by it) once the event's
        // effects are applied, so that the genesis key, or a new key the root rotated to,
        // counts from the event that sets it, even when it is the last event before a
        // checkpoint.
        // Only genesis and key rotations change a key; looking the root up on those alone
        // keeps this constant per event.
        if matches!(
            body.payload,
            kpledger_model::Payload::Genesis { .. } | kpledger_model::Payload::RotateKey { .. }
        ) && let Some(root) = self.state.actors.values().find(|a| a.enrolled_by.is_none())
        {
            self.root_key = Some(root.record.key);
            if !self.root_keys.contains(&root.record.key) {
                self.root_keys.push(root.record.key);
            }
        }
        self.note_checkpoint_key();
    }

    /// Records the root authority's key at the log's current size, if a checkpoint was
    /// stored at that size.
    fn note_checkpoint_key(&mut self) {
        let size = self.frontier.size();
        if self.checkpoint_roots.contains_key(&size)
            && let Some(key) = self.root_key
        {
            self.checkpoint_keys.insert(size, key);
        }
    }

    /// Adds the event's leaf to the recomputed tree, compares the nodes it completes with the
    /// stored ones, and records checkpoint roots.
    fn append_leaf(&mut self, seq: u64, event_hash: &Hash, stored: &mut dyn StoredRows) {
        let leaf = crate::log::leaf_hash(event_hash);
        let Ok(done) = self.frontier.push(leaf) else { return };
        if let Some(node) = done.into_iter().find(|n| stored.log_node(n.level(), n.index()) != Some(n.hash)) {
            let mut f = Finding::error(
                Rule::Db1,
                format!(
                    "the stored Merkle tree node at level {} index {} does not match the events (first seen at event #{seq})",
                    node.level(),
                    node.index()
                ),
            )
            .hint("the log's tree was edited, or events were changed after they were recorded");
            f.seq = Some(seq);
            self.push(f);
        }
        let size = self.frontier.size();
        if let Some(slot) = self.checkpoint_roots.get_mut(&size) {
            *slot = Some(self.frontier.root());
        }
    }

    /// Checks the stored checkpoints against the recomputed tree and the root authority's
    /// keys.
    fn check_checkpoints(&mut self, checkpoints: &[StoredCheckpoint]) {
        let Some(origin) = self.state.origin().map(std::borrow::Cow::into_owned) else { return };
        let verifiers: Vec<kpledger_model::note::VerifierKey> = self
            .root_keys
            .iter()
            .filter_map(|k| {
                kpledger_model::note::VerifierKey::new(
                    origin.as_str(),
                    kpledger_model::note::SigType::Ed25519,
                    *k,
                )
                .ok()
            })
            .collect();
        let mut previous: Option<(u64, Hash)> = None;
        for cp in checkpoints {
            let expected_ext: Vec<String> =
                previous.iter().map(|(size, root)| crate::log::previous_line(*size, root)).collect();
            previous = <[u8; 32]>::try_from(cp.root.as_slice()).ok().map(|r| (cp.size, Hash(r)));
            let err = |msg: String| {
                Finding::error(Rule::Log2, msg).hint(
                    "the ledger no longer matches what its authority signed: events were removed, inserted or changed",
                )
            };
            let recomputed = self.checkpoint_roots.get(&cp.size).copied().flatten();
            let Some(root) = recomputed else {
                self.push(err(format!(
                    "checkpoint of size {} was signed, but the ledger now has only {} events: events were removed after it",
                    cp.size,
                    self.frontier.size()
                )));
                continue;
            };
            if cp.root != root.0 {
                self.push(err(format!(
                    "the stored root of checkpoint {} is not the root of the first {} events",
                    cp.size, cp.size
                )));
            }
            let open_with = |k: &kpledger_model::note::VerifierKey| {
                kpledger_model::note::open_checkpoint(cp.note.as_bytes(), origin.as_str(), k, &[]).ok()
            };
            let held = self.checkpoint_keys.get(&cp.size).and_then(|k| {
                kpledger_model::note::VerifierKey::new(
                    origin.as_str(),
                    kpledger_model::note::SigType::Ed25519,
                    *k,
                )
                .ok()
            });
            let opened = held.as_ref().and_then(open_with);
            let by_retired_key = opened.is_none() && verifiers.iter().any(|k| open_with(k).is_some());
            // Every signature line must be the root authority's or an enrolled actor's
            // cosignature: a stored line nobody can verify is an edited cell.
            let witnesses: Vec<kpledger_model::note::VerifierKey> = self
                .actor_keys
                .iter()
                .filter_map(|(id, k)| {
                    let key = kpledger_model::PublicKey::from_bytes(k).ok()?;
                    kpledger_model::note::VerifierKey::new(
                        id.as_str(),
                        kpledger_model::note::SigType::CosignatureV1,
                        key,
                    )
                    .ok()
                })
                .collect();
            let all = verifiers.iter().cloned().chain(witnesses);
            let checked = kpledger_model::note::Verifiers::new(all)
                .map_err(|e| e.to_string())
                .and_then(|v| kpledger_model::note::open(cp.note.as_bytes(), &v).map_err(|e| e.to_string()));
            // Cosignatures of witnesses that are not actors of the ledger (public witnesses, named
            // only by the verifiers' trust policies) cannot be checked here: lines of the
            // cosignature/v1 form (a timestamp and an Ed25519 signature) are left to the bundle
            // verifier, which counts only its policy's keys; any other unknown line is an edit.
            let foreign = |o: &kpledger_model::note::OpenedNote| {
                o.unverified().iter().filter(|s| s.cosignature_v1().is_err()).count()
            };
            match checked {
                Err(e) => self
                    .push(err(format!("checkpoint {} has a signature that does not verify: {e}", cp.size))),
                Ok(o) if foreign(&o) > 0 => self.push(
                    Finding::error(
                        Rule::Db1,
                        format!(
                            "checkpoint {} carries {} signature line(s) by no enrolled actor's key that are not cosignatures",
                            cp.size,
                            foreign(&o)
                        ),
                    )
                    .hint("cosignatures are stored only from enrolled witnesses; the stored note was edited"),
                ),
                Ok(_) => {}
            }
            match opened {
                None if by_retired_key => self.push(err(format!(
                    "checkpoint {} is signed with a key the root authority had rotated away from before \
                     the log reached size {}: a retired key signs nothing after its rotation",
                    cp.size, cp.size
                ))),
                None => self.push(err(format!(
                    "checkpoint {} is not signed by the ledger's root authority (or is malformed)",
                    cp.size
                ))),
                Some(o) => {
                    let c = o.checkpoint();
                    if c.extensions() != expected_ext.as_slice() {
                        self.push(err(format!(
                            "checkpoint {} does not name the stored checkpoint before it ({}): a checkpoint was removed or replaced",
                            cp.size,
                            expected_ext.first().map_or("none", String::as_str)
                        )));
                    }
                    if c.size() != cp.size || *c.root_hash() != root {
                        self.push(err(format!(
                            "checkpoint {} signs size {} and root {}, but the events give root {} at size {}",
                            cp.size,
                            c.size(),
                            c.root_hash().short(),
                            root.short(),
                            cp.size
                        )));
                    }
                }
            }
        }
    }

    /// One row: expected (from the events) against stored.
    fn compare_row(&mut self, table: &str, k: &Cell, exp: Option<&Vec<Cell>>, got: Option<&Vec<Cell>>) {
        match (exp, got) {
            (None, None) => {}
            (Some(_), None) => {
                self.push(db_finding(table, k, format!("row {} is missing from table {table}", k.show())))
            }
            (None, Some(_)) => self.push(db_finding(
                table,
                k,
                format!("table {table} has a row {} that no signed event created", k.show()),
            )),
            (Some(e), Some(g)) if e != g => {
                let col = crate::rows::columns(table)
                    .iter()
                    .zip(e.iter().zip(g.iter()))
                    .find(|(_, (a, b))| a != b)
                    .map(|(c, (a, b))| {
                        if a.show() == b.show() {
                            // Equal where `show` cuts them: show both from where they differ.
                            let (stored, signed, at) = b.show_where_differs(a);
                            format!(
                                "column {c} is {stored} but the signed events give {signed} (they differ from {at})"
                            )
                        } else {
                            format!("column {c} is {} but the signed events give {}", b.show(), a.show())
                        }
                    })
                    .unwrap_or_else(|| "the row has the wrong number of columns".into());
                self.push(db_finding(table, k, format!("table {table}, row {}: {col}", k.show())));
            }
            (Some(_), Some(_)) => {}
        }
    }

    /// Compares the rows of the parcels consumed since the last comparison with the store's,
    /// in one [`StoredRows::compare_rows`].
    fn compare_retired(&mut self, stored: &mut dyn StoredRows) {
        if self.retired.is_empty() {
            return;
        }
        let rows = std::mem::take(&mut self.retired);
        // A store that answers for fewer rows than it was asked about leaves the others
        // missing, never unchecked.
        let mut got = stored.compare_rows("parcels", &rows).into_iter();
        for expected in &rows {
            let got = match got.next().unwrap_or(StoredRow::Missing) {
                StoredRow::Same => continue,
                StoredRow::Missing => None,
                StoredRow::Differs(cells) => Some(cells),
            };
            self.compare_row("parcels", &expected[0], Some(expected), got.as_ref());
        }
    }

    /// Compares the store's derived tables with the state recomputed from the events,
    /// and returns the report. `by_key` serves the rows of the parcels consumed last (not
    /// yet compared); `stored` gives every table but `parcels` whole (they are small:
    /// actors, sites, policies, certificates); `parcel_rows` streams the `parcels` table in
    /// any order. `index_rows` is the total number of rows in the store's parcel index
    /// (rows pointing at no event are caught by the count).
    pub fn finish(
        mut self,
        by_key: &mut dyn StoredRows,
        stored: &Tables,
        parcel_rows: &mut dyn Iterator<Item = Vec<Cell>>,
        counts: StoredCounts,
        checkpoints: &[StoredCheckpoint],
    ) -> Report {
        self.compare_retired(by_key);
        let index_rows = counts.index_rows;
        self.check_checkpoints(checkpoints);
        let nodes = crate::log::stored_nodes(self.frontier.size());
        if counts.log_nodes != nodes {
            self.push(Finding::error(
                Rule::Db1,
                format!(
                    "the log's tree has {} stored nodes, but {} events give {nodes}",
                    counts.log_nodes, self.events
                ),
            ));
        }
        let mut seen_live = std::collections::HashSet::new();
        for row in parcel_rows {
            let key = row.first().cloned().unwrap_or(Cell::Null);
            // A parcel's row only under its id as kpledger writes it (lower-case, hyphenated):
            // the UUID reader also takes upper case, no hyphens, braces and a URN for the same
            // id, and such a row is one no signed event created, not the parcel's.
            let id: Option<ParcelId> = match &key {
                Cell::Text(t) => t.parse().ok().filter(|id: &ParcelId| id.to_string() == *t),
                _ => None,
            };
            match id {
                Some(id) if self.state.parcels.contains_key(&id) => {
                    if !seen_live.insert(id) {
                        self.push(Finding::error(
                            Rule::Db1,
                            format!("table parcels has a duplicated row {}", key.show()),
                        ));
                        continue;
                    }
                    let exp = self.state.parcels.get(&id).map(crate::rows::parcel_row);
                    self.compare_row("parcels", &key, exp.as_ref(), Some(&row));
                }
                // Compared when it was consumed.
                Some(id) if self.state.consumed.contains(&id) => {}
                _ => self.compare_row("parcels", &key, None, Some(&row)),
            }
        }
        let missing: Vec<ParcelId> =
            self.state.parcels.keys().filter(|id| !seen_live.contains(*id)).copied().collect();
        for id in missing {
            let key = Cell::Text(id.to_string());
            let exp = self.state.parcels.get(&id).map(crate::rows::parcel_row);
            self.compare_row("parcels", &key, exp.as_ref(), None);
        }
        for f in overdue_confirmations(&self.state, self.last_time.as_ref()) {
            self.push(f);
        }
        let mut expected = crate::rows::tables(&self.state);
        let size = i64::try_from(self.frontier.size()).unwrap_or(i64::MAX);
        let frontier_rows = if size > 0 {
            vec![vec![Cell::Int(size), Cell::Blob(self.frontier.to_bytes())]]
        } else {
            Vec::new()
        };
        expected.insert("log_frontier".into(), frontier_rows);
        for (table, exp_rows) in &expected {
            let empty = Vec::new();
            let got_rows = stored.get(table).unwrap_or(&empty);
            let key = |r: &Vec<Cell>| r.first().cloned().unwrap_or(Cell::Null);
            let exp: BTreeMap<Cell, &Vec<Cell>> = exp_rows.iter().map(|r| (key(r), r)).collect();
            let mut got: BTreeMap<Cell, &Vec<Cell>> = BTreeMap::new();
            for r in got_rows {
                if got.insert(key(r), r).is_some() {
                    self.push(Finding::error(
                        Rule::Db1,
                        format!("table {table} has a duplicated row {}", key(r).show()),
                    ));
                }
            }
            for (k, e) in &exp {
                self.compare_row(table, k, Some(e), got.get(k).copied());
            }
            for (k, g) in &got {
                if !exp.contains_key(k) {
                    self.compare_row(table, k, None, Some(g));
                }
            }
        }
        for table in stored.keys().filter(|t| !expected.contains_key(*t) && t.as_str() != "parcels") {
            self.push(Finding::error(Rule::Db1, format!("unexpected table {table}")));
        }
        if index_rows != self.index_rows {
            self.push(Finding::error(
                Rule::Db1,
                format!("the parcel index has {index_rows} rows, but the events give {}", self.index_rows),
            ));
        }
        Report {
            ok: self.errors == 0,
            ledger: self.state.origin().map(|o| o.to_string()),
            certificate: None,
            events: self.events,
            signatures: self.signatures,
            parcels: (self.state.parcels.len() + self.state.consumed.len()) as u64,
            actors: self.state.actors.len() as u64,
            errors: self.errors,
            warnings: self.warnings,
            findings: self.findings,
            witnesses: Vec::new(),
            limits: LIMITS,
        }
    }

    /// The state recomputed so far.
    pub fn state(&self) -> &MemState {
        &self.state
    }
}

/// IM-2: shipments exported to a country whose authority is in this ledger, with no
/// confirmation of receipt within the issuing policy's number of days of the ledger's
/// latest event (the verifier has no clock: the ledger's own time is "now").
pub(crate) fn overdue_confirmations(state: &MemState, now: Option<&kpledger_model::Time>) -> Vec<Finding> {
    let Some(now) = now else { return Vec::new() };
    let mut out = Vec::new();
    for cs in state.certificates.values() {
        let c = &cs.certificate;
        let (Some(exported), None) = (&cs.exported, &cs.confirmed) else { continue };
        let importer_in_ledger = state.actors.values().any(|a| {
            a.record.role == kpledger_model::Role::Authority && a.record.country == c.importer.country
        });
        let days = state.policy_at(&c.issuing_country, exported).map_or(30, |p| p.import_confirmation_days);
        let waited = (now.unix() - exported.unix()) / 86_400;
        if importer_in_ledger && waited > i64::from(days) {
            let mut f = Finding::warning(
                Rule::Im2,
                format!(
                    "certificate {} left {} on {}, {waited} days ago, and {}'s authority has not confirmed receipt (expected within {days} days)",
                    c.number,
                    c.issuing_country,
                    exported.date(),
                    c.importer.country
                ),
            )
            .hint("ask the importing authority for its confirmation of receipt; an unconfirmed shipment may have been diverted");
            f.parcel = c.parcels.first().map(|r| r.parcel);
            f.event = Some(cs.event);
            out.push(f);
        }
    }
    out
}

fn db_finding(table: &str, key: &Cell, msg: String) -> Finding {
    let mut f = Finding::error(Rule::Db1, msg).hint(
        "the database was edited outside kpledger; restore it from a backup or re-ingest the signed events",
    );
    if table == "parcels"
        && let Cell::Text(t) = key
    {
        f.parcel = t.parse().ok();
    }
    f
}
