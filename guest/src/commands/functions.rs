//! FUNCTION and FCALL: Redis 7.0's libraries of Lua functions. A function runs as an EVAL script
//! does (see [`run_thread`]: in slices, atomically), with its keys and arguments as its two
//! parameters; the libraries and their interpreter are in [`crate::scripting::Functions`].

use super::scripting::{kill, run_thread};
use super::{Command, Ctx, Flag, OOM, is, make_room, parse_i64, truncated};
use crate::glob;
use crate::scripting::{
    ALLOW_OOM, ENGINE, FLAG_NAMES, Interpreter, Library, Mode, NO_WRITES, RestorePolicy, decode_function_dump, encode_function_dump,
};

const FCALL: &[Flag] = &[Flag::NoScript, Flag::Stale, Flag::MovableKeys];
const FCALL_RO: &[Flag] = &[Flag::ReadOnly, Flag::NoScript, Flag::Stale, Flag::MovableKeys];
const WRITES: &[Flag] = &[Flag::Write, Flag::NoScript];
const WRITES_MEMORY: &[Flag] = &[Flag::Write, Flag::DenyOom, Flag::NoScript];

pub const COMMANDS: &[Command] = &[
    Command::new("fcall", -3, fcall).flags(FCALL).counted_keys(2).group("scripting")
        .doc("Invoke a function", "7.0.0", "Depends on the function that is executed.", "function numkeys [key [key ...]] [arg [arg ...]]"),
    Command::new("fcall_ro", -3, fcall_ro).flags(FCALL_RO).counted_keys(2).group("scripting")
        .doc("Invoke a read-only function", "7.0.0", "Depends on the function that is executed.", "function numkeys [key [key ...]] [arg [arg ...]]"),
    Command::new("function", -2, super::subcommand_required).group("scripting")
        .doc("A container for function commands", "7.0.0", "Depends on subcommand.", "")
        .subcommands(&[
            Command::new("function|delete", 3, function_delete).flags(WRITES).group("scripting")
                .doc("Delete a function by name", "7.0.0", "O(1)", "library-name"),
            Command::new("function|dump", 2, function_dump).flags(&[Flag::NoScript]).group("scripting")
                .doc("Dump all functions into a serialized binary payload", "7.0.0", "O(N) where N is the number of functions", ""),
            Command::new("function|flush", -2, function_flush).flags(WRITES).group("scripting")
                .doc("Deleting all functions", "7.0.0", "O(N) where N is the number of functions deleted", "[ASYNC|SYNC]"),
            Command::new("function|help", 2, function_help).flags(&[Flag::Loading, Flag::Stale]).group("scripting")
                .doc("Show helpful text about the different subcommands", "7.0.0", "O(1)", ""),
            Command::new("function|kill", 2, function_kill).flags(&[Flag::NoScript, Flag::AllowBusy]).group("scripting")
                .doc("Kill the function currently in execution.", "7.0.0", "O(1)", ""),
            Command::new("function|list", -2, function_list).flags(&[Flag::NoScript]).group("scripting")
                .doc("List information about all the functions", "7.0.0", "O(N) where N is the number of functions", "[LIBRARYNAME library-name-pattern] [WITHCODE]"),
            Command::new("function|load", -3, function_load).flags(WRITES_MEMORY).group("scripting")
                .doc("Create a function with the given arguments (name, code, description)", "7.0.0", "O(1) (considering compilation time is redundant)", "[REPLACE] function-code"),
            Command::new("function|restore", -3, function_restore).flags(WRITES_MEMORY).group("scripting")
                .doc("Restore all the functions on the given payload", "7.0.0", "O(N) where N is the number of functions on the payload", "serialized-value [FLUSH|APPEND|REPLACE]"),
            Command::new("function|stats", 2, function_stats).flags(&[Flag::NoScript, Flag::AllowBusy]).group("scripting")
                .doc("Return information about the function currently running (name, description, duration)", "7.0.0", "O(1)", ""),
        ]),
];

fn fcall(ctx: &mut Ctx, args: &[&[u8]]) {
    call(ctx, args, false);
}

fn fcall_ro(ctx: &mut Ctx, args: &[&[u8]]) {
    call(ctx, args, true);
}

