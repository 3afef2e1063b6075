//! Settings: the ones CONFIG GET and CONFIG SET know, and the facts the host tells the engine about
//! itself (port, process id...) that INFO reports.

use crate::glob;
use crate::keyspace::Policy;
use crate::notify;
use crate::output_limits::OutputLimits;

/// Why a setting was refused, in the words CONFIG SET answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub name: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.name)
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub databases: usize,
    pub maxclients: u64,
    /// Close clients idle for this many seconds; 0 never does.
    pub timeout: u64,
    /// How many times a second background work runs.
    pub hz: u64,
    /// Whether timer ticks finish moving a grown index's keys (`activerehashing`), as well as the
    /// writes that move some each.
    pub activerehashing: bool,
    /// Milliseconds a script runs before other clients get `-BUSY` instead of waiting for it.
    pub busy_reply_threshold: u64,
    pub proto_max_bulk_len: u64,
    /// Bytes a sparse HyperLogLog may grow to before it is rewritten dense.
    pub hll_sparse_max_bytes: u64,
    pub client_query_buffer_limit: u64,
    /// How much unwritten output each class of client may have before it is closed.
    pub output_limits: OutputLimits,
    pub tcp_keepalive: u64,
    pub save: String,
    pub appendonly: bool,
    /// Bytes of memory the engine may use before it evicts keys or refuses writes; 0 is no limit.
    pub maxmemory: u64,
    pub maxmemory_policy: Policy,
    /// How many keys eviction samples to find each victim.
    pub maxmemory_samples: u64,
    /// A hash stays in its compact encoding up to this many fields (512: redis-server's built-in
    /// default; the sample redis.conf lowers it to 128)...
    pub hash_max_listpack_entries: u64,
    /// ...and while no field or value is longer than this.
    pub hash_max_listpack_value: u64,
    /// The default user's password; empty means no password is needed.
    pub requirepass: String,
    /// The most entries ACL LOG keeps.
    pub acllog_max_len: u64,
    /// Refuse clients from other hosts while no password is set.
    pub protected_mode: bool,
    pub port: u64,
    pub bind: String,
    pub unixsocket: String,
    pub unixsocketperm: u64,
    pub udp_port: u64,
    pub tls_port: u64,
    pub tls_cert_file: String,
    pub tls_key_file: String,
    pub tls_ca_cert_file: String,
    pub tls_auth_clients: String,
    /// At most this many new connections from one IP address per `peer_connection_window`
    /// seconds (0: no limit; see [`crate::peer_limits`]).
    pub peer_connection_limit: u64,
    pub peer_connection_window: u64,
    /// At most this many failed AUTH or HELLO AUTH from one IP address per
    /// `peer_auth_failure_window` seconds; further attempts are refused (0: no limit).
    pub peer_auth_failure_limit: u64,
    pub peer_auth_failure_window: u64,
    pub dir: String,
    /// The ACL file's path, as the host was given it (the host alone opens it); empty for none.
    pub aclfile: String,
    /// Set encodings: the largest all-integer set kept as an `intset`, and the largest set (in
    /// members and in bytes per member) kept as a `listpack`.
    pub set_max_intset_entries: u64,
    pub set_max_listpack_entries: u64,
    pub set_max_listpack_value: u64,
    /// Which keyspace notifications are published (see [`crate::notify`]); none by default.
    pub notify_keyspace_events: u16,
    /// The size of a list's packed nodes: negative, a byte size class (-2: 8 KiB); positive, a
    /// count of elements.
    pub list_max_listpack_size: i64,
    /// Accepted for compatibility; cachet does not compress list nodes.
    pub list_compress_depth: u64,
    /// Sorted set encodings: the largest sorted set (in members and in bytes per member) kept as
    /// a `listpack`.
    pub zset_max_listpack_entries: u64,
    pub zset_max_listpack_value: u64,
    /// The most keys CLIENT TRACKING remembers; past it, keys are forgotten and their readers told
    /// (0: no limit).
    pub tracking_table_max_keys: u64,
    /// SLOWLOG logs commands that take at least this many microseconds; -1 logs none.
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    /// LATENCY records commands of at least this many milliseconds; 0 records none.
    pub latency_monitor_threshold: u64,
    /// Whether each command's durations are kept for INFO latencystats, and its percentiles.
    pub latency_tracking: bool,
    pub latency_tracking_info_percentiles: Vec<f64>,
    // Facts about the host process; INFO shows them, CONFIG does not.
    pub process_id: u64,
    pub executable: String,
    pub config_file: String,
    pub os: String,
    /// How many earlier engines faulted and were replaced by the host (INFO's engine_faults).
    pub engine_faults: u64,
    /// Set once the first client connects: `databases` can only change before then.
    pub frozen: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            databases: 16,
            maxclients: 10_000,
            timeout: 0,
            hz: 10,
            activerehashing: true,
            busy_reply_threshold: 5000,
            proto_max_bulk_len: 512 * 1024 * 1024,
            hll_sparse_max_bytes: 3000,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            output_limits: OutputLimits::default(),
            tcp_keepalive: 300,
            save: String::new(),
            appendonly: false,
            maxmemory: 0,
            maxmemory_policy: Policy::NoEviction,
            maxmemory_samples: 5,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            requirepass: String::new(),
            acllog_max_len: 128,
            protected_mode: true,
            port: 6379,
            bind: "127.0.0.1".into(),
            unixsocket: String::new(),
            unixsocketperm: 0,
            udp_port: 0,
            tls_port: 0,
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            tls_ca_cert_file: String::new(),
            tls_auth_clients: "yes".to_string(),
            peer_connection_limit: 0,
            peer_connection_window: 1,
            peer_auth_failure_limit: 0,
            peer_auth_failure_window: 60,
            dir: String::new(),
            aclfile: String::new(),
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            notify_keyspace_events: 0,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            tracking_table_max_keys: 1_000_000,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            latency_monitor_threshold: 0,
            latency_tracking: true,
            latency_tracking_info_percentiles: vec![50.0, 99.0, 99.9],
            process_id: 0,
            executable: String::new(),
            config_file: String::new(),
            os: String::new(),
            engine_faults: 0,
            frozen: false,
        }
    }
}

