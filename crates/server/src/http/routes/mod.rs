//! The routes of the HTTP API, one module per resource.

pub mod audit;
pub mod auth;
pub mod check;
pub mod groups;
pub mod health;
pub mod invitations;
pub mod invite_page;
pub mod mfa;
pub mod orgs;
pub mod outbox;
pub mod passkeys;
pub mod password_page;
pub mod requests;
pub mod resources;
pub mod roles;
pub mod scim_tokens;
pub mod setup;
pub mod signup;
pub mod signup_page;
pub mod slack;
pub mod sso;
pub mod tokens;
pub mod users;
pub mod webhooks;
