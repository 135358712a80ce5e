#!/usr/bin/env bash
# The README's first command: sets everything up, starts the servers and a Tenure worker on the
# demo tenant (about 50 employees whose lifecycle plays out in ten minutes), and says what to watch.
# Stop it with: bash scripts/demo.sh stop
SERVICE=demo
export TENURE_ENV=demo
source "$(dirname "$0")/lib.sh"
cd "$TENURE_ROOT"
TENANT="$RUN_ROOT/tenant"
WORKER_PID="$RUN_ROOT/worker.pid"
CODEC_PID="$RUN_ROOT/codec.pid"

if [ "${1:-}" = stop ]; then
  stop_pid "$WORKER_PID" group
  stop_pid "$CODEC_PID" group
  stop_pid "$RUN_ROOT/mail.pid" group
  bash scripts/services/all.sh stop
  exit 0
fi

bash scripts/setup.sh

# Payload encryption (issue 3): a demo key (generated once, kept in the git-ignored run folder),
# used by the worker, the CLI and the codec server; the Web UI decodes through the codec server.
KEYS_FILE="$RUN_ROOT/secrets/encryption-keys"
mkdir -p "$RUN_ROOT/secrets"; chmod 700 "$RUN_ROOT/secrets"
if [ ! -s "$KEYS_FILE" ]; then
  (umask 077; printf 'demo1:%s\n' "$(head -c 32 /dev/urandom | base64 | tr -d '\n')" >"$KEYS_FILE")
fi
CODEC_PORT="${TENURE_CODEC_PORT:-8888}"
cat >"$RUN_ROOT/encryption.env" <<ENV
export TENURE_ENCRYPTION_KEYS_FILE=$KEYS_FILE TENURE_ENCRYPTION_KEY_ID=demo1
ENV
export TENURE_ENCRYPTION_KEYS_FILE="$KEYS_FILE" TENURE_ENCRYPTION_KEY_ID=demo1
export TENURE_CODEC_ENDPOINT="http://127.0.0.1:$CODEC_PORT"
bash scripts/services/all.sh start
set -a
source "$RUN_ROOT/services.env"
TENURE_RULES_FILE="$TENANT/rules.yaml"
TENURE_FILE_SOURCE="$TENANT/hr-export.csv"
TENURE_FILE_SOURCE_ID=demo
TENURE_POLL_EVERY=1m
TENURE_FILE_SOURCE_THRESHOLDS='{"firstPoll":"accept"}'
SMTP_HOST=127.0.0.1
SMTP_FROM="Tenure demo <tenure@tenure.test>"
set +a

stop_pid "$WORKER_PID" group
stop_pid "$CODEC_PID" group
port_open 127.0.0.1 "$CODEC_PORT" && die "port $CODEC_PORT (codec server) is taken by another process"
TENURE_CODEC_PORT="$CODEC_PORT" TENURE_CODEC_ORIGINS="http://127.0.0.1:$TEMPORAL_UI_PORT,http://localhost:$TEMPORAL_UI_PORT" \
  setsid node --import tsx workers/codec-server.ts >"$RUN_ROOT/codec.log" 2>&1 </dev/null &
echo $! >"$CODEC_PID"
wait_for "Tenure codec server" "$RUN_ROOT/codec.log" 60 grep -q '\[codec\] listening' "$RUN_ROOT/codec.log"
node --import tsx scripts/demo/tenant.ts "$TENANT"
cp "$TENANT/hr-export-v1.csv" "$TENANT/hr-export.csv"
node --import tsx scripts/demo/prepare.ts groups "$TENANT/rules.yaml"
node --import tsx scripts/demo/prepare.ts legacy
# Manager mails go to a local SMTP sink that prints what it receives.
stop_pid "$RUN_ROOT/mail.pid" group
setsid node --import tsx scripts/demo/mail-sink.ts "$SMTP_PORT" >"$RUN_ROOT/mail.log" 2>&1 </dev/null &
echo $! >"$RUN_ROOT/mail.pid"
setsid node --import tsx workers/main.ts >"$RUN_ROOT/worker.log" 2>&1 </dev/null &
echo $! >"$WORKER_PID"
wait_for "Tenure worker" "$RUN_ROOT/worker.log" 120 grep -q '\[worker\] running' "$RUN_ROOT/worker.log"
node --import tsx scripts/demo/prepare.ts poll demo
# Ninety seconds later the HR system changes: movers, name changes, a withdrawn hire, a rehire.
( sleep 90 && cp "$TENANT/hr-export-v2.csv" "$TENANT/hr-export.csv" && node --import tsx scripts/demo/prepare.ts poll demo ) \
  >>"$RUN_ROOT/worker.log" 2>&1 </dev/null &

cat <<MSG

Tenure demo is running.
  Temporal Web UI:   $TEMPORAL_UI_URL   (workflows employee-demo:1000 ... employee-demo:1049, poll-demo)
  Worker log:        $RUN_ROOT/worker.log      Manager mails: $RUN_ROOT/mail.log
  Payloads:          encrypted (AES-256-GCM, key in $KEYS_FILE); the UI decodes them through
                     the codec server $TENURE_CODEC_ENDPOINT (log: $RUN_ROOT/codec.log)
  Active Directory:  $AD_URL  base OU=Tenure,$AD_BASE_DN

What happens:
  now        the first poll starts 50 employee workflows; staff in service get enabled accounts
  +1 min     new hires (demo:1030..1039) get their accounts, created disabled
  +1.5 min   the HR export changes: movers (1020..1023) change department and OU, name changes
             (1024..1026) get a new display name and e-mail, hire 1038 is withdrawn (account
             deleted), leaver 1045 is rehired
  +3 min     new hires are enabled; their manager gets a mail
  +4 min     leavers (1040..1045) are disabled and moved to OU=Disabled; manager mailed
  +8 min     leavers' accounts are deleted; their workflows complete
  1046..1049 start next month: see 'upcoming'
  namesakes  demo:1010, 1030, 1031 are all Ruben ter Horst: r.terhorst, ru.terhorst, rub.terhorst;
             demo:1027, 1032, 1033 are all Bo Smit: b.smit, bo.smit, b.smit2 (first account made first)
  go-live    demo:1005 already had an account (legacy1005, made by an older tool): Tenure adopts it
             and keeps its login names; the audit log says 'adopted' (node bin/tenure.js audit demo:1005)

First: source $RUN_ROOT/encryption.env   (the CLI needs the demo key to read encrypted results;
       without it the CLI says so and stops)
Try:  node bin/tenure.js status demo:1030     node bin/tenure.js upcoming demo:1046
      node bin/tenure.js audit demo:1040      node bin/tenure.js reprovision demo:1001 --reason "check"
Stop: bash scripts/demo.sh stop
MSG
