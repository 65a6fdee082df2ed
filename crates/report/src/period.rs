//! Reporting periods: a year, a half-year (production, Annex III), a quarter (trade), or
//! any range of days.

use std::fmt;

use kpledger_model::{Date, Time};

use crate::ReportError;

/// An inclusive range of days with a label, e.g. `2026-Q1` (2026-01-01 to 2026-03-31).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Period {
    /// `2026`, `2026-H1`, `2026-Q3`, or `FROM..TO`.
    pub label: String,
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
}

fn date(y: u32, m: u32, d: u32) -> Result<Date, ReportError> {
    Date::new(format!("{y:04}-{m:02}-{d:02}")).map_err(ReportError::Period)
}

fn last_day(y: u32, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        _ => 31,
    }
}

impl Period {
    /// Parses `2026`, `2026-H1`/`2026-H2`, or `2026-Q1`..`2026-Q4`.
    pub fn parse(s: &str) -> Result<Period, ReportError> {
        let bad = || {
            ReportError::Period(format!(
                "{s:?} is not a period: write a year (2026), a half-year (2026-H1) or a quarter (2026-Q3)"
            ))
        };
        let (y, rest) = match s.split_once('-') {
            Some((y, r)) => (y, Some(r)),
            None => (s, None),
        };
        if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let y: u32 = y.parse().map_err(|_| bad())?;
        let (m1, m2) = match rest {
            None => (1, 12),
            Some("H1") => (1, 6),
            Some("H2") => (7, 12),
            Some("Q1") => (1, 3),
            Some("Q2") => (4, 6),
            Some("Q3") => (7, 9),
            Some("Q4") => (10, 12),
            Some(_) => return Err(bad()),
        };
        Ok(Period { label: s.to_owned(), from: date(y, m1, 1)?, to: date(y, m2, last_day(y, m2))? })
    }

    /// A range of days, both inclusive.
    pub fn range(from: Date, to: Date) -> Result<Period, ReportError> {
        if to < from {
            return Err(ReportError::Period(format!("--to {to} is before --from {from}")));
        }
        Ok(Period { label: format!("{from}..{to}"), from, to })
    }

    /// The quarter containing `d`.
    pub fn quarter_of(d: &Date) -> Period {
        let (y, m) = ym(d);
        let q = (m - 1) / 3 + 1;
        Period::parse(&format!("{y:04}-Q{q}")).unwrap_or_else(|_| Period::whole(d, d))
    }

    /// The half-year containing `d`.
    pub fn half_of(d: &Date) -> Period {
        let (y, m) = ym(d);
        let h = if m <= 6 { 1 } else { 2 };
        Period::parse(&format!("{y:04}-H{h}")).unwrap_or_else(|_| Period::whole(d, d))
    }

    /// The period of the same kind just before this one (a quarter before a quarter, a
    /// half-year before a half-year, a year before a year; a range of the same length
    /// ending the day before).
    pub fn previous(&self) -> Option<Period> {
        let (y, _) = ym(&self.from);
        let prev = |s: String| Period::parse(&s).ok();
        match self.label.get(4..) {
            Some("") => prev(format!("{:04}", y.checked_sub(1)?)),
            Some("-H1") => prev(format!("{:04}-H2", y.checked_sub(1)?)),
            Some("-H2") => prev(format!("{y:04}-H1")),
            Some("-Q1") => prev(format!("{:04}-Q4", y.checked_sub(1)?)),
            Some(q) if q.starts_with("-Q") => {
                let n: u32 = q[2..].parse().ok()?;
                prev(format!("{y:04}-Q{}", n - 1))
            }
            _ => {
                let (a, b) = (day(&self.from), day(&self.to));
                let len = b - a + 1;
                let to = Time::from_unix((a - 1) * 86_400).date();
                let from = Time::from_unix((a - len) * 86_400).date();
                Some(Period { label: format!("{from}..{to}"), from, to })
            }
        }
    }

    fn whole(from: &Date, to: &Date) -> Period {
        Period { label: format!("{from}..{to}"), from: from.clone(), to: to.clone() }
    }

    /// Whether the day is inside.
    pub fn contains(&self, d: &Date) -> bool {
        *d >= self.from && *d <= self.to
    }

    /// Whether the time's day is inside.
    pub fn contains_time(&self, t: &Time) -> bool {
        self.contains(&t.date())
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.label.contains("..") {
            write!(f, "{} to {}", self.from, self.to)
        } else {
            write!(f, "{} ({} to {})", self.label, self.from, self.to)
        }
    }
}

fn ym(d: &Date) -> (u32, u32) {
    let s = d.as_str();
    (s[..4].parse().unwrap_or(0), s[5..7].parse().unwrap_or(1))
}

/// Days since 1970-01-01.
pub(crate) fn day(d: &Date) -> i64 {
    Time::new(format!("{d}T00:00:00Z")).map(|t| t.unix() / 86_400).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_step_back() {
        let q = Period::parse("2026-Q3").unwrap();
        assert_eq!((q.from.as_str(), q.to.as_str()), ("2026-07-01", "2026-09-30"));
        assert_eq!(q.previous().unwrap().label, "2026-Q2");
        assert_eq!(Period::parse("2026-Q1").unwrap().previous().unwrap().label, "2025-Q4");
        let h = Period::parse("2024-H1").unwrap();
        assert_eq!(h.to.as_str(), "2024-06-30");
        assert_eq!(h.previous().unwrap().label, "2023-H2");
        assert_eq!(Period::parse("2026").unwrap().previous().unwrap().label, "2025");
        let r = Period::range(Date::new("2026-03-01").unwrap(), Date::new("2026-03-10").unwrap()).unwrap();
        let p = r.previous().unwrap();
        assert_eq!((p.from.as_str(), p.to.as_str()), ("2026-02-19", "2026-02-28"));
        for bad in ["2026-Q5", "26-Q1", "2026-H", "Q1"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }
}
