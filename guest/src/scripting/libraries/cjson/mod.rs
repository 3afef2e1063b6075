//! `cjson`: JSON for scripts, as Redis 7.0's build of lua-cjson 2.1.0 gives it — `encode`,
//! `decode`, `null`, the configuration functions and `new`. The configuration belongs to the
//! library table and lasts as long as the interpreter, as in Redis (a script that raises a limit
//! raises it for the scripts after it, until SCRIPT FLUSH).

mod decode;
mod encode;
mod numbers;

use super::arguments::Arguments;
use super::{NESTING_LIMIT, Raise, Returned, add};
use mlua::{Function, LightUserData, Lua, MultiValue, Table, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// What `encode_invalid_numbers` allows: refusing NaN and infinities, writing them (`nan`,
/// `inf`), or writing `null` for them.
#[derive(Clone, Copy, PartialEq)]
pub enum InvalidNumbers {
    Refuse = 0,
    Write = 1,
    Null = 2,
}

/// One library table's settings, with lua-cjson's defaults.
pub struct Config {
    pub sparse_convert: bool,
    pub sparse_ratio: i32,
    pub sparse_safe: i32,
    pub encode_max_depth: i32,
    pub decode_max_depth: i32,
    pub number_precision: i32,
    pub keep_buffer: bool,
    pub encode_invalid_numbers: InvalidNumbers,
    pub decode_invalid_numbers: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: NESTING_LIMIT,
            decode_max_depth: NESTING_LIMIT,
            number_precision: 14,
            keep_buffer: true,
            encode_invalid_numbers: InvalidNumbers::Refuse,
            decode_invalid_numbers: true,
        }
    }
}

type Shared = Rc<RefCell<Config>>;

/// A new `cjson` table with its own default settings (the global one, and what `cjson.new()`
/// returns).
pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let config: Shared = Rc::default();
    let cjson = lua.create_table()?;
    let shared = config.clone();
    add(lua, &cjson, "encode", move |lua, args| {
        let args = Arguments::new(lua, args);
        exactly_one(&args)?;
        // The scripts' `next`, which sees through the read-only views of the environment.
        let next: Function = lua.globals().get("next")?;
        let text = encode::encode(&shared.borrow(), &next, args.get(1).unwrap_or(&Value::Nil))?;
        Returned::one(lua, lua.create_string(text)?)
    })?;
    let shared = config.clone();
    add(lua, &cjson, "decode", move |lua, args| {
        let args = Arguments::new(lua, args);
        exactly_one(&args)?;
        let text = args.string(1)?;
        let value = decode::decode(lua, &shared.borrow(), &text.as_bytes())?;
        Returned::one(lua, value)
    })?;
    add_settings(lua, &cjson, &config)?;
    add(lua, &cjson, "new", |lua, _| Returned::one(lua, library(lua)?))?;
    cjson.raw_set("null", Value::LightUserData(LightUserData(std::ptr::null_mut())))?;
    cjson.raw_set("_NAME", "cjson")?;
    cjson.raw_set("_VERSION", "2.1.0")?;
    Ok(cjson)
}

fn exactly_one(args: &Arguments) -> Result<(), Raise> {
    if args.count() == 1 { Ok(()) } else { Err(Raise::argument(1, "expected 1 argument")) }
}

