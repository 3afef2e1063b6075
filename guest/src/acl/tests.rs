use super::*;
use crate::engine::test_harness::{Harness, array, bulk};

fn on(c: &mut Harness, connection: u64, args: &[&str]) -> String {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    c.run_on(connection, &bytes)
}

fn user_with(rules: &[&str]) -> User {
    let mut user = User::new();
    for rule in rules {
        user.apply(rule.as_bytes()).unwrap_or_else(|e| panic!("{rule}: {e:?}"));
    }
    user
}

fn described(rules: &[&str]) -> String {
    String::from_utf8(describe::user(&user_with(rules))).unwrap()
}

#[test]
fn passwords_hash_with_sha256() {
    assert_eq!(hash_password(b"pw"), "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4");
    let user = user_with(&["on", ">pw"]);
    assert!(user.accepts(b"pw"));
    assert!(!user.accepts(b"pw2"));
    assert!(!user_with(&[">pw"]).accepts(b"pw"), "a disabled user opens to nobody");
    assert!(user_with(&["on", "nopass"]).accepts(b"anything"));
    let hashed = user_with(&["on", "#30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4"]);
    assert!(hashed.accepts(b"pw"));
    let mut removed = hashed.clone();
    removed.apply(b"<pw").unwrap();
    assert!(!removed.accepts(b"pw"));
    assert_eq!(removed.apply(b"<pw"), Err(RuleError::NoSuchPassword));
    assert_eq!(User::new().apply(b"#abc"), Err(RuleError::BadHash));
    assert_eq!(User::new().apply(b"!ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"), Err(RuleError::BadHash));
}

#[test]
fn rules_describe_as_redis_lists_them() {
    assert_eq!(described(&[]), "off resetchannels -@all");
    assert_eq!(described(&["+@all", "~*", "&*", "on", "nopass"]), "on nopass ~* &* +@all");
    assert_eq!(
        described(&["on", ">pw", "~k*", "%R~r*", "&ch*", "+get", "+client|list", "-@dangerous", "(+set ~s*)"]),
        "on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~k* %R~r* resetchannels &ch* -@all +get (~s* resetchannels -@all +set)"
    );
    assert_eq!(described(&["on", "nopass", "+@all", "%R~r*", "%W~w*", "%RW~b*"]), "on nopass %R~r* %W~w* ~b* resetchannels +@all");
    assert_eq!(described(&["+@all", "-@dangerous", "~*"]), "off ~* resetchannels +@all -@dangerous");
    assert_eq!(described(&["+@read", "-get"]), "off resetchannels -@all +@read -get");
    assert_eq!(described(&["+select|0"]), "off resetchannels -@all +select|0");
    assert_eq!(described(&["reset"]), "off sanitize-payload resetchannels -@all");
    assert_eq!(described(&["(~a)", "(+get)", "()"]), "off resetchannels -@all (~a resetchannels -@all) (resetchannels -@all +get) (resetchannels -@all)");
    assert_eq!(described(&["%R~a", "%W~a"]), "off ~a resetchannels -@all", "read and write on one pattern is both");
    assert_eq!(described(&["%R"]), "off %R~ resetchannels -@all", "no `~`: the empty pattern, as in Redis");
    assert_eq!(described(&["%RW"]), "off ~ resetchannels -@all");
    assert_eq!(described(&["(\"unbalanced)"]), "off resetchannels -@all (resetchannels -@all)");
}

