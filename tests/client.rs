//! The cachet client (`cachet::client`) against real servers: Debian's `redis-server` and
//! `cachet serve`, both started on free loopback ports; the pools, reconnects, URLs, `mem://`
//! and `cachet cli`.

mod common;

use bytes::Bytes;
use cachet::client::{Client, Endpoint, ErrorKind, Pool, PoolOptions, Request, Ttl, Value};
use common::{CACHET, PATIENCE, Redis, Server, free_port, wait_until_async};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Every adapter call, checked against one server.
async fn exercise_adapter(url: &str) {
    let client = Client::open(url).await.expect("client opens");
    client.call(["FLUSHDB"]).await.expect("flushdb");

    assert_eq!(client.get("missing").await.unwrap(), None);
    assert_eq!(client.get_or("missing", "fallback").await.unwrap(), Bytes::from("fallback"));
    let not_found = client.get_or_fail("missing").await.unwrap_err();
    assert_eq!(not_found.kind(), ErrorKind::NotFound);
    assert_eq!(not_found.message(), "no value for key 'missing'");

    client.set("k", "v1", Ttl::Default).await.unwrap();
    assert_eq!(client.get("k").await.unwrap(), Some(Bytes::from("v1")));
    assert!(client.batch(Vec::new()).await.is_empty(), "an empty batch is answered at once");
    assert!(client.pipeline().run().await.is_empty());
    let ttl = client.call(["TTL", "k"]).await.unwrap();
    assert!(matches!(ttl, Value::Int(t) if (299..=300).contains(&t)), "default TTL is 300 s, got {ttl:?}");
    client.set("forever", "x", Ttl::Never).await.unwrap();
    assert_eq!(client.call(["TTL", "forever"]).await.unwrap(), Value::Int(-1));
    // Milliseconds are kept: whole seconds would make 1000 or 2000.
    client.set("short", "x", Duration::from_millis(1900)).await.unwrap();
    assert!(matches!(client.call(["PTTL", "short"]).await.unwrap(), Value::Int(t) if t > 1000 && t <= 1900));

    assert_eq!(client.get_or_set("k", "other", 60u64).await.unwrap(), Bytes::from("v1"), "an existing value wins");
    assert_eq!(client.get_or_set("fresh", "new", 60u64).await.unwrap(), Bytes::from("new"));
    assert_eq!(client.get("fresh").await.unwrap(), Some(Bytes::from("new")));

    assert!(client.update_timeout("k", 10u64).await.unwrap());
    assert!(matches!(client.call(["TTL", "k"]).await.unwrap(), Value::Int(t) if (9..=10).contains(&t)));
    assert!(client.update_timeout("k", Ttl::Never).await.unwrap());
    assert_eq!(client.call(["TTL", "k"]).await.unwrap(), Value::Int(-1));
    assert!(!client.update_timeout("missing", 10u64).await.unwrap());
    assert!(!client.update_timeout("missing", Ttl::Never).await.unwrap());

    client.mset([("a", "1"), ("b", "2")]).await.unwrap();
    assert_eq!(client.mget(["a", "nope", "b"]).await.unwrap(), vec![Some(Bytes::from("1")), None, Some(Bytes::from("2"))]);
    assert_eq!(client.incr("a", 41).await.unwrap(), 42);
    assert_eq!(client.incr("counter", -3).await.unwrap(), -3);
    assert_eq!(client.get_parsed::<i64>("a").await.unwrap(), Some(42));
    assert_eq!(client.get_string("b").await.unwrap().as_deref(), Some("2"));
    assert_eq!(client.exists(["a", "b", "nope"]).await.unwrap(), 2);

    assert!(client.remove(["a", "b"]).await.unwrap(), "both existed");
    assert!(!client.remove(["fresh", "gone"]).await.unwrap(), "one did not exist");
    assert_eq!(client.get("fresh").await.unwrap(), None, "the existing one was still removed");

    let error = client.incr("k", 1).await.unwrap_err();
    assert_eq!((error.kind(), error.message()), (ErrorKind::Server, "ERR value is not an integer or out of range"));
    let unknown = client.call(["NOSUCHCOMMAND"]).await.unwrap_err();
    assert!(unknown.message().starts_with("ERR unknown command"), "{unknown}");
    assert_eq!(client.call(["ECHO", "hi"]).await.unwrap(), Value::Bulk(Bytes::from("hi")));
    assert_eq!(client.call(Vec::<&str>::new()).await.unwrap_err().kind(), ErrorKind::Invalid);

    let results = client
        .batch(vec![Request::set("x", "1", Ttl::Never), Request::incr("x", 2), Request::get("x"), Request::call(["GET"]), Request::remove(["x"])])
        .await;
    assert_eq!(results[0], Ok(Value::Status("OK".into())));
    assert_eq!(results[1], Ok(Value::Int(3)));
    assert_eq!(results[2], Ok(Value::Bulk(Bytes::from("3"))));
    assert_eq!(results[3].as_ref().unwrap_err().message(), "ERR wrong number of arguments for 'get' command");
    assert_eq!(results[4], Ok(Value::Bool(true)));
    client.close();
    assert_eq!(client.get("k").await.unwrap_err().kind(), ErrorKind::Closed);
}

