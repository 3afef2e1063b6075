//! Redis's "server" group, apart from CONFIG and COMMAND: what the server tells about itself (INFO,
//! TIME, LASTSAVE, ROLE) and the administrative commands cachet answers without having what they
//! act on (SAVE, BGSAVE, DEBUG).

use super::{Command, Ctx, Flag, is};
use crate::keyspace::KeyspaceStats;
use crate::server_facts::REDIS_VERSION;
use std::fmt::Write;

pub const COMMANDS: &[Command] = &[
    Command::new("info", -1, info).flags(&[Flag::Loading, Flag::Stale]).group("server")
        .doc("Returns information and statistics about the server.", "1.0.0", "O(1)", "[section [section ...]]"),
    Command::new("time", 1, time).flags(&[Flag::Loading, Flag::Stale, Flag::Fast]).group("server")
        .doc("Returns the server time.", "2.6.0", "O(1)", ""),
    Command::new("lastsave", 1, lastsave).flags(&[Flag::Loading, Flag::Stale, Flag::Fast]).group("server")
        .doc("Returns the Unix timestamp of the last successful save to disk.", "1.0.0", "O(1)", ""),
    Command::new("save", 1, no_snapshots).flags(&[Flag::Admin, Flag::NoScript]).group("server")
        .doc("Synchronously saves the database(s) to disk.", "1.0.0", "O(N) where N is the total number of keys in all databases", ""),
    Command::new("bgsave", -1, no_snapshots).flags(&[Flag::Admin, Flag::NoScript]).group("server")
        .doc("Asynchronously saves the database(s) to disk.", "1.0.0", "O(N) where N is the total number of keys in all databases", "[SCHEDULE]"),
    Command::new("role", 1, role).flags(&[Flag::NoScript, Flag::Loading, Flag::Stale, Flag::Fast]).group("server")
        .doc("Returns the replication role.", "2.8.12", "O(1)", ""),
    Command::new("debug", -2, debug).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("server")
        .doc("A container for debugging commands.", "1.0.0", "Depends on subcommand.", "subcommand [argument ...]"),
];

/// INFO's sections in Redis's order: name, title, and whether a plain INFO (`default`) shows it.
/// `all` shows every one, `everything` too (cachet has no module sections to add).
const SECTIONS: &[(&str, &str, bool)] = &[
    ("server", "Server", true),
    ("clients", "Clients", true),
    ("memory", "Memory", true),
    ("persistence", "Persistence", true),
    ("stats", "Stats", true),
    ("replication", "Replication", true),
    ("cpu", "CPU", true),
    ("modules", "Modules", true),
    ("commandstats", "Commandstats", false),
    ("errorstats", "Errorstats", true),
    ("latencystats", "Latencystats", false),
    ("cluster", "Cluster", true),
    ("keyspace", "Keyspace", true),
];

fn info(ctx: &mut Ctx, args: &[&[u8]]) {
    let asked = &args[1..];
    let all = asked.iter().any(|a| is(a, "all") || is(a, "everything"));
    let default = asked.is_empty() || asked.iter().any(|a| is(a, "default"));
    let mut text = String::new();
    for (name, title, in_default) in SECTIONS {
        if all || (default && *in_default) || asked.iter().any(|a| is(a, name)) {
            if !text.is_empty() {
                text.push_str("\r\n");
            }
            let _ = write!(text, "# {title}\r\n");
            write_section(ctx, name, &mut text);
        }
    }
    ctx.reply.verbatim(text.as_bytes());
}

