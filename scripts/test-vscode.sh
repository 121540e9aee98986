#!/usr/bin/env bash
# The VS Code tier: builds editor-clients/vscode (tsc + .vsix) and tests it in real VS Code
# (code-server 4.100.3 in headless Debian chromium, driven by playwright-core):
#   1. the API suite inside code-server's real extension host (the workbench `payload` trick);
#   2. one UI run: ghost text shown and accepted with Tab, screenshots saved.
# Both run against the real language server and the vLLM stand-in (tests/standin).
#
# Installs what it needs, idempotently, with caches under
#   ${MISTRAL_LSP_CI_CACHE:-$HOME/.cache/mistral-lsp-ci}
# (apt chromium/ripgrep/libkrb5-dev if missing, `npm ci` for the extension, code-server).
# When the tier cannot run (no chromium, code-server does not install, ...) it fails LOUDLY,
# unless MISTRAL_LSP_SKIP_VSCODE_TIER=1, which turns that into "SKIPPED" and exit 0.
# Test failures always fail.
#
# Environment:
#   MISTRAL_LSP_CI_CACHE        cache root (default ~/.cache/mistral-lsp-ci)
#   MISTRAL_LSP_SKIP_VSCODE_TIER=1  skip (exit 0) when the tier cannot be set up
#   MISTRAL_LSP_PYTHON          Python with the server's deps (default: .venv/bin/python, else python3)
#   MISTRAL_LSP_VSCODE_ARTIFACTS where screenshots and logs go (default editor-clients/vscode/.test-artifacts)
#   MISTRAL_LSP_VSCODE_UI=0     skip the UI run (API suite only)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
EXT="$ROOT/editor-clients/vscode"
CACHE="${MISTRAL_LSP_CI_CACHE:-$HOME/.cache/mistral-lsp-ci}"
CS_VERSION=4.100.3
CS_DIR="$CACHE/code-server-$CS_VERSION"
ARTIFACTS="${MISTRAL_LSP_VSCODE_ARTIFACTS:-$EXT/.test-artifacts}"
export npm_config_cache="$CACHE/npm"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

T0=$(date +%s)
say() { echo "[test-vscode $(($(date +%s) - T0))s] $*"; }

# Cannot run here: loud, and fatal unless the skip flag is set.
cannot_run() {
  echo "" >&2
  echo "################################################################################" >&2
  echo "## VS CODE TIER CANNOT RUN: $*" >&2
  echo "################################################################################" >&2
  if [ "${MISTRAL_LSP_SKIP_VSCODE_TIER:-0}" = "1" ]; then
    echo "VS Code tier SKIPPED (MISTRAL_LSP_SKIP_VSCODE_TIER=1): $*" >&2
    echo "SKIPPED: VS Code tier ($*)"
    exit 0
  fi
  echo "Set MISTRAL_LSP_SKIP_VSCODE_TIER=1 to skip this tier on purpose." >&2
  exit 1
}

# -- prerequisites -----------------------------------------------------------------------

mkdir -p "$CACHE" || cannot_run "cannot create the cache dir $CACHE"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
[ -f /usr/include/krb5.h ] || [ -f /usr/include/gssapi/gssapi.h ] || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "apt-get install ${need_apt[*]}"
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    cannot_run "missing ${need_apt[*]} and cannot apt-get install them (not root or no apt)"
  fi
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${need_apt[@]}"; } >"$CACHE/apt.log" 2>&1 || { tail -20 "$CACHE/apt.log" >&2; cannot_run "apt-get install ${need_apt[*]} failed"; }
fi
CHROMIUM="$(command -v chromium)" || cannot_run "chromium not found after install"
command -v node >/dev/null && command -v npm >/dev/null || cannot_run "node/npm not found"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || cannot_run "Node $node_major is too old (code-server $CS_VERSION needs Node 20)"

