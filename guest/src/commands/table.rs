//! The command table: every command's name, arity, flags, key positions and documentation, and
//! the lookup by name that runs for every command a client sends. COMMAND reports the same table.

use super::{
    Ctx, acl, bitfield, bitmaps, blocking, client, command, config, connection, expire, functions, hash_ttl, hashes, hyperloglog, keys, latency, lists, monitor,
    memory, object, pubsub, scripting, server_info, sets, slowlog, sort, sorted_sets, strings, transactions,
};
use std::sync::OnceLock;

pub type Handler = fn(&mut Ctx, &[&[u8]]);

/// A command as COMMAND INFO and COMMAND DOCS describe it, with the function that runs it.
pub struct Command {
    /// Lower case, as Redis lists it. Subcommands are named `container|sub`.
    pub name: &'static str,
    /// Argument count including the name: exactly `n` when positive, at least `-n` when negative.
    pub arity: i32,
    /// In the order COMMAND INFO lists them.
    pub flags: &'static [Flag],
    /// Positions of the first and last key argument and the step between keys (all 0 for none;
    /// a negative last counts from the end).
    pub keys: (i32, i32, i32),
    /// For commands whose keys follow a count (SINTERCARD numkeys key ...): the count's position.
    pub key_count_at: Option<usize>,
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub complexity: &'static str,
    /// The arguments after the name, in the notation of Redis's documentation.
    pub syntax: &'static str,
    pub run: Handler,
    pub subcommands: &'static [Command],
}

impl Command {
    /// A command with no flags, keys or documentation yet; the builder methods below add them.
    pub const fn new(name: &'static str, arity: i32, run: Handler) -> Self {
        Command {
            name,
            arity,
            flags: &[],
            keys: (0, 0, 0),
            key_count_at: None,
            group: "generic",
            summary: "",
            since: "1.0.0",
            complexity: "O(1)",
            syntax: "",
            run,
            subcommands: &[],
        }
    }

    pub const fn flags(mut self, flags: &'static [Flag]) -> Self {
        self.flags = flags;
        self
    }

    pub const fn keys(mut self, first: i32, last: i32, step: i32) -> Self {
        self.keys = (first, last, step);
        self
    }

    /// Keys follow a count at position `at` (`numkeys key [key ...]`).
    pub const fn counted_keys(mut self, at: usize) -> Self {
        self.key_count_at = Some(at);
        self
    }

    pub const fn group(mut self, group: &'static str) -> Self {
        self.group = group;
        self
    }

    /// Documentation: a one-line summary, the version that introduced it, its complexity and its
    /// argument syntax.
    pub const fn doc(
        mut self,
        summary: &'static str,
        since: &'static str,
        complexity: &'static str,
        syntax: &'static str,
    ) -> Self {
        self.summary = summary;
        self.since = since;
        self.complexity = complexity;
        self.syntax = syntax;
        self
    }

    pub const fn subcommands(mut self, subcommands: &'static [Command]) -> Self {
        self.subcommands = subcommands;
        self
    }

    pub fn accepts(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity >= 0 { argc == arity } else { argc >= -arity }
    }

    /// Where the key arguments are in a command line `args` (name first) of this command: after
    /// the count for `counted_keys` commands, else from the (first, last, step) positions. SORT's
    /// STORE destination is one too.
    ///
    /// A command may have both: ZUNIONSTORE's destination (1, 1, 1), then its counted sources.
    pub fn key_positions(&self, args: &[&[u8]]) -> Vec<usize> {
        let (first, last, step) = self.keys;
        let mut positions: Vec<usize> = Vec::new();
        if first > 0 {
            let last = if last < 0 { args.len() as i32 + last } else { last };
            positions.extend((first..=last).step_by(step.max(1) as usize).map(|i| i as usize).filter(|&i| i < args.len()));
        }
        if let Some(at) = self.key_count_at {
            let count = args.get(at).and_then(|c| super::parse_i64(c)).and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
            positions.extend((at + 1..at + 1 + count).filter(|&i| i < args.len()));
        }
        if self.name == "sort" {
            positions.extend(sort_destination(args));
        }
        positions
    }

    /// The key arguments of a command line `args` (name first) of this command.
    pub fn key_args<'a>(&self, args: &[&'a [u8]]) -> Vec<&'a [u8]> {
        self.key_positions(args).into_iter().map(|i| args[i]).collect()
    }

    pub fn has_flag(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }
}

