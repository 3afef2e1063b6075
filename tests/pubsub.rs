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
