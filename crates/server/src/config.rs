//! Settings: defaults, then a TOML file, then `ROSTER_*` environment
//! variables, then command-line flags, each layer overriding the one before
//! (SPEC §5). All of it ends in one typed [`Config`].

use anyhow::{bail, Context};
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A secret value whose `Debug` hides it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// One layer of settings: every field optional. The file, the environment
/// and the flags each produce one; [`Config::resolve`] stacks them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    /// 64 hex characters. Keys the token hashes and encrypts stored
    /// secrets; every replica must share it.
    pub secret_key: Option<Secret>,
    pub log_format: Option<LogFormat>,
    pub session_ttl_hours: Option<i64>,
    /// How long an outbox worker holds a claimed message before another
    /// replica may send it (seconds).
    pub outbox_lease_seconds: Option<i64>,
    pub max_connections: Option<u32>,
    pub bootstrap_org: Option<String>,
    pub bootstrap_owner_email: Option<String>,
    pub bootstrap_owner_password: Option<Secret>,
    /// `smtp://host:port`, `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS) or `smtps://host:465`. Without it, mail goes to the mail log.
    pub smtp_url: Option<Secret>,
    /// The sender of outgoing mail, e.g. `Roster <roster@example.com>`.
    pub smtp_from: Option<String>,
    /// Record metrics and serve them at `/metrics` (default true).
    pub metrics: Option<bool>,
    /// How long shutdown waits for in-flight requests (seconds, default 30).
    pub drain_seconds: Option<i64>,
    /// Who may create orgs: `anyone`, `verified` (default) or `admins`.
    pub org_creation: Option<String>,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers are
    /// believed: comma-separated addresses or CIDRs.
    pub trusted_proxies: Option<String>,
    /// Lets webhook URLs name loopback, private and link-local addresses.
    pub webhooks_allow_private: Option<bool>,
    /// Lets every outbound URL an org admin sets (webhooks, Slack's API
    /// base) name loopback, private and link-local addresses.
    pub outbound_allow_private: Option<bool>,
}

impl ConfigLayer {
    fn over(self, base: ConfigLayer) -> ConfigLayer {
        ConfigLayer {
            listen: self.listen.or(base.listen),
            data_dir: self.data_dir.or(base.data_dir),
            database_url: self.database_url.or(base.database_url),
            public_url: self.public_url.or(base.public_url),
            secret_key: self.secret_key.or(base.secret_key),
            log_format: self.log_format.or(base.log_format),
            session_ttl_hours: self.session_ttl_hours.or(base.session_ttl_hours),
            outbox_lease_seconds: self.outbox_lease_seconds.or(base.outbox_lease_seconds),
            max_connections: self.max_connections.or(base.max_connections),
            bootstrap_org: self.bootstrap_org.or(base.bootstrap_org),
            bootstrap_owner_email: self.bootstrap_owner_email.or(base.bootstrap_owner_email),
            bootstrap_owner_password: self
                .bootstrap_owner_password
                .or(base.bootstrap_owner_password),
            smtp_url: self.smtp_url.or(base.smtp_url),
            smtp_from: self.smtp_from.or(base.smtp_from),
            metrics: self.metrics.or(base.metrics),
            drain_seconds: self.drain_seconds.or(base.drain_seconds),
            org_creation: self.org_creation.or(base.org_creation),
            trusted_proxies: self.trusted_proxies.or(base.trusted_proxies),
            webhooks_allow_private: self.webhooks_allow_private.or(base.webhooks_allow_private),
            outbound_allow_private: self.outbound_allow_private.or(base.outbound_allow_private),
        }
    }

    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> anyhow::Result<ConfigLayer> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    /// Reads `ROSTER_*` variables through `get` (the process environment in
    /// production, a map in tests).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<ConfigLayer> {
        let parse_num = |name: &str| -> anyhow::Result<Option<i64>> {
            get(name)
                .map(|v| {
                    v.parse::<i64>()
                        .with_context(|| format!("{name} must be a number"))
                })
                .transpose()
        };
        let parse_bool = |name: &str| -> anyhow::Result<Option<bool>> {
            match get(name).as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some("1" | "true" | "yes" | "on") => Ok(Some(true)),
                Some("0" | "false" | "no" | "off") => Ok(Some(false)),
                Some(_) => bail!("{name} must be true or false"),
            }
        };
        Ok(ConfigLayer {
            webhooks_allow_private: parse_bool("ROSTER_WEBHOOKS_ALLOW_PRIVATE")?,
            outbound_allow_private: parse_bool("ROSTER_OUTBOUND_ALLOW_PRIVATE")?,
            listen: get("ROSTER_LISTEN"),
            data_dir: get("ROSTER_DATA_DIR").map(PathBuf::from),
            database_url: get("ROSTER_DATABASE_URL"),
            public_url: get("ROSTER_PUBLIC_URL"),
            secret_key: get("ROSTER_SECRET_KEY").map(Secret),
            log_format: match get("ROSTER_LOG_FORMAT").as_deref() {
                None => None,
                Some("text") => Some(LogFormat::Text),
                Some("json") => Some(LogFormat::Json),
                Some(other) => bail!("ROSTER_LOG_FORMAT must be text or json, not {other:?}"),
            },
            session_ttl_hours: parse_num("ROSTER_SESSION_TTL_HOURS")?,
            outbox_lease_seconds: parse_num("ROSTER_OUTBOX_LEASE_SECONDS")?,
            max_connections: parse_num("ROSTER_MAX_CONNECTIONS")?
                .map(|n| u32::try_from(n).context("ROSTER_MAX_CONNECTIONS is out of range"))
                .transpose()?,
            bootstrap_org: get("ROSTER_BOOTSTRAP_ORG"),
            bootstrap_owner_email: get("ROSTER_BOOTSTRAP_OWNER_EMAIL"),
            bootstrap_owner_password: get("ROSTER_BOOTSTRAP_OWNER_PASSWORD").map(Secret),
            smtp_url: get("ROSTER_SMTP_URL").map(Secret),
            smtp_from: get("ROSTER_SMTP_FROM"),
            metrics: match get("ROSTER_METRICS").as_deref() {
                None => None,
                Some("true" | "1") => Some(true),
                Some("false" | "0") => Some(false),
                Some(other) => bail!("ROSTER_METRICS must be true or false, not {other:?}"),
            },
            drain_seconds: parse_num("ROSTER_DRAIN_SECONDS")?,
            org_creation: get("ROSTER_ORG_CREATION"),
            trusted_proxies: get("ROSTER_TRUSTED_PROXIES"),
        })
    }
}

