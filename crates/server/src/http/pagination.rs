//! `limit` and opaque `cursor` parameters shared by every list.

use super::error::{ApiError, Code};
use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// Checks `limit`: 1 to 200, default 50.
pub fn limit(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::request(
            StatusCode::BAD_REQUEST,
            Code::InvalidQuery,
            format!("limit is between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// Encodes a keyset position. `kind` keeps cursors of one list from being
/// used on another.
pub fn encode(kind: &str, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

pub fn decode(kind: &str, cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(c) = cursor else { return Ok(None) };
    let bad = || {
        ApiError::request(
            StatusCode::BAD_REQUEST,
            Code::InvalidCursor,
            "the cursor is not one this list gave out",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(c).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (k, id) = text.split_once(':').ok_or_else(bad)?;
    if k != kind {
        return Err(bad());
    }
    id.parse().map(Some).map_err(|_| bad())
}

/// The next cursor, given a page fetched with `limit + 1` rows: drops the
/// extra row and returns the position after the last one kept.
pub fn next<T>(
    rows: &mut Vec<T>,
    limit: i64,
    kind: &str,
    id: impl Fn(&T) -> i64,
) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|r| encode(kind, id(r)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_foreign_or_forged_ones() {
        let c = encode("m", 42);
        assert_eq!(decode("m", Some(&c)).unwrap(), Some(42));
        assert!(decode("a", Some(&c)).is_err());
        assert!(decode("m", Some("!!")).is_err());
        assert!(decode("m", Some(&URL_SAFE_NO_PAD.encode("m:x"))).is_err());
        assert_eq!(decode("m", None).unwrap(), None);
    }

    #[test]
    fn next_cursor_only_when_more_rows_exist() {
        let mut rows = vec![1, 2, 3];
        assert_eq!(next(&mut rows, 2, "m", |r| *r), Some(encode("m", 2)));
        assert_eq!(rows, [1, 2]);
        let mut rows = vec![1, 2];
        assert_eq!(next(&mut rows, 2, "m", |r| *r), None);
    }
}
