//! `cargo run --release -p cachet-bench`: cachet measured side by side with redis-server (and
//! valkey-server, when given) on this machine, in one run, and written into docs/PERFORMANCE.md.
//!
//! Machines here are noisy: the servers are measured in alternation and the ratios from one run
//! are the figure; absolute numbers are context.

mod client;
mod cluster;
mod hop;
mod memory;
mod near_cache;
mod plot;
mod proxy;
mod queue;
mod pubsub;
mod scripting;
mod servers;
mod stall;
mod table;
mod throughput;
mod tls;
mod transactions;
mod types;
mod wasm_cost;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use servers::{Binaries, Kind, Server};
use std::fmt::Write;
use std::path::{Path, PathBuf};

// The engine run natively (the sandbox's cost) counts its allocations as the component does, so
// both sides of that comparison run the same code.
#[global_allocator]
static ALLOCATOR: cachet_guest::memory::CountingAllocator = cachet_guest::memory::CountingAllocator;

#[derive(Parser, Debug)]
#[command(about = "Measure cachet against redis-server on this machine")]
struct Args {
    /// The cachet binary to measure [default: target/release/cachet; build it with `cargo build --release`]
    #[arg(long)]
    cachet: Option<PathBuf>,
    /// Rounds per throughput scenario (A B A B ...); medians are reported
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Fewer requests and one round: a smoke check, not a measurement
    #[arg(long)]
    quick: bool,
    /// Run only one kind of measurement
    #[arg(long)]
    only: Option<Part>,
    /// Do not rewrite docs/PERFORMANCE.md
    #[arg(long)]
    no_write: bool,
    /// A valkey-server binary to measure as a second peer in the throughput, memory and start-up
    /// parts (README.md says how to get one)
    #[arg(long, env = "CACHET_BENCH_VALKEY")]
    valkey: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Part {
    Throughput,
    Client,
    /// cachet's client with its near cache: GETs of keys kept locally against the same GETs over
    /// the network (cachet's client without it, the redis crate)
    NearCache,
    /// cachet's cluster client against the redis crate's on a three-master Redis Cluster
    Cluster,
    /// cachet's client on its in-process keyspace (`mem://`) and on a cachet server over loopback
    InProcess,
    Memory,
    /// Hashes, sets and lists: bytes per element, redis-benchmark's commands, a job queue
    Types,
    /// The LPUSH / BRPOP job queue alone (also part of `types`)
    Queue,
    /// ZRANGE 0 -1 and LRANGE 0 -1 of a million elements, and DEL of the sorted set: their time
    /// and the worst PING another client sees meanwhile
    LargeReplies,
    /// GET and SET over TLS, both servers with the same certificate
    Tls,
    /// PUBLISH fan-out to 1, 50 and 500 subscribers: messages delivered per second
    Pubsub,
    /// MULTI, ten SETs and EXEC per transaction: transactions per second
    Transactions,
    /// EVALSHA and FCALL of a small script (GET, INCR, EXPIRE)
    Scripting,
    Startup,
    Wasm,
    /// A request handed to another thread's runtime and answered back (the cost of a cross-core
    /// hop, docs/SCALING.md)
    Hop,
    /// redis-benchmark through twemproxy (nutcracker) to three cachet shards and to three redis-server shards
    Twemproxy,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let cachet = args.cachet.clone().unwrap_or_else(servers::default_cachet_binary);
    anyhow::ensure!(cachet.exists(), "{} not found: run `cargo build --release` first", cachet.display());
    if let Some(valkey) = &args.valkey {
        anyhow::ensure!(valkey.is_file(), "{} (--valkey or CACHET_BENCH_VALKEY) is not a file: see README.md for how to get valkey-server", valkey.display());
    }
    let binaries = Binaries { cachet, valkey: args.valkey.clone() };
    let wants = |part: Part| args.only.is_none_or(|only| only == part);
    let rounds = if args.quick { 1 } else { args.rounds.max(1) };
    let mut report = String::new();
    writeln!(report, "{}", machine(&binaries))?;
    if wants(Part::Throughput) {
        report.push_str(&throughput_section(&binaries, rounds, args.quick, !args.no_write)?);
    }
    if wants(Part::Client) {
        report.push_str(&client_section(&binaries, rounds, args.quick)?);
    }
    if wants(Part::NearCache) {
        report.push_str(&near_cache_section(&binaries, rounds, args.quick)?);
    }
    if wants(Part::Cluster) {
        report.push_str(&cluster_section(&binaries, rounds, args.quick)?);
    }
    if wants(Part::InProcess) {
        report.push_str(&in_process_section(&binaries, rounds, args.quick)?);
    }
    if wants(Part::Memory) {
        report.push_str(&memory_section(&binaries, args.quick)?);
    }
    if wants(Part::Types) {
        report.push_str(&types_section(&binaries, rounds, args.quick)?);
    }
    if args.only == Some(Part::Queue) {
        let (cachet_server, redis_server) = throughput::pair(&binaries)?;
        report.push_str(&queue_rows(&cachet_server, &redis_server, rounds, args.quick)?);
    }
    if wants(Part::LargeReplies) {
        report.push_str(&large_replies_section(&binaries, rounds, args.quick)?);
    }
    if wants(Part::Tls) {
        report.push_str(&tls_section(&binaries, rounds, args.quick)?);
    }
    if wants(Part::Pubsub) {
        report.push_str(&pubsub_section(&binaries, rounds, args.quick)?);
    }
    if wants(Part::Transactions) {
        report.push_str(&transactions_section(&binaries, rounds, args.quick)?);
    }
    if wants(Part::Scripting) {
        report.push_str(&scripting_section(&binaries, rounds, args.quick)?);
    }
    if wants(Part::Startup) {
        report.push_str(&startup_section(&binaries)?);
    }
    if wants(Part::Wasm) {
        report.push_str(&wasm_section(args.quick)?);
    }
    if wants(Part::Hop) {
        report.push_str(&hop_section(args.quick)?);
    }
    if wants(Part::Twemproxy) {
        report.push_str(&twemproxy_section(&binaries, rounds, args.quick)?);
    }
    println!("{report}");
    if !args.no_write && args.only.is_none() && !args.quick {
        write_into_doc(&report)?;
    }
    Ok(())
}

fn machine(binaries: &Binaries) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find_map(|l| l.strip_prefix("model name")).map(|m| m.trim_start_matches([' ', '\t', ':']).to_string()).unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:")).unwrap_or("").trim().to_string();
    let version = |binary: &Path| std::process::Command::new(binary).arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
    let mut peers = version(Path::new("redis-server"));
    if let Some(valkey) = &binaries.valkey {
        peers = format!("{peers}; {}", version(valkey));
    }
    format!("Machine: {cores} cores, {model}, {memory} of memory. Peers: {peers}.\n")
}

