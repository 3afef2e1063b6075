//! Client-side caching (CLIENT TRACKING): which clients read which keys, and the invalidation
//! messages they are owed when those keys change.
//!
//! Two modes, as in Redis. By default the server remembers every key a tracking client read with
//! a read-only command, and tells that client (once) when the key changes, by any path: a write,
//! expiry, eviction, a flush. In broadcast mode (BCAST) nothing is remembered: a client names key
//! prefixes and hears about every change to a key under them, in one message per prefix at the
//! end of each engine call.
//!
//! Like Redis, the table of remembered keys ignores databases: a change to `k` in any database
//! invalidates `k` for whoever read `k` in any database.
//!
//! This module decides who is owed what; the engine turns [`Message`]s into bytes for each
//! recipient's protocol (see `commands::tracking`), because only it sees every connection.

use crate::keyspace::Key;
use foldhash::fast::FixedState;
use smallvec::SmallVec;
use std::collections::{BTreeMap, HashMap};

/// A client's CLIENT TRACKING options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The client id messages go to instead of this client (0: this client).
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// BCAST's prefixes, in the order they were given.
    pub prefixes: Vec<Vec<u8>>,
}

/// A client with tracking on.
#[derive(Debug)]
pub struct Client {
    pub connection: u64,
    pub options: Options,
    /// CLIENT CACHING YES (in OPTIN mode) or NO (in OPTOUT mode) was given for the next command.
    pub caching: bool,
    /// Its REDIRECT client went away: it gets no more invalidations until tracking is re-enabled.
    pub broken_redirect: bool,
}

/// What a tracking client is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// These keys changed.
    Keys(Vec<Key>),
    /// Everything changed (FLUSHALL, FLUSHDB): a null in place of the keys.
    Everything,
}

/// One invalidation message owed to a tracking client (by client id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub client: u64,
    pub payload: Payload,
}

/// The keys changed under one BCAST prefix since the last broadcast, with who changed each first
/// (for NOLOOP), and the clients listening on it. Keys are sent in byte order, as Redis does.
#[derive(Debug, Default)]
struct Prefix {
    clients: Vec<u64>,
    changed: BTreeMap<Vec<u8>, Option<u64>>,
}

#[derive(Default)]
pub struct Tracking {
    /// Clients with tracking on, by client id.
    clients: HashMap<u64, Client, FixedState>,
    /// Every open connection by client id: REDIRECT names a client by id, tracking or not.
    connected: HashMap<u64, u64, FixedState>,
    /// Remembered keys and the clients (by id) that read them.
    table: HashMap<Key, SmallVec<[u64; 2]>, FixedState>,
    /// Client ids in `table`, summed over keys (INFO's `tracking_total_items`).
    items: usize,
    /// BCAST prefixes, in byte order.
    prefixes: BTreeMap<Vec<u8>, Prefix>,
    /// Messages owed, in the order they arose.
    pending: Vec<Message>,
}

/// Why CLIENT TRACKING ON refuses options; the texts are Redis's.
pub fn check(current: Option<&Options>, wanted: &Options) -> Result<(), String> {
    if !wanted.bcast && !wanted.prefixes.is_empty() {
        return Err("ERR PREFIX option requires BCAST mode to be enabled".into());
    }
    if current.is_some_and(|c| c.bcast != wanted.bcast) {
        return Err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.".into());
    }
    if wanted.bcast && (wanted.optin || wanted.optout) {
        return Err("ERR OPTIN and OPTOUT are not compatible with BCAST".into());
    }
    if wanted.optin && wanted.optout {
        return Err("ERR You can't specify both OPTIN mode and OPTOUT mode".into());
    }
    if current.is_some_and(|c| (wanted.optin && c.optout) || (wanted.optout && c.optin)) {
        return Err("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.".into());
    }
    if wanted.bcast {
        check_prefixes(current.map_or(&[][..], |c| &c.prefixes), &wanted.prefixes)?;
    }
    Ok(())
}

/// Prefixes of one client must not overlap (one a prefix of the other), neither with those it
/// has nor among themselves.
fn check_prefixes(existing: &[Vec<u8>], new: &[Vec<u8>]) -> Result<(), String> {
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    let text = |p: &[u8]| String::from_utf8_lossy(&p[..p.iter().position(|b| *b == 0).unwrap_or(p.len())]).into_owned();
    for (i, prefix) in new.iter().enumerate() {
        if let Some(old) = existing.iter().find(|old| overlap(old, prefix)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                text(prefix),
                text(old)
            ));
        }
        if let Some(other) = new[i + 1..].iter().find(|other| overlap(prefix, other)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                text(prefix),
                text(other)
            ));
        }
    }
    Ok(())
}

impl Tracking {
    /// Whether changes to keys must be reported here: some key is remembered or some client
    /// listens on a prefix.
    pub fn wants_changes(&self) -> bool {
        !self.table.is_empty() || !self.prefixes.is_empty()
    }

