//! `cachet serve`: flags and configuration file to [`ServerOptions`], then run until Ctrl-C or
//! SIGTERM.

use super::config_file;
use crate::runtime::{Runtime, RuntimeOptions};
use crate::server::{ClientAuth, Server, ServerOptions};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// A configuration file in redis.conf format (`port 7000`, `maxclients 100`, ...). Flags given
    /// on the command line override it.
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
    /// Addresses to listen on, separated by spaces or given several times [default: 127.0.0.1]
    #[arg(long, value_name = "ADDR")]
    bind: Vec<String>,
    /// TCP port; 0 turns TCP off [default: 6379]
    #[arg(long, short = 'p')]
    port: Option<u16>,
    /// Also listen on this Unix socket path
    #[arg(long, value_name = "PATH")]
    unix: Option<PathBuf>,
    /// Permissions of the Unix socket file, in octal (e.g. 700) [default: as the umask allows]
    #[arg(long, value_name = "OCTAL")]
    unix_perm: Option<String>,
    /// Also listen for TLS connections on this port (TLS 1.2 and 1.3) [default: 0, none]
    #[arg(long, value_name = "PORT")]
    tls_port: Option<u16>,
    /// The server's certificate chain, PEM (needed with --tls-port)
    #[arg(long, value_name = "FILE")]
    tls_cert_file: Option<PathBuf>,
    /// The server's private key, PEM (needed with --tls-port)
    #[arg(long, value_name = "FILE")]
    tls_key_file: Option<PathBuf>,
    /// CA certificates, PEM, that client certificates must chain to
    #[arg(long, value_name = "FILE")]
    tls_ca_cert_file: Option<PathBuf>,
    /// Whether TLS clients must present a certificate: yes, no or optional [default: yes]
    #[arg(long, value_name = "yes|no|optional")]
    tls_auth_clients: Option<String>,
    /// Also answer commands in UDP datagrams on this port
    #[arg(long, value_name = "PORT")]
    udp_port: Option<u16>,
    /// Forget a UDP sender's session (database, protocol) after this many idle seconds [default: 300]
    #[arg(long, value_name = "SECONDS")]
    udp_idle_timeout: Option<u64>,
    /// Number of databases [default: 16]
    #[arg(long)]
    databases: Option<u32>,
    /// Most clients connected at once [default: 10000]
    #[arg(long)]
    maxclients: Option<u64>,
    /// Close clients idle for this many seconds; 0 never does [default: 0]
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
    /// Background work (active expiry, idle clients) runs this many times a second [default: 10]
    #[arg(long)]
    hz: Option<u64>,
    /// Require this password (AUTH or HELLO ... AUTH) before any other command
    #[arg(long, value_name = "PASSWORD", env = "CACHET_REQUIREPASS", hide_env_values = true)]
    requirepass: Option<String>,
    /// With no password set, refuse clients that are not on this machine: yes or no [default: yes]
    #[arg(long, value_name = "yes|no")]
    protected_mode: Option<String>,
    /// Publish keyspace notifications of these classes, in Redis's letters (e.g. KEA) [default: none]
    #[arg(long, value_name = "CLASSES")]
    notify_keyspace_events: Option<String>,
    /// Close clients whose unread output grows too large, per class (normal, replica, pubsub), as
    /// redis.conf writes it; may be repeated: --client-output-buffer-limit "pubsub 32mb 8mb 60"
    /// [default: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"]
    #[arg(long, value_name = "CLASS HARD SOFT SECONDS", action = clap::ArgAction::Append)]
    client_output_buffer_limit: Vec<String>,
    /// Users and their permissions from this ACL file (Redis's format: `user alice on >pw ~* +@all`
    /// lines); ACL LOAD reads it again and ACL SAVE writes it. The only file the engine can reach
    #[arg(long, value_name = "FILE")]
    aclfile: Option<PathBuf>,
    /// Any other setting, as CONFIG SET names it: --set proto-max-bulk-len 64mb
    #[arg(long, num_args = 2, value_names = ["NAME", "VALUE"], action = clap::ArgAction::Append)]
    set: Vec<String>,
    /// Log level: error, warn, info, debug or trace (also read from CACHET_LOG) [default: info]
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
    /// Directory for the compiled engine, so later starts skip compiling it
    /// [default: $CACHET_CACHE_DIR, $XDG_CACHE_HOME/cachet or ~/.cache/cachet]
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile the engine at every start instead of caching it
    #[arg(long)]
    no_cache: bool,
    /// Interrupt a call into the engine that runs longer than this (a bug); it is then handled
    /// like any engine fault [default: 10000]
    #[arg(long, value_name = "MILLISECONDS")]
    engine_timeout: Option<u64>,
    /// Cap the engine's memory (e.g. 2gb); a fault if it is reached [default: twice maxmemory plus
    /// 64mb when maxmemory is set at start, else the 4gb a WebAssembly memory can address]
    #[arg(long, value_name = "BYTES")]
    engine_memory_limit: Option<String>,
}

