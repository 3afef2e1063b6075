//! Scripts: EVALSHA of a small script — GET, INCR and EXPIRE of one key, what rate limiters and
//! counters run — and FCALL of the same body as a function, through redis-benchmark.

use crate::servers::Server;
use anyhow::{Context, Result};

const BODY: &str = "redis.call('GET', {k}) redis.call('INCR', {k}) return redis.call('EXPIRE', {k}, 100)";

fn script() -> String {
    BODY.replace("{k}", "KEYS[1]")
}

fn library() -> String {
    format!("#!lua name=bench\nredis.register_function('counter', function(keys) {} end)", BODY.replace("{k}", "keys[1]"))
}

/// Loads the script and the library into `server`; returns the script's SHA-1 (the same on every
/// server).
pub fn prepare(server: &Server) -> Result<String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", server.port))?;
    let mut conn = client.get_connection().context("connecting")?;
    let _: () = redis::cmd("FUNCTION").arg("FLUSH").query(&mut conn)?;
    let _: String = redis::cmd("FUNCTION").arg("LOAD").arg(library()).query(&mut conn).context("FUNCTION LOAD")?;
    redis::cmd("SCRIPT").arg("LOAD").arg(script()).query(&mut conn).context("SCRIPT LOAD")
}

/// redis-benchmark runs: (scenario, arguments), one and sixteen requests per round trip.
pub fn scenarios(sha: &str, requests: usize) -> Vec<(String, Vec<String>)> {
    crate::throughput::pipelined_runs(requests, &[
        &["EVALSHA", sha, "1", "counter:__rand_int__"],
        &["FCALL", "counter", "1", "counter:__rand_int__"],
    ])
}