/// Whether CONFIG may show or change a setting.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// CONFIG GET and CONFIG SET.
    Mutable,
    /// CONFIG GET only, and set by the host at start.
    Immutable,
    /// CONFIG GET and CONFIG SET, applied by the host: CONFIG SET hands the change to it (see
    /// [`crate::host_settings`]) and takes it only when the host accepted it.
    Host,
    /// Set by the host; not a CONFIG setting at all.
    Hidden,
}

struct Param {
    name: &'static str,
    access: Access,
    get: fn(&Config) -> String,
    set: fn(&mut Config, &str) -> Result<(), String>,
}

macro_rules! number_param {
    ($name:literal, $field:ident, $access:expr, $min:expr, $max:expr) => {
        Param {
            name: $name,
            access: $access,
            get: |c| c.$field.to_string(),
            set: |c, v| {
                c.$field = parse_number(v, $min, $max)?.try_into().map_err(|_| out_of_range())?;
                Ok(())
            },
        }
    };
}

/// A `yes`/`no` setting.
macro_rules! bool_param {
    ($name:literal, $field:ident, $access:expr) => {
        Param {
            name: $name,
            access: $access,
            get: |c| if c.$field { "yes" } else { "no" }.into(),
            set: |c, v| {
                c.$field = parse_bool(v)?;
                Ok(())
            },
        }
    };
}

macro_rules! text_param {
    ($name:literal, $field:ident, $access:expr) => {
        Param {
            name: $name,
            access: $access,
            get: |c| c.$field.clone(),
            set: |c, v| {
                c.$field = v.to_string();
                Ok(())
            },
        }
    };
}

