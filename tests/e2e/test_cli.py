"""The command line: --version, check against the stand-in (usable / down / wrong model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server import __version__
from tests.standin import Reply, StandIn

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], standin: StandIn | None = None, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_LSP_")}
    environ["PYTHONPATH"] = str(ROOT)
    if standin is not None:
        environ["MISTRAL_LSP_ENDPOINT"] = standin.base_url
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "lsp_server", *args], capture_output=True, text=True, env=environ, cwd=cwd, timeout=60
    )


def test_version() -> None:
    out = run(["--version"])
    assert out.returncode == 0 and out.stdout.strip() == f"mistral-lsp {__version__}"


def test_no_command_is_a_usage_error() -> None:
    out = run([])
    assert out.returncode == 2 and "serve" in out.stderr


def test_bad_tcp_address() -> None:
    out = run(["serve", "--tcp", "nonsense"])
    assert out.returncode == 2 and "HOST:PORT" in out.stderr


def test_check_usable(standin: StandIn, tmp_path: Path) -> None:
    standin.default = Reply(text=" a + b")
    out = run(["check"], standin, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "32768 tokens" in out.stdout and "result:      usable" in out.stdout
    completion, structured, tools, images = (r.body for r in standin.chat_requests())
    assert completion["continue_final_message"] is True and completion["max_tokens"] == 1
    assert structured["response_format"]["type"] == "json_schema" and structured["max_tokens"] == 1
    assert [t["function"]["name"] for t in tools["tools"]] == ["lookup_symbol", "read_lines"]
    assert "review json: accepted" in out.stdout and "tool calls:  accepted" in out.stdout
    assert images["max_tokens"] == 1 and len(standin.chat_requests()[-1].images) == 10  # vision.maxImagesPerRequest
    assert "images:      accepted" in out.stdout


@pytest.mark.parametrize(("limit", "images", "words"), [
    (0, False, "--limit-mm-per-prompt '{\"image\":10}'"),
    (3, True, "at most 3 image(s) per request"),
])
def test_check_reports_the_servers_image_limit(tmp_path: Path, limit: int, images: bool, words: str) -> None:
    with StandIn(image_limit=limit) as server:
        out = run(["check", "--json"], server, cwd=tmp_path)
    report = json.loads(out.stdout)
    assert out.returncode == 0 and report["usable"] is True  # completions work either way
    assert report["images"] is images and any(words in note for note in report["notes"]), report


def test_check_reports_a_server_without_tool_calls(standin: StandIn, tmp_path: Path) -> None:
    standin.script(Reply(text=" a"), Reply(text="{}"), Reply(
        mode="error", status=400,
        error_message='"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'))
    out = run(["check", "--json"], standin, cwd=tmp_path)
    report = json.loads(out.stdout)
    assert out.returncode == 0 and report["usable"] is True  # completions work: usable
    assert report["reviewStructuredOutput"] is True and report["reviewTools"] is False
    assert any("--enable-auto-tool-choice" in note for note in report["notes"])


def test_check_json(standin: StandIn, tmp_path: Path) -> None:
    out = run(["check", "--json"], standin, cwd=tmp_path)
    report = json.loads(out.stdout)
    assert report["usable"] is True and report["maxModelLen"] == 32768


def test_check_model_not_served(standin: StandIn, tmp_path: Path) -> None:
    out = run(["check"], standin, cwd=tmp_path, MISTRAL_LSP_MODEL="someone/else")
    assert out.returncode == 3
    assert "NOT served" in out.stdout and "Mistral-Small-3.2-24B-Instruct-2506" in out.stdout


def test_check_unreachable(standin: StandIn, tmp_path: Path) -> None:
    standin.set_down(True)
    try:
        out = run(["check", "--timeout", "2"], standin, cwd=tmp_path)
    finally:
        standin.set_down(False)
    assert out.returncode == 3 and "NOT reachable" in out.stdout
    # what to do next: the endpoint, where it came from, how to start a server
    assert f"endpoint:    {standin.base_url} (from MISTRAL_LSP_ENDPOINT)" in out.stdout
    assert f"what to do:  - the endpoint setting is {standin.base_url} (from MISTRAL_LSP_ENDPOINT)" in out.stdout
    assert "scripts/serve-vllm.sh" in out.stdout


def test_check_completion_refused(standin: StandIn, tmp_path: Path) -> None:
    standin.script(Reply(mode="error", status=400, error_message="bad field"))
    out = run(["check"], standin, cwd=tmp_path)
    assert out.returncode == 3 and "bad field" in out.stdout


def test_check_reads_the_project_file(standin: StandIn, tmp_path: Path) -> None:
    (tmp_path / ".mistral-lsp.toml").write_text('model = "project/model"\n')
    out = run(["check"], standin, cwd=tmp_path)
    assert out.returncode == 3 and "project/model" in out.stdout
