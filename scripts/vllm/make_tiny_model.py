#!/usr/bin/env python
"""Build the vLLM tier's model: a tiny, randomly initialised Mistral with the real Mistral tokenizer.

Run with the tier's own environment (scripts/vllm/setup.sh does it):

    VENV/bin/python scripts/vllm/make_tiny_model.py --hf OUT_HF --native OUT_NATIVE [--tokenizer-version v11]

Its words are gibberish, but vLLM treats it like the real thing: the same architecture family as
Mistral-Small-3.2's text decoder (MistralForCausalLM: GQA, RoPE with theta 1e9, SwiGLU, RMSNorm,
untied output), the same 131072-token tekken vocabulary, and the tokenizer version Mistral-Small-3.2
uses, v11. The version matters: with a v11+ tokenizer and `--tool-call-parser mistral`, vLLM renders
`[SYSTEM_PROMPT]...[/SYSTEM_PROMPT]`, uses `[TOOL_CALLS]name[ARGS]{...}` tool calls and attaches
mistral-common's grammar to every chat request; with the bundled file's own v3 it takes a legacy path.

Writes two layouts of the same weights, in separate folders (vLLM's load_format=auto lists files
recursively, so a native copy inside the HF folder would switch it to the Mistral loader):
  - OUT_NATIVE: Mistral's native layout, params.json + consolidated.safetensors + tekken.json, for
    `--config-format mistral --load-format mistral` as the real model is served;
  - OUT_HF: the Hugging Face layout, config.json + model.safetensors + tekken.json.
Deterministic (seed 0), about 34M parameters, 75 MB per layout in bf16.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mistral_common
from mistral_common.tokens.tokenizers.base import SpecialTokens
from mistral_common.tokens.tokenizers.tekken import Tekkenizer

if TYPE_CHECKING:  # torch and transformers are imported where the weights are made, so tekken() and
    # native_state_dict()'s callers (the transformers backend's tests) can import this file cheaply
    import torch
    from transformers import MistralConfig, MistralForCausalLM

# Mistral-Small-3.1/3.2's text decoder has rope_theta 1e9 and head_dim 128 at hidden 5120; this one
# keeps the family and shrinks every size (head_dim 32 is one the CPU attention kernels support).
SIZES = {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
         "num_key_value_heads": 2, "head_dim": 32}
ROPE_THETA = 1_000_000_000.0
NORM_EPS = 1e-5


def tekken(version: str) -> dict:
    """mistral-common's bundled tekken file, set to `version`, with its special tokens listed."""
    src = Path(mistral_common.__file__).parent / "data" / "tekken_240911.json"
    data = json.loads(src.read_text(encoding="utf-8"))
    data.pop("image", None)  # a text-only model
    data["config"]["version"] = version
    n_special = data["config"]["default_num_special_tokens"]
    # Tokenizers after v7 must list their special tokens. Ranks 0-19 are the historical ones
    # (<unk>, <s>, </s>, [INST], [/INST], ..., [TOOL_CALLS]=9, [SYSTEM_PROMPT]=17, ...); the v11
    # tool-call format adds [ARGS]=32 and [CALL_ID]=33 (the layout mistral-common's own test fixtures
    # use); every other rank is a <SPECIAL_n> filler, as in the published tekken.json files.
    named = {info["rank"]: str(getattr(info["token_str"], "value", info["token_str"]))
             for info in Tekkenizer.DEPRECATED_SPECIAL_TOKENS}
    if version not in ("v3", "v7"):
        named[32] = SpecialTokens.args.value
        named[33] = SpecialTokens.call_id.value
    data["special_tokens"] = [
        {"rank": i, "token_str": named.get(i, Tekkenizer.SPECIAL_TOKEN_TEMPLATE.format(id=i)), "is_control": True}
        for i in range(n_special)
    ]
    return data


def check_tokenizer(path: Path, version: str) -> None:
    """Load it the way vLLM will, and render a prefilled chat in the v11 format."""
    from mistral_common.protocol.instruct.messages import (
        AssistantMessage,
        SystemMessage,
        UserMessage,
    )
    from mistral_common.protocol.instruct.request import ChatCompletionRequest
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    tok = MistralTokenizer.from_file(str(path))
    assert tok.instruct_tokenizer.tokenizer.version.value == version, tok.instruct_tokenizer.tokenizer.version
    request = ChatCompletionRequest(
        messages=[SystemMessage(content="sys"), UserMessage(content="hi"),
                  AssistantMessage(content="```python\ndef f(", prefix=True)],
    )
    text = tok.encode_chat_completion(request).text
    if version not in ("v3", "v7"):
        assert "[SYSTEM_PROMPT]sys[/SYSTEM_PROMPT]" in text, text
    assert text.endswith("def f("), text


