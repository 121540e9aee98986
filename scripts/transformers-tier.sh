#!/usr/bin/env bash
# The in-process Transformers backend's tier: `pytest -m transformers` (tests/local/) with CPU torch.
#
#   scripts/transformers-tier.sh [extra pytest args]
#
# The default test environment (.venv) has no torch, and installing CPU torch a second time would
# double CI's install. The real-vLLM tier's cached environment already holds CPU torch, transformers
# and safetensors (scripts/vllm/setup.sh --venv-only builds or finds it). This tier lays a small
# overlay over it: a venv with the project's own pinned test packages (requirements/test.lock:
# pytest, pygls, mistral-common, llguidance, ...), first on sys.path, and one .pth line that appends
# the vLLM environment's site-packages (torch, transformers) after them. The project itself is on
# PYTHONPATH. Cached in ${MISTRAL_LSP_CI_CACHE:-~/.cache/mistral-lsp-ci}/transformers-tier/, keyed by
# the test lock and the vLLM environment it borrows from; first build about a minute, then nothing.
# The tests build their tiny models from configs (no download).
#
# Exit status: pytest's (0 = the tier passed). When the tier CANNOT RUN (the vLLM environment or the
# overlay cannot be built) it says so loudly and exits 1, unless MISTRAL_LSP_SKIP_TRANSFORMERS_TIER=1,
# with which it reports the tier SKIPPED and exits 0. Failing tests always fail.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
SKIP="${MISTRAL_LSP_SKIP_TRANSFORMERS_TIER:-0}"
OVERLAY_VERSION=1  # bump when this script changes what goes into the overlay
TIER_STARTED=$SECONDS

say() { echo "transformers-tier: $*"; }

cannot_run() {
  echo
  echo "################################################################################"
  echo "##  THE TRANSFORMERS TIER COULD NOT RUN: $1"
  echo "##  Nothing was tested against the in-process backend."
  if [ "$SKIP" = 1 ]; then
    echo "##  MISTRAL_LSP_SKIP_TRANSFORMERS_TIER=1: reporting it as SKIPPED (not passed)."
  else
    echo "##  Failing. To let a run without it succeed anyway, set MISTRAL_LSP_SKIP_TRANSFORMERS_TIER=1."
  fi
  echo "################################################################################"
  if [ "$SKIP" = 1 ]; then
    echo "Transformers tier: SKIPPED ($1)"
    exit 0
  fi
  exit 1
}

# -- 1. the environment with CPU torch (shared with the real-vLLM tier) ---------------------------
scripts/vllm/setup.sh --venv-only || cannot_run "scripts/vllm/setup.sh --venv-only failed (see above)"
# shellcheck source=vllm/paths.sh
source scripts/vllm/paths.sh
BASE_PY="$VLLM_TIER_VENV/bin/python"
BASE_SITE="$("$BASE_PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
  || cannot_run "the vLLM tier's environment at $VLLM_TIER_VENV does not run"

# -- 2. the overlay ---------------------------------------------------------------------------------
CACHE="${MISTRAL_LSP_CI_CACHE:-$HOME/.cache/mistral-lsp-ci}/transformers-tier"
KEY="$( { cat requirements/test.lock; echo "base=$VLLM_TIER_VENV"; echo "overlay=$OVERLAY_VERSION"; } | sha256sum | cut -c1-12)"
OVERLAY="$CACHE/venv-$KEY"
mkdir -p "$CACHE"
exec 9>"$CACHE/.setup.lock"
flock 9
if [ ! -f "$OVERLAY/.complete" ]; then
  started=$SECONDS
  say "building the overlay environment $OVERLAY"
  rm -rf "$OVERLAY"
  "$BASE_PY" -m venv "$OVERLAY" || cannot_run "python -m venv $OVERLAY"
  "$OVERLAY/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r requirements/test.lock \
    >"$CACHE/setup.log" 2>&1 || { tail -n 20 "$CACHE/setup.log"; cannot_run "pip install -r requirements/test.lock"; }
  site="$("$OVERLAY/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$BASE_SITE" >"$site/mistral-lsp-vllm-tier-base.pth"  # appended after the overlay's own packages
  # The overlay's own pins win where both have a package (mistral-common 1.13.x, llguidance 1.3.x);
  # torch and transformers come from the base.
  "$OVERLAY/bin/python" - <<'PY' || cannot_run "the overlay does not import torch and transformers"
import importlib.metadata as md

import llguidance  # noqa: F401
import mistral_common
import torch
import transformers

assert torch.__version__.endswith("+cpu"), torch.__version__
assert mistral_common.__version__ == md.version("mistral_common"), mistral_common.__version__
print("overlay ok: torch", torch.__version__, "transformers", transformers.__version__,
      "mistral-common", mistral_common.__version__, "llguidance", md.version("llguidance"))
PY
  touch "$OVERLAY/.complete"
  say "overlay built in $((SECONDS - started)) s"
  for old in "$CACHE"/venv-*; do
    [ "$old" = "$OVERLAY" ] || { say "removing an outdated overlay: $old"; rm -rf "$old"; }
  done
else
  say "overlay cached: $OVERLAY"
fi
flock -u 9

# -- 3. the tests ---------------------------------------------------------------------------------
started=$SECONDS
where=(tests/local)  # unless the arguments name test files themselves
for arg in "$@"; do case "$arg" in tests/*) where=() ;; esac; done
PYTHONPATH="$REPO" MISTRAL_LSP_TRANSFORMERS_TIER=1 \
  "$OVERLAY/bin/python" -m pytest -m transformers -p no:cacheprovider "${where[@]}" "$@"
rc=$?
say "tests $((SECONDS - started)) s, whole tier $((SECONDS - TIER_STARTED)) s"
case "$rc" in
  0) say "Transformers tier: PASSED" ;;
  5) say "Transformers tier: FAILED: pytest ran no test (exit 5)"; rc=1 ;;
  *) say "Transformers tier: FAILED (pytest exit $rc)" ;;
esac
exit "$rc"
