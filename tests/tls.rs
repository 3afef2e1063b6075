//! TLS on the server (`--tls-port`): redis-cli and redis-py with and without client
//! certificates, a CA the server does not trust and one the client does not, a client that never
//! finishes its handshake, and settings refused at start. The certificates are made here, for
//! each run: a CA, a server certificate for 127.0.0.1 and a client certificate, and a second CA
//! that signed nothing the other side trusts.

mod common;

use common::pki::Pki;
use common::{Server, free_port, redis_cli, run_redis_py};
use std::io::Read;
use std::net::TcpStream;
use std::process::Command;

/// Runs redis-cli over TLS; returns (succeeded, stdout and stderr).
fn tls_cli(port: u16, tls: &[&str], args: &[&str]) -> (bool, String) {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "--tls"])
        .args(tls)
        .args(args)
        .output()
        .expect("redis-cli runs (install Debian's redis-tools)");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    // redis-cli prints a connection failure and still exits 0 in some versions: look at both.
    let ok = output.status.success() && !text.contains("Could not connect") && !text.contains("SSL_connect failed") && !text.contains("Error");
    (ok, text)
}

fn start(pki: &Pki, extra: &[&str]) -> (Server, u16) {
    let tls_port = free_port();
    let mut flags = pki.serve_flags(tls_port);
    flags.extend(extra.iter().map(|s| s.to_string()));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    (Server::start(&flags), tls_port)
}

#[test]
fn clients_with_a_certificate_from_the_ca_are_served_and_others_refused() {
    let pki = Pki::new("tls-mutual");
    let (server, port) = start(&pki, &["--tls-ca-cert-file", &pki.path("ca.crt")]);
    let (ca, cert, key) = (pki.path("ca.crt"), pki.path("client.crt"), pki.path("client.key"));
    let client = ["--cacert", &ca, "--cert", &cert, "--key", &key];

    let (ok, out) = tls_cli(port, &client, &["SET", "k", "over tls"]);
    assert!(ok && out.trim() == "OK", "{out}");
    assert_eq!(server.cli(&["GET", "k"]).trim(), "over tls", "plain and TLS clients share the keyspace");
    let (ok, out) = tls_cli(port, &client, &["CONFIG", "GET", "tls-*"]);
    assert!(ok, "{out}");
    for expected in ["tls-port", &port.to_string(), "tls-auth-clients", "yes", "tls-ca-cert-file", &ca] {
        assert!(out.lines().any(|l| l == expected), "CONFIG GET tls-* lacks {expected}: {out}");
    }

    let (ok, out) = tls_cli(port, &["--cacert", &ca], &["PING"]);
    assert!(!ok, "a client without a certificate was served: {out}");
    let stranger = ["--cacert", &ca, "--cert", &pki.path("stranger.crt"), "--key", &pki.path("stranger.key")];
    let (ok, out) = tls_cli(port, &stranger, &["PING"]);
    assert!(!ok, "a certificate from another CA was accepted: {out}");
    let (ok, out) = tls_cli(port, &["--cacert", &pki.path("other-ca.crt"), "--cert", &cert, "--key", &key], &["PING"]);
    assert!(!ok, "the client trusted a server its CA did not sign: {out}");

    run_redis_py(&[concat!(env!("CARGO_MANIFEST_DIR"), "/clients/redis_py_tls.py"), &ca, &cert, &key], port);
}

#[test]
fn client_certificates_can_be_optional_or_not_asked_for() {
    let pki = Pki::new("tls-optional");
    let ca = pki.path("ca.crt");
    let (_optional, port) = start(&pki, &["--tls-ca-cert-file", &ca, "--tls-auth-clients", "optional"]);
    let (ok, out) = tls_cli(port, &["--cacert", &ca], &["PING"]);
    assert!(ok && out.trim() == "PONG", "optional: a client without a certificate is served: {out}");
    let (ok, out) = tls_cli(port, &["--cacert", &ca, "--cert", &pki.path("client.crt"), "--key", &pki.path("client.key")], &["PING"]);
    assert!(ok && out.trim() == "PONG", "optional: a client with one too: {out}");
    let (ok, out) = tls_cli(port, &["--cacert", &ca, "--cert", &pki.path("stranger.crt"), "--key", &pki.path("stranger.key")], &["PING"]);
    assert!(!ok, "optional: a certificate that does not verify is still refused: {out}");

    let (_none, port) = start(&pki, &["--tls-auth-clients", "no"]);
    let (ok, out) = tls_cli(port, &["--cacert", &ca], &["ECHO", "hi"]);
    assert!(ok && out.trim() == "hi", "no: served without a CA file: {out}");
}

/// A client that connects to the TLS port and never starts its handshake holds up nobody: the
/// handshake runs in a task of its own.
#[test]
fn a_silent_client_does_not_hold_up_others() {
    let pki = Pki::new("tls-silent");
    let (server, port) = start(&pki, &["--tls-auth-clients", "no"]);
    let silent: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connects")).collect();
    let (ok, out) = tls_cli(port, &["--cacert", &pki.path("ca.crt")], &["SET", "after", "silence"]);
    assert!(ok && out.trim() == "OK", "{out}");
    assert_eq!(redis_cli(server.port, &["GET", "after"]).trim(), "silence");
    for mut stream in silent {
        stream.set_nonblocking(true).expect("nonblocking");
        let mut byte = [0u8; 1];
        assert!(stream.read(&mut byte).is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock), "the server wrote first");
    }
}

