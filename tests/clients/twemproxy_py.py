"""redis-py through twemproxy (nutcracker) in front of cachet shards: writes keys and reads them back.

Usage: python3 twemproxy_py.py ENTRIES.json PORT. ENTRIES.json is a list of objects with `write`
(a command), `read` (a command) and `expect` (the lines the read answers, as redis-cli prints them).
Exits non-zero, naming the key, when a reply differs.
"""
import json
import sys

import redis

entries_path, port = sys.argv[1], int(sys.argv[2])


def connect():
    """RESP2, without the CLIENT SETINFO that redis-py sends by default: twemproxy refuses both
    HELLO and CLIENT, and closes the connection on them."""
    for options in ({"driver_info": None}, {"lib_name": None, "lib_version": None}, {}):
        try:
            return redis.Redis(host="127.0.0.1", port=port, protocol=2, **options)
        except TypeError:
            continue
    raise SystemExit("this redis-py takes none of the ways to turn CLIENT SETINFO off")


def lines(value):
    """A reply as redis-cli prints it, one line per element."""
    if isinstance(value, (list, tuple)):
        return [line for item in value for line in lines(item)]
    if isinstance(value, (set, frozenset)):
        return sorted(line for item in value for line in lines(item))
    if isinstance(value, bool):
        return ["1" if value else "0"]
    if isinstance(value, bytes):
        return [value.decode()]
    if value is None:
        return [""]
    return [str(value)]


entries = json.load(open(entries_path))
proxy = connect()
assert proxy.ping() is True  # answered by twemproxy itself

# Pipelines pass through twemproxy as long as they are not transactions.
pipe = proxy.pipeline(transaction=False)
for entry in entries:
    pipe.execute_command(*entry["write"])
for entry, reply in zip(entries, pipe.execute(raise_on_error=False)):
    assert not isinstance(reply, Exception), f"{entry['write']}: {reply}"

for entry in entries:
    got = lines(proxy.execute_command(*entry["read"]))
    assert got == entry["expect"], f"{entry['read']}: {got} != {entry['expect']}"

# A transaction is refused: twemproxy closes the connection instead of answering MULTI.
try:
    proxy.pipeline(transaction=True).set(entries[0]["write"][1], "x").execute()
    raise AssertionError("MULTI passed through twemproxy")
except redis.ConnectionError:
    pass