/// The configuration functions: each sets what it is given (nil leaves a setting) and returns
/// the settings it covers.
fn add_settings(lua: &Lua, cjson: &Table, config: &Shared) -> mlua::Result<()> {
    let shared = config.clone();
    add(lua, cjson, "encode_sparse_array", move |lua, args| {
        let args = settings_arguments(lua, args, 3)?;
        let mut config = shared.borrow_mut();
        let convert = switch(&args, 1, &mut config.sparse_convert)?;
        let ratio = integer(&args, 2, &mut config.sparse_ratio, 0, i32::MAX)?;
        let safe = integer(&args, 3, &mut config.sparse_safe, 0, i32::MAX)?;
        Returned::one(lua, (convert, ratio, safe))
    })?;
    let shared = config.clone();
    add(lua, cjson, "encode_max_depth", move |lua, args| {
        let args = settings_arguments(lua, args, 1)?;
        Returned::one(lua, integer(&args, 1, &mut shared.borrow_mut().encode_max_depth, 1, i32::MAX)?)
    })?;
    let shared = config.clone();
    add(lua, cjson, "decode_max_depth", move |lua, args| {
        let args = settings_arguments(lua, args, 1)?;
        Returned::one(lua, integer(&args, 1, &mut shared.borrow_mut().decode_max_depth, 1, i32::MAX)?)
    })?;
    let shared = config.clone();
    add(lua, cjson, "encode_number_precision", move |lua, args| {
        let args = settings_arguments(lua, args, 1)?;
        Returned::one(lua, integer(&args, 1, &mut shared.borrow_mut().number_precision, 1, 14)?)
    })?;
    let shared = config.clone();
    add(lua, cjson, "encode_keep_buffer", move |lua, args| {
        let args = settings_arguments(lua, args, 1)?;
        Returned::one(lua, switch(&args, 1, &mut shared.borrow_mut().keep_buffer)?)
    })?;
    let shared = config.clone();
    add(lua, cjson, "decode_invalid_numbers", move |lua, args| {
        let args = settings_arguments(lua, args, 1)?;
        Returned::one(lua, switch(&args, 1, &mut shared.borrow_mut().decode_invalid_numbers)?)
    })?;
    let shared = config.clone();
    add(lua, cjson, "encode_invalid_numbers", move |lua, args| {
        let args = settings_arguments(lua, args, 1)?;
        let mut config = shared.borrow_mut();
        let setting = &mut config.encode_invalid_numbers;
        if !args.is_none_or_nil(1) {
            *setting = match args.get(1) {
                Some(Value::Boolean(on)) => if *on { InvalidNumbers::Write } else { InvalidNumbers::Refuse },
                _ => [InvalidNumbers::Refuse, InvalidNumbers::Write, InvalidNumbers::Null][option(&args, 1, &["off", "on", "null"])?],
            };
        }
        match *setting {
            InvalidNumbers::Null => Returned::one(lua, "null"),
            other => Returned::one(lua, other == InvalidNumbers::Write),
        }
    })?;
    Ok(())
}

/// A configuration function's arguments: at most `most` of them.
fn settings_arguments(lua: &Lua, args: MultiValue, most: usize) -> Result<Arguments<'_>, Raise> {
    let args = Arguments::new(lua, args);
    if args.count() > most {
        return Err(Raise::argument(most + 1, "found too many arguments"));
    }
    Ok(args)
}

/// An on/off setting: a boolean, or `"on"`/`"off"`.
fn switch(args: &Arguments, position: usize, setting: &mut bool) -> Result<bool, Raise> {
    if !args.is_none_or_nil(position) {
        *setting = match args.get(position) {
            Some(Value::Boolean(on)) => *on,
            _ => option(args, position, &["off", "on"])? == 1,
        };
    }
    Ok(*setting)
}

/// `luaL_checkoption`: the index of the string argument among `names`.
fn option(args: &Arguments, position: usize, names: &[&str]) -> Result<usize, Raise> {
    let name = args.string(position)?;
    let name = name.as_bytes();
    names.iter().position(|candidate| candidate.as_bytes() == &name[..]).ok_or_else(|| {
        let mut message = b"invalid option '".to_vec();
        message.extend_from_slice(&name);
        message.push(b'\'');
        Raise::Argument(position as i32, message)
    })
}

/// An integer setting within `low..=high` (C's `int`, so larger numbers wrap). A range error
/// names argument 1 whichever argument it is, as lua-cjson does.
fn integer(args: &Arguments, position: usize, setting: &mut i32, low: i32, high: i32) -> Result<i32, Raise> {
    if !args.is_none_or_nil(position) {
        let value = args.integer(position)? as i32;
        if !(low..=high).contains(&value) {
            return Err(Raise::argument(1, format!("expected integer between {low} and {high}")));
        }
        *setting = value;
    }
    Ok(*setting)
}

