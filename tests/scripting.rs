//! Lua scripting against a real `cachet serve`: a table of scripts run on cachet and on Debian's
//! redis-server 7.0, replies compared byte for byte in RESP2 and RESP3; and redis-py's Lock and a
//! token-bucket rate limiter, unchanged, against both.

mod common;

use common::{Raw, Redis, Server, assert_same_as_redis, resp};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

#[test]
fn scripts_reply_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        // Lua values to replies.
        &["EVAL", "return 3.99", "0"],
        &["EVAL", "return -2.5", "0"],
        &["EVAL", "return 'text'", "0"],
        &["EVAL", "return true", "0"],
        &["EVAL", "return false", "0"],
        &["EVAL", "return nil", "0"],
        &["EVAL", "return", "0"],
        &["EVAL", "return 0/0", "0"],
        &["EVAL", "return -0.0", "0"],
        &["EVAL", "return 3000000000.5", "0"],
        &["EVAL", "return 2^63", "0"],
        &["EVAL", "return -1e300", "0"],
        &["EVAL", "return 1, 'ignored'", "0"],
        &["EVAL", "redis.setresp(3) return true", "0"],
        &["EVAL", "redis.setresp(3) return false", "0"],
        &["EVAL", "return {1, 2, {3, 'x'}, nil, 4}", "0"],
        &["EVAL", "return {}", "0"],
        &["EVAL", "return {ok = 'FINE'}", "0"],
        &["EVAL", "return {ok = 'two\\nlines'}", "0"],
        &["EVAL", "return {err = 'MY error'}", "0"],
        &["EVAL", "return {err = 'bad\\r\\nline'}", "0"],
        &["EVAL", "return {double = 3.5}", "0"],
        &["EVAL", "return {1, true, false, 'a'}", "0"],
        &["EVAL", "return redis.error_reply('boom')", "0"],
        &["EVAL", "return redis.error_reply('CODE text')", "0"],
        &["EVAL", "return redis.error_reply('-X')", "0"],
        &["EVAL", "return redis.error_reply(1)", "0"],
        &["EVAL", "return redis.status_reply('PONG')", "0"],
        &["EVAL", "return redis.sha1hex('')", "0"],
        &["EVAL", "return redis.sha1hex('abc')", "0"],
        &["EVAL", "local r = redis.sha1hex() return r", "0"],
        &["EVAL", "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}", "0"],
        &["EVAL", "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}", "0"],
        &["EVAL", "redis.set_repl(redis.REPL_ALL) return 1", "0"],
        &["EVAL", "local r = redis.set_repl(9) return r", "0"],
        &["EVAL", "return redis.log(redis.LOG_WARNING, 'from a script')", "0"],
        &["EVAL", "local r = redis.log(redis.LOG_WARNING) return r", "0"],
        &["EVAL", "local r = redis.log(9, 'x') return r", "0"],
        &["EVAL", "local r = redis.setresp(4) return r", "0"],
        &["EVAL", "return _VERSION", "0"],
        // Read-only globals and libraries: no script changes what the next one finds.
        &["EVAL", "cjson.x = 1", "0"],
        &["EVAL", "string.x = 1", "0"],
        &["EVAL", "redis.x = 1", "0"],
        &["EVAL", "math.random = nil", "0"],
        &["EVAL", "cjson = nil", "0"],
        &["EVAL", "redis = nil", "0"],
        &["EVAL", "_G.x = 1", "0"],
        &["EVAL", "local t = string t.y = 2 return 1", "0"],
        &["EVAL", "rawset(string, 'x', 1)", "0"],
        &["EVAL", "table.insert(cjson, 1)", "0"],
        &["EVAL", "return {type(_G), _G.string.rep('a', 2), type(getmetatable(''))}", "0"],
        &["EVAL", "local t = {} rawset(t, 'a', 1) table.insert(t, 2) return {t.a, t[1]}", "0"],
        &["EVAL", "return type(string.x)", "0"],
        &["EVAL", "return tostring(1/3)", "0"],
        &["EVAL", "return string.format('%5.2f|%s|%d', 3.14159, 'x', 42)", "0"],
        &["EVAL", "local t = {3, 1, 2} table.sort(t) return table.concat(t, ',')", "0"],
        &["EVAL", "return string.rep('ab', 3) .. string.upper('x') .. string.sub('hello', 2, 3)", "0"],
        &["EVAL", "return {string.find('hello world', 'o w')}", "0"],
        &["EVAL", "return (string.gsub('a-b-c', '-', '+'))", "0"],
        &["EVAL", "return math.floor(7 / 2) + math.max(1, 5) + math.fmod(7, 3)", "0"],
        &["EVAL", "local ok, err = pcall(error, 'inner') return err", "0"],
        &["EVAL", "return type(loadstring)", "0"],
        &["EVAL", "return tonumber('0x10')", "0"],
        &["EVAL", "return {math.random(10), math.random(5, 8)}", "0"],
        &["EVAL", "math.randomseed(42) return {math.random(1000), math.random(1000)}", "0"],
        &["EVAL", "local r = math.random(0) return r", "0"],
        // Keys and arguments.
        &["EVAL", "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}", "2", "k1", "k2", "a1", "a2"],
        &["EVAL", "return {#KEYS, #ARGV}", "0", "only", "args"],
        &["EVAL", "return 1", "3", "a", "b"],
        &["EVAL", "return 1", "-1"],
        &["EVAL", "return 1", "many"],
        &["EVAL", "return 1"],
        // Commands from scripts, their replies as Lua values, and errors.
        &["EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", "k", "v"],
        &["EVAL", "return redis.call('get', KEYS[1])", "1", "k"],
        &["EVAL", "return redis.call('get', 'missing')", "0"],
        &["EVAL", "return type(redis.call('get', 'missing'))", "0"],
        &["EVAL", "return redis.call('ping')", "0"],
        &["EVAL", "return redis.call('ping')['ok']", "0"],
        &["EVAL", "return redis.call('incrby', 'n', 5)", "0"],
        &["EVAL", "return redis.call('incrbyfloat', 'f', 0.1)", "0"],
        &["EVAL", "return redis.call('set', 'big', 1e20)", "0"],
        &["EVAL", "return redis.call('get', 'big')", "0"],
        &["EVAL", "redis.call('rpush', 'l', 'a', 'b', 'c') return redis.call('lrange', 'l', 0, -1)", "0"],
        &["EVAL", "redis.call('hset', 'h', 'f1', 'v1') return redis.call('hgetall', 'h')", "0"],
        &["EVAL", "redis.setresp(3) return redis.call('hgetall', 'h')", "0"],
        &["EVAL", "redis.setresp(3) return redis.call('hgetall', 'h')['map']['f1']", "0"],
        &["EVAL", "redis.setresp(3) return type(redis.call('get', 'missing'))", "0"],
        &["EVAL", "redis.setresp(3) return redis.call('zscore', 'nozset', 'm')", "0"],
        &["EVAL", "redis.call('zadd', 'z', 1.5, 'm') redis.setresp(3) return redis.call('zscore', 'z', 'm')", "0"],
        &["EVAL", "redis.setresp(3) return redis.call('zscore', 'z', 'm')['double']", "0"],
        &["EVAL", "redis.call('sadd', 's', 'x') redis.setresp(3) return redis.call('smembers', 's')", "0"],
        &["EVAL", "redis.setresp(3) return redis.call('client', 'info')['verbatim_string']['format']", "0"],
        &["EVAL", "redis.call('zadd', 'z', 2, 'n') redis.setresp(3) return redis.call('zrange', 'z', 0, -1, 'withscores')", "0"],
        &["EVAL", "redis.setresp(3) return redis.pcall('incr', 's')", "0"],
        &["EVAL", "return redis.call('zrange', 'z', 0, -1, 'withscores')", "0"],
        &["EVAL", "return redis.call('set', 'n', 12.5, 'px', 100000)", "0"],
        &["EVAL", "return redis.call('get', 'n')", "0"],
        &["EVAL", "return redis.call('incr', 'l')", "0"],
        &["EVAL", "return redis.pcall('incr', 'l')", "0"],
        &["EVAL", "local r = redis.pcall('incr', 'l') return r['err']", "0"],
        &["EVAL", "return redis.call('nosuchcommand')", "0"],
        &["EVAL", "return redis.call('get')", "0"],
        &["EVAL", "return redis.call('set', 'a', 'b', 'c')", "0"],
        &["EVAL", "return redis.call()", "0"],
        &["EVAL", "return redis.call('get', {})", "0"],
        &["EVAL", "return redis.call(1)", "0"],
        &["EVAL", "return redis.call('multi')", "0"],
        &["EVAL", "return redis.pcall('multi')", "0"],
        &["EVAL", "return redis.call('blpop', 'l', 0)", "0"],
        &["EVAL", "return redis.call('subscribe', 'ch')", "0"],
        &["EVAL", "return redis.call('eval', 'return 1', 0)", "0"],
        &["EVAL", "return redis.call('client', 'nosuch')", "0"],
        &["EVAL", "local ok, err = pcall(redis.call, 'incr', 'l') return err['err']", "0"],
        &["EVAL", "local ok, err = pcall(redis.call, 'incr', 'l') return err", "0"],
        // Errors raised in scripts, with where they happened.
        &["EVAL", "return undefined_global", "0"],
        &["EVAL", "undefined_global = 1", "0"],
        &["EVAL", "local a = 1\nlocal b = nil\nreturn a + b", "0"],
        &["EVAL", "error('boom')", "0"],
        &["EVAL", "error({err = 'CUSTOM failure'})", "0"],
        &["EVAL", "error()", "0"],
        &["EVAL", "return 1 +", "0"],
        &["EVAL", "return os", "0"],
        &["EVAL", "return io", "0"],
        &["EVAL", "return loadfile", "0"],
        &["EVAL", "return dofile", "0"],
        &["EVAL", "return require", "0"],
        &["EVAL", "return debug", "0"],
        &["EVAL", "return print", "0"],
        &["EVAL", "return getmetatable(_G)", "0"],
        // A script that errors half-way keeps the writes before the error: there is no rollback.
        &["EVAL", "redis.call('set', 'half', '1') redis.call('incr', 'half') redis.call('lpush', 'half', 'x') redis.call('set', 'half', 'never')", "0"],
        &["GET", "half"],
        // Read-only scripts.
        &["EVAL_RO", "return redis.call('get', 'k')", "0"],
        &["EVAL_RO", "return redis.call('set', 'k', 'w')", "0"],
        &["EVAL_RO", "return redis.pcall('del', 'k')", "0"],
        // Select stays inside the script.
        &["EVAL", "redis.call('select', 2) redis.call('set', 'in2', 'x') return redis.call('dbsize')", "0"],
        &["EXISTS", "in2"],
        // KEYS and ARGV are new for every script, whatever the one before did to them.
        &["EVAL", "KEYS[5] = 'x' KEYS.extra = 1 ARGV[1] = nil table.insert(ARGV, 'y') return #ARGV", "2", "a", "b", "c"],
        &["EVAL", "return {#KEYS, #ARGV, tostring(KEYS.extra), KEYS[5] or 'none', KEYS[1], ARGV[1]}", "1", "k", "v"],
        &["EVAL", "return {#KEYS, #ARGV, next(KEYS) or 'empty'}", "0"],
        &["EVAL", "return #KEYS", "70", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32", "33", "34", "35", "36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47", "48", "49", "50", "51", "52", "53", "54", "55", "56", "57", "58", "59", "60", "61", "62", "63", "64", "65", "66", "67", "68", "69", "70"],
        &["EVAL", "for i = 1, 100 do ARGV[i] = i end return #KEYS", "1", "k"],
        &["EVAL", "return {#KEYS, #ARGV, KEYS[1]}", "1", "again"],
        &["EVAL", "KEYS = {}", "0"],
        &["EVAL", "return {type(rawget(_G, 'KEYS')), type(rawget(_G, 'redis')), type(rawget(string, 'rep')), rawget({5}, 1)}", "1", "k"],
        &["EVAL", "return rawget(nil, 1)", "0"],
        &["EVAL", "return rawget()", "0"],
        &["EVAL", "return rawget({})", "0"],
        // The script cache.
        &["SCRIPT", "FLUSH"],
        &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
        &["EVALSHA_RO", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
        &["SCRIPT", "LOAD", "return 1"],
        &["SCRIPT", "LOAD", "return +"],
        &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
        &["EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"],
        &["EVALSHA_RO", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
        &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "1"],
        &["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0000000000000000000000000000000000000000"],
        &["EVAL", "return 2", "0"],
        &["SCRIPT", "EXISTS", "7f923f79fe76194c868d7e1d0820de36700eb649"],
        &["SCRIPT", "FLUSH", "SYNC"],
        &["SCRIPT", "FLUSH", "ASYNC"],
        &["SCRIPT", "FLUSH", "LATER"],
        &["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"],
        &["SCRIPT", "KILL"],
        &["SCRIPT", "HELP"],
        &["SCRIPT", "NOSUCH"],
        &["SCRIPT"],
    ]);
}

