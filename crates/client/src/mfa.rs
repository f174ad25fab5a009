//! Second factors, the second factor a session owes, password recovery,
//! magic links, and an admin's reset of a member's credentials.

use crate::{Client, Result};
use reqwest::Method;
use roster_proto::{
    EmailRequest, LoginResponse, MfaStatusView, RecoveryCodesView, RemoveMfaRequest,
    SecondFactorRequest, TotpCodeRequest, TotpEnrolmentView,
};

impl Client {
    /// `GET /api/v1/me/mfa`.
    pub async fn mfa_status(&self) -> Result<MfaStatusView> {
        self.get(&["me", "mfa"]).await
    }

    /// `POST /api/v1/me/mfa/totp`: starts enrolling an authenticator app.
    pub async fn start_totp(&self) -> Result<TotpEnrolmentView> {
        self.call(Method::POST, &["me", "mfa", "totp"]).send().await
    }

    /// `POST /api/v1/me/mfa/totp/confirm`: the recovery codes, once.
    pub async fn confirm_totp(&self, code: &str) -> Result<RecoveryCodesView> {
        let body = TotpCodeRequest { code: code.into() };
        self.post(&["me", "mfa", "totp", "confirm"], &body).await
    }

    /// `POST /api/v1/me/mfa/recovery-codes`: a new set; the old one stops
    /// working.
    pub async fn regenerate_recovery_codes(&self, code: &str) -> Result<RecoveryCodesView> {
        let body = TotpCodeRequest { code: code.into() };
        self.post(&["me", "mfa", "recovery-codes"], &body).await
    }

    /// `DELETE /api/v1/me/mfa`.
    pub async fn remove_mfa(&self, body: &RemoveMfaRequest) -> Result<()> {
        self.call(Method::DELETE, &["me", "mfa"])
            .json(body)
            .send_empty()
            .await
    }

    /// `POST /api/v1/auth/mfa`: the second factor this session owes.
    pub async fn give_second_factor(&self, body: &SecondFactorRequest) -> Result<()> {
        self.call(Method::POST, &["auth", "mfa"])
            .json(body)
            .send_empty()
            .await
    }

    /// `POST /api/v1/auth/password-reset`: always accepted.
    pub async fn request_password_reset(&self, email: &str) -> Result<()> {
        let body = EmailRequest {
            email: email.into(),
        };
        self.call(Method::POST, &["auth", "password-reset"])
            .json(&body)
            .send_empty()
            .await
    }

    /// `POST /api/v1/auth/magic-link`: always accepted.
    pub async fn request_magic_link(&self, email: &str) -> Result<()> {
        let body = EmailRequest {
            email: email.into(),
        };
        self.call(Method::POST, &["auth", "magic-link"])
            .json(&body)
            .send_empty()
            .await
    }

    /// `POST /api/v1/auth/magic-link/{token}`: signs in with the link.
    pub async fn sign_in_with_link(&self, token: &str) -> Result<LoginResponse> {
        self.call(Method::POST, &["auth", "magic-link", token])
            .send()
            .await
    }

    /// `POST /api/v1/orgs/{org}/users/{id}/mfa-reset`.
    pub async fn reset_member_mfa(&self, org: &str, id: i64) -> Result<()> {
        self.call(
            Method::POST,
            &["orgs", org, "users", &id.to_string(), "mfa-reset"],
        )
        .send_empty()
        .await
    }

    /// `POST /api/v1/orgs/{org}/users/{id}/password-reset`.
    pub async fn send_member_password_reset(&self, org: &str, id: i64) -> Result<()> {
        self.call(
            Method::POST,
            &["orgs", org, "users", &id.to_string(), "password-reset"],
        )
        .send_empty()
        .await
    }
}