/// FCALL and FCALL_RO, checked in Redis's order: the function, memory (Redis refuses a function
/// that may write before it runs), the key count, then FCALL_RO's rule.
fn call(ctx: &mut Ctx, args: &[&[u8]], read_only_command: bool) {
    let Some(function) = ctx.scripts.functions.find(args[1]) else {
        return ctx.reply.error("ERR Function not found");
    };
    let may_write = function.flags & NO_WRITES == 0;
    if may_write && function.flags & ALLOW_OOM == 0 && !make_room(ctx) {
        return ctx.reply.error(OOM);
    }
    let Some(numkeys) = parse_i64(args[2]) else {
        return ctx.reply.error("ERR Bad number of keys provided");
    };
    if numkeys > (args.len() - 3) as i64 {
        return ctx.reply.error("ERR Number of keys can't be greater than number of args");
    }
    if numkeys < 0 {
        return ctx.reply.error("ERR Number of keys can't be negative");
    }
    if read_only_command && may_write {
        return ctx.reply.error("ERR Can not execute a script with write flag using *_ro command.");
    }
    let (keys, argv) = args[3..].split_at(numkeys as usize);
    let mode = Mode { interpreter: Interpreter::Functions, read_only: !may_write, allow_oom: function.flags & ALLOW_OOM != 0 };
    let started = ctx.scripts.functions.thread_for(&function, keys, argv).and_then(|thread| run_thread(ctx, thread, &function.name, args, mode));
    if let Err(error) = started {
        ctx.reply.error(&format!("ERR Error running script {}: {error}", function.name));
    }
}

/// `FUNCTION LOAD [REPLACE] code`: the code is the last argument, options come before it.
fn function_load(ctx: &mut Ctx, args: &[&[u8]]) {
    let (code, options) = args[2..].split_last().unwrap_or((&args[1], &[]));
    let mut replace = false;
    for option in options {
        if !is(option, "replace") {
            return ctx.reply.error(&format!("ERR Unknown option given: {}", String::from_utf8_lossy(option)));
        }
        replace = true;
    }
    match ctx.scripts.functions.load(code, replace) {
        Ok(name) => ctx.reply.bulk(name.as_bytes()),
        Err(error) => ctx.reply.error(&error),
    }
}

fn function_delete(ctx: &mut Ctx, args: &[&[u8]]) {
    if ctx.scripts.functions.delete(args[2]) {
        ctx.reply.ok();
    } else {
        ctx.reply.error("ERR Library not found");
    }
}

fn function_flush(ctx: &mut Ctx, args: &[&[u8]]) {
    match args {
        [_, _] => {}
        [_, _, mode] if is(mode, "sync") || is(mode, "async") => {}
        [_, _, _] => return ctx.reply.error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"),
        _ => return syntax_error(ctx, args),
    }
    ctx.scripts.functions.flush();
    ctx.reply.ok();
}

/// Redis's reply to a subcommand with arguments it does not take.
fn syntax_error(ctx: &mut Ctx, args: &[&[u8]]) {
    ctx.reply.error(&format!("ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.", truncated(args[1])));
}

/// `FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]`, each option at most once, in any order.
fn function_list(ctx: &mut Ctx, args: &[&[u8]]) {
    let (mut with_code, mut pattern) = (false, None);
    let mut rest = args[2..].iter();
    while let Some(arg) = rest.next() {
        if !with_code && is(arg, "withcode") {
            with_code = true;
        } else if pattern.is_none() && is(arg, "libraryname") {
            let Some(given) = rest.next() else {
                return ctx.reply.error("ERR library name argument was not given");
            };
            pattern = Some(*given);
        } else {
            return ctx.reply.error(&format!("ERR Unknown argument {}", String::from_utf8_lossy(arg)));
        }
    }
    let libraries: Vec<&Library> = ctx
        .scripts
        .functions
        .libraries()
        .filter(|library| pattern.is_none_or(|pattern| glob::matches(pattern, library.name.as_bytes(), true)))
        .collect();
    ctx.reply.array(libraries.len());
    for library in libraries {
        write_library(&mut ctx.reply, library, with_code);
    }
}

