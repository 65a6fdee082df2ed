//! The domain's value types read by clap (`value_parser = …`): a value that cannot be one is
//! a usage error naming its flag (exit 2), before anything is opened or signed.

use kpledger_model::ids::{IdKind, Prefix};
use kpledger_model::{ActorId, Cents, Country, Date, HsCode, Origin, ParcelId, Points, SiteId, Text, Time};

/// Carats, at most two decimals (`12.34`): the weight in points.
pub(crate) fn carats(s: &str) -> Result<Points, String> {
    Points::parse_carats(s)
}

/// US dollars, at most two decimals (`1500.25`): the amount in cents.
pub(crate) fn usd(s: &str) -> Result<Cents, String> {
    Cents::parse_usd(s)
}

/// An ISO 3166-1 alpha-2 country code, in capitals as ISO writes it (`be` is read as `BE`).
pub(crate) fn country(s: &str) -> Result<Country, String> {
    Country::new(s.trim().to_ascii_uppercase())
}

/// An actor id.
pub(crate) fn actor(s: &str) -> Result<ActorId, String> {
    ActorId::new(s)
}

/// A mine site id.
pub(crate) fn site(s: &str) -> Result<SiteId, String> {
    SiteId::new(s)
}

/// A customs heading, 7102.dd.
pub(crate) fn hs_code(s: &str) -> Result<HsCode, String> {
    HsCode::new(s)
}

/// A log origin name.
pub(crate) fn origin(s: &str) -> Result<Origin, String> {
    Origin::new(s)
}

/// A calendar date, YYYY-MM-DD.
pub(crate) fn date(s: &str) -> Result<Date, String> {
    Date::new(s)
}

/// A certificate or seal number (`SL-2026-004312`).
pub(crate) fn reference(s: &str) -> Result<Text, String> {
    Text::reference(s)
}

/// Free text typed by a person (a name, an address, a reason), normalised to NFC.
pub(crate) fn text(s: &str) -> Result<Text, String> {
    Text::from_input(s)
}

/// A whole parcel id (a UUID), for the id of a new parcel.
pub(crate) fn parcel_id(s: &str) -> Result<ParcelId, String> {
    s.parse().map_err(|_| {
        format!("{s:?} is not a parcel id (a UUID such as 0195f3a2-7c1e-7a00-8000-1234567890ab)")
    })
}

/// A `--time` value: ISO 8601 / RFC 3339 UTC (`2026-03-01T09:30:00Z`), as every time kpledger
/// prints or signs. A number of seconds since 1970 is refused with the same instant written the
/// right way, so that a script written for Unix time is fixed in one step.
pub(crate) fn time(t: &str) -> Result<Time, String> {
    if !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()) {
        let iso = t.parse::<i64>().map(Time::from_unix).map(|t| t.to_string()).unwrap_or_default();
        return Err(format!(
            "{t:?} looks like seconds since 1970: times are ISO 8601 in UTC; write --time {iso} for the same instant"
        ));
    }
    Time::new(t)
}

/// A parcel id or an event hash as typed: the whole identifier, or a unique prefix of at least 8
/// hex digits (docs/SPEC.md §7.1), resolved against the ledger when the command runs
/// (`commands::parcel_arg`, `commands::event_arg`).
#[derive(Debug, Clone)]
pub(crate) struct IdArg {
    /// As typed, for messages.
    pub(crate) typed: String,
    pub(crate) prefix: Prefix,
}

impl std::fmt::Display for IdArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.typed)
    }
}

/// A parcel id or a prefix of one.
pub(crate) fn parcel(s: &str) -> Result<IdArg, String> {
    let prefix = Prefix::parse(s, IdKind::Parcel).map_err(|e| e.to_string())?;
    Ok(IdArg { typed: s.to_owned(), prefix })
}

/// An event hash or a prefix of one.
pub(crate) fn event(s: &str) -> Result<IdArg, String> {
    let prefix = Prefix::parse(s, IdKind::Event).map_err(|e| e.to_string())?;
    Ok(IdArg { typed: s.to_owned(), prefix })
}
