//! Splitting a client's input into commands.
//!
//! Clients send either RESP arrays of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) or inline
//! commands, a line of words as typed into `telnet` (`GET k\r\n`). The parser never copies a
//! multibulk argument: it hands out slices of the input. It first checks that a whole command is
//! there; when it is not, it says how many bytes it needs, so the caller can wait for them instead
//! of parsing the same prefix again on every read.

use super::{MAX_INLINE_LEN, header_line, parse_length};
use smallvec::SmallVec;

/// Limits that protect the server from what a client announces before sending it.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `proto-max-bulk-len`: the largest bulk string accepted.
    pub max_bulk_len: usize,
    /// The most arguments one command may have.
    pub max_multibulk_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bulk_len: 512 * 1024 * 1024, max_multibulk_len: 1024 * 1024 }
    }
}

/// One step of parsing.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A command and the number of input bytes it took.
    Command(Args<'a>, usize),
    /// Bytes that hold no command (an empty line, `*0`), to be dropped.
    Skip(usize),
    /// Not a whole command yet: at least this many bytes (counted from the start of the input
    /// given) are needed before it is worth parsing again.
    Incomplete(usize),
}

/// A command's arguments. Multibulk arguments borrow the input; inline ones may need unescaping.
/// Almost every command has a few arguments: up to [`INLINE_ARGS`] of them are kept without a
/// heap allocation, which is one allocation and one free fewer per command.
#[derive(Debug, PartialEq, Eq)]
pub enum Args<'a> {
    Borrowed(SmallVec<[&'a [u8]; INLINE_ARGS]>),
    Owned(Vec<Vec<u8>>),
}

pub const INLINE_ARGS: usize = 8;

impl Args<'_> {
    /// The arguments as slices, the form every command takes.
    pub fn slices(&self) -> SmallVec<[&[u8]; INLINE_ARGS]> {
        match self {
            Args::Borrowed(args) => args.iter().copied().collect(),
            Args::Owned(args) => args.iter().map(Vec::as_slice).collect(),
        }
    }
}

/// A request the server cannot make sense of. The connection is answered with
/// `-ERR Protocol error: <message>` and closed, as Redis does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub &'static str);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Protocol error: {}", self.0)
    }
}

/// Parses the first command in `input`.
pub fn parse_request<'a>(input: &'a [u8], limits: &Limits) -> Result<Parsed<'a>, ProtocolError> {
    match input.first() {
        None => Ok(Parsed::Incomplete(1)),
        Some(b'*') => parse_multibulk(input, limits),
        Some(_) => parse_inline(input),
    }
}

fn parse_multibulk<'a>(input: &'a [u8], limits: &Limits) -> Result<Parsed<'a>, ProtocolError> {
    let (count, mut pos) = match plain_length(input, 0) {
        Some(found) => found,
        None => {
            let Some((count, pos)) = header_line(input, 0, "too big mbulk count string")? else {
                return Ok(Parsed::Incomplete(input.len() + 1));
            };
            (parse_length(&count[1..]).ok_or(ProtocolError("invalid multibulk length"))?, pos)
        }
    };
    if count > limits.max_multibulk_len as i64 {
        return Err(ProtocolError("invalid multibulk length"));
    }
    if count <= 0 {
        return Ok(Parsed::Skip(pos));
    }
    // Never reserve more than the input can already hold: the count is only a claim.
    let mut args = SmallVec::with_capacity((count as usize).min(input.len() / 4 + 1));
    for _ in 0..count {
        match input.get(pos) {
            None => return Ok(Parsed::Incomplete(pos + 1)),
            Some(b'$') => {}
            Some(_) => return Err(ProtocolError(expected_dollar(input[pos]))),
        }
        let (len, start) = match plain_length(input, pos) {
            Some(found) => found,
            None => {
                let Some((len, start)) = header_line(input, pos, "too big bulk count string")? else {
                    return Ok(Parsed::Incomplete(input.len() + 1));
                };
                (parse_length(&len[1..]).ok_or(ProtocolError("invalid bulk length"))?, start)
            }
        };
        if len < 0 || len as u64 > limits.max_bulk_len as u64 {
            return Err(ProtocolError("invalid bulk length"));
        }
        let end = start + len as usize;
        if input.len() < end + 2 {
            return Ok(Parsed::Incomplete(end + 2));
        }
        if input[end] != b'\r' || input[end + 1] != b'\n' {
            return Err(ProtocolError("expected CRLF after bulk string"));
        }
        args.push(&input[start..end]);
        pos = end + 2;
    }
    Ok(Parsed::Command(Args::Borrowed(args), pos))
}

/// Redis names the unexpected byte in this error.
fn expected_dollar(got: u8) -> &'static str {
    // The message must be 'static; the common bytes are spelled out, the rest summarised.
    match got {
        b'*' => "expected '$', got '*'",
        b':' => "expected '$', got ':'",
        b'+' => "expected '$', got '+'",
        b'-' => "expected '$', got '-'",
        b'\r' => "expected '$', got '\r'",
        b'\n' => "expected '$', got '\n'",
        _ => "expected '$' before a bulk string",
    }
}

