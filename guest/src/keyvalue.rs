//! The WASI key-value interfaces (`wasi:keyvalue/store`, `atomics`, `batch`) and cachet's expiry
//! extension, on the engine's keyspace. Both exported versions of the proposal (0.2.0-draft2 and
//! 0.2.0-draft) come here: they differ only in the types of the list-keys cursor and of
//! `increment`, which [`Bucket::list_keys`]/[`Bucket::list_keys_from`] and
//! [`Bucket::increment`]/[`Bucket::increment_unsigned`] take.
//!
//! A bucket is one of the engine's databases. Every call becomes the request a cache client would
//! make (GET, SET, INCRBY, SCAN...) and runs through [`Engine::run_op`], so key-value callers and
//! RESP clients share one keyspace with one set of rules: lazy and active expiry, `maxmemory` and
//! its eviction policy, and Redis's error texts, which `Error::Other` carries.

use crate::commands::parse_i64;
use crate::engine::Engine;
use crate::request::{self, Op, Outcome, TtlMs};
use crate::resp::Node;
use crate::time::Now;

/// The interface's error variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    NoSuchStore,
    Other(String),
}

impl From<request::Error> for Error {
    fn from(e: request::Error) -> Self {
        Error::Other(e.message)
    }
}

/// How long a key has left to live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeToLive {
    Missing,
    Forever,
    Milliseconds(u64),
}

/// Keys returned by one step of [`Bucket::list_keys`].
pub const LIST_PAGE: usize = 100;

/// One of the engine's databases, opened by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub db: usize,
}

impl Bucket {
    /// `""` and `"default"` name database 0; `"0"`, `"1"`, ... name the database of that number,
    /// written as decimal digits without leading zeros, so that each database has one name.
    pub fn open(engine: &mut Engine, identifier: &str) -> Result<Bucket, Error> {
        let db = match identifier {
            "" | "default" => 0,
            name => database_number(name)?,
        };
        if db >= engine.databases() {
            return Err(Error::NoSuchStore);
        }
        engine.freeze_config();
        Ok(Bucket { db })
    }

    fn run(self, engine: &mut Engine, op: Op, now: Now) -> Result<Outcome, Error> {
        Ok(engine.run_op(self.db, &op, now)?)
    }

