//! String commands.

use super::{Command, Ctx};
use crate::keyspace::Value;

pub const COMMANDS: &[Command] = &[
    Command::new("get", 2, get).flags(&["readonly", "fast"]).keys(1, 1, 1).group("string"),
    Command::new("set", -3, set).flags(&["write", "denyoom"]).keys(1, 1, 1).group("string"),
];

fn get(ctx: &mut Ctx, args: &[&[u8]]) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    match ctx.keyspace.get(db, args[1], now) {
        Some(entry) => ctx.reply.bulk(entry.value.as_bytes()),
        None => ctx.reply.null(),
    }
}

fn set(ctx: &mut Ctx, args: &[&[u8]]) {
    let db = ctx.db();
    ctx.keyspace.set(db, args[1], Value::from_bytes(args[2]), None);
    ctx.reply.ok();
}
