"""CONFIG SET of the server's certificate over TLS: usage redis_py_tls_reload.py DIR PORT, where DIR
holds the test's certificates and the server started with server.crt (signed by ca.crt) and
--tls-auth-clients no.

A connection made before the change keeps working; new connections get other-server.crt (signed by
other-ca.crt), so a client that trusts only ca.crt can no longer connect; a file that is no
certificate is refused and changes nothing."""

import sys

import redis

d, port = sys.argv[1], int(sys.argv[2])


def connect(ca):
    r = redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=f"{d}/{ca}")
    assert r.ping()
    return r


def refused(ca):
    try:
        connect(ca)
    except redis.exceptions.ConnectionError:
        return True
    return False


old = connect("ca.crt")
assert old.set("tls:k", "before")
assert refused("other-ca.crt"), "the server's first certificate is signed by ca.crt only"

reply = old.execute_command("CONFIG", "SET", "tls-cert-file", f"{d}/other-server.crt", "tls-key-file", f"{d}/other-server.key")
assert reply in (True, b"OK"), reply
assert refused("ca.crt"), "new connections get the new certificate"
new = connect("other-ca.crt")
assert new.get("tls:k") == b"before"
assert old.get("tls:k") == b"before", "a connection made before the change keeps working"
assert old.config_get("tls-cert-file") == {"tls-cert-file": f"{d}/other-server.crt"}

with open(f"{d}/junk.pem", "w") as junk:
    junk.write("not a certificate\n")
try:
    old.execute_command("CONFIG", "SET", "tls-cert-file", f"{d}/junk.pem")
    raise AssertionError("a file without a certificate was taken")
except redis.exceptions.ResponseError as error:
    assert "possibly related to argument 'tls-cert-file'" in str(error) and "Unable to update TLS configuration" in str(error), error
assert old.config_get("tls-cert-file") == {"tls-cert-file": f"{d}/other-server.crt"}, "nothing changed"
assert connect("other-ca.crt").get("tls:k") == b"before", "new connections still get the good certificate"
assert new.ping() and old.ping()
print("ok")
