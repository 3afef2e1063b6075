//! Access control lists: users, their passwords and what each may run and touch, as Redis 6/7
//! define them (ACL SETUSER's rule language), the checks made before a command runs, and the ACL
//! LOG of what was refused.
//!
//! Every connection belongs to a user, `default` at first. A user has one root selector and any
//! number of further selectors `(...)`: a command runs when one selector allows the command, all
//! its keys and all its channels. The `default` user of a fresh server allows everything; such a
//! user is "unrestricted" and its connections skip the checks entirely (the session caches that
//! in `acl_limited`, refreshed whenever a user changes).
//!
//! Command categories come from the command table (`commands::acl_categories`, the ones COMMAND
//! INFO reports), so a rule such as `+@read` and COMMAND INFO always agree.

pub(crate) mod describe;
pub(crate) mod file;
pub(crate) mod log;

pub(crate) use log::{Context, Log};

use crate::commands::{Command, Flag, all};
use crate::glob;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// Redis's categories, in the order of its category bits (ACL CAT lists them so).
pub(crate) const CATEGORIES: [&str; 21] = [
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo", "stream",
    "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
];

/// Why a command was refused; ordered as Redis ranks them when selectors disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Denied {
    Command = 1,
    Key = 2,
    Auth = 3,
    Channel = 4,
}

impl Denied {
    pub fn name(self) -> &'static str {
        match self {
            Denied::Command => "command",
            Denied::Key => "key",
            Denied::Auth => "auth",
            Denied::Channel => "channel",
        }
    }
}

/// Why a rule was refused, in ACL SETUSER's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuleError {
    Syntax,
    Unknown,
    KeyAfterAll,
    ChannelAfterAll,
    NoSuchPassword,
    BadHash,
    SubcommandFirstArg,
}

impl RuleError {
    pub fn message(self) -> &'static str {
        match self {
            RuleError::Syntax => "Syntax error",
            RuleError::Unknown => "Unknown command or category name in ACL",
            RuleError::KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::SubcommandFirstArg => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// Every command and subcommand with the number its permission bit has: each top-level command
/// followed by its subcommands, in table order.
pub(crate) struct Catalog {
    pub entries: Vec<Entry>,
    /// A fixed hasher: std's default one would ask the host for a random seed, which not every
    /// world's host provides (the engine also runs with WASI's imports as traps).
    by_name: HashMap<&'static str, usize, foldhash::fast::FixedState>,
}

pub(crate) struct Entry {
    pub command: &'static Command,
    /// The entries of its subcommands.
    pub subcommands: std::ops::Range<usize>,
    pub is_subcommand: bool,
    /// Bit `i` set for category `CATEGORIES[i]`.
    pub categories: u32,
}

pub(crate) fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut entries = Vec::new();
        let categories_of = |command: &Command| {
            crate::commands::acl_categories(command)
                .iter()
                .filter_map(|name| CATEGORIES.iter().position(|c| Some(*c) == name.strip_prefix('@')))
                .fold(0u32, |bits, i| bits | (1 << i))
        };
        for command in all() {
            let first = entries.len() + 1;
            entries.push(Entry { command, subcommands: first..first + command.subcommands.len(), is_subcommand: false, categories: categories_of(command) });
            for sub in command.subcommands {
                entries.push(Entry { command: sub, subcommands: 0..0, is_subcommand: true, categories: categories_of(sub) });
            }
        }
        let by_name = entries.iter().enumerate().map(|(i, e)| (e.command.name, i)).collect();
        Catalog { entries, by_name }
    })
}

impl Catalog {
    /// The entry of a command or `container|subcommand` name, in any letter case.
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        self.by_name.get(lower.as_str()).copied()
    }

    /// The entry of a command table entry.
    pub fn id_of(&self, command: &Command) -> Option<usize> {
        self.by_name.get(command.name).copied()
    }

    /// The bit standing for commands added later (Redis's modules): only `+@all` sets it, so a
    /// description knows whether to start from `+@all` or `-@all`.
    fn future_bit(&self) -> usize {
        self.entries.len()
    }

    fn words(&self) -> usize {
        self.entries.len() / 64 + 1
    }
}

