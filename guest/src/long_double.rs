//! The C `long double` arithmetic of Redis's INCRBYFLOAT and HINCRBYFLOAT.
//!
//! Redis reads both numbers with `strtold`, adds them in x87 extended precision (a 64-bit
//! significand, a 15-bit exponent: 1e4000 is a number) and prints the sum with `"%.17Lf"`, trimming
//! trailing zeros. An `f64` rounds differently — `SET f 625.66039` then `INCRBYFLOAT f 0` is
//! `625.66038999999999998` in Redis — so cachet does the same arithmetic: `rustc_apfloat`'s
//! `X87DoubleExtended` (a port of LLVM's APFloat, correctly rounded) parses and adds, and the
//! printing below is exact, as glibc's is.

use rustc_apfloat::ieee::X87DoubleExtended;
use rustc_apfloat::{Float, FloatConvert, Status};

/// Redis's `MAX_LONG_DOUBLE_CHARS`: a number written with this many bytes or more is not one.
const MAX_CHARS: usize = 5 * 1024;

/// Digits after the point that `"%.17Lf"` prints.
const FRACTION_DIGITS: u32 = 17;

/// An x87 extended precision number.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LongDouble(X87DoubleExtended);

impl LongDouble {
    pub(crate) const ZERO: LongDouble = LongDouble(X87DoubleExtended::ZERO);

