//! Rate limits per peer IP address: new connections (`peer-connection-limit` per
//! `peer-connection-window` seconds) and failed authentications (`peer-auth-failure-limit` per
//! `peer-auth-failure-window` seconds). Both are off (0) by default.
//!
//! Each address has a sliding-window counter: the count of the current window plus the previous
//! window's count weighted by how much of it still overlaps the last `window` seconds. It costs
//! three numbers per address whatever the limit, and follows only the times the host passes, so
//! the same calls at the same times give the same refusals. Unix-socket clients are not limited.
//!
//! Connections are counted when accepted: a refused one does not extend its address's refusal.
//! Failed authentications are counted; attempts refused for being over the limit are not (their
//! password is not even looked at), so an address gets its turn back as the window slides.

use crate::commands::Ctx;
use crate::session::{Peer, PeerKind};
use foldhash::fast::FixedState;
use std::collections::HashMap;

/// The reply to an AUTH or HELLO AUTH from an address over its failure limit.
pub const AUTH_REFUSAL: &str = "ERR too many authentication failures from this address, try again later";

/// What a connection from an address over its connection limit is told before it is closed.
pub const CONNECTION_REFUSAL: &[u8] = b"-ERR too many new connections from this address, try again later\r\n";

/// The most addresses each limit keeps counts for. Past it, addresses whose counts have run out
/// are forgotten; if none has, a new address is not counted until some are.
const MAX_ADDRESSES: usize = 65_536;

const NS_PER_SECOND: u64 = 1_000_000_000;

pub struct PeerLimits {
    connections: Counters,
    auth_failures: Counters,
}

impl PeerLimits {
    /// `seed` keys the tables' hashes (std's seeded maps would ask the host for randomness, which
    /// the engine does not import).
    pub fn new(seed: u64) -> Self {
        PeerLimits { connections: Counters::new(seed), auth_failures: Counters::new(seed.rotate_left(17)) }
    }

    /// Whether a new connection from `peer` at `now_ns` is within `limit` per `window_s` seconds;
    /// counts it when it is.
    pub fn admit_connection(&mut self, peer: &Peer, now_ns: u64, limit: u64, window_s: u64) -> bool {
        let Some(ip) = ip_of(peer) else { return true };
        if limit == 0 {
            self.connections.clear();
            return true;
        }
        let window_ns = window_s.max(1).saturating_mul(NS_PER_SECOND);
        if self.connections.estimate(ip, now_ns, window_ns) >= limit {
            return false;
        }
        self.connections.count(ip, now_ns, window_ns);
        true
    }

    /// Whether `peer` has failed to authenticate `limit` times or more in the last `window_s`
    /// seconds.
    pub fn auth_blocked(&mut self, peer: &Peer, now_ns: u64, limit: u64, window_s: u64) -> bool {
        let Some(ip) = ip_of(peer) else { return false };
        if limit == 0 {
            self.auth_failures.clear();
            return false;
        }
        self.auth_failures.estimate(ip, now_ns, window_s.max(1).saturating_mul(NS_PER_SECOND)) >= limit
    }

    pub fn note_auth_failure(&mut self, peer: &Peer, now_ns: u64, limit: u64, window_s: u64) {
        if limit == 0 {
            return;
        }
        if let Some(ip) = ip_of(peer) {
            self.auth_failures.count(ip, now_ns, window_s.max(1).saturating_mul(NS_PER_SECOND));
        }
    }
}

/// The IP address of a TCP or UDP peer (`ip:port`, `[v6]:port`); none for Unix sockets.
fn ip_of(peer: &Peer) -> Option<&str> {
    if peer.kind == PeerKind::Unix {
        return None;
    }
    let host = peer.address.rsplit_once(':').map_or(peer.address.as_str(), |(host, _)| host);
    Some(host.trim_start_matches('[').trim_end_matches(']'))
}

