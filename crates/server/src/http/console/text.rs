//! How the console writes values: times, query strings, form fields, and
//! the `next` paths it follows.

pub use crate::http::extract::split_list as list;

/// `next` if it is a path on this site, else `/`.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// How much of a time the console shows (always UTC).
#[derive(Debug, Clone, Copy)]
pub enum Precision {
    Day = 10,
    Minute = 16,
    Second = 19,
}

/// An RFC 3339 time as the console shows it: `2026-12-01`,
/// `2026-12-01 18:05` or `2026-12-01 18:05:07`.
pub fn when(rfc: &str, precision: Precision) -> String {
    rfc.replace('T', " ")
        .chars()
        .take(precision as usize)
        .collect()
}

/// A time as the console shows it.
pub fn when_ms(t: roster_domain::Timestamp, precision: Precision) -> String {
    when(&crate::app::time::rfc3339(t), precision)
}

/// `path` with the non-blank `pairs` as its query string.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (*k, v.trim()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    match serde_html_form::to_string(&kept) {
        Ok(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_owned(),
    }
}

/// A form field that may be blank: `None` when blank.
pub fn given(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(
            local_path(Some("/o/acme/users?role=admin")),
            "/o/acme/users?role=admin"
        );
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/a\r\nSet-Cookie: x")), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn query_strings_leave_blank_fields_out() {
        assert_eq!(
            with_query("/o/a/users", &[("role", " "), ("team", "")]),
            "/o/a/users"
        );
        assert_eq!(
            with_query(
                "/o/a/users",
                &[("role", "admin"), ("team", ""), ("name", "a b&c")]
            ),
            "/o/a/users?role=admin&name=a+b%26c"
        );
    }

    #[test]
    fn times_are_cut_to_what_a_page_shows() {
        let t = "2026-12-01T18:05:07.123Z";
        assert_eq!(when(t, Precision::Day), "2026-12-01");
        assert_eq!(when(t, Precision::Minute), "2026-12-01 18:05");
        assert_eq!(when(t, Precision::Second), "2026-12-01 18:05:07");
    }
}
