//! The ACL file (`aclfile`): users loaded from it at start and by ACL LOAD, written back by ACL
//! SAVE, in Redis's format — one `user <name> <rules>` line per user, as ACL LIST prints them.
//!
//! The engine never opens the file itself: it asks the host through [`AclFile`], and the host
//! reaches only the file it was started with.

use super::{RuleError, User, has_spaces, merge_selectors};
use std::collections::BTreeMap;

/// The host's side: the contents of the one ACL file it was given.
pub trait AclFile {
    /// The file's bytes, or why they cannot be read, as the system words it.
    fn read(&mut self) -> Result<Vec<u8>, String>;
    /// Replaces the file's bytes whole, or says why it could not.
    fn write(&mut self, contents: &[u8]) -> Result<(), String>;
}

/// Where the ACL file is reached: nowhere until the host gives a way (a native build, a host of
/// another world).
#[derive(Default)]
pub(crate) struct FileAccess(Option<Box<dyn AclFile>>);

impl std::fmt::Debug for FileAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "FileAccess(host)" } else { "FileAccess(none)" })
    }
}

impl FileAccess {
    pub fn new(file: Box<dyn AclFile>) -> Self {
        FileAccess(Some(file))
    }

    /// The file's text, or Redis's words for a file that cannot be opened.
    pub fn read(&mut self, filename: &str) -> Result<Vec<u8>, String> {
        let read = match &mut self.0 {
            Some(file) => file.read(),
            None => Err("this host gives the engine no access to it".to_string()),
        };
        read.map_err(|why| format!("Error loading ACLs, opening file '{filename}': {why}"))
    }

    pub fn write(&mut self, contents: &[u8]) -> Result<(), String> {
        match &mut self.0 {
            Some(file) => file.write(contents),
            None => Err("this host gives the engine no access to the ACL file".to_string()),
        }
    }
}

/// The users an ACL file defines, with `default` added as a fresh server has it when the file
/// does not define it. Every line is checked; when any is wrong, the error names each problem
/// with its line (in Redis's words) and nothing is to be loaded.
pub(crate) fn parse(text: &[u8], filename: &str) -> Result<BTreeMap<Vec<u8>, User>, String> {
    let mut users = BTreeMap::new();
    let mut errors = String::new();
    for (index, line) in text.split(|b| *b == b'\n').enumerate() {
        let number = index + 1;
        let line = trim(line, b" \t\r\n");
        if line.is_empty() {
            continue;
        }
        // Words are split on single spaces, so two spaces in a row make an empty word (a rule
        // that does nothing, or an empty user name), as in Redis.
        let words: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
        let [b"user", name, rules @ ..] = &words[..] else {
            errors += &format!("{filename}:{number} should start with user keyword followed by the username. ");
            continue;
        };
        if has_spaces(name) {
            errors += &format!("'{filename}:{number}: username '{}' contains invalid characters. ", String::from_utf8_lossy(name));
            continue;
        }
        if users.contains_key(*name) {
            errors += &format!("WARNING: Duplicate user '{}' found on line {number}. ", String::from_utf8_lossy(name));
            continue;
        }
        match user_of(rules) {
            Ok(user) => {
                users.insert(name.to_vec(), user);
            }
            Err(problems) => {
                for problem in problems {
                    errors += &format!("{filename}:{number}: {problem}. ");
                }
                // The name is taken all the same: a later line for it is a duplicate.
                users.insert(name.to_vec(), User::new());
            }
        }
    }
    if !errors.is_empty() {
        errors += "WARNING: ACL errors detected, no change to the previously active ACL rules was performed";
        return Err(errors);
    }
    users.entry(b"default".to_vec()).or_insert_with(User::default_user);
    Ok(users)
}

/// A line's user, or what is wrong with its rules: every unknown command or category, but only
/// the first error of another kind, since the rules after it may have been written against it.
fn user_of(rules: &[&[u8]]) -> Result<User, Vec<String>> {
    let Ok(rules) = merge_selectors(rules) else {
        return Err(vec!["Unmatched parenthesis in selector definition".to_string()]);
    };
    let mut user = User::new();
    let mut problems = Vec::new();
    let mut other_error = false;
    for rule in &rules {
        let rule = trim(rule, b"\t\r\n");
        match user.apply(rule) {
            Ok(()) => {}
            Err(RuleError::Unknown) => problems.push(format!("Error in applying operation '{}': {}", String::from_utf8_lossy(rule), RuleError::Unknown.message())),
            Err(error) if !other_error => {
                other_error = true;
                problems.push(error.message().to_string());
            }
            Err(_) => {}
        }
    }
    if problems.is_empty() { Ok(user) } else { Err(problems) }
}

/// `text` without the bytes of `set` at either end.
fn trim<'a>(text: &'a [u8], set: &[u8]) -> &'a [u8] {
    let start = text.iter().position(|b| !set.contains(b)).unwrap_or(text.len());
    let end = text.iter().rposition(|b| !set.contains(b)).map_or(start, |i| i + 1);
    &text[start..end]
}

/// The file ACL SAVE writes: the users in name order, each as ACL LIST describes it.
pub(crate) fn render(users: &BTreeMap<Vec<u8>, User>) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, user) in users {
        out.extend_from_slice(&line(name, user));
        out.push(b'\n');
    }
    out
}

/// A user as the file and ACL LIST write it: `user <name> <rules>`.
pub(crate) fn line(name: &[u8], user: &User) -> Vec<u8> {
    [&b"user "[..], name, b" ", &super::describe::user(user)].concat()
}