    pub fn get(self, engine: &mut Engine, key: &str, now: Now) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.run(engine, Op::Get(key.into()), now)?.into_value()?)
    }

    /// Stores `value` without expiry, replacing any value and TTL the key had (Redis's SET).
    pub fn set(self, engine: &mut Engine, key: &str, value: Vec<u8>, now: Now) -> Result<(), Error> {
        self.set_for(engine, key, value, None, now)
    }

    /// Stores `value` to expire after `ttl_ms`. A TTL of 0 is over at once: like `expire` with
    /// 0, it leaves no key (removing any value the key had), so no caller ever reads the value.
    pub fn set_with_ttl(self, engine: &mut Engine, key: &str, value: Vec<u8>, ttl_ms: u64, now: Now) -> Result<(), Error> {
        if ttl_ms == 0 {
            return self.delete(engine, key, now);
        }
        self.set_for(engine, key, value, Some(ttl_ms), now)
    }

    fn set_for(self, engine: &mut Engine, key: &str, value: Vec<u8>, ttl: TtlMs, now: Now) -> Result<(), Error> {
        Ok(self.run(engine, Op::Set(key.into(), value, ttl), now)?.into_done()?)
    }

    /// Removes the key; removing a missing key is not an error.
    pub fn delete(self, engine: &mut Engine, key: &str, now: Now) -> Result<(), Error> {
        self.delete_many(engine, &[key.to_owned()], now)
    }

    pub fn exists(self, engine: &mut Engine, key: &str, now: Now) -> Result<bool, Error> {
        Ok(self.run(engine, Op::Exists(vec![key.into()]), now)?.into_integer()? > 0)
    }

    /// One page of keys, and the cursor for the next (`None` when the listing is complete), with
    /// 0.2.0-draft2's string cursors: the decimal SCAN cursor (see [`scan_cursor`]).
    pub fn list_keys(self, engine: &mut Engine, cursor: Option<&str>, now: Now) -> Result<(Vec<String>, Option<String>), Error> {
        let (keys, next) = self.list_keys_from(engine, scan_cursor(cursor)?, now)?;
        Ok((keys, next.map(|cursor| cursor.to_string())))
    }

    /// One page of keys from SCAN cursor `cursor` (0 starts a listing), and the cursor for the
    /// next (`None` when the listing is complete). A key that exists for the whole listing is
    /// listed at least once; keys that are not UTF-8, which only RESP clients can write, are left
    /// out since this interface's keys are strings. Any u64 is a SCAN cursor, so none is refused:
    /// one that SCAN never returned resumes the listing at some position, as SCAN does.
    pub fn list_keys_from(self, engine: &mut Engine, cursor: u64, now: Now) -> Result<(Vec<String>, Option<u64>), Error> {
        let scan = Op::Call(vec![b"SCAN".to_vec(), cursor.to_string().into_bytes(), b"COUNT".to_vec(), LIST_PAGE.to_string().into_bytes()]);
        let nodes = self.run(engine, scan, now)?.into_reply()?;
        scan_page(nodes).ok_or_else(|| Error::Other("SCAN's reply did not have the shape of a cursor and keys".into()))
    }

    /// Adds `delta` to the integer stored at `key` (0 when missing) and returns the result; the
    /// key keeps its TTL (Redis's INCRBY).
    pub fn increment(self, engine: &mut Engine, key: &str, delta: i64, now: Now) -> Result<i64, Error> {
        Ok(self.run(engine, Op::Incr(key.into(), delta), now)?.into_integer()?)
    }

    /// 0.2.0-draft's increment, whose delta and result are unsigned: `increment` where both fit.
    /// A delta above `i64::MAX` is refused with INCRBY's reply to such an argument, and a result
    /// that would be negative (the key holds a negative integer) is refused before anything is
    /// written, since it cannot be returned; either way the key is left as it was.
    pub fn increment_unsigned(self, engine: &mut Engine, key: &str, delta: u64, now: Now) -> Result<u64, Error> {
        let delta = i64::try_from(delta).map_err(|_| Error::Other("ERR value is not an integer or out of range".into()))?;
        let current = self.get(engine, key, now)?.and_then(|value| parse_i64(&value));
        if current.and_then(|current| current.checked_add(delta)).is_some_and(|sum| sum < 0) {
            return Err(Error::Other(format!(
                "the value of '{key}' would be negative, which this increment (unsigned in wasi:keyvalue@0.2.0-draft) cannot return"
            )));
        }
        let sum = self.increment(engine, key, delta, now)?;
        u64::try_from(sum).map_err(|_| Error::Other("INCRBY returned a negative number for a non-negative sum".into()))
    }

    /// For each key, the key and its value, or `None` when it has no value.
    pub fn get_many(self, engine: &mut Engine, keys: Vec<String>, now: Now) -> Result<Vec<Option<(String, Vec<u8>)>>, Error> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let op = Op::Mget(keys.iter().map(|k| k.as_bytes().to_vec()).collect());
        let values = self.run(engine, op, now)?.into_values()?;
        Ok(keys.into_iter().zip(values).map(|(k, v)| v.map(|v| (k, v))).collect())
    }

    /// Stores every pair at once (Redis's MSET: none of the keys keeps a TTL).
    pub fn set_many(self, engine: &mut Engine, pairs: Vec<(String, Vec<u8>)>, now: Now) -> Result<(), Error> {
        if pairs.is_empty() {
            return Ok(());
        }
        let pairs = pairs.into_iter().map(|(k, v)| (k.into_bytes(), v)).collect();
        Ok(self.run(engine, Op::Mset(pairs), now)?.into_done()?)
    }

    pub fn delete_many(self, engine: &mut Engine, keys: &[String], now: Now) -> Result<(), Error> {
        if keys.is_empty() {
            return Ok(());
        }
        let remove = Op::Remove(keys.iter().map(|k| k.as_bytes().to_vec()).collect());
        self.run(engine, remove, now)?.into_flag()?;
        Ok(())
    }

    /// Sets when an existing key expires: after `ttl_ms`, or never. False when there is no key.
    /// A TTL of 0 is over at once and removes the key (Redis's PEXPIRE with 0), as `set_with_ttl`
    /// with 0 does.
    pub fn expire(self, engine: &mut Engine, key: &str, ttl_ms: Option<u64>, now: Now) -> Result<bool, Error> {
        Ok(self.run(engine, Op::UpdateTimeout(key.into(), ttl_ms), now)?.into_flag()?)
    }

    pub fn ttl(self, engine: &mut Engine, key: &str, now: Now) -> Result<TimeToLive, Error> {
        let pttl = Op::Call(vec![b"PTTL".to_vec(), key.into()]);
        match self.run(engine, pttl, now)?.into_reply()?.as_slice() {
            [Node::Integer(-2)] => Ok(TimeToLive::Missing),
            [Node::Integer(-1)] => Ok(TimeToLive::Forever),
            [Node::Integer(ms)] if *ms >= 0 => Ok(TimeToLive::Milliseconds(*ms as u64)),
            _ => Err(Error::Other("PTTL answered something other than an integer".into())),
        }
    }
}

