//! What one call into the engine gives back: bytes to write and closes, for any open connection.
//!
//! A command's reply goes to the connection that sent it, but some commands reach others: CLIENT
//! KILL closes another client, and pub/sub messages, tracking invalidations and a blocked client
//! served by another's write are bytes for connections that sent nothing in this call. Every such
//! output of one call is collected here, one [`Output`] per connection, bytes in the order they
//! were produced, and handed to the host at the end of the call.

use std::collections::HashMap;

/// What became of the input fed for a connection.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the input the engine has dealt with; the host drops them from its buffer.
    pub consumed: usize,
    /// Do not feed the connection again before the host holds this many bytes (0: anything helps).
    pub wanted: usize,
    /// The call stopped early because the reply grew large: write it, then feed the rest again.
    pub more: bool,
}

/// Everything for one connection from one call.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Output {
    pub id: u64,
    /// Present when the connection's input was fed in this call.
    pub progress: Option<Progress>,
    /// Bytes to write, in order: replies, and pushes from other connections' commands.
    pub data: Vec<u8>,
    /// Write `data`, then close the connection.
    pub close: bool,
    /// Close without writing anything more: drop `data` and whatever the host still holds
    /// unwritten for the connection (it went over its output buffer limit).
    pub discard_unsent: bool,
    /// The connection's session, when a command changed it (see `Session::encode`).
    pub session: Option<Vec<u8>>,
    /// Feed the input kept for this connection again: the engine held it and can run it now.
    pub resume: bool,
    /// Pushes reaching this length put the connection on the list of outputs to check against
    /// its output buffer limit (see [`Outbox::push`]).
    check_at: usize,
}

/// The outputs of one call, in the order their connections were first given something.
#[derive(Debug, Default)]
pub struct Outbox {
    outputs: Vec<Output>,
    /// The connection of each output, at the output's position: a look-through of a few dozen
    /// ids side by side is cheaper than hashing.
    ids: Vec<u64>,
    /// Where each connection's output is; kept only once more than [`SCANNED`] connections have
    /// output.
    positions: HashMap<u64, usize, foldhash::fast::FixedState>,
    /// Connections asked to close, in order.
    closed: Vec<u64>,
    /// Connections whose pushed output grew by [`CHECK_STEP`] since they were last checked
    /// against their output buffer limit.
    to_check: Vec<u64>,
    /// Where the output last asked for is: serving a connection asks for its own several times.
    last: usize,
    /// Emptied buffers of earlier calls' outputs, for the next outputs (see
    /// [`Outbox::recycle_buffer`]).
    spare: Vec<Vec<u8>>,
    /// The emptied list of an earlier call's outputs, for the next call's.
    spare_outputs: Vec<Output>,
}

/// The most buffers kept for reuse, and the largest: about a MiB at most.
const SPARE_BUFFERS: usize = 64;
const SPARE_CAPACITY: usize = 16 * 1024;

/// Pushes for one connection are checked against its output buffer limit every time they grow by
/// this much, so one call cannot pile up much more than the limit for a client that does not read.
pub const CHECK_STEP: usize = 64 * 1024;

/// The most connections whose look-up table [`Outbox::take_outputs`] keeps for the next call, and
/// whose list of outputs [`Outbox::recycle_outputs`] keeps.
const KEPT_POSITIONS: usize = 1024;

/// Up to this many outputs, an output is found by looking through their ids rather than by a
/// table (a turn of the host's loop often feeds a few dozen connections at once).
const SCANNED: usize = 32;

impl Outbox {
    /// The output for connection `id`, made empty on first use.
    pub fn to(&mut self, id: u64) -> &mut Output {
        if self.outputs.get(self.last).is_some_and(|out| out.id == id) {
            return &mut self.outputs[self.last];
        }
        let at = match self.position(id) {
            Some(at) => at,
            None => {
                let data = self.spare.pop().unwrap_or_default();
                self.outputs.push(Output { id, data, check_at: CHECK_STEP, ..Output::default() });
                self.ids.push(id);
                let at = self.outputs.len() - 1;
                if at == SCANNED {
                    self.positions.extend(self.ids.iter().enumerate().map(|(at, id)| (*id, at)));
                } else if at > SCANNED {
                    self.positions.insert(id, at);
                }
                at
            }
        };
        self.last = at;
        &mut self.outputs[at]
    }

    fn position(&self, id: u64) -> Option<usize> {
        if self.ids.len() <= SCANNED {
            // From the newest: the output most often asked for again is the one just made.
            return self.ids.iter().rposition(|known| *known == id);
        }
        self.positions.get(&id).copied()
    }

    /// Whether connection `id` has been given anything in this call.
    pub fn has(&self, id: u64) -> bool {
        self.position(id).is_some()
    }

    /// Appends bytes for connection `id` (a push: a message it did not ask for in this call).
    pub fn push(&mut self, id: u64, bytes: &[u8]) {
        let out = self.to(id);
        out.data.extend_from_slice(bytes);
        if out.data.len() >= out.check_at {
            out.check_at = out.data.len() + CHECK_STEP;
            self.to_check.push(id);
        }
    }

