//! Identifiers as people type and read them (docs/SPEC.md §7.1): a parcel id or an event hash
//! may be given by a unique prefix of at least [`MIN_PREFIX`] hex digits, as git abbreviates
//! object names, and tables show a parcel id by its first [`SHORT_PARCEL_DIGITS`] hex digits
//! (more where another parcel of the same ledger or bundle shares them), which is itself such a
//! prefix. This module reads a prefix and shortens an id; which ids a prefix names is decided
//! against a ledger (`kpledger_core::Ledger::parcels_with_prefix`, `events_with_prefix`) or the
//! events of a bundle, by the caller.

use crate::Hash;
use crate::types::ParcelId;

/// The fewest hex digits accepted as a prefix.
pub const MIN_PREFIX: usize = 8;

/// The hex digits a table shows of a parcel id: a UUID v7 starts with 12 digits of its
/// millisecond timestamp and the version digit `7`, so 16 digits keep 12 random bits (parcels
/// made in different milliseconds always differ within them).
pub const SHORT_PARCEL_DIGITS: usize = 16;

/// What a prefix names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A parcel id (a UUID, 32 hex digits; its dashes may be typed or left out).
    Parcel,
    /// An event hash (64 hex digits).
    Event,
}

impl IdKind {
    /// How many hex digits the whole identifier has.
    pub fn digits(self) -> usize {
        match self {
            IdKind::Parcel => 32,
            IdKind::Event => 64,
        }
    }

    /// The identifier's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            IdKind::Parcel => "parcel id",
            IdKind::Event => "event hash",
        }
    }
}

/// Why a typed identifier is not a prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrefixError {
    /// Fewer than [`MIN_PREFIX`] hex digits.
    #[error(
        "{input:?} is too short to name a {}: give at least {MIN_PREFIX} hex digits of it (a unique prefix, as tables show it)",
        kind.name()
    )]
    TooShort {
        /// What was typed.
        input: String,
        /// What it should name.
        kind: IdKind,
    },
    /// A character that is not a hex digit (or, in a parcel id, a dash).
    #[error(
        "{input:?} is not a {} or a prefix of one: use hex digits 0-9 a-f{}",
        kind.name(),
        if *kind == IdKind::Parcel { " (and the UUID's dashes)" } else { "" }
    )]
    NotHex {
        /// What was typed.
        input: String,
        /// What it should name.
        kind: IdKind,
    },
    /// More hex digits than the identifier has.
    #[error("{input:?} is longer than a {} ({} hex digits)", kind.name(), kind.digits())]
    TooLong {
        /// What was typed.
        input: String,
        /// What it should name.
        kind: IdKind,
    },
}

/// A typed prefix of a parcel id or an event hash: lowercase hex digits, at least
/// [`MIN_PREFIX`], at most the whole identifier's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    hex: String,
    kind: IdKind,
}

impl Prefix {
    /// Reads a typed prefix: hex digits in either case; in a parcel id, dashes anywhere are
    /// ignored (a UUID is typed with them, a table's short form too).
    pub fn parse(input: &str, kind: IdKind) -> Result<Prefix, PrefixError> {
        let trimmed = input.trim();
        let mut hex = String::with_capacity(trimmed.len());
        for c in trimmed.chars() {
            match c {
                '0'..='9' | 'a'..='f' => hex.push(c),
                'A'..='F' => hex.push(c.to_ascii_lowercase()),
                '-' if kind == IdKind::Parcel => {}
                _ => return Err(PrefixError::NotHex { input: input.to_owned(), kind }),
            }
        }
        if hex.len() > kind.digits() {
            return Err(PrefixError::TooLong { input: input.to_owned(), kind });
        }
        if hex.len() < MIN_PREFIX {
            return Err(PrefixError::TooShort { input: input.to_owned(), kind });
        }
        Ok(Prefix { hex, kind })
    }

    /// The prefix's hex digits, lowercase.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// What it names.
    pub fn kind(&self) -> IdKind {
        self.kind
    }

    /// Whether `id` starts with this prefix.
    pub fn matches_parcel(&self, id: &ParcelId) -> bool {
        self.kind == IdKind::Parcel && id.simple().to_string().starts_with(&self.hex)
    }

    /// Whether `hash` starts with this prefix.
    pub fn matches_hash(&self, hash: &Hash) -> bool {
        self.kind == IdKind::Event && hash.to_hex().starts_with(&self.hex)
    }

    /// The parcel ids starting with this prefix, as their text (36 characters, lowercase, with
    /// dashes) orders: every such id is at least the first string and below the second.
    pub fn parcel_text_range(&self) -> (String, String) {
        let mut lo = String::with_capacity(36);
        for (i, c) in self.hex.chars().enumerate() {
            if matches!(i, 8 | 12 | 16 | 20) {
                lo.push('-');
            }
            lo.push(c);
        }
        // 'g' sorts after every character of a UUID's text ('-', '0'-'9', 'a'-'f').
        let hi = format!("{lo}g");
        (lo, hi)
    }