/// A command flag, as Redis names it in COMMAND INFO. The dispatcher acts on some (`no_auth`,
/// `denyoom`) and COMMAND derives ACL categories from others, so a misspelt flag must not compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    Write,
    ReadOnly,
    /// Refused while memory is over `maxmemory`.
    DenyOom,
    Admin,
    NoScript,
    Loading,
    Stale,
    Fast,
    /// Runs before the client has authenticated.
    NoAuth,
    AllowBusy,
    Sentinel,
    /// Not logged by SLOWLOG (EXEC: its commands are).
    SkipSlowlog,
    PubSub,
    /// May wait for a key to change (BLPOP and friends).
    Blocking,
    /// The keys' positions depend on the arguments (a `numkeys` count).
    MovableKeys,
}

impl Flag {
    /// The flag's name in COMMAND INFO.
    pub const fn name(self) -> &'static str {
        match self {
            Flag::Write => "write",
            Flag::ReadOnly => "readonly",
            Flag::DenyOom => "denyoom",
            Flag::Admin => "admin",
            Flag::NoScript => "noscript",
            Flag::Loading => "loading",
            Flag::Stale => "stale",
            Flag::Fast => "fast",
            Flag::NoAuth => "no_auth",
            Flag::AllowBusy => "allow_busy",
            Flag::Sentinel => "sentinel",
            Flag::SkipSlowlog => "skip_slowlog",
            Flag::PubSub => "pubsub",
            Flag::Blocking => "blocking",
            Flag::MovableKeys => "movablekeys",
        }
    }
}

/// Where SORT's STORE destination is, read as Redis reads SORT's options (the last STORE wins).
fn sort_destination(args: &[&[u8]]) -> Option<usize> {
    let mut destination = None;
    let mut i = 2;
    while i < args.len() {
        let arg = args[i];
        let skip = if super::is(arg, "LIMIT") {
            2
        } else if super::is(arg, "GET") || super::is(arg, "BY") {
            1
        } else if super::is(arg, "STORE") && i + 1 < args.len() {
            destination = Some(i + 1);
            1
        } else {
            0
        };
        i += 1 + skip;
    }
    destination
}

/// Every command family's table. A static, so that a command is at one address wherever it is
/// found from (a `const`'s data may be copied into each place that uses it).
static FAMILIES: &[&[Command]] = &[
    strings::COMMANDS,
    sets::COMMANDS,
    lists::COMMANDS,
    blocking::COMMANDS,
    sort::COMMANDS,
    sorted_sets::COMMANDS,
    keys::COMMANDS,
    expire::COMMANDS,
    object::COMMANDS,
    memory::COMMANDS,
    connection::COMMANDS,
    client::COMMANDS,
    config::COMMANDS,
    command::COMMANDS,
    server_info::COMMANDS,
    slowlog::COMMANDS,
    latency::COMMANDS,
    transactions::COMMANDS,
    pubsub::COMMANDS,
    monitor::COMMANDS,
    hashes::COMMANDS,
    hash_ttl::COMMANDS,
    bitmaps::COMMANDS,
    bitfield::COMMANDS,
    hyperloglog::COMMANDS,
    scripting::COMMANDS,
    functions::COMMANDS,
    acl::COMMANDS,
];

/// All top-level commands, in table order.
pub fn all() -> impl Iterator<Item = &'static Command> {
    FAMILIES.iter().flat_map(|family| family.iter())
}

/// The commands by name, looked up for every command (twice when pipelined: once to read ahead
/// the keys, once to run it). They are grouped by the length and first letter of their name, and
/// a lookup compares a client's bytes with each name of the group a word at a time ([`Name`]): no
/// hashing, no lower-cased copy and no loop over bytes.
struct NameIndex {
    /// Each command with its number: top-level commands in table order.
    buckets: Vec<Vec<Entry>>,
    /// The number of each top-level command's first subcommand; the others follow in order.
    first_subcommand: Vec<usize>,
}

struct Entry {
    command: &'static Command,
    number: usize,
    name: Name,
}

/// The longest name a command can have.
const LONGEST_NAME: usize = 32;

/// The bucket of a name: its length and the letter case-blind low bits of its first byte.
fn bucket(name: &[u8]) -> Option<usize> {
    let first = *name.first()?;
    (name.len() <= LONGEST_NAME).then(|| name.len() * 32 + usize::from(first & 0x1f))
}

/// A lower-case command name as words to compare a client's bytes of the same length with, in any
/// letter case: a client's word, with bit 5 set in the bytes where the name has a letter
/// (`fold`), must equal the name's word (`lower`). Letters match in either case, every other byte
/// exactly.
struct Name {
    lower: Words,
    fold: Words,
}

impl Name {
    fn new(lower: &str) -> Name {
        let fold: Vec<u8> = lower.bytes().map(|b| if b.is_ascii_alphabetic() { 0x20 } else { 0 }).collect();
        Name { lower: words(lower.as_bytes()), fold: words(&fold) }
    }

