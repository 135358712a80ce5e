#!/usr/bin/env bash
# The lifecycle and crash-safety tests against Temporal as it runs in production: the server
# binary with PostgreSQL persistence and SQL visibility (scripts/services/temporal-cluster.sh) instead
# of the dev server. Crash safety SIGKILLs a worker mid-load and starts a new one, and runs two worker
# processes of which one is SIGKILLed mid-load.
# Usage: bash scripts/cluster-test.sh [extra node --test args]
SERVICE=cluster-test
export TENURE_ENV=test
source "$(dirname "$0")/lib.sh"
cd "$TENURE_ROOT"

start_test_services
trap 'bash scripts/services/temporal-cluster.sh stop >/dev/null 2>&1 || true; stop_test_services' EXIT
bash scripts/services/temporal-cluster.sh start
set -a
# shellcheck disable=SC1091
source "$RUN_ROOT/temporal-cluster/cluster.env" # TEMPORAL_ADDRESS now points at the cluster
set +a
log "Temporal cluster at $TEMPORAL_ADDRESS ($("$TOOLS_DIR/bin/temporal-server" --version))"

files=(test/lifecycle.test.ts test/resilience.test.ts)
run_test_files 25m "$@" "${files[@]}"