pub fn run(args: ServeArgs) -> Result<()> {
    let directives = collect_directives(&args)?;
    let (options, log_level) = server_options(directives)?;
    init_logging(args.log_level.as_deref().or(log_level.as_deref()));
    let mut runtime_options = RuntimeOptions::from_env();
    if args.cache_dir.is_some() {
        runtime_options.cache_dir = args.cache_dir.clone();
    }
    if args.no_cache {
        runtime_options.cache_dir = None;
    }
    if let Some(ms) = args.engine_timeout {
        runtime_options.call_timeout = Duration::from_millis(ms.max(1));
    }
    runtime_options.memory_limit = engine_memory_limit(&args, &options)?;
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    tokio.block_on(async {
        let started = std::time::Instant::now();
        let runtime = Arc::new(Runtime::new(&runtime_options)?);
        let server = Server::bind(runtime, options.clone()).await?;
        for addr in server.tcp_addrs() {
            tracing::info!("listening on tcp {addr}");
        }
        for addr in server.tls_addrs() {
            tracing::info!("listening on tls {addr}");
        }
        if let Some(path) = &options.unix_socket {
            tracing::info!("listening on unix {}", path.display());
        }
        for addr in server.udp_addrs() {
            tracing::info!("listening on udp {addr}");
        }
        tracing::info!("cachet {} ready to accept connections ({} ms)", env!("CARGO_PKG_VERSION"), started.elapsed().as_millis());
        server.run(stop_signal()).await
    })
}

/// The configuration file's directives followed by the flags', so later ones win.
fn collect_directives(args: &ServeArgs) -> Result<Vec<(String, String)>> {
    let mut directives = match &args.config {
        Some(path) => config_file::read(path)?,
        None => Vec::new(),
    };
    let mut flag = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            directives.push((name.to_string(), value));
        }
    };
    flag("bind", (!args.bind.is_empty()).then(|| args.bind.join(" ")));
    flag("port", args.port.map(|p| p.to_string()));
    flag("unixsocket", args.unix.as_ref().map(|p| p.display().to_string()));
    flag("unixsocketperm", args.unix_perm.clone());
    flag("udp-port", args.udp_port.map(|p| p.to_string()));
    flag("tls-port", args.tls_port.map(|p| p.to_string()));
    flag("tls-cert-file", args.tls_cert_file.as_ref().map(|p| p.display().to_string()));
    flag("tls-key-file", args.tls_key_file.as_ref().map(|p| p.display().to_string()));
    flag("tls-ca-cert-file", args.tls_ca_cert_file.as_ref().map(|p| p.display().to_string()));
    flag("tls-auth-clients", args.tls_auth_clients.clone());
    flag("udp-idle-timeout", args.udp_idle_timeout.map(|s| s.to_string()));
    flag("databases", args.databases.map(|n| n.to_string()));
    flag("maxclients", args.maxclients.map(|n| n.to_string()));
    flag("timeout", args.timeout.map(|n| n.to_string()));
    flag("hz", args.hz.map(|n| n.to_string()));
    flag("requirepass", args.requirepass.clone());
    flag("aclfile", args.aclfile.as_ref().map(|p| p.display().to_string()));
    flag("protected-mode", args.protected_mode.clone());
    flag("notify-keyspace-events", args.notify_keyspace_events.clone());
    for limits in &args.client_output_buffer_limit {
        flag("client-output-buffer-limit", Some(limits.clone()));
    }
    for pair in args.set.chunks(2) {
        if let [name, value] = pair {
            directives.push((name.to_ascii_lowercase(), value.clone()));
        }
    }
    Ok(directives)
}

