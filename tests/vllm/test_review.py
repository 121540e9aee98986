"""AI review and "Fix with AI" through the real server against real vLLM.

The review asks for JSON under a strict JSON schema (vLLM structured output), one request per unit.
A random model never has anything to say, so what is checked is what vLLM did with our requests:
accepted them, constrained the answers by the schema (a random model's unconstrained output is word
salad; constrained, it can only write the schema's JSON, padded with whitespace), and that the
server turned the answers into findings (usually none). An answer cut off by ``max_tokens`` before
its first finding (a random model often pads with whitespace until then) is that unit's error,
never "no findings"; those are the only errors allowed here (``answer_errors``): any other, an
HTTP or transport failure, fails the test.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import jsonschema
import pytest
import pytest_asyncio
from lsprotocol import types

from lsp_server.model.findings import FINDINGS_SCHEMA
from tests.e2e.conftest import capabilities, open_doc, stop_client
from tests.vllm.conftest import MODEL as MODEL_NAME
from tests.vllm.conftest import LogSlice, Vllm, answer_errors, chat_bodies, server_status, start_server
from tests.vllm.samples import PYTHON, REVIEW_CASES

pytestmark = [pytest.mark.vllm, pytest.mark.asyncio(loop_scope="module")]

# review.temperature 0.7 rather than the default 0: greedy decoding makes the random model pad the
# JSON with whitespace until max_tokens on every unit; sampled, some answers close their JSON.
OPTIONS: dict[str, Any] = {
    "priority": {"enable": True, "completion": 0, "review": 10},
    # tools off here: this test checks the schema-constrained request (tools have their own test)
    "review": {"temperature": 0.7, "maxTokens": 512, "tools": False},
}
_JSON_START = re.compile(r"^\s*\{")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def reviewer(vllm: Vllm, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("review")
    client, _ = await start_server(
        vllm, root, capabilities("visual-studio-code@v1.65.2", inline=True), init_options=OPTIONS
    )
    yield client, root
    await stop_client(client)


def _review_bodies(piece: LogSlice) -> list[dict[str, Any]]:
    return [b for b in chat_bodies(piece) if "response_format" in b]


async def test_review_every_language_under_the_schema(reviewer, vllm: Vllm) -> None:
    client, root = reviewer
    summary: dict[str, Any] = {}
    for name, language, text in REVIEW_CASES:
        uri = (root / name).as_uri()
        open_doc(client, uri, text, language)
        mark = vllm.log.mark()
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mistral-lsp.reviewFile", arguments=[uri])
        )
        assert result["reviewed"] is True, (name, result)
        assert result["units"] >= 1 and answer_errors(result["errors"]), (name, result)
        asked = result["units"] - result["cachedUnits"]
        piece = await vllm.log.wait_for(mark, lambda p, asked=asked: len(p.outputs()) >= asked)
        assert piece.client_errors() == [], (name, piece.client_errors())
        bodies = _review_bodies(piece)
        assert len(bodies) == asked, (name, result)
        outputs = piece.outputs()
        complete = 0
        for body in bodies:
            assert body["response_format"]["type"] == "json_schema"
            assert body["response_format"]["json_schema"]["strict"] is True
            spec = body["response_format"]["json_schema"]
            # vLLM logs its parsed model, where the wire's "schema" is the field `json_schema`
            assert spec.get("schema", spec.get("json_schema")) == FINDINGS_SCHEMA
            assert body["priority"] == 10
            assert "stream" not in body or body["stream"] is False
            text, reason = outputs[body["_id"]]
            # vLLM constrained the answer: it is the schema's JSON object (or, cut by max_tokens, the
            # start of one), never the model's free text.
            assert _JSON_START.match(text), (name, reason, text[:200])
            if reason == "stop":
                jsonschema.validate(json.loads(text), FINDINGS_SCHEMA)
                complete += 1
            else:
                assert reason == "length", (name, reason)
        assert len(result["errors"]) <= len(bodies) - complete, (name, result)  # only cut-off answers fail
        summary[language] = {"units": result["units"], "complete_json": complete, "findings": result["findings"]}
    print("review per language:", json.dumps(summary))


async def test_fix_with_ai_request_accepted(reviewer, vllm: Vllm) -> None:
    """codeAction on a selection offers "Fix with AI"; resolving it sends a prefilled fix request."""
    client, root = reviewer
    uri = (root / "fix.py").as_uri()
    open_doc(client, uri, PYTHON, "python")
    line = PYTHON.split("\n").index("        return self.price_cents / 100")
    selection = types.Range(start=types.Position(line=line, character=8), end=types.Position(line=line, character=38))
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), range=selection,
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    ai = next((a for a in actions or [] if isinstance(a, types.CodeAction) and a.title.startswith("Fix with AI")), None)
    assert ai is not None, actions
    assert ai.edit is None  # computed lazily, in codeAction/resolve
    mark = vllm.log.mark()
    resolved = await client.code_action_resolve_async(ai)
    piece = await vllm.log.wait_for(mark, lambda p: p.outputs())
    assert piece.client_errors() == [], piece.client_errors()
    (body,) = chat_bodies(piece)
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["messages"][-1]["role"] == "assistant" and body["messages"][-1]["content"].startswith("```")
    assert body["priority"] == 0  # a fix is interactive: the completion priority
    assert [s for _, _, s in piece.statuses("/v1/chat/completions")] == [200]
    # The random model's rewrite is gibberish, so the server may well refuse it (it must parse and
    # stay within the named lines); whatever it returns must be an edit of those lines only.
    edit = resolved.edit
    if edit is not None:
        changes = edit.document_changes or []
        edits = [e for c in changes for e in c.edits] if changes else list((edit.changes or {}).get(uri, []))
        for e in edits:
            assert line - 1 <= e.range.start.line and e.range.end.line <= line + 2, e


async def test_tool_round_trip_accepted_by_vllm(vllm: Vllm) -> None:
    """A request offering the reviewer's tools, carrying a tool call and its result in our
    message format, is accepted by vLLM (Mistral tokenizer: 9-character call ids, tool
    messages after the assistant's tool_calls)."""
    from lsp_server.index.tools import TOOL_SCHEMAS

    call_id = "aB3dE5gH9"
    body = {
        "model": MODEL_NAME,
        "max_tokens": 16,
        "temperature": 0.7,
        "tools": list(TOOL_SCHEMAS),
        "tool_choice": "auto",
        "messages": [
            {"role": "system", "content": "You review code."},
            {"role": "user", "content": "Review: `x = area(2)`. You may call lookup_symbol."},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call_id, "type": "function",
                 "function": {"name": "lookup_symbol", "arguments": json.dumps({"name": "area"})}}]},
            {"role": "tool", "tool_call_id": call_id, "name": "lookup_symbol",
             "content": json.dumps({"name": "area", "results": [{"signature": "def area(r: float) -> float:"}]})},
        ],
    }
    mark = vllm.log.mark()
    answer = vllm.post("/v1/chat/completions", body)
    assert answer["choices"][0]["finish_reason"] in ("stop", "length", "tool_calls"), answer
    piece = await vllm.log.wait_for(mark, lambda p: p.statuses("/v1/chat/completions"))
    assert [s for _, _, s in piece.statuses("/v1/chat/completions")] == [200]
    assert piece.client_errors() == [], piece.client_errors()


