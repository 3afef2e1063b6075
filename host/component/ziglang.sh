#!/usr/bin/env bash
# Prints the path of a Python that runs Zig's C compiler (`python -m ziglang cc`), installing it
# first when it is missing: the Python registry's `ziglang` package, at the version pinned here,
# in a virtual environment under target/tools. cachet's engine compiles Lua's C sources with it
# for wasm32-wasip2 (host/component/build.rs); tests/run installs it the same way.
# CACHET_ZIG_PYTHON, when set, names a Python that already has it.
set -euo pipefail
version=0.17.0
if [ -n "${CACHET_ZIG_PYTHON:-}" ]; then
  echo "$CACHET_ZIG_PYTHON"
  exit 0
fi
venv="$(cd "$(dirname "$0")/../.." && pwd)/target/tools/ziglang"
python="$venv/bin/python"
if [ -x "$python" ] && [ "$("$python" -m ziglang version 2>/dev/null)" = "$version" ]; then
  echo "$python"
  exit 0
fi
echo "installing Zig's C compiler (the Python package ziglang==$version, ~100 MB) into $venv" >&2
if ! python3 -m venv --clear "$venv" >&2; then
  echo "could not make a Python virtual environment: install python3 and python3-venv, or set CACHET_ZIG_PYTHON to a Python with ziglang==$version" >&2
  exit 1
fi
"$python" -m pip install --quiet --disable-pip-version-check "ziglang==$version" >&2
echo "$python"