fn write_section(ctx: &Ctx, section: &str, out: &mut String) {
    let fields = match section {
        "server" => server_fields(ctx),
        "clients" => client_fields(ctx),
        "memory" => memory_fields(ctx),
        "persistence" => persistence_fields(ctx),
        "stats" => stats_fields(ctx),
        "replication" => replication_fields(ctx),
        "cpu" => cpu_fields(),
        "cluster" => vec![("cluster_enabled", "0".into())],
        _ => Vec::new(),
    };
    for (name, value) in fields {
        let _ = write!(out, "{name}:{value}\r\n");
    }
    match section {
        "keyspace" => {
            for db in 0..ctx.keyspace.databases() {
                let keys = ctx.keyspace.len(db);
                if keys > 0 {
                    let _ = write!(out, "db{db}:keys={keys},expires={},avg_ttl=0\r\n", ctx.keyspace.volatile_len(db));
                }
            }
        }
        "commandstats" => {
            for stats in ctx.stats.commands_by_name() {
                let usec = stats.nanos / 1000;
                let per_call = if stats.calls == 0 { 0.0 } else { stats.nanos as f64 / 1000.0 / stats.calls as f64 };
                let _ = write!(
                    out,
                    "cmdstat_{}:calls={},usec={usec},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
                    stats.name, stats.calls, stats.rejected, stats.failed
                );
            }
        }
        "latencystats" => write_latency_percentiles(ctx, out),
        "errorstats" => {
            for (kind, count) in &ctx.stats.errors {
                let _ = write!(out, "errorstat_{kind}:count={count}\r\n");
            }
        }
        _ => {}
    }
}

/// INFO latencystats: each command's duration percentiles (`latency-tracking-info-percentiles`),
/// in microseconds, as Redis writes them.
fn write_latency_percentiles(ctx: &Ctx, out: &mut String) {
    for stats in ctx.stats.commands_by_name() {
        let Some(histogram) = &stats.histogram else { continue };
        let _ = write!(out, "latency_percentiles_usec_{}:", stats.name);
        for (at, percentile) in ctx.config.latency_tracking_info_percentiles.iter().enumerate() {
            let separator = if at == 0 { "" } else { "," };
            let _ = write!(out, "{separator}p{percentile}={:.3}", histogram.percentile(*percentile) as f64 / 1000.0);
        }
        out.push_str("\r\n");
    }
}

/// cachet has no replicas: Redis's fields for a master without any.
fn replication_fields(ctx: &Ctx) -> Fields {
    vec![
        ("role", "master".into()),
        ("connected_slaves", "0".into()),
        ("master_failover_state", "no-failover".into()),
        ("master_replid", ctx.facts.run_id.clone()),
        ("master_replid2", "0".repeat(40)),
        ("master_repl_offset", "0".into()),
        ("second_repl_offset", "-1".into()),
        ("repl_backlog_active", "0".into()),
        ("repl_backlog_size", "1048576".into()),
        ("repl_backlog_first_byte_offset", "0".into()),
        ("repl_backlog_histlen", "0".into()),
    ]
}

/// The engine is not told the process's CPU time: the fields are there, at zero, for tools that
/// read them.
fn cpu_fields() -> Fields {
    ["used_cpu_sys", "used_cpu_user", "used_cpu_sys_children", "used_cpu_user_children", "used_cpu_sys_main_thread", "used_cpu_user_main_thread"]
        .into_iter()
        .map(|name| (name, "0.000000".to_string()))
        .collect()
}

