//! The glue between the WIT key-value interfaces (wasi:keyvalue@0.2.0-draft2's store, atomics and
//! batch, and cachet's expiry and maintenance) and [`crate::keyvalue`]: only conversions, no logic.
//! The older 0.2.0-draft's glue, in `keyvalue_draft`, shares the helpers here.

use super::Component;
use super::exports::cachet::engine::{expiry, maintenance};
use super::exports::wasi::keyvalue0_2_0_draft2::{atomics, batch, store};
use super::cachet::engine::clock;
use super::with_engine;
use crate::engine::Engine;
use crate::keyvalue::{Bucket, Cas, Error, SwapError, TimeToLive};
use crate::time::Now;

/// The time for one call: unlike a server host, a key-value host passes no time, so every call
/// reads both clocks. Expiry is wall-clock time, and a host's clock may move its wall time alone
/// (a test's fake clock, a clock stepped by NTP): reading `wall-now` on every call is what lets a
/// key expire exactly when the host's wall clock says its TTL is over.
fn now() -> Now {
    Now { wall_ms: clock::wall_now(), mono_ns: clock::monotonic_now() }
}

/// Runs `f` on the engine with the time of the call.
fn with_engine_now<T>(f: impl FnOnce(&mut Engine, Now) -> T) -> T {
    let now = now();
    with_engine(|engine| f(engine, now))
}

impl From<Error> for store::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::NoSuchStore => store::Error::NoSuchStore,
            Error::Other(message) => store::Error::Other(message),
        }
    }
}

/// Runs `f` on the engine with the bucket a handle stands for, its error as either version's.
pub(super) fn on<T, E: From<Error>>(bucket: &Bucket, f: impl FnOnce(Bucket, &mut Engine, Now) -> Result<T, Error>) -> Result<T, E> {
    with_engine_now(|engine, now| f(*bucket, engine, now)).map_err(E::from)
}

impl store::Guest for Component {
    type Bucket = Bucket;

    fn open(identifier: String) -> Result<store::Bucket, store::Error> {
        with_engine(|engine| Bucket::open(engine, &identifier)).map(store::Bucket::new).map_err(store::Error::from)
    }
}

impl store::GuestBucket for Bucket {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, store::Error> {
        on(self, |b, engine, now| b.get(engine, &key, now))
    }

    fn set(&self, key: String, value: Vec<u8>) -> Result<(), store::Error> {
        on(self, |b, engine, now| b.set(engine, &key, value, now))
    }

    fn delete(&self, key: String) -> Result<(), store::Error> {
        on(self, |b, engine, now| b.delete(engine, &key, now))
    }

    fn exists(&self, key: String) -> Result<bool, store::Error> {
        on(self, |b, engine, now| b.exists(engine, &key, now))
    }

    fn list_keys(&self, cursor: Option<String>) -> Result<store::KeyResponse, store::Error> {
        let (keys, cursor) = on::<_, store::Error>(self, |b, engine, now| b.list_keys(engine, cursor.as_deref(), now))?;
        Ok(store::KeyResponse { keys, cursor })
    }
}

impl atomics::Guest for Component {
    type Cas = Cas;

    fn increment(bucket: store::BucketBorrow<'_>, key: String, delta: i64) -> Result<i64, store::Error> {
        on(bucket.get::<Bucket>(), |b, engine, now| b.increment(engine, &key, delta, now))
    }

    fn swap(cas: atomics::Cas, value: Vec<u8>) -> Result<(), atomics::CasError> {
        let cas: Cas = cas.into_inner();
        with_engine_now(|engine, now| cas.swap(engine, value, now)).map_err(|e| match e {
            SwapError::Store(e) => atomics::CasError::StoreError(e.into()),
            SwapError::Failed(fresh) => atomics::CasError::CasFailed(atomics::Cas::new(fresh)),
        })
    }
}

impl atomics::GuestCas for Cas {
    fn new(bucket: store::BucketBorrow<'_>, key: String) -> Result<atomics::Cas, store::Error> {
        on(bucket.get::<Bucket>(), |b, engine, now| Cas::new(engine, b, key, now)).map(atomics::Cas::new)
    }

    fn current(&self) -> Result<Option<Vec<u8>>, store::Error> {
        Ok(self.current.clone())
    }
}

impl batch::Guest for Component {
    fn get_many(bucket: store::BucketBorrow<'_>, keys: Vec<String>) -> Result<Vec<Option<(String, Vec<u8>)>>, store::Error> {
        on(bucket.get::<Bucket>(), |b, engine, now| b.get_many(engine, keys, now))
    }

    fn set_many(bucket: store::BucketBorrow<'_>, key_values: Vec<(String, Vec<u8>)>) -> Result<(), store::Error> {
        on(bucket.get::<Bucket>(), |b, engine, now| b.set_many(engine, key_values, now))
    }

    fn delete_many(bucket: store::BucketBorrow<'_>, keys: Vec<String>) -> Result<(), store::Error> {
        on(bucket.get::<Bucket>(), |b, engine, now| b.delete_many(engine, &keys, now))
    }
}

impl expiry::Guest for Component {
    fn set_with_ttl(bucket: store::BucketBorrow<'_>, key: String, value: Vec<u8>, ttl_ms: u64) -> Result<(), store::Error> {
        on(bucket.get::<Bucket>(), |b, engine, now| b.set_with_ttl(engine, &key, value, ttl_ms, now))
    }

    fn expire(bucket: store::BucketBorrow<'_>, key: String, ttl_ms: Option<u64>) -> Result<bool, store::Error> {
        on(bucket.get::<Bucket>(), |b, engine, now| b.expire(engine, &key, ttl_ms, now))
    }

    fn ttl(bucket: store::BucketBorrow<'_>, key: String) -> Result<expiry::TimeToLive, store::Error> {
        let ttl = on::<_, store::Error>(bucket.get::<Bucket>(), |b, engine, now| b.ttl(engine, &key, now))?;
        Ok(match ttl {
            TimeToLive::Missing => expiry::TimeToLive::Missing,
            TimeToLive::Forever => expiry::TimeToLive::Forever,
            TimeToLive::Milliseconds(ms) => expiry::TimeToLive::Milliseconds(ms),
        })
    }
}

impl maintenance::Guest for Component {
    fn configure(settings: Vec<(String, String)>) -> Result<(), String> {
        with_engine(|engine| engine.configure(&settings)).map_err(|e| e.to_string())
    }

    fn tick() -> u64 {
        with_engine_now(|engine, now| {
            // A plugin host has no connections: expiry is the only background work.
            engine.tick(now);
            engine.next_deadline().unwrap_or(now.mono_after_ms(1000))
        })
    }
}
