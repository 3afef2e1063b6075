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
        self.number_line(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A double as Redis writes one (`"%.17g"`): a RESP3 double, a bulk string in RESP2.
    pub fn double(&mut self, value: f64) {
        let text = format_g17(value);
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

    fn number_line(&mut self, kind: u8, value: i64) {
        let mut digits = itoa::Buffer::new();
        self.line(kind, digits.format(value).as_bytes());
    }
}

/// C's `"%.17g"`: 17 significant digits, trailing zeros dropped, an exponent (`1e+20`) below 1e-4
/// or from 1e17 on; `inf`, `-inf` and `nan` for the special values.
pub fn format_g17(value: f64) -> String {
    if !value.is_finite() {
        return if value.is_nan() { "nan" } else if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let scientific = format!("{value:.16e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if !(-4..17).contains(&exponent) {
        let mantissa = trim_fraction(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs());
    }
    trim_fraction(&format!("{value:.*}", (16 - exponent) as usize)).to_string()
}

/// A number without the trailing zeros of its fraction, nor a bare point.
fn trim_fraction(text: &str) -> &str {
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { text }
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

    #[test]
    fn doubles_as_percent_17_g() {
        for (value, text) in [(0.1, "0.10000000000000001"), (99.812332153320312, "99.812332153320312"), (1.0, "1"), (0.0, "0"),
            (-2.5, "-2.5"), (1e20, "1e+20"), (1e17, "1e+17"), (12345678901234567.0, "12345678901234568"), (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"), (f64::INFINITY, "inf")] {
            assert_eq!(format_g17(value), text, "{value}");
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
            assert_eq!(format_g17(value), text);
        }
        assert_eq!(written(true, |r| r.double(1.5)), ",1.5\r\n");
        assert_eq!(written(false, |r| r.double(f64::NEG_INFINITY)), "$4\r\n-inf\r\n");
    }
}
