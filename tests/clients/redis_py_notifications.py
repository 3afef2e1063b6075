"""redis-py's pubsub receiving cachet's keyspace notifications, in RESP2 and RESP3.

Usage: python3 redis_py_notifications.py PORT. Exits non-zero (with the failing assertion) on a
difference.
"""
import sys

import redis

port = int(sys.argv[1])


def next_message(p):
    """The next message (not a subscription confirmation), waiting up to 30 s."""
    message = p.get_message(ignore_subscribe_messages=True, timeout=30)
    assert message is not None, "no message within 30 s"
    return message


for protocol in (2, 3):
    r = redis.Redis(host="127.0.0.1", port=port, protocol=protocol)
    r.config_set("notify-keyspace-events", "KEA")
    assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": "AKE"}, r.config_get("notify-keyspace-events")
    r.delete("greeting")
    p = r.pubsub()
    p.psubscribe("__keyevent@0__:*")
    p.subscribe("__keyspace@0__:greeting")
    assert p.get_message(timeout=10)["type"] == "psubscribe"
    assert p.get_message(timeout=10)["type"] == "subscribe"
    r.set("greeting", "hello")
    m = next_message(p)
    assert m["type"] == "message" and m["channel"] == b"__keyspace@0__:greeting" and m["data"] == b"set", m
    m = next_message(p)
    assert m["type"] == "pmessage" and m["pattern"] == b"__keyevent@0__:*", m
    assert m["channel"] == b"__keyevent@0__:set" and m["data"] == b"greeting", m
    # Active expiry removes the key a millisecond later: both kinds of message arrive.
    r.pexpire("greeting", 1)
    seen = [next_message(p) for _ in range(4)]
    kinds = [(m["channel"], m["data"]) for m in seen]
    assert kinds[:2] == [(b"__keyspace@0__:greeting", b"expire"), (b"__keyevent@0__:expire", b"greeting")], kinds
    assert kinds[2:] == [(b"__keyspace@0__:greeting", b"expired"), (b"__keyevent@0__:expired", b"greeting")], kinds
    r.config_set("notify-keyspace-events", "")
    p.close()
    r.close()

print("redis-py notifications: ok")