/// A key pattern and what it allows: reading, writing, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyPattern {
    pub pattern: Vec<u8>,
    pub read: bool,
    pub write: bool,
}

/// One set of permissions: commands, key patterns and channel patterns.
#[derive(Debug, Clone)]
pub(crate) struct Selector {
    pub all_keys: bool,
    pub all_channels: bool,
    pub all_commands: bool,
    /// A bit per catalog entry, plus the "future commands" bit.
    pub commands: Vec<u64>,
    /// First arguments allowed for otherwise refused commands (`+select|0`), by entry.
    pub first_args: BTreeMap<usize, Vec<Vec<u8>>>,
    pub keys: Vec<KeyPattern>,
    pub channels: Vec<Vec<u8>>,
}

impl Selector {
    /// A selector that allows nothing (channels as `acl-pubsub-default`, resetchannels in 7.0).
    pub fn new() -> Self {
        Selector {
            all_keys: false,
            all_channels: false,
            all_commands: false,
            commands: vec![0; catalog().words()],
            first_args: BTreeMap::new(),
            keys: Vec::new(),
            channels: Vec::new(),
        }
    }

    pub fn bit(&self, id: usize) -> bool {
        self.commands.get(id / 64).is_some_and(|word| word & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if let Some(word) = self.commands.get_mut(id / 64) {
            if on {
                *word |= 1 << (id % 64);
            } else {
                *word &= !(1 << (id % 64));
                self.all_commands = false;
            }
        }
    }

    /// Allows or refuses an entry; a container's subcommands follow it.
    fn change(&mut self, id: usize, allow: bool) {
        self.set_bit(id, allow);
        self.first_args.remove(&id);
        for sub in catalog().entries[id].subcommands.clone() {
            self.set_bit(sub, allow);
        }
    }

    fn change_category(&mut self, category: usize, allow: bool) {
        for (id, entry) in catalog().entries.iter().enumerate() {
            if entry.categories & (1 << category) != 0 {
                self.change(id, allow);
            }
        }
    }

    fn set_all(&mut self, allow: bool) {
        let fill = if allow { u64::MAX } else { 0 };
        self.commands.iter_mut().for_each(|w| *w = fill);
        self.all_commands = allow;
        self.first_args.clear();
    }

    /// Applies one selector rule (see Redis's ACL SETUSER documentation).
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        // An empty rule can come from a selector (`("")`).
        if op.is_empty() {
            return Err(RuleError::Syntax);
        }
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if is("allkeys") || op == b"~*" {
            self.all_keys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.all_keys = false;
            self.keys.clear();
        } else if is("allchannels") || op == b"&*" {
            self.all_channels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.set_all(true);
        } else if is("nocommands") || is("-@all") {
            self.set_all(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            self.add_key_pattern(op)?;
        } else if op[0] == b'&' {
            if self.all_channels {
                return Err(RuleError::ChannelAfterAll);
            }
            let pattern = &op[1..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(pattern.to_vec());
            }
            self.all_channels = false;
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let name = String::from_utf8_lossy(&op[2..]).to_ascii_lowercase();
            let category = CATEGORIES.iter().position(|c| *c == name).ok_or(RuleError::Unknown)?;
            self.change_category(category, op[0] == b'+');
        } else if op[0] == b'+' {
            self.allow_command(&op[1..])?;
        } else if op[0] == b'-' {
            let id = find_command(&op[1..]).ok_or(RuleError::Unknown)?;
            self.change(id, false);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.all_keys {
            return Err(RuleError::KeyAfterAll);
        }
        let (mut read, mut write) = (false, false);
        let mut offset = 1;
        if op[0] == b'%' {
            loop {
                match op.get(offset).map(u8::to_ascii_uppercase) {
                    Some(b'R') if !read => read = true,
                    Some(b'W') if !write => write = true,
                    Some(b'~') => {
                        offset += 1;
                        break;
                    }
                    // Like Redis, a rule with no `~` takes the empty pattern.
                    None => break,
                    Some(_) => return Err(RuleError::Syntax),
                }
                offset += 1;
            }
            if !read && !write {
                return Err(RuleError::Syntax);
            }
        } else {
            (read, write) = (true, true);
        }
        let pattern = &op[offset.min(op.len())..];
        if has_spaces(pattern) {
            return Err(RuleError::Syntax);
        }
        match self.keys.iter_mut().find(|k| k.pattern == pattern) {
            Some(existing) => {
                existing.read |= read;
                existing.write |= write;
            }
            None => self.keys.push(KeyPattern { pattern: pattern.to_vec(), read, write }),
        }
        self.all_keys = false;
        Ok(())
    }

    /// `+command`, `+container|subcommand`, or `+command|first-arg` for a command without
    /// subcommands.
    fn allow_command(&mut self, name: &[u8]) -> Result<(), RuleError> {
        let Some(bar) = name.iter().rposition(|b| *b == b'|') else {
            let id = find_command(name).ok_or(RuleError::Unknown)?;
            self.change(id, true);
            return Ok(());
        };
        let (base, sub) = (&name[..bar], &name[bar + 1..]);
        let id = find_command(base).ok_or(RuleError::Unknown)?;
        let entry = &catalog().entries[id];
        if entry.is_subcommand {
            return Err(RuleError::SubcommandFirstArg);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if !entry.subcommands.is_empty() {
            let id = find_command(name).ok_or(RuleError::Unknown)?;
            self.change(id, true);
        } else {
            crate::log::warn(&format!(
                "Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: +{})",
                String::from_utf8_lossy(name)
            ));
            let allowed = self.first_args.entry(id).or_default();
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                allowed.push(sub.to_vec());
            }
        }
        Ok(())
    }

    /// Whether this selector lets `args` (resolved to `id`, the command or subcommand) run; when
    /// not, why and at which argument.
    fn check(&self, id: usize, args: &[&[u8]]) -> Result<(), (Denied, usize)> {
        let entry = &catalog().entries[id];
        let command = entry.command;
        if !self.all_commands && !command.has_flag(Flag::NoAuth) && !self.bit(id) {
            let at = if entry.is_subcommand { 2 } else { 1 };
            let allowed = self.first_args.get(&id).is_some_and(|firsts| args.get(at).is_some_and(|arg| firsts.iter().any(|f| f.eq_ignore_ascii_case(arg))));
            if args.len() < 2 || !allowed {
                return Err((Denied::Command, 0));
            }
        }
        if !self.all_keys {
            for (position, read, write) in crate::commands::acl_keys(command, args) {
                if !self.may_touch(args[position], read, write) {
                    return Err((Denied::Key, position));
                }
            }
        }
        if !self.all_channels {
            let (channels, literal): (std::ops::Range<usize>, bool) = match command.name {
                "publish" | "spublish" => (1..2.min(args.len()), false),
                "subscribe" | "ssubscribe" => (1..args.len(), false),
                "psubscribe" => (1..args.len(), true),
                _ => (0..0, false),
            };
            for position in channels {
                if !self.may_use_channel(args[position], literal) {
                    return Err((Denied::Channel, position));
                }
            }
        }
        Ok(())
    }

    fn may_touch(&self, key: &[u8], read: bool, write: bool) -> bool {
        self.all_keys
            || self.keys.iter().any(|p| (p.read || !read) && (p.write || !write) && glob::matches(&p.pattern, key, false))
    }

    /// `literal`: a PSUBSCRIBE pattern, allowed only when a channel rule is exactly it.
    fn may_use_channel(&self, channel: &[u8], literal: bool) -> bool {
        self.all_channels || self.channels.iter().any(|p| if literal { p == channel } else { glob::matches(p, channel, false) })
    }

    /// Whether it allows everything, and so needs no checking.
    fn unrestricted(&self) -> bool {
        self.all_commands && self.all_keys && self.all_channels
    }
}

/// The command a rule names: `name` or `container|subcommand`.
fn find_command(name: &[u8]) -> Option<usize> {
    if name.iter().filter(|b| **b == b'|').count() > 1 {
        return None;
    }
    catalog().find(name)
}

/// Whether a user name holds a character Redis refuses in one (white space or NUL).
pub(crate) fn has_spaces(text: &[u8]) -> bool {
    text.iter().any(|b| b.is_ascii_whitespace() || *b == 0x0b || *b == 0)
}

/// SHA-256 of a password, as the lowercase hex Redis stores and shows.
pub(crate) fn hash_password(password: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(password);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        hex.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    hex
}

fn valid_hash(hash: &[u8]) -> bool {
    hash.len() == 64 && hash.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// Compares secrets looking at every byte of the longer one whatever the contents, so the time it
/// takes tells a guesser nothing about how much of a guess was right.
pub(crate) fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let mut difference = u8::from(given.len() != expected.len());
    for i in 0..given.len().max(expected.len()) {
        difference |= given.get(i).copied().unwrap_or(0) ^ expected.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(difference) == 0
}

/// `skip-sanitize-payload` / `sanitize-payload`: accepted and shown as Redis does (cachet checks
/// every RESTORE payload anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sanitize {
    Skip,
    Sanitize,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub enabled: bool,
    pub nopass: bool,
    pub sanitize: Option<Sanitize>,
    /// SHA-256 hashes in hex, in the order they were added.
    pub passwords: Vec<String>,
    /// The root selector first.
    pub selectors: Vec<Selector>,
}

impl User {
    /// A new user: off, no password, no permissions.
    pub fn new() -> Self {
        User { enabled: false, nopass: false, sanitize: None, passwords: Vec::new(), selectors: vec![Selector::new()] }
    }

    /// The default user of a fresh server: on, no password, everything allowed.
    pub(crate) fn default_user() -> Self {
        let mut user = User::new();
        for rule in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = user.apply(rule.as_bytes());
        }
        user
    }

    /// Applies one rule of ACL SETUSER.
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize = Some(Sanitize::Skip);
        } else if is("sanitize-payload") {
            self.sanitize = Some(Sanitize::Sanitize);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' {
                hash_password(&op[1..])
            } else if valid_hash(&op[1..]) {
                String::from_utf8_lossy(&op[1..]).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' {
                hash_password(&op[1..])
            } else if valid_hash(&op[1..]) {
                String::from_utf8_lossy(&op[1..]).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            let at = self.passwords.iter().position(|p| *p == hash).ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut selector = Selector::new();
            // Unbalanced quotes inside make no rules at all, as with Redis's splitting.
            for rule in split_args(&op[1..op.len() - 1]).unwrap_or_default() {
                selector.apply(&rule)?;
            }
            self.selectors.push(selector);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            for rule in ["resetpass", "resetkeys", "resetchannels", "off", "sanitize-payload", "clearselectors", "-@all"] {
                self.apply(rule.as_bytes())?;
            }
        } else {
            self.selectors[0].apply(op)?;
        }
        Ok(())
    }

    /// Whether `password` opens this user (an enabled one).
    pub fn accepts(&self, password: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let hashed = hash_password(password);
        // Every stored hash is compared, whichever matches, so timing tells nothing either.
        self.passwords.iter().fold(false, |found, p| same_secret(hashed.as_bytes(), p.as_bytes()) | found)
    }

    /// Whether this user may run everything: its connections skip the checks.
    pub fn unrestricted(&self) -> bool {
        self.selectors.iter().any(Selector::unrestricted)
    }

    /// Whether `args` may run, resolved to catalog entry `id`; else the reason Redis reports (the
    /// most specific among the selectors, the later argument on a tie) and the argument at fault.
    pub fn check(&self, id: usize, args: &[&[u8]]) -> Result<(), (Denied, usize)> {
        let mut worst = (Denied::Command, 0);
        for selector in &self.selectors {
            match selector.check(id, args) {
                Ok(()) => return Ok(()),
                Err(denied) => {
                    if denied.0 > worst.0 || (denied.0 == worst.0 && denied.1 > worst.1) {
                        worst = denied;
                    }
                }
            }
        }
        Err(worst)
    }

    /// Whether one selector that allows this command line may also read every key (`allkeys`, or
    /// a `~*` pattern with read access): what SORT's BY and GET patterns need, since the keys
    /// they read are made from the data.
    pub fn reads_every_key(&self, id: usize, args: &[&[u8]]) -> bool {
        self.selectors.iter().any(|s| s.check(id, args).is_ok() && (s.all_keys || s.keys.iter().any(|p| p.read && p.pattern == b"*")))
    }

    /// The channel patterns of all its selectors, or `None` when one allows every channel.
    fn channel_rules(&self) -> Option<Vec<&[u8]>> {
        if self.selectors.iter().any(|s| s.all_channels) {
            return None;
        }
        Some(self.selectors.iter().flat_map(|s| s.channels.iter().map(Vec::as_slice)).collect())
    }

    /// Whether a client of this user subscribed to these channels, patterns and shard channels
    /// could no longer be: when the user's channel permissions change, Redis disconnects it.
    pub fn loses_subscriptions(&self, before: &User, subscriptions: &crate::session::Subscriptions) -> bool {
        let Some(now) = self.channel_rules() else { return false };
        // Nothing lost when every old rule is still there.
        if before.channel_rules().is_some_and(|old| old.iter().all(|rule| now.contains(rule))) {
            return false;
        }
        let allowed = |channel: &[u8], literal: bool| now.iter().any(|p| if literal { *p == channel } else { glob::matches(p, channel, false) });
        subscriptions.patterns.iter().any(|p| !allowed(p, true))
            || subscriptions.channels.iter().chain(&subscriptions.shard).any(|c| !allowed(c, false))
    }
}