/// The error the encoder raises for a value it cannot write.
pub fn cannot_serialise(type_name: &str, reason: &str) -> Raise {
    Raise::located(format!("Cannot serialise {type_name}: {reason}"))
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::{Harness, bulk};
    use crate::scripting::libraries::test_support::{eval, script_error};

    #[test]
    fn encodes_as_lua_cjson_does() {
        let mut c = Harness::new();
        assert_eq!(eval(&mut c, "return cjson.encode({1, 2, 3, {a = 1}})"), bulk("[1,2,3,{\"a\":1}]"));
        assert_eq!(eval(&mut c, "return cjson.encode({1/3, -0.0, 1e300, 100})"), bulk("[0.33333333333333,-0,1e+300,100]"));
        assert_eq!(eval(&mut c, "return cjson.encode('a/b\"' .. string.char(1, 10, 127))"), bulk("\"a\\/b\\\"\\u0001\\n\\u007f\""));
        assert_eq!(eval(&mut c, "return cjson.encode({})"), bulk("{}"), "an empty table is an object");
        assert_eq!(eval(&mut c, "return cjson.encode({[1] = 1, [3] = 3})"), bulk("[1,null,3]"));
        assert_eq!(eval(&mut c, "return cjson.encode({cjson.null, true})"), bulk("[null,true]"));
        let script = "return cjson.encode({[1] = 1, [30] = 3})";
        assert_eq!(eval(&mut c, script), script_error(script, "user_script:1: Cannot serialise table: excessively sparse array"));
        let script = "local t = {} t[1] = t return cjson.encode(t)";
        assert_eq!(eval(&mut c, script), script_error(script, "user_script:1: Cannot serialise, excessive nesting (1001)"));
        let script = "return cjson.encode()";
        assert_eq!(eval(&mut c, script), script_error(script, "user_script:1: bad argument #1 to 'encode' (expected 1 argument)"));
        assert_eq!(eval(&mut c, "local ok, e = pcall(cjson.encode, function() end) return e"), bulk("Cannot serialise function: type not supported"));
        let script = "local s = string.rep(string.char(1), 5000000) local t = {} for i = 1, 9 do t[i] = s end return cjson.encode(t)";
        assert_eq!(eval(&mut c, script), script_error(script, "not enough memory"), "no encoding past the interpreter's memory cap");
    }

    #[test]
    fn decodes_as_lua_cjson_does() {
        let mut c = Harness::new();
        assert_eq!(eval(&mut c, "return cjson.decode('{\"a\":{\"b\":[1,\"two\",true]}}').a.b"), "*3\r\n:1\r\n$3\r\ntwo\r\n:1\r\n");
        assert_eq!(eval(&mut c, "return cjson.decode('null') == cjson.null"), ":1\r\n");
        assert_eq!(eval(&mut c, "return cjson.decode('\"\\\\u00e9\\\\ud83d\\\\ude00\"')"), bulk("é😀"));
        assert_eq!(eval(&mut c, "return tostring(cjson.decode(' -1.5e-3 '))"), bulk("-0.0015"));
        assert_eq!(eval(&mut c, "local ok, e = pcall(cjson.decode, 'x') return e"), bulk("Expected value but found invalid token at character 1"));
        assert_eq!(eval(&mut c, "local ok, e = pcall(cjson.decode, '[1,2') return e"), bulk("Expected comma or array end but found T_END at character 5"));
        assert_eq!(eval(&mut c, "local ok, e = pcall(cjson.decode, '{\"a\" 1}') return e"), bulk("Expected colon but found T_NUMBER at character 6"));
        assert_eq!(eval(&mut c, "local ok, e = pcall(cjson.decode, '\"\\\\ud800\"') return e"), bulk("Expected value but found invalid unicode escape code at character 2"));
        assert_eq!(eval(&mut c, "local ok, e = pcall(cjson.decode, string.rep('[', 1001)) return e"), bulk("Found too many nested data structures (1001) at character 1001"));
        let round_trip = "return cjson.encode(cjson.decode('{\"b\":1,\"a\":2,\"c\":{\"z\":1,\"y\":2},\"l\":[1,{\"k\":\"v\"}]}'))";
        assert_eq!(eval(&mut c, round_trip), bulk("{\"a\":2,\"l\":[1,{\"k\":\"v\"}],\"c\":{\"y\":2,\"z\":1},\"b\":1}"), "Lua 5.1's own key order");
    }

    #[test]
    fn settings_belong_to_each_library_table_and_last() {
        let mut c = Harness::new();
        assert_eq!(eval(&mut c, "return {cjson.encode_sparse_array()}"), "*3\r\n$-1\r\n:2\r\n:10\r\n");
        assert_eq!(eval(&mut c, "local j = cjson.new() j.encode_number_precision(3) return {j.encode(3.14159), cjson.encode(3.14159)}"), "*2\r\n$4\r\n3.14\r\n$7\r\n3.14159\r\n");
        assert_eq!(eval(&mut c, "cjson.encode_invalid_numbers('null') return cjson.encode({1/0})"), bulk("[null]"));
        assert_eq!(eval(&mut c, "return cjson.encode_invalid_numbers()"), bulk("null"), "settings outlast the script");
        let script = "return cjson.encode_number_precision(20)";
        assert_eq!(eval(&mut c, script), script_error(script, "user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)"));
        let script = "return cjson.encode_keep_buffer(1, 2)";
        assert_eq!(eval(&mut c, script), script_error(script, "user_script:1: bad argument #2 to 'encode_keep_buffer' (found too many arguments)"));
        c.run(&["SCRIPT", "FLUSH"]);
        assert_eq!(eval(&mut c, "return cjson.encode_invalid_numbers()"), "$-1\r\n", "a new interpreter starts from the defaults");
    }
}
