//! Invitations: pending links to join an org, locked to one email.

use crate::sql::{exec_one, fetch_one, fetch_optional, like_contains, Params, Sql};
use crate::{Conn, Result, StoreError};
use roster_domain::{InvitationId, InvitationStatus, OrgId, Timestamp, UserId};
use sqlx::FromRow;

/// An invitation as stored. `status` is the stored one; see
/// [`Invitation::effective_status`] for what it is at a given time.
#[derive(Debug, Clone, FromRow)]
pub struct Invitation {
    #[sqlx(try_from = "i64")]
    pub id: InvitationId,
    #[sqlx(try_from = "i64")]
    pub org_id: OrgId,
    pub email: String,
    pub role: String,
    pub team: String,
    /// Comma-separated group names.
    pub groups: String,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub inviter_id: Option<UserId>,
    pub inviter_email: String,
    pub inviter_name: String,
    #[sqlx(try_from = "String")]
    pub status: InvitationStatus,
    #[sqlx(try_from = "i64")]
    pub created_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub updated_at: Timestamp,
    #[sqlx(try_from = "i64")]
    pub expires_at: Timestamp,
    #[sqlx(try_from = "crate::sql::Nullable")]
    pub accepted_at: Option<Timestamp>,
}

impl Invitation {
    /// `pending` past its expiry reads as `expired`.
    pub fn effective_status(&self, now: Timestamp) -> InvitationStatus {
        self.status.effective(self.expires_at, now)
    }

    pub fn group_list(&self) -> Vec<String> {
        self.groups
            .split(',')
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

const COLUMNS: &str =
    "id, org_id, email, role, team, groups, inviter_id, inviter_email, inviter_name, \
    status, created_at, updated_at, expires_at, accepted_at";

pub struct NewInvitation<'a> {
    pub org_id: OrgId,
    pub email: &'a str,
    pub role: &'a str,
    pub team: &'a str,
    pub groups: &'a [String],
    pub inviter_id: UserId,
    pub inviter_email: &'a str,
    pub inviter_name: &'a str,
    pub token_hash: &'a str,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

/// Inserts a pending invitation. A pending one for the same org and email
/// is [`crate::StoreError::Conflict`].
pub async fn insert(conn: &mut Conn, i: NewInvitation<'_>) -> Result<Invitation> {
    fetch_one(
        conn,
        &format!(
            "INSERT INTO invitations (org_id, email, role, team, groups, inviter_id, inviter_email, inviter_name,
                token_hash, status, created_at, updated_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $10, $11) RETURNING {COLUMNS}"
        ),
        (
            i.org_id,
            i.email,
            i.role,
            i.team,
            i.groups.join(","),
            i.inviter_id,
            i.inviter_email,
            i.inviter_name,
            i.token_hash,
            i.now,
            i.expires_at,
        ),
    )
    .await
}

/// The invitation that matches `condition`, a WHERE clause on
/// `invitations` whose placeholders `params` fill; each caller's condition
/// picks one row at most.
async fn find_where<'a>(
    conn: &mut Conn,
    condition: &str,
    params: impl Params<'a>,
) -> Result<Option<Invitation>> {
    let text = format!("SELECT {COLUMNS} FROM invitations WHERE {condition}");
    fetch_optional(conn, &text, params).await
}

/// The pending (possibly expired) invitation of an org for an email.
pub async fn find_pending(
    conn: &mut Conn,
    org_id: OrgId,
    email: &str,
) -> Result<Option<Invitation>> {
    let condition = "org_id = $1 AND email = $2 AND status = 'pending'";
    find_where(conn, condition, (org_id, email)).await
}

pub async fn get(conn: &mut Conn, org_id: OrgId, id: InvitationId) -> Result<Invitation> {
    find_where(conn, "org_id = $1 AND id = $2", (org_id, id))
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn find_by_token(conn: &mut Conn, token_hash: &str) -> Result<Option<Invitation>> {
    find_where(conn, "token_hash = $1", (token_hash,)).await
}

/// Sets a status (and `updated_at`).
pub async fn set_status(
    conn: &mut Conn,
    id: InvitationId,
    status: InvitationStatus,
    now: Timestamp,
) -> Result<()> {
    exec_one(
        conn,
        "UPDATE invitations SET status = $1, updated_at = $2 WHERE id = $3",
        (status, now, id),
    )
    .await
}

/// Gives an invitation a new token and expiry and makes it pending again;
/// the old token stops working at once.
pub async fn renew(
    conn: &mut Conn,
    id: InvitationId,
    token_hash: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<Invitation> {
    let text = format!(
        "UPDATE invitations SET token_hash = $1, status = 'pending', expires_at = $2, updated_at = $3
         WHERE id = $4 RETURNING {COLUMNS}"
    );
    fetch_one(conn, &text, (token_hash, expires_at, now, id)).await
}

/// Marks the invitation with this token accepted if it is pending and
/// unexpired. One statement, so of two concurrent accepts exactly one
/// gets the row.
pub async fn accept(
    conn: &mut Conn,
    token_hash: &str,
    user_id: UserId,
    now: Timestamp,
) -> Result<Option<Invitation>> {
    let text = format!(
        "UPDATE invitations SET status = 'accepted', accepted_at = $1, accepted_user_id = $2, updated_at = $1
         WHERE token_hash = $3 AND status = 'pending' AND expires_at > $1 RETURNING {COLUMNS}"
    );
    fetch_optional(conn, &text, (now, user_id, token_hash)).await
}

/// Filters of the invitation list and of the invitation rows of the team
/// list.
#[derive(Debug, Default, Clone)]
pub struct InvitationFilter {
    /// The effective status (a pending invitation past its expiry is
    /// expired).
    pub status: Option<InvitationStatus>,
    pub role: Option<String>,
    /// Lower-cased substring.
    pub email: Option<String>,
    pub team: Option<String>,
    pub group: Option<String>,
}

/// A page of an org's invitations in creation order, after id `after`.
pub async fn list(
    conn: &mut Conn,
    org_id: OrgId,
    f: &InvitationFilter,
    now: Timestamp,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Invitation>> {
    let mut q = Sql::new(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE org_id = "
    ));
    q.bind(org_id).and("id > ", after);
    match f.status {
        Some(InvitationStatus::Pending) => {
            q.push(" AND status = 'pending' AND expires_at > ")
                .bind(now);
        }
        Some(InvitationStatus::Expired) => {
            q.push(" AND (status = 'expired' OR (status = 'pending' AND expires_at <= ")
                .bind(now)
                .push("))");
        }
        other => {
            q.and("status = ", other);
        }
    }
    q.and("role = ", f.role.as_ref())
        .and("team = ", f.team.as_ref());
    let email = f.email.as_deref().map(like_contains);
    let group = f.group.as_ref().map(|g| like_contains(&format!(",{g},")));
    for (column, pattern) in [("email", email), ("(',' || groups || ',')", group)] {
        if pattern.is_some() {
            q.and(&format!("{column} LIKE "), pattern)
                .push(" ESCAPE '\\'");
        }
    }
    q.push(" ORDER BY id LIMIT ").bind(limit);
    q.fetch_all(conn).await
}
