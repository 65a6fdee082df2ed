//! Small validated value types: identifiers, times, countries, weights, money.
//!
//! Each type refuses malformed text when a document is read, so the rules never see an
//! impossible value. Weights are integer hundredths of a carat ("points") and money is
//! integer US cents: there are no floats anywhere in the model.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Reads a string as `String::deserialize` does (the same input accepted, the same errors) and
/// hands it to `f`, without copying it when the deserializer can lend it; `f`'s error becomes
/// the deserializer's (as `serde::de::Error::custom`).
pub(crate) fn with_str<'de, D, T, F>(d: D, f: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str) -> Result<T, String>,
{
    struct Lend<F>(F);
    impl<T, F: FnOnce(&str) -> Result<T, String>> serde::de::Visitor<'_> for Lend<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            // As serde's own visitor for `String`.
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            (self.0)(v).map_err(E::custom)
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<T, E> {
            match std::str::from_utf8(v) {
                Ok(s) => (self.0)(s).map_err(E::custom),
                Err(_) => Err(E::invalid_value(serde::de::Unexpected::Bytes(v), &self)),
            }
        }
    }
    d.deserialize_string(Lend(f))
}

macro_rules! string_newtype {
    ($(#[$m:meta])* $name:ident, $check:expr, $what:literal) => {
        string_newtype!($(#[$m])* $name, $check, $what, |_: &str| None);
        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::new(s)
            }
        }
    };
    ($(#[$m:meta])* $name:ident, $check:expr, $what:literal, $why:expr) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `s`.
            pub fn new(s: impl Into<String>) -> Result<Self, String> {
                let s = s.into();
                let check: fn(&str) -> bool = $check;
                if check(&s) {
                    Ok($name(s))
                } else {
                    let why: fn(&str) -> Option<String> = $why;
                    let shown: String = s.chars().take(80).collect();
                    match why(&s) {
                        Some(why) => Err(format!("{shown:?} is not {}: {why}", $what)),
                        None => Err(format!("{shown:?} is not {}", $what)),
                    }
                }
            }
            /// The value as text, as it is written in documents.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn is_handle(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c))
}

/// True for a character that free text may not hold: by its General Category (Unicode 16.0),
/// a control (Cc), format (Cf: invisible joiners and spaces such as U+200B and U+2060, the
/// byte-order mark U+FEFF, and every bidirectional control U+200E, U+200F, U+202A-U+202E,
/// U+2066-U+2069, U+061C), line or paragraph separator (Zl, Zp), surrogate (Cs), private-use
/// (Co) or unassigned (Cn) character. They are invisible, or shown differently by every
/// system, so two texts that look the same could differ in them.
pub fn refused_in_text(c: char) -> bool {
    use unicode_general_category::{GeneralCategory as G, get_general_category};
    matches!(
        get_general_category(c),
        G::Control
            | G::Format
            | G::LineSeparator
            | G::ParagraphSeparator
            | G::Surrogate
            | G::PrivateUse
            | G::Unassigned
    )
}

fn is_text(s: &str) -> bool {
    if s.is_ascii() {
        // The common case, without table look-ups: ASCII is NFC, and its only refused
        // characters are the controls.
        return (1..=200).contains(&s.len()) && !s.bytes().any(|b| b.is_ascii_control()) && s.trim() == s;
    }
    let n = s.chars().count();
    (1..=200).contains(&n)
        && !s.chars().any(refused_in_text)
        && s.trim() == s
        && unicode_normalization::is_nfc(s)
}

/// What is wrong with `s` as [`Text`], if anything (for the error message).
fn text_problem(s: &str) -> Option<String> {
    let n = s.chars().count();
    if !(1..=200).contains(&n) {
        return Some(format!("it has {n} characters, not 1 to 200"));
    }
    if let Some(c) = s.chars().find(|c| refused_in_text(*c)) {
        return Some(format!(
            "it holds U+{:04X}, an invisible, control, separator, private-use or unassigned character",
            u32::from(c)
        ));
    }
    if s.trim() != s {
        return Some("it begins or ends with a blank".into());
    }
    if !unicode_normalization::is_nfc(s) {
        return Some(
            "it is not in Unicode normalization form C (NFC): a signed text cannot be normalised after \
             signing, so it must be written in NFC (kpledger's own commands normalise what you type)"
                .into(),
        );
    }
    None
}

/// The grammar of certificate numbers and seal numbers: 1-40 of `A-Z 0-9 - . /`, the first and
/// the last a capital letter or a digit, e.g. `SL-2026-004312`, `SL-SEAL-2026-0101`.
/// Visible ASCII only, so that two numbers that look the same are the same.
pub fn is_reference(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    (1..=40).contains(&b.len())
        && b.first().is_some_and(alnum)
        && b.last().is_some_and(alnum)
        && b.iter().all(|c| alnum(c) || b"-./".contains(c))
}

/// What a certificate number or seal number must look like (for error messages).
pub const REFERENCE_GRAMMAR: &str = "1-40 characters of A-Z, 0-9, '-', '.', '/', beginning and ending with a \
     capital letter or a digit";

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The number of days of month `m` (1-12) of year `y` in the proleptic Gregorian calendar;
/// 0 for a number that is not a month.
pub fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    match (digits(&s[0..4]), digits(&s[5..7]), digits(&s[8..10])) {
        (Some(y), Some(m), Some(d)) => {
            (1900..=9999).contains(&y) && d >= 1 && i64::from(d) <= days_in_month(y.into(), m.into())
        }
        _ => false,
    }
}

fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return false;
    }
    is_date(&s[..10])
        && matches!(digits(&s[11..13]), Some(h) if h < 24)
        && matches!(digits(&s[14..16]), Some(m) if m < 60)
        && matches!(digits(&s[17..19]), Some(x) if x < 60)
}

