//! The guard on addresses Roster calls on an org administrator's say (a
//! webhook URL, a Slack API base URL): http(s) only, and no loopback,
//! private, link-local or otherwise internal address unless the operator
//! allows it, so that an org admin cannot make the server probe its own
//! network. The address is checked when the URL is saved and again when it
//! is called, after DNS resolution, by the resolver the HTTP client
//! connects through ([`GuardedResolver`]), so a name that later resolves to
//! an internal address (DNS rebinding) is refused too.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// Why an address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the URL must be an absolute http or https URL")]
    NotHttp,
    #[error("the URL must not carry a user name or password")]
    Credentials,
    #[error("{0} is a loopback, private or link-local address, which this server does not call (the operator may allow it)")]
    Internal(String),
    #[error("{0} does not resolve")]
    Unresolved(String),
}

/// Whether `ip` is an address an org admin may not make the server call:
/// loopback, private (RFC 1918, unique local), link-local, shared
/// (100.64/10), unspecified, broadcast, multicast, documentation and
/// benchmarking ranges, and IPv4 addresses mapped or translated into IPv6.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_v4(v4);
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64
                || (s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible
        }
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // shared address space
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || o[0] >= 240 // reserved
}

/// The outbound policy: whether internal addresses are allowed
/// (`ROSTER_OUTBOUND_ALLOW_PRIVATE`, or `ROSTER_WEBHOOKS_ALLOW_PRIVATE`
/// for webhooks alone).
#[derive(Debug, Clone, Copy, Default)]
pub struct Guard {
    pub allow_private: bool,
}

impl Guard {
    /// Checks a URL's shape and, when its host is an address or a name
    /// that is always local, that address: what can be told without DNS.
    pub fn check_url(&self, raw: &str) -> Result<url::Url, Refused> {
        let url = url::Url::parse(raw.trim()).map_err(|_| Refused::NotHttp)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused::NotHttp);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused::Credentials);
        }
        let host = match url.host() {
            Some(h) => h,
            None => return Err(Refused::NotHttp),
        };
        if self.allow_private {
            return Ok(url);
        }
        match host {
            url::Host::Ipv4(ip) if is_internal(IpAddr::V4(ip)) => {
                Err(Refused::Internal(ip.to_string()))
            }
            url::Host::Ipv6(ip) if is_internal(IpAddr::V6(ip)) => {
                Err(Refused::Internal(ip.to_string()))
            }
            url::Host::Domain(d) if is_local_name(d) => Err(Refused::Internal(d.to_owned())),
            _ => Ok(url),
        }
    }

    /// Resolves `host` and refuses it when any of its addresses is
    /// internal (unless allowed).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refused> {
        let name = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match name.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((name, port))
                .await
                .map_err(|_| Refused::Unresolved(name.to_owned()))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(Refused::Unresolved(name.to_owned()));
        }
        if !self.allow_private {
            if let Some(a) = addrs.iter().find(|a| is_internal(a.ip())) {
                return Err(Refused::Internal(format!("{name} ({})", a.ip())));
            }
        }
        Ok(addrs)
    }

    /// Checks a URL fully: its shape, then where its host resolves now. A
    /// name that does not resolve yet passes (each call checks again).
    pub async fn check_url_resolved(&self, raw: &str) -> Result<url::Url, Refused> {
        let url = self.check_url(raw)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        match self.resolve(&host, port).await {
            Ok(_) | Err(Refused::Unresolved(_)) => Ok(url),
            Err(e) => Err(e),
        }
    }

    /// An HTTP client that connects only where this guard allows: its
    /// resolver refuses internal addresses after resolving, it follows no
    /// redirect and uses no proxy from the environment. Callers check
    /// literal-address URLs with [`Guard::check_url`] first (a client
    /// does not resolve those).
    pub fn client(&self, timeout: std::time::Duration) -> reqwest::Client {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver(*self)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(std::time::Duration::from_secs(5))
            .user_agent(concat!("Roster/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default()
    }
}

/// Names that always mean this machine or its network.
fn is_local_name(d: &str) -> bool {
    let d = d.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost"
        || d.ends_with(".localhost")
        || d.ends_with(".local")
        || d.ends_with(".internal")
}

/// The resolver of [`Guard::client`].
pub struct GuardedResolver(Guard);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = guard
                .resolve(&host, 0)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The guard's refusal inside an HTTP client's error, if that is why the
/// call failed.
pub fn refusal(e: &reqwest::Error) -> Option<Refused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return Some(r.clone());
        }
        source = s.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "8.8.8.8",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn names_are_checked_after_resolution() {
        let g = Guard::default();
        // The name check aside, what `localhost` resolves to is refused.
        assert!(matches!(
            g.resolve("localhost", 80).await,
            Err(Refused::Internal(_))
        ));
        assert!(matches!(
            g.resolve("127.0.0.1", 80).await,
            Err(Refused::Internal(_))
        ));
        assert!(Guard {
            allow_private: true
        }
        .resolve("localhost", 80)
        .await
        .is_ok());
    }

    #[test]
    fn urls_are_http_without_credentials_or_internal_hosts() {
        let g = Guard::default();
        assert_eq!(g.check_url("ftp://example.com/x"), Err(Refused::NotHttp));
        assert_eq!(g.check_url("file:///etc/passwd"), Err(Refused::NotHttp));
        assert_eq!(g.check_url("not a url"), Err(Refused::NotHttp));
        assert_eq!(
            g.check_url("https://u:p@example.com/"),
            Err(Refused::Credentials)
        );
        assert!(matches!(
            g.check_url("http://127.0.0.1:80/"),
            Err(Refused::Internal(_))
        ));
        assert!(matches!(
            g.check_url("http://[::1]/"),
            Err(Refused::Internal(_))
        ));
        assert!(matches!(
            g.check_url("http://localhost/"),
            Err(Refused::Internal(_))
        ));
        assert!(matches!(
            g.check_url("http://0x7f000001/"),
            Err(Refused::Internal(_))
        ));
        assert!(g.check_url("https://hooks.example.com/roster").is_ok());
        let open = Guard {
            allow_private: true,
        };
        assert!(open.check_url("http://127.0.0.1:9/").is_ok());
        assert_eq!(open.check_url("gopher://127.0.0.1/"), Err(Refused::NotHttp));
    }
}
