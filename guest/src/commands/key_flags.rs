//! Which arguments of a command line are keys, and what the command does to each: COMMAND GETKEYS
//! and GETKEYSANDFLAGS.
//!
//! Redis describes both with key specifications. cachet's table keeps the key positions (first,
//! last, step); the flags each key gets are below, as Redis 7's key specifications give them
//! (`RO`/`RW`/`OW`/`RM` for what happens to the key, `access`/`update`/`insert`/`delete` for its
//! value), with the commands whose flags depend on their options (SET ... GET, BITFIELD with a
//! write) decided the way Redis decides them.

use super::{Command, is, lookup, parse_i64};

const RO: &[&str] = &["RO"];
const RO_ACCESS: &[&str] = &["RO", "access"];
const RW_ACCESS: &[&str] = &["RW", "access"];
const RW_ACCESS_UPDATE: &[&str] = &["RW", "access", "update"];
const RW_ACCESS_DELETE: &[&str] = &["RW", "access", "delete"];
const RW_ACCESS_INSERT: &[&str] = &["RW", "access", "insert"];
const RW_UPDATE: &[&str] = &["RW", "update"];
const RW_INSERT: &[&str] = &["RW", "insert"];
const RW_DELETE: &[&str] = &["RW", "delete"];
const OW_UPDATE: &[&str] = &["OW", "update"];
const OW_INSERT: &[&str] = &["OW", "insert"];
const RM_DELETE: &[&str] = &["RM", "delete"];

