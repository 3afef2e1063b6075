//! Users as ACL LIST, ACL GETUSER and ACL SAVE describe them: rules that, given to ACL SETUSER,
//! make the same user again. Command permissions are summed up as Redis does, starting from
//! `+@all` or `-@all`, then the categories that fit best, then single commands.

use super::{CATEGORIES, Sanitize, Selector, User, catalog};

/// `on nopass #hash ~keys &channels +@rules (selector) ...`, as after `user <name> ` in ACL LIST.
pub(crate) fn user(user: &User) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(if user.enabled { b"on " } else { b"off " });
    if user.nopass {
        out.extend_from_slice(b"nopass ");
    }
    match user.sanitize {
        Some(Sanitize::Skip) => out.extend_from_slice(b"skip-sanitize-payload "),
        Some(Sanitize::Sanitize) => out.extend_from_slice(b"sanitize-payload "),
        None => {}
    }
    for password in &user.passwords {
        out.push(b'#');
        out.extend_from_slice(password.as_bytes());
        out.push(b' ');
    }
    for (i, selector) in user.selectors.iter().enumerate() {
        let described = self::selector(selector);
        if i == 0 {
            out.extend_from_slice(&described);
        } else {
            out.extend_from_slice(b" (");
            out.extend_from_slice(&described);
            out.push(b')');
        }
    }
    out
}

/// The flags ACL GETUSER lists.
pub(crate) fn flags(user: &User) -> Vec<&'static str> {
    let mut flags = vec![if user.enabled { "on" } else { "off" }];
    if user.nopass {
        flags.push("nopass");
    }
    match user.sanitize {
        Some(Sanitize::Skip) => flags.push("skip-sanitize-payload"),
        Some(Sanitize::Sanitize) => flags.push("sanitize-payload"),
        None => {}
    }
    flags
}

fn selector(selector: &Selector) -> Vec<u8> {
    let mut out = Vec::new();
    if selector.all_keys {
        out.extend_from_slice(b"~* ");
    } else {
        for pattern in key_patterns(selector) {
            out.extend_from_slice(&pattern);
            out.push(b' ');
        }
    }
    if selector.all_channels {
        out.extend_from_slice(b"&* ");
    } else {
        out.extend_from_slice(b"resetchannels ");
        for channel in &selector.channels {
            out.push(b'&');
            out.extend_from_slice(channel);
            out.push(b' ');
        }
    }
    out.extend_from_slice(command_rules(selector).as_bytes());
    out
}

/// Each key pattern with its prefix: `~` for reading and writing, `%R~` or `%W~` for one.
pub(crate) fn key_patterns(selector: &Selector) -> Vec<Vec<u8>> {
    selector
        .keys
        .iter()
        .map(|key| {
            let prefix: &[u8] = match (key.read, key.write) {
                (true, true) => b"~",
                (true, false) => b"%R~",
                (false, true) => b"%W~",
                (false, false) => b"%~",
            };
            [prefix, &key.pattern].concat()
        })
        .collect()
}

/// ACL GETUSER's `keys`: the patterns separated by spaces, `~*` for all keys.
pub(crate) fn keys_field(selector: &Selector) -> Vec<u8> {
    if selector.all_keys {
        return b"~*".to_vec();
    }
    key_patterns(selector).join(&b' ')
}

/// ACL GETUSER's `channels`.
pub(crate) fn channels_field(selector: &Selector) -> Vec<u8> {
    if selector.all_channels {
        return b"&*".to_vec();
    }
    selector.channels.iter().map(|c| [&b"&"[..], c].concat()).collect::<Vec<_>>().join(&b' ')
}

/// The command rules of a selector: `+@all` or `-@all`, the categories that fit (each chosen as
/// the one with fewest exceptions, then most commands in common), then single commands and
/// allowed first arguments, in command table order.
pub(crate) fn command_rules(selector: &Selector) -> String {
    let catalog = catalog();
    let additive = !selector.bit(catalog.future_bit());
    let mut rules = String::from(if additive { "-@all " } else { "+@all " });
    let mut fake = Selector::new();
    fake.set_all(!additive);
    let mut remaining = selector.clone();
    let mut applied = [false; CATEGORIES.len()];
    loop {
        let mut best = None;
        let (mut min_diff, mut max_same) = (u64::MAX, 0);
        for (category, _) in CATEGORIES.iter().enumerate().filter(|(c, _)| !applied[*c]) {
            let (on, off) = count(&remaining, category);
            let (diff, same) = if additive { (off, on) } else { (on, off) };
            if same > diff && (diff < min_diff || (diff == min_diff && same > max_same)) {
                best = Some(category);
                min_diff = diff;
                max_same = same;
            }
        }
        let Some(category) = best else { break };
        fake.change_category(category, additive);
        remaining.change_category(category, !additive);
        rules.push_str(if additive { "+@" } else { "-@" });
        rules.push_str(CATEGORIES[category]);
        rules.push(' ');
        applied[category] = true;
    }
    for (id, entry) in catalog.entries.iter().enumerate() {
        if entry.is_subcommand {
            continue;
        }
        for id in std::iter::once(id).chain(entry.subcommands.clone()) {
            let allowed = selector.bit(id);
            if allowed != fake.bit(id) {
                rules.push(if allowed { '+' } else { '-' });
                rules.push_str(catalog.entries[id].command.name);
                rules.push(' ');
                fake.change(id, allowed);
            }
        }
        if !selector.bit(id)
            && let Some(firsts) = selector.first_args.get(&id)
        {
            for first in firsts {
                rules.push('+');
                rules.push_str(entry.command.name);
                rules.push('|');
                rules.push_str(&String::from_utf8_lossy(first));
                rules.push(' ');
            }
        }
    }
    rules.pop();
    rules
}

/// How many commands of `category` the selector allows and refuses.
fn count(selector: &Selector, category: usize) -> (u64, u64) {
    let mut counts = (0, 0);
    for (id, entry) in catalog().entries.iter().enumerate() {
        if entry.categories & (1 << category) != 0 {
            if selector.bit(id) {
                counts.0 += 1;
            } else {
                counts.1 += 1;
            }
        }
    }
    counts
}