#[test]
fn scripts_run_inside_transactions_and_their_writes_are_seen_by_watch() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["MULTI"],
        &["EVAL", "return redis.call('incr', 'counter')", "0"],
        &["EVAL", "return redis.call('incr', 'counter')", "0"],
        &["EXEC"],
        &["WATCH", "counter"],
        &["EVAL", "return redis.call('incr', 'counter')", "0"],
        &["MULTI"],
        &["GET", "counter"],
        &["EXEC"],
    ]);
}

/// Runs tests/clients/lua_scripts.py against a port and returns what it printed.
fn run_client_scripts(port: u16) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/lua_scripts.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .output()
        .expect("python3 runs (with redis-py: pip install redis; tests/run installs it)");
    assert!(
        out.status.success(),
        "lua_scripts.py failed against port {port}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn redis_py_lock_and_a_rate_limiter_work_unchanged() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let ours = run_client_scripts(server.port);
    let theirs = run_client_scripts(redis.port);
    assert_eq!(ours, theirs, "the rate limiter's replies differ between cachet and redis-server");
}

#[test]
fn writes_in_scripts_respect_maxmemory_and_requirepass() {
    let server = Server::start_with_password("secret", &[]);
    assert_eq!(server.cli(&["EVAL", "return 1", "0"]).trim(), "NOAUTH Authentication required.");
    let server = Server::start(&["--set", "maxmemory", "1"]);
    let reply = server.cli(&["EVAL", "return redis.call('set', 'k', 'v')", "0"]);
    assert!(reply.starts_with("OOM command not allowed when used memory > 'maxmemory'. script: "), "{reply}");
    assert_eq!(server.cli(&["EVAL", "return redis.call('get', 'k')", "0"]).trim(), "", "reads still run");
}

