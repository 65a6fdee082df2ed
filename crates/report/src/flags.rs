//! Statistical red flags (docs/RULES.md): warnings for a person to look at, never
//! errors. Each reads the book and the countries' policies (benchmarks and thresholds);
//! absent thresholds take the suggested starting values of §7.7.
//!
//! - **ST-1** a certificate's US$/ct outside `[low%, high%]` of its origin's benchmark.
//! - **ST-2** a country's exports of its own origin in a year above its reported production
//!   for the year plus its recorded imports of that origin, or above its capacity estimate.
//! - **ST-3** a country's exports (quarter), production (half-year) or an exporter's exports
//!   (quarter) jump up or down from the previous period by more than the threshold.
//! - **ST-4** an actor mined or bought stones from a red-flag site, on or after the site's
//!   flagging date less the look-back window (OECD R1, R5).
//! - **ST-5** a mixed-origin certificate from, or routed through, a trading hub over stones
//!   whose documented history shows a single origin (F4).
//! - **SW-1** a trader's sales exceed its acquisitions (stock balance, MB-4; warranties
//!   issued must reconcile with warranties received).

use std::collections::{BTreeMap, BTreeSet};

use kpledger_model::{Benchmark, Country, Date, OriginClaim, RedFlagPolicy};
use kpledger_verify::{Finding, Rule};

use crate::book::Book;
use crate::fmt::{ct, pct, per_ct, usd_per_ct};
use crate::period::{Period, day};

/// ST-1's default band, in percent of the benchmark (0.33x to 3x).
pub(crate) const DEFAULT_BAND_PCT: [u32; 2] = [33, 300];
/// ST-3's default jump, in percent.
pub(crate) const DEFAULT_JUMP_PCT: u32 = 100;
/// ST-3's default floor, in points (100 ct).
pub(crate) const DEFAULT_JUMP_MIN_PT: u64 = 10_000;
/// ST-4's default look-back, in days.
pub(crate) const DEFAULT_LOOKBACK_DAYS: u32 = 365;

/// A red flag and the day it is dated (for the period it belongs to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The day the flag is dated: the event's, or for ST-3 the first day of its period.
    pub date: Date,
    /// The warning, with its ST or SW rule code.
    pub finding: Finding,
}

/// The thresholds in force for a country: its policy's, or the defaults.
#[derive(Debug, Clone)]
pub struct Thresholds {
    /// ST-1 band in percent.
    pub band_pct: [u32; 2],
    /// ST-3 jump in percent.
    pub jump_pct: u32,
    /// ST-3 floor in points.
    pub jump_min_pt: u64,
    /// ST-4 look-back in days.
    pub lookback_days: u32,
    /// ST-5 trading hubs.
    pub hubs: Vec<Country>,
    /// SW-1 slack in points.
    pub stock_slack_pt: u64,
}

impl Thresholds {
    fn of(p: Option<&RedFlagPolicy>) -> Thresholds {
        let d = RedFlagPolicy::default();
        let p = p.unwrap_or(&d);
        Thresholds {
            band_pct: p.value_band_pct.unwrap_or(DEFAULT_BAND_PCT),
            jump_pct: p.jump_pct.unwrap_or(DEFAULT_JUMP_PCT),
            jump_min_pt: p.jump_min_pt.unwrap_or(DEFAULT_JUMP_MIN_PT),
            lookback_days: p.lookback_days.unwrap_or(DEFAULT_LOOKBACK_DAYS),
            hubs: p.trading_hubs.clone(),
            stock_slack_pt: p.stock_slack_pt.unwrap_or(0),
        }
    }
}