#[test]
fn rule_errors() {
    let error = |rules: &[&str]| {
        let mut user = User::new();
        rules.iter().try_for_each(|r| user.apply(r.as_bytes())).err()
    };
    assert_eq!(error(&["foo"]), Some(RuleError::Syntax));
    assert_eq!(error(&["+nosuch"]), Some(RuleError::Unknown));
    assert_eq!(error(&["+@nosuch"]), Some(RuleError::Unknown));
    assert_eq!(error(&["~*", "~a"]), Some(RuleError::KeyAfterAll));
    assert_eq!(error(&["&*", "&a"]), Some(RuleError::ChannelAfterAll));
    assert_eq!(error(&["+client|list|x"]), Some(RuleError::SubcommandFirstArg));
    assert_eq!(error(&["+client|nosuch"]), Some(RuleError::Unknown));
    assert_eq!(error(&["-select|0"]), Some(RuleError::Unknown));
    assert_eq!(error(&["+get|"]), Some(RuleError::Syntax));
    assert_eq!(error(&["%X~a"]), Some(RuleError::Syntax));
    assert_eq!(error(&["(foo)"]), Some(RuleError::Syntax));
    assert_eq!(error(&["(\"\")"]), Some(RuleError::Syntax));
    assert_eq!(error(&["(\"unbalanced)"]), None, "an empty selector, as Redis makes it");
    assert_eq!(error(&["%"]), Some(RuleError::Syntax));
    assert_eq!(error(&["%~x"]), Some(RuleError::Syntax));
    assert_eq!(error(&["%RR~x"]), Some(RuleError::Syntax));
    assert_eq!(error(&["%r~x", "%R", "%RW"]), None);
    assert_eq!(error(&["+GET", "-@ALL", "ALLKEYS", "On"]), None, "words and names in any letter case");
}

#[test]
fn selectors_merge_across_arguments() {
    let args: Vec<&[u8]> = vec![b"on", b"(+get", b"~a)", b"(+set)"];
    assert_eq!(merge_selectors(&args), Ok(vec![b"on".to_vec(), b"(+get ~a)".to_vec(), b"(+set)".to_vec()]));
    let open: Vec<&[u8]> = vec![b"on", b"(+get", b"~a"];
    assert_eq!(merge_selectors(&open), Err(1));
}

#[test]
fn checks_commands_keys_and_channels() {
    let user = user_with(&["on", "nopass", "~k*", "%R~r*", "%W~w*", "&ch*", "+get", "+set", "+publish", "+psubscribe", "+select|0"]);
    let check = |line: &[&str]| {
        let args: Vec<&[u8]> = line.iter().map(|a| a.as_bytes()).collect();
        let command = crate::commands::lookup(args[0]).unwrap();
        user.check(catalog().id_of(command).unwrap(), &args)
    };
    assert_eq!(check(&["GET", "k1"]), Ok(()));
    assert_eq!(check(&["GET", "r1"]), Ok(()), "read pattern");
    assert_eq!(check(&["GET", "w1"]), Err((Denied::Key, 1)), "write-only pattern");
    assert_eq!(check(&["SET", "w1", "v"]), Ok(()));
    assert_eq!(check(&["SET", "r1", "v"]), Err((Denied::Key, 1)));
    assert_eq!(check(&["LPUSH", "k1", "v"]), Err((Denied::Command, 0)));
    assert_eq!(check(&["PUBLISH", "chat", "m"]), Ok(()));
    assert_eq!(check(&["PUBLISH", "other", "m"]), Err((Denied::Channel, 1)));
    assert_eq!(check(&["PSUBSCRIBE", "ch*"]), Ok(()), "the pattern is the rule itself");
    assert_eq!(check(&["PSUBSCRIBE", "chat"]), Err((Denied::Channel, 1)), "patterns compare literally");
    assert_eq!(check(&["SELECT", "0"]), Ok(()));
    assert_eq!(check(&["SELECT", "1"]), Err((Denied::Command, 0)));
    assert_eq!(check(&["AUTH", "x"]), Ok(()), "commands that need no sign-in are never refused");
}

#[test]
fn the_most_specific_refusal_wins_across_selectors() {
    let user = user_with(&["on", "+get", "~a", "(+set ~b)"]);
    let args: Vec<&[u8]> = vec![b"GET", b"b"];
    let id = catalog().id_of(crate::commands::lookup(b"get").unwrap()).unwrap();
    assert_eq!(user.check(id, &args), Err((Denied::Key, 1)));
    let args: Vec<&[u8]> = vec![b"SET", b"b", b"v"];
    let id = catalog().id_of(crate::commands::lookup(b"set").unwrap()).unwrap();
    assert_eq!(user.check(id, &args), Ok(()), "the selector allows it");
}