PYTHON="${MISTRAL_LSP_PYTHON:-}"
if [ -z "$PYTHON" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON="$(command -v python3)"; fi
fi
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -c 'import lsp_server, pygls, aiohttp' 2>/dev/null \
  || cannot_run "$PYTHON cannot import lsp_server/pygls/aiohttp: run scripts/test.sh first (it makes .venv) or set MISTRAL_LSP_PYTHON"

# -- code-server (Node 20 build), installed once into the cache -----------------------------

install_code_server() {
  [ -f "$CS_DIR/.installed" ] && return 0
  say "installing code-server $CS_VERSION into $CS_DIR (first run only, a few minutes)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR/tmp"
  # @vscode/ripgrep's postinstall downloads rg from GitHub (unreachable here): seed its cache
  # with Debian's rg, in the file name it looks for.
  for v in 1.15.11 1.15.10 1.15.9; do
    mkdir -p "$CS_DIR/tmp/vscode-ripgrep-cache-$v"
    for tag in v13.0.0-10 v13.0.0-13; do
      tar -czf "$CS_DIR/tmp/vscode-ripgrep-cache-$v/ripgrep-$tag-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg
    done
  done
  # unsafe_perm: postinstall refuses root otherwise; yes: node-pty runs `npx node-gyp`;
  # nodedir: use the system's node headers instead of downloading them.
  local nodedir=/usr
  [ -d /usr/include/node ] || nodedir="$(dirname "$(dirname "$(command -v node)")")"
  # A plain local install in $CS_DIR: -g/--prefix would leak into the nested `npm install`s of
  # postinstall.sh (as npm_config_global/prefix) and break them.
  echo '{"name":"code-server-host","private":true}' >"$CS_DIR/package.json"
  if ! (cd "$CS_DIR" && TMPDIR="$CS_DIR/tmp" npm_config_unsafe_perm=true npm_config_yes=true \
      npm_config_nodedir="$nodedir" npm install --no-save --no-audit --no-fund "code-server@$CS_VERSION") \
      >"$CS_DIR.install.log" 2>&1; then
    tail -30 "$CS_DIR.install.log" >&2
    rm -rf "$CS_DIR"
    cannot_run "npm install code-server@$CS_VERSION failed (log: $CS_DIR.install.log)"
  fi
  rm -rf "$CS_DIR/tmp"
  "$CS_DIR/node_modules/.bin/code-server" --version >/dev/null 2>&1 || { rm -rf "$CS_DIR"; cannot_run "code-server $CS_VERSION does not start"; }
  touch "$CS_DIR/.installed"
  say "code-server installed"
}

# One install at a time: two runs sharing the cache would delete each other's half-done install.
exec 9>"$CACHE/.code-server.lock"
flock 9
if [ "${1:-}" = "--install-code-server-only" ]; then install_code_server; exit 0; fi
install_code_server
flock -u 9
CODE_SERVER="$CS_DIR/node_modules/.bin/code-server"

# -- the extension: npm ci (skipped when node_modules matches the lockfile), tsc, unit, vsix --------

cd "$EXT"
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat node_modules/.mistral-lsp-lock 2>/dev/null)" != "$lock_hash" ]; then
  say "npm ci (editor-clients/vscode)"
  npm ci --no-audit --no-fund --loglevel=error >"$CACHE/npm-ci.log" 2>&1 \
    || { tail -30 "$CACHE/npm-ci.log" >&2; cannot_run "npm ci failed in editor-clients/vscode (log: $CACHE/npm-ci.log)"; }
  echo "$lock_hash" >node_modules/.mistral-lsp-lock
fi
say "tsc"
rm -rf out
npx --no-install tsc -p . || { echo "tsc failed" >&2; exit 1; }
say "unit tests (node --test)"
node --test out/test/unit/ >"$CACHE/unit.log" 2>&1 || { cat "$CACHE/unit.log"; echo "unit tests failed" >&2; exit 1; }
grep -E '^# (pass|fail)' "$CACHE/unit.log" | tr '\n' ' '; echo
say "vsce package"
rm -f mistral-lsp.vsix
npx --no-install vsce package --allow-missing-repository --skip-license -o mistral-lsp.vsix >"$CACHE/vsce.log" 2>&1 \
  || { cat "$CACHE/vsce.log"; echo "vsce package failed" >&2; exit 1; }
tail -1 "$CACHE/vsce.log"

# -- real VS Code ---------------------------------------------------------------------------------

mkdir -p "$ARTIFACTS"
ui_flag=()
[ "${MISTRAL_LSP_VSCODE_UI:-1}" = "0" ] && ui_flag=(--no-ui)
say "code-server tests (artifacts: $ARTIFACTS)"
set +e
timeout -k 10 420 node test/e2e/run.js --code-server "$CODE_SERVER" --vsix "$EXT/mistral-lsp.vsix" \
  --python "$PYTHON" --root "$ROOT" --artifacts "$ARTIFACTS" --chromium "$CHROMIUM" "${ui_flag[@]}" \
  2>&1 | tee "$ARTIFACTS/run.log"
rc=${PIPESTATUS[0]}
set -e
say "done in $(($(date +%s) - T0)) s (exit $rc); screenshots in $ARTIFACTS/screenshots"
# One closing summary line: the unit tests plus the code-server tests.
summary="$(grep -E '^vscode: [0-9]+ passed, [0-9]+ failed' "$ARTIFACTS/run.log" | tail -1)"
read -r p f s < <(echo "$summary" | sed -E 's/^vscode: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/')
up="$(sed -nE 's/^# pass ([0-9]+)/\1/p' "$CACHE/unit.log")"
uf="$(sed -nE 's/^# fail ([0-9]+)/\1/p' "$CACHE/unit.log")"
[ "$rc" = 0 ] || [ "${f:-0}" != 0 ] || f=1
echo "vscode: $(( ${p:-0} + ${up:-0} )) passed, $(( ${f:-1} + ${uf:-0} )) failed, ${s:-0} skipped"
exit $rc
