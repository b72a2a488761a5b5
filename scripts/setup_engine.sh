#!/usr/bin/env bash
# setup_engine.sh - provide the Pulumi engine for this project without the
# official installer (which needs GitHub/get.pulumi.com, unreachable here).
#
# Everything is built from Go modules fetched through the Go module proxy and
# installed into a cache outside the repository:
#
#   $CACHE/pulumi/v<ver>/bin/pulumi                      the CLI
#   $CACHE/pulumi/v<ver>/bin/pulumi-language-python      the Python language host
#   $CACHE/pulumi/v<ver>/bin/pulumi-language-python-exec its exec shim (+ dynamic
#                                                        provider / policy shims)
#   $CACHE/pulumi-home/plugins/resource-<name>-v<ver>/pulumi-resource-<name>
#                                                        official plugins, when they can be had
#   $CACHE/plugins/bin/pulumi-resource-{kubernetes,random} the project's own plugins (plugins/
#                                                        in this repo), otherwise; their dir is
#                                                        put first on PATH by env.sh
#   $CACHE/env.sh                                        `source` it to use the engine
#   $CACHE/go/{mod,build,path}                           Go module/build caches
#
# CACHE defaults to ${MICROPAY_CACHE:-$HOME/.cache/micropay-platform}.
#
# Versions (first match wins): command-line flags, environment variables,
# the pins `pulumi==X`, `pulumi-kubernetes==Y`, `pulumi-random==Z` of
# requirements.txt at the repo root (read by tools/pins.py; one missing is an error).
#
# Usage: scripts/setup_engine.sh [options]
#   --pulumi VER          Pulumi CLI version        (env MICROPAY_PULUMI_VERSION)
#   --kubernetes VER      kubernetes provider       (env MICROPAY_PULUMI_KUBERNETES_VERSION)
#   --random VER          random provider           (env MICROPAY_PULUMI_RANDOM_VERSION)
#   --python-host VER     Python language host      (env MICROPAY_PULUMI_PYTHON_HOST_VERSION,
#                                                    default: same as --pulumi; if that one
#                                                    cannot be had, v3.79.0 with a warning)
#   --engine-only         build CLI + language host only, skip resource plugins
#                         (env MICROPAY_ENGINE_ONLY=1)
#   --plugins WHICH       auto (default): the official resource plugins when installed or
#                         buildable, else the project's own from plugins/; official: never
#                         the project's; project: always the project's
#                         (env MICROPAY_PLUGINS)
#   --retry-refused       ask the proxy again for module versions it refused
#                         before (refusals are remembered in $CACHE/refused/)
#   --print-env           print `export ...` lines on stdout (progress goes to stderr),
#                         for: eval "$(scripts/setup_engine.sh --print-env)"
#   -h, --help
#
# Exit status: 0 all requested pieces present; 3 some piece could not be
# obtained (the reason is printed and kept in $CACHE/refused/); 1 other errors.
# A second run with the same versions only checks stamps and is a no-op.
set -euo pipefail

# ---------------------------------------------------------------- python host fallback
# 3.79.0 is the newest Pulumi whose Python language host can be built from the
# Go proxy: up to v3.79.0 it lives inside github.com/pulumi/pulumi/sdk/v3; from
# v3.80.0 on it is its own module (sdk/python/cmd/pulumi-language-python/v3),
# which the proxy here refuses (403). A newer CLI (pkg/v3 is served up to
# v3.259.0) then runs with the v3.79.0 host: see ensure_python_host.
LAST_EMBEDDED_PYTHON_HOST=3.79.0

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
CACHE=${MICROPAY_CACHE:-$HOME/.cache/micropay-platform}

# log, die, setup_go, go_mod_download, build_go_binary, version_le; $REFUSED_DIR, $BUILD_ROOT
LOG_TAG=setup_engine
# shellcheck source=lib/go_build.sh
source "$SCRIPT_DIR/lib/go_build.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; }

