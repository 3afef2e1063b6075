//! Redis 7.0's functions: libraries of Lua functions loaded by FUNCTION LOAD and called by FCALL.
//! They live in a Lua interpreter of their own, apart from EVAL's, as in Redis: SCRIPT FLUSH
//! leaves them, and FUNCTION FLUSH leaves EVAL's script cache. What a library's code sees while it
//! loads is functions.lua; the commands are in `commands::functions`.

use super::compile_error;
use super::environment::Environment;
use super::library_header::{Header, read_header, valid_name};
use super::rand48::Rand48;
use mlua::{Function, RegistryKey, Table, Thread, Value};
use smallvec::SmallVec;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

const LOAD_ENVIRONMENT: &str = include_str!("functions.lua");

/// A function's flags, as bits; functions.lua sets the same bits.
pub const NO_WRITES: u8 = 1;
pub const ALLOW_OOM: u8 = 2;

/// Every flag by name, in the order FUNCTION LIST names them.
pub const FLAG_NAMES: [(&str, u8); 5] = [
    ("no-writes", NO_WRITES),
    ("allow-oom", ALLOW_OOM),
    ("allow-stale", 4),
    ("no-cluster", 8),
    ("allow-cross-slot-keys", 16),
];

/// The only engine: `#!lua` in any letter case; FUNCTION STATS names it so.
pub const ENGINE: &str = "LUA";

/// A function a library registered.
pub struct LibraryFunction {
    /// Shared with each FCALL that finds it, which keeps it for its errors.
    pub name: Rc<str>,
    pub description: Option<Vec<u8>>,
    pub flags: u8,
    /// The callback, in the interpreter's registry (FCALL finds it by the entry's number).
    key: RegistryKey,
}

/// A loaded library: its code as it was given, and its functions in the order it registered them.
pub struct Library {
    pub name: String,
    pub code: Vec<u8>,
    pub functions: Vec<LibraryFunction>,
}

/// Libraries by name (names are case-sensitive), and which library has each function.
#[derive(Default)]
struct Libraries {
    by_name: BTreeMap<String, Library>,
    /// The library of each function, by the function's lower-case name: function names are
    /// case-blind, as in Redis. (A hash map's random seed would be a WASI import the plugin's
    /// hosts do not give.)
    owners: BTreeMap<String, String>,
    /// The function FCALL found last, by its name as the client gave it: an application calls
    /// the same few functions over and over, and comparing the name is cheaper than folding its
    /// case and looking it up. Any change to the libraries forgets it.
    last_found: Option<(Vec<u8>, Found)>,
}

impl Libraries {
    /// Adds a library. Two of its functions whose names differ only in letter case (Redis lets a
    /// library have both) leave FCALL the first.
    fn insert(&mut self, library: Library) {
        self.last_found = None;
        for function in &library.functions {
            self.owners.entry(function.name.to_ascii_lowercase()).or_insert_with(|| library.name.clone());
        }
        self.by_name.insert(library.name.clone(), library);
    }

    fn remove(&mut self, name: &str) -> Option<Library> {
        self.last_found = None;
        let library = self.by_name.remove(name)?;
        for function in &library.functions {
            let lower = function.name.to_ascii_lowercase();
            if self.owners.get(&lower) == Some(&library.name) {
                self.owners.remove(&lower);
            }
        }
        Some(library)
    }

    /// The first of `library`'s functions that a library here has already.
    fn taken<'a>(&self, library: &'a Library) -> Option<&'a str> {
        library.functions.iter().find(|f| self.owners.contains_key(&f.name.to_ascii_lowercase())).map(|f| &*f.name)
    }

    /// Adds `restored`; with `replace`, in place of libraries of the same names. On an error
    /// nothing changes.
    fn join(&mut self, restored: Libraries, replace: bool) -> Result<(), String> {
        let mut replaced = Vec::new();
        let mut outcome = Ok(());
        for name in restored.by_name.keys() {
            if !self.by_name.contains_key(name) {
                continue;
            }
            if !replace {
                outcome = Err(format!("ERR Library {name} already exists"));
                break;
            }
            replaced.extend(self.remove(name));
        }
        if outcome.is_ok()
            && let Some(taken) = restored.by_name.values().find_map(|library| self.taken(library))
        {
            outcome = Err(format!("ERR Function {taken} already exists"));
        }
        if outcome.is_err() {
            replaced.into_iter().for_each(|library| self.insert(library));
            return outcome;
        }
        restored.by_name.into_values().for_each(|library| self.insert(library));
        Ok(())
    }
}

/// How FUNCTION RESTORE treats the libraries already loaded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RestorePolicy {
    /// Refuse the payload if a library of the same name is loaded (the default).
    Append,
    /// Put the payload's libraries in place of loaded ones of the same names.
    Replace,
    /// Drop every loaded library first.
    Flush,
}

/// The loaded libraries and their interpreter.
pub struct Functions {
    state: Option<State>,
    libraries: Libraries,
    /// `math.random`'s generator, which EVAL's scripts draw from too.
    generator: Rc<RefCell<Rand48>>,
}

