"""redis-py against a running cachet: bitmaps, BITFIELD and HyperLogLog in both protocol versions.

Usage: python3 bitmaps_py.py PORT. Exits non-zero (with the failing assertion) when a reply differs.
"""
import sys

import redis

port = int(sys.argv[1])

for protocol in (2, 3):
    r = redis.Redis(host="127.0.0.1", port=port, protocol=protocol)
    p = f"py{protocol}:"
    assert r.setbit(p + "bits", 7, 1) == 0
    assert r.getbit(p + "bits", 7) == 1
    assert r.set(p + "text", "foobar") is True
    assert r.bitcount(p + "text") == 26
    assert r.bitcount(p + "text", 1, 1) == 6
    assert r.bitcount(p + "text", 5, 30, "BIT") == 17
    assert r.bitpos(p + "bits", 1) == 7
    assert r.bitpos(p + "bits", 0, 0, -1) == 0
    assert r.bitop("AND", p + "and", p + "text", p + "bits") == 6
    assert r.bitop("NOT", p + "not", p + "text") == 6
    field = r.bitfield(p + "field")
    assert field.set("i8", "#0", 100).incrby("u2", 100, 1).get("i8", "#0").execute() == [0, 1, 100]
    over = r.bitfield(p + "field", default_overflow="FAIL")
    assert over.incrby("u2", 100, 10).execute() == [None]
    assert r.bitfield_ro(p + "field", "i8", 0) == [100]
    assert r.pfadd(p + "hll", "a", "b", "c") == 1
    assert r.pfadd(p + "hll", "a") == 0
    assert r.pfcount(p + "hll") == 3
    assert r.pfadd(p + "hll2", "c", "d") == 1
    assert r.pfcount(p + "hll", p + "hll2") == 4
    assert r.pfmerge(p + "union", p + "hll", p + "hll2") is True
    assert r.pfcount(p + "union") == 4
    try:
        r.pfadd(p + "text", "x")
        raise AssertionError("PFADD on a plain string")
    except redis.ResponseError as error:
        assert "not a valid HyperLogLog" in str(error), error

print("ok")
