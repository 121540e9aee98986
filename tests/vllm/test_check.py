"""`mistral-lsp check` against real vLLM."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT
from tests.vllm.conftest import MODEL, Vllm

pytestmark = [pytest.mark.vllm]


def test_check_is_usable(vllm: Vllm, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_LSP_")}
    env.update({"MISTRAL_LSP_ENDPOINT": vllm.base_url, "PYTHONPATH": str(ROOT)})
    mark = vllm.log.mark()
    done = subprocess.run(
        [sys.executable, "-m", "lsp_server", "check", "--json", "--root", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["usable"] is True and report["problems"] == []
    assert report["servedModels"] == [MODEL]
    assert report["maxModelLen"] == 8192
    piece = asyncio.run(vllm.log.wait_for(mark, lambda p: len(p.statuses("/v1/chat/completions")) >= 4))
    # the last request is check's image probe, which this text-only model refuses (400)
    refused = [line for line in piece.client_errors() if '/v1/chat/completions HTTP/1.1" 400' in line]
    assert len(refused) == 1 and [e for e in piece.client_errors() if e not in refused] == []
    assert report["images"] is False and any("not a multimodal model" in n for n in report["notes"]), report
    assert [s for _, _, s in piece.statuses("/v1/models")] == [200]
    assert report["reviewStructuredOutput"] is True and report["reviewTools"] is True, report
    assert [s for _, _, s in piece.statuses("/v1/chat/completions")] == [200, 200, 200, 400]
    (body,) = [b for b in piece.bodies() if "messages" in b and b.get("continue_final_message")]
    assert body["max_tokens"] == 1
