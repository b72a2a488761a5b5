#!/usr/bin/env bash
# The Go settings every build of this project uses, so all of them share one module and build
# cache under $MICROPAY_CACHE (scripts/setup_engine.sh sources this file).
#   source scripts/go_env.sh          set them in this shell
#   scripts/go_env.sh go test ./...   run one command with them
CACHE=${CACHE:-${MICROPAY_CACHE:-$HOME/.cache/micropay-platform}}
export GOMODCACHE="$CACHE/go/mod"
export GOCACHE="$CACHE/go/build"
export GOPATH="$CACHE/go/path"
export GOPROXY=${GOPROXY:-https://proxy.golang.org}
export GOTOOLCHAIN=local          # never try to download another toolchain
export GOFLAGS="-modcacherw -buildvcs=false"
export CGO_ENABLED=0
if [[ ${BASH_SOURCE[0]} == "$0" && $# -gt 0 ]]; then
  exec "$@"
fi
