//! Numbers for people: carats, dollars and dollars per carat, from integers only.

/// Groups the digits of `n` by thousands: `1234567` → `1,234,567`.
pub(crate) fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Points as carats: `123456` → `1,234.56`.
pub(crate) fn ct(pt: u64) -> String {
    format!("{}.{:02}", group(pt / 100), pt % 100)
}

/// Cents as dollars: `123456` → `$1,234.56`.
pub(crate) fn usd(cents: u64) -> String {
    format!("${}.{:02}", group(cents / 100), cents % 100)
}

/// Cents per carat as dollars per carat: `28900` → `$289.00`.
pub(crate) fn usd_per_ct(cents_per_ct: u64) -> String {
    usd(cents_per_ct)
}

/// Value per carat in cents, rounded half up: `cents / (pt / 100)`. None for no carats.
pub(crate) fn per_ct(cents: u64, pt: u64) -> Option<u64> {
    if pt == 0 {
        return None;
    }
    let (c, p) = (u128::from(cents), u128::from(pt));
    u64::try_from((c * 200 + p) / (2 * p)).ok()
}

/// `part` as a whole percentage of `whole`, rounded half up.
pub(crate) fn pct(part: u64, whole: u64) -> Option<u64> {
    if whole == 0 {
        return None;
    }
    let (a, b) = (u128::from(part), u128::from(whole));
    u64::try_from((a * 200 + b) / (2 * b)).ok()
}

/// Rows under headers, in columns as wide as their widest cell, two spaces apart, each line
/// trimmed at its end. With `numbers_right`, a cell that reads as a number or an amount (it
/// starts with a digit or `$` and is not a date) is right-aligned; everything else is
/// left-aligned. The command line's tables and the statistics' text are written by it.
pub fn text_table(headers: &[&str], rows: &[Vec<String>], numbers_right: bool) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let numeric = |c: &str| c.starts_with(|ch: char| ch.is_ascii_digit() || ch == '$') && !c.contains('-');
    let line = |cells: Vec<&str>, right: &dyn Fn(&str) -> bool| {
        let mut s = String::new();
        for (c, w) in cells.iter().zip(&widths) {
            if right(c) {
                s.push_str(&format!("{c:>w$}  "));
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(headers.to_vec(), &|_| false);
    out.push_str(&line(
        widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().iter().map(String::as_str).collect(),
        &|_| false,
    ));
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect(), &|c| numbers_right && numeric(c)));
    }
    out
}

/// [`text_table`] with one row per item, as `row` writes it.
pub fn text_table_of<T>(
    headers: &[&str],
    items: impl IntoIterator<Item = T>,
    numbers_right: bool,
    row: impl FnMut(T) -> Vec<String>,
) -> String {
    text_table(headers, &items.into_iter().map(row).collect::<Vec<_>>(), numbers_right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_rounding() {
        assert_eq!(ct(123_456), "1,234.56");
        assert_eq!(usd(5), "$0.05");
        // $159,000,000 for 549,000 ct is $289.6174…/ct: 28962 cents.
        assert_eq!(per_ct(15_900_000_000, 54_900_000), Some(28_962));
        // Half a cent rounds up.
        assert_eq!(per_ct(1, 200), Some(1));
        assert_eq!(per_ct(1, 0), None);
        assert_eq!(pct(1, 3), Some(33));
        assert_eq!(pct(2, 3), Some(67));
    }
}
