"""redis-py's client-side cache (RESP3, CLIENT TRACKING) against a server: a cached value is
served locally until another client changes, expires or flushes it, and the cache then asks the
server again. Run as: python3 redis_py_cache.py PORT"""
import sys
import time

import redis
from redis.cache import CacheConfig

port = int(sys.argv[1])
cached = redis.Redis(port=port, protocol=3, cache_config=CacheConfig())
other = redis.Redis(port=port)
other.flushall()
cache = cached.get_cache()


def wait_until(what, condition):
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"waited 30 s for {what}"
        # Invalidations are read when the cached connection is next used.
        cached.ping()
        time.sleep(0.01)


other.set("greeting", "hello")
assert cached.get("greeting") == b"hello"
assert cache.size == 1, cache.size
# Served from the cache: the server is not asked (its keyspace_hits stays where it is).
hits = other.info("stats")["keyspace_hits"]
for _ in range(5):
    assert cached.get("greeting") == b"hello"
assert other.info("stats")["keyspace_hits"] == hits

# Another client changes the key: the server's invalidation empties the cache entry.
other.set("greeting", "bonjour")
wait_until("the invalidation of a changed key", lambda: cache.size == 0)
assert cached.get("greeting") == b"bonjour"

# A key expires: the server tells the client when active expiry removes it. Nothing else changes
# the key after it is cached, so the invalidation waited for is the expiry's. (Should the machine
# be so slow that the key is gone before it is read, the read caches nothing: try again.)
other.delete("greeting")
wait_until("the invalidation of a deleted key", lambda: cache.size == 0)
for attempt in range(10):
    other.set("temporary", "soon gone", px=1000)
    if cached.get("temporary") == b"soon gone":
        break
assert cache.size == 1, cache.size
wait_until("the invalidation of an expired key", lambda: cache.size == 0)
assert cached.get("temporary") is None

# FLUSHALL empties the whole cache.
other.mset({"a": "1", "b": "2"})
assert cached.mget("a", "b") == [b"1", b"2"]
assert cached.get("a") == b"1" and cached.get("b") == b"2"
other.flushall()
wait_until("the invalidation of everything", lambda: cache.size == 0)
assert cached.get("a") is None
print("ok")
