//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN...): which connections wait for which keys, in
//! the order they began waiting, and until when.
//!
//! A blocked client's command has been consumed and answered nothing; the engine runs no more of
//! its input until it is served. When a command changes a key somebody waits for, the key is
//! "ready": after that command, the engine runs each waiter's command again, oldest first, while
//! the key can serve them; a waiter served gets its reply as output to its connection, and the
//! host is asked to feed it again. A waiter whose deadline passes gets its command's timeout
//! reply from a tick (the engine's next deadline is the earliest one).

use crate::keyspace::Key;
use foldhash::fast::FixedState;
use smallvec::SmallVec;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// Byte strings kept in one buffer: a waiter's command and keys take at most one allocation each,
/// not one per argument, and none while they fit in place (`BRPOP queue 0` does), since a job
/// queue's consumers block again after every job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Words {
    bytes: SmallVec<[u8; 32]>,
    ends: SmallVec<[usize; 4]>,
}

impl Words {
    pub fn new(words: &[&[u8]]) -> Words {
        let mut bytes = SmallVec::with_capacity(words.iter().map(|w| w.len()).sum());
        let ends = words
            .iter()
            .map(|word| {
                bytes.extend_from_slice(word);
                bytes.len()
            })
            .collect();
        Words { bytes, ends }
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(self.ends.iter().copied()).map(|(start, end)| &self.bytes[start..end])
    }
}

/// What kind of value a waiter can be served from: only a change that leaves a key of that type
/// wakes it (a key overwritten with a string leaves a BLPOP waiting, as in Redis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wants {
    List,
    SortedSet,
}

/// What a blocking command answers when it cannot wait (inside EXEC): its own null. A wait that
/// times out always answers a null array, as redis-server 7.0 does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTimeout {
    /// A null array (BLPOP, BLMPOP, BZPOPMIN...).
    NullArray,
    /// A null bulk string (BLMOVE, BRPOPLPUSH).
    Null,
}

/// What a command asks for when it has to wait (see `Session::block`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub keys: Words,
    /// Monotonic nanoseconds; `None` waits for ever.
    pub deadline_ns: Option<u64>,
    pub wants: Wants,
}

/// A blocked connection.
#[derive(Debug, Clone)]
pub struct Waiter {
    pub db: usize,
    /// The command, to run again when a key it waits for is ready.
    pub command: Words,
    pub request: Request,
}

#[derive(Default)]
pub struct Blocking {
    waiters: HashMap<u64, Waiter, FixedState>,
    /// Waiting connections by key, oldest first.
    by_key: HashMap<(usize, Key), VecDeque<u64>, FixedState>,
    /// Deadlines, earliest first.
    deadlines: BTreeSet<(u64, u64)>,
    /// Keys changed while somebody waits for them, in the order they changed.
    ready: VecDeque<(usize, Key)>,
    /// CLIENT UNBLOCK requests not yet carried out: the connection, and whether it gets an error
    /// rather than its timeout reply.
    unblocks: Vec<(u64, bool)>,
}

impl Blocking {
    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// How many clients wait (INFO's `blocked_clients`).
    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    pub fn is_blocked(&self, connection: u64) -> bool {
        self.waiters.contains_key(&connection)
    }

    pub fn waiter(&self, connection: u64) -> Option<&Waiter> {
        self.waiters.get(&connection)
    }

    pub fn block(&mut self, connection: u64, waiter: Waiter) {
        for key in waiter.request.keys.iter() {
            let queue = self.by_key.entry((waiter.db, Key::from(key))).or_default();
            if !queue.contains(&connection) {
                queue.push_back(connection);
            }
        }
        if let Some(deadline) = waiter.request.deadline_ns {
            self.deadlines.insert((deadline, connection));
        }
        self.waiters.insert(connection, waiter);
    }

    /// The waiter's command, lent out to be run again; [`Blocking::restore_command`] gives it
    /// back if the waiter goes on waiting.
    pub fn take_command(&mut self, connection: u64) -> Words {
        self.waiters.get_mut(&connection).map(|w| std::mem::take(&mut w.command)).unwrap_or_default()
    }

    pub fn restore_command(&mut self, connection: u64, command: Words) {
        if let Some(waiter) = self.waiters.get_mut(&connection) {
            waiter.command = command;
        }
    }

