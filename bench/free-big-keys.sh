#!/usr/bin/env bash
# How long other clients wait while a big key is deleted: run by hand, not part of any test.
#
#   bench/free-big-keys.sh SERVER...     e.g. bench/free-big-keys.sh /tmp/cachet-main target/release/cachet redis
#
# ROUNDS times (3 unless set), for each server in turn — a cachet binary, `redis` for Debian's
# redis-server, `redis-lazy` for it with `lazyfree-lazy-user-del yes` — start it on a free port
# and report the worst latency `redis-benchmark -c 50 -n 200000 -t get` sees with nothing else
# going on, while another client DELs a 1,000,000-member set, and while it DELs a 1,000,000-field
# hash. The DEL itself is timed too, on a connection opened beforehand. The set's members are
# longer than cachet keeps inline (18 bytes), so each is an allocation of its own, as each field's
# value is.
set -euo pipefail

port=$((20000 + RANDOM % 20000))
load=$(mktemp -d)
trap 'rm -rf "$load"' EXIT

# SADD and HSET commands of 1,000 members each, a million in all, in RESP for `redis-cli --pipe`.
python3 - "$load" <<'EOF'
import sys
def command(args):
    out = [f"*{len(args)}\r\n"]
    out += [f"${len(a)}\r\n{a}\r\n" for a in args]
    return "".join(out)
for name, make in [("set", lambda i: [f"a-rather-long-member-name:{i}"]), ("hash", lambda i: [f"field:{i}", "v"])]:
    with open(f"{sys.argv[1]}/{name}", "w") as f:
        for start in range(0, 1_000_000, 1_000):
            args = ["SADD" if name == "set" else "HSET", "big"]
            for i in range(start, start + 1_000):
                args += make(i)
            f.write(command(args))
EOF

start_server() {
  if [ "$1" = redis ]; then
    redis-server --port "$port" --save '' --appendonly no >/dev/null 2>&1 &
  elif [ "$1" = redis-lazy ]; then
    # Redis 7 frees a DEL'd key in the background only when told to (UNLINK always does).
    redis-server --port "$port" --save '' --appendonly no --lazyfree-lazy-user-del yes >/dev/null 2>&1 &
  else
    "$1" serve --port "$port" >/dev/null 2>&1 &
  fi
  server_pid=$!
  until redis-cli -p "$port" PING >/dev/null 2>&1; do sleep 0.1; done
}

# The worst latency redis-benchmark saw, in ms ("max" of its latency summary).
benchmark_max() {
  redis-benchmark -p "$port" -c 50 -n 200000 -t get 2>/dev/null | tr '\r' '\n' |
    awk '/latency summary/ {getline; getline; print $6}'
}

# Runs the benchmark and, half a second in, `$@` on another connection; prints the benchmark's
# worst latency and how long the command took.
during() {
  benchmark_max >"$load/max" &
  local bench=$!
  sleep 0.5
  local took
  took=$(python3 - "$port" "$@" <<'EOF'
import socket, sys, time
conn = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
args = sys.argv[2:]
request = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
start = time.perf_counter()
conn.sendall(request.encode())
conn.recv(64)
print(f"{(time.perf_counter() - start) * 1000:.2f}")
EOF
)
  wait "$bench"
  echo "$(cat "$load/max") ms worst GET, $took ms for $*"
}

for round in $(seq "${ROUNDS:-3}"); do
for server in "$@"; do
  start_server "$server"
  echo "== round $round: $server"
  echo "idle: $(benchmark_max) ms worst GET"
  redis-cli -p "$port" --pipe <"$load/set" >/dev/null
  echo "big set: $(redis-cli -p "$port" SCARD big) members"
  echo "DEL set: $(during DEL big)"
  redis-cli -p "$port" --pipe <"$load/hash" >/dev/null
  echo "big hash: $(redis-cli -p "$port" HLEN big) fields"
  echo "DEL hash: $(during DEL big)"
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
done
done
