//! The near cache against real servers (Debian's redis-server and `cachet serve`): whatever
//! changes a key on the server — another client's write, expiry, eviction, a flush — reaches the
//! local copy once the server's invalidation arrives; a hit does not reach the server; a lost
//! invalidation connection clears everything and the cache works again on a new one.

mod common;

use bytes::Bytes;
use cachet::client::{Client, NearCache, NearCacheOptions, Tracking, Ttl};
use common::{Redis, Server, redis_cli};
use std::time::{Duration, Instant};

#[tokio::test]
async fn near_cache_against_redis_server() {
    let redis = Redis::start(&[]);
    scenarios(&redis.url(), redis.port).await;
}

#[tokio::test]
async fn near_cache_against_cachet_serve() {
    let server = Server::start(&[]);
    scenarios(&server.url(), server.port).await;
}

async fn scenarios(url: &str, port: u16) {
    let other = Client::open(url).await.unwrap();
    let mut redis = redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap();
    let near = NearCache::open(url, NearCacheOptions::default()).await.unwrap();

    changed_by_another_client(&near, &other, &mut redis, port).await;
    expired(&near, &other).await;
    flushed(&near, &other).await;
    evicted(&near, &other).await;
    invalidation_connection_killed(&near, &other).await;
    near.close();

    broadcast(url, &other).await;
    bounded(url, &other).await;
    other.close();
}

/// Reads `key` until it is kept locally (a read that hits).
async fn cached(near: &NearCache, key: &str) -> Option<Bytes> {
    until(&format!("{key} is kept locally"), async || {
        let hits = near.stats().hits;
        near.get(key).await.unwrap();
        near.stats().hits > hits
    })
    .await;
    near.get(key).await.unwrap()
}

async fn changed_by_another_client(near: &NearCache, other: &Client, redis: &mut redis::aio::MultiplexedConnection, port: u16) {
    other.set("k", "v1", Ttl::Never).await.unwrap();
    assert_eq!(cached(near, "k").await, Some(Bytes::from("v1")));
    let gets = command_calls(port, "get");
    for _ in 0..10 {
        assert_eq!(near.get("k").await.unwrap(), Some(Bytes::from("v1")));
    }
    assert_eq!(command_calls(port, "get"), gets, "hits do not reach the server");

    // Changed by the redis crate: the local copy goes when the invalidation arrives.
    let invalidations = near.stats().invalidations;
    redis::cmd("SET").arg("k").arg("v2").query_async::<()>(redis).await.unwrap();
    until("k is read as v2", async || near.get("k").await.unwrap() == Some(Bytes::from("v2"))).await;
    assert!(near.stats().invalidations > invalidations);

    // A key read while absent is tracked too.
    assert_eq!(cached(near, "absent").await, None);
    other.set("absent", "here", Ttl::Never).await.unwrap();
    until("absent is read as here", async || near.get("absent").await.unwrap() == Some(Bytes::from("here"))).await;

    // Writes through the near cache are read back at once.
    near.set("k", "v3", Ttl::Never).await.unwrap();
    assert_eq!(near.get("k").await.unwrap(), Some(Bytes::from("v3")));
    assert!(near.remove(["k"]).await.unwrap());
    assert_eq!(near.get("k").await.unwrap(), None);
}

async fn expired(near: &NearCache, other: &Client) {
    other.set("short", "lived", Ttl::Never).await.unwrap();
    assert_eq!(cached(near, "short").await, Some(Bytes::from("lived")));
    other.call(["PEXPIRE", "short", "300"]).await.unwrap();
    // The PEXPIRE itself invalidates; once read again, the value is kept until it expires.
    until("short expired", async || near.get("short").await.unwrap().is_none()).await;
}

async fn flushed(near: &NearCache, other: &Client) {
    for key in ["f1", "f2", "f3"] {
        other.set(key, "x", Ttl::Never).await.unwrap();
        cached(near, key).await;
    }
    let invalidations = near.stats().invalidations;
    other.call(["FLUSHALL"]).await.unwrap();
    until("the flush reached the near cache", async || near.stats().entries == 0).await;
    assert!(near.stats().invalidations > invalidations);
    for key in ["f1", "f2", "f3"] {
        assert_eq!(near.get(key).await.unwrap(), None);
    }
}