/// `plot`: draw the pipeline sweep into docs/perf/pipeline.png (not for `--no-write` or `--quick`).
fn throughput_section(binaries: &Binaries, rounds: usize, quick: bool, plot: bool) -> Result<String> {
    let requests = if quick { 20_000 } else { 200_000 };
    let kinds = binaries.kinds();
    let servers: Vec<Server> = kinds.iter().map(|kind| Server::start(*kind, binaries, &[])).collect::<Result<_>>()?;
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    let mut out = String::from("\n### Throughput and latency (redis-benchmark, medians of interleaved rounds)\n\n");
    writeln!(out, "{rounds} round(s) per scenario, {requests} requests per test.\n")?;
    out.push_str(&table::header(&["scenario", "test"], &names));
    for (scenario, args) in throughput::scenarios(requests) {
        for row in throughput::compare_all(&ports, &scenario, &args, rounds)? {
            out.push_str(&table::row(&[&format!("`{}`", row.scenario), &row.test], &row.samples));
        }
    }
    let (cachet_server, redis_server) = (&servers[0], &servers[1]);
    let sweep = throughput::pipeline_sweep(cachet_server, redis_server, requests / 2)?;
    out.push_str("\n| pipeline depth | cachet GET | redis GET | cachet SET | redis SET |\n|---:|---:|---:|---:|---:|\n");
    for (depth, [cg, rg, cs, rs]) in &sweep {
        writeln!(out, "| {depth} | {cg:.0} | {rg:.0} | {cs:.0} | {rs:.0} |")?;
    }
    if plot && !quick {
        let png = docs_dir().join("perf/pipeline.png");
        std::fs::create_dir_all(png.parent().context("docs/perf")?)?;
        plot::pipeline(&sweep, &png)?;
        out.push_str("\n![throughput vs pipeline depth](perf/pipeline.png)\n");
    }
    Ok(out)
}