const PARAMS: &[Param] = &[
    number_param!("databases", databases, Access::Immutable, 1, 1_000_000),
    number_param!("maxclients", maxclients, Access::Mutable, 1, 1_000_000_000),
    number_param!("timeout", timeout, Access::Mutable, 0, i32::MAX as u64),
    number_param!("hz", hz, Access::Mutable, 1, 500),
    bool_param!("activerehashing", activerehashing, Access::Mutable),
    number_param!("busy-reply-threshold", busy_reply_threshold, Access::Mutable, 0, i64::MAX as u64),
    // Its name before Redis 7.0.
    number_param!("lua-time-limit", busy_reply_threshold, Access::Mutable, 0, i64::MAX as u64),
    number_param!("proto-max-bulk-len", proto_max_bulk_len, Access::Mutable, 1024 * 1024, i64::MAX as u64),
    number_param!("hll-sparse-max-bytes", hll_sparse_max_bytes, Access::Mutable, 0, i64::MAX as u64),
    number_param!("client-query-buffer-limit", client_query_buffer_limit, Access::Mutable, 1024 * 1024, i64::MAX as u64),
    Param {
        name: "client-output-buffer-limit",
        access: Access::Mutable,
        get: |c| c.output_limits.describe(),
        set: |c, v| c.output_limits.apply(v),
    },
    number_param!("tcp-keepalive", tcp_keepalive, Access::Immutable, 0, i32::MAX as u64),
    Param {
        name: "save",
        access: Access::Mutable,
        get: |c| c.save.clone(),
        set: |c, v| {
            if v.trim().is_empty() {
                c.save = String::new();
                Ok(())
            } else {
                Err("cachet keeps no snapshots on disk; only an empty 'save' is accepted".into())
            }
        },
    },
    Param {
        name: "appendonly",
        access: Access::Mutable,
        get: |c| if c.appendonly { "yes" } else { "no" }.into(),
        set: |c, v| match parse_bool(v)? {
            false => {
                c.appendonly = false;
                Ok(())
            }
            true => Err("cachet keeps no append-only file; only 'no' is accepted".into()),
        },
    },
    number_param!("maxmemory", maxmemory, Access::Mutable, 0, i64::MAX as u64),
    Param {
        name: "maxmemory-policy",
        access: Access::Mutable,
        get: |c| c.maxmemory_policy.name().into(),
        set: |c, v| {
            c.maxmemory_policy = Policy::parse(v).ok_or_else(|| "argument(s) must be one of the following: volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu, volatile-random, allkeys-random, volatile-ttl, noeviction".to_string())?;
            Ok(())
        },
    },
    number_param!("maxmemory-samples", maxmemory_samples, Access::Mutable, 1, 64),
    number_param!("hash-max-listpack-entries", hash_max_listpack_entries, Access::Mutable, 0, i64::MAX as u64),
    number_param!("hash-max-listpack-value", hash_max_listpack_value, Access::Mutable, 0, i64::MAX as u64),
    text_param!("requirepass", requirepass, Access::Mutable),
    number_param!("acllog-max-len", acllog_max_len, Access::Mutable, 0, i64::MAX as u64),
    bool_param!("protected-mode", protected_mode, Access::Mutable),
    number_param!("port", port, Access::Immutable, 0, 65535),
    text_param!("bind", bind, Access::Immutable),
    text_param!("unixsocket", unixsocket, Access::Immutable),
    Param {
        name: "unixsocketperm",
        access: Access::Immutable,
        get: |c| format!("{:o}", c.unixsocketperm),
        set: |c, v| {
            c.unixsocketperm = u64::from_str_radix(v, 8).map_err(|_| "argument must be an octal number".to_string())?;
            Ok(())
        },
    },
    number_param!("udp-port", udp_port, Access::Immutable, 0, 65535),
    // TLS ends in the host, which reports these. The port is fixed; the host re-reads the files
    // when CONFIG SET changes them, for the handshakes that follow.
    number_param!("tls-port", tls_port, Access::Immutable, 0, 65535),
    text_param!("tls-cert-file", tls_cert_file, Access::Host),
    text_param!("tls-key-file", tls_key_file, Access::Host),
    text_param!("tls-ca-cert-file", tls_ca_cert_file, Access::Host),
    Param {
        name: "tls-auth-clients",
        access: Access::Host,
        get: |c| c.tls_auth_clients.clone(),
        set: |c, v| {
            let value = v.to_ascii_lowercase();
            if !["no", "yes", "optional"].contains(&value.as_str()) {
                return Err("argument(s) must be one of the following: no, yes, optional".into());
            }
            c.tls_auth_clients = value;
            Ok(())
        },
    },
    number_param!("peer-connection-limit", peer_connection_limit, Access::Mutable, 0, i64::MAX as u64),
    number_param!("peer-connection-window", peer_connection_window, Access::Mutable, 1, 365 * 24 * 3600),
    number_param!("peer-auth-failure-limit", peer_auth_failure_limit, Access::Mutable, 0, i64::MAX as u64),
    number_param!("peer-auth-failure-window", peer_auth_failure_window, Access::Mutable, 1, 365 * 24 * 3600),
    text_param!("dir", dir, Access::Immutable),
    text_param!("aclfile", aclfile, Access::Immutable),
    number_param!("set-max-intset-entries", set_max_intset_entries, Access::Mutable, 0, i64::MAX as u64),
    number_param!("set-max-listpack-entries", set_max_listpack_entries, Access::Mutable, 0, i64::MAX as u64),
    number_param!("set-max-listpack-value", set_max_listpack_value, Access::Mutable, 0, i64::MAX as u64),
    Param {
        name: "notify-keyspace-events",
        access: Access::Mutable,
        get: |c| notify::format(c.notify_keyspace_events),
        set: |c, v| {
            c.notify_keyspace_events = notify::parse(v).ok_or_else(|| notify::INVALID_CLASS.to_string())?;
            Ok(())
        },
    },
    Param {
        name: "list-max-listpack-size",
        access: Access::Mutable,
        get: |c| c.list_max_listpack_size.to_string(),
        set: |c, v| {
            c.list_max_listpack_size = v.parse::<i32>().map_err(|_| "argument couldn't be parsed into an integer".to_string())?.into();
            Ok(())
        },
    },
    number_param!("list-compress-depth", list_compress_depth, Access::Mutable, 0, i32::MAX as u64),
    number_param!("zset-max-listpack-entries", zset_max_listpack_entries, Access::Mutable, 0, i64::MAX as u64),
    number_param!("zset-max-listpack-value", zset_max_listpack_value, Access::Mutable, 0, i64::MAX as u64),
    number_param!("tracking-table-max-keys", tracking_table_max_keys, Access::Mutable, 0, i64::MAX as u64),
    Param {
        name: "slowlog-log-slower-than",
        access: Access::Mutable,
        get: |c| c.slowlog_log_slower_than.to_string(),
        set: |c, v| {
            let value = v.trim().parse::<i64>().map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if value < -1 {
                return Err(format!("argument must be between -1 and {} inclusive", i64::MAX));
            }
            c.slowlog_log_slower_than = value;
            Ok(())
        },
    },
    number_param!("slowlog-max-len", slowlog_max_len, Access::Mutable, 0, i64::MAX as u64),
    number_param!("latency-monitor-threshold", latency_monitor_threshold, Access::Mutable, 0, i64::MAX as u64),
    bool_param!("latency-tracking", latency_tracking, Access::Mutable),
    Param {
        name: "latency-tracking-info-percentiles",
        access: Access::Mutable,
        get: |c| c.latency_tracking_info_percentiles.iter().map(f64::to_string).collect::<Vec<_>>().join(" "),
        set: |c, v| {
            c.latency_tracking_info_percentiles = parse_percentiles(v)?;
            Ok(())
        },
    },
    number_param!("process-id", process_id, Access::Hidden, 0, u64::MAX),
    text_param!("executable", executable, Access::Hidden),
    text_param!("config-file", config_file, Access::Hidden),
    text_param!("os", os, Access::Hidden),
    number_param!("engine-faults", engine_faults, Access::Hidden, 0, u64::MAX),
];

