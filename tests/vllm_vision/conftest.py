"""The real-vLLM tier's vision part: the language server and our token counts against a vision vLLM.

scripts/vllm/vision.sh serves a tiny random Pixtral-style Mistral (Mistral-Small-3.2's image
settings, ``--limit-mm-per-prompt '{"image":2}'``) and runs ``pytest -m vllm_vision`` with
``MISTRAL_LSP_VLLM_VISION_URL`` and ``MISTRAL_LSP_VLLM_VISION_LOG`` set (the log holds each request's
body and rendered prompt token ids, as in the text tier). Without them these tests are skipped,
saying why.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.vllm.conftest import Vllm, VllmLog

URL_VAR = "MISTRAL_LSP_VLLM_VISION_URL"
LOG_VAR = "MISTRAL_LSP_VLLM_VISION_LOG"
SKIP_REASON = f"the vLLM tier's vision server is not running ({URL_VAR} unset): run scripts/vllm-tier.sh"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    running = bool(os.environ.get(URL_VAR)) and bool(os.environ.get(LOG_VAR))
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.vllm_vision)
            if not running:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.fixture(scope="session")
def vision_vllm() -> Vllm:
    url, log = os.environ.get(URL_VAR), os.environ.get(LOG_VAR)
    if not url or not log:
        pytest.skip(SKIP_REASON)
    return Vllm(url, VllmLog(Path(log)))


@pytest.fixture(scope="session")
def image_limit() -> int:
    return int(os.environ.get("MISTRAL_LSP_VLLM_VISION_IMAGE_LIMIT", "2"))
