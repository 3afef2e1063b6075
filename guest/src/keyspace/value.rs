//! What a key holds: a string, or a collection (boxed, so an entry stays small whatever the type).
//! Commands answer `WRONGTYPE` for a value of another type than theirs, as Redis does.

use super::set::Set;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(Vec<u8>),
    Set(Box<Set>),
}

impl Value {
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Value::String(bytes.to_vec())
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Set(_) => "set",
        }
    }

    /// The bytes of a string value; `None` for other types (the command answers WRONGTYPE).
    pub fn as_string(&self) -> Option<&[u8]> {
        match self {
            Value::String(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The string value to change in place; `None` for other types.
    pub fn as_string_mut(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            Value::String(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The value's bytes, for commands that work on strings; empty for other types.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Value::String(bytes) => bytes,
            _ => &[],
        }
    }

    /// Heap bytes the value holds, for memory accounting.
    pub fn heap_size(&self) -> usize {
        match self {
            Value::String(bytes) => bytes.capacity(),
            Value::Set(set) => set.heap_size(),
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
