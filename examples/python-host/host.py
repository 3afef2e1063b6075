"""A host for cachet's key-value component, in Python, with the `wasmtime` package.

It links the three imports the keyvalue world has (cachet's clock, random and log; no WASI),
then runs one session of key-value calls and prints each result as one line of text. The clock
is the host's own and moves only when the session says so, so the output is the same on every
run; `tests/plugin_host.rs` runs the same session through wasmtime in Rust and requires the same
lines.

    cargo run --release -- component --world keyvalue --output kv.wasm
    python3 examples/python-host/host.py kv.wasm
"""

import sys

from wasmtime import Engine, Store
from wasmtime.component import Component, Linker, Variant

STORE = "wasi:keyvalue/store@0.2.0-draft2"
ATOMICS = "wasi:keyvalue/atomics@0.2.0-draft2"
BATCH = "wasi:keyvalue/batch@0.2.0-draft2"
EXPIRY = "cachet:engine/expiry@0.1.0"


class Capabilities:
    """What the component may ask of this host: the time, a random seed and a place to log."""

    def __init__(self):
        self.monotonic_ns = 1_000_000_000
        self.wall_ms = 1_700_000_000_000
        self.logged = []

    def link(self, linker):
        with linker.root() as root:
            with root.add_instance("cachet:engine/clock@0.1.0") as clock:
                clock.add_func("monotonic-now", lambda _store: self.monotonic_ns)
                clock.add_func("wall-now", lambda _store: self.wall_ms)
            with root.add_instance("cachet:engine/random@0.1.0") as random:
                random.add_func("random-u64", lambda _store: 0x5EED_5EED_5EED_5EED)
            with root.add_instance("cachet:engine/log@0.1.0") as log:
                log.add_func("log", lambda _store, level, message: self.logged.append((level, message)))


class Cachet:
    """One instance of the component, its functions called by interface and name."""

    def __init__(self, path, capabilities):
        engine = Engine()
        self.store = Store(engine)
        linker = Linker(engine)
        capabilities.link(linker)
        self.instance = linker.instantiate(self.store, Component.from_file(engine, path))

    def call(self, interface, name, *args):
        index = self.instance.get_export_index(self.store, name, self.instance.get_export_index(self.store, interface))
        func = self.instance.get_func(self.store, index)
        result = func(self.store, *args)
        func.post_return(self.store)
        return result


def show(result):
    """A result as the session prints it: results come back untagged, errors as variants."""
    if isinstance(result, Variant):
        return f"error {result.tag}" + (f": {result.payload}" if result.payload is not None else "")
    if result is None:
        return "none"
    if isinstance(result, bool):
        return f"bool {str(result).lower()}"
    if isinstance(result, int):
        return f"int {result}"
    if isinstance(result, (bytes, bytearray)):
        return f"value {bytes(result).decode()}"
    return repr(result)


def session(cachet, capabilities):
    """The calls, each followed by the line it prints."""
    bucket = cachet.call(STORE, "open", "2")
    cachet.call(STORE, "[method]bucket.set", bucket, "greeting", b"hello")
    yield show(cachet.call(STORE, "[method]bucket.get", bucket, "greeting"))
    yield show(cachet.call(ATOMICS, "increment", bucket, "n", 41))
    cachet.call(EXPIRY, "set-with-ttl", bucket, "session", b"s", 1_500)
    capabilities.wall_ms += 1_000
    # Both of ttl's cases are variants, so its result comes back tagged: ok, then the time-to-live.
    ttl = cachet.call(EXPIRY, "ttl", bucket, "session").payload
    yield f"ttl {ttl.tag} {ttl.payload}"
    cas = cachet.call(ATOMICS, "[static]cas.new", bucket, "greeting")
    swapped = cachet.call(ATOMICS, "swap", cas, b"swapped")
    yield "swap ok" if swapped is None else show(swapped)
    many = cachet.call(BATCH, "get-many", bucket, ["greeting", "none"])
    yield "many " + ", ".join("-" if pair is None else f"{pair[0]}={bytes(pair[1]).decode()}" for pair in many)
    listed = cachet.call(STORE, "[method]bucket.list-keys", bucket, None)
    keys = sorted(getattr(listed, "keys"))
    yield f"keys {','.join(keys)} cursor {getattr(listed, 'cursor') or '-'}"
    yield show(cachet.call(STORE, "open", "01"))
    capabilities.wall_ms += 500
    yield show(cachet.call(STORE, "[method]bucket.get", bucket, "session"))
    yield show(cachet.call(EXPIRY, "expire", bucket, "greeting", 0))
    yield show(cachet.call(STORE, "[method]bucket.exists", bucket, "greeting"))
    bucket.drop(cachet.store)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: host.py COMPONENT.wasm (cachet component --world keyvalue --output COMPONENT.wasm writes one)")
    capabilities = Capabilities()
    cachet = Cachet(sys.argv[1], capabilities)
    for line in session(cachet, capabilities):
        print(line)


if __name__ == "__main__":
    main()
