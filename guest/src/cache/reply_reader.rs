//! Reading replies from one stream.

use super::Interrupted;
use super::streams::{ExchangeError, Stream, StreamError, StreamErrorKind};
use crate::request::{Error, ErrorKind};
use crate::resp::{Limits, Node, ReplyDecoder};

/// How much to read at once.
const READ_SIZE: u32 = 64 * 1024;

/// The longest line read when reading exactly (a simple string, an error, a header).
const LINE_LIMIT: u32 = 1024 * 1024;

/// Decodes one reply after another from a stream, keeping what arrived past the last one.
pub(super) struct Reader {
    decoder: ReplyDecoder,
    buffer: Vec<u8>,
    /// Where the bytes not yet decoded start in `buffer`: decoding a reply moves it instead of
    /// moving the replies behind it to the front.
    start: usize,
    /// Reads only the bytes of the frame being decoded (a line, or a value's missing bytes), so
    /// what the server sends after it stays on the connection for the next round. Slower; for
    /// sessions where the server sends frames unasked, whose pushes are then replies too.
    exact: bool,
}

impl Reader {
    /// A reader whose replies are decoded into `nodes` (an empty list, kept from an earlier round
    /// so the first reply allocates none).
    pub fn new(exact: bool, nodes: Vec<Node>) -> Self {
        let mut decoder = if exact { ReplyDecoder::keeping_pushes(Limits::default()) } else { ReplyDecoder::new(Limits::default()) };
        decoder.recycle(nodes);
        Reader { decoder, buffer: Vec::new(), start: 0, exact }
    }

    /// The list replies were decoded into, emptied, for the next round's reader.
    pub fn into_nodes(self) -> Vec<Node> {
        self.decoder.into_nodes()
    }

    /// Sends `requests`. A reader that reads in bulk and holds no bytes yet takes the first bytes
    /// of their replies in the same call to the host; one that reads exactly must not take more
    /// than a frame.
    pub fn send(&mut self, stream: &impl Stream, requests: &[u8]) -> Result<(), Interrupted> {
        if self.exact || self.start < self.buffer.len() {
            return stream.write(requests).and_then(|()| stream.drain()).map_err(|e| Interrupted::Broken(e.into()));
        }
        match stream.exchange(requests, READ_SIZE) {
            Ok(data) => {
                self.take(data);
                Ok(())
            }
            Err(ExchangeError::Sending(e)) => Err(Interrupted::Broken(e.into())),
            Err(ExchangeError::Reading(e)) => Err(self.read_failed(e)),
        }
    }

    /// The next whole reply.
    pub fn reply(&mut self, stream: &impl Stream) -> Result<Vec<Node>, Interrupted> {
        loop {
            let (decoded, consumed) = self.decoder.decode(&self.buffer[self.start..]).map_err(|e| {
                Interrupted::Fatal(Error::new(ErrorKind::Protocol, format!("the server sent invalid RESP: {}", e.0)))
            })?;
            self.start += consumed;
            if let Some(reply) = decoded {
                return Ok(reply);
            }
            let data = self.read_more(stream).map_err(|e| self.read_failed(e))?;
            self.take(data);
        }
    }

    /// Gives back a reply's list, emptied, for the next reply (see [`ReplyDecoder::recycle`]).
    pub fn recycle(&mut self, reply: Vec<Node>) {
        self.decoder.recycle(reply);
    }

    /// Keeps bytes read after those not yet decoded; with none left, the read's own buffer
    /// becomes the reader's.
    fn take(&mut self, data: Vec<u8>) {
        if self.start == self.buffer.len() {
            self.buffer = data;
        } else {
            self.buffer.drain(..self.start);
            self.buffer.extend_from_slice(&data);
        }
        self.start = 0;
    }

    /// What a failed read means for the requests waiting for replies.
    fn read_failed(&self, e: StreamError) -> Interrupted {
        match e.kind {
            // Part of a frame was taken from the connection: it is out of step.
            StreamErrorKind::Timeout if self.exact && self.start == self.buffer.len() && self.decoder.is_idle() => Interrupted::Quiet(e.into()),
            StreamErrorKind::Timeout if self.exact => Interrupted::Broken(e.into()),
            // A request that timed out may still run: not repeated.
            StreamErrorKind::Timeout => Interrupted::Fatal(e.into()),
            _ => Interrupted::Broken(e.into()),
        }
    }

    /// A value longer than one read is fetched whole, in one call to the host; anything else
    /// takes what has arrived, which often holds the replies that follow too.
    fn read_more(&self, stream: &impl Stream) -> Result<Vec<u8>, StreamError> {
        match ReplyDecoder::missing(&self.buffer[self.start..]).and_then(|n| u32::try_from(n).ok()) {
            Some(missing) if missing > READ_SIZE || self.exact => stream.read_exact(missing),
            None if self.exact => stream.read_until(b"\n", LINE_LIMIT),
            _ => stream.read(READ_SIZE),
        }
    }
}
