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
    let bytes = std::mem::size_of::<Entry>() + index_slot + Key::heap_size_of(key) + entry.value.memory_usage(samples);
    ctx.reply.integer(i64::try_from(bytes).unwrap_or(i64::MAX));
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
}
