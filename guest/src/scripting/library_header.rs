//! A library's first line, `#!lua name=mylib`: its engine and name, read as Redis 7.0 reads it
//! (the line split into words as redis-cli splits a command line, quotes and escapes included).

/// What the first line of a library says.
#[derive(Debug, PartialEq)]
pub struct Header {
    /// As written after `#!` (engines are looked up in any letter case).
    pub engine: Vec<u8>,
    pub name: Vec<u8>,
    /// Where the code after the first line starts: at its newline, so that line numbers in errors
    /// count the first line too.
    pub code_starts_at: usize,
}

/// Reads the header of `library`, or Redis's error text (without its `ERR` code).
pub fn read_header(library: &[u8]) -> Result<Header, String> {
    if !library.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let end = library.iter().position(|&b| b == b'\n').ok_or("Invalid library metadata")?;
    let words = split_words(&library[..end]).ok_or("Invalid library metadata")?;
    let (first, options) = words.split_first().ok_or("Invalid library metadata")?;
    let engine = first.get(2..).unwrap_or_default().to_vec();
    let mut name = None;
    for option in options {
        match option.get(..5) {
            Some(key) if key.eq_ignore_ascii_case(b"name=") => {
                if name.is_some() {
                    return Err("Invalid metadata value, name argument was given multiple times".into());
                }
                name = Some(option[5..].to_vec());
            }
            _ => return Err(format!("Invalid metadata value given: {}", String::from_utf8_lossy(until_nul(option)))),
        }
    }
    let name = name.ok_or("Library name was not given")?;
    Ok(Header { engine, name, code_starts_at: end })
}

/// Whether `name` may name a library or a function: letters, digits and `_`, at least one.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// C's view of a string: up to its first NUL byte.
pub fn until_nul(text: &[u8]) -> &[u8] {
    text.iter().position(|&b| b == 0).map_or(text, |end| &text[..end])
}

/// Splits `line` into words, with double quotes (and their `\n`, `\xHH`... escapes) and single
/// quotes; None for an unbalanced quote or a closing quote followed by more than a space.
fn split_words(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = until_nul(line);
    let mut words = Vec::new();
    let mut at = 0;
    loop {
        while line.get(at).is_some_and(|b| b.is_ascii_whitespace() || *b == 0x0b) {
            at += 1;
        }
        if at >= line.len() {
            return Some(words);
        }
        let (word, next) = read_word(line, at)?;
        words.push(word);
        at = next;
    }
}

/// One word starting at `at`, and where the text after it starts.
fn read_word(line: &[u8], mut at: usize) -> Option<(Vec<u8>, usize)> {
    let mut word = Vec::new();
    let mut quote = None;
    loop {
        let byte = line.get(at).copied();
        match (quote, byte) {
            (Some(_), None) => return None,
            (None, None | Some(b' ' | b'\n' | b'\r' | b'\t')) => return Some((word, at)),
            (None, Some(q @ (b'"' | b'\''))) => quote = Some(q),
            (None, Some(b)) => word.push(b),
            (Some(q), Some(b)) if b == q => {
                let after = line.get(at + 1);
                if after.is_some_and(|b| !b.is_ascii_whitespace() && *b != 0x0b) {
                    return None;
                }
                return Some((word, at + 1));
            }
            (Some(b'"'), Some(b'\\')) => {
                let (byte, used) = escape(&line[at + 1..])?;
                word.push(byte);
                at += used;
            }
            (Some(_), Some(b'\\')) if line.get(at + 1) == Some(&b'\'') => {
                word.push(b'\'');
                at += 1;
            }
            (Some(_), Some(b)) => word.push(b),
        }
        at += 1;
    }
}

/// The byte a backslash escape inside double quotes stands for, and how many bytes follow the
/// backslash in it.
fn escape(rest: &[u8]) -> Option<(u8, usize)> {
    let hex = |b: u8| (b as char).to_digit(16);
    match rest {
        [b'x', high, low, ..] if hex(*high).is_some() && hex(*low).is_some() => Some(((hex(*high)? * 16 + hex(*low)?) as u8, 3)),
        [b'n', ..] => Some((b'\n', 1)),
        [b'r', ..] => Some((b'\r', 1)),
        [b't', ..] => Some((b'\t', 1)),
        [b'b', ..] => Some((0x08, 1)),
        [b'a', ..] => Some((0x07, 1)),
        [other, ..] => Some((*other, 1)),
        [] => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(library: &str) -> String {
        read_header(library.as_bytes()).unwrap_err()
    }

    #[test]
    fn headers_are_read_as_redis_reads_them() {
        let header = read_header(b"#!lua name=mylib\nreturn 1").unwrap();
        assert_eq!(header, Header { engine: b"lua".to_vec(), name: b"mylib".to_vec(), code_starts_at: 16 });
        assert_eq!(read_header(b"#!LUA NAME=\"my lib\"\n").unwrap().name, b"my lib");
        assert_eq!(read_header(b"#!lua name=\"a\\x41\\n\"\n").unwrap().name, b"aA\n");
        assert_eq!(read_header(b"#!lua 'name=x'\n").unwrap().name, b"x");
        assert_eq!(error("return 1"), "Missing library metadata");
        assert_eq!(error("#!lua name=x"), "Invalid library metadata", "no newline after the header");
        assert_eq!(error("#!lua name=\"x\n"), "Invalid library metadata");
        assert_eq!(error("#!lua name=\"x\"y\n"), "Invalid library metadata");
        assert_eq!(error("#!lua\n"), "Library name was not given");
        assert_eq!(error("#!lua name=a foo=bar\n"), "Invalid metadata value given: foo=bar");
        assert_eq!(error("#!lua name=a name=b\n"), "Invalid metadata value, name argument was given multiple times");
        assert_eq!(error("#! lua name=a\n"), "Invalid metadata value given: lua");
    }

    #[test]
    fn names_are_letters_digits_and_underscores() {
        assert!(valid_name(b"my_lib2"));
        assert!(!valid_name(b""));
        assert!(!valid_name(b"my-lib"));
        assert!(!valid_name(b"caf\xc3\xa9"));
    }
}
