//! What a country's policy may say, and what a new version of it changes: the documented
//! bounds of every value the rules use (GV-1), the suspensions only the root authority may
//! lift (GV-2), and the changes that loosen a rule (GV-3). Pure functions over two policies;
//! `docs/SPEC.md` §10.3 lists the same bounds.

use kpledger_model::{Policy, Role, ValuationRule};

/// Largest weighing tolerance, in points per parcel involved (1.00 ct).
pub(crate) const MAX_TOLERANCE_PT: u64 = 100;
/// Largest export duty, in basis points (100 %).
pub(crate) const MAX_DUTY_BP: u32 = 10_000;
/// Days an import confirmation may be awaited: 1 to 365.
pub(crate) const CONFIRMATION_DAYS: (u32, u32) = (1, 365);
/// Largest area of an artisanal licence, in m² (1 km²).
pub(crate) const MAX_ARTISANAL_AREA_M2: u64 = 1_000_000;
/// ST-1's band around a benchmark, in percent: the low end 1..=100, the high end 100..=1000.
pub(crate) const VALUE_BAND_PCT: ([u32; 2], [u32; 2]) = ([1, 100], [100, 1_000]);
/// ST-3's jump: 1 to 1000 percent.
pub(crate) const JUMP_PCT: (u32, u32) = (1, 1_000);
/// ST-3's smallest compared volume, in points (at most 100,000 ct).
pub(crate) const MAX_JUMP_MIN_PT: u64 = 10_000_000;
/// ST-4's look-back, in days (at most ten years).
pub(crate) const MAX_LOOKBACK_DAYS: u32 = 3_650;
/// SW-1's slack, in points (at most 100 ct).
pub(crate) const MAX_STOCK_SLACK_PT: u64 = 10_000;

// The red-flag defaults (SPEC §10.5), for comparing versions that leave a value out.
const BAND: [u32; 2] = [33, 300];
const JUMP: u32 = 100;
const JUMP_MIN: u64 = 10_000;
const LOOKBACK: u32 = 365;

/// Every value of `p` outside its documented bounds, in words (GV-1).
pub(crate) fn out_of_bounds(p: &Policy) -> Vec<String> {
    let mut out = Vec::new();
    if p.tolerance_pt > MAX_TOLERANCE_PT {
        out.push(format!("tolerance_pt {} is above {MAX_TOLERANCE_PT} (1.00 ct per parcel)", p.tolerance_pt));
    }
    if p.export_duty_bp > MAX_DUTY_BP {
        out.push(format!("export_duty_bp {} is above {MAX_DUTY_BP} (100 %)", p.export_duty_bp));
    }
    let (lo, hi) = CONFIRMATION_DAYS;
    if !(lo..=hi).contains(&p.import_confirmation_days) {
        out.push(format!(
            "import_confirmation_days {} is not within {lo}..={hi}",
            p.import_confirmation_days
        ));
    }
    if let Some(a) = p.max_artisanal_area_m2
        && a > MAX_ARTISANAL_AREA_M2
    {
        out.push(format!("max_artisanal_area_m2 {a} is above {MAX_ARTISANAL_AREA_M2}"));
    }
    for [s, b] in &p.allowed_transfers {
        if !s.is_trade() || !b.is_trade() {
            out.push(format!("allowed_transfers names {s}→{b}; only traders (miner, collector, broker, dealer, exporter) buy and sell"));
        }
    }
    for s in p.suspensions.iter().filter(|s| s.from > s.to) {
        out.push(format!("the suspension of {} ends ({}) before it starts ({})", s.country, s.to, s.from));
    }
    for r in p.cert_number_ranges.iter().filter(|r| r.min > r.max) {
        out.push(format!(
            "the {} certificate number range ends ({}) below its start ({})",
            r.year, r.max, r.min
        ));
    }
    if let Some(f) = &p.red_flags {
        if let Some([low, high]) = f.value_band_pct {
            let ([l0, l1], [h0, h1]) = VALUE_BAND_PCT;
            if !(l0..=l1).contains(&low) || !(h0..=h1).contains(&high) {
                out.push(format!(
                    "red_flags.value_band_pct [{low}, {high}] is not within [{l0}..={l1}, {h0}..={h1}]"
                ));
            }
        }
        if let Some(j) = f.jump_pct
            && !(JUMP_PCT.0..=JUMP_PCT.1).contains(&j)
        {
            out.push(format!("red_flags.jump_pct {j} is not within {}..={}", JUMP_PCT.0, JUMP_PCT.1));
        }
        if let Some(m) = f.jump_min_pt
            && m > MAX_JUMP_MIN_PT
        {
            out.push(format!("red_flags.jump_min_pt {m} is above {MAX_JUMP_MIN_PT}"));
        }
        if let Some(d) = f.lookback_days
            && d > MAX_LOOKBACK_DAYS
        {
            out.push(format!("red_flags.lookback_days {d} is above {MAX_LOOKBACK_DAYS}"));
        }
        if let Some(s) = f.stock_slack_pt
            && s > MAX_STOCK_SLACK_PT
        {
            out.push(format!("red_flags.stock_slack_pt {s} is above {MAX_STOCK_SLACK_PT}"));
        }
    }
    out
}

/// The suspensions of `old` that `new` no longer covers (lifted, or shortened), in words.
pub(crate) fn lifted_suspensions(old: &Policy, new: &Policy) -> Vec<String> {
    old.suspensions
        .iter()
        .filter(|s| {
            !new.suspensions.iter().any(|n| n.country == s.country && n.from <= s.from && n.to >= s.to)
        })
        .map(|s| format!("the suspension of {} from {} to {} ({})", s.country, s.from, s.to, s.reason))
        .collect()
}

