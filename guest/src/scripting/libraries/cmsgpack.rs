//! `cmsgpack`: MessagePack for scripts, as Redis's lua-cmsgpack 0.4.0 writes and reads it.
//!
//! Packing: whole numbers in the smallest integer form, other numbers as float32 when that is
//! exact and float64 otherwise; strings as str 8/16/32; a table whose keys are exactly 1..n as an
//! array (so `{}` is an empty array), any other as a map in Lua's `next` order; tables nested
//! 16 deep, and anything that is not a string, number, boolean or table, as nil.
//!
//! Unpacking reads the formats that library reads (not bin and ext), with its errors, and counts
//! Lua stack slots as its C code uses them, to fail where it fails. Nesting is followed with a
//! stack of open tables rather than recursion.

use super::arguments::{Arguments, as_number, c_int, c_long};
use super::{LUA_STACK_LIMIT, NESTING_LIMIT, Outcome, Raise, Returned, add, check_output_size};
use mlua::{Lua, MultiValue, Table, Value};

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let cmsgpack = lua.create_table()?;
    add(lua, &cmsgpack, "pack", pack)?;
    add(lua, &cmsgpack, "unpack", |lua, args| {
        let args = Arguments::new(lua, args);
        unpack(lua, &args, args.count(), 0, 0)
    })?;
    add(lua, &cmsgpack, "unpack_one", |lua, args| {
        let args = Arguments::new(lua, args);
        let offset = args.optional_integer(2, 0)? as i32;
        unpack(lua, &args, 1, 1, offset)
    })?;
    add(lua, &cmsgpack, "unpack_limit", |lua, args| {
        let args = Arguments::new(lua, args);
        let limit = args.integer(2)? as i32;
        let offset = args.optional_integer(3, 0)? as i32;
        unpack(lua, &args, 1, limit, offset)
    })?;
    cmsgpack.raw_set("_NAME", "cmsgpack")?;
    cmsgpack.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    cmsgpack.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    cmsgpack.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(cmsgpack)
}

/// Tables nested deeper than this are packed as nil (which also ends a table holding itself).
const MAX_PACK_NESTING: usize = 16;

/// `cmsgpack.pack(...)`: each argument packed, one after the other.
fn pack(lua: &Lua, args: MultiValue) -> Outcome {
    if args.is_empty() {
        return Err(Raise::argument(0, "MessagePack pack needs input."));
    }
    let mut packed = Vec::new();
    for value in &args {
        pack_value(&mut packed, value, 0)?;
    }
    Returned::one(lua, lua.create_string(packed)?)
}

fn pack_value(packed: &mut Vec<u8>, value: &Value, level: usize) -> Result<(), Raise> {
    check_output_size(packed)?;
    match value {
        Value::String(text) => pack_string(packed, &text.as_bytes()),
        Value::Boolean(true) => packed.push(0xc3),
        Value::Boolean(false) => packed.push(0xc2),
        Value::Integer(_) | Value::Number(_) => pack_number(packed, as_number(value).unwrap_or_default()),
        Value::Table(table) if level < MAX_PACK_NESTING => pack_table(packed, table, level)?,
        _ => packed.push(0xc0),
    }
    Ok(())
}

fn pack_string(packed: &mut Vec<u8>, text: &[u8]) {
    let length = text.len();
    if length < 32 {
        packed.push(0xa0 | length as u8);
    } else if length <= 0xff {
        packed.extend_from_slice(&[0xd9, length as u8]);
    } else if length <= 0xffff {
        packed.push(0xda);
        packed.extend_from_slice(&(length as u16).to_be_bytes());
    } else {
        packed.push(0xdb);
        packed.extend_from_slice(&(length as u32).to_be_bytes());
    }
    packed.extend_from_slice(text);
}

