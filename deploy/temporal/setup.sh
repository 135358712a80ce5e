#!/bin/sh
# One-shot job (docker-compose service `temporal-setup`, image temporalio/admin-tools):
# waits for the Temporal frontend, creates Tenure's namespace and registers its search
# attributes. Idempotent: safe to run on every `docker compose up`.
#
# Keep SEARCH_ATTRIBUTES in step with scripts/lib.sh (dev server and cluster) and the
# search attribute keys the workflows declare. SQL visibility allows 10 Keyword and
# 3 Datetime custom attributes per namespace.
set -eu

TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-tenure}"
RETENTION="${TEMPORAL_RETENTION:-720h}" # 30 days
SEARCH_ATTRIBUTES="EmployeeId=Keyword LifecycleState=Keyword Department=Keyword StartDate=Datetime EndDate=Datetime ProvisioningHealth=Keyword SourceId=Keyword PollState=Keyword"

export TEMPORAL_ADDRESS

# retry ATTEMPTS FAILURE COMMAND...: run COMMAND every 2 s until it succeeds; after ATTEMPTS tries, stop with FAILURE.
retry() {
  attempts="$1"
  failure="$2"
  shift 2
  attempt=0
  until "$@"; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge "$attempts" ]; then
      echo "$failure after $attempt attempts" >&2
      exit 1
    fi
    sleep 2
  done
}

serving() { temporal operator cluster health 2>/dev/null | grep -q SERVING; }
list_search_attributes() { existing="$(temporal operator search-attribute list --namespace "$NAMESPACE" 2>/dev/null)"; }

echo "waiting for Temporal at $TEMPORAL_ADDRESS ..."
retry 60 "Temporal did not report SERVING" serving
echo "Temporal is serving"

if temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $NAMESPACE exists"
else
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" \
    --description "Tenure identity lifecycle"
  echo "namespace $NAMESPACE created (retention $RETENTION)"
fi

# A new namespace can take a few seconds to become visible to every frontend cache.
retry 30 "could not list search attributes of $NAMESPACE" list_search_attributes

for sa in $SEARCH_ATTRIBUTES; do
  name="${sa%%=*}"
  type="${sa#*=}"
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "search attribute $name exists"
    continue
  fi
  temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type "$type"
  echo "search attribute $name ($type) registered"
done

echo "Temporal setup for namespace $NAMESPACE complete"
