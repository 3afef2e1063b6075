use crate::engine::Input;
use crate::engine::test_harness::{Harness, bulk};
use crate::outbox::Output;

const A: u64 = 1;
const B: u64 = 7;
const C: u64 = 8;

fn command(args: &[&str]) -> Vec<u8> {
    let mut input = Vec::new();
    crate::resp::encode_command(&mut input, args);
    input
}

/// Feeds one command to `connection` and returns every output of the call.
fn feed(c: &mut Harness, connection: u64, args: &[&str]) -> Vec<Output> {
    let input = command(args);
    c.engine.feed(c.now, &[Input { id: connection, data: &input }])
}

fn text_for(outputs: &[Output], connection: u64) -> String {
    outputs.iter().filter(|o| o.id == connection).map(|o| String::from_utf8_lossy(&o.data).into_owned()).collect()
}

fn resumed(outputs: &[Output], connection: u64) -> bool {
    outputs.iter().any(|o| o.id == connection && o.resume)
}

fn pair(key: &str, element: &str) -> String {
    format!("*2\r\n{}{}", bulk(key), bulk(element))
}

#[test]
fn a_pop_with_data_answers_at_once() {
    let mut c = Harness::new();
    c.run(&["RPUSH", "b", "1", "2"]);
    assert_eq!(c.run(&["BLPOP", "a", "b", "0"]), pair("b", "1"));
    assert_eq!(c.run(&["BRPOP", "b", "0"]), pair("b", "2"));
    assert_eq!(c.run(&["BLPOP", "a", "-1"]), "-ERR timeout is negative\r\n");
    assert_eq!(c.run(&["BLPOP", "a", "x"]), "-ERR timeout is not a float or out of range\r\n");
    assert_eq!(c.run(&["BLPOP", "a", "inf"]), "-ERR timeout is negative\r\n");
    c.run(&["SET", "s", "v"]);
    assert!(c.run(&["BLPOP", "s", "0"]).starts_with("-WRONGTYPE"));
}

#[test]
fn waiters_are_served_in_order_by_a_later_push() {
    let mut c = Harness::new();
    c.another(B);
    c.another(C);
    let out = feed(&mut c, B, &["BLPOP", "q", "0"]);
    assert_eq!(text_for(&out, B), "", "B waits");
    assert_eq!(out[0].progress.map(|p| p.consumed), Some(command(&["BLPOP", "q", "0"]).len()), "its command is consumed");
    feed(&mut c, C, &["BRPOP", "q", "0"]);
    assert!(c.run(&["CLIENT", "LIST"]).contains(" flags=b "));
    assert!(c.run(&["INFO", "clients"]).contains("blocked_clients:2\r\n"));
    let out = feed(&mut c, A, &["RPUSH", "q", "x", "y", "z"]);
    assert_eq!(text_for(&out, A), ":3\r\n");
    assert_eq!(text_for(&out, B), pair("q", "x"), "the first waiter first");
    assert_eq!(text_for(&out, C), pair("q", "z"));
    assert!(resumed(&out, B) && resumed(&out, C), "both are fed again");
    assert_eq!(c.run(&["LRANGE", "q", "0", "-1"]), format!("*1\r\n{}", bulk("y")));
    assert!(c.run(&["INFO", "clients"]).contains("blocked_clients:0\r\n"));
}

#[test]
fn input_after_a_blocking_command_waits_for_it() {
    let mut c = Harness::new();
    c.another(B);
    let input = [command(&["BLPOP", "q", "0"]), command(&["PING"])].concat();
    let out = c.engine.feed(c.now, &[Input { id: B, data: &input }]);
    let progress = out.iter().find(|o| o.id == B).and_then(|o| o.progress).expect("fed");
    assert_eq!(progress.consumed, command(&["BLPOP", "q", "0"]).len(), "PING is left for later");
    let out = feed(&mut c, A, &["LPUSH", "q", "v"]);
    assert_eq!(text_for(&out, B), pair("q", "v"));
    let out = c.engine.feed(c.now, &[Input { id: B, data: &input[progress.consumed..] }]);
    assert_eq!(text_for(&out, B), "+PONG\r\n");
}

