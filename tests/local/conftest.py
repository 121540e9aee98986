"""The in-process Transformers backend's tier: real torch on the CPU, tiny random models, no download.

``scripts/transformers-tier.sh`` runs ``pytest -m transformers`` in an environment with CPU torch
and transformers (an overlay on the real-vLLM tier's cached environment, see docs/backends.md) and
sets ``MISTRAL_LSP_TRANSFORMERS_TIER=1``. Elsewhere (the default suite has no torch) every test
here is skipped, saying why; inside the tier a missing package fails them instead.

The models are built from configs at the start of the session (``tests/tiny_models.py``) with the
real v11 tekken tokenizer; their words are gibberish, so the tests check what the backend and the
server do with them: prompts accepted, grammars enforced, tool calls parsed, generations stopped.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

TIER_VAR = "MISTRAL_LSP_TRANSFORMERS_TIER"
NEEDED = ("torch", "transformers", "llguidance", "jinja2", "safetensors")
HERE = Path(__file__).resolve().parent


def _missing() -> list[str]:
    return [name for name in NEEDED if importlib.util.find_spec(name) is None]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark this folder's tests ``transformers``; skip them (saying why) where torch is not installed."""
    missing = _missing()
    in_tier = os.environ.get(TIER_VAR) == "1"
    reason = (f"in-process Transformers backend: {', '.join(missing)} not installed here; "
              "scripts/transformers-tier.sh runs these tests with CPU torch")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.transformers)
            if missing and not in_tier:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny models, built once per session: text (HF layout), text (Mistral layout), Mistral3 (HF)."""
    from tests.tiny_models import build_native_copy, build_text_model, build_vision_model

    root = tmp_path_factory.mktemp("tiny-models")
    text = build_text_model(root / "text-hf")
    return {
        "text": text,
        "native": build_native_copy(text, root / "text-native"),
        "mistral3": build_vision_model(root / "mistral3-hf"),
    }
