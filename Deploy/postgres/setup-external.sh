#!/usr/bin/env bash
# Prepares an external PostgreSQL server (14 or newer) for musterd, and prints the MUSTER_DATABASE_URL to put in
# /etc/muster/musterd.env (or the container's environment):
#
#   - a login role for musterd (default `muster`): not a superuser, cannot create roles or databases;
#   - a database (default `muster`) owned by that role, UTF-8, that only its owner (and superusers) may connect to;
#   - the extensions the migrations need (btree_gist, for the no-double-booking exclusion constraint in
#     Migrations/0004_staffing.sql), created here by the administrator so the application role needs no extra
#     rights;
#   - no CREATE on schema public for PUBLIC (the default from PostgreSQL 15; revoked explicitly for 14).
#
# musterd then creates and migrates its tables itself, as that role, at its first start.
#
# Run it as a PostgreSQL superuser, or on a managed service as the administrator role it gives you (CREATEROLE and
# CREATEDB suffice). Safe to run again: what exists already is left as it is, except the password when you give
# one.
#
#   Deploy/postgres/setup-external.sh [options]
#
# Connecting as the administrator (the usual libpq environment works too: PGHOST, PGPORT, PGUSER, PGPASSWORD or
# ~/.pgpass, PGSSLMODE, PGSSLROOTCERT, ...):
#   -h, --host HOST           server host or unix-socket directory             (PGHOST)
#   -p, --port PORT           server port                                      (PGPORT, default 5432)
#   -U, --admin-user NAME     administrator role                               (PGUSER)
#       --admin-db NAME       database to connect to first                     (default postgres)
#
# What to create (the names: lower-case letters, digits and _, starting with a letter or _):
#       --role NAME           musterd's login role                             (MUSTER_DB_ROLE, default muster)
#       --database NAME       musterd's database                               (MUSTER_DB_NAME, default muster)
#       --locale LOCALE       LOCALE for a new database                        (MUSTER_DB_LOCALE, default: the server's)
#
# The role's password (checked in this order; without any, an existing role keeps its password and a new role
# is asked for one on the terminal):
#       --generate-password   generate a random 32-character password and print it in the URL
#       --password-file FILE  first line of FILE
#       MUSTER_DB_PASSWORD    environment variable
#
# The printed URL (nothing here is sent to the server):
#       --url-host HOST       host musterd should connect to                   (default: --host, PGHOST, localhost)
#       --url-port PORT       port musterd should connect to                   (default: --port, PGPORT, 5432)
#       --sslmode MODE        libpq sslmode                                    (default verify-full, except for
#                                                                               a loopback host or a socket)
#       --sslrootcert FILE    CA certificate for verify-ca / verify-full       (default /etc/muster/postgres-ca.crt)
#
# Only the URL goes to standard output; progress and notes go to standard error. Example:
#
#   PGHOST=db.internal PGUSER=postgres Deploy/postgres/setup-external.sh --generate-password > muster-url.txt
set -euo pipefail

extensions="btree_gist" # comma-separated; keep in step with CREATE EXTENSION in Migrations/

usage() { sed -n '2,/^set -euo pipefail/{/^#/s/^# \{0,1\}//p}' "$0"; }
die() { echo "setup-external.sh: error: $*" >&2; exit 1; }
note() { echo "==> $*" >&2; }

role="${MUSTER_DB_ROLE:-muster}"
database="${MUSTER_DB_NAME:-muster}"
locale="${MUSTER_DB_LOCALE:-}"
password="${MUSTER_DB_PASSWORD:-}"
password_file=""
generate=0
url_host=""
url_port=""
sslmode=""
sslrootcert="/etc/muster/postgres-ca.crt"
admin_db="postgres"
url_host_default=""
url_port_default=""
psql_args=()

need() { if [ "$#" -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value"; fi; }
while [ "$#" -gt 0 ]; do
    case "$1" in
        --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
        -h | --host) need "$@"; psql_args+=(--host "$2"); url_host_default="$2"; shift 2 ;;
        -p | --port) need "$@"; psql_args+=(--port "$2"); url_port_default="$2"; shift 2 ;;
        -U | --admin-user) need "$@"; psql_args+=(--username "$2"); shift 2 ;;
        --admin-db) need "$@"; admin_db="$2"; shift 2 ;;
        --role) need "$@"; role="$2"; shift 2 ;;
        --database) need "$@"; database="$2"; shift 2 ;;
        --locale) need "$@"; locale="$2"; shift 2 ;;
        --generate-password) generate=1; shift ;;
        --password-file) need "$@"; password_file="$2"; shift 2 ;;
        --url-host) need "$@"; url_host="$2"; shift 2 ;;
        --url-port) need "$@"; url_port="$2"; shift 2 ;;
        --sslmode) need "$@"; sslmode="$2"; shift 2 ;;
        --sslrootcert) need "$@"; sslrootcert="$2"; shift 2 ;;
        --help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

