"""``mistral-lsp check`` with ``backend = "transformers"``: can the model run in this process?

Loads the model the way the server would (device and dtype chosen or set, the memory
check first), then runs one short greedy generation shaped like a completion and one
under the review's JSON schema, and reports the device, the dtype, the load time and
the tokens per second of the generation. ``usable`` means completions would work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lsp_server.config import Settings
from lsp_server.model.client import ChatOptions, ModelError

_PROBE_TOKENS = 32


@dataclass
class LocalCheckReport:
    """What ``check`` prints for the in-process backend."""

    model: str
    device_setting: str
    dtype_setting: str
    loaded: bool = False
    device: str | None = None
    dtype: str | None = None
    load_s: float | None = None
    max_model_len: int | None = None
    weights_gb: float | None = None
    completion_ok: bool = False
    tokens: int = 0
    tokens_per_s: float | None = None
    review_structured: bool | None = None
    problems: list[str] = field(default_factory=list)
    settings_problems: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.loaded and self.completion_ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": "transformers", "model": self.model, "deviceSetting": self.device_setting,
            "dtypeSetting": self.dtype_setting, "loaded": self.loaded, "device": self.device, "dtype": self.dtype,
            "loadSeconds": self.load_s, "maxModelLen": self.max_model_len, "weightsGB": self.weights_gb,
            "completionOk": self.completion_ok, "generatedTokens": self.tokens, "tokensPerSecond": self.tokens_per_s,
            "reviewStructuredOutput": self.review_structured, "usable": self.usable, "problems": self.problems,
            "settingsProblems": self.settings_problems,
        }

    def lines(self) -> list[str]:
        out = ["backend:     transformers (in process)", f"model:       {self.model}"]
        out += [f"settings:    {p}" for p in self.settings_problems]
        if self.loaded:
            out.append(f"device:      {self.device} (setting: {self.device_setting})")
            out.append(f"dtype:       {self.dtype} (setting: {self.dtype_setting})")
            out.append(f"loaded in:   {self.load_s:.1f} s ({self.weights_gb} GB of weights and overhead)")
            if self.max_model_len:
                out.append(f"context:     {self.max_model_len} tokens")
            if self.completion_ok and self.tokens_per_s is not None:
                out.append(f"generation:  {self.tokens} tokens at {self.tokens_per_s:.1f} tokens/s")
            elif not self.completion_ok:
                out.append("generation:  FAILED")
            if self.review_structured is not None:
                out.append("review json: " + ("schema enforced" if self.review_structured else "FAILED (see the problem)"))
        else:
            out.append("model:       NOT loaded")
        out += [f"problem:     {p}" for p in self.problems]
        out.append("result:      " + ("usable" if self.usable else "NOT usable"))
        return out


async def run_local_check(settings: Settings, problems: list[str]) -> LocalCheckReport:
    from lsp_server.model.backends.transformers import TransformersBackend

    report = LocalCheckReport(settings.model, settings.device, settings.dtype, settings_problems=problems)
    backend = TransformersBackend(settings.model, device=settings.device, dtype=settings.dtype)
    try:
        try:
            runtime = await backend.load()
        except ModelError as exc:
            report.problems.append(exc.message)
            return report
        info = runtime.describe()
        report.loaded = True
        report.device, report.dtype = info["device"], info["dtype"]
        report.load_s = backend.load_seconds
        report.max_model_len, report.weights_gb = info["maxModelLen"], info["weightsGB"]
        messages = [
            {"role": "system", "content": "You complete code."},
            {"role": "user", "content": "Complete: def add(a, b):"},
            {"role": "assistant", "content": "```python\ndef add(a, b):\n    return"},
        ]
        options = ChatOptions(max_tokens=_PROBE_TOKENS, temperature=0.0, prefill=True, timeout_s=600.0)
        try:
            async with backend.stream_chat(messages, options) as deltas:
                async for _ in deltas:
                    pass
        except ModelError as exc:
            report.problems.append(f"a completion failed: {exc.message}")
            return report
        report.completion_ok = True
        report.tokens = backend.stats.last_tokens
        rate = backend.stats.tokens_per_second
        report.tokens_per_s = round(rate, 1) if rate else None
        await _probe_review(backend, report)
        return report
    finally:
        await backend.aclose()


async def _probe_review(backend: Any, report: LocalCheckReport) -> None:
    """A few tokens under the findings schema: the grammar compiles and constrains decoding."""
    from lsp_server.model.findings import response_format

    messages = [{"role": "user", "content": "Review: `x = 1`. Answer with the findings JSON."}]
    options = ChatOptions(max_tokens=8, temperature=0.0, timeout_s=600.0)
    try:
        text = await backend.chat(messages, options, response_format=response_format())
    except ModelError as exc:
        report.review_structured = False
        report.problems.append(f"a review-shaped request failed: {exc.message}")
        return
    report.review_structured = text.lstrip().startswith("{")
    if not report.review_structured:
        report.problems.append(f"the answer under the findings schema does not start a JSON object: {text[:80]!r}")