    /// The event hashes starting with this prefix: every one is between the two, both
    /// included (byte order).
    pub fn hash_range(&self) -> (Hash, Hash) {
        let pad = |digit: char| {
            let mut s = self.hex.clone();
            while s.len() < 64 {
                s.push(digit);
            }
            let mut out = [0u8; 32];
            // Only hex digits are ever pushed: decoding cannot fail.
            if hex::decode_to_slice(&s, &mut out).is_err() {
                out = [0; 32];
            }
            Hash(out)
        };
        (pad('0'), pad('f'))
    }
}

/// A parcel id as tables show it: its first [`SHORT_PARCEL_DIGITS`] hex digits in the UUID's
/// text form (18 characters, e.g. `019cb030-95a0-72d7`), a prefix that names it.
pub fn short_parcel(id: &ParcelId) -> String {
    short_parcel_digits(id, SHORT_PARCEL_DIGITS)
}

/// As [`short_parcel`], but longer where `neighbours` (the ids just before and after it in the
/// same ledger or bundle, in order) share its first digits: one digit past the longest prefix it
/// shares with either, so the short form names it alone there.
pub fn short_parcel_among(id: &ParcelId, neighbours: [Option<&ParcelId>; 2]) -> String {
    let mine = id.simple().to_string();
    let shared = neighbours
        .iter()
        .flatten()
        .filter(|n| *n != &id)
        .map(|n| n.simple().to_string().chars().zip(mine.chars()).take_while(|(a, b)| a == b).count())
        .max()
        .unwrap_or(0);
    short_parcel_digits(id, SHORT_PARCEL_DIGITS.max(shared + 1))
}

/// The first `digits` hex digits of `id`, with the UUID's dashes among them.
fn short_parcel_digits(id: &ParcelId, digits: usize) -> String {
    let text = id.to_string();
    if digits >= 32 {
        return text;
    }
    // Dashes come after hex digits 8, 12, 16 and 20.
    let dashes = [8, 12, 16, 20].iter().filter(|d| **d < digits).count();
    text[..digits + dashes].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ParcelId {
        s.parse().unwrap()
    }

    #[test]
    fn prefixes_are_read_as_hex_digits() {
        let p = Prefix::parse("019CB030-95a0", IdKind::Parcel).unwrap();
        assert_eq!(p.hex(), "019cb03095a0");
        assert!(p.matches_parcel(&id("019cb030-95a0-72d7-afe6-efb4bd557f42")));
        assert!(!p.matches_parcel(&id("019cb031-95a0-72d7-afe6-efb4bd557f42")));
        assert_eq!(p.parcel_text_range(), ("019cb030-95a0".to_owned(), "019cb030-95a0g".to_owned()));
        assert!(matches!(Prefix::parse("019cb03", IdKind::Parcel), Err(PrefixError::TooShort { .. })));
        assert!(matches!(Prefix::parse("019cb03g", IdKind::Parcel), Err(PrefixError::NotHex { .. })));
        assert!(matches!(Prefix::parse("0123-4567", IdKind::Event), Err(PrefixError::NotHex { .. })));
        assert!(matches!(Prefix::parse(&"a".repeat(33), IdKind::Parcel), Err(PrefixError::TooLong { .. })));
        let h = Prefix::parse("abcdef012", IdKind::Event).unwrap();
        let (lo, hi) = h.hash_range();
        assert_eq!(&lo.to_hex()[..10], "abcdef0120");
        assert_eq!(&hi.to_hex()[..10], "abcdef012f");
        assert!(hi.to_hex()[9..].chars().all(|c| c == 'f'));
    }

    #[test]
    fn the_short_form_is_a_prefix_that_names_the_parcel_alone() {
        let a = id("019cb030-95a0-72d7-afe6-efb4bd557f42");
        let b = id("019cb030-95a0-7db9-9bfa-209b4e04255d");
        let c = id("019cb030-95a0-72d7-1111-209b4e04255d");
        assert_eq!(short_parcel(&a), "019cb030-95a0-72d7");
        assert_eq!(short_parcel_among(&a, [None, Some(&b)]), "019cb030-95a0-72d7");
        // Another parcel shares all 16 digits: the short form grows past them.
        assert_eq!(short_parcel_among(&a, [Some(&c), Some(&b)]), "019cb030-95a0-72d7-a");
        for s in [short_parcel(&a), short_parcel_among(&a, [Some(&c), None])] {
            let p = Prefix::parse(&s, IdKind::Parcel).unwrap();
            assert!(p.matches_parcel(&a));
        }
        assert!(
            !Prefix::parse(&short_parcel_among(&a, [Some(&c), None]), IdKind::Parcel)
                .unwrap()
                .matches_parcel(&c)
        );
    }
}
