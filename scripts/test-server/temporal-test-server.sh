#!/usr/bin/env bash
# Starts Temporal's time-skipping test server (Java, from Maven Central; scripts/setup.sh copies it
# into .tools/temporal-test-server/lib). The TypeScript SDK runs this file as an existing-path
# executable with the port as first argument.
lib="${TENURE_TEST_SERVER_LIB:-$(cd "$(dirname "$0")/../.." && pwd)/.tools/temporal-test-server/lib}"
[ -f "$lib/.complete" ] || { echo "temporal-test-server: $lib is missing; run bash scripts/setup.sh" >&2; exit 1; }
exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -cp "$lib/*" io.temporal.testserver.TestServer "$@"
