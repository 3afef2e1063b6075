//! Writing replies in the protocol version a connection chose.
//!
//! Commands describe their reply in RESP3 terms (maps, sets, verbatim text, nulls); on a RESP2
//! connection the writer lowers each to the RESP2 form Redis uses for it, so no command has to care
//! which protocol its client speaks.

/// A reply being written at the end of a connection's output buffer.
pub struct Reply<'a> {
    buf: &'a mut Vec<u8>,
    resp3: bool,
}

impl<'a> Reply<'a> {
    pub fn new(buf: &'a mut Vec<u8>, resp3: bool) -> Self {
        Reply { buf, resp3 }
    }

    /// Switches protocol mid-command: HELLO answers in the version it just chose.
    pub fn set_resp3(&mut self, resp3: bool) {
        self.resp3 = resp3;
    }

    /// `+OK`
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A status line. It must not contain CR or LF.
    pub fn simple(&mut self, text: &str) {
        self.line(b'+', text.as_bytes());
    }

    /// An error line such as `ERR syntax error` or `WRONGTYPE ...`: the first word is the code.
    /// Line breaks in the text are replaced by spaces so a message can never break the framing.
    pub fn error(&mut self, text: &str) {
        self.error_bytes(text.as_bytes());
    }

    /// An error whose text quotes a client's bytes as they are (Redis does not re-encode them);
    /// only CR and LF become spaces, so the reply stays one line.
    pub fn error_bytes(&mut self, text: &[u8]) {
        self.buf.push(b'-');
        self.buf.extend(text.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn integer(&mut self, value: i64) {
        self.number_line(b':', value);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        let len = data.len();
        if len < 100 {
            // The common case in a reply of many members or elements: a header of one or two
            // digits, each a copy of fixed size.
            self.buf.reserve(len + 7);
            match len {
                0..=9 => self.buf.extend_from_slice(&[b'$', digit(len), b'\r', b'\n']),
                _ => self.buf.extend_from_slice(&[b'$', digit(len / 10), digit(len % 10), b'\r', b'\n']),
            }
        } else {
            self.number_line(b'$', len as i64);
        }
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A double as Redis writes one (`"%.17g"`): a RESP3 double, a bulk string in RESP2.
    pub fn double(&mut self, value: f64) {
        let text = G17::new(value);
        if self.resp3 {
            self.line(b',', text.as_bytes());
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// The absent value: `_` in RESP3, the null bulk string `$-1` in RESP2.
    pub fn null(&mut self) {
        self.buf.extend_from_slice(if self.resp3 { b"_\r\n" } else { b"$-1\r\n" });
    }

    /// An absent array: `_` in RESP3, `*-1` in RESP2.
    pub fn null_array(&mut self) {
        self.buf.extend_from_slice(if self.resp3 { b"_\r\n" } else { b"*-1\r\n" });
    }

    pub fn array(&mut self, len: usize) {
        self.number_line(b'*', len as i64);
    }

    /// A map of `len` key/value pairs; a flat array of `2 * len` items in RESP2.
    pub fn map(&mut self, len: usize) {
        if self.resp3 {
            self.number_line(b'%', len as i64);
        } else {
            self.array(len * 2);
        }
    }

    /// A set; an array in RESP2.
    pub fn set(&mut self, len: usize) {
        self.number_line(if self.resp3 { b'~' } else { b'*' }, len as i64);
    }

    /// Text meant for people (INFO, CLIENT LIST): a verbatim string `=len\r\ntxt:...` in RESP3, a
    /// bulk string in RESP2.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            self.number_line(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// How many bytes have been written: where the next reply starts.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// A push message (out-of-band data); an array in RESP2.
    pub fn push(&mut self, len: usize) {
        self.number_line(if self.resp3 { b'>' } else { b'*' }, len as i64);
    }

    /// The error text of the reply written from byte `start` on, if it is an error.
    pub fn error_since(&self, start: usize) -> Option<std::borrow::Cow<'_, str>> {
        let written = self.buf.get(start..)?;
        let line = written.strip_prefix(b"-")?;
        let end = line.iter().position(|b| *b == b'\r').unwrap_or(line.len());
        Some(String::from_utf8_lossy(&line[..end]))
    }

    /// Bytes that already are a complete RESP reply.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn line(&mut self, kind: u8, text: &[u8]) {
        self.buf.push(kind);
        self.buf.extend_from_slice(text);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Counts and integers below 100 are written without a general integer formatter.
    fn number_line(&mut self, kind: u8, value: i64) {
        match value {
            0..=9 => self.buf.extend_from_slice(&[kind, digit(value as usize), b'\r', b'\n']),
            10..=99 => self.buf.extend_from_slice(&[kind, digit(value as usize / 10), digit(value as usize % 10), b'\r', b'\n']),
            _ => {
                let mut digits = itoa::Buffer::new();
                self.line(kind, digits.format(value).as_bytes());
            }
        }
    }
}

/// The ASCII digit for `n` (0 to 9).
fn digit(n: usize) -> u8 {
    b'0' + n as u8
}

/// C's `"%.17g"`: 17 significant digits, trailing zeros dropped, an exponent (`1e+20`) below 1e-4
/// or from 1e17 on; `inf`, `-inf` and `nan` for the special values. Built on the stack: a large
/// ZRANGE ... WITHSCORES writes a million.
pub struct G17 {
    bytes: [u8; 32],
    len: usize,
}

impl G17 {
    pub fn new(value: f64) -> G17 {
        let mut text = G17 { bytes: [0; 32], len: 0 };
        if !value.is_finite() {
            text.push(if value.is_nan() { b"nan" } else if value > 0.0 { b"inf" } else { b"-inf" });
            return text;
        }
        if value.is_sign_negative() {
            text.push(b"-");
        }
        // An integer of up to 17 digits prints as itself (the common case of scores and counters).
        if value.fract() == 0.0 && value.abs() < 1e17 {
            text.push(itoa::Buffer::new().format(value.abs() as u64).as_bytes());
            return text;
        }
        let (digits, exponent) = exact_digits(value.abs()).unwrap_or_else(|| formatted_digits(value.abs()));
        let mut buffer = itoa::Buffer::new();
        let digits = buffer.format(digits).as_bytes();
        let significant = digits.iter().rposition(|&d| d != b'0').map_or(1, |last| last + 1);
        let digits = &digits[..significant];
        if !(-4..17).contains(&exponent) {
            text.push(&digits[..1]);
            if digits.len() > 1 {
                text.push(b".");
                text.push(&digits[1..]);
            }
            text.push(if exponent < 0 { b"e-" } else { b"e+" });
            let magnitude = exponent.unsigned_abs();
            if magnitude < 10 {
                text.push(b"0");
            }
            text.push(itoa::Buffer::new().format(magnitude).as_bytes());
        } else if exponent < 0 {
            text.push(b"0.");
            for _ in 1..exponent.unsigned_abs() {
                text.push(b"0");
            }
            text.push(digits);
        } else {
            let point = exponent as usize + 1;
            if digits.len() <= point {
                text.push(digits);
                for _ in digits.len()..point {
                    text.push(b"0");
                }
            } else {
                text.push(&digits[..point]);
                text.push(b".");
                text.push(&digits[point..]);
            }
        }
        text
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn push(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }
}

const TEN_TO_16: u128 = 10_000_000_000_000_000;

/// The 17 significant digits of a positive `value` (as one number from 10^16 to 10^17 - 1,
/// rounded half to even as C's printf rounds) and its decimal exponent, computed exactly in
/// integers: the fast path for the usual scores, from 1e-5 to 1e17 with a fraction.
fn exact_digits(value: f64) -> Option<(u64, i32)> {
    if !(1e-5..1e17).contains(&value) {
        return None;
    }
    let bits = value.to_bits();
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    // value = mantissa * 2^-shift; in this range shift is from 1 to about 70.
    let shift = 1075 - ((bits >> 52) & 0x7ff) as i32;
    if shift <= 0 {
        return None;
    }
    let mut exponent = value.log10().floor() as i32;
    for _ in 0..3 {
        let scale = u32::try_from(16 - exponent).ok().filter(|&k| k <= 22)?;
        // At most 2^53 * 10^22, which fits in 128 bits.
        let scaled = mantissa as u128 * 10u128.pow(scale);
        let whole = scaled >> shift;
        if whole >= 10 * TEN_TO_16 {
            exponent += 1;
            continue;
        }
        if whole < TEN_TO_16 {
            exponent -= 1;
            continue;
        }
        let rest = scaled - (whole << shift);
        let half = 1u128 << (shift - 1);
        let rounded = whole + u128::from(rest > half || (rest == half && whole & 1 == 1));
        return Some(if rounded == 10 * TEN_TO_16 { (TEN_TO_16 as u64, exponent + 1) } else { (rounded as u64, exponent) });
    }
    None
}

/// [`exact_digits`] for any positive finite value, read from Rust's exact formatting.
fn formatted_digits(value: f64) -> (u64, i32) {
    let scientific = format!("{value:.16e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits = mantissa.chars().filter(char::is_ascii_digit).fold(0u64, |n, d| n * 10 + u64::from(d as u8 - b'0'));
    (digits, exponent.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(resp3: bool, f: impl FnOnce(&mut Reply)) -> String {
        let mut buf = Vec::new();
        f(&mut Reply::new(&mut buf, resp3));
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn resp2_lowers_resp3_types() {
        assert_eq!(written(false, |r| r.null()), "$-1\r\n");
        assert_eq!(written(false, |r| r.null_array()), "*-1\r\n");
        assert_eq!(written(false, |r| r.map(2)), "*4\r\n");
        assert_eq!(written(false, |r| r.set(3)), "*3\r\n");
        assert_eq!(written(false, |r| r.verbatim(b"hi")), "$2\r\nhi\r\n");
    }

    /// The integer fast path gives the digits Rust's exact formatting gives, over the range it
    /// covers and its edges.
    #[test]
    fn exact_digits_agree_with_exact_formatting() {
        let mut x = 7u64;
        let mut values = vec![1e-5, 0.1, 0.3, 2.0 / 3.0, 9.999999999999999e16, 99999.99999999999, 1e-4, 0.000_099_999_999_999_999_99];
        for i in 1..20_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            values.push(i as f64 * 1.5 + 0.25);
            values.push(i as f64 / 1000.0);
            values.push(f64::from_bits(0x3ee0_0000_0000_0000 + (x >> 12) % 0x0470_0000_0000_0000));
        }
        for value in values {
            if let Some(fast) = exact_digits(value) {
                assert_eq!(fast, formatted_digits(value), "{value:e}");
            }
        }
    }

    #[test]
    fn resp3_types() {
        assert_eq!(written(true, |r| r.null()), "_\r\n");
        assert_eq!(written(true, |r| r.map(2)), "%2\r\n");
        assert_eq!(written(true, |r| r.set(3)), "~3\r\n");
        assert_eq!(written(true, |r| r.verbatim(b"hi")), "=6\r\ntxt:hi\r\n");
    }

    #[test]
    fn scalars() {
        assert_eq!(written(false, |r| r.bulk(b"a\r\nb")), "$4\r\na\r\nb\r\n");
        assert_eq!(written(false, |r| r.integer(-42)), ":-42\r\n");
        assert_eq!(written(false, |r| r.error("ERR bad\r\nthing")), "-ERR bad  thing\r\n");
        assert_eq!(written(false, |r| r.double(1.5)), "$3\r\n1.5\r\n");
        assert_eq!(written(true, |r| r.double(1.5)), ",1.5\r\n");
    }

    #[test]
    fn scores_print_as_printf_g17() {
        let cases = [
            (0.1, "0.10000000000000001"),
            (99.812_332_153_320_31, "99.812332153320312"),
            (0.0, "0"),
            (-2.5, "-2.5"),
            (12345678901234567.0, "12345678901234568"),
            (-99999999999999984.0, "-99999999999999984"),
            (1.1, "1.1000000000000001"),
            (2.0, "2"),
            (1e20, "1e+20"),
            (1e17, "1e+17"),
            (1e16, "10000000000000000"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (-1.5, "-1.5"),
            (123456789.125, "123456789.125"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "4.9406564584124654e-324"),
            (f64::INFINITY, "inf"),
            (-0.0, "-0"),
        ];
        for (value, text) in cases {
            assert_eq!(G17::new(value).as_bytes(), text.as_bytes());
        }
        assert_eq!(G17::new(-0.00001).as_bytes(), b"-1.0000000000000001e-05");
        assert_eq!(G17::new(-1.5e-300).as_bytes(), b"-1.5000000000000001e-300");
        assert_eq!(written(true, |r| r.double(1.5)), ",1.5\r\n");
        assert_eq!(written(false, |r| r.double(f64::NEG_INFINITY)), "$4\r\n-inf\r\n");
    }
}
