#!/usr/bin/env bash
# The Temporal server as it runs in production: the server binary (go.temporal.io/server, the version
# the CLI dev server embeds) with PostgreSQL persistence and SQL visibility, in the project's own
# PostgreSQL (databases temporal and temporal_visibility, role temporal), schemas applied with
# temporal-sql-tool from the module's schema files. Loopback only. Not part of the default test run:
# scripts/cluster-test.sh uses it. Usage: temporal-cluster.sh build|start|stop|status
SERVICE=temporal-cluster
source "$(dirname "$0")/../lib.sh"

SERVER_VERSION=v1.29.1 # keep equal to the server the CLI v1.5.1 dev server embeds (`temporal --version`)
SERVER_BIN="$TOOLS_DIR/bin/temporal-server"
SQL_TOOL="$TOOLS_DIR/bin/temporal-sql-tool"
DIR="$RUN_ROOT/temporal-cluster"
LOGF="$DIR/server.log"
PIDF="$DIR/server.pid"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
# Every port of the cluster is derived from one base, so demo, test and cluster never collide.
if [ "$TENURE_ENV" = demo ]; then : "${TEMPORAL_CLUSTER_PORT:=7333}"; else : "${TEMPORAL_CLUSTER_PORT:=27233}"; fi
ADDR="127.0.0.1:$TEMPORAL_CLUSTER_PORT"
TEMPORAL_CLI="$TOOLS_DIR/bin/temporal"
PG_ROLE=temporal

build() {
  if [ -x "$SERVER_BIN" ] && [ -x "$SQL_TOOL" ] && [ -s "$TOOLS_DIR/temporal-server.version" ] &&
    [ "$(cat "$TOOLS_DIR/temporal-server.version")" = "$SERVER_VERSION" ]; then
    log "Temporal server $SERVER_VERSION present"
    return 0
  fi
  command -v go >/dev/null || die "Go is needed to build the Temporal server"
  log "building Temporal server $SERVER_VERSION and temporal-sql-tool with go install (a few minutes, once)"
  local gobin="$TOOLS_DIR/gobin"
  mkdir -p "$gobin" "$TOOLS_DIR/bin"
  GOBIN="$gobin" GOFLAGS=-mod=mod go install "go.temporal.io/server/cmd/server@$SERVER_VERSION" \
    "go.temporal.io/server/cmd/tools/sql@$SERVER_VERSION"
  mv "$gobin/server" "$SERVER_BIN"
  mv "$gobin/sql" "$SQL_TOOL"
  echo "$SERVER_VERSION" >"$TOOLS_DIR/temporal-server.version"
}

schema_dir() {
  local mod
  mod="$(GOFLAGS=-mod=mod go mod download -json "go.temporal.io/server@$SERVER_VERSION" 2>/dev/null |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$mod/schema/postgresql/v12" ] || die "schema files of go.temporal.io/server@$SERVER_VERSION not found"
  echo "$mod/schema/postgresql/v12"
}

psql_admin() { PGPASSWORD='' psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtAc "$1"; }

prepare_databases() {
  local pw schemas db
  pw="$(secret temporal-db)"
  if [ "$(psql_admin "select 1 from pg_roles where rolname = '$PG_ROLE'")" != 1 ]; then
    psql_admin "create role $PG_ROLE login password '$pw'"
  else
    psql_admin "alter role $PG_ROLE password '$pw'"
  fi
  schemas="$(schema_dir)"
  for db in temporal temporal_visibility; do
    if [ "$(psql_admin "select 1 from pg_database where datname = '$db'")" != 1 ]; then
      psql_admin "create database $db owner $PG_ROLE"
    fi
    local sub=temporal; [ "$db" = temporal_visibility ] && sub=visibility
    if [ "$(PGPASSWORD='' psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -qtAc \
      "select 1 from information_schema.tables where table_name = 'schema_version'")" != 1 ]; then
      SQL_PASSWORD="$pw" "$SQL_TOOL" --plugin postgres12 --ep 127.0.0.1 -p "$PG_PORT" -u "$PG_ROLE" --db "$db" \
        setup-schema -v 0.0 >>"$LOGF" 2>&1 || die "setup-schema for $db failed; see $LOGF"
    fi
    SQL_PASSWORD="$pw" "$SQL_TOOL" --plugin postgres12 --ep 127.0.0.1 -p "$PG_PORT" -u "$PG_ROLE" --db "$db" \
      update-schema -d "$schemas/$sub/versioned" >>"$LOGF" 2>&1 || die "update-schema for $db failed; see $LOGF"
  done
}

