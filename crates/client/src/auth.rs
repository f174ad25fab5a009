//! Signing in and out, and the caller's own account: profile, password and
//! sessions.

use crate::{Client, Result};
use reqwest::Method;
use roster_proto::{
    ChangePasswordRequest, LoginRequest, LoginResponse, MeResponse, SessionView,
    SetPasswordRequest, UpdateMeRequest, UserView,
};

impl Client {
    /// `POST /api/v1/auth/login`.
    pub async fn login(&self, body: &LoginRequest) -> Result<LoginResponse> {
        self.post(&["auth", "login"], body).await
    }

    /// `POST /api/v1/auth/logout`: ends the current session.
    pub async fn logout(&self) -> Result<()> {
        self.call(Method::POST, &["auth", "logout"])
            .send_empty()
            .await
    }

    /// `GET /api/v1/me`.
    pub async fn me(&self) -> Result<MeResponse> {
        self.get(&["me"]).await
    }

    /// `PATCH /api/v1/me`: renames your own account (needs a sign-in
    /// session, not an API token).
    pub async fn update_me(&self, body: &UpdateMeRequest) -> Result<UserView> {
        self.patch(&["me"], body).await
    }

    /// `POST /api/v1/me/password`.
    pub async fn change_password(&self, body: &ChangePasswordRequest) -> Result<()> {
        self.call(Method::POST, &["me", "password"])
            .json(body)
            .send_empty()
            .await
    }

    /// `GET /api/v1/me/sessions`.
    pub async fn sessions(&self) -> Result<Vec<SessionView>> {
        self.get(&["me", "sessions"]).await
    }

    /// `DELETE /api/v1/me/sessions/{id}`.
    pub async fn revoke_session(&self, id: i64) -> Result<()> {
        self.delete(&["me", "sessions", &id.to_string()]).await
    }

    /// `POST /api/v1/password-links/{token}`: sets the password with the
    /// one-time link of a welcome email. Needs no sign-in; the link works
    /// once (`404 invalid_link` after) and ends the user's sessions.
    pub async fn set_password_with_link(
        &self,
        token: &str,
        body: &SetPasswordRequest,
    ) -> Result<()> {
        self.call(Method::POST, &["password-links", token])
            .json(body)
            .send_empty()
            .await
    }
}
