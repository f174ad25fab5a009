//! The lists of the API, page by page: the paging flags applied to a
//! query, `next_cursor` followed for `--all` (one loop for every list), and
//! a page printed as a table or as JSON.

use super::Context;
use crate::cli::output::{self, Row};
use crate::cli::PageArgs;
use anyhow::bail;
use roster_client::{
    AccessRuleQuery, AuditQuery, Client, ClientError, InvitationQuery, MemberQuery, ResourceQuery,
    ReviewRequestQuery,
};
use roster_proto::{MemberPage, MemberView, Page};
use serde::Serialize;
use std::collections::HashSet;

/// A list query that can ask for a page size and the page at a cursor.
pub trait Cursor {
    fn set_page(&mut self, limit: Option<u32>, cursor: Option<String>);
}

macro_rules! cursor_queries {
    ($($query:ty),* $(,)?) => {$(
        impl Cursor for $query {
            fn set_page(&mut self, limit: Option<u32>, cursor: Option<String>) {
                self.limit = limit;
                self.cursor = cursor;
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

/// The flags of a `list` command: filters that make its query, and the
/// paging flags.
pub trait ListArgs {
    type Query: Cursor;

    /// The query of the filters (from the first page) and the paging flags.
    fn into_query(self) -> (Self::Query, PageArgs);
}

/// Implements [`ListArgs`] for the flags of a list command whose filters
/// bear the names of its query's fields, and whose paging flags are `page`.
macro_rules! list_args {
    ($args:ty => $query:ident { $($filter:ident),* $(,)? }) => {
        impl $crate::cli::commands::pages::ListArgs for $args {
            type Query = $query;

            fn into_query(self) -> ($query, $crate::cli::PageArgs) {
                let query = $query {
                    $($filter: self.$filter,)*
                    ..Default::default()
                };
                (query, self.page)
            }
        }
    };
}
pub(crate) use list_args;

/// A page of a list, as the API returns it.
pub trait Paged {
    type Item;

    fn items(&self) -> &[Self::Item];

    fn next_cursor(&self) -> Option<&str>;

    /// Warnings about the org the list is of, printed after it.
    fn warnings(&self) -> &[String] {
        &[]
    }

    fn take_next_cursor(&mut self) -> Option<String>;

    /// Takes the next page's rows.
    fn absorb(&mut self, next: Self);
}

impl<T> Paged for Page<T> {
    type Item = T;

    fn items(&self) -> &[T] {
        &self.items
    }

    fn next_cursor(&self) -> Option<&str> {
        self.next_cursor.as_deref()
    }

    fn take_next_cursor(&mut self) -> Option<String> {
        self.next_cursor.take()
    }

    fn absorb(&mut self, next: Self) {
        self.items.extend(next.items);
        self.next_cursor = next.next_cursor;
    }
}

impl Paged for MemberPage {
    type Item = MemberView;

    fn items(&self) -> &[MemberView] {
        &self.items
    }

    fn next_cursor(&self) -> Option<&str> {
        self.next_cursor.as_deref()
    }

    fn warnings(&self) -> &[String] {
        &self.warnings
    }

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

/// `roster <noun> list`: the page (with `--all`, every page) that `args`
/// ask for, fetched with `fetch(client, org, query)` and printed as a table
/// of `what` or as JSON.
pub async fn list<A: ListArgs, P>(
    ctx: &Context,
    args: A,
    what: &str,
    fetch: impl AsyncFn(&Client, &str, &A::Query) -> Result<P, ClientError>,
) -> anyhow::Result<()>
where
    P: Paged + Serialize,
    P::Item: Row,
{
    let (org, client) = ctx.org_client().await?;
    let (query, flags) = args.into_query();
    let page = fetch_pages(query, flags, async |q| fetch(&client, &org, q).await).await?;
    ctx.show(&page, |page| {
        output::rows(page.items())?;
        note_more(what, page.next_cursor());
        Ok(())
    })?;
    for w in page.warnings() {
        output::warn(w);
    }
    Ok(())
}

/// Fetches every page after `page` with `fetch(cursor)` and folds them into
/// it. A cursor seen twice stops with an error rather than looping.
async fn fetch_all<P: Paged>(
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

/// The page that `flags` ask for with `query` (`--limit`, `--cursor`)
/// and, with `--all`, every page after it.
async fn fetch_pages<Q: Cursor, P: Paged>(
    mut query: Q,
    flags: PageArgs,
    fetch: impl AsyncFn(&Q) -> Result<P, ClientError>,
) -> anyhow::Result<P> {
    query.set_page(flags.limit, flags.cursor);
    let page = fetch(&query).await?;
    if !flags.all {
        return Ok(page);
    }
    fetch_all(page, async |cursor| {
        query.set_page(flags.limit, Some(cursor));
        fetch(&query).await
    })
    .await
}

/// Tells how to get the rest of a list (of `what`) when there is more.
fn note_more(what: &str, next_cursor: Option<&str>) {
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
