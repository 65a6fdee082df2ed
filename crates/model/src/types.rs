//! Small validated value types: identifiers, times, countries, weights, money.
//!
//! Each type refuses malformed text when a document is read, so the rules never see an
//! impossible value. Weights are integer hundredths of a carat ("points") and money is
//! integer US cents: there are no floats anywhere in the model.

use std::fmt;

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
                    let shown: String = s.chars().take(80).collect();
                    Err(format!("{shown:?} is not {}", $what))
                }
            }
            /// The text.
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
        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::new(s)
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

fn is_text(s: &str) -> bool {
    let n = s.chars().count();
    (1..=200).contains(&n) && !s.chars().any(char::is_control) && s.trim() == s
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
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
        (Some(y), Some(m), Some(d)) => (1900..=9999).contains(&y) && d >= 1 && d <= days_in_month(y, m),
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
    /// Free text shown to people (names, places, reasons): 1-200 characters, no control
    /// characters, no leading or trailing blanks.
    Text, is_text, "acceptable text (1-200 characters, no control characters or surrounding blanks)"
);
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

impl Time {
    /// The time `secs` seconds after 1970-01-01T00:00:00Z (clamped to year 1970..=9999).
    pub fn from_unix(secs: i64) -> Time {
        let secs = secs.clamp(0, 253_402_300_799);
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        Time(format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60))
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub fn unix(&self) -> i64 {
        let n = |r: std::ops::Range<usize>| i64::from(digits(&self.0[r]).unwrap_or(0));
        let (y, m, d) = (n(0..4), n(5..7), n(8..10));
        // Howard Hinnant's days_from_civil.
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
    }

    /// The calendar date of this time.
    pub fn date(&self) -> Date {
        Date(self.0[..10].to_owned())
    }
}

impl Date {
    /// The year.
    pub fn year(&self) -> u32 {
        digits(&self.0[..4]).unwrap_or(0)
    }
}

/// The HS codes a KP certificate may carry (KPCS Section I).
pub const ROUGH_HS_CODES: [&str; 3] = ["7102.10", "7102.21", "7102.31"];

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
                     decimals (0.01 ct is the smallest unit), at most 1000000 ct"
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

impl fmt::Debug for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}pt", self.0)
    }
}

impl Serialize for Points {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        if v == 0 || v > MAX_WEIGHT_PT {
            return Err(serde::de::Error::custom(format!(
                "weight {v} points is outside 1..={MAX_WEIGHT_PT} (0.01 ct to 1,000,000 ct)"
            )));
        }
        Ok(Points(v))
    }
}

/// Money in US cents.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cents(pub u64);

impl Cents {
    /// Parses a dollar amount written by a person: `1500`, `1500.5`, `1500.50`.
    pub fn parse_usd(s: &str) -> Result<Cents, String> {
        parse_fixed2(s.trim_start_matches('$'))
            .filter(|v| *v <= MAX_CENTS)
            .map(Cents)
            .ok_or_else(|| format!("{s:?} is not a US-dollar amount: write e.g. 1500 or 1500.25"))
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

impl fmt::Debug for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}c", self.0)
    }
}

impl Serialize for Cents {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Cents {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        if v > MAX_CENTS {
            return Err(serde::de::Error::custom(format!("amount {v} cents is more than US$10 billion")));
        }
        Ok(Cents(v))
    }
}

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

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
            format!("{s:?} is not a role; use one of {}", names.join(", "))
        })
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
    fn handles_are_ascii() {
        assert!(ActorId::new("sl.dealer.kamara").is_ok());
        for bad in ["", "SL.dealer", "sl dealer", "sl.déaler", "-x"] {
            assert!(ActorId::new(bad).is_err(), "{bad}");
        }
    }
}
