//! cachet's client over TLS (`rediss://`): against Debian's redis-server started with
//! `--tls-port`, and against cachet's own TLS listener, with certificates made for each run
//! (common/pki.rs). A CA the client does not trust, a certificate for another name and a server
//! that wants a client certificate are each refused with an error that says what to change.

mod common;

use cachet::client::{Client, Error};
use common::pki::Pki;
use common::{Redis, Server, free_port};
use std::time::Duration;

const TTL: Duration = Duration::from_secs(60);

/// redis-server with a plain port (to check from the side) and a TLS port.
fn tls_redis(pki: &Pki, auth_clients: &str) -> (Redis, u16) {
    let tls_port = free_port().to_string();
    let (cert, key, ca) = (pki.path("server.crt"), pki.path("server.key"), pki.path("ca.crt"));
    let flags = ["--tls-port", &tls_port, "--tls-cert-file", &cert, "--tls-key-file", &key, "--tls-ca-cert-file", &ca, "--tls-auth-clients", auth_clients];
    (Redis::start(&flags), tls_port.parse().expect("a port"))
}

/// A `rediss://` URL to `host:port` with one connection attempt (a refused handshake is not
/// worth trying again) and `query`.
fn url(host: &str, port: u16, query: &str) -> String {
    format!("rediss://{host}:{port}/?reconnect_attempts=1&retries=0&{query}")
}

/// Sets and reads back a key through a client for `url`.
async fn round_trip(url: &str, key: &str) -> Result<Option<String>, Error> {
    let client = Client::open(url).await?;
    client.set(key, "over tls", TTL).await?;
    let value = client.get(key).await?;
    client.close();
    Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
}

