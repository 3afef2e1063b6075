//! A Lua state set up as Redis 7.0 sets up its scripts' one: Lua 5.1 with `string`, `table`,
//! `math` (and `coroutine`, part of 5.1's base library), no `os`, `io` or file loading, the `redis` library, and globals that
//! scripts can neither create nor read when absent. The Lua side is environment.lua; the Rust
//! side, here, gives it what Lua cannot do: SHA-1, the log, the protocol switch and the generator.

use super::calls;
use super::rand48::Rand48;
use crate::server_facts::REDIS_VERSION;
use mlua::{Function, Lua, LuaOptions, StdLib, Table, Value, ffi};
use std::ffi::c_int;
use std::cell::RefCell;
use std::rc::Rc;

const ENVIRONMENT: &str = include_str!("environment.lua");

/// A ready Lua state and the handles cachet keeps into it.
pub struct Environment {
    pub lua: Lua,
    /// Runs a script's coroutine for a slice: `(0, result)`, `(1, error)` or `(2)` if suspended.
    pub step: Function,
    /// `(coroutine, error)` to the error table a script's error reply is made of.
    pub describe: Function,
    /// What scripts are run with (see resume.rs).
    pub hot: super::resume::Hot,
}

impl Environment {
    /// A new interpreter drawing `math.random` from `generator`, which outlives it: Redis's
    /// generator is not reset when SCRIPT FLUSH replaces the interpreter.
    pub fn new(generator: &Rc<RefCell<Rand48>>) -> mlua::Result<Environment> {
        // The debug library is loaded for the error handler, which keeps `debug.getinfo`; the
        // environment then removes `debug` from the globals.
        let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG;
        // SAFETY: the debug library never reaches scripts (environment.lua removes it), so they
        // cannot use it to break out of the sandbox's rules.
        let lua = unsafe { Lua::unsafe_new_with(libs, LuaOptions::new()) };
        super::libraries::install(&lua)?;
        // SAFETY: `tostring` keeps to the C API's rules.
        lua.globals().raw_set("tostring", unsafe { lua.create_c_function(tostring)? })?;
        let engine = engine_functions(&lua, generator)?;
        let driver: Table = lua.load(ENVIRONMENT).set_name("=environment").call(engine)?;
        let hot = super::resume::Hot::new(&lua)?;
        Ok(Environment { step: driver.get("step")?, describe: driver.get("describe")?, hot, lua })
    }
}

/// The functions environment.lua builds the `redis` library and `math.random` on.
fn engine_functions(lua: &Lua, generator: &Rc<RefCell<Rand48>>) -> mlua::Result<Table> {
    let engine = lua.create_table()?;
    // SAFETY: both functions keep to the Lua C API's rules (see calls.rs).
    unsafe {
        engine.set("call", lua.create_c_function(calls::redis_call)?)?;
        engine.set("pcall", lua.create_c_function(calls::redis_pcall)?)?;
    }
    // SAFETY: keeps to the Lua C API's rules (see `rawget_through`).
    engine.set("rawget_through", unsafe { lua.create_c_function(rawget_through)? })?;
    engine.set("version", REDIS_VERSION)?;
    engine.set("version_num", version_number(REDIS_VERSION))?;
    engine.set("sha1hex", lua.create_function(|lua, text: Value| {
        let bytes = match &text {
            Value::String(s) => s.as_bytes().to_vec(),
            _ => Vec::new(),
        };
        lua.create_string(sha1_hex(&bytes))
    })?)?;
    engine.set("log", lua.create_function(|_, (level, message): (u8, mlua::LuaString)| {
        let message = String::from_utf8_lossy(&message.as_bytes()).into_owned();
        match level {
            0 | 1 => crate::log::debug(&message),
            2 => crate::log::info(&message),
            _ => crate::log::warn(&message),
        }
        Ok(())
    })?)?;
    engine.set("setresp", lua.create_function(|_, version: u8| {
        calls::set_script_resp3(version == 3);
        Ok(())
    })?)?;
    let (drawing, seeding) = (generator.clone(), generator.clone());
    engine.set("random", lua.create_function(move |_, ()| Ok(drawing.borrow_mut().fraction()))?)?;
    engine.set("randomseed", lua.create_function(move |_, seed: f64| {
        seeding.borrow_mut().seed(seed as i32);
        Ok(())
    })?)?;
    Ok(engine)
}

