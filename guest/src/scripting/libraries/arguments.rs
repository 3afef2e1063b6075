//! A library function's arguments, read as Lua's auxiliary library reads a C function's
//! (`luaL_checknumber`, `luaL_checklstring`, `luaL_optinteger`...): the same conversions, and the
//! same `bad argument` errors when they fail.

use super::Raise;
use mlua::{Lua, LuaString, MultiValue, Value};

/// The arguments a library function was called with; positions count from 1, as in Lua.
pub struct Arguments<'a> {
    lua: &'a Lua,
    values: MultiValue,
}

impl<'a> Arguments<'a> {
    pub fn new(lua: &'a Lua, values: MultiValue) -> Self {
        Arguments { lua, values }
    }

    pub fn count(&self) -> usize {
        self.values.len()
    }

    pub fn get(&self, position: usize) -> Option<&Value> {
        position.checked_sub(1).and_then(|index| self.values.get(index))
    }

    /// Absent or nil (`lua_isnoneornil`).
    pub fn is_none_or_nil(&self, position: usize) -> bool {
        matches!(self.get(position), None | Some(Value::Nil))
    }

    /// `luaL_checknumber`: a number, or a string holding one.
    pub fn number(&self, position: usize) -> Result<f64, Raise> {
        let value = self.get(position).cloned().unwrap_or(Value::Nil);
        match self.lua.coerce_number(value)? {
            Some(number) => Ok(number),
            None => Err(self.type_error(position, "number")),
        }
    }

    /// `luaL_checkinteger`: a number cut towards zero as C's `(long)` cast cuts it.
    pub fn integer(&self, position: usize) -> Result<i64, Raise> {
        self.number(position).map(c_long)
    }

    /// `luaL_optinteger`.
    pub fn optional_integer(&self, position: usize, default: i64) -> Result<i64, Raise> {
        if self.is_none_or_nil(position) { Ok(default) } else { self.integer(position) }
    }

    /// `luaL_checklstring`: a string, or a number as Lua writes it (`%.14g`).
    pub fn string(&self, position: usize) -> Result<LuaString, Raise> {
        let value = self.get(position).cloned().unwrap_or(Value::Nil);
        match self.lua.coerce_string(value)? {
            Some(text) => Ok(text),
            None => Err(self.type_error(position, "string")),
        }
    }

    /// `luaL_typerror`: `<expected> expected, got <type>`.
    pub fn type_error(&self, position: usize, expected: &str) -> Raise {
        Raise::argument(position, format!("{expected} expected, got {}", type_name(self.get(position))))
    }
}

/// `luaL_typename`: Lua's name for a value's type, `no value` for an absent argument.
pub fn type_name(value: Option<&Value>) -> &'static str {
    match value {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// A Lua number as a double (Lua 5.1 has no other kind).
pub fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

/// C's `(long)` cast of a double on x86-64, where Redis runs: the fraction dropped, and the
/// "integer indefinite" value, the least long, for NaN and what does not fit.
pub fn c_long(number: f64) -> i64 {
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&number) { number as i64 } else { i64::MIN }
}

/// C's `(int)` cast of a double on x86-64, likewise.
pub fn c_int(number: f64) -> i32 {
    if (-2_147_483_648.0..2_147_483_648.0).contains(&number) { number as i32 } else { i32::MIN }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_behave_as_x86_64() {
        assert_eq!(c_long(-2.7), -2);
        assert_eq!(c_long(1e300), i64::MIN);
        assert_eq!(c_long(f64::NAN), i64::MIN);
        assert_eq!(c_int(2_147_483_647.9), 2_147_483_647);
        assert_eq!(c_int(2_147_483_648.0), i32::MIN);
        assert_eq!(c_int(f64::INFINITY), i32::MIN);
    }
}