string_newtype!(
    /// An actor's handle, e.g. `sl.dealer.kamara`: 1-64 of `a-z 0-9 . _ -`.
    ActorId, is_handle, "an actor id (1-64 characters of a-z, 0-9, '.', '_', '-')"
);
string_newtype!(
    /// A mine site's handle, e.g. `sl.kono.koidu-12`: 1-64 of `a-z 0-9 . _ -`.
    SiteId, is_handle, "a site id (1-64 characters of a-z, 0-9, '.', '_', '-')"
);
string_newtype!(
    /// Free text shown to people (names, places, reasons): 1-200 characters in Unicode NFC, no
    /// control, format (invisible or bidirectional), separator, private-use or unassigned
    /// character ([`refused_in_text`]), no leading or trailing blanks. Certificate and seal
    /// numbers are `Text` that also follow [`is_reference`] where a document is read.
    Text,
    is_text,
    "acceptable text (1-200 characters in NFC, no control, invisible or bidirectional characters, no surrounding blanks)",
    text_problem
);

impl Text {
    /// Text typed by a person (a command-line argument, a file to be signed): normalised to
    /// NFC, then checked as [`Text::new`] checks it. Signed documents are read with
    /// [`Text::new`], which refuses text that is not already NFC.
    pub fn from_input(s: impl AsRef<str>) -> Result<Text, String> {
        use unicode_normalization::UnicodeNormalization;
        Text::new(s.as_ref().nfc().collect::<String>())
    }

    /// A certificate number or a seal number ([`is_reference`]), e.g. `SL-2026-004312`.
    pub fn reference(s: impl Into<String>) -> Result<Text, String> {
        let s = s.into();
        if is_reference(&s) {
            Text::new(s)
        } else {
            let shown: String = s.chars().take(80).collect();
            Err(format!(
                "{shown:?} is not a certificate or seal number ({REFERENCE_GRAMMAR}); write small letters \
                 as capitals and each space as '-'"
            ))
        }
    }
}

