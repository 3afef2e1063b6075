"""Scripts real applications run, through redis-py, unchanged: its Lock (acquire, extend,
release, a blocking timeout) and a token-bucket rate limiter. Run against cachet and against
redis-server by tests/scripting.rs; prints the limiter's replies so the two runs can be compared.
Usage: python3 lua_scripts.py PORT"""

import sys

import redis
from redis.exceptions import LockError

TOKEN_BUCKET = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local requested = tonumber(ARGV[4])
local bucket = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(bucket[1]) or capacity
local ts = tonumber(bucket[2]) or now
local elapsed = math.max(0, now - ts)
tokens = math.min(capacity, tokens + elapsed * rate / 1000)
local allowed = tokens >= requested
if allowed then
  tokens = tokens - requested
end
redis.call('HSET', key, 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000))
return {allowed and 1 or 0, tostring(tokens)}
"""


def check_lock(r):
    first = r.lock("resource", timeout=10)
    assert first.acquire(blocking=False), "a free lock is acquired"
    assert r.pttl("resource") > 9000
    second = r.lock("resource", timeout=10, blocking_timeout=0.05)
    assert not second.acquire(), "a held lock is not acquired before the blocking timeout"
    assert first.extend(20), "the owner extends its lock"
    assert r.pttl("resource") > 20000
    assert first.reacquire()
    try:
        second.release()
        raise AssertionError("releasing a lock held by another must fail")
    except LockError:
        pass
    first.release()
    assert r.get("resource") is None
    assert second.acquire(blocking=False), "a released lock is free again"
    assert first.locked()
    second.release()


def check_token_bucket(r):
    limiter = r.register_script(TOKEN_BUCKET)
    r.script_flush()
    replies = []
    for now, requested in [(1000, 1), (1000, 3), (1000, 2), (1100, 1), (1500, 2), (5000, 5), (5000, 1)]:
        allowed, tokens = limiter(keys=["bucket"], args=[10, 5, now, requested])
        replies.append((allowed, tokens.decode()))
    print(replies)
    assert replies[0] == (1, "4")
    assert replies[2] == (0, "1")


def main():
    r = redis.Redis(port=int(sys.argv[1]))
    r.flushall()
    check_lock(r)
    check_token_bucket(r)


main()
