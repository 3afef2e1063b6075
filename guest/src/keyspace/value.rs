//! What a key holds: a string or a collection. Collections sit behind a box so an entry stays
//! small; commands on the wrong type answer `WRONGTYPE` as Redis does.

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(Vec<u8>),
    Hash(Box<super::hash::Hash>),
}

impl Value {
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Value::String(bytes.to_vec())
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Hash(_) => "hash",
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

    /// The value's bytes, for commands that work on strings.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Value::String(bytes) => bytes,
            _ => &[],
        }
    }

}

impl Value {
    /// The hash a key holds; `None` for other types.
    pub fn as_hash(&self) -> Option<&super::hash::Hash> {
        match self {
            Value::Hash(hash) => Some(hash),
            _ => None,
        }
    }

    pub fn as_hash_mut(&mut self) -> Option<&mut super::hash::Hash> {
        match self {
            Value::Hash(hash) => Some(hash),
            _ => None,
        }
    }
}