    pub fn connected(&mut self, client: u64, connection: u64) {
        self.connected.insert(client, connection);
    }

    /// The connection of an open client, by id.
    pub fn connection_of(&self, client: u64) -> Option<u64> {
        self.connected.get(&client).copied()
    }

    /// A connection closed: it is no longer a client, tracking or redirect target.
    pub fn disconnected(&mut self, client: u64) {
        self.connected.remove(&client);
        self.disable(client);
    }

    pub fn client(&self, id: u64) -> Option<&Client> {
        self.clients.get(&id)
    }

    pub fn client_mut(&mut self, id: u64) -> Option<&mut Client> {
        self.clients.get_mut(&id)
    }

    /// CLIENT TRACKING ON, with options [`check`] accepted. Turning it on again replaces the
    /// options, adds BCAST prefixes to those the client has, and mends a broken redirect.
    pub fn enable(&mut self, id: u64, connection: u64, mut options: Options) {
        if options.bcast && options.prefixes.is_empty() {
            options.prefixes.push(Vec::new());
        }
        let caching = self.clients.get(&id).is_some_and(|c| c.caching);
        let mut prefixes = self.clients.remove(&id).map(|c| c.options.prefixes).unwrap_or_default();
        for prefix in &options.prefixes {
            let listeners = &mut self.prefixes.entry(prefix.clone()).or_default().clients;
            if !listeners.contains(&id) {
                listeners.push(id);
                prefixes.push(prefix.clone());
            }
        }
        options.prefixes = if options.bcast { prefixes } else { Vec::new() };
        self.clients.insert(id, Client { connection, options, caching, broken_redirect: false });
    }

    /// CLIENT TRACKING OFF (and RESET, and a closed connection). The keys the client read stay
    /// in the table until they change; nobody is told then.
    pub fn disable(&mut self, id: u64) {
        let Some(client) = self.clients.remove(&id) else { return };
        for prefix in &client.options.prefixes {
            if let Some(state) = self.prefixes.get_mut(prefix) {
                state.clients.retain(|c| *c != id);
                if state.clients.is_empty() {
                    self.prefixes.remove(prefix);
                }
            }
        }
    }

    /// Whether client `id`'s read of a key now is remembered: in OPTIN mode only right after
    /// CLIENT CACHING YES, in OPTOUT mode unless right after CLIENT CACHING NO; never in BCAST.
    pub fn remembers_reads(&self, id: u64) -> bool {
        self.clients.get(&id).is_some_and(|c| !c.options.bcast && c.options.optin == c.caching)
    }

    /// Client `id` read `key`.
    pub fn remember(&mut self, id: u64, key: &[u8]) {
        let readers = self.table.entry(Key::from(key)).or_default();
        if !readers.contains(&id) {
            readers.push(id);
            self.items += 1;
        }
    }

    /// `key` changed, by client `by` (`None`: expiry, eviction). Everyone who read it is owed a
    /// message, except `by` itself in NOLOOP mode, and the key is forgotten; every BCAST prefix
    /// it falls under notes it.
    pub fn invalidate(&mut self, key: &[u8], by: Option<u64>) {
        if let Some(readers) = self.table.remove(key) {
            self.items -= readers.len();
            for reader in readers {
                let Some(client) = self.clients.get(&reader) else { continue };
                if client.options.bcast || (client.options.noloop && by == Some(reader)) {
                    continue;
                }
                self.pending.push(Message { client: reader, payload: Payload::Keys(vec![Key::from(key)]) });
            }
        }
        for (prefix, state) in self.prefixes.iter_mut() {
            if key.starts_with(prefix) {
                state.changed.entry(key.to_vec()).or_insert(by);
            }
        }
    }

    /// Everything changed (FLUSHALL, FLUSHDB): every tracking client is owed a null message, in
    /// client id order, and the table is emptied.
    pub fn invalidate_everything(&mut self) {
        let mut ids: Vec<u64> = self.clients.keys().copied().collect();
        ids.sort_unstable();
        self.pending.extend(ids.into_iter().map(|client| Message { client, payload: Payload::Everything }));
        self.table.clear();
        self.items = 0;
    }

    /// Turns the changes noted under BCAST prefixes into messages: per prefix, in byte order, one
    /// message to each listener with the keys it did not change itself (NOLOOP).
    pub fn broadcast(&mut self) {
        for state in self.prefixes.values_mut() {
            if state.changed.is_empty() {
                continue;
            }
            let changed = std::mem::take(&mut state.changed);
            for &listener in &state.clients {
                let noloop = self.clients.get(&listener).is_some_and(|c| c.options.noloop);
                let keys: Vec<Key> = changed
                    .iter()
                    .filter(|(_, by)| !(noloop && **by == Some(listener)))
                    .map(|(key, _)| Key::from(key.as_slice()))
                    .collect();
                if !keys.is_empty() {
                    self.pending.push(Message { client: listener, payload: Payload::Keys(keys) });
                }
            }
        }
    }

