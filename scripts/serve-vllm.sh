#!/usr/bin/env bash
# Start the production model server: vLLM serving Mistral-Small-3.2-24B-Instruct-2506
# with the flags from the model card (needs a GPU with ~55 GB in bf16, e.g. 2x A100 40GB).
#
#   scripts/serve-vllm.sh [--tp N] [--dp N] [--port PORT] [--host HOST] [--images N | --text-only]
#                         [--api-key KEY | --no-api-key] [-- extra vllm args]
#
# Images are served by default with the model card's limit of 10 per request (image hovers, alt
# text, figure checks; docs/vision.md); --text-only frees the vision encoder's memory (docs/deployment.md).
# It listens on 127.0.0.1 (this machine only) unless --host says otherwise. To use it from
# other machines (a laptop, a CI runner), listen on their network (--host 0.0.0.0) and
# protect it with an API key: --api-key KEY (or VLLM_API_KEY in the environment; the key is
# passed to vLLM through the environment, never on its command line). Clients then set
# MISTRAL_LSP_API_KEY to the same key. --no-api-key exposes it without one (a trusted
# network only). Then point mistral-lsp at it: MISTRAL_LSP_ENDPOINT=http://HOST:PORT/v1
set -euo pipefail

MODEL="${MISTRAL_LSP_MODEL:-mistralai/Mistral-Small-3.2-24B-Instruct-2506}"
TP=1
DP=1
HOST=127.0.0.1
PORT=8000
IMAGES=10
NO_KEY=false
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tp|--tensor-parallel-size) TP="$2"; shift 2 ;;
    --dp|--data-parallel-size) DP="$2"; shift 2 ;;
    --host) HOST="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --images) IMAGES="$2"; shift 2 ;;
    --text-only) IMAGES=0; shift ;;
    --api-key) export VLLM_API_KEY="$2"; shift 2 ;;
    --no-api-key) NO_KEY=true; shift ;;
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "serve-vllm.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

case "$IMAGES" in ''|*[!0-9]*) echo "serve-vllm.sh: --images takes a whole number" >&2; exit 2 ;; esac
case "$HOST" in
  127.*|localhost|::1|"[::1]") ;;
  *)
    if [ -z "${VLLM_API_KEY:-}" ] && [ "$NO_KEY" != true ]; then
      echo "serve-vllm.sh: --host $HOST lets other machines use the model server: give it an API key" \
        "(--api-key KEY, or VLLM_API_KEY), or say --no-api-key on a trusted network" >&2
      exit 2
    fi
    if [ -z "${VLLM_API_KEY:-}" ]; then
      echo "serve-vllm.sh: warning: listening on $HOST without an API key: anyone who reaches it can use it" >&2
    fi
    ;;
esac

command -v vllm >/dev/null || { echo "serve-vllm.sh: vllm is not installed (pip install vllm)" >&2; exit 2; }

# --tokenizer_mode/--config_format/--load_format mistral: the model ships in Mistral's format.
# --tool-call-parser mistral --enable-auto-tool-choice: function calling (reviewer tools).
# --limit-mm-per-prompt '{"image":N}': images per request (the model card's 10; 0 = text only, which
#   frees the memory vLLM reserves for the vision encoder's activations).
# --scheduling-policy priority: lets completions (priority 0) overtake background reviews.
# Prefix caching is on by default in vLLM's V1 engine; we say so explicitly.
exec vllm serve "$MODEL" \
  --tokenizer_mode mistral --config_format mistral --load_format mistral \
  --tool-call-parser mistral --enable-auto-tool-choice \
  --limit-mm-per-prompt "{\"image\":$IMAGES}" \
  --scheduling-policy priority \
  --enable-prefix-caching \
  --tensor-parallel-size "$TP" --data-parallel-size "$DP" \
  --host "$HOST" --port "$PORT" \
  "${EXTRA[@]}"
