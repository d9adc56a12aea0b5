#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and development (the PostgreSQL store's test suite).
#
#   scripts/pg_cluster.sh run CMD [ARGS…]   start a cluster, run CMD with its DSN, stop it
#   scripts/pg_cluster.sh start             start one; prints `export APP_SERVER_TEST_PG_DSN=…`
#                                           and `export APP_SERVER_TEST_PG_DIR=…` for `eval`
#   scripts/pg_cluster.sh stop DIR          stop the cluster started in DIR (by its pid), remove DIR
#
# The cluster lives in a temp dir, listens only on a unix socket in that dir (no TCP port to
# collide with), runs with fsync off (a test database need not survive power loss) and trusts
# local connections. It has a database `app_server_test` owned by a role `app_server` that is
# NOT a superuser, as the store must work with such a role (pg_trgm is a trusted extension).
# initdb refuses to run as root: as root the cluster runs as the `postgres` user.
set -euo pipefail

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
DB_NAME=app_server_test
DB_ROLE=app_server

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start_cluster() {
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
        echo "pg_cluster: no PostgreSQL server found (install postgresql, or set PG_BIN)" >&2
        exit 1
    fi
    local dir
    dir=$(mktemp -d "${TMPDIR:-/tmp}/app-server-pg.XXXXXX")
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    as_owner "$PG_BIN/initdb" --no-sync --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        -U postgres -D "$dir/data" >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        >/dev/null || {
        cat "$dir/server.log" >&2
        exit 1
    }
    as_owner "$PG_BIN/psql" -q -h "$dir" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE $DB_ROLE LOGIN" -c "CREATE DATABASE $DB_NAME OWNER $DB_ROLE" >/dev/null
    echo "export APP_SERVER_TEST_PG_DSN='postgresql://$DB_ROLE@/$DB_NAME?host=$dir'"
    echo "export APP_SERVER_TEST_PG_DIR='$dir'"
}

stop_cluster() {
    local dir="$1"
    local pid_file="$dir/data/postmaster.pid"
    if [ -f "$pid_file" ]; then
        local pid
        pid=$(head -n 1 "$pid_file")
        kill -INT "$pid" 2>/dev/null || true # fast shutdown
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -rf "$dir"
}

case "${1:-}" in
start)
    start_cluster
    ;;
stop)
    stop_cluster "${2:?usage: pg_cluster.sh stop DIR}"
    ;;
run)
    shift
    eval "$(start_cluster)"
    trap 'stop_cluster "$APP_SERVER_TEST_PG_DIR"' EXIT
    export APP_SERVER_TEST_PG_DSN
    "$@"
    ;;
*)
    sed -n '2,15p' "$0" >&2
    exit 2
    ;;
esac
