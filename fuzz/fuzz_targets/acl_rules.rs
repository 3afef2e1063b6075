//! ACL SETUSER's rule language on arbitrary rules: the engine must never panic, and a user it
//! accepts from printable rules must be described (ACL LIST) by rules that, given to another
//! user, describe it the same. The same bytes, read as an ACL file, must load or be refused with
//! Redis's closing warning, never panic.

#![no_main]

use cachet_guest::{AclFile, Engine, Now, Peer, PeerKind};
use libfuzzer_sys::fuzz_target;

fn command(words: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    cachet_guest::resp::encode_command(&mut out, words);
    out
}

/// The rules ACL LIST shows for `name` (after `user <name> `).
fn listed(engine: &mut Engine, now: Now, name: &[u8]) -> Option<Vec<u8>> {
    let out = engine.feed_one(now, 1, &command(&[b"ACL", b"LIST"]));
    let prefix = [&b"user "[..], name, b" "].concat();
    out.data.split(|b| *b == b'\n').find_map(|line| line.strip_prefix(prefix.as_slice()).map(|rest| rest.strip_suffix(b"\r").unwrap_or(rest).to_vec()))
}

/// The listed rules less the `sanitize-payload` flag (the whole word, not a pattern holding it).
fn without_sanitize_flag(rules: &[u8]) -> String {
    let words: Vec<String> = rules.split(|b| *b == b' ').filter(|w| *w != b"sanitize-payload").map(|w| String::from_utf8_lossy(w).into_owned()).collect();
    words.join(" ")
}

/// A key or channel pattern rule (`~p`, `%R~p`, `&p`).
fn is_pattern(word: &[u8]) -> bool {
    matches!(word.first(), Some(b'~' | b'%' | b'&'))
}

/// Whether the listed rules have `~*` beside another key pattern (`~p`, `%R~p`), in the user's
/// root permissions or in one selector. Such a listing is not read back as itself: a pattern after
/// `~*` is refused, and `~*` drops the patterns before it.
fn all_keys_beside_key_patterns(rules: &[u8]) -> bool {
    let (mut all_keys, mut others) = (false, false);
    for word in rules.split(|b| *b == b' ') {
        let word = match word.strip_prefix(b"(") {
            Some(first_of_selector) => {
                (all_keys, others) = (false, false);
                first_of_selector
            }
            None => word,
        };
        let word = word.strip_suffix(b")").unwrap_or(word);
        if word == b"~*" {
            all_keys = true;
        } else if matches!(word.first(), Some(b'~' | b'%')) {
            others = true;
        }
        if all_keys && others {
            return true;
        }
    }
    false
}

/// An ACL file holding the fuzzer's bytes.
struct Bytes(Vec<u8>);

impl AclFile for Bytes {
    fn read(&mut self) -> Result<Vec<u8>, String> {
        Ok(self.0.clone())
    }

    fn write(&mut self, contents: &[u8]) -> Result<(), String> {
        self.0 = contents.to_vec();
        Ok(())
    }
}

/// Loading the bytes as an ACL file either works or says why, in Redis's words.
fn load_as_file(data: &[u8]) {
    let mut engine = Engine::new(1);
    engine.set_acl_file(Box::new(Bytes(data.to_vec())));
    if let Err(error) = engine.configure(&[("aclfile".to_string(), "fuzzed.acl".to_string())]) {
        assert!(error.message.ends_with("WARNING: ACL errors detected, no change to the previously active ACL rules was performed"), "{}", error.message);
    }
}

fuzz_target!(|data: &[u8]| {
    load_as_file(data);
    let rules: Vec<&[u8]> = data.split(|b| *b == b' ').filter(|r| !r.is_empty()).take(32).collect();
    let now = Now { wall_ms: 1_700_000_000_000, mono_ns: 1_000_000_000 };
    let mut engine = Engine::new(1);
    let peer = Peer { kind: PeerKind::Tcp, address: "127.0.0.1:1".into(), local_address: "127.0.0.1:2".into() };
    engine.open(now, 1, peer, None);
    let mut setuser: Vec<&[u8]> = vec![b"ACL", b"SETUSER", b"fuzzed"];
    setuser.extend_from_slice(&rules);
    let out = engine.feed_one(now, 1, &command(&setuser));
    if out.data != b"+OK\r\n" {
        assert!(out.data.starts_with(b"-ERR "), "{:?}", String::from_utf8_lossy(&out.data));
        return;
    }
    // The round trip is checked for rules as people write them, printable ASCII; other bytes
    // only have to leave the engine standing (ACL LIST is read back line by line, too).
    if rules.iter().any(|rule| rule.iter().any(|b| !b.is_ascii_graphic())) {
        return;
    }
    let Some(description) = listed(&mut engine, now, b"fuzzed") else { panic!("the user is listed") };
    // Quotes inside a selector are read back as quoting, as in Redis: only plain rules round-trip.
    if description.iter().any(|b| matches!(b, b'"' | b'\'' | b'\n' | b'\r')) {
        return;
    }
    // Nor do patterns with parentheses: Redis reads a word ending in `)` as the end of a selector,
    // so `(~a))` is listed as `(~a) ... -@all)` and not accepted back, by redis-server either.
    if description.split(|b| *b == b' ').any(|word| is_pattern(word.strip_prefix(b"(").unwrap_or(word)) && word[1..].iter().any(|b| matches!(b, b'(' | b')'))) {
        return;
    }
    // Nor do other key patterns beside all keys, with redis-server 7.0.15 too: `%RW~* %R` is
    // listed as `~* %R~`, which ACL SETUSER refuses ("Adding a pattern after the * pattern"), and
    // `~a %RW~*` as `~a ~*`, which reads back as `~*` alone.
    if all_keys_beside_key_patterns(&description) {
        return;
    }
    let mut again: Vec<&[u8]> = vec![b"ACL", b"SETUSER", b"copy", b"reset"];
    again.extend(description.split(|b| *b == b' ').filter(|w| !w.is_empty()));
    let out = engine.feed_one(now, 1, &command(&again));
    assert_eq!(out.data, b"+OK\r\n", "{:?} is accepted back", String::from_utf8_lossy(&description));
    let copied = listed(&mut engine, now, b"copy").expect("the copy is listed");
    // `reset` adds the sanitize-payload flag where the original may have none.
    assert_eq!(without_sanitize_flag(&copied), without_sanitize_flag(&description));
});