    /// Takes the connections whose pushed output is due a check against its limit.
    pub fn take_to_check(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.to_check)
    }

    /// Whether some connection's pushed output is due a check.
    pub fn checks_due(&self) -> bool {
        !self.to_check.is_empty()
    }

    /// Bytes this call has for connection `id` so far.
    pub fn pending(&self, id: u64) -> usize {
        self.position(id).map_or(0, |at| self.outputs[at].data.len())
    }

    /// The outputs so far: pushes to check at the end of a call.
    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    /// Closes connection `id` at once, dropping everything it was to be written.
    pub fn discard(&mut self, id: u64) {
        self.close(id);
        let out = self.to(id);
        out.data = Vec::new();
        out.discard_unsent = true;
    }

    /// Asks the host to close connection `id` once what it has been given is written.
    pub fn close(&mut self, id: u64) {
        let out = self.to(id);
        if !out.close {
            out.close = true;
            self.closed.push(id);
        }
    }

    /// How many connections this call has asked to close so far.
    pub fn closes(&self) -> usize {
        self.closed.len()
    }

    /// The connections asked to close after the first `n`.
    pub fn closed_since(&self, n: usize) -> &[u64] {
        &self.closed[n.min(self.closed.len())..]
    }

    /// Takes the outputs and leaves the outbox empty, keeping its look-up table's memory while it
    /// is small: a call that serves a blocked client has two outputs, and the next call would
    /// build the table again. A table grown by a call that reached many connections (a publish to
    /// thousands of subscribers) is let go rather than cleared on every call after it.
    pub fn take_outputs(&mut self) -> Vec<Output> {
        if self.positions.capacity() > KEPT_POSITIONS {
            self.positions = HashMap::default();
            self.ids = Vec::new();
        } else {
            self.positions.clear();
            self.ids.clear();
        }
        self.closed.clear();
        self.to_check.clear();
        std::mem::replace(&mut self.outputs, std::mem::take(&mut self.spare_outputs))
    }

    /// Keeps an output's buffer, once its bytes are copied out, for an output of a later call: a
    /// call that serves many connections would otherwise allocate a buffer for each.
    pub fn recycle_buffer(&mut self, mut buffer: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS && buffer.capacity() <= SPARE_CAPACITY && buffer.capacity() > 0 {
            buffer.clear();
            self.spare.push(buffer);
        }
    }

    /// Keeps the list a call's outputs were handed over in, once emptied, for the next call's.
    pub fn recycle_outputs(&mut self, mut outputs: Vec<Output>) {
        if outputs.capacity() <= KEPT_POSITIONS {
            outputs.clear();
            self.spare_outputs = outputs;
        }
    }

    /// Nothing given to any connection yet.
    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty() && self.closed.is_empty() && self.to_check.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_connection_has_one_output_in_order_of_first_use() {
        let mut outbox = Outbox::default();
        outbox.to(7).data.extend_from_slice(b"a");
        outbox.to(3).data.extend_from_slice(b"b");
        outbox.to(7).data.extend_from_slice(b"c");
        outbox.close(3);
        outbox.to(9).progress = Some(Progress { consumed: 4, wanted: 0, more: false });
        assert!(outbox.has(9) && !outbox.has(1));
        assert_eq!(outbox.closed_since(0), [3]);
        outbox.close(3);
        assert_eq!(outbox.closes(), 1);
        let outputs = outbox.take_outputs();
        assert!(outbox.is_empty() && !outbox.has(7));
        let summary: Vec<(u64, &[u8], bool)> = outputs.iter().map(|o| (o.id, &o.data[..], o.close)).collect();
        assert_eq!(summary, [(7, &b"ac"[..], false), (3, &b"b"[..], true), (9, &b""[..], false)]);
    }

    #[test]
    fn outputs_are_found_again_past_the_looked_through_few() {
        let mut outbox = Outbox::default();
        for round in 0..2u8 {
            for id in (0..3 * SCANNED as u64).rev() {
                outbox.push(id, &[round]);
                assert_eq!(outbox.pending(id), round as usize + 1);
            }
        }
        assert!(outbox.has(0) && !outbox.has(3 * SCANNED as u64));
        let outputs = outbox.take_outputs();
        assert_eq!(outputs.len(), 3 * SCANNED);
        assert!(outputs.iter().zip((0..3 * SCANNED as u64).rev()).all(|(out, id)| out.id == id && out.data == [0, 1]));
        outbox.push(5, b"x");
        assert_eq!((outbox.pending(5), outbox.pending(6)), (1, 0), "the table of the last call is gone");
    }

    #[test]
    fn recycled_buffers_serve_later_outputs_empty() {
        let mut outbox = Outbox::default();
        outbox.recycle_buffer(Vec::with_capacity(SPARE_CAPACITY + 1));
        outbox.recycle_buffer(b"old bytes".to_vec());
        let out = outbox.to(1);
        assert!(out.data.is_empty() && out.data.capacity() >= 9, "the small buffer is reused, emptied");
        assert_eq!(outbox.to(2).data.capacity(), 0, "the large one was not kept");
    }
}
