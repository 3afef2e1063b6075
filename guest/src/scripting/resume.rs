//! A script's run on Lua's C API: the hot path of EVALSHA and FCALL. The coroutine a script runs
//! in is readied and resumed directly, without a call through mlua or a Lua driver function per
//! run, and what it returns comes back through one table slot.
//!
//! Lua raises an error where it cannot allocate, and an error outside a protected call ends the
//! process, so every step that may allocate runs protected: the keys and arguments tables are
//! made by a C function called with `lua_pcall` on the coroutine, and the resume is protected by
//! Lua itself. The rest only moves values that exist, within stack room Lua guarantees (a thread's
//! stack never has fewer than 40 slots, and these steps use at most three on an empty stack).

use mlua::{Function, Lua, RegistryKey, Table, Thread, Value, ffi};
use std::cell::Cell;
use std::ffi::{c_int, c_void};

/// Handles into one interpreter for the hot path, made with it.
pub struct Hot {
    set_eval_globals: c_int,
    make_fcall_tables: c_int,
    globals: c_int,
    slot_ref: c_int,
    /// A one-element table a result or an error is moved to, for mlua to read.
    slot: Table,
    /// An idle coroutine whose empty stack values pass through on their way to `slot`.
    helper: Thread,
    /// A function any new coroutine can be made with (mlua wants one); it is replaced before
    /// the coroutine first runs.
    placeholder: Function,
    /// KEYS and ARGV: two tables EVAL empties and fills for each script instead of making new
    /// ones, which the collector would then have to take back.
    eval_tables: [c_int; 2],
    /// Whether the globals hold the two tables yet. They are put there by the first EVAL, so the
    /// interpreter functions run in, which never runs EVAL, has no KEYS or ARGV.
    eval_tables_set: Cell<bool>,
    /// The registry entries behind the references above.
    _keys: [RegistryKey; 6],
}

impl Hot {
    pub fn new(lua: &Lua) -> mlua::Result<Hot> {
        // SAFETY: both functions keep to the C API's rules (see below).
        let (eval, fcall) = unsafe { (lua.create_c_function(set_eval_globals)?, lua.create_c_function(make_fcall_tables)?) };
        let slot = lua.create_table_with_capacity(1, 0)?;
        slot.raw_set(1, false)?;
        let helper = lua.create_thread(eval.clone())?;
        // SAFETY: the helper is new and idle; emptying its stack is always allowed.
        unsafe { ffi::lua_settop(helper.state(), 0) };
        let keys = [
            lua.create_registry_value(eval)?,
            lua.create_registry_value(fcall.clone())?,
            lua.create_registry_value(globals_behind_view(lua)?)?,
            lua.create_registry_value(slot.clone())?,
            lua.create_registry_value(lua.create_table()?)?,
            lua.create_registry_value(lua.create_table()?)?,
        ];
        Ok(Hot {
            set_eval_globals: keys[0].id(),
            make_fcall_tables: keys[1].id(),
            globals: keys[2].id(),
            slot_ref: keys[3].id(),
            slot,
            helper,
            placeholder: fcall,
            eval_tables: [keys[4].id(), keys[5].id()],
            eval_tables_set: Cell::new(false),
            _keys: keys,
        })
    }

    /// A new coroutine for scripts or functions, readied with [`ready_eval`] or [`ready_fcall`].
    pub fn new_thread(&self, lua: &Lua) -> mlua::Result<Thread> {
        lua.create_thread(self.placeholder.clone())
    }
}

/// The table behind the read-only view scripts see as their globals (environment.lua), where
/// EVAL puts KEYS and ARGV: read through the view, a script finds them, and assigning to them
/// fails as assigning to any global does.
fn globals_behind_view(lua: &Lua) -> mlua::Result<Table> {
    let view = lua.globals();
    match view.metatable().map(|meta| meta.raw_get::<Value>("__index")).transpose()? {
        Some(Value::Table(globals)) => Ok(globals),
        _ => Ok(view),
    }
}

/// What the C functions below are given, as a light userdata.
struct Arguments<'a> {
    globals: c_int,
    keys: &'a [&'a [u8]],
    argv: &'a [&'a [u8]],
    /// EVAL's KEYS and ARGV tables, and whether they are to be set in the globals.
    eval_tables: [c_int; 2],
    set_eval_tables: bool,
}

/// Whether `thread` ended normally (or never ran), so it can run a new script.
pub fn reusable(thread: &Thread) -> bool {
    let state = thread.state();
    // SAFETY: reading a thread's status and frames allocates nothing.
    unsafe {
        let mut frame = std::mem::zeroed::<ffi::lua_Debug>();
        ffi::lua_status(state) == 0 && ffi::lua_getstack(state, 0, &mut frame) == 0
    }
}

