"""Tiny randomly initialised Mistral models for the in-process backend's tests, built from configs.

The tokenizer is the real one: mistral-common's bundled tekken file set to v11 (as
Mistral-Small-3.2 uses) with its special tokens listed, made by the vLLM tier's
``scripts/vllm/make_tiny_model.py`` (``tekken``); that script also converts weights to
Mistral's native layout (``native_state_dict``). Three models, a few MB of weights each
besides the 131072-token embedding and output:

- ``MistralForCausalLM``, Hugging Face layout (``config.json`` + ``model.safetensors``);
- the same weights in Mistral's layout (``params.json`` + ``consolidated.safetensors``);
- ``Mistral3ForConditionalGeneration`` (Mistral-Small-3.2's architecture: a Pixtral vision
  encoder, a projector and a Mistral text decoder), Hugging Face layout.

``write_tekken`` needs only mistral-common; the model builders import torch and transformers.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VOCAB = 131072  # the tekken vocabulary
TEXT_SIZES = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1, "num_attention_heads": 2,
              "num_key_value_heads": 1, "head_dim": 32}
CONTEXT = 8192
# The tokenizer's image encoder and the vision tower agree: 16-pixel patches merged 2x2, at most 64 pixels.
IMAGE = {"image_patch_size": 16, "max_image_size": 64, "spatial_merge_size": 2}


@cache
def tiny_model_script() -> ModuleType:
    """``scripts/vllm/make_tiny_model.py`` as a module (no torch needed to import it)."""
    spec = importlib.util.spec_from_file_location("make_tiny_model", ROOT / "scripts" / "vllm" / "make_tiny_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_tekken(folder: Path, version: str = "v11", image: dict[str, int] | None = None) -> Path:
    """The v11 tokenizer file; with ``image``, its image encoder's settings (patch size, ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = tiny_model_script().tekken(version)
    if image is not None:
        data["image"] = image
    path = folder / "tekken.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _text_config(**overrides: Any) -> Any:
    from transformers import MistralConfig

    return MistralConfig(vocab_size=VOCAB, max_position_embeddings=CONTEXT, rope_theta=1e9, rms_norm_eps=1e-5,
                         sliding_window=None, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
                         **{**TEXT_SIZES, **overrides})


def build_text_model(folder: Path, seed: int = 0) -> Path:
    """A tiny ``MistralForCausalLM`` in the Hugging Face layout, weights in bfloat16."""
    import torch
    from transformers import MistralForCausalLM

    torch.manual_seed(seed)
    model = MistralForCausalLM(_text_config()).to(torch.bfloat16)
    model.save_pretrained(folder)
    write_tekken(folder)
    return folder


def build_native_copy(hf_folder: Path, folder: Path) -> Path:
    """The model of ``hf_folder`` in Mistral's native layout (the tier script's conversion)."""
    from safetensors.torch import save_file
    from transformers import MistralForCausalLM

    model = MistralForCausalLM.from_pretrained(hf_folder)
    cfg = model.config
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tiny_model_script().native_state_dict(model, cfg), str(folder / "consolidated.safetensors"),
              metadata={"format": "pt"})
    params = {"dim": cfg.hidden_size, "n_layers": cfg.num_hidden_layers, "head_dim": cfg.head_dim,
              "hidden_dim": cfg.intermediate_size, "n_heads": cfg.num_attention_heads,
              "n_kv_heads": cfg.num_key_value_heads, "rope_theta": 1e9, "norm_eps": 1e-5, "vocab_size": VOCAB,
              "max_position_embeddings": CONTEXT}
    (folder / "params.json").write_text(json.dumps(params), encoding="utf-8")
    write_tekken(folder)
    return folder


def build_vision_model(folder: Path, seed: int = 0) -> Path:
    """A tiny ``Mistral3ForConditionalGeneration`` (Pixtral encoder + Mistral decoder), Hugging Face layout."""
    import torch
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration, PixtralVisionConfig

    torch.manual_seed(seed)
    vision = PixtralVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                                 head_dim=16, image_size=IMAGE["max_image_size"], patch_size=IMAGE["image_patch_size"],
                                 num_channels=3)
    config = Mistral3Config(vision_config=vision, text_config=_text_config(), image_token_index=10,
                            spatial_merge_size=IMAGE["spatial_merge_size"], projector_hidden_act="gelu",
                            vision_feature_layer=-1)
    model = Mistral3ForConditionalGeneration(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    write_tekken(folder, image=IMAGE)
    return folder
