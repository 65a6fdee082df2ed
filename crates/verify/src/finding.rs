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

/// Defines [`Rule`] from one table: each rule's variant, stable code and one-line summary,
/// written once; the variant's documentation, [`Rule::ALL`], [`Rule::code`] and
/// [`Rule::summary`] are made from it.
macro_rules! rules {
    ($(#[$meta:meta])* $($variant:ident $code:literal $summary:literal;)*) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Rule {
            $(#[doc = concat!($code, ": ", $summary, ".")] $variant,)*
        }

        impl Rule {
            /// Every rule, in report order.
            pub const ALL: [Rule; [$($code),*].len()] = [$(Rule::$variant),*];

            /// The stable code, e.g. `CH-1`.
            pub fn code(self) -> &'static str {
                match self {
                    $(Rule::$variant => $code,)*
                }
            }

            /// One line on what the rule guarantees.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Rule::$variant => $summary,)*
                }
            }
        }
    };
}

rules! {
    /// A rule, with its stable code (sources in docs/RULES.md), in report order.
    /// ST-1..ST-5 and SW-1 are the statistical red flags (always warnings), computed over a
    /// whole ledger or bundle by `kpledger-report`, not by [`crate::check_event`].
    Ch1 "CH-1" "every event links the previous event of every parcel it touches; a parcel starts at an extraction or a certified import; stored events are intact";
    Ch2 "CH-2" "signed by the signer's enrolled, unrevoked key, for this ledger, in a role allowed to do it";
    Ch3 "CH-3" "no parcel is consumed, certified or created twice";
    Ch4 "CH-4" "time never goes backwards along a chain, nor more than 48 hours behind the log; seal after valuation; only certification and export after a seal";
    Mb1 "MB-1" "a merge's output weighs at most the sum of its inputs (no event adds weight); stones are conserved";
    Mb2 "MB-2" "a split's outputs weigh at most the input (no event adds weight); stones are conserved";
    Mb3 "MB-3" "no event adds weight: an offer, receipt, valuation or seal never weighs more than the parcel; a loss beyond tolerance (once per event) is a red flag";
    Mb5 "MB-5" "a certificate's carats equal its parcels' carats, and its parcel count their number";
    Kp1 "KP-1" "a certificate carries every Annex I field: title, statement, lines, parcels, seals, English translation";
    Kp2 "KP-2" "a certificate number starts with the issuing country's code and is used once; a foreign certificate is imported once";
    Kp3 "KP-3" "HS codes are 7102.10, 7102.21 or 7102.31 (rough diamonds); each certificate line is the sum of its parcels of that heading";
    Kp4 "KP-4" "issue before expiry, not before sealing; export and import inside the validity window";
    Kp5 "KP-5" "country of origin is single only when every stone comes from that country; mixed otherwise";
    Kp6 "KP-6" "issuer, destination and transit countries are KP Participants, not suspended";
    Kp7 "KP-7" "the certificate is validated by an enrolled authority of the issuing country, trusted by the verifier, as are the imports, trader enrolments, mine sites and imposed keys its provenance rests on";
    Kp8 "KP-8" "soft anti-forgery checks: number inside its year's range, container seals match the sealing";
    Ex1 "EX-1" "export only after official valuation and sealing; certificate values equal the valuation";
    Ex2 "EX-2" "the final value and the duty follow the country's valuation rule and rate; a re-valuation, or a split or merge that drops a valuation, is a warning";
    Ex3 "EX-3" "the exporter is named as enrolled (name, address), holds a valid exporter licence, holds the parcels, and (where required) proves their origin";
    Tr1 "TR-1" "a shipment leaves a transit country unopened, with the same seals, carats and parcel count";
    Im1 "IM-1" "an import matches its certificate: the parcels counted and admitted, the carats per heading (never more, short by at most the tolerance over the shipment), every heading on it and every line covered, importer, exporter, seals intact";
    Im2 "IM-2" "an exported shipment's import confirmation arrives within the policy's number of days";
    Lc1 "LC-1" "extraction by a licensed miner at a site the licence covers, on a day it is valid";
    Lc2 "LC-2" "handovers follow the country's allowed seller-to-buyer roles, between licensed parties";
    Lc3 "LC-3" "each sale carries a receipt: seller, licence, carats and a value";
    Gv1 "GV-1" "a country's policy is recorded in order (strictly increasing versions, in force from its own time) with every value within its documented bounds";
    Gv2 "GV-2" "a Participant's standing is decided by the root authority: only it lifts or shortens a suspension";
    Gv3 "GV-3" "a policy that loosens a rule (larger tolerance, wider band, lower duty, new Participant, ...) is a red flag";
    Gv4 "GV-4" "a key imposed by an authority, and every event signed under it, is a red flag";
    St1 "ST-1" "a shipment's value per carat lies inside the band around its origin country's benchmark";
    St2 "ST-2" "a country's exports of its own origin stay within its reported production plus imports, and its production capacity";
    St3 "ST-3" "a country's or an exporter's volume does not jump from one period to the next";
    St4 "ST-4" "no one sourced from a red-flag mine site (CAHRA) within the look-back window of its flagging";
    St5 "ST-5" "no mixed-origin certificate from a trading hub covers stones whose history shows a single origin";
    Sw1 "SW-1" "a trader's sales never exceed its acquisitions: stock balance (MB-4) and warranty reconciliation";
    Log1 "LOG-1" "every event is a leaf of the log at its position, proven against a signed checkpoint";
    Log2 "LOG-2" "checkpoints are signed by the root authority and match the tree of the events (consistent extensions)";
    Log3 "LOG-3" "checkpoints carry the cosignatures of the required number of trusted witnesses";
    Log4 "LOG-4" "warning: the trust policy required no witness, so nothing shows the log showed this history to anyone else";
    Db1 "DB-1" "every stored derived value agrees with the signed events";
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
    /// The KP certificate concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
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
            certificate: None,
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