/// What the interpreter costs: the component's size with and without Lua, the time to
/// instantiate each, one GET per engine call in each, and one EVALSHA of a small GET + INCR +
/// EXPIRE script. Run by hand: `cargo test --release -p cachet-tests --test scripting -- --ignored
/// --nocapture measure`; the results are in docs/PERFORMANCE.md.
#[test]
#[ignore]
fn measure_what_lua_costs() {
    use cachet::runtime::{Input, Instance, Peer, PeerKind, Runtime, RuntimeOptions, Time};
    use std::time::{Duration, Instant};

    /// The least of five rounds of 5,000 calls, each feeding `request` once: the machine's other
    /// work only ever adds time.
    fn per_call(instance: &mut Instance, now: Time, request: &str) -> Duration {
        (0..5)
            .map(|_| {
                let started = Instant::now();
                for _ in 0..5_000 {
                    std::hint::black_box(instance.feed(now, &[], &[Input { id: 1, data: request.as_bytes() }]).expect("no trap"));
                }
                started.elapsed() / 5_000
            })
            .min()
            .expect("five rounds")
    }

    const SCRIPT: &str = "local v = redis.call('GET', KEYS[1]) redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], 100) return v";
    let get = common::resp(&["GET", "counter"]);
    let load = common::resp(&["SCRIPT", "LOAD", SCRIPT]);
    let components = [("with Lua", cachet_component::WASM), ("without Lua", cachet_component::WASM_WITHOUT_LUA)];
    for (name, wasm) in components.into_iter().chain(components) {
        let runtime = Runtime::new(&RuntimeOptions { component: wasm, ..RuntimeOptions::default() }).expect("a runtime");
        let instantiate = (0..5)
            .map(|_| {
                let started = Instant::now();
                for _ in 0..20 {
                    std::hint::black_box(runtime.instantiate().expect("an instance"));
                }
                started.elapsed() / 20
            })
            .min()
            .expect("five rounds");
        let mut instance = runtime.instantiate().expect("an instance");
        instance.configure(&[]).expect("no trap").expect("configured");
        let peer = Peer { kind: PeerKind::Tcp, address: "127.0.0.1:1".into(), local_address: "127.0.0.1:2".into() };
        let now = runtime.now();
        instance.open(now, 1, &peer, None).expect("no trap").expect("opened");
        let get_cost = per_call(&mut instance, now, &get);
        let script_cost = if name == "with Lua" {
            let loaded = instance.feed(now, &[], &[Input { id: 1, data: load.as_bytes() }]).expect("no trap");
            let reply = String::from_utf8_lossy(&loaded.outputs[0].data).into_owned();
            let sha = reply.lines().nth(1).expect("SCRIPT LOAD answers the SHA-1");
            format!("{:?}", per_call(&mut instance, now, &common::resp(&["EVALSHA", sha, "1", "counter"])))
        } else {
            "-".into()
        };
        eprintln!(
            "{name}: {} bytes, instantiate {instantiate:?}, GET call {get_cost:?}, EVALSHA call {script_cost}",
            wasm.len()
        );
    }
}

