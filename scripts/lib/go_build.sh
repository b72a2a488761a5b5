# go_build.sh - build Go binaries from pinned Go modules into the project cache.
# Sourced by scripts/setup_engine.sh and scripts/setup_promtool.sh (one home for
# the throwaway-module, stamp, refusal and logging mechanism).
#
# The caller may set before sourcing:
#   LOG_TAG        prefix of log lines           (default: the calling script's name)
#   CACHE          cache root                    (default: ${MICROPAY_CACHE:-$HOME/.cache/micropay-platform})
#   RETRY_REFUSED  1: ask the proxy again for versions it refused before (default 0)
# and gets: log, die, setup_go, go_mod_download, build_go_binary, and the
# directories $REFUSED_DIR (remembered refusals) and $BUILD_ROOT (throwaway modules).

LOG_TAG=${LOG_TAG:-$(basename "$0" .sh)}
CACHE=${CACHE:-${MICROPAY_CACHE:-$HOME/.cache/micropay-platform}}
RETRY_REFUSED=${RETRY_REFUSED:-0}
REFUSED_DIR="$CACHE/refused"
BUILD_ROOT="$CACHE/build"
mkdir -p "$REFUSED_DIR" "$BUILD_ROOT"

log() { printf '[%s %s] %s\n' "$LOG_TAG" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

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
  if [[ -f $rf && $RETRY_REFUSED != 1 ]]; then
    log "refused earlier (use --retry-refused to ask again): $(cat "$rf")"
    return 1
  fi
  setup_go
  out=$(go mod download -json "$mv" 2>/dev/null || true)
  GMD_JSON=$out python3 - "$mv" "$rf" "$LOG_TAG" <<'PY' || return 1
import json, os, sys, time
mv, rf, tag = sys.argv[1], sys.argv[2], sys.argv[3]
raw = os.environ.get("GMD_JSON", "")
try:
    d = json.loads(raw)
except Exception:
    d = {"Error": "go mod download printed no JSON: " + raw.strip()[:500]}
err = d.get("Error") or ("" if d.get("Dir") else "no Dir in go mod download output")
if err:
    line = " ".join(err.split())
    # Remember only answers from the registry (a "no" is final), not time-outs
    # or other transient failures.
    final = any(k in line for k in ("403 Forbidden", "404 Not Found", "410 Gone",
                                    "not available", "unknown revision", "invalid version"))
    sys.stderr.write("[%s] %s %s: %s\n" % (tag, "REFUSED" if final else "FAILED", mv, line))
    if final:
        with open(rf, "w") as f:
            f.write("%s  (asked %s)\n" % (line, time.strftime("%Y-%m-%d %H:%M:%S")))
    sys.exit(1)
print(d["Dir"])
PY
}

