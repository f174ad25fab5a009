//! The web console: server-rendered pages for every administrator flow,
//! served by the same binary at `/`.
//!
//! Architecture invariants:
//! - Pages are askama templates (`crates/server/templates/console/`),
//!   checked at compile time; no JavaScript build step. `console.js` only
//!   enhances (copy buttons, the org switcher); every flow works without it.
//! - Handlers call the same [`crate::app`] use cases as the API, so every
//!   permission is checked on the server: a hidden button is a courtesy,
//!   the use case is the rule.
//! - Every form that changes something goes through [`session::Posted`]: a
//!   signed-in session, a same-origin request and the session's CSRF token,
//!   compared in constant time.
//! - Secrets shown once (temporary passwords, invitation links) are
//!   rendered in the response to the form that made them, never put in a
//!   URL, a cookie or a later page.

mod access;
mod audit;
pub(crate) mod auth;
pub(crate) mod flash;
pub(crate) mod frame;
mod groups;
mod invitations;
mod members;
mod mfa;
mod passkeys;
mod profile;
mod roles;
mod scim;
pub(crate) mod session;
mod settings;
mod sso;
pub(crate) mod text;
mod tokens;
mod webhooks;

use crate::http::AppState;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

/// The Content-Security-Policy of every console page: nothing but this
/// origin's own stylesheet and script, no inline code, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(auth::home))
        .route("/login", get(auth::login_page).post(auth::login_submit))
        .route("/logout", post(auth::logout))
        .route(
            "/password",
            get(auth::password_page).post(auth::password_submit),
        )
        .route("/signup", get(auth::signup_page).post(auth::signup_submit))
        .route("/switch", get(auth::switch))
        .route("/profile", get(profile::show_page))
        .route("/profile/password", post(profile::change_password))
        .route("/profile/name", post(profile::rename))
        .route("/profile/sessions/{id}/end", post(profile::end_session))
        .route(
            "/login/mfa",
            get(mfa::second_factor_page).post(mfa::second_factor_submit),
        )
        .route("/profile/mfa", get(mfa::page))
        .route("/profile/mfa/start", post(mfa::start))
        .route("/profile/mfa/confirm", post(mfa::confirm))
        .route("/profile/mfa/recovery-codes", post(mfa::regenerate))
        .route("/profile/mfa/remove", post(mfa::remove))
        .route("/profile/passkeys", post(passkeys::add))
        .route("/profile/passkeys/options", post(passkeys::options))
        .route("/profile/passkeys/{id}/rename", post(passkeys::rename))
        .route("/profile/passkeys/{id}/remove", post(passkeys::remove))
        .route("/login/passkey", post(passkeys::sign_in))
        .route("/login/mfa/passkey", post(passkeys::second_factor))
        .route(
            "/password-reset",
            get(mfa::forgot_page).post(mfa::forgot_submit),
        )
        .route("/login/link", get(mfa::magic_page).post(mfa::magic_submit))
        .route(
            "/login/link/{token}",
            get(mfa::link_page).post(mfa::link_submit),
        )
        .route("/o/{org}/users/{id}/mfa-reset", post(mfa::admin_reset))
        .route(
            "/o/{org}/users/{id}/password-reset",
            post(mfa::admin_password_reset),
        )
        .route("/o/{org}", get(auth::org_home))
        .route("/o/{org}/users", get(members::list))
        .route(
            "/o/{org}/users/new",
            get(members::new_form).post(members::create),
        )
        .route(
            "/o/{org}/users/{id}",
            get(members::edit_form).post(members::update),
        )
        .route(
            "/o/{org}/users/{id}/remove",
            get(members::remove_confirm).post(members::remove),
        )
        .route(
            "/o/{org}/leave",
            get(members::leave_confirm).post(members::leave),
        )
        .route("/o/{org}/approvals", get(members::approvals))
        .route("/o/{org}/approvals/{id}/approve", post(members::approve))
        .route("/o/{org}/approvals/{id}/reject", post(members::reject))
        .route("/o/{org}/invitations", get(invitations::list))
        .route("/o/{org}/invitations/rows", post(invitations::rows))
        .route("/o/{org}/invitations/send", post(invitations::send))
        .route(
            "/o/{org}/invitations/{id}/resend",
            post(invitations::resend),
        )
        .route(
            "/o/{org}/invitations/{id}/delete",
            post(invitations::delete),
        )
        .route("/o/{org}/roles", get(roles::list).post(roles::create))
        .route(
            "/o/{org}/roles/{name}",
            get(roles::edit).post(roles::update),
        )
        .route("/o/{org}/roles/{name}/delete", post(roles::delete))
        .route("/o/{org}/groups", get(groups::list).post(groups::create))
        .route("/o/{org}/groups/{name}", get(groups::show))
        .route("/o/{org}/groups/{name}/members", post(groups::add_member))
        .route(
            "/o/{org}/groups/{name}/members/{id}/remove",
            post(groups::remove_member),
        )
        .route("/o/{org}/groups/{name}/rename", post(groups::rename))
        .route(
            "/o/{org}/groups/{name}/delete",
            get(groups::delete_confirm).post(groups::delete),
        )
        .route("/o/{org}/access", get(access::overview))
        .route("/o/{org}/access/rules", post(access::grant))
        .route("/o/{org}/access/rules/{id}/revoke", post(access::revoke))
        .route("/o/{org}/access/resources", post(access::create_resource))
        .route(
            "/o/{org}/access/resources/edit",
            get(access::edit_resource).post(access::update_resource),
        )
        .route(
            "/o/{org}/access/resources/delete",
            post(access::delete_resource),
        )
        .route("/o/{org}/requests", get(access::requests).post(access::ask))
        .route("/o/{org}/requests/{id}/{decision}", post(access::decide))
        .route("/o/{org}/audit", get(audit::list))
        .route("/o/{org}/audit/export", get(audit::export))
        .route(
            "/o/{org}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route("/o/{org}/webhooks/{id}/test", post(webhooks::test))
        .route("/o/{org}/webhooks/{id}/delete", post(webhooks::delete))
        .route("/o/{org}/scim", get(scim::list).post(scim::create))
        .route("/o/{org}/scim/{id}/revoke", post(scim::revoke))
        .route("/o/{org}/tokens", get(tokens::list).post(tokens::create))
        .route("/o/{org}/tokens/{id}/revoke", post(tokens::revoke))
        .route(
            "/o/{org}/service-accounts",
            get(tokens::service_accounts).post(tokens::create_service_account),
        )
        .route(
            "/o/{org}/service-accounts/{id}/tokens",
            post(tokens::create_service_account_token),
        )
        .route(
            "/o/{org}/service-accounts/{id}/delete",
            get(tokens::delete_confirm).post(tokens::delete),
        )
        .route(
            "/o/{org}/settings",
            get(settings::show_page).post(settings::update),
        )
        .route("/o/{org}/settings/slack", post(settings::connect_slack))
        .route(
            "/o/{org}/settings/slack/disconnect",
            post(settings::disconnect_slack),
        )
        .route("/login/sso", get(sso::login))
        .route("/o/{org}/settings/sso", get(sso::page).post(sso::create))
        .route("/o/{org}/settings/sso/mappings", post(sso::mappings))
        .route("/o/{org}/settings/sso/{id}", post(sso::update))
        .route("/o/{org}/settings/sso/{id}/test", post(sso::test))
        .route("/o/{org}/settings/sso/{id}/delete", post(sso::delete))
        .route("/assets/console.css", get(css))
        .route("/assets/console.js", get(js))
}

/// Headers on every console response: the strict CSP, no framing, no
/// sniffing, no referrer to other origins, and no caching of pages that
/// may show a secret once.
pub(crate) async fn security_headers(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/assets/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !is_asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../../assets/console.css"),
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../../assets/console.js"),
    )
}
