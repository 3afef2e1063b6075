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
    /// The connection's session, when a command changed it (see `Session::encode`).
    pub session: Option<Vec<u8>>,
    /// Feed the input kept for this connection again: the engine held it and can run it now.
    pub resume: bool,
}

/// The outputs of one call, in the order their connections were first given something.
#[derive(Debug, Default)]
pub struct Outbox {
    outputs: Vec<Output>,
    /// Where each connection's output is; kept only once more than one connection has output, so
    /// a call for one connection never hashes.
    positions: HashMap<u64, usize, foldhash::fast::FixedState>,
    /// Connections asked to close, in order.
    closed: Vec<u64>,
}

impl Outbox {
    /// The output for connection `id`, made empty on first use.
    pub fn to(&mut self, id: u64) -> &mut Output {
        let at = match self.position(id) {
            Some(at) => at,
            None => {
                self.outputs.push(Output { id, ..Output::default() });
                let at = self.outputs.len() - 1;
                if at > 0 {
                    if at == 1 {
                        self.positions.insert(self.outputs[0].id, 0);
                    }
                    self.positions.insert(id, at);
                }
                at
            }
        };
        &mut self.outputs[at]
    }

    fn position(&self, id: u64) -> Option<usize> {
        match self.outputs.len() {
            0 => None,
            1 => (self.outputs[0].id == id).then_some(0),
            _ => self.positions.get(&id).copied(),
        }
    }

    /// Whether connection `id` has been given anything in this call.
    pub fn has(&self, id: u64) -> bool {
        self.position(id).is_some()
    }

    /// Appends bytes for connection `id` (a push: a message it did not ask for in this call).
    pub fn push(&mut self, id: u64, bytes: &[u8]) {
        self.to(id).data.extend_from_slice(bytes);
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

    pub fn into_outputs(self) -> Vec<Output> {
        self.outputs
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
        let outputs = outbox.into_outputs();
        let summary: Vec<(u64, &[u8], bool)> = outputs.iter().map(|o| (o.id, &o.data[..], o.close)).collect();
        assert_eq!(summary, [(7, &b"ac"[..], false), (3, &b"b"[..], true), (9, &b""[..], false)]);
    }
}
