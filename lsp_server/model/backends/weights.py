"""Finding and loading the model's weights: a local folder (Hugging Face or Mistral layout) or a hub id.

- **Hugging Face layout** (``config.json`` + ``*.safetensors``, as Mistral-Small-3.2's repository
  ships it): the class named by ``config.json`` (``Mistral3ForConditionalGeneration``,
  ``MistralForCausalLM``, ...) is loaded with ``from_pretrained``.
- **Mistral layout** (``params.json`` + ``consolidated*.safetensors``, what ``mistral-inference``
  and ``vllm --load-format mistral`` read): the text decoder is rebuilt as ``MistralForCausalLM``
  from ``params.json`` and the weights renamed (q/k rows re-permuted for Transformers' rotary
  layout). A vision encoder in the file is left out: images need the Hugging Face layout.
- **A hub id** (``mistralai/...``) is fetched with ``huggingface_hub`` into its usual cache
  (Hugging Face layout and ``tekken.json`` only): that needs the network and the disk space.

Either way the prompt is encoded by mistral-common from the folder's ``tekken.json``. Before
loading, the weights' size in the chosen dtype is compared with the device's free memory, so
a model that cannot fit is refused with a message instead of exhausting the machine.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsp_server.model.backends.device import BYTES_PER_PARAM, Placement, free_bytes

log = logging.getLogger(__name__)

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_HUB_FILES = ["config.json", "generation_config.json", "model*.safetensors", "model.safetensors.index.json",
              "tekken.json", "preprocessor_config.json", "processor_config.json"]
_GB = 1024**3
# Weights plus the activations and KV cache of one request at a modest context.
_OVERHEAD = 1.15


class LoadError(Exception):
    """The model could not be found or loaded; the message says what to do."""


@dataclass(frozen=True)
class ModelFolder:
    path: Path
    layout: str  # "hf" or "mistral"


def locate(model: str) -> ModelFolder:
    """The folder behind the ``model`` setting (downloading a hub id's files when needed)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return _folder(path)
    if path.exists():
        raise LoadError(f"model {model!r} is a file: give the folder that holds the model's files")
    if not _HUB_ID.match(model) or model.startswith((".", "/", "~")):
        raise LoadError(f"model folder {model!r} does not exist")
    return _folder(_download(model))


def _folder(path: Path) -> ModelFolder:
    if (path / "config.json").is_file() and any(path.glob("*.safetensors")):
        return ModelFolder(path, "hf")
    if (path / "params.json").is_file() and any(path.glob("consolidated*.safetensors")):
        return ModelFolder(path, "mistral")
    raise LoadError(f"{path} holds neither a Hugging Face model (config.json + *.safetensors) nor a Mistral "
                    "one (params.json + consolidated.safetensors)")


def _download(repo_id: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise LoadError(f"model {repo_id!r} is not a local folder, and huggingface_hub (to fetch it) is not "
                        "installed: give the model's folder") from exc
    log.info("fetching %s from the Hugging Face hub (or its local cache)", repo_id)
    try:
        return Path(snapshot_download(repo_id, allow_patterns=_HUB_FILES))
    except Exception as exc:  # noqa: BLE001 - offline, unknown repository, gated, disk full, ...
        raise LoadError(f"cannot fetch {repo_id!r} from the Hugging Face hub ({type(exc).__name__}: "
                        f"{str(exc)[:200]}); without network, set model to a local folder") from None


def parameter_count(folder: ModelFolder) -> int:
    """Parameters in the folder's safetensors files (read from their headers)."""
    from safetensors import safe_open

    pattern = "consolidated*.safetensors" if folder.layout == "mistral" else "*.safetensors"
    total = 0
    for file in sorted(folder.path.glob(pattern)):
        with safe_open(str(file), framework="pt") as f:
            for key in f.keys():  # noqa: SIM118 - safe_open is not a mapping
                shape = f.get_slice(key).get_shape()
                count = 1
                for dim in shape:
                    count *= int(dim)
                total += count
    return total


def check_fits(folder: ModelFolder, placement: Placement) -> int:
    """The bytes the weights need in the placement's dtype; raises ``LoadError`` when they cannot fit."""
    needed = int(parameter_count(folder) * BYTES_PER_PARAM[placement.dtype] * _OVERHEAD)
    free = free_bytes(placement)
    if free is not None and needed > free:
        hint = ("spread it over several GPUs (device auto with more GPUs), or use a smaller model"
                if placement.device.startswith("cuda") else
                "use a GPU, dtype bfloat16 (half the memory of float32), or a smaller model")
        raise LoadError(f"the model does not fit: it needs about {needed / _GB:.1f} GB in {placement.dtype} on "
                        f"{placement.describe()}, which has {free / _GB:.1f} GB free; {hint}")
    return needed


def context_length(config: Any) -> int | None:
    """The model's context length from its (text) config."""
    for cfg in (getattr(config, "text_config", None), config):
        value = getattr(cfg, "max_position_embeddings", None) if cfg is not None else None
        if isinstance(value, int) and value > 0:
            return value
    return None


def load_model(folder: ModelFolder, placement: Placement) -> Any:
    """The model, in eval mode, on its device(s)."""
    import torch

    dtype = getattr(torch, placement.dtype)
    # With accelerate (in the `local` extra) weights go straight to their device(s); without it
    # they are loaded on the CPU and moved, and a model cannot be spread over several GPUs.
    direct = importlib.util.find_spec("accelerate") is not None
    if placement.spread and not direct:
        raise LoadError("spreading the model over several GPUs needs accelerate: pip install 'mistral-lsp[local]' "
                        "(or pip install accelerate)")
    placed: dict[str, Any] = {"device_map": placement.device_map or placement.device} if direct else {}
    if folder.layout == "mistral":
        model = _load_mistral_layout(folder.path, dtype, placed)
    else:
        import transformers

        config = json.loads((folder.path / "config.json").read_text(encoding="utf-8"))
        arch = (config.get("architectures") or ["AutoModelForCausalLM"])[0]
        cls = getattr(transformers, arch, None) or transformers.AutoModelForCausalLM
        model = cls.from_pretrained(str(folder.path), dtype=dtype, **placed)
    if not direct and placement.device != "cpu":
        model = model.to(placement.device)
    return model.eval()


# -- Mistral's native layout -------------------------------------------------------------------

_RENAME = {"tok_embeddings.weight": "model.embed_tokens.weight", "norm.weight": "model.norm.weight",
           "output.weight": "lm_head.weight"}
_LAYER_PARTS = {"attention.wq": "self_attn.q_proj", "attention.wk": "self_attn.k_proj",
                "attention.wv": "self_attn.v_proj", "attention.wo": "self_attn.o_proj",
                "feed_forward.w1": "mlp.gate_proj", "feed_forward.w2": "mlp.down_proj",
                "feed_forward.w3": "mlp.up_proj", "attention_norm": "input_layernorm",
                "ffn_norm": "post_attention_layernorm"}
_LAYER_KEY = re.compile(r"^layers\.(\d+)\.(.+)\.weight$")


def mistral_config(params: dict[str, Any]) -> Any:
    """``params.json`` -> the ``MistralConfig`` of the same text decoder."""
    from transformers import MistralConfig

    heads = int(params["n_heads"])
    dim = int(params["dim"])
    return MistralConfig(
        vocab_size=int(params["vocab_size"]), hidden_size=dim, intermediate_size=int(params["hidden_dim"]),
        num_hidden_layers=int(params["n_layers"]), num_attention_heads=heads,
        num_key_value_heads=int(params.get("n_kv_heads", heads)), head_dim=int(params.get("head_dim", dim // heads)),
        rope_theta=float(params.get("rope_theta", 10000.0)), rms_norm_eps=float(params.get("norm_eps", 1e-5)),
        max_position_embeddings=int(params.get("max_position_embeddings") or params.get("max_seq_len") or 32768),
        sliding_window=params.get("sliding_window"), tie_word_embeddings=bool(params.get("tied_embeddings", False)),
        bos_token_id=1, eos_token_id=2,
    )


def hf_state_dict(native: dict[str, Any], config: Any) -> dict[str, Any]:
    """Mistral native tensor names -> Transformers', q/k rows permuted for its rotary layout.

    The inverse of ``scripts/vllm/make_tiny_model.py``'s ``native_state_dict``. Tensors
    outside the text decoder (a vision encoder) are left out.
    """
    out: dict[str, Any] = {}
    for name, tensor in native.items():
        if name in _RENAME:
            out[_RENAME[name]] = tensor
            continue
        match = _LAYER_KEY.match(name)
        if match is None or match.group(2) not in _LAYER_PARTS:
            continue
        part = match.group(2)
        if part == "attention.wq":
            tensor = _permute(tensor, config.num_attention_heads)
        elif part == "attention.wk":
            tensor = _permute(tensor, config.num_key_value_heads)
        out[f"model.layers.{match.group(1)}.{_LAYER_PARTS[part]}.weight"] = tensor
    return out


def _permute(w: Any, heads: int) -> Any:
    rows, cols = w.shape
    return w.view(heads, rows // heads // 2, 2, cols).transpose(1, 2).reshape(rows, cols)


def _load_mistral_layout(path: Path, dtype: Any, placed: dict[str, Any]) -> Any:
    from safetensors.torch import load_file
    from transformers import MistralForCausalLM

    params = json.loads((path / "params.json").read_text(encoding="utf-8"))
    if params.get("vision_encoder"):
        log.info("%s: Mistral layout, loading the text decoder only (images need the Hugging Face layout)", path)
    config = mistral_config(params)
    native: dict[str, Any] = {}
    for file in sorted(path.glob("consolidated*.safetensors")):
        native.update(load_file(str(file)))
    state = hf_state_dict(native, config)
    del native
    if config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    model, info = MistralForCausalLM.from_pretrained(None, config=config, state_dict=state, dtype=dtype,
                                                     output_loading_info=True, **placed)
    missing = [m for m in info.get("missing_keys", ()) if not (config.tie_word_embeddings and m == "lm_head.weight")]
    unexpected = list(info.get("unexpected_keys", ()))
    if missing or unexpected:
        raise LoadError(f"{path}: consolidated weights do not match params.json (missing {missing[:3]}, "
                        f"unexpected {unexpected[:3]})")
    return model