impl Book {
    /// ST-1's benchmark for a certificate, in cents per carat: the benchmarks of its
    /// origins weighted by their carats (none if an origin has no benchmark), and where
    /// each comes from.
    pub(crate) fn value_benchmark(&self, c: &crate::book::Cert) -> Option<(u64, Vec<String>)> {
        let year = c.certificate.date_of_issue.year();
        let mut weighted: u128 = 0;
        let mut total: u128 = 0;
        let mut sources = Vec::new();
        for (origin, (pt, _)) in c.by_origin() {
            let (v, b) = self.benchmark(&origin, year, |b| b.usd_cents_per_ct)?;
            weighted += u128::from(v) * u128::from(pt);
            total += u128::from(pt);
            sources.push(format!("{origin} {}, {}", b.year, b.source));
        }
        if total == 0 {
            return None;
        }
        Some((u64::try_from((weighted * 2 + total) / (2 * total)).ok()?, sources))
    }

    /// The red-flag thresholds of a country's latest policy (defaults without one).
    pub fn thresholds(&self, country: &str) -> Thresholds {
        let policy = Country::new(country).ok().and_then(|c| self.policies.get(&c));
        Thresholds::of(policy.and_then(|p| p.red_flags.as_ref()))
    }

    /// The red-flag thresholds of the country's policy in force at `time` (the latest
    /// version recorded whose time is not after it; defaults without one), so that a later,
    /// looser version never clears the flag of an earlier event (SPEC §10.5).
    pub fn thresholds_at(&self, country: &str, time: &kpledger_model::Time) -> Thresholds {
        let policy = Country::new(country)
            .ok()
            .and_then(|c| self.policy_versions.get(&c))
            .and_then(|v| v.iter().rev().find(|(t, _)| t <= time))
            .map(|(_, p)| p);
        Thresholds::of(policy.and_then(|p| p.red_flags.as_ref()))
    }

    /// The benchmark of `country` for `year` that gives `field`: the latest year not after
    /// `year`, else the earliest after it.
    pub fn benchmark(
        &self,
        country: &str,
        year: u32,
        field: fn(&Benchmark) -> Option<u64>,
    ) -> Option<(u64, &Benchmark)> {
        let policy = self.policies.get(&Country::new(country).ok()?)?;
        let with: Vec<(u64, &Benchmark)> =
            policy.benchmarks.iter().filter_map(|b| field(b).map(|v| (v, b))).collect();
        with.iter()
            .filter(|(_, b)| b.year <= year)
            .max_by_key(|(_, b)| b.year)
            .copied()
            .or_else(|| with.iter().filter(|(_, b)| b.year > year).min_by_key(|(_, b)| b.year).copied())
    }
}

fn warn(rule: Rule, message: String, hint: &str) -> Finding {
    Finding::warning(rule, message).hint(hint)
}

/// Every red flag of the book, in a stable order (by rule, then date).
pub fn red_flags(book: &Book) -> Vec<Flag> {
    let mut out = Vec::new();
    st1(book, &mut out);
    st2(book, &mut out);
    st3(book, &mut out);
    st4(book, &mut out);
    st5(book, &mut out);
    sw1(book, &mut out);
    out
}

fn st1(book: &Book, out: &mut Vec<Flag>) {
    for c in &book.certificates {
        let cert = &c.certificate;
        let Some(value_per_ct) = per_ct(cert.value(), cert.carats()) else { continue };
        let Some((bench, sources)) = book.value_benchmark(c) else { continue };
        let t = book.thresholds_at(cert.issuing_country.as_str(), &c.time);
        let [lo, hi] = t.band_pct;
        let (v, b) = (u128::from(value_per_ct), u128::from(bench));
        let below = v * 100 < b * u128::from(lo);
        let above = v * 100 > b * u128::from(hi);
        if !(below || above) {
            continue;
        }
        let ratio = pct(value_per_ct, bench).unwrap_or(0);
        let message = format!(
            "certificate {}: {}/ct is {ratio}% of the origin benchmark {}/ct ({}); the band is {lo}%–{hi}% — {}",
            cert.number,
            usd_per_ct(value_per_ct),
            usd_per_ct(bench),
            sources.join("; "),
            if below {
                "possible under-valuation (F5)"
            } else {
                "possible over-valuation or origin substitution (F5)"
            }
        );
        let mut f = warn(
            Rule::St1,
            message,
            "compare the valuation with the valuers' reports and the lot's stones; tune the band in the policy's red_flags.value_band_pct",
        );
        f.certificate = Some(cert.number.to_string());
        out.push(Flag { date: cert.date_of_issue.clone(), finding: f });
    }
}