/// A client that outlives the runtime it was opened on (its workers ended with that runtime) says
/// it is closed at once, on another runtime, instead of leaving the request to time out.
#[test]
fn a_client_outliving_its_runtime_says_it_is_closed() {
    let redis = Redis::start(&[]);
    let first = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let client = first.block_on(async {
        let client = Client::open(&redis.url()).await.unwrap();
        client.set("k", "v", Ttl::Never).await.unwrap();
        client
    });
    drop(first);
    let second = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let error = second.block_on(client.with_timeout(PATIENCE).get("k")).unwrap_err();
    assert_eq!((error.kind(), error.message()), (ErrorKind::Closed, "the client is closed"));
}

#[tokio::test]
async fn adapter_against_redis_server() {
    let redis = Redis::start(&[]);
    exercise_adapter(&redis.url()).await;
}

#[tokio::test]
async fn adapter_against_cachet_serve() {
    let server = Server::start(&[]);
    exercise_adapter(&server.url()).await;
}

#[tokio::test]
async fn adapter_in_memory() {
    exercise_adapter("mem://").await;
    let answer = Client::scoped("mem://scoped", async |client| {
        client.set("k", "v", Ttl::Default).await?;
        client.get_or_set_with_sync("sync", Ttl::Default, || Ok::<_, std::io::Error>("made")).await
    })
    .await
    .unwrap();
    assert_eq!(answer.unwrap(), Bytes::from("made"));
}

#[tokio::test]
async fn named_memory_keyspaces_are_shared_private_ones_are_not() {
    let a = Client::open("mem://shared-test").await.unwrap();
    let b = Client::open("mem://shared-test").await.unwrap();
    let private = Client::open("mem://").await.unwrap();
    a.set("k", "v", Ttl::Never).await.unwrap();
    assert_eq!(b.get("k").await.unwrap(), Some(Bytes::from("v")));
    assert_eq!(private.get("k").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_few_connections() {
    let redis = Redis::start(&[]);
    let client = Client::open(&redis.url()).await.unwrap();
    let mut tasks = Vec::new();
    for task in 0..256 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let key = format!("t{task}:{i}");
                client.set(&key, &key, Ttl::Default).await.unwrap();
                assert_eq!(client.get(&key).await.unwrap(), Some(Bytes::from(key)));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let stats = client.pool_stats();
    assert!(stats.created <= 8, "256 tasks were served by {} connections", stats.created);
    assert_eq!(client.call(["DBSIZE"]).await.unwrap(), Value::Int(256 * 50));
}

/// On one connection, a request goes out while the reply to the one before it is still on its
/// way. A proxy between the client and redis-server holds every reply back until the second GET
/// has reached it: a client that waited for the first reply before sending the second would get
/// neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_go_out_while_earlier_replies_are_outstanding() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let redis = Redis::start(&[]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (first_arrived, first_seen) = tokio::sync::oneshot::channel();
    let upstream = redis.port;
    let proxy = tokio::spawn(async move {
        let (mut client_side, _) = listener.accept().await.unwrap();
        let mut server_side = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await.unwrap();
        let (mut requests, mut buffer) = (Vec::new(), [0u8; 4096]);
        let mut first_arrived = Some(first_arrived);
        let has = |bytes: &[u8], word: &[u8]| bytes.windows(word.len()).any(|w| w == word);
        while !has(&requests, b"second") {
            let n = client_side.read(&mut buffer).await.unwrap();
            assert!(n > 0, "the client closed the connection");
            requests.extend_from_slice(&buffer[..n]);
            server_side.write_all(&buffer[..n]).await.unwrap();
            if has(&requests, b"first") {
                first_arrived.take().map(|arrived| arrived.send(()));
            }
        }
        let _ = tokio::io::copy_bidirectional(&mut client_side, &mut server_side).await;
    });
    let client = Client::open(&format!("redis://127.0.0.1:{port}/?max_connections=1")).await.unwrap();
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.get("first").await }
    });
    first_seen.await.expect("the first GET reached the proxy");
    let second = tokio::time::timeout(PATIENCE, client.get("second")).await;
    assert_eq!(second.expect("the second GET was sent before the first one's reply came").unwrap(), None);
    assert_eq!(first.await.unwrap().unwrap(), None);
    assert_eq!(client.pool_stats().created, 1, "both went out on the one connection");
    proxy.abort();
}

