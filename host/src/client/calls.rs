//! The typed cache calls (`get`, `set`, `get_or_set`, ...) that [`Client`](super::Client),
//! [`SentinelClient`](super::SentinelClient) and [`ClusterClient`](super::ClusterClient) all
//! offer. Each client only decides where a request goes (its own `run`); turning arguments into a
//! request and its answer into a typed result is written once, here.
//!
//! The calls are inherent methods, generated into each client by [`cache_calls!`], so that users
//! need no trait in scope to call them.

use super::{Error, ErrorKind, Value};
use bytes::Bytes;

/// A client's answer to one request, read as the type the call promises. A `Client` or a
/// `SentinelClient` answers with the component's `Outcome`; a `ClusterClient`, which merges
/// answers from several nodes, with a [`Value`].
pub(crate) trait Answer: Sized {
    fn bytes(self) -> Result<Option<Bytes>, Error>;
    fn list(self) -> Result<Vec<Option<Bytes>>, Error>;
    fn flag(self) -> Result<bool, Error>;
    fn integer(self) -> Result<i64, Error>;
}

impl Answer for Value {
    fn bytes(self) -> Result<Option<Bytes>, Error> {
        match self {
            Value::Nil => Ok(None),
            Value::Bulk(bytes) => Ok(Some(bytes)),
            other => Err(unexpected(&other)),
        }
    }

    fn list(self) -> Result<Vec<Option<Bytes>>, Error> {
        match self {
            Value::Array(items) => items.into_iter().map(Answer::bytes).collect(),
            other => Err(unexpected(&other)),
        }
    }

    fn flag(self) -> Result<bool, Error> {
        match self {
            Value::Bool(f) => Ok(f),
            other => Err(unexpected(&other)),
        }
    }

    fn integer(self) -> Result<i64, Error> {
        match self {
            Value::Int(n) => Ok(n),
            other => Err(unexpected(&other)),
        }
    }
}

pub(crate) fn unexpected(found: &impl std::fmt::Debug) -> Error {
    Error::new(ErrorKind::Protocol, format!("the client got a result of the wrong kind: {found:?}"))
}