fn client_section(binaries: &Binaries, rounds: usize, quick: bool) -> Result<String> {
    let ops = if quick { 5_000 } else { 100_000 };
    let redis = Server::start(Kind::Redis, binaries, &[])?;
    let url = format!("redis://127.0.0.1:{}/", redis.port);
    let rows = client::compare(&url, ops, rounds)?;
    let mut out = format!("\n### Clients (against redis-server; 64-byte values; {ops} operations per measurement)\n\n");
    out.push_str("| operation | tasks | cachet client ops/s | redis crate ops/s | fred ops/s | cachet/redis | cachet/fred |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for row in rows {
        let [c, r, f] = [0, 1, 2].map(|i| row.results[i].ops_per_sec);
        writeln!(out, "| {} | {} | {c:.0} | {r:.0} | {f:.0} | **{:.2}** | **{:.2}** |", row.op, row.tasks, c / r, c / f)?;
    }
    Ok(out)
}

fn near_cache_section(binaries: &Binaries, rounds: usize, quick: bool) -> Result<String> {
    let ops = if quick { 5_000 } else { 100_000 };
    let redis = Server::start(Kind::Redis, binaries, &[])?;
    let measured = near_cache::compare(&format!("redis://127.0.0.1:{}/", redis.port), ops, rounds)?;
    let mut out = format!(
        "\n### The near cache (GETs of {} keys it keeps, against the same GETs over loopback to redis-server; 64-byte values; {ops} operations per measurement)\n\n",
        client::KEYS
    );
    out.push_str("| tasks | near cache hits ops/s | cachet client ops/s | redis crate ops/s | near/cachet | near/redis | near p50 µs | cachet p50 µs | redis p50 µs |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in &measured.rows {
        let [near, cachet, redis] = [0, 1, 2].map(|i| row.results[i]);
        writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.0} | **{:.1}** | **{:.1}** | {:.2} | {:.1} | {:.1} |",
            row.tasks,
            near.ops_per_sec,
            cachet.ops_per_sec,
            redis.ops_per_sec,
            near.ops_per_sec / cachet.ops_per_sec,
            near.ops_per_sec / redis.ops_per_sec,
            near.p50_us,
            cachet.p50_us,
            redis.p50_us
        )?;
    }
    writeln!(out, "\nThe near cache counted {} hits and no miss while its rows were measured (every read it served).", measured.hits)?;
    Ok(out)
}

fn cluster_section(binaries: &Binaries, rounds: usize, quick: bool) -> Result<String> {
    let ops = if quick { 5_000 } else { 100_000 };
    let masters = 3;
    let cluster = cluster::Cluster::start(binaries, masters)?;
    let rows = cluster::compare(&cluster, ops, rounds)?;
    let mut out = format!(
        "\n### Cluster clients ({masters} redis-server masters, no replicas; one key in each of the 16384 slots, shuffled; 64-byte values; {ops} operations per measurement)\n\n"
    );
    out.push_str("| operation | tasks | cachet cluster client ops/s | redis crate cluster_async ops/s | cachet/redis | cachet p50 µs | redis p50 µs |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for row in rows {
        let [cachet, redis] = [0, 1].map(|i| row.results[i]);
        writeln!(
            out,
            "| {} | {} | {:.0} | {:.0} | **{:.2}** | {:.1} | {:.1} |",
            row.op,
            row.tasks,
            cachet.ops_per_sec,
            redis.ops_per_sec,
            cachet.ops_per_sec / redis.ops_per_sec,
            cachet.p50_us,
            redis.p50_us
        )?;
    }
    Ok(out)
}

fn in_process_section(binaries: &Binaries, rounds: usize, quick: bool) -> Result<String> {
    let ops = if quick { 5_000 } else { 100_000 };
    let server = Server::start(Kind::Cachet, binaries, &[])?;
    let urls = ["mem://".to_string(), format!("redis://127.0.0.1:{}/", server.port)];
    let rows = client::compare_cachet(&urls, ops, rounds)?;
    let mut out = format!("\n### cachet's client in process (`mem://`) and over loopback (64-byte values; {ops} operations per measurement)\n\n");
    out.push_str("| operation | tasks | `mem://` ops/s | cachet server over TCP ops/s | mem/TCP |\n|---|---:|---:|---:|---:|\n");
    for row in rows {
        let (memory, tcp) = (row.results[0].ops_per_sec, row.results[1].ops_per_sec);
        writeln!(out, "| {} | {} | {memory:.0} | {tcp:.0} | **{:.2}** |", row.op, row.tasks, memory / tcp)?;
    }
    Ok(out)
}