/// Splits directives into what the host handles (sockets, logging) and the engine's settings,
/// which the engine validates when it starts.
fn server_options(directives: Vec<(String, String)>) -> Result<(ServerOptions, Option<String>)> {
    let mut options = ServerOptions::default();
    let mut log_level = None;
    for (name, value) in directives {
        let invalid = || format!("invalid value '{value}' for '{name}'");
        match name.as_str() {
            "bind" => options.bind = value.split_whitespace().map(str::to_string).collect(),
            "port" => options.port = value.parse().with_context(invalid)?,
            "unixsocket" => options.unix_socket = Some(PathBuf::from(&value)),
            "unixsocketperm" => {
                options.unix_socket_perm = Some(u32::from_str_radix(&value, 8).with_context(|| format!("{}: expected an octal mode such as 700", invalid()))?)
            }
            "udp-port" => options.udp_port = Some(value.parse().with_context(invalid)?),
            "udp-idle-timeout" => options.udp_idle_timeout = Duration::from_secs(value.parse().with_context(invalid)?),
            "tcp-keepalive" => options.tcp_keepalive = value.parse().with_context(invalid)?,
            "tls-port" => options.tls.port = value.parse().with_context(invalid)?,
            "tls-cert-file" => options.tls.cert_file = Some(PathBuf::from(&value)),
            "tls-key-file" => options.tls.key_file = Some(PathBuf::from(&value)),
            "tls-ca-cert-file" => options.tls.ca_cert_file = Some(PathBuf::from(&value)),
            "tls-auth-clients" => options.tls.auth_clients = ClientAuth::parse(&value)?,
            name if name.starts_with("tls-") => bail!("'{name}' is not a setting cachet has: its TLS settings are tls-port, tls-cert-file, tls-key-file, tls-ca-cert-file and tls-auth-clients"),
            "loglevel" => log_level = Some(redis_log_level(&value).with_context(invalid)?.to_string()),
            _ => options.engine_settings.push((name, value)),
        }
    }
    if options.bind.is_empty() {
        bail!("'bind' needs at least one address");
    }
    Ok((options, log_level))
}

/// The engine's memory cap: the flag's, or room above `maxmemory` when that is set at start.
fn engine_memory_limit(args: &ServeArgs, options: &ServerOptions) -> Result<Option<usize>> {
    if let Some(text) = &args.engine_memory_limit {
        let bytes = parse_bytes(text).with_context(|| format!("invalid --engine-memory-limit '{text}': use a size such as 512mb or 2gb"))?;
        return Ok(Some(bytes as usize));
    }
    let maxmemory = options.engine_settings.iter().rev().find(|(name, _)| name == "maxmemory").map(|(_, value)| value);
    Ok(match maxmemory.and_then(|m| parse_bytes(m).ok()) {
        Some(0) | None => None,
        Some(bytes) => Some(bytes.saturating_mul(2).saturating_add(64 << 20).min(u32::MAX as u64) as usize),
    })
}

/// A size as redis.conf writes one: `1000`, `64k`, `512mb`, `2gb` (k, m and g are powers of 1000;
/// kb, mb and gb powers of 1024).
fn parse_bytes(text: &str) -> Result<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1 << 10,
        "m" => 1_000_000,
        "mb" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" => 1 << 30,
        _ => bail!("unknown unit '{unit}'"),
    };
    let number: u64 = digits.parse().context("not a number")?;
    number.checked_mul(multiplier).context("too large")
}

/// redis.conf's log levels in tracing's terms.
fn redis_log_level(level: &str) -> Option<&'static str> {
    match level {
        "debug" => Some("debug"),
        "verbose" => Some("debug"),
        "notice" => Some("info"),
        "warning" => Some("warn"),
        "nothing" => Some("off"),
        _ => None,
    }
}

fn init_logging(level: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = match level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_env("CACHET_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
    };
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// Completes on Ctrl-C or SIGTERM.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(error) => {
            tracing::warn!("cannot watch for SIGTERM ({error}); stop the server with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
