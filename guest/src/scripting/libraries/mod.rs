//! The Lua libraries Redis 7.0 gives scripts besides Lua's own: `cjson`, `cmsgpack`, `bit` and
//! `struct`, written in Rust to behave as Redis's builds of those C libraries do, byte for byte
//! and error for error.
//!
//! Their functions raise errors as C library functions do, which mlua's Rust functions cannot: a
//! Rust function raises a userdata, while scripts `pcall` these functions and read the message as
//! a string. So each library function is a Rust function wrapped in [`trampoline`], a small C
//! function that raises the string the Rust side asks for, the way `luaL_error` or
//! `luaL_argerror` would from that C function's place on the stack.

mod arguments;
mod bit;
mod cjson;
mod cmsgpack;
mod structs;

pub use arguments::c_long;

use mlua::{Function, IntoLuaMulti, LightUserData, Lua, MultiValue, Table, Value, ffi};
use std::ffi::{c_int, c_void};

/// Sets the four libraries as globals (before the environment makes the globals read-only).
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    globals.raw_set("cjson", cjson::library(lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack::library(lua)?)?;
    globals.raw_set("bit", bit::library(lua)?)?;
    globals.raw_set("struct", structs::library(lua)?)?;
    Ok(())
}

/// An error a library function raises, in the form its C original raises it.
#[derive(Debug, PartialEq)]
pub enum Raise {
    /// `luaL_error`: the message after the caller's `script:line: `.
    Located(Vec<u8>),
    /// `luaL_argerror`: `bad argument #n to 'name' (message)`.
    Argument(i32, Vec<u8>),
    /// An error Lua itself raises inside the function (`table index is nil`): no location.
    Bare(Vec<u8>),
}

impl Raise {
    pub fn located(message: impl Into<Vec<u8>>) -> Raise {
        Raise::Located(message.into())
    }

    pub fn argument(position: usize, message: impl Into<Vec<u8>>) -> Raise {
        Raise::Argument(i32::try_from(position).unwrap_or(i32::MAX), message.into())
    }
}

/// What a library function gives back.
pub type Outcome = Result<Returned, Raise>;

/// A library function's results.
pub enum Returned {
    Values(MultiValue),
    /// Many results, kept in a table (1 to n) so that they never sit as Rust references in mlua:
    /// the trampoline puts them on Lua's stack.
    Spread(Table, usize),
}

impl Returned {
    pub fn one(lua: &Lua, value: impl IntoLuaMulti) -> Outcome {
        Ok(Returned::Values(value.into_lua_multi(lua)?))
    }
}

/// An mlua failure (out of memory, say) as an error the script sees.
impl From<mlua::Error> for Raise {
    fn from(error: mlua::Error) -> Raise {
        Raise::located(error.to_string())
    }
}

/// The address that marks a raise request among a Rust function's results; no value a script
/// can make is this light userdata.
static MARKER: u8 = 0;

fn marker() -> *mut c_void {
    std::ptr::addr_of!(MARKER) as *mut c_void
}

const LOCATED: i64 = 1;
const ARGUMENT: i64 = 2;
const BARE: i64 = 3;
const SPREAD: i64 = 4;

/// How deep the libraries follow nested tables and data, whatever a script configures: cjson's
/// default depth limits. Redis's C code can be configured deeper, as far as Lua's stack lets it
/// (4000 to 8000 levels); cachet keeps nesting to what its own stack and mlua's references take,
/// refusing deeper data with the error Redis gives at its limit.
pub const NESTING_LIMIT: i32 = 1000;

/// The most a library builds outside Lua's memory (an encoded text): the interpreter's own cap,
/// past which the result could not become a Lua string anyway. Without it, a table referenced
/// many times over could make an encoding larger than the engine's memory.
const OUTPUT_LIMIT: usize = crate::scripting::MEMORY_LIMIT;

/// Lua's own error when memory runs out: how a script sees output that grew past the limit.
pub fn check_output_size(output: &[u8]) -> Result<(), Raise> {
    if output.len() > OUTPUT_LIMIT { Err(Raise::Bare(b"not enough memory".to_vec())) } else { Ok(()) }
}

/// Lua's limit on one C function's stack (LUAI_MAXCSTACK), which bounds what Redis's libraries can
/// return or nest; the libraries here count against it to fail where they fail.
pub const LUA_STACK_LIMIT: usize = 8000;