fn memory_section(binaries: &Binaries, quick: bool) -> Result<String> {
    let scale = if quick { 10 } else { 1 };
    let connections = if quick { 1_000 } else { 10_000 };
    let shapes = [
        memory::Shape { keys: 1_000_000 / scale, value_size: 64, ttl: false },
        memory::Shape { keys: 1_000_000 / scale, value_size: 64, ttl: true },
        memory::Shape { keys: 10_000_000 / scale, value_size: 8, ttl: false },
    ];
    let mut out = String::from("\n### Memory\n\nKeys `key:NNNNNNNNNNNN` (16 bytes) loaded over one pipelined connection (10,000 SETs per batch) into a fresh server; bytes per key as the growth of `used_memory` and of RSS over the empty server. Meanwhile another connection sends PINGs one after another: the worst round trip is the longest any client waited while the keyspace grew.\n\n");
    writeln!(out, "| keys | server | allocator | bytes/key (used_memory) | bytes/key (RSS) | worst PING during the load | load time |\n|---|---|---|---:|---:|---:|---:|")?;
    let mut ratios = String::new();
    for shape in shapes {
        let mut per_key = Vec::new();
        for kind in binaries.kinds() {
            let server = Server::start(kind, binaries, &[])?;
            let allocator = server.info_text("mem_allocator")?;
            let cost = memory::bytes_per_key(&server, shape)?;
            per_key.push((kind, cost));
            writeln!(
                out,
                "| {} | {} | {allocator} | {:.1} | {:.1} | {:.1} ms | {:.1} s |",
                shape.describe(),
                kind.name(),
                cost.used_memory_per_key,
                cost.rss_per_key,
                cost.worst_ping_ms,
                cost.load_seconds
            )?;
        }
        let (_, ours) = per_key[0];
        for (peer, theirs) in &per_key[1..] {
            let (used, rss) = (ours.used_memory_per_key / theirs.used_memory_per_key, ours.rss_per_key / theirs.rss_per_key);
            writeln!(ratios, "- {}: cachet/{} bytes per key **{used:.2}** (used_memory), **{rss:.2}** (RSS).", shape.describe(), peer.name())?;
        }
    }
    out.push('\n');
    out.push_str(&ratios);
    writeln!(out, "\n| server | idle RSS | RSS with {connections} idle connections |\n|---|---:|---:|")?;
    for kind in binaries.kinds() {
        let server = Server::start(kind, binaries, &[])?;
        let (idle, connected) = memory::idle_connections(&server, connections)?;
        let mib = |bytes: u64| bytes as f64 / 1048576.0;
        writeln!(out, "| {} | {:.1} MiB | {:.1} MiB |", kind.name(), mib(idle), mib(connected))?;
    }
    Ok(out)
}

