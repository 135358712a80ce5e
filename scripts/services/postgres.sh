#!/usr/bin/env bash
# PostgreSQL 15 for Tenure's vault: run as the postgres user, data in .run/<env>/postgres, 127.0.0.1 only.
# Usage: postgres.sh start|stop|status
SERVICE=postgres
source "$(dirname "$0")/../lib.sh"

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
DIR="$RUN_ROOT/postgres"
DATA="$DIR/data"
LOGF="$DIR/postgres.log"
DB_NAME="${PG_DATABASE:-tenure}"

as_pg() { runuser -u postgres -- "$@"; }

ready() { as_pg "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

write_env() {
  cat >"$DIR/pg.env" <<ENV
export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/$DB_NAME
export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres PGDATABASE=$DB_NAME
ENV
}

start() {
  [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 is not installed ($PG_BIN); run scripts/setup.sh"
  mkdir -p "$DIR/run"
  # postgres must traverse every parent directory of the data folder.
  local d="$DIR"; while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
  chown -R postgres: "$DIR"
  if [ -f "$DATA/postmaster.pid" ] && ready; then log "already running on 127.0.0.1:$PG_PORT"; write_env; return 0; fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
      || die "initdb failed; see $DIR/initdb.log"
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $PG_PORT"
      echo "unix_socket_directories = '$DIR/run'"
      echo "max_connections = 200"
      # A throwaway cluster for demo and tests; never copy these two into production.
      echo "fsync = off"
      echo "synchronous_commit = off"
    } >>"$DATA/postgresql.conf"
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOGF" -w -t 30 start >/dev/null || { tail -n 30 "$LOGF" >&2; die "PostgreSQL did not start; see $LOGF"; }
  wait_for "PostgreSQL" "$LOGF" 30 ready
  if ! as_pg psql -h 127.0.0.1 -p "$PG_PORT" -d postgres -tAc "select 1 from pg_database where datname='$DB_NAME'" | grep -q 1; then
    as_pg psql -h 127.0.0.1 -p "$PG_PORT" -d postgres -qc "create database \"$DB_NAME\"" >/dev/null
  fi
  write_env
  (cd "$TENURE_ROOT" && DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$DB_NAME" node --import tsx vault/migrate.ts) || die "migrations failed"
  log "ready on 127.0.0.1:$PG_PORT (database $DB_NAME)"
}

stop() {
  if [ -f "$DATA/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  log "stopped"
}

status() { if ready; then echo "postgres: running on 127.0.0.1:$PG_PORT"; else echo "postgres: stopped"; return 1; fi; }

case "${1:-}" in start) start ;; stop) stop ;; status) status ;; *) echo "usage: $0 start|stop|status" >&2; exit 2 ;; esac
