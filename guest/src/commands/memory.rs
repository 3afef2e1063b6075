//! MEMORY: how much memory a key takes, and the allocator's state, as far as the engine knows it.
//! The figures are cachet's own (its entries, tables and buffers), so they differ from Redis's
//! for the same data; the replies' shapes and errors are Redis's.

use super::{Command, Ctx, Flag, is, parse_i64, subcommand_required, write_help};
use crate::keyspace::{Entry, Key};

pub const COMMANDS: &[Command] = &[Command::new("memory", -2, subcommand_required)
    .group("server")
    .doc("A container for memory diagnostics commands.", "4.0.0", "Depends on subcommand.", "")
    .subcommands(&[
        Command::new("memory|doctor", 2, doctor).group("server")
            .doc("Outputs a memory problems report.", "4.0.0", "O(1)", ""),
        Command::new("memory|malloc-stats", 2, malloc_stats).group("server")
            .doc("Returns the allocator statistics.", "4.0.0", "Depends on how much memory is allocated, could be slow", ""),
        Command::new("memory|stats", 2, stats).group("server")
            .doc("Returns details about memory usage.", "4.0.0", "O(1)", ""),
        Command::new("memory|purge", 2, purge).group("server")
            .doc("Asks the allocator to release memory.", "4.0.0", "Depends on how much memory is allocated, could be slow", ""),
        Command::new("memory|usage", -3, usage).flags(&[Flag::ReadOnly]).keys(2, 2, 1).group("server")
            .doc("Estimates the memory usage of a key.", "4.0.0", "O(N) where N is the number of samples.", "key [SAMPLES count]"),
        Command::new("memory|help", 2, help).flags(&[Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns helpful text about the different subcommands.", "4.0.0", "O(1)", ""),
    ])];

/// Elements of a collection MEMORY USAGE looks at unless told otherwise, as in Redis.
const DEFAULT_SAMPLES: usize = 5;

/// Below this much memory in use, DOCTOR has nothing to judge (Redis's threshold).
const DOCTOR_MIN_USED: usize = 5 * 1024 * 1024;

/// `MEMORY USAGE key [SAMPLES count]`: the bytes of the key's entry, its place in the index, the
/// key and the value, collections estimated from `count` elements (0: all of them).
fn usage(ctx: &mut Ctx, args: &[&[u8]]) {
    let mut samples = DEFAULT_SAMPLES;
    let mut options = args[3..].iter();
    while let Some(option) = options.next() {
        let Some(count) = options.next().filter(|_| is(option, "samples")) else {
            ctx.reply.error("ERR syntax error");
            return;
        };
        match parse_i64(count) {
            None => return ctx.reply.error("ERR value is not an integer or out of range"),
            Some(n) if n < 0 => return ctx.reply.error("ERR syntax error"),
            Some(n) => samples = usize::try_from(n).unwrap_or(usize::MAX),
        }
    }
    let (db, now, key) = (ctx.db(), ctx.now_ms(), args[2]);
    let Some(entry) = ctx.keyspace.peek(db, key, now) else {
        return ctx.reply.null();
    };
    let index_slot = 2 * std::mem::size_of::<u32>();
    // A key with a TTL has its deadline (three words) in the database's list of them.
    let deadline = if entry.has_ttl() { 3 * std::mem::size_of::<u32>() } else { 0 };
    let bytes = std::mem::size_of::<(Key, Entry)>() + index_slot + deadline + Key::heap_size_of(key) + entry.value.memory_usage(samples);
    ctx.reply.integer(i64::try_from(bytes).unwrap_or(i64::MAX));
}

/// `MEMORY STATS`: Redis's fields, in its order. cachet's figures: the bytes its allocator counts
/// (total, peak, at the first call), each database's key and expiry tables, the component's
/// linear memory as the resident size; nothing for what cachet has not (replication, AOF, Lua,
/// functions, cluster). Ratios are computed in single precision, as Redis computes them.
fn stats(ctx: &mut Ctx, _args: &[&[u8]]) {
    let total = crate::memory::used() as u64;
    let peak = (crate::memory::peak() as u64).max(total);
    let startup = (ctx.facts.startup_allocated as u64).min(total);
    let resident = (crate::memory::linear_memory() as u64).max(total);
    let databases: Vec<(usize, usize, u64, u64)> = (0..ctx.keyspace.databases())
        .filter(|&db| ctx.keyspace.len(db) > 0)
        .map(|db| {
            let (main, expires) = ctx.keyspace.overhead(db);
            (db, ctx.keyspace.len(db), main as u64, expires as u64)
        })
        .collect();
    let keys: u64 = databases.iter().map(|&(_, keys, ..)| keys as u64).sum();
    let overhead = startup + databases.iter().map(|&(_, _, main, expires)| main + expires).sum::<u64>();
    let net = total - startup;
    let dataset = total.saturating_sub(overhead);
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { f64::from(a as f32 / b as f32) };
    let integers_before: [(&str, u64); 10] = [
        ("peak.allocated", peak),
        ("total.allocated", total),
        ("startup.allocated", startup),
        ("replication.backlog", 0),
        ("clients.slaves", 0),
        ("clients.normal", 0),
        ("cluster.links", 0),
        ("aof.buffer", 0),
        ("lua.caches", 0),
        ("functions.caches", 0),
    ];
    ctx.reply.map(integers_before.len() + databases.len() + 17);
    for (name, value) in integers_before {
        integer_field(ctx, name, value);
    }
    for (db, _, main, expires) in databases {
        ctx.reply.bulk(format!("db.{db}").as_bytes());
        ctx.reply.map(2);
        integer_field(ctx, "overhead.hashtable.main", main);
        integer_field(ctx, "overhead.hashtable.expires", expires);
    }
    integer_field(ctx, "overhead.total", overhead);
    integer_field(ctx, "keys.count", keys);
    integer_field(ctx, "keys.bytes-per-key", net.checked_div(keys).unwrap_or(0));
    integer_field(ctx, "dataset.bytes", dataset);
    double_field(ctx, "dataset.percentage", ratio(dataset * 100, net));
    double_field(ctx, "peak.percentage", ratio(total * 100, peak));
    // The component's allocator hands out exactly what is asked: allocated and active are one.
    integer_field(ctx, "allocator.allocated", total);
    integer_field(ctx, "allocator.active", total);
    integer_field(ctx, "allocator.resident", resident);
    double_field(ctx, "allocator-fragmentation.ratio", ratio(total, total));
    integer_field(ctx, "allocator-fragmentation.bytes", 0);
    double_field(ctx, "allocator-rss.ratio", ratio(resident, total));
    integer_field(ctx, "allocator-rss.bytes", resident - total);
    double_field(ctx, "rss-overhead.ratio", 1.0);
    integer_field(ctx, "rss-overhead.bytes", 0);
    double_field(ctx, "fragmentation", ratio(resident, total));
    integer_field(ctx, "fragmentation.bytes", resident - total);
}

fn integer_field(ctx: &mut Ctx, name: &str, value: u64) {
    ctx.reply.bulk(name.as_bytes());
    ctx.reply.integer(i64::try_from(value).unwrap_or(i64::MAX));
}

fn double_field(ctx: &mut Ctx, name: &str, value: f64) {
    ctx.reply.bulk(name.as_bytes());
    ctx.reply.double(value);
}

fn doctor(ctx: &mut Ctx, _args: &[&[u8]]) {
    let (used, peak) = (crate::memory::used(), crate::memory::peak());
    let report = if used < DOCTOR_MIN_USED {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".to_string()
    } else if peak as f64 / used as f64 > 1.5 {
        format!("Sam, I detected a few issues in this Redis instance memory implants:\n\n{BIG_PEAK}I'm here to keep you safe, Sam. I want to help you.\n")
    } else {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".to_string()
    };
    ctx.reply.verbatim(report.as_bytes());
}

const BIG_PEAK: &str = " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n";

/// The component's allocator keeps no report of its own; Redis answers so for allocators other
/// than jemalloc.
fn malloc_stats(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.simple("Stats not supported for the current allocator");
}

/// Nothing to purge: freed memory goes back to the component's allocator at once.
fn purge(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.ok();
}

const HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
];

fn help(ctx: &mut Ctx, _args: &[&[u8]]) {
    write_help(ctx, HELP);
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::Harness;

    fn usage(c: &mut Harness, args: &[&str]) -> i64 {
        let reply = c.run(args);
        reply.trim_start_matches(':').trim_end().parse().unwrap_or_else(|_| panic!("an integer, not {reply:?}"))
    }

    #[test]
    fn usage_grows_with_the_value_and_counts_every_type() {
        let mut c = Harness::new();
        c.run(&["SET", "small", "v"]);
        c.run(&["SET", "big", &"v".repeat(10_000)]);
        assert!(usage(&mut c, &["MEMORY", "USAGE", "big"]) > usage(&mut c, &["MEMORY", "USAGE", "small"]) + 9_000);
        for i in 0..1000 {
            c.run(&["HSET", "hash", &format!("field:{i}"), "value"]);
            c.run(&["SADD", "set", &format!("member:{i}")]);
            c.run(&["SADD", "ints", &i.to_string()]);
        }
        for key in ["hash", "set", "ints"] {
            let sampled = usage(&mut c, &["MEMORY", "USAGE", key]);
            let exact = usage(&mut c, &["MEMORY", "USAGE", key, "SAMPLES", "0"]);
            assert!(exact > 1000 * 4, "{key}: {exact}");
            // Every element is about the same size here, so five samples estimate the whole well.
            assert!((sampled - exact).abs() * 10 < exact, "{key}: {sampled} vs {exact}");
        }
    }

    #[test]
    fn usage_answers_as_redis_does_for_missing_keys_and_bad_options() {
        let mut c = Harness::new();
        c.run(&["SET", "k", "v"]);
        assert_eq!(c.run(&["MEMORY", "USAGE", "missing"]), "$-1\r\n");
        assert_eq!(c.run(&["MEMORY", "USAGE", "k", "SAMPLES", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(c.run(&["MEMORY", "USAGE", "k", "SAMPLES", "-1"]), "-ERR syntax error\r\n");
        assert_eq!(c.run(&["MEMORY", "USAGE", "k", "SAMPLES"]), "-ERR syntax error\r\n");
        assert_eq!(c.run(&["MEMORY", "USAGE", "k", "FOO", "1"]), "-ERR syntax error\r\n");
        assert_eq!(c.run(&["MEMORY", "USAGE"]), "-ERR wrong number of arguments for 'memory|usage' command\r\n");
        assert_eq!(c.run(&["MEMORY", "PURGE"]), "+OK\r\n");
        assert_eq!(c.run(&["MEMORY", "MALLOC-STATS"]), "+Stats not supported for the current allocator\r\n");
        assert!(c.run(&["MEMORY", "DOCTOR"]).contains("Sam"));
    }

    /// The field names of a MEMORY STATS reply.
    fn names(reply: &str) -> Vec<&str> {
        let lines: Vec<&str> = reply.split("\r\n").collect();
        lines.windows(2).filter(|w| w[0].starts_with('$') && w[1].contains('.')).map(|w| w[1]).collect()
    }

    /// The value after the field `name`, as its RESP line.
    fn value<'a>(reply: &'a str, name: &str) -> &'a str {
        let lines: Vec<&str> = reply.split("\r\n").collect();
        let at = lines.iter().position(|l| *l == name).unwrap_or_else(|| panic!("{name} missing"));
        lines[if lines[at + 1].starts_with('$') { at + 2 } else { at + 1 }]
    }

    #[test]
    fn stats_has_redis_fields_and_cachet_figures() {
        let mut c = Harness::new();
        for i in 0..100 {
            c.run(&["SET", &format!("k{i}"), "value"]);
        }
        c.run(&["SET", "volatile", "v", "EX", "100"]);
        c.run(&["SELECT", "3"]);
        c.run(&["SET", "other", "v"]);
        let reply = c.run(&["MEMORY", "STATS"]);
        assert!(reply.starts_with("*58\r\n"), "{reply}");
        let names = names(&reply);
        assert_eq!(names[..11], ["peak.allocated", "total.allocated", "startup.allocated", "replication.backlog", "clients.slaves", "clients.normal",
            "cluster.links", "aof.buffer", "lua.caches", "functions.caches", "db.0"]);
        assert_eq!(names.last(), Some(&"fragmentation.bytes"));
        assert!(reply.contains("$13\r\nfragmentation\r\n,") || reply.contains("$13\r\nfragmentation\r\n$"), "{reply}");
        assert!(reply.contains("$4\r\ndb.3\r\n*4\r\n$23\r\noverhead.hashtable.main\r\n:"), "{reply}");
        assert_eq!(value(&reply, "keys.count"), ":102");
        let number = |name: &str| value(&reply, name).trim_start_matches(':').parse::<i64>().unwrap();
        // Other tests allocate in the same process at the same time: only the order is certain.
        assert!(number("total.allocated") >= number("startup.allocated") && number("peak.allocated") >= number("total.allocated"));
        assert!(number("overhead.hashtable.expires") > 0);
        // 0 when other tests freed more than this engine allocated since its start (the counter is
        // the process's): a figure, within its bounds, is what is certain.
        assert!(value(&reply, "dataset.percentage").parse::<f64>().is_ok_and(|p| (0.0..=100.0).contains(&p)), "{reply}");
        c.run(&["HELLO", "3"]);
        let reply = c.run(&["MEMORY", "STATS"]);
        assert!(reply.starts_with("%29\r\n") && reply.contains("$4\r\ndb.3\r\n%2\r\n"), "{reply}");
        assert!(value(&reply, "peak.percentage").starts_with(','), "a RESP3 double");
        assert_eq!(c.run(&["MEMORY", "STATS", "x"]), "-ERR wrong number of arguments for 'memory|stats' command\r\n");
    }
}
