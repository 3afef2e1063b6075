//! `struct`: binary packing by a format string (Roberto Ierusalimschy's library, as Redis builds
//! it on x86-64 Linux: `long` and `size_t` are 8 bytes, `int` 4, little-endian by default, no
//! alignment unless `!` asks for it, at most 8).
//!
//! Format options: `>` `<` endianness, `!n` alignment, ` ` nothing, `x` a zero byte, `b B h H l L
//! T i I in In` integers (lower case signed), `f d` floats, `cn` n bytes (`c0`: the whole string
//! when packing, a length read just before when unpacking), `s` a zero-terminated string.

use super::arguments::{Arguments, c_long};
use super::{LUA_STACK_LIMIT, Outcome, Raise, Returned, add};
use mlua::{Lua, MultiValue, Table, Value};

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let library = lua.create_table()?;
    add(lua, &library, "pack", pack)?;
    add(lua, &library, "unpack", unpack)?;
    add(lua, &library, "size", size)?;
    Ok(library)
}

/// Integers may be up to this many bytes wide.
const MAX_INTEGER_SIZE: usize = 32;
/// The largest alignment `!` gives without a number: a double's.
const MAX_ALIGNMENT: usize = 8;

/// A format being read, with the options it set so far.
struct Format<'a> {
    bytes: &'a [u8],
    position: usize,
    little_endian: bool,
    alignment: usize,
}

impl<'a> Format<'a> {
    /// The format up to its first zero byte, as C reads it.
    fn new(bytes: &'a [u8]) -> Self {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Format { bytes: &bytes[..end], position: 0, little_endian: true, alignment: 1 }
    }

    fn next_option(&mut self) -> Option<u8> {
        let option = *self.bytes.get(self.position)?;
        self.position += 1;
        Some(option)
    }

    /// The number written after an option, or `default` when there is none.
    fn number(&mut self, default: usize) -> Result<usize, Raise> {
        let mut number: usize = 0;
        let mut any = false;
        while let Some(&digit) = self.bytes.get(self.position).filter(|b| b.is_ascii_digit()) {
            let digit = usize::from(digit - b'0');
            if number > i32::MAX as usize / 10 || number * 10 > i32::MAX as usize - digit {
                return Err(Raise::located("integral size overflow"));
            }
            number = number * 10 + digit;
            self.position += 1;
            any = true;
        }
        Ok(if any { number } else { default })
    }

    /// The size of what `option` packs (0 for the options that set options).
    fn size(&mut self, option: u8) -> Result<usize, Raise> {
        Ok(match option {
            b'b' | b'B' | b'x' => 1,
            b'h' | b'H' => 2,
            b'f' => 4,
            b'l' | b'L' | b'T' | b'd' => 8,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let size = self.number(4)?;
                if size > MAX_INTEGER_SIZE {
                    return Err(Raise::located(format!("integral size {size} is larger than limit of {MAX_INTEGER_SIZE}")));
                }
                size
            }
            _ => 0,
        })
    }

    /// The padding that aligns an item of `size` bytes at `offset` (64-bit, as C's `size_t`).
    fn padding(&self, offset: u64, option: u8, size: usize) -> u64 {
        if size == 0 || option == b'c' {
            return 0;
        }
        let size = size.min(self.alignment) as u64;
        size.wrapping_sub(offset & size.wrapping_sub(1)) & size.wrapping_sub(1)
    }

    /// Options that set endianness and alignment; anything else is not an option.
    fn control(&mut self, option: u8) -> Result<(), Raise> {
        match option {
            b' ' => {}
            b'>' => self.little_endian = false,
            b'<' => self.little_endian = true,
            b'!' => {
                let alignment = self.number(MAX_ALIGNMENT)?;
                if !alignment.is_power_of_two() {
                    return Err(Raise::located(format!("alignment {alignment} is not a power of 2")));
                }
                self.alignment = alignment;
            }
            _ => {
                let mut message = b"invalid format option '".to_vec();
                message.extend_from_slice(&[option, b'\'']);
                return Err(Raise::Argument(1, message));
            }
        }
        Ok(())
    }
}