/// The users, by name (ACL LIST and USERS list them in this byte order), and the log.
#[derive(Debug)]
pub(crate) struct Acl {
    pub users: BTreeMap<Vec<u8>, User>,
    pub log: Log,
    /// The ACL file, through the host.
    pub file: file::FileAccess,
    /// ACL GENPASS's generator: SHA-256 of a secret key and a counter, so that passwords tell
    /// nothing about each other or about the engine's sampling generator.
    password_key: [u8; 32],
    password_counter: u64,
}

impl Acl {
    /// `seed`: the host's randomness, which the password generator's key is derived from.
    pub fn new(seed: u64) -> Self {
        use sha2::{Digest, Sha256};
        let mut users = BTreeMap::new();
        users.insert(b"default".to_vec(), User::default_user());
        let password_key = Sha256::new().chain_update(b"cachet ACL GENPASS").chain_update(seed.to_le_bytes()).finalize().into();
        Acl { users, log: Log::default(), file: file::FileAccess::default(), password_key, password_counter: 0 }
    }

    /// `chars` random hexadecimal digits (ACL GENPASS); `salt` (the time) is mixed in as well.
    pub fn random_hex(&mut self, chars: usize, salt: u64) -> String {
        use sha2::{Digest, Sha256};
        let mut out = String::with_capacity(chars + 64);
        while out.len() < chars {
            self.password_counter += 1;
            let block = Sha256::new().chain_update(self.password_key).chain_update(self.password_counter.to_le_bytes()).chain_update(salt.to_le_bytes()).finalize();
            for byte in block {
                out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
                out.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
            }
        }
        out.truncate(chars);
        out
    }

