//! Scripts run in slices. A script is a Lua coroutine; a count hook suspends it once it has run a
//! slice of instructions, and the engine returns to the host, which calls it again at once (the
//! engine's deadline is "now"). In between, the engine answers other clients (hold their commands,
//! or `-BUSY` past `busy-reply-threshold`) and takes SCRIPT KILL — without a thread, a clock or a
//! host capability: the running script is state, and time comes in with each call as always.
//!
//! Lua 5.1 lets a count hook yield, but not across a C call (`pcall`, a metamethod, `table.sort`'s
//! comparator): there the hook looks again a few instructions later.

use mlua::{Thread, ffi};
use std::cell::Cell;
use std::ffi::c_int;

/// Lua instructions a script runs before it is suspended: a few milliseconds' work, so that a
/// runaway script lets the engine answer others that often, while short scripts never stop.
pub const SLICE_INSTRUCTIONS: c_int = 2_000_000;

/// Instructions until the hook looks again when it could not yield (inside a C call).
const RETRY_INSTRUCTIONS: c_int = 1_000;

thread_local! {
    /// The coroutine of the script being run with slices, the only one the hook suspends (user
    /// coroutines inherit the hook, and must not be suspended by it).
    static SLICED: Cell<*mut ffi::lua_State> = const { Cell::new(std::ptr::null_mut()) };
    /// The hook suspended the script: the coroutine's yield is the engine's, not the script's.
    static SUSPENDED: Cell<bool> = const { Cell::new(false) };
}

/// Makes `thread` run in slices from now on (until it ends or [`disarm`] is called).
pub fn arm(thread: &Thread) {
    let state = thread.state();
    SLICED.with(|sliced| sliced.set(state));
    // SAFETY: `state` is a live thread of this Lua state; lua_sethook only stores the hook.
    unsafe { ffi::lua_sethook(state, Some(slice_hook), ffi::LUA_MASKCOUNT, SLICE_INSTRUCTIONS) };
}

/// Lets `thread` run to its end: no hook (inside EXEC, for instance, where nothing may come
/// between a transaction's commands).
pub fn disarm(thread: &Thread) {
    SLICED.with(|sliced| sliced.set(std::ptr::null_mut()));
    // SAFETY: as in `arm`.
    unsafe { ffi::lua_sethook(thread.state(), None, 0, 0) };
}

/// How long a library's top-level code may run in FUNCTION LOAD (or RESTORE), as in Redis.
pub const LOAD_TIMEOUT_NS: u64 = 500_000_000;

/// Lua instructions between two looks at the clock while a library loads (Redis's figure).
const LOAD_CHECK_INSTRUCTIONS: c_int = 100_000;

thread_local! {
    /// When the library loading now started, on the commands' clock (`stopwatch`).
    static LOAD_STARTED: Cell<u64> = const { Cell::new(0) };
}

/// Limits the library code about to run in `thread` to [`LOAD_TIMEOUT_NS`]: past it, the code
/// fails with Redis's `FUNCTION LOAD timeout`. A library loads within one engine call, so the
/// limit is measured on the clock that times commands, which unit tests drive.
pub fn limit_load(thread: &Thread) {
    LOAD_STARTED.with(|started| started.set(crate::stopwatch::now_ns()));
    // SAFETY: `thread` is a live thread of this Lua state; lua_sethook only stores the hook.
    unsafe { ffi::lua_sethook(thread.state(), Some(load_hook), ffi::LUA_MASKCOUNT, LOAD_CHECK_INSTRUCTIONS) };
}

unsafe extern "C-unwind" fn load_hook(state: *mut ffi::lua_State, _: *mut ffi::lua_Debug) {
    let started = LOAD_STARTED.with(Cell::get);
    if crate::stopwatch::now_ns().saturating_sub(started) <= LOAD_TIMEOUT_NS {
        return;
    }
    // SAFETY: raising an error from a hook unwinds to the resume that runs the library's code;
    // this frame holds nothing to drop. The hook then fires on every instruction, so nothing
    // the code does after catching the error gets further.
    unsafe {
        ffi::lua_sethook(state, Some(load_hook), ffi::LUA_MASKCOUNT, 1);
        ffi::lua_pushstring(state, c"FUNCTION LOAD timeout".as_ptr());
        ffi::lua_error(state);
    }
}

