//! The client world as any host uses it: the component's `cache` resource over a pool lent to it,
//! each of its functions called directly against a real `redis-server` on a free loopback port,
//! with what the server then holds checked through `redis-cli`.

mod common;

use cachet::client::{Endpoint, Pool, PoolOptions};
use cachet::runtime::{CacheError, CacheErrorKind, CacheOptions, ClientInstance, Node, Op, Outcome, Runtime};
use common::Redis;

async fn instance(redis: &Redis, options: CacheOptions) -> ClientInstance {
    let runtime = Runtime::shared().expect("the runtime starts");
    let pool = Pool::new(Endpoint::Tcp { host: "127.0.0.1".into(), port: redis.port }, PoolOptions::default());
    runtime.instantiate_client(pool, &options).await.expect("the client world instantiates")
}

fn options() -> CacheOptions {
    CacheOptions { username: None, password: None, database: 0, client_name: None, protocol: 2, retries: 1, no_evict: false, no_touch: false, extra_set_up: Vec::new() }
}

fn bytes(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

fn keys(names: &[&str]) -> Vec<Vec<u8>> {
    names.iter().map(|n| bytes(n)).collect()
}

fn failed<T: std::fmt::Debug>(result: Result<T, CacheError>) -> (CacheErrorKind, String) {
    let error = result.expect_err("the call fails");
    (error.kind, error.message)
}

/// A reply from `redis-cli`, without its line end.
fn cli(redis: &Redis, args: &[&str]) -> String {
    redis.cli(args).trim_end().to_string()
}

#[tokio::test]
async fn set_get_and_get_or_fail() {
    let redis = Redis::start(&[]);
    let mut instance = instance(&redis, options()).await;
    let (cache, store, this) = instance.exports();

    assert_eq!(cache.call_set(&mut *store, this, b"k", b"v1", None).await.unwrap(), Ok(()));
    assert_eq!(cli(&redis, &["GET", "k"]), "v1");
    assert_eq!(cli(&redis, &["TTL", "k"]), "-1", "no time to live: no expiry");
    assert_eq!(cache.call_set(&mut *store, this, b"short", b"x", Some(60_000)).await.unwrap(), Ok(()));
    let pttl: i64 = cli(&redis, &["PTTL", "short"]).parse().unwrap();
    assert!(pttl > 50_000 && pttl <= 60_000, "PTTL {pttl}");

    assert_eq!(cache.call_get(&mut *store, this, b"k").await.unwrap(), Ok(Some(bytes("v1"))));
    assert_eq!(cache.call_get(&mut *store, this, b"missing").await.unwrap(), Ok(None));

    assert_eq!(cache.call_get_or_fail(&mut *store, this, b"k").await.unwrap(), Ok(bytes("v1")));
    let missing = cache.call_get_or_fail(&mut *store, this, b"missing").await.unwrap();
    assert_eq!(failed(missing), (CacheErrorKind::NotFound, "no value for key 'missing'".to_string()));
}

#[tokio::test]
async fn get_or_set_keeps_an_existing_value() {
    let redis = Redis::start(&[]);
    let mut instance = instance(&redis, options()).await;
    let (cache, store, this) = instance.exports();
    redis.cli(&["SET", "k", "old"]);

    assert_eq!(cache.call_get_or_set(&mut *store, this, b"k", b"new", Some(60_000)).await.unwrap(), Ok(bytes("old")));
    assert_eq!(cli(&redis, &["TTL", "k"]), "-1", "the existing value keeps its expiry");
    assert_eq!(cache.call_get_or_set(&mut *store, this, b"fresh", b"new", Some(60_000)).await.unwrap(), Ok(bytes("new")));
    assert_eq!(cli(&redis, &["GET", "fresh"]), "new");
    let ttl: i64 = cli(&redis, &["TTL", "fresh"]).parse().unwrap();
    assert!((59..=60).contains(&ttl), "TTL {ttl}");
}

#[tokio::test]
async fn remove_says_whether_every_key_existed() {
    let redis = Redis::start(&[]);
    let mut instance = instance(&redis, options()).await;
    let (cache, store, this) = instance.exports();
    redis.cli(&["MSET", "a", "1", "b", "2", "c", "3"]);

    assert_eq!(cache.call_remove(&mut *store, this, &keys(&["a", "b"])).await.unwrap(), Ok(true));
    assert_eq!(cache.call_remove(&mut *store, this, &keys(&["c", "gone"])).await.unwrap(), Ok(false));
    assert_eq!(cli(&redis, &["EXISTS", "a", "b", "c"]), "0", "existing keys were removed either way");
    let empty = cache.call_remove(&mut *store, this, &[]).await.unwrap();
    assert_eq!(failed(empty), (CacheErrorKind::Invalid, "del needs at least one key".to_string()));
}

#[tokio::test]
async fn update_timeout_sets_and_clears_expiry() {
    let redis = Redis::start(&[]);
    let mut instance = instance(&redis, options()).await;
    let (cache, store, this) = instance.exports();
    redis.cli(&["SET", "k", "v"]);

    assert_eq!(cache.call_update_timeout(&mut *store, this, b"k", Some(10_000)).await.unwrap(), Ok(true));
    let ttl: i64 = cli(&redis, &["TTL", "k"]).parse().unwrap();
    assert!((9..=10).contains(&ttl), "TTL {ttl}");
    assert_eq!(cache.call_update_timeout(&mut *store, this, b"k", None).await.unwrap(), Ok(true));
    assert_eq!(cli(&redis, &["TTL", "k"]), "-1");
    assert_eq!(cache.call_update_timeout(&mut *store, this, b"missing", Some(10_000)).await.unwrap(), Ok(false));
    assert_eq!(cache.call_update_timeout(&mut *store, this, b"missing", None).await.unwrap(), Ok(false));
}

#[tokio::test]
async fn mset_mget_and_exists() {
    let redis = Redis::start(&[]);
    let mut instance = instance(&redis, options()).await;
    let (cache, store, this) = instance.exports();

    let pairs = [(bytes("a"), bytes("1")), (bytes("b"), bytes("2"))];
    assert_eq!(cache.call_mset(&mut *store, this, &pairs).await.unwrap(), Ok(()));
    assert_eq!(cli(&redis, &["MGET", "a", "b"]), "1\n2");
    let found = cache.call_mget(&mut *store, this, &keys(&["a", "nope", "b"])).await.unwrap();
    assert_eq!(found, Ok(vec![Some(bytes("1")), None, Some(bytes("2"))]));
    assert_eq!(cache.call_exists(&mut *store, this, &keys(&["a", "b", "nope", "a"])).await.unwrap(), Ok(3), "a key named twice counts twice");
    let empty = cache.call_mset(&mut *store, this, &[]).await.unwrap();
    assert_eq!(failed(empty), (CacheErrorKind::Invalid, "mset needs at least one key and value".to_string()));
}

#[tokio::test]
async fn incr_adds_and_reports_the_servers_refusal() {
    let redis = Redis::start(&[]);
    let mut instance = instance(&redis, options()).await;
    let (cache, store, this) = instance.exports();

    assert_eq!(cache.call_incr(&mut *store, this, b"n", 5).await.unwrap(), Ok(5));
    assert_eq!(cache.call_incr(&mut *store, this, b"n", -7).await.unwrap(), Ok(-2));
    assert_eq!(cli(&redis, &["GET", "n"]), "-2");
    redis.cli(&["SET", "text", "abc"]);
    let refused = cache.call_incr(&mut *store, this, b"text", 1).await.unwrap();
    assert_eq!(failed(refused), (CacheErrorKind::Server, "ERR value is not an integer or out of range".to_string()));
}

#[tokio::test]
async fn call_returns_any_reply_as_nodes() {
    let redis = Redis::start(&[]);
    let mut instance = instance(&redis, CacheOptions { client_name: Some("client-world".into()), ..options() }).await;
    let (cache, store, this) = instance.exports();

    assert_eq!(cache.call_call(&mut *store, this, &keys(&["ECHO", "hi"])).await.unwrap(), Ok(vec![Node::Bulk(bytes("hi"))]));
    assert_eq!(cache.call_call(&mut *store, this, &keys(&["HSET", "h", "f", "v", "g", "w"])).await.unwrap(), Ok(vec![Node::Integer(2)]));
    let fields = cache.call_call(&mut *store, this, &keys(&["HKEYS", "h"])).await.unwrap();
    assert_eq!(fields, Ok(vec![Node::Array(2), Node::Bulk(bytes("f")), Node::Bulk(bytes("g"))]));
    let name = cache.call_call(&mut *store, this, &keys(&["CLIENT", "GETNAME"])).await.unwrap();
    assert_eq!(name, Ok(vec![Node::Bulk(bytes("client-world"))]), "the new connection was set up with the name");
    let unknown = cache.call_call(&mut *store, this, &keys(&["NOSUCHCOMMAND"])).await.unwrap();
    let (kind, message) = failed(unknown);
    assert_eq!(kind, CacheErrorKind::Server);
    assert!(message.starts_with("ERR unknown command 'NOSUCHCOMMAND'"), "{message}");
    let nothing = cache.call_call(&mut *store, this, &[]).await.unwrap();
    assert_eq!(failed(nothing), (CacheErrorKind::Invalid, "call needs a command name".to_string()));
}

/// A request of every kind, with replies of every RESP3 type (DEBUG PROTOCOL answers each), a
/// server's refusal and a request that cannot be sent among them.
fn every_kind_of_request() -> Vec<Op> {
    let call = |args: &[&str]| Op::Call(keys(args));
    let mut ops = vec![
        Op::Set((bytes("k"), bytes("v"), Some(60_000))),
        Op::Get(bytes("k")),
        Op::Get(bytes("missing")),
        Op::GetOrFail(bytes("missing")),
        Op::GetOrSet((bytes("k"), bytes("other"), None)),
        Op::UpdateTimeout((bytes("k"), None)),
        Op::UpdateTimeout((bytes("missing"), Some(1_000))),
        Op::Mset(vec![(bytes("a"), bytes("1")), (bytes("b"), bytes("2"))]),
        Op::Mget(keys(&["a", "missing", "b"])),
        Op::Exists(keys(&["a", "b", "missing"])),
        Op::Incr((bytes("a"), -5)),
        Op::Incr((bytes("text"), 1)),
        Op::Remove(keys(&["a", "missing"])),
        call(&["PING"]),
        call(&["HGETALL", "h"]),
        call(&["EVAL", "return {1, redis.error_reply('bad element')}", "0"]),
        Op::Call(Vec::new()),
        Op::Send(keys(&["ECHO", "sent"])),
        Op::Receive,
    ];
    let types = ["string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "verbatim", "true", "false"];
    ops.extend(types.iter().map(|t| call(&["DEBUG", "PROTOCOL", t])));
    ops
}

/// `batch` (a list of requests and of results, as the canonical ABI carries them) and
/// `batch-packed` (one list of bytes each way, what [`ClientInstance::batch`] sends) answer the
/// same to the same requests on the same data; bytes that are not a batch are refused.
#[tokio::test]
async fn a_batch_answers_the_same_as_lists_and_as_bytes() {
    let redis = Redis::start(&["--enable-debug-command", "yes"]);
    let mut instance = instance(&redis, CacheOptions { protocol: 3, ..options() }).await;
    let seed = || {
        redis.cli(&["FLUSHALL"]);
        redis.cli(&["SET", "text", "not a number"]);
        redis.cli(&["HSET", "h", "f", "v"]);
    };
    let ops = every_kind_of_request();
    seed();
    let (cache, store, this) = instance.exports();
    let as_lists = cache.call_batch(&mut *store, this, &ops).await.expect("the component answers");
    seed();
    let as_bytes = instance.batch(&ops).await.expect("the component answers");
    assert_eq!(as_bytes, as_lists);

    let (cache, store, this) = instance.exports();
    let malformed = cache.call_batch_packed(&mut *store, this, &[1, 0, 0, 0, 99]).await.expect("the component answers");
    let mut refusal = vec![1, 0, 0, 0, 255, 6];
    let message = b"the packed batch of 5 bytes is malformed at byte 4";
    refusal.extend_from_slice(&(message.len() as u32).to_le_bytes());
    refusal.extend_from_slice(message);
    assert_eq!(malformed, refusal, "bytes that are not a batch are refused whole, saying where");

    let large = vec![b'v'; 1024 * 1024];
    let set_and_get = [Op::Set((bytes("large"), large.clone(), None)), Op::Get(bytes("large"))];
    let answered = instance.batch(&set_and_get).await.expect("the component answers");
    assert_eq!(answered, vec![Ok(Outcome::Done), Ok(Outcome::Value(Some(large)))], "a megabyte, past what goes packed, comes back whole");

    let server_error = |text: &str| Err(CacheError { kind: CacheErrorKind::Server, message: text.into() });
    assert_eq!(as_bytes[..3], [Ok(Outcome::Done), Ok(Outcome::Value(Some(bytes("v")))), Ok(Outcome::Value(None))]);
    assert_eq!(failed(as_bytes[3].clone()).0, CacheErrorKind::NotFound);
    assert_eq!(as_bytes[8], Ok(Outcome::Values(vec![Some(bytes("1")), None, Some(bytes("2"))])));
    assert_eq!(as_bytes[10], Ok(Outcome::Integer(-4)));
    assert_eq!(as_bytes[11], server_error("ERR value is not an integer or out of range"));
    assert_eq!(as_bytes[14], Ok(Outcome::Reply(vec![Node::Map(1), Node::Bulk(bytes("f")), Node::Bulk(bytes("v"))])));
    assert_eq!(as_bytes[15], Ok(Outcome::Reply(vec![Node::Array(2), Node::Integer(1), Node::Error("bad element".into())])));
    assert_eq!(failed(as_bytes[16].clone()).0, CacheErrorKind::Invalid);
    assert_eq!(as_bytes[18], Ok(Outcome::Reply(vec![Node::Bulk(bytes("sent"))])));
    let replies: Vec<_> = as_bytes[19..].iter().map(|r| r.clone().expect("DEBUG PROTOCOL answers")).collect();
    for node in [Node::Double(3.141), Node::Boolean(true), Node::Boolean(false), Node::Set(3), Node::Map(3)] {
        assert!(replies.iter().any(|r| matches!(r, Outcome::Reply(nodes) if nodes.contains(&node))), "{node:?} in {replies:?}");
    }
    assert!(replies.iter().any(|r| matches!(r, Outcome::Reply(nodes) if matches!(nodes[..], [Node::BigNumber(_)]))), "{replies:?}");
    assert!(replies.iter().any(|r| matches!(r, Outcome::Reply(nodes) if matches!(nodes[..], [Node::Verbatim(_)]))), "{replies:?}");
}

#[tokio::test]
async fn a_server_that_went_away_is_a_connection_error() {
    let mut redis = Redis::start(&[]);
    let pool_options = PoolOptions { connect_attempts: 1, ..PoolOptions::default() };
    let pool = Pool::new(Endpoint::Tcp { host: "127.0.0.1".into(), port: redis.port }, pool_options);
    let runtime = Runtime::shared().expect("the runtime starts");
    let mut instance = runtime.instantiate_client(pool, &options()).await.expect("the client world instantiates");
    redis.kill();
    let (cache, store, this) = instance.exports();
    let (kind, message) = failed(cache.call_get(&mut *store, this, b"k").await.unwrap());
    assert_eq!(kind, CacheErrorKind::Connection);
    assert!(message.starts_with(&format!("could not connect to 127.0.0.1:{}", redis.port)), "{message}");
}

/// A value longer than the component's reads: the rest of it is fetched with `read-exact`.
#[tokio::test]
async fn a_value_longer_than_one_read_comes_back_whole() {
    let redis = Redis::start(&[]);
    let mut instance = instance(&redis, options()).await;
    let (cache, store, this) = instance.exports();
    let big: Vec<u8> = (0..1_000_003u32).map(|i| (i % 251) as u8).collect();

    assert_eq!(cache.call_set(&mut *store, this, b"big", &big, None).await.unwrap(), Ok(()));
    assert_eq!(cli(&redis, &["STRLEN", "big"]), "1000003");
    let pairs = [(bytes("small"), bytes("s"))];
    assert_eq!(cache.call_mset(&mut *store, this, &pairs).await.unwrap(), Ok(()));
    let found = cache.call_mget(&mut *store, this, &keys(&["small", "big", "small"])).await.unwrap();
    assert_eq!(found, Ok(vec![Some(bytes("s")), Some(big.clone()), Some(bytes("s"))]));
    assert_eq!(cache.call_get(&mut *store, this, b"big").await.unwrap(), Ok(Some(big)));
}