fn write_library(reply: &mut crate::resp::Reply, library: &Library, with_code: bool) {
    reply.map(if with_code { 4 } else { 3 });
    reply.bulk(b"library_name");
    reply.bulk(library.name.as_bytes());
    reply.bulk(b"engine");
    reply.bulk(ENGINE.as_bytes());
    reply.bulk(b"functions");
    reply.array(library.functions.len());
    for function in &library.functions {
        reply.map(3);
        reply.bulk(b"name");
        reply.bulk(function.name.as_bytes());
        reply.bulk(b"description");
        match &function.description {
            Some(description) => reply.bulk(description),
            None => reply.null(),
        }
        reply.bulk(b"flags");
        let flags: Vec<&str> = FLAG_NAMES.iter().filter(|(_, bit)| function.flags & bit != 0).map(|(name, _)| *name).collect();
        reply.set(flags.len());
        for flag in flags {
            reply.simple(flag);
        }
    }
    if with_code {
        reply.bulk(b"library_code");
        reply.bulk(&library.code);
    }
}

fn function_dump(ctx: &mut Ctx, _args: &[&[u8]]) {
    let payload = encode_function_dump(ctx.scripts.functions.libraries().map(|library| library.code.as_slice()));
    ctx.reply.bulk(&payload);
}

/// `FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]`.
fn function_restore(ctx: &mut Ctx, args: &[&[u8]]) {
    let policy = match args {
        [_, _, _] => RestorePolicy::Append,
        [_, _, _, policy] if is(policy, "append") => RestorePolicy::Append,
        [_, _, _, policy] if is(policy, "replace") => RestorePolicy::Replace,
        [_, _, _, policy] if is(policy, "flush") => RestorePolicy::Flush,
        [_, _, _, _] => return ctx.reply.error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."),
        _ => return syntax_error(ctx, args),
    };
    let restored = decode_function_dump(args[2]).and_then(|libraries| ctx.scripts.functions.restore(&libraries, policy));
    match restored {
        Ok(()) => ctx.reply.ok(),
        Err(error) => ctx.reply.error(&error),
    }
}

fn function_stats(ctx: &mut Ctx, _args: &[&[u8]]) {
    let functions = &ctx.scripts.functions;
    let (libraries, count) = (functions.libraries_count(), functions.functions_count());
    ctx.reply.map(2);
    ctx.reply.bulk(b"running_script");
    write_running_function(ctx);
    ctx.reply.bulk(b"engines");
    ctx.reply.map(1);
    ctx.reply.bulk(ENGINE.as_bytes());
    ctx.reply.map(2);
    ctx.reply.bulk(b"libraries_count");
    ctx.reply.integer(libraries as i64);
    ctx.reply.bulk(b"functions_count");
    ctx.reply.integer(count as i64);
}

/// The function running (suspended between two slices): its name, its FCALL and how long it has
/// run; nil when none is.
fn write_running_function(ctx: &mut Ctx) {
    let running = ctx.scripts.running.as_ref().filter(|running| running.mode.interpreter == Interpreter::Functions);
    let Some(running) = running else { return ctx.reply.null() };
    let duration_ms = ctx.now.mono_ns.saturating_sub(running.started.mono_ns) / 1_000_000;
    ctx.reply.map(3);
    ctx.reply.bulk(b"name");
    ctx.reply.bulk(running.sha.as_bytes());
    ctx.reply.bulk(b"command");
    ctx.reply.array(running.command.len());
    for arg in &running.command {
        ctx.reply.bulk(arg);
    }
    ctx.reply.bulk(b"duration_ms");
    ctx.reply.integer(duration_ms as i64);
}

fn function_kill(ctx: &mut Ctx, _args: &[&[u8]]) {
    kill(ctx, Interpreter::Functions);
}

const FUNCTION_HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
];

