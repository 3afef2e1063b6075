//! `redis.call` and `redis.pcall`: a script's command goes from Lua's stack to the engine, and its
//! reply comes back as Lua values, by the rules Redis documents (RESP2 types, or RESP3 after
//! `redis.setresp(3)`). These are the hot path of every script, so they are C functions working on
//! Lua's stack directly: the arguments are read in place, the reply is parsed from the engine's
//! RESP bytes as it is pushed, and nothing goes through a Lua-to-Rust value conversion.
//!
//! Lua reports an error (out of memory, or the error `redis.call` raises) by unwinding past the C
//! function, so the part that pushes values holds nothing that needs dropping: the reply buffer
//! is lent to it as a `ManuallyDrop`, and is only lost if Lua unwinds while it is lent.

use crate::commands::{digits_value, signed};
use crate::resp::G17;
use mlua::ffi;
use smallvec::SmallVec;
use std::cell::Cell;
use std::ffi::c_int;
use std::mem::ManuallyDrop;

/// What runs a script's commands: the engine's dispatch, with the script's context.
pub trait CommandRunner {
    /// Runs `args` and appends its reply to `reply`, in RESP3 when `resp3`. An `Err` is the error
    /// text refusing the command before it runs (unknown, not allowed from scripts...).
    fn run(&mut self, args: &[&[u8]], resp3: bool, reply: &mut Vec<u8>) -> Result<(), &'static str>;
}

