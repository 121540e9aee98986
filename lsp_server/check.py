"""``mistral-lsp check``: is the configured model server usable for completions?

(With ``backend = "transformers"`` there is no server: ``check_local.py`` loads the model.)

Asks ``/v1/models`` (does it answer, does it serve our model, with what context
length), then sends one tiny prefilled completion request exactly like the server
would, so a server that rejects our request fields is caught too. Two more 1-token
requests then tell whether reviews will work as designed: one with the findings JSON
schema (vLLM structured output) and one offering the reviewer's tools (a server
without ``--enable-auto-tool-choice`` may refuse it; reviews then run without tools).
Neither decides ``usable``, which is about completions. A last one shows the model
``vision.maxImagesPerRequest`` tiny images: whether the server accepts images at all (and if not,
the flag that turns them on) and how many per request.

When the server cannot be used, ``advice`` says what to do next: the endpoint
setting, its current value and where that value came from, how to start a server
(``scripts/serve-vllm.sh``), or which key or model setting to fix.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsp_server.config import Settings, load_settings
from lsp_server.model.client import ChatOptions, ModelClient, ModelError

_SOURCES = {"environment": "MISTRAL_LSP_ENDPOINT"}  # a settings layer's name -> what a user sets there


def _where(source: str) -> str:
    return "the default" if source == "default" else f"from {source}"


@dataclass
class CheckReport:
    """The answers a person (or an editor's health check) wants."""

    endpoint: str
    model: str
    endpoint_source: str = "default"  # where the endpoint came from: "default", "MISTRAL_LSP_ENDPOINT", a file
    reachable: bool = False
    served: list[str] = field(default_factory=list)
    model_served: bool = False
    max_model_len: int | None = None
    completion_ok: bool = False
    completion_ms: float | None = None
    review_structured: bool | None = None  # None: not asked (completions failed first)
    review_tools: bool | None = None
    images: bool | None = None  # None: not asked
    image_limit: int | None = None  # images per request the server takes (when it said fewer)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    settings_problems: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)  # what to do next, when not usable

    @property
    def usable(self) -> bool:
        return self.reachable and self.model_served and self.completion_ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "endpointSource": self.endpoint_source,
            "model": self.model,
            "reachable": self.reachable,
            "servedModels": self.served,
            "modelServed": self.model_served,
            "maxModelLen": self.max_model_len,
            "completionOk": self.completion_ok,
            "completionMs": self.completion_ms,
            "reviewStructuredOutput": self.review_structured,
            "reviewTools": self.review_tools,
            "images": self.images,
            "imageLimit": self.image_limit,
            "notes": self.notes,
            "usable": self.usable,
            "problems": self.problems,
            "settingsProblems": self.settings_problems,
            "advice": self.advice,
        }

    def lines(self) -> list[str]:
        out = [f"endpoint:    {self.endpoint} ({_where(self.endpoint_source)})", f"model:       {self.model}"]
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
            for label, value in (("review json", self.review_structured), ("tool calls", self.review_tools),
                                 ("images", self.images)):
                if value is not None:
                    out.append(f"{label + ':':<13}{'accepted' if value else 'refused (see the note)'}")
        out += [f"note:        {n}" for n in self.notes]
        out += [f"problem:     {p}" for p in self.problems]
        out.append("result:      " + ("usable" if self.usable else "NOT usable"))
        out += [f"{'what to do:' if n == 0 else '':<13}- {a}" for n, a in enumerate(self.advice)]
        return out


async def run_check(root: Path | None, *, timeout_s: float = 10.0) -> Any:
    settings, problems = load_settings(None, root=root, environ=os.environ)
    if settings.backend == "transformers":  # no server: load the model here (check_local.py)
        from lsp_server.check_local import run_local_check

        return await run_local_check(settings, problems)
    source = settings.sources.get("endpoint")
    report = CheckReport(settings.endpoint, settings.model, settings_problems=problems,
                         endpoint_source=_SOURCES.get(source, source) if source else "default")
    client = ModelClient(
        settings.endpoint, settings.model, settings.api_key, connect_timeout_s=min(timeout_s, 5.0)
    )
    try:
        try:
            models = await client.models(timeout_s=timeout_s)
        except ModelError as exc:
            report.problems.append(exc.message)
            report.advice = no_server_advice(settings, report.endpoint_source, exc)
            return report
        report.reachable = True
        report.served = [m.id for m in models]
        match = next((m for m in models if m.id == settings.model), None)
        if match is None:
            report.problems.append(
                f"set MISTRAL_LSP_MODEL (or the model setting) to one of: {', '.join(report.served)}"
            )
            report.advice = [f"or serve {settings.model} there: scripts/serve-vllm.sh (README, \"The model server\")"]
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
        await _probe_review(client, report, timeout_s)
        await _probe_images(client, report, timeout_s, settings.vision_max_images)
        return report
    finally:
        await client.aclose()