#[test]
fn restricted_users_are_refused_and_logged() {
    let mut c = Harness::new();
    assert_eq!(c.run(&["ACL", "SETUSER", "alice", "on", ">pw", "~k*", "&ch", "+get", "+set", "+publish", "+multi", "+exec"]), "+OK\r\n");
    let other = c.another(2);
    assert_eq!(on(&mut c, other, &["AUTH", "alice", "pw"]), "+OK\r\n");
    assert_eq!(on(&mut c, other, &["ACL", "WHOAMI"]), "-NOPERM this user has no permissions to run the 'acl|whoami' command\r\n");
    assert_eq!(on(&mut c, other, &["GET", "x"]), "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n");
    assert_eq!(on(&mut c, other, &["PUBLISH", "other", "m"]), "-NOPERM this user has no permissions to access one of the channels used as arguments\r\n");
    assert_eq!(on(&mut c, other, &["SET", "k1", "v"]), "+OK\r\n");
    assert_eq!(on(&mut c, other, &["MULTI"]), "+OK\r\n");
    assert_eq!(on(&mut c, other, &["LPUSH", "k1", "v"]), "-NOPERM this user has no permissions to run the 'lpush' command\r\n");
    assert_eq!(on(&mut c, other, &["EXEC"]), "-EXECABORT Transaction discarded because of previous errors.\r\n");
    assert_eq!(on(&mut c, other, &["AUTH", "alice", "bad"]), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    c.advance_ms(1500);
    let log = c.run(&["ACL", "LOG", "2"]);
    assert!(log.starts_with(&format!("*2\r\n*14\r\n{}:1\r\n{}{}{}{}{}{}{}{}{}{}", bulk("count"), bulk("reason"), bulk("auth"), bulk("context"), bulk("toplevel"), bulk("object"), bulk("AUTH"), bulk("username"), bulk("alice"), bulk("age-seconds"), bulk("1.5"))), "{log}");
    assert!(log.contains(&format!("{}{}{}{}{}{}", bulk("reason"), bulk("command"), bulk("context"), bulk("multi"), bulk("object"), bulk("lpush"))), "{log}");
    assert!(log.contains("cmd=lpush user=alice "), "{log}");
    assert_eq!(c.run(&["ACL", "LOG", "RESET"]), "+OK\r\n");
    assert_eq!(c.run(&["ACL", "LOG"]), "*0\r\n");
    // The same refusal again counts on its entry.
    on(&mut c, other, &["GET", "x"]);
    on(&mut c, other, &["GET", "x"]);
    assert!(c.run(&["ACL", "LOG"]).starts_with(&format!("*1\r\n*14\r\n{}:2\r\n", bulk("count"))));
}

#[test]
fn acl_changes_reach_connected_clients() {
    let mut c = Harness::new();
    c.run(&["ACL", "SETUSER", "bob", "on", "nopass", "+@all", "~*", "&*"]);
    let other = c.another(2);
    assert_eq!(on(&mut c, other, &["AUTH", "bob", "x"]), "+OK\r\n");
    assert!(!c.engine.session(other).unwrap().acl_limited.get(), "an unrestricted user is not checked");
    assert_eq!(on(&mut c, other, &["GET", "k"]), "$-1\r\n");
    c.run(&["ACL", "SETUSER", "bob", "resetkeys"]);
    assert!(c.engine.session(other).unwrap().acl_limited.get());
    assert_eq!(on(&mut c, other, &["GET", "k"]), "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n");
    c.run(&["ACL", "SETUSER", "bob", "off"]);
    assert_eq!(on(&mut c, other, &["ACL", "WHOAMI"]), bulk("bob"), "a disabled user's connections stay, as in Redis");
    let out = c.engine.feed_one(c.now, 1, b"ACL DELUSER bob nobody\r\n");
    assert_eq!(out.data, b":1\r\n");
    assert!(c.engine.session(other).is_none(), "deleting a user closes its connections");
}

#[test]
fn deleting_ones_own_user_closes_after_the_reply() {
    let mut c = Harness::new();
    c.run(&["ACL", "SETUSER", "carol", "on", "nopass", "+@all", "~*", "&*"]);
    c.run(&["AUTH", "carol", "x"]);
    let out = c.engine.feed_one(c.now, 1, b"ACL DELUSER carol\r\nPING\r\n");
    assert_eq!(out.data, b":1\r\n");
    assert!(out.close);
}

#[test]
fn requirepass_is_the_default_users_password() {
    let mut c = Harness::new();
    c.run(&["CONFIG", "SET", "requirepass", "s3cret"]);
    assert_eq!(c.run(&["ACL", "LIST"]), format!("*1\r\n{}", bulk("user default on #7e3f7d0ed46e1e49cc7a0d9ad3f8d4e8cfcf0af5086ee1ea65c5da62e5e3af08 ~* &* +@all").replace("7e3f7d0ed46e1e49cc7a0d9ad3f8d4e8cfcf0af5086ee1ea65c5da62e5e3af08", &hash_password(b"s3cret"))));
    c.run(&["ACL", "SETUSER", "default", ">other"]);
    assert_eq!(c.run(&["CONFIG", "GET", "requirepass"]), format!("*2\r\n{}{}", bulk("requirepass"), bulk("s3cret")), "as in Redis, the setting keeps its own value");
    let other = c.another(2);
    assert_eq!(on(&mut c, other, &["AUTH", "other"]), "+OK\r\n");
    c.run(&["CONFIG", "SET", "requirepass", ""]);
    assert_eq!(c.run(&["ACL", "LIST"]), format!("*1\r\n{}", bulk("user default on nopass ~* &* +@all")));
}

#[test]
fn scripts_are_checked_with_their_callers_user() {
    let mut c = Harness::new();
    c.run(&["ACL", "SETUSER", "dave", "on", "nopass", "~k*", "+get", "+eval", "&*"]);
    c.run(&["HELLO", "3", "AUTH", "dave", "x"]);
    let reply = c.run(&["EVAL", "return redis.call('get','x')", "0"]);
    assert!(reply.starts_with("-ERR The user executing the script can't access at least one of the keys mentioned in the command arguments"), "{reply}");
    let reply = c.run(&["EVAL", "return redis.call('lpush','k','x')", "0"]);
    assert!(reply.starts_with("-ERR The user executing the script can't run this command or subcommand"), "{reply}");
    assert_eq!(c.run(&["GET", "k"]), "_\r\n", "a refused call leaves the client's protocol as it was");
    c.run(&["AUTH", "default", "x"]);
    let log = c.run(&["ACL", "LOG", "1"]);
    assert!(log.contains(&format!("{}{}", bulk("context"), bulk("lua"))), "{log}");
}

#[test]
fn user_lines_configure_users() {
    let mut engine = crate::engine::Engine::new(1);
    let settings = [("requirepass".to_string(), "pw".to_string()), ("user".to_string(), "alice on >a ~* +@all".to_string())];
    engine.configure(&settings).unwrap();
    assert!(engine.acl().authenticates(b"alice", b"a"));
    assert!(engine.acl().authenticates(b"default", b"pw"));
    let bad = [("user".to_string(), "bob on +nosuch".to_string())];
    let error = engine.configure(&bad).unwrap_err();
    assert_eq!(error.message, "Error loading ACL rule '+nosuch' for the user named 'bob': Unknown command or category name in ACL");
    let default = [("user".to_string(), "default on nopass +@read ~*".to_string())];
    engine.configure(&default).unwrap();
    assert!(engine.acl().limits(b"default"), "a user line for default replaces it");
}

#[test]
fn acl_subcommands() {
    let mut c = Harness::new();
    assert_eq!(c.run(&["ACL", "WHOAMI"]), bulk("default"));
    assert_eq!(c.run(&["ACL", "USERS"]), format!("*1\r\n{}", bulk("default")));
    assert_eq!(c.run(&["ACL", "GETUSER", "nosuch"]), "$-1\r\n");
    assert_eq!(c.run(&["ACL", "SETUSER", "a b"]), "-ERR Usernames can't contain spaces or null characters\r\n");
    assert_eq!(c.run(&["ACL", "SETUSER", "x", "(+get", "~a"]), "-ERR Unmatched parenthesis in acl selector starting at '(+get'.\r\n");
    assert_eq!(c.run(&["ACL", "SETUSER", "x", "on", "foo"]), "-ERR Error in ACL SETUSER modifier 'foo': Syntax error\r\n");
    assert_eq!(c.run(&["ACL", "USERS"]), format!("*1\r\n{}", bulk("default")), "a failed SETUSER creates nothing");
    assert_eq!(c.run(&["ACL", "DELUSER", "default"]), "-ERR The 'default' user cannot be removed\r\n");
    assert_eq!(c.run(&["ACL", "CAT", "nosuch"]), "-ERR Unknown category 'nosuch'\r\n");
    assert!(c.run(&["ACL", "CAT"]).starts_with(&format!("*21\r\n{}", bulk("keyspace"))));
    assert!(c.run(&["ACL", "CAT", "string"]).contains(&bulk("get")));
    assert_eq!(c.run(&["ACL", "GENPASS", "0"]), "-ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096\r\n");
    assert_eq!(c.run(&["ACL", "GENPASS", "5"]).len(), "$2\r\nab\r\n".len());
    assert_eq!(c.run(&["ACL", "GENPASS"]).len(), "$64\r\n\r\n".len() + 64);
    assert_eq!(c.run(&["ACL", "DRYRUN", "nosuch", "get"]), "-ERR User 'nosuch' not found\r\n");
    assert_eq!(c.run(&["ACL", "DRYRUN", "default", "nosuch"]), "-ERR Command 'nosuch' not found\r\n");
    c.run(&["ACL", "SETUSER", "e", "on", "nopass", "+@string", "%W~w*", "&ch"]);
    assert_eq!(c.run(&["ACL", "DRYRUN", "e", "get", "w"]), bulk("This user has no permissions to access the 'w' key"));
    assert_eq!(c.run(&["ACL", "DRYRUN", "e", "lpush", "k", "x"]), bulk("This user has no permissions to run the 'lpush' command"));
    assert_eq!(c.run(&["ACL", "DRYRUN", "e", "set", "w", "x"]), "+OK\r\n");
    let user = c.run(&["ACL", "GETUSER", "e"]);
    assert_eq!(
        user,
        format!(
            "*12\r\n{}*2\r\n{}{}{}*0\r\n{}{}{}{}{}{}{}*0\r\n",
            bulk("flags"), bulk("on"), bulk("nopass"), bulk("passwords"), bulk("commands"), bulk("-@all +@string"), bulk("keys"), bulk("%W~w*"), bulk("channels"), bulk("&ch"), bulk("selectors")
        )
    );
    assert!(c.run(&["ACL", "LOAD"]).starts_with("-ERR This Redis instance is not configured to use an ACL file."));
    assert!(c.run(&["ACL", "HELP"]).starts_with("*29\r\n"));
}

#[test]
fn subscribers_whose_channels_are_revoked_are_closed() {
    let mut c = Harness::new();
    c.run(&["ACL", "SETUSER", "sub", "on", "nopass", "+@all", "&news.*", "&chat"]);
    let listener = c.another(2);
    on(&mut c, listener, &["AUTH", "sub", "x"]);
    on(&mut c, listener, &["SUBSCRIBE", "chat"]);
    c.run(&["ACL", "SETUSER", "sub", "&more"]);
    assert!(c.engine.session(listener).is_some(), "rules only added: nothing lost");
    c.run(&["ACL", "SETUSER", "sub", "resetchannels", "&chat"]);
    assert!(c.engine.session(listener).is_some(), "its subscription still fits");
    c.run(&["ACL", "SETUSER", "sub", "resetchannels", "&news.*"]);
    assert!(c.engine.session(listener).is_none(), "a subscription the rules no longer allow closes the client");
}

#[test]
fn acl_setuser_is_redacted_in_the_slow_log() {
    let mut args: Vec<Vec<u8>> = ["ACL", "SETUSER", "alice", "on", ">secret"].iter().map(|a| a.as_bytes().to_vec()).collect();
    crate::slowlog::redact(&mut args);
    assert_eq!(args[..2], [b"ACL".to_vec(), b"SETUSER".to_vec()]);
    assert!(args[2..].iter().all(|a| a == b"(redacted)"));
}

/// The ACL fuzzer's corpus (which the fuzzer adds to as it runs): every user accepted from
/// printable rules is described by rules that make the same user. As in the fuzz target, rules
/// that cannot be read back — in redis-server either — are passed over: quotes, and patterns with
/// parentheses (a word ending in `)` ends a selector).
#[test]
fn fuzz_corpus_rules_describe_back_to_the_same_user() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/acl_rules");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("the ACL fuzz corpus is in the repository") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let words: Vec<&[u8]> = data.split(|b| *b == b' ').filter(|w| !w.is_empty()).take(32).collect();
        if words.iter().any(|w| w.iter().any(|b| !b.is_ascii_graphic())) {
            continue;
        }
        let Ok(rules) = merge_selectors(&words) else { continue };
        let mut user = User::new();
        if rules.iter().try_for_each(|r| user.apply(r)).is_err() {
            continue;
        }
        let description = describe::user(&user);
        if !reads_back(&description) {
            continue;
        }
        let words: Vec<&[u8]> = description.split(|b| *b == b' ').collect();
        let mut copy = User::new();
        for rule in merge_selectors(&words).expect("balanced") {
            copy.apply(&rule).unwrap_or_else(|e| panic!("{:?}: {e:?}", String::from_utf8_lossy(&rule)));
        }
        assert_eq!(String::from_utf8_lossy(&describe::user(&copy)), String::from_utf8_lossy(&description));
        seen += 1;
    }
    assert!(seen >= 4, "{seen} corpus entries");
}