#[test]
fn the_deadline_answers_a_timeout() {
    let mut c = Harness::new();
    c.another(B);
    c.run_on(B, &[b"HELLO", b"3"]);
    feed(&mut c, B, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0.5"]);
    assert_eq!(c.engine.next_deadline(), Some(c.now.mono_ns + 500_000_000));
    c.advance_ms(499);
    assert!(text_for(&c.engine.tick(c.now), B).is_empty());
    c.advance_ms(1);
    let out = c.engine.tick(c.now);
    assert_eq!(text_for(&out, B), "_\r\n", "a null, RESP3 here");
    assert!(resumed(&out, B));
    assert_eq!(c.engine.next_deadline(), None);
}

#[test]
fn whole_and_decimal_timeouts_give_the_same_deadlines() {
    for (timeout, ms) in [("0", None), ("000", None), ("5", Some(5_000)), ("007", Some(7_000)), ("5.0", Some(5_000)), ("+5", Some(5_000)),
        ("999999999", Some(999_999_999_000)), ("1000000000", Some(1_000_000_000_000)), ("0.0001", Some(1)),
        ("0.0", None), ("0.", None), ("5.000", Some(5_000)), ("1.5", Some(1_500)), ("1.05", Some(1_050)), (".5", Some(500))]
    {
        let mut c = Harness::new();
        c.another(B);
        feed(&mut c, B, &["BLPOP", "list", timeout]);
        let expected = ms.map(|ms: u64| c.now.mono_ns + ms * 1_000_000);
        assert_eq!(c.engine.next_deadline(), expected, "BLPOP list {timeout}");
    }
    let mut c = Harness::new();
    for (timeout, error) in [("-1", "-ERR timeout is negative\r\n"), ("1x", "-ERR timeout is not a float or out of range\r\n"), ("", "-ERR timeout is not a float or out of range\r\n"), (".", "-ERR timeout is not a float or out of range\r\n"), ("1.0x", "-ERR timeout is not a float or out of range\r\n")] {
        assert_eq!(text_for(&feed(&mut c, A, &["BLPOP", "list", timeout]), A), error, "BLPOP list {timeout:?}");
    }
}

#[test]
fn a_key_of_another_type_leaves_the_waiter_waiting() {
    let mut c = Harness::new();
    c.another(B);
    feed(&mut c, B, &["BLPOP", "k", "0"]);
    assert_eq!(text_for(&feed(&mut c, A, &["SET", "k", "string"]), B), "");
    c.run(&["DEL", "k"]);
    assert_eq!(text_for(&feed(&mut c, A, &["RPUSH", "k", "now"]), B), pair("k", "now"));
}

#[test]
fn blmove_serves_a_chain_of_waiters() {
    let mut c = Harness::new();
    c.another(B);
    c.another(C);
    feed(&mut c, B, &["BLMOVE", "first", "second", "LEFT", "LEFT", "0"]);
    feed(&mut c, C, &["BLPOP", "second", "0"]);
    let out = feed(&mut c, A, &["LPUSH", "first", "v"]);
    assert_eq!(text_for(&out, B), bulk("v"));
    assert_eq!(text_for(&out, C), pair("second", "v"), "B's push served C in the same call");
}

#[test]
fn inside_multi_an_empty_key_answers_as_a_timeout() {
    let mut c = Harness::new();
    c.run(&["MULTI"]);
    c.run(&["BLPOP", "q", "0"]);
    c.run(&["BLMPOP", "0", "1", "q", "LEFT"]);
    c.run(&["BRPOPLPUSH", "q", "d", "0"]);
    assert_eq!(c.run(&["EXEC"]), "*3\r\n*-1\r\n*-1\r\n$-1\r\n");
}

#[test]
fn client_unblock_and_disconnects() {
    let mut c = Harness::new();
    c.another(B);
    c.another(C);
    feed(&mut c, B, &["BLPOP", "q", "0"]);
    feed(&mut c, C, &["BLMPOP", "0", "1", "q", "RIGHT", "COUNT", "2"]);
    let out = feed(&mut c, A, &["CLIENT", "UNBLOCK", "2", "ERROR"]);
    assert_eq!(text_for(&out, A), ":1\r\n");
    assert_eq!(text_for(&out, B), "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    let out = feed(&mut c, A, &["CLIENT", "UNBLOCK", "3"]);
    assert_eq!(text_for(&out, C), "*-1\r\n");
    assert_eq!(c.run(&["CLIENT", "UNBLOCK", "3"]), ":0\r\n", "no longer blocked");
    feed(&mut c, C, &["BLPOP", "q", "0"]);
    c.engine.close(c.now, C);
    assert!(c.run(&["INFO", "clients"]).contains("blocked_clients:0\r\n"), "a closed connection stops waiting");
    let out = feed(&mut c, A, &["RPUSH", "q", "v"]);
    assert_eq!(out.len(), 1, "nobody else is told: {out:?}");
}

/// A replacement engine tells a client that was blocked in the faulted one.
#[test]
fn a_client_blocked_at_a_fault_is_answered_by_the_next_engine() {
    let mut c = Harness::new();
    c.another(B);
    let out = feed(&mut c, B, &["BLPOP", "q", "0"]);
    let saved = out.iter().find(|o| o.id == B).and_then(|o| o.session.clone()).expect("blocking changes the saved session");
    let mut fresh = Harness::new();
    let peer = crate::session::Peer { kind: crate::session::PeerKind::Tcp, address: "127.0.0.1:1".into(), local_address: String::new() };
    assert_eq!(fresh.engine.open(fresh.now, B, peer, Some(&saved)), None);
    let out = fresh.engine.tick(fresh.now);
    assert!(text_for(&out, B).starts_with("-ERR internal error: the engine faulted while this client was blocked"));
    assert!(resumed(&out, B));
}