    /// Whether `name`, of this name's length, is this name in some letter case.
    fn matches(&self, name: &Words) -> bool {
        let differs = name.iter().zip(&self.fold).zip(&self.lower).fold(0, |differs, ((word, fold), lower)| differs | ((word | fold) ^ lower));
        differs == 0
    }
}

const WORDS: usize = LONGEST_NAME / 8;

type Words = [u64; WORDS];

/// The bytes of a name of at most [`LONGEST_NAME`] bytes packed into words, the same way for
/// every name of one length, so that two names of one length are equal when their words are and
/// a byte of one meets the byte at its position in the other. From 8 bytes on, the name's 8-byte
/// chunks, the last one ending at the name's end (overlapping the one before); shorter names in
/// one word: two 4-byte halves (overlapping), or the first, middle and last byte.
fn words(name: &[u8]) -> Words {
    let mut words = [0; WORDS];
    let len = name.len();
    let at = |start: usize| name.get(start..).and_then(|rest| rest.first_chunk::<8>()).map_or(0, |chunk| u64::from_le_bytes(*chunk));
    let half = |start: usize| name.get(start..).and_then(|rest| rest.first_chunk::<4>()).map_or(0, |chunk| u64::from(u32::from_le_bytes(*chunk)));
    match len {
        0 => {}
        1..=3 => words[0] = u64::from(name[0]) | u64::from(name[len / 2]) << 8 | u64::from(name[len - 1]) << 16,
        4..=7 => words[0] = half(0) | half(len - 4) << 32,
        _ => {
            for (i, word) in words.iter_mut().enumerate().take(len.div_ceil(8)) {
                *word = at((i * 8).min(len - 8));
            }
        }
    }
    words
}

fn name_index() -> &'static NameIndex {
    static INDEX: OnceLock<NameIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut buckets: Vec<Vec<Entry>> = std::iter::repeat_with(Vec::new).take((LONGEST_NAME + 1) * 32).collect();
        let commands: Vec<&'static Command> = all().collect();
        let mut next = commands.len();
        let mut first_subcommand = Vec::with_capacity(commands.len());
        for (number, command) in commands.into_iter().enumerate() {
            if let Some(at) = bucket(command.name.as_bytes()) {
                buckets[at].push(Entry { command, number, name: Name::new(command.name) });
            }
            first_subcommand.push(next);
            next += command.subcommands.len();
        }
        NameIndex { buckets, first_subcommand }
    })
}

/// The command called `name`, in any letter case.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    numbered(name).map(|(command, _)| command)
}

/// The command called `name` and its number: a small dense index for per-command counters, so
/// counting costs no hashing. Subcommands are numbered after every top-level command.
pub fn numbered(name: &[u8]) -> Option<(&'static Command, usize)> {
    let candidates = &name_index().buckets[bucket(name)?];
    let words = words(name);
    candidates.iter().find(|entry| entry.name.matches(&words)).map(|entry| (entry.command, entry.number))
}

/// The number of the subcommand at `position` of the command numbered `parent`.
pub fn subcommand_number(parent: usize, position: usize) -> usize {
    name_index().first_subcommand.get(parent).map_or(0, |first| first + position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_are_unique_and_lower_case() {
        let mut seen = std::collections::HashSet::new();
        for command in all() {
            assert_eq!(command.name, command.name.to_ascii_lowercase());
            assert!(seen.insert(command.name), "{} listed twice", command.name);
            for sub in command.subcommands {
                assert!(sub.name.starts_with(&format!("{}|", command.name)), "{}", sub.name);
            }
        }
    }

    #[test]
    fn every_command_is_found_in_any_letter_case() {
        for command in all() {
            let upper = command.name.to_ascii_uppercase();
            let mixed: String = command.name.chars().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { c }).collect();
            for name in [command.name, &upper, &mixed] {
                assert!(std::ptr::eq(lookup(name.as_bytes()).unwrap(), command), "{name}");
            }
        }
        for unknown in [&b""[..], b"gett", b"ge", b"g\x07t", b"@et", &[b'x'; 100]] {
            assert!(lookup(unknown).is_none(), "{:?}", String::from_utf8_lossy(unknown));
        }
    }

    /// Names are compared a word at a time with a letter-case mask: a name with any one byte
    /// changed to anything but the same letter in the other case is another command or none.
    #[test]
    fn one_byte_off_is_not_the_command() {
        for command in all() {
            let name = command.name.as_bytes();
            for position in 0..name.len() {
                for byte in 0..=u8::MAX {
                    if byte.eq_ignore_ascii_case(&name[position]) {
                        continue;
                    }
                    let mut changed = name.to_vec();
                    changed[position] = byte;
                    let found = lookup(&changed);
                    assert!(found.is_none_or(|other| other.name.as_bytes().eq_ignore_ascii_case(&changed)), "{:?}", String::from_utf8_lossy(&changed));
                }
            }
        }
    }
}
