//! Signing in and out, and the caller's own account: profile, password and
//! sessions.

use crate::{Client, Result};
use reqwest::Method;
use roster_proto::{ChangePasswordRequest, LoginRequest, LoginResponse, MeResponse, SessionView};

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
}
