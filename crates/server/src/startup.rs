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
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Installs the global tracing subscriber (text or JSON lines on stderr,
/// filtered by `RUST_LOG`, default `info`) and returns the guard that
/// flushes the log when dropped: keep it for the life of the process.
///
/// Lines are formatted on the thread that logs and written to stderr in
/// batches by a thread of their own ([`crate::logging`]): a request never
/// waits for a write to stderr. The access log's line is formatted by
/// [`crate::logging::AccessLog`] into the same buffer.
pub fn init_tracing(format: LogFormat) -> LogGuard {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // Colour only for a person at a terminal, never in files or journals.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    match crate::logging::LogWriter::start() {
        Ok((writer, guard)) => {
            crate::logging::install_access_log(writer.clone(), format);
            let builder = builder.with_writer(writer);
            let _ = match format {
                LogFormat::Text => builder.try_init(),
                LogFormat::Json => builder.json().try_init(),
            };
            LogGuard {
                _flush_on_drop: Some(guard),
            }
        }
        Err(e) => {
            // No thread for the writer: every line is written where it is
            // logged, which is slower but loses nothing.
            let builder = builder.with_writer(std::io::stderr);
            let _ = match format {
                LogFormat::Text => builder.try_init(),
                LogFormat::Json => builder.json().try_init(),
            };
            tracing::warn!(error = %e, "no log writer thread; logging synchronously");
            LogGuard {
                _flush_on_drop: None,
            }
        }
    }
}

/// Flushes the log's buffered lines when dropped (see [`init_tracing`]).
#[must_use = "the log is flushed when the guard is dropped: keep it"]
pub struct LogGuard {
    _flush_on_drop: Option<crate::logging::LogGuard>,
}

/// A built server, bound to its port but not yet serving.
pub struct Application {
    addr: SocketAddr,
    /// How long shutdown waits for in-flight requests.
    drain: Duration,
    listener: TcpListener,
    app: App,
    mailer: Mailer,
    /// Held while the server runs on an embedded database.
    lock: Option<std::fs::File>,
    /// `ROSTER_OUTBOUND_ALLOW_PRIVATE`: Slack's API base may be internal.
    outbound_allow_private: bool,
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

        crate::crypto::create_private_dir(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
        // One server per embedded database; `roster restore` checks it too.
        let lock = if config.database_url.starts_with("sqlite:") {
            Some(crate::backup::lock_data_dir(&config.data_dir)?)
        } else {
            None
        };
        let store = Store::open(&StoreOptions {
            url: config.database_url.clone(),
            max_connections: config.max_connections,
        })
        .await
        .context("cannot open the database")?;
        let keys = match load_keys(&config, &store, clock.now()).await {
            Ok(keys) => keys,
            Err(e) => {
                store.close().await;
                return Err(e);
            }
        };
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
                metrics: config.metrics,
                org_creation: config.org_creation,
                trusted_proxies: config.trusted_proxies.clone(),
                webhooks_allow_private: config.webhooks_allow_private,
                outbound_allow_private: config.outbound_allow_private,
            },
            clock,
        )?;
        let mailer = Mailer::new(
            config.smtp_url.as_ref().map(|s| s.expose()),
            &config.smtp_from,
            config.data_dir.join("mail.log"),
        )?;
        let chained = app
            .chain_unchained_events()
            .await
            .context("cannot chain the audit events written before chains")?;
        if chained > 0 {
            tracing::info!(
                events = chained,
                "chained audit events written before chains"
            );
        }
        first_start(&app, &config, &public_url).await?;
        Ok(Application {
            addr,
            drain: Duration::from_secs(config.drain_seconds.unsigned_abs()),
            listener,
            app,
            mailer,
            lock,
            outbound_allow_private: config.outbound_allow_private,
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
    /// in-flight requests for at most the drain deadline (a slow client
    /// cannot hold the process), and stops the background workers; the
    /// outbox worker finishes the delivery in flight and releases its other
    /// claims.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let _lock = self.lock;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let slack = SlackApi::new(crate::outbound::Guard {
            allow_private: self.outbound_allow_private,
        });
        let couriers = Couriers {
            app: self.app.clone(),
            mail: self.mailer,
            slack: slack.clone(),
            webhooks: crate::integrations::webhooks::WebhookSender::new(self.app.webhook_guard()),
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
        let watcher = tokio::spawn(watch_revisions(self.app.clone(), stop_rx.clone()));
        let gauges = tokio::spawn(observe_outbox(self.app.clone(), stop_rx));
        let router = crate::http::router(self.app.clone(), slack);
        let (signal_tx, signal_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = signal_tx.send(true);
        });
        let signalled = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let serve = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signalled(signal_rx.clone()))
        .into_future();
        let drain = self.drain;
        let deadline = async move {
            signalled(signal_rx).await;
            tracing::info!(
                seconds = drain.as_secs(),
                "stopping: no new connections; draining in-flight requests"
            );
            tokio::time::sleep(drain).await;
        };
        tokio::select! {
            served = serve => served?,
            () = deadline => tracing::warn!(
                seconds = drain.as_secs(),
                "in-flight requests outlived the drain deadline; closing them"
            ),
        }
        let _ = stop_tx.send(true);
        // The outbox worker finishes the delivery in flight within the same
        // deadline; past it, it is stopped and its claims released, so that
        // another replica (or the next start) sends those messages at once.
        let mut worker = worker;
        if tokio::time::timeout(drain.max(Duration::from_secs(1)), &mut worker)
            .await
            .is_err()
        {
            worker.abort();
            tracing::warn!("the outbox delivery in flight outlived the drain deadline; stopped it");
        }
        match self.app.release_outbox_claims().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(messages = n, "released outbox claims at shutdown"),
            Err(e) => {
                tracing::warn!(error = %e, "could not release outbox claims; they expire with their lease")
            }
        }
        let _ = housekeeping.await;
        let _ = watcher.await;
        let _ = listener.await;
        let _ = gauges.await;
        // A request cut off at the deadline may still hold a connection.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.app.store().close()).await;
        tracing::info!("roster stopped");
        Ok(())
    }
}

