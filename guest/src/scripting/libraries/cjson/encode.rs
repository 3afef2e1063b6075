//! `cjson.encode`: a Lua value as JSON text. Tables whose keys are all whole numbers from 1 are
//! arrays (holes written as `null`, unless too sparse); other tables are objects, their keys in
//! the order Lua's `next` gives them; numbers are `%.14g` (or the configured precision).

use super::numbers::format_g;
use super::{Config, InvalidNumbers, cannot_serialise};
use crate::scripting::libraries::NESTING_LIMIT;
use crate::scripting::libraries::{Raise, check_output_size};
use crate::scripting::libraries::arguments::{as_number, c_int, type_name};
use mlua::{Function, Table, Value};

/// `value` as JSON. Nested tables are followed with a stack of open ones rather than recursion,
/// so deep data costs no native stack; `next` is Lua's own, which walks an object's keys.
pub fn encode(config: &Config, next: &Function, value: &Value) -> Result<Vec<u8>, Raise> {
    let mut encoder = Encoder { config, json: Vec::new() };
    let mut open: Vec<Open> = Vec::new();
    let mut pending = Some(value.clone());
    loop {
        if let Some(value) = pending.take()
            && let Some(table) = encoder.value(&value)?
        {
            open.push(encoder.open(table, open.len() as i32 + 1)?);
        }
        check_output_size(&encoder.json)?;
        let Some(innermost) = open.last_mut() else { return Ok(encoder.json) };
        pending = match innermost {
            Open::Array { table, length, next } if *next <= *length => {
                if *next > 1 {
                    encoder.json.push(b',');
                }
                *next += 1;
                Some(table.raw_get(*next - 1)?)
            }
            Open::Array { .. } => {
                encoder.json.push(b']');
                open.pop();
                None
            }
            Open::Object { table, key, first } => {
                let (following, element): (Value, Value) = next.call((table.clone(), key.clone()))?;
                if following.is_nil() {
                    encoder.json.push(b'}');
                    open.pop();
                    None
                } else {
                    if !*first {
                        encoder.json.push(b',');
                    }
                    *first = false;
                    encoder.key(&following)?;
                    *key = following;
                    Some(element)
                }
            }
        };
    }
}

/// A table being written: an array and the next index, or an object and the last key.
enum Open {
    Array { table: Table, length: i32, next: i32 },
    Object { table: Table, key: Value, first: bool },
}

struct Encoder<'a> {
    config: &'a Config,
    json: Vec<u8>,
}

impl Encoder<'_> {
    /// Writes a value that is not a table; a table is returned, to be opened.
    fn value(&mut self, value: &Value) -> Result<Option<Table>, Raise> {
        match value {
            Value::String(text) => self.string(&text.as_bytes())?,
            Value::Integer(_) | Value::Number(_) => self.number(as_number(value).unwrap_or_default())?,
            Value::Boolean(true) => self.json.extend_from_slice(b"true"),
            Value::Boolean(false) => self.json.extend_from_slice(b"false"),
            Value::Nil => self.json.extend_from_slice(b"null"),
            Value::LightUserData(pointer) if pointer.0.is_null() => self.json.extend_from_slice(b"null"),
            Value::Table(table) => return Ok(Some(table.clone())),
            other => return Err(cannot_serialise(type_name(Some(other)), "type not supported")),
        }
        Ok(None)
    }

    /// Starts writing `table`, `depth` tables deep, as an array or an object.
    fn open(&mut self, table: Table, depth: i32) -> Result<Open, Raise> {
        if depth > self.config.encode_max_depth.min(NESTING_LIMIT) {
            return Err(Raise::located(format!("Cannot serialise, excessive nesting ({depth})")));
        }
        match self.array_length(&table)? {
            Some(length) if length > 0 => {
                self.json.push(b'[');
                Ok(Open::Array { table, length, next: 1 })
            }
            _ => {
                self.json.push(b'{');
                Ok(Open::Object { table, key: Value::Nil, first: true })
            }
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

    /// An object's key and its colon: strings as they are, numbers in quotes.
    fn key(&mut self, key: &Value) -> Result<(), Raise> {
        match key {
            Value::String(text) => {
                self.string(&text.as_bytes())?;
                self.json.push(b':');
            }
            Value::Integer(_) | Value::Number(_) => {
                self.json.push(b'"');
                self.number(as_number(key).unwrap_or_default())?;
                self.json.extend_from_slice(b"\":");
            }
            other => return Err(cannot_serialise(type_name(Some(other)), "table key must be a number or string")),
        }
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
    /// \f \r` or `\u00XX`, all other bytes as they are. Escapes make the text up to six times
    /// longer, so its size is checked as they are written.
    fn string(&mut self, text: &[u8]) -> Result<(), Raise> {
        self.json.reserve(text.len() + 2);
        self.json.push(b'"');
        for &byte in text {
            let escaped: &[u8] = match byte {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'/' => b"\\/",
                b'\x08' => b"\\b",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                b'\x0c' => b"\\f",
                b'\r' => b"\\r",
                0..=0x1f | 0x7f => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.json.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]);
                    check_output_size(&self.json)?;
                    continue;
                }
                _ => {
                    self.json.push(byte);
                    continue;
                }
            };
            self.json.extend_from_slice(escaped);
            check_output_size(&self.json)?;
        }
        self.json.push(b'"');
        Ok(())
    }
}