fn pool_options(max_connections: usize, blocking: bool) -> PoolOptions {
    PoolOptions { max_connections, blocking, timeout: Duration::from_millis(300), ..PoolOptions::default() }
}

fn endpoint(port: u16) -> Endpoint {
    Endpoint::Tcp { host: "127.0.0.1".into(), port }
}

/// Sends one command on a pooled stream and returns the reply line.
async fn ask(stream: &mut cachet::client::PooledStream, command: &str) -> String {
    let connection = stream.connection();
    connection.write(command.as_bytes()).await.unwrap();
    connection.drain().await.unwrap();
    String::from_utf8(connection.read_until(b"\r\n", 1024).await.unwrap()).unwrap()
}

#[tokio::test]
async fn non_blocking_pool_fails_at_once_when_exhausted() {
    let redis = Redis::start(&[]);
    // A minute of `timeout` that a refusal at once never waits for.
    let pool = Pool::new(endpoint(redis.port), PoolOptions { timeout: Duration::from_secs(60), ..pool_options(2, false) });
    let first = pool.acquire(None).await.unwrap();
    let _second = pool.acquire(None).await.unwrap();
    let started = Instant::now();
    let Err(error) = pool.acquire(None).await else { panic!("a third connection was handed out") };
    assert!(started.elapsed() < PATIENCE, "the refusal waited {:?}", started.elapsed());
    assert_eq!(error.kind, cachet::client::StreamErrorKind::Exhausted);
    assert!(error.message.contains("all 2 connections") && error.message.contains("max_connections"), "{}", error.message);
    first.release();
    assert!(pool.acquire(None).await.is_ok(), "a released connection can be taken again");
}

#[tokio::test]
async fn blocking_pool_waits_for_a_free_connection_then_times_out() {
    let redis = Redis::start(&[]);
    let pool = Pool::new(endpoint(redis.port), pool_options(1, true));
    let held = pool.acquire(None).await.unwrap();
    let releaser = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        held.release();
    });
    let started = Instant::now();
    let waited = pool.acquire(None).await.expect("the released connection is handed over");
    assert!(started.elapsed() >= Duration::from_millis(90));
    releaser.await.unwrap();
    assert_eq!(pool.stats().waits, 1);

    let started = Instant::now();
    let Err(error) = pool.acquire(None).await else { panic!("a second connection was handed out") };
    let waited_for = started.elapsed();
    assert_eq!(error.kind, cachet::client::StreamErrorKind::Timeout);
    assert!(waited_for >= Duration::from_millis(290) && waited_for < PATIENCE, "waited {waited_for:?}");
    assert_eq!(pool.stats().timeouts, 1);
    drop(waited);
}

#[tokio::test]
async fn idle_connections_are_reused_last_in_first_out() {
    let redis = Redis::start(&[]);
    let pool = Pool::new(endpoint(redis.port), pool_options(4, true));
    let mut a = pool.acquire(None).await.unwrap();
    let mut b = pool.acquire(None).await.unwrap();
    let id_a = ask(&mut a, "CLIENT ID\r\n").await;
    let id_b = ask(&mut b, "CLIENT ID\r\n").await;
    assert_ne!(id_a, id_b);
    a.release();
    b.release();
    let mut next = pool.acquire(None).await.unwrap();
    assert_eq!(ask(&mut next, "CLIENT ID\r\n").await, id_b, "the most recently used connection comes back first");
    assert_eq!(pool.stats(), cachet::client::PoolStats { in_use: 1, idle: 1, created: 2, ..Default::default() });
}