/// What two clients of the server at `port` see around runaway scripts: one runs a script that
/// never ends, the other asks until it is answered BUSY, then kills the script; then the same
/// with a script that wrote before its loop (which SCRIPT KILL refuses), and that ends by itself.
fn runaway_script_transcript(port: u16) -> Vec<String> {
    let connect = || {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(120))).expect("timeout");
        Raw(stream)
    };
    let (mut owner, mut other) = (connect(), connect());
    let mut seen = Vec::new();
    seen.push(other.ask(&["CONFIG", "SET", "busy-reply-threshold", "50"]));

    owner.send(resp(&["EVAL", "local i = 0 while true do i = i + 1 end", "0"]).as_bytes());
    seen.push(common::busy_reply(&mut other));
    seen.extend(while_a_script_runs(&mut other));
    seen.extend(after_the_script(&mut owner, &mut other));

    let script = "redis.call('set', 'x', '1') local n = tonumber(ARGV[1]) local i = 0 while i < n do i = i + 1 end return 'done'";
    let call = |count: &str| resp(&["EVAL", script, "0", count]);
    seen.extend(common::while_a_writing_script_runs(&mut owner, &mut other, call, while_a_script_runs));
    seen.extend(after_the_script(&mut owner, &mut other));
    seen
}

/// While a script runs: a command refused, and SCRIPT KILL.
fn while_a_script_runs(other: &mut Raw) -> Vec<String> {
    vec![other.ask(&["GET", "x"]), other.ask(&["SCRIPT", "KILL"])]
}

