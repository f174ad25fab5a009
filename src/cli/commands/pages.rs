//! Following `next_cursor` for `--all`: one loop for every list.

use anyhow::bail;
use roster_client::ClientError;
use roster_proto::{MemberPage, Page};
use std::collections::HashSet;

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