impl FromStr for Text {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Text::from_input(s)
    }
}

/// `#[serde(deserialize_with)]` for a [`Text`] that is a certificate or seal number.
pub(crate) fn de_reference<'de, D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
    with_str(d, |s| Text::reference(s))
}

/// `#[serde(deserialize_with)]` for a list of seal numbers.
pub(crate) fn de_references<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Text>, D::Error> {
    struct Reference(Text);
    impl<'de> Deserialize<'de> for Reference {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            de_reference(d).map(Reference)
        }
    }
    Ok(Vec::<Reference>::deserialize(d)?.into_iter().map(|r| r.0).collect())
}
string_newtype!(
    /// An ISO 3166-1 alpha-2 country code, e.g. `SL`.
    Country,
    |s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()),
    "an ISO 3166-1 alpha-2 country code (two capital letters, e.g. SL)"
);
string_newtype!(
    /// A UTC time, RFC 3339 with seconds and `Z`: `2026-03-01T09:30:00Z`. Fixed width, so
    /// text order is time order.
    Time, is_time, "a UTC time like 2026-03-01T09:30:00Z"
);
string_newtype!(
    /// A calendar date `YYYY-MM-DD`.
    Date, is_date, "a date like 2026-03-01"
);
string_newtype!(
    /// A customs heading of the form `7102.dd`. Whether it is an allowed rough-diamond
    /// heading is a rule (KP-3), so that the finding can say so.
    HsCode,
    |s| s.len() == 7 && s.starts_with("7102.") && s[5..].bytes().all(|b| b.is_ascii_digit()),
    "an HS code of heading 7102 (e.g. 7102.10)"
);
string_newtype!(
    /// A ledger's log origin name, e.g. `kpledger.sl/national`.
    Origin,
    |s| !s.is_empty() && s.len() <= 100 && s.bytes().all(|b| b.is_ascii_graphic() && b != b'+'),
    "a log origin name (1-100 printable ASCII characters without spaces or '+')"
);

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (year, month, day) of a number of days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl Time {
    /// The time `secs` seconds after 1970-01-01T00:00:00Z (clamped to year 1970..=9999).
    pub fn from_unix(secs: i64) -> Time {
        let secs = secs.clamp(0, 253_402_300_799);
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        Time(format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60))
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub fn unix(&self) -> i64 {
        let n = |r: std::ops::Range<usize>| i64::from(digits(&self.0[r]).unwrap_or(0));
        let (y, m, d) = (n(0..4), n(5..7), n(8..10));
        let days = days_from_civil(y, m, d);
        days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
    }

    /// The calendar date of this time.
    pub fn date(&self) -> Date {
        Date(self.0[..10].to_owned())
    }
}

impl Date {
    /// The year (`YYYY`, 1900–9999).
    pub fn year(&self) -> u32 {
        digits(&self.0[..4]).unwrap_or(0)
    }
}

/// The HS codes a KP certificate may carry (KPCS Section I).
pub(crate) const ROUGH_HS_CODES: [&str; 3] = ["7102.10", "7102.21", "7102.31"];

impl HsCode {
    /// True for 7102.10, 7102.21 and 7102.31.
    pub fn is_rough(&self) -> bool {
        ROUGH_HS_CODES.contains(&self.0.as_str())
    }
}

/// A parcel's identifier: a UUID, written lowercase and hyphenated; kpledger makes v7.
pub type ParcelId = uuid::Uuid;

/// The largest weight one parcel may have: 1,000,000 ct, in points. More than a year of
/// Sierra Leone's production; anything larger is a typing error or an attack.
pub const MAX_WEIGHT_PT: u64 = 100_000_000;
/// The largest money amount in one field: US$10 billion, in cents.
pub const MAX_CENTS: u64 = 1_000_000_000_000;
/// The largest stone count of one parcel.
pub const MAX_STONES: u32 = 10_000_000;