write_config() {
  local b="$TEMPORAL_CLUSTER_PORT" pw
  pw="$(secret temporal-db)"
  mkdir -p "$DIR/config/dynamicconfig"
  cat >"$DIR/config/dynamicconfig/cluster.yaml" <<YAML
limit.historyCount.suggestContinueAsNew:
  - value: ${TEMPORAL_SUGGEST_CAN:-4096}
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
# Task priority (common/lanes.ts): the matcher that hands out tasks by priority key.
matching.useNewMatcher:
  - value: true
YAML
  # One process runs all four services; each gets its own gRPC and membership port.
  cat >"$DIR/config/cluster.yaml" <<YAML
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:
      sql: &sql
        pluginName: postgres12
        databaseName: temporal
        connectAddr: "127.0.0.1:$PG_PORT"
        connectProtocol: tcp
        user: $PG_ROLE
        password: "$pw"
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    visibility:
      sql:
        <<: *sql
        databaseName: temporal_visibility
        maxConns: 5
        maxIdleConns: 5
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
  frontend:
    rpc: { grpcPort: $b, membershipPort: $((b + 100)), bindOnLocalHost: true, httpPort: $((b + 10)) }
  history:
    rpc: { grpcPort: $((b + 1)), membershipPort: $((b + 101)), bindOnLocalHost: true }
  matching:
    rpc: { grpcPort: $((b + 2)), membershipPort: $((b + 102)), bindOnLocalHost: true }
  worker:
    rpc: { grpcPort: $((b + 6)), membershipPort: $((b + 106)), bindOnLocalHost: true }
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:$b"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "$DIR/config/dynamicconfig/cluster.yaml"
  pollInterval: 10s
YAML
  chmod 600 "$DIR/config/cluster.yaml"
}

healthy() { "$TEMPORAL_CLI" operator cluster health --address "$ADDR" 2>/dev/null | grep -q SERVING; }
namespace_ready() { "$TEMPORAL_CLI" operator namespace describe --address "$ADDR" --namespace "$NAMESPACE" >/dev/null 2>&1; }

register_namespace() {
  namespace_ready && return 0
  # Closed runs are kept 3 days here; production picks its own retention (docs/deployment.md).
  "$TEMPORAL_CLI" operator namespace create --address "$ADDR" --namespace "$NAMESPACE" --retention 72h \
    >>"$LOGF" 2>&1 || die "could not create namespace $NAMESPACE; see $LOGF"
  wait_for "namespace $NAMESPACE" "$LOGF" 60 namespace_ready
}

write_env() {
  cat >"$DIR/cluster.env" <<ENV
export TEMPORAL_ADDRESS=$ADDR TEMPORAL_NAMESPACE=$NAMESPACE
export TEMPORAL_CLI=$TEMPORAL_CLI
ENV
}

start() {
  build
  [ -x "$TEMPORAL_CLI" ] || die "Temporal CLI not found at $TEMPORAL_CLI; run scripts/setup.sh"
  mkdir -p "$DIR"
  if pid_alive "$PIDF" && healthy; then
    log "already running on $ADDR"
    register_namespace
    register_search_attributes "$TEMPORAL_CLI" "$ADDR" "$NAMESPACE" "$LOGF"
    write_env
    return 0
  fi
  port_open 127.0.0.1 "$TEMPORAL_CLUSTER_PORT" && die "port $TEMPORAL_CLUSTER_PORT is taken by another process"
  bash "$(dirname "$0")/postgres.sh" start
  prepare_databases
  write_config
  setsid "$SERVER_BIN" --root "$DIR" --config config --env cluster --allow-no-auth start \
    >>"$LOGF" 2>&1 </dev/null &
  echo $! >"$PIDF"
  wait_for "Temporal server" "$LOGF" 120 healthy
  register_namespace
  register_search_attributes "$TEMPORAL_CLI" "$ADDR" "$NAMESPACE" "$LOGF"
  write_env
  log "ready on $ADDR (PostgreSQL persistence and SQL visibility on 127.0.0.1:$PG_PORT)"
}

stop() { stop_pid "$PIDF" group; log "stopped"; }
status() { if pid_alive "$PIDF" && healthy; then echo "temporal-cluster: running on $ADDR"; else echo "temporal-cluster: stopped"; return 1; fi; }

case "${1:-}" in build) build ;; start) start ;; stop) stop ;; status) status ;; *) echo "usage: $0 build|start|stop|status" >&2; exit 2 ;; esac