type Fields = Vec<(&'static str, String)>;

fn server_fields(ctx: &Ctx) -> Fields {
    let uptime = ctx.now.mono_ns.saturating_sub(ctx.facts.started.mono_ns) / 1_000_000_000;
    let os = if ctx.config.os.is_empty() { "wasm32-wasip2".to_string() } else { ctx.config.os.clone() };
    vec![
        ("redis_version", REDIS_VERSION.into()),
        ("redis_git_sha1", "00000000".into()),
        ("redis_git_dirty", "0".into()),
        ("redis_mode", "standalone".into()),
        ("cachet_version", env!("CARGO_PKG_VERSION").into()),
        ("os", os),
        ("arch_bits", "64".into()),
        ("multiplexing_api", "tokio".into()),
        ("process_id", ctx.config.process_id.to_string()),
        ("run_id", ctx.facts.run_id.clone()),
        ("tcp_port", ctx.config.port.to_string()),
        ("server_time_usec", (ctx.now.wall_ms * 1000).to_string()),
        ("uptime_in_seconds", uptime.to_string()),
        ("uptime_in_days", (uptime / 86_400).to_string()),
        ("hz", ctx.config.hz.to_string()),
        ("configured_hz", ctx.config.hz.to_string()),
        ("executable", ctx.config.executable.clone()),
        ("config_file", ctx.config.config_file.clone()),
    ]
}

fn client_fields(ctx: &Ctx) -> Fields {
    vec![
        ("connected_clients", (ctx.others.len() + 1).to_string()),
        ("cluster_connections", "0".into()),
        ("maxclients", ctx.config.maxclients.to_string()),
        ("client_recent_max_input_buffer", "0".into()),
        ("client_recent_max_output_buffer", largest_output(ctx).to_string()),
        ("blocked_clients", ctx.blocking.len().to_string()),
        ("tracking_clients", ctx.tracking.clients_count().to_string()),
        ("clients_in_timeout_table", "0".into()),
    ]
}

fn memory_fields(ctx: &Ctx) -> Fields {
    let used = crate::memory::used() as u64;
    let peak = crate::memory::peak() as u64;
    let linear = crate::memory::linear_memory() as u64;
    let rss = if linear > 0 { linear } else { used };
    let functions = function_figures(ctx);
    let vm_total = script_memory(ctx) + functions.vm_memory;
    vec![
        ("used_memory", used.to_string()),
        ("used_memory_human", human_bytes(used)),
        ("used_memory_rss", rss.to_string()),
        ("used_memory_rss_human", human_bytes(rss)),
        ("used_memory_peak", peak.to_string()),
        ("used_memory_peak_human", human_bytes(peak)),
        ("used_memory_lua", script_memory(ctx).to_string()),
        ("used_memory_vm_eval", script_memory(ctx).to_string()),
        ("used_memory_lua_human", human_bytes(script_memory(ctx))),
        ("used_memory_scripts_eval", cached_script_bytes(ctx).to_string()),
        ("number_of_cached_scripts", cached_scripts(ctx).to_string()),
        ("number_of_functions", functions.functions.to_string()),
        ("number_of_libraries", functions.libraries.to_string()),
        ("used_memory_vm_functions", functions.vm_memory.to_string()),
        ("used_memory_vm_total", vm_total.to_string()),
        ("used_memory_vm_total_human", human_bytes(vm_total)),
        ("used_memory_functions", functions.overhead.to_string()),
        ("used_memory_scripts", (cached_script_bytes(ctx) + functions.overhead).to_string()),
        ("used_memory_scripts_human", human_bytes(cached_script_bytes(ctx) + functions.overhead)),
        ("maxmemory", ctx.config.maxmemory.to_string()),
        ("maxmemory_human", human_bytes(ctx.config.maxmemory)),
        ("maxmemory_policy", ctx.config.maxmemory_policy.name().into()),
        ("mem_clients_slaves", "0".into()),
        ("mem_clients_normal", clients_output(ctx).to_string()),
        ("mem_allocator", "dlmalloc".into()),
        // Both lazy-free figures are in this section in Redis 7, the count of freed ones too.
        ("lazyfree_pending_objects", ctx.keyspace.lazyfree_pending_objects().to_string()),
        ("lazyfreed_objects", ctx.keyspace.stats.lazyfreed_objects.to_string()),
    ]
}

/// The Lua interpreter's memory (it is part of `used_memory` too: Lua allocates through the
/// engine's allocator).
fn script_memory(ctx: &Ctx) -> u64 {
    #[cfg(feature = "lua")]
    return ctx.scripts.used_memory() as u64;
    #[cfg(not(feature = "lua"))]
    return { let _ = ctx; 0 };
}

fn cached_scripts(ctx: &Ctx) -> usize {
    #[cfg(feature = "lua")]
    return ctx.scripts.len();
    #[cfg(not(feature = "lua"))]
    return { let _ = ctx; 0 };
}

/// What FUNCTION's libraries hold, for INFO: counts, and memory in and outside their interpreter.
/// What EVAL's script cache holds besides the interpreter: the scripts' bodies and names.
fn cached_script_bytes(ctx: &Ctx) -> u64 {
    #[cfg(feature = "lua")]
    return ctx.scripts.cached_bytes() as u64;
    #[cfg(not(feature = "lua"))]
    return { let _ = ctx; 0 };
}

#[derive(Default)]
struct FunctionFigures {
    functions: usize,
    libraries: usize,
    vm_memory: u64,
    overhead: u64,
}

fn function_figures(ctx: &Ctx) -> FunctionFigures {
    #[cfg(feature = "lua")]
    return {
        let functions = &ctx.scripts.functions;
        FunctionFigures {
            functions: functions.functions_count(),
            libraries: functions.libraries_count(),
            vm_memory: functions.used_memory_vm() as u64,
            overhead: functions.used_memory_overhead() as u64,
        }
    };
    #[cfg(not(feature = "lua"))]
    return { let _ = ctx; FunctionFigures::default() };
}

fn persistence_fields(ctx: &Ctx) -> Fields {
    vec![
        ("loading", "0".into()),
        ("rdb_changes_since_last_save", "0".into()),
        ("rdb_bgsave_in_progress", "0".into()),
        ("rdb_last_save_time", (ctx.facts.started.wall_ms / 1000).to_string()),
        ("aof_enabled", "0".into()),
    ]
}

fn stats_fields(ctx: &Ctx) -> Fields {
    let stats = &ctx.stats;
    let KeyspaceStats { hits, misses, expired_keys, evicted_keys, expired_subkeys, .. } = ctx.keyspace.stats;
    vec![
        ("total_connections_received", stats.connections_received.to_string()),
        ("total_commands_processed", stats.commands_processed.to_string()),
        ("instantaneous_ops_per_sec", stats.ops_per_sec.to_string()),
        ("total_net_input_bytes", stats.net_input_bytes.to_string()),
        ("total_net_output_bytes", stats.net_output_bytes.to_string()),
        ("rejected_connections", stats.rejected_connections.to_string()),
        ("expired_keys", expired_keys.to_string()),
        ("expired_subkeys", expired_subkeys.to_string()),
        ("evicted_keys", evicted_keys.to_string()),
        ("keyspace_hits", hits.to_string()),
        ("keyspace_misses", misses.to_string()),
        ("pubsub_channels", ctx.pubsub.channels().to_string()),
        ("pubsub_patterns", ctx.pubsub.patterns().to_string()),
        ("pubsubshard_channels", ctx.pubsub.shard_channels().to_string()),
        ("tracking_total_keys", ctx.tracking.keys_count().to_string()),
        ("tracking_total_items", ctx.tracking.items_count().to_string()),
        ("tracking_total_prefixes", ctx.tracking.prefixes_count().to_string()),
        ("total_error_replies", stats.error_replies.to_string()),
        ("client_output_buffer_limit_disconnections", stats.output_limit_disconnections.to_string()),
        ("rate_limited_connections", stats.rate_limited_connections.to_string()),
        ("rate_limited_auth_attempts", stats.rate_limited_auth_attempts.to_string()),
        ("engine_faults", ctx.config.engine_faults.to_string()),
    ]
}

/// The most output waiting for one client (CLIENT LIST's `omem`). Redis keeps the largest of the
/// last few seconds; cachet reports the largest now.
fn largest_output(ctx: &Ctx) -> u64 {
    ctx.all_sessions().iter().map(|s| super::client::output_memory(ctx, s)).max().unwrap_or(0)
}

/// The output waiting for every client, the sum of CLIENT LIST's `tot-mem`: cachet has no
/// replicas, so every client is in `mem_clients_normal`.
fn clients_output(ctx: &Ctx) -> u64 {
    ctx.all_sessions().iter().map(|s| super::client::output_memory(ctx, s)).sum()
}

/// Sizes as Redis's `*_human` fields write them: `512B`, `1.50K`, `2.00M`, `1.00G`.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [(&str, f64); 3] = [("G", 1024.0 * 1024.0 * 1024.0), ("M", 1024.0 * 1024.0), ("K", 1024.0)];
    for (unit, size) in UNITS {
        if bytes as f64 >= size {
            return format!("{:.2}{unit}", bytes as f64 / size);
        }
    }
    format!("{bytes}B")
}

