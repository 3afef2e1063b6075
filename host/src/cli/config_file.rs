//! Reading a configuration file in redis.conf's format: one `name value...` directive per line,
//! `#` comments, values optionally in double or single quotes.

use anyhow::{Context, Result, bail};
use std::path::Path;

/// The directives of a file, in order, names in lower case. Several values (as `bind` takes) are
/// joined with single spaces.
pub fn read(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("could not read the configuration file {}", path.display()))?;
    parse(&text).with_context(|| format!("in the configuration file {}", path.display()))
}

pub fn parse(text: &str) -> Result<Vec<(String, String)>> {
    let mut directives = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(words) = split(line) else {
            bail!("line {}: unbalanced quotes in '{line}'", number + 1);
        };
        let Some((name, values)) = words.split_first() else { continue };
        if values.is_empty() {
            bail!("line {}: '{name}' needs a value", number + 1);
        }
        directives.push((name.to_ascii_lowercase(), values.join(" ")));
    }
    Ok(directives)
}

/// Splits on spaces, keeping quoted words (which may be empty, as in `save ""`) whole.
fn split(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { return Some(words) };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            loop {
                match chars.next()? {
                    c if c == first => break,
                    '\\' if first == '"' => word.push(chars.next()?),
                    c => word.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn directives() {
        let parsed = parse("# comment\nport 7000\nbind 127.0.0.1 ::1\nsave \"\"\n  MaxClients 5 \n").unwrap();
        assert_eq!(
            parsed,
            vec![
                ("port".into(), "7000".into()),
                ("bind".into(), "127.0.0.1 ::1".into()),
                ("save".into(), "".into()),
                ("maxclients".into(), "5".into()),
            ]
        );
        assert!(parse("port\n").unwrap_err().to_string().contains("needs a value"));
        assert!(parse("save \"oops\n").is_err());
    }
}
