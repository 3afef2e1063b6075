#!/usr/bin/env bash
# Records which functions a server runs, of the `cachet` executable (for host/build.rs to link
# them first and together) and of the compiled engine (for host/component/build.rs to put them
# first in the engine's core module), and which read-only data of the executable start-up reads
# (data.ld, for host/build.rs too); see those files for why. Run it from anywhere after changing
# dependencies or the Rust compiler, or when start-up or the command path changed much, and
# commit the three lists:
#
#   bash host/link-order/update.sh
#
# It builds the release executable with the engine's function names kept, starts a server under
# valgrind's callgrind, and records what ran until the first PONG (start-up, listed first), then
# what else ran while redis-benchmark sent the common commands. The data is recorded last, on
# the executable as `cargo build --release` makes it (without the engine's names), which it
# leaves in target/release. Needs valgrind, redis-cli, redis-benchmark, python3 and a C compiler
# (cc).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
port=${PORT:-7391}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

for tool in valgrind callgrind_control redis-cli redis-benchmark python3 cc; do
  command -v "$tool" >/dev/null || { echo "update.sh needs $tool" >&2; exit 1; }
done

cd "$root"
CACHET_ENGINE_NAMES=1 cargo build --release -p cachet --bin cachet
binary=$root/target/release/cachet

# One start first, so the profiled one loads the compiled engine from the cache as a server
# usually does, instead of compiling it. It runs under valgrind too (without a tool, which is
# quick): the engine is compiled for the CPU features found at start-up, and valgrind's virtual
# CPU has fewer than the machine, so an engine compiled outside valgrind is not the one it loads.
valgrind --tool=none "$binary" serve --port "$port" --cache-dir "$work/cache" >/dev/null 2>&1 & server=$!
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.2; done
kill "$server"; wait "$server" 2>/dev/null || true

CACHET_PERFMAP=1 valgrind --tool=callgrind --demangle=no --dump-instr=yes --callgrind-out-file="$work/profile" \
  "$binary" serve --port "$port" --cache-dir "$work/cache" >/dev/null 2>"$work/valgrind.log" & server=$!
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.5; done
callgrind_control --dump=start-up "$server" >/dev/null
redis-benchmark -p "$port" -c 4 -n 300 -q \
  -t ping,set,get,incr,mset,lpush,rpush,lpop,rpop,lrange,sadd,spop,hset,zadd,zpopmin >/dev/null
redis-cli -p "$port" info >/dev/null
kill -TERM "$server"; wait "$server" 2>/dev/null || true
mv "/tmp/perf-$server.map" "$work/engine.map"

# The engine the build just embedded, with its names.
engine_wasm=$(ls -t "$root"/target/release/build/cachet-component-*/out/cachet_guest.wasm | head -1)

python3 - "$binary" "$here/functions.txt" "$root/host/component/engine-order.txt" "$work/engine.map" "$engine_wasm" "$work"/profile* <<'EOF'
import bisect, re, sys
binary, output, engine_output, engine_map, engine_wasm = sys.argv[1:6]
profiles = sorted(sys.argv[6:])

def leb128(data, at):
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at

def sections(data, start, end):
    """(id, contents start, contents end) of each section of a module or component."""
    at = start + 8
    while at < end:
        kind = data[at]
        size, at = leb128(data, at + 1)
        yield kind, at, at + size
        at += size

def engine_function_names(component):
    """The full names of the engine's functions by index, from the name section of its largest
    core module (the perf map cuts long names short)."""
    data = open(component, "rb").read()
    _, start, end = max((s for s in sections(data, 0, len(data)) if s[0] == 1), key=lambda s: s[2] - s[1])
    names = {}
    for kind, at, stop in sections(data, start, end):
        length, at = leb128(data, at)
        if kind != 0 or data[at:at + length] != b"name":
            continue
        at += length
        while at < stop:
            subsection = data[at]
            size, at = leb128(data, at + 1)
            if subsection == 1:
                count, inner = leb128(data, at)
                for _ in range(count):
                    index, inner = leb128(data, inner)
                    length, inner = leb128(data, inner)
                    names[index] = data[inner:inner + length].decode("utf-8", "replace")
                    inner += length
            at += size
    if not names:
        sys.exit(f"{component} has no function names: was it built with CACHET_ENGINE_NAMES=1?")
    return names

# The compiled engine's functions by address (wasmtime's perf map: `wasm[0]::function[N]::...`).
full_names = engine_function_names(engine_wasm)
compiled = []
for line in open(engine_map):
    start, size, name = line.rstrip("\n").split(" ", 2)
    found = re.match(r"wasm\[0\]::function\[(\d+)\]", name)
    if found and int(found.group(1)) in full_names:
        compiled.append((int(start, 16), int(size, 16), full_names[int(found.group(1))]))
compiled.sort()
starts = [start for start, _, _ in compiled]

