//! ACL: users and their permissions (see [`crate::acl`]), and the check every command of a
//! restricted user passes before it runs or is queued.

use super::{Command, Ctx, Flag, int_arg, is};
use crate::acl::{self, Context, Denied, User, catalog, describe};

const ADMIN: &[Flag] = &[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale];
const PLAIN: &[Flag] = &[Flag::NoScript, Flag::Loading, Flag::Stale];

pub const COMMANDS: &[Command] = &[Command::new("acl", -2, super::subcommand_required)
    .group("server")
    .doc("A container for Access List Control commands.", "6.0.0", "Depends on subcommand.", "")
    .subcommands(&[
        Command::new("acl|cat", -2, cat).flags(PLAIN).group("server")
            .doc("Lists the ACL categories, or the commands inside a category.", "6.0.0", "O(1) since the categories and commands are a fixed set.", "[category]"),
        Command::new("acl|deluser", -3, deluser).flags(ADMIN).group("server")
            .doc("Deletes ACL users, and terminates their connections.", "6.0.0", "O(1) amortized time considering the typical user.", "username [username ...]"),
        Command::new("acl|dryrun", -4, dryrun).flags(ADMIN).group("server")
            .doc("Simulates the execution of a command by a user, without executing the command.", "7.0.0", "O(1).", "username command [arg [arg ...]]"),
        Command::new("acl|genpass", -2, genpass).flags(PLAIN).group("server")
            .doc("Generates a pseudorandom, secure password that can be used to identify ACL users.", "6.0.0", "O(1)", "[bits]"),
        Command::new("acl|getuser", 3, getuser).flags(ADMIN).group("server")
            .doc("Lists the ACL rules of a user.", "6.0.0", "O(N). Where N is the number of password, command and pattern rules that the user has.", "username"),
        Command::new("acl|help", 2, help).flags(&[Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns helpful text about the different subcommands.", "6.0.0", "O(1)", ""),
        Command::new("acl|list", 2, list).flags(ADMIN).group("server")
            .doc("Dumps the effective rules in ACL file format.", "6.0.0", "O(N). Where N is the number of configured users.", ""),
        Command::new("acl|load", 2, load).flags(ADMIN).group("server")
            .doc("Reloads the rules from the configured ACL file.", "6.0.0", "O(N). Where N is the number of configured users.", ""),
        Command::new("acl|log", -2, log).flags(ADMIN).group("server")
            .doc("Lists recent security events generated due to ACL rules.", "6.0.0", "O(N) with N being the number of entries shown.", "[count | RESET]"),
        Command::new("acl|save", 2, save).flags(ADMIN).group("server")
            .doc("Saves the effective ACL rules in the configured ACL file.", "6.0.0", "O(N). Where N is the number of configured users.", ""),
        Command::new("acl|setuser", -3, setuser).flags(ADMIN).group("server")
            .doc("Creates and modifies an ACL user and its rules.", "6.0.0", "O(N). Where N is the number of rules provided.", "username [rule [rule ...]]"),
        Command::new("acl|users", 2, users).flags(ADMIN).group("server")
            .doc("Lists all ACL users.", "6.0.0", "O(N). Where N is the number of configured users.", ""),
        Command::new("acl|whoami", 2, whoami).flags(PLAIN).group("server")
            .doc("Returns the authenticated username of the current connection.", "6.0.0", "O(1)", ""),
    ])];

/// Checks a command line of a restricted user, sent by the client or run by EXEC; when it may
/// not run, answers the refusal and returns true. Kept out of line: the dispatcher's only cost
/// for an unrestricted user is the flag it tests before calling this.
#[cold]
#[inline(never)]
pub(crate) fn refuses(ctx: &mut Ctx, command: &'static Command, args: &[&[u8]]) -> bool {
    if !ctx.session.in_exec {
        ctx.session.acl_command = command.name;
    }
    let context = context_of(ctx);
    let Err(reason) = check(ctx, command, args, context) else { return false };
    if ctx.session.in_exec {
        ctx.reply.error(&refusal_in_exec(reason));
    } else {
        super::refuse(ctx, &refusal(reason, command));
    }
    true
}

/// Checks a command of a restricted user (the caller has looked at `session.acl_limited`): on a
/// refusal it is logged, and the reason is returned.
pub(crate) fn check(ctx: &mut Ctx, command: &'static Command, args: &[&[u8]], context: Context) -> Result<(), Denied> {
    let Some(id) = catalog().id_of(command) else { return Ok(()) };
    let verdict = match ctx.acl.users.get(&ctx.session.user) {
        Some(user) => user.check(id, args),
        None => Err((Denied::Command, 0)),
    };
    let Err((reason, at)) = verdict else { return Ok(()) };
    let object = match reason {
        Denied::Command => command.name.as_bytes().to_vec(),
        _ => args.get(at).map(|a| a.to_vec()).unwrap_or_default(),
    };
    let username = ctx.session.user.clone();
    log_refusal(ctx, reason, context, object, username, ctx.session.acl_command);
    Err(reason)
}

/// The context a refusal of the current client's command is logged with.
pub(crate) fn context_of(ctx: &Ctx) -> Context {
    if ctx.session.transaction.is_some() || ctx.session.in_exec { Context::Multi } else { Context::TopLevel }
}

/// Adds an entry to ACL LOG, about the current client.
pub(crate) fn log_refusal(ctx: &mut Ctx, reason: Denied, context: Context, object: Vec<u8>, username: Vec<u8>, command: &str) {
    let mut client_info = super::client::describe(ctx, &*ctx.session, command);
    if client_info.ends_with('\n') {
        client_info.pop();
    }
    let entry = acl::log::Entry { count: 1, reason, context, object, username, time_ms: ctx.now.wall_ms, client_info };
    let max_len = usize::try_from(ctx.config.acllog_max_len).unwrap_or(usize::MAX);
    ctx.acl.log.add(entry, max_len);
}

/// The refusal a client hears, as redis-server 7.0 words it.
pub(crate) fn refusal(reason: Denied, command: &Command) -> String {
    match reason {
        Denied::Command => format!("NOPERM this user has no permissions to run the '{}' command", command.name),
        Denied::Key => "NOPERM this user has no permissions to access one of the keys used as arguments".into(),
        Denied::Channel | Denied::Auth => "NOPERM this user has no permissions to access one of the channels used as arguments".into(),
    }
}

/// The refusal of a queued command whose permission went away before EXEC.
pub(crate) fn refusal_in_exec(reason: Denied) -> String {
    let why = match reason {
        Denied::Command => "no permission to execute the command or subcommand",
        Denied::Key => "no permission to touch the specified keys",
        Denied::Channel | Denied::Auth => "no permission to access one of the channels used as arguments",
    };
    format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {why}")
}

/// The error a script's `redis.call` raises.
#[cfg(feature = "lua")]
pub(crate) fn refusal_in_script(reason: Denied) -> &'static str {
    match reason {
        Denied::Command => "ERR The user executing the script can't run this command or subcommand",
        Denied::Key => "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments",
        Denied::Channel | Denied::Auth => "ERR The user executing the script can't publish to the channel mentioned in the command",
    }
}

/// Signs the client in as `user` when `password` opens it; logs a refused sign-in (`word` is the
/// command's first word as sent: AUTH or HELLO).
pub(crate) fn authenticate(ctx: &mut Ctx, user: &[u8], password: &[u8], word: &[u8]) -> bool {
    if ctx.acl.authenticates(user, password) {
        ctx.session.user = user.to_vec();
        ctx.session.acl_limited.set(ctx.acl.limits(user));
        ctx.session.authenticate();
        return true;
    }
    let context = context_of(ctx);
    let command = if is(word, "hello") { "hello" } else { "auth" };
    log_refusal(ctx, Denied::Auth, context, word.to_vec(), user.to_vec(), command);
    false
}

/// After a user changed: every connection of it learns whether it is now restricted.
fn refresh(ctx: &mut Ctx, name: &[u8]) {
    let limited = ctx.acl.limits(name);
    for session in ctx.others.values().filter(|s| s.user == name) {
        session.acl_limited.set(limited);
    }
    if ctx.session.user == name {
        ctx.session.acl_limited.set(limited);
    }
}

fn setuser(ctx: &mut Ctx, args: &[&[u8]]) {
    let name = args[2];
    if acl::has_spaces(name) {
        ctx.reply.error("ERR Usernames can't contain spaces or null characters");
        return;
    }
    let rules = match acl::merge_selectors(&args[3..]) {
        Ok(rules) => rules,
        Err(at) => {
            let quoted = String::from_utf8_lossy(args[at + 3]);
            ctx.reply.error(&format!("ERR Unmatched parenthesis in acl selector starting at '{quoted}'."));
            return;
        }
    };
    let user = match ctx.acl.staged(name, &rules) {
        Ok(user) => user,
        Err((rule, error)) => {
            let rule = String::from_utf8_lossy(&rule);
            ctx.reply.error(&format!("ERR Error in ACL SETUSER modifier '{rule}': {}", error.message()));
            return;
        }
    };
    if let Some(before) = ctx.acl.users.get(name) {
        kill_lost_subscribers(ctx, name, &user, &before.clone());
    }
    ctx.acl.users.insert(name.to_vec(), user);
    refresh(ctx, name);
    ctx.reply.ok();
}

/// Closes the subscribed clients of `name` whose subscriptions the user's new rules no longer
/// allow, as Redis does.
fn kill_lost_subscribers(ctx: &mut Ctx, name: &[u8], user: &User, before: &User) {
    let mut doomed: Vec<u64> = ctx
        .others
        .values()
        .filter(|s| s.user == name && s.subscriptions.any() && user.loses_subscriptions(before, &s.subscriptions))
        .map(|s| s.connection)
        .collect();
    if ctx.session.user == name && ctx.session.subscriptions.any() && user.loses_subscriptions(before, &ctx.session.subscriptions) {
        doomed.push(ctx.session.connection);
    }
    for connection in doomed {
        ctx.kill(connection);
    }
}

fn deluser(ctx: &mut Ctx, args: &[&[u8]]) {
    if args[2..].iter().any(|name| *name == b"default") {
        ctx.reply.error("ERR The 'default' user cannot be removed");
        return;
    }
    let mut deleted = 0;
    for name in &args[2..] {
        if ctx.acl.users.remove(*name).is_some() {
            deleted += 1;
            sign_out(ctx, |user| user == *name);
        }
    }
    ctx.reply.integer(deleted);
}

/// Closes the connections of the users `doomed` picks; this one once it has its reply, and
/// until then it runs as `default` without having signed in.
fn sign_out(ctx: &mut Ctx, doomed: impl Fn(&[u8]) -> bool) {
    let others: Vec<u64> = ctx.others.values().filter(|s| doomed(&s.user)).map(|s| s.connection).collect();
    for connection in others {
        ctx.kill(connection);
    }
    if doomed(&ctx.session.user) {
        ctx.session.user = b"default".to_vec();
        ctx.session.authenticated = false;
        ctx.session.acl_limited.set(ctx.acl.limits(b"default"));
        ctx.kill(ctx.session.connection);
    }
}

fn getuser(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(user) = ctx.acl.users.get(args[2]) else {
        ctx.reply.null();
        return;
    };
    let user = user.clone();
    ctx.reply.map(6);
    ctx.reply.bulk(b"flags");
    let flags = describe::flags(&user);
    ctx.reply.set(flags.len());
    for flag in flags {
        ctx.reply.bulk(flag.as_bytes());
    }
    ctx.reply.bulk(b"passwords");
    ctx.reply.array(user.passwords.len());
    for password in &user.passwords {
        ctx.reply.bulk(password.as_bytes());
    }
    write_selector(ctx, &user.selectors[0]);
    ctx.reply.bulk(b"selectors");
    ctx.reply.array(user.selectors.len() - 1);
    for selector in &user.selectors[1..] {
        ctx.reply.map(3);
        write_selector(ctx, selector);
    }
}

fn write_selector(ctx: &mut Ctx, selector: &acl::Selector) {
    ctx.reply.bulk(b"commands");
    ctx.reply.bulk(describe::command_rules(selector).as_bytes());
    ctx.reply.bulk(b"keys");
    ctx.reply.bulk(&describe::keys_field(selector));
    ctx.reply.bulk(b"channels");
    ctx.reply.bulk(&describe::channels_field(selector));
}

fn list(ctx: &mut Ctx, _args: &[&[u8]]) {
    let lines: Vec<Vec<u8>> = ctx.acl.users.iter().map(|(name, user)| acl::file::line(name, user)).collect();
    ctx.reply.array(lines.len());
    for line in lines {
        ctx.reply.bulk(&line);
    }
}

fn users(ctx: &mut Ctx, _args: &[&[u8]]) {
    let names: Vec<Vec<u8>> = ctx.acl.users.keys().cloned().collect();
    ctx.reply.array(names.len());
    for name in names {
        ctx.reply.bulk(&name);
    }
}

fn whoami(ctx: &mut Ctx, _args: &[&[u8]]) {
    let name = ctx.session.user.clone();
    ctx.reply.bulk(&name);
}

fn cat(ctx: &mut Ctx, args: &[&[u8]]) {
    match args {
        [_, _] => {
            ctx.reply.array(acl::CATEGORIES.len());
            for category in acl::CATEGORIES {
                ctx.reply.bulk(category.as_bytes());
            }
        }
        [_, _, category] => {
            let name = String::from_utf8_lossy(category).to_ascii_lowercase();
            let Some(bit) = acl::CATEGORIES.iter().position(|c| *c == name) else {
                let shown: String = String::from_utf8_lossy(category).chars().take(128).collect();
                ctx.reply.error(&format!("ERR Unknown category '{shown}'"));
                return;
            };
            let names: Vec<&str> = catalog().entries.iter().filter(|e| e.categories & (1 << bit) != 0).map(|e| e.command.name).collect();
            ctx.reply.array(names.len());
            for name in names {
                ctx.reply.bulk(name.as_bytes());
            }
        }
        _ => ctx.reply.error(&format!("ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.", String::from_utf8_lossy(args[1]))),
    }
}

/// The most bits ACL GENPASS makes.
const GENPASS_MAX_BITS: i64 = 4096;

fn genpass(ctx: &mut Ctx, args: &[&[u8]]) {
    if args.len() > 3 {
        ctx.reply.error(&format!("ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.", String::from_utf8_lossy(args[1])));
        return;
    }
    let bits = match args.get(2) {
        Some(arg) => match int_arg(ctx, arg) {
            Some(bits) => bits,
            None => return,
        },
        None => 256,
    };
    if bits <= 0 || bits > GENPASS_MAX_BITS {
        ctx.reply.error(&format!("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to {GENPASS_MAX_BITS}"));
        return;
    }
    let chars = ((bits + 3) / 4) as usize;
    let password = ctx.acl.random_hex(chars, ctx.now.mono_ns);
    ctx.reply.bulk(password.as_bytes());
}

fn log(ctx: &mut Ctx, args: &[&[u8]]) {
    if args.len() > 3 {
        ctx.reply.error(&format!("ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.", String::from_utf8_lossy(args[1])));
        return;
    }
    let mut count = 10;
    if let Some(arg) = args.get(2) {
        if is(arg, "reset") {
            ctx.acl.log.entries.clear();
            ctx.reply.ok();
            return;
        }
        let Some(n) = int_arg(ctx, arg) else { return };
        count = n.max(0);
    }
    let entries: Vec<acl::log::Entry> = ctx.acl.log.entries.iter().take(count as usize).cloned().collect();
    ctx.reply.array(entries.len());
    for entry in entries {
        ctx.reply.map(7);
        ctx.reply.bulk(b"count");
        ctx.reply.integer(entry.count as i64);
        ctx.reply.bulk(b"reason");
        ctx.reply.bulk(entry.reason.name().as_bytes());
        ctx.reply.bulk(b"context");
        ctx.reply.bulk(entry.context.name().as_bytes());
        ctx.reply.bulk(b"object");
        ctx.reply.bulk(&entry.object);
        ctx.reply.bulk(b"username");
        ctx.reply.bulk(&entry.username);
        ctx.reply.bulk(b"age-seconds");
        ctx.reply.double(ctx.now.wall_ms.saturating_sub(entry.time_ms) as f64 / 1000.0);
        ctx.reply.bulk(b"client-info");
        ctx.reply.bulk(entry.client_info.as_bytes());
    }
}

fn dryrun(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(user) = ctx.acl.users.get(args[2]) else {
        ctx.reply.error(&format!("ERR User '{}' not found", String::from_utf8_lossy(args[2])));
        return;
    };
    let line = &args[3..];
    let Some(command) = super::lookup(line[0]) else {
        ctx.reply.error(&format!("ERR Command '{}' not found", String::from_utf8_lossy(line[0])));
        return;
    };
    let command = match (command.subcommands.is_empty(), line.get(1)) {
        (false, Some(sub)) => match command.subcommands.iter().find(|s| s.name.split_once('|').is_some_and(|(_, name)| is(sub, name))) {
            Some(sub) => sub,
            None => {
                ctx.reply.error(&format!("ERR Command '{}' not found", String::from_utf8_lossy(line[0])));
                return;
            }
        },
        _ => command,
    };
    let Some(id) = catalog().id_of(command) else {
        ctx.reply.ok();
        return;
    };
    match user.check(id, line) {
        Ok(()) => ctx.reply.ok(),
        Err((Denied::Command, _)) => ctx.reply.bulk(format!("This user has no permissions to run the '{}' command", command.name).as_bytes()),
        Err((Denied::Key, at)) => {
            let text = [&b"This user has no permissions to access the '"[..], line[at], b"' key"].concat();
            ctx.reply.bulk(&text);
        }
        Err((_, at)) => {
            let text = [&b"This user has no permissions to access the '"[..], line[at], b"' channel"].concat();
            ctx.reply.bulk(&text);
        }
    }
}

const NO_ACL_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// ACL LOAD: every user replaced by the file's, or none when any line is wrong. As in Redis, the
/// connections of every user but `default` are closed (this one after its reply), even when the
/// file defines the same user again: they signed in with rules that may no longer hold.
fn load(ctx: &mut Ctx, _args: &[&[u8]]) {
    if ctx.config.aclfile.is_empty() {
        ctx.reply.error(NO_ACL_FILE);
        return;
    }
    let filename = ctx.config.aclfile.clone();
    if let Err(errors) = ctx.acl.load_file(&filename) {
        ctx.reply.error(&format!("ERR {errors}"));
        return;
    }
    sign_out(ctx, |user| user != b"default");
    refresh(ctx, b"default");
    ctx.reply.ok();
}

/// ACL SAVE: the users, as ACL LIST shows them, replace the file's contents. Why a write failed
/// goes to the log, as Redis does; the client hears only that it did.
fn save(ctx: &mut Ctx, _args: &[&[u8]]) {
    if ctx.config.aclfile.is_empty() {
        ctx.reply.error(NO_ACL_FILE);
        return;
    }
    match ctx.acl.save_file() {
        Ok(()) => ctx.reply.ok(),
        Err(why) => {
            crate::log::warn(&format!("ACL SAVE could not write the ACL file {}: {why}", ctx.config.aclfile));
            ctx.reply.error("ERR There was an error trying to save the ACLs. Please check the server logs for more information");
        }
    }
}

const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
];

/// Redis 7.0's ACL HELP ends with its own wording of the HELP line ("Prints", not "Print").
fn help(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.array(HELP.len() + 2);
    for line in HELP.iter().chain(&["HELP", "    Prints this help."]) {
        ctx.reply.simple(line);
    }
}