struct Counters {
    by_address: HashMap<Box<str>, Counter, FixedState>,
    /// When the full table was last swept of spent counts: at most once a window, so that many
    /// new addresses cannot make every connection sweep it.
    swept_ns: Option<u64>,
}

#[derive(Clone, Copy)]
struct Counter {
    /// When the current window began.
    start_ns: u64,
    current: u64,
    previous: u64,
}

impl Counter {
    /// Moves the windows on to `now_ns`.
    fn roll(&mut self, now_ns: u64, window_ns: u64) {
        let elapsed = now_ns.saturating_sub(self.start_ns);
        if elapsed >= window_ns.saturating_mul(2) {
            *self = Counter { start_ns: now_ns, current: 0, previous: 0 };
        } else if elapsed >= window_ns {
            *self = Counter { start_ns: self.start_ns + window_ns, current: 0, previous: self.current };
        }
    }

    /// The events of the last `window_ns`, estimated: the previous window's count weighted by the
    /// part of it still inside, rounded up, plus the current window's.
    fn estimate(&self, now_ns: u64, window_ns: u64) -> u64 {
        let into = now_ns.saturating_sub(self.start_ns).min(window_ns);
        let left = u128::from(window_ns - into);
        let weighted = (u128::from(self.previous) * left).div_ceil(u128::from(window_ns));
        self.current.saturating_add(weighted as u64)
    }

    fn spent(&self, now_ns: u64, window_ns: u64) -> bool {
        now_ns.saturating_sub(self.start_ns) >= window_ns.saturating_mul(2)
    }
}

impl Counters {
    fn new(seed: u64) -> Self {
        Counters { by_address: HashMap::with_hasher(FixedState::with_seed(seed)), swept_ns: None }
    }

    fn clear(&mut self) {
        if !self.by_address.is_empty() {
            self.by_address = HashMap::with_hasher(self.by_address.hasher().clone());
            self.swept_ns = None;
        }
    }

    fn estimate(&mut self, ip: &str, now_ns: u64, window_ns: u64) -> u64 {
        match self.by_address.get_mut(ip) {
            Some(counter) => {
                counter.roll(now_ns, window_ns);
                counter.estimate(now_ns, window_ns)
            }
            None => 0,
        }
    }

    fn count(&mut self, ip: &str, now_ns: u64, window_ns: u64) {
        if let Some(counter) = self.by_address.get_mut(ip) {
            counter.roll(now_ns, window_ns);
            counter.current = counter.current.saturating_add(1);
            return;
        }
        if self.by_address.len() >= MAX_ADDRESSES {
            if self.swept_ns.is_some_and(|at| now_ns.saturating_sub(at) < window_ns) {
                return;
            }
            self.swept_ns = Some(now_ns);
            self.by_address.retain(|_, counter| !counter.spent(now_ns, window_ns));
            if self.by_address.len() >= MAX_ADDRESSES {
                return;
            }
        }
        self.by_address.insert(ip.into(), Counter { start_ns: now_ns, current: 1, previous: 0 });
    }
}