async def test_review_with_tools_accepted_by_vllm(vllm: Vllm, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The server's review offers tools to real vLLM (started with --enable-auto-tool-choice
    --tool-call-parser mistral); whatever the random model does, the review ends without a server error."""
    root = tmp_path_factory.mktemp("tools")
    (root / "geometry.py").write_text("def area(r: float) -> float:\n    return 3.14 * r * r\n")
    options = {**OPTIONS, "review": {**OPTIONS["review"], "tools": True, "maxToolCalls": 2}}
    client, _ = await start_server(vllm, root, capabilities("neovim", inline=True), init_options=options)
    try:
        deadline = time.monotonic() + 30
        while (await server_status(client))["index"]["ready"] is not True and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        uri = (root / "use.py").as_uri()
        open_doc(client, uri, "from geometry import area\n\n\ndef ring(a, b):\n    return area(a) - area(b)\n",
                 "python")
        mark = vllm.log.mark()
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mistral-lsp.reviewFile", arguments=[uri]))
        assert result["reviewed"] is True and answer_errors(result["errors"]), result
        piece = await vllm.log.wait_for(mark, lambda p: p.statuses("/v1/chat/completions"))
        bodies = chat_bodies(piece)
        offered = [b for b in bodies if b.get("tools")]
        assert offered, bodies
        assert [t["function"]["name"] for t in offered[0]["tools"]] == ["lookup_symbol", "read_lines"]
        assert "def area(r: float) -> float:" in offered[0]["messages"][1]["content"]  # context from the index
        assert all(s == 200 for _, _, s in piece.statuses("/v1/chat/completions")), piece.statuses()
        assert piece.client_errors() == [], piece.client_errors()
    finally:
        await stop_client(client)