fn st2(book: &Book, out: &mut Vec<Flag>) {
    // Cumulative exports of own origin per (country, year), certificate by certificate.
    let mut exported: BTreeMap<(String, u32), u64> = BTreeMap::new();
    let mut raised: BTreeSet<(String, u32, &str)> = BTreeSet::new();
    // Imports of a country's own origin into it, per (country, year).
    let mut imported_own: BTreeMap<(String, u32), u64> = BTreeMap::new();
    for i in &book.imports {
        if i.certificate.country_of_origin.to_string() == i.country {
            *imported_own.entry((i.country.clone(), i.date.year())).or_default() +=
                i.certificate.lines.iter().map(|l| l.carats_pt.0).sum::<u64>();
        }
    }
    for c in &book.certificates {
        let cert = &c.certificate;
        let country = cert.issuing_country.to_string();
        let year = cert.date_of_issue.year();
        let own = c.by_origin().get(&country).map(|x| x.0).unwrap_or(0);
        if own == 0 {
            continue;
        }
        let sum = exported.entry((country.clone(), year)).or_default();
        *sum += own;
        let sum = *sum;
        let imported = imported_own.get(&(country.clone(), year)).copied().unwrap_or(0);
        let mut check = |kind: &'static str, limit: u64, what: String| {
            if sum > limit && raised.insert((country.clone(), year, kind)) {
                let mut f = warn(
                    Rule::St2,
                    format!(
                        "{country} has exported {} ct of {country} origin in {year} (up to certificate {}), more than {what} = {} ct: stones of another origin may be leaving as {country} production (F1)",
                        ct(sum),
                        cert.number,
                        ct(limit)
                    ),
                    "ask the exporting authority for the production returns and import records behind these exports; update the policy's benchmarks when new KP figures are published",
                );
                f.certificate = Some(cert.number.to_string());
                out.push(Flag { date: cert.date_of_issue.clone(), finding: f });
            }
        };
        if let Some((prod, b)) = book.benchmark(&country, year, |b| b.production_pt) {
            check(
                "production",
                prod + imported,
                format!(
                    "its reported production ({} ct, {} {}) plus imports of that origin ({} ct)",
                    ct(prod),
                    b.year,
                    b.source,
                    ct(imported)
                ),
            );
        }
        if let Some((cap, b)) = book.benchmark(&country, year, |b| b.capacity_pt_high) {
            check(
                "capacity",
                cap,
                format!("its estimated production capacity ({} ct a year, {})", ct(cap), b.source),
            );
        }
    }
}

/// Volumes per (key, period label), with the period.
type Series = BTreeMap<(String, String), (Period, u64)>;

fn add(series: &mut Series, key: String, period: Period, v: u64) {
    series.entry((key, period.label.clone())).or_insert((period, 0)).1 += v;
}

fn jumps(book: &Book, out: &mut Vec<Flag>, what: &str, series: &Series, country_of: &dyn Fn(&str) -> String) {
    for ((key, _), (period, cur)) in series {
        let Some(prev_period) = period.previous() else { continue };
        let prev = series.get(&(key.clone(), prev_period.label.clone())).map(|x| x.1).unwrap_or(0);
        let cur = *cur;
        let t = book.thresholds(&country_of(key));
        if prev == 0 || cur == 0 || prev.max(cur) < t.jump_min_pt {
            continue;
        }
        let j = u128::from(100 + t.jump_pct);
        let (c, p) = (u128::from(cur), u128::from(prev));
        let up = c * 100 > p * j;
        let down = p * 100 > c * j;
        if !(up || down) {
            continue;
        }
        let mut f = warn(
            Rule::St3,
            format!(
                "{what} of {key}: {} ct in {} against {} ct in {} ({}% of the previous period; the threshold is a change of more than {}%) — the KP Data Anomaly Questionnaire trigger",
                ct(cur),
                period.label,
                ct(prev),
                prev_period.label,
                pct(cur, prev).unwrap_or(0),
                t.jump_pct
            ),
            "ask for the reason of the change (new mine, closure, stock release, smuggling); tune red_flags.jump_pct and jump_min_pt in the policy",
        );
        if let Ok(a) = key.parse() {
            f.actor = Some(a);
        }
        out.push(Flag { date: period.from.clone(), finding: f });
    }
}