/// The interpreter, made when the first library loads and dropped with the last one.
struct State {
    environment: Environment,
    /// functions.lua's `library_environment`: a new library's globals.
    library_environment: Function,
    /// The coroutine functions run in, reused while each ends normally.
    thread: Option<Thread>,
}

/// A function FCALL found.
#[derive(Clone)]
pub struct Found {
    /// The callback, by its reference in the interpreter's registry.
    reference: std::ffi::c_int,
    pub name: Rc<str>,
    pub flags: u8,
}

impl Functions {
    pub fn new(generator: &Rc<RefCell<Rand48>>) -> Functions {
        Functions { state: None, libraries: Libraries::default(), generator: generator.clone() }
    }

    fn state(&mut self) -> Result<&State, String> {
        if self.state.is_none() {
            let state = State::new(&self.generator).map_err(|e| format!("ERR could not start Lua: {e}"))?;
            self.state = Some(state);
        }
        self.state.as_ref().ok_or_else(|| "ERR could not start Lua".to_string())
    }

    /// FUNCTION LOAD: loads a library (in place of the one of the same name, with `replace`) and
    /// returns its name, or the error Redis answers with.
    pub fn load(&mut self, code: &[u8], replace: bool) -> Result<String, String> {
        let header = checked_header(code)?;
        let name = String::from_utf8_lossy(&header.name).into_owned();
        if !replace && self.libraries.by_name.contains_key(&name) {
            return Err(format!("ERR Library '{name}' already exists"));
        }
        let library = self.state()?.build(code, &header, name.clone())?;
        let old = self.libraries.remove(&name);
        if let Some(taken) = self.libraries.taken(&library) {
            let error = format!("ERR Function {taken} already exists");
            old.into_iter().for_each(|old| self.libraries.insert(old));
            return Err(error);
        }
        self.libraries.insert(library);
        Ok(name)
    }

    /// FUNCTION RESTORE: loads every library of a dump, all or none.
    pub fn restore(&mut self, codes: &[Vec<u8>], policy: RestorePolicy) -> Result<(), String> {
        let mut restored = Libraries::default();
        for code in codes {
            let header = checked_header(code)?;
            let name = String::from_utf8_lossy(&header.name).into_owned();
            if restored.by_name.contains_key(&name) {
                return Err(format!("ERR Library '{name}' already exists"));
            }
            let library = self.state()?.build(code, &header, name)?;
            if let Some(taken) = restored.taken(&library) {
                return Err(format!("ERR Function {taken} already exists"));
            }
            restored.insert(library);
        }
        if policy == RestorePolicy::Flush {
            self.libraries = restored;
            return Ok(());
        }
        self.libraries.join(restored, policy == RestorePolicy::Replace)
    }

    /// FUNCTION DELETE: whether there was such a library.
    pub fn delete(&mut self, name: &[u8]) -> bool {
        let deleted = std::str::from_utf8(name).ok().and_then(|name| self.libraries.remove(name)).is_some();
        self.drop_state_when_empty();
        deleted
    }

    /// FUNCTION FLUSH: every library goes, and the interpreter with them (its memory returns).
    pub fn flush(&mut self) {
        self.libraries = Libraries::default();
        self.drop_state_when_empty();
    }

    fn drop_state_when_empty(&mut self) {
        if self.libraries.by_name.is_empty() {
            self.state = None;
        }
    }

    /// The libraries, by name.
    pub fn libraries(&self) -> impl Iterator<Item = &Library> {
        self.libraries.by_name.values()
    }

    /// The function called `name` (in any letter case). FCALL asks on every call: the function
    /// found last is taken again for the same name, and otherwise nothing is allocated but the
    /// first time (the name is folded to lower case on the stack, on the heap only past 64
    /// bytes, and the function's own name is shared, not copied).
    pub fn find(&mut self, name: &[u8]) -> Option<Found> {
        let libraries = &mut self.libraries;
        if let Some((given, found)) = &libraries.last_found
            && given.as_slice() == name
        {
            return Some(found.clone());
        }
        let mut lower = SmallVec::<[u8; 64]>::from_slice(name);
        lower.make_ascii_lowercase();
        let lower = std::str::from_utf8(&lower).ok()?;
        let library = libraries.by_name.get(libraries.owners.get(lower)?)?;
        let function = library.functions.iter().find(|f| f.name.eq_ignore_ascii_case(lower))?;
        let found = Found { reference: function.key.id(), name: function.name.clone(), flags: function.flags };
        match &mut libraries.last_found {
            Some((given, last)) => {
                given.clear();
                given.extend_from_slice(name);
                *last = found.clone();
            }
            None => libraries.last_found = Some((name.to_vec(), found.clone())),
        }
        Some(found)
    }

    /// The functions' interpreter, while a library is loaded.
    pub fn environment(&self) -> Option<&Environment> {
        self.state.as_ref().map(|state| &state.environment)
    }