/// What `new` loosens against `old`, in words (GV-3).
pub(crate) fn loosenings(old: &Policy, new: &Policy) -> Vec<String> {
    let mut out = Vec::new();
    if new.tolerance_pt > old.tolerance_pt {
        out.push(format!("weighing tolerance {} → {} points", old.tolerance_pt, new.tolerance_pt));
    }
    if new.export_duty_bp < old.export_duty_bp {
        out.push(format!("export duty {} → {} basis points", old.export_duty_bp, new.export_duty_bp));
    }
    if old.valuation_rule == ValuationRule::HighestOfThree && new.valuation_rule == ValuationRule::Government
    {
        out.push("valuation rule highest_of_three → government".into());
    }
    let new_participants: Vec<String> =
        new.participants.iter().filter(|c| !old.participants.contains(c)).map(ToString::to_string).collect();
    if !new_participants.is_empty() {
        out.push(format!("new Participants {}", new_participants.join(", ")));
    }
    for s in lifted_suspensions(old, new) {
        out.push(format!("{s} is lifted or shortened"));
    }
    let new_edges: Vec<String> = new
        .allowed_transfers
        .iter()
        .filter(|e| !old.allowed_transfers.contains(e))
        .map(|[a, b]: &[Role; 2]| format!("{a}→{b}"))
        .collect();
    if !new_edges.is_empty() {
        out.push(format!("new allowed transfers {}", new_edges.join(", ")));
    }
    for (what, o, n) in [
        ("mining", &old.mining_licence_classes, &new.mining_licence_classes),
        ("exporter", &old.exporter_licence_classes, &new.exporter_licence_classes),
    ] {
        let added: Vec<&str> = n.iter().filter(|c| !o.contains(c)).map(|c| c.as_str()).collect();
        if !added.is_empty() {
            out.push(format!("new {what} licence classes {}", added.join(", ")));
        }
    }
    match (old.max_artisanal_area_m2, new.max_artisanal_area_m2) {
        (Some(o), Some(n)) if n > o => out.push(format!("artisanal area {o} → {n} m²")),
        (Some(o), None) => out.push(format!("artisanal area limit {o} m² removed")),
        _ => {}
    }
    if new.import_confirmation_days > old.import_confirmation_days {
        out.push(format!(
            "import confirmation days {} → {}",
            old.import_confirmation_days, new.import_confirmation_days
        ));
    }
    if old.conclusive_evidence_of_origin && !new.conclusive_evidence_of_origin {
        out.push("conclusive evidence of origin no longer required".into());
    }
    for r in &old.cert_number_ranges {
        match new.cert_number_ranges.iter().find(|n| n.year == r.year) {
            Some(n) if n.min <= r.min && n.max >= r.max && (n.min, n.max) != (r.min, r.max) => {
                out.push(format!(
                    "{} certificate numbers {}..{} → {}..{}",
                    r.year, r.min, r.max, n.min, n.max
                ));
            }
            None => out.push(format!("{} certificate number range removed", r.year)),
            _ => {}
        }
    }
    let (of, nf) = (old.red_flags.clone().unwrap_or_default(), new.red_flags.clone().unwrap_or_default());
    let (ob, nb) = (of.value_band_pct.unwrap_or(BAND), nf.value_band_pct.unwrap_or(BAND));
    if nb[0] < ob[0] || nb[1] > ob[1] {
        out.push(format!("value band [{}, {}] → [{}, {}] %", ob[0], ob[1], nb[0], nb[1]));
    }
    if nf.jump_pct.unwrap_or(JUMP) > of.jump_pct.unwrap_or(JUMP) {
        out.push(format!("jump {} → {} %", of.jump_pct.unwrap_or(JUMP), nf.jump_pct.unwrap_or(JUMP)));
    }
    if nf.jump_min_pt.unwrap_or(JUMP_MIN) > of.jump_min_pt.unwrap_or(JUMP_MIN) {
        out.push(format!(
            "smallest compared volume {} → {} points",
            of.jump_min_pt.unwrap_or(JUMP_MIN),
            nf.jump_min_pt.unwrap_or(JUMP_MIN)
        ));
    }
    if nf.lookback_days.unwrap_or(LOOKBACK) < of.lookback_days.unwrap_or(LOOKBACK) {
        out.push(format!(
            "look-back {} → {} days",
            of.lookback_days.unwrap_or(LOOKBACK),
            nf.lookback_days.unwrap_or(LOOKBACK)
        ));
    }
    if nf.stock_slack_pt.unwrap_or(0) > of.stock_slack_pt.unwrap_or(0) {
        out.push(format!(
            "stock slack {} → {} points",
            of.stock_slack_pt.unwrap_or(0),
            nf.stock_slack_pt.unwrap_or(0)
        ));
    }
    let unflagged: Vec<String> = of
        .flagged_sites
        .iter()
        .filter(|f| !nf.flagged_sites.iter().any(|n| n.site == f.site && n.from <= f.from))
        .map(|f| f.site.to_string())
        .collect();
    if !unflagged.is_empty() {
        out.push(format!("red-flag sites no longer flagged: {}", unflagged.join(", ")));
    }
    let hubs: Vec<String> =
        of.trading_hubs.iter().filter(|h| !nf.trading_hubs.contains(h)).map(ToString::to_string).collect();
    if !hubs.is_empty() {
        out.push(format!("trading hubs no longer watched: {}", hubs.join(", ")));
    }
    out
}