# ---------------------------------------------------------------- arguments
ARG_PULUMI="" ARG_K8S="" ARG_RANDOM="" ARG_PYHOST=""
ENGINE_ONLY=${MICROPAY_ENGINE_ONLY:-0}
RETRY_REFUSED=0
PRINT_ENV=0
PLUGINS=${MICROPAY_PLUGINS:-auto}
while [[ $# -gt 0 ]]; do
  case $1 in
    --pulumi) ARG_PULUMI=${2:?}; shift 2 ;;
    --kubernetes) ARG_K8S=${2:?}; shift 2 ;;
    --random) ARG_RANDOM=${2:?}; shift 2 ;;
    --python-host) ARG_PYHOST=${2:?}; shift 2 ;;
    --engine-only) ENGINE_ONLY=1; shift ;;
    --plugins) PLUGINS=${2:?}; shift 2 ;;
    --retry-refused) RETRY_REFUSED=1; shift ;;
    --print-env) PRINT_ENV=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage; die "unknown argument: $1" ;;
  esac
done
case $PLUGINS in auto|official|project) ;; *) die "--plugins / MICROPAY_PLUGINS must be auto, official or project (got '$PLUGINS')" ;; esac

# Version of package $1 pinned in requirements.txt (tools/pins.py, the one reader of the pins; it
# names the line to add when there is none).
pinned() { (cd "$REPO_ROOT" && python3 -m tools.pins "$1"); }

pick() { # first non-empty argument; fails when every one is empty
  local v
  for v in "$@"; do [[ -n $v ]] && { printf '%s\n' "${v#v}"; return; }; done
  return 1
}

PULUMI_VERSION=$(pick "$ARG_PULUMI" "${MICROPAY_PULUMI_VERSION:-}" || pinned pulumi) || exit 1
K8S_VERSION=$(pick "$ARG_K8S" "${MICROPAY_PULUMI_KUBERNETES_VERSION:-}" || pinned pulumi-kubernetes) || exit 1
RANDOM_VERSION=$(pick "$ARG_RANDOM" "${MICROPAY_PULUMI_RANDOM_VERSION:-}" || pinned pulumi-random) || exit 1
PYHOST_VERSION=$(pick "$ARG_PYHOST" "${MICROPAY_PULUMI_PYTHON_HOST_VERSION:-}" "$PULUMI_VERSION")
PYHOST_EXPLICIT=$([[ -n $ARG_PYHOST || -n ${MICROPAY_PULUMI_PYTHON_HOST_VERSION:-} ]] && echo 1 || echo 0)
PYHOST_USED=""

BIN="$CACHE/pulumi/v$PULUMI_VERSION/bin"
PULUMI_HOME_DIR="$CACHE/pulumi-home"
mkdir -p "$BIN" "$PULUMI_HOME_DIR/plugins"

# The CLI writes a debug-level log of every command into $PULUMI_HOME/logs (up to 500 MB kept).
# Profiled here, that log is 70 % of the engine's CPU in a preview (a JSON record per property,
# then gzip), so the engine home of this cache goes without it: a plain file where the directory
# would be makes the CLI skip it. MICROPAY_ENGINE_LOG=1 keeps it; `pulumi ... -v=9 --logtostderr`
# still prints the engine's own verbose log either way.
ENGINE_LOGS="$PULUMI_HOME_DIR/logs"
if [[ ${MICROPAY_ENGINE_LOG:-0} == 1 ]]; then
  [[ -d $ENGINE_LOGS ]] || { rm -f "$ENGINE_LOGS"; mkdir -p "$ENGINE_LOGS"; }
elif [[ ! -f $ENGINE_LOGS ]]; then
  rm -rf "$ENGINE_LOGS"
  echo "the CLI's automatic log is off in this engine home (MICROPAY_ENGINE_LOG=1 make setup turns it on)" >"$ENGINE_LOGS"
fi

MISSING=()

