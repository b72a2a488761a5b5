#!/usr/bin/env bash
# cluster_build.sh - build the local Kubernetes control plane used by
# `make cluster` and the cluster tests, from pinned Go modules, into the cache:
#
#   $CACHE/cluster/kubernetes-v<ver>/{kube-apiserver,kube-controller-manager,kube-scheduler}
#   $CACHE/cluster/etcd-v<ver>/etcd
#   $CACHE/cluster/kwok-v<ver>/kwok          simulated nodes (no container runtime)
#   $CACHE/cluster/kwok-v<ver>/stages/*.yaml its node and pod stages
#
# Same mechanism as the engine (scripts/lib/go_build.sh): a throwaway module per
# pin, shared Go caches, a stamp per output set, so a second run builds nothing.
# k8s.io/kubernetes publishes its staging modules (k8s.io/api, ...) as v0.X.Y
# for release v1.X.Y: the throwaway module maps each of them to that version.
#
# Usage: scripts/cluster_build.sh [--print-env] [--retry-refused]
#   --print-env   print `export MICROPAY_KUBE_BIN=... ` lines (the directories
#                 of the binaries) on stdout; progress goes to stderr.
# Measured cold on this machine: see README "Local cluster".
set -euo pipefail

KUBERNETES_VERSION=1.34.1
ETCD_VERSION=3.6.5
KWOK_VERSION=0.8.0

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${MICROPAY_CACHE:-$HOME/.cache/micropay-platform}
LOG_TAG=cluster_build
RETRY_REFUSED=0 PRINT_ENV=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --print-env) PRINT_ENV=1; shift ;;
    --retry-refused) RETRY_REFUSED=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
    *) echo "cluster_build.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
# shellcheck source=lib/go_build.sh
source "$SCRIPT_DIR/lib/go_build.sh"

KUBE_DIR="$CACHE/cluster/kubernetes-v$KUBERNETES_VERSION"
ETCD_DIR="$CACHE/cluster/etcd-v$ETCD_VERSION"
KWOK_DIR="$CACHE/cluster/kwok-v$KWOK_VERSION"
start=$SECONDS

minor=${KUBERNETES_VERSION#*.}; minor=${minor%%.*}
GB_LOCAL_REPLACE_VERSION="v0.${KUBERNETES_VERSION#*.}" \
GB_LDFLAGS="-X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
  build_go_binaries kubernetes k8s.io/kubernetes "$KUBERNETES_VERSION" "$KUBE_DIR" \
    "k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-controller-manager"

# etcd's command is etcdmain.Main in the server module (the repository's root
# main package lives in a module that also pulls in its test suites).
GB_MAIN_GO='package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }' \
  build_go_binaries etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$ETCD_DIR" .

GB_LDFLAGS="-X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION" \
  build_go_binaries kwok sigs.k8s.io/kwok "$KWOK_VERSION" "$KWOK_DIR" sigs.k8s.io/kwok/cmd/kwok

# kwok does nothing without stages: its own "fast" ones (nodes Ready at once, pods Running and
# Ready with an IP) and node heartbeats through leases, from the same module release.
if [[ ! -f $KWOK_DIR/stages/.stamp || $(cat "$KWOK_DIR/stages/.stamp") != "v$KWOK_VERSION" ]]; then
  kwok_src=$(go_mod_download "sigs.k8s.io/kwok@v$KWOK_VERSION") || die "kwok v$KWOK_VERSION: module source not available"
  rm -rf "$KWOK_DIR/stages"; mkdir -p "$KWOK_DIR/stages"
  cp "$kwok_src"/kustomize/stage/node/fast/node-initialize.yaml \
     "$kwok_src"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
     "$kwok_src"/kustomize/stage/pod/fast/pod-*.yaml "$KWOK_DIR/stages/"
  chmod 0644 "$KWOK_DIR/stages/"*.yaml
  printf 'v%s\n' "$KWOK_VERSION" >"$KWOK_DIR/stages/.stamp"
  log "kwok v$KWOK_VERSION: stages $(cd "$KWOK_DIR/stages" && echo *.yaml)"
fi

if [[ ${GB_BUILT:-0} == 1 ]]; then
  log "built in $((SECONDS - start))s; cache: $(du -sh "$CACHE/cluster" | cut -f1) cluster binaries," \
      "$(du -sh "$CACHE/go" 2>/dev/null | cut -f1) Go caches (shared with the engine build)"
fi
if [[ $PRINT_ENV == 1 ]]; then
  printf 'export MICROPAY_KUBE_BIN=%q\nexport MICROPAY_ETCD_BIN=%q\nexport MICROPAY_KWOK_BIN=%q\n' "$KUBE_DIR" "$ETCD_DIR" "$KWOK_DIR"
fi
