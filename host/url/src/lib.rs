//! Client URLs as Redis users write them:
//!
//! - `redis://[[user]:password@]host[:port][/db][?option=value&...]`
//! - `rediss://...` (TLS: refused with a clear error until cachet has it)
//! - `unix:///path/to/socket[?db=N&...]` (also `redis+unix://`)
//! - `mem://[name]`: a cachet keyspace inside this process
//!
//! Options: `db`, `connect_timeout`, `stream_timeout` (alias `socket_timeout`), `timeout`,
//! `max_idle_time`, `idle_check_interval` (seconds, fractions allowed), `max_connections`,
//! `blocking` (true/false), `client_name`, `protocol` (2 or 3), `retries`, `response_timeout`, `connect_attempts`,
//! `buffer_size` (bytes).

use std::path::PathBuf;
use std::time::Duration;

/// How a client's pool connects and how many connections it keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolOptions {
    pub max_connections: usize,
    /// Wait for a free connection (up to `timeout`) instead of failing at once.
    pub blocking: bool,
    /// The longest a blocking pool makes a caller wait.
    pub timeout: Duration,
    /// Idle connections older than this are closed.
    pub max_idle_time: Duration,
    /// How often idle connections are checked.
    pub idle_check_interval: Duration,
    pub connect_timeout: Duration,
    /// Tries per new connection before giving up, with a growing pause between them.
    pub connect_attempts: u32,
    /// The longest a read or write waits (`stream_timeout` / the per-request timeout).
    pub stream_timeout: Duration,
    /// Bytes read at once, and queued before a write is sent.
    pub buffer_size: usize,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 50,
            blocking: true,
            timeout: Duration::from_secs(20),
            max_idle_time: Duration::from_secs(300),
            idle_check_interval: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            connect_attempts: 3,
            stream_timeout: Duration::from_secs(30),
            buffer_size: 64 * 1024,
        }
    }
}

/// Where a client connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
    /// `mem://name`; the empty name is a private keyspace.
    Memory(String),
}

/// What every new connection is set up with (credentials, database, name, protocol), and how often
/// a request is tried again when its connection breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionSettings {
    pub username: Option<String>,
    pub password: Option<String>,
    pub database: u32,
    pub client_name: Option<String>,
    /// 2 or 3 (3 sends HELLO 3).
    pub protocol: u8,
    /// How often a request that is safe to repeat is tried again after its connection broke.
    pub retries: u32,
    /// How long a request may take, from the call to its reply (blocking commands: plus how long
    /// they block).
    pub response_timeout: Duration,
    /// `READONLY` on every new connection (reads from a cluster replica).
    pub readonly: bool,
    /// Commands every new connection runs after the others (CLIENT TRACKING for a near cache).
    pub extra_set_up: Vec<Vec<Vec<u8>>>,
}

/// RESP2, database 0, no credentials, one retry, 5 s per request.
impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            username: None,
            password: None,
            database: 0,
            client_name: None,
            protocol: 2,
            retries: 1,
            response_timeout: Duration::from_secs(5),
            readonly: false,
            extra_set_up: Vec::new(),
        }
    }
}

/// Everything a URL says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    pub target: Target,
    pub connection: ConnectionSettings,
    pub pool: PoolOptions,
}

/// A URL cachet cannot use, and which part is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlError(pub String);

impl std::fmt::Display for UrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UrlError {}

const DEFAULT_PORT: u16 = 6379;

const OPTIONS: &str = "db, connect_timeout, stream_timeout, socket_timeout, timeout, max_idle_time, idle_check_interval, \
                       max_connections, blocking, client_name, protocol, retries, response_timeout, readonly, connect_attempts, buffer_size";

fn fail<T>(message: String) -> Result<T, UrlError> {
    Err(UrlError(message))
}

impl ClientConfig {
    pub fn parse(text: &str) -> Result<ClientConfig, UrlError> {
        let url = url::Url::parse(text).or_else(|e| fail(format!("'{text}' is not a URL ({e}); write e.g. redis://localhost:6379/0")))?;
        let target = match url.scheme() {
            "redis" => tcp_target(&url)?,
            "rediss" => {
                return fail("rediss:// (TLS) is not supported yet: use redis:// on a trusted network, or a TLS tunnel".into());
            }
            "unix" | "redis+unix" => {
                if url.path().is_empty() || url.path() == "/" {
                    return fail(format!("'{text}' names no socket path: write unix:///path/to/socket"));
                }
                Target::Unix(PathBuf::from(decode(url.path())))
            }
            "mem" => Target::Memory(url.host_str().unwrap_or_default().to_string()),
            other => return fail(format!("unknown URL scheme '{other}': use redis://, unix:// or mem://")),
        };
        let mut connection = ConnectionSettings::default();
        if !url.username().is_empty() {
            connection.username = Some(decode(url.username()));
        }
        connection.password = url.password().map(decode);
        if let Target::Tcp { .. } = target {
            connection.database = path_database(url.path())?;
        }
        let mut config = ClientConfig { target, connection, pool: PoolOptions::default() };
        for (name, value) in url.query_pairs() {
            config.apply(&name, &value)?;
        }
        Ok(config)
    }

