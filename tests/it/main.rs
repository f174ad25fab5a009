//! Roster's integration tests: one binary, a real server per test on a free
//! port, and a fresh SQLite or PostgreSQL database per test.
//!
//! Tests that state a rule run on both engines (`both_engines!`).

mod groups;
mod helpers;
mod smtp;

mod access;
mod api;
mod at_rest;
mod audit_chain;
mod auth;
mod browser;
mod cli;
mod conformance;
mod console;
mod conventions;
mod index;
mod invitations;
mod members;
mod mfa;
mod ops;
mod orgs;
mod passkeys;
mod processes;
mod replicas;
mod rules;
mod scim;
mod signup;
pub(crate) mod slack;
mod sso;
mod store;
mod tokens;
mod tour;
mod upgrade;
mod webhooks;
