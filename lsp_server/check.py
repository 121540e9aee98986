"""``mistral-lsp check``: is the configured model server usable for completions?

Asks ``/v1/models`` (does it answer, does it serve our model, with what context
length), then sends one tiny prefilled completion request exactly like the server
would, so a server that rejects our request fields is caught too.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsp_server.config import load_settings
from lsp_server.model.client import ChatOptions, ModelClient, ModelError


@dataclass
class CheckReport:
    """The answers a person (or an editor's health check) wants."""

    endpoint: str
    model: str
    reachable: bool = False
    served: list[str] = field(default_factory=list)
    model_served: bool = False
    max_model_len: int | None = None
    completion_ok: bool = False
    completion_ms: float | None = None
    problems: list[str] = field(default_factory=list)
    settings_problems: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.reachable and self.model_served and self.completion_ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "model": self.model,
            "reachable": self.reachable,
            "servedModels": self.served,
            "modelServed": self.model_served,
            "maxModelLen": self.max_model_len,
            "completionOk": self.completion_ok,
            "completionMs": self.completion_ms,
            "usable": self.usable,
            "problems": self.problems,
            "settingsProblems": self.settings_problems,
        }

    def lines(self) -> list[str]:
        out = [f"endpoint:    {self.endpoint}", f"model:       {self.model}"]
        out += [f"settings:    {p}" for p in self.settings_problems]
        if not self.reachable:
            out.append("server:      NOT reachable")
        else:
            out.append("server:      answers")
            out.append("serves:      " + (", ".join(self.served) or "(no models)"))
            out.append("model:       " + ("served" if self.model_served else "NOT served by this server"))
            if self.max_model_len:
                out.append(f"context:     {self.max_model_len} tokens (max_model_len)")
            if self.model_served:
                if self.completion_ok:
                    out.append(f"completion:  works ({self.completion_ms:.0f} ms for a 1-token request)")
                else:
                    out.append("completion:  FAILED")
        out += [f"problem:     {p}" for p in self.problems]
        out.append("result:      " + ("usable" if self.usable else "NOT usable"))
        return out


async def run_check(root: Path | None, *, timeout_s: float = 10.0) -> CheckReport:
    settings, problems = load_settings(None, root=root, environ=os.environ)
    report = CheckReport(settings.endpoint, settings.model, settings_problems=problems)
    client = ModelClient(
        settings.endpoint, settings.model, settings.api_key, connect_timeout_s=min(timeout_s, 5.0)
    )
    try:
        try:
            models = await client.models(timeout_s=timeout_s)
        except ModelError as exc:
            report.problems.append(exc.message)
            return report
        report.reachable = True
        report.served = [m.id for m in models]
        match = next((m for m in models if m.id == settings.model), None)
        if match is None:
            report.problems.append(
                f"set MISTRAL_LSP_MODEL (or the model setting) to one of: {', '.join(report.served)}"
            )
            return report
        report.model_served = True
        report.max_model_len = match.max_model_len
        messages = [
            {"role": "system", "content": "You complete code."},
            {"role": "user", "content": "Complete: def add(a, b):"},
            {"role": "assistant", "content": "```python\ndef add(a, b):\n    return"},
        ]
        started = time.perf_counter()
        try:
            async with client.stream_chat(
                messages,
                ChatOptions(max_tokens=1, temperature=settings.temperature, stop=("```",), prefill=True,
                            timeout_s=timeout_s),
            ) as deltas:
                async for _ in deltas:
                    pass
        except ModelError as exc:
            report.problems.append(f"a completion request failed: {exc.message}")
            return report
        report.completion_ok = True
        report.completion_ms = (time.perf_counter() - started) * 1000
        return report
    finally:
        await client.aclose()
