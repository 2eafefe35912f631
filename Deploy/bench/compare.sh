#!/usr/bin/env bash
# Deploy/bench/compare.sh — musterd's protocol throughput beside reference servers, in one run on this machine.
#
#   1. ping:        muster-bench ping (50 connections × depth 1 and × 16) against musterd and against redis-server
#                   (the same client, so the ratio compares the servers); redis-benchmark -t ping_inline -P 1 / -P 16
#                   is printed beside it, for redis's own client
#   2. register:    muster-bench register (16 × 1)                      vs pgbench single-row INSERT, 16 clients
#   3. eligibility: muster-bench eligibility (16 × 1)                   vs pgbench single-row PK SELECT, 16 clients
#   4. import:      muster-bench import of a 100,000-row CSV            vs psql \copy of the same file
#
# Everything runs against one throwaway PostgreSQL cluster (initdb into a temporary directory, as the postgres user,
# fsync and synchronous_commit on, the embedded cluster's settings otherwise): musterd's database and the reference
# tables live side by side in it, and musterd and pgbench reach it the same way (its unix socket). redis-server runs
# on a spare port without persistence. Everything started here is stopped and removed at the end, also on failure.
#
# Run as root (initdb runs as the postgres user), from anywhere, preferably with nice on a shared machine:
#   nice -n 10 Deploy/bench/compare.sh
# Settings (environment): DURATION (seconds per muster-bench and pgbench run, default 10), ROWS (CSV rows, 100000),
# REDIS_REQUESTS (per redis-benchmark run, default 1000000 at -P 1 and 5000000 at -P 16), SCRATCH (the build's
# scratch path, default .build-bench), SKIP_BUILD=1 (use the binaries already built there), KEEP=1 (leave the
# temporary directory, with the logs, in place).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCRATCH=${SCRATCH:-$ROOT/.build-bench}
DURATION=${DURATION:-10}
ROWS=${ROWS:-100000}
CONNECTIONS_PING=50
CLIENTS_DB=16

log() { printf '%s\n' "$*" >&2; }
die() { log "compare.sh: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (initdb and postgres run as the postgres user)"
id postgres >/dev/null 2>&1 || die "no postgres OS user (apt-get install -y postgresql)"

# Tools: PostgreSQL server programs, pgbench and psql, redis.
missing=()
command -v pgbench >/dev/null || missing+=(postgresql-contrib postgresql-client)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-benchmark >/dev/null || missing+=(redis-tools)
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $PGBIN/initdb ]] || die "no PostgreSQL server programs under /usr/lib/postgresql (apt-get install -y postgresql)"

# The release build of musterd, musterctl and muster-bench.
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "building (release, scratch path $SCRATCH)"
    (cd "$ROOT" && nice swift build -c release --scratch-path "$SCRATCH" --product musterd >&2 &&
        nice swift build -c release --scratch-path "$SCRATCH" --product musterctl >&2 &&
        nice swift build -c release --scratch-path "$SCRATCH" --product muster-bench >&2)
fi
BIN=$SCRATCH/release
for program in musterd musterctl muster-bench; do [[ -x $BIN/$program ]] || die "$BIN/$program is missing"; done

# A port nobody listens on, starting from $1.
spare_port() {
    local port=$1
    while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    echo "$port"
}

WORK=$(mktemp -d /tmp/muster-compare.XXXXXX)
chmod 755 "$WORK"
PGDATA=$WORK/pgdata
SOCK=$WORK/sock
mkdir -p "$SOCK" "$PGDATA"
chown postgres: "$SOCK" "$PGDATA"
chmod 700 "$PGDATA"
PGPORT=$(spare_port 55432)
REDIS_PORT=$(spare_port 56379)
MUSTER_PORT=$(spare_port 57878)
MUSTERD_PID=
REDIS_PID=
PG_STARTED=0

