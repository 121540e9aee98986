# Sourced by the vLLM tier's scripts: where the tier's environment and model live.
#
# Everything is cached under $MISTRAL_LSP_CI_CACHE (default ~/.cache/mistral-lsp-ci)/vllm-cpu,
# in folders named after a hash of what built them, so a changed lock file or model script
# builds anew and an unchanged one costs nothing.
VLLM_TIER_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VLLM_TIER_CACHE="${MISTRAL_LSP_CI_CACHE:-$HOME/.cache/mistral-lsp-ci}/vllm-cpu"
# Bump when setup.sh changes what it puts into the venv (the shim, the removed packages).
VLLM_TIER_SETUP_VERSION=1
VLLM_TIER_TOKENIZER_VERSION="${VLLM_TIER_TOKENIZER_VERSION:-v11}"

VLLM_TIER_VENV="$VLLM_TIER_CACHE/venv-$( { cat "$VLLM_TIER_HERE/requirements.lock"; echo "setup=$VLLM_TIER_SETUP_VERSION"; } | sha256sum | cut -c1-12)"
VLLM_TIER_MODEL_ROOT="$VLLM_TIER_CACHE/model-$( { cat "$VLLM_TIER_HERE/make_tiny_model.py" "$VLLM_TIER_HERE/requirements.lock"; echo "tok=$VLLM_TIER_TOKENIZER_VERSION"; } | sha256sum | cut -c1-12)"
# Mistral's native layout (params.json + consolidated.safetensors + tekken.json), served with
# --config-format mistral --load-format mistral like the real model; the HF layout is beside it.
VLLM_TIER_MODEL_NATIVE="$VLLM_TIER_MODEL_ROOT/tiny-mistral-native"
VLLM_TIER_MODEL_HF="$VLLM_TIER_MODEL_ROOT/tiny-mistral-hf"
# The tier's vision model (scripts/vllm/make_tiny_vision_model.py, built by scripts/vllm/vision.sh):
# the same tiny decoder with a tiny Pixtral vision encoder and Mistral-Small-3.2's image settings.
VLLM_TIER_VISION_MODEL="$VLLM_TIER_CACHE/vision-$( { cat "$VLLM_TIER_HERE/make_tiny_vision_model.py" "$VLLM_TIER_HERE/make_tiny_model.py" "$VLLM_TIER_HERE/requirements.lock"; } | sha256sum | cut -c1-12)"
