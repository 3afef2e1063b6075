//! Lua scripting's state: one Lua interpreter per engine, made on first use, and the scripts it
//! has compiled, by their SHA-1 (EVAL's script cache). Running a script against the keyspace is
//! the commands' part (`commands::scripting`); this module knows Lua, not commands.

mod calls;
mod convert;
mod environment;
mod function_dump;
mod functions;
mod libraries;
mod library_header;
mod lzf;
mod rand48;
mod resume;
mod slices;

use rand48::Rand48;
use std::cell::RefCell;
use std::rc::Rc;

pub use calls::{CommandRunner, script_resp3, set_script_resp3, with_runner};
pub use resume::{Resumed, outcome, resume};
pub use convert::write_reply;
pub use environment::Environment;
#[cfg(test)]
pub use environment::sha1_hex;
pub use function_dump::{decode as decode_function_dump, encode as encode_function_dump};
pub use functions::{ALLOW_OOM, ENGINE, FLAG_NAMES, Functions, Library, NO_WRITES, RestorePolicy};
pub use slices::{arm, disarm, take_suspended};

use crate::session::Session;
use crate::time::Now;
use foldhash::fast::FixedState;
use mlua::{RegistryKey, Thread};
use std::collections::HashMap;

/// The most memory the interpreter may hold, scripts' data included. Redis sets no such bound; in
/// cachet a script's memory is the engine's, shared with the keyspace, so one script cannot take
/// it all.
pub const MEMORY_LIMIT: usize = 256 * 1024 * 1024;

/// A compiled script and its name.
#[derive(Clone, Copy)]
pub struct Script {
    pub sha: Sha,
    /// The script's function, by its reference in the interpreter's registry.
    reference: std::ffi::c_int,
}

/// A script's name: its SHA-1 in lower-case hexadecimal, kept inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sha([u8; 40]);

impl Sha {
    /// The name of the script `body`.
    pub(crate) fn of(body: &[u8]) -> Sha {
        Sha::named(body).1
    }

    /// The digest of `body` and its name.
    fn named(body: &[u8]) -> (Digest, Sha) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = sha1_smol::Sha1::from(body).digest().bytes();
        let mut name = [0; 40];
        for (pair, byte) in name.chunks_exact_mut(2).zip(digest) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0xf)];
        }
        (Digest::of(&digest), Sha(name))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// A script's SHA-1 as three numbers, the script cache's key: EVALSHA looks one up on every call,
/// and numbers compare and hash in a few instructions where 40 characters take a loop.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Digest(u64, u64, u32);

impl Digest {
    fn of(bytes: &[u8; 20]) -> Digest {
        let mut words = [0u64; 3];
        for (at, byte) in bytes.iter().enumerate() {
            words[at / 8] = (words[at / 8] << 8) | u64::from(*byte);
        }
        Digest(words[0], words[1], words[2] as u32)
    }

    /// The digest `name` spells, when it can be a script's name (40 hexadecimal digits, any case).
    fn parse(name: &[u8]) -> Option<Digest> {
        let name: &[u8; 40] = name.try_into().ok()?;
        let (first, rest) = name.split_first_chunk::<16>()?;
        let (second, rest) = rest.split_first_chunk::<16>()?;
        let third = rest.first_chunk::<8>()?;
        Some(Digest(hex_number(first)?, hex_number(second)?, hex_number(third)? as u32))
    }
}

/// The number up to 16 hexadecimal digits (any case) spell. Every digit is read, with no early
/// exit, so that the loop unrolls for a name's fixed-size pieces.
fn hex_number<const N: usize>(digits: &[u8; N]) -> Option<u64> {
    let mut number = 0;
    let mut invalid = 0;
    for &digit in digits {
        let value = HEX_VALUES[usize::from(digit)];
        invalid |= value;
        number = (number << 4) | u64::from(value & 0x0f);
    }
    (invalid < 16).then_some(number)
}

/// Each byte's value as a hexadecimal digit; 16 and up for bytes that are not one.
const HEX_VALUES: [u8; 256] = {
    let mut values = [u8::MAX; 256];
    let mut byte = 0;
    while byte < 256 {
        values[byte] = match byte as u8 {
            digit @ b'0'..=b'9' => digit - b'0',
            digit @ b'a'..=b'f' => digit - b'a' + 10,
            digit @ b'A'..=b'F' => digit - b'A' + 10,
            _ => u8::MAX,
        };
        byte += 1;
    }
    values
};