fn types_section(binaries: &Binaries, rounds: usize, quick: bool) -> Result<String> {
    let collections = if quick { 1_000 } else { 10_000 };
    let mut out = format!(
        "\n### Hashes, sets, lists and sorted sets\n\n{} elements: {collections} collections of {} each ({} of {} for the large sorted sets), loaded over one pipelined connection; bytes per element as the growth of `used_memory` and of RSS over the empty server.\n\n",
        collections * types::ELEMENTS,
        types::ELEMENTS,
        collections * types::ELEMENTS / types::LARGE,
        types::LARGE
    );
    out.push_str("| elements | cachet bytes/element (used_memory) | redis | cachet/redis | cachet bytes/element (RSS) | redis | cachet/redis |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for shape in types::Shape::ALL {
        let cachet_cost = types::bytes_per_element(&Server::start(Kind::Cachet, binaries, &[])?, shape, collections)?;
        // Debian's redis-server 7.0 has no field TTLs (Redis 7.4 added them).
        let redis_cost = match shape {
            types::Shape::HashWithFieldTtls => None,
            _ => Some(types::bytes_per_element(&Server::start(Kind::Redis, binaries, &[])?, shape, collections)?),
        };
        let (used, rss) = match redis_cost {
            Some(r) => (
                format!("{:.1} | **{:.2}**", r.used_memory, cachet_cost.used_memory / r.used_memory),
                format!("{:.1} | **{:.2}**", r.rss, cachet_cost.rss / r.rss),
            ),
            None => ("n/a | n/a".to_string(), "n/a | n/a".to_string()),
        };
        writeln!(out, "| {} | {:.1} | {used} | {:.1} | {rss} |", shape.describe(), cachet_cost.used_memory, cachet_cost.rss)?;
    }
    let requests = if quick { 20_000 } else { 200_000 };
    let (cachet_server, redis_server) = throughput::pair(binaries)?;
    writeln!(out, "\nredis-benchmark, {rounds} interleaved round(s), {requests} requests per test; medians.\n")?;
    out.push_str(&table::header(&["scenario", "test"], &["cachet", "redis"]));
    for (scenario, args) in types::scenarios(requests) {
        for row in throughput::compare(&cachet_server, &redis_server, &scenario, &args, rounds)? {
            out.push_str(&table::row(&[&format!("`{}`", row.scenario), &types::test_name(&row.test)], &[row.cachet, row.redis]));
        }
    }
    out.push_str(&queue_rows(&cachet_server, &redis_server, rounds, quick)?);
    Ok(out)
}

/// GET and SET over TLS (see `tls`), both servers in alternation.
fn tls_section(binaries: &Binaries, rounds: usize, quick: bool) -> Result<String> {
    let requests = if quick { 20_000 } else { 200_000 };
    let certificates = tls::Certificates::make()?;
    let cachet_server = certificates.start(Kind::Cachet, binaries)?;
    let redis_server = certificates.start(Kind::Redis, binaries)?;
    let mut out = format!("\n### TLS\n\nredis-benchmark `--tls`, {rounds} interleaved round(s), {requests} requests per test; medians. TLS 1.3, no client certificates.\n\n");
    out.push_str(&table::header(&["scenario", "test"], &["cachet", "redis"]));
    for (scenario, args) in certificates.scenarios(requests) {
        for row in throughput::compare(&cachet_server, &redis_server, &scenario, &args, rounds)? {
            out.push_str(&table::row(&[&format!("`{}`", row.scenario), &row.test], &[row.cachet, row.redis]));
        }
    }
    Ok(out)
}