    pub fn default_user(&self) -> &User {
        self.users.get(&b"default"[..]).expect("the default user always exists")
    }

    pub fn default_user_mut(&mut self) -> &mut User {
        self.users.get_mut(&b"default"[..]).expect("the default user always exists")
    }

    /// Whether new connections are signed in as `default` without AUTH.
    pub fn default_needs_no_auth(&self) -> bool {
        let default = self.default_user();
        default.nopass && default.enabled
    }

    /// `requirepass`: the default user's only password, or no password at all when empty.
    pub fn set_requirepass(&mut self, password: &str) {
        let default = self.default_user_mut();
        let _ = default.apply(b"resetpass");
        let rule = if password.is_empty() { b"nopass".to_vec() } else { [b">", password.as_bytes()].concat() };
        let _ = default.apply(&rule);
    }

    /// Whether a connection of `user` must be checked before each command: the user is gone or
    /// does not allow everything.
    pub fn limits(&self, user: &[u8]) -> bool {
        self.users.get(user).is_none_or(|u| !u.unrestricted())
    }

    /// Whether `user` / `password` sign in.
    pub fn authenticates(&self, user: &[u8], password: &[u8]) -> bool {
        self.users.get(user).is_some_and(|u| u.accepts(password))
    }

    /// ACL SETUSER's rules applied to a copy of `name` (a new user when there is none): all or
    /// nothing. Returns the new user, or the rule that failed and why.
    pub fn staged(&self, name: &[u8], rules: &[Vec<u8>]) -> Result<User, (Vec<u8>, RuleError)> {
        let mut user = self.users.get(name).cloned().unwrap_or_else(User::new);
        for rule in rules {
            user.apply(rule).map_err(|error| (rule.clone(), error))?;
        }
        Ok(user)
    }