    fn apply(&mut self, name: &str, value: &str) -> Result<(), UrlError> {
        let pool = &mut self.pool;
        match name {
            "db" => self.connection.database = number(name, value)?,
            "client_name" => self.connection.client_name = Some(value.to_string()),
            "protocol" => {
                self.connection.protocol = match value {
                    "2" => 2,
                    "3" => 3,
                    _ => return fail(format!("protocol={value} in the URL: use 2 or 3")),
                }
            }
            "retries" => self.connection.retries = number(name, value)?,
            "response_timeout" => self.connection.response_timeout = seconds(name, value)?,
            "readonly" => self.connection.readonly = flag(name, value)?,
            "connect_timeout" => pool.connect_timeout = seconds(name, value)?,
            "stream_timeout" | "socket_timeout" => pool.stream_timeout = seconds(name, value)?,
            "timeout" => pool.timeout = seconds(name, value)?,
            "max_idle_time" => pool.max_idle_time = seconds(name, value)?,
            "idle_check_interval" => pool.idle_check_interval = seconds(name, value)?,
            "max_connections" => pool.max_connections = positive(name, value)?,
            "connect_attempts" => pool.connect_attempts = positive(name, value)?,
            "buffer_size" => pool.buffer_size = positive(name, value)?,
            "blocking" => pool.blocking = flag(name, value)?,
            _ => return fail(format!("unknown option '{name}' in the URL; known options: {OPTIONS}")),
        }
        Ok(())
    }
}

fn tcp_target(url: &url::Url) -> Result<Target, UrlError> {
    let host = url.host_str().filter(|h| !h.is_empty()).unwrap_or("127.0.0.1");
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    Ok(Target::Tcp { host, port: url.port().unwrap_or(DEFAULT_PORT) })
}

fn path_database(path: &str) -> Result<u32, UrlError> {
    let digits = path.trim_start_matches('/');
    if digits.is_empty() {
        return Ok(0);
    }
    digits.parse().or_else(|_| fail(format!("the database in the URL path ('{path}') is not a number: write e.g. redis://host:6379/0")))
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, UrlError> {
    value.parse().or_else(|_| fail(format!("{name}={value} in the URL is not a whole number")))
}

fn positive<T: std::str::FromStr + Default + PartialOrd>(name: &str, value: &str) -> Result<T, UrlError> {
    let n: T = number(name, value)?;
    if n <= T::default() {
        return fail(format!("{name}={value} in the URL must be at least 1"));
    }
    Ok(n)
}

fn flag(name: &str, value: &str) -> Result<bool, UrlError> {
    match value {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => fail(format!("{name}={value} in the URL: use true or false")),
    }
}

fn seconds(name: &str, value: &str) -> Result<Duration, UrlError> {
    match value.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 && s < 1e9 => Ok(Duration::from_secs_f64(s)),
        _ => fail(format!("{name}={value} in the URL is not a number of seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_urls() {
        let c = ClientConfig::parse("redis://alice:p%40ss@example.com:7000/3?client_name=app&protocol=3&max_connections=4&blocking=false&timeout=0.5").unwrap();
        assert_eq!(c.target, Target::Tcp { host: "example.com".into(), port: 7000 });
        assert_eq!(c.connection.username.as_deref(), Some("alice"));
        assert_eq!(c.connection.password.as_deref(), Some("p@ss"));
        assert_eq!((c.connection.database, c.connection.protocol), (3, 3));
        assert_eq!(c.connection.client_name.as_deref(), Some("app"));
        assert_eq!((c.pool.max_connections, c.pool.blocking, c.pool.timeout), (4, false, Duration::from_millis(500)));
        let plain = ClientConfig::parse("redis://localhost").unwrap();
        assert_eq!(plain.target, Target::Tcp { host: "localhost".into(), port: 6379 });
        assert_eq!((plain.connection.database, plain.connection.password), (0, None));
        let v6 = ClientConfig::parse("redis://:secret@[::1]:6380").unwrap();
        assert_eq!(v6.target, Target::Tcp { host: "::1".into(), port: 6380 });
        assert_eq!((v6.connection.username, v6.connection.password.as_deref()), (None, Some("secret")));
    }

    #[test]
    fn unix_and_memory_urls() {
        let c = ClientConfig::parse("unix:///tmp/cachet.sock?db=2").unwrap();
        assert_eq!((c.target, c.connection.database), (Target::Unix("/tmp/cachet.sock".into()), 2));
        assert_eq!(ClientConfig::parse("mem://").unwrap().target, Target::Memory(String::new()));
        assert_eq!(ClientConfig::parse("mem://sessions").unwrap().target, Target::Memory("sessions".into()));
    }

    /// The fuzzer's corpus: parsing never panics and a refusal always explains itself.
    #[test]
    fn fuzz_corpus_parses_or_explains() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/client_url");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("the fuzz corpus is in the repository") {
            let input = std::fs::read(entry.expect("corpus entry").path()).expect("corpus file");
            if let Err(error) = ClientConfig::parse(&String::from_utf8_lossy(&input)) {
                assert!(!error.0.is_empty());
            }
            seen += 1;
        }
        assert!(seen >= 10, "only {seen} corpus files");
    }

    #[test]
    fn bad_urls_name_the_bad_part() {
        let error = |url: &str| ClientConfig::parse(url).unwrap_err().0;
        assert!(error("rediss://host").contains("not supported yet"));
        assert!(error("http://host").contains("unknown URL scheme 'http'"));
        assert!(error("redis://host/abc").contains("database in the URL path ('/abc')"));
        assert!(error("redis://host?colour=red").contains("unknown option 'colour'"));
        assert!(error("redis://host?max_connections=0").contains("max_connections=0"));
        assert!(error("redis://host?timeout=soon").contains("timeout=soon"));
        assert!(error("redis://host?protocol=4").contains("protocol=4"));
        assert!(error("redis://host:99999").contains("is not a URL"));
        assert!(error("unix://").contains("no socket path"));
        assert!(error("localhost:6379").contains("unknown URL scheme") || error("localhost:6379").contains("not a URL"));
    }
}