/// The header line at `from` (`*N` or `$N`) in the form nearly every client sends: up to 18
/// digits and CRLF. Returns the number and the position after the line, reading each byte once;
/// anything else (a sign, a line not complete yet, garbage) is `None`, and [`header_line`] and
/// [`parse_length`] then decide what it is.
#[inline(always)]
fn plain_length(input: &[u8], from: usize) -> Option<(i64, usize)> {
    let mut value = 0i64;
    let mut pos = from + 1;
    while let Some(&byte) = input.get(pos) {
        match byte {
            b'0'..=b'9' if pos - from <= 18 => value = value * 10 + i64::from(byte - b'0'),
            b'\r' if pos > from + 1 && input.get(pos + 1) == Some(&b'\n') => return Some((value, pos + 2)),
            _ => return None,
        }
        pos += 1;
    }
    None
}

fn parse_inline(input: &[u8]) -> Result<Parsed<'_>, ProtocolError> {
    let Some(newline) = input.iter().position(|&b| b == b'\n') else {
        if input.len() > MAX_INLINE_LEN {
            return Err(ProtocolError("too big inline request"));
        }
        return Ok(Parsed::Incomplete(input.len() + 1));
    };
    let line = input[..newline].strip_suffix(b"\r").unwrap_or(&input[..newline]);
    let words = split_words(line).ok_or(ProtocolError("unbalanced quotes in request"))?;
    if words.is_empty() {
        return Ok(Parsed::Skip(newline + 1));
    }
    Ok(Parsed::Command(Args::Owned(words), newline + 1))
}

/// Splits an inline command into words the way `redis-cli` and Redis do: spaces separate words,
/// `"..."` understands `\n \r \t \b \a \\ \" \xHH`, `'...'` understands only `\'`. A closing quote
/// must be followed by a space or the end of the line. `None` means unbalanced quotes.
fn split_words(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut words = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == line.len() {
            return Some(words);
        }
        let mut word = Vec::new();
        let mut quote = None;
        loop {
            let Some(&c) = line.get(i) else {
                if quote.is_some() {
                    return None;
                }
                break;
            };
            match quote {
                None if c.is_ascii_whitespace() => break,
                None if c == b'"' || c == b'\'' => quote = Some(c),
                None => word.push(c),
                Some(q) if c == q => {
                    if line.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
                        return None;
                    }
                    i += 1;
                    break;
                }
                Some(b'"') if c == b'\\' => {
                    let (byte, used) = unescape(&line[i + 1..]);
                    word.push(byte);
                    i += used;
                }
                Some(b'\'') if c == b'\\' && line.get(i + 1) == Some(&b'\'') => {
                    word.push(b'\'');
                    i += 1;
                }
                Some(_) => word.push(c),
            }
            i += 1;
        }
        words.push(word);
    }
}

/// The byte an escape inside double quotes stands for, and how many bytes after the backslash
/// it used.
fn unescape(rest: &[u8]) -> (u8, usize) {
    match rest {
        [b'x', h, l, ..] if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
            (hex_value(*h) * 16 + hex_value(*l), 3)
        }
        [b'n', ..] => (b'\n', 1),
        [b'r', ..] => (b'\r', 1),
        [b't', ..] => (b'\t', 1),
        [b'b', ..] => (0x08, 1),
        [b'a', ..] => (0x07, 1),
        [c, ..] => (*c, 1),
        [] => (b'\\', 0),
    }
}

