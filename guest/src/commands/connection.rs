//! Connection commands: PING, ECHO, QUIT, SELECT, HELLO, RESET.

use super::{Command, Ctx};

pub const COMMANDS: &[Command] = &[Command::new("ping", -1, ping).flags(&["fast"]).group("connection")];

fn ping(ctx: &mut Ctx, args: &[&[u8]]) {
    match args {
        [_] => ctx.reply.simple("PONG"),
        [_, message] => ctx.reply.bulk(message),
        _ => ctx.reply.error("ERR wrong number of arguments for 'ping' command"),
    }
}