/// A compare-and-swap in progress: the value a key had when it began.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cas {
    pub bucket: Bucket,
    pub key: String,
    pub current: Option<Vec<u8>>,
}

/// Why a swap did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SwapError {
    Store(Error),
    /// The key's value changed since the CAS began; this one holds the value it has now.
    Failed(Cas),
}

impl Cas {
    pub fn new(engine: &mut Engine, bucket: Bucket, key: String, now: Now) -> Result<Cas, Error> {
        let current = bucket.get(engine, &key, now)?;
        Ok(Cas { bucket, key, current })
    }

    /// Stores `value` if the key still holds the value this CAS saw (compared by content; a
    /// missing key must still be missing). The key keeps its TTL. The engine runs one call at a
    /// time, so nothing can change the key between the comparison and the write.
    pub fn swap(self, engine: &mut Engine, value: Vec<u8>, now: Now) -> Result<(), SwapError> {
        let now_current = self.bucket.get(engine, &self.key, now).map_err(SwapError::Store)?;
        if now_current != self.current {
            return Err(SwapError::Failed(Cas { current: now_current, ..self }));
        }
        let set = Op::Call(vec![b"SET".to_vec(), self.key.into_bytes(), value, b"KEEPTTL".to_vec()]);
        let reply = self.bucket.run(engine, set, now).and_then(|outcome| Ok(outcome.into_reply()?));
        reply.map(drop).map_err(SwapError::Store)
    }
}

/// The number a bucket name other than `""` and `"default"` stands for. Only the canonical
/// spelling names a database: `"01"` or `"0000015"` would be a second name for one, which a
/// host could not tell from a distinct store, so they are refused with the name to use.
fn database_number(name: &str) -> Result<usize, Error> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::NoSuchStore);
    }
    if name.len() > 1 && name.starts_with('0') {
        let canonical = name.trim_start_matches('0');
        let canonical = if canonical.is_empty() { "0" } else { canonical };
        return Err(Error::Other(format!(
            "no bucket is named '{name}': a database's bucket is its number without leading zeros (open '{canonical}')"
        )));
    }
    name.parse().map_err(|_| Error::NoSuchStore)
}

/// The SCAN cursor a 0.2.0-draft2 list-keys cursor stands for: none starts a listing; otherwise
/// only what list-keys returns is taken, a SCAN cursor in canonical decimal (never `"0"`, which
/// ends a listing and is returned as none). Anything else is refused rather than read as a
/// position.
fn scan_cursor(cursor: Option<&str>) -> Result<u64, Error> {
    let Some(cursor) = cursor else { return Ok(0) };
    let canonical = !cursor.starts_with('0') && cursor.bytes().all(|b| b.is_ascii_digit());
    if let Some(position) = cursor.parse::<u64>().ok().filter(|_| canonical) {
        return Ok(position);
    }
    Err(Error::Other(format!(
        "invalid cursor '{cursor}': pass back the cursor the previous list-keys returned, or none to start a listing"
    )))
}

