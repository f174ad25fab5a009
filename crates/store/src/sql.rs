//! A small builder for statements whose WHERE clause depends on filters.
//! It numbers `$N` placeholders itself, so the text is valid on both
//! engines.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

pub(crate) enum Bind {
    I64(i64),
    Text(String),
}

pub(crate) struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
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
    pub(crate) fn bind(&mut self, value: Bind) -> &mut Self {
        self.binds.push(value);
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }

    /// Appends a placeholder for a number, a typed id or a time.
    pub(crate) fn bind_i64(&mut self, v: impl AsColumn<Column = i64>) -> &mut Self {
        self.bind(Bind::I64(v.col()))
    }

    pub(crate) fn bind_text(&mut self, v: impl Into<String>) -> &mut Self {
        self.bind(Bind::Text(v.into()))
    }

    pub(crate) fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for b in &self.binds {
            q = match b {
                Bind::I64(v) => q.bind(*v),
                Bind::Text(v) => q.bind(v.as_str()),
            };
        }
        q
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

/// A nullable BIGINT column, read as a step towards a typed `Option`: rows
/// name it with `#[sqlx(try_from = "crate::sql::Nullable")]` on fields such
/// as `Option<UserId>` or `Option<Timestamp>`.
pub(crate) struct Nullable(pub Option<i64>);

impl sqlx::Type<Any> for Nullable {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Any> for Nullable {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Nullable(<Option<i64> as sqlx::Decode<'r, Any>>::decode(
            value,
        )?))
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

nullable_into!(
    roster_domain::OrgId,
    roster_domain::UserId,
    roster_domain::ResourceId,
    roster_domain::GroupId,
    roster_domain::Timestamp
);

/// Binds typed ids and times as the numbers the columns hold.
pub(crate) trait AsColumn {
    type Column;
    fn col(self) -> Self::Column;
}

impl AsColumn for i64 {
    type Column = i64;
    fn col(self) -> i64 {
        self
    }
}

macro_rules! as_column {
    ($($t:ty => $get:ident),*) => {$(
        impl AsColumn for $t {
            type Column = i64;
            fn col(self) -> i64 {
                self.$get()
            }
        }
        impl AsColumn for Option<$t> {
            type Column = Option<i64>;
            fn col(self) -> Option<i64> {
                self.map(<$t>::$get)
            }
        }
    )*};
}

as_column!(
    roster_domain::OrgId => get,
    roster_domain::UserId => get,
    roster_domain::MembershipId => get,
    roster_domain::SessionId => get,
    roster_domain::InvitationId => get,
    roster_domain::RequestId => get,
    roster_domain::ResourceId => get,
    roster_domain::RuleId => get,
    roster_domain::GroupId => get,
    roster_domain::Timestamp => unix_ms
);