/// Readies a reusable `thread` to run the script registered as `function`, with the globals KEYS
/// and ARGV set as EVAL sets them.
pub fn ready_eval(hot: &Hot, thread: &Thread, function: c_int, keys: &[&[u8]], argv: &[&[u8]]) -> mlua::Result<()> {
    let state = thread.state();
    let set_eval_tables = !hot.eval_tables_set.get();
    let arguments = Arguments { globals: hot.globals, keys, argv, eval_tables: hot.eval_tables, set_eval_tables };
    // SAFETY: the thread has ended, so its stack is free to use; see the module's notes.
    unsafe {
        ffi::lua_settop(state, 0);
        protected(state, hot.set_eval_globals, &arguments, 0)?;
        ffi::lua_rawgeti_(state, ffi::LUA_REGISTRYINDEX, function);
    }
    hot.eval_tables_set.set(true);
    Ok(())
}

/// Readies a reusable `thread` to run the function registered as `function` with its keys and
/// arguments tables, as FCALL calls it.
pub fn ready_fcall(hot: &Hot, thread: &Thread, function: c_int, keys: &[&[u8]], argv: &[&[u8]]) -> mlua::Result<()> {
    let state = thread.state();
    let arguments = Arguments { globals: hot.globals, keys, argv, eval_tables: hot.eval_tables, set_eval_tables: false };
    // SAFETY: as in ready_eval; the two tables stay on the stack, the function goes below them.
    unsafe {
        ffi::lua_settop(state, 0);
        protected(state, hot.make_fcall_tables, &arguments, 2)?;
        ffi::lua_rawgeti_(state, ffi::LUA_REGISTRYINDEX, function);
        ffi::lua_insert(state, 1);
    }
    Ok(())
}

/// Calls the registered C function `function` with `arguments`, protected, leaving `results`.
unsafe fn protected(state: *mut ffi::lua_State, function: c_int, arguments: &Arguments, results: c_int) -> mlua::Result<()> {
    // SAFETY: two slots on a stack of at least 40; lua_pcall catches what the call raises.
    unsafe {
        ffi::lua_rawgeti_(state, ffi::LUA_REGISTRYINDEX, function);
        ffi::lua_pushlightuserdata(state, std::ptr::from_ref(arguments).cast_mut().cast::<c_void>());
        let status = ffi::lua_pcall(state, 1, results, 0);
        if status == 0 {
            return Ok(());
        }
        let mut len = 0;
        let text = ffi::lua_tolstring(state, -1, &mut len);
        let message = if text.is_null() { String::from("error") } else { String::from_utf8_lossy(std::slice::from_raw_parts(text.cast::<u8>(), len)).into_owned() };
        ffi::lua_settop(state, 0);
        Err(if status == ffi::LUA_ERRMEM { mlua::Error::MemoryError(message) } else { mlua::Error::runtime(message) })
    }
}

/// How many entries a KEYS or ARGV table may have had and still be emptied for the next script;
/// past that a new table takes its place, so one large call does not keep its memory.
const REFILLED_ENTRIES: usize = 64;

/// Sets KEYS and ARGV for an EVAL. A script may have changed either table (Redis gives each
/// script new ones, which it may write to), so each is emptied before it is filled.
unsafe extern "C-unwind" fn set_eval_globals(state: *mut ffi::lua_State) -> c_int {
    const GLOBALS: c_int = 2;
    const TABLE: c_int = 3;
    // SAFETY: called through `protected` with its `Arguments`; a C function has 20 free slots,
    // of which this uses at most five.
    unsafe {
        let arguments = &*ffi::lua_touserdata(state, 1).cast::<Arguments>();
        ffi::lua_rawgeti_(state, ffi::LUA_REGISTRYINDEX, arguments.globals);
        let named = [(b"KEYS", arguments.keys), (b"ARGV", arguments.argv)];
        for ((name, items), table) in named.into_iter().zip(arguments.eval_tables) {
            ffi::lua_rawgeti_(state, ffi::LUA_REGISTRYINDEX, table);
            let emptied = items.len() <= REFILLED_ENTRIES && empty(state, TABLE);
            if !emptied {
                ffi::lua_settop(state, GLOBALS);
                ffi::lua_createtable(state, items.len().try_into().unwrap_or(0), 0);
            }
            // The globals first, then the registry (a new value for an existing key, which cannot
            // fail): where an allocation fails, both still hold the same table.
            if arguments.set_eval_tables || !emptied {
                ffi::lua_pushlstring(state, name.as_ptr().cast(), name.len());
                ffi::lua_pushvalue(state, TABLE);
                ffi::lua_rawset(state, GLOBALS);
            }
            if !emptied {
                ffi::lua_pushvalue(state, TABLE);
                ffi::lua_rawseti_(state, ffi::LUA_REGISTRYINDEX, table);
            }
            super::calls::fill_strings(state, TABLE, items);
            ffi::lua_settop(state, GLOBALS);
        }
        0
    }
}