# ---------------------------------------------------------------- pulumi CLI
PULUMI_BIN_DIR=$BIN
ensure_cli() {
  local existing
  existing=$(command -v pulumi 2>/dev/null || true)
  if [[ -n $existing && $existing != "$BIN/pulumi" ]] &&
     [[ $("$existing" version 2>/dev/null | tr -d '[:space:]') == "v$PULUMI_VERSION" ]]; then
    log "pulumi v$PULUMI_VERSION already on PATH: $existing (used as is)"
    PULUMI_BIN_DIR=$(dirname "$existing")
    return 0
  fi
  # `pulumi version` prints pkg/v3/version.Version in older releases and
  # sdk/v3/go/common/version.Version in newer ones: set both.
  build_go_binary pulumi github.com/pulumi/pulumi/pkg/v3 "$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$BIN/pulumi" \
    "github.com/pulumi/pulumi/pkg/v3/version.Version github.com/pulumi/pulumi/sdk/v3/go/common/version.Version" \
    "v$PULUMI_VERSION" ||
    MISSING+=("pulumi CLI v$PULUMI_VERSION")
}

# ---------------------------------------------------------------- python host
copy_python_shims() { # copy exec shim + dynamic-provider/policy shims from sdk/v3
  local sdkdir=$1 dest=$2 f
  for f in python/cmd/pulumi-language-python-exec \
           python/dist/pulumi-resource-pulumi-python \
           python/dist/pulumi-analyzer-policy-python; do
    if [[ -f $sdkdir/$f ]]; then
      install -m 0755 "$sdkdir/$f" "$dest/$(basename "$f")"
    fi
  done
}

# build_python_host VERSION: language host (+ shims) of that release into $BIN.
build_python_host() {
  local ver=$1 module pkg sdkdir
  if version_le "$ver" "$LAST_EMBEDDED_PYTHON_HOST"; then
    module=github.com/pulumi/pulumi/sdk/v3
    pkg=github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python
  else
    module=github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3
    pkg=$module
  fi
  build_go_binary pulumi-language-python "$module" "$ver" "$pkg" \
    "$BIN/pulumi-language-python" \
    github.com/pulumi/pulumi/sdk/v3/go/common/version.Version "v$ver" || return 1
  # The exec shim (and the dynamic-provider / policy shims) ship in sdk/v3 at
  # python/cmd/pulumi-language-python-exec and python/dist/; the host looks for
  # them next to its binary.
  if ! grep -qx "$ver" "$BIN/.shims-version" 2>/dev/null; then
    sdkdir=$(go_mod_download "github.com/pulumi/pulumi/sdk/v3@v$ver") || return 1
    rm -f "$BIN/pulumi-language-python-exec" "$BIN/pulumi-resource-pulumi-python" "$BIN/pulumi-analyzer-policy-python"
    copy_python_shims "$sdkdir" "$BIN"
    printf '%s\n' "$ver" >"$BIN/.shims-version"
    log "python shims from sdk/v3@v$ver: $(cd "$BIN" && ls pulumi-language-python-exec pulumi-resource-pulumi-python pulumi-analyzer-policy-python 2>/dev/null | tr '\n' ' ')"
  fi
}

