#!/usr/bin/env bash
# Brings up a working Docker engine on this host, idempotently:
#  1. installs Debian's docker.io (and jq) when dockerd is absent;
#  2. where the capability bounding set lacks CAP_SYS_RESOURCE, registers runc-wrapper.sh as
#     the default runtime so `docker run --privileged` (which kind always uses) works;
#  3. starts dockerd when it is not running and waits until `docker info` answers.
source "$(dirname "$0")/lib.sh"
[[ -n $PLAN || $(id -u) -eq 0 ]] || die "must run as root to install and start the Docker engine"
TIMEOUT=${BREAKFIX_DOCKER_TIMEOUT:-60}
DAEMON_JSON=/etc/docker/daemon.json
WRAPPER=/usr/local/libexec/kube-breakfix/runc-wrapper
LOGFILE=/var/log/kube-breakfix-dockerd.log

ensure_docker_tools
[[ -z $PLAN ]] || { docker info >/dev/null 2>&1 || plan "start dockerd (log: $LOGFILE)"; exit 0; }

cap_sys_resource_missing() {
  local bnd; bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  (( (0x$bnd >> 24 & 1) == 0 ))
}

changed=0
mkdir -p /etc/docker
[[ -s $DAEMON_JSON ]] || echo '{}' > "$DAEMON_JSON"
if cap_sys_resource_missing; then
  if ! cmp -s "$AIRGAP_DIR/runc-wrapper.sh" "$WRAPPER"; then
    install -D -m 0755 "$AIRGAP_DIR/runc-wrapper.sh" "$WRAPPER"; changed=1
  fi
  want=$(jq --arg p "$WRAPPER" '.runtimes["breakfix-runc"] = {path: $p} | ."default-runtime" = "breakfix-runc"' "$DAEMON_JSON")
  if [[ $want != "$(jq . "$DAEMON_JSON")" ]]; then
    log "CAP_SYS_RESOURCE is not in the bounding set: registering the runc wrapper as default runtime"
    echo "$want" > "$DAEMON_JSON"; changed=1
  fi
fi

if docker info >/dev/null 2>&1; then
  if (( changed )); then
    die "dockerd is running but $DAEMON_JSON changed: restart dockerd so it takes the runc wrapper"
  fi
  log "docker engine already running"; exit 0
fi

if ! pgrep -x dockerd >/dev/null; then
  log "starting dockerd (log: $LOGFILE)"
  setsid nohup dockerd >>"$LOGFILE" 2>&1 </dev/null &
fi
deadline=$((SECONDS + TIMEOUT))
until docker info >/dev/null 2>&1; do
  if (( SECONDS >= deadline )); then
    die "dockerd did not answer within ${TIMEOUT}s; last log lines: $(tail -n 3 "$LOGFILE" 2>/dev/null | tr '\n' ' ')"
  fi
  pgrep -x dockerd >/dev/null || die "dockerd exited; last log lines: $(tail -n 3 "$LOGFILE" 2>/dev/null | tr '\n' ' ')"
  sleep 0.5
done
log "docker engine ready: $(docker version --format '{{.Server.Version}}')"
