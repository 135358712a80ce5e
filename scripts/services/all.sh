#!/usr/bin/env bash
# Start or stop every server Tenure needs, for one environment (TENURE_ENV=demo|test).
# Usage: all.sh start|stop|status ; after start, .run/<env>/services.env holds the connection settings.
SERVICE=services
source "$(dirname "$0")/../lib.sh"
SERVICES=(postgres temporal samba sftp)
here="$(dirname "$0")"

case "${1:-}" in
  start)
    for s in "${SERVICES[@]}"; do bash "$here/$s.sh" start; done
    cat "$RUN_ROOT"/postgres/pg.env "$RUN_ROOT"/temporal/temporal.env "$RUN_ROOT"/samba/ad.env "$RUN_ROOT"/sftp/sftp.env \
      >"$RUN_ROOT/services.env"
    echo "export SMTP_PORT=$SMTP_PORT" >>"$RUN_ROOT/services.env"
    # The test suite runs unencrypted workers on purpose (tests that need encryption set keys
    # themselves); without this a worker refuses to start without TENURE_ENCRYPTION_KEYS.
    # And the simulators speak plain http:// on loopback, which connectors refuse without
    # TENURE_ALLOW_INSECURE_TRANSPORT=1 (connectors/transport.ts). Samba is verified by its CA.
    if [ "$TENURE_ENV" = test ]; then
      echo "export TENURE_PAYLOADS_PLAINTEXT=1 TENURE_ALLOW_INSECURE_TRANSPORT=1" >>"$RUN_ROOT/services.env"
    fi
    ;;
  stop)
    rc=0
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do bash "$here/${SERVICES[$i]}.sh" stop || rc=1; done
    exit $rc
    ;;
  status)
    rc=0
    for s in "${SERVICES[@]}"; do bash "$here/$s.sh" status || rc=1; done
    exit $rc
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
