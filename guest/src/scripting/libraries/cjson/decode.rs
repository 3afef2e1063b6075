//! `cjson.decode`: JSON text as Lua values — objects and arrays as tables, `null` as `cjson.null`
//! — with lua-cjson's tokens and error texts (`Expected value but found invalid token at
//! character 1`). Nesting is followed with a stack of open tables rather than recursion, so deep
//! input costs no native stack.

use super::numbers::strtod;
use super::Config;
use crate::scripting::libraries::NESTING_LIMIT;
use crate::scripting::libraries::Raise;
use mlua::{LightUserData, Lua, LuaString, Table, Value};

pub fn decode(lua: &Lua, config: &Config, json: &[u8]) -> Result<Value, Raise> {
    if json.len() >= 2 && (json[0] == 0 || json[1] == 0) {
        return Err(Raise::located("JSON parser does not support UTF-16 or UTF-32"));
    }
    let mut parser = Parser { lua, json, position: 0, invalid_numbers: config.decode_invalid_numbers, open: Vec::new(), max_depth: config.decode_max_depth.min(NESTING_LIMIT) };
    let first = parser.token()?;
    let value = parser.document(first)?;
    let last = parser.token()?;
    if !matches!(last.kind, Kind::End) {
        return Err(unexpected("the end", &last));
    }
    Ok(value)
}

/// A token: what it is and where (0-based) it starts, or where its error is.
struct Token {
    kind: Kind,
    at: usize,
}

enum Kind {
    ObjectBegin,
    ObjectEnd,
    ArrayBegin,
    ArrayEnd,
    String(Vec<u8>),
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Kind {
    /// The name lua-cjson's errors give the token.
    fn name(&self) -> &'static str {
        match self {
            Kind::ObjectBegin => "T_OBJ_BEGIN",
            Kind::ObjectEnd => "T_OBJ_END",
            Kind::ArrayBegin => "T_ARR_BEGIN",
            Kind::ArrayEnd => "T_ARR_END",
            Kind::String(_) => "T_STRING",
            Kind::Number(_) => "T_NUMBER",
            Kind::Boolean(_) => "T_BOOLEAN",
            Kind::Null => "T_NULL",
            Kind::Colon => "T_COLON",
            Kind::Comma => "T_COMMA",
            Kind::End => "T_END",
            Kind::Error(message) => message,
        }
    }
}

fn unexpected(expected: &str, token: &Token) -> Raise {
    Raise::located(format!("Expected {expected} but found {} at character {}", token.kind.name(), token.at + 1))
}

/// What a token started: a whole value, or a table whose first element begins with the token
/// given.
enum Started {
    Value(Value),
    Opened(Token),
}

/// A table being filled.
enum Open {
    Array { table: Table, next: i64 },
    Object { table: Table, key: LuaString },
}

struct Parser<'a> {
    lua: &'a Lua,
    json: &'a [u8],
    position: usize,
    invalid_numbers: bool,
    open: Vec<Open>,
    max_depth: i32,
}

