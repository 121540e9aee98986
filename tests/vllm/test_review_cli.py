"""`mistral-lsp review` (the CI command) against real vLLM: a small git repository, SARIF out."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.vllm.conftest import Vllm, answer_errors, chat_bodies

ROOT = Path(__file__).resolve().parents[2]
SOURCE = '''def mean(values):
    total = 0
    for i in range(len(values) + 1):
        total += values[i]
    return total / len(values)


class Cart:
    def __init__(self):
        self.items = []

    def add(self, item, qty=1):
        self.items.append((item, qty))
'''


def test_review_cli_against_vllm(vllm: Vllm, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "shop.py").write_text(SOURCE)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_LSP_")}
    env.update({"MISTRAL_LSP_ENDPOINT": vllm.base_url, "MISTRAL_LSP_CACHE_DIR": str(tmp_path / "cache"),
                "PYTHONPATH": str(ROOT)})
    mark = vllm.log.mark()
    out = tmp_path / "review.sarif"
    # A random model's answer may hold no findings: such a unit is an error (exit 3 on its own);
    # --allow-partial judges by the findings, so 3 here can only mean vLLM refused or failed.
    done = subprocess.run(
        [sys.executable, "-m", "lsp_server", "review", "--format", "sarif", "--output", str(out),
         "--fail-on", "never", "--allow-partial"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sarif = json.loads(out.read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["tool"]["driver"]["name"] == "mistral-lsp"
    failed = [line.split(": ", 2)[2] for line in done.stderr.splitlines() if line.startswith("  error ")]
    assert answer_errors(failed), done.stderr  # about the answers, never the server
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert len([n for n in notes if n["level"] == "error"]) == len(failed)  # each one reported in the SARIF
    piece = asyncio.run(vllm.log.wait_for(mark, lambda p: p.statuses("/v1/chat/completions")))
    assert piece.client_errors() == [], piece.client_errors()
    assert all(s == 200 for _, _, s in piece.statuses("/v1/chat/completions"))
    bodies = chat_bodies(piece)
    assert bodies and any("`mean`" in b["messages"][1]["content"] for b in bodies)