# build_go_binary NAME MODULE VERSION PACKAGE OUTPUT "VERSIONVAR..." VERSIONVALUE [SOURCE_DIR]
# (every VERSIONVAR, a space-separated list, is set to VERSIONVALUE with -X)
# Builds PACKAGE (inside MODULE@vVERSION) from a throwaway main module that
# requires MODULE at that version and carries MODULE's replace directives
# (relative replaces that point into the same repository are turned into
# proxy versions of those modules at the same version).
# GO_BUILD_TAGS (comma-separated), when set, go to `go build -tags`; tidy then
# runs with -e, since it resolves the imports of every tag combination and some
# (e.g. service-discovery plugins a tag removes) may be refused by the proxy.
# With SOURCE_DIR, the *.go files there are the throwaway module's own main
# package (PACKAGE is then ".") and their digest is part of the stamp, so an
# edit rebuilds.
build_go_binary() {
  local name=$1 module=$2 version=$3 pkg=$4 output=$5 vvar=$6 vval=$7 src=${8:-}
  local stamp="$output.stamp" want dir moddir
  local tags=${GO_BUILD_TAGS:-} tidy_flags=()
  want="$module@v$version $pkg $vvar=$vval${tags:+ tags=$tags}"
  [[ -n $tags ]] && tidy_flags=(-e)
  if [[ -n $src ]]; then
    want="$want src=$(cat "$src"/*.go | sha256sum | cut -c1-16)"
  fi
  if [[ -x $output && -f $stamp && $(cat "$stamp") == "$want" ]]; then
    log "$name v$version: present ($output)"
    return 0
  fi
  setup_go
  log "$name v$version: getting $module@v$version"
  moddir=$(go_mod_download "$module@v$version") || return 1
  dir="$BUILD_ROOT/$name-v$version"
  rm -rf "$dir"; mkdir -p "$dir"
  # Throwaway go.mod: same go directive, the module required at the pin, its replaces.
  GME_JSON=$(go mod edit -json "$moddir/go.mod") python3 - "$module" "v$version" "$name" >"$dir/go.mod" <<'PY'
import json, os, sys
mod, ver, name = sys.argv[1:4]
m = json.loads(os.environ["GME_JSON"])
out = ["module micropay.local/engine-build/%s" % name, ""]
if m.get("Go"):
    out.append("go %s" % m["Go"])
out += ["", "require %s %s" % (mod, ver), ""]
for r in m.get("Replace") or []:
    old, new = r["Old"], r["New"]
    lhs = old["Path"] + (" " + old["Version"] if old.get("Version") else "")
    if new["Path"].startswith((".", "/")) and not new.get("Version"):
        # Relative replace into the same repository: use the proxy version of
        # that module at the same (lock-step) version.
        rhs = "%s %s" % (old["Path"], ver)
        out.append("// was: %s => %s" % (lhs, new["Path"]))
    else:
        rhs = new["Path"] + (" " + new["Version"] if new.get("Version") else "")
    out.append("replace %s => %s" % (lhs, rhs))
print("\n".join(out))
PY
  if [[ -n $src ]]; then
    cp "$src"/*.go "$dir/"
  else
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >"$dir/tools.go"
  fi
  log "$name v$version: resolving dependencies (go mod tidy)"
  if ! (cd "$dir" && go mod tidy "${tidy_flags[@]}" 2>"$dir/tidy.log"); then
    log "$name v$version: go mod tidy failed:"; grep -v '^go: downloading' "$dir/tidy.log" | tail -n 20 >&2
    local first
    if first=$(grep -m1 -E '403 Forbidden|not available' "$dir/tidy.log"); then
      # a dependency refused by the proxy: remember it like a direct refusal
      printf '%s  (dependency of %s@v%s, asked %s)\n' "$(echo $first)" "$module" "$version" "$(date '+%F %T')" \
        >"$(refused_file "$module@v$version")"
    fi
    return 1
  fi
  log "$name v$version: compiling $pkg (a cold build takes minutes)"
  local start=$SECONDS ldflags="-s -w" v
  for v in $vvar; do ldflags="$ldflags -X $v=$vval"; done
  # Go >= 1.23 rejects go:linkname pulls of runtime internals; older pulumi
  # releases depend on github.com/pgavlin/text, which does that
  # ("invalid reference to internal/bytealg.MaxLen"). Allow them again.
  if [[ $(go tool link -help 2>&1 || true) == *checklinkname* ]]; then ldflags="$ldflags -checklinkname=0"; fi
  if ! (cd "$dir" && go build -trimpath -mod=mod -p "$(nproc)" ${tags:+-tags "$tags"} \
          -ldflags "$ldflags" -o "$output.tmp" "$pkg" 2>"$dir/build.log"); then
    log "$name v$version: go build failed:"; tail -n 30 "$dir/build.log" >&2
    return 1
  fi
  mv -f "$output.tmp" "$output"
  printf '%s\n' "$want" >"$stamp"
  log "$name v$version: built in $((SECONDS - start))s -> $output ($(du -h "$output" | cut -f1))"
}