#[tokio::test]
async fn idle_connections_are_reaped() {
    let redis = Redis::start(&[]);
    let options = PoolOptions {
        max_idle_time: Duration::from_millis(200),
        idle_check_interval: Duration::from_millis(50),
        ..pool_options(4, true)
    };
    let pool = Pool::new(endpoint(redis.port), options);
    let a = pool.acquire(None).await.unwrap();
    let b = pool.acquire(None).await.unwrap();
    let connected = |count: &str| {
        let info = redis.cli(&["INFO", "clients"]);
        info.lines().find_map(|line| line.strip_prefix("connected_clients:")).is_some_and(|n| n.trim() == count)
    };
    wait_until_async("redis-server to count the two pooled connections and redis-cli", || connected("3")).await;
    a.release();
    b.release();
    assert_eq!(pool.stats().idle, 2);
    wait_until_async("the pool to close its idle connections", || pool.stats().reaped == 2).await;
    assert_eq!(pool.stats().idle, 0);
    wait_until_async("redis-server to see them close", || connected("1")).await;
}

#[tokio::test]
async fn reconnects_after_the_server_restarts() {
    let port = free_port();
    let mut redis = Redis::start_on(port, &[]);
    let client = Client::open(&format!("redis://127.0.0.1:{port}/?connect_attempts=2&connect_timeout=0.5")).await.unwrap();
    client.set("k", "before", Ttl::Never).await.unwrap();
    redis.kill();
    let down = client.get("k").await.unwrap_err();
    assert_eq!(down.kind(), ErrorKind::Connection, "{down}");
    assert!(down.message().contains("could not connect") || down.message().contains("connection"), "{down}");
    let _redis = Redis::start_on(port, &[]);
    // The idle connection to the old process is found dead and replaced; nothing fails.
    assert_eq!(client.get("k").await.unwrap(), None, "a fresh server without persistence");
    client.set("k", "after", Ttl::Never).await.unwrap();
    assert_eq!(client.get("k").await.unwrap(), Some(Bytes::from("after")));
}

/// Connections are killed while increments run: every increment that succeeded happened once,
/// and every one that failed says it may or may not have run. Reads are retried and all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_connections_lose_or_duplicate_nothing_silently() {
    let redis = Redis::start(&[]);
    let client = Client::open(&format!("{}?retries=3&client_name=worker", redis.url())).await.unwrap();
    client.set("counter", "0", Ttl::Never).await.unwrap();
    let ok = Arc::new(AtomicUsize::new(0));
    let uncertain = Arc::new(AtomicUsize::new(0));
    let kill_rounds = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let killer = {
        let (port, kill_rounds, done) = (redis.port, kill_rounds.clone(), done.clone());
        tokio::task::spawn_blocking(move || {
            let (started, mut killed) = (Instant::now(), 0);
            while !done.load(Ordering::SeqCst) && started.elapsed() < PATIENCE {
                killed += common::redis_cli(port, &["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]).trim().parse::<u64>().unwrap_or(0);
                kill_rounds.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(30));
            }
            killed
        })
    };
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (client, ok, uncertain, kill_rounds) = (client.clone(), ok.clone(), uncertain.clone(), kill_rounds.clone());
        tasks.push(tokio::spawn(async move {
            // At least 300 increments, and on until two rounds of kills have ended since the task
            // began: the second of them ran entirely while this task was busy.
            let (started, first_round) = (Instant::now(), kill_rounds.load(Ordering::SeqCst));
            let mut attempts = 0;
            while attempts < 300 || kill_rounds.load(Ordering::SeqCst) < first_round + 2 {
                assert!(started.elapsed() < PATIENCE, "connections were not killed twice within {PATIENCE:?}");
                match client.incr("counter", 1).await {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
                        assert!(e.message().contains("may or may not have run"), "{e}");
                        uncertain.fetch_add(1, Ordering::Relaxed)
                    }
                };
                client.get("counter").await.expect("reads are retried on a fresh connection");
                attempts += 1;
            }
            attempts
        }));
    }
    let mut attempts = 0;
    for task in tasks {
        attempts += task.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let killed = killer.await.unwrap();
    assert!(killed > 0, "no connection was killed while the increments ran");
    let (ok, uncertain) = (ok.load(Ordering::Relaxed) as i64, uncertain.load(Ordering::Relaxed) as i64);
    let total: i64 = redis.cli(&["GET", "counter"]).trim().parse().unwrap();
    assert!(ok <= total && total <= ok + uncertain, "{ok} succeeded, {uncertain} uncertain, counter is {total}");
    assert_eq!(ok + uncertain, attempts as i64);
    eprintln!("{killed} connections killed: {ok} increments succeeded, {uncertain} reported as uncertain, counter {total}");
}