ensure_python_host() {
  if [[ $PULUMI_BIN_DIR != "$BIN" && -x $PULUMI_BIN_DIR/pulumi-language-python ]]; then
    log "pulumi-language-python next to the existing pulumi: used as is"
    return 0
  fi
  if [[ $PYHOST_VERSION != "$PULUMI_VERSION" ]]; then
    log "WARNING: Python language host v$PYHOST_VERSION with pulumi CLI v$PULUMI_VERSION (mixed versions, as requested)"
  fi
  if build_python_host "$PYHOST_VERSION"; then
    PYHOST_USED=$PYHOST_VERSION
    return 0
  fi
  # The host of this release cannot be had (from v3.80.0 on it is its own Go
  # module, which the proxy here refuses). Unless a host version was asked for
  # explicitly, fall back to the newest host that can be built. It works with
  # newer CLIs for preview/up/destroy, but a newer CLI passes Pulumi.yaml's
  # runtime options (virtualenv, toolchain) over RPC, which this host ignores:
  # put the project's virtualenv first on PATH (activate it) instead.
  if [[ $PYHOST_EXPLICIT == 0 ]] && ! version_le "$PYHOST_VERSION" "$LAST_EMBEDDED_PYTHON_HOST"; then
    log "WARNING: pulumi-language-python v$PYHOST_VERSION is not obtainable; falling back to v$LAST_EMBEDDED_PYTHON_HOST" \
        "(Pulumi.yaml runtime options are then ignored: activate the virtualenv before running pulumi)"
    if build_python_host "$LAST_EMBEDDED_PYTHON_HOST"; then
      PYHOST_USED=$LAST_EMBEDDED_PYTHON_HOST
      return 0
    fi
  fi
  MISSING+=("pulumi-language-python v$PYHOST_VERSION")
}

# ---------------------------------------------------------------- providers
# ensure_provider NAME VERSION (module major version taken from VERSION): the official plugin,
# else (unless --plugins official) the project's own build of it.
ensure_provider() {
  local name=$1 version=$2 major=v${2%%.*}
  local pdir="$PULUMI_HOME_DIR/plugins/resource-$name-v$version"
  local module="github.com/pulumi/pulumi-$name/provider/$major"
  local binary="$pdir/pulumi-resource-$name"
  if [[ $PLUGINS == project ]]; then
    ensure_project_plugin "$name" "$version"; return
  fi
  if [[ -x $binary && ! -f $binary.stamp ]]; then
    log "pulumi-resource-$name v$version: official plugin installed by 'pulumi plugin install' ($binary)"
    return 0
  fi
  mkdir -p "$pdir"
  if build_go_binary "pulumi-resource-$name" "$module" "$version" \
       "$module/cmd/pulumi-resource-$name" "$binary" \
       "$module/pkg/version.Version" "$version"; then
    rm -f "$pdir.lock" "$pdir/.partial" "$pdir.partial"
    return 0
  fi
  rmdir "$pdir" 2>/dev/null || true   # no empty plugin dir for the CLI to trip over
  if [[ $PLUGINS == official ]]; then
    MISSING+=("pulumi-resource-$name v$version ($module@v$version)")
  else
    log "pulumi-resource-$name v$version: the official plugin cannot be had; using the project's own (plugins/)"
    ensure_project_plugin "$name" "$version"
  fi
}

# The project's plugins (Go module plugins/ of this repo), built into $PROJECT_PLUGIN_BIN. The
# engine runs a pulumi-resource-<name> found first on PATH (an "ambient" plugin) whatever version
# the program asks for, so env.sh puts that directory first on PATH when these are used. The
# stamp is a hash of the module's sources: a second run with unchanged sources builds nothing.
PROJECT_PLUGIN_BIN="$CACHE/plugins/bin"
USE_PROJECT_PLUGINS=0
ensure_project_plugin() {
  local name=$1 upstream=$2 src="$REPO_ROOT/plugins" hash want output
  [[ -f $src/go.mod ]] || { MISSING+=("pulumi-resource-$name (no plugins/ module in $REPO_ROOT)"); return; }
  setup_go
  hash=$(cd "$src" && find . -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) |
         LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)
  output="$PROJECT_PLUGIN_BIN/pulumi-resource-$name"
  want="plugins@$hash $(go env GOVERSION) $upstream"
  USE_PROJECT_PLUGINS=1
  if [[ -x $output && $(cat "$output.stamp" 2>/dev/null) == "$want" ]]; then
    log "pulumi-resource-$name $upstream+micropay.$hash: present ($output)"
    return 0
  fi
  mkdir -p "$PROJECT_PLUGIN_BIN"
  log "pulumi-resource-$name $upstream+micropay.$hash: compiling plugins/cmd/pulumi-resource-$name" \
      "(cold: several minutes; reuses the CLI's compiled packages)"
  local start=$SECONDS
  if ! (cd "$src" && go build -trimpath -p "$(nproc)" \
          -ldflags "-s -w -X micropay.local/plugins/internal/serve.Build=$hash" \
          -o "$output.tmp" "./cmd/pulumi-resource-$name" 2>"$BUILD_ROOT/plugin-$name.log"); then
    log "pulumi-resource-$name: go build failed:"; tail -n 30 "$BUILD_ROOT/plugin-$name.log" >&2
    MISSING+=("pulumi-resource-$name (project plugin: go build failed)")
    return 1
  fi
  mv -f "$output.tmp" "$output"
  printf '%s\n' "$want" >"$output.stamp"
  log "pulumi-resource-$name $upstream+micropay.$hash: built in $((SECONDS - start))s -> $output ($(du -h "$output" | cut -f1))"
}

