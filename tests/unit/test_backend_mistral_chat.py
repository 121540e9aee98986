"""The in-process backend's requests with mistral-common: prompts, grammars, tool-call parsing.

No torch: the v11 tekken tokenizer (Mistral-Small-3.2's version) is made from mistral-common's
bundled file; llguidance checks the grammars token by token.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lsp_server.index.tools import TOOL_SCHEMAS
from lsp_server.model.backends.mistral_chat import MistralChat, compact_json, find_tokenizer_file
from lsp_server.model.client import ModelError
from lsp_server.model.findings import response_format
from tests.tiny_models import write_tekken

llguidance = pytest.importorskip("llguidance")
from mistral_common.tokens.tokenizers.base import SpecialTokenPolicy  # noqa: E402

NO_ARGS_TOOL = {"type": "function", "function": {
    "name": "ping", "description": "no arguments", "strict": True,
    "parameters": {"type": "object", "properties": {}, "additionalProperties": False}}}


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> MistralChat:
    folder = tmp_path_factory.mktemp("tok")
    write_tekken(folder)
    found = find_tokenizer_file(folder)
    assert found is not None
    return MistralChat.from_file(found)


def rendered(chat: MistralChat, tokens: list[int]) -> str:
    return str(chat.raw.decode(tokens, special_token_policy=SpecialTokenPolicy.KEEP))


def tokens_of(chat: MistralChat, text: str) -> list[int]:
    return list(chat.raw.encode(text, bos=False, eos=False))


def accepts(chat: MistralChat, grammar: str, tokens: list[int]) -> bool:
    matcher = llguidance.LLMatcher(chat.llg_tokenizer(), grammar)
    return all(matcher.consume_token(t) for t in tokens) and not matcher.is_error()


def test_prefill_continues_the_assistant_message(chat: MistralChat) -> None:
    messages = [{"role": "system", "content": "You complete code."}, {"role": "user", "content": "def f(x):"},
                {"role": "assistant", "content": "```python\ndef f(x):\n    return"}]
    encoded = chat.encode(messages, prefill=True)
    text = rendered(chat, encoded.tokens)
    assert text.startswith("<s>[SYSTEM_PROMPT]You complete code.[/SYSTEM_PROMPT][INST]")
    assert text.endswith("    return") and "</s>" not in text
    assert encoded.grammar is None  # free text


def test_a_closed_assistant_turn_without_prefill_is_a_400(chat: MistralChat) -> None:
    with pytest.raises(ModelError) as info:
        chat.encode([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "done"}])
    assert info.value.status == 400 and info.value.kind == "http"


def test_non_ascii_messages_encode_and_decode(chat: MistralChat) -> None:
    text = "print('日本語 🙂')\n\tindent\r\n"
    encoded = chat.encode([{"role": "user", "content": text}])
    assert text in chat.decode(encoded.tokens)


def test_the_review_schema_binds_the_answer(chat: MistralChat) -> None:
    encoded = chat.encode([{"role": "user", "content": "review"}], response_format=response_format())
    assert encoded.grammar is not None and "%json" in encoded.grammar
    valid = json.dumps({"findings": [{"line": 1, "quote": "x = 1", "severity": "warning", "rule": "r",
                                      "message": "m", "fix": None}]}, separators=(",", ":"))
    assert accepts(chat, encoded.grammar, tokens_of(chat, valid) + [chat.eos_id])
    assert not accepts(chat, encoded.grammar, tokens_of(chat, '{"findings":[{"line":"one"'))
    assert not accepts(chat, encoded.grammar, tokens_of(chat, "Sure! Here is"))
    assert not accepts(chat, encoded.grammar, tokens_of(chat, '{"findings": []}'))  # no padding inside the JSON
    assert not accepts(chat, encoded.grammar, tokens_of(chat, '{"findings":[],"extra":1}'))


def test_tools_are_rendered_and_a_tool_round_trip_encodes(chat: MistralChat) -> None:
    tools = list(TOOL_SCHEMAS)
    first = chat.encode([{"role": "user", "content": "review f"}], tools=tools, tool_choice="auto")
    assert "[AVAILABLE_TOOLS]" in rendered(chat, first.tokens) and "lookup_symbol" in rendered(chat, first.tokens)
    assert first.grammar is not None and first.tools
    convo = [
        {"role": "user", "content": "review f"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "abcDEF123", "type": "function", "function": {"name": "lookup_symbol", "arguments": '{"name": "g"}'}}]},
        {"role": "tool", "tool_call_id": "abcDEF123", "name": "lookup_symbol", "content": '{"found": []}'},
    ]
    second = rendered(chat, chat.encode(convo, tools=tools, tool_choice="auto").tokens)
    assert '[TOOL_CALLS]lookup_symbol' in second and '{"name": "g"}' in second
    assert '[TOOL_RESULTS]' in second and '{"found": []}' in second


def test_a_named_tool_choice_forces_that_call(chat: MistralChat) -> None:
    encoded = chat.encode([{"role": "user", "content": "ping"}], tools=[NO_ARGS_TOOL, *TOOL_SCHEMAS],
                          tool_choice={"type": "function", "function": {"name": "ping"}}, parallel_tool_calls=False)
    assert encoded.grammar is not None
    call = [chat.tool_calls_id, *tokens_of(chat, "ping"), chat.raw.get_special_token("[ARGS]"), *tokens_of(chat, "{}")]
    assert accepts(chat, encoded.grammar, call + [chat.eos_id])
    assert not accepts(chat, encoded.grammar, tokens_of(chat, "plain text"))
    assert not accepts(chat, encoded.grammar, call[:-1] + tokens_of(chat, '{"x":1}'))


def test_tool_choice_required_and_none(chat: MistralChat) -> None:
    messages = [{"role": "user", "content": "look it up"}]
    required = chat.encode(messages, tools=list(TOOL_SCHEMAS), tool_choice="required").grammar
    assert required is not None
    call = [chat.tool_calls_id, *tokens_of(chat, "lookup_symbol"), chat.raw.get_special_token("[ARGS]"),
            *tokens_of(chat, '{"name":"x"}')]
    assert accepts(chat, required, call + [chat.eos_id])
    assert not accepts(chat, required, tokens_of(chat, "no call") + [chat.eos_id])
    none = chat.encode(messages, tools=list(TOOL_SCHEMAS), tool_choice="none").grammar
    assert none is not None and not accepts(chat, none, call)
    assert accepts(chat, none, tokens_of(chat, "plain text") + [chat.eos_id])


def test_tool_calls_are_split_from_the_content(chat: MistralChat) -> None:
    args = chat.raw.get_special_token("[ARGS]")
    tokens = (tokens_of(chat, "Let me look. ") + [chat.tool_calls_id] + tokens_of(chat, " lookup_symbol") + [args]
              + tokens_of(chat, '{"name": "Parser.parse"}') + [chat.tool_calls_id] + tokens_of(chat, "read_lines")
              + [args] + tokens_of(chat, '{"path": "a.py", "start": 1, "end": 3}') + [chat.eos_id])
    content, calls = chat.split_turn(tokens)
    assert content == "Let me look. "
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("lookup_symbol", {"name": "Parser.parse"}), ("read_lines", {"path": "a.py", "start": 1, "end": 3})]
    assert all(len(c.id) == 9 and c.id.isalnum() for c in calls) and calls[0].id != calls[1].id


def test_a_cut_tool_call_is_dropped_not_shown_as_text(chat: MistralChat) -> None:
    tokens = [chat.tool_calls_id, *tokens_of(chat, "lookup_symbol"), chat.raw.get_special_token("[ARGS]"),
              *tokens_of(chat, '{"name": "Pars')]
    assert chat.split_turn(tokens) == ("", ())


def test_plain_answers_have_no_tool_calls(chat: MistralChat) -> None:
    assert chat.split_turn(tokens_of(chat, "no calls here 🙂") + [chat.eos_id]) == ("no calls here 🙂", ())


def test_compact_json_covers_every_inline_schema() -> None:
    grammar = 'start: a | b\na: %json {"type": "object"}\nb: %json  {}\n'
    out = compact_json(grammar)
    assert out.count('"x-guidance": {"whitespace_flexible": false}') == 2
    assert '%json {"x-guidance": {"whitespace_flexible": false}}' in out


def test_the_schema_without_a_v11_tokenizer_still_binds(tmp_path: Path) -> None:
    write_tekken(tmp_path, version="v3")
    old = MistralChat.from_file(tmp_path / "tekken.json")
    encoded = old.encode([{"role": "user", "content": "review"}], response_format=response_format())
    assert encoded.grammar is not None
    matcher = llguidance.LLMatcher(old.llg_tokenizer(), encoded.grammar)
    assert all(matcher.consume_token(t) for t in tokens_of(old, '{"findings":[]}'))
    assert matcher.is_accepting()