#[tokio::test]
async fn connect_timeout_to_an_address_that_does_not_answer() {
    // A listener whose backlog is full: the kernel drops further SYNs, so connecting hangs.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    // Connections are queued until one gets no answer: from then on the queue is full.
    let mut fillers = Vec::new();
    let full = (0..8).any(|_| {
        let filler = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let connected = filler.connect_timeout(&addr.into(), Duration::from_millis(500));
        fillers.push(filler);
        match connected {
            Ok(()) => false,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => true,
            Err(e) => panic!("filling the listener's queue: {e}"),
        }
    });
    assert!(full, "the listener's queue never filled");
    let url = format!("redis://{addr}/?connect_timeout=0.3&connect_attempts=2");
    let client = Client::open(&url).await.unwrap();
    let started = Instant::now();
    let error = client.get("k").await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(error.message().contains("connect_timeout") && error.message().contains("2 attempts"), "{error}");
    assert!(took >= Duration::from_millis(600) && took < PATIENCE, "took {took:?}");
}

#[tokio::test]
async fn unix_sockets_with_cachet_and_redis() {
    let dir = common::temp_dir("client-unix");
    let cachet_socket = dir.join("cachet.sock");
    let _server = Server::start(&["--unix", cachet_socket.to_str().unwrap()]);
    let redis_socket = dir.join("redis.sock");
    let _redis = Redis::start(&["--unixsocket", redis_socket.to_str().unwrap()]);
    for socket in [&cachet_socket, &redis_socket] {
        let client = Client::open(&format!("unix://{}?db=3", socket.display())).await.unwrap();
        client.set("unix", "yes", Ttl::Never).await.unwrap();
        assert_eq!(client.get("unix").await.unwrap(), Some(Bytes::from("yes")));
        let db3 = Client::open(&format!("unix://{}?db=0", socket.display())).await.unwrap();
        assert_eq!(db3.get("unix").await.unwrap(), None, "db=3 was selected");
    }
}

#[tokio::test]
async fn new_connections_authenticate_select_and_name_themselves() {
    for (name, port, _guard) in [
        ("cachet", Server::start_with_password("s3cret", &[]).port, None::<Redis>),
        ("redis", 0, Some(Redis::start(&["--requirepass", "s3cret"]))),
    ] {
        let port = _guard.as_ref().map_or(port, |r| r.port);
        for protocol in [2, 3] {
            let url = format!("redis://:s3cret@127.0.0.1:{port}/2?client_name=app&protocol={protocol}");
            let client = Client::open(&url).await.unwrap();
            client.set("in-db-2", "x", Ttl::Never).await.unwrap();
            assert_eq!(client.call(["CLIENT", "GETNAME"]).await.unwrap(), Value::Bulk(Bytes::from("app")), "{name}");
            let db = common::redis_cli(port, &["-a", "s3cret", "--no-auth-warning", "-n", "2", "GET", "in-db-2"]);
            assert_eq!(db.trim(), "x", "{name}");
        }
        let wrong = Client::open(&format!("redis://:wrong@127.0.0.1:{port}/")).await.unwrap();
        let error = wrong.get("k").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Server, "{name}");
        assert!(error.message().starts_with("WRONGPASS"), "{name}: {error}");
    }
}

