//! Connections that are set up, killed and opened again: the set-up a URL asks for (a Unix
//! socket's password, CLIENT NO-EVICT / NO-TOUCH), requests that survive every connection being
//! killed between batches, and the reconnect policy's pauses when the server is gone.

mod common;

use cachet::client::{Client, ErrorKind};
use common::{Redis, Server, free_port, temp_dir};
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(60);

/// The flags of the one client connected under `name` in CLIENT LIST.
fn client_flags(list: &str, name: &str) -> String {
    let line = list.lines().find(|l| l.contains(&format!(" name={name} "))).unwrap_or_else(|| panic!("no client named {name}: {list}"));
    line.split(' ').find_map(|field| field.strip_prefix("flags=")).expect("a flags field").to_string()
}

#[tokio::test]
async fn set_up_from_the_url_on_unix_sockets_and_tcp() {
    let socket = temp_dir("client-reconnect-unix").join("redis.sock");
    let socket = socket.display().to_string();
    let redis = Redis::start(&["--unixsocket", &socket, "--requirepass", "s3cret"]);
    let mut open = Vec::new();
    for url in [format!("unix://:s3cret@{socket}?client_name=a&noevict=true"), format!("unix://{socket}?password=s3cret&client_name=b&noevict=true")] {
        let client = Client::open(&url).await.unwrap();
        client.set("k", "v", TTL).await.unwrap();
        assert_eq!(client.get("k").await.unwrap().as_deref(), Some(&b"v"[..]), "{url}");
        open.push(client);
    }
    let list = redis.cli(&["-a", "s3cret", "--no-auth-warning", "CLIENT", "LIST"]);
    for name in ["a", "b"] {
        assert!(client_flags(&list, name).contains('e'), "CLIENT NO-EVICT on for {name}: {list}");
    }
    let wrong = Client::open(&format!("unix://:wrong@{socket}")).await.unwrap();
    let error = wrong.get("k").await.unwrap_err();
    assert!(error.to_string().contains("WRONGPASS"), "{error}");

    let cachet = Server::start(&[]);
    let url = format!("valkey://127.0.0.1:{}/?protocol_version=3&client_name=c&notouch=true&noevict=true", cachet.port);
    let client = Client::open(&url).await.unwrap();
    client.set("k", "v", TTL).await.unwrap();
    assert_eq!(client_flags(&cachet.cli(&["CLIENT", "LIST"]), "c"), "eT", "CLIENT NO-EVICT and NO-TOUCH on");
}

/// Every connection killed (CLIENT KILL TYPE normal, from a side connection) after each batch of
/// concurrent GET/SET/MGET: the next batch finds only dead idle connections, and with the default
/// one retry every request still succeeds, because the retry opens a new connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_repeatable_request_survives_connections_killed_between_batches() {
    const ROUNDS: usize = 40;
    const TASKS: usize = 64;
    let redis = Redis::start(&[]);
    let client = Client::open(&format!("{}?max_connections=4", redis.url())).await.unwrap();
    let mut side = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    let (mut killed, mut requests) = (0, 0);
    for round in 0..ROUNDS {
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let client = client.clone();
                tokio::spawn(async move {
                    let key = format!("k{}", i % 8);
                    client.set(&key, format!("{round}"), TTL).await?;
                    client.get(&key).await?;
                    client.mget([key.as_str(), "other"]).await.map(drop)
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            if let Err(error) = task.await.unwrap() {
                panic!("round {round}, task {i}: {error} (after {killed} connections killed)");
            }
            requests += 3;
        }
        let now: usize = redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("normal").arg("SKIPME").arg("yes").query(&mut side).unwrap();
        assert!(now >= 1, "round {round}: the client's connections were killed");
        killed += now;
    }
    let stats = client.pool_stats();
    assert!(stats.created as usize >= killed, "every killed connection was replaced: {stats:?}, {killed} killed");
    eprintln!("{requests} requests in {ROUNDS} rounds, {killed} connections killed, {} opened: none failed", stats.created);
}

/// Nothing listens: the pool makes `reconnect_attempts` attempts with the policy's pauses, and the
/// error says how many. Constant 100 ms pauses between 3 attempts take at least 200 ms.
#[tokio::test]
async fn the_reconnect_policy_paces_the_attempts() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/?reconnect=constant&reconnect_delay=0.1&reconnect_jitter=false&reconnect_attempts=3&retries=0");
    let client = Client::open(&url).await.unwrap();
    let started = Instant::now();
    let error = client.get("k").await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(error.kind(), ErrorKind::Connection, "{error}");
    assert!(error.to_string().contains("after 3 attempts"), "{error}");
    assert!(took >= Duration::from_millis(200), "two pauses of 100 ms: {took:?}");
    assert!(took < Duration::from_secs(5), "no pause beyond the policy's: {took:?}");
}
