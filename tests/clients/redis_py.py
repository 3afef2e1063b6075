"""redis-py against a running cachet: strings, expiry, pipelines and both protocol versions.

Usage: python3 redis_py.py PORT. Exits non-zero (with the failing assertion) when a reply differs.
"""
import sys

import redis

port = int(sys.argv[1])

for protocol in (2, 3):
    r = redis.Redis(host="127.0.0.1", port=port, protocol=protocol)
    prefix = f"py{protocol}:"
    assert r.ping() is True
    assert r.set(prefix + "k", "v", ex=100) is True
    assert r.get(prefix + "k") == b"v"
    assert 99 <= r.ttl(prefix + "k") <= 100
    assert r.set(prefix + "k", "w", nx=True) is None
    assert r.incrby(prefix + "n", 5) == 5
    assert r.incrbyfloat(prefix + "f", 1.5) == 1.5
    assert r.mget([prefix + "k", prefix + "missing"]) == [b"v", None]
    pipe = r.pipeline(transaction=False)
    for i in range(100):
        pipe.set(f"{prefix}p:{i}", i)
    assert all(pipe.execute())
    assert r.get(prefix + "p:99") == b"99"
    assert r.exists(prefix + "k", prefix + "missing") == 1
    assert r.delete(prefix + "k") == 1
    assert r.set(prefix + "t", "text") is True
    try:
        r.incr(prefix + "t")
        raise AssertionError("INCR on text must fail")
    except redis.ResponseError as error:
        assert str(error) == "value is not an integer or out of range", str(error)
    info = r.info()
    assert info["redis_version"].startswith("7"), info
    # What redis-py's own test harness reads before it starts.
    assert info["cluster_enabled"] == 0 and "used_cpu_user" in info, info
    everything = r.info("everything")
    assert "cmdstat_info" in everything and "errorstat_ERR" in everything, everything
    assert r.config_get("maxclients") == {"maxclients": "10000"}
    assert r.client_setname("py") is True
    assert r.client_getname() in (b"py", "py")  # redis-py decodes it only for RESP2, with Redis too
    keys = set(r.scan_iter(match=prefix + "p:*", count=20))
    assert len(keys) == 100, len(keys)

    # pipeline() is a MULTI/EXEC transaction by default.
    pipe = r.pipeline()
    pipe.set(prefix + "tx", 1).incr(prefix + "tx").get(prefix + "tx")
    assert pipe.execute() == [True, 2, b"2"]
    # Optimistic locking: a watched key changed by another client fails the transaction.
    other = redis.Redis(host="127.0.0.1", port=port, protocol=protocol)
    with r.pipeline() as pipe:
        pipe.watch(prefix + "tx")
        assert pipe.get(prefix + "tx") == b"2"
        other.set(prefix + "tx", 10)
        pipe.multi()
        pipe.set(prefix + "tx", 3)
        try:
            pipe.execute()
            raise AssertionError("EXEC must fail after a watched key changed")
        except redis.WatchError:
            pass
    assert r.get(prefix + "tx") == b"10"
    # transaction() retries until the watched key holds still.
    def double(pipe):
        value = int(pipe.get(prefix + "tx"))
        pipe.multi()
        pipe.set(prefix + "tx", value * 2)
    r.transaction(double, prefix + "tx")
    assert r.get(prefix + "tx") == b"20"
    other.close()
    r.close()

print("redis-py: ok")
