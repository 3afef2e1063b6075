//! Pub/Sub through real clients and compared byte for byte with Debian's redis-server: replies
//! on the subscribing connection, and messages arriving on other connections than the publisher's.

mod common;

use common::{Raw, Redis, Server, assert_same_as_redis, resp};
use std::net::TcpStream;

#[test]
fn subscribing_replies_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["PUBSUB", "NUMSUB", "a", "b"],
        &["PUBSUB", "CHANNELS"],
        &["PUBSUB", "NUMPAT"],
        &["PUBSUB", "CHANNELS", "a", "b"],
        &["SUBSCRIBE", "a"],
        &["SUBSCRIBE", "a"],
        &["PING"],
        &["PING", "hello"],
        &["GET", "k"],
        &["PSUBSCRIBE", "p*"],
        &["SSUBSCRIBE", "s"],
        &["PUNSUBSCRIBE", "p*"],
        &["UNSUBSCRIBE", "a"],
        &["PUBSUB", "NUMSUB", "a"],
        &["SUNSUBSCRIBE"],
        &["UNSUBSCRIBE"],
        &["PUNSUBSCRIBE"],
        &["SUNSUBSCRIBE", "nope"],
        &["PUBLISH", "a", "nobody"],
        &["SPUBLISH", "s", "nobody"],
        &["SUBSCRIBE"],
        &["PUBSUB", "NUMPAT", "extra"],
    ]);
}

/// One subscriber (RESP2 or RESP3) and one publisher on each server, the same steps on both: the
/// subscriber's bytes, messages included, are the same.
#[test]
fn messages_reach_other_connections_as_on_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    for protocol in ["2", "3"] {
        let run = |mut subscriber: Raw, mut publisher: Raw| -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
            let mut heard = Vec::new();
            let mut answers = Vec::new();
            subscriber.send(resp(&["HELLO", protocol]).as_bytes());
            subscriber.reply();
            for args in [&["SUBSCRIBE", "news"][..], &["PSUBSCRIBE", "n*"], &["SSUBSCRIBE", "shard"]] {
                subscriber.send(resp(args).as_bytes());
                heard.push(subscriber.reply());
            }
            for (args, messages) in [
                (&["PUBLISH", "news", "hello"][..], 2),
                (&["PUBLISH", "nothing", "x"], 1),
                (&["PUBLISH", "other", "x"], 0),
                (&["SPUBLISH", "shard", "s"], 1),
                (&["PUBSUB", "NUMSUB", "news", "other"], 0),
                (&["PUBSUB", "SHARDNUMSUB", "shard"], 0),
                (&["PUBSUB", "NUMPAT"], 0),
                (&["PUBSUB", "CHANNELS", "n*"], 0),
            ] {
                publisher.send(resp(args).as_bytes());
                answers.push(publisher.reply());
                for _ in 0..messages {
                    heard.push(subscriber.reply());
                }
            }
            (heard, answers)
        };
        let redis_raw = || Raw(TcpStream::connect(("127.0.0.1", redis.port)).expect("redis-server accepts"));
        let ours = run(server.raw(), server.raw());
        let theirs = run(redis_raw(), redis_raw());
        let text = |frames: &[Vec<u8>]| frames.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect::<Vec<_>>();
        assert_eq!(text(&ours.0), text(&theirs.0), "RESP{protocol}: what the subscriber heard");
        assert_eq!(text(&ours.1), text(&theirs.1), "RESP{protocol}: the publisher's replies");
    }
}

#[test]
fn redis_crate_subscribes_and_receives() {
    let server = Server::start(&[]);
    let mut subscriber = server.connect();
    let mut publisher = server.connect();
    let mut pubsub = subscriber.as_pubsub();
    pubsub.subscribe("events").unwrap();
    pubsub.psubscribe("ev*").unwrap();
    let receivers: i64 = redis::cmd("PUBLISH").arg("events").arg("first").query(&mut publisher).unwrap();
    assert_eq!(receivers, 2);
    let message = pubsub.get_message().unwrap();
    assert_eq!((message.get_channel_name(), message.get_payload::<String>().unwrap()), ("events", "first".to_string()));
    let message = pubsub.get_message().unwrap();
    assert_eq!(message.get_pattern::<String>().unwrap(), "ev*");
}