name_pattern='^[a-z_][a-z0-9_]{0,62}$'
[[ "$role" =~ $name_pattern ]] || die "role name \"$role\" is not a plain lower-case identifier"
[[ "$database" =~ $name_pattern ]] || die "database name \"$database\" is not a plain lower-case identifier"
case "$sslmode" in
    "" | disable | allow | prefer | require | verify-ca | verify-full) ;;
    *) die "--sslmode must be disable, allow, prefer, require, verify-ca or verify-full" ;;
esac
command -v psql >/dev/null || die "psql is not installed (Debian: apt-get install postgresql-client)"

if [ "$generate" = 1 ]; then
    password="$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
elif [ -n "$password_file" ]; then
    [ -r "$password_file" ] || die "cannot read $password_file"
    IFS= read -r password <"$password_file" || [ -n "$password" ] || die "$password_file is empty"
fi

# psql as the administrator: no ~/.psqlrc, stop at the first error, no NOTICEs, and the names passed only as psql
# variables (quoted by psql as :'literal', or by format('%I') on the server; never pasted into SQL here).
run_psql() {
    PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
        psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 "${psql_args[@]}" --dbname "$admin_db" \
        --set role="$role" --set db="$database" --set locale="$locale" --set extensions="$extensions" "$@"
}

note "Checking the server"
preflight="$(run_psql --tuples-only --no-align --field-separator ' ' <<'SQL'
SELECT current_setting('server_version_num')::int,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
       coalesce((SELECT CASE WHEN rolsuper THEN 'superuser' ELSE 'exists' END FROM pg_roles WHERE rolname = :'role'),
                'missing'),
       coalesce((SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = :'db'), 'missing'),
       (SELECT count(*) FROM pg_available_extensions WHERE name = ANY (string_to_array(:'extensions', ',')))
           = cardinality(string_to_array(:'extensions', ','));
SQL
)" || die "cannot connect as the administrator (set PGHOST, PGPORT, PGUSER, or see --help)"
read -r server_version admin_super role_state db_encoding have_extensions <<<"$preflight"

[ "$server_version" -ge 140000 ] || die "PostgreSQL $server_version is too old: musterd needs 14 or newer"
[ "$role_state" != superuser ] || die "role $role is a superuser; musterd must not run as one (use another --role)"
[ "$db_encoding" = missing ] || [ "$db_encoding" = UTF8 ] ||
    die "database $database exists with encoding $db_encoding; musterd needs UTF8"
[ "$have_extensions" = t ] ||
    die "the server lacks the $extensions extension (Debian/Ubuntu before PostgreSQL 15: postgresql-contrib)"
[ "$admin_super" = t ] ||
    echo "warning: not a superuser: the administrator needs CREATEROLE and CREATEDB (btree_gist is a trusted" \
        "extension, which the database's owner may create)" >&2

if [ -z "$password" ] && [ "$role_state" = missing ]; then
    { : </dev/tty; } 2>/dev/null ||
        die "role $role does not exist: give its password (MUSTER_DB_PASSWORD, --password-file, --generate-password)"
    read -r -s -p "Password for the new role $role: " password </dev/tty; echo >&2
    read -r -s -p "Again: " again </dev/tty; echo >&2
    [ "$password" = "$again" ] || die "the passwords differ"
    [ -n "$password" ] || die "an empty password is not allowed"
fi
case "$password" in *$'\n'* | *$'\r'*) die "the password must be one line" ;; esac

# The password reaches the server as a SCRAM-SHA-256 verifier computed here (as psql's \password does), so it is
# never sent nor logged in clear. Python 3 computes it for ASCII passwords; otherwise the server hashes it, with
# statement logging turned off for the session where the administrator may do that.
secret=""
if [ -n "$password" ]; then
    if command -v python3 >/dev/null && ! printf '%s' "$password" | LC_ALL=C grep -q '[^ -~]'; then
        # shellcheck disable=SC2016 # Python, not shell
        secret="$(MUSTER_SETUP_PASSWORD="$password" python3 -c '
import base64, hashlib, hmac, os
password = os.environ["MUSTER_SETUP_PASSWORD"].encode()
salt, iterations = os.urandom(16), 4096
salted = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
client_key = hmac.new(salted, b"Client Key", "sha256").digest()
server_key = hmac.new(salted, b"Server Key", "sha256").digest()
b64 = lambda b: base64.b64encode(b).decode()
print(f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(hashlib.sha256(client_key).digest())}:{b64(server_key)}")
')"
        note "Password hashed here (SCRAM-SHA-256)"
    else
        secret="$password"
        note "Password to be hashed by the server"
    fi