fn st3(book: &Book, out: &mut Vec<Flag>) {
    // Exports per country and per exporter and quarter; production per country and half-year.
    let (mut by_country, mut by_exporter, mut production) = (Series::new(), Series::new(), Series::new());
    for c in &book.certificates {
        let cert = &c.certificate;
        let q = Period::quarter_of(&cert.date_of_issue);
        add(&mut by_country, cert.issuing_country.to_string(), q.clone(), cert.carats());
        add(&mut by_exporter, cert.exporter.actor.to_string(), q, cert.carats());
    }
    for e in &book.extractions {
        add(&mut production, e.country.clone(), Period::half_of(&e.time.date()), e.weight_pt);
    }
    jumps(book, out, "exports", &by_country, &|k| k.to_owned());
    jumps(book, out, "production", &production, &|k| k.to_owned());
    let country_of = |a: &str| a.parse().ok().and_then(|a| book.country_of(&a)).unwrap_or_default();
    jumps(book, out, "exports of exporter", &by_exporter, &country_of);
}

fn st4(book: &Book, out: &mut Vec<Flag>) {
    let mut flagged = Vec::new();
    // Every version's flagged sites: a later version that drops a site (a GV-3 loosening)
    // does not clear what was sourced from it while it was flagged.
    for (_, p) in book.policy_versions.values().flatten() {
        let t = Thresholds::of(p.red_flags.as_ref());
        for s in p.red_flags.iter().flat_map(|r| &r.flagged_sites) {
            flagged.push((s.clone(), day(&s.from) - i64::from(t.lookback_days)));
        }
    }
    let mut raised = BTreeSet::new();
    for (site, since) in &flagged {
        let mut hit = |actor: &kpledger_model::ActorId, time: &kpledger_model::Time, how: &str, parcel| {
            if day(&time.date()) < *since || !raised.insert((actor.clone(), site.site.clone())) {
                return;
            }
            let f = warn(
                Rule::St4,
                format!(
                    "{} ({actor}) {how} stones from {}, a red-flag location since {} ({}), on {} — within the {}-day look-back (OECD R1/R5)",
                    book.name_of(actor),
                    site.site,
                    site.from,
                    site.reason,
                    time.date(),
                    day(&site.from) - *since
                ),
                "apply enhanced due diligence (OECD Step 3) to this actor's supplies and its later sales",
            )
            .actor(actor)
            .parcel(parcel);
            out.push(Flag { date: time.date(), finding: f });
        };
        for e in book.extractions.iter().filter(|e| e.site == site.site) {
            hit(&e.miner, &e.time, "mined", e.parcel);
        }
        for t in book.transfers.iter().filter(|t| t.comp.keys().any(|s| s.site.as_ref() == Some(&site.site)))
        {
            hit(&t.offer.to, &t.time, "bought", t.offer.parcel);
        }
    }
}