/// Whether listed rules can be given back to ACL SETUSER as words: no quotes, no pattern holding a
/// parenthesis, and no `~*` beside another key pattern (a pattern after `~*` is refused, and `~*`
/// drops the patterns before it: `%RW~* %R` lists as `~* %R~`, `~a %RW~*` as `~a ~*`, in
/// redis-server too).
fn reads_back(description: &[u8]) -> bool {
    let pattern = |word: &[u8]| matches!(word.first(), Some(b'~' | b'%' | b'&'));
    !description.iter().any(|b| matches!(b, b'"' | b'\'')) && !description.split(|b| *b == b' ').any(|word| {
        let inner = word.strip_prefix(b"(").unwrap_or(word);
        pattern(inner) && inner.iter().any(|b| matches!(b, b'(' | b')'))
    }) && !all_keys_beside_key_patterns(description)
}

/// Whether `~*` sits beside another key pattern in the root permissions or in one selector.
fn all_keys_beside_key_patterns(description: &[u8]) -> bool {
    let (mut all_keys, mut others) = (false, false);
    description.split(|b| *b == b' ').any(|word| {
        if word.starts_with(b"(") {
            (all_keys, others) = (false, false);
        }
        let word = word.strip_prefix(b"(").unwrap_or(word);
        let word = word.strip_suffix(b")").unwrap_or(word);
        if word == b"~*" {
            all_keys = true;
        } else if matches!(word.first(), Some(b'~' | b'%')) {
            others = true;
        }
        all_keys && others
    })
}

