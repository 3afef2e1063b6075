//! The glue between wasi:keyvalue@0.2.0-draft (store, atomics and batch, as wasmtime-wasi-keyvalue
//! implements them) and [`crate::keyvalue`]: only conversions, no logic. Its buckets are the same
//! databases as 0.2.0-draft2's; only the list-keys cursor (a u64) and `increment` (unsigned, and no
//! compare-and-swap) differ.

use super::Component;
use super::exports::wasi::keyvalue0_2_0_draft::{atomics, batch, store};
use super::keyvalue::on;
use super::with_engine;
use crate::keyvalue::{Bucket, Error};

impl From<Error> for store::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::NoSuchStore => store::Error::NoSuchStore,
            Error::Other(message) => store::Error::Other(message),
        }
    }
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

    fn list_keys(&self, cursor: Option<u64>) -> Result<store::KeyResponse, store::Error> {
        let (keys, cursor) = on::<_, store::Error>(self, |b, engine, now| b.list_keys_from(engine, cursor.unwrap_or(0), now))?;
        Ok(store::KeyResponse { keys, cursor })
    }
}

impl atomics::Guest for Component {
    fn increment(bucket: store::BucketBorrow<'_>, key: String, delta: u64) -> Result<u64, store::Error> {
        on(bucket.get::<Bucket>(), |b, engine, now| b.increment_unsigned(engine, &key, delta, now))
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