/// The typed cache calls, as inherent methods of a client type that has
/// `async fn run(&self, op: Op) -> Result<impl Answer, Error>`.
macro_rules! cache_calls {
    () => {
        pub async fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<::bytes::Bytes>, $crate::client::Error> {
            use $crate::client::calls::Answer;
            self.run($crate::runtime::Op::Get(key.as_ref().to_vec())).await?.bytes()
        }

        /// The value, or `default` when there is none.
        pub async fn get_or(&self, key: impl AsRef<[u8]>, default: impl Into<::bytes::Bytes>) -> Result<::bytes::Bytes, $crate::client::Error> {
            Ok(self.get(key).await?.unwrap_or_else(|| default.into()))
        }

        /// The value, or an error of kind [`ErrorKind::NotFound`]($crate::client::ErrorKind::NotFound).
        pub async fn get_or_fail(&self, key: impl AsRef<[u8]>) -> Result<::bytes::Bytes, $crate::client::Error> {
            use $crate::client::calls::Answer;
            self.run($crate::runtime::Op::GetOrFail(key.as_ref().to_vec())).await?.bytes().map(Option::unwrap_or_default)
        }

        /// The value as text; an error if it is not UTF-8.
        pub async fn get_string(&self, key: impl AsRef<[u8]>) -> Result<Option<String>, $crate::client::Error> {
            let Some(bytes) = self.get(key).await? else { return Ok(None) };
            String::from_utf8(bytes.to_vec())
                .map(Some)
                .map_err(|_| $crate::client::Error::new($crate::client::ErrorKind::Invalid, "the value is not UTF-8 text"))
        }

        /// The value parsed (`i64`, `f64`, ...); an error if it does not parse.
        pub async fn get_parsed<T: std::str::FromStr>(&self, key: impl AsRef<[u8]>) -> Result<Option<T>, $crate::client::Error> {
            let Some(text) = self.get_string(key).await? else { return Ok(None) };
            text.parse().map(Some).map_err(|_| {
                $crate::client::Error::new(
                    $crate::client::ErrorKind::Invalid,
                    format!("the value '{text}' does not parse as the type asked for"),
                )
            })
        }

        /// The value converted to `T` (a number, text, bytes; see [`FromValue`]($crate::client::FromValue)).
        pub async fn get_as<T: $crate::client::FromValue>(&self, key: impl AsRef<[u8]>) -> Result<Option<T>, $crate::client::Error> {
            let Some(bytes) = self.get(key).await? else { return Ok(None) };
            T::from_value($crate::client::Value::Bulk(bytes)).map(Some)
        }

        /// Stores a value: text, bytes, or a number as its decimal text (see [`ToArg`]($crate::client::ToArg)).
        pub async fn set(
            &self,
            key: impl AsRef<[u8]>,
            value: impl $crate::client::ToArg,
            ttl: impl Into<$crate::client::Ttl>,
        ) -> Result<(), $crate::client::Error> {
            let op = $crate::runtime::Op::Set((key.as_ref().to_vec(), value.to_arg(), ttl.into().millis()));
            self.run(op).await.map(drop)
        }

        /// The cached value, or `value` stored (atomically: of concurrent callers one value wins
        /// and all get it).
        pub async fn get_or_set(
            &self,
            key: impl AsRef<[u8]>,
            value: impl AsRef<[u8]>,
            ttl: impl Into<$crate::client::Ttl>,
        ) -> Result<::bytes::Bytes, $crate::client::Error> {
            use $crate::client::calls::Answer;
            let op = $crate::runtime::Op::GetOrSet((key.as_ref().to_vec(), value.as_ref().to_vec(), ttl.into().millis()));
            self.run(op).await?.bytes().map(Option::unwrap_or_default)
        }

        /// True only if every key existed (and was removed).
        pub async fn remove<K: AsRef<[u8]>>(&self, keys: impl IntoIterator<Item = K>) -> Result<bool, $crate::client::Error> {
            use $crate::client::calls::Answer;
            self.run($crate::runtime::Op::Remove($crate::client::owned(keys))).await?.flag()
        }

        /// Sets a new time to live ([`Ttl::Never`]($crate::client::Ttl::Never) removes expiry); false
        /// when the key does not exist.
        pub async fn update_timeout(&self, key: impl AsRef<[u8]>, ttl: impl Into<$crate::client::Ttl>) -> Result<bool, $crate::client::Error> {
            use $crate::client::calls::Answer;
            self.run($crate::runtime::Op::UpdateTimeout((key.as_ref().to_vec(), ttl.into().millis()))).await?.flag()
        }

        /// The values in the order of `keys`.
        pub async fn mget<K: AsRef<[u8]>>(
            &self,
            keys: impl IntoIterator<Item = K>,
        ) -> Result<Vec<Option<::bytes::Bytes>>, $crate::client::Error> {
            use $crate::client::calls::Answer;
            self.run($crate::runtime::Op::Mget($crate::client::owned(keys))).await?.list()
        }

        /// Stores every pair, without expiry (as MSET does).
        pub async fn mset<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: impl IntoIterator<Item = (K, V)>) -> Result<(), $crate::client::Error> {
            let pairs = pairs.into_iter().map(|(k, v)| (k.as_ref().to_vec(), v.as_ref().to_vec())).collect();
            self.run($crate::runtime::Op::Mset(pairs)).await.map(drop)
        }

        /// Adds `by` to the integer at `key` (0 when absent) and returns the new value.
        pub async fn incr(&self, key: impl AsRef<[u8]>, by: i64) -> Result<i64, $crate::client::Error> {
            use $crate::client::calls::Answer;
            self.run($crate::runtime::Op::Incr((key.as_ref().to_vec(), by))).await?.integer()
        }

        /// How many of the keys exist.
        pub async fn exists<K: AsRef<[u8]>>(&self, keys: impl IntoIterator<Item = K>) -> Result<u64, $crate::client::Error> {
            use $crate::client::calls::Answer;
            self.run($crate::runtime::Op::Exists($crate::client::owned(keys))).await?.integer().map(|n| n.max(0) as u64)
        }

        /// The value decoded from JSON.
        #[cfg(feature = "serde")]
        pub async fn get_json<T: serde::de::DeserializeOwned>(&self, key: impl AsRef<[u8]>) -> Result<Option<T>, $crate::client::Error> {
            let Some(bytes) = self.get(key).await? else { return Ok(None) };
            serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                $crate::client::Error::new($crate::client::ErrorKind::Invalid, format!("the value is not the JSON expected: {e}"))
            })
        }

        /// Stores the value as JSON.
        #[cfg(feature = "serde")]
        pub async fn set_json<T: serde::Serialize>(
            &self,
            key: impl AsRef<[u8]>,
            value: &T,
            ttl: impl Into<$crate::client::Ttl>,
        ) -> Result<(), $crate::client::Error> {
            let json = serde_json::to_vec(value).map_err(|e| {
                $crate::client::Error::new($crate::client::ErrorKind::Invalid, format!("the value cannot be written as JSON: {e}"))
            })?;
            self.set(key, json, ttl).await
        }
    };
}

pub(crate) use cache_calls;
