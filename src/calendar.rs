//! Proleptic Gregorian dates as days since 1970-01-01 (Arrow's Date32) and
//! timestamps as microseconds (Arrow's Timestamp(Microsecond)): parsed from spec
//! literals, formatted for labels. Shared by the parser, the checker and the reference.

/// Days since 1970-01-01 for a valid `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<i32> {
    let y: i64 = s.get(0..4)?.parse().ok()?;
    let m: u32 = s.get(5..7)?.parse().ok()?;
    let d: u32 = s.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d) as i32)
}

pub fn parse_timestamp(s: &str) -> Option<i64> {
    let days = parse_date(s.get(0..10)?)? as i64;
    let rest = s.get(11..)?;
    let mut parts = rest.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let mi: i64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next().map(|x| x.parse().ok()).unwrap_or(Some(0.0))?;
    if h > 23 || mi > 59 || !(0.0..60.0).contains(&sec) {
        return None;
    }
    Some(days * 86_400_000_000 + (h * 3600 + mi * 60) * 1_000_000 + (sec * 1e6).round() as i64)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) for days since 1970-01-01.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m as u32, d as u32)
}

/// A calendar period of `over DATE by UNIT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeriodUnit {
    Year,
    Quarter,
    Month,
    /// ISO 8601 weeks: Monday to Sunday, numbered in the ISO week-year.
    Week,
}

impl PeriodUnit {
    pub fn parse(s: &str) -> Option<PeriodUnit> {
        Some(match s {
            "year" => PeriodUnit::Year,
            "quarter" => PeriodUnit::Quarter,
            "month" => PeriodUnit::Month,
            "week" => PeriodUnit::Week,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            PeriodUnit::Year => "year",
            PeriodUnit::Quarter => "quarter",
            PeriodUnit::Month => "month",
            PeriodUnit::Week => "week",
        }
    }

    /// The period a day falls in, as a number that grows by one per period (so the
    /// periods between two are the integers between their numbers).
    pub fn ordinal(self, days: i64) -> i64 {
        let (y, m, _) = civil(days);
        match self {
            PeriodUnit::Year => y,
            PeriodUnit::Quarter => y * 4 + (m as i64 - 1) / 3,
            PeriodUnit::Month => y * 12 + m as i64 - 1,
            // Weeks since the Monday 1969-12-29 (1970-01-01 was a Thursday).
            PeriodUnit::Week => (days + 3).div_euclid(7),
        }
    }

    /// The period number of a label as `label` writes it (`2024-Q1`); `None` for
    /// anything else, such as `2024-Q5` or `2023-W53` (2023 has 52 ISO weeks).
    pub fn parse_label(self, s: &str) -> Option<i64> {
        let year: i64 = s.get(0..4)?.parse().ok()?;
        let rest = s.get(4..)?;
        let ord = match self {
            PeriodUnit::Year if rest.is_empty() => year,
            PeriodUnit::Quarter => year * 4 + rest.strip_prefix("-Q")?.parse::<i64>().ok()? - 1,
            PeriodUnit::Month => year * 12 + rest.strip_prefix('-')?.parse::<i64>().ok()? - 1,
            PeriodUnit::Week => {
                let w: i64 = rest.strip_prefix("-W")?.parse().ok()?;
                PeriodUnit::Week.ordinal(days_from_civil(year, 1, 4)) + w - 1
            }
            _ => return None,
        };
        (self.label(ord) == s).then_some(ord)
    }

    /// The label of a period number: `2024`, `2024-Q1`, `2024-03`, `2024-W09`.
    pub fn label(self, ord: i64) -> String {
        match self {
            PeriodUnit::Year => format!("{ord:04}"),
            PeriodUnit::Quarter => format!("{:04}-Q{}", ord.div_euclid(4), ord.rem_euclid(4) + 1),
            PeriodUnit::Month => format!("{:04}-{:02}", ord.div_euclid(12), ord.rem_euclid(12) + 1),
            PeriodUnit::Week => {
                // The ISO year is the year of the week's Thursday.
                let thursday = ord * 7;
                let (y, _, _) = civil(thursday);
                let jan4 = days_from_civil(y, 1, 4);
                let week1 = PeriodUnit::Week.ordinal(jan4);
                format!("{y:04}-W{:02}", ord - week1 + 1)
            }
        }
    }
}

/// `YYYY-MM-DD` for days since 1970-01-01.
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil(days as i64);
    format!("{y:04}-{m:02}-{d:02}")
}
