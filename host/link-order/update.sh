#!/usr/bin/env bash
# Records which of the `cachet` executable's functions a server runs, for host/build.rs to link
# them first and together (see there why). Run it from anywhere after changing dependencies or the
# Rust compiler, or when start-up or the command path changed much, and commit the list:
#
#   bash host/link-order/update.sh
#
# It builds the release executable, starts a server under valgrind's callgrind, and records two
# lists: what ran until the first PONG (start-up, written first), then what else ran while
# redis-benchmark sent the common commands. Needs valgrind, redis-cli, redis-benchmark, python3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
port=${PORT:-7391}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

for tool in valgrind callgrind_control redis-cli redis-benchmark python3; do
  command -v "$tool" >/dev/null || { echo "update.sh needs $tool" >&2; exit 1; }
done

cd "$root"
cargo build --release -p cachet --bin cachet
binary=$root/target/release/cachet

# One plain start first, so the profiled one loads the compiled engine from the cache as a
# server usually does, instead of compiling it.
"$binary" serve --port "$port" --cache-dir "$work/cache" >/dev/null 2>&1 & server=$!
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.2; done
kill "$server"; wait "$server" 2>/dev/null || true

valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/profile" \
  "$binary" serve --port "$port" --cache-dir "$work/cache" >/dev/null 2>"$work/valgrind.log" & server=$!
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.5; done
callgrind_control --dump=start-up "$server" >/dev/null
redis-benchmark -p "$port" -c 4 -n 300 -q \
  -t ping,set,get,incr,mset,lpush,rpush,lpop,rpop,lrange,sadd,spop,hset,zadd,zpopmin >/dev/null
redis-cli -p "$port" info >/dev/null
kill -TERM "$server"; wait "$server" 2>/dev/null || true

python3 - "$binary" "$here/functions.txt" "$work"/profile* <<'EOF'
import re, sys
binary, output, profiles = sys.argv[1], sys.argv[2], sorted(sys.argv[3:])

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
            # A symbol of the binary (`(below main)` and bare addresses are callgrind's own).
            found.add(names[number])
    return found

# callgrind writes the dump asked for first (`profile.1`, start-up) and the rest at exit.
dumps = [p for p in profiles if re.search(r"profile\.\d+$", p)] + [p for p in profiles if p.endswith("profile")]
start_up = functions_of(dumps[0])
later = set().union(*(functions_of(p) for p in dumps[1:])) - start_up
with open(output, "w") as out:
    for name in sorted(start_up) + sorted(later):
        out.write(name + "\n")
print(f"{output}: {len(start_up)} functions run at start-up, then {len(later)} more run by commands")
EOF
