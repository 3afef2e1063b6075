//! What the server remembers about one client connection.

use crate::output_limits::ClientClass;

/// Open connections by id. Looked up on every feed: a fast fixed hasher, as ids are the host's, not
/// a client's.
/// Boxed: a connection's session is taken out of the map and put back around every read, and a
/// pointer moves faster than the whole session.
pub type Sessions = std::collections::HashMap<u64, Box<Session>, foldhash::fast::FixedState>;

/// How the client reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKind {
    Tcp,
    Unix,
    Udp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub kind: PeerKind,
    pub address: String,
    pub local_address: String,
}

impl Peer {
    /// Whether the peer is on this machine: a Unix socket, or a loopback address.
    pub fn is_local(&self) -> bool {
        match self.kind {
            PeerKind::Unix => true,
            PeerKind::Tcp | PeerKind::Udp => {
                let host = self.address.rsplit_once(':').map_or(self.address.as_str(), |(host, _)| host);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                host.parse::<std::net::IpAddr>().is_ok_and(|ip| match ip {
                    std::net::IpAddr::V4(v4) => v4.is_loopback(),
                    std::net::IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
                })
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    /// The host's handle for the connection.
    pub connection: u64,
    /// CLIENT ID: unique and increasing for the life of the engine.
    pub client_id: u64,
    pub peer: Peer,
    /// 2 or 3, chosen with HELLO.
    pub protocol: u8,
    pub db: usize,
    pub name: Option<Vec<u8>>,
    pub lib_name: Option<Vec<u8>>,
    pub lib_version: Option<Vec<u8>>,
    /// Wall-clock milliseconds at connection.
    pub created_ms: u64,
    /// Monotonic nanoseconds of the last command, for CLIENT LIST's idle and the `timeout` setting.
    pub last_active_ns: u64,
    /// The last command run, as CLIENT LIST's `cmd` shows it.
    pub last_command: &'static str,
    /// Whether the client may run commands: true from the start when no password is required.
    pub authenticated: bool,
    /// The ACL user the client acts as (`default` until AUTH names another).
    pub user: Vec<u8>,
    /// Whether its commands must pass ACL checks: its user does not allow everything. A cell, so
    /// ACL SETUSER can update every connection of a user it changes.
    pub acl_limited: std::cell::Cell<bool>,
    /// The command of the client's own that is being checked or run (EXEC, EVAL...: not those
    /// it runs), as ACL LOG's client description names it. Kept for restricted users only.
    pub acl_command: &'static str,
    /// Close the connection once the current replies are written.
    pub close_after_reply: bool,
    /// A command changed something [`Session::encode`] saves; the host is handed the new state.
    pub changed: bool,
    /// Between MULTI and EXEC or DISCARD: the commands queued so far.
    pub transaction: Option<Transaction>,
    /// Channels, patterns and shard channels subscribed to, in the order of subscription.
    pub subscriptions: Subscriptions,
    /// CLIENT REPLY: whether the replies of the next commands are sent.
    pub reply_mode: ReplyMode,
    /// CLIENT TRACKING is on (the options are in the engine's tracking state).
    pub tracking: bool,
    /// A command of this client waits for CLIENT PAUSE to end.
    pub postponed: bool,
    /// A blocking command of this client waits for a key (see `blocking`). Saved: an engine that
    /// replaces a faulted one answers the client's wait with an error.
    pub blocked: bool,
    /// This client's script was suspended between slices: its next commands wait for its end.
    pub waits_for_script: bool,
    /// Set by a blocking command that must wait; the engine registers the wait after it.
    pub block_request: Option<crate::blocking::Request>,
    /// The command running is a blocked one run again because a key it waits for changed: if it
    /// must wait again, it keeps its place.
    pub retrying: bool,
    /// EXEC is running this client's queued commands: blocking commands do not wait.
    pub in_exec: bool,
    /// A function flagged `allow-oom` is running: its commands run even over `maxmemory`.
    pub script_allows_oom: bool,
    /// CLIENT NO-EVICT ON.
    pub no_evict: bool,
    /// CLIENT NO-TOUCH ON: its reads leave the keys' LRU/LFU data as it was.
    pub no_touch: bool,
    /// Bytes of this client's output the host holds unwritten, as the host last reported.
    pub unsent: u64,
    /// Since when (monotonic nanoseconds) the output waiting for this client has been at or above
    /// its class's soft limit.
    pub soft_limit_since_ns: Option<u64>,
}

/// CLIENT REPLY's modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyMode {
    #[default]
    On,
    Off,
    /// Drop the replies of this many commands (the SKIP command itself, then the next).
    Skip { commands: u8 },
}

impl ReplyMode {
    /// Whether the command just run is to be answered, moving on to the next command's mode.
    pub fn answers_and_advance(&mut self) -> bool {
        match *self {
            ReplyMode::On => true,
            ReplyMode::Off => false,
            ReplyMode::Skip { commands } => {
                *self = if commands > 1 { ReplyMode::Skip { commands: commands - 1 } } else { ReplyMode::On };
                false
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Subscriptions {
    pub channels: Vec<Vec<u8>>,
    pub patterns: Vec<Vec<u8>>,
    pub shard: Vec<Vec<u8>>,
}

impl Subscriptions {
    pub fn of(&mut self, kind: crate::pubsub::Kind) -> &mut Vec<Vec<u8>> {
        match kind {
            crate::pubsub::Kind::Channel => &mut self.channels,
            crate::pubsub::Kind::Pattern => &mut self.patterns,
            crate::pubsub::Kind::Shard => &mut self.shard,
        }
    }

    /// Whether the client is in subscribed mode (any subscription at all).
    pub fn any(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty())
    }

    /// The count (P)SUBSCRIBE and (P)UNSUBSCRIBE replies carry: channels and patterns.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
}

/// MULTI's queue: the commands EXEC will run, without interleaving.
#[derive(Debug, Clone, Default)]
pub struct Transaction {
    pub queued: Vec<Vec<Vec<u8>>>,
    /// A command could not be queued (unknown, wrong arity, refused): EXEC answers EXECABORT.
    pub failed: bool,
}

impl Session {
    pub fn new(connection: u64, client_id: u64, peer: Peer, created_ms: u64, now_ns: u64) -> Self {
        Session {
            connection,
            client_id,
            peer,
            protocol: 2,
            db: 0,
            name: None,
            lib_name: None,
            lib_version: None,
            created_ms,
            last_active_ns: now_ns,
            last_command: "NULL",
            authenticated: true,
            user: b"default".to_vec(),
            acl_limited: std::cell::Cell::new(false),
            acl_command: "NULL",
            close_after_reply: false,
            changed: false,
            transaction: None,
            subscriptions: Subscriptions::default(),
            reply_mode: ReplyMode::On,
            tracking: false,
            postponed: false,
            blocked: false,
            waits_for_script: false,
            block_request: None,
            retrying: false,
            in_exec: false,
            script_allows_oom: false,
            no_evict: false,
            no_touch: false,
            unsent: 0,
            soft_limit_since_ns: None,
        }
    }

    /// Whether a blocking command of this client may wait: not inside EXEC, not over UDP (the
    /// datagram's session ends with its reply), not for a host that calls the engine directly
    /// (client id 0).
    pub fn may_block(&self) -> bool {
        !self.in_exec && self.peer.kind != PeerKind::Udp && self.client_id != 0
    }

    /// The class whose `client-output-buffer-limit` applies: pubsub while the client has any
    /// subscription (in RESP3 too, as Redis 7 flags it), normal otherwise (MONITOR included).
    pub fn output_class(&self) -> ClientClass {
        if self.subscriptions.any() { ClientClass::PubSub } else { ClientClass::Normal }
    }

    pub fn resp3(&self) -> bool {
        self.protocol == 3
    }

    pub fn set_protocol(&mut self, protocol: u8) {
        self.protocol = protocol;
        self.changed = true;
    }

    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.changed = true;
    }

    pub fn set_name(&mut self, name: Option<Vec<u8>>) {
        self.name = name;
        self.changed = true;
    }

    pub fn set_lib(&mut self, name: Option<Vec<u8>>, version: Option<Vec<u8>>) {
        if name.is_some() {
            self.lib_name = name;
        }
        if version.is_some() {
            self.lib_version = version;
        }
        self.changed = true;
    }

    /// CLIENT TRACKING ON or OFF. Saved: a client that tracked keys cannot be carried on by a
    /// replacement engine, which does not know what it read (see `Engine::open`).
    pub fn set_tracking(&mut self, on: bool) {
        self.tracking = on;
        self.changed = true;
    }

    pub fn authenticate(&mut self) {
        self.authenticated = true;
        self.changed = true;
    }

    /// Back to a new connection's state (RESET), keeping the client's identity.
    pub fn reset(&mut self) {
        self.protocol = 2;
        self.db = 0;
        self.name = None;
        self.transaction = None;
        self.changed = true;
    }

    /// The state a replacement engine needs to carry the client on: protocol, database, names and
    /// identity. A small versioned binary form the host stores without reading.
    pub fn encode(&self) -> Vec<u8> {
        let names: usize = [&self.name, &self.lib_name, &self.lib_version].iter().map(|field| 4 + field.as_ref().map_or(0, Vec::len)).sum();
        let mut out = Vec::with_capacity(5 + 4 + 8 + 8 + names + 4 + self.user.len());
        // A client whose script was suspended waits as a blocked one does: a fresh engine tells it
        // the engine faulted meanwhile.
        let waiting = self.blocked || self.waits_for_script;
        out.extend_from_slice(&[FORMAT, self.protocol, u8::from(self.authenticated), u8::from(self.tracking), u8::from(waiting)]);
        out.extend_from_slice(&(self.db as u32).to_le_bytes());
        out.extend_from_slice(&self.client_id.to_le_bytes());
        out.extend_from_slice(&self.created_ms.to_le_bytes());
        for field in [self.name.as_deref(), self.lib_name.as_deref(), self.lib_version.as_deref(), Some(&self.user[..])] {
            match field {
                None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
                Some(bytes) => {
                    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                    out.extend_from_slice(bytes);
                }
            }
        }
        out
    }

    /// Restores what [`Session::encode`] saved. Returns false (changing nothing) on bytes it does
    /// not understand, so a damaged record only costs the client its session, not the server.
    pub fn restore(&mut self, saved: &[u8], databases: usize) -> bool {
        let Some(decoded) = Decoder(saved).decode() else { return false };
        let (protocol, [authenticated, tracking, blocked], db, client_id, created_ms, [name, lib_name, lib_version, user]) = decoded;
        if !(protocol == 2 || protocol == 3) || db >= databases {
            return false;
        }
        self.protocol = protocol;
        self.authenticated = authenticated;
        self.tracking = tracking;
        self.blocked = blocked;
        self.db = db;
        self.client_id = client_id;
        self.created_ms = created_ms;
        self.name = name;
        self.lib_name = lib_name;
        self.lib_version = lib_version;
        self.user = user.unwrap_or_else(|| b"default".to_vec());
        true
    }
}

/// The version of [`Session::encode`]'s format.
const FORMAT: u8 = 4;

type Decoded = (u8, [bool; 3], usize, u64, u64, [Option<Vec<u8>>; 4]);

struct Decoder<'a>(&'a [u8]);

impl Decoder<'_> {
    fn decode(mut self) -> Option<Decoded> {
        if self.take(1)? != [FORMAT] {
            return None;
        }
        let protocol = self.take(1)?[0];
        let authenticated = self.flag()?;
        let tracking = self.flag()?;
        let blocked = self.flag()?;
        let db = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        let client_id = u64::from_le_bytes(self.take(8)?.try_into().ok()?);
        let created_ms = u64::from_le_bytes(self.take(8)?.try_into().ok()?);
        let name = self.optional_bytes()?;
        let lib_name = self.optional_bytes()?;
        let lib_version = self.optional_bytes()?;
        let user = self.optional_bytes()?;
        self.0.is_empty().then_some((protocol, [authenticated, tracking, blocked], db, client_id, created_ms, [name, lib_name, lib_version, user]))
    }

    fn flag(&mut self) -> Option<bool> {
        match self.take(1)?[0] {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn optional_bytes(&mut self) -> Option<Option<Vec<u8>>> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?);
        if len == u32::MAX {
            return Some(None);
        }
        Some(Some(self.take(len as usize)?.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Peer {
        Peer { kind: PeerKind::Tcp, address: "127.0.0.1:5000".into(), local_address: "127.0.0.1:6379".into() }
    }

    #[test]
    fn round_trip() {
        let mut s = Session::new(1, 7, peer(), 1000, 0);
        s.set_protocol(3);
        s.select(5);
        s.set_name(Some(b"worker".to_vec()));
        s.set_lib(Some(b"redis-rs".to_vec()), None);
        let saved = s.encode();
        let mut fresh = Session::new(1, 99, peer(), 0, 0);
        assert!(fresh.restore(&saved, 16));
        assert_eq!((fresh.protocol, fresh.db, fresh.client_id), (3, 5, 7));
        assert_eq!(fresh.name.as_deref(), Some(&b"worker"[..]));
        assert_eq!(fresh.lib_name.as_deref(), Some(&b"redis-rs"[..]));
        assert_eq!(fresh.lib_version, None);
    }

    #[test]
    fn local_peers() {
        let peer = |kind, address: &str| Peer { kind, address: address.into(), local_address: String::new() };
        assert!(peer(PeerKind::Tcp, "127.0.0.1:5000").is_local());
        assert!(peer(PeerKind::Tcp, "127.8.9.1:5000").is_local());
        assert!(peer(PeerKind::Tcp, "[::1]:5000").is_local());
        assert!(peer(PeerKind::Tcp, "[::ffff:127.0.0.1]:5000").is_local());
        assert!(peer(PeerKind::Unix, "/tmp/s.sock").is_local());
        assert!(!peer(PeerKind::Tcp, "10.1.2.3:5000").is_local());
        assert!(!peer(PeerKind::Udp, "[2001:db8::1]:5000").is_local());
        assert!(!peer(PeerKind::Tcp, "garbage").is_local());
    }

    #[test]
    fn damaged_records_are_refused() {
        let s = Session::new(1, 7, peer(), 1000, 0);
        let saved = s.encode();
        let mut fresh = Session::new(1, 99, peer(), 0, 0);
        assert!(!fresh.restore(&saved[..saved.len() - 1], 16));
        assert!(!fresh.restore(&[], 16));
        assert!(!fresh.restore(&saved, 0));
        assert_eq!(fresh.client_id, 99);
    }
}