/// Clears the entries of the table at `table` one by one. Returns whether it is empty now: false
/// once it has cleared [`REFILLED_ENTRIES`] and finds another, when the caller replaces the table.
unsafe fn empty(state: *mut ffi::lua_State, table: c_int) -> bool {
    // SAFETY: three slots above the table; clearing fields while traversing is allowed by Lua.
    unsafe {
        let mut entries = 0;
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, table) != 0 {
            entries += 1;
            if entries > REFILLED_ENTRIES {
                ffi::lua_settop(state, table);
                return false;
            }
            ffi::lua_settop(state, -2);
            ffi::lua_pushvalue(state, -1);
            ffi::lua_pushnil(state);
            ffi::lua_rawset(state, table);
        }
        true
    }
}

unsafe extern "C-unwind" fn make_fcall_tables(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: as in set_eval_globals.
    unsafe {
        let arguments = &*ffi::lua_touserdata(state, 1).cast::<Arguments>();
        super::calls::push_strings(state, arguments.keys);
        super::calls::push_strings(state, arguments.argv);
        2
    }
}

/// Runs a readied or suspended `thread` until it ends, fails or yields; Lua's status code.
pub fn resume(thread: &Thread) -> c_int {
    let state = thread.state();
    // SAFETY: the thread was readied (function and arguments on its stack) or is suspended;
    // lua_resume runs protected.
    unsafe {
        let arguments = if ffi::lua_status(state) == ffi::LUA_YIELD { 0 } else { ffi::lua_gettop(state) - 1 };
        ffi::lua_resume_(state, arguments)
    }
}

/// How a step of a script ended.
pub enum Resumed {
    /// It returned this (its first result).
    Returned(Value),
    /// It raised this error.
    Failed(Value),
    /// It yielded: the slice hook suspended it, or it called `coroutine.yield` itself.
    Yielded,
}

/// What `thread` left after `resume` returned `status`.
pub fn outcome(hot: &Hot, thread: &Thread, status: c_int) -> mlua::Result<Resumed> {
    let state = thread.state();
    // SAFETY: after a normal end the results are on the thread's stack (kept to the first, or a
    // nil pushed on an empty stack); after an error its object is on top. One value moves to the
    // helper's empty stack, and from there into the slot's existing array entry.
    unsafe {
        match status {
            ffi::LUA_YIELD => return Ok(Resumed::Yielded),
            0 => {
                if let Some(value) = plain_result(state) {
                    ffi::lua_settop(state, 0);
                    return Ok(Resumed::Returned(value));
                }
                ffi::lua_settop(state, 1);
                ffi::lua_xmove(state, hot.helper.state(), 1);
            }
            _ => ffi::lua_xmove(state, hot.helper.state(), 1),
        }
        let helper = hot.helper.state();
        ffi::lua_rawgeti_(helper, ffi::LUA_REGISTRYINDEX, hot.slot_ref);
        ffi::lua_insert(helper, -2);
        ffi::lua_rawseti_(helper, -2, 1);
        ffi::lua_settop(helper, 0);
        if status == 0 {
            ffi::lua_settop(state, 0);
        }
    }
    let value = hot.slot.raw_get::<Value>(1);
    clear_slot(hot);
    let value = value?;
    Ok(if status == 0 { Resumed::Returned(value) } else { Resumed::Failed(value) })
}

/// The first result of a script that ended, when it is one that holds no reference into the
/// interpreter (a number, a boolean, nil, or none at all), read where it is; the others go
/// through the registry's slot to become a [`Value`].
///
/// # Safety
/// `state` is a thread that has just ended normally, its results on its stack.
unsafe fn plain_result(state: *mut ffi::lua_State) -> Option<Value> {
    // SAFETY: index 1 is the first result when the stack holds any.
    unsafe {
        if ffi::lua_gettop(state) == 0 {
            return Some(Value::Nil);
        }
        match ffi::lua_type(state, 1) {
            ffi::LUA_TNIL => Some(Value::Nil),
            ffi::LUA_TBOOLEAN => Some(Value::Boolean(ffi::lua_toboolean(state, 1) != 0)),
            ffi::LUA_TNUMBER => Some(Value::Number(ffi::lua_tonumber(state, 1))),
            _ => None,
        }
    }
}

/// Lets the slot's value go, so the collector can take it.
fn clear_slot(hot: &Hot) {
    let helper = hot.helper.state();
    // SAFETY: two slots on the helper's empty stack; setting an existing array entry allocates
    // nothing.
    unsafe {
        ffi::lua_rawgeti_(helper, ffi::LUA_REGISTRYINDEX, hot.slot_ref);
        ffi::lua_pushboolean(helper, 0);
        ffi::lua_rawseti_(helper, -2, 1);
        ffi::lua_settop(helper, 0);
    }
}
