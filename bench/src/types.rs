//! The data types beyond strings: bytes per element of hashes, sets, lists and sorted sets loaded
//! into each server, and redis-benchmark's hash, set, list and sorted set commands against both.

use crate::memory::{pipeline, used_and_rss};
use crate::servers::Server;
use anyhow::Result;
use cachet_guest::resp::encode_command;

/// Elements in each collection loaded: 10,000 collections of 100 are a million elements, each
/// collection small enough for the compact encodings (listpack) of both servers.
pub const ELEMENTS: usize = 100;

/// What one way of loading elements cost a server, per element.
#[derive(Clone, Copy, Debug)]
pub struct ElementCost {
    pub used_memory: f64,
    pub rss: f64,
}

/// The shapes measured: hashes of 16-byte values, the same with a TTL on every field, sets,
/// sorted sets (integer scores, as leaderboards and time-ordered indexes mostly have).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Hash,
    HashWithFieldTtls,
    Set,
    List,
    SortedSet,
    /// Sorted sets of [`LARGE`] members: past both servers' listpack limit, so their skiplists.
    LargeSortedSet,
}

/// Elements in each collection of the large shape; a tenth as many collections are loaded.
pub const LARGE: usize = 1_000;

impl Shape {
    pub const ALL: [Shape; 6] = [Shape::Hash, Shape::HashWithFieldTtls, Shape::Set, Shape::List, Shape::SortedSet, Shape::LargeSortedSet];

    fn elements(self) -> usize {
        if self == Shape::LargeSortedSet { LARGE } else { ELEMENTS }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Shape::Hash => "hash fields (16-byte values)",
            Shape::HashWithFieldTtls => "hash fields with a TTL each (HEXPIRE)",
            Shape::Set => "set members",
            Shape::List => "list elements",
            Shape::SortedSet => "sorted set members (integer scores)",
            Shape::LargeSortedSet => "sorted set members, sets of 1,000 (skiplist)",
        }
    }

    /// The commands that fill collection `n`, written in RESP.
    fn load(self, n: usize, out: &mut Vec<u8>) -> usize {
        let (prefix, command, pairs) = match self {
            Shape::Set => ("set", "SADD", false),
            Shape::List => ("list", "RPUSH", false),
            Shape::SortedSet | Shape::LargeSortedSet => ("zset", "ZADD", false),
            Shape::Hash | Shape::HashWithFieldTtls => ("hash", "HSET", true),
        };
        let key = format!("{prefix}:{n:08}");
        let mut args: Vec<String> = vec![command.into(), key.clone()];
        let elements = self.elements();
        for e in 0..elements {
            if matches!(self, Shape::SortedSet | Shape::LargeSortedSet) {
                args.push((e * 7 % elements).to_string());
            }
            args.push(format!("element:{e:06}"));
            if pairs {
                args.push("value-0123456789".into());
            }
        }
        encode_command(out, &args);
        if self != Shape::HashWithFieldTtls {
            return 1;
        }
        let mut expire: Vec<String> = vec!["HEXPIRE".into(), key, "3600".into(), "FIELDS".into(), ELEMENTS.to_string()];
        expire.extend((0..ELEMENTS).map(|e| format!("element:{e:06}")));
        encode_command(out, &expire);
        2
    }
}

/// Loads `collections` collections of `shape` (of the large shape, as many elements in a tenth as
/// many collections) into a fresh server and measures the growth.
pub fn bytes_per_element(server: &Server, shape: Shape, collections: usize) -> Result<ElementCost> {
    let collections = collections * ELEMENTS / shape.elements();
    let before = used_and_rss(server)?;
    const BATCH: usize = 100;
    for start in (0..collections).step_by(BATCH) {
        let mut batch = Vec::new();
        let mut commands = 0;
        for n in start..(start + BATCH).min(collections) {
            commands += shape.load(n, &mut batch);
        }
        pipeline(server, &batch, commands)?;
    }
    let after = used_and_rss(server)?;
    let elements = (collections * shape.elements()) as f64;
    Ok(ElementCost {
        used_memory: after.0.saturating_sub(before.0) as f64 / elements,
        rss: after.1.saturating_sub(before.1) as f64 / elements,
    })
}

/// redis-benchmark runs for the hash, set and sorted set commands: (scenario, arguments). HSET,
/// SADD and ZADD come first, so HGET, SISMEMBER and the sorted set reads find what they fill;
/// `myzset` grows to about 100,000 members (a skiplist in both servers).
pub fn scenarios(requests: usize) -> Vec<(String, Vec<String>)> {
    crate::throughput::pipelined_runs(requests, &[
        &["-t", "hset,sadd"],
        &["HGET", "myhash", "element:__rand_int__"],
        &["SISMEMBER", "myset", "element:__rand_int__"],
        &["-t", "lpush,rpop,lrange_100"],
        &["ZADD", "myzset", "__rand_int__", "element:__rand_int__"],
        &["ZINCRBY", "myzset", "1", "element:__rand_int__"],
        &["ZRANGE", "myzset", "0", "99"],
        &["ZRANGEBYSCORE", "myzset", "__rand_int__", "+inf", "LIMIT", "0", "10"],
    ])
}

/// The command's name of a redis-benchmark test (a custom command's test is its whole line).
pub fn test_name(test: &str) -> String {
    test.split_whitespace().next().unwrap_or(test).to_ascii_uppercase()
}
