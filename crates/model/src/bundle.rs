//! The evidence bundle: everything an importing authority needs to check one KP
//! certificate offline, with nothing but trusted public keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Hash;
use crate::types::{Origin, ParcelId, Text};

/// The bundle format this build writes and reads.
pub const BUNDLE_FORMAT: &str = "kpledger/bundle/v1";

/// One certificate's evidence: the ledger's genesis, the enrolments, key rotations,
/// policies and mine sites its signatures and rules rely on, and every event of its
/// parcels' provenance, in ledger order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: Text,
    /// The ledger the events come from.
    pub ledger: Origin,
    /// The certificate number ([`crate::types::is_reference`]).
    #[serde(deserialize_with = "crate::types::de_reference")]
    pub certificate: Text,
    /// Each certified parcel's latest event when the bundle was made: replaying the
    /// events must end exactly there, so nothing was left out at the end.
    pub heads: BTreeMap<ParcelId, Hash>,
    /// The signed events, in ledger order.
    pub events: Vec<serde_json::Value>,
    /// Where the events stand in the ledger's transparency log.
    pub log: BundleLog,
}

/// The log evidence of a bundle: a checkpoint the ledger's root authority signed (with the
/// witnesses' cosignatures), and an RFC 9162 inclusion proof of each event under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleLog {
    /// The checkpoint: a C2SP signed note, as text.
    pub checkpoint: String,
    /// One per event, in the same order: its leaf index (position − 1) and audit path.
    pub proofs: Vec<LeafProof>,
}

/// An event's leaf index and inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeafProof {
    /// 0-based leaf index.
    pub index: u64,
    /// The audit path, leaf to root.
    pub path: Vec<Hash>,
}