def engine_functions_of(path):
    """The engine's functions that ran in one callgrind dump: code of no object file is the JIT's."""
    objects, found, current, address = {}, set(), None, 0
    for line in open(path, errors="replace"):
        kind = re.match(r"^(c?)ob=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if kind:
            called, number, name = kind.groups()
            if name:
                objects[number] = name
            if not called:
                current = objects.get(number)
            continue
        position = re.match(r"^(0x[0-9a-f]+|[+-]\d+)\s", line)
        if not position:
            continue
        step = position.group(1)
        address = int(step, 16) if step.startswith("0x") else address + int(step)
        if current == "???":
            i = bisect.bisect_right(starts, address) - 1
            if i >= 0 and address < compiled[i][0] + compiled[i][1]:
                found.add(compiled[i][2])
    return found

def functions_of(path):
    """The functions of `binary` that ran in one callgrind dump (mangled names)."""
    objects, names, found = {}, {}, set()
    current = None
    for line in open(path, errors="replace"):
        kind = re.match(r"^(c?)(ob|fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if not kind:
            continue
        called, what, number, name = kind.groups()
        table = objects if what == "ob" else names
        if name:
            table[number] = name
        if what == "ob":
            # Costs that follow an `ob=` line belong to that object; a `cob=` names a callee's.
            if not called:
                current = objects.get(number)
        elif not called and current == binary and re.match(r"[A-Za-z_.$]", names.get(number, "")):
            # A symbol of the binary (`(below main)` and bare addresses are callgrind's own, and so
            # is the `'2` it appends to a function's name inside a cycle of calls).
            found.add(re.sub(r"'\d+$", "", names[number]))
    return found

# callgrind writes the dump asked for first (`profile.1`, start-up) and the rest at exit.
dumps = [p for p in profiles if re.search(r"profile\.\d+$", p)] + [p for p in profiles if p.endswith("profile")]

def write_list(path, ran, what):
    """What ran at start-up, then what else ran, one name a line."""
    start_up = ran(dumps[0])
    later = set().union(*(ran(p) for p in dumps[1:])) - start_up
    with open(path, "w") as out:
        for name in sorted(start_up) + sorted(later):
            out.write(name + "\n")
    print(f"{path}: {len(start_up)} {what} run at start-up, then {len(later)} more run by commands")

write_list(output, functions_of, "functions")
write_list(engine_output, engine_functions_of, "engine functions")
EOF

# The read-only data start-up reads (data.ld): the dependencies' constants, strings and jump
# tables that start-up reads, which are otherwise spread over megabytes of `.rodata`. Recorded on
# the executable as `cargo build --release` links it (with the engine's names dropped again), in
# two steps: valgrind's lackey sees every read of a start-up and first PING, byte by byte; then
# touched-pages.c sees, natively, the reads that depend on CPU features valgrind's virtual CPU
# lacks (which of them wasmtime and Cranelift check), a page at a time, until a run reads no page
# of the rest of `.rodata`.
relink() {
  cargo rustc --release -p cachet --bin cachet -- -C link-arg=-Wl,-Map="$work/map.txt" >/dev/null 2>&1 ||
    cargo rustc --release -p cachet --bin cachet -- -C link-arg=-Wl,-Map="$work/map.txt"
}
serve_until_pong() {
  "$@" serve --port "$port" --cache-dir "$work/cache" >"$work/server.log" 2>&1 & server=$!
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.2; done
}
stop_server() {
  kill -TERM "$server"; wait "$server" 2>/dev/null || true
}
ordering=$here/data_order.py
relink
rm -rf "$work/cache"
serve_until_pong valgrind --tool=none "$binary"; stop_server
serve_until_pong valgrind --tool=lackey --trace-mem=yes --log-file="$work/trace" "$binary"
redis-cli -p "$port" set link-order-key value >/dev/null
base=$(awk -v exe="$binary" '$6 == exe && $3 == "00000000" { split($1, range, "-"); print range[1]; exit }' "/proc/$server/maps")
stop_server
python3 "$ordering" traced "$work/map.txt" "$work/trace" "$base" >"$work/sections"
rm -f "$work/trace"

cc -O2 -shared -fPIC -o "$work/touched-pages.so" "$here/touched-pages.c"
rm -rf "$work/cache"
# Compiles the engine for this machine, once: relinking the executable leaves the engine as it is.
serve_until_pong "$binary"; stop_server
settled=
for round in 1 2 3 4 5 6; do
  python3 "$ordering" script "$work/sections" >"$here/data.ld"
  relink
  read -r from to < <(python3 "$ordering" watched "$work/map.txt")
  serve_until_pong env TOUCHED_FROM="$from" TOUCHED_TO="$to" TOUCHED_OUT="$work/pages" LD_PRELOAD="$work/touched-pages.so" "$binary"
  redis-cli -p "$port" set link-order-key value >/dev/null
  sleep 1
  # Killed, not stopped: SIGTERM's handler hands the signal on with a byte the kernel reads from
  # the watched data, which fails instead of faulting, so the server would not hear it.
  kill -KILL "$server"; wait "$server" 2>/dev/null || true
  if grep -E "WARN|ERROR" "$work/server.log"; then
    echo "update.sh: the server reported errors while its data was watched (a system call given a watched page?)" >&2
    exit 1
  fi
  if [ ! -s "$work/pages" ]; then
    echo "$here/data.ld: $(wc -l <"$work/sections") sections read at start-up (round $round read no other page)"
    settled=yes
    break
  fi
  python3 "$ordering" on-pages "$work/map.txt" "$work/pages" >>"$work/sections"
  sort -u -o "$work/sections" "$work/sections"
done
[ -n "$settled" ] || { echo "update.sh: start-up still read other pages of .rodata after $round rounds" >&2; exit 1; }

# What the list was recorded with, for host/build.rs to warn when a release build differs.
python3 - "$(rustc --version)" "$root/Cargo.lock" > "$here/recorded-for" <<'EOF'
import sys
hash = 0xcbf29ce484222325
for byte in open(sys.argv[2], "rb").read():
    hash = ((hash ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
print(f"{sys.argv[1]}; Cargo.lock {hash:016x}")
EOF
