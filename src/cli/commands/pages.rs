//! Following `next_cursor` for `--all`: one loop for every list.

use crate::cli::output;
use anyhow::bail;
use roster_client::{
    AccessRuleQuery, AuditQuery, ClientError, InvitationQuery, MemberQuery, ResourceQuery,
    ReviewRequestQuery,
};
use roster_proto::{MemberPage, Page};
use std::collections::HashSet;

/// A list query that can ask for the page at a cursor.
pub trait Cursor {
    fn set_cursor(&mut self, cursor: String);
}

macro_rules! cursor_queries {
    ($($query:ty),* $(,)?) => {$(
        impl Cursor for $query {
            fn set_cursor(&mut self, cursor: String) {
                self.cursor = Some(cursor);
            }
        }
    )*};
}

cursor_queries!(
    MemberQuery,
    AuditQuery,
    InvitationQuery,
    ResourceQuery,
    AccessRuleQuery,
    ReviewRequestQuery,
);

/// A page of a list that can take the next page's rows.
pub trait Paged {
    fn take_next_cursor(&mut self) -> Option<String>;
    fn absorb(&mut self, next: Self);
}

impl<T> Paged for Page<T> {
    fn take_next_cursor(&mut self) -> Option<String> {
        self.next_cursor.take()
    }

    fn absorb(&mut self, next: Self) {
        self.items.extend(next.items);
        self.next_cursor = next.next_cursor;
    }
}

impl Paged for MemberPage {
    fn take_next_cursor(&mut self) -> Option<String> {
        self.next_cursor.take()
    }

    fn absorb(&mut self, next: Self) {
        self.items.extend(next.items);
        self.next_cursor = next.next_cursor;
        for w in next.warnings {
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
    }
}

/// Fetches every page after `page` with `fetch(cursor)` and folds them into
/// it. A cursor seen twice stops with an error rather than looping.
pub async fn fetch_all<P: Paged>(
    mut page: P,
    mut fetch: impl AsyncFnMut(String) -> Result<P, ClientError>,
) -> anyhow::Result<P> {
    let mut seen = HashSet::new();
    while let Some(cursor) = page.take_next_cursor() {
        if !seen.insert(cursor.clone()) {
            bail!("the server returned the same cursor twice; stopping");
        }
        let next = fetch(cursor).await?;
        page.absorb(next);
    }
    Ok(page)
}

/// The page `query` asks for (`fetch(&query)`) and, with `all`, every page
/// after it.
pub async fn list<Q: Cursor, P: Paged>(
    mut query: Q,
    all: bool,
    fetch: impl AsyncFn(&Q) -> Result<P, ClientError>,
) -> anyhow::Result<P> {
    let page = fetch(&query).await?;
    if !all {
        return Ok(page);
    }
    fetch_all(page, async |cursor| {
        query.set_cursor(cursor);
        fetch(&query).await
    })
    .await
}

/// Tells how to get the rest of a list (of `what`) when there is more.
pub fn note_more(what: &str, next_cursor: Option<&str>) {
    if let Some(cursor) = next_cursor {
        output::note(format!(
            "More {what}: pass --cursor {cursor} for the next page, or --all for every page."
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn page(items: &[i32], next: Option<&str>) -> Page<i32> {
        Page {
            items: items.to_vec(),
            next_cursor: next.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn follows_cursors_to_the_last_page() {
        let all = fetch_all(page(&[1], Some("a")), async |c: String| {
            Ok(if c == "a" {
                page(&[2], Some("b"))
            } else {
                page(&[3], None)
            })
        })
        .await
        .unwrap();
        assert_eq!(all.items, [1, 2, 3]);
        assert!(all.next_cursor.is_none());
    }

    #[tokio::test]
    async fn a_repeated_cursor_stops_the_loop() {
        let err = fetch_all(page(&[1], Some("a")), async |_c: String| {
            Ok(page(&[2], Some("a")))
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("same cursor twice"));
    }
}