def no_server_advice(settings: Settings, source: str, error: ModelError) -> list[str]:
    """What to do when nothing usable answers at the endpoint."""
    if error.status in (401, 403):
        key = "is set but was refused" if settings.api_key else "is not set"
        return [f"the server wants an API key: set MISTRAL_LSP_API_KEY (or apiKey in the editor settings) to "
                f"the key vLLM was started with (the key {key})"]
    advice = [
        f"the endpoint setting is {settings.endpoint} ({_where(source)}): if the server runs elsewhere, set "
        "MISTRAL_LSP_ENDPOINT=http://HOST:PORT/v1, or endpoint = \"...\" in .mistral-lsp.toml or the editor "
        "settings",
        "to start one on a GPU machine: pip install vllm && scripts/serve-vllm.sh (it listens on 127.0.0.1; "
        "for other machines add --host 0.0.0.0 --api-key KEY), see the README, \"The model server\"",
    ]
    advice.append(
        "or run the model in this process, without a server: pip install 'mistral-lsp[local]', then "
        "--backend transformers --model PATH (or backend = \"transformers\", MISTRAL_LSP_BACKEND); "
        "it needs a big GPU for the real model, see docs/backends.md"
    )
    return advice


async def _probe_review(client: ModelClient, report: CheckReport, timeout_s: float) -> None:
    """1-token requests shaped like a review's: strict JSON schema, and tools offered."""
    from lsp_server.index.tools import TOOL_SCHEMAS
    from lsp_server.model.findings import response_format

    messages = [{"role": "user", "content": "Review: `x = 1`. Answer with the findings JSON."}]
    options = ChatOptions(max_tokens=1, temperature=0.0, timeout_s=timeout_s)
    try:
        await client.chat_turn(messages, options, response_format=response_format())
        report.review_structured = True
    except ModelError as exc:
        report.review_structured = False
        report.notes.append(f"structured output refused ({exc.message}): reviews parse free text instead")
    try:
        await client.chat_turn(messages, options, tools=list(TOOL_SCHEMAS), tool_choice="auto")
        report.review_tools = True
    except ModelError as exc:
        report.review_tools = False
        report.notes.append(f"tool calls refused ({exc.message}): start vLLM with --enable-auto-tool-choice "
                            "--tool-call-parser mistral, or reviews run without looking things up")


async def _probe_images(client: ModelClient, report: CheckReport, timeout_s: float, wanted: int) -> None:
    """A 1-token request showing ``wanted`` tiny images: does the server take images, how many?"""
    import re

    from lsp_server.engines.vision import IMAGE_FLAG
    from lsp_server.model.images import ImageSettings, prepare_image
    from lsp_server.model.vision_prompts import PROBE_PNG

    image = prepare_image(PROBE_PNG, ImageSettings())
    content: list[dict[str, Any]] = [{"type": "text", "text": "What colour are these?"}]
    content += [image.part() for _ in range(max(1, wanted))]
    options = ChatOptions(max_tokens=1, temperature=0.0, timeout_s=timeout_s)
    try:
        await client.chat_turn([{"role": "user", "content": content}], options)
        report.images = True
        return
    except ModelError as exc:
        message = exc.message
    limit = re.search(r"At most (\d+) image\(s\) may be provided", message)
    if limit is not None and int(limit.group(1)) > 0:
        report.images, report.image_limit = True, int(limit.group(1))
        report.notes.append(f"the server takes at most {limit.group(1)} image(s) per request (vision."
                            f"maxImagesPerRequest is {wanted}); mistral-lsp sends no more than that")
        return
    report.images = False
    if limit is not None:
        report.notes.append(f"images refused ({message}): start vLLM with {IMAGE_FLAG} for image hovers, alt "
                            "text and figure checks")
    else:
        report.notes.append(f"images refused ({message}): the served model may be text-only; image hovers, alt "
                            f"text and figure checks need Mistral-Small-3.2 with its vision encoder and {IMAGE_FLAG}")