    /// Replaces every user by those of the ACL file (`filename` names it in errors); on any
    /// error nothing changes.
    pub fn load_file(&mut self, filename: &str) -> Result<(), String> {
        let text = self.file.read(filename)?;
        self.users = file::parse(&text, filename)?;
        Ok(())
    }

    /// Writes every user to the ACL file.
    pub fn save_file(&mut self) -> Result<(), String> {
        let contents = file::render(&self.users);
        self.file.write(&contents)
    }

    /// A `user` line of the configuration: `name rule rule...`.
    pub fn configure_user(&mut self, line: &str) -> Result<(), String> {
        let words: Vec<&[u8]> = line.split_ascii_whitespace().map(str::as_bytes).collect();
        let Some((name, rules)) = words.split_first() else { return Err("a user needs a name".into()) };
        if has_spaces(name) {
            return Err("Spaces not allowed in ACL usernames".into());
        }
        let rules = merge_selectors(rules).map_err(|at| format!("Unmatched parenthesis in acl selector starting at '{}'.", String::from_utf8_lossy(rules[at])))?;
        let mut user = if *name == b"default" { User::new() } else { self.users.get(*name).cloned().unwrap_or_else(User::new) };
        for rule in &rules {
            user.apply(rule).map_err(|e| format!("Error loading ACL rule '{}' for the user named '{}': {}", String::from_utf8_lossy(rule), String::from_utf8_lossy(name), e.message()))?;
        }
        self.users.insert(name.to_vec(), user);
        Ok(())
    }
}

