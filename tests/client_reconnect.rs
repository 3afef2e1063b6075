//! Connections that are set up, killed and opened again: the set-up a URL asks for (a Unix
//! socket's password, CLIENT NO-EVICT / NO-TOUCH), requests that survive every connection being
//! killed between batches (by the server, and by a proxy that kills them unseen), and the
//! reconnect policy's pauses when the server is gone.

mod common;

use cachet::client::{Client, ErrorKind};
use common::{Redis, Server, free_port, temp_dir};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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
/// concurrent GET/SET/MGET: the next batch finds only dead idle connections, and every request
/// still succeeds. (The server's close usually reaches the client before the next batch, so the
/// pool's idle check already sees most of these; the proxy test below kills them unseen.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_repeatable_request_survives_connections_killed_between_batches() {
    const ROUNDS: usize = 40;
    const TASKS: usize = 64;
    let redis = Redis::start(&[]);
    let client = Client::open(&format!("{}?max_connections=4", redis.url())).await.unwrap();
    let mut side = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    let (mut killed, mut requests) = (0, 0);
    for round in 0..ROUNDS {
        let tasks = spawn_round(&client, round, TASKS);
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

/// A loopback proxy to a server whose connections the test kills at once with `kill_all`. A killed
/// connection shows nothing while idle (no FIN: the proxy keeps it open) and closes both ways when
/// the client next sends, without forwarding: a connection the server dropped just as a request
/// arrived. A pool's check of idle connections cannot see it coming, so a retry that took an idle
/// connection would land on another killed one.
struct KillingProxy {
    port: u16,
    generation: Arc<AtomicU64>,
}

impl KillingProxy {
    async fn start(server_port: u16) -> KillingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let generation = Arc::new(AtomicU64::new(0));
        let current = generation.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)).await else { continue };
                tokio::spawn(relay(client, server, current.load(Ordering::SeqCst), current.clone()));
            }
        });
        KillingProxy { port, generation }
    }

    /// Every connection open now dies at its next request.
    fn kill_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

async fn relay(mut client: TcpStream, mut server: TcpStream, born: u64, generation: Arc<AtomicU64>) {
    let (mut up, mut down) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    loop {
        tokio::select! {
            read = client.read(&mut up) => {
                let Ok(n @ 1..) = read else { return };
                if generation.load(Ordering::SeqCst) != born || server.write_all(&up[..n]).await.is_err() {
                    return;
                }
            }
            read = server.read(&mut down) => {
                let Ok(n @ 1..) = read else { return };
                if client.write_all(&down[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Connections killed as requests arrive, while the idle ones look healthy: with the default one
/// retry every GET/SET/MGET still succeeds, because the retry opens a new connection instead of
/// taking another idle (and equally dead) one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_never_lands_on_another_killed_connection() {
    const ROUNDS: usize = 20;
    const TASKS: usize = 64;
    let redis = Redis::start(&[]);
    let proxy = KillingProxy::start(redis.port).await;
    let client = Client::open(&format!("redis://127.0.0.1:{}/?max_connections=4", proxy.port)).await.unwrap();
    for round in 0..ROUNDS {
        let tasks = spawn_round(&client, round, TASKS);
        for (i, task) in tasks.into_iter().enumerate() {
            if let Err(error) = task.await.unwrap() {
                panic!("round {round}, task {i}: {error}");
            }
        }
        proxy.kill_all();
    }
    let stats = client.pool_stats();
    assert!(stats.created as usize >= ROUNDS, "connections were replaced after each kill: {stats:?}");
    eprintln!("{} requests in {ROUNDS} rounds, {} connections opened: none failed", ROUNDS * TASKS * 3, stats.created);
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

/// `tasks` callers, each setting, getting and MGETting its key once: requests safe to repeat.
fn spawn_round(client: &Client, round: usize, tasks: usize) -> Vec<tokio::task::JoinHandle<Result<(), cachet::client::Error>>> {
    (0..tasks)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let key = format!("k{}", i % 8);
                client.set(&key, format!("{round}"), TTL).await?;
                client.get(&key).await?;
                client.mget([key.as_str(), "other"]).await.map(drop)
            })
        })
        .collect()
}
