//! The cache client's retry rules, on scripted streams: which requests go out again, on which stream,
//! how often, and what error reaches the caller.

use super::scripted_pool::{Event, ReadCall, Script, ScriptedPool, failure};
use super::streams::StreamErrorKind::{self, Closed, Connect, Exhausted, Timeout};
use super::*;

fn key(k: &str) -> Vec<u8> {
    k.as_bytes().to_vec()
}

fn words(args: &[&str]) -> Vec<Vec<u8>> {
    args.iter().map(|a| key(a)).collect()
}

fn settings(retries: u32) -> ConnectionSettings {
    ConnectionSettings { protocol: 2, retries, ..ConnectionSettings::default() }
}

/// Settings that make a fresh stream send `CLIENT SETNAME app` before any request.
fn named(retries: u32) -> ConnectionSettings {
    ConnectionSettings { client_name: Some("app".into()), ..settings(retries) }
}

fn run(pool: &ScriptedPool, settings: ConnectionSettings, ops: Vec<Op>) -> Vec<Result<Outcome, Error>> {
    Cache::new(pool, settings).batch(ops)
}

fn value(v: &str) -> Result<Outcome, Error> {
    Ok(Outcome::Value(Some(key(v))))
}

fn connection_error(message: &str) -> Result<Outcome, Error> {
    Err(Error::new(ErrorKind::Connection, message))
}

fn scripted(kind: StreamErrorKind) -> String {
    failure(kind).message
}

#[test]
fn a_batch_goes_out_in_one_write_and_the_stream_is_released() {
    let pool = ScriptedPool::new([Script::reused().answers("$1\r\n1\r\n:3\r\n+OK\r\n")]);
    let results = run(&pool, settings(1), vec![Op::Get(key("a")), Op::Incr(key("n"), 3), Op::Set(key("k"), key("v"), None)]);
    assert_eq!(results, vec![value("1"), Ok(Outcome::Integer(3)), Ok(Outcome::Done)]);
    assert_eq!(pool.sent(0), ["GET a", "INCRBY n 3", "SET k v"]);
    assert_eq!(pool.events(), [Event::Acquired(0), Event::Released(0)]);
}

#[test]
fn a_request_that_cannot_be_sent_fails_alone_and_never_goes_out() {
    let pool = ScriptedPool::new([Script::reused().answers("$-1\r\n")]);
    let results = run(&pool, settings(1), vec![Op::Call(vec![]), Op::Get(key("a")), Op::Remove(vec![])]);
    assert_eq!(results[0].as_ref().unwrap_err().kind, ErrorKind::Invalid);
    assert_eq!(results[1], Ok(Outcome::Value(None)));
    assert_eq!(results[2].as_ref().unwrap_err().kind, ErrorKind::Invalid);
    assert_eq!(pool.sent(0), ["GET a"]);
}

#[test]
fn a_server_error_answers_its_request_only_and_is_not_retried() {
    let pool = ScriptedPool::new([Script::reused().answers("-ERR value is not an integer or out of range\r\n$1\r\nx\r\n")]);
    let results = run(&pool, settings(3), vec![Op::Incr(key("k"), 1), Op::Get(key("k"))]);
    assert_eq!(results[0], Err(Error::new(ErrorKind::Server, "ERR value is not an integer or out of range")));
    assert_eq!(results[1], value("x"));
    assert_eq!(pool.events(), [Event::Acquired(0), Event::Released(0)], "the stream is still in step");
}

#[test]
fn after_a_break_only_repeatable_requests_go_again() {
    let first = Script::reused().then_fails(Closed);
    let second = Script::reused().answers("$1\r\n1\r\n+OK\r\n$1\r\n1\r\n");
    let pool = ScriptedPool::new([first, second]);
    let ops = vec![
        Op::Get(key("a")),
        Op::Incr(key("n"), 1),
        Op::Set(key("k"), key("v"), Some(1000)),
        Op::Remove(vec![key("x")]),
        Op::Call(words(&["LPUSH", "l", "x"])),
        Op::Call(words(&["get", "a"])),
    ];
    let results = run(&pool, settings(1), ops);
    assert_eq!(pool.sent(0), ["GET a", "INCRBY n 1", "SET k v PX 1000", "DEL x", "LPUSH l x", "get a"]);
    assert_eq!(pool.sent(1), ["GET a", "SET k v PX 1000", "get a"], "the repeatable ones, once each");
    assert_eq!(results[0], value("1"));
    assert_eq!(results[1], connection_error(MAY_HAVE_RUN));
    assert_eq!(results[2], Ok(Outcome::Done));
    assert_eq!(results[3], connection_error(MAY_HAVE_RUN));
    assert_eq!(results[4], connection_error(MAY_HAVE_RUN));
    assert_eq!(results[5], Ok(Outcome::Reply(vec![Node::Bulk(key("1"))])));
    assert_eq!(pool.events(), [Event::Acquired(0), Event::Discarded(0), Event::AcquiredNew(1), Event::Released(1)]);
}

