//! Where a command's keys are, so `ClusterClient::call` can send it to the node serving them: a
//! small table of common commands (the rest take their key at position 1), the multi-key
//! commands that are split by slot, and the commands that may read from a replica.

/// How a command is routed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// No key: any master answers.
    Keyless,
    /// The keys at these argument positions; they must all hash to one slot.
    Keys(Vec<usize>),
    /// One key (`step` 1) or key and value (`step` 2) after another from position 1; sent as one
    /// command per slot and the replies put back together.
    Split { step: usize },
}

/// Commands that name no key.
const KEYLESS: &[&str] = &[
    "PING", "ECHO", "INFO", "TIME", "DBSIZE", "FLUSHALL", "FLUSHDB", "CLUSTER", "CONFIG", "CLIENT", "COMMAND",
    "SCRIPT", "FUNCTION", "PUBLISH", "RANDOMKEY", "KEYS", "SCAN", "LASTSAVE", "HELLO", "AUTH", "SELECT",
    "READONLY", "READWRITE", "ASKING", "LATENCY", "SLOWLOG", "ROLE", "WAIT", "MULTI", "EXEC", "DISCARD",
];

/// Multi-key commands whose keys may span slots: split per slot.
const SPLIT_KEYS: &[&str] = &["MGET", "DEL", "EXISTS", "UNLINK", "TOUCH"];

/// Commands every argument of which from position 1 is a key.
const ALL_KEYS: &[&str] = &["SINTER", "SUNION", "SDIFF", "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE", "PFCOUNT", "PFMERGE", "WATCH"];

/// Commands with two keys, at positions 1 and 2.
const TWO_KEYS: &[&str] = &["RENAME", "RENAMENX", "COPY", "SMOVE", "RPOPLPUSH", "LMOVE", "BLMOVE", "BRPOPLPUSH", "ZRANGESTORE"];

/// Commands with a key count at position 2 and the keys after it (scripts, functions,
/// destination-first sorted-set stores).
const NUMKEYS_AT_2: &[&str] = &["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"];
const DEST_AND_NUMKEYS: &[&str] = &["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"];

/// Commands with a key count at position 1 and the keys after it.
const NUMKEYS_AT_1: &[&str] = &["ZUNION", "ZINTER", "ZDIFF", "ZINTERCARD", "SINTERCARD", "LMPOP", "ZMPOP"];

/// Stream reads: options, then `STREAMS key... id...`.
const STREAM_READS: &[&str] = &["XREAD", "XREADGROUP"];

/// Blocking pops: keys from position 1, the timeout last.
const KEYS_THEN_TIMEOUT: &[&str] = &["BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX"];

/// Reads a replica may answer with `read_from_replicas`.
const READS: &[&str] = &[
    "GET", "MGET", "EXISTS", "STRLEN", "GETRANGE", "TTL", "PTTL", "TYPE", "HGET", "HMGET", "HGETALL", "HLEN",
    "HEXISTS", "HKEYS", "HVALS", "SMEMBERS", "SISMEMBER", "SCARD", "ZSCORE", "ZRANGE", "ZCARD", "ZRANK",
    "LRANGE", "LLEN", "LINDEX",
];

fn is(list: &[&str], name: &[u8]) -> bool {
    list.iter().any(|n| n.as_bytes().eq_ignore_ascii_case(name))
}