/// A command's key flags: those of its first key, then those of every later key.
const FLAGS: &[(&str, &[&str], &[&str])] = &[
    // Strings.
    ("get", RO_ACCESS, RO_ACCESS),
    ("setnx", OW_INSERT, OW_INSERT),
    ("setex", OW_UPDATE, OW_UPDATE),
    ("psetex", OW_UPDATE, OW_UPDATE),
    ("getset", RW_ACCESS_UPDATE, RW_ACCESS_UPDATE),
    ("getdel", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    ("getex", RW_ACCESS_UPDATE, RW_ACCESS_UPDATE),
    ("mget", RO_ACCESS, RO_ACCESS),
    ("mset", OW_UPDATE, OW_UPDATE),
    ("msetnx", OW_INSERT, OW_INSERT),
    ("append", RW_INSERT, RW_INSERT),
    ("strlen", RO, RO),
    ("getrange", RO_ACCESS, RO_ACCESS),
    ("substr", RO_ACCESS, RO_ACCESS),
    ("setrange", RW_UPDATE, RW_UPDATE),
    ("incr", RW_ACCESS_UPDATE, RW_ACCESS_UPDATE),
    ("decr", RW_ACCESS_UPDATE, RW_ACCESS_UPDATE),
    ("incrby", RW_ACCESS_UPDATE, RW_ACCESS_UPDATE),
    ("decrby", RW_ACCESS_UPDATE, RW_ACCESS_UPDATE),
    ("incrbyfloat", RW_ACCESS_UPDATE, RW_ACCESS_UPDATE),
    // Bitmaps and HyperLogLog.
    ("setbit", RW_ACCESS_UPDATE, RW_ACCESS_UPDATE),
    ("getbit", RO_ACCESS, RO_ACCESS),
    ("bitcount", RO_ACCESS, RO_ACCESS),
    ("bitpos", RO_ACCESS, RO_ACCESS),
    ("bitop", OW_UPDATE, RO_ACCESS),
    ("bitfield_ro", RO_ACCESS, RO_ACCESS),
    ("pfadd", RW_INSERT, RW_INSERT),
    ("pfcount", RW_ACCESS, RW_ACCESS),
    ("pfmerge", RW_ACCESS_INSERT, RO_ACCESS),
    // Sets.
    ("sadd", RW_INSERT, RW_INSERT),
    ("srem", RW_DELETE, RW_DELETE),
    ("sismember", RO, RO),
    ("smismember", RO_ACCESS, RO_ACCESS),
    ("scard", RO, RO),
    ("smembers", RO_ACCESS, RO_ACCESS),
    ("srandmember", RO_ACCESS, RO_ACCESS),
    ("spop", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    ("smove", RW_ACCESS_DELETE, RW_INSERT),
    ("sinter", RO_ACCESS, RO_ACCESS),
    ("sintercard", RO_ACCESS, RO_ACCESS),
    ("sinterstore", RW_UPDATE, RO_ACCESS),
    ("sunion", RO_ACCESS, RO_ACCESS),
    ("sunionstore", OW_UPDATE, RO_ACCESS),
    ("sdiff", RO_ACCESS, RO_ACCESS),
    ("sdiffstore", OW_UPDATE, RO_ACCESS),
    ("sscan", RO_ACCESS, RO_ACCESS),
    // Lists and the blocking pops.
    ("lpush", RW_INSERT, RW_INSERT),
    ("rpush", RW_INSERT, RW_INSERT),
    ("lpushx", RW_INSERT, RW_INSERT),
    ("rpushx", RW_INSERT, RW_INSERT),
    ("lpop", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    ("rpop", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    ("llen", RO, RO),
    ("lrange", RO_ACCESS, RO_ACCESS),
    ("lindex", RO_ACCESS, RO_ACCESS),
    ("lset", RW_UPDATE, RW_UPDATE),
    ("linsert", RW_INSERT, RW_INSERT),
    ("lrem", RW_DELETE, RW_DELETE),
    ("ltrim", RW_DELETE, RW_DELETE),
    ("lpos", RO_ACCESS, RO_ACCESS),
    ("lmove", RW_ACCESS_DELETE, RW_INSERT),
    ("rpoplpush", RW_ACCESS_DELETE, RW_INSERT),
    ("lmpop", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    ("blpop", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    ("brpop", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    ("blmove", RW_ACCESS_DELETE, RW_INSERT),
    ("brpoplpush", RW_ACCESS_DELETE, RW_INSERT),
    ("blmpop", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    ("sort", RO_ACCESS, OW_UPDATE),
    ("sort_ro", RO_ACCESS, RO_ACCESS),
    // Sorted sets.
    ("zadd", RW_UPDATE, RW_UPDATE),
    ("zincrby", RW_ACCESS_UPDATE, RW_ACCESS_UPDATE),
    ("zrem", RW_DELETE, RW_DELETE),
    ("zcard", RO, RO),
    ("zcount", RO_ACCESS, RO_ACCESS),
    ("zlexcount", RO_ACCESS, RO_ACCESS),
    ("zscore", RO_ACCESS, RO_ACCESS),
    ("zmscore", RO_ACCESS, RO_ACCESS),
    ("zrank", RO_ACCESS, RO_ACCESS),
    ("zrevrank", RO_ACCESS, RO_ACCESS),
    ("zrange", RO_ACCESS, RO_ACCESS),
    ("zrangestore", OW_UPDATE, RO_ACCESS),
    ("zrangebyscore", RO_ACCESS, RO_ACCESS),
    ("zrevrangebyscore", RO_ACCESS, RO_ACCESS),
    ("zrangebylex", RO_ACCESS, RO_ACCESS),
    ("zrevrangebylex", RO_ACCESS, RO_ACCESS),
    ("zrevrange", RO_ACCESS, RO_ACCESS),
    ("zremrangebyrank", RW_DELETE, RW_DELETE),
    ("zremrangebyscore", RW_DELETE, RW_DELETE),
    ("zremrangebylex", RW_DELETE, RW_DELETE),
    ("zpopmin", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    ("zpopmax", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    ("zmpop", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    ("zrandmember", RO_ACCESS, RO_ACCESS),
    ("zunion", RO_ACCESS, RO_ACCESS),
    ("zinter", RO_ACCESS, RO_ACCESS),
    ("zdiff", RO_ACCESS, RO_ACCESS),
    ("zunionstore", OW_UPDATE, RO_ACCESS),
    ("zinterstore", OW_UPDATE, RO_ACCESS),
    ("zdiffstore", OW_UPDATE, RO_ACCESS),
    ("zintercard", RO_ACCESS, RO_ACCESS),
    ("zscan", RO_ACCESS, RO_ACCESS),
    ("bzpopmin", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    ("bzpopmax", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    ("bzmpop", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    // Hashes.
    ("hset", RW_UPDATE, RW_UPDATE),
    ("hsetnx", RW_INSERT, RW_INSERT),
    ("hmset", RW_UPDATE, RW_UPDATE),
    ("hget", RO_ACCESS, RO_ACCESS),
    ("hmget", RO_ACCESS, RO_ACCESS),
    ("hdel", RW_DELETE, RW_DELETE),
    ("hexists", RO, RO),
    ("hlen", RO, RO),
    ("hstrlen", RO, RO),
    ("hkeys", RO_ACCESS, RO_ACCESS),
    ("hvals", RO_ACCESS, RO_ACCESS),
    ("hgetall", RO_ACCESS, RO_ACCESS),
    ("hincrby", RW_ACCESS_UPDATE, RW_ACCESS_UPDATE),
    ("hincrbyfloat", RW_ACCESS_UPDATE, RW_ACCESS_UPDATE),
    ("hrandfield", RO_ACCESS, RO_ACCESS),
    ("hscan", RO_ACCESS, RO_ACCESS),
    ("hexpire", RW_UPDATE, RW_UPDATE),
    ("hpexpire", RW_UPDATE, RW_UPDATE),
    ("hexpireat", RW_UPDATE, RW_UPDATE),
    ("hpexpireat", RW_UPDATE, RW_UPDATE),
    ("httl", RO_ACCESS, RO_ACCESS),
    ("hpttl", RO_ACCESS, RO_ACCESS),
    ("hexpiretime", RO_ACCESS, RO_ACCESS),
    ("hpexpiretime", RO_ACCESS, RO_ACCESS),
    ("hpersist", RW_UPDATE, RW_UPDATE),
    ("hgetex", RW_ACCESS_UPDATE, RW_ACCESS_UPDATE),
    ("hsetex", RW_UPDATE, RW_UPDATE),
    ("hgetdel", RW_ACCESS_DELETE, RW_ACCESS_DELETE),
    // Keys and expiry.
    ("del", RM_DELETE, RM_DELETE),
    ("unlink", RM_DELETE, RM_DELETE),
    ("exists", RO, RO),
    ("touch", RO, RO),
    ("type", RO, RO),
    ("rename", RW_ACCESS_DELETE, OW_UPDATE),
    ("renamenx", RW_ACCESS_DELETE, OW_INSERT),
    ("copy", RO_ACCESS, OW_UPDATE),
    ("move", RW_ACCESS_UPDATE, RW_ACCESS_UPDATE),
    ("expire", RW_UPDATE, RW_UPDATE),
    ("pexpire", RW_UPDATE, RW_UPDATE),
    ("expireat", RW_UPDATE, RW_UPDATE),
    ("pexpireat", RW_UPDATE, RW_UPDATE),
    ("ttl", RO_ACCESS, RO_ACCESS),
    ("pttl", RO_ACCESS, RO_ACCESS),
    ("expiretime", RO_ACCESS, RO_ACCESS),
    ("pexpiretime", RO_ACCESS, RO_ACCESS),
    ("persist", RW_UPDATE, RW_UPDATE),
    // Server and transactions.
    ("watch", RO, RO),
    ("object|encoding", RO, RO),
    ("object|freq", RO, RO),
    ("object|idletime", RO, RO),
    ("object|refcount", RO, RO),
    ("memory|usage", RO, RO),
];

/// Commands whose arguments name channels, not keys: their key specifications say `not_key`,
/// and GETKEYS leaves them out.
const CHANNELS_NOT_KEYS: &[&str] = &["ssubscribe", "sunsubscribe", "spublish"];

/// The keys of a command line (its name first) and each key's flags, or the error GETKEYS answers.
pub(super) fn keys_and_flags<'a>(line: &[&'a [u8]]) -> Result<Vec<(&'a [u8], &'static [&'static str])>, &'static str> {
    let command = lookup(line[0]).ok_or("ERR Invalid command specified")?;
    let command = subcommand(command, line).unwrap_or(command);
    if !command.accepts(line.len()) {
        return Err("ERR Invalid number of arguments specified for command");
    }
    if let Some(at) = command.key_count_at {
        check_count(line, at)?;
    }
    let positions = command.key_positions(line);
    if positions.is_empty() || CHANNELS_NOT_KEYS.contains(&command.name) {
        return Err("ERR The command has no key arguments");
    }
    Ok(positions.iter().enumerate().map(|(nth, &at)| (line[at], flags(command.name, line, nth))).collect())
}

/// The key arguments ACL rules check in a line of `command` (the subcommand, when it has one):
/// each position with whether the command reads the key's value and whether it changes it, from
/// the key flags above (`access` reads; `insert`, `update` and `delete` write). Shard channels
/// are not keys here, as in Redis.
pub(crate) fn acl_keys(command: &Command, line: &[&[u8]]) -> Vec<(usize, bool, bool)> {
    if command.keys.0 == 0 && command.key_count_at.is_none() || CHANNELS_NOT_KEYS.contains(&command.name) {
        return Vec::new();
    }
    command
        .key_positions(line)
        .into_iter()
        .enumerate()
        .map(|(nth, at)| {
            let flags = flags(command.name, line, nth);
            let read = flags.contains(&"access");
            let write = flags.iter().any(|f| matches!(*f, "insert" | "update" | "delete"));
            (at, read, write)
        })
        .collect()
}

/// The subcommand a line names (OBJECT ENCODING, MEMORY USAGE), whose key positions are its own.
fn subcommand(command: &'static Command, line: &[&[u8]]) -> Option<&'static Command> {
    let name = line.get(1)?;
    command.subcommands.iter().find(|sub| sub.name.split_once('|').is_some_and(|(_, sub)| is(name, sub)))
}

/// The count before the keys of SINTERCARD, LMPOP, BLMPOP: at least one, and the keys must fit
/// the line.
fn check_count(line: &[&[u8]], at: usize) -> Result<(), &'static str> {
    let fits = line.get(at).and_then(|n| parse_i64(n)).is_some_and(|n| n > 0 && (n as usize) < line.len() - at);
    if fits { Ok(()) } else { Err("ERR Invalid arguments specified for command") }
}

/// The flags of the `nth` key of a line of `name`.
fn flags(name: &str, line: &[&[u8]], nth: usize) -> &'static [&'static str] {
    match name {
        // SET reads the old value only with GET; otherwise it overwrites blindly.
        "set" if line[3..].iter().any(|arg| is(arg, "get")) => RW_ACCESS_UPDATE,
        "set" => OW_UPDATE,
        // BITFIELD writes only when it has a SET or INCRBY operation.
        "bitfield" if line[2..].iter().any(|arg| is(arg, "set") || is(arg, "incrby")) => RW_ACCESS_UPDATE,
        "bitfield" => RO_ACCESS,
        _ => FLAGS.iter().find(|(command, ..)| *command == name).map_or(RW_ACCESS_UPDATE, |&(_, first, rest)| if nth == 0 { first } else { rest }),
    }
}

#[cfg(test)]
mod tests {
    use super::{FLAGS, keys_and_flags};
    use crate::commands::all;

    fn line(words: &[&'static str]) -> Vec<&'static [u8]> {
        words.iter().map(|w| w.as_bytes()).collect()
    }

    /// Every command with keys has its flags written down (SET and BITFIELD decide theirs).
    #[test]
    fn every_keyed_command_has_flags() {
        let commands = all().flat_map(|c| std::iter::once(c).chain(c.subcommands.iter()));
        for command in commands.filter(|c| c.keys.0 > 0) {
            let known = FLAGS.iter().any(|(name, ..)| *name == command.name);
            assert!(known || ["set", "bitfield", "ssubscribe", "sunsubscribe", "spublish"].contains(&command.name), "{}", command.name);
        }
    }

    #[test]
    fn keys_flags_and_errors() {
        let flags = |words: &[&'static str]| keys_and_flags(&line(words)).map(|keys| keys.into_iter().map(|(k, f)| (k, f.join(" "))).collect::<Vec<_>>());
        assert_eq!(flags(&["SET", "k", "v"]), Ok(vec![(&b"k"[..], "OW update".into())]));
        assert_eq!(flags(&["set", "k", "v", "EX", "1", "get"]), Ok(vec![(&b"k"[..], "RW access update".into())]));
        assert_eq!(flags(&["SMOVE", "a", "b", "m"]), Ok(vec![(&b"a"[..], "RW access delete".into()), (&b"b"[..], "RW insert".into())]));
        assert_eq!(flags(&["BITOP", "AND", "d", "a"]), Ok(vec![(&b"d"[..], "OW update".into()), (&b"a"[..], "RO access".into())]));
        assert_eq!(flags(&["BITFIELD", "k", "GET", "u8", "0"]), Ok(vec![(&b"k"[..], "RO access".into())]));
        assert_eq!(flags(&["SINTERCARD", "2", "a", "b", "LIMIT", "1"]).map(|k| k.len()), Ok(2));
        assert_eq!(flags(&["OBJECT", "ENCODING", "k"]), Ok(vec![(&b"k"[..], "RO".into())]));
        assert_eq!(flags(&["SINTERCARD", "3", "a"]), Err("ERR Invalid arguments specified for command"));
        assert_eq!(flags(&["SINTERCARD", "0", "a"]), Err("ERR Invalid arguments specified for command"));
        assert_eq!(flags(&["SPUBLISH", "c", "m"]), Err("ERR The command has no key arguments"));
        assert_eq!(flags(&["PING"]), Err("ERR The command has no key arguments"));
        assert_eq!(flags(&["GET", "a", "b"]), Err("ERR Invalid number of arguments specified for command"));
        assert_eq!(flags(&["NOPE", "a"]), Err("ERR Invalid command specified"));
    }
}