fn time(ctx: &mut Ctx, _args: &[&[u8]]) {
    let ms = ctx.now.wall_ms;
    ctx.reply.array(2);
    ctx.reply.bulk((ms / 1000).to_string().as_bytes());
    ctx.reply.bulk(((ms % 1000) * 1000).to_string().as_bytes());
}

fn lastsave(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.integer((ctx.facts.started.wall_ms / 1000) as i64);
}

fn no_snapshots(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.error("ERR cachet is an in-memory cache and keeps no snapshots on disk");
}

fn role(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.array(3);
    ctx.reply.bulk(b"master");
    ctx.reply.integer(0);
    ctx.reply.array(0);
}

/// DEBUG reaches into a server's internals; cachet answers only what is harmless. In debug builds
/// of cachet, DEBUG PANIC makes the engine trap and DEBUG SPIN makes it run forever, so that fault
/// containment and call deadlines can be tested.
fn debug(ctx: &mut Ctx, args: &[&[u8]]) {
    #[cfg(feature = "fault-injection")]
    if is(args[1], "PANIC") {
        panic!("DEBUG PANIC: a deliberate engine fault");
    }
    #[cfg(feature = "fault-injection")]
    if is(args[1], "SPIN") {
        // A runaway call: only the host's deadline ends it.
        loop {
            std::hint::black_box(ctx.now);
        }
    }
    if is(args[1], "SLEEP") && args.get(2).is_some_and(|a| *a == b"0") {
        ctx.reply.ok();
        return;
    }
    ctx.reply.error(&format!("ERR DEBUG {} is not supported by cachet", String::from_utf8_lossy(args[1]).to_ascii_uppercase()));
}

