"""scripts/serve-vllm.sh: the flags it gives vLLM, the host it listens on, and the API key rule.

A fake ``vllm`` on PATH records its arguments and whether it got an API key (through
the environment, never on its command line, where ``ps`` would show it).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "serve-vllm.sh"
FAKE = """#!/usr/bin/env python3
import json, os, sys
json.dump({"args": sys.argv[1:], "key": os.environ.get("VLLM_API_KEY")}, open(os.environ["FAKE_RECORD"], "w"))
"""


def serve(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], dict | None]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "vllm").write_text(FAKE)
    (bin_dir / "vllm").chmod(0o755)
    record = tmp_path / "record.json"
    record.unlink(missing_ok=True)
    environ = {k: v for k, v in os.environ.items() if k != "VLLM_API_KEY"}
    environ.update({"PATH": f"{bin_dir}{os.pathsep}{environ.get('PATH', '')}", "FAKE_RECORD": str(record), **env})
    done = subprocess.run(["bash", str(SCRIPT), *args], env=environ, capture_output=True, text=True, timeout=60)
    return done, json.loads(record.read_text()) if record.exists() else None


def _value(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_defaults_listen_on_this_machine_only(tmp_path: Path) -> None:
    done, seen = serve(tmp_path, "--tp", "2")
    assert done.returncode == 0, done.stderr
    assert seen is not None and seen["args"][:2] == ["serve", "mistralai/Mistral-Small-3.2-24B-Instruct-2506"]
    args = seen["args"]
    assert (_value(args, "--host"), _value(args, "--port"), _value(args, "--tensor-parallel-size")) == (
        "127.0.0.1", "8000", "2")
    assert {"--enable-auto-tool-choice", "--scheduling-policy"} <= set(args) and seen["key"] is None


def test_another_host_needs_an_api_key(tmp_path: Path) -> None:
    done, seen = serve(tmp_path, "--host", "0.0.0.0")
    assert done.returncode == 2 and seen is None
    assert "give it an API key (--api-key KEY, or VLLM_API_KEY)" in done.stderr


@pytest.mark.parametrize("how", ["flag", "env"])
def test_the_api_key_goes_through_the_environment(tmp_path: Path, how: str) -> None:
    args = ["--host", "0.0.0.0", "--port", "9000"] + (["--api-key", "s3cret-key"] if how == "flag" else [])
    done, seen = serve(tmp_path, *args, **({"VLLM_API_KEY": "s3cret-key"} if how == "env" else {}))
    assert done.returncode == 0, done.stderr
    assert seen is not None and seen["key"] == "s3cret-key"
    assert "s3cret-key" not in seen["args"] and _value(seen["args"], "--host") == "0.0.0.0"


def test_no_api_key_is_a_stated_choice_with_a_warning(tmp_path: Path) -> None:
    done, seen = serve(tmp_path, "--host", "10.0.0.5", "--no-api-key", "--", "--max-model-len", "32768")
    assert done.returncode == 0 and seen is not None and seen["key"] is None
    assert "without an API key" in done.stderr
    assert seen["args"][-2:] == ["--max-model-len", "32768"]


def test_help_and_unknown_options(tmp_path: Path) -> None:
    done, _ = serve(tmp_path, "--help")
    assert done.returncode == 0 and "--api-key KEY" in done.stdout and "127.0.0.1" in done.stdout
    bad, seen = serve(tmp_path, "--gpus", "2")
    assert bad.returncode == 2 and "unknown option --gpus" in bad.stderr and seen is None


def _images(args: list[str]) -> int:
    return json.loads(_value(args, "--limit-mm-per-prompt"))["image"]


def test_images_are_served_by_default_with_the_model_cards_limit(tmp_path: Path) -> None:
    done, seen = serve(tmp_path)
    assert done.returncode == 0, done.stderr
    assert seen is not None and _images(seen["args"]) == 10
    done, seen = serve(tmp_path, "--images", "3")
    assert done.returncode == 0 and seen is not None and _images(seen["args"]) == 3


def test_text_only_turns_images_off_and_a_bad_count_is_refused(tmp_path: Path) -> None:
    done, seen = serve(tmp_path, "--text-only", "--host", "0.0.0.0", "--api-key", "k3y-value")
    assert done.returncode == 0, done.stderr
    assert seen is not None and _images(seen["args"]) == 0 and seen["key"] == "k3y-value"
    bad, seen = serve(tmp_path, "--images", "ten")
    assert bad.returncode == 2 and "--images takes a whole number" in bad.stderr and seen is None
