//! Numbers as text and back the way Redis's cjson does it through C's library: `%.<n>g` to
//! write them, `strtod` to read them (which takes more than JSON allows: a `+` sign, hexadecimal,
//! `inf`, `nan`, leading zeros).

/// C's `printf("%.<precision>g", value)`.
pub fn format_g(value: f64, precision: usize) -> String {
    if value.is_nan() {
        return if value.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf".into() } else { "inf".into() };
    }
    let precision = precision.max(1);
    let scientific = format!("{:.*e}", precision - 1, value);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if exponent < -4 || exponent >= precision as i32 {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim_fraction(mantissa), exponent.unsigned_abs())
    } else {
        let decimals = (precision as i32 - 1 - exponent).max(0) as usize;
        trim_fraction(&format!("{value:.decimals$}")).to_string()
    }
}

/// `%g` drops a fraction's trailing zeros, and the point when nothing is left after it.
fn trim_fraction(text: &str) -> &str {
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { text }
}

/// C's `strtod` on `text`: the number at its start and how many bytes it took, or `None` when
/// there is none.
pub fn strtod(text: &[u8]) -> Option<(f64, usize)> {
    let (negative, start) = match text.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let rest = &text[start..];
    let (magnitude, length) = special(rest).or_else(|| hexadecimal(rest)).or_else(|| decimal(rest))?;
    Some((if negative { -magnitude } else { magnitude }, start + length))
}

