//! `bit`, LuaBitOp's library: 32-bit operations on Lua numbers. Every argument is normalised as
//! LuaBitOp does it: the number plus 2^52 + 2^51 (which rounds it half to even), whose double
//! holds the 32-bit two's complement value in its low bits; results are signed 32-bit numbers.

use super::arguments::Arguments;
use super::{Outcome, Raise, Returned, add};
use mlua::{Lua, MultiValue, Table};

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let bit = lua.create_table()?;
    add(lua, &bit, "tobit", |lua, args| unary(lua, args, |b| b))?;
    add(lua, &bit, "bnot", |lua, args| unary(lua, args, |b| !b))?;
    add(lua, &bit, "bswap", |lua, args| unary(lua, args, u32::swap_bytes))?;
    add(lua, &bit, "band", |lua, args| fold(lua, args, |a, b| a & b))?;
    add(lua, &bit, "bor", |lua, args| fold(lua, args, |a, b| a | b))?;
    add(lua, &bit, "bxor", |lua, args| fold(lua, args, |a, b| a ^ b))?;
    add(lua, &bit, "lshift", |lua, args| shift(lua, args, |b, n| b << n))?;
    add(lua, &bit, "rshift", |lua, args| shift(lua, args, |b, n| b >> n))?;
    add(lua, &bit, "arshift", |lua, args| shift(lua, args, |b, n| ((b as i32) >> n) as u32))?;
    add(lua, &bit, "rol", |lua, args| shift(lua, args, u32::rotate_left))?;
    add(lua, &bit, "ror", |lua, args| shift(lua, args, u32::rotate_right))?;
    add(lua, &bit, "tohex", tohex)?;
    Ok(bit)
}

/// An argument as 32 bits: a number, or a string holding one.
fn bits(args: &Arguments, position: usize) -> Result<u32, Raise> {
    args.number(position).map(normalise)
}

/// LuaBitOp's normalisation: the low 32 bits of `number + 2^52 + 2^51`.
fn normalise(number: f64) -> u32 {
    (number + 6_755_399_441_055_744.0).to_bits() as u32
}

/// A result: the 32 bits as a signed number.
fn result(lua: &Lua, bits: u32) -> Outcome {
    Returned::one(lua, f64::from(bits as i32))
}

fn unary(lua: &Lua, args: MultiValue, operation: impl Fn(u32) -> u32) -> Outcome {
    let args = Arguments::new(lua, args);
    result(lua, operation(bits(&args, 1)?))
}

/// `band`, `bor`, `bxor`: the first argument with each other one, read from the last to the
/// second as LuaBitOp reads them (which decides which bad argument is reported).
fn fold(lua: &Lua, args: MultiValue, operation: impl Fn(u32, u32) -> u32) -> Outcome {
    let args = Arguments::new(lua, args);
    let mut accumulated = bits(&args, 1)?;
    for position in (2..=args.count()).rev() {
        accumulated = operation(accumulated, bits(&args, position)?);
    }
    result(lua, accumulated)
}

/// Shifts and rotations: the count is taken modulo 32.
fn shift(lua: &Lua, args: MultiValue, operation: impl Fn(u32, u32) -> u32) -> Outcome {
    let args = Arguments::new(lua, args);
    let value = bits(&args, 1)?;
    let count = bits(&args, 2)? & 31;
    result(lua, operation(value, count))
}

/// `tohex(x [, n])`: the low `n` hex digits of `x` (8 by default), upper case when `n` is
/// negative, at most 8.
fn tohex(lua: &Lua, args: MultiValue) -> Outcome {
    let args = Arguments::new(lua, args);
    let mut value = bits(&args, 1)?;
    let wanted = if args.get(2).is_none() { 8 } else { bits(&args, 2)? as i32 };
    let (digits, count): (&[u8; 16], i32) = if wanted < 0 { (b"0123456789ABCDEF", wanted.wrapping_neg()) } else { (b"0123456789abcdef", wanted) };
    // -(-2^31) stays negative in C's arithmetic: LuaBitOp then writes 8 digits.
    let count = if !(0..=8).contains(&count) { 8 } else { count as usize };
    let mut text = [0u8; 8];
    for slot in text[..count].iter_mut().rev() {
        *slot = digits[(value & 15) as usize];
        value >>= 4;
    }
    Returned::one(lua, lua.create_string(&text[..count])?)
}

#[cfg(test)]
mod tests {
    use super::normalise;
    use crate::engine::test_harness::Harness;
    use crate::scripting::libraries::test_support::{eval, script_error};

    #[test]
    fn numbers_normalise_to_32_bits_as_luabitop_does() {
        assert_eq!(normalise(1.5) as i32, 2, "halves round to even");
        assert_eq!(normalise(2.5) as i32, 2);
        assert_eq!(normalise(-2.5) as i32, -2);
        assert_eq!(normalise(4_294_967_301.0), 5);
        assert_eq!(normalise(2_147_483_648.0) as i32, i32::MIN);
        assert_eq!(normalise(f64::INFINITY), 0);
    }

    #[test]
    fn operations_give_signed_32_bit_results() {
        let mut c = Harness::new();
        assert_eq!(eval(&mut c, "return {bit.tobit(2^32 + 5), bit.bnot(0), bit.band(7, 3, 1), bit.bor(1, 2, 4), bit.bxor(5, 1)}"), "*5\r\n:5\r\n:-1\r\n:1\r\n:7\r\n:4\r\n");
        assert_eq!(eval(&mut c, "return {bit.lshift(1, 31), bit.lshift(1, 32), bit.rshift(-1, 28), bit.arshift(-256, 4)}"), "*4\r\n:-2147483648\r\n:1\r\n:15\r\n:-16\r\n");
        assert_eq!(eval(&mut c, "return {bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678)}"), "*3\r\n:878082066\r\n:2014458966\r\n:2018915346\r\n");
        assert_eq!(eval(&mut c, "return {bit.tohex(255), bit.tohex(-1), bit.tohex(255, -4), bit.tohex(1, 0), bit.tohex(255, 2^31)}"), "*5\r\n$8\r\n000000ff\r\n$8\r\nffffffff\r\n$4\r\n00FF\r\n$0\r\n\r\n$8\r\n000000FF\r\n");
        assert_eq!(eval(&mut c, "return bit.band('3', '5')"), ":1\r\n", "strings holding numbers are numbers");
    }

    #[test]
    fn bad_arguments_are_reported_as_luabitop_reports_them() {
        let mut c = Harness::new();
        let script = "return bit.band()";
        assert_eq!(eval(&mut c, script), script_error(script, "user_script:1: bad argument #1 to 'band' (number expected, got no value)"));
        let script = "return bit.bor(1, 'x', {})";
        assert_eq!(eval(&mut c, script), script_error(script, "user_script:1: bad argument #3 to 'bor' (number expected, got table)"));
        assert_eq!(eval(&mut c, "local ok, e = pcall(bit.tohex, 'a') return e"), "$52\r\nbad argument #1 to '?' (number expected, got string)\r\n");
    }
}
