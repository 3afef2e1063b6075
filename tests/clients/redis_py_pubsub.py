"""redis-py's Pub/Sub against a running cachet, in RESP2 and RESP3.

Usage: python3 redis_py_pubsub.py PORT. Exits non-zero (with the failing assertion) on a difference.
"""
import sys

import redis

port = int(sys.argv[1])

for protocol in (2, 3):
    r = redis.Redis(host="127.0.0.1", port=port, protocol=protocol)
    p = r.pubsub()
    p.subscribe("chat")
    p.psubscribe("ch*")
    confirmations = [p.get_message(timeout=10) for _ in range(2)]
    assert [m["type"] for m in confirmations] == ["subscribe", "psubscribe"], confirmations
    assert r.publish("chat", "hi") == 2
    message = p.get_message(timeout=10)
    assert message["type"] == "message" and message["channel"] == b"chat" and message["data"] == b"hi", message
    message = p.get_message(timeout=10)
    assert message["type"] == "pmessage" and message["pattern"] == b"ch*", message
    assert r.pubsub_numsub("chat") == [(b"chat", 1)], r.pubsub_numsub("chat")
    assert r.pubsub_numpat() == 1
    assert r.pubsub_channels() == [b"chat"]
    p.unsubscribe("chat")
    p.punsubscribe()
    assert r.publish("chat", "gone") == 0 or p.get_message(timeout=10)["type"] in ("unsubscribe", "punsubscribe")
    p.close()
    r.close()

print("redis-py pubsub: ok")