fn starts_with_ignoring_case(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// `inf`, `infinity` and `nan`, `nan(chars)` in any letter case.
fn special(text: &[u8]) -> Option<(f64, usize)> {
    if starts_with_ignoring_case(text, b"infinity") {
        return Some((f64::INFINITY, 8));
    }
    if starts_with_ignoring_case(text, b"inf") {
        return Some((f64::INFINITY, 3));
    }
    if !starts_with_ignoring_case(text, b"nan") {
        return None;
    }
    let tail = &text[3..];
    if tail.first() == Some(&b'(') {
        let inside = tail[1..].iter().take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_').count();
        if tail.get(1 + inside) == Some(&b')') {
            return Some((f64::NAN, 3 + inside + 2));
        }
    }
    Some((f64::NAN, 3))
}

fn count_while(text: &[u8], from: usize, accept: impl Fn(u8) -> bool) -> usize {
    text.get(from..).map_or(0, |rest| rest.iter().take_while(|&&b| accept(b)).count())
}

/// The length of an exponent (`e-12`, `p+3`) at `from`: it counts only with a digit in it.
fn exponent_length(text: &[u8], from: usize, letters: &[u8; 2]) -> usize {
    if !text.get(from).is_some_and(|b| letters.contains(b)) {
        return 0;
    }
    let sign = usize::from(matches!(text.get(from + 1), Some(b'+' | b'-')));
    let digits = count_while(text, from + 1 + sign, |b| b.is_ascii_digit());
    if digits == 0 { 0 } else { 1 + sign + digits }
}

/// Decimal digits with an optional fraction and exponent, correctly rounded.
fn decimal(text: &[u8]) -> Option<(f64, usize)> {
    let whole = count_while(text, 0, |b| b.is_ascii_digit());
    let fraction = if text.get(whole) == Some(&b'.') { count_while(text, whole + 1, |b| b.is_ascii_digit()) } else { 0 };
    if whole + fraction == 0 {
        return None;
    }
    let mantissa_end = if text.get(whole) == Some(&b'.') { whole + 1 + fraction } else { whole };
    let length = mantissa_end + exponent_length(text, mantissa_end, b"eE");
    let digits = |range: &[u8]| if range.is_empty() { "0".to_string() } else { String::from_utf8_lossy(range).into_owned() };
    let exponent = if length > mantissa_end { String::from_utf8_lossy(&text[mantissa_end + 1..length]).into_owned() } else { "0".into() };
    let canonical = format!("{}.{}e{exponent}", digits(&text[..whole]), digits(&text[whole + usize::from(fraction > 0)..whole + usize::from(fraction > 0) + fraction]));
    canonical.parse::<f64>().ok().map(|value| (value, length))
}

/// `0x` hexadecimal digits with an optional fraction and binary exponent (`0x1.8p3`).
fn hexadecimal(text: &[u8]) -> Option<(f64, usize)> {
    if !(text.first() == Some(&b'0') && matches!(text.get(1), Some(b'x' | b'X'))) {
        return None;
    }
    let whole = count_while(text, 2, |b| b.is_ascii_hexdigit());
    let point = text.get(2 + whole) == Some(&b'.');
    let fraction = if point { count_while(text, 3 + whole, |b| b.is_ascii_hexdigit()) } else { 0 };
    if whole + fraction == 0 {
        // Only the `0` before the `x` is a number.
        return Some((0.0, 1));
    }
    let mantissa_end = 2 + whole + usize::from(point) + fraction;
    let exponent_end = mantissa_end + exponent_length(text, mantissa_end, b"pP");
    let mut binary_exponent: i64 = if exponent_end > mantissa_end {
        let written = String::from_utf8_lossy(&text[mantissa_end + 1..exponent_end]).into_owned();
        written.parse::<i64>().unwrap_or(if written.starts_with('-') { -100_000 } else { 100_000 }).clamp(-100_000, 100_000)
    } else {
        0
    };
    // Sixteen hex digits fill 64 bits; later ones only matter as a sticky bit for rounding.
    let mut mantissa: u64 = 0;
    let mut sticky = false;
    let digits = text[2..2 + whole].iter().map(|&b| (b, false)).chain(text[mantissa_end - fraction..mantissa_end].iter().map(|&b| (b, true)));
    for (digit, in_fraction) in digits {
        let value = u64::from((digit as char).to_digit(16).unwrap_or(0));
        if mantissa >> 60 == 0 {
            mantissa = (mantissa << 4) | value;
            if in_fraction {
                binary_exponent -= 4;
            }
        } else {
            sticky |= value != 0;
            if !in_fraction {
                binary_exponent += 4;
            }
        }
    }
    let value = (mantissa | u64::from(sticky)) as f64;
    Some((scale(value, binary_exponent), exponent_end))
}

/// `value * 2^exponent`, by steps that stay exact.
fn scale(mut value: f64, mut exponent: i64) -> f64 {
    while exponent != 0 && value != 0.0 && value.is_finite() {
        let step = exponent.clamp(-1000, 1000);
        value *= 2f64.powi(step as i32);
        exponent -= step;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_printf_g() {
        assert_eq!(format_g(1.0 / 3.0, 14), "0.33333333333333");
        assert_eq!(format_g(100.0, 14), "100");
        assert_eq!(format_g(1e300, 14), "1e+300");
        assert_eq!(format_g(-0.0, 14), "-0");
        assert_eq!(format_g(123456789012345.0, 14), "1.2345678901234e+14");
        assert_eq!(format_g(0.0001, 14), "0.0001");
        assert_eq!(format_g(0.00001, 14), "1e-05");
        assert_eq!(format_g(2.5, 1), "2");
        assert_eq!(format_g(1.23456, 3), "1.23");
        assert_eq!(format_g(f64::NEG_INFINITY, 14), "-inf");
    }

    #[test]
    fn reads_as_strtod() {
        assert_eq!(strtod(b"12,"), Some((12.0, 2)));
        assert_eq!(strtod(b"-1.5e3]"), Some((-1500.0, 6)));
        assert_eq!(strtod(b"1.5e"), Some((1.5, 3)));
        assert_eq!(strtod(b"+.5"), Some((0.5, 3)));
        assert_eq!(strtod(b"01"), Some((1.0, 2)));
        assert_eq!(strtod(b"0x10"), Some((16.0, 4)));
        assert_eq!(strtod(b"0x1.8p1"), Some((3.0, 7)));
        assert_eq!(strtod(b"0xg"), Some((0.0, 1)));
        assert_eq!(strtod(b"-Infinity"), Some((f64::NEG_INFINITY, 9)));
        assert!(strtod(b"nan(x1)").is_some_and(|(v, n)| v.is_nan() && n == 7));
        assert_eq!(strtod(b"1e400"), Some((f64::INFINITY, 5)));
        assert_eq!(strtod(b"-"), None);
        assert_eq!(strtod(b"."), None);
    }
}