#[cfg(test)]
mod tests {
    use super::human_bytes;
    use crate::engine::test_harness::Harness;

    fn body(reply: &str) -> &str {
        reply.split_once("\r\n").map(|(_, rest)| rest).unwrap_or("")
    }

    #[test]
    fn info_sections() {
        let mut c = Harness::new();
        c.run(&["SET", "k", "v", "EX", "100"]);
        c.run(&["GET", "k"]);
        c.run(&["GET", "missing"]);
        let reply = c.run(&["INFO"]);
        let text = body(&reply);
        assert!(text.starts_with("# Server\r\nredis_version:7.4.0\r\n"), "{text}");
        for section in ["# Clients\r\n", "\r\n\r\n# Memory\r\n", "# Stats\r\n", "# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n"] {
            assert!(text.contains(section), "{section:?} in {text}");
        }
        assert!(text.contains("keyspace_hits:1\r\n") && text.contains("keyspace_misses:1\r\n"), "{text}");
        assert!(text.contains("connected_clients:1\r\n"));
        let stats = c.run(&["INFO", "STATS"]);
        assert!(body(&stats).starts_with("# Stats\r\n") && !stats.contains("# Server"), "{stats}");
        assert!(c.run(&["INFO", "nosuch"]).starts_with("$0\r\n"));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(512), "512B");
        assert_eq!(human_bytes(1536), "1.50K");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.00M");
    }

    #[test]
    fn time_and_admin() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["TIME"]), "*2\r\n$10\r\n1700000000\r\n$1\r\n0\r\n");
        assert_eq!(c.run(&["LASTSAVE"]), ":1700000000\r\n");
        assert_eq!(c.run(&["ROLE"]), "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
        assert!(c.run(&["SAVE"]).starts_with("-ERR cachet is an in-memory cache"));
        assert_eq!(c.run(&["DEBUG", "SLEEP", "0"]), "+OK\r\n");
        assert_eq!(c.run(&["DEBUG", "segfault"]), "-ERR DEBUG SEGFAULT is not supported by cachet\r\n");
    }

    #[test]
    fn info_selects_sections_as_redis_does() {
        let mut c = Harness::new();
        let titles = |reply: &str| -> Vec<String> { reply.lines().filter(|l| l.starts_with('#')).map(str::to_string).collect() };
        let default = ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Modules", "# Errorstats", "# Cluster", "# Keyspace"];
        assert_eq!(titles(&c.run(&["INFO"])), default);
        assert_eq!(titles(&c.run(&["INFO", "default"])), default);
        let all = c.run(&["INFO", "all"]);
        assert!(titles(&all).contains(&"# Commandstats".to_string()) && titles(&all).contains(&"# Latencystats".to_string()));
        assert_eq!(titles(&c.run(&["INFO", "everything"])), titles(&all));
        assert_eq!(titles(&c.run(&["INFO", "cpu", "CLUSTER"])), ["# CPU", "# Cluster"]);
        assert_eq!(c.run(&["INFO", "bogus"]), "$0\r\n\r\n");
        assert!(c.run(&["INFO", "cluster"]).contains("cluster_enabled:0\r\n"));
    }

    #[test]
    fn command_and_error_statistics() {
        // Every command takes 1.5 µs on the stopwatch.
        crate::stopwatch::fake::step_by(1500);
        let mut c = Harness::new();
        c.run(&["SET", "k", "v"]);
        c.run(&["SET", "k", "v"]);
        c.run(&["INCR", "k"]);
        c.run(&["GET"]);
        c.run(&["NOPE"]);
        let stats = c.run(&["INFO", "commandstats", "errorstats", "stats"]);
        assert!(stats.contains("cmdstat_set:calls=2,usec=3,usec_per_call=1.50,rejected_calls=0,failed_calls=0\r\n"), "{stats}");
        assert!(stats.contains("cmdstat_incr:calls=1,usec=1,usec_per_call=1.50,rejected_calls=0,failed_calls=1\r\n"), "{stats}");
        assert!(stats.contains("cmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n"), "{stats}");
        assert!(stats.contains("errorstat_ERR:count=3\r\n") && stats.contains("total_error_replies:3\r\n"), "{stats}");
    }

    #[test]
    fn latency_percentiles_follow_their_settings() {
        crate::stopwatch::fake::step_by(1000);
        let mut c = Harness::new();
        c.run(&["SET", "k", "v"]);
        let stats = c.run(&["INFO", "latencystats"]);
        assert!(stats.contains("latency_percentiles_usec_set:p50=1.003,p99=1.003,p99.9=1.003\r\n"), "{stats}");
        c.run(&["CONFIG", "SET", "latency-tracking-info-percentiles", "0.5 100"]);
        assert!(c.run(&["INFO", "latencystats"]).contains("latency_percentiles_usec_set:p0.5=1.003,p100=1.003\r\n"));
        assert_eq!(c.run(&["CONFIG", "SET", "latency-tracking-info-percentiles", "101"]), "-ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]\r\n");
        c.run(&["CONFIG", "RESETSTAT"]);
        c.run(&["CONFIG", "SET", "latency-tracking", "no"]);
        c.run(&["GET", "k"]);
        assert!(!c.run(&["INFO", "latencystats"]).contains("usec_get"), "no tracking, no histogram");
    }
}