    /// Stops waiting (served, timed out, unblocked, disconnected); returns what it waited with.
    pub fn unblock(&mut self, connection: u64) -> Option<Waiter> {
        let waiter = self.waiters.remove(&connection)?;
        for key in waiter.request.keys.iter() {
            let slot = (waiter.db, Key::from(key));
            if let Some(queue) = self.by_key.get_mut(&slot) {
                // A served waiter is usually the oldest.
                if queue.front() == Some(&connection) {
                    queue.pop_front();
                } else {
                    queue.retain(|c| *c != connection);
                }
                if queue.is_empty() {
                    self.by_key.remove(&slot);
                }
            }
        }
        if let Some(deadline) = waiter.request.deadline_ns {
            self.deadlines.remove(&(deadline, connection));
        }
        Some(waiter)
    }

    /// A key changed: if anybody waits for it, it is ready to be looked at.
    pub fn changed(&mut self, db: usize, key: &[u8]) {
        let slot = (db, Key::from(key));
        if self.by_key.contains_key(&slot) && !self.ready.contains(&slot) {
            self.ready.push_back(slot);
        }
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    pub fn next_ready(&mut self) -> Option<(usize, Key)> {
        self.ready.pop_front()
    }

    /// The `index`th oldest of those who wait for a key.
    pub fn waiting_for(&self, db: usize, key: &[u8], index: usize) -> Option<u64> {
        self.by_key.get(&(db, Key::from(key)))?.get(index).copied()
    }

    /// CLIENT UNBLOCK: ends a wait after the command (the engine writes the reply).
    pub fn request_unblock(&mut self, connection: u64, error: bool) {
        self.unblocks.push((connection, error));
    }

    pub fn has_pending_unblocks(&self) -> bool {
        !self.unblocks.is_empty()
    }

    pub fn take_pending_unblocks(&mut self) -> Vec<(u64, bool)> {
        std::mem::take(&mut self.unblocks)
    }

    /// The earliest deadline of any waiter.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.first().map(|(deadline, _)| *deadline)
    }

    /// The connections whose deadline has passed at `now_ns`, earliest first.
    pub fn timed_out(&self, now_ns: u64) -> Vec<u64> {
        self.deadlines.iter().take_while(|(deadline, _)| *deadline <= now_ns).map(|(_, c)| *c).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiter(keys: &[&str], deadline_ns: Option<u64>) -> Waiter {
        Waiter {
            db: 0,
            command: Words::new(&[b"BLPOP"]),
            request: Request {
                keys: Words::new(&keys.iter().map(|k| k.as_bytes()).collect::<Vec<_>>()),
                deadline_ns,
                wants: Wants::List,
            },
        }
    }

    #[test]
    fn words_give_back_what_they_were_made_of() {
        let made: [&[u8]; 4] = [b"BLPOP", b"", b"queue", b"0"];
        assert_eq!(Words::new(&made).iter().collect::<Vec<_>>(), made);
        assert_eq!(Words::new(&[]).iter().count(), 0);
    }

    #[test]
    fn waiters_queue_per_key_and_leave_every_queue_when_unblocked() {
        let mut b = Blocking::default();
        b.block(7, waiter(&["a", "b"], Some(50)));
        b.block(8, waiter(&["a"], None));
        assert_eq!([0, 1, 2].map(|i| b.waiting_for(0, b"a", i)), [Some(7), Some(8), None]);
        b.changed(0, b"a");
        b.changed(0, b"a");
        b.changed(0, b"zz");
        assert_eq!(b.next_ready().map(|(_, k)| k.to_vec()), Some(b"a".to_vec()));
        assert!(!b.has_ready(), "one entry per key, and none for keys nobody waits for");
        assert_eq!(b.next_deadline(), Some(50));
        assert_eq!(b.timed_out(49), Vec::<u64>::new());
        assert_eq!(b.timed_out(50), [7]);
        assert!(b.unblock(7).is_some());
        assert_eq!([0, 1].map(|i| b.waiting_for(0, b"a", i)), [Some(8), None]);
        b.block(9, waiter(&["a"], None));
        b.block(10, waiter(&["a"], None));
        assert!(b.unblock(9).is_some(), "a waiter leaves from the middle of a queue too");
        assert_eq!([0, 1, 2].map(|i| b.waiting_for(0, b"a", i)), [Some(8), Some(10), None]);
        assert!(b.unblock(8).is_some() && b.unblock(10).is_some());
        assert_eq!((b.by_key.len(), b.next_deadline()), (0, None), "no queue is left behind");
    }
}