/// Lua 5.1's `tostring`, but for a null pointer (`cjson.null`), which Redis's build prints as
/// glibc's `%p` does, `userdata: (nil)`, where the engine's C library would print `userdata: 0`.
unsafe extern "C-unwind" fn tostring(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls it with a valid state; luaL_checkany raises Lua's own argument error.
    unsafe {
        ffi::luaL_checkany(state, 1);
        if ffi::luaL_callmeta(state, 1, c"__tostring".as_ptr()) != 0 {
            return 1;
        }
        match ffi::lua_type(state, 1) {
            ffi::LUA_TNUMBER | ffi::LUA_TSTRING => {
                ffi::lua_pushvalue(state, 1);
                ffi::lua_tolstring(state, -1, std::ptr::null_mut());
            }
            ffi::LUA_TBOOLEAN => {
                ffi::lua_pushstring(state, if ffi::lua_toboolean(state, 1) != 0 { c"true".as_ptr() } else { c"false".as_ptr() });
            }
            ffi::LUA_TNIL => {
                ffi::lua_pushstring(state, c"nil".as_ptr());
            }
            _ if ffi::lua_topointer(state, 1).is_null() => {
                ffi::lua_pushfstring(state, c"%s: (nil)".as_ptr(), ffi::luaL_typename(state, 1));
            }
            _ => {
                ffi::lua_pushfstring(state, c"%s: %p".as_ptr(), ffi::luaL_typename(state, 1), ffi::lua_topointer(state, 1));
            }
        }
        1
    }
}

/// `7.4.0` as Redis's REDIS_VERSION_NUM writes it: 0x070400.
fn version_number(version: &str) -> i64 {
    version.split('.').take(3).fold(0, |number, part| (number << 8) | part.parse::<i64>().unwrap_or(0))
}

/// The SHA-1 of `bytes` in lower-case hexadecimal: the name of a script.
pub fn sha1_hex(bytes: &[u8]) -> String {
    super::Sha::of(bytes).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sha1_in_hex() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"return 1"), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
        assert_eq!(version_number("7.0.15"), 458767);
    }
}

/// `rawget_through(views)`: a `rawget` for scripts that reads a read-only view (a key of `views`)
/// as the table it shows, and any other table as it is. Its checks and errors are rawget's.
unsafe extern "C-unwind" fn rawget_through(state: *mut ffi::lua_State) -> std::ffi::c_int {
    // SAFETY: one upvalue, the views table given as the argument.
    unsafe {
        ffi::luaL_checktype(state, 1, ffi::LUA_TTABLE);
        ffi::lua_settop(state, 1);
        ffi::lua_pushcclosure(state, rawget_in_view, 1);
        1
    }
}

unsafe extern "C-unwind" fn rawget_in_view(state: *mut ffi::lua_State) -> std::ffi::c_int {
    // SAFETY: called by Lua; at most three slots on the stack.
    unsafe {
        ffi::luaL_checktype(state, 1, ffi::LUA_TTABLE);
        ffi::luaL_checkany(state, 2);
        ffi::lua_settop(state, 2);
        ffi::lua_pushvalue(state, 1);
        ffi::lua_rawget(state, ffi::lua_upvalueindex(1));
        if ffi::lua_type(state, 3) == ffi::LUA_TTABLE {
            ffi::lua_replace(state, 1);
        } else {
            ffi::lua_settop(state, 2);
        }
        ffi::lua_rawget(state, 1);
        1
    }
}
