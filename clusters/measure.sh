#!/usr/bin/env bash
# Cluster create time and resident memory of one shape on this machine:
#   bash clusters/measure.sh SHAPE [NODE_IMAGE]
# creates kind cluster shapes-measure-SHAPE from clusters/SHAPE.yaml (offline image by default),
# times `kind create cluster --wait 5m` (every node Ready), then sums the memory Docker reports for
# the cluster's containers (nodes and load balancer: `docker stats --no-stream`, cgroup usage, page
# cache included) and deletes the cluster. Prints one line: shape, seconds, MiB, containers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shape=${1:-}
[[ -n $shape && -f $root/clusters/$shape.yaml ]] || {
  echo "kube-breakfix: usage: clusters/measure.sh SHAPE [NODE_IMAGE] (SHAPE: $(cd "$root/clusters" && ls ./*.yaml | sed 's#./##; s#.yaml##' | xargs))" >&2; exit 2; }
image=${2:-$(cat "$root/airgap/.build/node-image.ref" 2>/dev/null || true)}
[[ -n $image ]] || { echo "kube-breakfix: no node image: run make node-image or pass one" >&2; exit 2; }
kind=$root/airgap/.build/bin/kind
name=shapes-measure-$shape
"$kind" delete cluster --name "$name" >/dev/null 2>&1 || true
trap '"$kind" delete cluster --name "$name" >/dev/null 2>&1 || true' EXIT
t0=$(date +%s.%N)
"$kind" create cluster --name "$name" --config "$root/clusters/$shape.yaml" --image "$image" --wait 5m \
  --kubeconfig "$(mktemp)" >&2
t1=$(date +%s.%N)
mapfile -t ids < <(docker ps -q --filter "label=io.x-k8s.kind.cluster=$name")
mib=$(docker stats --no-stream --format '{{.MemUsage}}' "${ids[@]}" | awk '
  { split($1, a, /[0-9.]+/); v = $1 + 0; u = substr($1, length(v "") + 1)
    if (u ~ /^GiB/) v *= 1024; else if (u ~ /^KiB/) v /= 1024; else if (u ~ /^B/) v /= 1048576
    s += v }
  END { printf "%.0f", s }')
printf '%s create %.1f s, memory %s MiB, %d containers, image %s\n' "$shape" "$(echo "$t1 - $t0" | bc)" "$mib" "${#ids[@]}" "$image"