/// SCAN's reply: `[cursor, [key, ...]]`.
fn scan_page(nodes: Vec<Node>) -> Option<(Vec<String>, Option<u64>)> {
    let mut nodes = nodes.into_iter();
    let (Some(Node::Array(2)), Some(Node::Bulk(cursor)), Some(Node::Array(_))) = (nodes.next(), nodes.next(), nodes.next()) else {
        return None;
    };
    let keys = nodes
        .filter_map(|node| match node {
            Node::Bulk(key) => String::from_utf8(key).ok(),
            _ => None,
        })
        .collect();
    let cursor: u64 = std::str::from_utf8(&cursor).ok()?.parse().ok()?;
    Some((keys, (cursor != 0).then_some(cursor)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_harness::{Harness, bulk};

    fn setup() -> (Harness, Bucket) {
        let mut c = Harness::new();
        let bucket = Bucket::open(&mut c.engine, "0").unwrap();
        (c, bucket)
    }

    #[test]
    fn buckets_are_databases() {
        let mut c = Harness::new();
        assert_eq!(Bucket::open(&mut c.engine, ""), Ok(Bucket { db: 0 }));
        assert_eq!(Bucket::open(&mut c.engine, "default"), Ok(Bucket { db: 0 }));
        assert_eq!(Bucket::open(&mut c.engine, "15"), Ok(Bucket { db: 15 }));
        for name in ["16", "cache", "-1", "+1", " 1", "99999999999999999999"] {
            assert_eq!(Bucket::open(&mut c.engine, name), Err(Error::NoSuchStore), "{name}");
        }
        for (name, canonical) in [("00", "0"), ("01", "1"), ("0000015", "15")] {
            let Err(Error::Other(message)) = Bucket::open(&mut c.engine, name) else { panic!("{name} must be refused") };
            assert!(message.contains(&format!("no bucket is named '{name}'")) && message.contains(&format!("open '{canonical}'")), "{message}");
        }
        let three = Bucket::open(&mut c.engine, "3").unwrap();
        three.set(&mut c.engine, "k", b"in three".to_vec(), c.now).unwrap();
        assert_eq!(c.run(&["GET", "k"]), "$-1\r\n");
        c.run(&["SELECT", "3"]);
        assert_eq!(c.run(&["GET", "k"]), bulk("in three"));
    }

    #[test]
    fn store_calls_and_resp_clients_share_the_keyspace() {
        let (mut c, b) = setup();
        let now = c.now;
        assert_eq!(b.get(&mut c.engine, "k", now), Ok(None));
        assert_eq!(b.exists(&mut c.engine, "k", now), Ok(false));
        b.set(&mut c.engine, "k", b"v".to_vec(), now).unwrap();
        assert_eq!(c.run(&["GET", "k"]), bulk("v"));
        c.run(&["SET", "from-resp", "r"]);
        assert_eq!(b.get(&mut c.engine, "from-resp", now), Ok(Some(b"r".to_vec())));
        assert_eq!(b.exists(&mut c.engine, "k", now), Ok(true));
        b.delete(&mut c.engine, "k", now).unwrap();
        b.delete(&mut c.engine, "k", now).unwrap();
        assert_eq!(c.run(&["EXISTS", "k"]), ":0\r\n");
    }

    #[test]
    fn list_keys_pages_through_every_key() {
        let (mut c, b) = setup();
        let now = c.now;
        for i in 0..250 {
            b.set(&mut c.engine, &format!("key:{i}"), vec![1], now).unwrap();
        }
        c.run_bytes(&[b"SET", b"\xff-not-utf8", b"x"]);
        let mut seen = std::collections::BTreeSet::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let (keys, next) = b.list_keys(&mut c.engine, cursor.as_deref(), now).unwrap();
            assert!(keys.len() <= LIST_PAGE);
            seen.extend(keys);
            pages += 1;
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), 250);
        assert!(pages >= 3, "{pages} pages");
        assert!(matches!(b.list_keys(&mut c.engine, Some("x1"), now), Err(Error::Other(_))));
    }

    #[test]
    fn list_keys_takes_only_cursors_it_could_have_returned() {
        let (mut c, b) = setup();
        let now = c.now;
        b.set(&mut c.engine, "k", vec![1], now).unwrap();
        for refused in ["", "0", "00", "012", "-1", "+5", "1x", " 7", "18446744073709551616"] {
            let Err(Error::Other(message)) = b.list_keys(&mut c.engine, Some(refused), now) else { panic!("'{refused}' must be refused") };
            assert_eq!(message, format!("invalid cursor '{refused}': pass back the cursor the previous list-keys returned, or none to start a listing"));
        }
        for taken in ["1", "12", "18446744073709551615"] {
            assert!(b.list_keys(&mut c.engine, Some(taken), now).is_ok(), "'{taken}' is a cursor SCAN could return");
        }
    }

    #[test]
    fn list_keys_from_takes_any_u64_cursor() {
        let (mut c, b) = setup();
        let now = c.now;
        for i in 0..250 {
            b.set(&mut c.engine, &format!("key:{i}"), vec![1], now).unwrap();
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut cursor = 0;
        loop {
            let (keys, next) = b.list_keys_from(&mut c.engine, cursor, now).unwrap();
            seen.extend(keys);
            match next {
                Some(next) => cursor = next,
                None => break,
            }
        }
        assert_eq!(seen.len(), 250);
        let (first, _) = b.list_keys(&mut c.engine, None, now).unwrap();
        assert_eq!(b.list_keys_from(&mut c.engine, 0, now).unwrap().0, first, "0 starts a listing, as none does for draft2");
        for position in [1, 7, u64::MAX] {
            assert!(b.list_keys_from(&mut c.engine, position, now).is_ok(), "{position} is a SCAN cursor");
        }
    }

    #[test]
    fn increment_unsigned_refuses_what_it_cannot_return_and_writes_nothing() {
        let (mut c, b) = setup();
        let now = c.now;
        assert_eq!(b.increment_unsigned(&mut c.engine, "n", 5, now), Ok(5));
        assert_eq!(b.increment_unsigned(&mut c.engine, "n", 0, now), Ok(5));
        let too_big = b.increment_unsigned(&mut c.engine, "n", i64::MAX as u64 + 1, now);
        assert_eq!(too_big, Err(Error::Other("ERR value is not an integer or out of range".into())));
        assert_eq!(c.run(&["GET", "n"]), bulk("5"));
        c.run(&["SET", "neg", "-10", "EX", "100"]);
        let Err(Error::Other(message)) = b.increment_unsigned(&mut c.engine, "neg", 3, now) else { panic!("-7 is not a u64") };
        assert_eq!(message, "the value of 'neg' would be negative, which this increment (unsigned in wasi:keyvalue@0.2.0-draft) cannot return");
        assert_eq!(c.run(&["GET", "neg"]), bulk("-10"), "a refused increment writes nothing");
        assert_eq!(b.increment_unsigned(&mut c.engine, "neg", 10, now), Ok(0));
        assert_eq!(c.run(&["TTL", "neg"]), ":100\r\n", "the key keeps its TTL, as with INCRBY");
        b.set(&mut c.engine, "max", i64::MAX.to_string().into_bytes(), now).unwrap();
        assert_eq!(b.increment_unsigned(&mut c.engine, "max", 1, now), Err(Error::Other("ERR increment or decrement would overflow".into())));
        b.set(&mut c.engine, "s", b"text".to_vec(), now).unwrap();
        assert_eq!(b.increment_unsigned(&mut c.engine, "s", 1, now), Err(Error::Other("ERR value is not an integer or out of range".into())));
    }

    #[test]
    fn increment_is_incrby() {
        let (mut c, b) = setup();
        let now = c.now;
        assert_eq!(b.increment(&mut c.engine, "n", 5, now), Ok(5));
        assert_eq!(b.increment(&mut c.engine, "n", -7, now), Ok(-2));
        assert_eq!(c.run(&["GET", "n"]), bulk("-2"));
        b.set(&mut c.engine, "s", b"text".to_vec(), now).unwrap();
        assert_eq!(b.increment(&mut c.engine, "s", 1, now), Err(Error::Other("ERR value is not an integer or out of range".into())));
        b.set(&mut c.engine, "max", i64::MAX.to_string().into_bytes(), now).unwrap();
        assert_eq!(b.increment(&mut c.engine, "max", 1, now), Err(Error::Other("ERR increment or decrement would overflow".into())));
    }

    #[test]
    fn compare_and_swap() {
        let (mut c, b) = setup();
        let now = c.now;
        let cas = Cas::new(&mut c.engine, b, "k".into(), now).unwrap();
        assert_eq!(cas.current, None);
        cas.swap(&mut c.engine, b"first".to_vec(), now).unwrap();
        let stale = Cas::new(&mut c.engine, b, "k".into(), now).unwrap();
        c.run(&["SET", "k", "changed", "EX", "100"]);
        let Err(SwapError::Failed(fresh)) = stale.swap(&mut c.engine, b"lost".to_vec(), now) else { panic!("the stale swap must fail") };
        assert_eq!(fresh.current.as_deref(), Some(&b"changed"[..]));
        fresh.swap(&mut c.engine, b"won".to_vec(), now).unwrap();
        assert_eq!(c.run(&["GET", "k"]), bulk("won"));
        assert_eq!(c.run(&["TTL", "k"]), ":100\r\n", "a swap keeps the key's TTL");
    }

    #[test]
    fn compare_and_swap_compares_content_only() {
        let (mut c, b) = setup();
        let now = c.now;
        b.set(&mut c.engine, "k", b"a".to_vec(), now).unwrap();
        let cas = Cas::new(&mut c.engine, b, "k".into(), now).unwrap();
        // Changed and changed back, and given a TTL: the content is what it was, so the swap wins.
        c.run(&["SET", "k", "b"]);
        c.run(&["SET", "k", "a", "EX", "50"]);
        cas.swap(&mut c.engine, b"swapped".to_vec(), now).unwrap();
        assert_eq!(c.run(&["GET", "k"]), bulk("swapped"));
        // A key deleted after the CAS began is not the value it saw.
        let cas = Cas::new(&mut c.engine, b, "k".into(), now).unwrap();
        c.run(&["DEL", "k"]);
        let Err(SwapError::Failed(fresh)) = cas.swap(&mut c.engine, b"lost".to_vec(), now) else { panic!("the key is gone") };
        assert_eq!(fresh.current, None);
        // A value of another type is an error, not a value to compare.
        c.run(&["RPUSH", "list", "x"]);
        let Err(Error::Other(message)) = Cas::new(&mut c.engine, b, "list".into(), now) else { panic!("a list has no value") };
        assert!(message.starts_with("WRONGTYPE"), "{message}");
    }

    #[test]
    fn batches() {
        let (mut c, b) = setup();
        let now = c.now;
        b.set_many(&mut c.engine, vec![("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())], now).unwrap();
        let got = b.get_many(&mut c.engine, vec!["a".into(), "missing".into(), "b".into()], now).unwrap();
        assert_eq!(got, vec![Some(("a".into(), b"1".to_vec())), None, Some(("b".into(), b"2".to_vec()))]);
        b.delete_many(&mut c.engine, &["a".into(), "missing".into()], now).unwrap();
        assert_eq!(c.run(&["EXISTS", "a", "b"]), ":1\r\n");
        assert_eq!(b.get_many(&mut c.engine, vec![], now), Ok(vec![]));
        b.set_many(&mut c.engine, vec![], now).unwrap();
        b.delete_many(&mut c.engine, &[], now).unwrap();
    }

    #[test]
    fn expiry() {
        let (mut c, b) = setup();
        let now = c.now;
        b.set_with_ttl(&mut c.engine, "t", b"v".to_vec(), 1_500, now).unwrap();
        assert_eq!(b.ttl(&mut c.engine, "t", now), Ok(TimeToLive::Milliseconds(1_500)));
        assert_eq!(b.ttl(&mut c.engine, "none", now), Ok(TimeToLive::Missing));
        assert_eq!(b.expire(&mut c.engine, "t", None, now), Ok(true));
        assert_eq!(b.ttl(&mut c.engine, "t", now), Ok(TimeToLive::Forever));
        assert_eq!(b.expire(&mut c.engine, "t", Some(10), now), Ok(true));
        assert_eq!(b.expire(&mut c.engine, "none", Some(10), now), Ok(false));
        c.advance_ms(11);
        let now = c.now;
        assert_eq!(b.get(&mut c.engine, "t", now), Ok(None));
        assert_eq!(b.exists(&mut c.engine, "t", now), Ok(false));
    }

    #[test]
    fn a_ttl_of_zero_is_over_at_once() {
        let (mut c, b) = setup();
        let now = c.now;
        b.set(&mut c.engine, "old", b"v".to_vec(), now).unwrap();
        b.set_with_ttl(&mut c.engine, "old", b"new".to_vec(), 0, now).unwrap();
        assert_eq!(b.ttl(&mut c.engine, "old", now), Ok(TimeToLive::Missing), "set-with-ttl 0 leaves no key, old value included");
        b.set_with_ttl(&mut c.engine, "never", b"v".to_vec(), 0, now).unwrap();
        assert_eq!(b.exists(&mut c.engine, "never", now), Ok(false));
        b.set(&mut c.engine, "k", b"v".to_vec(), now).unwrap();
        assert_eq!(b.expire(&mut c.engine, "k", Some(0), now), Ok(true), "the key existed");
        assert_eq!(b.ttl(&mut c.engine, "k", now), Ok(TimeToLive::Missing), "expire 0 removes it too");
        assert_eq!(b.expire(&mut c.engine, "k", Some(0), now), Ok(false));
        b.set_with_ttl(&mut c.engine, "one", b"v".to_vec(), 1, now).unwrap();
        assert_eq!(b.ttl(&mut c.engine, "one", now), Ok(TimeToLive::Milliseconds(1)));
    }

    #[test]
    fn memory_limits_apply() {
        let (mut c, b) = setup();
        c.run(&["CONFIG", "SET", "maxmemory", "1"]);
        let refused = b.set(&mut c.engine, "k", vec![0; 1024], c.now);
        assert_eq!(refused, Err(Error::Other("OOM command not allowed when used memory > 'maxmemory'.".into())));
    }
}
