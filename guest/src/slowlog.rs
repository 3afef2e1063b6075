//! SLOWLOG's log: the commands that took at least `slowlog-log-slower-than` microseconds, newest
//! first, at most `slowlog-max-len` of them, with their arguments cut as Redis cuts them.

use std::collections::VecDeque;

/// Arguments kept per entry; the last kept one says how many more there were.
const MAX_ARGS: usize = 32;
/// Bytes kept per argument; the rest is counted.
const MAX_ARG_BYTES: usize = 128;

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub id: u64,
    /// Unix seconds when the command ran.
    pub time: u64,
    pub micros: u64,
    pub args: Vec<Vec<u8>>,
    pub address: String,
    pub name: Vec<u8>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct SlowLog {
    entries: VecDeque<Entry>,
    /// Ids go on growing across SLOWLOG RESET, as in Redis.
    next_id: u64,
}

impl SlowLog {
    /// Logs a command, dropping the oldest entries past `max_len`.
    pub(crate) fn push(&mut self, mut entry: Entry, max_len: usize) {
        entry.id = self.next_id;
        self.next_id += 1;
        self.entries.push_front(entry);
        self.entries.truncate(max_len);
    }

    /// The newest `count` entries, newest first.
    pub(crate) fn newest(&self, count: usize) -> impl Iterator<Item = &Entry> {
        self.entries.iter().take(count)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn reset(&mut self) {
        self.entries.clear();
    }
}

/// A command's arguments as an entry keeps them: at most 32 (the 32nd becomes
/// `... (N more arguments)`), each at most 128 bytes (then `... (N more bytes)`).
pub(crate) fn kept_args(args: &[&[u8]]) -> Vec<Vec<u8>> {
    let kept = args.len().min(MAX_ARGS);
    (0..kept)
        .map(|at| {
            if kept != args.len() && at == kept - 1 {
                return format!("... ({} more arguments)", args.len() - kept + 1).into_bytes();
            }
            let arg = args[at];
            if arg.len() <= MAX_ARG_BYTES {
                return arg.to_vec();
            }
            let mut cut = arg[..MAX_ARG_BYTES].to_vec();
            cut.extend_from_slice(format!("... ({} more bytes)", arg.len() - MAX_ARG_BYTES).as_bytes());
            cut
        })
        .collect()
}

/// Hides secrets as Redis does before logging a command: AUTH's arguments, HELLO's AUTH username
/// and password, ACL SETUSER's arguments, and the value of CONFIG SET requirepass.
pub(crate) fn redact(args: &mut [Vec<u8>]) {
    const REDACTED: &[u8] = b"(redacted)";
    let is = |arg: &[u8], word: &str| arg.eq_ignore_ascii_case(word.as_bytes());
    let Some(name) = args.first() else { return };
    if is(name, "auth") {
        args[1..].iter_mut().for_each(|arg| *arg = REDACTED.to_vec());
    } else if is(name, "hello") {
        if let Some(at) = args.iter().position(|arg| is(arg, "auth")) {
            args.iter_mut().skip(at + 1).take(2).for_each(|arg| *arg = REDACTED.to_vec());
        }
    } else if is(name, "acl") && args.get(1).is_some_and(|sub| is(sub, "setuser")) {
        // Everything about the user: its name, passwords and rules.
        args.iter_mut().skip(2).for_each(|arg| *arg = REDACTED.to_vec());
    } else if is(name, "config") && args.get(1).is_some_and(|sub| is(sub, "set")) {
        for pair in args[2..].chunks_mut(2) {
            if is(&pair[0], "requirepass") && pair.len() == 2 {
                pair[1] = REDACTED.to_vec();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_cut_as_redis_cuts_them() {
        let long = vec![b'x'; 200];
        let kept = kept_args(&[b"SET", b"k", &long]);
        assert_eq!(kept[2], [&[b'x'; 128][..], b"... (72 more bytes)"].concat());
        let many: Vec<&[u8]> = std::iter::repeat_n(&b"a"[..], 40).collect();
        let kept = kept_args(&many);
        assert_eq!(kept.len(), 32);
        assert_eq!(kept[31], b"... (9 more arguments)");
        assert_eq!(kept_args(&many[..32]).len(), 32, "32 arguments are kept whole");
    }

    #[test]
    fn secrets_are_redacted() {
        let mut args: Vec<Vec<u8>> = ["HELLO", "3", "AUTH", "user", "pw", "SETNAME", "n"].iter().map(|a| a.as_bytes().to_vec()).collect();
        redact(&mut args);
        assert_eq!(args[3..5], [b"(redacted)".to_vec(), b"(redacted)".to_vec()]);
        assert_eq!(args[6], b"n");
    }

    #[test]
    fn newest_first_ids_grow_and_length_is_capped() {
        let mut log = SlowLog::default();
        let entry = Entry { id: 0, time: 1, micros: 2, args: vec![], address: String::new(), name: vec![] };
        for _ in 0..5 {
            log.push(entry.clone(), 3);
        }
        assert_eq!(log.newest(10).map(|e| e.id).collect::<Vec<_>>(), [4, 3, 2]);
        log.reset();
        log.push(entry, 3);
        assert_eq!(log.newest(1).next().map(|e| e.id), Some(5));
    }
}
