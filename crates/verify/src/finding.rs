//! Findings: what a rule found, in the trade's words.

use std::fmt;

use kpledger_model::{ActorId, Hash, ParcelId};
use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A red flag for a person to look at; validity holds.
    Warning,
    /// Breaks validity: the event is refused at ingest, and a ledger or bundle with one
    /// does not verify.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A rule, with its stable code (`domain.md` §7 numbering, plus kpledger's own `DB-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// CH-1: every event links the previous event hash of each parcel it touches; a
    /// parcel's first event is its extraction; stored events are intact and in order.
    Ch1,
    /// CH-2: the signature verifies with the signer's enrolled, unrevoked key at that
    /// point of the log, for this ledger, and the signer's role may emit the event.
    Ch2,
    /// CH-3: no parcel is consumed twice and no parcel id is created twice.
    Ch3,
    /// CH-4: times do not go backwards along a chain; sealing comes after valuation and
    /// nothing but certification follows a seal.
    Ch4,
    /// MB-1: a merge's output weighs the sum of its inputs, within tolerance.
    Mb1,
    /// MB-2: a split's outputs weigh the input, within tolerance.
    Mb2,
    /// MB-3: a parcel does not gain weight between custody events (loss beyond tolerance
    /// is a warning).
    Mb3,
    /// KP-3: the HS code is one of 7102.10, 7102.21, 7102.31.
    Kp3,
    /// EX-1: a seal carries container seal numbers.
    Ex1,
    /// EX-2: the final value follows the country's valuation rule.
    Ex2,
    /// LC-1: extraction by a miner whose licence is valid on the day and covers the site.
    Lc1,
    /// LC-2: handovers follow the country's allowed seller → buyer roles, between parties
    /// whose licences are valid on the day.
    Lc2,
    /// DB-1: a value the ledger database keeps (a derived table or index) agrees with the
    /// signed events it is derived from.
    Db1,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 13] = [
        Rule::Ch1,
        Rule::Ch2,
        Rule::Ch3,
        Rule::Ch4,
        Rule::Mb1,
        Rule::Mb2,
        Rule::Mb3,
        Rule::Kp3,
        Rule::Ex1,
        Rule::Ex2,
        Rule::Lc1,
        Rule::Lc2,
        Rule::Db1,
    ];

    /// The stable code, e.g. `CH-1`.
    pub fn code(self) -> &'static str {
        match self {
            Rule::Ch1 => "CH-1",
            Rule::Ch2 => "CH-2",
            Rule::Ch3 => "CH-3",
            Rule::Ch4 => "CH-4",
            Rule::Mb1 => "MB-1",
            Rule::Mb2 => "MB-2",
            Rule::Mb3 => "MB-3",
            Rule::Kp3 => "KP-3",
            Rule::Ex1 => "EX-1",
            Rule::Ex2 => "EX-2",
            Rule::Lc1 => "LC-1",
            Rule::Lc2 => "LC-2",
            Rule::Db1 => "DB-1",
        }
    }

    /// One line on what the rule guarantees.
    pub fn summary(self) -> &'static str {
        match self {
            Rule::Ch1 => {
                "each event links the previous event of every parcel it touches; stored events are intact"
            }
            Rule::Ch2 => {
                "signed by the signer's enrolled, unrevoked key, for this ledger, in a role allowed to do it"
            }
            Rule::Ch3 => "no parcel is consumed twice; no parcel id is created twice",
            Rule::Ch4 => {
                "time never goes backwards along a chain; seal after valuation; nothing after a seal"
            }
            Rule::Mb1 => "a merge's output weighs the sum of its inputs (within tolerance)",
            Rule::Mb2 => "a split's outputs weigh the input (within tolerance)",
            Rule::Mb3 => "no weight gain between custody events; loss beyond tolerance is flagged",
            Rule::Kp3 => "HS code is 7102.10, 7102.21 or 7102.31 (rough diamonds)",
            Rule::Ex1 => "a seal carries container seal numbers",
            Rule::Ex2 => "the final value follows the country's valuation rule",
            Rule::Lc1 => "extraction by a licensed miner at a site the licence covers, on a day it is valid",
            Rule::Lc2 => {
                "handovers follow the country's allowed seller-to-buyer roles, between licensed parties"
            }
            Rule::Db1 => "every stored derived value agrees with the signed events",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// What a rule found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's stable code.
    pub code: Rule,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in the trade's words.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The parcel concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parcel: Option<ParcelId>,
    /// The actor concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<ActorId>,
    /// The event's hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Hash>,
    /// The event's position in the ledger (1-based), where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

impl Finding {
    /// An error finding.
    pub fn error(code: Rule, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: Severity::Error,
            message: message.into(),
            hint: None,
            parcel: None,
            actor: None,
            event: None,
            seq: None,
        }
    }
    /// A warning finding.
    pub fn warning(code: Rule, message: impl Into<String>) -> Finding {
        Finding { severity: Severity::Warning, ..Finding::error(code, message) }
    }
    /// Names the parcel.
    pub fn parcel(mut self, p: ParcelId) -> Finding {
        self.parcel = Some(p);
        self
    }
    /// Names the actor.
    pub fn actor(mut self, a: &ActorId) -> Finding {
        self.actor = Some(a.clone());
        self
    }
    /// Adds what to do.
    pub fn hint(mut self, h: impl Into<String>) -> Finding {
        self.hint = Some(h.into());
        self
    }
    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.severity, self.code, self.message)?;
        if let Some(p) = &self.parcel {
            write!(f, " [parcel {p}]")?;
        }
        if let Some(s) = self.seq {
            write!(f, " [event #{s}]")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  what to do: {h}")?;
        }
        Ok(())
    }
}
