use crate::engine::test_harness::Harness;

const READER: u64 = 1;
const WRITER: u64 = 2;

/// A harness whose first connection speaks RESP3 and tracks keys, with a second, plain client.
fn tracking_pair(options: &[&str]) -> Harness {
    let mut c = Harness::new();
    c.another(WRITER);
    c.run(&["HELLO", "3"]);
    let mut on = vec!["CLIENT", "TRACKING", "ON"];
    on.extend_from_slice(options);
    assert_eq!(c.run(&on), "+OK\r\n");
    c
}

fn invalidate(keys: &[&str]) -> String {
    let mut text = format!(">2\r\n$10\r\ninvalidate\r\n*{}\r\n", keys.len());
    for key in keys {
        text.push_str(&format!("${}\r\n{key}\r\n", key.len()));
    }
    text
}

const INVALIDATE_ALL: &str = ">2\r\n$10\r\ninvalidate\r\n_\r\n";

/// What `connection` received from one command run on `by`.
fn seen(c: &mut Harness, by: u64, args: &[&str], connection: u64) -> String {
    c.run_seen_by_all(by, args).into_iter().filter(|(id, _)| *id == connection).map(|(_, text)| text).collect()
}

#[test]
fn a_key_read_is_invalidated_once_when_another_client_changes_it() {
    let mut c = tracking_pair(&[]);
    c.run(&["GET", "k"]);
    c.run(&["MGET", "a", "b"]);
    assert_eq!(seen(&mut c, WRITER, &["SET", "k", "1"], READER), invalidate(&["k"]));
    assert_eq!(seen(&mut c, WRITER, &["SET", "k", "2"], READER), "", "forgotten until read again");
    assert_eq!(seen(&mut c, WRITER, &["MSET", "a", "1", "b", "2"], READER), invalidate(&["a"]) + &invalidate(&["b"]));
    c.run(&["EXISTS", "k"]);
    assert_eq!(seen(&mut c, WRITER, &["DEL", "k"], READER), invalidate(&["k"]));
}

#[test]
fn a_client_changing_a_key_it_read_hears_of_it_after_the_reply_unless_noloop() {
    let mut c = tracking_pair(&[]);
    c.run(&["GET", "k"]);
    assert_eq!(c.run(&["SET", "k", "1"]), format!("+OK\r\n{}", invalidate(&["k"])));
    c.run(&["GET", "m"]);
    c.run(&["MULTI"]);
    c.run(&["SET", "m", "1"]);
    c.run(&["GET", "m"]);
    assert_eq!(c.run(&["EXEC"]), format!("*2\r\n+OK\r\n$1\r\n1\r\n{}", invalidate(&["m"])), "after the whole EXEC");
    assert_eq!(c.run(&["DEL", "m"]), format!(":1\r\n{}", invalidate(&["m"])), "the GET inside EXEC read it again");
    c.run(&["CLIENT", "TRACKING", "ON", "NOLOOP"]);
    c.run(&["GET", "k"]);
    assert_eq!(c.run(&["SET", "k", "2"]), "+OK\r\n");
    assert_eq!(seen(&mut c, WRITER, &["SET", "k", "3"], READER), "", "the key was forgotten with the change");
}

#[test]
fn flushes_invalidate_everything_for_every_tracking_client() {
    let mut c = tracking_pair(&[]);
    assert_eq!(c.run(&["FLUSHALL"]), format!("+OK\r\n{INVALIDATE_ALL}"));
    assert_eq!(seen(&mut c, WRITER, &["FLUSHDB"], READER), INVALIDATE_ALL);
    assert_eq!(seen(&mut c, WRITER, &["SWAPDB", "0", "1"], READER), "", "SWAPDB tells nobody, as in Redis");
}

#[test]
fn expiry_and_eviction_invalidate() {
    let mut c = tracking_pair(&[]);
    c.run_on(WRITER, &[b"SET", b"t", b"v", b"PX", b"10"]);
    c.run(&["GET", "t"]);
    c.advance_ms(200);
    let outputs = c.engine.tick(c.now);
    let to_reader: String = outputs.iter().filter(|o| o.id == READER).map(|o| String::from_utf8_lossy(&o.data).into_owned()).collect();
    assert_eq!(to_reader, invalidate(&["t"]), "active expiry, from a tick");
    c.run_on(WRITER, &[b"SET", b"e", b"v"]);
    c.run(&["GET", "e"]);
    c.run_on(WRITER, &[b"CONFIG", b"SET", b"maxmemory-policy", b"allkeys-random"]);
    c.run_on(WRITER, &[b"CONFIG", b"SET", b"maxmemory", b"1"]);
    let seen = seen(&mut c, WRITER, &["GET", "nothing"], READER);
    c.run_on(WRITER, &[b"CONFIG", b"SET", b"maxmemory", b"0"]);
    assert_eq!(seen, invalidate(&["e"]), "eviction");
}