#[test]
fn redis_py_subscribes_and_receives() {
    let server = Server::start(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/redis_py_pubsub.py");
    common::run_redis_py(&[script], server.port);
}

/// A RESP2 subscriber that never reads while a publisher sends 100 MB to its channel: with
/// `client-output-buffer-limit pubsub 1mb 512kb 60`, cachet closes it once about a megabyte waits
/// for it (beyond what the kernel's socket buffers took), counts and logs the disconnection, and
/// its memory stays far below what the messages add up to.
#[test]
fn a_subscriber_that_never_reads_is_disconnected_and_memory_stays_bounded() {
    let server = Server::start(&["--client-output-buffer-limit", "pubsub 1mb 512kb 60"]);
    let mut subscriber = server.raw();
    subscriber.roundtrip(&resp(&["SUBSCRIBE", "firehose"]), "*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n");
    let mut publisher = server.raw();
    publisher.roundtrip(&resp(&["PING"]), "+PONG\r\n");
    let baseline_kb = server.rss_kb();
    let message = "m".repeat(64 * 1024);
    let batch = resp(&["PUBLISH", "firehose", &message]).repeat(16);
    let (mut heard, mut unheard, mut peak_kb) = (0, 0, 0);
    for _ in 0..100 {
        publisher.send(batch.as_bytes());
        for _ in 0..16 {
            match &publisher.reply()[..] {
                b":1\r\n" => heard += 1,
                b":0\r\n" => unheard += 1,
                other => panic!("PUBLISH answered {:?}", String::from_utf8_lossy(other)),
            }
        }
        peak_kb = peak_kb.max(server.rss_kb());
    }
    assert!(unheard > 0 && heard > 0, "{heard} messages had a subscriber, {unheard} none");
    assert!(heard * message.len() < 24 << 20, "the subscriber lasted for {heard} messages");
    assert!(subscriber.closed(), "the subscriber's connection ends");
    let stats = publisher.bulk(&resp(&["INFO", "stats"]));
    assert!(stats.contains("client_output_buffer_limit_disconnections:1\r\n"), "{stats}");
    let growth_mb = peak_kb.saturating_sub(baseline_kb) / 1024;
    eprintln!("{heard} of 1600 messages had the subscriber; RSS {baseline_kb} kB before, {peak_kb} kB at most");
    assert!(growth_mb < 16, "the server grew by {growth_mb} MB while 100 MB were published");
    assert!(server.log_text().contains("scheduled to be closed ASAP for overcoming of output buffer limits."));
}

/// CONFIG GET prints Redis's canonical form; CONFIG SET accepts Redis's units and classes and
/// refuses what Redis refuses, with its words. The configuration file's lines each set a class.
#[test]
fn output_buffer_limits_are_configured_as_on_redis() {
    let dir = common::temp_dir("output-limits");
    let file = dir.join("cachet.conf");
    std::fs::write(&file, "client-output-buffer-limit normal 1mb 2mb 3\nclient-output-buffer-limit pubsub 1mb 512kb 60\n").unwrap();
    let server = Server::start(&["--config", file.to_str().unwrap()]);
    assert_eq!(
        server.cli(&["CONFIG", "GET", "client-output-buffer-limit"]),
        "client-output-buffer-limit\nnormal 1048576 2097152 3 slave 268435456 67108864 60 pubsub 1048576 524288 60\n"
    );
    let redis = Redis::start(&[]);
    let defaults = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";
    assert_same_as_redis(&server, &redis, &[
        &["CONFIG", "SET", "client-output-buffer-limit", defaults],
        &["CONFIG", "GET", "client-output-buffer-limit"],
        &["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 512kb 60"],
        &["CONFIG", "SET", "client-output-buffer-limit", "replica 1k 2K 5 PUBSUB 1gb 1b 1"],
        &["CONFIG", "GET", "client-output*"],
        &["CONFIG", "SET", "client-output-buffer-limit", "normal 1 2"],
        &["CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 3 master 1 1 1"],
        &["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1.5mb 1 1"],
        &["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1 2 -3"],
        &["CONFIG", "SET", "client-output-buffer-limit", ""],
        &["CONFIG", "GET", "client-output-buffer-limit"],
        &["CONFIG", "SET", "client-output-buffer-limit", defaults],
    ]);
}
