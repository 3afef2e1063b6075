//! Reading replies from one stream.

use super::Interrupted;
use super::streams::{Stream, StreamErrorKind};
use crate::request::{Error, ErrorKind};
use crate::resp::{Limits, Node, ReplyDecoder};

/// How much to read at once.
const READ_SIZE: u32 = 64 * 1024;

/// Decodes one reply after another from a stream, keeping what arrived past the last one.
pub(super) struct Reader {
    decoder: ReplyDecoder,
    buffer: Vec<u8>,
}

impl Reader {
    pub fn new() -> Self {
        Reader { decoder: ReplyDecoder::new(Limits::default()), buffer: Vec::new() }
    }

    /// The next whole reply.
    pub fn reply(&mut self, stream: &impl Stream) -> Result<Vec<Node>, Interrupted> {
        loop {
            let decoded = self.decoder.decode_buffer(&mut self.buffer).map_err(|e| {
                Interrupted::Fatal(Error::new(ErrorKind::Protocol, format!("the server sent invalid RESP: {}", e.0)))
            })?;
            if let Some(reply) = decoded {
                return Ok(reply);
            }
            let data = self.read_more(stream).map_err(|e| match e.kind {
                // A request that timed out may still run: not repeated.
                StreamErrorKind::Timeout => Interrupted::Fatal(e.into()),
                _ => Interrupted::Broken(e.into()),
            })?;
            self.buffer.extend_from_slice(&data);
        }
    }

    /// A value longer than one read is fetched whole, in one call to the host; anything else
    /// takes what has arrived, which often holds the replies that follow too.
    fn read_more(&self, stream: &impl Stream) -> Result<Vec<u8>, super::streams::StreamError> {
        match ReplyDecoder::missing(&self.buffer).and_then(|n| u32::try_from(n).ok()) {
            Some(missing) if missing > READ_SIZE => stream.read_exact(missing),
            _ => stream.read(READ_SIZE),
        }
    }
}
