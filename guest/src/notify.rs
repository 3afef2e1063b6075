//! Keyspace notifications (`notify-keyspace-events`): what changed, told through pub/sub.
//!
//! Commands and the keyspace itself (lazy and active expiry, eviction, a key created) note events
//! here as they happen; the engine publishes them once the command or the timer tick is over, on
//! `__keyspace@<db>__:<key>` (the message is the event's name) and `__keyevent@<db>__:<event>`
//! (the message is the key). One list for both kinds of source keeps Redis's order: an `expired`
//! found by a command's own lookup comes before the command's events.
//!
//! With notifications off, as they are by default, noting an event is one test of a bit mask that
//! is zero, and the engine's check after a command one test of an empty list.

use crate::keyspace::Key;

// The classes of events, with Redis's bit for each (letters as `notify-keyspace-events` spells them).
/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u16 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u16 = 1 << 1;
/// `g`: DEL, EXPIRE, RENAME and the other commands on keys of any type.
pub const GENERIC: u16 = 1 << 2;
/// `$`: string commands.
pub const STRING: u16 = 1 << 3;
/// `l`: list commands.
pub const LIST: u16 = 1 << 4;
/// `s`: set commands.
pub const SET: u16 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u16 = 1 << 6;
/// `z`: sorted set commands.
pub const ZSET: u16 = 1 << 7;
/// `x`: a key removed because its time to live passed.
pub const EXPIRED: u16 = 1 << 8;
/// `e`: a key evicted for `maxmemory`.
pub const EVICTED: u16 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u16 = 1 << 10;
/// `m`: a read that found no key; not part of `A`.
pub const KEY_MISS: u16 = 1 << 11;
/// `d`: module key types.
pub const MODULE: u16 = 1 << 13;
/// `n`: a key created; not part of `A`.
pub const NEW: u16 = 1 << 14;
/// `A`: every class but `m` and `n`.
pub const ALL: u16 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// CONFIG SET's complaint about a letter that is no class.
pub const INVALID_CLASS: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/// The classes a `notify-keyspace-events` value names, or `None` when a character is no class.
pub fn parse(classes: &str) -> Option<u16> {
    classes.bytes().try_fold(0, |flags, c| {
        Some(
            flags
                | match c {
                    b'A' => ALL,
                    b'g' => GENERIC,
                    b'$' => STRING,
                    b'l' => LIST,
                    b's' => SET,
                    b'h' => HASH,
                    b'z' => ZSET,
                    b'x' => EXPIRED,
                    b'e' => EVICTED,
                    b'K' => KEYSPACE,
                    b'E' => KEYEVENT,
                    b't' => STREAM,
                    b'm' => KEY_MISS,
                    b'd' => MODULE,
                    b'n' => NEW,
                    _ => return None,
                },
        )
    })
}

/// The value CONFIG GET shows, in Redis's order. As in Redis, `A` stands for the whole set and
/// then hides an `n` set beside it.
pub fn format(flags: u16) -> String {
    let mut text = String::new();
    if flags & ALL == ALL {
        text.push('A');
    } else {
        let letters = [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ];
        text.extend(letters.iter().filter(|(bit, _)| flags & bit != 0).map(|(_, letter)| letter));
    }
    for (bit, letter) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            text.push(letter);
        }
    }
    text
}

/// One event waiting to be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub db: usize,
    pub name: &'static str,
    pub key: Key,
}

impl Event {
    /// The channels and messages it is published as, keyspace first, as `flags` asks.
    pub fn messages(&self, flags: u16) -> impl Iterator<Item = (Vec<u8>, &[u8])> {
        let keyspace = (flags & KEYSPACE != 0).then(|| {
            let mut channel = format!("__keyspace@{}__:", self.db).into_bytes();
            channel.extend_from_slice(&self.key);
            (channel, self.name.as_bytes())
        });
        let keyevent = (flags & KEYEVENT != 0).then(|| (format!("__keyevent@{}__:{}", self.db, self.name).into_bytes(), &self.key[..]));
        keyspace.into_iter().chain(keyevent)
    }
}

/// The events noted since the engine last took them, for the classes `notify-keyspace-events`
/// asks for.
#[derive(Debug, Default)]
pub struct Events {
    /// The classes to note; 0 when neither `K` nor `E` is set, since nothing would be published.
    noted: u16,
    /// The setting as given (which channels).
    flags: u16,
    pending: Vec<Event>,
}

