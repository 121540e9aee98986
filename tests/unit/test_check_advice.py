"""``mistral-lsp check`` says what to do when no usable server answers (issue 17 item 12)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsp_server.check import no_server_advice, run_check
from lsp_server.config import Settings
from lsp_server.model.client import ModelError


def test_unreachable_with_the_default_endpoint(tmp_path: Path, monkeypatch) -> None:
    for name in ("MISTRAL_LSP_ENDPOINT", "MISTRAL_LSP_API_KEY", "MISTRAL_LSP_MODEL", "MISTRAL_LSP_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".mistral-lsp.toml").write_text('endpoint = "http://127.0.0.1:9/v1"\n')
    report = asyncio.run(run_check(tmp_path, timeout_s=2))
    assert not report.usable and report.endpoint_source == ".mistral-lsp.toml"
    lines = report.lines()
    assert lines[0] == "endpoint:    http://127.0.0.1:9/v1 (from .mistral-lsp.toml)"
    advice = [line for line in lines if line.startswith(("what to do:", "             - "))]
    assert advice[0].startswith("what to do:  - the endpoint setting is http://127.0.0.1:9/v1 (from "
                                ".mistral-lsp.toml): if the server runs elsewhere, set MISTRAL_LSP_ENDPOINT=")
    assert "scripts/serve-vllm.sh" in advice[1] and "--host 0.0.0.0 --api-key KEY" in advice[1]
    assert "mistral-lsp[local]" in advice[2] and "--backend transformers --model PATH" in advice[2]
    assert report.as_dict()["advice"] == report.advice and report.as_dict()["endpointSource"] == ".mistral-lsp.toml"
    assert report.lines().index(advice[0]) > report.lines().index("result:      NOT usable")


def test_a_refused_key_gets_key_advice() -> None:
    refused = ModelError("http", "the model server answered 401: unauthorized", 401)
    [line] = no_server_advice(Settings(), "default", refused)
    assert "MISTRAL_LSP_API_KEY" in line and "is not set" in line
    [line] = no_server_advice(Settings(api_key="sk-secret-123"), "default", refused)
    assert "is set but was refused" in line and "sk-secret" not in line  # never the key itself


def test_default_source_wording() -> None:
    down = ModelError("unreachable", "cannot connect to the model server (ConnectError)")
    first = no_server_advice(Settings(), "default", down)[0]
    assert first.startswith("the endpoint setting is http://127.0.0.1:8000/v1 (the default): ")