impl Config {
    /// Applies a setting at start-up, from the host. Immutable settings are accepted here.
    pub fn apply_startup(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let param = find(name).ok_or_else(|| error(name, "unknown setting".into()))?;
        if param.name == "databases" && self.frozen {
            return Err(error(name, "can't change the number of databases once clients are connected".into()));
        }
        (param.set)(self, value).map_err(|m| error(param.name, m))
    }

    /// CONFIG SET for one setting, with Redis's error wording.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let param = find(name)
            .filter(|p| p.access != Access::Hidden)
            .ok_or_else(|| error(name, format!("Unknown option or number of arguments for CONFIG SET - '{name}'")))?;
        if param.access == Access::Immutable {
            return Err(error(param.name, set_failed(param.name, "can't set immutable config")));
        }
        (param.set)(self, value).map_err(|m| error(param.name, set_failed(param.name, &m)))
    }

    /// Whether CONFIG SET hands `name` (a setting [`Config::set`] accepted) to the host.
    pub fn host_owned(name: &str) -> bool {
        find(name).is_some_and(|p| p.access == Access::Host)
    }

    /// The canonical (lower-case) name of a known setting.
    pub fn canonical_name(name: &str) -> Option<&'static str> {
        find(name).map(|p| p.name)
    }

    /// CONFIG GET: every visible setting whose name matches one of the patterns, each once.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        PARAMS
            .iter()
            .filter(|p| p.access != Access::Hidden)
            .filter(|p| patterns.iter().any(|pat| glob::matches(pat, p.name.as_bytes(), true)))
            .map(|p| (p.name, (p.get)(self)))
            .collect()
    }
}

