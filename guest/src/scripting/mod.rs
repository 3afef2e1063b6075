//! Lua scripting's state: one Lua interpreter per engine, made on first use, and the scripts it
//! has compiled, by their SHA-1 (EVAL's script cache). Running a script against the keyspace is
//! the commands' part (`commands::scripting`); this module knows Lua, not commands.

mod convert;
mod environment;
mod function_dump;
mod functions;
mod library_header;
mod lzf;
mod rand48;

use rand48::Rand48;
use std::cell::RefCell;
use std::rc::Rc;

pub use convert::{number_argument, reply_to_lua, write_reply};
pub use environment::{Environment, set_command_runner, sha1_hex};
pub use function_dump::{decode as decode_function_dump, encode as encode_function_dump};
pub use functions::{ALLOW_OOM, ENGINE, FLAG_NAMES, Functions, Library, NO_WRITES, RestorePolicy};

use foldhash::fast::FixedState;
use mlua::Function;
use std::collections::HashMap;

/// A compiled script and its name.
#[derive(Clone)]
pub struct Script {
    pub sha: String,
    pub function: Function,
}

pub struct Scripts {
    state: Option<State>,
    /// `math.random`'s generator, kept across SCRIPT FLUSH as Redis keeps it.
    generator: Rc<RefCell<Rand48>>,
    /// FUNCTION's libraries, in an interpreter of their own.
    pub functions: Functions,
}

impl Default for Scripts {
    fn default() -> Self {
        let generator = Rc::default();
        Scripts { state: None, functions: Functions::new(&generator), generator }
    }
}

struct State {
    environment: Environment,
    /// Compiled scripts by lower-case SHA-1 (a fixed hasher: the names are hashes already).
    cache: HashMap<String, Function, FixedState>,
}

impl Scripts {
    /// The interpreter, made the first time a script needs it.
    pub fn environment(&mut self) -> Result<&Environment, String> {
        Ok(&self.state()?.environment)
    }

    fn state(&mut self) -> Result<&mut State, String> {
        if self.state.is_none() {
            let environment = Environment::new(&self.generator).map_err(|e| format!("ERR could not start Lua: {e}"))?;
            self.state = Some(State { environment, cache: HashMap::default() });
        }
        self.state.as_mut().ok_or_else(|| "ERR could not start Lua".to_string())
    }

    /// Compiles `body` unless it is cached already, and caches it (EVAL, SCRIPT LOAD). The error
    /// is the reply Redis gives for a script that does not compile.
    pub fn load(&mut self, body: &[u8]) -> Result<Script, String> {
        let sha = sha1_hex(body);
        let state = self.state()?;
        if let Some(function) = state.cache.get(&sha) {
            return Ok(Script { sha, function: function.clone() });
        }
        let compiled = state.environment.lua.load(body).set_name("@user_script").into_function();
        let function = compiled.map_err(|e| format!("ERR Error compiling script (new function): {}", compile_error(&e)))?;
        state.cache.insert(sha.clone(), function.clone());
        Ok(Script { sha, function })
    }

    /// The cached script named `sha` (in any letter case), for EVALSHA.
    pub fn find(&mut self, sha: &[u8]) -> Option<Script> {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        let function = self.state.as_ref()?.cache.get(&sha)?.clone();
        Some(Script { sha, function })
    }

    /// Whether a script named `sha` is cached (SCRIPT EXISTS).
    pub fn exists(&self, sha: &[u8]) -> bool {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        self.state.as_ref().is_some_and(|state| state.cache.contains_key(&sha))
    }

    /// Forgets every script and the interpreter with them (SCRIPT FLUSH): its memory returns.
    pub fn flush(&mut self) {
        self.state = None;
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