fi

note "Creating role $role and database $database if missing, and extensions: $extensions"
# psql reads the secret from the environment with a backquoted printenv, so it never appears in a command line.
MUSTER_SETUP_SECRET="$secret" run_psql --set set_password="$([ -n "$secret" ] && echo 1 || echo 0)" <<'SQL'
-- Keep the password out of the server log and pg_stat_statements for this session (superusers only).
DO $$
BEGIN
    PERFORM set_config('log_statement', 'none', false);
    PERFORM set_config('log_min_error_statement', 'panic', false);
    PERFORM set_config('log_min_duration_statement', '-1', false);
    PERFORM set_config('pg_stat_statements.track_utility', 'off', false);
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'not allowed to turn statement logging off: a password hashed by the server may reach its log';
END $$;

-- The role: a plain login role (NOSUPERUSER, NOCREATEDB, NOCREATEROLE, NOREPLICATION are the defaults).
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN', :'role')
 WHERE NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = :'role') \gexec
\if :set_password
\set secret `printenv MUSTER_SETUP_SECRET`
SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'secret') \gexec
\unset secret
\endif

-- An administrator that is not a superuser (managed services) must be a member of the role to give it a database.
SELECT format('GRANT %I TO %I', :'role', current_user)
 WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
   AND NOT pg_has_role(current_user, :'role', 'MEMBER') \gexec

-- The database, owned by the role; only its owner and superusers may connect.
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'db', :'role', 'UTF8')
       || CASE WHEN :'locale' <> '' THEN format(' LOCALE %L', :'locale') ELSE '' END
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'role')
  FROM pg_database
 WHERE datname = :'db' AND datdba <> (SELECT oid FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec

\connect :"db"
-- Extensions, created by the administrator (the application role is not a superuser), in schema public where
-- the migrations expect them. CREATE EXTENSION IF NOT EXISTS in a migration then finds them and does nothing.
SELECT format('CREATE EXTENSION IF NOT EXISTS %I SCHEMA public', name)
  FROM unnest(string_to_array(:'extensions', ',')) AS name \gexec
-- Nobody but the owner creates objects in schema public (PostgreSQL 15's default; 14 allowed PUBLIC).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('GRANT USAGE, CREATE ON SCHEMA public TO %I', :'role')
 WHERE NOT has_schema_privilege(:'role', 'public', 'CREATE') \gexec
SQL

# The URL, with every character outside RFC 3986's unreserved set percent-encoded.
urlencode() {
    local LC_ALL=C text="$1" out="" i c
    for ((i = 0; i < ${#text}; i++)); do
        c="${text:i:1}"
        case "$c" in
            [A-Za-z0-9._~-]) out+="$c" ;;
            *) out+="$(printf '%%%02X' "'$c")" ;;
        esac
    done
    printf '%s' "$out"
}
host="${url_host:-${url_host_default:-${PGHOST:-localhost}}}"
port="${url_port:-${url_port_default:-${PGPORT:-5432}}}"
query=()
case "$host" in
    /*) authority=""; query+=("host=$(urlencode "$host")") ;;
    *:*) authority="[$host]" ;;
    *) authority="$host" ;;
esac
if [ -z "$sslmode" ]; then
    case "$host" in /* | localhost | 127.* | ::1) sslmode="" ;; *) sslmode="verify-full" ;; esac
fi
[ -n "$sslmode" ] && query+=("sslmode=$sslmode")
case "$sslmode" in verify-ca | verify-full) query+=("sslrootcert=$(urlencode "$sslrootcert")") ;; esac
if [ -n "$authority" ]; then authority+=":$port"; else query+=("port=$port"); fi
userinfo="$(urlencode "$role")"
[ -n "$password" ] && userinfo+=":$(urlencode "$password")"
url="postgresql://$userinfo@$authority/$(urlencode "$database")"
if [ "${#query[@]}" -gt 0 ]; then url+="?$(IFS='&'; echo "${query[*]}")"; fi

note "Done. Put this line in /etc/muster/musterd.env (mode 0640, root:muster):"
[ -n "$password" ] ||
    echo "    (the password was left unchanged and is not shown: add it after \"$role:\", percent-encoded," \
        "or give it to libpq with PGPASSFILE)" >&2
case "$sslmode" in verify-ca | verify-full)
    echo "    (copy the server's CA certificate to $sslrootcert, readable by the muster user)" >&2 ;;
esac
echo "    (pg_hba.conf must let $role reach $database from the musterd hosts, e.g." \
    "hostssl $database $role 10.0.0.0/24 scram-sha-256)" >&2
echo "MUSTER_DATABASE_URL=$url"
