"""The command line with the in-process backend: ``review``, ``check`` and ``serve``, no model server.

``--backend transformers --model PATH`` on the command line, and the same through the
environment (``MISTRAL_LSP_BACKEND``/``MISTRAL_LSP_MODEL``) and through the project file.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from tests.e2e.conftest import capabilities, stop_client
from tests.local.test_server import local_env, status
from tests.vllm.conftest import answer_errors
from tests.vllm.test_review_cli import SOURCE

ROOT = Path(__file__).resolve().parents[2]
RUN_WAIT = 600  # seconds per command: torch's import and the load, on a shared machine
# Short review answers: one review request per unit, a few seconds each on the CPU.
PROJECT = '[tool.mistral-lsp]\nreview = { max-tokens = 64 }\n'


def repo(tmp_path: Path, project: str = PROJECT) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    (path / "shop.py").write_text(SOURCE, encoding="utf-8")
    (path / "pyproject.toml").write_text(project, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    return path


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_LSP_")}
    env.update({"MISTRAL_LSP_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT), **extra})
    return env


def mistral_lsp(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lsp_server", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=RUN_WAIT, check=False)


def assert_clean_sarif(done: subprocess.CompletedProcess[str], out: Path) -> dict[str, Any]:
    """A review that ran on the local model: exit 0 under ``--allow-partial``, and its only unit errors
    (listed as "error ..." in the summary, each one an error notification in the SARIF) are about
    what the random model answered (cut off by the short ``max-tokens``), never the backend's."""
    assert done.returncode == 0, done.stdout + done.stderr
    sarif = json.loads(out.read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["tool"]["driver"]["name"] == "mistral-lsp"
    failed = [line.split(": ", 2)[2] for line in done.stderr.splitlines() if line.startswith("  error ")]
    assert answer_errors(failed), done.stderr
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert len([n for n in notes if n["level"] == "error"]) == len(failed)
    return sarif


def test_review_with_backend_and_model_on_the_command_line(models: dict[str, Path], tmp_path: Path) -> None:
    path = repo(tmp_path)
    out = tmp_path / "review.sarif"
    done = mistral_lsp(["review", "--backend", "transformers", "--model", str(models["mistral3"]), "--format",
                        "sarif", "--output", str(out), "--fail-on", "never", "--allow-partial", "--no-cache"], path, clean_env(tmp_path))
    assert_clean_sarif(done, out)
    assert "requests: 0" not in done.stderr  # the units went to the model


def test_review_with_backend_and_model_from_the_environment(models: dict[str, Path], tmp_path: Path) -> None:
    path = repo(tmp_path)
    out = tmp_path / "review.sarif"
    env = clean_env(tmp_path, MISTRAL_LSP_BACKEND="transformers", MISTRAL_LSP_MODEL=str(models["text"]))
    done = mistral_lsp(["review", "--format", "sarif", "--output", str(out), "--fail-on", "never", "--allow-partial", "--no-cache"],
                       path, env)
    assert_clean_sarif(done, out)


def test_review_with_backend_and_model_from_the_project_file(models: dict[str, Path], tmp_path: Path) -> None:
    project = (f'[tool.mistral-lsp]\nbackend = "transformers"\nmodel = "{models["native"]}"\n'
               'review = { max-tokens = 64 }\n[tool.mistral-lsp.transformers]\ndevice = "cpu"\ndtype = "float32"\n')
    path = repo(tmp_path, project)
    out = tmp_path / "review.sarif"
    done = mistral_lsp(["review", "--format", "sarif", "--output", str(out), "--fail-on", "never", "--allow-partial", "--no-cache"],
                       path, clean_env(tmp_path))
    assert_clean_sarif(done, out)


def test_review_of_a_missing_model_exits_3_and_names_it(tmp_path: Path) -> None:
    path = repo(tmp_path)
    done = mistral_lsp(["review", "--backend", "transformers", "--model", str(tmp_path / "nowhere"), "--no-cache"],
                       path, clean_env(tmp_path))
    assert done.returncode == 3, done.stderr
    assert "does not exist" in done.stderr and "the local model" in done.stderr


def test_check_reports_device_dtype_load_time_and_speed(models: dict[str, Path], tmp_path: Path) -> None:
    done = mistral_lsp(["check", "--backend", "transformers", "--model", str(models["text"]), "--json"], tmp_path,
                       clean_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["usable"] is True and report["backend"] == "transformers"
    assert report["device"] == "cpu" and report["dtype"] == "float32"
    assert report["loadSeconds"] > 0 and report["tokensPerSecond"] > 0 and report["generatedTokens"] > 0
    assert report["reviewStructuredOutput"] is True and report["maxModelLen"] == 8192


def test_check_of_a_model_that_is_not_there_is_not_usable(tmp_path: Path) -> None:
    done = mistral_lsp(["check", "--backend", "transformers", "--model", str(tmp_path / "nowhere")], tmp_path,
                       clean_env(tmp_path))
    assert done.returncode == 3
    assert "NOT loaded" in done.stdout and "does not exist" in done.stdout


@pytest.mark.asyncio
async def test_serve_with_backend_and_model_on_the_command_line(models: dict[str, Path], tmp_path: Path) -> None:
    env = local_env(Path("/ignored"), tmp_path / ".cache")
    del env["MISTRAL_LSP_BACKEND"], env["MISTRAL_LSP_MODEL"]  # only the flags say it
    config = ClientServerConfig(server_command=[sys.executable, "-m", "lsp_server", "serve", "--backend",
                                                "transformers", "--model", str(models["text"])], server_env=env)
    client = await config.start()
    await client.initialize_session(types.InitializeParams(capabilities=capabilities("neovim@v0.11", inline=False),
                                                           root_uri=tmp_path.as_uri()))
    try:
        deadline = time.monotonic() + RUN_WAIT
        while (now := await status(client)).get("state") != "ready":
            assert now.get("state") != "unavailable", now
            assert time.monotonic() < deadline, now
            await asyncio.sleep(0.25)
        assert now["backend"]["backend"] == "transformers" and now["backend"]["model"] == str(models["text"])
    finally:
        await stop_client(client)
