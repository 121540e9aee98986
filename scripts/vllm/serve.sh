#!/usr/bin/env bash
# Serve the tiny random Mistral with real vLLM on the CPU, on loopback, with the production flags
# that apply to it (scripts/serve-vllm.sh is the production server; this is its CPU twin).
#
#   scripts/vllm/serve.sh --port PORT --log FILE [--layout native|hf] [-- extra vllm args]
#
# Runs in the foreground (the tier starts it in the background, in its own process group, and
# stops it with SIGTERM). Needs scripts/vllm/setup.sh to have run. Everything vLLM prints goes
# to FILE; the tests read it (request log, aborts, HTTP statuses).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=paths.sh
source "$HERE/paths.sh"

PORT=8011
LOG=""
LAYOUT="${VLLM_TIER_LAYOUT:-native}"
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT="$2"; shift 2 ;;
    --log) LOG="$2"; shift 2 ;;
    --layout) LAYOUT="$2"; shift 2 ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "serve.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[ -n "$LOG" ] || { echo "serve.sh: --log FILE is required" >&2; exit 2; }
[ -f "$VLLM_TIER_VENV/.complete" ] && [ -f "$VLLM_TIER_MODEL_ROOT/.complete" ] \
  || { echo "serve.sh: run scripts/vllm/setup.sh first" >&2; exit 2; }

case "$LAYOUT" in
  # Mistral's own format, as the real model is served (--config_format/--load_format mistral).
  native) MODEL="$VLLM_TIER_MODEL_NATIVE"; FORMAT=(--config-format mistral --load-format mistral) ;;
  hf) MODEL="$VLLM_TIER_MODEL_HF"; FORMAT=() ;;
  # The tiny vision model (scripts/vllm/vision.sh builds it and passes --limit-mm-per-prompt).
  vision) MODEL="$VLLM_TIER_VISION_MODEL/model"; FORMAT=(--config-format mistral --load-format mistral) ;;
  *) echo "serve.sh: --layout is native, hf or vision" >&2; exit 2 ;;
esac

# KV cache in GiB (the CPU backend's equivalent of --gpu-memory-utilization): 1 GiB holds about
# 2M tokens of this model, far more than the tests use. OMP binding "auto" keeps one core of two
# free, so vLLM computes on one thread and the language server and the tests get the other.
export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}"
export VLLM_CPU_OMP_THREADS_BIND="${VLLM_CPU_OMP_THREADS_BIND:-auto}"
export VLLM_TARGET_DEVICE=cpu
# Keep vLLM's caches with the tier's cache, and never reach for the network.
export VLLM_CACHE_ROOT="$VLLM_TIER_CACHE/vllm-cache"
export TORCHINDUCTOR_CACHE_DIR="$VLLM_TIER_CACHE/inductor-cache"
# vLLM's usual INFO log, plus DEBUG for its request logger alone: with --enable-log-requests that
# logger then also writes each request's JSON body as vLLM parsed it ("Request ... JSON body:") and
# the token ids of the prompt its chat template rendered ("Request ... details: ..."), which the tests read
# to see the fields the language server sent (priority, continue_final_message) arrive.
export VLLM_LOGGING_CONFIG_PATH="$HERE/logging.json"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
export PYTHONUNBUFFERED=1  # the log is a file: lines must land when they happen (the tests read it live)
# Anything the caller's Python environment would inject has no business here.
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV
# The vision model's Pixtral module imports transformers' Pixtral image processor, which imports
# torchvision (absent here, see vision-shim/sitecustomize.py): that one import is left out.
if [ "$LAYOUT" = vision ]; then export PYTHONPATH="$HERE/vision-shim"; fi

mkdir -p "$(dirname "$LOG")"
# Flags, as in scripts/serve-vllm.sh where they apply:
#   --tokenizer-mode mistral (+ native config/load format): Mistral's tokenizer and format;
#   --tool-call-parser mistral --enable-auto-tool-choice: tool calls (the reviewer's);
#   --served-model-name: the production name, so the language server's default model matches;
#   --scheduling-policy priority: requests' `priority` is honoured (fcfs ignores it silently);
#   --enable-prefix-caching: on by default in V1, said explicitly as in production;
#   --enable-log-requests: every request and every abort is logged (the tests read them);
#   --enable-log-outputs (not deltas): each finished generation's text and finish reason are logged
#     too, so the tests can check that a structured-output answer is valid against its schema.
# CPU-only additions: --enforce-eager (torch.compile adds 25-75 s to every start and its cache never
# reloads on CPU), a short --max-model-len, a fixed --seed. --limit-mm-per-prompt is left out: the
# tiny model has no vision encoder.
exec "$VLLM_TIER_VENV/bin/vllm" serve "$MODEL" \
  "${FORMAT[@]}" \
  --tokenizer-mode mistral \
  --tool-call-parser mistral --enable-auto-tool-choice \
  --served-model-name mistralai/Mistral-Small-3.2-24B-Instruct-2506 \
  --scheduling-policy priority \
  --enable-prefix-caching \
  --enable-log-requests --enable-log-outputs --no-enable-log-deltas \
  --host 127.0.0.1 --port "$PORT" \
  --max-model-len 8192 \
  --dtype bfloat16 \
  --enforce-eager \
  --seed 0 \
  "${EXTRA[@]}" >>"$LOG" 2>&1