#[test]
fn resp2_clients_hear_through_a_subscribed_redirect_connection() {
    let mut c = Harness::new();
    c.another(WRITER);
    let redirect = c.another(3);
    assert_eq!(c.run_on(redirect, &[b"CLIENT", b"ID"]), ":3\r\n");
    c.run_on(redirect, &[b"SUBSCRIBE", b"__redis__:invalidate"]);
    assert_eq!(c.run(&["CLIENT", "TRACKING", "ON", "REDIRECT", "3"]), "+OK\r\n");
    assert_eq!(c.run(&["CLIENT", "GETREDIR"]), ":3\r\n");
    c.run(&["GET", "k"]);
    let message = "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nk\r\n";
    assert_eq!(seen(&mut c, WRITER, &["SET", "k", "1"], redirect), message);
    let null = "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n";
    assert_eq!(seen(&mut c, WRITER, &["FLUSHALL"], redirect), null);
    assert!(c.run(&["CLIENT", "LIST", "ID", "1"]).contains(" flags=t db=0 ") && c.run(&["CLIENT", "INFO"]).contains(" redir=3 "));

    c.engine.close(c.now, redirect);
    c.run(&["GET", "k"]);
    assert_eq!(seen(&mut c, WRITER, &["SET", "k", "2"], READER), "", "RESP2: nothing to say it on");
    assert!(c.run(&["CLIENT", "TRACKINGINFO"]).contains("broken_redirect"));
    assert!(c.run(&["CLIENT", "LIST", "ID", "1"]).contains(" flags=tR "));
    c.run(&["HELLO", "3"]);
    c.run(&["GET", "k"]);
    assert_eq!(seen(&mut c, WRITER, &["SET", "k", "3"], READER), ">2\r\n$21\r\ntracking-redir-broken\r\n:3\r\n");
    assert_eq!(c.run(&["CLIENT", "TRACKING", "ON", "REDIRECT", "3"]), "-ERR The client ID you want redirect to does not exist\r\n");
}

#[test]
fn broadcast_mode_sends_each_prefix_its_changed_keys_at_the_end_of_the_call() {
    let mut c = tracking_pair(&["BCAST", "PREFIX", "u:", "PREFIX", "v:", "NOLOOP"]);
    let outputs = c.run_seen_by_all(WRITER, &["MSET", "u:2", "a", "v:1", "b", "z", "c", "u:1", "d"]);
    assert_eq!(outputs, [(WRITER, "+OK\r\n".to_string()), (READER, invalidate(&["u:1", "u:2"]) + &invalidate(&["v:1"]))]);
    assert_eq!(c.run(&["SET", "u:3", "x"]), "+OK\r\n", "NOLOOP: its own change");
    assert!(c.run(&["CLIENT", "LIST", "ID", "1"]).contains(" flags=tB "));
    assert_eq!(
        c.run(&["CLIENT", "TRACKINGINFO"]),
        "%3\r\n$5\r\nflags\r\n~3\r\n$2\r\non\r\n$5\r\nbcast\r\n$6\r\nnoloop\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*2\r\n$2\r\nu:\r\n$2\r\nv:\r\n"
    );
    assert!(c.run(&["INFO", "stats"]).contains("tracking_total_prefixes:2\r\n"));
    c.run(&["CLIENT", "TRACKING", "OFF"]);
    assert_eq!(seen(&mut c, WRITER, &["SET", "u:1", "x"], READER), "");
    assert!(c.run(&["INFO", "stats"]).contains("tracking_total_prefixes:0\r\n"));
}