/// The server key, checked against the key check value stored in the
/// database: the first start stores it; a later start (or another replica)
/// with a different key is refused before it serves, with one line that
/// says what to do. A database that has a check value is never given a new
/// generated key.
async fn load_keys(
    config: &Config,
    store: &Store,
    now: roster_domain::Timestamp,
) -> anyhow::Result<Keys> {
    use roster_store::settings;
    let mut conn = store.conn().await?;
    let stored = settings::get(&mut conn, settings::KEY_CHECK).await?;
    let key_file = config.data_dir.join("secret.key");
    if stored.is_some() && config.secret_key.is_none() && !key_file.exists() {
        anyhow::bail!(
            "this database was made with a server key, but ROSTER_SECRET_KEY is not set and {} does not exist; restore the key that was kept with the database (a new key would make every session, link and stored credential unusable)",
            key_file.display()
        );
    }
    let keys = Keys::load(
        config.secret_key.as_ref().map(|s| s.expose()),
        &config.data_dir,
    )?;
    let agreed = settings::init(&mut conn, settings::KEY_CHECK, &keys.check_value(), now).await?;
    if !keys.matches_check_value(&agreed) {
        anyhow::bail!(
            "the server key does not match the key this database was made with; give every replica the same ROSTER_SECRET_KEY (or restore secret.key from the database's backup) and start again"
        );
    }
    Ok(keys)
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
        match app.watch_revisions().await {
            Ok(()) => {
                let now = app.now().unix_ms() as f64 / 1000.0;
                app.observer().record(|| {
                    metrics::gauge!("roster_revision_watch_last_success_timestamp_seconds")
                        .set(now);
                });
            }
            Err(e) => tracing::debug!(error = %e, "revision watch failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Refreshes the outbox gauges every five seconds (so that a scrape never
/// queries the database) and drains the metrics' histogram data.
async fn observe_outbox(app: App, mut stop: tokio::sync::watch::Receiver<bool>) {
    if !app.observer().enabled() {
        return;
    }
    loop {
        let read = async {
            let mut conn = app.store().conn().await?;
            let counts = roster_store::outbox::counts(&mut conn).await?;
            let oldest = roster_store::outbox::oldest_waiting(&mut conn).await?;
            Ok::<_, roster_store::StoreError>((counts, oldest))
        };
        match read.await {
            Ok(((waiting, given_up), oldest)) => {
                let age = oldest.map_or(0.0, |t| app.now().since(t).as_secs_f64());
                app.observer().record(|| {
                    metrics::gauge!("roster_outbox_waiting").set(waiting as f64);
                    metrics::gauge!("roster_outbox_undeliverable").set(given_up as f64);
                    metrics::gauge!("roster_outbox_oldest_waiting_age_seconds").set(age);
                });
            }
            Err(e) => tracing::debug!(error = %e, "reading the outbox's size failed; will retry"),
        }
        let authz = app.authz_stats();
        app.observer().record(|| {
            metrics::counter!("roster_authz_deltas_applied_total").absolute(authz.deltas_applied);
            metrics::counter!("roster_authz_full_builds_total").absolute(authz.full_builds);
            metrics::counter!("roster_authz_build_milliseconds_total").absolute(authz.build_ms);
            metrics::counter!("roster_authz_slice_checks_total").absolute(authz.slices);
            metrics::counter!("roster_credential_cache_resets_total")
                .absolute(authz.credential_cache_resets);
        });
        app.observer().upkeep();
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
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
