//! The value a script returns becomes the client's reply, by the rules Redis documents for
//! scripts. (The other way, a command's reply to a Lua value, is in calls.rs.)

use crate::resp::Reply;
use mlua::{Table, Value};

/// Tables nested deeper than this (a table holding itself, say) end in an error reply, as Redis's
/// conversion does when Lua's stack is exhausted.
const MAX_DEPTH: usize = 1000;

/// Writes the value a script returned as a reply for a client speaking RESP3 when `resp3`; as in
/// Redis, booleans follow the script's protocol (`redis.setresp`), everything else the client's.
pub fn write_reply(reply: &mut Reply, value: &Value, resp3: bool, script_resp3: bool) {
    write_value(reply, value, Protocols { client: resp3, script: script_resp3 }, 0);
}

#[derive(Clone, Copy)]
struct Protocols {
    /// The client speaks RESP3.
    client: bool,
    /// The script asked for RESP3 (`redis.setresp(3)`).
    script: bool,
}

fn write_value(reply: &mut Reply, value: &Value, resp3: Protocols, depth: usize) {
    match value {
        Value::String(s) => reply.bulk(&s.as_bytes()),
        Value::Boolean(b) if resp3.script && resp3.client => reply.raw(if *b { b"#t\r\n" } else { b"#f\r\n" }),
        Value::Boolean(b) if resp3.script => reply.integer(i64::from(*b)),
        Value::Boolean(true) => reply.integer(1),
        Value::Integer(n) => reply.integer(i64::from(*n)),
        // C's (long long) cast of a Lua number on x86-64: the fraction is dropped; NaN and what
        // does not fit give the least integer.
        Value::Number(n) => reply.integer(super::libraries::c_long(*n)),
        Value::Table(table) if depth >= MAX_DEPTH => {
            let _ = table;
            reply.error("ERR reached lua stack limit");
        }
        Value::Table(table) => write_table(reply, table, resp3, depth),
        _ => reply.null(),
    }
}

/// A table: an error or status reply when it has a string `err` or `ok` field, a RESP3 type when
/// it has `double`, `big_number`, `verbatim_string`, `map` or `set`, else an array of its
/// elements from 1 up to the first nil.
fn write_table(reply: &mut Reply, table: &Table, resp3: Protocols, depth: usize) {
    if let Ok(Value::String(err)) = table.raw_get::<Value>("err") {
        reply.error_bytes(&err.as_bytes());
        return;
    }
    if let Ok(Value::String(ok)) = table.raw_get::<Value>("ok") {
        let text: Vec<u8> = ok.as_bytes().iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
        reply.raw(b"+");
        reply.raw(&text);
        reply.raw(b"\r\n");
        return;
    }
    if let Ok(Value::Number(_) | Value::Integer(_)) = table.raw_get::<Value>("double") {
        reply.double(table.raw_get::<f64>("double").unwrap_or_default());
        return;
    }
    if let Ok(Value::String(number)) = table.raw_get::<Value>("big_number") {
        write_big_number(reply, &number.as_bytes(), resp3.client);
        return;
    }
    if let Ok(Value::Table(verbatim)) = table.raw_get::<Value>("verbatim_string") {
        write_verbatim(reply, &verbatim, resp3.client);
        return;
    }
    if let Ok(Value::Table(map)) = table.raw_get::<Value>("map") {
        let pairs: Vec<(Value, Value)> = map.pairs::<Value, Value>().filter_map(Result::ok).collect();
        reply.map(pairs.len());
        for (key, value) in &pairs {
            write_value(reply, key, resp3, depth + 1);
            write_value(reply, value, resp3, depth + 1);
        }
        return;
    }
    if let Ok(Value::Table(set)) = table.raw_get::<Value>("set") {
        let members: Vec<Value> = set.pairs::<Value, Value>().filter_map(|pair| pair.ok().map(|(k, _)| k)).collect();
        reply.set(members.len());
        for member in &members {
            write_value(reply, member, resp3, depth + 1);
        }
        return;
    }
    let mut elements = Vec::new();
    while let Ok(value) = table.raw_get::<Value>(elements.len() + 1) {
        if value.is_nil() {
            break;
        }
        elements.push(value);
    }
    reply.array(elements.len());
    for element in &elements {
        write_value(reply, element, resp3, depth + 1);
    }
}

fn write_big_number(reply: &mut Reply, number: &[u8], resp3: bool) {
    if resp3 {
        let clean: Vec<u8> = number.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
        reply.raw(b"(");
        reply.raw(&clean);
        reply.raw(b"\r\n");
    } else {
        reply.bulk(number);
    }
}

fn write_verbatim(reply: &mut Reply, verbatim: &Table, resp3: bool) {
    let (Ok(Value::String(format)), Ok(Value::String(text))) = (verbatim.raw_get::<Value>("format"), verbatim.raw_get::<Value>("string")) else {
        reply.null();
        return;
    };
    let (format, text) = (format.as_bytes(), text.as_bytes());
    if resp3 && format.len() == 3 {
        let mut body = format.to_vec();
        body.push(b':');
        body.extend_from_slice(&text);
        reply.raw(format!("={}\r\n", body.len()).as_bytes());
        reply.raw(&body);
        reply.raw(b"\r\n");
    } else {
        reply.bulk(&text);
    }
}
