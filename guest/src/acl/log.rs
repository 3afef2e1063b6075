//! ACL LOG: the commands, keys, channels and sign-ins refused, newest first. A refusal like one of
//! the last ten (same reason, context, object and user, within a minute) counts on that entry
//! instead of adding one.

use super::Denied;
use std::collections::VecDeque;

/// Where the refused command came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    TopLevel,
    Multi,
    #[cfg_attr(not(feature = "lua"), allow(dead_code))]
    Lua,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::TopLevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub count: u64,
    pub reason: Denied,
    pub context: Context,
    /// The command, key, channel or AUTH/HELLO word refused.
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    /// Wall-clock milliseconds of the last refusal counted here.
    pub time_ms: u64,
    /// The client as CLIENT INFO describes it, at the last refusal.
    pub client_info: String,
}

/// Refusals grouped into one entry are at most this far apart.
const GROUPING_MS: u64 = 60_000;

/// How many of the newest entries a refusal is compared with.
const SCANNED: usize = 10;

#[derive(Debug, Default)]
pub(crate) struct Log {
    pub entries: VecDeque<Entry>,
}

impl Log {
    pub fn add(&mut self, entry: Entry, max_len: usize) {
        let similar = self.entries.iter().take(SCANNED).position(|e| {
            e.reason == entry.reason
                && e.context == entry.context
                && e.time_ms.abs_diff(entry.time_ms) <= GROUPING_MS
                && e.object == entry.object
                && e.username == entry.username
        });
        match similar.and_then(|at| self.entries.remove(at)) {
            Some(mut existing) => {
                existing.count += 1;
                existing.time_ms = entry.time_ms;
                existing.client_info = entry.client_info;
                self.entries.push_front(existing);
            }
            None => {
                self.entries.push_front(entry);
                self.entries.truncate(max_len);
            }
        }
    }
}