/// Large replies and deletes (see `stall`): each range command `rounds` times on each server in
/// alternation, medians; then the DEL once.
fn large_replies_section(binaries: &Binaries, rounds: usize, quick: bool) -> Result<String> {
    let elements = if quick { 100_000 } else { 1_000_000 };
    let servers = [Server::start(Kind::Cachet, binaries, &[])?, Server::start(Kind::Redis, binaries, &[])?];
    for server in &servers {
        stall::load(server, elements)?;
    }
    let mut out = format!(
        "\n### Large replies\n\nOne client reads {elements} elements in one reply, or deletes such a sorted set, while another sends PINGs one after another: the command's time and the worst PING round trip meanwhile (ms); {rounds} interleaved round(s), medians.\n\n| command | cachet time | cachet worst PING | redis time | redis worst PING |\n|---|---:|---:|---:|---:|\n"
    );
    for command in stall::COMMANDS {
        let repeat = if command[0] == "DEL" { 1 } else { rounds };
        let mut measured: [Vec<stall::Stall>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..repeat {
            for (server, results) in servers.iter().zip(&mut measured) {
                results.push(stall::measure(server, command)?);
            }
        }
        let [ours, theirs] = measured.map(|results| median_stall(&results));
        writeln!(
            out,
            "| `{}` | {:.1} | **{:.1}** | {:.1} | **{:.1}** |",
            command.join(" "),
            ours.command_ms,
            ours.worst_ping_ms,
            theirs.command_ms,
            theirs.worst_ping_ms
        )?;
    }
    Ok(out)
}

/// The median of each figure on its own.
fn median_stall(results: &[stall::Stall]) -> stall::Stall {
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    stall::Stall {
        command_ms: median(results.iter().map(|s| s.command_ms).collect()),
        worst_ping_ms: median(results.iter().map(|s| s.worst_ping_ms).collect()),
    }
}

/// The job queue (see `queue`), both servers in alternation; medians.
fn queue_rows(cachet: &Server, redis: &Server, rounds: usize, quick: bool) -> Result<String> {
    let (workers, jobs_each) = (50, if quick { 200 } else { 2_000 });
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..rounds {
        ours.push(queue::run(cachet, workers, workers, jobs_each)?.jobs_per_sec);
        theirs.push(queue::run(redis, workers, workers, jobs_each)?.jobs_per_sec);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (ours, theirs) = (median(&mut ours), median(&mut theirs));
    Ok(format!(
        "\nA job queue: {workers} producers LPUSH {} jobs in all, one at a time each, while {workers} consumers wait in BRPOP; {rounds} interleaved round(s), medians.\n\n| workload | cachet jobs/s | redis jobs/s | cachet/redis |\n|---|---:|---:|---:|\n| LPUSH / BRPOP queue | {ours:.0} | {theirs:.0} | **{:.2}** |\n",
        workers * jobs_each,
        ours / theirs
    ))
}

fn pubsub_section(binaries: &Binaries, rounds: usize, quick: bool) -> Result<String> {
    let deliveries = if quick { 50_000 } else { 500_000 };
    let (cachet_server, redis_server) = throughput::pair(binaries)?;
    let mut out = format!(
        "\n### Pub/Sub fan-out (one publisher, RESP2 subscribers on one channel, 64-byte messages; medians of {rounds} interleaved round(s))\n\n"
    );
    out.push_str("Messages delivered per second: PUBLISHes times subscribers, from the first PUBLISH to the last subscriber's last message.\n\n");
    out.push_str("| subscribers | publisher pipeline | messages | cachet deliveries/s | redis deliveries/s | cachet/redis |\n|---:|---:|---:|---:|---:|---:|\n");
    for row in pubsub::compare(&cachet_server, &redis_server, deliveries, rounds)? {
        writeln!(out, "| {} | {} | {} | {:.0} | {:.0} | **{:.2}** |", row.subscribers, row.pipeline, row.messages, row.cachet, row.redis, row.ratio())?;
    }
    Ok(out)
}

fn transactions_section(binaries: &Binaries, rounds: usize, quick: bool) -> Result<String> {
    let transactions = if quick { 8_000 } else { 80_000 };
    let (cachet_server, redis_server) = throughput::pair(binaries)?;
    let mut out = format!("\n### Transactions (MULTI, 10 SETs, EXEC; 50 connections; medians of {rounds} interleaved round(s))\n\n");
    out.push_str("| transactions per round trip | transactions | cachet tx/s | redis tx/s | cachet/redis |\n|---:|---:|---:|---:|---:|\n");
    for row in transactions::compare(&cachet_server, &redis_server, transactions, rounds)? {
        writeln!(out, "| {} | {} | {:.0} | {:.0} | **{:.2}** |", row.pipeline, row.transactions, row.cachet, row.redis, row.ratio())?;
    }
    Ok(out)
}

fn scripting_section(binaries: &Binaries, rounds: usize, quick: bool) -> Result<String> {
    let requests = if quick { 20_000 } else { 200_000 };
    let (cachet_server, redis_server) = throughput::pair(binaries)?;
    let sha = scripting::prepare(&cachet_server)?;
    scripting::prepare(&redis_server)?;
    let mut out = format!(
        "\n### Scripts (EVALSHA and FCALL of GET, INCR and EXPIRE of one key; redis-benchmark, {rounds} interleaved round(s), {requests} requests per test; medians)\n\n"
    );
    out.push_str(&table::header(&["scenario", "test"], &["cachet", "redis"]));
    for (scenario, args) in scripting::scenarios(&sha, requests) {
        for row in throughput::compare(&cachet_server, &redis_server, &scenario, &args, rounds)? {
            out.push_str(&table::row(&[&format!("`{}`", row.scenario), &types::test_name(&row.test)], &[row.cachet, row.redis]));
        }
    }
    Ok(out)
}

fn startup_section(binaries: &Binaries) -> Result<String> {
    let median_ms = |kind: Kind, extra: &[&str]| -> Result<f64> {
        let mut times: Vec<f64> = (0..5).map(|_| Server::start(kind, binaries, extra).map(|s| s.startup.as_secs_f64() * 1000.0)).collect::<Result<_>>()?;
        times.sort_by(f64::total_cmp);
        Ok(times[2])
    };
    // Warm the compiled-component cache once, then measure.
    drop(Server::start(Kind::Cachet, binaries, &[])?);
    let warm = median_ms(Kind::Cachet, &[])?;
    let cold = median_ms(Kind::Cachet, &["--no-cache"])?;
    let mut out = format!(
        "\n### Start-up (process start to first PONG, median of 5)\n\n| server | ms |\n|---|---:|\n| cachet, compiled engine cached | {warm:.1} |\n| cachet, compiling the engine (`--no-cache`) | {cold:.1} |\n"
    );
    for peer in &binaries.kinds()[1..] {
        writeln!(out, "| {} | {:.1} |", peer.name(), median_ms(*peer, &[])?)?;
    }
    Ok(out)
}

/// redis-benchmark through nutcracker to three shards of each server, in alternation. Keys are
/// random (`-r`) so that they spread over the shards.
fn twemproxy_section(binaries: &Binaries, rounds: usize, quick: bool) -> Result<String> {
    let requests = if quick { 20_000 } else { 200_000 };
    let proxies = [proxy::Proxy::start(Kind::Cachet, binaries, 3)?, proxy::Proxy::start(Kind::Redis, binaries, 3)?];
    let ports: Vec<u16> = proxies.iter().map(|p| p.port).collect();
    let mut out = format!(
        "\n### Three shards behind twemproxy (nutcracker, README.md's configuration; redis-benchmark to the proxy, medians of {rounds} interleaved round(s), {requests} requests per test)\n\n"
    );
    out.push_str(&table::header(&["scenario", "test"], &["cachet", "redis"]));
    for pipeline in ["1", "16"] {
        let n = requests.to_string();
        let args: Vec<String> = ["-t", "set,get", "-n", &n, "-c", "50", "-P", pipeline, "-r", "100000", "-d", "64"].iter().map(|s| s.to_string()).collect();
        let scenario = format!("-c 50 -P {pipeline} -r 100000 -d 64");
        for row in throughput::compare_all(&ports, &scenario, &args, rounds)? {
            out.push_str(&table::row(&[&format!("`{scenario}`"), &row.test], &row.samples));
        }
    }
    Ok(out)
}

fn wasm_section(quick: bool) -> Result<String> {
    let commands = if quick { 100_000 } else { 2_000_000 };
    let mut out = String::from("\n### The sandbox's cost (same engine code, native vs component, SET/GET alternating)\n\n| commands per call | native ns/command | component ns/command | component/native |\n|---:|---:|---:|---:|\n");
    for batch in [1, 16, 64] {
        let cost = wasm_cost::measure(batch, commands)?;
        writeln!(out, "| {} | {:.0} | {:.0} | **{:.2}** |", cost.batch, cost.native_ns, cost.wasm_ns, cost.wasm_ns / cost.native_ns)?;
    }
    Ok(out)
}

fn hop_section(quick: bool) -> Result<String> {
    let requests = if quick { 100_000 } else { 2_000_000 };
    let mut out = String::from(
        "\n### A cross-thread hop (a request handed to another thread's runtime and answered back)\n\n| requests per message | ns per request |\n|---:|---:|\n",
    );
    for batch in [1, 16, 64] {
        let hop = hop::measure(batch, requests)?;
        writeln!(out, "| {} | {:.0} |", hop.batch, hop.ns_per_request)?;
    }
    Ok(out)
}

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

/// Replaces the generated part of docs/PERFORMANCE.md.
fn write_into_doc(report: &str) -> Result<()> {
    const START: &str = "<!-- results:start -->";
    const END: &str = "<!-- results:end -->";
    let path = docs_dir().join("PERFORMANCE.md");
    let doc = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let (Some(start), Some(end)) = (doc.find(START), doc.find(END)) else {
        anyhow::bail!("{} lacks the {START} / {END} markers", path.display());
    };
    let date = std::process::Command::new("date").arg("+%Y-%m-%d").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
    let updated = format!("{}{START}\nMeasured {date}. {report}\n{}", &doc[..start], &doc[end..]);
    std::fs::write(&path, updated)?;
    println!("wrote {}", path.display());
    Ok(())
}