/// A number: an integer when it is one that fits 64 bits, else a float.
fn pack_number(packed: &mut Vec<u8>, number: f64) {
    if number.is_finite() && c_long(number) as f64 == number {
        pack_integer(packed, c_long(number));
    } else if f64::from(number as f32) == number {
        packed.push(0xca);
        packed.extend_from_slice(&(number as f32).to_be_bytes());
    } else {
        packed.push(0xcb);
        packed.extend_from_slice(&number.to_be_bytes());
    }
}

fn pack_integer(packed: &mut Vec<u8>, n: i64) {
    match n {
        0..=127 => packed.push(n as u8),
        128..=0xff => packed.extend_from_slice(&[0xcc, n as u8]),
        0x100..=0xffff => {
            packed.push(0xcd);
            packed.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            packed.push(0xce);
            packed.extend_from_slice(&(n as u32).to_be_bytes());
        }
        0x1_0000_0000.. => {
            packed.push(0xcf);
            packed.extend_from_slice(&(n as u64).to_be_bytes());
        }
        -32..=-1 => packed.push(n as u8),
        -128..=-33 => packed.extend_from_slice(&[0xd0, n as u8]),
        -32768..=-129 => {
            packed.push(0xd1);
            packed.extend_from_slice(&(n as i16).to_be_bytes());
        }
        -2_147_483_648..=-32769 => {
            packed.push(0xd2);
            packed.extend_from_slice(&(n as i32).to_be_bytes());
        }
        _ => {
            packed.push(0xd3);
            packed.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn pack_table(packed: &mut Vec<u8>, table: &Table, level: usize) -> Result<(), Raise> {
    if is_array(table)? {
        let length = table.raw_len();
        pack_header(packed, length, [0x90, 0xdc, 0xdd]);
        for index in 1..=length {
            let element: Value = table.raw_get(index)?;
            pack_value(packed, &element, level + 1)?;
        }
    } else {
        let mut count = 0;
        table.for_each(|_: Value, _: Value| {
            count += 1;
            Ok(())
        })?;
        pack_header(packed, count, [0x80, 0xde, 0xdf]);
        for pair in table.pairs::<Value, Value>() {
            let (key, value) = pair?;
            pack_value(packed, &key, level + 1)?;
            pack_value(packed, &value, level + 1)?;
        }
    }
    Ok(())
}

/// An array or map header: the fix form up to 15 elements, then 16 and 32 bits.
fn pack_header(packed: &mut Vec<u8>, count: usize, [fix, sixteen, thirty_two]: [u8; 3]) {
    if count <= 15 {
        packed.push(fix | count as u8);
    } else if count <= 0xffff {
        packed.push(sixteen);
        packed.extend_from_slice(&(count as u16).to_be_bytes());
    } else {
        packed.push(thirty_two);
        packed.extend_from_slice(&(count as u32).to_be_bytes());
    }
}

/// Whether the table's keys are exactly the whole numbers 1 to n (true for an empty table).
fn is_array(table: &Table) -> Result<bool, Raise> {
    let (mut count, mut largest) = (0i64, 0i32);
    for pair in table.pairs::<Value, Value>() {
        let (key, _) = pair?;
        match as_number(&key) {
            Some(index) if index > 0.0 && f64::from(c_int(index)) == index => largest = largest.max(c_int(index)),
            _ => return Ok(false),
        }
        count += 1;
    }
    Ok(i64::from(largest) == count)
}

const TOO_MANY: &str = "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)";
const IN_ARRAY: &str = "stack overflow (in function mp_decode_to_lua_array)";

/// `unpack`, `unpack_one` and `unpack_limit`: up to `limit` values from `offset` (both 0: all of
/// them, and no offset returned), with `base` slots already on the stack.
fn unpack(lua: &Lua, args: &Arguments, base: usize, limit: i32, offset: i32) -> Outcome {
    let text = args.string(1)?;
    let data = text.as_bytes();
    let length = data.len();
    if offset < 0 || limit < 0 {
        return Err(Raise::located(format!("Invalid request to unpack with offset of {offset} and limit of {}.", length as i32)));
    }
    if offset as usize > length {
        return Err(Raise::located(format!("Start offset {offset} greater than input length {}.", length as i32)));
    }
    let all = limit == 0 && offset == 0;
    let limit = if all { i32::MAX } else { limit };
    let mut decoder = Decoder { lua, data: &data, at: offset as usize, used: base, open: Vec::new() };
    // The values (nil among them) by position; the offset, when returned, comes first.
    let results = lua.create_table()?;
    let first = usize::from(!all);
    let mut count: usize = 0;
    while decoder.at < length && count < limit as usize {
        let value = decoder.value().map_err(Failure::raise)?;
        results.raw_set(first + count + 1, value)?;
        count += 1;
    }
    if !all {
        if decoder.used + 1 > LUA_STACK_LIMIT {
            return Err(Raise::located("stack overflow (in function mp_unpack_full)"));
        }
        let next = if decoder.at == length { -1 } else { decoder.at as i64 };
        results.raw_set(1, next)?;
    }
    Ok(Returned::Spread(results, first + count))
}

/// Why unpacking stopped.
enum Failure {
    MissingBytes,
    BadFormat,
    Raised(Raise),
}

impl Failure {
    fn raise(self) -> Raise {
        match self {
            Failure::MissingBytes => Raise::located("Missing bytes in input."),
            Failure::BadFormat => Raise::located("Bad data format in input."),
            Failure::Raised(raise) => raise,
        }
    }
}

impl From<mlua::Error> for Failure {
    fn from(error: mlua::Error) -> Failure {
        Failure::Raised(error.into())
    }
}

/// A table being filled: how many elements (or pairs) are left, and the array's next index or
/// the map's key waiting for its value.
enum Open {
    Array { table: Table, left: u32, next: u32 },
    Map { table: Table, left: u32, key: Option<Value> },
}

struct Decoder<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    at: usize,
    /// The Lua stack slots lua-cmsgpack would be using now.
    used: usize,
    open: Vec<Open>,
}

/// What an item's first bytes announced.
enum Item {
    Value(Value),
    Array(u32),
    Map(u32),
}

impl Decoder<'_> {
    /// One top-level value, with everything nested in it.
    fn value(&mut self) -> Result<Value, Failure> {
        loop {
            let mut value = match self.item()? {
                Item::Value(value) => value,
                Item::Array(length) => {
                    if self.used + 1 > LUA_STACK_LIMIT || self.open.len() >= NESTING_LIMIT as usize {
                        return Err(Failure::Raised(Raise::located(IN_ARRAY)));
                    }
                    let table = self.lua.create_table()?;
                    if length == 0 {
                        Value::Table(table)
                    } else {
                        self.used += 1;
                        self.open.push(Open::Array { table, left: length, next: 1 });
                        continue;
                    }
                }
                Item::Map(length) => {
                    if self.open.len() >= NESTING_LIMIT as usize {
                        return Err(Failure::Raised(Raise::located(TOO_MANY)));
                    }
                    let table = self.lua.create_table()?;
                    if length == 0 {
                        Value::Table(table)
                    } else {
                        self.open.push(Open::Map { table, left: length, key: None });
                        continue;
                    }
                }
            };
            // A complete value (one slot) goes into its table, which may complete too.
            loop {
                let Some(open) = self.open.last_mut() else { return Ok(value) };
                match open {
                    Open::Array { table, left, next } => {
                        table.raw_set(*next, value)?;
                        self.used -= 2;
                        *next += 1;
                        *left -= 1;
                        if *left > 0 {
                            self.used += 1;
                            break;
                        }
                    }
                    Open::Map { key: key @ None, .. } => {
                        *key = Some(value);
                        break;
                    }
                    Open::Map { table, left, key } => {
                        let key = key.take().unwrap_or(Value::Nil);
                        set_field(table, key, value)?;
                        self.used -= 2;
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                    }
                }
                value = match self.open.pop() {
                    Some(Open::Array { table, .. } | Open::Map { table, .. }) => Value::Table(table),
                    None => Value::Nil,
                };
            }
        }
    }

    /// `bytes` more bytes from the cursor, consumed.
    fn take(&mut self, bytes: usize) -> Result<&[u8], Failure> {
        let end = self.at.checked_add(bytes).filter(|&end| end <= self.data.len()).ok_or(Failure::MissingBytes)?;
        let taken = &self.data[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn big_endian(&mut self, bytes: usize) -> Result<u64, Failure> {
        Ok(self.take(bytes)?.iter().fold(0u64, |value, &b| (value << 8) | u64::from(b)))
    }

    fn string(&mut self, length: usize) -> Result<Item, Failure> {
        let lua = self.lua;
        let text = self.take(length)?;
        Ok(Item::Value(Value::String(lua.create_string(text)?)))
    }

    /// The next item: a value, or the header of an array or map.
    fn item(&mut self) -> Result<Item, Failure> {
        let first = *self.data.get(self.at).ok_or(Failure::MissingBytes)?;
        if self.used + 1 > LUA_STACK_LIMIT {
            return Err(Failure::Raised(Raise::located(TOO_MANY)));
        }
        // Headers are read in full before their contents are looked for.
        let needed = match first {
            0xcc | 0xd0 => 2,
            0xcd | 0xd1 | 0xd9 | 0xda | 0xdc | 0xde => 3,
            0xca | 0xce | 0xd2 => 5,
            0xdb | 0xdd | 0xdf => 5,
            0xcb | 0xcf | 0xd3 => 9,
            _ => 1,
        };
        if self.data.len() - self.at < needed {
            return Err(Failure::MissingBytes);
        }
        self.at += 1;
        let number = |n: f64| Ok(Item::Value(Value::Number(n)));
        self.used += 1;
        match first {
            0x00..=0x7f => number(f64::from(first)),
            0xe0..=0xff => number(f64::from(first as i8)),
            0xa0..=0xbf => self.string(usize::from(first & 0x1f)),
            0x90..=0x9f => Ok(Item::Array(u32::from(first & 0x0f))),
            0x80..=0x8f => Ok(Item::Map(u32::from(first & 0x0f))),
            0xc0 => Ok(Item::Value(Value::Nil)),
            0xc2 => Ok(Item::Value(Value::Boolean(false))),
            0xc3 => Ok(Item::Value(Value::Boolean(true))),
            0xcc => number(self.big_endian(1)? as f64),
            0xcd => number(self.big_endian(2)? as f64),
            0xce => number(self.big_endian(4)? as f64),
            // uint 64 goes through a signed 64-bit integer on its way to a double.
            0xcf => number(self.big_endian(8)? as i64 as f64),
            0xd0 => number(f64::from(self.big_endian(1)? as i8)),
            0xd1 => number(f64::from(self.big_endian(2)? as i16)),
            0xd2 => number(f64::from(self.big_endian(4)? as i32)),
            0xd3 => number(self.big_endian(8)? as i64 as f64),
            0xca => number(f64::from(f32::from_bits(self.big_endian(4)? as u32))),
            0xcb => number(f64::from_bits(self.big_endian(8)?)),
            0xd9 => {
                let length = self.big_endian(1)? as usize;
                self.string(length)
            }
            0xda => {
                let length = self.big_endian(2)? as usize;
                self.string(length)
            }
            0xdb => {
                let length = self.big_endian(4)? as usize;
                self.string(length)
            }
            0xdc => Ok(Item::Array(self.big_endian(2)? as u32)),
            0xdd => Ok(Item::Array(self.big_endian(4)? as u32)),
            0xde => Ok(Item::Map(self.big_endian(2)? as u32)),
            0xdf => Ok(Item::Map(self.big_endian(4)? as u32)),
            _ => Err(Failure::BadFormat),
        }
    }
}

/// `t[key] = value` as `lua_settable` does it: a nil or NaN key is Lua's own error.
fn set_field(table: &Table, key: Value, value: Value) -> Result<(), Failure> {
    match &key {
        Value::Nil => Err(Failure::Raised(Raise::Bare(b"table index is nil".to_vec()))),
        Value::Number(n) if n.is_nan() => Err(Failure::Raised(Raise::Bare(b"table index is NaN".to_vec()))),
        _ => Ok(table.raw_set(key, value)?),
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::{Harness, bulk};
    use crate::scripting::libraries::test_support::{eval, script_error};

    /// The packed bytes of `values` (a Lua argument list), in hex.
    fn packed(c: &mut Harness, values: &str) -> String {
        let reply = eval(c, &format!("local p = cmsgpack.pack({values}) return (p:gsub('.', function(b) return string.format('%02x', b:byte()) end))"));
        reply.lines().nth(1).unwrap_or_default().to_string()
    }

    #[test]
    fn packs_in_the_smallest_forms() {
        let mut c = Harness::new();
        assert_eq!(packed(&mut c, "1, -1, 200, -200, 70000"), "01ffccc8d1ff38ce00011170");
        assert_eq!(packed(&mut c, "1.5, 0.1"), "ca3fc00000cb3fb999999999999a", "float32 when exact");
        assert_eq!(packed(&mut c, "'abc', {1, 2}, {a = 1}, true, false, nil, {}"), "a361626392010281a16101c3c2c090");
        assert_eq!(packed(&mut c, "2^63, -2^63"), "ca5f000000d38000000000000000");
        assert_eq!(packed(&mut c, "{[1] = 1, [3] = 3}"), "8201010303", "holes make a map");
        let selfish = "(function() local t = {} t[1] = t return t end)()";
        assert_eq!(packed(&mut c, selfish), "91".repeat(16) + "c0", "sixteen levels, then nil");
    }

    #[test]
    fn unpacks_values_streams_and_errors() {
        let mut c = Harness::new();
        assert_eq!(eval(&mut c, "return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1, {2}}))}"), "*3\r\n:1\r\n$1\r\na\r\n*2\r\n:1\r\n*1\r\n:2\r\n");
        assert_eq!(eval(&mut c, "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}"), "*2\r\n:2\r\n:2\r\n", "the next offset, then the value");
        assert_eq!(eval(&mut c, "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 5, 1)}"), "*3\r\n:-1\r\n:2\r\n:3\r\n");
        assert_eq!(eval(&mut c, "return cmsgpack.unpack(string.char(0xcf, 255, 255, 255, 255, 255, 255, 255, 255))"), ":-1\r\n");
        assert_eq!(eval(&mut c, "local u = cmsgpack.unpack(cmsgpack.pack({a = {b = {1, 'x'}}})) return u.a.b[2]"), bulk("x"));
        let script = "return cmsgpack.unpack(string.char(0x92, 1))";
        assert_eq!(eval(&mut c, script), script_error(script, "user_script:1: Missing bytes in input."));
        let script = "return cmsgpack.unpack(string.char(0xc4, 1, 65))";
        assert_eq!(eval(&mut c, script), script_error(script, "user_script:1: Bad data format in input."));
        let script = "return cmsgpack.unpack(string.char(0x81, 0xc0, 1))";
        assert_eq!(eval(&mut c, script), script_error(script, "table index is nil"));
        let script = "return cmsgpack.pack()";
        assert_eq!(eval(&mut c, script), script_error(script, "user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.)"));
        assert_eq!(eval(&mut c, "return #{cmsgpack.unpack(string.rep('a', 7999))}"), ":7999\r\n");
        let script = "local s = string.rep('x', 10000000) local t = {} for i = 1, 30 do t[i] = s end return cmsgpack.pack(t)";
        assert_eq!(eval(&mut c, script), script_error(script, "not enough memory"), "no encoding past the interpreter's memory cap");
        let script = "return #{cmsgpack.unpack(string.rep('a', 8000))}";
        assert_eq!(eval(&mut c, script), script_error(script, &format!("user_script:1: {}", super::TOO_MANY)));
    }
}
