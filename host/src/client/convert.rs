//! Typed values: what a Rust value becomes as a command argument ([`ToArg`]), and what a reply
//! becomes as a Rust value ([`FromValue`]), as the `redis` crate's ToRedisArgs and FromRedisValue
//! do. Numbers travel as their decimal text, as Redis stores them.

use super::{Error, ErrorKind, Value};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// A value that can be sent as one argument.
pub trait ToArg {
    fn to_arg(&self) -> Vec<u8>;
}

macro_rules! bytes_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn to_arg(&self) -> Vec<u8> {
                AsRef::<[u8]>::as_ref(self).to_vec()
            }
        }
    )*};
}

bytes_arg!(str, String, [u8], Vec<u8>, Bytes);

impl<const N: usize> ToArg for [u8; N] {
    fn to_arg(&self) -> Vec<u8> {
        self.to_vec()
    }
}

impl<T: ToArg + ?Sized> ToArg for &T {
    fn to_arg(&self) -> Vec<u8> {
        (**self).to_arg()
    }
}

macro_rules! number_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn to_arg(&self) -> Vec<u8> {
                self.to_string().into_bytes()
            }
        }
    )*};
}

number_arg!(i8, i16, i32, i64, i128, isize, u16, u32, u64, u128, usize);

/// Floats as Redis reads them back: `inf` and `-inf` for the infinities.
macro_rules! float_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn to_arg(&self) -> Vec<u8> {
                match *self {
                    x if x == <$t>::INFINITY => b"inf".to_vec(),
                    x if x == <$t>::NEG_INFINITY => b"-inf".to_vec(),
                    x => x.to_string().into_bytes(),
                }
            }
        }
    )*};
}

float_arg!(f32, f64);

/// `1` and `0`, as Redis's boolean-ish replies and flags.
impl ToArg for bool {
    fn to_arg(&self) -> Vec<u8> {
        if *self { b"1".to_vec() } else { b"0".to_vec() }
    }
}

/// A Rust value made from a reply.
pub trait FromValue: Sized {
    fn from_value(value: Value) -> Result<Self, Error>;
}

fn mismatch(value: &Value, wanted: &str) -> Error {
    Error::new(ErrorKind::Invalid, format!("the reply {value:?} is not {wanted}"))
}

impl FromValue for Value {
    fn from_value(value: Value) -> Result<Self, Error> {
        Ok(value)
    }
}

impl FromValue for Bytes {
    fn from_value(value: Value) -> Result<Self, Error> {
        match value {
            Value::Bulk(b) | Value::Verbatim { text: b, .. } => Ok(b),
            Value::Status(s) | Value::BigNumber(s) => Ok(Bytes::from(s)),
            Value::Int(n) => Ok(Bytes::from(n.to_string())),
            Value::Double(d) => Ok(Bytes::from(d.to_string())),
            other => Err(mismatch(&other, "a string")),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: Value) -> Result<Self, Error> {
        Bytes::from_value(value).map(|b| b.to_vec())
    }
}

impl FromValue for String {
    fn from_value(value: Value) -> Result<Self, Error> {
        let bytes = Bytes::from_value(value)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::new(ErrorKind::Invalid, "the value is not UTF-8 text"))
    }
}

macro_rules! number_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: Value) -> Result<Self, Error> {
                match value {
                    Value::Int(n) => <$t>::try_from(n).map_err(|_| mismatch(&value, stringify!($t))),
                    Value::Bool(b) => Ok(<$t>::from(b)),
                    other => {
                        let text = String::from_value(other.clone()).map_err(|_| mismatch(&other, stringify!($t)))?;
                        text.trim().parse().map_err(|_| mismatch(&other, stringify!($t)))
                    }
                }
            }
        }
    )*};
}

// Not u8: `Vec<u8>` is bytes, not a list of numbers.
number_value!(i8, i16, i32, i64, i128, isize, u16, u32, u64, u128, usize);

macro_rules! float_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: Value) -> Result<Self, Error> {
                match value {
                    Value::Double(d) => Ok(d as $t),
                    Value::Int(n) => Ok(n as $t),
                    other => {
                        let text = String::from_value(other.clone()).map_err(|_| mismatch(&other, stringify!($t)))?;
                        match text.trim() {
                            "inf" | "+inf" => Ok(<$t>::INFINITY),
                            "-inf" => Ok(<$t>::NEG_INFINITY),
                            number => number.parse().map_err(|_| mismatch(&other, stringify!($t))),
                        }
                    }
                }
            }
        }
    )*};
}

