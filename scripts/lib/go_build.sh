# go_build.sh - shared helpers for building pinned Go binaries into the cache
# (sourced by setup_engine.sh, setup_promtool.sh and cluster_build.sh; not run on its own).
#
# The approach: a throwaway main module under $CACHE/build/<name> requires the
# pinned module and carries its replace directives (replaces into the same
# repository become proxy versions), `go mod tidy`, then `go build -trimpath`
# with the shared Go caches. A stamp beside each output records what was
# built, so a second run with the same pins builds nothing.
#
# Callers may set LOG_TAG (default: the script's name), CACHE (default: $MICROPAY_CACHE or
# ~/.cache/micropay-platform) and RETRY_REFUSED=1 before sourcing. GB_BUILT is set to 1 once
# anything was actually compiled.

LOG_TAG=${LOG_TAG:-$(basename "$0" .sh)}
CACHE=${CACHE:-${MICROPAY_CACHE:-$HOME/.cache/micropay-platform}}
log() { printf '[%s %s] %s\n' "$LOG_TAG" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

REFUSED_DIR="$CACHE/refused"
GB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The JSON-reading steps (go mod download/edit answers, refusals) live in tools/go_modules.py.
go_modules() { (cd "$GB_ROOT" && python3 -m tools.go_modules "$@"); }
BUILD_ROOT="$CACHE/build"
mkdir -p "$REFUSED_DIR" "$BUILD_ROOT"

setup_go() {
  [[ -n ${GO_READY:-} ]] && return 0
  command -v go >/dev/null 2>&1 || die "go is not on PATH (needed to build from Go modules)"
  command -v python3 >/dev/null 2>&1 || die "python3 is not on PATH"
  # shellcheck source=../go_env.sh
  source "$(dirname "${BASH_SOURCE[0]}")/../go_env.sh"
  mkdir -p "$GOMODCACHE" "$GOCACHE" "$GOPATH"
  GO_READY=1
  log "using $(go version) (GOPROXY=$GOPROXY, caches under $CACHE/go)"
}

# Record/lookup of module versions the proxy refused ("a no is final").
refused_file() { printf '%s/%s\n' "$REFUSED_DIR" "$(printf '%s' "$1" | tr '/@' '__')"; }

# go_mod_download MODULE@VERSION -> prints path of the module's extracted dir
# on stdout; on refusal prints the reason on stderr, remembers it, returns 1.
go_mod_download() {
  local mv=$1 rf out
  rf=$(refused_file "$mv")
  if [[ -f $rf && ${RETRY_REFUSED:-0} != 1 ]]; then
    log "refused earlier (use --retry-refused to ask again): $(cat "$rf")"
    return 1
  fi
  setup_go
  out=$(go mod download -json "$mv" 2>/dev/null || true)
  printf '%s' "$out" | go_modules downloaded "$mv" "$rf"
}

# Options of build_go_binaries, reset after each call:
#   GB_LOCAL_REPLACE_VERSION  version for replaces into the same repository
#                             (default: the pinned version; k8s.io/kubernetes
#                             v1.X.Y publishes its staging modules as v0.X.Y)
#   GB_MAIN_GO                source of a main package written into the
#                             throwaway module, for modules whose command is a
#                             library function (etcd's etcdmain.Main); PACKAGES
#                             is then "." and the binary is named NAME
#   GB_LDFLAGS                extra linker flags (-X version stamps)
#   GB_TAGS                   build tags (comma-separated); `go mod tidy` then runs
#                             with -e, since it resolves the imports of every tag
#                             combination and a tag may remove code whose
#                             dependencies the proxy refuses (promtool's service
#                             discovery)
#
# binary_name PACKAGE: the file name `go build -o DIR/` gives PACKAGE's binary
# (its last path element, skipping a major-version suffix such as /v3).
binary_name() {
  local p=${1%/}
  [[ ${p##*/} =~ ^v[0-9]+$ ]] && p=${p%/*}
  printf '%s\n' "${p##*/}"
}

# build_go_binaries NAME MODULE VERSION OUTDIR "PACKAGE..." [STAMP WANT]
# Builds every PACKAGE (inside MODULE@vVERSION) in one throwaway module into
# OUTDIR/$(binary_name PACKAGE). One stamp covers the set (default
# OUTDIR/.stamp-NAME holding the pins and options).
build_go_binaries() {
  local name=$1 module=$2 version=$3 outdir=$4 pkgs=$5
  local localver=${GB_LOCAL_REPLACE_VERSION:-v$version} main_go=${GB_MAIN_GO:-} extra=${GB_LDFLAGS:-}
  local tags=${GB_TAGS:-} tidy_flags=()
  GB_LOCAL_REPLACE_VERSION="" GB_MAIN_GO="" GB_LDFLAGS="" GB_TAGS=""
  [[ -n $tags ]] && tidy_flags=(-e)
  local stamp=${6:-$outdir/.stamp-$name} want=${7:-} dir moddir p outs=() missing=0
  for p in $pkgs; do
    if [[ $p == . ]]; then outs+=("$outdir/$name"); else outs+=("$outdir/$(binary_name "$p")"); fi
  done
  [[ -n $want ]] || want="$module@v$version $pkgs $localver $extra $(printf '%s' "$main_go" | cksum)${tags:+ tags=$tags}"
  for p in "${outs[@]}"; do [[ -x $p ]] || missing=1; done
  if [[ $missing == 0 && -f $stamp && $(cat "$stamp") == "$want" ]]; then
    log "$name v$version: present (${outs[*]})"
    return 0
  fi
  setup_go
  log "$name v$version: getting $module@v$version"
  moddir=$(go_mod_download "$module@v$version") || return 1
  dir="$BUILD_ROOT/$name-v$version"
  rm -rf "$dir"; mkdir -p "$dir" "$outdir"
  # Throwaway go.mod: same go directive, the module required at the pin, its replaces.
  go mod edit -json "$moddir/go.mod" | go_modules go-mod "$module" "v$version" "$name" "$localver" >"$dir/go.mod"
  if [[ -n $main_go ]]; then
    printf '%s\n' "$main_go" >"$dir/main.go"
  else
    { printf '//go:build tools\n\npackage tools\n\nimport (\n'; for p in $pkgs; do printf '\t_ "%s"\n' "$p"; done; printf ')\n'; } >"$dir/tools.go"
  fi
  log "$name v$version: resolving dependencies (go mod tidy)"
  if ! (cd "$dir" && go mod tidy "${tidy_flags[@]}" 2>"$dir/tidy.log"); then
    log "$name v$version: go mod tidy failed:"; grep -v '^go: downloading' "$dir/tidy.log" | tail -n 20 >&2
    # a dependency refused by the proxy: remembered like a direct refusal
    go_modules tidy-refusal "$module@v$version" "$(refused_file "$module@v$version")" <"$dir/tidy.log" || true
    return 1
  fi
  log "$name v$version: compiling $pkgs (log: $dir/build.log)"
  local start=$SECONDS ldflags="-s -w $extra" tmp="$dir/out"
  # Go >= 1.23 rejects go:linkname pulls of runtime internals; older pulumi
  # releases depend on github.com/pgavlin/text, which does that
  # ("invalid reference to internal/bytealg.MaxLen"). Allow them again.
  if [[ $(go tool link -help 2>&1 || true) == *checklinkname* ]]; then ldflags="$ldflags -checklinkname=0"; fi
  mkdir -p "$tmp"
  if [[ -n $main_go ]]; then
    (cd "$dir" && go build -trimpath -mod=mod -p "$(nproc)" ${tags:+-tags "$tags"} -ldflags "$ldflags" \
       -o "$tmp/$name" . 2>"$dir/build.log") || {
      log "$name v$version: go build failed:"; tail -n 30 "$dir/build.log" >&2; return 1; }
  else
    # shellcheck disable=SC2086  # PACKAGES is a word list
    (cd "$dir" && go build -trimpath -mod=mod -p "$(nproc)" ${tags:+-tags "$tags"} -ldflags "$ldflags" \
       -o "$tmp/" $pkgs 2>"$dir/build.log") || {
      log "$name v$version: go build failed:"; tail -n 30 "$dir/build.log" >&2; return 1; }
  fi
  for p in "${outs[@]}"; do mv -f "$tmp/${p##*/}" "$p"; done
  rm -rf "$tmp"
  printf '%s\n' "$want" >"$stamp"
  GB_BUILT=1
  log "$name v$version: built in $((SECONDS - start))s -> $(for p in "${outs[@]}"; do printf '%s (%s) ' "$p" "$(du -h "$p" | cut -f1)"; done)"
}

# build_go_binary NAME MODULE VERSION PACKAGE OUTPUT "VERSIONVAR..." VERSIONVALUE
# One binary; OUTPUT must end in $(binary_name PACKAGE). Every VERSIONVAR, a
# space-separated list, is set to VERSIONVALUE with -X. Its stamp is
# OUTPUT.stamp (the engine's layout since the first release of the set-up).
# GB_TAGS applies as for build_go_binaries.
build_go_binary() {
  local name=$1 module=$2 version=$3 pkg=$4 output=$5 vvar=$6 vval=$7 v flags=""
  [[ ${output##*/} == "$(binary_name "$pkg")" ]] || die "build_go_binary: $output must be named $(binary_name "$pkg")"
  for v in $vvar; do flags="$flags -X $v=$vval"; done
  GB_LDFLAGS=$flags build_go_binaries "$name" "$module" "$version" "${output%/*}" "$pkg" \
    "$output.stamp" "$module@v$version $pkg $vvar=$vval${GB_TAGS:+ tags=$GB_TAGS}"
}

version_le() { [[ $(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1) == "$1" ]]; }