fn is_integer(option: u8) -> bool {
    matches!(option, b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I')
}

/// `struct.pack(format, ...)`.
fn pack(lua: &Lua, args: MultiValue) -> Outcome {
    let args = Arguments::new(lua, args);
    let format_text = args.string(1)?;
    let format_bytes = format_text.as_bytes();
    let mut format = Format::new(&format_bytes);
    let mut packed = Vec::new();
    let mut position = 2;
    while let Some(option) = format.next_option() {
        let mut size = format.size(option)?;
        let padding = format.padding(packed.len() as u64, option, size) as usize;
        packed.resize(packed.len() + padding, 0);
        match option {
            _ if is_integer(option) => {
                let number = pack_number(&args, position)?;
                position += 1;
                put_integer(&mut packed, number, format.little_endian, size);
            }
            b'x' => packed.push(0),
            b'f' => {
                let number = pack_number(&args, position)? as f32;
                position += 1;
                put_bytes(&mut packed, &number.to_le_bytes(), format.little_endian);
            }
            b'd' => {
                let number = pack_number(&args, position)?;
                position += 1;
                put_bytes(&mut packed, &number.to_le_bytes(), format.little_endian);
            }
            b'c' | b's' => {
                let text = pack_string(&args, position)?;
                position += 1;
                let text = text.as_bytes();
                if size == 0 {
                    size = text.len();
                }
                if text.len() < size {
                    return Err(Raise::argument(position, "string too short"));
                }
                packed.extend_from_slice(&text[..size]);
                if option == b's' {
                    packed.push(0);
                }
            }
            _ => format.control(option)?,
        }
    }
    Returned::one(lua, lua.create_string(packed)?)
}

/// The library puts a nil on the stack after the arguments: the first missing one is `nil`.
fn missing_or(args: &Arguments, position: usize, expected: &str, error: Raise) -> Raise {
    if position == args.count() + 1 { Raise::argument(position, format!("{expected} expected, got nil")) } else { error }
}

fn pack_number(args: &Arguments, position: usize) -> Result<f64, Raise> {
    args.number(position).map_err(|error| missing_or(args, position, "number", error))
}

fn pack_string(args: &Arguments, position: usize) -> Result<mlua::LuaString, Raise> {
    args.string(position).map_err(|error| missing_or(args, position, "string", error))
}

/// An integer of `size` bytes: the number converted to 64 bits as C converts it, bytes past the
/// eighth zero.
fn put_integer(packed: &mut Vec<u8>, number: f64, little_endian: bool, size: usize) {
    let value = if number < 0.0 { c_long(number) as u64 } else { c_unsigned_long(number) };
    let bytes: Vec<u8> = (0..size).map(|i| if i < 8 { (value >> (8 * i)) as u8 } else { 0 }).collect();
    put_bytes(packed, &bytes, little_endian);
}

/// Little-endian `bytes` in the order asked for.
fn put_bytes(packed: &mut Vec<u8>, bytes: &[u8], little_endian: bool) {
    if little_endian {
        packed.extend_from_slice(bytes);
    } else {
        packed.extend(bytes.iter().rev());
    }
}

/// C's `(unsigned long)` cast of a double on x86-64: values from 2^63 on are converted from
/// their distance to 2^63, and what does not fit gives 2^63 or 0.
fn c_unsigned_long(number: f64) -> u64 {
    const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
    if number.is_nan() {
        1 << 63
    } else if number < TWO_TO_63 {
        c_long(number) as u64
    } else {
        c_long(number - TWO_TO_63) as u64 ^ (1 << 63)
    }
}

/// `struct.unpack(format, data [, position])`: the values and the position after them.
fn unpack(lua: &Lua, args: MultiValue) -> Outcome {
    let args = Arguments::new(lua, args);
    let format_text = args.string(1)?;
    let data_text = args.string(2)?;
    let data = data_text.as_bytes();
    // Positions are C's 64-bit size_t: an offset past the data fails as too short, not as < 1.
    let length = data.len() as u64;
    let start = args.optional_integer(3, 1)? as u64;
    if start == 0 {
        return Err(Raise::argument(3, "offset must be 1 or greater"));
    }
    let format_bytes = format_text.as_bytes();
    let mut format = Format::new(&format_bytes);
    let mut results = Results { table: lua.create_table()?, count: 0 };
    let mut position = start - 1;
    while let Some(option) = format.next_option() {
        let size = format.size(option)?;
        position = position.wrapping_add(format.padding(position, option, size));
        if size as u64 > length || position > length - size as u64 {
            return Err(too_short());
        }
        if args.count() + results.count + 2 > LUA_STACK_LIMIT {
            return Err(Raise::located("stack overflow (too many results)"));
        }
        let item = Item { option, data: &data[position as usize..], size, little_endian: format.little_endian };
        let taken = unpack_item(lua, &mut format, &item, &mut results)?;
        position = position.wrapping_add(taken as u64);
    }
    results.push(Value::Number(position.wrapping_add(1) as i64 as f64))?;
    Ok(Returned::Spread(results.table, results.count))
}

fn too_short() -> Raise {
    Raise::argument(2, "data string too short")
}

/// An item to unpack: its option, the data from where it starts (at least `size` bytes), its
/// size, and the byte order in force.
struct Item<'a> {
    option: u8,
    data: &'a [u8],
    size: usize,
    little_endian: bool,
}