fn hex_value(digit: u8) -> u8 {
    (digit as char).to_digit(16).unwrap_or(0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass reading of a length line agrees with the general one wherever it answers.
    #[test]
    fn plain_lengths_read_like_header_lines() {
        let lines: &[&[u8]] = &[
            b"$0\r\n", b"$3\r\nGET", b"*12\r\n", b"$-1\r\n", b"$\r\n", b"$1x\r\n", b"$12", b"$12\r", b"$1\rx",
            b"$999999999999999999\r\n", b"$1000000000000000000\r\n", b"$007\r\n", b"$ 1\r\n",
        ];
        for line in lines {
            let general = header_line(line, 0, "").unwrap().and_then(|(l, end)| Some((parse_length(&l[1..])?, end)));
            match plain_length(line, 0) {
                Some(found) => assert_eq!(Some(found), general, "{:?}", String::from_utf8_lossy(line)),
                None => assert!(general.is_none_or(|(n, _)| n < 0), "{:?}", String::from_utf8_lossy(line)),
            }
        }
        assert_eq!(plain_length(b"$16\r\n", 0), Some((16, 5)));
        assert_eq!(plain_length(b"xx*2\r\n", 2), Some((2, 6)));
    }

    fn command(input: &[u8]) -> (Vec<Vec<u8>>, usize) {
        match parse_request(input, &Limits::default()).unwrap() {
            Parsed::Command(args, used) => {
                (args.slices().iter().map(|a| a.to_vec()).collect(), used)
            }
            other => panic!("expected a command, got {other:?}"),
        }
    }

    #[test]
    fn multibulk_command() {
        let (args, used) = command(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nextra");
        assert_eq!(args, vec![b"GET".to_vec(), b"k".to_vec()]);
        assert_eq!(used, 20);
    }

    #[test]
    fn binary_safe_bulk() {
        let (args, _) = command(b"*1\r\n$4\r\na\r\nb\r\n");
        assert_eq!(args, vec![b"a\r\nb".to_vec()]);
    }

    #[test]
    fn every_split_point_is_incomplete_until_the_end() {
        let whole = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        for cut in 0..whole.len() {
            match parse_request(&whole[..cut], &Limits::default()).unwrap() {
                Parsed::Incomplete(wanted) => assert!(wanted > cut && wanted <= whole.len()),
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        assert_eq!(command(whole).1, whole.len());
    }

    #[test]
    fn wanted_covers_a_large_bulk() {
        let input = b"*2\r\n$3\r\nSET\r\n$100\r\nab";
        assert_eq!(parse_request(input, &Limits::default()), Ok(Parsed::Incomplete(121)));
    }

    #[test]
    fn inline_commands() {
        assert_eq!(command(b"PING\r\n").0, vec![b"PING".to_vec()]);
        assert_eq!(command(b"set k v\n").0, vec![b"set".to_vec(), b"k".to_vec(), b"v".to_vec()]);
        let (args, _) = command(b"SET \"a b\\n\\x41\" 'it\\'s'\r\n");
        assert_eq!(args, vec![b"SET".to_vec(), b"a b\nA".to_vec(), b"it's".to_vec()]);
        assert_eq!(parse_request(b"\r\n", &Limits::default()), Ok(Parsed::Skip(2)));
        assert_eq!(parse_request(b"   \n", &Limits::default()), Ok(Parsed::Skip(4)));
    }

    #[test]
    fn protocol_errors() {
        let limits = Limits::default();
        let err = |input: &[u8]| parse_request(input, &limits).unwrap_err().to_string();
        assert_eq!(err(b"*x\r\n"), "Protocol error: invalid multibulk length");
        assert_eq!(err(b"*1\r\n:1\r\n"), "Protocol error: expected '$', got ':'");
        assert_eq!(err(b"*1\r\n$-5\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(err(b"*1\r\n$abc\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(err(b"*1\r\n$1\r\nabc"), "Protocol error: expected CRLF after bulk string");
        assert_eq!(err(b"GET \"k\n"), "Protocol error: unbalanced quotes in request");
        assert_eq!(err(b"GET \"k\"x\n"), "Protocol error: unbalanced quotes in request");
        assert_eq!(err(&[b'A'; MAX_INLINE_LEN + 1]), "Protocol error: too big inline request");
        let mut huge = b"*1\r\n$".to_vec();
        huge.extend(std::iter::repeat_n(b'1', MAX_INLINE_LEN + 1));
        assert_eq!(err(&huge), "Protocol error: too big bulk count string");
    }

    #[test]
    fn announced_lengths_are_limited_before_allocation() {
        let limits = Limits { max_bulk_len: 10, max_multibulk_len: 3 };
        assert!(parse_request(b"*4\r\n", &limits).is_err());
        assert!(parse_request(b"*1\r\n$11\r\n", &limits).is_err());
        assert_eq!(parse_request(b"*3\r\n", &limits), Ok(Parsed::Incomplete(5)));
        assert_eq!(
            parse_request(b"*999999999999\r\n", &Limits::default()).unwrap_err().0,
            "invalid multibulk length"
        );
    }

    /// Inputs the fuzzer found interesting stay regression tests.
    #[test]
    fn fuzz_corpus_parses_without_panicking() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/resp_request");
        let limits = Limits { max_bulk_len: 1 << 20, max_multibulk_len: 1 << 12 };
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("the fuzz corpus is in the repository") {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            match parse_request(&data, &limits) {
                Ok(Parsed::Command(_, used) | Parsed::Skip(used)) => assert!(used > 0 && used <= data.len()),
                Ok(Parsed::Incomplete(wanted)) => assert!(wanted > data.len()),
                Err(_) => {}
            }
            seen += 1;
        }
        assert!(seen > 10, "only {seen} corpus files");
    }

    #[test]
    fn empty_multibulk_is_skipped() {
        assert_eq!(parse_request(b"*0\r\n", &Limits::default()), Ok(Parsed::Skip(4)));
        assert_eq!(parse_request(b"*-1\r\n", &Limits::default()), Ok(Parsed::Skip(5)));
    }
}
