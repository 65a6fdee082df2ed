//! Cross-checking an EPCIS 2.0 document against a ledger, event by event, by CBV 2.0 event
//! hash ID.
//!
//! Each event of the document is hashed afresh (its `eventID` is not trusted) and looked up
//! among the hash IDs of the ledger's own export ([`crate::export_ledger`]):
//!
//! - **matched**: the ledger exports an event with the same hash ID, so the document's event
//!   says exactly what the ledger recorded;
//! - **differing**: the event names a ledger event (its `kpl:eventHash`, or an `eventID` that
//!   is one of the ledger's hash IDs) but hashes differently: someone changed it;
//! - **missing from the ledger**: neither its hash ID nor the event it names is in the ledger.

use std::collections::HashMap;

use kpledger_core::Ledger;
use serde::Serialize;
use serde_json::Value;

use crate::export::{KPL_NAMESPACE, ledger_epcis_events};
use crate::hash_id::{self, Hasher};
use crate::{EpcisError, Result};

/// What [`check`] found, event by event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Events in the document.
    pub events: usize,
    /// Events whose hash ID is the hash ID of an event of the ledger.
    pub matched: Vec<CheckedEvent>,
    /// Events the ledger knows nothing of.
    pub missing_from_ledger: Vec<CheckedEvent>,
    /// Events that name a ledger event but do not hash like it.
    pub differing: Vec<CheckedEvent>,
}

impl CheckReport {
    /// True when every event of the document matched.
    pub fn all_matched(&self) -> bool {
        self.missing_from_ledger.is_empty() && self.differing.is_empty()
    }
}

/// One event of the checked document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckedEvent {
    /// Its position in the document's event list (0-based).
    pub index: usize,
    /// Its `type`.
    pub event_type: String,
    /// Its `eventTime`, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_time: Option<String>,
    /// Its CBV 2.0 event hash ID, computed from its content.
    pub event_hash_id: String,
    /// The `eventID` the document gives it, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_event_id: Option<String>,
    /// The kpledger event it matches or names: its position in the ledger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_seq: Option<u64>,
    /// The kpledger event it matches or names: its hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_event_hash: Option<String>,
    /// For a differing event: the hash IDs of the ledger's own EPCIS events for that kpledger
    /// event.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ledger_event_hash_ids: Vec<String>,
}

/// Reads an EPCIS 2.0 JSON(-LD) document and reports which of its events match the ledger's
/// events by CBV 2.0 event hash ID, which are missing from the ledger, and which differ.
pub fn check(ledger: &Ledger, document: &[u8]) -> Result<CheckReport> {
    // Within the reader's memory bound: millions of `{}` are refused, not allocated.
    let doc: Value =
        kpledger_model::canonical::parse_bounded(document).map_err(|e| EpcisError::NotJson(e.to_string()))?;
    let hasher = Hasher::new(&doc);
    let events = hash_id::events(&doc)?;

    let mut by_id: HashMap<String, (u64, String)> = HashMap::new();
    let mut by_hash: HashMap<String, (u64, Vec<String>)> = HashMap::new();
    for (seq, e) in ledger_epcis_events(ledger)? {
        let (Some(id), Some(hash)) = (e["eventID"].as_str(), e["kpl:eventHash"].as_str()) else { continue };
        by_id.insert(id.to_owned(), (seq, hash.to_owned()));
        by_hash.entry(hash.to_owned()).or_insert_with(|| (seq, Vec::new())).1.push(id.to_owned());
    }

    let hash_key = format!("{{{KPL_NAMESPACE}}}eventHash");
    let mut report = CheckReport {
        events: events.len(),
        matched: Vec::new(),
        missing_from_ledger: Vec::new(),
        differing: Vec::new(),
    };
    for (index, event) in events.iter().enumerate() {
        let event_hash_id = hasher.hash_id(event, index)?;
        let declared_event_id = event.get("eventID").and_then(Value::as_str).map(str::to_owned);
        let named_hash = event.as_object().and_then(|m| {
            m.iter().find(|(k, _)| hasher.expanded_key(k) == hash_key).and_then(|(_, v)| v.as_str())
        });
        let mut checked = CheckedEvent {
            index,
            event_type: event.get("type").and_then(Value::as_str).unwrap_or_default().to_owned(),
            event_time: event.get("eventTime").and_then(Value::as_str).map(str::to_owned),
            event_hash_id,
            declared_event_id,
            ledger_seq: None,
            ledger_event_hash: None,
            ledger_event_hash_ids: Vec::new(),
        };
        if let Some((seq, hash)) = by_id.get(&checked.event_hash_id) {
            checked.ledger_seq = Some(*seq);
            checked.ledger_event_hash = Some(hash.clone());
            report.matched.push(checked);
            continue;
        }
        let named = named_hash.and_then(|h| by_hash.get_key_value(h)).or_else(|| {
            let (_, hash) = by_id.get(checked.declared_event_id.as_deref()?)?;
            by_hash.get_key_value(hash)
        });
        match named {
            Some((hash, (seq, ids))) => {
                checked.ledger_seq = Some(*seq);
                checked.ledger_event_hash = Some(hash.clone());
                checked.ledger_event_hash_ids = ids.clone();
                report.differing.push(checked);
            }
            None => report.missing_from_ledger.push(checked),
        }
    }
    Ok(report)
}