fn find(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

fn error(name: &str, message: String) -> ConfigError {
    ConfigError { name: name.to_string(), message }
}

fn set_failed(name: &str, why: &str) -> String {
    format!("CONFIG SET failed (possibly related to argument '{name}') - {why}")
}

fn out_of_range() -> String {
    "argument must be between the setting's limits".to_string()
}

/// A number as redis.conf writes it: plain, or with a memory unit (`1k`, `512mb`, `1gb`).
fn parse_number(text: &str, min: u64, max: u64) -> Result<u64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let units: [(&str, u64); 8] = [
        ("kb", 1024),
        ("mb", 1024 * 1024),
        ("gb", 1024 * 1024 * 1024),
        ("k", 1000),
        ("m", 1000 * 1000),
        ("g", 1000 * 1000 * 1000),
        ("b", 1),
        ("", 1),
    ];
    let (digits, multiplier) = units
        .iter()
        .find_map(|(unit, mul)| lower.strip_suffix(unit).map(|d| (d, *mul)))
        .unwrap_or((&lower, 1));
    let value = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
    if value < min || value > max {
        return Err(format!("argument must be between {min} and {max} inclusive"));
    }
    Ok(value)
}

/// Percentiles as `latency-tracking-info-percentiles` takes them: numbers from 0 to 100, separated
/// by spaces (none at all is allowed).
fn parse_percentiles(text: &str) -> Result<Vec<f64>, String> {
    let mut percentiles = Vec::new();
    for word in text.split_whitespace() {
        let value: f64 = word.parse().ok().filter(|v: &f64| v.is_finite()).ok_or("Invalid latency-tracking-info-percentiles parameters")?;
        if !(0.0..=100.0).contains(&value) {
            return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into());
        }
        percentiles.push(value);
    }
    Ok(percentiles)
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_get() {
        let mut c = Config::default();
        c.set("maxclients", "20").unwrap();
        c.set("proto-max-bulk-len", "2mb").unwrap();
        assert_eq!(c.proto_max_bulk_len, 2 * 1024 * 1024);
        let got = c.get_matching(&[b"maxc*"]);
        assert_eq!(got, vec![("maxclients", "20".to_string())]);
        assert_eq!(c.get_matching(&[b"save", b"appendonly"]).len(), 2);
    }

    #[test]
    fn errors_use_redis_wording() {
        let mut c = Config::default();
        assert_eq!(
            c.set("nosuch", "1").unwrap_err().message,
            "Unknown option or number of arguments for CONFIG SET - 'nosuch'"
        );
        assert_eq!(
            c.set("port", "1").unwrap_err().message,
            "CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"
        );
        assert_eq!(
            c.set("maxclients", "lots").unwrap_err().message,
            "CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer"
        );
        assert!(c.set("process-id", "1").is_err());
        assert!(c.apply_startup("process-id", "42").is_ok());
        assert_eq!(c.process_id, 42);
    }
}
