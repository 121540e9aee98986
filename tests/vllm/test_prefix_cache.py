"""vLLM's prefix cache across consecutive completions: a measure of the prompt layout.

A real editing session in a long, real file (the standard library's argparse.py, 2,600 lines, so
the prompt is cut to the context budget): the user opens a new line in the middle of a method and
types; the editor asks for a completion after the first characters and again a few keystrokes
later. The two prompts share everything up to the first changed character, and vLLM (CPU backend:
128-token blocks) should serve all full blocks of that shared part from its prefix cache:
`vllm:prefix_cache_hits_total` must rise by at least 80% of the second prompt's tokens.

The ratios are written to ``prefix-cache.json`` beside vLLM's log (scripts/vllm-tier.sh prints it).
"""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.e2e.conftest import capabilities, insert, open_doc, stop_client
from tests.vllm.conftest import Vllm, server_status, start_server

pytestmark = [pytest.mark.vllm, pytest.mark.asyncio(loop_scope="module")]

MIN_RATIO = 0.8
KNOWN_MID_FILE_RATIO = 0.815  # what the current prompt layout gets in the mid-file case (_SUFFIX_SHARE 0.1)
BLOCK = 128  # vLLM's CPU block size: only whole blocks are cached
# A first line of its own per run, so that a vLLM which already served these tests has none of it cached.
SOURCE = f"# copy {uuid.uuid4().hex}\n" + Path(argparse.__file__).read_text(encoding="utf-8")
# The place: parse_known_args, after the parser defaults are filled in.
ANCHOR = "                setattr(namespace, dest, self._defaults[dest])\n"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def editor(vllm: Vllm, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("prefix")
    client, _ = await start_server(vllm, root, capabilities("visual-studio-code@v1.65.2", inline=True))
    yield client, root
    await stop_client(client)


def _report(name: str, values: dict[str, float | int | str]) -> None:
    import os

    path = Path(os.environ["MISTRAL_LSP_VLLM_TIER_LOG"]).with_name("prefix-cache.json")
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = values
    path.write_text(json.dumps(data, indent=2) + "\n")


async def _ask(client, uri: str, line: int, character: int) -> None:
    """An automatic (typing) request, as an editor sends after each keystroke pause."""
    await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        )
    )


async def _measure(vllm: Vllm, client, uri: str, edits: list[tuple[int, int, str]]) -> dict[str, float]:
    """Type each edit then ask at its end; returns the last request's prompt and cache counters."""
    version = 1
    metrics = await vllm.settled_metrics()
    calls = (await server_status(client))["modelCalls"]
    previous = metrics
    for line, character, typed in edits:
        version += 1
        insert(client, uri, version, line, character, typed)
        last_line = line + typed.count("\n")
        last_char = len(typed.rsplit("\n", 1)[-1]) + (character if "\n" not in typed else 0)
        previous = metrics
        await _ask(client, uri, last_line, last_char)
        metrics = await vllm.settled_metrics(previous)
    status = await server_status(client)
    assert status["modelCalls"] - calls == len(edits), f"every request should ask vLLM: {status}"
    assert status["errors"] == 0, status
    prompt = metrics["vllm:prompt_tokens_total"] - previous["vllm:prompt_tokens_total"]
    hits = metrics["vllm:prefix_cache_hits_total"] - previous["vllm:prefix_cache_hits_total"]
    queries = metrics["vllm:prefix_cache_queries_total"] - previous["vllm:prefix_cache_queries_total"]
    assert prompt > 0
    return {"prompt_tokens": int(prompt), "cache_hits": int(hits), "cache_queries": int(queries),
            "ratio": round(hits / prompt, 3)}


async def test_typing_mid_file_hits_the_prefix_cache(editor, vllm: Vllm) -> None:
    client, root = editor
    uri = (root / "argparse.py").as_uri()
    open_doc(client, uri, SOURCE, "python")
    anchor_line = SOURCE[: SOURCE.index(ANCHOR)].count("\n")
    # Enter at the end of the anchor line, then "        if self." ... and four more keystrokes.
    first = (anchor_line, len(ANCHOR) - 1, "\n        if self.")
    second = (anchor_line + 1, len("        if self."), "allo")
    result = await _measure(vllm, client, uri, [first, second])
    _report("mid-file", result)
    assert result["prompt_tokens"] > 1500, f"a long file should give a long prompt: {result}"
    message = (
        f"the second prompt's cached share is {result['ratio']:.1%} ({result['cache_hits']} of "
        f"{result['prompt_tokens']} tokens; vLLM caches whole {BLOCK}-token blocks of the shared prefix)"
    )
    # History: 73.9% when the code after the cursor took 20% of the code window; 81.5% at 10%
    # (_SUFFIX_SHARE). A drop below the known level fails outright; below 80% is reported as xfail.
    assert result["ratio"] >= KNOWN_MID_FILE_RATIO - 0.02, "prefix-cache reuse regressed: " + message
    if result["ratio"] < MIN_RATIO:
        pytest.xfail(f"BELOW ISSUE 6's {MIN_RATIO:.0%}: " + message)


async def test_typing_at_end_of_file_hits_the_prefix_cache(editor, vllm: Vllm) -> None:
    """Appending to a long file: nothing after the cursor, the best case for the layout."""
    client, root = editor
    uri = (root / "argparse_tail.py").as_uri()
    text = SOURCE + "\n\ndef main():\n    parser = ArgumentParser(prog='demo')\n"
    open_doc(client, uri, text, "python")
    last = text.count("\n")
    first = (last, 0, "    parser.add_")
    second = (last, len("    parser.add_"), "argu")
    result = await _measure(vllm, client, uri, [first, second])
    _report("end-of-file", result)
    assert result["ratio"] >= MIN_RATIO, (
        f"the second prompt's cached share is {result['ratio']:.1%} ({result['cache_hits']} of "
        f"{result['prompt_tokens']} tokens)"
    )