/// A library function named `name` in `table`: `body` behind the raising trampoline.
pub fn add<F>(lua: &Lua, table: &Table, name: &str, body: F) -> mlua::Result<()>
where
    F: Fn(&Lua, MultiValue) -> Outcome + 'static,
{
    table.raw_set(name, function(lua, Box::new(body))?)
}

/// One body type for every library function, so mlua's callback code is made once, not once
/// per function (which added some 90 KB more to the engine).
type Body = Box<dyn Fn(&Lua, MultiValue) -> Outcome>;

fn function(lua: &Lua, body: Body) -> mlua::Result<Function> {
    let inner = lua.create_function(move |lua, args: MultiValue| {
        let flag = Value::LightUserData(LightUserData(marker()));
        match body(lua, args) {
            Ok(Returned::Values(values)) => Ok(values),
            Ok(Returned::Spread(table, count)) => (flag, SPREAD, table, count).into_lua_multi(lua),
            Err(Raise::Located(message)) => (flag, LOCATED, lua.create_string(message)?).into_lua_multi(lua),
            Err(Raise::Bare(message)) => (flag, BARE, lua.create_string(message)?).into_lua_multi(lua),
            Err(Raise::Argument(position, message)) => (flag, ARGUMENT, lua.create_string(message)?, position).into_lua_multi(lua),
        }
    })?;
    // SAFETY: pushes one C closure whose upvalue is the function just made; `trampoline` keeps
    // to the C API's rules.
    unsafe { lua.exec_raw(inner, |state| ffi::lua_pushcclosure(state, trampoline, 1)) }
}

/// Calls the Rust function in its upvalue with all its arguments and returns its results, or
/// raises the error it asks for, from this C function's frame as the C library would.
unsafe extern "C-unwind" fn trampoline(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state; every push is preceded by lua_checkstack.
    unsafe {
        let args = ffi::lua_gettop(state);
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        ffi::lua_call(state, args, ffi::LUA_MULTRET);
        let results = ffi::lua_gettop(state);
        if results < 3 || ffi::lua_type(state, 1) != ffi::LUA_TLIGHTUSERDATA || ffi::lua_touserdata(state, 1) != marker() {
            return results;
        }
        match ffi::lua_tointeger(state, 2) as i64 {
            SPREAD => spread(state),
            ARGUMENT => {
                let position = ffi::lua_tointeger(state, 4) as c_int;
                ffi::luaL_argerror(state, position, ffi::lua_tostring(state, 3))
            }
            BARE => {
                ffi::lua_settop(state, 3);
                ffi::lua_error(state)
            }
            _ => {
                ffi::lua_settop(state, 3);
                ffi::luaL_where(state, 1);
                ffi::lua_insert(state, 3);
                ffi::lua_concat(state, 2);
                ffi::lua_error(state)
            }
        }
    }
}

/// Puts a [`Returned::Spread`] table's values on the stack as the function's results, or raises
/// Lua's stack overflow when they cannot all fit, as the C library's own pushes would.
unsafe fn spread(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: the stack holds (marker, kind, table, count), as `function` returns them.
    unsafe {
        let count = ffi::lua_tointeger(state, 4).max(0) as c_int;
        ffi::lua_pushvalue(state, 3);
        ffi::lua_replace(state, 1);
        ffi::lua_settop(state, 1);
        if ffi::lua_checkstack(state, count) == 0 {
            ffi::luaL_error(state, c"stack overflow (%s)".as_ptr(), c"too many results".as_ptr());
        }
        for index in 1..=count {
            ffi::lua_rawgeti(state, 1, index as _);
        }
        ffi::lua_remove(state, 1);
        count
    }
}

#[cfg(test)]
pub mod test_support {
    use crate::engine::test_harness::Harness;

    /// Runs `script` with EVAL and returns the reply's text.
    pub fn eval(c: &mut Harness, script: &str) -> String {
        c.run(&["EVAL", script, "0"])
    }

    /// The error text a script's uncaught error gives, for `script` run as the body of EVAL.
    pub fn script_error(script: &str, message: &str) -> String {
        let sha = crate::scripting::sha1_hex(script.as_bytes());
        format!("-ERR {message} script: {sha}, on @user_script:1.\r\n")
    }
}
