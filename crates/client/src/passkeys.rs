//! Passkeys: registering, listing, renaming and removing them, and
//! signing in with one. The browser (or another WebAuthn client) answers
//! the challenges; these calls carry the JSON.

use crate::{Client, Result};
use reqwest::Method;
use roster_proto::{
    LoginResponse, PasskeyAssertion, PasskeyChallengeView, PasskeyRegistrationRequest, PasskeyView,
    RemoveMfaRequest, RenamePasskeyRequest,
};

impl Client {
    /// `GET /api/v1/me/passkeys`.
    pub async fn passkeys(&self) -> Result<Vec<PasskeyView>> {
        self.get(&["me", "passkeys"]).await
    }

    /// `POST /api/v1/me/passkeys/registration`: options for
    /// `navigator.credentials.create()`.
    pub async fn start_passkey_registration(&self) -> Result<PasskeyChallengeView> {
        self.call(Method::POST, &["me", "passkeys", "registration"])
            .send()
            .await
    }

    /// `POST /api/v1/me/passkeys`: the authenticator's answer.
    pub async fn add_passkey(&self, body: &PasskeyRegistrationRequest) -> Result<PasskeyView> {
        self.post(&["me", "passkeys"], body).await
    }

    /// `PATCH /api/v1/me/passkeys/{id}`.
    pub async fn rename_passkey(&self, id: i64, name: &str) -> Result<PasskeyView> {
        let body = RenamePasskeyRequest { name: name.into() };
        self.patch(&["me", "passkeys", &id.to_string()], &body)
            .await
    }

    /// `DELETE /api/v1/me/passkeys/{id}`: with the password and a second
    /// factor.
    pub async fn remove_passkey(&self, id: i64, body: &RemoveMfaRequest) -> Result<()> {
        self.call(Method::DELETE, &["me", "passkeys", &id.to_string()])
            .json(body)
            .send_empty()
            .await
    }

    /// `POST /api/v1/auth/passkey/challenge`: options for
    /// `navigator.credentials.get()`.
    pub async fn passkey_challenge(&self) -> Result<PasskeyChallengeView> {
        self.call(Method::POST, &["auth", "passkey", "challenge"])
            .send()
            .await
    }

    /// `POST /api/v1/auth/passkey`: signs in with a passkey alone.
    pub async fn sign_in_with_passkey(&self, body: &PasskeyAssertion) -> Result<LoginResponse> {
        self.post(&["auth", "passkey"], body).await
    }
}
