//! Start-up: bind, open the store, seed the first org if asked, serve, and
//! shut down gracefully.

use crate::app::setup::FirstOwner;
use crate::app::{App, AppSettings, Clock, RequestMeta, SystemClock};
use crate::config::{Config, LogFormat};
use crate::crypto::Keys;
use crate::integrations::mail::Mailer;
use crate::integrations::slack::SlackApi;
use crate::integrations::Couriers;
use anyhow::Context;
use roster_domain::{DisplayName, Email, OrgName, OrgSlug, Password};
use roster_store::{Engine, Store, StoreOptions};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Installs the global tracing subscriber (text or JSON lines on stderr,
/// filtered by `RUST_LOG`, default `info`).
pub fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// A built server, bound to its port but not yet serving.
pub struct Application {
    addr: SocketAddr,
    listener: TcpListener,
    app: App,
    mailer: Mailer,
}

impl Application {
    /// Binds the listener (logging the bound address first), opens and
    /// migrates the database, and seeds the first org on an empty database.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        Application::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// [`Application::build`] with the clock the use cases read (tests move
    /// a [`crate::app::ManualClock`] to reach expiry without editing rows).
    pub async fn build_with_clock(
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, "roster listening on http://{addr}");

        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
        let keys = Keys::load(
            config.secret_key.as_ref().map(|s| s.expose()),
            &config.data_dir,
        )?;
        let store = Store::open(&StoreOptions {
            url: config.database_url.clone(),
            max_connections: config.max_connections,
        })
        .await
        .context("cannot open the database")?;
        let engine = match store.engine() {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        };
        tracing::info!(engine, data_dir = %config.data_dir.display(), "database ready");

        let public_url = config
            .public_url
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{addr}"));
        let app = App::new(
            store,
            keys,
            AppSettings {
                session_ttl: Duration::from_secs(config.session_ttl_hours.unsigned_abs() * 3600),
                outbox_lease: Duration::from_secs(config.outbox_lease_seconds.unsigned_abs()),
                public_url: public_url.clone(),
            },
            clock,
        )?;
        let mailer = Mailer::new(
            config.smtp_url.as_ref().map(|s| s.expose()),
            &config.smtp_from,
            config.data_dir.join("mail.log"),
        )?;
        first_start(&app, &config, &public_url).await?;
        Ok(Application {
            addr,
            listener,
            app,
            mailer,
        })
    }

    /// The address it bound (the chosen port when the config asked for 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// Serves until `shutdown` resolves, then stops accepting, finishes
    /// in-flight requests and stops the background worker.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let slack = SlackApi::default();
        let couriers = Couriers {
            app: self.app.clone(),
            mail: self.mailer,
            slack: slack.clone(),
        };
        let worker = tokio::spawn(
            self.app
                .clone()
                .run_outbox_worker(couriers, stop_rx.clone()),
        );
        let housekeeping = tokio::spawn(housekeeping(self.app.clone(), stop_rx.clone()));
        let listener = {
            let app = self.app.clone();
            let stop = stop_rx.clone();
            tokio::spawn(async move { app.listen_for_changes(stop).await })
        };
        let watcher = tokio::spawn(watch_revisions(self.app.clone(), stop_rx));
        let router = crate::http::router(self.app.clone(), slack);
        axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        let _ = stop_tx.send(true);
        let _ = worker.await;
        let _ = housekeeping.await;
        let _ = watcher.await;
        let _ = listener.await;
        self.app.store().close().await;
        tracing::info!("roster stopped");
        Ok(())
    }
}

/// Prunes old rows every five minutes until shutdown.
async fn housekeeping(app: App, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(e) = app.housekeeping().await {
            tracing::warn!(error = %e, "housekeeping failed; will retry");
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(300)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Notices changes other replicas made to the orgs whose authorization
/// index this process holds, four times a second, so that every replica
/// enforces a change within a second (SPEC §5).
async fn watch_revisions(app: App, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(e) = app.watch_revisions().await {
            tracing::debug!(error = %e, "revision watch failed; will retry");
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// On an empty database: seed from `--bootstrap-owner` / `ROSTER_BOOTSTRAP_*`
/// if given, else print a one-time setup link. Does nothing afterwards.
async fn first_start(app: &App, config: &Config, public_url: &str) -> anyhow::Result<()> {
    if !app.is_empty().await? {
        return Ok(());
    }
    let b = &config.bootstrap;
    let Some(email) = &b.owner_email else {
        let token = app.new_setup_token().await?;
        // Printed, not logged: the link is a secret shown once.
        println!("Roster has no users yet. Open this one-time link within 24 hours to create the first organization and owner:\n\n    {public_url}/setup?token={token}\n\nor restart with --bootstrap-owner EMAIL.");
        return Ok(());
    };
    let email = Email::parse(email).context("the bootstrap owner email is not valid")?;
    let slug = OrgSlug::parse(b.org.as_deref().unwrap_or("default"))
        .context("ROSTER_BOOTSTRAP_ORG is not a valid slug")?;
    let password = b
        .owner_password
        .as_ref()
        .map(|p| Password::parse_new(p.expose()))
        .transpose()
        .context("ROSTER_BOOTSTRAP_OWNER_PASSWORD is not acceptable")?;
    let first = FirstOwner {
        org_name: OrgName::parse(slug.as_str())?,
        org_slug: slug.clone(),
        name: DisplayName::from_email(&email),
        email: email.clone(),
        password,
    };
    let seeded = match app
        .seed_first_owner(first, None, &RequestMeta::system())
        .await
    {
        Ok(seeded) => seeded,
        // Another replica starting at the same moment seeded it first.
        Err(_) if !app.is_empty().await? => {
            tracing::info!("the first organization was created by another replica");
            return Ok(());
        }
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    };
    tracing::info!(org = %slug, owner = %email, "created the first organization and its owner");
    if let Some(pw) = seeded.temporary_password {
        println!("Created organization {slug} with owner {email}.\nTemporary password (shown once; change it at first sign-in): {pw}\n\n    roster login --server {public_url} --email {email}");
    }
    Ok(())
}