async fn evicted(near: &NearCache, other: &Client) {
    other.set("victim", "soon gone", Ttl::Never).await.unwrap();
    assert_eq!(cached(near, "victim").await, Some(Bytes::from("soon gone")));
    other.call(["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]).await.unwrap();
    other.call(["CONFIG", "SET", "maxmemory", "1"]).await.unwrap();
    // Any write makes the server evict (it may be refused itself: nothing is small enough).
    until("victim evicted", async || {
        let _ = other.set("pressure", "x", Ttl::Never).await;
        near.get("victim").await.unwrap().is_none()
    })
    .await;
    other.call(["CONFIG", "SET", "maxmemory", "0"]).await.unwrap();
    other.call(["CONFIG", "SET", "maxmemory-policy", "noeviction"]).await.unwrap();
}

async fn invalidation_connection_killed(near: &NearCache, other: &Client) {
    other.set("kept", "before", Ttl::Never).await.unwrap();
    cached(near, "kept").await;
    let resets = near.stats().resets;
    other.call(["CLIENT", "KILL", "TYPE", "pubsub"]).await.unwrap();
    until("everything local dropped", async || near.stats().resets > resets).await;

    // Works again: a value kept through the new connection is invalidated through it.
    until("kept is kept again", async || {
        let hits = near.stats().hits;
        near.get("kept").await.is_ok_and(|v| v == Some(Bytes::from("before"))) && near.get("kept").await.is_ok() && near.stats().hits > hits
    })
    .await;
    other.set("kept", "after", Ttl::Never).await.unwrap();
    until("kept is read as after", async || near.get("kept").await.ok().flatten() == Some(Bytes::from("after"))).await;
}

async fn broadcast(url: &str, other: &Client) {
    let options = NearCacheOptions { tracking: Tracking::Broadcast { prefixes: vec![Bytes::from("b:")] }, ..NearCacheOptions::default() };
    let near = NearCache::open(url, options).await.unwrap();
    other.set("b:1", "one", Ttl::Never).await.unwrap();
    other.set("elsewhere", "x", Ttl::Never).await.unwrap();
    assert_eq!(cached(&near, "b:1").await, Some(Bytes::from("one")));

    // Outside the prefixes nothing is kept: every read is a miss.
    let misses = near.stats().misses;
    for _ in 0..3 {
        assert_eq!(near.get("elsewhere").await.unwrap(), Some(Bytes::from("x")));
    }
    assert_eq!(near.stats().misses, misses + 3);

    let invalidations = near.stats().invalidations;
    other.set("b:1", "uno", Ttl::Never).await.unwrap();
    until("b:1 is read as uno", async || near.get("b:1").await.unwrap() == Some(Bytes::from("uno"))).await;
    assert!(near.stats().invalidations > invalidations);
    near.close();
}

async fn bounded(url: &str, other: &Client) {
    let options = NearCacheOptions { max_entries: 3, ..NearCacheOptions::default() };
    let near = NearCache::open(url, options).await.unwrap();
    let keys = ["l1", "l2", "l3", "l4", "l5"];
    for key in keys {
        other.set(key, key, Ttl::Never).await.unwrap();
    }
    cached(&near, "l1").await;
    let before = near.stats();
    for key in &keys[1..] {
        near.get(key).await.unwrap();
    }
    let after = near.stats();
    assert_eq!(after.entries, 3);
    assert_eq!(after.evictions - before.evictions, 2, "l1 and l2 went first");
    for key in &keys[2..] {
        assert_eq!(near.get(key).await.unwrap(), Some(Bytes::from(key.to_string())));
    }
    assert_eq!(near.stats().hits - after.hits, 3, "the three most recent are kept");
    near.close();
}

/// Checks `condition` until it holds; fails after 30 s.
async fn until(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition().await {
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn command_calls(port: u16, command: &str) -> u64 {
    let info = redis_cli(port, &["INFO", "commandstats"]);
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|rest| rest.split(',').next()).and_then(|n| n.parse().ok()).unwrap_or(0)
}
