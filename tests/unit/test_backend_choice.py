"""Choosing the backend: settings, the CLI, the missing optional extra, device/dtype, model folders.

The default test environment has no torch, so "the extra is missing" is the real case here.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server.config import load_settings
from lsp_server.model.backends import backend_key, create_backend, local_problem
from lsp_server.model.backends.device import Hardware, PlacementError, choose
from lsp_server.model.backends.weights import LoadError, locate
from lsp_server.model.client import ChatOptions, ModelClient, ModelError

ROOT = Path(__file__).resolve().parents[2]
HAS_TORCH = importlib.util.find_spec("torch") is not None


def test_backend_device_and_dtype_settings_from_every_layer(tmp_path: Path) -> None:
    settings, problems = load_settings(None, root=tmp_path, environ={})
    assert (settings.backend, settings.device, settings.dtype) == ("vllm", "auto", "auto") and problems == []
    environ = {"MISTRAL_LSP_BACKEND": "Transformers", "MISTRAL_LSP_DEVICE": "cuda:1", "MISTRAL_LSP_DTYPE": "bf16"}
    settings, problems = load_settings(None, root=tmp_path, environ=environ)
    assert (settings.backend, settings.device, settings.dtype) == ("transformers", "cuda:1", "bfloat16")
    (tmp_path / ".mistral-lsp.toml").write_text('backend = "transformers"\n[transformers]\ndevice = "cpu"\n')
    settings, problems = load_settings({"transformers": {"dtype": "float32"}}, root=tmp_path, environ={})
    assert (settings.backend, settings.device, settings.dtype) == ("transformers", "cpu", "float32")


def test_bad_backend_values_are_reported_and_fall_back(tmp_path: Path) -> None:
    editor = {"backend": "llama.cpp", "transformers": {"device": "gpu", "dtype": "int4"}}
    settings, problems = load_settings(editor, root=tmp_path, environ={})
    assert (settings.backend, settings.device, settings.dtype) == ("vllm", "auto", "auto")
    text = " | ".join(problems)
    assert 'backend = "llama.cpp": expected one of vllm, transformers' in text
    assert 'transformers.device = "gpu": expected one of auto, cpu, cuda, cuda:N, mps' in text
    assert 'transformers.dtype = "int4": expected one of auto, bfloat16, float16, float32' in text


def test_the_vllm_backend_is_the_http_client(tmp_path: Path) -> None:
    settings, _ = load_settings(None, root=tmp_path, environ={})
    assert isinstance(create_backend(settings), ModelClient)
    assert local_problem(settings) is None


def test_a_new_backend_only_when_what_builds_it_changes(tmp_path: Path) -> None:
    base, _ = load_settings(None, root=tmp_path, environ={"MISTRAL_LSP_BACKEND": "transformers",
                                                           "MISTRAL_LSP_MODEL": "/models/x"})
    moved, _ = load_settings(None, root=tmp_path, environ={"MISTRAL_LSP_BACKEND": "transformers",
                                                            "MISTRAL_LSP_MODEL": "/models/x",
                                                            "MISTRAL_LSP_ENDPOINT": "http://elsewhere:1/v1"})
    assert backend_key(base) == backend_key(moved)  # the endpoint does not matter in process
    other, _ = load_settings(None, root=tmp_path, environ={"MISTRAL_LSP_BACKEND": "transformers",
                                                            "MISTRAL_LSP_MODEL": "/models/x", "MISTRAL_LSP_DTYPE": "float16"})
    assert backend_key(base) != backend_key(other)


@pytest.mark.skipif(HAS_TORCH, reason="torch is installed here: the missing-extra path cannot be seen")
async def test_without_the_extra_every_request_names_it(tmp_path: Path) -> None:
    settings, _ = load_settings(None, root=tmp_path, environ={"MISTRAL_LSP_BACKEND": "transformers"})
    problem = local_problem(settings)
    assert problem is not None and "pip install 'mistral-lsp[local]'" in problem and "torch" in problem
    backend = create_backend(settings)  # choosing it is cheap and never imports torch
    assert "torch" not in sys.modules
    with pytest.raises(ModelError) as info:
        await backend.models()
    assert "mistral-lsp[local]" in info.value.message
    with pytest.raises(ModelError, match=r"mistral-lsp\[local\]"):
        async with backend.stream_chat([{"role": "user", "content": "x"}], ChatOptions(max_tokens=4, temperature=0)):
            pass
    await backend.aclose()


@pytest.mark.skipif(HAS_TORCH, reason="torch is installed here: the missing-extra path cannot be seen")
@pytest.mark.parametrize("command", [["review", "--backend", "transformers", "--model", "/nowhere"],
                                     ["check", "--backend", "transformers"]])
def test_the_cli_says_which_extra_to_install(tmp_path: Path, command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_LSP_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "lsp_server", *command], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "pip install 'mistral-lsp[local]'" in done.stderr


def test_device_and_dtype_auto_follow_the_hardware() -> None:
    assert choose("auto", "auto", Hardware()).device == "cpu"
    assert choose("auto", "auto", Hardware()).dtype == "float32"
    gpu = choose("auto", "auto", Hardware(cuda_count=1, cuda_bf16=True))
    assert (gpu.device, gpu.dtype, gpu.spread) == ("cuda:0", "bfloat16", False)
    old_gpu = choose("auto", "auto", Hardware(cuda_count=1, cuda_bf16=False))
    assert old_gpu.dtype == "float16"
    many = choose("auto", "auto", Hardware(cuda_count=4, cuda_bf16=True))
    assert many.spread and many.device_map == "auto" and many.dtype == "bfloat16"
    mac = choose("auto", "auto", Hardware(mps=True, mps_bf16=False))
    assert (mac.device, mac.dtype) == ("mps", "float16")
    assert choose("cpu", "bfloat16", Hardware(cuda_count=2)).device == "cpu"
    assert choose("cuda:1", "auto", Hardware(cuda_count=2, cuda_bf16=True)).device == "cuda:1"


@pytest.mark.parametrize(("device", "hw", "words"), [
    ("cuda", Hardware(), "no CUDA"), ("cuda:2", Hardware(cuda_count=2), "2 GPU"), ("mps", Hardware(), "MPS")])
def test_a_device_that_is_not_there_is_a_clear_error(device: str, hw: Hardware, words: str) -> None:
    with pytest.raises(PlacementError, match=words):
        choose(device, "auto", hw)


def test_model_folders_that_cannot_be_loaded_say_why(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="does not exist"):
        locate(str(tmp_path / "missing"))
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(LoadError, match="is a file"):
        locate(str(tmp_path / "weights.bin"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LoadError, match="neither a Hugging Face model"):
        locate(str(empty))
    (empty / "config.json").write_text("{}")
    (empty / "model.safetensors").write_bytes(b"")
    assert locate(str(empty)).layout == "hf"
    native = tmp_path / "native"
    native.mkdir()
    (native / "params.json").write_text("{}")
    (native / "consolidated.safetensors").write_bytes(b"")
    assert locate(str(native)).layout == "mistral"


@pytest.mark.skipif(importlib.util.find_spec("huggingface_hub") is not None, reason="huggingface_hub is installed")
def test_a_hub_id_without_the_hub_client_asks_for_a_folder() -> None:
    with pytest.raises(LoadError, match="give the model's folder"):
        locate("mistralai/Mistral-Small-3.2-24B-Instruct-2506")


def test_the_local_check_report_reads_well() -> None:
    from lsp_server.check_local import LocalCheckReport

    report = LocalCheckReport("/models/tiny", "auto", "auto", loaded=True, device="cpu", dtype="float32", load_s=2.04,
                              max_model_len=8192, weights_gb=0.07, completion_ok=True, tokens=32, tokens_per_s=41.3,
                              review_structured=True)
    text = "\n".join(report.lines())
    for words in ("device:      cpu (setting: auto)", "dtype:       float32 (setting: auto)", "loaded in:   2.0 s",
                  "32 tokens at 41.3 tokens/s", "review json: schema enforced", "result:      usable"):
        assert words in text, text
    assert report.as_dict()["tokensPerSecond"] == 41.3 and report.usable
    failed = LocalCheckReport("/nowhere", "auto", "auto", problems=["model folder '/nowhere' does not exist"])
    assert not failed.usable
    assert "NOT loaded" in "\n".join(failed.lines()) and "does not exist" in "\n".join(failed.lines())
