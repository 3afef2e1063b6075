//! Which commands may share a pipelined connection.
//!
//! Requests from every caller are interleaved on a few shared connections, so a command may run
//! there only if it leaves the connection as it found it and answers at once. Commands that change
//! the connection's session (MULTI, SELECT, SUBSCRIBE, CLIENT TRACKING, ...) would change it for
//! every other caller, and a blocking pop would hold every request queued behind it: the first are
//! refused with the API that runs them safely, the second run on a connection of their own.
//! ASKING is not among them: it concerns only the next command, so it is sent in a batch with it.

use std::time::Duration;

/// Where a command runs.
#[derive(Debug, PartialEq)]
pub(super) enum Route {
    /// On the shared, pipelined connections.
    Shared,
    /// On a connection of its own; the server may hold the reply this long (`None`: for ever).
    Blocking(Option<Duration>),
    /// Not on a shared connection: the text says what to use instead.
    Stateful(String),
}

/// Where `args` may run.
pub(super) fn route<A: AsRef<[u8]>>(args: &[A]) -> Route {
    let Some(name) = args.first() else { return Route::Shared };
    let name = String::from_utf8_lossy(name.as_ref()).to_ascii_uppercase();
    let arg = |i: usize| args.get(i).map(|a| String::from_utf8_lossy(a.as_ref()).to_ascii_uppercase());
    let last = || args.last().map(|a| String::from_utf8_lossy(a.as_ref()).into_owned());
    match name.as_str() {
        "BLPOP" | "BRPOP" | "BLMOVE" | "BRPOPLPUSH" | "BZPOPMIN" | "BZPOPMAX" => Route::Blocking(seconds(last())),
        "BLMPOP" | "BZMPOP" => Route::Blocking(seconds(arg(1))),
        "WAIT" | "WAITAOF" => Route::Blocking(millis(last())),
        "XREAD" | "XREADGROUP" => match args.iter().position(|a| a.as_ref().eq_ignore_ascii_case(b"BLOCK")) {
            Some(at) => Route::Blocking(millis(arg(at + 1))),
            None => Route::Shared,
        },
        "MULTI" | "EXEC" | "DISCARD" | "WATCH" | "UNWATCH" => {
            stateful(&name, "use Client::transaction, which runs MULTI/EXEC (and WATCH) on a connection of its own")
        }
        "SELECT" => stateful(&name, "choose the database in the URL (redis://host:6379/2 or ?db=2), or use Client::dedicated"),
        "AUTH" | "HELLO" | "RESET" | "QUIT" => {
            stateful(&name, "credentials and the protocol are set in the URL, for every connection; or use Client::dedicated")
        }
        "SUBSCRIBE" | "PSUBSCRIBE" | "SSUBSCRIBE" | "UNSUBSCRIBE" | "PUNSUBSCRIBE" | "SUNSUBSCRIBE" => {
            stateful(&name, "use Client::subscriber, which reads the messages on a connection of its own")
        }
        "MONITOR" | "SYNC" | "PSYNC" => stateful(&name, "it turns the connection into a stream of the server's events, which cachet's client does not read"),
        "READONLY" | "READWRITE" => stateful(&name, "for replica reads set readonly=true in the URL, or use Client::dedicated"),
        "CLIENT" => match arg(1).as_deref() {
            Some("TRACKING" | "CACHING" | "REPLY" | "NO-EVICT" | "NO-TOUCH" | "SETNAME" | "SETINFO") => {
                stateful(&format!("CLIENT {}", arg(1).unwrap_or_default()), "use Client::dedicated (a connection name goes in the URL: ?client_name=)")
            }
            _ => Route::Shared,
        },
        _ => Route::Shared,
    }
}

fn stateful(name: &str, instead: &str) -> Route {
    Route::Stateful(format!(
        "{name} changes the session of the connection it runs on, and `call` shares its connections with other callers: {instead}"
    ))
}

/// A blocking command's timeout in seconds (decimals allowed); 0 waits for ever. One that does not
/// parse is sent anyway, for the server to refuse.
fn seconds(text: Option<String>) -> Option<Duration> {
    let seconds: f64 = text.and_then(|t| t.parse().ok()).filter(|s: &f64| s.is_finite() && *s >= 0.0).unwrap_or(0.0);
    (seconds > 0.0).then(|| Duration::from_secs_f64(seconds.min(1e9)))
}

/// A timeout in milliseconds; 0 waits for ever.
fn millis(text: Option<String>) -> Option<Duration> {
    let millis: u64 = text.and_then(|t| t.parse().ok()).unwrap_or(0);
    (millis > 0).then(|| Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_commands_find_their_timeouts() {
        assert_eq!(route(&["BLPOP", "a", "b", "1.5"]), Route::Blocking(Some(Duration::from_millis(1500))));
        assert_eq!(route(&["brpop", "a", "0"]), Route::Blocking(None));
        assert_eq!(route(&["BLMPOP", "2", "1", "q", "LEFT"]), Route::Blocking(Some(Duration::from_secs(2))));
        assert_eq!(route(&["WAIT", "1", "250"]), Route::Blocking(Some(Duration::from_millis(250))));
        assert_eq!(route(&["XREAD", "COUNT", "2", "block", "100", "STREAMS", "s", "$"]), Route::Blocking(Some(Duration::from_millis(100))));
        assert_eq!(route(&["XREAD", "STREAMS", "s", "0"]), Route::Shared);
        assert_eq!(route(&["BLPOP", "q", "soon"]), Route::Blocking(None), "the server refuses it; the client waits as for 0");
    }

    #[test]
    fn session_commands_are_refused_with_what_to_use() {
        let Route::Stateful(text) = route(&["multi"]) else { panic!("MULTI is stateful") };
        assert!(text.starts_with("MULTI changes the session") && text.contains("Client::transaction"), "{text}");
        let Route::Stateful(text) = route(&["CLIENT", "tracking", "on"]) else { panic!("CLIENT TRACKING is stateful") };
        assert!(text.starts_with("CLIENT TRACKING changes"), "{text}");
        assert_eq!(route(&["CLIENT", "LIST"]), Route::Shared);
        assert_eq!(route(&["GET", "k"]), Route::Shared);
        assert_eq!(route::<&str>(&[]), Route::Shared);
    }
}