/// Joins a selector written across several arguments (`(+get`, `~k)`) into one rule. An opening
/// parenthesis never closed is an error: the index of the argument it starts.
pub(crate) fn merge_selectors(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut merged = Vec::with_capacity(args.len());
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, arg) in args.iter().enumerate() {
        if let Some((_, selector)) = &mut open {
            selector.push(b' ');
            selector.extend_from_slice(arg);
            if arg.last() == Some(&b')') {
                merged.push(open.take().map(|(_, s)| s).unwrap_or_default());
            }
            continue;
        }
        if arg.first() == Some(&b'(') && arg.last() != Some(&b')') {
            open = Some((i, arg.to_vec()));
            continue;
        }
        merged.push(arg.to_vec());
    }
    match open {
        Some((at, _)) => Err(at),
        None => Ok(merged),
    }
}

/// Splits a selector's inside into rules the way Redis's `sdssplitargs` does for plain words
/// (quotes are honoured); `None` on unbalanced quotes.
fn split_args(text: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut words = Vec::new();
    let mut i = 0;
    while i < text.len() {
        while i < text.len() && text[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= text.len() {
            break;
        }
        let mut word = Vec::new();
        if text[i] == b'"' || text[i] == b'\'' {
            let quote = text[i];
            i += 1;
            loop {
                match text.get(i) {
                    None => return None,
                    Some(&c) if c == quote => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') if quote == b'"' && i + 1 < text.len() => {
                        word.push(text[i + 1]);
                        i += 2;
                    }
                    Some(&c) => {
                        word.push(c);
                        i += 1;
                    }
                }
            }
        } else {
            while i < text.len() && !text[i].is_ascii_whitespace() {
                word.push(text[i]);
                i += 1;
            }
        }
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests;
