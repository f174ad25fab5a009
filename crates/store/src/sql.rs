//! What every query shares: typed values bound to `$N` placeholders, one
//! way to run a statement and read its rows, the column types that rows
//! read through, and a small builder for statements whose WHERE clause
//! depends on filters. Placeholders are numbered `$N`, which both engines
//! take.

use crate::{Conn, Result, StoreError};
use roster_domain::{
    GroupId, InvitationId, InvitationStatus, MemberStatus, MembershipId, OrgId, RequestId,
    RequestStatus, ResourceId, RuleId, SessionId, Timestamp, TokenId, UserId,
};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, FromRow};
use std::borrow::Cow;

type AnyQuery<'a> = Query<'a, Any, AnyArguments<'a>>;

/// A value for one placeholder, as the column holds it.
pub(crate) enum Bind<'a> {
    I64(i64),
    NullI64(Option<i64>),
    Text(Cow<'a, str>),
    NullText(Option<&'a str>),
}

impl<'a> Bind<'a> {
    fn onto<'q>(self, q: AnyQuery<'q>) -> AnyQuery<'q>
    where
        'a: 'q,
    {
        match self {
            Bind::I64(v) => q.bind(v),
            Bind::NullI64(v) => q.bind(v),
            Bind::Text(Cow::Borrowed(v)) => q.bind(v),
            Bind::Text(Cow::Owned(v)) => q.bind(v),
            Bind::NullText(v) => q.bind(v),
        }
    }
}

/// A value a statement can bind: numbers, text, flags (as 0/1), statuses
/// (as their names), and typed ids and times (as the numbers their
/// columns hold).
pub(crate) trait Param<'a> {
    fn param(self) -> Bind<'a>;
}

impl<'a> Param<'a> for i64 {
    fn param(self) -> Bind<'a> {
        Bind::I64(self)
    }
}

impl<'a> Param<'a> for bool {
    fn param(self) -> Bind<'a> {
        Bind::I64(i64::from(self))
    }
}

impl<'a> Param<'a> for &'a str {
    fn param(self) -> Bind<'a> {
        Bind::Text(Cow::Borrowed(self))
    }
}

impl<'a> Param<'a> for &'a String {
    fn param(self) -> Bind<'a> {
        Bind::Text(Cow::Borrowed(self))
    }
}

impl<'a> Param<'a> for String {
    fn param(self) -> Bind<'a> {
        Bind::Text(Cow::Owned(self))
    }
}

impl<'a> Param<'a> for Option<i64> {
    fn param(self) -> Bind<'a> {
        Bind::NullI64(self)
    }
}

impl<'a> Param<'a> for Option<&'a str> {
    fn param(self) -> Bind<'a> {
        Bind::NullText(self)
    }
}

macro_rules! params_as {
    (numbers: $($t:ty => $get:ident),*; names: $($s:ty),*) => {
        $(
            impl<'a> Param<'a> for $t {
                fn param(self) -> Bind<'a> {
                    Bind::I64(self.$get())
                }
            }
            impl<'a> Param<'a> for Option<$t> {
                fn param(self) -> Bind<'a> {
                    Bind::NullI64(self.map(<$t>::$get))
                }
            }
        )*
        $(
            impl<'a> Param<'a> for $s {
                fn param(self) -> Bind<'a> {
                    Bind::Text(Cow::Borrowed(self.as_str()))
                }
            }
        )*
    };
}

params_as!(
    numbers: OrgId => get, UserId => get, MembershipId => get, SessionId => get,
        InvitationId => get, RequestId => get, ResourceId => get, RuleId => get,
        GroupId => get, TokenId => get, Timestamp => unix_ms;
    names: MemberStatus, InvitationStatus, RequestStatus
);

/// The values of a statement's placeholders, in order: a tuple of
/// [`Param`]s, or `()` for none.
pub(crate) trait Params<'a> {
    fn onto<'q>(self, q: AnyQuery<'q>) -> AnyQuery<'q>
    where
        'a: 'q;
}

impl<'a> Params<'a> for () {
    fn onto<'q>(self, q: AnyQuery<'q>) -> AnyQuery<'q>
    where
        'a: 'q,
    {
        q
    }
}

macro_rules! params_tuple {
    () => {};
    ($first:ident $($rest:ident)*) => {
        impl<'a, $first: Param<'a>, $($rest: Param<'a>),*> Params<'a> for ($first, $($rest,)*) {
            #[allow(non_snake_case)]
            fn onto<'q>(self, q: AnyQuery<'q>) -> AnyQuery<'q>
            where
                'a: 'q,
            {
                let ($first, $($rest,)*) = self;
                let q = $first.param().onto(q);
                $(let q = $rest.param().onto(q);)*
                q
            }
        }
        params_tuple!($($rest)*);
    };
}