float_value!(f32, f64);

impl FromValue for bool {
    fn from_value(value: Value) -> Result<Self, Error> {
        match value {
            Value::Bool(b) => Ok(b),
            Value::Int(n) => Ok(n != 0),
            Value::Status(ref s) if s == "OK" => Ok(true),
            other => match String::from_value(other.clone()).as_deref() {
                Ok("1") => Ok(true),
                Ok("0") => Ok(false),
                _ => Err(mismatch(&other, "a boolean")),
            },
        }
    }
}

/// Nil is `None`.
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Self, Error> {
        match value {
            Value::Nil => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(value: Value) -> Result<Self, Error> {
        match value {
            Value::Array(items) | Value::Set(items) | Value::Push(items) => items.into_iter().map(T::from_value).collect(),
            Value::Nil => Ok(Vec::new()),
            other => Err(mismatch(&other, "a list")),
        }
    }
}

/// A map reply (RESP3), or a flat list of pairs (RESP2's HGETALL).
fn pairs(value: Value) -> Result<Vec<(Value, Value)>, Error> {
    match value {
        Value::Map(pairs) => Ok(pairs),
        Value::Array(items) if items.len() % 2 == 0 => {
            let mut items = items.into_iter();
            Ok(std::iter::from_fn(|| Some((items.next()?, items.next()?))).collect())
        }
        Value::Nil => Ok(Vec::new()),
        other => Err(mismatch(&other, "a map")),
    }
}

impl<K: FromValue + Eq + Hash, V: FromValue> FromValue for HashMap<K, V> {
    fn from_value(value: Value) -> Result<Self, Error> {
        pairs(value)?.into_iter().map(|(k, v)| Ok((K::from_value(k)?, V::from_value(v)?))).collect()
    }
}

impl<K: FromValue + Ord, V: FromValue> FromValue for BTreeMap<K, V> {
    fn from_value(value: Value) -> Result<Self, Error> {
        pairs(value)?.into_iter().map(|(k, v)| Ok((K::from_value(k)?, V::from_value(v)?))).collect()
    }
}

impl<A: FromValue, B: FromValue> FromValue for (A, B) {
    fn from_value(value: Value) -> Result<Self, Error> {
        match value {
            Value::Array(items) => match <[Value; 2]>::try_from(items) {
                Ok([a, b]) => Ok((A::from_value(a)?, B::from_value(b)?)),
                Err(items) => Err(mismatch(&Value::Array(items), "a pair")),
            },
            other => Err(mismatch(&other, "a pair")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_text_as_redis_reads_them() {
        assert_eq!(42i64.to_arg(), b"42");
        assert_eq!((-1.5f64).to_arg(), b"-1.5");
        assert_eq!(f64::INFINITY.to_arg(), b"inf");
        assert_eq!(true.to_arg(), b"1");
        assert_eq!("text".to_arg(), b"text");
        assert_eq!(Bytes::from("b").to_arg(), b"b");
    }

    #[test]
    fn replies_become_rust_values() {
        let bulk = |s: &str| Value::Bulk(Bytes::from(s.to_string()));
        assert_eq!(i64::from_value(bulk("17")).unwrap(), 17);
        assert_eq!(u16::from_value(Value::Int(70000)).unwrap_err().kind(), ErrorKind::Invalid);
        assert_eq!(f64::from_value(bulk("-inf")).unwrap(), f64::NEG_INFINITY);
        assert_eq!(Option::<String>::from_value(Value::Nil).unwrap(), None);
        assert_eq!(Vec::<i64>::from_value(Value::Array(vec![Value::Int(1), bulk("2")])).unwrap(), vec![1, 2]);
        let hash = Value::Array(vec![bulk("f"), bulk("1"), bulk("g"), bulk("2")]);
        let map = BTreeMap::<String, i64>::from_value(hash).unwrap();
        assert_eq!(map.into_iter().collect::<Vec<_>>(), vec![("f".into(), 1), ("g".into(), 2)]);
        assert!(bool::from_value(Value::Status("OK".into())).unwrap());
        assert_eq!(i64::from_value(bulk("x")).unwrap_err().message(), "the reply Bulk(b\"x\") is not i64");
    }
}