/// How `args` (name first) is routed.
pub fn route(args: &[Vec<u8>]) -> Route {
    let Some(name) = args.first() else { return Route::Keyless };
    let n = args.len();
    let name = name.as_slice();
    if is(KEYLESS, name) || n < 2 {
        Route::Keyless
    } else if is(SPLIT_KEYS, name) {
        Route::Split { step: 1 }
    } else if name.eq_ignore_ascii_case(b"MSET") {
        Route::Split { step: 2 }
    } else if name.eq_ignore_ascii_case(b"MSETNX") {
        Route::Keys((1..n).step_by(2).collect())
    } else if is(ALL_KEYS, name) {
        Route::Keys((1..n).collect())
    } else if is(TWO_KEYS, name) {
        Route::Keys((1..n.min(3)).collect())
    } else if name.eq_ignore_ascii_case(b"BITOP") {
        Route::Keys((2..n).collect())
    } else if is(KEYS_THEN_TIMEOUT, name) {
        Route::Keys((1..n - 1).collect())
    } else if is(NUMKEYS_AT_2, name) {
        counted(args, 2, None)
    } else if is(DEST_AND_NUMKEYS, name) {
        counted(args, 2, Some(1))
    } else if is(NUMKEYS_AT_1, name) {
        counted(args, 1, None)
    } else if is(STREAM_READS, name) {
        streams(args)
    } else {
        Route::Keys(vec![1])
    }
}

/// Keys after a count at `at` (plus a destination key); a count of 0 or one that does not parse
/// leaves the command keyless, and the server judges it.
fn counted(args: &[Vec<u8>], at: usize, destination: Option<usize>) -> Route {
    let count = args.get(at).and_then(|c| std::str::from_utf8(c).ok()).and_then(|c| c.parse::<usize>().ok()).unwrap_or(0);
    let mut keys: Vec<usize> = destination.into_iter().collect();
    keys.extend((at + 1..args.len()).take(count));
    if keys.is_empty() { Route::Keyless } else { Route::Keys(keys) }
}

/// The first half of the arguments after `STREAMS` (the rest are IDs); without that word, or
/// with an odd count after it, the command goes to any node and the server judges it.
fn streams(args: &[Vec<u8>]) -> Route {
    let Some(at) = args.iter().position(|a| a.eq_ignore_ascii_case(b"STREAMS")) else { return Route::Keyless };
    let after = args.len() - at - 1;
    if after == 0 || !after.is_multiple_of(2) {
        return Route::Keyless;
    }
    Route::Keys((at + 1..at + 1 + after / 2).collect())
}

/// Whether a replica may answer the command.
pub fn is_read(args: &[Vec<u8>]) -> bool {
    args.first().is_some_and(|name| is(READS, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<Vec<u8>> {
        text.split(' ').map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn routes() {
        assert_eq!(route(&args("PING")), Route::Keyless);
        assert_eq!(route(&args("cluster info")), Route::Keyless);
        assert_eq!(route(&args("HSET h f v")), Route::Keys(vec![1]));
        assert_eq!(route(&args("mget a b")), Route::Split { step: 1 });
        assert_eq!(route(&args("MSET a 1 b 2")), Route::Split { step: 2 });
        assert_eq!(route(&args("MSETNX a 1 b 2")), Route::Keys(vec![1, 3]));
        assert_eq!(route(&args("EVAL s 2 a b c")), Route::Keys(vec![3, 4]));
        assert_eq!(route(&args("EVAL s 0 c")), Route::Keyless);
        assert_eq!(route(&args("ZUNIONSTORE d 2 a b WEIGHTS 1 2")), Route::Keys(vec![1, 3, 4]));
        assert_eq!(route(&args("BITOP AND d a b")), Route::Keys(vec![2, 3, 4]));
        assert_eq!(route(&args("BLPOP a b 0")), Route::Keys(vec![1, 2]));
        assert_eq!(route(&args("RENAME a b")), Route::Keys(vec![1, 2]));
        assert_eq!(route(&args("XREAD COUNT 2 STREAMS s t 0 0")), Route::Keys(vec![4, 5]));
        assert_eq!(route(&args("XREADGROUP GROUP g c BLOCK 0 STREAMS s >")), Route::Keys(vec![7]));
        assert_eq!(route(&args("XREAD STREAMS s")), Route::Keyless);
        assert!(is_read(&args("hgetall h")) && !is_read(&args("SET a b")));
    }
}
