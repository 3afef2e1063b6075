//! The client's connections keep their promises (`cachet::client`), against Debian's redis-server
//! and `cachet serve`: session commands never reach a shared connection, blocking commands get one
//! of their own, transactions with WATCH retry, pipelines keep their order, `max_connections`
//! bounds shared and dedicated connections together, a response timeout bounds each request, and
//! a subscriber resubscribes after its connection is killed.

mod common;

use bytes::Bytes;
use cachet::client::{Client, ErrorKind, Message, Request, Ttl, Value};
use common::{Redis, Server};
use std::time::Instant;
use std::time::Duration;

fn bulk(text: &str) -> Value {
    Value::Bulk(Bytes::from(text.to_string()))
}

/// Every case, against one server (its URL without options).
async fn promises_kept(url: &str) {
    let client = Client::open(url).await.expect("client opens");
    client.call(["FLUSHALL"]).await.unwrap();
    session_commands_are_refused(&client).await;
    blocking_commands_do_not_stall_the_others(&client).await;
    dedicated_connections_keep_their_session(&client).await;
    transactions_retry_when_a_watched_key_changes(&client).await;
    pipelines_keep_their_order(&client).await;
    typed_values(&client).await;
    subscribers_receive_and_resubscribe(url, "?protocol=2").await;
    subscribers_receive_and_resubscribe(url, "?protocol=3").await;
    dedicated_connections_count_against_max_connections(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promises_kept_against_redis_server() {
    let redis = Redis::start(&[]);
    promises_kept(&redis.url()).await;
    response_timeouts_bound_each_request(&redis.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promises_kept_against_cachet_serve() {
    let server = Server::start(&[]);
    promises_kept(&server.url()).await;
    response_timeouts_bound_each_request(&server.url()).await;
}

async fn session_commands_are_refused(client: &Client) {
    client.set("k", "v", Ttl::Never).await.unwrap();
    for command in [&["MULTI"][..], &["SELECT", "5"], &["SUBSCRIBE", "c"], &["CLIENT", "TRACKING", "on"], &["WATCH", "k"], &["HELLO", "3"]] {
        let refused = client.call(command).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Invalid, "{command:?}");
        assert!(refused.message().contains("changes the session"), "{command:?}: {}", refused.message());
    }
    let refused = client.call(["multi"]).await.unwrap_err();
    assert!(refused.message().contains("Client::transaction"), "{}", refused.message());
    // Nothing reached a shared connection: a GET answers the value, not QUEUED, from database 0.
    assert_eq!(client.get("k").await.unwrap(), Some(Bytes::from("v")));
    let in_batch = client.batch(vec![Request::call(["SELECT", "2"]), Request::get("k"), Request::call(["BLPOP", "q", "0"])]).await;
    assert_eq!(in_batch[0].as_ref().unwrap_err().kind(), ErrorKind::Invalid);
    assert_eq!(in_batch[1].as_ref().unwrap(), &bulk("v"));
    assert!(in_batch[2].as_ref().unwrap_err().message().contains("blocking command"), "{:?}", in_batch[2]);
}

async fn blocking_commands_do_not_stall_the_others(client: &Client) {
    client.call(["DEL", "jobs"]).await.unwrap();
    let popper = client.clone();
    let pop = tokio::spawn(async move { popper.call(["BLPOP", "jobs", "0"]).await });
    // The BLPOP waits on a connection of its own: requests behind it are answered meanwhile.
    for i in 0..10 {
        client.set(format!("n{i}"), i.to_string(), Ttl::Never).await.unwrap();
        assert_eq!(client.get(format!("n{i}")).await.unwrap(), Some(Bytes::from(i.to_string())));
    }
    assert!(!pop.is_finished(), "nothing was pushed yet");
    // Pushed before or after the BLPOP reached the server, the element is popped by it.
    client.call(["RPUSH", "jobs", "first"]).await.unwrap();
    let popped = pop.await.unwrap().unwrap();
    assert_eq!(popped, Value::Array(vec![bulk("jobs"), bulk("first")]));
    // A blocking command that times out answers as the server does.
    assert_eq!(client.call(["BRPOP", "nothing", "0.05"]).await.unwrap(), Value::Nil);
}

/// Polls `check` until it holds, for at most 60 s.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within 60 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn dedicated_connections_keep_their_session(client: &Client) {
    let mut lease = client.dedicated().await.unwrap();
    assert_eq!(lease.call(["SELECT", "5"]).await.unwrap(), Value::Status("OK".into()));
    lease.call(["SET", "where", "five"]).await.unwrap();
    assert_eq!(lease.call(["GET", "where"]).await.unwrap(), bulk("five"));
    // The shared connections stayed on database 0.
    assert_eq!(client.get("where").await.unwrap(), None);
    let name = lease.call(["CLIENT", "ID"]).await.unwrap();
    drop(lease);
    // A lease whose session changed is closed, never handed to another caller.
    until("the leased connection is closed", async || {
        let Ok(Value::Bulk(list)) = client.call(["CLIENT", "LIST"]).await else { return false };
        let Value::Int(id) = name else { return false };
        !String::from_utf8_lossy(&list).lines().any(|l| l.starts_with(&format!("id={id} ")))
    })
    .await;
    let refused = client.dedicated().await.unwrap().call(["SUBSCRIBE", "c"]).await.unwrap_err();
    assert!(refused.message().contains("Client::subscriber"), "{}", refused.message());
}

async fn transactions_retry_when_a_watched_key_changes(client: &Client) {
    client.set("counter", "1", Ttl::Never).await.unwrap();
    let mut attempts = 0;
    let replies = client
        .transaction(["counter"], async |tx| {
            attempts += 1;
            let seen: i64 = tx.get_parsed("counter").await?.unwrap_or(0);
            if attempts == 1 {
                // Another client changes the watched key between the read and EXEC.
                client.incr("counter", 10).await?;
            }
            tx.queue(["SET", "counter", &(seen * 2).to_string()]).queue(["GET", "counter"]);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(attempts, 2, "the first EXEC ran nothing; the body ran again with a fresh read");
    assert_eq!(replies, vec![Value::Status("OK".into()), bulk("22")]);
    assert_eq!(client.get("counter").await.unwrap(), Some(Bytes::from("22")));

    // A command the server refuses while queueing aborts the transaction, and the error says which.
    let refused = client
        .transaction(std::iter::empty::<&str>(), async |tx| {
            tx.queue(["SET", "a", "1"]).queue(["SET", "b"]);
            Ok(())
        })
        .await
        .unwrap_err();
    assert!(refused.message().starts_with("EXECABORT"), "{}", refused.message());
    assert!(refused.message().contains("wrong number of arguments"), "{}", refused.message());
    assert_eq!(client.get("a").await.unwrap(), None, "nothing ran");
    // A command that fails inside EXEC is an error among the replies; the others ran.
    client.set("text", "abc", Ttl::Never).await.unwrap();
    let replies = client.pipeline().call(["INCR", "text"]).set("b", "2", Ttl::Never).atomic().await.unwrap();
    assert!(matches!(&replies[0], Value::Error(e) if e.starts_with("ERR value is not an integer")), "{replies:?}");
    assert_eq!(client.get("b").await.unwrap(), Some(Bytes::from("2")));
    let inside = client.transaction(["x"], async |tx| tx.call(["MULTI"]).await.map(drop)).await.unwrap_err();
    assert!(inside.message().contains("Transaction::queue"), "{}", inside.message());
}

async fn pipelines_keep_their_order(client: &Client) {
    // Many callers at once: each pipeline's commands run in its order, whichever connection it gets.
    let mut tasks = Vec::new();
    for i in 0..32 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("p{i}");
            client.pipeline().set(&key, "1", Ttl::Never).incr(&key, 1).call(["APPEND", &key, "x"]).get(&key).run().await
        }));
    }
    for task in tasks {
        let results: Vec<Value> = task.await.unwrap().into_iter().map(Result::unwrap).collect();
        assert_eq!(results, vec![Value::Status("OK".into()), Value::Int(2), Value::Int(2), bulk("2x")]);
    }
}