/// The values unpacked so far, in a table rather than as Rust references into Lua.
struct Results {
    table: Table,
    count: usize,
}

impl Results {
    fn push(&mut self, value: Value) -> Result<(), Raise> {
        self.count += 1;
        Ok(self.table.raw_set(self.count, value)?)
    }
}

/// Unpacks one item into `results`; returns how many bytes it took.
fn unpack_item(lua: &Lua, format: &mut Format, item: &Item, results: &mut Results) -> Result<usize, Raise> {
    let (data, size) = (item.data, item.size);
    match item.option {
        option if is_integer(option) => {
            results.push(Value::Number(get_integer(&data[..size], item.little_endian, option.is_ascii_lowercase())))?;
        }
        b'x' => {}
        b'f' => results.push(Value::Number(f64::from(f32::from_be_bytes(big_endian(data, item.little_endian)))))?,
        b'd' => results.push(Value::Number(f64::from_be_bytes(big_endian(data, item.little_endian))))?,
        b'c' => {
            let size = if size == 0 { previous_size(lua, results, data.len())? } else { size };
            results.push(Value::String(lua.create_string(&data[..size])?))?;
            return Ok(size);
        }
        b's' => {
            let end = data.iter().position(|&b| b == 0).ok_or_else(|| Raise::located("unfinished string in data"))?;
            results.push(Value::String(lua.create_string(&data[..end])?))?;
            return Ok(end + 1);
        }
        option => format.control(option)?,
    }
    Ok(size)
}

/// The first `N` bytes of `data` in big-endian order.
fn big_endian<const N: usize>(data: &[u8], little_endian: bool) -> [u8; N] {
    let mut bytes = [0; N];
    bytes.copy_from_slice(&data[..N]);
    if little_endian {
        bytes.reverse();
    }
    bytes
}

/// An integer from its bytes, kept to 64 bits as C's shifts keep it; signed ones extended from
/// the sign bit of their size.
fn get_integer(bytes: &[u8], little_endian: bool, signed: bool) -> f64 {
    let add = |value: u64, &byte: &u8| (value << 8) | u64::from(byte);
    let value = if little_endian { bytes.iter().rev().fold(0, add) } else { bytes.iter().fold(0, add) };
    if !signed {
        return value as f64;
    }
    // x86's shift uses the count modulo 64, which is what C's code gives for sizes past 8.
    let mask = u64::MAX << ((bytes.len() * 8).wrapping_sub(1) & 63);
    let value = if value & mask != 0 { value | mask } else { value };
    value as i64 as f64
}

