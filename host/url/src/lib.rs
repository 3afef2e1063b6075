//! Client URLs as Redis users write them (redis-py's and coredis's forms):
//!
//! - `redis://[[user]:password@]host[:port][/db][?option=value&...]` (also `valkey://`)
//! - `rediss://...` (also `valkeys://`): the same over TLS
//! - `unix://[[user]:password@]/path/to/socket[?db=N&...]` (also `redis+unix://`)
//! - `mem://[name]`: a cachet keyspace inside this process
//!
//! The options are listed in [`OPTIONS`] and documented in the README's client section.

mod reconnect;
mod tls;

pub use reconnect::{Backoff, Reconnect};
pub use tls::{CertReqs, TlsSettings};

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
    /// Tries per new connection before giving up (`reconnect_attempts`), with the pauses that
    /// `reconnect` gives between them.
    pub connect_attempts: u32,
    /// The pauses between connection attempts.
    pub reconnect: Reconnect,
    /// The longest a read or write waits (`stream_timeout` / the per-request timeout).
    pub stream_timeout: Duration,
    /// Bytes read at once, and queued before a write is sent.
    pub buffer_size: usize,
    /// `Some` for `rediss://`: connections are TLS with these settings.
    pub tls: Option<TlsSettings>,
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
            reconnect: Reconnect::default(),
            stream_timeout: Duration::from_secs(30),
            buffer_size: 64 * 1024,
            tls: None,
        }
    }
}

impl PoolOptions {
    /// Sets how connection attempts are paced: `attempts` tries with `reconnect`'s pauses.
    pub fn with_reconnect(self, reconnect: Reconnect, attempts: u32) -> PoolOptions {
        PoolOptions { reconnect, connect_attempts: attempts.max(1), ..self }
    }