params_tuple!(A B C D E F G H I J K L M N O P);

fn statement<'q, 'a: 'q>(text: &'q str, params: impl Params<'a>) -> AnyQuery<'q> {
    params.onto(sqlx::query(text))
}

/// What a statement's rows are read into: a record type or a tuple.
pub(crate) trait Record: for<'r> FromRow<'r, AnyRow> {}

impl<T> Record for T where T: for<'r> FromRow<'r, AnyRow> {}

/// Runs a statement.
pub(crate) async fn exec<'a>(conn: &mut Conn, text: &str, params: impl Params<'a>) -> Result<()> {
    exec_count(conn, text, params).await?;
    Ok(())
}

/// Runs a statement; returns how many rows it changed.
pub(crate) async fn exec_count<'a>(
    conn: &mut Conn,
    text: &str,
    params: impl Params<'a>,
) -> Result<u64> {
    Ok(statement(text, params).execute(conn).await?.rows_affected())
}

/// Runs a statement that must change a row: when it changes none, the
/// record was not there ([`StoreError::NotFound`]).
pub(crate) async fn exec_one<'a>(
    conn: &mut Conn,
    text: &str,
    params: impl Params<'a>,
) -> Result<()> {
    match exec_count(conn, text, params).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// The row a statement returns; none is [`StoreError::NotFound`].
pub(crate) async fn fetch_one<'a, T: Record>(
    conn: &mut Conn,
    text: &str,
    params: impl Params<'a>,
) -> Result<T> {
    let row = statement(text, params).fetch_one(conn).await?;
    Ok(T::from_row(&row)?)
}

/// The row a statement returns, if any.
pub(crate) async fn fetch_optional<'a, T: Record>(
    conn: &mut Conn,
    text: &str,
    params: impl Params<'a>,
) -> Result<Option<T>> {
    match statement(text, params).fetch_optional(conn).await? {
        Some(row) => Ok(Some(T::from_row(&row)?)),
        None => Ok(None),
    }
}

/// Every row a statement returns.
pub(crate) async fn fetch_all<'a, T: Record>(
    conn: &mut Conn,
    text: &str,
    params: impl Params<'a>,
) -> Result<Vec<T>> {
    rows(statement(text, params).fetch_all(conn).await?)
}

/// Every row of `SELECT columns from`, ordered by `order` when it is not
/// empty, for reads of many thousands of rows (an org's access state).
///
/// On SQLite the driver's work per row (a hop between its worker thread
/// and the task, and a copy into the `Any` row) costs several times the
/// query itself, so the database hands the rows over in one value: a JSON
/// array of arrays (`json_group_array`), read here with serde. `T` reads
/// one inner array: a tuple, or a struct deriving `Deserialize` whose
/// fields are declared in the order of `columns`. On PostgreSQL building
/// that JSON costs more than the rows do, so they are read one by one.
/// docs/decisions.md, "Reading an org's access state", has the figures.
pub(crate) async fn fetch_bulk<'a, T>(
    conn: &mut Conn,
    engine: crate::Engine,
    columns: &str,
    from: &str,
    order: &str,
    params: impl Params<'a>,
) -> Result<Vec<T>>
where
    T: Record + serde::de::DeserializeOwned,
{
    let order = if order.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {order}")
    };
    match engine {
        crate::Engine::Sqlite => {
            let text = format!("SELECT json_group_array(json_array({columns}){order}) {from}");
            let json: String = scalar(conn, &text, params).await?;
            serde_json::from_str(&json)
                .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))
        }
        crate::Engine::Postgres => {
            fetch_all(conn, &format!("SELECT {columns} {from}{order}"), params).await
        }
    }
}

/// The engine's function from a character to its code point (SQLite's
/// `unicode`, PostgreSQL's `ascii` in a UTF-8 database): `{{CODE_POINT}}`
/// in migrations and the name search's grams.
pub(crate) fn code_point_function(engine: crate::Engine) -> &'static str {
    match engine {
        crate::Engine::Sqlite => "unicode",
        crate::Engine::Postgres => "ascii",
    }
}

/// Whether `conn` is a PostgreSQL connection (else SQLite), for the few
/// statements that differ between the engines.
pub(crate) fn is_postgres(conn: &Conn) -> bool {
    conn.backend_name() == "PostgreSQL"
}