impl Events {
    /// Follows a new `notify-keyspace-events` value.
    pub fn configure(&mut self, flags: u16) {
        self.flags = flags;
        self.noted = if flags & (KEYSPACE | KEYEVENT) == 0 { 0 } else { flags & !(KEYSPACE | KEYEVENT) };
    }

    pub fn flags(&self) -> u16 {
        self.flags
    }

    /// Notes event `name` of `class` on `key`, if that class is published.
    #[inline]
    pub fn note(&mut self, class: u16, name: &'static str, db: usize, key: &[u8]) {
        if self.noted & class != 0 {
            self.pending.push(Event { db, name, key: key.into() });
        }
    }

    /// Whether events wait to be published.
    #[inline]
    pub fn any(&self) -> bool {
        !self.pending.is_empty()
    }

    pub fn take(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_parse_and_print_as_redis_does() {
        let cases = [
            ("KEA", "AKE"),
            ("Kgn$lshzxetdmE", "AKEm"),
            ("Eg", "gE"),
            ("AAm", "Am"),
            ("", ""),
            ("K", "K"),
            ("gn", "gn"),
            ("An", "A"),
            ("g$lshzxet", "g$lshzxet"),
            ("g$lshzxetd", "A"),
            ("nd", "dn"),
            ("mK", "Km"),
            ("Ex", "xE"),
        ];
        for (given, shown) in cases {
            assert_eq!(parse(given).map(format).as_deref(), Some(shown), "{given}");
        }
        assert_eq!(parse("An"), Some(ALL | NEW), "A hides n when printed, but n is set");
        for bad in ["KEA ", "X", "a", "k", "Ex!"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn nothing_is_noted_without_k_or_e_or_the_class() {
        let mut events = Events::default();
        events.note(GENERIC, "del", 0, b"k");
        assert!(!events.any(), "off by default");
        events.configure(parse("A").unwrap());
        events.note(GENERIC, "del", 0, b"k");
        assert!(!events.any(), "classes without K or E publish nothing");
        events.configure(parse("E$").unwrap());
        events.note(GENERIC, "del", 0, b"k");
        assert!(!events.any(), "another class");
        events.note(STRING, "set", 3, b"k");
        let taken = events.take();
        assert_eq!(taken, [Event { db: 3, name: "set", key: Key::from(&b"k"[..]) }]);
        let messages: Vec<(Vec<u8>, &[u8])> = taken[0].messages(parse("KE$").unwrap()).collect();
        assert_eq!(messages, [(b"__keyspace@3__:k".to_vec(), &b"set"[..]), (b"__keyevent@3__:set".to_vec(), &b"k"[..])]);
        assert!(!events.any());
    }

    use crate::engine::Input;
    use crate::engine::test_harness::Harness;

    /// An engine publishing every class on `__keyevent@<db>__:<event>` (with `flags`), a subscriber
    /// to all of it on connection 2, and the client on connection 1.
    fn subscribed(flags: &str) -> Harness {
        let mut c = Harness::new();
        assert_eq!(c.run(&["CONFIG", "SET", "notify-keyspace-events", flags]), "+OK\r\n");
        c.another(2);
        c.run_on(2, &[b"PSUBSCRIBE", b"__key*__:*"]);
        c
    }

    /// Runs a command on connection 1 and returns what the subscriber received, as
    /// `event key` (`event@db key` outside database 0), keyspace messages as `key: event`.
    fn events(c: &mut Harness, args: &[&str]) -> Vec<String> {
        let input: String = format!("*{}\r\n", args.len()) + &args.iter().map(|a| format!("${}\r\n{a}\r\n", a.len())).collect::<String>();
        let outputs = c.engine.feed(c.now, &[Input { id: 1, data: input.as_bytes() }]);
        decode(outputs.iter().find(|o| o.id == 2).map_or(&[][..], |o| &o.data))
    }

    /// The `pmessage` pushes in `bytes`, as [`events`] shows them.
    fn decode(bytes: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(bytes);
        let lines: Vec<&str> = text.split("\r\n").collect();
        let mut seen = Vec::new();
        for at in 0..lines.len() {
            if lines[at] != "pmessage" {
                continue;
            }
            let (channel, message) = (lines[at + 4], lines[at + 6]);
            let (kind, rest) = channel.split_once('@').expect("a key channel");
            let (db, name) = rest.split_once("__:").expect("a database");
            let db = if db == "0" { String::new() } else { format!("@{db}") };
            seen.push(match kind {
                "__keyevent" => format!("{name}{db} {message}"),
                _ => format!("{name}{db}: {message}"),
            });
        }
        seen
    }

    fn check(c: &mut Harness, args: &[&str], expected: &[&str]) {
        assert_eq!(events(c, args), expected, "{args:?}");
    }

    #[test]
    fn strings_and_keys_publish_redis_events_in_redis_order() {
        let mut c = subscribed("EAnm");
        check(&mut c, &["SET", "a", "1"], &["new a", "set a"]);
        check(&mut c, &["SET", "a", "2", "EX", "100"], &["set a", "expire a"]);
        check(&mut c, &["SET", "b", "1", "PXAT", "1"], &["new b", "set b", "expire b"]);
        check(&mut c, &["GET", "b"], &["expired b", "keymiss b"]);
        check(&mut c, &["SET", "a", "1", "NX"], &[]);
        check(&mut c, &["SET", "q", "1", "GET"], &["keymiss q", "new q", "set q"]);
        check(&mut c, &["SETEX", "s", "10", "v"], &["new s", "set s", "expire s"]);
        check(&mut c, &["MSET", "m1", "1", "m2", "2"], &["new m1", "set m1", "new m2", "set m2"]);
        check(&mut c, &["MSETNX", "m1", "1", "m3", "3"], &[]);
        check(&mut c, &["GETSET", "a", "5"], &["set a"]);
        check(&mut c, &["GETDEL", "a"], &["del a"]);
        check(&mut c, &["GETDEL", "a"], &["keymiss a"]);
        check(&mut c, &["GETEX", "m1", "EX", "100"], &["expire m1"]);
        check(&mut c, &["GETEX", "m1", "PERSIST"], &["persist m1"]);
        check(&mut c, &["GETEX", "m1", "PERSIST"], &[]);
        check(&mut c, &["GETEX", "m1", "EXAT", "1"], &["del m1"]);
        check(&mut c, &["APPEND", "ap", "x"], &["new ap", "append ap"]);
        check(&mut c, &["SETRANGE", "sr", "0", ""], &[]);
        check(&mut c, &["SETRANGE", "sr", "2", "x"], &["new sr", "setrange sr"]);
        check(&mut c, &["INCR", "i"], &["new i", "incrby i"]);
        check(&mut c, &["DECRBY", "i", "3"], &["incrby i"]);
        check(&mut c, &["INCRBYFLOAT", "i", "1.5"], &["incrbyfloat i"]);
        for read in [&["STRLEN", "no"][..], &["EXISTS", "no"], &["TYPE", "no"], &["TTL", "no"], &["MGET", "no"]] {
            check(&mut c, read, &["keymiss no"]);
        }
        check(&mut c, &["EXPIRE", "m2", "100"], &["expire m2"]);
        check(&mut c, &["EXPIRE", "m2", "100", "NX"], &[]);
        check(&mut c, &["PERSIST", "m2"], &["persist m2"]);
        check(&mut c, &["PERSIST", "m2"], &[]);
        check(&mut c, &["EXPIRE", "m2", "-1"], &["del m2"]);
        c.run(&["MSET", "r1", "1", "r2", "2"]);
        check(&mut c, &["RENAME", "r1", "r2"], &["new r2", "rename_from r1", "rename_to r2"]);
        check(&mut c, &["RENAMENX", "r2", "r3"], &["new r3", "rename_from r2", "rename_to r3"]);
        check(&mut c, &["COPY", "r3", "r4"], &["new r4", "copy_to r4"]);
        check(&mut c, &["COPY", "nokey", "r4"], &["keymiss nokey"]);
        check(&mut c, &["COPY", "r3", "r4", "REPLACE"], &["new r4", "copy_to r4"]);
        check(&mut c, &["MOVE", "r4", "1"], &["new@1 r4", "move_from r4", "move_to@1 r4"]);
        check(&mut c, &["DEL", "r3", "r4", "no"], &["del r3"]);
        check(&mut c, &["FLUSHALL"], &[]);
    }

    #[test]
    fn sets_hashes_bitmaps_and_sketches_publish_redis_events() {
        let mut c = subscribed("EAnm");
        check(&mut c, &["SADD", "s", "a", "b"], &["new s", "sadd s"]);
        check(&mut c, &["SADD", "s", "a"], &[]);
        check(&mut c, &["SREM", "s", "a", "zz"], &["srem s"]);
        check(&mut c, &["SREM", "s", "b"], &["srem s", "del s"]);
        c.run(&["SADD", "s", "a", "b", "c", "d"]);
        check(&mut c, &["SPOP", "s"], &["spop s"]);
        check(&mut c, &["SPOP", "s", "0"], &[]);
        check(&mut c, &["SPOP", "s", "5"], &["spop s", "del s"]);
        c.run(&["SADD", "s", "a", "b"]);
        check(&mut c, &["SMOVE", "s", "t", "a"], &["srem s", "new t", "sadd t"]);
        check(&mut c, &["SMOVE", "s", "t", "b"], &["srem s", "del s", "sadd t"]);
        c.run(&["SADD", "u", "1", "2"]);
        check(&mut c, &["SINTERSTORE", "d", "s", "t"], &["keymiss s"]);
        check(&mut c, &["SUNIONSTORE", "d", "t", "u"], &["new d", "sunionstore d"]);
        check(&mut c, &["SDIFFSTORE", "d", "t", "u"], &["sdiffstore d"]);
        check(&mut c, &["SINTERSTORE", "d", "t", "u"], &["del d"]);
        check(&mut c, &["HSET", "h", "a", "1", "b", "2"], &["new h", "hset h"]);
        check(&mut c, &["HSETNX", "h", "a", "1"], &[]);
        check(&mut c, &["HMSET", "h", "x", "1"], &["hset h"]);
        check(&mut c, &["HDEL", "h", "zz"], &[]);
        check(&mut c, &["HINCRBY", "h", "n", "1"], &["hincrby h"]);
        check(&mut c, &["HINCRBYFLOAT", "h", "f", "1.5"], &["hincrbyfloat h"]);
        check(&mut c, &["HDEL", "h", "a", "b", "x", "n", "f"], &["hdel h", "del h"]);
        check(&mut c, &["HGET", "h", "a"], &["keymiss h"]);
        check(&mut c, &["SETBIT", "bm", "3", "1"], &["new bm", "setbit bm"]);
        check(&mut c, &["SETBIT", "bm", "3", "1"], &[]);
        check(&mut c, &["BITOP", "OR", "bd", "bm", "bm"], &["new bd", "set bd"]);
        check(&mut c, &["BITOP", "AND", "bd", "n1", "n2"], &["keymiss n1", "keymiss n2", "del bd"]);
        check(&mut c, &["BITFIELD", "bf", "SET", "u8", "0", "255", "GET", "u8", "0"], &["new bf", "setbit bf"]);
        check(&mut c, &["BITFIELD", "bf", "SET", "u8", "0", "255"], &[]);
        check(&mut c, &["BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "255"], &[]);
        check(&mut c, &["BITFIELD", "bf", "INCRBY", "u8", "0", "1"], &["setbit bf"]);
        check(&mut c, &["PFADD", "p", "a", "b"], &["new p", "pfadd p"]);
        check(&mut c, &["PFADD", "p", "a"], &[]);
        check(&mut c, &["PFMERGE", "pm", "p", "no"], &["keymiss pm", "keymiss no", "new pm", "pfadd pm"]);
    }

    #[test]
    fn lists_publish_redis_events() {
        let mut c = subscribed("EA");
        check(&mut c, &["LPUSH", "l", "a", "b"], &["lpush l"]);
        check(&mut c, &["RPUSHX", "no", "x"], &[]);
        check(&mut c, &["RPOP", "l", "0"], &[]);
        check(&mut c, &["LSET", "l", "0", "z"], &["lset l"]);
        check(&mut c, &["LINSERT", "l", "BEFORE", "z", "y"], &["linsert l"]);
        check(&mut c, &["LREM", "l", "1", "y"], &["lrem l"]);
        check(&mut c, &["LTRIM", "l", "0", "0"], &["ltrim l"]);
        check(&mut c, &["RPOPLPUSH", "l", "m"], &["lpush m", "rpop l", "del l"]);
        check(&mut c, &["LMOVE", "m", "m", "LEFT", "RIGHT"], &["rpush m", "lpop m"]);
        check(&mut c, &["SORT", "m", "ALPHA", "STORE", "s"], &["sortstore s"]);
        check(&mut c, &["LPOP", "m", "3"], &["lpop m", "del m"]);
        check(&mut c, &["SORT", "m", "STORE", "s"], &["del s"]);
    }

    #[test]
    fn hash_field_expiry_publishes_as_redis_7_4_does() {
        let mut c = subscribed("EA");
        c.run(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        check(&mut c, &["HEXPIRE", "h", "100", "FIELDS", "2", "a", "zz"], &["hexpire h"]);
        check(&mut c, &["HEXPIRE", "h", "100", "NX", "FIELDS", "1", "a"], &[]);
        check(&mut c, &["HPERSIST", "h", "FIELDS", "1", "a"], &["hpersist h"]);
        check(&mut c, &["HPERSIST", "h", "FIELDS", "1", "a"], &[]);
        check(&mut c, &["HPEXPIREAT", "h", "1", "FIELDS", "1", "a"], &["hdel h"]);
        check(&mut c, &["HPEXPIRE", "h", "10", "FIELDS", "1", "b"], &["hexpire h"]);
        c.advance_ms(20);
        check(&mut c, &["HGET", "h", "c"], &["hexpired h"]);
        check(&mut c, &["HGETDEL", "h", "FIELDS", "1", "c"], &["hdel h", "del h"]);
        c.run(&["HSET", "g", "a", "1"]);
        check(&mut c, &["HSETEX", "g", "PX", "10", "FIELDS", "1", "b", "2"], &["hset g", "hexpire g"]);
        check(&mut c, &["HGETEX", "g", "PERSIST", "FIELDS", "1", "b"], &["hpersist g"]);
        check(&mut c, &["HGETEX", "g", "PX", "10", "FIELDS", "2", "a", "b"], &["hexpire g"]);
        // Active expiry: the tick's output carries `hexpired`, then `del` for the emptied hash.
        c.advance_ms(20);
        let outputs = c.engine.tick(c.now);
        let pushed = outputs.iter().find(|o| o.id == 2).map(|o| decode(&o.data));
        assert_eq!(pushed.as_deref(), Some(&["hexpired g".to_string(), "del g".to_string()][..]));
    }

    #[test]
    fn expiry_and_eviction_are_published_from_ticks_and_commands() {
        let mut c = subscribed("KEA");
        c.run(&["SET", "k", "v", "PX", "5"]);
        c.advance_ms(10);
        let outputs = c.engine.tick(c.now);
        let pushed = outputs.iter().find(|o| o.id == 2).map(|o| decode(&o.data));
        assert_eq!(pushed.as_deref(), Some(&["k: expired".to_string(), "expired k".to_string()][..]));
        c.run(&["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]);
        c.run(&["SET", "victim", "v"]);
        c.run(&["CONFIG", "SET", "maxmemory", "1"]);
        let seen = events(&mut c, &["GET", "victim"]);
        c.run(&["CONFIG", "SET", "maxmemory", "0"]);
        assert_eq!(seen, ["victim: evicted", "evicted victim"]);
    }

    #[test]
    fn a_subscriber_of_its_own_events_gets_them_before_the_reply_and_flags_choose_channels() {
        let mut c = Harness::new();
        c.run(&["HELLO", "3"]);
        c.run(&["CONFIG", "SET", "notify-keyspace-events", "K$"]);
        c.run(&["SUBSCRIBE", "__keyspace@0__:k"]);
        assert_eq!(c.run(&["SET", "k", "v"]), ">3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:k\r\n$3\r\nset\r\n+OK\r\n");
        assert_eq!(c.run(&["DEL", "k"]), ":1\r\n", "g is not asked for");
        c.run(&["CONFIG", "SET", "notify-keyspace-events", "$"]);
        assert_eq!(c.run(&["SET", "k", "v"]), "+OK\r\n", "neither K nor E publishes nothing");
        assert_eq!(c.run(&["CONFIG", "GET", "notify-keyspace-events"]), "%1\r\n$22\r\nnotify-keyspace-events\r\n$1\r\n$\r\n");
        assert_eq!(
            c.run(&["CONFIG", "SET", "notify-keyspace-events", "KEA "]),
            "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n"
        );
    }

    #[test]
    fn a_transaction_publishes_its_commands_events_in_order() {
        let mut c = subscribed("E$g");
        c.run(&["MULTI"]);
        c.run(&["SET", "a", "1"]);
        c.run(&["DEL", "a"]);
        check(&mut c, &["EXEC"], &["set a", "del a"]);
    }
}
