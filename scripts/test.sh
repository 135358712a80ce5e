#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, starts its own servers on
# test ports (not the demo's), runs type check, lint and every test, and stops the servers.
SERVICE=test
export TENURE_ENV=test
source "$(dirname "$0")/lib.sh"
cd "$TENURE_ROOT"

bash scripts/setup.sh
trap 'bash scripts/services/all.sh stop >/dev/null 2>&1 || true' EXIT
bash scripts/services/all.sh start
set -a
# shellcheck disable=SC1091
source "$RUN_ROOT/services.env"
set +a

log "type check"
npx tsc --noEmit -p tsconfig.json
log "lint"
npx eslint --max-warnings=0 .
npx prettier --check . >/dev/null || { npx prettier --check . ; die "formatting differs; run npm run format"; }

# The fast tier (test/fast/: workflow logic on skipped time, seconds) first, then the rest.
mapfile -t files < <(find test/fast -name '*.test.ts' | sort; find test -name '*.test.ts' -not -path 'test/fast/*' | sort)
[ "${#files[@]}" -gt 0 ] || die "no test files found"
log "running ${#files[@]} test files"
# --test-force-exit and the outer timeout: a test that leaves a process or handle behind fails the
# run instead of keeping it open until CI's own limit.
timeout --kill-after=30s 45m node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-force-exit \
  --test-reporter=spec "${files[@]}" "$@"

# Then the lifecycle and crash-safety tests again against the production-shaped Temporal
# server (PostgreSQL persistence, SQL visibility). TENURE_CLUSTER_TESTS=off skips this phase.
if [ "${TENURE_CLUSTER_TESTS:-on}" != off ]; then
  log "against the Temporal cluster (PostgreSQL persistence)"
  bash scripts/cluster-test.sh
fi