#[test]
fn generated_passwords_differ_and_have_the_asked_length() {
    let mut acl = Acl::new(7);
    let a = acl.random_hex(64, 0);
    let b = acl.random_hex(64, 0);
    assert_ne!(a, b);
    assert_eq!(acl.random_hex(1024, 0).len(), 1024);
    assert!(a.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_ne!(Acl::new(8).random_hex(64, 0), Acl::new(7).random_hex(64, 0));
}

/// An ACL file held in memory, shared with the test that checks what the engine wrote.
#[derive(Clone, Default)]
struct MemoryFile(std::rc::Rc<std::cell::RefCell<Option<Vec<u8>>>>);

impl MemoryFile {
    fn holding(text: &str) -> Self {
        let file = MemoryFile::default();
        file.set(text);
        file
    }

    fn set(&self, text: &str) {
        *self.0.borrow_mut() = Some(text.as_bytes().to_vec());
    }

    fn text(&self) -> String {
        String::from_utf8(self.0.borrow().clone().unwrap_or_default()).unwrap()
    }
}

impl file::AclFile for MemoryFile {
    fn read(&mut self) -> Result<Vec<u8>, String> {
        self.0.borrow().clone().ok_or_else(|| "No such file or directory".to_string())
    }

    fn write(&mut self, contents: &[u8]) -> Result<(), String> {
        *self.0.borrow_mut() = Some(contents.to_vec());
        Ok(())
    }
}

const ACL_FILE: &str = "/etc/cachet/users.acl";

/// A harness whose engine was started with `aclfile` pointing at `file`.
fn with_acl_file(file: &MemoryFile) -> Harness {
    let mut c = Harness::new();
    c.engine.set_acl_file(Box::new(file.clone()));
    c.engine.configure(&[("aclfile".to_string(), ACL_FILE.to_string())]).unwrap();
    c
}

/// Every problem of a broken file in one reply, in Redis 7.0's words (checked against
/// redis-server 7.0.15 with the same file), and nothing loaded.
#[test]
fn acl_load_reports_every_broken_line_and_changes_nothing() {
    let file = MemoryFile::holding("user alice on >pw ~* +@all\n");
    let mut c = with_acl_file(&file);
    file.set("\n# comment\nuser alice on >pw nosuchrule\nusr bob on\nuser\nuser carol on +nosuchcmd ~x\nuser alice on\nuser  erin on\nUser frank on\nuser gina on +@all resetkeys %Q~x\n");
    let f = ACL_FILE;
    let expected = format!(
        "-ERR {f}:2 should start with user keyword followed by the username. {f}:3: Syntax error. {f}:4 should start with user keyword followed by the username. {f}:5 should start with user keyword followed by the username. {f}:6: Error in applying operation '+nosuchcmd': Unknown command or category name in ACL. WARNING: Duplicate user 'alice' found on line 7. {f}:8: Syntax error. {f}:9 should start with user keyword followed by the username. {f}:10: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed\r\n"
    );
    assert_eq!(c.run(&["ACL", "LOAD"]), expected);
    file.set("user x on +nosuch1 +nosuch2 badrule -@nocat\nuser y badrule1 badrule2\n");
    let expected = format!(
        "-ERR {f}:1: Error in applying operation '+nosuch1': Unknown command or category name in ACL. {f}:1: Error in applying operation '+nosuch2': Unknown command or category name in ACL. {f}:1: Syntax error. {f}:1: Error in applying operation '-@nocat': Unknown command or category name in ACL. {f}:2: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed\r\n"
    );
    assert_eq!(c.run(&["ACL", "LOAD"]), expected, "unknown names are each reported, other errors once per line");
    file.set("user a\tb on\n");
    assert_eq!(c.run(&["ACL", "LOAD"]), format!("-ERR '{f}:1: username 'a\tb' contains invalid characters. WARNING: ACL errors detected, no change to the previously active ACL rules was performed\r\n"));
    file.set("user dave on (+get ~k\n");
    assert_eq!(c.run(&["ACL", "LOAD"]), format!("-ERR {f}:1: Unmatched parenthesis in selector definition. WARNING: ACL errors detected, no change to the previously active ACL rules was performed\r\n"));
    *file.0.borrow_mut() = None;
    assert_eq!(c.run(&["ACL", "LOAD"]), format!("-ERR Error loading ACLs, opening file '{f}': No such file or directory\r\n"));
    assert_eq!(c.run(&["ACL", "USERS"]), array(&["alice", "default"]), "the users loaded at start stay");
}

#[test]
fn acl_load_replaces_every_user_and_closes_their_connections() {
    let file = MemoryFile::holding("user alice on >pw ~* +@all\n");
    let mut c = with_acl_file(&file);
    assert_eq!(c.run(&["ACL", "LIST"]), array(&["user alice on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~* resetchannels +@all", "user default on nopass ~* &* +@all"]), "loaded at start");
    let alice = c.another(2);
    let bystander = c.another(3);
    assert_eq!(on(&mut c, alice, &["AUTH", "alice", "pw"]), "+OK\r\n");
    file.set("  \n\t\n user x on  \t~x %R~a (+get ~k) (  +set ~j ) \r\nuser default on >pw ~* +@all\n user y\n");
    assert_eq!(c.run(&["ACL", "LOAD"]), "+OK\r\n");
    assert_eq!(c.run(&["ACL", "LIST"]), array(&[
        "user default on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~* resetchannels +@all",
        "user x on ~x %R~a resetchannels -@all (~k resetchannels -@all +get) (~j resetchannels -@all +set)",
        "user y off resetchannels -@all",
    ]));
    assert!(c.engine.session(alice).is_none(), "a connection of a replaced user is closed");
    assert_eq!(on(&mut c, bystander, &["PING"]), "+PONG\r\n", "the default user's connections stay");
    assert!(c.engine.acl().limits(b"default"), "and follow the new default user");
}

#[test]
fn acl_save_writes_what_acl_list_shows() {
    let file = MemoryFile::holding("");
    let mut c = with_acl_file(&file);
    assert_eq!(c.run(&["ACL", "SETUSER", "bob", "on", ">x", "~a*", "(+get ~b)"]), "+OK\r\n");
    assert_eq!(c.run(&["ACL", "SAVE"]), "+OK\r\n");
    assert_eq!(file.text(), "user bob on #2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 ~a* resetchannels -@all (~b resetchannels -@all +get)\nuser default on nopass ~* &* +@all\n");
    assert_eq!(c.run(&["ACL", "DELUSER", "bob"]), ":1\r\n");
    assert_eq!(c.run(&["ACL", "LOAD"]), "+OK\r\n");
    assert_eq!(c.run(&["ACL", "USERS"]), array(&["bob", "default"]), "what was saved loads back");
}

#[test]
fn without_an_acl_file_load_and_save_say_so() {
    let mut c = Harness::new();
    let refusal = "-ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.\r\n";
    assert_eq!(c.run(&["ACL", "LOAD"]), refusal);
    assert_eq!(c.run(&["ACL", "SAVE"]), refusal);
    assert_eq!(c.run(&["CONFIG", "GET", "aclfile"]), array(&["aclfile", ""]));
    assert_eq!(c.run(&["CONFIG", "SET", "aclfile", "/tmp/x"]), "-ERR CONFIG SET failed (possibly related to argument 'aclfile') - can't set immutable config\r\n");
}

#[test]
fn an_acl_file_at_start_is_loaded_or_stops_the_start() {
    let missing = MemoryFile::default();
    let mut engine = crate::engine::Engine::new(1);
    engine.set_acl_file(Box::new(missing.clone()));
    let error = engine.configure(&[("aclfile".to_string(), ACL_FILE.to_string())]).unwrap_err();
    assert_eq!((error.name.as_str(), error.message.as_str()), ("aclfile", "Error loading ACLs, opening file '/etc/cachet/users.acl': No such file or directory"));
    missing.set("user alice on nopass\n");
    let both = [("aclfile".to_string(), ACL_FILE.to_string()), ("user".to_string(), "bob on".to_string())];
    let error = engine.configure(&both).unwrap_err();
    assert!(error.message.contains("users are defined both by `user` settings and in the ACL file"), "{}", error.message);
    let mut engine = crate::engine::Engine::new(1);
    engine.set_acl_file(Box::new(missing.clone()));
    engine.configure(&[("requirepass".to_string(), "pw".to_string()), ("aclfile".to_string(), ACL_FILE.to_string())]).unwrap();
    assert!(engine.acl().authenticates(b"alice", b"anything"));
    assert!(engine.acl().default_needs_no_auth(), "a file without a default user gives the fresh one, as Redis does");
}
