#!/usr/bin/env bash
# Docker runtime wrapper for hosts whose capability bounding set lacks CAP_SYS_RESOURCE.
# `docker run --privileged` asks runc for every capability Docker knows; runc then fails with
# "unable to apply caps: operation not permitted" because the kernel won't grant one the
# bounding set doesn't hold. This wrapper drops CAP_SYS_RESOURCE from the OCI spec runc reads
# (the bundle's config.json for create/run, the --process file for exec) and execs runc.
# Installed by airgap/docker-up.sh only where the capability is missing.
set -euo pipefail
REAL_RUNC=${BREAKFIX_REAL_RUNC:-/usr/sbin/runc}
CAP=CAP_SYS_RESOURCE

strip_caps() { # FILE JQPATH
  local f=$1 path=$2 tmp
  [[ -f $f ]] || return 0
  grep -q "$CAP" "$f" || return 0
  tmp=$(mktemp "$f.XXXXXX")
  jq --arg cap "$CAP" "$path |= (if . == null then . else with_entries(.value |= (if type == \"array\" then map(select(. != \$cap)) else . end)) end)" "$f" > "$tmp"
  mv "$tmp" "$f"
}

sub="" bundle="" process=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  a=${args[i]}
  case $a in
    create|run|exec) [[ -z $sub ]] && sub=$a ;;
    --bundle|-b) bundle=${args[i+1]:-} ;;
    --bundle=*) bundle=${a#--bundle=} ;;
    --process|-p) process=${args[i+1]:-} ;;
    --process=*) process=${a#--process=} ;;
  esac
done
case $sub in
  create|run) strip_caps "${bundle:-.}/config.json" '.process.capabilities' ;;
  exec) [[ -n $process ]] && strip_caps "$process" '.capabilities' ;;
esac
exec "$REAL_RUNC" "$@"