impl std::hash::Hash for Digest {
    /// A SHA-1's first 64 bits are as good a hash as its whole.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

impl std::fmt::Display for Sha {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub struct Scripts {
    state: Option<State>,
    /// `math.random`'s generator, kept across SCRIPT FLUSH as Redis keeps it.
    generator: Rc<RefCell<Rand48>>,
    /// The script suspended between two slices, if one is.
    pub running: Option<Running>,
    /// The script being run has run a write command: SCRIPT KILL can no longer stop it.
    pub wrote: bool,
    /// FUNCTION's libraries, in an interpreter of their own.
    pub functions: Functions,
}

impl Default for Scripts {
    fn default() -> Self {
        let generator = Rc::default();
        Scripts { state: None, functions: Functions::new(&generator), generator, running: None, wrote: false }
    }
}

struct State {
    environment: Environment,
    /// Compiled scripts, in the interpreter's registry, and their names, by SHA-1 (a fixed hasher:
    /// the names are hashes already).
    cache: HashMap<Digest, (RegistryKey, Sha), FixedState>,
    /// Bytes of the cached scripts' bodies and names (INFO's `used_memory_scripts_eval`).
    cached_bytes: usize,
    /// The coroutine scripts run in, reused while each ends normally.
    thread: Option<Thread>,
    /// The script EVALSHA found last: an application calls the same few scripts over and over,
    /// and the name as the client sent it compares in a few instructions where parsing and
    /// hashing it takes hundreds. (Scripts leave the cache only all together, with this.)
    last_found: Option<Script>,
}

/// Which interpreter a script runs in: EVAL's, or the one FUNCTION's libraries live in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Interpreter {
    Eval,
    Functions,
}

/// How a script or function runs, from its start to its end.
#[derive(Clone, Copy)]
pub struct Mode {
    pub interpreter: Interpreter,
    /// Write commands are refused (EVAL_RO, FCALL_RO, a `no-writes` function).
    pub read_only: bool,
    /// A function flagged `allow-oom`: its commands run even over `maxmemory`.
    pub allow_oom: bool,
}

/// A script suspended at the end of a slice, and what the engine keeps for it until it ends.
pub struct Running {
    pub thread: Thread,
    /// The script's SHA-1, or the function's name: what its errors name.
    pub sha: String,
    /// The command that started it (FUNCTION STATS shows a function's).
    pub command: Vec<Vec<u8>>,
    /// The connection that ran it.
    pub owner: u64,
    /// When it started: the time its commands see, frozen for the whole script as in Redis.
    pub started: Now,
    /// The owner's database and EXEC flag before the script, given back when it ends.
    pub saved_db: usize,
    pub saved_in_exec: bool,
    pub mode: Mode,
    /// SCRIPT KILL stopped it: it is not resumed again.
    pub killed: bool,
    /// Connections whose commands wait for the script's end, in the order they came.
    pub held: Vec<u64>,
    /// The owner's session once its connection closed: the script runs to its end, unanswered.
    pub orphan: Option<Box<Session>>,
}

impl Running {
    /// Whether it has run for `threshold_ms` or more: other clients get `-BUSY` instead of waiting.
    pub fn is_busy(&self, now: Now, threshold_ms: u64) -> bool {
        now.mono_ns.saturating_sub(self.started.mono_ns) >= threshold_ms.saturating_mul(1_000_000)
    }

    pub fn hold(&mut self, connection: u64) {
        if !self.held.contains(&connection) {
            self.held.push(connection);
        }
    }
}

impl Scripts {
    /// The interpreter, made the first time a script needs it.
    pub fn environment(&mut self) -> Result<&Environment, String> {
        Ok(&self.state()?.environment)
    }

    /// EVAL's interpreter or the functions' one.
    pub fn environment_of(&mut self, interpreter: Interpreter) -> Result<&Environment, String> {
        match interpreter {
            Interpreter::Eval => self.environment(),
            Interpreter::Functions => self.functions.environment().ok_or_else(|| "ERR no function is loaded".to_string()),
        }
    }

    fn state(&mut self) -> Result<&mut State, String> {
        if self.state.is_none() {
            let environment = Environment::new(&self.generator).map_err(|e| format!("ERR could not start Lua: {e}"))?;
            // A script that allocates past the cap gets Lua's "not enough memory" error.
            environment.lua.set_memory_limit(MEMORY_LIMIT).map_err(|e| format!("ERR could not start Lua: {e}"))?;
            self.state = Some(State { environment, cache: HashMap::default(), cached_bytes: 0, thread: None, last_found: None });
        }
        self.state.as_mut().ok_or_else(|| "ERR could not start Lua".to_string())
    }

    /// Compiles `body` unless it is cached already, and caches it (EVAL, SCRIPT LOAD). The error
    /// is the reply Redis gives for a script that does not compile.
    pub fn load(&mut self, body: &[u8]) -> Result<Script, String> {
        let (digest, sha) = Sha::named(body);
        let state = self.state()?;
        if let Some((key, _)) = state.cache.get(&digest) {
            return Ok(Script { sha, reference: key.id() });
        }
        let compiled = state.environment.lua.load(body).set_name("@user_script").into_function();
        let function = compiled.map_err(|e| format!("ERR Error compiling script (new function): {}", compile_error(&e)))?;
        let key = state.environment.lua.create_registry_value(function).map_err(|e| format!("ERR {e}"))?;
        let reference = key.id();
        state.cached_bytes += body.len() + sha.as_str().len();
        state.cache.insert(digest, (key, sha));
        Ok(Script { sha, reference })
    }

