#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, starts its own servers on
# test ports (not the demo's), runs type check, lint and every test, and stops the servers.
SERVICE=test
export TENURE_ENV=test
source "$(dirname "$0")/lib.sh"
cd "$TENURE_ROOT"

start_test_services

log "type check"
npx tsc --noEmit -p tsconfig.json
log "lint"
npx eslint --max-warnings=0 .
npx prettier --check . >/dev/null || { npx prettier --check . ; die "formatting differs; run npm run format"; }

# The fast tier (test/fast/: workflow logic on skipped time, seconds) first, then the rest.
mapfile -t files < <(find test/fast -name '*.test.ts' | sort; find test -name '*.test.ts' -not -path 'test/fast/*' | sort)
[ "${#files[@]}" -gt 0 ] || die "no test files found"
log "running ${#files[@]} test files"
run_test_files 45m "$@" "${files[@]}"

# Then the lifecycle and crash-safety tests again against the production-shaped Temporal
# server (PostgreSQL persistence, SQL visibility). TENURE_CLUSTER_TESTS=off skips this phase.
if [ "${TENURE_CLUSTER_TESTS:-on}" != off ]; then
  log "against the Temporal cluster (PostgreSQL persistence)"
  bash scripts/cluster-test.sh
fi
