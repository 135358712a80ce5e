#!/usr/bin/env bash
# Installs what Tenure needs on a fresh Debian 12 machine; fast when everything is already there.
#  - Debian packages for Samba AD, OpenLDAP tools, OpenSSH and PostgreSQL 15
#  - the Temporal CLI (dev server + Web UI) built from the Go module proxy into .tools/bin
#  - the Temporal server and temporal-sql-tool (same version) for the PostgreSQL-backed cluster
#  - node_modules from the lockfile
SERVICE=setup
source "$(dirname "$0")/lib.sh"
cd "$TENURE_ROOT"

TEMPORAL_CLI_VERSION=v1.5.1 # later tags carry a replace directive and cannot be `go install`ed
DEBIAN_PACKAGES=(samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind
  ldb-tools slapd ldap-utils openssh-server openssh-client postgresql-15 iproute2 util-linux)

install_debian_packages() {
  local missing=() p
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && { log "Debian packages present"; return 0; }
  log "installing Debian packages: ${missing[*]}"
  local sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

build_temporal_cli() {
  local bin="$TOOLS_DIR/bin/temporal"
  if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then log "Temporal CLI present ($("$bin" --version))"; return 0; fi
  command -v go >/dev/null || die "Go (>= 1.25) is needed to build the Temporal CLI"
  log "building Temporal CLI $TEMPORAL_CLI_VERSION with go install (a few minutes, once)"
  mkdir -p "$TOOLS_DIR/bin"
  GOBIN="$TOOLS_DIR/bin" GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
  "$bin" --version >/dev/null || die "Temporal CLI build did not produce a working binary"
}

install_node_modules() {
  local stamp="node_modules/.tenure-lock-hash" want
  want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then log "node_modules up to date"; return 0; fi
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" >"$stamp"
}

started=$SECONDS
install_debian_packages
build_temporal_cli
# The production-shaped server for scripts/cluster-test.sh (shares the CLI's Go build cache).
bash "$TENURE_ROOT/scripts/services/temporal-cluster.sh" build
install_node_modules
log "setup done in $((SECONDS - started))s"
