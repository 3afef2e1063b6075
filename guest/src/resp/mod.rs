//! RESP, the Redis serialization protocol (versions 2 and 3), in both directions: a server parses
//! requests and writes replies; a cache client encodes commands and decodes replies. The line
//! framing both directions share is here.

mod command_encoder;
mod reply_decoder;
mod reply_writer;
mod request_parser;

pub use command_encoder::encode_command;
pub use reply_decoder::{Node, ReplyDecoder};
pub(crate) use reply_writer::{G17, Reply};
pub use request_parser::{Args, Limits, Parsed, ProtocolError, parse_request};

/// Where the first `\r\n` in `data` starts.
fn find_crlf(data: &[u8]) -> Option<usize> {
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

/// The longest inline command, and the longest `*N` or `$N` header line (Redis's
/// `PROTO_INLINE_MAX_SIZE`).
const MAX_INLINE_LEN: usize = 64 * 1024;

/// The line starting at `from` (without its CRLF) and the position after it, or `None` when the
/// line is not complete yet. A header longer than [`MAX_INLINE_LEN`] is an error.
fn header_line<'a>(
    input: &'a [u8],
    from: usize,
    too_big: &'static str,
) -> Result<Option<(&'a [u8], usize)>, ProtocolError> {
    match find_crlf(&input[from..]) {
        Some(at) => Ok(Some((&input[from..from + at], from + at + 2))),
        None if input.len() - from > MAX_INLINE_LEN => Err(ProtocolError(too_big)),
        None => Ok(None),
    }
}

/// The number after `*` or `$`. Only plain decimal digits with an optional minus sign.
fn parse_length(digits: &[u8]) -> Option<i64> {
    let (negative, digits) = match digits.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, digits),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
    Some(if negative { -value } else { value })
}
