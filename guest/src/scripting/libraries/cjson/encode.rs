//! `cjson.encode`: a Lua value as JSON text. Tables whose keys are all whole numbers from 1 are
//! arrays (holes written as `null`, unless too sparse); other tables are objects, their keys in
//! the order Lua's `next` gives them; numbers are `%.14g` (or the configured precision).

use super::numbers::format_g;
use super::{Config, InvalidNumbers, NESTING_LIMIT, cannot_serialise};
use crate::scripting::libraries::Raise;
use crate::scripting::libraries::arguments::{as_number, c_int, type_name};
use mlua::{Table, Value};

pub fn encode(config: &Config, value: &Value) -> Result<Vec<u8>, Raise> {
    let mut encoder = Encoder { config, json: Vec::new() };
    encoder.value(value, 0)?;
    Ok(encoder.json)
}

struct Encoder<'a> {
    config: &'a Config,
    json: Vec<u8>,
}

impl Encoder<'_> {
    fn value(&mut self, value: &Value, depth: i32) -> Result<(), Raise> {
        match value {
            Value::String(text) => self.string(&text.as_bytes()),
            Value::Integer(_) | Value::Number(_) => self.number(as_number(value).unwrap_or_default())?,
            Value::Boolean(true) => self.json.extend_from_slice(b"true"),
            Value::Boolean(false) => self.json.extend_from_slice(b"false"),
            Value::Nil => self.json.extend_from_slice(b"null"),
            Value::LightUserData(pointer) if pointer.0.is_null() => self.json.extend_from_slice(b"null"),
            Value::Table(table) => self.table(table, depth + 1)?,
            other => return Err(cannot_serialise(type_name(Some(other)), "type not supported")),
        }
        Ok(())
    }

    fn table(&mut self, table: &Table, depth: i32) -> Result<(), Raise> {
        if depth > self.config.encode_max_depth.min(NESTING_LIMIT) {
            return Err(Raise::located(format!("Cannot serialise, excessive nesting ({depth})")));
        }
        match self.array_length(table)? {
            Some(length) if length > 0 => self.array(table, length, depth),
            _ => self.object(table, depth),
        }
    }

    /// The length of `table` as an array, or `None` when it is an object: a key that is not a
    /// whole number from 1, or (when allowed) too few elements for its largest index.
    fn array_length(&self, table: &Table) -> Result<Option<i32>, Raise> {
        let (mut largest, mut items) = (0i32, 0i32);
        for pair in table.pairs::<Value, Value>() {
            let (key, _) = pair?;
            match as_number(&key) {
                Some(index) if index != 0.0 && index.floor() == index && index >= 1.0 => {
                    if index > f64::from(largest) {
                        largest = c_int(index);
                    }
                    items += 1;
                }
                _ => return Ok(None),
            }
        }
        let config = self.config;
        if config.sparse_ratio > 0 && largest > items.wrapping_mul(config.sparse_ratio) && largest > config.sparse_safe {
            if !config.sparse_convert {
                return Err(cannot_serialise("table", "excessively sparse array"));
            }
            return Ok(None);
        }
        Ok(Some(largest))
    }

    fn array(&mut self, table: &Table, length: i32, depth: i32) -> Result<(), Raise> {
        self.json.push(b'[');
        for index in 1..=length {
            if index > 1 {
                self.json.push(b',');
            }
            let element: Value = table.raw_get(index)?;
            self.value(&element, depth)?;
        }
        self.json.push(b']');
        Ok(())
    }

    fn object(&mut self, table: &Table, depth: i32) -> Result<(), Raise> {
        self.json.push(b'{');
        for (count, pair) in table.pairs::<Value, Value>().enumerate() {
            let (key, element) = pair?;
            if count > 0 {
                self.json.push(b',');
            }
            match &key {
                Value::String(text) => {
                    self.string(&text.as_bytes());
                    self.json.push(b':');
                }
                Value::Integer(_) | Value::Number(_) => {
                    self.json.push(b'"');
                    self.number(as_number(&key).unwrap_or_default())?;
                    self.json.extend_from_slice(b"\":");
                }
                other => return Err(cannot_serialise(type_name(Some(other)), "table key must be a number or string")),
            }
            self.value(&element, depth)?;
        }
        self.json.push(b'}');
        Ok(())
    }

    fn number(&mut self, number: f64) -> Result<(), Raise> {
        if !number.is_finite() {
            match self.config.encode_invalid_numbers {
                InvalidNumbers::Refuse => return Err(cannot_serialise("number", "must not be NaN or Inf")),
                InvalidNumbers::Null => {
                    self.json.extend_from_slice(b"null");
                    return Ok(());
                }
                InvalidNumbers::Write if number.is_nan() => {
                    self.json.extend_from_slice(b"nan");
                    return Ok(());
                }
                InvalidNumbers::Write => {}
            }
        }
        let precision = usize::try_from(self.config.number_precision).unwrap_or(14);
        self.json.extend_from_slice(format_g(number, precision).as_bytes());
        Ok(())
    }

    /// A string in quotes: `"`, `\` and `/` escaped, control characters and DEL as `\b \t \n
    /// \f \r` or `\u00XX`, all other bytes as they are.
    fn string(&mut self, text: &[u8]) {
        self.json.reserve(text.len() + 2);
        self.json.push(b'"');
        for &byte in text {
            match byte {
                b'"' => self.json.extend_from_slice(b"\\\""),
                b'\\' => self.json.extend_from_slice(b"\\\\"),
                b'/' => self.json.extend_from_slice(b"\\/"),
                b'\x08' => self.json.extend_from_slice(b"\\b"),
                b'\t' => self.json.extend_from_slice(b"\\t"),
                b'\n' => self.json.extend_from_slice(b"\\n"),
                b'\x0c' => self.json.extend_from_slice(b"\\f"),
                b'\r' => self.json.extend_from_slice(b"\\r"),
                0..=0x1f | 0x7f => self.json.extend_from_slice(format!("\\u{byte:04x}").as_bytes()),
                _ => self.json.push(byte),
            }
        }
        self.json.push(b'"');
    }
}