# ---------------------------------------------------------------- main
log "cache: $CACHE"
log "versions: pulumi v$PULUMI_VERSION, python host v$PYHOST_VERSION, kubernetes v$K8S_VERSION, random v$RANDOM_VERSION$([[ $ENGINE_ONLY == 1 ]] && echo ' (engine only)')"

ensure_cli
ensure_python_host
if [[ $ENGINE_ONLY != 1 ]]; then
  ensure_provider kubernetes "$K8S_VERSION"
  ensure_provider random "$RANDOM_VERSION"
fi

# env file for callers. The project's plugins get their own file, sourced by env.sh, so the
# choice survives an env.sh written by another checkout's set-up sharing this cache.
PLUGIN_ENV_FILE="$CACHE/plugins/env.sh"
if [[ $USE_PROJECT_PLUGINS == 1 ]]; then
  printf 'export PATH="%s:$PATH"\n' "$PROJECT_PLUGIN_BIN" >"$PLUGIN_ENV_FILE"
elif [[ $ENGINE_ONLY != 1 ]]; then
  rm -f "$PLUGIN_ENV_FILE"
fi
ENV_FILE="$CACHE/env.sh"
ENV_TEXT=$(cat <<EOF
export PULUMI_HOME="$PULUMI_HOME_DIR"
export PATH="$BIN${PULUMI_BIN_DIR:+$([[ $PULUMI_BIN_DIR != "$BIN" ]] && echo ":$PULUMI_BIN_DIR")}:\$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
if [ -f "$PLUGIN_ENV_FILE" ]; then . "$PLUGIN_ENV_FILE"; fi
EOF
)
if [[ ! -f $ENV_FILE || $(cat "$ENV_FILE") != "$ENV_TEXT" ]]; then
  printf '%s\n' "$ENV_TEXT" >"$ENV_FILE"
  log "wrote $ENV_FILE"
fi

if [[ -x $PULUMI_BIN_DIR/pulumi ]]; then
  log "pulumi version: $(PULUMI_HOME=$PULUMI_HOME_DIR PULUMI_SKIP_UPDATE_CHECK=true "$PULUMI_BIN_DIR/pulumi" version 2>&1)"
fi

if [[ -n $PYHOST_USED && $PYHOST_USED != "$PULUMI_VERSION" ]]; then
  log "NOTE: python language host is v$PYHOST_USED (CLI v$PULUMI_VERSION): activate the project's virtualenv" \
      "before running pulumi; Pulumi.yaml runtime options (virtualenv, toolchain) are not seen by this host"
fi
if [[ ${#MISSING[@]} -gt 0 ]]; then
  log "NOT AVAILABLE (see messages above and $REFUSED_DIR/):"
  for m in "${MISSING[@]}"; do log "  - $m"; done
fi
[[ $PRINT_ENV == 1 ]] && printf '%s\n' "$ENV_TEXT"
[[ ${#MISSING[@]} -eq 0 ]] || exit 3
log "done"