/// The hint for a number written with a decimal comma (`12,5`): the same with a dot.
fn use_a_dot(s: &str) -> String {
    if s.matches(',').count() == 1 && !s.contains('.') {
        format!("; use a dot: {}", s.replace(',', "."))
    } else {
        String::new()
    }
}

/// A weight in hundredths of a carat (points). 1 ct = 100 pt.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Points(pub u64);

impl Points {
    /// Parses a carat amount written by a person: `12`, `12.3` or `12.34` (at most two
    /// decimals, no sign, no exponent).
    pub fn parse_carats(s: &str) -> Result<Points, String> {
        parse_fixed2(s)
            .and_then(|v| if v > 0 && v <= MAX_WEIGHT_PT { Some(Points(v)) } else { None })
            .ok_or_else(|| {
                format!(
                    "{s:?} is not a weight in carats: write a positive number with at most two \
                     decimals (0.01 ct is the smallest unit), at most 1000000 ct{}",
                    use_a_dot(s)
                )
            })
    }
}

impl fmt::Display for Points {
    /// As carats with two decimals, e.g. `12.34 ct`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02} ct", self.0 / 100, self.0 % 100)
    }
}

/// A whole-number amount: `Debug` as the number and its unit, serialized as the bare number,
/// and read only when `refusal` (given the number) says nothing against it.
macro_rules! whole_amount {
    ($ty:ident, $unit:literal, $refusal:expr) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!("{}", $unit), self.0)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u64(self.0)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = u64::deserialize(d)?;
                let refusal: fn(u64) -> Option<String> = $refusal;
                match refusal(v) {
                    Some(why) => Err(serde::de::Error::custom(why)),
                    None => Ok($ty(v)),
                }
            }
        }
    };
}

whole_amount!(Points, "pt", |v| (v == 0 || v > MAX_WEIGHT_PT)
    .then(|| format!("weight {v} points is outside 1..={MAX_WEIGHT_PT} (0.01 ct to 1,000,000 ct)")));

/// Money in US cents.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cents(pub u64);

impl Cents {
    /// Parses a dollar amount written by a person: `1500`, `1500.5`, `1500.50`.
    pub fn parse_usd(s: &str) -> Result<Cents, String> {
        parse_fixed2(s.trim_start_matches('$')).filter(|v| *v <= MAX_CENTS).map(Cents).ok_or_else(|| {
            format!("{s:?} is not a US-dollar amount: write e.g. 1500 or 1500.25{}", use_a_dot(s))
        })
    }
}

impl fmt::Display for Cents {
    /// As dollars with thousands separators, e.g. `US$1,234.56`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dollars = (self.0 / 100).to_string();
        let mut grouped = String::new();
        for (i, c) in dollars.chars().enumerate() {
            if i > 0 && (dollars.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "US${grouped}.{:02}", self.0 % 100)
    }
}

whole_amount!(Cents, "c", |v| (v > MAX_CENTS)
    .then(|| format!("amount {v} cents is more than US$10 billion")));

/// `"12.34"` → 1234; at most two decimals; digits only.
fn parse_fixed2(s: &str) -> Option<u64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || int.len() > 13 || frac.len() > 2 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.contains('.') && frac.is_empty() {
        return None;
    }
    let f = if frac.is_empty() { 0 } else { digits(frac)? as u64 * if frac.len() == 1 { 10 } else { 1 } };
    int.parse::<u64>().ok()?.checked_mul(100)?.checked_add(f)
}

/// What an actor is licensed or appointed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Artisanal or industrial miner (licence holder at a mine site).
    Miner,
    /// Collector (Côte d'Ivoire, Guinea) buying from miners.
    Collector,
    /// Broker (Liberia) buying from miners and selling to dealers.
    Broker,
    /// Licensed dealer.
    Dealer,
    /// Licensed exporter (in Côte d'Ivoire an approved Bureau d'Achat).
    Exporter,
    /// Government diamond office / valuer (Sierra Leone PMT, Liberia GDO, Guinea BNE).
    Valuer,
    /// National KP authority: enrols actors and sites, seals, certifies.
    Authority,
}