async fn subscribers_receive_and_resubscribe(url: &str, options: &str) {
    let subscribing = Client::open(&format!("{url}{options}")).await.unwrap();
    let mut subscriber = subscribing.subscriber().await.unwrap();
    // Checks and publishes in RESP2, whichever protocol the subscriber speaks.
    let client = Client::open(url).await.unwrap();
    subscriber.subscribe(["news", "sport"]).await.unwrap();
    subscriber.psubscribe(["n*"]).await.unwrap();
    assert_eq!(client.call(["PUBLISH", "news", "hello"]).await.unwrap(), Value::Int(2), "the channel and the pattern");
    let mut got = vec![subscriber.next_message().await.unwrap(), subscriber.next_message().await.unwrap()];
    got.sort_by_key(|m| m.pattern.is_some());
    let message = |pattern: Option<&str>| Message {
        channel: Bytes::from("news"),
        pattern: pattern.map(|p| Bytes::from(p.to_string())),
        payload: Bytes::from("hello"),
        sharded: false,
        items: Vec::new(),
    };
    assert_eq!(got, vec![message(None), message(Some("n*"))]);

    // Its connection killed, the subscriber takes a new one and subscribes again to all three.
    client.call(["CLIENT", "KILL", "TYPE", "pubsub"]).await.unwrap();
    until("the subscriber is back on news and n*", async || {
        let channels = client.call(["PUBSUB", "NUMSUB", "news", "sport"]).await;
        let patterns = client.call(["PUBSUB", "NUMPAT"]).await;
        channels == Ok(Value::Array(vec![bulk("news"), Value::Int(1), bulk("sport"), Value::Int(1)])) && patterns == Ok(Value::Int(1))
    })
    .await;
    subscriber.punsubscribe(["n*"]).await.unwrap();
    subscriber.unsubscribe(["news"]).await.unwrap();
    assert_eq!(client.call(["PUBLISH", "news", "unheard"]).await.unwrap(), Value::Int(0));
    assert_eq!(client.call(["PUBLISH", "sport", "goal"]).await.unwrap(), Value::Int(1));
    let goal = subscriber.next_message().await.unwrap();
    assert_eq!((goal.channel, goal.payload), (Bytes::from("sport"), Bytes::from("goal")));
    drop(subscriber);
    until("the subscriber's connection is closed", async || {
        client.call(["PUBSUB", "NUMSUB", "sport"]).await == Ok(Value::Array(vec![bulk("sport"), Value::Int(0)]))
    })
    .await;
}