    /// A number as Redis's `string2ld` reads one: `strtold`'s syntax (decimal, `0x` hexadecimal
    /// with an optional `p` exponent, `inf`, `infinity`) filling the whole argument, no leading
    /// space, no NaN, and neither an overflow nor a non-zero number too small to represent.
    pub(crate) fn parse(text: &[u8]) -> Option<LongDouble> {
        if text.is_empty() || text.len() >= MAX_CHARS {
            return None;
        }
        let (negative, unsigned) = match text[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let magnitude = if unsigned.eq_ignore_ascii_case(b"inf") || unsigned.eq_ignore_ascii_case(b"infinity") {
            X87DoubleExtended::INFINITY
        } else {
            finite(unsigned)?
        };
        Some(LongDouble(if negative { -magnitude } else { magnitude }))
    }

    /// The sum, rounded to nearest (ties to even) as the x87 unit does; overflow gives infinity.
    pub(crate) fn add(self, other: LongDouble) -> LongDouble {
        LongDouble((self.0 + other.0).value)
    }

    /// The nearest `f64` (blocking commands' timeouts are read as long doubles, as Redis reads them).
    pub(crate) fn to_f64(self) -> f64 {
        let mut loses_info = false;
        let double: rustc_apfloat::ieee::Double = self.0.convert(&mut loses_info).value;
        f64::from_bits(double.to_bits() as u64)
    }

    pub(crate) fn is_finite(self) -> bool {
        self.0.is_finite()
    }

    /// The number as Redis's `ld2string(..., LD_STR_HUMAN)` prints it: `"%.17Lf"` with the trailing
    /// zeros (and a bare point) removed, and `-0` written `0`. Only finite numbers are printed.
    pub(crate) fn to_human(self) -> String {
        let bits = self.0.to_bits();
        let negative = bits >> 79 & 1 == 1;
        let exponent_field = (bits >> 64 & 0x7fff) as i32;
        let significand = bits as u64;
        // The value is significand * 2^exponent; a denormal has the smallest exponent.
        let exponent = exponent_field.max(1) - 16383 - 63;
        let mut text = String::with_capacity(32);
        if negative {
            text.push('-');
        }
        if exponent >= 0 {
            text.push_str(&integer_digits(significand, exponent as u32));
        } else {
            push_fixed(&mut text, rounded_hundred_quadrillionths(significand, exponent.unsigned_abs()));
        }
        if text == "-0" {
            text.remove(0);
        }
        text
    }
}

/// The magnitude of a finite number in `strtold`'s syntax, or None when the text is not one or
/// `strtold` would report a range error for it (overflow, or underflow to zero).
fn finite(text: &[u8]) -> Option<X87DoubleExtended> {
    let canonical = if let Some(hex) = text.strip_prefix(b"0x").or_else(|| text.strip_prefix(b"0X")) {
        hexadecimal(hex)?
    } else {
        decimal(text)?
    };
    let parsed = X87DoubleExtended::from_str_r(&canonical, rustc_apfloat::Round::NearestTiesToEven).ok()?;
    let out_of_range = parsed.status.contains(Status::OVERFLOW)
        || (parsed.status.contains(Status::UNDERFLOW) && parsed.value.is_zero());
    (!out_of_range).then_some(parsed.value)
}

/// `digits[.digits][e[+-]digits]` with at least one digit, checked and returned as text APFloat
/// reads (its own grammar is looser: it takes `1e`).
fn decimal(text: &[u8]) -> Option<String> {
    let (significand, exponent) = split_exponent(text, b'e')?;
    if !significand_ok(significand, |c| c.is_ascii_digit()) {
        return None;
    }
    let mut canonical = String::from_utf8(significand.to_vec()).ok()?;
    if let Some(exponent) = exponent {
        canonical.push('e');
        canonical.push_str(&exponent.to_string());
    }
    Some(canonical)
}

/// The part after `0x`: hexadecimal digits with an optional point and an optional binary exponent
/// (`p[+-]digits`), which APFloat requires and `strtold` does not.
fn hexadecimal(text: &[u8]) -> Option<String> {
    let (significand, exponent) = split_exponent(text, b'p')?;
    if !significand_ok(significand, |c| c.is_ascii_hexdigit()) {
        return None;
    }
    let significand = std::str::from_utf8(significand).ok()?;
    Some(format!("0x{significand}p{}", exponent.unwrap_or(0)))
}

/// Splits `text` at its exponent marker (either case) and reads the exponent, saturated far past
/// any exponent that could matter (a significand has fewer than [`MAX_CHARS`] digits).
fn split_exponent(text: &[u8], marker: u8) -> Option<(&[u8], Option<i64>)> {
    let Some(at) = text.iter().position(|c| c.eq_ignore_ascii_case(&marker)) else {
        return Some((text, None));
    };
    let written = &text[at + 1..];
    let (negative, digits) = match written.first() {
        Some(b'-') => (true, &written[1..]),
        Some(b'+') => (false, &written[1..]),
        _ => (false, written),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |n, d| (n * 10 + i64::from(d - b'0')).min(1_000_000));
    Some((&text[..at], Some(if negative { -magnitude } else { magnitude })))
}

/// Digits with at most one point, and at least one digit.
fn significand_ok(text: &[u8], is_digit: impl Fn(&u8) -> bool) -> bool {
    let points = text.iter().filter(|&&c| c == b'.').count();
    points <= 1 && text.iter().any(&is_digit) && text.iter().all(|c| *c == b'.' || is_digit(c))
}

/// `significand * 2^-shift * 10^17` rounded to the nearest integer, ties to even, as glibc's
/// printf rounds. The product is below 2^121, so the arithmetic fits in 128 bits.
fn rounded_hundred_quadrillionths(significand: u64, shift: u32) -> u128 {
    let scaled = u128::from(significand) * 10u128.pow(FRACTION_DIGITS);
    if shift >= 122 {
        return 0; // below half of the last printed digit
    }
    let quotient = scaled >> shift;
    let remainder = scaled & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    let round_up = remainder > half || (remainder == half && quotient & 1 == 1);
    quotient + u128::from(round_up)
}

/// Writes `scaled / 10^17` with its 17 decimals, then trims trailing zeros and a bare point.
fn push_fixed(text: &mut String, scaled: u128) {
    let digits = format!("{scaled:0>18}");
    let (integer, fraction) = digits.split_at(digits.len() - FRACTION_DIGITS as usize);
    text.push_str(integer);
    let fraction = fraction.trim_end_matches('0');
    if !fraction.is_empty() {
        text.push('.');
        text.push_str(fraction);
    }
}

/// The decimal digits of `significand * 2^shift`, which can have thousands of digits.
fn integer_digits(significand: u64, shift: u32) -> String {
    // Little-endian base-2^32 limbs of the shifted significand.
    let mut limbs = vec![0u32; (shift / 32) as usize];
    let wide = u128::from(significand) << (shift % 32);
    limbs.extend([wide as u32, (wide >> 32) as u32, (wide >> 64) as u32]);
    // Peel off nine decimal digits at a time, least significant first.
    let mut chunks = Vec::new();
    while limbs.iter().any(|&limb| limb != 0) {
        let mut remainder = 0u64;
        for limb in limbs.iter_mut().rev() {
            let current = remainder << 32 | u64::from(*limb);
            *limb = (current / 1_000_000_000) as u32;
            remainder = current % 1_000_000_000;
        }
        chunks.push(remainder as u32);
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
    }
    let mut text = chunks.pop().map_or_else(|| "0".to_string(), |top| top.to_string());
    for chunk in chunks.iter().rev() {
        text.push_str(&format!("{chunk:09}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::LongDouble;

    fn sum(a: &str, b: &str) -> Option<String> {
        let total = LongDouble::parse(a.as_bytes())?.add(LongDouble::parse(b.as_bytes())?);
        Some(if total.is_finite() { total.to_human() } else { "overflow".into() })
    }

    #[test]
    fn prints_as_percent_17_lf() {
        assert_eq!(sum("625.66039", "0").as_deref(), Some("625.66038999999999998"));
        assert_eq!(sum("0.1", "0.2").as_deref(), Some("0.3"));
        assert_eq!(sum("10.5", "0.1").as_deref(), Some("10.6"));
        assert_eq!(sum("5.0e3", "200").as_deref(), Some("5200"));
        assert_eq!(sum("-0.0", "0").as_deref(), Some("0"));
        assert_eq!(sum("-1e-30", "0").as_deref(), Some("0"), "-0.00000000000000000 is printed 0");
        assert_eq!(sum("-1e-17", "0").as_deref(), Some("-0.00000000000000001"));
        assert_eq!(sum("1e20", "0").as_deref(), Some("100000000000000000000"));
        assert_eq!(sum("18446744073709551615", "1").as_deref(), Some("18446744073709551616"));
    }

    #[test]
    fn huge_numbers_are_long_doubles() {
        let text = sum("1e4000", "0").unwrap();
        assert_eq!(text.len(), 4000, "the nearest long double is below 1e4000");
        assert!(text.starts_with("99999999999999999999654638730996237849324925835069576313015083330432619433"));
        assert_eq!(sum("1e4932", "1e4932").as_deref(), Some("overflow"));
        assert_eq!(LongDouble::parse(b"1e5000").map(|_| ()), None, "overflow is a range error");
        assert_eq!(LongDouble::parse(b"1e-5000").map(|_| ()), None, "underflow to zero is a range error");
        assert!(LongDouble::parse(b"0e-5000").is_some());
        assert!(LongDouble::parse(b"1e-4940").is_some(), "a denormal is a number");
    }

    #[test]
    fn strtold_syntax() {
        for (text, human) in [("0x10", "16"), ("0x1p-3", "0.125"), ("0X.8P1", "1"), ("+1.5", "1.5"), (".5", "0.5"), ("5.", "5"), ("-0", "0"), ("1E2", "100")] {
            assert_eq!(LongDouble::parse(text.as_bytes()).map(LongDouble::to_human).as_deref(), Some(human), "{text}");
        }
        for text in ["inf", "-INF", "Infinity", "+infinity"] {
            assert!(!LongDouble::parse(text.as_bytes()).unwrap().is_finite(), "{text}");
        }
        for text in ["", " 1", "1 ", "nan", "-nan", "nan(1)", "1e", "1e+", "0x", "0x.", "0x1p", ".", "1.2.3", "infin", "--1", "+-1", "1\x000", "١"] {
            assert!(LongDouble::parse(text.as_bytes()).is_none(), "{text:?}");
        }
        assert_eq!(LongDouble::parse(format!("{}1", "0".repeat(5118)).as_bytes()).map(LongDouble::to_human).as_deref(), Some("1"));
        assert!(LongDouble::parse(format!("{}1", "0".repeat(5119)).as_bytes()).is_none(), "MAX_LONG_DOUBLE_CHARS");
    }
}