#[test]
fn optin_and_optout_follow_client_caching() {
    let mut c = tracking_pair(&["OPTIN"]);
    c.run(&["GET", "plain"]);
    c.run(&["CLIENT", "CACHING", "YES"]);
    c.run(&["GET", "cached"]);
    c.run(&["GET", "after"]);
    assert_eq!(seen(&mut c, WRITER, &["MSET", "plain", "1", "cached", "1", "after", "1"], READER), invalidate(&["cached"]));
    c.run(&["CLIENT", "CACHING", "YES"]);
    c.run(&["MULTI"]);
    c.run(&["GET", "m1"]);
    c.run(&["GET", "m2"]);
    c.run(&["EXEC"]);
    assert_eq!(seen(&mut c, WRITER, &["MSET", "m1", "1", "m2", "1"], READER), invalidate(&["m1"]) + &invalidate(&["m2"]), "the whole transaction");
    c.run(&["CLIENT", "TRACKING", "OFF"]);
    c.run(&["CLIENT", "TRACKING", "ON", "OPTOUT"]);
    c.run(&["CLIENT", "CACHING", "NO"]);
    c.run(&["GET", "skipped"]);
    c.run(&["GET", "kept"]);
    assert_eq!(seen(&mut c, WRITER, &["MSET", "skipped", "1", "kept", "1"], READER), invalidate(&["kept"]));
}

#[test]
fn the_table_stays_within_tracking_table_max_keys() {
    let mut c = tracking_pair(&[]);
    c.run_on(WRITER, &[b"CONFIG", b"SET", b"tracking-table-max-keys", b"2"]);
    c.run(&["GET", "a"]);
    c.run(&["GET", "b"]);
    let outputs = c.run_seen_by_all(READER, &["GET", "c"]);
    let reply = &outputs[0].1;
    assert!(reply.starts_with("_\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n"), "one key forgotten and its reader told: {reply}");
    assert!(c.run(&["INFO", "stats"]).contains("tracking_total_keys:2\r\n"));
}

#[test]
fn reset_and_close_end_tracking() {
    let mut c = tracking_pair(&[]);
    assert!(c.run_on(WRITER, &[b"INFO", b"clients"]).contains("tracking_clients:1\r\n"));
    c.run(&["GET", "k"]);
    assert_eq!(c.run(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.run(&["CLIENT", "GETREDIR"]), ":-1\r\n");
    assert_eq!(seen(&mut c, WRITER, &["SET", "k", "1"], READER), "");
    c.run(&["CLIENT", "TRACKING", "ON"]);
    c.engine.close(c.now, READER);
    assert!(c.run_on(WRITER, &[b"INFO", b"clients"]).contains("tracking_clients:0\r\n"));
}

/// A replacement engine cannot know what a tracking client read before the fault, so it cannot
/// tell it when those keys change: the client is disconnected instead of left with a stale cache.
#[test]
fn a_tracking_client_is_not_carried_over_to_a_replacement_engine() {
    use crate::session::{Peer, PeerKind, Session};
    let peer = Peer { kind: PeerKind::Tcp, address: "127.0.0.1:40000".into(), local_address: "127.0.0.1:6379".into() };
    let mut session = Session::new(1, 1, peer.clone(), 0, 0);
    let plain = session.encode();
    session.set_tracking(true);
    let tracking = session.encode();
    let mut fresh = Harness::new();
    assert_eq!(fresh.engine.open(fresh.now, 5, peer.clone(), Some(&plain)), None);
    assert_eq!(fresh.engine.open(fresh.now, 6, peer, Some(&tracking)), Some(Vec::new()), "closed without a word");
}

#[test]
fn errors_are_redis_texts() {
    let mut c = Harness::new();
    assert_eq!(c.run(&["CLIENT", "CACHING", "YES"]), "-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled\r\n");
    assert_eq!(c.run(&["CLIENT", "TRACKING", "MAYBE"]), "-ERR syntax error\r\n");
    assert_eq!(c.run(&["CLIENT", "TRACKING", "ON", "REDIRECT", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(c.run(&["CLIENT", "TRACKING", "ON", "REDIRECT", "1", "REDIRECT", "1"]), "-ERR A client can only redirect to a single other client\r\n");
    assert_eq!(
        c.run(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab", "PREFIX", "a"]),
        "-ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap.\r\n"
    );
    assert_eq!(c.run(&["CLIENT", "TRACKING", "ON", "OPTIN"]), "+OK\r\n");
    assert_eq!(c.run(&["CLIENT", "CACHING", "NO"]), "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n");
    assert_eq!(c.run(&["CLIENT", "TRACKINGINFO"]), "*6\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$5\r\noptin\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n");
}
