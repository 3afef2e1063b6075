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
}
