#!/usr/bin/env bash
# Quick start: builds musterd and musterctl (release), runs musterd on its embedded PostgreSQL cluster under
# ./.muster/, shows an admin token and a first exchange over `nc`, then keeps musterd in the foreground.
# Ctrl-C (or SIGTERM) shuts it down gracefully, stopping the embedded cluster too.
#
#   Deploy/quickstart.sh [musterd options...]     e.g. --listen 127.0.0.1:7979
set -euo pipefail
cd "$(dirname "$0")/.."

Deploy/install-deps.sh
command -v swift >/dev/null || { echo "error: Swift is not installed (https://www.swift.org/install/)" >&2; exit 1; }

echo "==> Building (release)"
swift build -c release --product musterd
swift build -c release --product musterctl
bin="$(swift build -c release --show-bin-path)"
export MUSTER_DATA_DIR="${MUSTER_DATA_DIR:-$PWD/.muster}"
export MUSTER_MIGRATIONS_DIR="$PWD/Migrations"
listen="${MUSTER_LISTEN:-127.0.0.1:7878}"
for ((i = 1; i <= $#; i++)); do
    if [ "${!i}" = "--listen" ]; then j=$((i + 1)); listen="${!j}"; fi
done
host="${listen%:*}"
port="${listen##*:}"

echo "==> Preparing the embedded database in $MUSTER_DATA_DIR"
"$bin/musterctl" migrate
token=""
if ! "$bin/musterctl" token list --active --json | grep -q '"role" : "admin"'; then
    token="$("$bin/musterctl" token create --role admin --name "quick start admin" --json \
        | sed -n 's/^  "token" : "\(mst_[^"]*\)".*/\1/p')"
fi

echo "==> Starting musterd on $listen (storing the shipped 2020 orders from Deploy/orders if not stored yet)"
"$bin/musterd" --load-orders Deploy/orders "$@" &
daemon=$!
trap 'kill -TERM "$daemon" 2>/dev/null; wait "$daemon"; exit $?' INT TERM
for _ in $(seq 1 100); do
    "$bin/musterctl" ping --address "$listen" >/dev/null 2>&1 && break
    kill -0 "$daemon" 2>/dev/null || { wait "$daemon"; exit $?; }
    sleep 0.2
done
# musterd listens at once; wait until its database is migrated and the orders are stored.
for _ in $(seq 1 300); do
    printf 'HELLO\n' | nc -q 1 "$host" "$port" 2>/dev/null | grep -q '"ready":true' && break
    kill -0 "$daemon" 2>/dev/null || { wait "$daemon"; exit $?; }
    sleep 0.2
done

echo
if [ -n "$token" ]; then
    echo "Admin token (shown once, keep it safe):"
    echo "  $token"
else
    token="<your admin token>"
    echo "An admin token exists already and cannot be shown again; make another with:"
    echo "  $bin/musterctl token create --role admin --name \"another admin\""
fi
echo
echo "A first exchange:  printf 'HELLO\\nAUTH $token\\nWHOAMI\\nQUIT\\n' | nc $host $port"
if [ "$token" != "<your admin token>" ]; then
    printf 'HELLO\nAUTH %s\nWHOAMI\nQUIT\n' "$token" | nc -q 2 "$host" "$port" | sed 's/^/  /'
fi
echo
echo "musterd is running (pid $daemon). Ctrl-C stops it and its embedded PostgreSQL."
wait "$daemon"