/// Whether the last step of a script ended because its slice was used up (and clears the mark).
pub fn take_suspended() -> bool {
    SUSPENDED.with(|suspended| suspended.replace(false))
}

unsafe extern "C-unwind" fn slice_hook(state: *mut ffi::lua_State, _: *mut ffi::lua_Debug) {
    if SLICED.with(Cell::get) != state {
        return;
    }
    // SAFETY: Lua calls the hook with a live state; setting the hook from inside it is allowed,
    // and lua_yield from a count hook is how Lua 5.1 suspends a coroutine there.
    unsafe {
        if can_yield(state) {
            ffi::lua_sethook(state, Some(slice_hook), ffi::LUA_MASKCOUNT, SLICE_INSTRUCTIONS);
            SUSPENDED.with(|suspended| suspended.set(true));
            ffi::lua_yield(state, 0);
        } else {
            ffi::lua_sethook(state, Some(slice_hook), ffi::LUA_MASKCOUNT, RETRY_INSTRUCTIONS);
        }
    }
}

/// Whether the coroutine can yield here, which Lua 5.1's API cannot tell: `lua_yield` raises an
/// error when the thread's C-call depth is above the depth it was resumed at. Both counters are
/// read from the thread's state: after the GC header and status byte, nine pointers and two
/// ints, in Lua 5.1.5's `struct lua_State` (the vendored interpreter; a unit test checks the
/// answer both ways).
unsafe fn can_yield(state: *mut ffi::lua_State) -> bool {
    const POINTER: usize = std::mem::size_of::<*const u8>();
    const HEADER: usize = (POINTER + 3).div_ceil(POINTER) * POINTER;
    const C_CALLS: usize = HEADER + 9 * POINTER + 2 * std::mem::size_of::<c_int>();
    // SAFETY: both fields are within the state, at the offsets of Lua 5.1.5's layout.
    unsafe {
        let base = state.cast::<u8>();
        let calls = base.add(C_CALLS).cast::<u16>().read_unaligned();
        let resumed_at = base.add(C_CALLS + 2).cast::<u16>().read_unaligned();
        calls <= resumed_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlua::{Function, Lua};

    /// The script's steps until it ends, each 2 when the hook suspended it, then what it returned.
    fn run_to_end(lua: &Lua, body: &str) -> (usize, i64) {
        let function: Function = lua.load(body).into_function().unwrap();
        let thread = lua.create_thread(function).unwrap();
        arm(&thread);
        let mut suspensions = 0;
        loop {
            let result: Option<i64> = thread.resume(()).unwrap();
            if take_suspended() {
                suspensions += 1;
                continue;
            }
            return (suspensions, result.unwrap_or(-1));
        }
    }

    #[test]
    fn long_scripts_are_suspended_and_short_ones_are_not() {
        let lua = Lua::new();
        assert_eq!(run_to_end(&lua, "return 7"), (0, 7));
        let (suspensions, sum) = run_to_end(&lua, "local n = 0 for i = 1, 3000000 do n = n + 1 end return n");
        assert!(suspensions >= 2, "{suspensions}");
        assert_eq!(sum, 3_000_000, "the loop went on where it was suspended");
    }

    #[test]
    fn scripts_are_not_suspended_inside_a_c_call_but_right_after_it() {
        let lua = Lua::new();
        let body = "local ok, n = pcall(function() local n = 0 for i = 1, 3000000 do n = n + 1 end return n end)
                    local m = 0 for i = 1, 10000 do m = m + 1 end
                    return n + m";
        let (suspensions, sum) = run_to_end(&lua, body);
        assert_eq!(suspensions, 1, "once, after the pcall returned");
        assert_eq!(sum, 3_010_000);
    }
}
