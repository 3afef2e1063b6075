//! Cluster URLs: `redis+cluster://[user:password@]host:port,host:port/[db]?options`. The seed list
//! is split here; every other part is the plain `redis://` URL's, parsed by
//! [`ClientConfig::parse`] once per seed, so the shared options mean the same as for one server.

use crate::client::multi_host::{MultiHost, boolean, invalid};
use crate::client::{ClientConfig, Error};

/// The options only a cluster URL takes; they are taken out before the per-seed URL is parsed.
const CLUSTER_OPTIONS: &str = "reinitialize_steps, max_connections_per_node, read_from_replicas";

/// What a cluster URL says.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Where to learn the slot map from, one configuration per seed node (every option the same).
    pub seeds: Vec<ClientConfig>,
    /// Redirections (MOVED, ASK) after which the whole slot map is read again.
    pub reinitialize_steps: u32,
    /// Connections each node's client may open.
    pub max_connections_per_node: usize,
    /// Send reads (GET, MGET, ...) to replicas, which may answer slightly stale values.
    pub read_from_replicas: bool,
}

impl ClusterConfig {
    pub fn parse(url: &str) -> Result<ClusterConfig, Error> {
        let split = MultiHost::split(url, "redis+cluster://", "rediss+cluster://", "redis+cluster://host:port,host:port/")?;
        let mut config = ClusterConfig { seeds: Vec::new(), reinitialize_steps: 5, max_connections_per_node: 4, read_from_replicas: false };
        for &(name, value) in &split.options {
            match name {
                "reinitialize_steps" => config.reinitialize_steps = number(name, value)?,
                "max_connections_per_node" => config.max_connections_per_node = number::<usize>(name, value)?.max(1),
                "read_from_replicas" => config.read_from_replicas = boolean(name, value)?,
                _ => {}
            }
        }
        let query = split.query(|name| !CLUSTER_OPTIONS.split(", ").any(|own| own == name));
        for host in &split.hosts {
            let seed = format!("{}://{}{host}{}{query}", split.server_scheme(), split.userinfo, split.path);
            let mut parsed = ClientConfig::parse(&seed).map_err(|e| invalid(&format!("{e} (cluster-only options: {CLUSTER_OPTIONS})")))?;
            parsed.pool.max_connections = config.max_connections_per_node;
            config.seeds.push(parsed);
        }
        if config.seeds.is_empty() {
            return Err(invalid(&format!("'{url}' names no node: write redis+cluster://host:port[,host:port...]/")));
        }
        Ok(config)
    }
}

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, Error> {
    value.parse().map_err(|_| invalid(&format!("{name}={value} in the URL is not a whole number")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Target;

    #[test]
    fn seeds_and_options() {
        let config = ClusterConfig::parse("redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001/?client_name=web&read_from_replicas=true&reinitialize_steps=9&max_connections_per_node=2").unwrap();
        assert_eq!(config.seeds.len(), 2);
        assert_eq!(config.seeds[1].target, Target::Tcp { host: "10.0.0.2".into(), port: 7001 });
        assert_eq!(config.seeds[0].connection.password.as_deref(), Some("pw"));
        assert_eq!(config.seeds[0].connection.client_name.as_deref(), Some("web"));
        assert_eq!(config.seeds[0].pool.max_connections, 2);
        assert!(config.read_from_replicas);
        assert_eq!(config.reinitialize_steps, 9);
    }

    #[test]
    fn tls_for_every_node() {
        let config = ClusterConfig::parse("rediss+cluster://h:1,h:2/?ssl_ca_certs=/ca.pem&max_connections_per_node=3").unwrap();
        for seed in &config.seeds {
            let tls = seed.pool.tls.as_ref().expect("TLS settings");
            assert_eq!(tls.ca_certs.as_deref(), Some(std::path::Path::new("/ca.pem")));
            assert_eq!(seed.pool.max_connections, 3);
        }
    }

    #[test]
    fn refusals() {
        assert!(ClusterConfig::parse("redis+cluster://h:1/?ssl_ca_certs=/ca.pem").is_err());
        assert!(ClusterConfig::parse("redis://h:1").is_err());
        assert!(ClusterConfig::parse("redis+cluster:///").is_err());
        assert!(ClusterConfig::parse("redis+cluster://h:1/?reinitialize_steps=x").is_err());
        let unknown = ClusterConfig::parse("redis+cluster://h:1/?bogus=1").unwrap_err();
        assert!(unknown.message().contains("bogus") && unknown.message().contains("read_from_replicas"), "{unknown}");
    }
}
