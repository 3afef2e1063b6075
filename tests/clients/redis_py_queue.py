"""A job queue on lists with redis-py: producers LPUSH jobs, consumers wait in BRPOP; every job is
taken exactly once, and a consumer with nothing to take times out with None.

Usage: python3 redis_py_queue.py PORT. Exits non-zero (with the failing assertion) on a difference.
"""
import sys
import threading

import redis

port = int(sys.argv[1])
PRODUCERS, CONSUMERS, JOBS_EACH = 5, 5, 200

redis.Redis(port=port).delete("jobs")
taken = []
lock = threading.Lock()


def consume():
    r = redis.Redis(port=port)
    while True:
        item = r.brpop("jobs", timeout=0)
        if item[1] == b"stop":
            return
        with lock:
            taken.append(item[1])


def produce(n):
    r = redis.Redis(port=port)
    for i in range(JOBS_EACH):
        r.lpush("jobs", f"job-{n}-{i}")


consumers = [threading.Thread(target=consume) for _ in range(CONSUMERS)]
for t in consumers:
    t.start()
producers = [threading.Thread(target=produce, args=(n,)) for n in range(PRODUCERS)]
for t in producers:
    t.start()
for t in producers:
    t.join()
r = redis.Redis(port=port)
# Each consumer takes one stop after the jobs (FIFO: LPUSH then BRPOP takes the oldest).
r.lpush("jobs", *["stop"] * CONSUMERS)
for t in consumers:
    t.join(timeout=60)
    assert not t.is_alive(), "a consumer is still waiting"
expected = sorted(f"job-{n}-{i}".encode() for n in range(PRODUCERS) for i in range(JOBS_EACH))
assert sorted(taken) == expected, (len(taken), len(expected))
assert r.llen("jobs") == 0
assert r.brpop("jobs", timeout=0.05) is None
print("ok")
