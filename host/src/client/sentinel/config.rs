//! Sentinel URLs: `redis+sentinel://[user:password@]host:port[,host:port...]/service_name[/db][?options]`.
//! The sentinels' addresses and the service name are taken out here; every other part is the plain
//! `redis://` URL's, parsed by [`ClientConfig::parse`], so the shared options mean the same as for
//! one server. The URL's user and password are the data nodes'; the sentinels' own credentials are
//! `sentinel_username` and `sentinel_password`.

use crate::client::multi_host::{MultiHost, boolean, invalid};
use crate::client::{ClientConfig, Error};

/// The options only a sentinel URL takes; they are taken out before the data nodes' URL is parsed.
const SENTINEL_OPTIONS: &str = "sentinel_username, sentinel_password, read_from_replicas";

/// What a sentinel URL says.
#[derive(Clone, Debug)]
pub struct SentinelConfig {
    /// One configuration per sentinel, with the sentinels' credentials and database 0.
    pub sentinels: Vec<ClientConfig>,
    /// The name the sentinels monitor the primary under (`sentinel monitor <name> ...`).
    pub service_name: String,
    /// The URL's settings for the primary and replicas; their address is filled in on discovery.
    pub node: ClientConfig,
    /// Send reads (GET, MGET, ...) to the replicas in turn; they may answer slightly stale values.
    pub read_from_replicas: bool,
}

impl SentinelConfig {
    pub fn parse(url: &str) -> Result<SentinelConfig, Error> {
        let split = MultiHost::split(url, "redis+sentinel://", "rediss+sentinel://", "redis+sentinel://host:port,host:port/service_name")?;
        let path = split.path;
        let mut segments = path.trim_start_matches('/').splitn(2, '/');
        let service_name = segments.next().unwrap_or_default().to_string();
        let database = segments.next().unwrap_or_default();
        if service_name.is_empty() {
            return Err(invalid(&format!("'{url}' names no service: write redis+sentinel://host:port/service_name (the name in `sentinel monitor`)")));
        }
        let (mut sentinel_username, mut sentinel_password, mut read_from_replicas) = ("", None, false);
        for &(name, value) in &split.options {
            match name {
                "sentinel_username" => sentinel_username = value,
                "sentinel_password" => sentinel_password = Some(value),
                "read_from_replicas" => read_from_replicas = boolean(name, value)?,
                _ => {}
            }
        }
        let query = split.query(|name| !SENTINEL_OPTIONS.split(", ").any(|own| own == name));
        let (userinfo, hosts) = (&split.userinfo, &split.hosts);
        let Some(first) = hosts.first() else {
            return Err(invalid(&format!("'{url}' names no sentinel: write redis+sentinel://host:port[,host:port...]/service_name")));
        };
        let explain = |e: cachet_url::UrlError| invalid(&format!("{e} (sentinel-only options: {SENTINEL_OPTIONS})"));
        let scheme = split.server_scheme();
        let node = ClientConfig::parse(&format!("{scheme}://{userinfo}{first}/{database}{query}")).map_err(explain)?;
        // The sentinels' credentials go where a redis:// URL has them, so they are decoded alike.
        let credentials = match sentinel_password {
            Some(password) => format!("{sentinel_username}:{password}@"),
            None if !sentinel_username.is_empty() => format!("{sentinel_username}@"),
            None => String::new(),
        };
        let mut sentinels = Vec::new();
        for host in hosts {
            let mut sentinel = ClientConfig::parse(&format!("{scheme}://{credentials}{host}/{query}")).map_err(explain)?;
            sentinel.connection.database = 0;
            sentinel.connection.readonly = false;
            // A sentinel answers few, small requests: two connections for them, and one for the
            // `+switch-master` subscriber.
            sentinel.pool.max_connections = sentinel.pool.max_connections.min(3);
            sentinels.push(sentinel);
        }
        Ok(SentinelConfig { sentinels, service_name, node, read_from_replicas })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Target;

    #[test]
    fn sentinels_service_and_options() {
        let config = SentinelConfig::parse(
            "redis+sentinel://app:secret@10.0.0.1:26379,10.0.0.2:26380/mymaster/3?client_name=web&read_from_replicas=true&sentinel_password=s%40pw",
        )
        .unwrap();
        assert_eq!(config.service_name, "mymaster");
        assert_eq!(config.sentinels.len(), 2);
        assert_eq!(config.sentinels[1].target, Target::Tcp { host: "10.0.0.2".into(), port: 26380 });
        assert_eq!(config.sentinels[0].connection.password.as_deref(), Some("s@pw"));
        assert_eq!(config.sentinels[0].connection.username, None);
        assert_eq!(config.sentinels[0].connection.database, 0);
        assert_eq!(config.sentinels[0].connection.client_name.as_deref(), Some("web"));
        assert_eq!(config.node.connection.username.as_deref(), Some("app"));
        assert_eq!(config.node.connection.password.as_deref(), Some("secret"));
        assert_eq!(config.node.connection.database, 3);
        assert!(config.read_from_replicas);
        let plain = SentinelConfig::parse("redis+sentinel://h:26379/svc").unwrap();
        assert_eq!(plain.node.connection.database, 0);
        assert!(!plain.read_from_replicas && plain.sentinels[0].connection.password.is_none());
    }

    #[test]
    fn refusals() {
        let tls = SentinelConfig::parse("rediss+sentinel://h:1/s?ssl_ca_certs=/ca.pem").unwrap();
        assert!(tls.node.pool.tls.is_some() && tls.sentinels.iter().all(|s| s.pool.tls.is_some()), "TLS to the sentinels and the nodes");
        assert!(SentinelConfig::parse("redis://h:1/s").is_err());
        assert!(SentinelConfig::parse("redis+sentinel://h:1/").unwrap_err().message().contains("names no service"));
        assert!(SentinelConfig::parse("redis+sentinel:///svc").unwrap_err().message().contains("names no sentinel"));
        assert!(SentinelConfig::parse("redis+sentinel://h:1/svc?read_from_replicas=maybe").is_err());
        let unknown = SentinelConfig::parse("redis+sentinel://h:1/svc?bogus=1").unwrap_err();
        assert!(unknown.message().contains("bogus") && unknown.message().contains("sentinel_password"), "{unknown}");
    }
}
