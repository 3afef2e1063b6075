//! A Lua state set up as Redis 7.0 sets up its scripts' one: Lua 5.1 with `string`, `table`,
//! `math` (and `coroutine`, part of 5.1's base library), no `os`, `io` or file loading, the `redis` library, and globals that
//! scripts can neither create nor read when absent. The Lua side is environment.lua; the Rust
//! side, here, gives it what Lua cannot do: SHA-1, the log, the protocol switch and the generator.

use super::rand48::Rand48;
use crate::server_facts::REDIS_VERSION;
use mlua::{Function, Lua, LuaOptions, StdLib, Table, Value, ffi};
use std::cell::{Cell, RefCell};
use std::ffi::{CStr, c_int};
use std::rc::Rc;

/// Where, in Lua's registry, the function that runs a script's commands is while it runs (see
/// [`set_command_runner`]).
const RUNNER_KEY: &CStr = c"cachet_command_runner";

const ENVIRONMENT: &str = include_str!("environment.lua");

/// A ready Lua state and the handles cachet keeps into it.
pub struct Environment {
    pub lua: Lua,
    /// Runs a script's coroutine for a slice: `(0, result)`, `(1, error)` or `(2)` if suspended.
    pub step: Function,
    /// `(coroutine, error)` to the error table a script's error reply is made of.
    pub describe: Function,
    /// The table of engine functions environment.lua was given; `call` is set for each run.
    /// Whether the running script asked for RESP3 replies (`redis.setresp(3)`).
    pub resp3: Rc<Cell<bool>>,
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
        let resp3 = Rc::new(Cell::new(false));
        let engine = engine_functions(&lua, &resp3, generator)?;
        let driver: Table = lua.load(ENVIRONMENT).set_name("=environment").call(engine)?;
        Ok(Environment { step: driver.get("step")?, describe: driver.get("describe")?, lua, resp3 })
    }
}

/// Sets (or, with nil, clears) the function `redis.call` and `redis.pcall` hand their arguments
/// to: `(raise, ...)` to `(reply, raised)`. It is made for each run, because it borrows that run's
/// command context.
pub fn set_command_runner(lua: &Lua, runner: Value) -> mlua::Result<()> {
    let key = RUNNER_KEY.to_str().map_err(mlua::Error::runtime)?;
    lua.set_named_registry_value(key, runner)
}

/// `redis.call`: a C function, as Redis's is, so that `return redis.call(...)` (a tail call)
/// keeps the script's frame, where the error handler finds the line an error comes from.
unsafe extern "C-unwind" fn redis_call(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state; the stack is used within LUA_MINSTACK slots.
    unsafe { run_command(state, true) }
}

/// `redis.pcall`: the same, returning an error as a table instead of raising it.
unsafe extern "C-unwind" fn redis_pcall(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: as for redis_call.
    unsafe { run_command(state, false) }
}

/// Calls the command runner with `raise` and the arguments; raises its reply when it says so.
unsafe fn run_command(state: *mut ffi::lua_State, raise: bool) -> c_int {
    unsafe {
        let args = ffi::lua_gettop(state);
        ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, RUNNER_KEY.as_ptr());
        ffi::lua_insert(state, 1);
        ffi::lua_pushboolean(state, c_int::from(raise));
        ffi::lua_insert(state, 2);
        ffi::lua_call(state, args + 1, 2);
        let raised = ffi::lua_toboolean(state, -1) != 0;
        ffi::lua_pop(state, 1);
        if raised { ffi::lua_error(state) } else { 1 }
    }
}

/// The functions environment.lua builds the `redis` library and `math.random` on.
fn engine_functions(lua: &Lua, resp3: &Rc<Cell<bool>>, generator: &Rc<RefCell<Rand48>>) -> mlua::Result<Table> {
    let engine = lua.create_table()?;
    // SAFETY: both functions keep to the Lua C API's rules (see run_command).
    unsafe {
        engine.set("call", lua.create_c_function(redis_call)?)?;
        engine.set("pcall", lua.create_c_function(redis_pcall)?)?;
    }
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
    let flag = resp3.clone();
    engine.set("setresp", lua.create_function(move |_, version: u8| {
        flag.set(version == 3);
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

/// `7.4.0` as Redis's REDIS_VERSION_NUM writes it: 0x070400.
fn version_number(version: &str) -> i64 {
    version.split('.').take(3).fold(0, |number, part| (number << 8) | part.parse::<i64>().unwrap_or(0))
}

/// The SHA-1 of `bytes` in lower-case hexadecimal: the name of a script.
pub fn sha1_hex(bytes: &[u8]) -> String {
    sha1_smol::Sha1::from(bytes).digest().to_string()
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