    /// Connects over TLS with `tls`.
    pub fn with_tls(self, tls: TlsSettings) -> PoolOptions {
        PoolOptions { tls: Some(tls), ..self }
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

/// What every new connection is set up with (credentials, database, name, protocol, CLIENT
/// NO-EVICT / NO-TOUCH), and how often a request is tried again when its connection breaks.
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
    /// `CLIENT NO-EVICT on`: the server never evicts this client for its output buffers.
    pub no_evict: bool,
    /// `CLIENT NO-TOUCH on`: this client's reads leave keys' LRU/LFU ages alone.
    pub no_touch: bool,
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
            no_evict: false,
            no_touch: false,
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

/// Every option a URL's query may carry.
pub const OPTIONS: &str = "db, username, password, decode_components, connect_timeout, stream_timeout, socket_timeout, \
                           timeout, max_idle_time, idle_check_interval, max_connections, blocking, client_name, protocol, \
                           protocol_version, retries, response_timeout, readonly, reconnect, reconnect_delay, reconnect_max_delay, reconnect_jitter, \
                           reconnect_attempts, connect_attempts, buffer_size, noreply, noevict, notouch, ssl_ca_certs, \
                           ssl_certfile, ssl_keyfile, ssl_cert_reqs, ssl_check_hostname";

fn fail<T>(message: String) -> Result<T, UrlError> {
    Err(UrlError(message))
}

/// The parts of a URL that `decode_components` decides how to read, kept as written until the
/// whole query has been seen.
#[derive(Default)]
struct Written {
    username: Option<String>,
    password: Option<String>,
    socket: Option<String>,
    decode: bool,
}

impl ClientConfig {
    pub fn parse(text: &str) -> Result<ClientConfig, UrlError> {
        let (text, unix_userinfo) = split_unix_userinfo(text);
        let url = url::Url::parse(&text).or_else(|e| fail(format!("'{text}' is not a URL ({e}); write e.g. redis://localhost:6379/0")))?;
        let mut written = Written { decode: true, ..Written::default() };
        let (target, tls) = match url.scheme() {
            "redis" | "valkey" => (tcp_target(&url), None),
            "rediss" | "valkeys" => (tcp_target(&url), Some(TlsSettings::default())),
            "unix" | "redis+unix" => {
                if url.path().is_empty() || url.path() == "/" {
                    return fail(format!("'{text}' names no socket path: write unix:///path/to/socket"));
                }
                written.socket = Some(url.path().to_string());
                (Target::Unix(PathBuf::new()), None)
            }
            "mem" => (Target::Memory(url.host_str().unwrap_or_default().to_string()), None),
            other => return fail(format!("unknown URL scheme '{other}': use redis://, rediss://, valkey://, valkeys://, unix:// or mem://")),
        };
        match unix_userinfo {
            Some((user, password)) => (written.username, written.password) = (user, password),
            None => {
                written.username = Some(url.username().to_string()).filter(|u| !u.is_empty());
                written.password = url.password().map(str::to_string);
            }
        }
        let mut connection = ConnectionSettings::default();
        if let Target::Tcp { .. } = target {
            connection.database = path_database(url.path())?;
        }
        let mut config = ClientConfig { target, connection, pool: PoolOptions { tls, ..PoolOptions::default() } };
        let mut query_credentials: Credentials = (None, None);
        for (name, value) in url.query_pairs() {
            match &*name {
                "username" => query_credentials.0 = Some(value.into_owned()),
                "password" => query_credentials.1 = Some(value.into_owned()),
                "decode_components" => written.decode = boolean(&name, &value)?,
                _ => config.apply(&name, &value)?,
            }
        }
        config.take_written(written, query_credentials);
        if let Some(tls) = &config.pool.tls
            && tls.cert_file.is_some() != tls.key_file.is_some()
        {
            return fail("ssl_certfile and ssl_keyfile go together: give the client certificate and its key, both in PEM".into());
        }
        Ok(config)
    }

    /// Credentials and the socket path, decoded or not as `decode_components` says. As in
    /// redis-py, credentials in the URL's user part win over `username=` / `password=`.
    fn take_written(&mut self, written: Written, query: Credentials) {
        let read = |text: String| if written.decode { decode(&text) } else { text };
        self.connection.username = written.username.map(read).or(query.0);
        self.connection.password = written.password.map(read).or(query.1);
        if let Some(socket) = written.socket {
            self.target = Target::Unix(PathBuf::from(read(socket)));
        }
    }

    fn apply(&mut self, name: &str, value: &str) -> Result<(), UrlError> {
        let pool = &mut self.pool;
        match name {
            "db" => self.connection.database = number(name, value)?,
            "client_name" => self.connection.client_name = Some(value.to_string()),
            "protocol" | "protocol_version" => {
                self.connection.protocol = match value {
                    "2" => 2,
                    "3" => 3,
                    _ => return fail(format!("{name}={value} in the URL: use 2 or 3")),
                }
            }
            "retries" => self.connection.retries = number(name, value)?,
            "response_timeout" => self.connection.response_timeout = seconds(name, value)?,
            "readonly" => self.connection.readonly = boolean(name, value)?,
            "noevict" => self.connection.no_evict = boolean(name, value)?,
            "notouch" => self.connection.no_touch = boolean(name, value)?,
            "noreply" if boolean(name, value)? => {
                return fail("noreply=true in the URL: cachet's client reads the reply of every request (a GET's value, a SET's \
                             error), and after CLIENT REPLY OFF none comes, so it is refused rather than answering every \
                             request 'done' and hiding errors; leave noreply out"
                    .into());
            }
            "noreply" => {}
            "connect_timeout" => pool.connect_timeout = seconds(name, value)?,
            "stream_timeout" | "socket_timeout" => pool.stream_timeout = seconds(name, value)?,
            "timeout" => pool.timeout = seconds(name, value)?,
            "max_idle_time" => pool.max_idle_time = seconds(name, value)?,
            "idle_check_interval" => pool.idle_check_interval = seconds(name, value)?,
            "max_connections" => pool.max_connections = positive(name, value)?,
            "connect_attempts" | "reconnect_attempts" => pool.connect_attempts = positive(name, value)?,
            "reconnect" => {
                pool.reconnect.backoff = Backoff::parse(value)
                    .ok_or_else(|| UrlError(format!("{name}={value} in the URL: use constant, linear or exponential")))?
            }
            "reconnect_delay" => pool.reconnect.delay = seconds(name, value)?,
            "reconnect_max_delay" => pool.reconnect.max_delay = seconds(name, value)?,
            "reconnect_jitter" => pool.reconnect.jitter = boolean(name, value)?,
            "buffer_size" => pool.buffer_size = positive(name, value)?,
            "blocking" => pool.blocking = boolean(name, value)?,
            _ if name.starts_with("ssl_") => self.apply_tls(name, value)?,
            _ => return fail(format!("unknown option '{name}' in the URL; known options: {OPTIONS}")),
        }
        Ok(())
    }

    fn apply_tls(&mut self, name: &str, value: &str) -> Result<(), UrlError> {
        let Some(tls) = &mut self.pool.tls else {
            return fail(format!("{name} in the URL is a TLS option: use a rediss:// or valkeys:// URL"));
        };
        match name {
            "ssl_ca_certs" => tls.ca_certs = Some(PathBuf::from(value)),
            "ssl_certfile" => tls.cert_file = Some(PathBuf::from(value)),
            "ssl_keyfile" => tls.key_file = Some(PathBuf::from(value)),
            "ssl_check_hostname" => tls.check_hostname = boolean(name, value)?,
            "ssl_cert_reqs" => {
                tls.cert_reqs = match value.to_ascii_lowercase().as_str() {
                    "none" | "cert_none" => CertReqs::None,
                    "optional" | "cert_optional" => CertReqs::Optional,
                    "required" | "cert_required" => CertReqs::Required,
                    _ => return fail(format!("{name}={value} in the URL: use none, optional or required")),
                }
            }
            _ => return fail(format!("unknown option '{name}' in the URL; known options: {OPTIONS}")),
        }
        Ok(())
    }
}

/// A user name and a password, either of which may be missing.
type Credentials = (Option<String>, Option<String>);

/// `unix://[user]:password@/path`: the `url` crate refuses credentials without a host, so they
/// are taken off first. Answers the URL without them, and the user and password as written.
fn split_unix_userinfo(text: &str) -> (String, Option<Credentials>) {
    let Some((scheme, rest)) = text.split_once("://") else { return (text.to_string(), None) };
    if !matches!(scheme, "unix" | "redis+unix") || rest.starts_with('/') {
        return (text.to_string(), None);
    }
    let Some((userinfo, path)) = rest.split_once('@') else { return (text.to_string(), None) };
    if !path.starts_with('/') || userinfo.contains('/') {
        return (text.to_string(), None);
    }
    let (user, password) = match userinfo.split_once(':') {
        Some((user, password)) => (user, Some(password.to_string())),
        None => (userinfo, None),
    };
    let user = Some(user.to_string()).filter(|u| !u.is_empty());
    (format!("{scheme}://{path}"), Some((user, password)))
}

fn tcp_target(url: &url::Url) -> Target {
    let host = url.host_str().filter(|h| !h.is_empty()).unwrap_or("127.0.0.1");
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    Target::Tcp { host, port: url.port().unwrap_or(DEFAULT_PORT) }
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

fn boolean(name: &str, value: &str) -> Result<bool, UrlError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => fail(format!("{name}={value} in the URL: use true or false")),
    }
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

fn seconds(name: &str, value: &str) -> Result<Duration, UrlError> {
    match value.parse::<f64>() {
        Ok(s) if (0.0..1e9).contains(&s) => Ok(Duration::from_secs_f64(s)),
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
    fn request_options() {
        let c = ClientConfig::parse("redis://h?response_timeout=0.25&readonly=true").unwrap();
        assert_eq!((c.connection.response_timeout, c.connection.readonly), (Duration::from_millis(250), true));
        let d = ClientConfig::parse("redis://h").unwrap();
        assert_eq!((d.connection.response_timeout, d.connection.readonly), (Duration::from_secs(5), false));
        assert!(ClientConfig::parse("redis://h?response_timeout=soon").unwrap_err().0.contains("response_timeout=soon"));
    }

    #[test]
    fn unix_and_memory_urls() {
        let c = ClientConfig::parse("unix:///tmp/cachet.sock?db=2").unwrap();
        assert_eq!((c.target, c.connection.database), (Target::Unix("/tmp/cachet.sock".into()), 2));
        assert_eq!(ClientConfig::parse("mem://").unwrap().target, Target::Memory(String::new()));
        assert_eq!(ClientConfig::parse("mem://sessions").unwrap().target, Target::Memory("sessions".into()));
    }

    #[test]
    fn coredis_and_redis_py_options() {
        let c = ClientConfig::parse("valkey://h/1?protocol_version=3&noevict=true&notouch=1&noreply=false&username=u&password=p%20w").unwrap();
        assert_eq!(c.target, Target::Tcp { host: "h".into(), port: 6379 });
        assert_eq!((c.connection.database, c.connection.protocol, c.connection.no_evict, c.connection.no_touch), (1, 3, true, true));
        assert_eq!((c.connection.username.as_deref(), c.connection.password.as_deref()), (Some("u"), Some("p w")));
        assert_eq!(c.pool.tls, None);
        let userinfo_wins = ClientConfig::parse("redis://a:b@h?username=u&password=p").unwrap();
        assert_eq!((userinfo_wins.connection.username.as_deref(), userinfo_wins.connection.password.as_deref()), (Some("a"), Some("b")));
    }

    #[test]
    fn decode_components_decides_how_credentials_and_paths_read() {
        let decoded = ClientConfig::parse("redis://us%65r:p%40ss@h").unwrap();
        assert_eq!((decoded.connection.username.as_deref(), decoded.connection.password.as_deref()), (Some("user"), Some("p@ss")));
        let raw = ClientConfig::parse("redis://us%65r:p%40ss@h?decode_components=false").unwrap();
        assert_eq!((raw.connection.username.as_deref(), raw.connection.password.as_deref()), (Some("us%65r"), Some("p%40ss")));
        let socket = ClientConfig::parse("unix:///tmp/my%20dir/c.sock").unwrap();
        assert_eq!(socket.target, Target::Unix("/tmp/my dir/c.sock".into()));
        let raw_socket = ClientConfig::parse("unix:///tmp/my%20dir/c.sock?decode_components=no").unwrap();
        assert_eq!(raw_socket.target, Target::Unix("/tmp/my%20dir/c.sock".into()));
    }

    #[test]
    fn unix_sockets_take_passwords() {
        let only_password = ClientConfig::parse("unix://:s3cret@/run/redis.sock?db=3").unwrap();
        assert_eq!(only_password.target, Target::Unix("/run/redis.sock".into()));
        assert_eq!((only_password.connection.username, only_password.connection.password.as_deref()), (None, Some("s3cret")));
        assert_eq!(only_password.connection.database, 3);
        let both = ClientConfig::parse("redis+unix://alice:p%40ss@/run/redis.sock").unwrap();
        assert_eq!((both.connection.username.as_deref(), both.connection.password.as_deref()), (Some("alice"), Some("p@ss")));
        let query = ClientConfig::parse("unix:///run/redis.sock?password=pw").unwrap();
        assert_eq!((query.target, query.connection.password.as_deref()), (Target::Unix("/run/redis.sock".into()), Some("pw")));
    }

    #[test]
    fn tls_urls() {
        let c = ClientConfig::parse("rediss://cache.example:6380/0?ssl_ca_certs=/etc/ca.pem&ssl_certfile=/c.pem&ssl_keyfile=/k.pem&ssl_check_hostname=false").unwrap();
        assert_eq!(c.target, Target::Tcp { host: "cache.example".into(), port: 6380 });
        let tls = c.pool.tls.unwrap();
        assert_eq!((tls.ca_certs, tls.cert_file, tls.key_file), (Some("/etc/ca.pem".into()), Some("/c.pem".into()), Some("/k.pem".into())));
        assert_eq!((tls.cert_reqs, tls.check_hostname), (CertReqs::Required, false));
        let none = ClientConfig::parse("valkeys://h?ssl_cert_reqs=none").unwrap().pool.tls.unwrap();
        assert_eq!((none.cert_reqs, none.verifies()), (CertReqs::None, false));
        assert_eq!(ClientConfig::parse("rediss://h").unwrap().pool.tls, Some(TlsSettings::default()));
    }

    #[test]
    fn reconnect_options() {
        let c = ClientConfig::parse("redis://h?reconnect=linear&reconnect_delay=0.05&reconnect_max_delay=2&reconnect_attempts=7&reconnect_jitter=false").unwrap();
        let expected = Reconnect { backoff: Backoff::Linear, delay: Duration::from_millis(50), max_delay: Duration::from_secs(2), jitter: false };
        assert_eq!((c.pool.reconnect, c.pool.connect_attempts), (expected, 7));
        assert_eq!(ClientConfig::parse("redis://h?connect_attempts=4").unwrap().pool.connect_attempts, 4);
        let built = PoolOptions::default().with_reconnect(Reconnect { backoff: Backoff::Constant, ..Reconnect::default() }, 0);
        assert_eq!((built.reconnect.backoff, built.connect_attempts), (Backoff::Constant, 1));
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
        assert!(error("redis://host?ssl_ca_certs=/ca.pem").contains("use a rediss:// or valkeys:// URL"));
        assert!(error("rediss://host?ssl_cert_reqs=maybe").contains("ssl_cert_reqs=maybe"));
        assert!(error("rediss://host?ssl_certfile=/c.pem").contains("ssl_certfile and ssl_keyfile go together"));
        assert!(error("redis://host?noreply=true").contains("CLIENT REPLY OFF"));
        assert!(error("redis://host?noevict=perhaps").contains("noevict=perhaps"));
        assert!(error("redis://host?reconnect=sometimes").contains("constant, linear or exponential"));
        assert!(error("redis://host?protocol_version=4").contains("protocol_version=4"));
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
