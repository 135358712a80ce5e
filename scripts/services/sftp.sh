#!/usr/bin/env bash
# OpenSSH sftp server for the file-based targets: project host key and client key pair, key auth
# only, a dedicated system user, an upload folder, 127.0.0.1 only. Usage: sftp.sh start|stop|status
SERVICE=sftp
source "$(dirname "$0")/../lib.sh"

DIR="$RUN_ROOT/sftp"
LOGF="$DIR/sshd.log"
PIDF="$DIR/sshd.pid"
SFTP_USER="${SFTP_USER:-tenure-sftp}"
UPLOAD="$DIR/home/upload"

ensure_user() {
  id "$SFTP_USER" >/dev/null 2>&1 && return 0
  useradd --system --no-create-home --shell /usr/sbin/nologin "$SFTP_USER"
  usermod -p '*' "$SFTP_USER" # '*' not '!': with UsePAM off, '!' means locked
}

write_env() {
  cat >"$DIR/sftp.env" <<ENV
export SFTP_HOST=127.0.0.1 SFTP_PORT=$SFTP_PORT SFTP_USERNAME=$SFTP_USER
export SFTP_PRIVATE_KEY_FILE=$DIR/keys/client_ed25519
export SFTP_HOST_KEY_FILE=$DIR/keys/host_ed25519.pub
export SFTP_UPLOAD_DIR=$UPLOAD
ENV
}

start() {
  [ -x /usr/sbin/sshd ] || die "openssh-server is not installed; run scripts/setup.sh"
  mkdir -p "$DIR/keys" "$UPLOAD" /run/sshd
  if pid_alive "$PIDF" && port_open 127.0.0.1 "$SFTP_PORT"; then log "already running on 127.0.0.1:$SFTP_PORT"; write_env; return 0; fi
  ensure_user
  [ -f "$DIR/keys/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C tenure-sftp-host -f "$DIR/keys/host_ed25519"
  [ -f "$DIR/keys/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C tenure-client -f "$DIR/keys/client_ed25519"
  cp "$DIR/keys/client_ed25519.pub" "$DIR/authorized_keys"
  chown "$SFTP_USER" "$DIR/authorized_keys" "$UPLOAD"
  chmod 644 "$DIR/authorized_keys"
  local d="$DIR"; while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
  cat >"$DIR/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $SFTP_PORT
HostKey $DIR/keys/host_ed25519
PidFile $PIDF
AuthorizedKeysFile $DIR/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
PermitRootLogin no
StrictModes no
AllowUsers $SFTP_USER
AllowTcpForwarding no
X11Forwarding no
Subsystem sftp internal-sftp
Match User $SFTP_USER
  ForceCommand internal-sftp -d /upload
CONF
  # internal-sftp -d needs the path as the user sees it: no chroot here, so use the absolute one.
  sed -i "s#internal-sftp -d /upload#internal-sftp -d $UPLOAD#" "$DIR/sshd_config"
  /usr/sbin/sshd -t -f "$DIR/sshd_config" 2>>"$LOGF" || die "sshd config invalid; see $LOGF"
  setsid /usr/sbin/sshd -D -E "$LOGF" -f "$DIR/sshd_config" </dev/null >/dev/null 2>&1 &
  echo $! >"$PIDF"
  wait_for "sshd" "$LOGF" 10 port_open 127.0.0.1 "$SFTP_PORT"
  write_env
  log "ready on 127.0.0.1:$SFTP_PORT (user $SFTP_USER, upload folder $UPLOAD)"
}

stop() { stop_pid "$PIDF"; log "stopped"; }
status() { if pid_alive "$PIDF"; then echo "sftp: running on 127.0.0.1:$SFTP_PORT"; else echo "sftp: stopped"; return 1; fi; }

case "${1:-}" in start) start ;; stop) stop ;; status) status ;; *) echo "usage: $0 start|stop|status" >&2; exit 2 ;; esac