async fn refusal(url: &str) -> String {
    match round_trip(url, "refused").await {
        Ok(value) => panic!("{url} was served: {value:?}"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn redis_server_over_tls() {
    let pki = Pki::new("client-tls-redis");
    let (ca, other_ca) = (pki.path("ca.crt"), pki.path("other-ca.crt"));
    let (redis, port) = tls_redis(&pki, "no");

    let trusted = url("127.0.0.1", port, &format!("ssl_ca_certs={ca}"));
    assert_eq!(round_trip(&trusted, "k").await.unwrap().as_deref(), Some("over tls"));
    assert_eq!(redis.cli(&["GET", "k"]).trim(), "over tls", "the value reached the server");
    let by_name = url("localhost", port, &format!("ssl_ca_certs={ca}&protocol=3"));
    assert_eq!(round_trip(&by_name, "k2").await.unwrap().as_deref(), Some("over tls"), "by DNS name, RESP3");

    let many = Client::open(&trusted).await.unwrap();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let many = many.clone();
            tokio::spawn(async move { many.set(format!("n{i}"), i.to_string(), TTL).await.and(many.get(format!("n{i}")).await) })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap().unwrap().as_deref(), Some(i.to_string().as_bytes()), "concurrent request {i}");
    }
    let opened = many.pool_stats().created;
    for i in 0..20 {
        assert_eq!(many.get(format!("n{i}")).await.unwrap().as_deref(), Some(i.to_string().as_bytes()));
    }
    assert_eq!(many.pool_stats().created, opened, "idle TLS connections are reused (session tickets do not look like a break)");

    let error = refusal(&url("127.0.0.1", port, &format!("ssl_ca_certs={other_ca}"))).await;
    assert!(error.contains("not signed by a CA this client trusts") && error.contains("ssl_ca_certs"), "{error}");
    let error = refusal(&url("127.0.0.1", port, "")).await;
    assert!(error.contains("not signed by a CA this client trusts"), "the system's CAs do not know the test CA: {error}");
    let unchecked = url("127.0.0.1", port, &format!("ssl_ca_certs={other_ca}&ssl_cert_reqs=none"));
    assert_eq!(round_trip(&unchecked, "k3").await.unwrap().as_deref(), Some("over tls"), "ssl_cert_reqs=none checks nothing");
    let error = refusal(&url("127.0.0.1", redis.port, &format!("ssl_ca_certs={ca}&connect_timeout=0.3"))).await;
    assert!(error.contains("TLS handshake") && error.contains("without TLS"), "a plain port: {error}");
    let error = refusal(&url("127.0.0.1", port, "ssl_ca_certs=/nonexistent/ca.pem")).await;
    assert!(error.contains("ssl_ca_certs") && error.contains("/nonexistent/ca.pem"), "{error}");
}

#[tokio::test]
async fn redis_server_that_wants_a_client_certificate() {
    let pki = Pki::new("client-tls-mutual");
    let (ca, cert, key) = (pki.path("ca.crt"), pki.path("client.crt"), pki.path("client.key"));
    let (_redis, port) = tls_redis(&pki, "yes");
    let with_certificate = url("127.0.0.1", port, &format!("ssl_ca_certs={ca}&ssl_certfile={cert}&ssl_keyfile={key}"));
    assert_eq!(round_trip(&with_certificate, "k").await.unwrap().as_deref(), Some("over tls"));
    let error = refusal(&url("127.0.0.1", port, &format!("ssl_ca_certs={ca}"))).await;
    assert!(error.contains("CertificateRequired") || error.contains("client certificate"), "no certificate: {error}");
    let (stranger, stranger_key) = (pki.path("stranger.crt"), pki.path("stranger.key"));
    let error = refusal(&url("127.0.0.1", port, &format!("ssl_ca_certs={ca}&ssl_certfile={stranger}&ssl_keyfile={stranger_key}"))).await;
    assert!(error.contains("127.0.0.1"), "a certificate from another CA: {error}");
}

#[tokio::test]
async fn cachets_own_tls_listener() {
    let pki = Pki::new("client-tls-cachet");
    let (ca, cert, key) = (pki.path("ca.crt"), pki.path("client.crt"), pki.path("client.key"));
    let tls_port = free_port();
    let mut flags = pki.serve_flags(tls_port);
    flags.extend(["--tls-ca-cert-file".to_string(), ca.clone()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = Server::start(&flags);
    let client_cert = format!("ssl_ca_certs={ca}&ssl_certfile={cert}&ssl_keyfile={key}");
    assert_eq!(round_trip(&url("127.0.0.1", tls_port, &client_cert), "k").await.unwrap().as_deref(), Some("over tls"));
    assert_eq!(server.cli(&["GET", "k"]).trim(), "over tls");
    let valkeys = format!("valkeys://localhost:{tls_port}/?{client_cert}&notouch=true");
    assert_eq!(round_trip(&valkeys, "k2").await.unwrap().as_deref(), Some("over tls"), "valkeys://, with CLIENT NO-TOUCH");

    // A certificate that names another host: refused unless ssl_check_hostname=false.
    let other_port = free_port();
    let other_flags = ["--tls-port", &other_port.to_string(), "--tls-cert-file", &pki.path("misnamed.crt"), "--tls-key-file", &pki.path("misnamed.key"), "--tls-auth-clients", "no"];
    let _misnamed = Server::start(&other_flags);
    let error = refusal(&url("127.0.0.1", other_port, &format!("ssl_ca_certs={ca}"))).await;
    assert!(error.contains("does not name the host") && error.contains("ssl_check_hostname"), "{error}");
    let unnamed = url("127.0.0.1", other_port, &format!("ssl_ca_certs={ca}&ssl_check_hostname=false"));
    assert_eq!(round_trip(&unnamed, "k").await.unwrap().as_deref(), Some("over tls"), "the chain is still checked, the name not");
    let error = refusal(&url("127.0.0.1", other_port, &format!("ssl_ca_certs={}&ssl_check_hostname=false", pki.path("other-ca.crt")))).await;
    assert!(error.contains("not signed by a CA this client trusts"), "without the name check the CA still counts: {error}");
}