    /// The cached script named `sha` (in any letter case), for EVALSHA.
    pub fn find(&mut self, sha: &[u8]) -> Option<Script> {
        let state = self.state.as_mut()?;
        if let Some(last) = state.last_found
            && last.sha.0 == sha
        {
            return Some(last);
        }
        let (key, sha) = state.cache.get(&Digest::parse(sha)?)?;
        let found = Script { sha: *sha, reference: key.id() };
        state.last_found = Some(found);
        Some(found)
    }

    /// Whether a script named `sha` is cached (SCRIPT EXISTS).
    pub fn exists(&self, sha: &[u8]) -> bool {
        let Some(digest) = Digest::parse(sha) else { return false };
        self.state.as_ref().is_some_and(|state| state.cache.contains_key(&digest))
    }

    /// A coroutine readied to run `script` with the globals KEYS and ARGV set to `keys` and
    /// `argv`: the last one again when it ended normally.
    pub fn thread_for(&mut self, script: &Script, keys: &[&[u8]], argv: &[&[u8]]) -> mlua::Result<Thread> {
        let state = self.state().map_err(mlua::Error::runtime)?;
        let thread = match &state.thread {
            Some(thread) if resume::reusable(thread) => thread.clone(),
            _ => {
                let thread = state.environment.hot.new_thread(&state.environment.lua)?;
                state.thread = Some(thread.clone());
                thread
            }
        };
        resume::ready_eval(&state.environment.hot, &thread, script.reference, keys, argv)?;
        Ok(thread)
    }

    /// Forgets every script and the interpreter with them (SCRIPT FLUSH): its memory returns.
    pub fn flush(&mut self) {
        self.state = None;
    }

    /// Bytes of the cached scripts themselves, their bodies and names.
    pub fn cached_bytes(&self) -> usize {
        self.state.as_ref().map_or(0, |state| state.cached_bytes)
    }

    /// How many scripts are cached (INFO's `number_of_cached_scripts`).
    pub fn len(&self) -> usize {
        self.state.as_ref().map_or(0, |state| state.cache.len())
    }

    /// The interpreter's memory in bytes (INFO's `used_memory_lua`).
    pub fn used_memory(&self) -> usize {
        self.state.as_ref().map_or(0, |state| state.environment.lua.used_memory())
    }
}

/// The message of a compile error, without what mlua adds around Lua's own text.
fn compile_error(error: &mlua::Error) -> String {
    match error {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_is_named_by_its_sha1_in_lower_case_and_found_in_any_case() {
        let (digest, sha) = Sha::named(b"return 1");
        assert_eq!(sha.as_str(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
        assert!(Digest::parse(sha.as_str().as_bytes()) == Some(digest));
        assert!(Digest::parse(sha.as_str().to_ascii_uppercase().as_bytes()) == Some(digest));
        assert!(Digest::parse(b"E0e1F9fabfc9d4800c877a703b823ac0578ff8dB") == Some(digest));
        assert!(Digest::parse(b"e0e1f9fabfc9d4800c877a703b823ac0578ff8dc") != Some(digest));
        assert!(Digest::parse(&sha.as_str().as_bytes()[1..]).is_none());
        for bad in [&b"x0e1f9fabfc9d4800c877a703b823ac0578ff8db"[..], b"e0e1f9fabfc9d4800c877a703b823ac0578ff8dg", b"e0e1f9fabfc9d4800c877a703b823ac0578ff8d:"] {
            assert!(Digest::parse(bad).is_none(), "{}", String::from_utf8_lossy(bad));
        }
        for position in 0..40 {
            for byte in (0..=u8::MAX).filter(|byte| !byte.is_ascii_hexdigit()) {
                let mut name = *b"e0e1f9fabfc9d4800c877a703b823ac0578ff8db";
                name[position] = byte;
                assert!(Digest::parse(&name).is_none(), "{byte} at {position}");
            }
        }
    }

    #[test]
    fn the_script_found_last_is_found_again_by_name_until_the_cache_is_flushed() {
        let mut scripts = Scripts::default();
        let one = scripts.load(b"return 1").ok().expect("compiles");
        let two = scripts.load(b"return 2").ok().expect("compiles");
        let reference = |found: Option<Script>| found.map(|script| script.reference);
        for name in [one.sha, one.sha, two.sha, two.sha, one.sha] {
            let expected = if name == one.sha { one.reference } else { two.reference };
            assert_eq!(reference(scripts.find(name.as_str().as_bytes())), Some(expected));
            assert_eq!(reference(scripts.find(name.as_str().to_ascii_uppercase().as_bytes())), Some(expected));
        }
        let mut near = one.sha.0;
        near[39] ^= 1;
        assert!(scripts.find(&near).is_none(), "a name one letter off is another script");
        scripts.flush();
        assert!(scripts.find(one.sha.as_str().as_bytes()).is_none(), "a flushed script is gone");
    }
}
