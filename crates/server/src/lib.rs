//! Roster's server: the application services, the HTTP API, configuration
//! and start-up.
//!
//! Layout (see docs/architecture.md):
//! - [`app`]: use cases over the domain and the store. Knows no HTTP.
//! - [`http`]: axum routes, extractors, problem+json, OpenAPI, console.
//! - [`integrations`]: other systems' protocols (mail, Slack).
//! - [`config`], [`crypto`], [`startup`]: the rest.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod app;
pub mod backup;
pub mod config;
pub mod crypto;
pub mod http;
pub mod integrations;
pub mod logging;
pub mod observe;
pub mod operator;
pub mod outbound;
pub mod startup;

pub use config::{Config, ConfigLayer, LogFormat, Secret, ServeFlags};
pub use startup::{init_tracing, Application, LogGuard};