#[test]
fn replies_that_arrived_before_a_break_are_kept() {
    let first = Script::reused().answers(":5\r\n").then_fails(Closed);
    let second = Script::reused().answers("$1\r\nx\r\n");
    let pool = ScriptedPool::new([first, second]);
    let results = run(&pool, settings(1), vec![Op::Incr(key("n"), 1), Op::Get(key("a"))]);
    assert_eq!(results, vec![Ok(Outcome::Integer(5)), value("x")]);
    assert_eq!(pool.sent(1), ["GET a"], "the answered increment is not sent again");
}

#[test]
fn a_write_that_fails_counts_as_sent() {
    let first = Script::reused().drain_fails(0, Closed);
    let second = Script::reused().answers("$1\r\nx\r\n");
    let pool = ScriptedPool::new([first, second]);
    let results = run(&pool, settings(1), vec![Op::Incr(key("n"), 1), Op::Get(key("a"))]);
    assert_eq!(results, vec![connection_error(MAY_HAVE_RUN), value("x")]);
    assert_eq!(pool.sent(1), ["GET a"]);
}

#[test]
fn a_break_while_setting_up_sends_every_request_again() {
    let first = Script::fresh().then_fails(Closed);
    let second = Script::fresh().answers("+OK\r\n:1\r\n:7\r\n");
    let pool = ScriptedPool::new([first, second]);
    let results = run(&pool, named(1), vec![Op::Incr(key("n"), 1), Op::Remove(vec![key("x")])]);
    assert_eq!(results, vec![Ok(Outcome::Integer(1)), Ok(Outcome::Flag(false))]);
    assert_eq!(pool.sent(0), ["CLIENT SETNAME app"], "no request went out on the broken stream");
    assert_eq!(pool.sent(1), ["CLIENT SETNAME app", "INCRBY n 1", "DEL x"]);
    assert_eq!(pool.events(), [Event::Acquired(0), Event::Discarded(0), Event::AcquiredNew(1), Event::Released(1)]);
}

#[test]
fn a_set_up_that_cannot_be_written_sends_every_request_again() {
    let first = Script::fresh().drain_fails(0, Closed);
    let second = Script::reused().answers(":1\r\n");
    let pool = ScriptedPool::new([first, second]);
    let results = run(&pool, named(1), vec![Op::Incr(key("n"), 1)]);
    assert_eq!(results, vec![Ok(Outcome::Integer(1))]);
    assert_eq!(pool.sent(0), Vec::<String>::new());
    assert_eq!(pool.sent(1), ["INCRBY n 1"], "a stream set up before needs no set-up");
}

#[test]
fn a_fresh_stream_without_set_up_sends_only_the_requests() {
    let pool = ScriptedPool::new([Script::fresh().answers(":1\r\n")]);
    assert_eq!(run(&pool, settings(0), vec![Op::Incr(key("n"), 1)]), vec![Ok(Outcome::Integer(1))]);
    assert_eq!(pool.sent(0), ["INCRBY n 1"]);
}

#[test]
fn retries_are_counted_across_the_whole_batch() {
    let pool = ScriptedPool::new([Script::reused().then_fails(Closed), Script::fresh().then_fails(Closed), Script::reused().answers("$-1\r\n")]);
    let results = run(&pool, named(2), vec![Op::Get(key("a"))]);
    assert_eq!(results, vec![Ok(Outcome::Value(None))]);
    assert_eq!(pool.sent(0), ["GET a"]);
    assert_eq!(pool.sent(1), ["CLIENT SETNAME app"]);
    assert_eq!(pool.sent(2), ["GET a"]);
}