impl Ctx<'_> {
    /// Whether the client may try a password now. When its address has failed too often, answers
    /// the refusal itself and counts it (INFO's `rate_limited_auth_attempts`).
    pub fn auth_allowed(&mut self) -> bool {
        let (limit, window) = (self.config.peer_auth_failure_limit, self.config.peer_auth_failure_window);
        if !self.peer_limits.auth_blocked(&self.session.peer, self.now.mono_ns, limit, window) {
            return true;
        }
        self.stats.rate_limited_auth_attempts += 1;
        self.reply.error(AUTH_REFUSAL);
        false
    }

    /// Counts a wrong password against the client's address.
    pub fn note_auth_failure(&mut self) {
        let (limit, window) = (self.config.peer_auth_failure_limit, self.config.peer_auth_failure_window);
        self.peer_limits.note_auth_failure(&self.session.peer, self.now.mono_ns, limit, window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = NS_PER_SECOND;

    fn tcp(address: &str) -> Peer {
        Peer { kind: PeerKind::Tcp, address: address.into(), local_address: "127.0.0.1:6379".into() }
    }

    #[test]
    fn connections_over_the_limit_in_a_window_are_refused_per_address() {
        let mut limits = PeerLimits::new(7);
        let (a, b) = (tcp("10.0.0.1:5000"), tcp("10.0.0.2:5000"));
        for i in 0..3 {
            assert!(limits.admit_connection(&tcp(&format!("10.0.0.1:{}", 5000 + i)), 100 * S + i, 3, 1), "connection {i}");
        }
        assert!(!limits.admit_connection(&a, 100 * S + 10, 3, 1), "a fourth within the second");
        assert!(limits.admit_connection(&b, 100 * S + 10, 3, 1), "another address has its own count");
        // Half-way through the next window, half the last window's three still count: 2 (rounded
        // up) of 3.
        assert!(limits.admit_connection(&a, 101 * S + S / 2, 3, 1));
        assert!(!limits.admit_connection(&a, 101 * S + S / 2, 3, 1));
        // Two windows later everything is forgotten.
        for _ in 0..3 {
            assert!(limits.admit_connection(&a, 104 * S, 3, 1));
        }
        assert!(!limits.admit_connection(&a, 104 * S, 3, 1));
    }

    #[test]
    fn refusals_are_not_counted_and_the_limit_can_be_lifted() {
        let mut limits = PeerLimits::new(7);
        let a = tcp("10.0.0.1:5000");
        assert!(limits.admit_connection(&a, 0, 1, 10));
        for t in 1..100 {
            assert!(!limits.admit_connection(&a, t * S / 10, 1, 10), "refused within the window");
        }
        // The one accepted connection's weight is gone a window after its own window ended.
        assert!(limits.admit_connection(&a, 20 * S, 1, 10), "refusals did not extend the refusal");
        assert!(!limits.admit_connection(&a, 20 * S, 1, 10));
        assert!(limits.admit_connection(&a, 20 * S, 0, 10), "0 turns the limit off");
        assert!(limits.connections.by_address.is_empty(), "and forgets the counts");
    }

    #[test]
    fn unix_clients_are_not_limited_and_ipv6_addresses_lose_their_port() {
        let mut limits = PeerLimits::new(7);
        let unix = Peer { kind: PeerKind::Unix, address: "/tmp/cachet.sock".into(), local_address: "/tmp/cachet.sock".into() };
        for _ in 0..10 {
            assert!(limits.admit_connection(&unix, 0, 1, 60));
        }
        assert!(limits.admit_connection(&tcp("[::1]:4000"), 0, 1, 60));
        assert!(!limits.admit_connection(&tcp("[::1]:4001"), 0, 1, 60), "same address, another port");
        assert_eq!(ip_of(&tcp("[::1]:4000")), Some("::1"));
        assert_eq!(ip_of(&tcp("192.168.1.7:65000")), Some("192.168.1.7"));
    }

    #[test]
    fn auth_failures_block_after_the_limit_until_the_window_slides() {
        let mut limits = PeerLimits::new(7);
        let a = tcp("10.0.0.1:5000");
        for i in 0..3 {
            assert!(!limits.auth_blocked(&a, i * S, 3, 60), "attempt {i}");
            limits.note_auth_failure(&a, i * S, 3, 60);
        }
        assert!(limits.auth_blocked(&a, 3 * S, 3, 60));
        assert!(limits.auth_blocked(&a, 59 * S, 3, 60));
        assert!(!limits.auth_blocked(&tcp("10.0.0.2:1"), 3 * S, 3, 60));
        // 40 s into the next window a third of the three failures still count: 1 of 3.
        assert!(!limits.auth_blocked(&a, 100 * S, 3, 60));
        assert!(!limits.auth_blocked(&a, 100 * S, 0, 60), "0: no limit");
    }

    #[test]
    fn the_table_of_addresses_is_bounded() {
        let mut limits = PeerLimits::new(7);
        for i in 0..MAX_ADDRESSES + 10 {
            let peer = tcp(&format!("10.{}.{}.{}:1", i >> 16, (i >> 8) & 255, i & 255));
            assert!(limits.admit_connection(&peer, 0, 1, 1));
        }
        assert_eq!(limits.connections.by_address.len(), MAX_ADDRESSES);
        // Once the counts ran out, new addresses take the place of the old ones.
        assert!(limits.admit_connection(&tcp("172.16.0.1:1"), 10 * S, 1, 1));
        assert_eq!(limits.connections.by_address.len(), 1);
    }

    #[test]
    fn the_engine_refuses_auth_after_the_failures_and_counts_it() {
        use crate::engine::test_harness::Harness;
        let mut c = Harness::new();
        c.run(&["CONFIG", "SET", "requirepass", "pw", "peer-auth-failure-limit", "2", "peer-auth-failure-window", "60"]);
        let other = c.another(2);
        let on = |c: &mut Harness, args: &[&str]| c.run_on(other, &args.iter().map(|a| a.as_bytes()).collect::<Vec<_>>());
        let wrong = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
        let refused = format!("-{AUTH_REFUSAL}\r\n");
        assert_eq!(on(&mut c, &["AUTH", "nope"]), wrong);
        assert_eq!(on(&mut c, &["HELLO", "3", "AUTH", "default", "nope"]), wrong);
        assert_eq!(on(&mut c, &["AUTH", "pw"]), refused, "even the right password waits");
        assert_eq!(on(&mut c, &["HELLO", "2", "AUTH", "default", "pw"]), refused);
        assert_eq!(on(&mut c, &["PING"]), "-NOAUTH Authentication required.\r\n");
        c.advance_ms(80_000);
        assert_eq!(on(&mut c, &["AUTH", "pw"]), refused, "the second window still counts part of the first");
        c.advance_ms(40_000);
        assert_eq!(on(&mut c, &["AUTH", "pw"]), "+OK\r\n");
        let info = on(&mut c, &["INFO", "stats"]);
        assert!(info.contains("rate_limited_auth_attempts:3\r\n"), "{info}");
        assert_eq!(c.run(&["CONFIG", "GET", "peer-auth-*"]), "*4\r\n$23\r\npeer-auth-failure-limit\r\n$1\r\n2\r\n$24\r\npeer-auth-failure-window\r\n$2\r\n60\r\n");
    }

    #[test]
    fn the_engine_refuses_connections_over_the_limit_but_restores_sessions() {
        use crate::engine::test_harness::Harness;
        let mut c = Harness::new();
        c.run(&["CONFIG", "SET", "peer-connection-limit", "2", "peer-connection-window", "10", "protected-mode", "no"]);
        let peer = tcp("10.1.1.1:7000");
        assert!(c.engine.open(c.now, 10, peer.clone(), None).is_none());
        assert!(c.engine.open(c.now, 11, peer.clone(), None).is_none());
        assert_eq!(c.engine.open(c.now, 12, peer.clone(), None), Some(CONNECTION_REFUSAL.to_vec()));
        // A connection the host restores into a fresh engine after a fault is no new one.
        let saved = crate::session::Session::new(15, 99, peer.clone(), c.now.wall_ms, c.now.mono_ns).encode();
        assert!(c.engine.open(c.now, 15, peer.clone(), Some(&saved)).is_none());
        assert!(c.engine.open(c.now, 13, tcp("10.1.1.2:7000"), None).is_none(), "another address");
        let info = c.run(&["INFO", "stats"]);
        assert!(info.contains("rate_limited_connections:1\r\n") && info.contains("rejected_connections:1\r\n"), "{info}");
        c.advance_ms(20_000);
        assert!(c.engine.open(c.now, 14, peer, None).is_none(), "two windows later");
    }
}