    /// A coroutine readied to run `function` with the keys and arguments tables of an FCALL:
    /// the last one again when it ended normally.
    pub fn thread_for(&mut self, function: &Found, keys: &[&[u8]], argv: &[&[u8]]) -> mlua::Result<Thread> {
        let state = self.state.as_mut().ok_or_else(|| mlua::Error::runtime("no function is loaded"))?;
        let thread = match &state.thread {
            Some(thread) if super::resume::reusable(thread) => thread.clone(),
            _ => {
                let thread = state.environment.hot.new_thread(&state.environment.lua)?;
                state.thread = Some(thread.clone());
                thread
            }
        };
        super::resume::ready_fcall(&state.environment.hot, &thread, function.reference, keys, argv)?;
        Ok(thread)
    }

    pub fn libraries_count(&self) -> usize {
        self.libraries.by_name.len()
    }

    pub fn functions_count(&self) -> usize {
        self.libraries().map(|library| library.functions.len()).sum()
    }

    /// The functions' interpreter's memory in bytes (INFO's `used_memory_vm_functions`).
    pub fn used_memory_vm(&self) -> usize {
        self.state.as_ref().map_or(0, |state| state.environment.lua.used_memory())
    }

    /// What the libraries take outside the interpreter: their code, names and descriptions
    /// (INFO's `used_memory_functions`).
    pub fn used_memory_overhead(&self) -> usize {
        self.libraries()
            .map(|library| {
                let functions: usize = library.functions.iter().map(|f| f.name.len() + f.description.as_ref().map_or(0, Vec::len)).sum();
                library.name.len() + library.code.len() + functions
            })
            .sum()
    }
}

/// The header of a library, checked as Redis checks it before running any of its code.
fn checked_header(code: &[u8]) -> Result<Header, String> {
    let header = read_header(code).map_err(|e| format!("ERR {e}"))?;
    if !valid_name(&header.name) {
        return Err("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
    }
    if !header.engine.eq_ignore_ascii_case(ENGINE.as_bytes()) {
        let engine = super::library_header::until_nul(&header.engine);
        return Err(format!("ERR Engine '{}' not found", String::from_utf8_lossy(engine)));
    }
    Ok(header)
}

impl State {
    fn new(generator: &Rc<RefCell<Rand48>>) -> mlua::Result<State> {
        let environment = Environment::new(generator)?;
        environment.lua.set_memory_limit(super::MEMORY_LIMIT)?;
        let api: Table = environment.lua.load(LOAD_ENVIRONMENT).set_name("=functions").call(())?;
        Ok(State { library_environment: api.get("library_environment")?, thread: None, environment })
    }

    /// Compiles a library and runs its top-level code, which registers its functions.
    fn build(&self, code: &[u8], header: &Header, name: String) -> Result<Library, String> {
        let internal = |e: mlua::Error| format!("ERR {e}");
        let (globals, registered, loaded): (Table, Table, Function) = self.library_environment.call(()).map_err(internal)?;
        let chunk = self.environment.lua.load(&code[header.code_starts_at..]).set_name("@user_function").set_environment(globals);
        let chunk = chunk.into_function().map_err(|e| format!("ERR Error compiling function: {}", compile_error(&e)))?;
        // Run in a coroutine of its own, to its end or its time limit: no slice hook suspends it.
        let thread = self.environment.lua.create_thread(chunk).map_err(internal)?;
        super::slices::limit_load(&thread);
        let outcome = self.environment.step.call::<(u8, Value)>(thread);
        loaded.call::<()>(()).map_err(internal)?;
        match outcome.map_err(internal)? {
            (0, _) => {}
            (_, error) => return Err(format!("ERR Error registering functions: {}", error_text(&error))),
        }
        let functions = registered_functions(&self.environment.lua, &registered).map_err(internal)?;
        if functions.is_empty() {
            return Err("ERR No functions registered".into());
        }
        Ok(Library { name, code: code.to_vec(), functions })
    }
}

/// The functions functions.lua recorded for a library, in order.
fn registered_functions(lua: &mlua::Lua, registered: &Table) -> mlua::Result<Vec<LibraryFunction>> {
    registered
        .sequence_values::<Table>()
        .map(|entry| {
            let entry = entry?;
            let description: Option<mlua::LuaString> = entry.get("description")?;
            let callback: Function = entry.get("callback")?;
            Ok(LibraryFunction {
                name: entry.get::<String>("name")?.into(),
                description: description.map(|d| d.as_bytes().to_vec()),
                flags: entry.get("flags")?,
                key: lua.create_registry_value(callback)?,
            })
        })
        .collect()
}

/// The text of an error raised while a library loaded (a table with `err`, see environment.lua).
fn error_text(error: &Value) -> String {
    match error {
        Value::Table(table) => match table.raw_get::<Value>("err") {
            Ok(Value::String(text)) => String::from_utf8_lossy(&text.as_bytes()).into_owned(),
            _ => "ERR unknown error".into(),
        },
        other => format!("ERR {other:?}"),
    }
}