/// Connections killed all at once (a restart, CLIENT KILL): the idle streams broke with the one in
/// use, so a retry must not take one of them.
#[test]
fn every_retry_takes_a_newly_opened_stream() {
    let pool = ScriptedPool::new([
        Script::reused().then_fails(Closed),
        Script::fresh().answers("+OK\r\n").then_fails(Closed),
        Script::fresh().answers("+OK\r\n$1\r\nv\r\n+OK\r\n*2\r\n$1\r\nv\r\n$-1\r\n"),
    ]);
    let ops = vec![Op::Get(key("a")), Op::Set(key("b"), key("v"), None), Op::Mget(vec![key("a"), key("c")])];
    let results = run(&pool, named(2), ops);
    assert_eq!(results, vec![value("v"), Ok(Outcome::Done), Ok(Outcome::Values(vec![Some(key("v")), None]))]);
    assert_eq!(pool.sent(2), ["CLIENT SETNAME app", "GET a", "SET b v", "MGET a c"]);
    let events = [Event::Acquired(0), Event::Discarded(0), Event::AcquiredNew(1), Event::Discarded(1), Event::AcquiredNew(2), Event::Released(2)];
    assert_eq!(pool.events(), events);
}

#[test]
fn when_retries_run_out_the_last_break_reaches_the_caller() {
    let pool = ScriptedPool::new([Script::reused().then_fails(Closed), Script::reused().then_fails(StreamErrorKind::Io)]);
    let results = run(&pool, settings(1), vec![Op::Get(key("a")), Op::Incr(key("n"), 1)]);
    assert_eq!(results, vec![connection_error(&scripted(StreamErrorKind::Io)), connection_error(MAY_HAVE_RUN)]);
    assert_eq!(pool.sent(1), ["GET a"]);
    assert_eq!(pool.events().len(), 4, "two streams, each discarded: {:?}", pool.events());
}

#[test]
fn without_retries_a_sent_request_that_cannot_repeat_still_says_it_may_have_run() {
    let pool = ScriptedPool::new([Script::reused().then_fails(Closed)]);
    let results = run(&pool, settings(0), vec![Op::Get(key("a")), Op::Incr(key("n"), 1)]);
    assert_eq!(results, vec![connection_error(&scripted(Closed)), connection_error(MAY_HAVE_RUN)]);
}

#[test]
fn without_retries_an_unsent_request_fails_with_the_break() {
    let pool = ScriptedPool::new([Script::fresh().then_fails(Closed)]);
    let results = run(&pool, named(0), vec![Op::Incr(key("n"), 1)]);
    assert_eq!(results, vec![connection_error(&scripted(Closed))], "it never went out, so it surely did not run");
}

#[test]
fn a_timeout_is_not_retried_even_for_a_repeatable_request() {
    let pool = ScriptedPool::new([Script::reused().answers("$1\r\nx\r\n").then_fails(Timeout)]);
    let results = run(&pool, settings(3), vec![Op::Get(key("a")), Op::Get(key("b")), Op::Incr(key("n"), 1)]);
    let timeout = Err(Error::new(ErrorKind::Timeout, scripted(Timeout)));
    assert_eq!(results, vec![value("x"), timeout.clone(), timeout]);
    assert_eq!(pool.events(), [Event::Acquired(0), Event::Discarded(0)]);
}

#[test]
fn a_reply_that_is_not_resp_is_not_retried() {
    let pool = ScriptedPool::new([Script::reused().answers("hello\r\n")]);
    let results = run(&pool, settings(3), vec![Op::Get(key("a"))]);
    let error = results[0].as_ref().unwrap_err();
    assert_eq!(error.kind, ErrorKind::Protocol);
    assert!(error.message.starts_with("the server sent invalid RESP"), "{}", error.message);
    assert_eq!(pool.events(), [Event::Acquired(0), Event::Discarded(0)]);
}

#[test]
fn a_refused_set_up_fails_every_request_with_the_servers_text() {
    let settings = ConnectionSettings { password: Some("wrong".into()), ..settings(3) };
    let pool = ScriptedPool::new([Script::fresh().answers("-WRONGPASS invalid username-password pair or user is disabled.\r\n")]);
    let results = run(&pool, settings, vec![Op::Get(key("a")), Op::Incr(key("n"), 1)]);
    let refused = Err(Error::new(ErrorKind::Server, "WRONGPASS invalid username-password pair or user is disabled."));
    assert_eq!(results, vec![refused.clone(), refused]);
    assert_eq!(pool.sent(0), ["AUTH wrong"], "no request follows a refused set-up");
    assert_eq!(pool.events(), [Event::Acquired(0), Event::Discarded(0)]);
}