async fn dedicated_connections_count_against_max_connections(url: &str) {
    let strict = Client::open(&format!("{url}?max_connections=2&blocking=false")).await.unwrap();
    let first = strict.dedicated().await.unwrap();
    let second = strict.dedicated().await.unwrap();
    let refused = strict.dedicated().await.err().expect("a third is refused");
    assert_eq!(refused.kind(), ErrorKind::Exhausted, "{}", refused.message());
    drop(first);
    let third = strict.dedicated().await.expect("a lease ended: room for one");
    drop((second, third));

    let patient = Client::open(&format!("{url}?max_connections=1&blocking=true&timeout=0.2")).await.unwrap();
    let held = patient.dedicated().await.unwrap();
    let waited = patient.dedicated().await.err().expect("no room within the pool's timeout");
    assert_eq!(waited.kind(), ErrorKind::Timeout, "{}", waited.message());
    let longer = Client::open(&format!("{url}?max_connections=1&blocking=true&timeout=60")).await.unwrap();
    let held_long = longer.dedicated().await.unwrap();
    let waiter = {
        let longer = longer.clone();
        tokio::spawn(async move { longer.call(["PING"]).await })
    };
    assert!(!waiter.is_finished());
    drop(held_long);
    assert_eq!(waiter.await.unwrap().unwrap(), Value::Status("PONG".into()), "the shared request got the freed connection");
    drop(held);
}

async fn response_timeouts_bound_each_request(url: &str) {
    let client = Client::open(&format!("{url}?response_timeout=0.2")).await.unwrap();
    let side = Client::open(url).await.unwrap();
    side.call(["SET", "paused", "0"]).await.unwrap();
    side.call(["CLIENT", "PAUSE", "1500", "WRITE"]).await.unwrap();
    let started = Instant::now();
    let late = client.incr("paused", 1).await.unwrap_err();
    assert_eq!(late.kind(), ErrorKind::Timeout);
    assert!(late.message().contains("may or may not have run"), "{}", late.message());
    assert!(started.elapsed() < Duration::from_millis(1400), "the caller was answered before the pause ended");
    // It did run, once the pause ended: exactly what the error warned of.
    until("the INCR ran after the pause", async || side.get("paused").await == Ok(Some(Bytes::from("1")))).await;
    // A blocking command waits its own timeout plus the response timeout: 2 s of blocking outlive
    // a 1 s response timeout.
    let patient = Client::open(&format!("{url}?response_timeout=1")).await.unwrap();
    assert_eq!(patient.call(["BLPOP", "empty", "2"]).await.unwrap(), Value::Nil);
    // A per-call override.
    side.call(["CLIENT", "PAUSE", "300", "WRITE"]).await.unwrap();
    assert_eq!(client.with_timeout(Duration::from_secs(30)).incr("paused", 1).await.unwrap(), 2);
}

async fn typed_values(client: &Client) {
    client.set("typed:n", 42i64, Ttl::Never).await.unwrap();
    client.set("typed:f", 2.5f64, Ttl::Never).await.unwrap();
    assert_eq!(client.get_as::<i64>("typed:n").await.unwrap(), Some(42));
    assert_eq!(client.get_as::<f64>("typed:f").await.unwrap(), Some(2.5));
    assert_eq!(client.get_as::<String>("typed:none").await.unwrap(), None);
    let not_a_number = client.get_as::<u32>("k").await.unwrap_err();
    assert_eq!(not_a_number.kind(), ErrorKind::Invalid, "{}", not_a_number.message());
    client.call(["HSET", "typed:h", "a", "1", "b", "2"]).await.unwrap();
    let hash: std::collections::BTreeMap<String, i64> = client.call_as(["HGETALL", "typed:h"]).await.unwrap();
    assert_eq!(hash.into_iter().collect::<Vec<_>>(), vec![("a".to_string(), 1), ("b".to_string(), 2)]);
    let values: Vec<Option<i64>> = client.call_as(["HMGET", "typed:h", "a", "zz", "b"]).await.unwrap();
    assert_eq!(values, vec![Some(1), None, Some(2)]);
}