/// A `mem://` keyspace has no thread of its own: its timer task, on the opener's runtime, runs
/// active expiry, so keys nobody reads are reclaimed (DBSIZE counts expired keys until then).
#[tokio::test]
async fn memory_keyspaces_reclaim_expired_keys_nobody_reads() {
    let client = Client::open("mem://").await.unwrap();
    for i in 0..50 {
        client.call(["SET", &format!("short:{i}"), "v", "PX", "20"]).await.unwrap();
    }
    client.set("stays", "v", Ttl::Never).await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        if client.call(["DBSIZE"]).await.unwrap() == Value::Int(1) {
            break;
        }
        assert!(Instant::now() < deadline, "the expired keys were never reclaimed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(client.get("stays").await.unwrap(), Some(Bytes::from("v")));
}

#[tokio::test]
async fn get_or_set_with_runs_the_producer_once_for_concurrent_callers() {
    let client = Client::open("mem://").await.unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let mut calls = Vec::new();
    for _ in 0..50 {
        let (client, runs) = (client.clone(), runs.clone());
        calls.push(tokio::spawn(async move {
            client
                .get_or_set_with("expensive", Ttl::Default, || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok::<_, std::io::Error>("computed")
                })
                .await
        }));
    }
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), Bytes::from("computed"));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let failing = client.get_or_set_with("broken", Ttl::Default, || async { Err::<&str, _>("database down") }).await.unwrap_err();
    assert_eq!((failing.kind(), failing.message()), (ErrorKind::Producer, "database down"));
    assert_eq!(client.get("broken").await.unwrap(), None, "nothing was stored");
}

#[tokio::test]
async fn bad_urls_name_the_bad_part() {
    for (url, part) in [
        ("rediss://127.0.0.1:6379?ssl_cert_reqs=maybe", "ssl_cert_reqs=maybe"),
        ("redis://127.0.0.1:6379/x", "'/x'"),
        ("redis://127.0.0.1?pool_size=3", "unknown option 'pool_size'"),
        ("redis://127.0.0.1?blocking=maybe", "blocking=maybe"),
        ("ftp://host", "unknown URL scheme 'ftp'"),
    ] {
        let Err(error) = Client::open(url).await else { panic!("{url} was accepted") };
        assert_eq!(error.kind(), ErrorKind::Invalid);
        assert!(error.message().contains(part), "{url}: {error}");
    }
}

fn cachet_cli(args: &[&str]) -> (String, bool) {
    let output = Command::new(CACHET).arg("cli").args(args).output().expect("cachet cli runs");
    (String::from_utf8_lossy(&output.stdout).into_owned(), output.status.success())
}

#[test]
fn cachet_cli_talks_to_cachet_and_redis() {
    let server = Server::start(&[]);
    let redis = Redis::start(&[]);
    for port in [server.port, redis.port] {
        let p = port.to_string();
        assert_eq!(cachet_cli(&["-p", &p, "SET", "greeting", "hello world"]), ("OK\n".into(), true));
        assert_eq!(cachet_cli(&["-p", &p, "GET", "greeting"]).0, "hello world\n", "piped output is raw");
        assert_eq!(cachet_cli(&["-p", &p, "--no-raw", "GET", "greeting"]).0, "\"hello world\"\n");
        assert_eq!(cachet_cli(&["-p", &p, "--no-raw", "INCR", "n"]).0, "(integer) 1\n");
        let (out, ok) = cachet_cli(&["-p", &p, "--no-raw", "INCR", "greeting"]);
        assert_eq!((out.as_str(), ok), ("(error) ERR value is not an integer or out of range\n", false));
        assert_eq!(cachet_cli(&["-u", &format!("redis://127.0.0.1:{port}/4"), "-3", "--no-raw", "HELLO", "3"]).0.lines().next(), Some("1# \"server\" => \"redis\""));
    }
    let (out, ok) = cachet_cli(&["-p", &free_port().to_string(), "PING"]);
    assert!(!ok && out.contains("could not connect"), "{out}");
}

#[test]
fn cachet_cli_prompt_keeps_history_and_database() {
    let server = Server::start(&[]);
    let home = common::temp_dir("cli-home");
    let mut child = Command::new(CACHET)
        .args(["cli", "-p", &server.port.to_string()])
        .env("HOME", &home)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"SET a 1\nSELECT 5\nSET b \"two words\"\nGET b\nquit\n").unwrap();
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("two words"), "{text}");
    assert_eq!(server.cli(&["-n", "5", "GET", "b"]).trim(), "two words");
    let history = std::fs::read_to_string(home.join(".cachet_history")).unwrap();
    assert!(history.contains("SELECT 5"), "{history}");
}