/// Options from the `roster serve` command line.
#[derive(Debug, Clone, Default)]
pub struct ServeFlags {
    pub config_file: Option<PathBuf>,
    pub layer: ConfigLayer,
}

/// The resolved configuration of a server.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://<data_dir>/roster.db` unless a URL is given.
    pub database_url: String,
    /// The base of links in messages and printed output; defaults to
    /// `http://<listen address>` once the port is known.
    pub public_url: Option<url::Url>,
    pub secret_key: Option<Secret>,
    pub log_format: LogFormat,
    pub session_ttl_hours: i64,
    pub outbox_lease_seconds: i64,
    pub max_connections: u32,
    pub bootstrap: Bootstrap,
    pub smtp_url: Option<Secret>,
    pub smtp_from: String,
    pub metrics: bool,
    pub drain_seconds: i64,
    pub org_creation: crate::app::OrgCreation,
    /// Proxies whose forwarding headers name the client (none by default:
    /// the client is the connection's peer).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `ROSTER_OUTBOUND_ALLOW_PRIVATE`: every outbound URL an org admin
    /// sets may name internal addresses.
    pub outbound_allow_private: bool,
    /// Webhook URLs may name internal addresses (`ROSTER_WEBHOOKS_ALLOW_PRIVATE`,
    /// or the outbound switch).
    pub webhooks_allow_private: bool,
}

/// First-start seeding (SPEC §5); ignored once the database has users.
#[derive(Debug, Clone, Default)]
pub struct Bootstrap {
    pub org: Option<String>,
    pub owner_email: Option<String>,
    pub owner_password: Option<Secret>,
}

impl Config {
    /// Stacks defaults, the file (from the flags or `ROSTER_CONFIG`), the
    /// environment and the flags.
    pub fn load(flags: ServeFlags, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let file = match flags
            .config_file
            .clone()
            .or_else(|| env("ROSTER_CONFIG").map(PathBuf::from))
        {
            Some(path) => ConfigLayer::from_file(&path)?,
            None => ConfigLayer::default(),
        };
        let env_layer = ConfigLayer::from_env(&env)?;
        Config::resolve(flags.layer.over(env_layer.over(file)))
    }

