"""redis-py over TLS with a client certificate: usage redis_py_tls.py CA CERT KEY PORT.

Writes and reads small and large values (a large reply leaves the server in many TLS records),
pipelines, and checks the server sees the TLS client as any TCP client."""

import sys

import redis

ca, cert, key, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
r = redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=ca, ssl_certfile=cert, ssl_keyfile=key)
assert r.ping()
assert r.set("tls:small", "v")
assert r.get("tls:small") == b"v"
big = b"x" * (4 * 1024 * 1024)
assert r.set("tls:big", big)
assert r.get("tls:big") == big
pipe = r.pipeline(transaction=False)
for i in range(2000):
    pipe.incr("tls:counter")
assert pipe.execute()[-1] == 2000
assert r.hset("tls:hash", mapping={"a": "1", "b": "2"}) == 2
assert r.hgetall("tls:hash") == {b"a": b"1", b"b": b"2"}
assert r.client_info()["addr"].startswith("127.0.0.1:")
print("ok")
