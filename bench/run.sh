#!/usr/bin/env bash
# `make bench`: builds bench/.venv (gql-auth + the benchmark's own requirements),
# makes sure wrk is there, then runs bench/run.py. Never part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=bench/.venv
STAMP=$VENV/.installed

# Reinstall when the requirements or the project's dependencies changed.
wanted=$(cat bench/requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ]; then
    echo "bench: installing gql-auth and bench/requirements.txt into $VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r bench/requirements.txt -e .
    echo "$wanted" >"$STAMP"
fi

# wrk from Debian when we may install it; bench/run.py falls back to a Python client.
if ! command -v wrk >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "bench: installing wrk"
    { apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }; } \
        >/dev/null 2>&1 || echo "bench: wrk unavailable, using the Python load generator"
fi

# run.py stops its servers itself on TERM; forward Ctrl-C and TERM to it and wait.
"$VENV/bin/python" bench/run.py "$@" &
bench_pid=$!
trap 'kill -TERM "$bench_pid" 2>/dev/null || true; wait "$bench_pid" || true' INT TERM
wait "$bench_pid"
