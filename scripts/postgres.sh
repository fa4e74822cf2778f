#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests and benchmarks.
#
#   scripts/postgres.sh DIR        install (if needed), init, start; prints DATABASE_URL
#   scripts/postgres.sh stop DIR   stop the cluster in DIR
#
# The cluster listens on 127.0.0.1 only (port $PGPORT, default 55432) with trust
# authentication, so it must never hold real data. Running it twice is harmless:
# an initialised DIR is reused and a running server is left running.
# Exit 3 means PostgreSQL is missing and could not be installed.
set -euo pipefail

PGPORT="${PGPORT:-55432}"
DB_NAME="butler_test"

die_install() {
    echo "postgres.sh: $*" >&2
    exit 3
}

usage() {
    echo "usage: $0 DIR | $0 stop DIR" >&2
    exit 2
}

# Debian keeps server binaries under /usr/lib/postgresql/<major>/bin, outside PATH.
find_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/psql" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && command -v psql >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    return 1
}

as_root_cmd() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        return 99
    fi
}

install_postgres() {
    if [ "$(id -u)" -ne 0 ] && ! { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
        die_install "PostgreSQL server binaries are missing and this user is neither root nor allowed passwordless sudo; install the Debian package 'postgresql' first."
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        die_install "PostgreSQL server binaries are missing and apt-get is not available to install them."
    fi
    echo "postgres.sh: installing Debian package postgresql" >&2
    as_root_cmd env DEBIAN_FRONTEND=noninteractive apt-get update >&2 \
        || die_install "apt-get update failed; cannot install PostgreSQL."
    as_root_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >&2 \
        || die_install "apt-get install postgresql failed."
}

# Run a command as the cluster owner: initdb and postgres refuse to run as root.
run_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

stop_cluster() {
    local dir="$1" bindir data
    data="$(cd "$dir" 2>/dev/null && pwd)/data" || { echo "postgres.sh: nothing to stop in $dir" >&2; return 0; }
    if [ ! -f "$data/postmaster.pid" ]; then
        echo "postgres.sh: no server running in $dir" >&2
        return 0
    fi
    bindir="$(find_bindir)" || die_install "PostgreSQL binaries not found; cannot stop."
    run_as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >&2
}

start_cluster() {
    local dir="$1" bindir data
    bindir="$(find_bindir)" || { install_postgres; bindir="$(find_bindir)" || die_install "PostgreSQL was installed but initdb/pg_ctl were not found."; }
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    data="$dir/data"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || die_install "user 'postgres' does not exist; reinstall the Debian package postgresql."
        chown -R postgres:postgres "$dir"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        run_as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2 \
            || run_as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C >&2
    fi
    if ! run_as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        # The socket directory is the cluster directory, so no system directory is needed.
        run_as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $dir -c max_connections=300 -c fsync=off" start >&2
    fi
    PSQL="$bindir/psql"
    [ -x "$PSQL" ] || PSQL="$(command -v psql)"
    if ! "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
        "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -qc "CREATE DATABASE $DB_NAME" >&2
    fi
    echo "postgresql+psycopg2://postgres@127.0.0.1:$PGPORT/$DB_NAME"
}

case "${1:-}" in
    stop)
        [ $# -eq 2 ] || usage
        stop_cluster "$2"
        ;;
    "" | -h | --help)
        usage
        ;;
    *)
        [ $# -eq 1 ] || usage
        start_cluster "$1"
        ;;
esac
