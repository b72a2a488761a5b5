#!/usr/bin/env bash
# setup_promtool.sh - provide Prometheus' promtool, and promql-selectors (a tiny
# helper over the same module's PromQL parser, tools/promql/), for the alert and
# dashboard tests. Both are built from the pinned Go module
# github.com/prometheus/prometheus (Prometheus 3.x releases are published as
# module versions v0.3xx.y: v0.316.0 is Prometheus 3.16.0) through the Go module
# proxy, with scripts/lib/go_build.sh, into the cache:
#
#   $CACHE/prometheus/v<ver>/bin/promtool
#   $CACHE/prometheus/v<ver>/bin/promql-selectors
#
# CACHE defaults to ${MICROPAY_CACHE:-$HOME/.cache/micropay-platform}.
# A second run only checks stamps and builds nothing.
#
# Usage: scripts/setup_promtool.sh [--print-bin]
#   --print-bin   print the bin directory on stdout (progress goes to stderr)
# Env: MICROPAY_PROMETHEUS_VERSION overrides the pinned module version.
set -euo pipefail

PROMETHEUS_VERSION=${MICROPAY_PROMETHEUS_VERSION:-0.316.0}
PROMETHEUS_VERSION=${PROMETHEUS_VERSION#v}
MODULE=github.com/prometheus/prometheus

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
LOG_TAG=setup_promtool
# shellcheck source=lib/go_build.sh
source "$SCRIPT_DIR/lib/go_build.sh"

PRINT_BIN=0
case ${1:-} in
  --print-bin) PRINT_BIN=1 ;;
  "") ;;
  *) die "unknown argument: $1 (usage: scripts/setup_promtool.sh [--print-bin])" ;;
esac

BIN="$CACHE/prometheus/v$PROMETHEUS_VERSION/bin"
mkdir -p "$BIN"
# What `promtool --version` prints: module v0.3XX.Y is Prometheus 3.XX.Y.
VERSION_VAR=github.com/prometheus/common/version.Version
RELEASE=3.${PROMETHEUS_VERSION#0.3}

start=$SECONDS
# remove_all_sd: promtool checks and tests rules without any service discovery,
# and the SD plugins need modules the proxy here refuses (github.com/hashicorp/nomad/api
# at the version v0.316.0 pins: 403) besides a large part of the build (client-go, cloud SDKs).
GB_TAGS=remove_all_sd build_go_binary promtool "$MODULE" "$PROMETHEUS_VERSION" "$MODULE/cmd/promtool" "$BIN/promtool" \
  "$VERSION_VAR" "$RELEASE" ||
  die "promtool from $MODULE@v$PROMETHEUS_VERSION could not be built (see above)"
GB_MAIN_GO=$(cat "$REPO_ROOT/tools/promql/main.go") GB_LDFLAGS="-X $VERSION_VAR=$RELEASE" \
  build_go_binaries promql-selectors "$MODULE" "$PROMETHEUS_VERSION" "$BIN" . ||
  die "promql-selectors (tools/promql) could not be built against $MODULE@v$PROMETHEUS_VERSION (see above)"
log "ready in $((SECONDS - start))s: $("$BIN/promtool" --version 2>&1 | head -n1)"
[[ $PRINT_BIN == 1 ]] && printf '%s\n' "$BIN"
exit 0
