//! OBJECT: what the server knows about how a key is stored and used. Looking does not count as
//! using the key.

use super::{Command, Ctx, Flag, subcommand_required, write_help};
use crate::keyspace::Entry;
use crate::keyspace::Value;

pub const COMMANDS: &[Command] = &[Command::new("object", -2, subcommand_required)
    .group("generic")
    .doc("A container for object introspection commands.", "2.2.3", "Depends on subcommand.", "")
    .subcommands(&[
        Command::new("object|encoding", 3, encoding).flags(&[Flag::ReadOnly]).keys(2, 2, 1).group("generic")
            .doc("Returns the internal encoding of a Redis object.", "2.2.3", "O(1)", "key"),
        Command::new("object|freq", 3, freq).flags(&[Flag::ReadOnly]).keys(2, 2, 1).group("generic")
            .doc("Returns the logarithmic access frequency counter of a Redis object.", "4.0.0", "O(1)", "key"),
        Command::new("object|idletime", 3, idletime).flags(&[Flag::ReadOnly]).keys(2, 2, 1).group("generic")
            .doc("Returns the time since the last access to a Redis object.", "2.2.3", "O(1)", "key"),
        Command::new("object|refcount", 3, refcount).flags(&[Flag::ReadOnly]).keys(2, 2, 1).group("generic")
            .doc("Returns the reference count of a value of a key.", "2.2.3", "O(1)", "key"),
        Command::new("object|help", 2, help).flags(&[Flag::Loading, Flag::Stale]).group("generic")
            .doc("Returns helpful text about the different subcommands.", "6.2.0", "O(1)", ""),
    ])];

/// Runs `f` on the key's entry, or answers null when there is none (as Redis's OBJECT does).
fn with_entry(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&mut Ctx, Entry)) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    match ctx.keyspace.peek(db, key, now).cloned() {
        Some(entry) => f(ctx, entry),
        None => ctx.reply.null(),
    }
}

fn encoding(ctx: &mut Ctx, args: &[&[u8]]) {
    with_entry(ctx, args[2], |ctx, entry| {
        let name = match &entry.value {
            Value::String(bytes) if bytes.len() <= 20 && super::parse_i64(bytes).is_some() => "int",
            Value::String(bytes) if bytes.len() <= 44 => "embstr",
            Value::String(_) => "raw",
            Value::Hash(hash) => hash.encoding(),
            Value::Set(set) => set.encoding(),
            Value::List(list) => list.encoding(),
            Value::Zset(zset) => zset.encoding(),
        };
        ctx.reply.bulk(name.as_bytes());
    });
}

fn freq(ctx: &mut Ctx, args: &[&[u8]]) {
    if !ctx.config.maxmemory_policy.uses_lfu() {
        ctx.reply.error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
        return;
    }
    let now = ctx.now_ms();
    with_entry(ctx, args[2], |ctx, entry| ctx.reply.integer(i64::from(entry.access.frequency(now))));
}

fn idletime(ctx: &mut Ctx, args: &[&[u8]]) {
    if ctx.config.maxmemory_policy.uses_lfu() {
        ctx.reply.error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
        return;
    }
    let now = ctx.now_ms();
    with_entry(ctx, args[2], |ctx, entry| ctx.reply.integer(entry.access.idle_seconds(now) as i64));
}

fn refcount(ctx: &mut Ctx, args: &[&[u8]]) {
    with_entry(ctx, args[2], |ctx, _| ctx.reply.integer(1));
}

const HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
];

fn help(ctx: &mut Ctx, _args: &[&[u8]]) {
    write_help(ctx, HELP);
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::{Harness, bulk};

    #[test]
    fn object_subcommands() {
        let mut c = Harness::new();
        c.run(&["SET", "n", "12345"]);
        c.run(&["SET", "s", "short"]);
        c.run(&["SET", "l", &"x".repeat(45)]);
        assert_eq!(c.run(&["OBJECT", "ENCODING", "n"]), bulk("int"));
        assert_eq!(c.run(&["OBJECT", "ENCODING", "s"]), bulk("embstr"));
        assert_eq!(c.run(&["OBJECT", "ENCODING", "l"]), bulk("raw"));
        assert_eq!(c.run(&["OBJECT", "ENCODING", "missing"]), "$-1\r\n");
        assert_eq!(c.run(&["OBJECT", "REFCOUNT", "s"]), ":1\r\n");
        c.advance_ms(5_000);
        assert_eq!(c.run(&["OBJECT", "IDLETIME", "s"]), ":5\r\n");
        assert_eq!(c.run(&["OBJECT", "IDLETIME", "s"]), ":5\r\n", "looking does not count as using");
        c.run(&["GET", "s"]);
        assert_eq!(c.run(&["OBJECT", "IDLETIME", "s"]), ":0\r\n");
        assert!(c.run(&["OBJECT", "FREQ", "s"]).starts_with("-ERR An LFU maxmemory policy is not selected"));
        c.run(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
        assert_eq!(c.run(&["OBJECT", "FREQ", "n"]), ":5\r\n");
        assert!(c.run(&["OBJECT", "IDLETIME", "s"]).starts_with("-ERR An LFU maxmemory policy is selected"));
        assert_eq!(c.run(&["OBJECT", "NOPE", "s"]), "-ERR unknown subcommand 'NOPE'. Try OBJECT HELP.\r\n");
    }

    #[test]
    fn writes_are_refused_when_nothing_can_be_evicted() {
        let mut c = Harness::new();
        c.run(&["SET", "k", "v"]);
        assert_eq!(c.run(&["CONFIG", "SET", "maxmemory", "1"]), "+OK\r\n");
        assert_eq!(c.run(&["SET", "k2", "v"]), "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
        assert_eq!(c.run(&["GET", "k"]), bulk("v"), "reads still work");
        assert_eq!(c.run(&["DEL", "k"]), ":1\r\n", "so does freeing memory");
        c.run(&["CONFIG", "SET", "maxmemory", "0"]);
        assert_eq!(c.run(&["SET", "k2", "v"]), "+OK\r\n");
    }
}