    /// Applies defaults to a stacked layer and checks every value.
    pub fn resolve(l: ConfigLayer) -> anyhow::Result<Config> {
        let listen: SocketAddr = l
            .listen
            .as_deref()
            .unwrap_or("127.0.0.1:8080")
            .parse()
            .context("listen must be ADDR:PORT, e.g. 127.0.0.1:8080")?;
        let data_dir = l.data_dir.unwrap_or_else(|| PathBuf::from("roster-data"));
        let database_url = match l.database_url {
            Some(u) => u,
            None => format!("sqlite://{}", data_dir.join("roster.db").display()),
        };
        let public_url = l
            .public_url
            .map(|u| url::Url::parse(&u).context("public_url must be an absolute URL"))
            .transpose()?;
        if let Some(key) = &l.secret_key {
            crate::crypto::parse_key(key.expose())?;
        }
        let session_ttl_hours = l.session_ttl_hours.unwrap_or(24 * 14);
        if !(1..=24 * 365).contains(&session_ttl_hours) {
            bail!("session_ttl_hours must be between 1 and 8760");
        }
        let outbox_lease_seconds = l.outbox_lease_seconds.unwrap_or(120);
        // Longer than one delivery (SMTP and Slack calls time out after 15
        // s), or a slow delivery could be claimed and sent a second time.
        if !(20..=3600).contains(&outbox_lease_seconds) {
            bail!("outbox_lease_seconds must be between 20 and 3600");
        }
        let drain_seconds = l.drain_seconds.unwrap_or(30);
        if !(0..=3600).contains(&drain_seconds) {
            bail!("drain_seconds must be between 0 and 3600");
        }
        let org_creation = match l.org_creation.as_deref() {
            None => crate::app::OrgCreation::default(),
            Some(v) => crate::app::OrgCreation::parse(v).with_context(|| {
                format!("org_creation must be anyone, verified or admins, not {v:?}")
            })?,
        };
        let trusted_proxies = parse_proxies(l.trusted_proxies.as_deref().unwrap_or(""))?;
        let outbound_allow_private = l.outbound_allow_private.unwrap_or(false);
        Ok(Config {
            org_creation,
            drain_seconds,
            trusted_proxies,
            outbound_allow_private,
            webhooks_allow_private: outbound_allow_private
                || l.webhooks_allow_private.unwrap_or(false),
            outbox_lease_seconds,
            listen,
            data_dir,
            database_url,
            public_url,
            secret_key: l.secret_key,
            log_format: l.log_format.unwrap_or_default(),
            session_ttl_hours,
            max_connections: l.max_connections.unwrap_or(16),
            bootstrap: Bootstrap {
                org: l.bootstrap_org,
                owner_email: l.bootstrap_owner_email,
                owner_password: l.bootstrap_owner_password,
            },
            smtp_url: l.smtp_url,
            smtp_from: l
                .smtp_from
                .unwrap_or_else(|| "Roster <roster@localhost>".to_owned()),
            metrics: l.metrics.unwrap_or(true),
        })
    }
}

/// Parses `ROSTER_TRUSTED_PROXIES`: addresses or CIDRs, comma-separated.
pub fn parse_proxies(list: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .with_context(|| {
                    format!("trusted_proxies: {s:?} is not an address or CIDR (e.g. 10.0.0.0/8)")
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn flags_beat_environment_beat_file_beat_defaults() {
        let dir = std::env::temp_dir().join(format!("roster-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("roster.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1000\"\ndata_dir = \"/from/file\"\nsession_ttl_hours = 5\n",
        )
        .unwrap();
        let env: HashMap<&str, &str> = [
            ("ROSTER_LISTEN", "127.0.0.1:2000"),
            ("ROSTER_DATA_DIR", "/from/env"),
        ]
        .into();
        let flags = ServeFlags {
            config_file: Some(file),
            layer: ConfigLayer {
                listen: Some("127.0.0.1:3000".into()),
                ..Default::default()
            },
        };
        let c = Config::load(flags, |k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.listen.port(), 3000);
        assert_eq!(c.data_dir, PathBuf::from("/from/env"));
        assert_eq!(c.session_ttl_hours, 5);
        assert_eq!(c.database_url, "sqlite:///from/env/roster.db");
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let bad = |l: ConfigLayer| Config::resolve(l).unwrap_err().to_string();
        assert!(bad(ConfigLayer {
            listen: Some("nope".into()),
            ..Default::default()
        })
        .contains("listen"));
        assert!(bad(ConfigLayer {
            secret_key: Some(Secret::new("short")),
            ..Default::default()
        })
        .contains("secret"));
        assert!(
            ConfigLayer::from_env(|k| (k == "ROSTER_LOG_FORMAT").then(|| "xml".into())).is_err()
        );
    }

    #[test]
    fn trusted_proxies_are_addresses_or_cidrs() {
        let c = Config::resolve(ConfigLayer {
            trusted_proxies: Some("10.0.0.0/8, 192.168.1.7,::1".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.trusted_proxies.len(), 3);
        assert!(c.trusted_proxies[1].contains(&"192.168.1.7".parse::<std::net::IpAddr>().unwrap()));
        assert!(Config::resolve(ConfigLayer {
            trusted_proxies: Some("10.0.0.0/33".into()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string()
        .contains("trusted_proxies"));
        assert!(Config::resolve(ConfigLayer::default())
            .unwrap()
            .trusted_proxies
            .is_empty());
    }

    #[test]
    fn secrets_are_hidden_in_debug_output() {
        let l = ConfigLayer {
            bootstrap_owner_password: Some(Secret::new("hunter2hunter2")),
            ..Default::default()
        };
        assert!(!format!("{l:?}").contains("hunter2"));
    }
}
