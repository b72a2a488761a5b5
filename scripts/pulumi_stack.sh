#!/usr/bin/env bash
# Run the real Pulumi engine on one stack of this project:
#   scripts/pulumi_stack.sh STACK preview --diff
#   scripts/pulumi_stack.sh STACK up --yes
#   scripts/pulumi_stack.sh STACK remove       destroy, remove the stack, keep Pulumi.STACK.yaml
# Uses the engine `make setup` put in the cache, the project's virtualenv, and a local file
# backend in .pulumi-state/ unless PULUMI_BACKEND_URL points elsewhere.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${MICROPAY_CACHE:-$HOME/.cache/micropay-platform}
stack=${1:?usage: scripts/pulumi_stack.sh STACK PULUMI-ARGS...}
shift

if ! command -v pulumi >/dev/null 2>&1; then
  [[ -f $cache/env.sh ]] || { echo "error: no Pulumi engine: run 'make setup' first" >&2; exit 2; }
  # shellcheck source=/dev/null
  source "$cache/env.sh"
fi
# The project's resource plugins, when `make setup` chose them (see scripts/setup_engine.sh).
# shellcheck source=/dev/null
[[ -f $cache/plugins/env.sh ]] && source "$cache/plugins/env.sh"
# The language host runs the program with the first python on PATH: the project's virtualenv.
export PATH="$root/.venv/bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_CHECKPOINT_BACKUPS=${PULUMI_DISABLE_CHECKPOINT_BACKUPS:-true}
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-true}
if [[ -z ${PULUMI_BACKEND_URL:-} ]]; then
  mkdir -p "$root/.pulumi-state"
  export PULUMI_BACKEND_URL="file://$root/.pulumi-state"
fi
# The committed stacks are encrypted with the local demo passphrase; set your own for real stacks.
if [[ -z ${PULUMI_CONFIG_PASSPHRASE:-} && -z ${PULUMI_CONFIG_PASSPHRASE_FILE:-} ]]; then
  export PULUMI_CONFIG_PASSPHRASE=micropay-local
fi

[[ -f $root/Pulumi.$stack.yaml ]] || { echo "error: no stack file Pulumi.$stack.yaml" >&2; exit 2; }
cd "$root"
pulumi stack select --create "$stack" --secrets-provider passphrase >/dev/null

if [[ ${1:-} == remove ]]; then
  # With its preview, a destroy refuses protected state before deleting anything; without it, the
  # engine would delete every unprotected object first and only then stop.
  pulumi destroy --yes --stack "$stack"
  pulumi stack rm --yes --preserve-config "$stack"
  # The file backend keeps the last checkpoint's .bak beside the removed stack; remove it too,
  # so nothing of the stack is left in the state directory.
  if [[ $PULUMI_BACKEND_URL == file://* ]]; then
    rm -f "${PULUMI_BACKEND_URL#file://}/.pulumi/stacks/micropay-platform/$stack.json.bak"{,.attrs}
  fi
  exit 0
fi

# Every resource plugin the program needs must be present: the project's own build first on PATH
# (the engine runs it as an ambient plugin; `make setup` chose it because the official one cannot
# be had), or the official plugin installed at the pinned version. The engine must not fall back
# to downloading (there is no network for that here).
missing=0
for plugin in kubernetes random; do
  version=$(cd "$root" && python3 -m tools.pins "pulumi-$plugin")
  if ambient=$(command -v "pulumi-resource-$plugin"); then
    echo "using the project's $plugin plugin $version+micropay.$(cut -d' ' -f1 "$ambient.stamp" 2>/dev/null | cut -d@ -f2) ($ambient)" >&2
  elif pulumi plugin ls 2>/dev/null | awk -v p="$plugin" -v v="$version" '$1==p && $3==v {found=1} END {exit !found}'; then
    echo "using the official $plugin plugin v$version" >&2
  else
    echo "error: the $plugin resource plugin v$version is not installed, so the engine cannot run this stack." >&2
    missing=1
  fi
done
if [[ $missing == 1 ]]; then
  cat >&2 <<MSG
  Run 'make setup' (it builds the project's plugins from plugins/ when the official ones cannot be
  had), or install the official ones (pulumi plugin install resource kubernetes <version>),
  or review the stack offline with: make render STACK=$stack
MSG
  exit 3
fi

exec pulumi "$@" --stack "$stack"