/// The one value of the row a statement returns (a count, a new row's
/// id); no row is [`StoreError::NotFound`].
pub(crate) async fn scalar<'a, T>(conn: &mut Conn, text: &str, params: impl Params<'a>) -> Result<T>
where
    (T,): Record,
{
    let (value,) = fetch_one(conn, text, params).await?;
    Ok(value)
}

fn rows<T: Record>(rows: Vec<AnyRow>) -> Result<Vec<T>> {
    rows.iter()
        .map(|r| T::from_row(r).map_err(StoreError::from))
        .collect()
}

/// A statement built piece by piece, for WHERE clauses that depend on
/// filters. It numbers its placeholders itself.
pub(crate) struct Sql<'a> {
    text: String,
    binds: Vec<Bind<'a>>,
}

impl<'a> Sql<'a> {
    pub(crate) fn new(text: &str) -> Self {
        Sql {
            text: text.to_owned(),
            binds: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub(crate) fn bind(&mut self, value: impl Param<'a>) -> &mut Self {
        self.binds.push(value.param());
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }

    /// Appends ` AND {condition}$N` when there is a value: a filter that
    /// was given. `condition` ends with its operator, as in `"a.role = "`.
    pub(crate) fn and<P: Param<'a>>(&mut self, condition: &str, value: Option<P>) -> &mut Self {
        if let Some(value) = value {
            self.push(" AND ").push(condition).bind(value);
        }
        self
    }

    /// Appends `($1, $2, ...)`, a placeholder for each of `values`.
    pub(crate) fn in_list<P: Param<'a>>(
        &mut self,
        values: impl IntoIterator<Item = P>,
    ) -> &mut Self {
        self.push("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self.push(")")
    }

    /// Runs the statement.
    pub(crate) async fn execute(self, conn: &mut Conn) -> Result<()> {
        let q = self
            .binds
            .into_iter()
            .fold(sqlx::query(&self.text), |q, b| b.onto(q));
        q.execute(conn).await?;
        Ok(())
    }

    /// Every row the statement returns.
    pub(crate) async fn fetch_all<T: Record>(self, conn: &mut Conn) -> Result<Vec<T>> {
        let q = self
            .binds
            .into_iter()
            .fold(sqlx::query(&self.text), |q, b| b.onto(q));
        rows(q.fetch_all(conn).await?)
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern used with `ESCAPE '\'`.
pub(crate) fn like_contains(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Declares a column type that a row reads through, on the way to a typed
/// field: `#[sqlx(try_from = "crate::sql::Flag")]` on a `bool`, for
/// example. `$raw` is what the column holds.
macro_rules! column_type {
    ($(#[$doc:meta])* $name:ident($inner:ty) from $raw:ty, $read:expr) => {
        $(#[$doc])*
        pub(crate) struct $name(pub $inner);

        impl sqlx::Type<Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <$raw as sqlx::Type<Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <$raw as sqlx::Type<Any>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, Any> for $name {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let read: fn(_) -> $inner = $read;
                Ok($name(read(<$raw as sqlx::Decode<'r, Any>>::decode(value)?)))
            }
        }
    };
}

column_type!(
    /// A nullable BIGINT column, read as a step towards a typed `Option`
    /// such as `Option<UserId>` or `Option<Timestamp>`.
    Nullable(Option<i64>) from Option<i64>, |v| v
);

column_type!(
    /// A 0/1 flag column, read as a `bool`.
    Flag(bool) from i64, |v| v != 0
);

column_type!(
    /// A comma-separated TEXT column, read as its non-empty items.
    CommaList(Vec<String>) from String, |v: String| v
        .split(',')
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
);

column_type!(
    /// A nullable TEXT column of names joined by line feeds (what
    /// `string_agg(name, '<line feed>' ORDER BY name)` makes), read as the names; NULL is
    /// none. For names that cannot hold a line feed (group names).
    LineList(Vec<String>) from Option<String>, |v: Option<String>| v
        .map(|joined| joined.split('\n').map(str::to_owned).collect())
        .unwrap_or_default()
);

impl From<LineList> for Vec<String> {
    fn from(v: LineList) -> Self {
        v.0
    }
}

impl From<Flag> for bool {
    fn from(v: Flag) -> Self {
        v.0
    }
}

impl From<CommaList> for Vec<String> {
    fn from(v: CommaList) -> Self {
        v.0
    }
}

macro_rules! nullable_into {
    ($($t:ty),*) => {$(
        impl From<Nullable> for Option<$t> {
            fn from(v: Nullable) -> Self {
                v.0.map(<$t>::from)
            }
        }
    )*};
}

nullable_into!(OrgId, UserId, ResourceId, GroupId, Timestamp);