impl Role {
    /// All roles, for help text and tables.
    pub const ALL: [Role; 7] = [
        Role::Miner,
        Role::Collector,
        Role::Broker,
        Role::Dealer,
        Role::Exporter,
        Role::Valuer,
        Role::Authority,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Miner => "miner",
            Role::Collector => "collector",
            Role::Broker => "broker",
            Role::Dealer => "dealer",
            Role::Exporter => "exporter",
            Role::Valuer => "valuer",
            Role::Authority => "authority",
        }
    }

    /// True for the roles that may hold and trade parcels.
    pub fn is_trade(self) -> bool {
        matches!(self, Role::Miner | Role::Collector | Role::Broker | Role::Dealer | Role::Exporter)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
            format!("{s:?} is not a role; use one of {}", names.join(", "))
        })
    }
}

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// The first 12 hex characters, for people.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..6])
    }
}

text_form!(Hash, to_hex);

/// A hash given as text was not 64 lowercase hex digits.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a SHA-256 hash (64 lowercase hex digits)")]
pub struct HashParseError(String);

impl FromStr for Hash {
    type Err = HashParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        fn digit(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            }
        }
        let mut out = [0u8; 32];
        let mut pairs = s.as_bytes().chunks_exact(2);
        if s.len() == 64
            && out.iter_mut().zip(&mut pairs).all(|(byte, pair)| match (digit(pair[0]), digit(pair[1])) {
                (Some(high), Some(low)) => {
                    *byte = high << 4 | low;
                    true
                }
                _ => false,
            })
        {
            return Ok(Hash(out));
        }
        Err(HashParseError(s.chars().take(80).collect()))
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = [0u8; 64];
        hex::encode_to_slice(self.0, &mut text).map_err(serde::ser::Error::custom)?;
        s.serialize_str(std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        with_str(d, |s| s.parse().map_err(|e: HashParseError| e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_dates() {
        assert!(Time::new("2026-02-28T23:59:59Z").is_ok());
        assert!(Time::new("2024-02-29T00:00:00Z").is_ok());
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01 10:00:00Z",
            "2026-01-01T10:00:00+00:00",
            "２026-01-01T10:00:00Z",
        ] {
            assert!(Time::new(bad).is_err(), "{bad}");
        }
        assert_eq!(Time::new("2026-03-01T09:00:00Z").unwrap().date().as_str(), "2026-03-01");
        for t in
            ["1970-01-01T00:00:00Z", "2000-02-29T12:34:56Z", "2026-12-31T23:59:59Z", "2100-03-01T00:00:00Z"]
        {
            let time = Time::new(t).unwrap();
            assert_eq!(Time::from_unix(time.unix()), time, "{t}");
        }
        assert_eq!(Time::new("2026-01-01T00:00:00Z").unwrap().unix(), 1_767_225_600);
    }

    #[test]
    fn carats_parse_without_floats() {
        assert_eq!(Points::parse_carats("12.34").unwrap(), Points(1234));
        assert_eq!(Points::parse_carats("12.3").unwrap(), Points(1230));
        assert_eq!(Points::parse_carats("7").unwrap(), Points(700));
        for bad in ["-1", "0", "1.234", "1e3", "", ".5", "5.", "NaN", "99999999999"] {
            assert!(Points::parse_carats(bad).is_err(), "{bad}");
        }
        assert_eq!(Points(1234).to_string(), "12.34 ct");
        assert_eq!(Cents(123456789).to_string(), "US$1,234,567.89");
    }

    #[test]
    fn text_refuses_invisible_bidi_control_and_unnormalised_characters() {
        for good in ["Kamara Diamonds", "Société Minière", "Ivoire: 象牙 💎", "a\u{00a0}b", "Ο Ἀθηναῖος"]
        {
            assert!(Text::new(good).is_ok(), "{good:?}");
        }
        // Control, format (zero-width, word joiner, BOM, soft hyphen), every bidirectional
        // control, separators, private use, surrogate-free noncharacters and unassigned.
        let refused = [
            '\u{0}',
            '\u{1f}',
            '\u{7f}',
            '\u{85}',
            '\u{ad}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{200e}',
            '\u{200f}',
            '\u{202a}',
            '\u{202b}',
            '\u{202c}',
            '\u{202d}',
            '\u{202e}',
            '\u{2060}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{061c}',
            '\u{feff}',
            '\u{2028}',
            '\u{2029}',
            '\u{e000}',
            '\u{ffff}',
            '\u{10ffff}',
            '\u{e0001}',
            '\u{1d173}',
        ];
        for c in refused {
            let s = format!("Kamara{c}Diamonds");
            let e = Text::new(s.as_str()).unwrap_err();
            assert!(e.contains(&format!("U+{:04X}", u32::from(c))), "{c:?}: {e}");
            // Normalising does not make them acceptable.
            assert!(Text::from_input(s).is_err(), "{c:?}");
        }
        // Not NFC: refused when read, normalised when typed.
        let decomposed = "Soci\u{65}\u{301}t\u{65}\u{301}";
        let e = Text::new(decomposed).unwrap_err();
        assert!(e.contains("NFC"), "{e}");
        assert_eq!(Text::from_input(decomposed).unwrap().as_str(), "Société");
        assert_eq!(decomposed.parse::<Text>().unwrap().as_str(), "Société");
        // NFC, not NFKC: compatibility characters stay as they are.
        assert!(Text::new("ﬁne ①").is_ok());
        assert!(Text::new(" lead").is_err() && Text::new("trail\u{3000}").is_err());
        assert!(Text::new("").is_err() && Text::new("x".repeat(201)).is_err());
        assert!(Text::new("é".repeat(200)).is_ok());
    }

    #[test]
    fn the_unicode_version_is_the_one_the_specification_names() {
        // docs/SPEC.md §7: the General Categories of Unicode 16.0 decide what text may hold
        // (a later version assigns characters that 16.0 refuses as unassigned); a dependency
        // update that changes it changes which signed documents are readable.
        assert_eq!(
            unicode_general_category::UNICODE_VERSION,
            (16, 0, 0),
            "update docs/SPEC.md §7 before moving to another Unicode version"
        );
        assert!(unicode_normalization::UNICODE_VERSION >= (16, 0, 0));
    }

    #[test]
    fn certificate_and_seal_numbers_are_visible_ascii() {
        for good in [
            "SL-2026-004312",
            "SL-SEAL-2026-0101",
            "BE-2026-118734",
            "BW012345",
            "ZA/2026/00012",
            "IN.2026.001",
            "A",
            "9",
            &"X".repeat(40),
        ] {
            assert!(is_reference(good) && Text::reference(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "SL-2026\u{2060}-004600",
            "SL-2026-004600\u{200b}",
            "\u{feff}SL-2026-004600",
            "SL-2026-00460\u{0}",
            "SL\u{2010}2026-004600",
            "SL-2026-OO46OO\u{202e}",
            "ＳL-2026-004600",
            "sl-2026-004600",
            "SL 2026 004600",
            "SL-2026-004600 ",
            "-SL-2026",
            "SL-2026-",
            "SL_2026",
            "SL+2026",
            &"X".repeat(41),
        ] {
            assert!(!is_reference(bad), "{bad:?}");
            let e = Text::reference(bad).unwrap_err();
            assert!(e.contains("certificate or seal number"), "{e}");
        }
    }

    #[test]
    fn handles_are_ascii() {
        assert!(ActorId::new("sl.dealer.kamara").is_ok());
        for bad in ["", "SL.dealer", "sl dealer", "sl.déaler", "-x"] {
            assert!(ActorId::new(bad).is_err(), "{bad}");
        }
    }
}