def native_state_dict(model: MistralForCausalLM, cfg: MistralConfig) -> dict[str, Any]:
    """The HF state dict renamed to Mistral's native names, q/k un-permuted."""
    rename = {"model.embed_tokens.weight": "tok_embeddings.weight", "model.norm.weight": "norm.weight",
              "lm_head.weight": "output.weight"}
    parts = {"self_attn.q_proj": "attention.wq", "self_attn.k_proj": "attention.wk",
             "self_attn.v_proj": "attention.wv", "self_attn.o_proj": "attention.wo",
             "mlp.gate_proj": "feed_forward.w1", "mlp.down_proj": "feed_forward.w2",
             "mlp.up_proj": "feed_forward.w3", "input_layernorm": "attention_norm",
             "post_attention_layernorm": "ffn_norm"}

    def unpermute(w: torch.Tensor, heads: int) -> torch.Tensor:
        # HF permutes q/k rows for its rotate_half RoPE; Mistral's native weights interleave.
        rows, cols = w.shape
        return w.view(heads, 2, rows // heads // 2, cols).transpose(1, 2).reshape(rows, cols)

    out: dict[str, torch.Tensor] = {}
    for name, tensor in model.state_dict().items():
        if name in rename:
            out[rename[name]] = tensor.contiguous()
            continue
        new = name.replace("model.layers.", "layers.")
        for old, repl in parts.items():
            new = new.replace(old, repl)
        if name.endswith("q_proj.weight"):
            tensor = unpermute(tensor, cfg.num_attention_heads)
        elif name.endswith("k_proj.weight"):
            tensor = unpermute(tensor, cfg.num_key_value_heads)
        out[new] = tensor.contiguous()
    return out


def main() -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import MistralConfig, MistralForCausalLM

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hf", type=Path, required=True, help="output folder, Hugging Face layout")
    parser.add_argument("--native", type=Path, required=True, help="output folder, Mistral native layout")
    parser.add_argument("--tokenizer-version", default="v11", choices=["v3", "v7", "v11", "v13"],
                        help="tekken version (v11: Mistral-Small-3.2; v3: the bundled file's own)")
    args = parser.parse_args()
    if args.native.resolve().is_relative_to(args.hf.resolve()):
        parser.error("--native must not be inside --hf (vLLM would find its consolidated*.safetensors)")
    for folder in (args.hf, args.native):
        folder.mkdir(parents=True, exist_ok=True)

    tok = tekken(args.tokenizer_version)
    tok_text = json.dumps(tok, ensure_ascii=False)
    for folder in (args.hf, args.native):
        (folder / "tekken.json").write_text(tok_text, encoding="utf-8")
    check_tokenizer(args.hf / "tekken.json", args.tokenizer_version)
    vocab_size = tok["config"]["default_vocab_size"]  # 131072, as Mistral-Small-3.2

    torch.manual_seed(0)
    cfg = MistralConfig(vocab_size=vocab_size, max_position_embeddings=131072, rope_theta=ROPE_THETA,
                        rms_norm_eps=NORM_EPS, sliding_window=None, tie_word_embeddings=False,
                        bos_token_id=1, eos_token_id=2, pad_token_id=11, torch_dtype="bfloat16", **SIZES)
    model = MistralForCausalLM(cfg).to(torch.bfloat16)
    model.save_pretrained(args.hf, safe_serialization=True)
    model.generation_config.save_pretrained(args.hf)

    save_file(native_state_dict(model, cfg), str(args.native / "consolidated.safetensors"),
              metadata={"format": "pt"})
    params = {"dim": cfg.hidden_size, "n_layers": cfg.num_hidden_layers, "head_dim": cfg.head_dim,
              "hidden_dim": cfg.intermediate_size, "n_heads": cfg.num_attention_heads,
              "n_kv_heads": cfg.num_key_value_heads, "rope_theta": ROPE_THETA, "norm_eps": NORM_EPS,
              "vocab_size": vocab_size, "max_position_embeddings": 131072}
    (args.native / "params.json").write_text(json.dumps(params, indent=2), encoding="utf-8")

    n = sum(t.numel() for t in model.state_dict().values())
    print(f"tiny Mistral: {n / 1e6:.1f}M parameters, vocab {vocab_size}, tokenizer {args.tokenizer_version}; "
          f"{args.hf} (HF layout), {args.native} (native layout)")


if __name__ == "__main__":
    main()