cleanup() {
    local status=$?
    set +e
    if [[ -n $MUSTERD_PID ]] && kill -0 "$MUSTERD_PID" 2>/dev/null; then
        kill -TERM "$MUSTERD_PID"
        for _ in $(seq 50); do kill -0 "$MUSTERD_PID" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$MUSTERD_PID" 2>/dev/null && kill -KILL "$MUSTERD_PID"
        wait "$MUSTERD_PID" 2>/dev/null
    fi
    if [[ -n $REDIS_PID ]] && kill -0 "$REDIS_PID" 2>/dev/null; then
        kill -TERM "$REDIS_PID"
        wait "$REDIS_PID" 2>/dev/null
    fi
    if ((PG_STARTED)); then runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1; fi
    if [[ ${KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- PostgreSQL ---------------------------------------------------------------------------------------------------
log "initdb into $PGDATA (port $PGPORT)"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C --no-instructions >"$WORK/initdb.log"
cat >>"$PGDATA/postgresql.conf" <<EOF

# compare.sh: a throwaway cluster with durable commits, as musterd's embedded cluster is configured.
listen_addresses = ''
port = $PGPORT
unix_socket_directories = '$SOCK'
max_connections = 200
fsync = on
synchronous_commit = on
full_page_writes = on
EOF
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$SOCK/postgres.log" -w start >/dev/null
PG_STARTED=1
export PGHOST=$SOCK PGPORT PGUSER=postgres
psql -qAtX -d postgres -c "CREATE DATABASE muster" -c "CREATE DATABASE reference" >/dev/null
log "postgres: fsync=$(psql -qAtX -d postgres -c 'SHOW fsync'), synchronous_commit=$(psql -qAtX -d postgres -c 'SHOW synchronous_commit')"

# --- musterd --------------------------------------------------------------------------------------------------------
DATABASE_URL="host=$SOCK port=$PGPORT user=postgres dbname=muster"
log "musterd on 127.0.0.1:$MUSTER_PORT"
# No metrics listener where musterd has one (it would take the default port, perhaps another daemon's).
METRICS=()
"$BIN/musterd" --help 2>&1 | grep -q -- --metrics-listen && METRICS=(--metrics-listen off)
"$BIN/musterd" --listen "127.0.0.1:$MUSTER_PORT" --database-url "$DATABASE_URL" --migrations-dir "$ROOT/Migrations" \
    --load-orders "$ROOT/Deploy/orders" --log-level warning "${METRICS[@]}" >"$WORK/musterd.log" 2>&1 &
MUSTERD_PID=$!
# Ready when a command that needs the database is refused for the token, not for the database.
probe() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$MUSTER_PORT" || exit 1
        printf 'AUTH mst_probe\n' >&3
        read -r -t 5 answer <&3 || exit 1
        [[ $answer == "ERR UNAUTHENTICATED"* ]]
    ) 2>/dev/null
}
ready=0
for _ in $(seq 300); do
    kill -0 "$MUSTERD_PID" 2>/dev/null || { cat "$WORK/musterd.log" >&2; die "musterd exited"; }
    if probe; then ready=1; break; fi
    sleep 0.2
done
((ready)) || die "musterd did not become ready (see $WORK/musterd.log)"
TOKEN=$("$BIN/musterctl" token create --role admin --name "compare.sh" --database-url "$DATABASE_URL" --json |
    sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')
[[ $TOKEN == mst_* ]] || die "could not create a token"
export MUSTER_TOKEN=$TOKEN
BENCH=("$BIN/muster-bench" protocol --address "127.0.0.1:$MUSTER_PORT" --duration "$DURATION" --warmup 1 --tsv "$WORK/muster.tsv")

# --- redis ----------------------------------------------------------------------------------------------------------
log "redis-server on 127.0.0.1:$REDIS_PORT (no persistence)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --logfile "$WORK/redis.log" --dir "$WORK" &
REDIS_PID=$!
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# --- the reference tables -------------------------------------------------------------------------------------------
# ref_volunteers is musterd's own volunteers table, copied from its schema in musterd's database (LIKE … INCLUDING
# ALL: the same columns, defaults, CHECK and NOT NULL constraints, unique constraint and indexes; no foreign keys,
# no triggers), so it stays equivalent as the schema changes. It has an id sequence of its own. ref_roster has the
# CSV's columns, typed.
psql -qX -v ON_ERROR_STOP=1 -d muster >/dev/null <<'SQL'
CREATE TABLE ref_volunteers (LIKE volunteers INCLUDING ALL);
CREATE SEQUENCE ref_ids OWNED BY ref_volunteers.id;
ALTER TABLE ref_volunteers ALTER COLUMN id SET DEFAULT nextval('ref_ids');
CREATE SEQUENCE ref_numbers;
SQL
psql -qX -v ON_ERROR_STOP=1 -d reference >/dev/null <<'SQL'
CREATE TABLE ref_roster (
    id bigserial PRIMARY KEY,
    ref text NOT NULL UNIQUE, category text NOT NULL, profession text NOT NULL, first_name text NOT NULL,
    last_name text NOT NULL, date_of_birth date, email text, phone text, home_state char(2) NOT NULL,
    lat double precision, lon double precision, npi char(10), license_jurisdiction char(2), license_type text,
    license_number text, license_status text, license_issued date, license_expires date, license_lapsed date,
    skills text, languages text, available_from date, available_to date, max_travel_km integer,
    telehealth_only boolean, consent_to_share boolean, img_medical_school text, img_country text,
    img_graduation_date date, img_ecfmg_certified boolean, img_ecfmg_number text, img_ecfmg_date date,
    img_usmle_steps text, img_us_gme_months integer, img_home_license_country text, img_home_license_standing text,
    img_years_of_practice integer, retired_last_clinical_practice date, student_school text, student_program text,
    student_year integer, student_graduation_date date, student_graduated boolean
);
CREATE INDEX ON ref_roster (npi) WHERE npi IS NOT NULL;
CREATE INDEX ON ref_roster (lower(last_name), lower(first_name), date_of_birth) WHERE date_of_birth IS NOT NULL;
CREATE INDEX ON ref_roster (license_jurisdiction, upper(license_number));
SQL

# One registration's worth of row, as musterd stores it (profile: the validated registration, about 700 bytes).
cat >"$WORK/insert.sql" <<'SQL'
WITH n AS (SELECT nextval('ref_numbers') AS n)
INSERT INTO ref_volunteers (registering_state, ref, category, profession, first_name, last_name, date_of_birth, email,
    phone, home_state, lat, lon, npi, skills, available_from, available_to, max_travel_km, created_by, profile)
SELECT 'NY', 'PGB-' || n, 'licensed', 'registered_nurse', 'Ana', 'Pérez-' || n, date '1980-02-29' + (n % 9000)::int,
    'ana.' || n || '@example.org', '+12125550100', 'NJ', 40.73, -74.17, NULL, '{critical_care,ventilator}',
    '2020-04-01', '2020-06-30', 80, 1,
    jsonb_build_object(
        'availability', jsonb_build_object('from', '2020-04-01', 'to', '2020-06-30'), 'category', 'licensed',
        'consentToShare', false, 'dateOfBirth', (date '1980-02-29' + (n % 9000)::int)::text, 'disciplinaryActions', '[]'::jsonb,
        'email', 'ana.' || n || '@example.org', 'firstName', 'Ana', 'homeState', 'NJ', 'languages', '["en","es"]'::jsonb,
        'lastName', 'Pérez-' || n,
        'licenses', jsonb_build_array(jsonb_build_object('expires', '2021-05-31', 'issued', '2015-01-01',
            'jurisdiction', 'NJ', 'number', 'RN-' || n, 'status', 'active', 'type', 'RN')),
        'location', jsonb_build_object('lat', 40.73, 'lon', -74.17), 'maxTravelKm', 80, 'phone', '+12125550100',
        'profession', 'registered_nurse', 'ref', 'PGB-' || n, 'skills', '["critical_care","ventilator"]'::jsonb,
        'telehealthOnly', false)
FROM n;
SQL
cat >"$WORK/select.sql" <<'SQL'
\set id random(1, :maxid)
SELECT * FROM ref_volunteers WHERE id = :id;
SQL

# --- helpers --------------------------------------------------------------------------------------------------------
# 12345.6 → 12,346 (with two decimals below 100).
human() { awk -v x="$1" 'BEGIN { if (x < 100) { printf "%.2f", x; exit } s = sprintf("%.0f", x); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } printf "%s%s", s, o }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
# The rate of the last muster-bench result (the tsv's third column).
last_rate() { tail -1 "$WORK/muster.tsv" | cut -f3; }
RESULTS=()
result() { RESULTS+=("$(printf '%-18s muster %s/s vs %s %s/s = %s' "$1" "$(human "$2")" "$3" "$(human "$4")" "$(ratio "$2" "$4")")"); }
pgbench_tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$1" | tail -1; }
pgbench_latency() { sed -n 's/^latency average = \(.*\)$/\1/p' "$1" | tail -1; }
redis_rps() { sed -n 's/^"PING_INLINE","\([0-9.]*\)".*/\1/p' "$1"; }

log ""
log "=== 1. ping: muster-bench against musterd and against redis-server (${CONNECTIONS_PING} connections)"
for depth in 1 16; do
    "${BENCH[@]}" --scenario ping --connections $CONNECTIONS_PING --depth $depth
    muster=$(last_rate)
    # The same client, the same settings, against redis (inline PING, +PONG); no token, so no AUTH.
    env -u MUSTER_TOKEN "$BIN/muster-bench" protocol --address "127.0.0.1:$REDIS_PORT" --duration "$DURATION" --warmup 1 \
        --tsv "$WORK/muster.tsv" --label redis --scenario ping --connections $CONNECTIONS_PING --depth $depth
    redis=$(last_rate)
    requests=${REDIS_REQUESTS:-$((depth == 1 ? 1000000 : 5000000))}
    redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -t ping_inline -c $CONNECTIONS_PING -P $depth -n "$requests" --csv \
        >"$WORK/redis-$depth.csv" 2>/dev/null
    own=$(redis_rps "$WORK/redis-$depth.csv")
    echo "redis-benchmark ping_inline ${CONNECTIONS_PING}x$depth (redis's own client): $(human "$own") ops/s | $(tail -1 "$WORK/redis-$depth.csv")"
    result "ping ${CONNECTIONS_PING}x$depth:" "$muster" "redis (same client)" "$redis"
    result "  (redis-benchmark)" "$muster" "redis-benchmark" "$own"
done

log ""
log "=== 2. register (durable commits): muster-bench vs pgbench single-row INSERT (${CLIENTS_DB} clients)"
"${BENCH[@]}" --scenario register --connections $CLIENTS_DB --depth 1
muster=$(last_rate)
pgbench -n -M prepared -c $CLIENTS_DB -j 2 -T "$DURATION" -f "$WORK/insert.sql" muster >"$WORK/pgbench-insert.log" 2>&1 ||
    { cat "$WORK/pgbench-insert.log" >&2; die "pgbench INSERT failed"; }
insert=$(pgbench_tps "$WORK/pgbench-insert.log")
echo "pgbench INSERT ${CLIENTS_DB} clients: $(human "$insert") tps | latency average $(pgbench_latency "$WORK/pgbench-insert.log")"
result "register ${CLIENTS_DB}x1:" "$muster" "pgbench INSERT" "$insert"

log ""
log "=== 3. eligibility: muster-bench vs pgbench single-row primary-key SELECT (${CLIENTS_DB} clients)"
"${BENCH[@]}" --scenario eligibility --connections $CLIENTS_DB --depth 1
muster=$(last_rate)
maxid=$(psql -qAtX -d muster -c "SELECT max(id) FROM ref_volunteers")
pgbench -n -M prepared -c $CLIENTS_DB -j 2 -T "$DURATION" -D maxid="$maxid" -f "$WORK/select.sql" muster \
    >"$WORK/pgbench-select.log" 2>&1 || { cat "$WORK/pgbench-select.log" >&2; die "pgbench SELECT failed"; }
select=$(pgbench_tps "$WORK/pgbench-select.log")
echo "pgbench SELECT by id ${CLIENTS_DB} clients ($maxid rows): $(human "$select") tps | latency average $(pgbench_latency "$WORK/pgbench-select.log")"
result "eligibility ${CLIENTS_DB}x1:" "$muster" "pgbench SELECT" "$select"

log ""
log "=== 4. import of $ROWS rows: muster-bench import (as musterctl volunteers import) vs psql \\copy"
CSV=$WORK/roster.csv
"$BIN/muster-bench" csv --rows "$ROWS" --tag "CMP$$" --output "$CSV" >&2
chmod 644 "$CSV"
columns=$(head -1 "$CSV")
started=$(date +%s.%N)
psql -qX -v ON_ERROR_STOP=1 -d reference -c "\\copy ref_roster ($columns) FROM '$CSV' WITH (FORMAT csv, HEADER true)"
finished=$(date +%s.%N)
copied=$(psql -qAtX -d reference -c "SELECT count(*) FROM ref_roster")
copy_rate=$(awk -v n="$copied" -v a="$started" -v b="$finished" 'BEGIN { printf "%.1f", n / (b - a) }')
echo "psql \\copy: $copied rows in $(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.2f", b - a }') s = $(human "$copy_rate") rows/s"
"${BENCH[@]}" --scenario import --csv "$CSV"
muster=$(last_rate)
result "import $((ROWS / 1000))k rows:" "$muster" "psql \\copy" "$copy_rate"

echo
echo "== compare.sh on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ); PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') (fsync on, synchronous_commit on), $(redis-server --version | awk '{print $3}' | tr -d 'v=')"
for line in "${RESULTS[@]}"; do echo "$line"; done
