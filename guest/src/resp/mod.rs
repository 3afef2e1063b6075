//! RESP, the Redis serialization protocol (versions 2 and 3): requests in, replies out.

mod frame;
mod reply;
mod request;

pub use frame::{MAX_DEPTH, Node, ReplyDecoder, encode_command};
pub use reply::{Reply, format_double};
pub use request::{Args, Limits, MAX_INLINE_LEN, Parsed, ProtocolError, parse_request, split_words};

/// Where the first `\r\n` in `data` starts.
pub fn find_crlf(data: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = data[from..].iter().position(|&b| b == b'\r') {
        let at = from + at;
        match data.get(at + 1) {
            Some(b'\n') => return Some(at),
            Some(_) => from = at + 1,
            None => return None,
        }
    }
    None
}
