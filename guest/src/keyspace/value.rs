//! What a key holds. cachet stores strings; the type exists so that commands answer `WRONGTYPE`
//! the way Redis does once other types are added, and so TYPE has something to report.

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(Vec<u8>),
}

impl Value {
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Value::String(bytes.to_vec())
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
        }
    }

    /// The bytes of a string value; `None` for other types (the command answers WRONGTYPE).
    pub fn as_string(&self) -> Option<&[u8]> {
        match self {
            Value::String(bytes) => Some(bytes),
        }
    }

    /// The string value to change in place; `None` for other types.
    pub fn as_string_mut(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            Value::String(bytes) => Some(bytes),
        }
    }

    /// The value's bytes, for commands that work on strings.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Value::String(bytes) => bytes,
        }
    }
}
