#!/usr/bin/env bash
# Temporal dev server (CLI v1.5.1 built by scripts/setup.sh) with a SQLite file, the Web UI,
# and Tenure's search attributes, on 127.0.0.1 only. Usage: temporal.sh start|stop|status
SERVICE=temporal
source "$(dirname "$0")/../lib.sh"

TEMPORAL_BIN="$TOOLS_DIR/bin/temporal"
DIR="$RUN_ROOT/temporal"
LOGF="$DIR/temporal.log"
PIDF="$DIR/temporal.pid"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
ADDR="127.0.0.1:$TEMPORAL_PORT"

healthy() { "$TEMPORAL_BIN" operator cluster health --address "$ADDR" 2>/dev/null | grep -q SERVING; }
namespace_ready() { "$TEMPORAL_BIN" operator namespace describe --address "$ADDR" --namespace "$NAMESPACE" >/dev/null 2>&1; }

write_env() {
  cat >"$DIR/temporal.env" <<ENV
export TEMPORAL_ADDRESS=$ADDR TEMPORAL_NAMESPACE=$NAMESPACE TEMPORAL_UI_URL=http://127.0.0.1:$TEMPORAL_UI_PORT
export TEMPORAL_CLI=$TEMPORAL_BIN
ENV
}

start() {
  [ -x "$TEMPORAL_BIN" ] || die "Temporal CLI not found at $TEMPORAL_BIN; run scripts/setup.sh"
  mkdir -p "$DIR"
  if pid_alive "$PIDF" && healthy; then log "already running on $ADDR"; write_env; return 0; fi
  port_open 127.0.0.1 "$TEMPORAL_PORT" && die "port $TEMPORAL_PORT is taken by another process"
  local sa_flags=() sa
  for sa in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do sa_flags+=(--search-attribute "$sa"); done
  # Payload encryption (issue 3): the Web UI calls the Tenure codec server from the browser.
  if [ -n "${TENURE_CODEC_ENDPOINT:-}" ]; then sa_flags+=(--ui-codec-endpoint "$TENURE_CODEC_ENDPOINT"); fi
  # setsid: own process group, so stop reaches the server and nothing else. The new matcher hands
  # out tasks by priority key (common/lanes.ts: a single change goes ahead of a bulk load).
  setsid "$TEMPORAL_BIN" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
    --db-filename "$DIR/temporal.db" --namespace "$NAMESPACE" "${sa_flags[@]}" \
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
    --dynamic-config-value limit.historyCount.suggestContinueAsNew="${TEMPORAL_SUGGEST_CAN:-4096}" \
    --dynamic-config-value matching.useNewMatcher=true \
    --log-level warn >>"$LOGF" 2>&1 </dev/null &
  echo $! >"$PIDF"
  wait_for "Temporal dev server" "$LOGF" 60 healthy
  wait_for "Temporal namespace $NAMESPACE" "$LOGF" 30 namespace_ready
  register_search_attributes "$TEMPORAL_BIN" "$ADDR" "$NAMESPACE" "$LOGF"
  write_env
  log "ready on $ADDR, Web UI http://127.0.0.1:$TEMPORAL_UI_PORT"
}

stop() { stop_pid "$PIDF" group; log "stopped"; }
status() { if pid_alive "$PIDF" && healthy; then echo "temporal: running on $ADDR"; else echo "temporal: stopped"; return 1; fi; }

case "${1:-}" in start) start ;; stop) stop ;; status) status ;; *) echo "usage: $0 start|stop|status" >&2; exit 2 ;; esac