/// Once SCRIPT KILL was sent: the script's own reply, SCRIPT KILL again with nothing running, and
/// what the script left.
fn after_the_script(owner: &mut Raw, other: &mut Raw) -> Vec<String> {
    vec![String::from_utf8_lossy(&owner.reply()).into_owned(), other.ask(&["SCRIPT", "KILL"]), other.ask(&["GET", "x"])]
}

#[test]
fn runaway_scripts_get_busy_replies_and_are_killed_as_on_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let ours = runaway_script_transcript(server.port);
    assert_eq!(ours, runaway_script_transcript(redis.port));
    assert!(ours[3].starts_with("+OK") && ours[4].starts_with("-ERR Script killed by user"), "{ours:?}");
    assert!(ours[9].starts_with("-UNKILLABLE") && ours[10] == "$4\r\ndone\r\n", "{ours:?}");
}

/// A script that wrote and never ends cannot be killed; as with Redis, SHUTDOWN NOSAVE is the way
/// out. In cachet it ends the engine instead of the process: the host starts a fresh one, the
/// keyspace is lost as a restarted redis-server's would be, and every connection but the one that
/// sent SHUTDOWN stays open.
#[test]
fn shutdown_nosave_ends_an_unkillable_script_by_resetting_the_engine() {
    let server = Server::start(&[]);
    let (mut owner, mut other) = (server.raw(), server.raw());
    assert_eq!(other.ask(&["CONFIG", "SET", "busy-reply-threshold", "0"]), "+OK\r\n");
    assert_eq!(other.ask(&["SET", "kept", "until the reset"]), "+OK\r\n");
    owner.send(resp(&["EVAL", "redis.call('set', 'x', '1') while true do end", "0"]).as_bytes());
    common::busy_reply(&mut other);
    assert!(other.ask(&["SCRIPT", "KILL"]).starts_with("-UNKILLABLE"));
    assert!(other.ask(&["SHUTDOWN"]).starts_with("-BUSY"), "only SHUTDOWN NOSAVE passes");
    other.send(resp(&["SHUTDOWN", "NOSAVE"]).as_bytes());
    assert!(other.closed(), "the connection that stopped the engine is closed");
    assert_eq!(String::from_utf8_lossy(&owner.reply()), "-ERR internal error: the engine faulted while this client was blocked; the cache was reset\r\n");
    assert_eq!(owner.ask(&["GET", "kept"]), "$-1\r\n", "the keyspace was reset");
    assert_eq!(owner.ask(&["PING"]), "+PONG\r\n");
    let mut fresh = server.raw();
    assert!(fresh.ask(&["SHUTDOWN"]).starts_with("-ERR cachet is stopped by its host"));
}