impl Parser<'_> {
    /// The byte at `index`; the text ends at its end or at a zero byte, as a C string does.
    fn byte(&self, index: usize) -> u8 {
        self.json.get(index).copied().unwrap_or(0)
    }

    /// A whole JSON value starting with `token`, however deeply nested.
    fn document(&mut self, mut token: Token) -> Result<Value, Raise> {
        loop {
            let mut value = match self.start(token)? {
                Started::Value(value) => value,
                Started::Opened(first) => {
                    token = first;
                    continue;
                }
            };
            // A value is complete: it goes into the table it belongs to, which may complete too.
            loop {
                let Some(open) = self.open.last_mut() else { return Ok(value) };
                let is_array = match open {
                    Open::Array { table, next } => {
                        table.raw_set(*next, value)?;
                        *next += 1;
                        true
                    }
                    Open::Object { table, key } => {
                        table.raw_set(key.clone(), value)?;
                        false
                    }
                };
                let after = self.token()?;
                match (&after.kind, is_array) {
                    (Kind::ArrayEnd, true) | (Kind::ObjectEnd, false) => value = self.close(),
                    (Kind::Comma, true) => {
                        token = self.token()?;
                        break;
                    }
                    (Kind::Comma, false) => {
                        let next_key = self.token()?;
                        let next_key = self.key(next_key)?;
                        if let Some(Open::Object { key, .. }) = self.open.last_mut() {
                            *key = next_key;
                        }
                        token = self.token()?;
                        break;
                    }
                    (_, true) => return Err(unexpected("comma or array end", &after)),
                    (_, false) => return Err(unexpected("comma or object end", &after)),
                }
            }
        }
    }

    /// A value that `token` is, or the table it opens (empty ones are values at once).
    fn start(&mut self, token: Token) -> Result<Started, Raise> {
        let value = match token.kind {
            Kind::String(text) => Value::String(self.lua.create_string(text)?),
            Kind::Number(number) => Value::Number(number),
            Kind::Boolean(value) => Value::Boolean(value),
            Kind::Null => Value::LightUserData(LightUserData(std::ptr::null_mut())),
            Kind::ArrayBegin => {
                let table = self.descend()?;
                let first = self.token()?;
                if matches!(first.kind, Kind::ArrayEnd) {
                    return Ok(Started::Value(Value::Table(table)));
                }
                self.open.push(Open::Array { table, next: 1 });
                return Ok(Started::Opened(first));
            }
            Kind::ObjectBegin => {
                let table = self.descend()?;
                let first = self.token()?;
                if matches!(first.kind, Kind::ObjectEnd) {
                    return Ok(Started::Value(Value::Table(table)));
                }
                let key = self.key(first)?;
                self.open.push(Open::Object { table, key });
                return Ok(Started::Opened(self.token()?));
            }
            _ => return Err(unexpected("value", &token)),
        };
        Ok(Started::Value(value))
    }

    /// An object's key and the colon after it.
    fn key(&mut self, token: Token) -> Result<LuaString, Raise> {
        let Kind::String(text) = token.kind else { return Err(unexpected("object key string", &token)) };
        let key = self.lua.create_string(text)?;
        let colon = self.token()?;
        if !matches!(colon.kind, Kind::Colon) {
            return Err(unexpected("colon", &colon));
        }
        Ok(key)
    }

    /// A new table, one level deeper.
    fn descend(&mut self) -> Result<Table, Raise> {
        let depth = self.open.len() as i32 + 1;
        if depth > self.max_depth {
            return Err(Raise::located(format!("Found too many nested data structures ({depth}) at character {}", self.position)));
        }
        Ok(self.lua.create_table()?)
    }

    /// Closes the innermost table and returns it as a completed value.
    fn close(&mut self) -> Value {
        match self.open.pop() {
            Some(Open::Array { table, .. } | Open::Object { table, .. }) => Value::Table(table),
            None => Value::Nil,
        }
    }

    fn token(&mut self) -> Result<Token, Raise> {
        while matches!(self.byte(self.position), b' ' | b'\t' | b'\n' | b'\r') {
            self.position += 1;
        }
        let at = self.position;
        let single = |kind| Token { kind, at };
        let byte = self.byte(at);
        let kind = match byte {
            0 => return Ok(single(Kind::End)),
            b'{' => Kind::ObjectBegin,
            b'}' => Kind::ObjectEnd,
            b'[' => Kind::ArrayBegin,
            b']' => Kind::ArrayEnd,
            b':' => Kind::Colon,
            b',' => Kind::Comma,
            b'"' => return Ok(self.string()),
            b'-' | b'0'..=b'9' => {
                if !self.invalid_numbers && self.is_invalid_number() {
                    return Ok(Token { kind: Kind::Error("invalid number"), at });
                }
                return Ok(self.number());
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => return Ok(self.word()),
            _ => return Ok(Token { kind: Kind::Error("invalid token"), at }),
        };
        self.position += 1;
        Ok(single(kind))
    }

    /// `true`, `false`, `null`, or (when invalid numbers are allowed) `inf`, `nan`, `+1`...
    fn word(&mut self) -> Token {
        let at = self.position;
        let rest = &self.json[at.min(self.json.len())..];
        let rest = &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())];
        for (word, kind, length) in [(&b"true"[..], Kind::Boolean(true), 4), (b"false", Kind::Boolean(false), 5), (b"null", Kind::Null, 4)] {
            if rest.starts_with(word) {
                self.position += length;
                return Token { kind, at };
            }
        }
        if self.invalid_numbers && self.is_invalid_number() {
            return self.number();
        }
        Token { kind: Kind::Error("invalid token"), at }
    }

    /// What lua-cjson calls invalid numbers: a `+` sign, hexadecimal, leading zeros, `inf`,
    /// `nan`.
    fn is_invalid_number(&self) -> bool {
        let mut at = self.position;
        if self.byte(at) == b'+' {
            return true;
        }
        if self.byte(at) == b'-' {
            at += 1;
        }
        let first = self.byte(at);
        if first == b'0' {
            let second = self.byte(at + 1);
            return second | 0x20 == b'x' || second.is_ascii_digit();
        }
        // C compares a signed char here: bytes from 0x80 count as ordinary numbers.
        if first <= b'9' || first >= 0x80 {
            return false;
        }
        let rest = &self.json[at.min(self.json.len())..];
        rest.len() >= 3 && (rest[..3].eq_ignore_ascii_case(b"inf") || rest[..3].eq_ignore_ascii_case(b"nan"))
    }

    fn number(&mut self) -> Token {
        let at = self.position;
        let rest = &self.json[at.min(self.json.len())..];
        let rest = &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())];
        match strtod(rest) {
            Some((number, length)) => {
                self.position += length;
                Token { kind: Kind::Number(number), at }
            }
            None => Token { kind: Kind::Error("invalid number"), at },
        }
    }

    /// A string token; its errors are placed at the byte that caused them.
    fn string(&mut self) -> Token {
        let at = self.position;
        self.position += 1;
        let mut text = Vec::new();
        loop {
            let error = |position: usize, message| Token { kind: Kind::Error(message), at: position };
            match self.byte(self.position) {
                b'"' => break,
                0 => return error(self.position, "unexpected end of string"),
                b'\\' => {
                    let escaped = match self.byte(self.position + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => b'\x08',
                        b't' => b'\t',
                        b'n' => b'\n',
                        b'f' => b'\x0c',
                        b'r' => b'\r',
                        b'u' => match self.unicode_escape(&mut text) {
                            Some(length) => {
                                self.position += length;
                                continue;
                            }
                            None => return error(self.position, "invalid unicode escape code"),
                        },
                        _ => return error(self.position, "invalid escape code"),
                    };
                    text.push(escaped);
                    self.position += 2;
                }
                byte => {
                    text.push(byte);
                    self.position += 1;
                }
            }
        }
        self.position += 1;
        Token { kind: Kind::String(text), at }
    }

    /// `\uXXXX` (or a surrogate pair of them) at the current position, appended as UTF-8;
    /// returns how many bytes the escape took.
    fn unicode_escape(&self, text: &mut Vec<u8>) -> Option<usize> {
        let mut codepoint = self.hex4(self.position + 2)?;
        let mut length = 6;
        if codepoint & 0xF800 == 0xD800 {
            if codepoint & 0x400 != 0 || self.byte(self.position + 6) != b'\\' || self.byte(self.position + 7) != b'u' {
                return None;
            }
            let low = self.hex4(self.position + 8)?;
            if low & 0xFC00 != 0xDC00 {
                return None;
            }
            codepoint = (((codepoint & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            length = 12;
        }
        let character = char::from_u32(codepoint)?;
        text.extend_from_slice(character.encode_utf8(&mut [0; 4]).as_bytes());
        Some(length)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        (0..4).try_fold(0, |value, i| Some((value << 4) | char::from(self.byte(at + i)).to_digit(16)?))
    }
}