#[test]
fn a_pool_that_lends_no_stream_is_not_asked_again() {
    for (kind, expected) in [(Connect, ErrorKind::Connection), (Exhausted, ErrorKind::Exhausted), (Timeout, ErrorKind::Timeout)] {
        let pool = ScriptedPool::refusing(kind);
        let results = run(&pool, settings(3), vec![Op::Get(key("a")), Op::Get(key("b"))]);
        let refused = Err(Error::new(expected, scripted(kind)));
        assert_eq!(results, vec![refused.clone(), refused], "{kind:?}");
        assert_eq!(pool.events(), [], "{kind:?}");
    }
}

#[test]
fn a_value_longer_than_one_read_is_fetched_whole() {
    let big = "v".repeat(200_000);
    let reply = format!("${}\r\n{big}\r\n+OK\r\n", big.len());
    let (head, rest) = reply.as_bytes().split_at(1000);
    let pool = ScriptedPool::new([Script::reused().answers(head).answers(rest)]);
    let results = run(&pool, settings(0), vec![Op::Get(key("big")), Op::Set(key("k"), key("v"), None)]);
    assert_eq!(results, vec![value(&big), Ok(Outcome::Done)]);
    let missing = (big.len() + "$200000\r\n".len() + 2 - 1000) as u32;
    // The requests and the first read go to the host in one call.
    assert_eq!(pool.reads(0), [ReadCall::AfterSending(65536), ReadCall::Exactly(missing), ReadCall::UpTo(65536)]);
}

#[test]
fn a_value_cut_short_is_a_break() {
    let pool = ScriptedPool::new([Script::reused().answers("$100000\r\nabc"), Script::reused().answers("$3\r\nabc\r\n")]);
    let results = run(&pool, settings(1), vec![Op::Get(key("a"))]);
    assert_eq!(results, vec![value("abc")]);
    assert_eq!(pool.reads(0)[1], ReadCall::Exactly(100_000 - 3 + 2));
}

#[test]
fn sent_commands_are_not_read_and_received_frames_are_read_exactly() {
    let confirmations = "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n";
    let pool = ScriptedPool::new([Script::reused().answers(confirmations)]);
    let results = run(&pool, settings(0), vec![Op::Send(words(&["SUBSCRIBE", "a", "b"])), Op::Receive]);
    let first = vec![Node::Array(3), Node::Bulk(key("subscribe")), Node::Bulk(key("a")), Node::Integer(1)];
    assert_eq!(results, vec![Ok(Outcome::Done), Ok(Outcome::Reply(first))]);
    assert_eq!(pool.sent(0), ["SUBSCRIBE a b"]);
    // Line by line and value by value: the second confirmation stays on the stream.
    use ReadCall::{Exactly, Line};
    assert_eq!(pool.reads(0), [Line, Line, Exactly(11), Line, Exactly(3), Line]);

    // In RESP3 the frames are pushes, which requests and replies otherwise skip.
    let pool = ScriptedPool::new([Script::reused().answers(">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n")]);
    let pushed = vec![Node::Push(3), Node::Bulk(key("message")), Node::Bulk(key("a")), Node::Bulk(key("hi"))];
    assert_eq!(run(&pool, settings(0), vec![Op::Receive]), vec![Ok(Outcome::Reply(pushed))]);
}

#[test]
fn a_receive_that_times_out_between_frames_leaves_the_stream_usable() {
    let pool = ScriptedPool::new([Script::reused().then_fails(Timeout)]);
    let results = run(&pool, settings(0), vec![Op::Receive]);
    assert_eq!(results[0].as_ref().unwrap_err().kind, ErrorKind::Timeout);
    assert_eq!(pool.events(), [Event::Acquired(0), Event::Released(0)]);

    let pool = ScriptedPool::new([Script::reused().answers("*3\r\n$7\r\nmessage\r\n").then_fails(Timeout)]);
    let results = run(&pool, settings(0), vec![Op::Receive]);
    assert_eq!(results[0].as_ref().unwrap_err().kind, ErrorKind::Connection, "half a frame was taken: the stream is out of step");
}
