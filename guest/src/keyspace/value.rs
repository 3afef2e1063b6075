//! What a key holds: a string or a collection. Collections sit behind a box and short strings are
//! kept in place (see [`StrValue`]), so an entry stays small whatever the type; commands on the
//! wrong type answer `WRONGTYPE` as Redis does.

use super::hash::Hash;
use super::list::List;
use super::set::Set;
use super::str_value::StrValue;
use super::zset::Zset;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(StrValue),
    Hash(Box<Hash>),
    Set(Box<Set>),
    List(Box<List>),
    Zset(Box<Zset>),
}

impl Value {
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Value::String(StrValue::from(bytes))
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::List(_) => "list",
            Value::Zset(_) => "zset",
        }
    }

    /// The bytes of a string value; `None` for other types (the command answers WRONGTYPE).
    pub fn as_string(&self) -> Option<&[u8]> {
        match self {
            Value::String(bytes) => Some(bytes.as_slice()),
            _ => None,
        }
    }

    /// Writes `bytes` over a string of the same length, where it is; false for any other value,
    /// which the caller replaces. Rewriting a value so frees and allocates nothing.
    pub fn overwrite_string(&mut self, bytes: &[u8]) -> bool {
        match self {
            Value::String(old) if old.len() == bytes.len() => {
                old.as_mut_slice().copy_from_slice(bytes);
                true
            }
            _ => false,
        }
    }

    /// The string value to change in place; `None` for other types.
    pub fn as_string_mut(&mut self) -> Option<&mut StrValue> {
        match self {
            Value::String(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// Bytes the value occupies, collections estimated from `samples` elements (0: all).
    pub fn memory_usage(&self, samples: usize) -> usize {
        match self {
            Value::String(bytes) => bytes.heap_size(),
            Value::Hash(hash) => hash.memory_usage(samples),
            Value::Set(set) => set.memory_usage(samples),
            Value::List(list) => list.memory_usage(),
            Value::Zset(zset) => zset.memory_usage(samples),
        }
    }

    /// How many blocks freeing the value releases: what decides whether it is freed lazily.
    pub fn free_effort(&self) -> usize {
        match self {
            Value::String(_) => 1,
            Value::Hash(hash) => hash.free_effort(),
            Value::Set(set) => set.free_effort(),
            Value::List(list) => list.free_effort(),
            Value::Zset(zset) => zset.free_effort(),
        }
    }

    /// The value's parts, each freed when the iterator passes it (see `lazy_free`).
    pub fn into_pieces(self) -> Box<dyn Iterator<Item = ()>> {
        match self {
            Value::String(_) => Box::new(std::iter::empty()),
            Value::Hash(hash) => hash.into_pieces(),
            Value::Set(set) => set.into_pieces(),
            Value::List(list) => list.into_pieces(),
            Value::Zset(zset) => zset.into_pieces(),
        }
    }

    /// The value's bytes, for commands that work on strings; empty for other types.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Value::String(bytes) => bytes.as_slice(),
            _ => &[],
        }
    }
}

/// Hash values (HSET and friends).
impl Value {
    /// The hash a key holds; `None` for other types.
    pub fn as_hash(&self) -> Option<&Hash> {
        match self {
            Value::Hash(hash) => Some(hash),
            _ => None,
        }
    }

    pub fn as_hash_mut(&mut self) -> Option<&mut Hash> {
        match self {
            Value::Hash(hash) => Some(hash),
            _ => None,
        }
    }
}

/// Set values (SADD and friends).
impl Value {
    /// The set a key holds; `None` for other types (the command answers WRONGTYPE).
    pub fn as_set(&self) -> Option<&Set> {
        match self {
            Value::Set(set) => Some(set),
            _ => None,
        }
    }

    pub fn as_set_mut(&mut self) -> Option<&mut Set> {
        match self {
            Value::Set(set) => Some(set),
            _ => None,
        }
    }
}

/// List values (LPUSH and friends).
impl Value {
    /// The list a key holds; `None` for other types (the command answers WRONGTYPE).
    pub fn as_list(&self) -> Option<&List> {
        match self {
            Value::List(list) => Some(list),
            _ => None,
        }
    }

    pub fn as_list_mut(&mut self) -> Option<&mut List> {
        match self {
            Value::List(list) => Some(list),
            _ => None,
        }
    }
}

/// Sorted set values (ZADD and friends).
impl Value {
    /// The sorted set a key holds; `None` for other types (the command answers WRONGTYPE).
    pub fn as_zset(&self) -> Option<&Zset> {
        match self {
            Value::Zset(zset) => Some(zset),
            _ => None,
        }
    }

    pub fn as_zset_mut(&mut self) -> Option<&mut Zset> {
        match self {
            Value::Zset(zset) => Some(zset),
            _ => None,
        }
    }
}

/// The size of `len` items estimated as Redis's MEMORY USAGE does: `size` of the first `samples`
/// items (all of them for 0), averaged and scaled up to all `len`.
pub fn sampled_size<T>(items: impl Iterator<Item = T>, len: usize, samples: usize, size: impl Fn(T) -> usize) -> usize {
    let taken = if samples == 0 { len } else { samples.min(len) };
    let sum: usize = items.take(taken).map(size).sum();
    sum.checked_div(taken).unwrap_or(0) * len
}