    /// Forgets remembered keys beyond `max` (0: no limit), at most `budget` of them, telling their
    /// readers as if the keys had changed (`tracking-table-max-keys`). Returns whether the table
    /// is still over the limit.
    pub fn shrink_to(&mut self, max: usize, budget: usize) -> bool {
        if max == 0 {
            return false;
        }
        let excess = self.table.len().saturating_sub(max).min(budget);
        let victims: Vec<Key> = self.table.keys().take(excess).cloned().collect();
        for key in victims {
            self.invalidate(&key, None);
        }
        self.table.len() > max
    }

    /// The messages owed, oldest first.
    pub fn take_pending(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.pending)
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// INFO's `tracking_clients`.
    pub fn clients_count(&self) -> usize {
        self.clients.len()
    }

    /// INFO's `tracking_total_keys`.
    pub fn keys_count(&self) -> usize {
        self.table.len()
    }

    /// INFO's `tracking_total_items`.
    pub fn items_count(&self) -> usize {
        self.items
    }

    /// INFO's `tracking_total_prefixes`.
    pub fn prefixes_count(&self) -> usize {
        self.prefixes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(payload: &Payload) -> Vec<String> {
        match payload {
            Payload::Keys(keys) => keys.iter().map(|k| String::from_utf8_lossy(k).into_owned()).collect(),
            Payload::Everything => vec!["*".into()],
        }
    }

    #[test]
    fn a_read_key_is_invalidated_once_for_each_reader() {
        let mut t = Tracking::default();
        t.enable(1, 10, Options::default());
        t.enable(2, 20, Options { noloop: true, ..Options::default() });
        t.remember(1, b"k");
        t.remember(2, b"k");
        t.remember(1, b"k");
        assert_eq!((t.keys_count(), t.items_count()), (1, 2));
        t.invalidate(b"k", Some(2));
        let owed: Vec<(u64, Vec<String>)> = t.take_pending().iter().map(|m| (m.client, keys(&m.payload))).collect();
        assert_eq!(owed, [(1, vec!["k".to_string()])], "client 2 changed it itself, in NOLOOP mode");
        t.invalidate(b"k", None);
        assert!(!t.has_pending(), "the key was forgotten with the first change");
        assert!(!t.wants_changes());
    }

    #[test]
    fn broadcast_sends_sorted_keys_per_prefix() {
        let mut t = Tracking::default();
        t.enable(1, 10, Options { bcast: true, noloop: true, prefixes: vec![b"u:".to_vec(), b"v:".to_vec()], ..Options::default() });
        for (key, by) in [(&b"u:2"[..], None), (b"v:1", None), (b"z", None), (b"u:1", None), (b"u:3", Some(1))] {
            t.invalidate(key, by);
        }
        t.broadcast();
        let owed: Vec<Vec<String>> = t.take_pending().iter().map(|m| keys(&m.payload)).collect();
        assert_eq!(owed, [vec!["u:1".to_string(), "u:2".into()], vec!["v:1".into()]]);
        t.disable(1);
        assert_eq!(t.prefixes_count(), 0);
    }

    #[test]
    fn options_are_checked_as_redis_does() {
        let bcast = Options { bcast: true, prefixes: vec![b"ab".to_vec()], ..Options::default() };
        assert!(check(None, &bcast).is_ok());
        let overlapping = Options { bcast: true, prefixes: vec![b"a".to_vec()], ..Options::default() };
        assert_eq!(
            check(Some(&bcast), &overlapping).unwrap_err(),
            "ERR Prefix 'a' overlaps with an existing prefix 'ab'. Prefixes for a single client must not overlap."
        );
        let optin = Options { optin: true, ..Options::default() };
        let optout = Options { optout: true, ..Options::default() };
        assert!(check(Some(&optin), &optout).unwrap_err().contains("switch OPTIN/OPTOUT"));
        assert!(check(Some(&optin), &bcast).unwrap_err().contains("switch BCAST"));
        let prefix_only = Options { prefixes: vec![b"a".to_vec()], ..Options::default() };
        assert_eq!(check(None, &prefix_only).unwrap_err(), "ERR PREFIX option requires BCAST mode to be enabled");
    }

    #[test]
    fn the_table_is_kept_under_its_limit() {
        let mut t = Tracking::default();
        t.enable(1, 10, Options::default());
        for i in 0..10 {
            t.remember(1, format!("k{i}").as_bytes());
        }
        assert!(t.shrink_to(4, 3), "three at a time");
        assert!(!t.shrink_to(4, 3));
        assert_eq!(t.keys_count(), 4);
        assert_eq!(t.take_pending().len(), 6, "each forgotten key is invalidated");
    }
}
