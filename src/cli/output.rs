//! Printing results: plain tables and `key: value` blocks for people, the
//! API's JSON for scripts, and `warning: ...` lines on stderr.
//!
//! Everything for stdout goes through [`line`], which returns write errors
//! instead of panicking, so `roster users list | head -1` ends quietly.

use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;
use std::fmt::Display;
use std::io::{self, Write};

/// Writes one line to stdout.
pub fn line(text: impl Display) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()
}

/// Writes a `warning: ...` line to stderr.
pub fn warn(text: impl Display) {
    let _ = writeln!(io::stderr().lock(), "warning: {text}");
}

/// Writes a note (a hint, a confirmation that is not data) to stderr.
pub fn note(text: impl Display) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// Prints `value` as pretty JSON.
pub fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    line(text)?;
    Ok(())
}

/// A table with a header row, no borders and two spaces between columns:
/// easy to read and to `grep`/`awk`.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    for column in t.column_iter_mut() {
        column.set_padding((0, 2));
    }
    t
}

/// Prints a table without trailing blanks.
pub fn print_table(t: &Table) -> io::Result<()> {
    line(t.trim_fmt())
}

/// A value that lists show as one row of a table.
pub trait Row {
    /// The header of a table of these rows.
    const HEADER: &'static [&'static str];

    /// The row's cells, one per header column.
    fn cells(&self) -> Vec<String>;
}

/// Prints `items` as a table, one row each.
pub fn rows<R: Row>(items: &[R]) -> io::Result<()> {
    let mut t = table(R::HEADER);
    for item in items {
        t.add_row(item.cells());
    }
    print_table(&t)
}

/// Prints `label: value` lines with the values aligned.
pub fn fields(rows: &[(&str, String)]) -> io::Result<()> {
    let width = rows.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
    let mut out = io::stdout().lock();
    for (label, value) in rows {
        let label = format!("{label}:");
        writeln!(out, "{label:<width$}  {value}")?;
    }
    out.flush()
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM:SS` (UTC, fractions dropped);
/// anything else is shown as it is.
pub fn time(raw: &str) -> String {
    let b = raw.as_bytes();
    let shaped = b.len() >= 19
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        && b[13] == b':'
        && b[16] == b':'
        && raw.is_char_boundary(19);
    let utc = raw.ends_with('Z') || raw.ends_with('z') || raw.ends_with("+00:00");
    if shaped && utc {
        format!("{} {}", &raw[..10], &raw[11..19])
    } else {
        raw.to_string()
    }
}

/// An optional time, `-` when absent.
pub fn opt_time(raw: Option<&str>) -> String {
    raw.map(time).unwrap_or_else(|| "-".to_string())
}

/// A list as `a,b,c`, `-` when empty.
pub fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_string()
    } else {
        items.join(",")
    }
}

/// A text shown in a cell: `-` when empty.
pub fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_string()
    } else {
        text.to_string()
    }
}

pub fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// `1 member`, `3 members`: a count with its noun, plural unless one.
pub fn count(n: i64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Cuts `text` to at most `max` characters, marking the cut with `...`.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(3)).collect();
    format!("{kept}...")
}

/// A duration in seconds, with a friendlier unit when it divides evenly.
pub fn seconds(n: i64) -> String {
    match n {
        n if n > 0 && n % 86_400 == 0 => format!("{n}s ({}d)", n / 86_400),
        n if n > 0 && n % 3_600 == 0 => format!("{n}s ({}h)", n / 3_600),
        n => format!("{n}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_are_shortened() {
        assert_eq!(time("2025-11-23T14:58:03.123456Z"), "2025-11-23 14:58:03");
        assert_eq!(time("2025-11-23T14:58:03Z"), "2025-11-23 14:58:03");
        assert_eq!(
            time("2025-11-23T14:58:03+02:00"),
            "2025-11-23T14:58:03+02:00"
        );
        assert_eq!(time("yesterday"), "yesterday");
        assert_eq!(opt_time(None), "-");
    }

    #[test]
    fn tables_have_no_borders_or_trailing_blanks() {
        let mut t = table(&["ID", "NAME"]);
        t.add_row(vec!["1", "Michael Scott"]);
        t.add_row(vec!["22", "Pam"]);
        let text = t.trim_fmt();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines, vec!["ID  NAME", "1   Michael Scott", "22  Pam"]);
    }

    #[test]
    fn small_formatters() {
        assert_eq!(list(&[]), "-");
        assert_eq!(list(&["dev".into(), "support".into()]), "dev,support");
        assert_eq!(truncate("abcdef", 5), "ab...");
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(seconds(86_400), "86400s (1d)");
        assert_eq!(seconds(7_200), "7200s (2h)");
        assert_eq!(seconds(90), "90s");
        assert_eq!(count(1, "approval"), "1 approval");
        assert_eq!(count(0, "rule"), "0 rules");
    }
}
