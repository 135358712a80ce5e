# Shared shell helpers for Tenure's setup and service scripts. Source it; do not run it.
# Every service lives in .run/<env>/<service>/ (git-ignored), listens on 127.0.0.1 (or another
# loopback address), records its PID there, and is stopped by that PID only.
set -euo pipefail

TENURE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TENURE_ENV="${TENURE_ENV:-demo}"
case "$TENURE_ENV" in demo | test) ;; *) echo "TENURE_ENV must be demo or test, not '$TENURE_ENV'" >&2; exit 2 ;; esac
RUN_ROOT="$TENURE_ROOT/.run/$TENURE_ENV"
TOOLS_DIR="$TENURE_ROOT/.tools"
CACHE_DIR="$TENURE_ROOT/.cache"

# Ports per environment, so the test suite never clashes with a running demo.
if [ "$TENURE_ENV" = demo ]; then
  : "${TEMPORAL_PORT:=7233}" "${TEMPORAL_UI_PORT:=8233}" "${PG_PORT:=55432}" "${SFTP_PORT:=2222}" "${SMTP_PORT:=2525}"
  : "${AD_HOST:=127.0.0.1}"
else
  : "${TEMPORAL_PORT:=17233}" "${TEMPORAL_UI_PORT:=18233}" "${PG_PORT:=55433}" "${SFTP_PORT:=2223}" "${SMTP_PORT:=2526}"
  : "${AD_HOST:=127.0.0.2}"
fi
export TENURE_ENV TENURE_ROOT RUN_ROOT TOOLS_DIR CACHE_DIR TEMPORAL_PORT TEMPORAL_UI_PORT PG_PORT SFTP_PORT SMTP_PORT AD_HOST

log() { printf '[%s] %s\n' "${SERVICE:-tenure}" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "${SERVICE:-tenure}" "$*" >&2; exit 1; }

# pid_alive FILE: true when FILE holds the PID of a running process.
pid_alive() {
  local f="$1" pid
  [ -s "$f" ] || return 1
  pid="$(head -n1 "$f" | tr -dc 0-9)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# stop_pid FILE [GROUP]: SIGTERM the recorded PID (its process group when GROUP=group), wait, then SIGKILL.
stop_pid() {
  local f="$1" mode="${2:-}" pid i
  pid_alive "$f" || { rm -f "$f"; return 0; }
  pid="$(head -n1 "$f" | tr -dc 0-9)"
  if [ "$mode" = group ]; then kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  else kill -TERM "$pid" 2>/dev/null || true; fi
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    if [ "$mode" = group ]; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# wait_for DESCRIPTION LOGFILE SECONDS COMMAND...: poll COMMAND until it succeeds or fail pointing at LOGFILE.
wait_for() {
  local what="$1" logfile="$2" secs="$3"; shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "----- last lines of $logfile -----" >&2
      tail -n 30 "$logfile" >&2 2>/dev/null || true
      die "$what did not come up within ${secs}s; see $logfile"
    fi
    sleep 0.2
  done
}

# port_open HOST PORT
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# A generated secret kept in the run folder (never committed): secret NAME
secret() {
  local f="$RUN_ROOT/secrets/$1"
  mkdir -p "$RUN_ROOT/secrets"; chmod 700 "$RUN_ROOT/secrets"
  if [ ! -s "$f" ]; then
    # Upper, lower, digit and symbol: satisfies AD complexity.
    printf 'Tn%s#9a' "$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)" >"$f"
    chmod 600 "$f"
  fi
  cat "$f"
}

# The search attributes Tenure's workflows upsert, Name=Type, for the dev server and the cluster
# alike (deploy/temporal/setup.sh keeps the same list for compose).
TEMPORAL_SEARCH_ATTRIBUTES=(EmployeeId=Keyword LifecycleState=Keyword Department=Keyword StartDate=Datetime
  EndDate=Datetime ProvisioningHealth=Keyword SourceId=Keyword PollState=Keyword)

# register_search_attributes CLI ADDRESS NAMESPACE LOGFILE: create the ones the namespace lacks.
register_search_attributes() {
  local cli="$1" addr="$2" namespace="$3" logfile="$4" existing sa name type
  existing="$("$cli" operator search-attribute list --address "$addr" --namespace "$namespace" 2>/dev/null || true)"
  for sa in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do
    name="${sa%%=*}"; type="${sa#*=}"
    grep -qw "$name" <<<"$existing" && continue
    # Right after a namespace is created the frontend's namespace cache may not know it yet
    # ("Namespace default is not found"): retry for a while.
    wait_for "search attribute $name" "$logfile" 30 create_search_attribute "$cli" "$addr" "$namespace" "$logfile" "$name" "$type"
    log "registered search attribute $name ($type)"
  done
}

# Succeeds once the attribute exists (a retry after a create that did go through included).
create_search_attribute() {
  local cli="$1" addr="$2" namespace="$3" logfile="$4" name="$5" type="$6"
  "$cli" operator search-attribute list --address "$addr" --namespace "$namespace" 2>/dev/null | grep -qw "$name" && return 0
  "$cli" operator search-attribute create --address "$addr" --namespace "$namespace" \
    --name "$name" --type "$type" >>"$logfile" 2>&1
}

# start_test_services: set up the machine, start the test environment's services (stopped again
# when the calling script exits) and export their settings.
start_test_services() {
  bash "$TENURE_ROOT/scripts/setup.sh"
  trap stop_test_services EXIT
  bash "$TENURE_ROOT/scripts/services/all.sh" start
  set -a
  # shellcheck disable=SC1091
  source "$RUN_ROOT/services.env"
  set +a
}
stop_test_services() { bash "$TENURE_ROOT/scripts/services/all.sh" stop >/dev/null 2>&1 || true; }

# run_test_files LIMIT [node --test args] FILE...: one test file at a time. --test-force-exit and the
# outer timeout: a test that leaves a process or handle behind fails the run instead of keeping it
# open until CI's own limit.
run_test_files() {
  local limit="$1"; shift
  timeout --kill-after=30s "$limit" node --import tsx --test --test-concurrency=1 --test-timeout=600000 \
    --test-force-exit --test-reporter=spec "$@"
}
