#!/usr/bin/env bash
# Installs Microsoft's SARIF Multitool (npm @microsoft/sarif-multitool, a self-contained .NET
# build) into the CI cache once, and prints the path of its executable. The SARIF test
# (tests/cli/test_sarif_validator.py) runs its `validate` command with the GitHub code scanning
# rules (--rule-kind Gh) and the SARIF spec rules (--rule-kind Sarif) on our output.
#
#   export MISTRAL_LSP_SARIF_MULTITOOL="$(scripts/sarif-validator.sh)"
#
# Cache: ${MISTRAL_LSP_CI_CACHE:-~/.cache/mistral-lsp-ci}/sarif-multitool-$VERSION (about 100 MB).
# Exit status 1 (with the reason on stderr) when npm is missing or the install fails.
set -euo pipefail
VERSION=5.7.0
CACHE="${MISTRAL_LSP_CI_CACHE:-$HOME/.cache/mistral-lsp-ci}"
DIR="$CACHE/sarif-multitool-$VERSION"
TOOL="$DIR/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
mkdir -p "$CACHE"
exec 9>"$CACHE/.sarif-multitool.lock"  # one install at a time (parallel runs share the cache)
flock 9
if [ ! -x "$TOOL" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "sarif-validator: npm is not installed; cannot install the SARIF Multitool" >&2
    exit 1
  fi
  mkdir -p "$DIR"
  export npm_config_cache="$CACHE/npm" npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
  echo "sarif-validator: installing @microsoft/sarif-multitool@$VERSION into $DIR" >&2
  npm install --prefix "$DIR" --no-save --loglevel=error "@microsoft/sarif-multitool@$VERSION" >&2
  chmod +x "$TOOL" 2>/dev/null || true
fi
if ! "$TOOL" --version >/dev/null 2>&1; then
  echo "sarif-validator: $TOOL does not run" >&2
  exit 1
fi
echo "$TOOL"