/// CONFIG SET tls-cert-file and tls-key-file re-read the files for the handshakes that follow, as
/// Redis does: redis-py's connection made before the change keeps working, new ones see the new
/// certificate, and a file that is no certificate is refused with Redis's reply and changes nothing.
#[test]
fn config_set_reloads_the_certificate_for_new_connections() {
    let pki = Pki::new("tls-reload");
    let (server, port) = start(&pki, &["--tls-auth-clients", "no"]);
    let dir = pki.dir.display().to_string();
    run_redis_py(&[concat!(env!("CARGO_MANIFEST_DIR"), "/clients/redis_py_tls_reload.py"), &dir], port);

    // The exact reply, as redis-server 7.0.15 gives it; the reason is in the log.
    let reply = server.cli(&["CONFIG", "SET", "tls-key-file", &pki.path("missing.key"), "tls-cert-file", &pki.path("server.crt")]);
    assert_eq!(reply.trim(), "ERR CONFIG SET failed (possibly related to argument 'tls-key-file') - Unable to update TLS configuration. Check server logs.");
    assert!(server.log_text().contains("keeping the previous TLS configuration"), "{}", server.log_text());
    let (ok, out) = tls_cli(port, &["--cacert", &pki.path("other-ca.crt")], &["GET", "tls:k"]);
    assert!(ok && out.trim() == "before", "{out}");

    // Back to the first certificate, from a TLS connection itself.
    let (ok, out) = tls_cli(port, &["--cacert", &pki.path("other-ca.crt")], &["CONFIG", "SET", "tls-cert-file", &pki.path("server.crt"), "tls-key-file", &pki.path("server.key")]);
    assert!(ok && out.trim() == "OK", "{out}");
    let (ok, out) = tls_cli(port, &["--cacert", &pki.path("ca.crt")], &["PING"]);
    assert!(ok && out.trim() == "PONG", "{out}");
}

/// CONFIG SET tls-ca-cert-file and tls-auth-clients change which client certificates new
/// handshakes take; a CA file that cannot be read is refused.
#[test]
fn config_set_changes_the_client_checks() {
    let pki = Pki::new("tls-reload-ca");
    let (server, port) = start(&pki, &["--tls-ca-cert-file", &pki.path("ca.crt")]);
    let ca = pki.path("ca.crt");
    let client = ["--cacert", &ca, "--cert", &pki.path("client.crt"), "--key", &pki.path("client.key")];
    let stranger = ["--cacert", &ca, "--cert", &pki.path("stranger.crt"), "--key", &pki.path("stranger.key")];
    assert!(tls_cli(port, &client, &["PING"]).0);
    assert!(!tls_cli(port, &stranger, &["PING"]).0);

    assert_eq!(server.cli(&["CONFIG", "SET", "tls-ca-cert-file", &pki.path("other-ca.crt")]).trim(), "OK");
    let (ok, out) = tls_cli(port, &stranger, &["PING"]);
    assert!(ok && out.trim() == "PONG", "the other CA's client is now taken: {out}");
    assert!(!tls_cli(port, &client, &["PING"]).0, "the first CA's is not");

    let reply = server.cli(&["CONFIG", "SET", "tls-ca-cert-file", &pki.path("nowhere.crt")]);
    assert_eq!(reply.trim(), "ERR CONFIG SET failed (possibly related to argument 'tls-ca-cert-file') - Unable to update TLS configuration. Check server logs.");
    let reply = server.cli(&["CONFIG", "SET", "tls-auth-clients", "sometimes"]);
    assert_eq!(reply.trim(), "ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - argument(s) must be one of the following: no, yes, optional");
    assert!(tls_cli(port, &stranger, &["PING"]).0, "still the other CA");

    // A fresh engine after a fault is told the settings of the moment, not those of the start.
    let mut culprit = server.raw();
    culprit.send(common::resp(&["DEBUG", "PANIC"]).as_bytes());
    assert!(culprit.read_until("\r\n").starts_with("-ERR internal error: the engine faulted"));
    assert_eq!(server.cli(&["CONFIG", "GET", "tls-ca-cert-file"]).lines().nth(1), Some(pki.path("other-ca.crt").as_str()));

    assert_eq!(server.cli(&["CONFIG", "SET", "tls-auth-clients", "no"]).trim(), "OK");
    let (ok, out) = tls_cli(port, &["--cacert", &ca], &["CONFIG", "GET", "tls-auth-clients"]);
    assert!(ok && out.lines().eq(["tls-auth-clients", "no"]), "no client certificate needed now: {out}");
    assert_eq!(server.cli(&["CONFIG", "SET", "tls-port", "1"]).trim(), "ERR CONFIG SET failed (possibly related to argument 'tls-port') - can't set immutable config");
}

/// Settings that cannot work stop the server at start with a message that says what to change.
#[test]
fn wrong_tls_settings_are_refused_at_start() {
    let pki = Pki::new("tls-refused");
    let port = free_port().to_string();
    let cases: [(Vec<String>, &str); 4] = [
        (vec!["--tls-port".into(), port.clone(), "--tls-cert-file".into(), pki.path("server.crt")], "--tls-key-file"),
        (pki.serve_flags(free_port()), "--tls-ca-cert-file"),
        (
            vec!["--tls-port".into(), port.clone(), "--tls-cert-file".into(), pki.path("server.crt"), "--tls-key-file".into(), pki.path("client.key"), "--tls-auth-clients".into(), "no".into()],
            "does not go with the certificate",
        ),
        (vec!["--set".into(), "tls-replication".into(), "yes".into()], "not a setting cachet has"),
    ];
    for (flags, expected) in cases {
        let stderr = common::refused_start(0, &flags);
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
    }
}