fn st5(book: &Book, out: &mut Vec<Flag>) {
    // Foreign certificates of mixed origin from a hub that list a single country.
    for i in book.imports.iter().filter(|i| i.foreign) {
        let cert = &i.certificate;
        if cert.country_of_origin != OriginClaim::Mixed {
            continue;
        }
        let t = book.thresholds_at(&i.country, &i.time);
        let listed: BTreeSet<&Country> = cert.countries_of_origin.iter().collect();
        if !t.hubs.contains(&cert.issuing_country) || listed.len() != 1 {
            continue;
        }
        let only = listed.iter().next().map(|c| c.to_string()).unwrap_or_default();
        let mut f = warn(
            Rule::St5,
            format!(
                "import under {} certificate {} of mixed origin from the trading hub {}, while its documents give a single origin ({only}) — possible origin laundering (F4)",
                cert.issuing_country, cert.number, cert.issuing_country
            ),
            "ask the hub's authority for the original certificates of the stones; treat the shipment as of single origin in the statistics",
        );
        f.certificate = Some(cert.number.to_string());
        out.push(Flag { date: i.date.clone(), finding: f });
    }
    // Certificates of this ledger: mixed, from or through a hub, over single-origin stones.
    for c in book.certificates.iter().filter(|c| c.certificate.country_of_origin == OriginClaim::Mixed) {
        let cert = &c.certificate;
        let t = book.thresholds_at(cert.issuing_country.as_str(), &c.time);
        let origins: BTreeSet<&str> = c.comp.keys().map(|s| s.origin.as_str()).collect();
        let hub = std::iter::once(&cert.issuing_country).chain(&c.transits).find(|x| t.hubs.contains(x));
        let (Some(hub), 1) = (hub, origins.len()) else { continue };
        let only = origins.iter().next().copied().unwrap_or_default();
        if only == "mixed" {
            continue;
        }
        let mut f = warn(
            Rule::St5,
            format!(
                "certificate {} says mixed origin and goes from or through the trading hub {hub}, but every stone's recorded history leads to {only} — possible origin laundering (F4)",
                cert.number
            ),
            "certificates over stones of one provable origin name that origin (KP-5); ask the exporter why it declared mixed",
        );
        f.certificate = Some(cert.number.to_string());
        out.push(Flag { date: cert.date_of_issue.clone(), finding: f });
    }
}

fn sw1(book: &Book, out: &mut Vec<Flag>) {
    // Every movement in or out of a trader's stock, in ledger order.
    let mut moves: Vec<(u64, kpledger_model::ActorId, i128, Date)> = Vec::new();
    for e in &book.extractions {
        moves.push((e.seq, e.miner.clone(), i128::from(e.weight_pt), e.time.date()));
    }
    for t in &book.transfers {
        moves.push((t.seq, t.offer.signer.clone(), -i128::from(t.offer.weight_pt.0), t.time.date()));
        moves.push((t.seq, t.offer.to.clone(), i128::from(t.received_pt), t.time.date()));
    }
    for i in &book.imports {
        let pt: u64 = i.certificate.lines.iter().map(|l| l.carats_pt.0).sum();
        moves.push((i.seq, i.holder.clone(), i128::from(pt), i.date.clone()));
    }
    for c in &book.certificates {
        if let Some((seq, t)) = &c.exported {
            moves.push((
                *seq,
                c.certificate.exporter.actor.clone(),
                -i128::from(c.certificate.carats()),
                t.date(),
            ));
        }
    }
    moves.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)));
    let mut acquired: BTreeMap<kpledger_model::ActorId, (i128, i128)> = BTreeMap::new();
    let mut raised = BTreeSet::new();
    for (_, actor, delta, date) in moves {
        let e = acquired.entry(actor.clone()).or_default();
        if delta >= 0 {
            e.0 += delta;
            continue;
        }
        e.1 -= delta;
        let country = book.country_of(&actor).unwrap_or_default();
        let slack = i128::from(book.thresholds(&country).stock_slack_pt);
        if e.1 > e.0 + slack && raised.insert(actor.clone()) {
            let (inn, outt) = (u64::try_from(e.0).unwrap_or(0), u64::try_from(e.1).unwrap_or(0));
            let f = warn(
                Rule::Sw1,
                format!(
                    "{} ({actor}) has sold or exported {} ct but acquired only {} ct (mined, bought or imported): {} ct more left its stock than came in (stock balance MB-4; warranties issued exceed warranties received)",
                    book.name_of(&actor),
                    ct(outt),
                    ct(inn),
                    ct(outt - inn)
                ),
                "check the trader's stock register and weighing records: repeated small gains at merges and splits can hide added stones (F3, F6)",
            )
            .actor(&actor);
            out.push(Flag { date, finding: f });
        }
    }
}