/// `c0`'s length: the value unpacked just before, which it replaces; it must fit in the
/// `available` bytes.
fn previous_size(lua: &Lua, results: &mut Results, available: usize) -> Result<usize, Raise> {
    let needs = || Raise::located("format 'c0' needs a previous size");
    if results.count == 0 {
        return Err(needs());
    }
    let previous: Value = results.table.raw_get(results.count)?;
    let number = lua.coerce_number(previous)?.ok_or_else(needs)?;
    results.table.raw_set(results.count, Value::Nil)?;
    results.count -= 1;
    let size = c_unsigned_long(number);
    if size > available as u64 {
        return Err(too_short());
    }
    Ok(size as usize)
}

/// `struct.size(format)`: the bytes `pack` gives for `format`.
fn size(lua: &Lua, args: MultiValue) -> Outcome {
    let args = Arguments::new(lua, args);
    let format_text = args.string(1)?;
    let format_bytes = format_text.as_bytes();
    let mut format = Format::new(&format_bytes);
    let mut total: u64 = 0;
    while let Some(option) = format.next_option() {
        let size = format.size(option)?;
        total = total.wrapping_add(format.padding(total, option, size));
        if option == b's' {
            return Err(Raise::argument(1, "option 's' has no fixed size"));
        }
        if option == b'c' && size == 0 {
            return Err(Raise::argument(1, "option 'c0' has no fixed size"));
        }
        if !option.is_ascii_alphanumeric() {
            format.control(option)?;
        }
        total = total.wrapping_add(size as u64);
    }
    Returned::one(lua, total as i64 as f64)
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::{Harness, bulk};
    use crate::scripting::libraries::test_support::{eval, script_error};

    #[test]
    fn packs_and_unpacks_by_format() {
        let mut c = Harness::new();
        assert_eq!(eval(&mut c, "return struct.pack('>!4bi', 1, 2)"), bulk("\x01\x00\x00\x00\x00\x00\x00\x02"));
        assert_eq!(eval(&mut c, "return struct.pack('s c0 >h', 'ab', 'cd', 258)"), bulk("ab\x00cd\x01\x02"));
        assert_eq!(eval(&mut c, "return {struct.unpack('>I2 s b', struct.pack('>I2 s b', 513, 'hello', -3))}"), "*4\r\n:513\r\n$5\r\nhello\r\n:-3\r\n:10\r\n");
        assert_eq!(eval(&mut c, "return {struct.unpack('bc0', string.char(2) .. 'abc')}"), "*2\r\n$2\r\nab\r\n:4\r\n");
        assert_eq!(eval(&mut c, "return {struct.unpack('>i9', string.rep(string.char(255), 9))}"), "*2\r\n:-1\r\n:10\r\n");
        assert_eq!(eval(&mut c, "return {struct.size('!bd'), struct.size('bd'), struct.size('<!bhid')}"), "*3\r\n:16\r\n:9\r\n:16\r\n");
    }

    #[test]
    fn errors_are_the_librarys() {
        let mut c = Harness::new();
        for (script, message) in [
            ("return struct.pack('z')", "bad argument #1 to 'pack' (invalid format option 'z')"),
            ("return struct.pack('c3', 'ab')", "bad argument #3 to 'pack' (string too short)"),
            ("return struct.pack('ii', 1)", "bad argument #3 to 'pack' (number expected, got nil)"),
            ("return struct.pack('!3i')", "alignment 3 is not a power of 2"),
            ("return struct.pack('i33')", "integral size 33 is larger than limit of 32"),
            ("return struct.pack('i99999999999')", "integral size overflow"),
            ("return {struct.unpack('c0', 'abc')}", "format 'c0' needs a previous size"),
            ("return {struct.unpack('s', 'abc')}", "unfinished string in data"),
            ("return {struct.unpack('b', 'abc', 0)}", "bad argument #3 to 'unpack' (offset must be 1 or greater)"),
            ("return {struct.unpack('b', 'abc', 4)}", "bad argument #2 to 'unpack' (data string too short)"),
            ("return struct.size('s')", "bad argument #1 to 'size' (option 's' has no fixed size)"),
        ] {
            assert_eq!(eval(&mut c, script), script_error(script, &format!("user_script:1: {message}")), "{script}");
        }
    }
}