fn function_help(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.array(FUNCTION_HELP.len());
    for line in FUNCTION_HELP {
        ctx.reply.simple(line);
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::Harness;

    const LIBRARY: &str = "#!lua name=mylib\n\
        redis.register_function('echo', function(keys, args) return {keys[1], args[1], #keys, #args} end)\n\
        redis.register_function{function_name = 'reader', callback = function(keys) return redis.call('get', keys[1]) end, flags = {'no-writes'}, description = 'reads'}\n\
        redis.register_function{function_name = 'writer', callback = function(keys, args) return redis.call('set', keys[1], args[1]) end}\n\
        redis.register_function{function_name = 'spender', callback = function(keys, args) return redis.call('set', keys[1], args[1]) end, flags = {'allow-oom'}}\n\
        redis.register_function('failing', function() return 1 + nil end)";

    fn load(c: &mut Harness, code: &str) -> String {
        c.run(&["FUNCTION", "LOAD", code])
    }

    #[test]
    fn a_function_called_again_is_the_one_loaded_now() {
        let mut c = Harness::new();
        let version = |n: u32| format!("#!lua name=lib\nredis.register_function('f', function() return {n} end)");
        load(&mut c, &version(1));
        assert_eq!(c.run(&["FCALL", "f", "0"]), ":1\r\n");
        assert_eq!(c.run(&["FCALL", "f", "0"]), ":1\r\n");
        assert_eq!(c.run(&["FUNCTION", "LOAD", "REPLACE", &version(2)]), "$3\r\nlib\r\n");
        assert_eq!(c.run(&["FCALL", "f", "0"]), ":2\r\n", "a replaced library's function is the new one");
        assert_eq!(c.run(&["FCALL", "F", "0"]), ":2\r\n");
        let payload = crate::scripting::encode_function_dump([version(2).as_bytes()].into_iter());
        assert_eq!(c.run(&["FUNCTION", "DELETE", "lib"]), "+OK\r\n");
        assert_eq!(c.run(&["FCALL", "F", "0"]), "-ERR Function not found\r\n", "a deleted function is gone");
        load(&mut c, "#!lua name=other\nredis.register_function('g', function() return 3 end)");
        assert_eq!(c.run(&["FCALL", "F", "0"]), "-ERR Function not found\r\n");
        assert_eq!(c.run_bytes(&[b"FUNCTION", b"RESTORE", &payload]), "+OK\r\n");
        assert_eq!(c.run(&["FCALL", "F", "0"]), ":2\r\n", "a restored function is found again");
        assert_eq!(c.run(&["FUNCTION", "FLUSH"]), "+OK\r\n");
        assert_eq!(c.run(&["FCALL", "F", "0"]), "-ERR Function not found\r\n", "flushed functions are gone");
    }

    #[test]
    fn functions_get_keys_and_arguments_as_parameters() {
        let mut c = Harness::new();
        assert_eq!(load(&mut c, LIBRARY), "$5\r\nmylib\r\n");
        assert_eq!(c.run(&["FCALL", "echo", "1", "k", "a", "b"]), "*4\r\n$1\r\nk\r\n$1\r\na\r\n:1\r\n:2\r\n");
        assert_eq!(c.run(&["FCALL", "ECHO", "0"]), "*0\r\n", "function names are case-blind");
        assert_eq!(c.run(&["FCALL", "writer", "1", "k", "v"]), "+OK\r\n");
        assert_eq!(c.run(&["FCALL_RO", "reader", "1", "k"]), "$1\r\nv\r\n");
        assert_eq!(c.run(&["FCALL", "failing", "0"]), "-ERR user_function:6: attempt to perform arithmetic on a nil value script: failing, on @user_function:6.\r\n");
        assert_eq!(c.run(&["FCALL", "nosuch", "0"]), "-ERR Function not found\r\n");
        assert_eq!(c.run(&["FCALL", "echo", "x"]), "-ERR Bad number of keys provided\r\n");
        assert_eq!(c.run(&["FCALL", "echo", "2", "k"]), "-ERR Number of keys can't be greater than number of args\r\n");
        assert_eq!(c.run(&["FCALL", "echo", "-1"]), "-ERR Number of keys can't be negative\r\n");
    }

    #[test]
    fn no_writes_and_fcall_ro_refuse_writes() {
        let mut c = Harness::new();
        load(&mut c, LIBRARY);
        assert_eq!(c.run(&["FCALL_RO", "writer", "1", "k", "v"]), "-ERR Can not execute a script with write flag using *_ro command.\r\n");
        load(&mut c, "#!lua name=ro\nredis.register_function{function_name = 'sneaky', callback = function() return redis.call('set', 'k', 'v') end, flags = {'no-writes'}}");
        assert_eq!(c.run(&["FCALL", "sneaky", "0"]), "-ERR Write commands are not allowed from read-only scripts. script: sneaky, on @user_function:2.\r\n");
    }

    #[test]
    fn allow_oom_lets_a_function_write_over_maxmemory() {
        let mut c = Harness::new();
        load(&mut c, LIBRARY);
        c.run(&["CONFIG", "SET", "maxmemory", "1"]);
        assert_eq!(c.run(&["FCALL", "writer", "1", "k", "v"]), "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
        assert_eq!(c.run(&["FCALL", "reader", "1", "k"]), "$-1\r\n", "a no-writes function runs");
        assert_eq!(c.run(&["FCALL", "spender", "1", "k", "v"]), "+OK\r\n");
        assert_eq!(c.run(&["EVAL", "return redis.call('set', 'k2', 'v')", "0"]).split(" script:").next(), Some("-OOM command not allowed when used memory > 'maxmemory'."), "scripts after it are held to maxmemory again");
    }

    #[test]
    fn over_maxmemory_multi_refuses_functions_when_they_are_queued() {
        let mut c = Harness::new();
        load(&mut c, LIBRARY);
        c.run(&["CONFIG", "SET", "maxmemory", "1"]);
        const OOM: &str = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
        assert_eq!(c.run(&["MULTI"]), "+OK\r\n");
        for function in ["writer", "reader", "spender", "nosuch"] {
            assert_eq!(c.run(&["FCALL", function, "1", "k", "v"]), OOM, "{function}, whatever its flags");
        }
        assert_eq!(c.run(&["GET", "k"]), OOM, "any command");
        assert_eq!(c.run(&["EXEC"]), "-EXECABORT Transaction discarded because of previous errors.\r\n");
        c.run(&["MULTI"]);
        assert_eq!(c.run(&["DISCARD"]), "+OK\r\n");
        c.run(&["CONFIG", "SET", "maxmemory", "0"]);
        c.run(&["MULTI"]);
        assert_eq!(c.run(&["FCALL", "reader", "1", "k"]), "+QUEUED\r\n");
        assert_eq!(c.run(&["EXEC"]), "*1\r\n$-1\r\n");
    }

    #[test]
    fn loading_checks_the_header_and_the_registrations() {
        let mut c = Harness::new();
        assert_eq!(load(&mut c, "return 1"), "-ERR Missing library metadata\r\n");
        assert_eq!(load(&mut c, "#!python name=x\n"), "-ERR Engine 'python' not found\r\n");
        assert_eq!(load(&mut c, "#!lua name=a-b\n"), "-ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long\r\n");
        assert_eq!(load(&mut c, "#!lua name=x\n"), "-ERR No functions registered\r\n");
        assert_eq!(load(&mut c, "#!lua name=x\nreturn 1 +"), "-ERR Error compiling function: user_function:2: unexpected symbol near '<eof>'\r\n");
        assert_eq!(load(&mut c, "#!lua name=x\nredis.call('ping')"), "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'\r\n");
        assert_eq!(load(&mut c, "#!lua name=x\nlocal s = string"), "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'string'\r\n");
        assert_eq!(load(&mut c, "#!lua name=x\ny = 1"), "-ERR Error registering functions: ERR user_function:2: Attempt to modify a readonly table\r\n");
        assert_eq!(load(&mut c, "#!lua name=x\nredis.register_function('f')"), "-ERR Error registering functions: ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).\r\n");
        assert_eq!(load(&mut c, "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags={'fast'}}"), "-ERR Error registering functions: ERR unknown flag given\r\n");
        assert_eq!(load(&mut c, LIBRARY), "$5\r\nmylib\r\n");
        assert_eq!(load(&mut c, LIBRARY), "-ERR Library 'mylib' already exists\r\n");
        assert_eq!(load(&mut c, "#!lua name=other\nredis.register_function('Echo', function() end)"), "-ERR Function Echo already exists\r\n");
        assert!(c.run(&["FUNCTION", "LOAD", "REPLACE", "#!lua name=mylib\nreturn 1 +"]).starts_with("-ERR Error compiling"));
        assert_eq!(c.run(&["FCALL", "echo", "0"]), "*0\r\n", "a failed REPLACE keeps the library it would have replaced");
        assert_eq!(c.run(&["FUNCTION", "LOAD", "REPLACE", "#!lua name=mylib\nredis.register_function('echo', function() return 2 end)"]), "$5\r\nmylib\r\n");
        assert_eq!(c.run(&["FCALL", "echo", "0"]), ":2\r\n");
        assert_eq!(c.run(&["FCALL", "writer", "0"]), "-ERR Function not found\r\n", "the replaced library's functions are gone");
        assert_eq!(c.run(&["FUNCTION", "LOAD", "NOW", "code"]), "-ERR Unknown option given: NOW\r\n");
    }

    #[test]
    fn a_library_whose_code_runs_past_500_ms_is_refused() {
        let mut c = Harness::new();
        // Every reading of the commands' clock comes 100 ms after the last: the loading code
        // looks at it every 100,000 instructions, so it is stopped at its sixth look.
        crate::stopwatch::fake::step_by(100_000_000);
        const TIMEOUT: &str = "-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n";
        assert_eq!(load(&mut c, "#!lua name=x\n while true do end"), TIMEOUT);
        assert_eq!(load(&mut c, "#!lua name=x\nredis.register_function('f', function() return 1 end) local i = 0 while true do i = i + 1 end"), TIMEOUT);
        assert_eq!(c.run(&["FUNCTION", "LIST"]), "*0\r\n", "nothing of it stays");
        assert_eq!(c.run(&["FCALL", "f", "0"]), "-ERR Function not found\r\n");
        // Code that ends within the limit loads: 200,000 instructions, two looks, 200 ms.
        let busy = "#!lua name=y\nlocal n = 0 for i = 1, 100000 do n = n + 1 end redis.register_function('g', function() return n end)";
        assert_eq!(load(&mut c, busy), "$1\r\ny\r\n");
        assert_eq!(c.run(&["FCALL", "g", "0"]), ":100000\r\n", "the interpreter goes on");
    }

    #[test]
    fn register_function_is_only_for_loading() {
        let mut c = Harness::new();
        load(&mut c, "#!lua name=x\nlocal register = redis.register_function\nredis.register_function('late', function() register('g', function() end) end)\nredis.register_function('api', function() return type(redis.register_function) end)");
        assert_eq!(c.run(&["FCALL", "late", "0"]), "-ERR redis.register_function can only be called on FUNCTION LOAD command script: late, on @user_function:3.\r\n");
        assert_eq!(c.run(&["FCALL", "api", "0"]), "$3\r\nnil\r\n");
    }

    #[test]
    fn functions_and_eval_scripts_are_flushed_apart() {
        let mut c = Harness::new();
        load(&mut c, LIBRARY);
        c.run(&["SCRIPT", "LOAD", "return 1"]);
        assert_eq!(c.run(&["SCRIPT", "FLUSH"]), "+OK\r\n");
        assert_eq!(c.run(&["FCALL", "echo", "0"]), "*0\r\n");
        c.run(&["SCRIPT", "LOAD", "return 1"]);
        assert_eq!(c.run(&["FUNCTION", "FLUSH", "ASYNC"]), "+OK\r\n");
        assert_eq!(c.run(&["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"]), "*1\r\n:1\r\n");
        assert_eq!(c.run(&["FCALL", "echo", "0"]), "-ERR Function not found\r\n");
        assert_eq!(c.run(&["FUNCTION", "FLUSH", "NOW"]), "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n");
        assert_eq!(c.run(&["FUNCTION", "FLUSH", "SYNC", "x"]), "-ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP.\r\n");
        assert_eq!(c.run(&["FUNCTION", "DELETE", "mylib"]), "-ERR Library not found\r\n");
    }

    #[test]
    fn list_stats_and_info_describe_the_libraries() {
        let mut c = Harness::new();
        let code = "#!lua name=lib1\nredis.register_function{function_name='f', callback=function() end, flags={'allow-stale', 'NO-WRITES'}, description='d'}";
        load(&mut c, code);
        load(&mut c, "#!lua name=lib2\nredis.register_function('g', function() end)");
        let lib2 = "%3\r\n$12\r\nlibrary_name\r\n$4\r\nlib2\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n%3\r\n$4\r\nname\r\n$1\r\ng\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n";
        c.run(&["HELLO", "3"]);
        assert_eq!(c.run(&["FUNCTION", "LIST", "LIBRARYNAME", "*2"]), format!("*1\r\n{lib2}"));
        assert!(c.run(&["FUNCTION", "LIST"]).contains("$1\r\nf\r\n$11\r\ndescription\r\n$1\r\nd\r\n$5\r\nflags\r\n~2\r\n+no-writes\r\n+allow-stale\r\n"));
        assert!(c.run(&["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "LIB1"]).ends_with(&format!("$12\r\nlibrary_code\r\n${}\r\n{code}\r\n", code.len())));
        assert_eq!(c.run(&["FUNCTION", "LIST", "LIBRARYNAME"]), "-ERR library name argument was not given\r\n");
        assert_eq!(c.run(&["FUNCTION", "LIST", "WITHCODE", "WITHCODE"]), "-ERR Unknown argument WITHCODE\r\n");
        assert_eq!(c.run(&["FUNCTION", "STATS"]), "%2\r\n$14\r\nrunning_script\r\n_\r\n$7\r\nengines\r\n%1\r\n$3\r\nLUA\r\n%2\r\n$15\r\nlibraries_count\r\n:2\r\n$15\r\nfunctions_count\r\n:2\r\n");
        let info = c.run(&["INFO", "memory"]);
        assert!(info.contains("number_of_functions:2\r\nnumber_of_libraries:2\r\nused_memory_vm_functions:"), "{info}");
        assert_eq!(c.run(&["FUNCTION", "KILL"]), "-NOTBUSY No scripts in execution right now.\r\n");
    }

    #[test]
    fn a_dump_restores_with_each_policy() {
        let mut c = Harness::new();
        load(&mut c, LIBRARY);
        let dump = c.run(&["FUNCTION", "DUMP"]);
        let payload = crate::scripting::encode_function_dump([LIBRARY.as_bytes()].into_iter());
        let restore = |c: &mut Harness, policy: &[&[u8]]| c.run_bytes(&[&[&b"FUNCTION"[..], b"RESTORE", &payload][..], policy].concat());
        assert_eq!(restore(&mut c, &[]), "-ERR Library mylib already exists\r\n");
        assert_eq!(restore(&mut c, &[b"REPLACE"]), "+OK\r\n");
        assert_eq!(restore(&mut c, &[b"LATER"]), "-ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.\r\n");
        c.run(&["FUNCTION", "FLUSH"]);
        load(&mut c, "#!lua name=clash\nredis.register_function('echo', function() end)");
        assert_eq!(restore(&mut c, &[b"REPLACE"]), "-ERR Function echo already exists\r\n");
        assert_eq!(restore(&mut c, &[b"FLUSH"]), "+OK\r\n");
        assert_eq!(c.run(&["FCALL", "echo", "0"]), "*0\r\n");
        assert_eq!(c.run(&["FUNCTION", "DUMP"]), dump, "a restored dump dumps the same");
        assert_eq!(c.run(&["FUNCTION", "RESTORE", "garbage"]), "-ERR DUMP payload version or checksum are wrong\r\n");
    }

    fn send(c: &mut Harness, connection: u64, args: &[&str]) -> crate::outbox::Output {
        let mut input = Vec::new();
        crate::resp::encode_command(&mut input, args);
        c.engine.feed_one(c.now, connection, &input)
    }

    #[test]
    fn a_busy_function_is_shown_by_stats_and_stopped_by_function_kill() {
        let mut c = Harness::new();
        let other = c.another(2);
        load(&mut c, "#!lua name=spin\nredis.register_function('spin', function(keys, args) local i = 0 while true do i = i + 1 end end)");
        c.run(&["CONFIG", "SET", "busy-reply-threshold", "100"]);
        assert!(send(&mut c, 1, &["FCALL", "spin", "1", "k", "a"]).data.is_empty(), "suspended after its first slice");
        c.advance_ms(100);
        c.engine.tick(c.now);
        const BUSY: &str = "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n";
        assert_eq!(c.run_on(other, &[b"PING"]), BUSY);
        assert_eq!(c.run_on(other, &[b"SCRIPT", b"KILL"]), BUSY, "SCRIPT KILL does not stop a function");
        c.run_on(other, &[b"HELLO", b"3"]);
        let stats = c.run_on(other, &[b"FUNCTION", b"STATS"]);
        let running = "$14\r\nrunning_script\r\n%3\r\n$4\r\nname\r\n$4\r\nspin\r\n$7\r\ncommand\r\n*5\r\n$5\r\nFCALL\r\n$4\r\nspin\r\n$1\r\n1\r\n$1\r\nk\r\n$1\r\na\r\n$11\r\nduration_ms\r\n:100\r\n";
        assert!(stats.contains(running), "{stats}");
        let seen = c.run_seen_by_all(other, &["FUNCTION", "KILL"]);
        assert!(seen.contains(&(other, "+OK\r\n".into())), "{seen:?}");
        let killed = "-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.\r\n".to_string();
        assert!(seen.contains(&(1, killed)), "{seen:?}");
        assert_eq!(c.run_on(other, &[b"FUNCTION", b"KILL"]), "-NOTBUSY No scripts in execution right now.\r\n");
    }
}