thread_local! {
    /// The runner of the script running now (see [`with_runner`]).
    static RUNNER: Cell<Option<*mut dyn CommandRunner>> = const { Cell::new(None) };
    /// Whether the running script asked for RESP3 replies (`redis.setresp(3)`).
    static RESP3: Cell<bool> = const { Cell::new(false) };
    /// The buffer replies are written to and read back from, kept from call to call.
    static REPLY: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    /// Numbers given as arguments, formatted as Redis formats them.
    static NUMBERS: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` (a script's step) with `runner` taking the script's commands.
pub fn with_runner<R>(runner: &mut dyn CommandRunner, f: impl FnOnce() -> R) -> R {
    // SAFETY: the pointer is only used by `redis.call` while `f` runs, within `runner`'s borrow;
    // the lifetime is erased to keep it in the thread-local, and the guard clears it after.
    let erased: *mut (dyn CommandRunner + 'static) = unsafe { std::mem::transmute(runner as *mut dyn CommandRunner) };
    let previous = RUNNER.with(|slot| slot.replace(Some(erased)));
    struct Restore(Option<*mut dyn CommandRunner>);
    impl Drop for Restore {
        fn drop(&mut self) {
            RUNNER.with(|slot| slot.set(self.0));
        }
    }
    let _restore = Restore(previous);
    f()
}

/// Whether the running script uses RESP3 (`redis.setresp`); false when a script starts.
pub fn script_resp3() -> bool {
    RESP3.with(Cell::get)
}

pub fn set_script_resp3(resp3: bool) {
    RESP3.with(|flag| flag.set(resp3));
}

/// `redis.call`: raises the command's error.
pub unsafe extern "C-unwind" fn redis_call(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state.
    unsafe { call(state, true) }
}

/// `redis.pcall`: returns the command's error as a table.
pub unsafe extern "C-unwind" fn redis_pcall(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: as for redis_call.
    unsafe { call(state, false) }
}

/// What running a script's command gave, before anything is pushed.
enum Ran {
    Reply(ManuallyDrop<Vec<u8>>),
    Refused(&'static str),
}

unsafe fn call(state: *mut ffi::lua_State, raise: bool) -> c_int {
    // SAFETY: `run` only reads the arguments on the stack; what follows pushes values, with
    // nothing to drop in this frame if Lua unwinds.
    unsafe {
        let ran = run(state);
        let failed = match &ran {
            Ran::Refused(text) => {
                push_error_table(state, text.as_bytes());
                true
            }
            Ran::Reply(reply) => push_reply(state, reply, script_resp3()),
        };
        if let Ran::Reply(reply) = ran {
            REPLY.with(|slot| slot.set(ManuallyDrop::into_inner(reply)));
        }
        if failed && raise { ffi::lua_error(state) } else { 1 }
    }
}

/// Reads the arguments on the stack and runs the command.
unsafe fn run(state: *mut ffi::lua_State) -> Ran {
    let Some(runner) = RUNNER.with(Cell::get) else { return Ran::Refused("ERR redis.call is only available while a script runs") };
    let mut numbers = NUMBERS.with(Cell::take);
    numbers.clear();
    let mut reply = REPLY.with(Cell::take);
    reply.clear();
    let outcome = {
        // SAFETY: the strings read stay on the stack, so alive, until this function returns.
        match unsafe { arguments(state, &mut numbers) } {
            // SAFETY: the runner outlives the script's step (see `with_runner`).
            Ok(args) => unsafe { (*runner).run(&args, script_resp3(), &mut reply) },
            Err(text) => Err(text),
        }
    };
    NUMBERS.with(|slot| slot.set(numbers));
    match outcome {
        Ok(()) => Ran::Reply(ManuallyDrop::new(reply)),
        Err(text) => {
            REPLY.with(|slot| slot.set(reply));
            Ran::Refused(text)
        }
    }
}

/// The command line: strings as they are, numbers as Redis prints them (`%.17g`).
unsafe fn arguments<'a>(state: *mut ffi::lua_State, numbers: &'a mut Vec<u8>) -> Result<SmallVec<[&'a [u8]; 8]>, &'static str> {
    // SAFETY: indexes 1..=top are the call's arguments.
    unsafe {
        let count = ffi::lua_gettop(state);
        if count == 0 {
            return Err("ERR Please specify at least one argument for this redis lib call");
        }
        let mut number_ends = SmallVec::<[(c_int, usize, usize); 4]>::new();
        for index in 1..=count {
            match ffi::lua_type(state, index) {
                ffi::LUA_TSTRING => {}
                ffi::LUA_TNUMBER => {
                    let start = numbers.len();
                    numbers.extend_from_slice(G17::new(ffi::lua_tonumber(state, index)).as_bytes());
                    number_ends.push((index, start, numbers.len()));
                }
                _ => return Err("ERR Lua redis lib command arguments must be strings or integers"),
            }
        }
        let numbers: &'a [u8] = numbers;
        let mut args = SmallVec::with_capacity(count as usize);
        let mut next_number = number_ends.iter().peekable();
        for index in 1..=count {
            if let Some(&&(at, start, end)) = next_number.peek()
                && at == index
            {
                args.push(&numbers[start..end]);
                next_number.next();
                continue;
            }
            let mut len = 0;
            let text = ffi::lua_tolstring(state, index, &mut len);
            args.push(std::slice::from_raw_parts(text.cast::<u8>(), len));
        }
        Ok(args)
    }
}

/// Pushes the Lua value of the reply in `bytes` (one whole RESP reply). Returns whether it was an
/// error (pushed as `{err = text}`).
unsafe fn push_reply(state: *mut ffi::lua_State, bytes: &[u8], resp3: bool) -> bool {
    let mut at = 0;
    let failed = bytes.first() == Some(&b'-');
    // SAFETY: the caller's frame holds nothing to drop; pushes stay within checked stack space.
    unsafe { push_value(state, bytes, &mut at, resp3, 0) };
    failed
}

/// Replies nested deeper than this are cut off (the engine gives none so deep).
const MAX_DEPTH: usize = 64;

/// The top level needs no check of the stack's room: a C function (here `redis.call`) starts with
/// `LUA_MINSTACK` (20) free slots, and a value takes at most three before its elements are pushed.
unsafe fn push_value(state: *mut ffi::lua_State, bytes: &[u8], at: &mut usize, resp3: bool, depth: usize) {
    // SAFETY: see push_reply.
    unsafe {
        if depth > MAX_DEPTH || *at >= bytes.len() || (depth > 0 && ffi::lua_checkstack(state, 4) == 0) {
            ffi::lua_pushnil(state);
            return;
        }
        let kind = bytes[*at];
        let line = next_line(bytes, at);
        match kind {
            b'+' => push_single(state, c"ok", |state| push_bytes(state, line)),
            b'-' => push_single(state, c"err", |state| push_bytes(state, line)),
            b':' => ffi::lua_pushnumber(state, parse_int(line) as f64),
            b'$' | b'=' => {
                let Ok(len) = usize::try_from(parse_int(line)) else {
                    null(state, resp3);
                    return;
                };
                let body = &bytes[(*at).min(bytes.len())..(*at + len).min(bytes.len())];
                *at += len + 2;
                if kind == b'=' {
                    push_verbatim(state, body);
                } else {
                    push_bytes(state, body);
                }
            }
            b'_' => null(state, resp3),
            b',' => push_single(state, c"double", |state| ffi::lua_pushnumber(state, parse_double(line))),
            b'#' => ffi::lua_pushboolean(state, c_int::from(line == b"t")),
            b'(' => push_single(state, c"big_number", |state| push_bytes(state, line)),
            b'*' | b'>' => match usize::try_from(parse_int(line)) {
                Ok(count) => push_array(state, bytes, at, resp3, depth, count),
                Err(_) => null(state, resp3),
            },
            b'%' => {
                let count = usize::try_from(parse_int(line)).unwrap_or(0);
                push_single(state, c"map", |state| push_pairs(state, bytes, at, resp3, depth, count, false));
            }
            b'~' => {
                let count = usize::try_from(parse_int(line)).unwrap_or(0);
                push_single(state, c"set", |state| push_pairs(state, bytes, at, resp3, depth, count, true));
            }
            _ => ffi::lua_pushnil(state),
        }
    }
}

/// An array: a table of its elements from 1 on.
unsafe fn push_array(state: *mut ffi::lua_State, bytes: &[u8], at: &mut usize, resp3: bool, depth: usize, count: usize) {
    // SAFETY: see push_reply.
    unsafe {
        ffi::lua_createtable(state, c_int::try_from(count).unwrap_or(0), 0);
        for index in 1..=count {
            push_value(state, bytes, at, resp3, depth + 1);
            ffi::lua_rawseti(state, -2, index as _);
        }
    }
}

/// A map's pairs (or a set's members, each set to true) into a new table; nil keys are dropped.
unsafe fn push_pairs(state: *mut ffi::lua_State, bytes: &[u8], at: &mut usize, resp3: bool, depth: usize, count: usize, set: bool) {
    // SAFETY: see push_reply.
    unsafe {
        ffi::lua_createtable(state, 0, 0);
        for _ in 0..count {
            push_value(state, bytes, at, resp3, depth + 1);
            if set {
                ffi::lua_pushboolean(state, 1);
            } else {
                push_value(state, bytes, at, resp3, depth + 1);
            }
            if ffi::lua_type(state, -2) == ffi::LUA_TNIL {
                ffi::lua_settop(state, -3);
            } else {
                ffi::lua_rawset(state, -3);
            }
        }
    }
}

/// `{verbatim_string = {format = ..., string = ...}}` from `fmt:text`.
unsafe fn push_verbatim(state: *mut ffi::lua_State, body: &[u8]) {
    let (format, text) = if body.len() >= 4 && body[3] == b':' { (&body[..3], &body[4..]) } else { (&b""[..], body) };
    // SAFETY: see push_reply.
    unsafe {
        push_single(state, c"verbatim_string", |state| {
            ffi::lua_createtable(state, 0, 2);
            push_bytes(state, format);
            ffi::lua_setfield(state, -2, c"format".as_ptr());
            push_bytes(state, text);
            ffi::lua_setfield(state, -2, c"string".as_ptr());
        });
    }
}

/// A table with one field, `{name = value}`, the value pushed by `value`.
unsafe fn push_single(state: *mut ffi::lua_State, name: &std::ffi::CStr, value: impl FnOnce(*mut ffi::lua_State)) {
    // SAFETY: see push_reply.
    unsafe {
        ffi::lua_createtable(state, 0, 1);
        value(state);
        ffi::lua_setfield(state, -2, name.as_ptr());
    }
}

/// `{err = text}`, the error `redis.call` raises and `redis.pcall` returns.
unsafe fn push_error_table(state: *mut ffi::lua_State, text: &[u8]) {
    // SAFETY: see push_reply.
    unsafe { push_single(state, c"err", |state| push_bytes(state, text)) }
}

/// A null: nil for a RESP3 script, false in RESP2.
unsafe fn null(state: *mut ffi::lua_State, resp3: bool) {
    // SAFETY: see push_reply.
    unsafe {
        if resp3 {
            ffi::lua_pushnil(state);
        } else {
            ffi::lua_pushboolean(state, 0);
        }
    }
}

unsafe fn push_bytes(state: *mut ffi::lua_State, bytes: &[u8]) {
    // SAFETY: Lua copies the bytes.
    unsafe { ffi::lua_pushlstring(state, bytes.as_ptr().cast(), bytes.len()) };
}

/// The rest of the line at `at` after its type byte, moving `at` past its CRLF.
fn next_line<'a>(bytes: &'a [u8], at: &mut usize) -> &'a [u8] {
    let start = (*at + 1).min(bytes.len());
    let mut end = start;
    loop {
        match bytes[end..].iter().position(|&b| b == b'\r') {
            Some(i) if bytes.get(end + i + 1) == Some(&b'\n') => {
                end += i;
                break;
            }
            Some(i) => end += i + 1,
            None => {
                end = bytes.len();
                break;
            }
        }
    }
    *at = end + 2;
    &bytes[start..end]
}

/// A reply's integer (or length); 0 for what is not one.
fn parse_int(text: &[u8]) -> i64 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let value = digits_value(digits).and_then(|magnitude| signed(negative, magnitude));
    value.unwrap_or_else(|| std::str::from_utf8(text).ok().and_then(|t| t.parse().ok()).unwrap_or(0))
}

fn parse_double(text: &[u8]) -> f64 {
    std::str::from_utf8(text).ok().and_then(|t| t.parse().ok()).unwrap_or(0.0)
}

/// Pushes a new array of the strings `items` (in a protected call: it allocates).
pub(super) unsafe fn push_strings(state: *mut ffi::lua_State, items: &[&[u8]]) {
    unsafe {
        ffi::lua_createtable(state, items.len().try_into().unwrap_or(0), 0);
        fill_strings(state, ffi::lua_gettop(state), items);
    }
}

/// Sets the strings `items` at 1, 2, ... of the table at stack index `table` (an absolute index;
/// in a protected call: it allocates).
pub(super) unsafe fn fill_strings(state: *mut ffi::lua_State, table: c_int, items: &[&[u8]]) {
    unsafe {
        for (i, item) in items.iter().enumerate() {
            ffi::lua_pushlstring(state, item.as_ptr().cast(), item.len());
            ffi::lua_rawseti(state, table, (i + 1) as _);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_lines_and_integers_are_read_as_written() {
        for (text, value) in [(&b"0"[..], 0), (b"42", 42), (b"-1", -1), (b"9223372036854775807", i64::MAX), (b"-9223372036854775808", i64::MIN), (b"", 0), (b"12x", 0), (b"99999999999999999999", 0)] {
            assert_eq!(parse_int(text), value, "{}", String::from_utf8_lossy(text));
        }
        let bytes = b"+a\rb\r\n:7\r\n";
        let mut at = 0;
        assert_eq!(next_line(bytes, &mut at), b"a\rb", "a lone CR stays in the line");
        assert_eq!(next_line(bytes, &mut at), b"7");
        assert_eq!(at, bytes.len());
    }
}
