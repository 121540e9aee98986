#!/usr/bin/env python
"""Build the vLLM tier's vision model: a tiny, randomly initialised Pixtral-style Mistral.

Run with the tier's own environment (scripts/vllm/vision.sh does it):

    VENV/bin/python scripts/vllm/make_tiny_vision_model.py --out OUT [--tokenizer-version v11]

Mistral-Small-3.1/3.2 is a Mistral text decoder with a Pixtral vision encoder, shipped in Mistral's
native layout: ``params.json`` with a ``vision_encoder`` section, ``consolidated.safetensors`` and a
``tekken.json`` whose ``image`` section tells mistral-common how an image becomes tokens. vLLM maps
such a ``params.json`` to ``PixtralForConditionalGeneration`` (``adapt_config_dict``). This builder
writes the same shape with every size shrunk:

- the text decoder of ``make_tiny_model.py`` (same weights, same seed, same tekken vocabulary, v11);
- a 1-layer vision encoder (hidden 64, 4 heads) with the real model's IMAGE settings, which are what
  decide the token count: patch 14, largest side 1540, spatial merge 2 (a ``patch_merge`` projector),
  image tokens [IMG]=10, [IMG_BREAK]=12, [IMG_END]=13;
- ``tekken.json`` with ``"image": {"image_patch_size": 14, "max_image_size": 1540,
  "spatial_merge_size": 2}``, so vLLM's tokenizer (``--tokenizer-mode mistral``) and the model agree.

Deterministic (seed 0); about 34M parameters, 70 MB in bf16.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import MistralConfig, MistralForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tiny_model import NORM_EPS, ROPE_THETA, SIZES, check_tokenizer, native_state_dict, tekken  # noqa: E402

# Mistral-Small-3.1/3.2's image settings (its tekken.json / preprocessor: patch 14, longest edge 1540,
# spatial merge 2). These decide how many tokens an image costs; the encoder's widths do not.
IMAGE = {"image_patch_size": 14, "max_image_size": 1540, "spatial_merge_size": 2}
VISION = {"hidden_size": 64, "num_channels": 3, "image_size": 1540, "patch_size": 14, "intermediate_size": 128,
          "num_hidden_layers": 1, "num_attention_heads": 4, "rope_theta": 10000.0, "image_token_id": 10,
          "image_break_token_id": 12, "image_end_token_id": 13, "adapter_bias": False, "spatial_merge_size": 2,
          "add_pre_mm_projector_layer_norm": True, "mm_projector_id": "patch_merge"}


def vision_state_dict(text_dim: int) -> dict[str, torch.Tensor]:
    """Random weights under the native names vLLM's Pixtral loader maps (wq/wk/wv/wo, w1/w2/w3)."""
    hidden, inter = VISION["hidden_size"], VISION["intermediate_size"]
    patch, merge = VISION["patch_size"], VISION["spatial_merge_size"]

    def rand(*shape: int) -> torch.Tensor:
        return (torch.randn(*shape) * 0.02).to(torch.bfloat16).contiguous()

    def ones(n: int) -> torch.Tensor:
        return torch.ones(n, dtype=torch.bfloat16)

    out = {"vision_encoder.patch_conv.weight": rand(hidden, VISION["num_channels"], patch, patch),
           "vision_encoder.ln_pre.weight": ones(hidden)}
    for i in range(VISION["num_hidden_layers"]):
        layer = f"vision_encoder.transformer.layers.{i}"
        for name in ("wq", "wk", "wv", "wo"):
            out[f"{layer}.attention.{name}.weight"] = rand(hidden, hidden)
        out[f"{layer}.feed_forward.w1.weight"] = rand(inter, hidden)
        out[f"{layer}.feed_forward.w3.weight"] = rand(inter, hidden)
        out[f"{layer}.feed_forward.w2.weight"] = rand(hidden, inter)
        out[f"{layer}.attention_norm.weight"] = ones(hidden)
        out[f"{layer}.ffn_norm.weight"] = ones(hidden)
    out["pre_mm_projector_norm.weight"] = ones(hidden)
    out["patch_merger.merging_layer.weight"] = rand(hidden, hidden * merge * merge)
    out["vision_language_adapter.w_in.weight"] = rand(text_dim, hidden)
    out["vision_language_adapter.w_out.weight"] = rand(text_dim, text_dim)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (Mistral native layout)")
    parser.add_argument("--tokenizer-version", default="v11", choices=["v11", "v13"],
                        help="tekken version (v11: Mistral-Small-3.2)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    tok = tekken(args.tokenizer_version)
    tok["image"] = dict(IMAGE)
    (args.out / "tekken.json").write_text(json.dumps(tok, ensure_ascii=False), encoding="utf-8")
    check_tokenizer(args.out / "tekken.json", args.tokenizer_version)
    vocab_size = tok["config"]["default_vocab_size"]

    torch.manual_seed(0)
    cfg = MistralConfig(vocab_size=vocab_size, max_position_embeddings=131072, rope_theta=ROPE_THETA,
                        rms_norm_eps=NORM_EPS, sliding_window=None, tie_word_embeddings=False,
                        bos_token_id=1, eos_token_id=2, pad_token_id=11, torch_dtype="bfloat16", **SIZES)
    model = MistralForCausalLM(cfg).to(torch.bfloat16)
    weights = native_state_dict(model, cfg)
    weights.update(vision_state_dict(cfg.hidden_size))
    save_file(weights, str(args.out / "consolidated.safetensors"), metadata={"format": "pt"})
    params = {"dim": cfg.hidden_size, "n_layers": cfg.num_hidden_layers, "head_dim": cfg.head_dim,
              "hidden_dim": cfg.intermediate_size, "n_heads": cfg.num_attention_heads,
              "n_kv_heads": cfg.num_key_value_heads, "rope_theta": ROPE_THETA, "norm_eps": NORM_EPS,
              "vocab_size": vocab_size, "max_position_embeddings": 131072, "vision_encoder": dict(VISION)}
    (args.out / "params.json").write_text(json.dumps(params, indent=2), encoding="utf-8")

    n = sum(t.numel() for t in weights.values())
    print(f"tiny vision Mistral: {n / 1e6:.1f}M parameters, image settings {IMAGE}, tokenizer "
          f"{args.tokenizer_version}; {args.out} (native layout)")


if __name__ == "__main__":
    main()
