"""A chat request as the model sees it, with mistral-common: prompt tokens, grammar, tool calls.

The in-process backend does with mistral-common what vLLM's ``--tokenizer-mode
mistral`` does: the OpenAI-style messages (and tools) become a ``ChatCompletionRequest``
(``from_openai``; a prefilled final assistant message is continued, not closed),
``encode_chat_completion`` renders the prompt tokens (and prepares the images of
``image_url`` content parts, when the tokenizer has an image encoder), and for a v11+ tekken tokenizer
``GrammarFactory.get_grammar_for_chat_request`` gives the Lark grammar that llguidance
enforces while decoding: the response's JSON schema, or text and well-formed
``[TOOL_CALLS]name[ARGS]{...}`` calls. The answer's tokens are split into content and
tool calls by mistral-common's own decoder. No torch here; llguidance and jinja2 are
imported only when a grammar is needed.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsp_server.model.client import ModelError, ToolCall

# JSON (answers under a schema, tool-call arguments) without free whitespace between tokens:
# a model cannot pad an answer with blanks up to max_tokens (vLLM's default lets a weak model
# do exactly that). llguidance reads these options from an ``x-guidance`` key of each schema.
_JSON_OPTIONS = {"whitespace_flexible": False}
_INLINE_JSON = re.compile(r"%json\s*\{(\s*\})?")
_ID_CHARS = string.ascii_letters + string.digits


@dataclass(frozen=True)
class EncodedChat:
    """The prompt's token ids and the grammar the answer must follow (None: free text)."""

    tokens: list[int]
    grammar: str | None
    tools: bool  # tools were offered: the answer may hold tool calls
    images: tuple[Any, ...] = ()  # (channels, height, width) arrays, one per image in the prompt


def find_tokenizer_file(folder: Path) -> Path | None:
    """The mistral-common tokenizer file of a model folder (tekken.json first)."""
    for pattern in ("tekken.json", "tekken*.json", "tokenizer.model.v*", "tokenizer.mm.model.v*"):
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    return None


def bad_request(message: str) -> ModelError:
    """A request the model cannot take, reported as vLLM reports it (HTTP 400)."""
    return ModelError("http", f"the model backend refused the request (400): {message}", 400)


class MistralChat:
    """One model's mistral-common tokenizer: encode requests, build grammars, parse answers."""

    def __init__(self, tokenizer: Any) -> None:
        from mistral_common.tokens.tokenizers.base import SpecialTokenPolicy, SpecialTokens

        self.tokenizer = tokenizer
        self.raw = tokenizer.instruct_tokenizer.tokenizer
        self.eos_id: int = self.raw.eos_id
        self._ignore = SpecialTokenPolicy.IGNORE
        try:
            self.tool_calls_id: int | None = self.raw.get_special_token(SpecialTokens.tool_calls.value)
        except Exception:  # noqa: BLE001 - a tokenizer without tool calls
            self.tool_calls_id = None
        self._grammars: Any = None  # GrammarFactory, built on first use (about a second)
        self._template: str | None = None

    @classmethod
    def from_file(cls, path: Path) -> MistralChat:
        from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

        return cls(MistralTokenizer.from_file(str(path)))

    @property
    def version(self) -> str:
        return str(getattr(self.raw.version, "value", self.raw.version))

    @property
    def vocab_size(self) -> int:
        return int(self.raw.n_words)

    def token_bytes(self, token_id: int) -> bytes:
        """A token's bytes as text (special tokens: none)."""
        if token_id < self.raw.num_special_tokens:
            return b""
        return bytes(self.raw.id_to_byte_piece(token_id, self._ignore))

    def decode(self, tokens: Sequence[int]) -> str:
        return str(self.raw.decode(list(tokens), special_token_policy=self._ignore))

    # -- requests -------------------------------------------------------------------------------

    def encode(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        prefill: bool = False,
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        response_format: dict[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
    ) -> EncodedChat:
        """Render the prompt and pick the grammar; a request mistral-common rejects is a 400."""
        from mistral_common.protocol.instruct.request import ChatCompletionRequest

        extra: dict[str, Any] = {}
        if tools and tool_choice is not None:
            extra["tool_choice"] = tool_choice
        if parallel_tool_calls is not None:
            extra["parallel_tool_calls"] = parallel_tool_calls
        if response_format is not None:
            extra["response_format"] = response_format
        try:
            request = ChatCompletionRequest.from_openai(
                [dict(m) for m in messages], tools=list(tools) if tools else None,
                continue_final_message=prefill, **extra,
            )
            encoded = self.tokenizer.encode_chat_completion(request)
            tokens = list(encoded.tokens)
            images = tuple(getattr(encoded, "images", None) or ())
            grammar = self._grammar_for(request, response_format)
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - pydantic, TokenizerException, InvalidRequestException, ...
            raise bad_request(f"{type(exc).__name__}: {str(exc)[:300]}") from None
        return EncodedChat(tokens, grammar, bool(tools), images)

    def _grammar_for(self, request: Any, response_format: dict[str, Any] | None) -> str | None:
        factory = self._factory()
        if factory is not None:
            if self._template is None:
                self._template = factory.select_jinja_template()
            grammar = factory.get_grammar_for_chat_request(request, self._template)
            return None if grammar is None else compact_json(grammar)
        # Tokenizers before v11 have no mistral-common grammar: a JSON schema still binds (llguidance
        # compiles it directly); tool calls are then parsed without a grammar.
        schema = _schema_of(response_format)
        if schema is None:
            return None
        import llguidance

        return str(llguidance.LLMatcher.grammar_from_json_schema(schema, overrides=dict(_JSON_OPTIONS)))

    def _factory(self) -> Any:
        if self._grammars is None:
            from mistral_common.guidance.grammar_factory import GrammarFactory

            self._grammars = GrammarFactory(self.tokenizer) if GrammarFactory.is_supported(self.tokenizer) else False
        return self._grammars or None

    def llg_tokenizer(self) -> Any:
        """The llguidance view of this tokenizer (built once)."""
        factory = self._factory()
        if factory is not None:
            return factory.llg_tokenizer
        if not hasattr(self, "_llg"):
            from mistral_common.guidance.tokenizer import from_mistral_tokenizer

            self._llg = from_mistral_tokenizer(self.tokenizer)
        return self._llg

    # -- answers --------------------------------------------------------------------------------

    def split_turn(self, tokens: Sequence[int]) -> tuple[str, tuple[ToolCall, ...]]:
        """An answer's content and its tool calls, parsed by mistral-common.

        Calls that do not parse (arguments cut off by ``max_tokens``) are dropped,
        and their text is not shown as content either.
        """
        ids = [t for t in tokens if t != self.eos_id]
        if self.tool_calls_id is None or self.tool_calls_id not in ids:
            return self.decode(ids), ()
        from mistral_common.experimental.tools import _decode_tool_calls, _split_content_and_tool_calls

        content_ids, call_ids = _split_content_and_tool_calls(ids, self.tool_calls_id)
        calls: list[ToolCall] = []
        for one in call_ids:
            try:
                decoded = _decode_tool_calls([one], self.raw)
            except Exception:  # noqa: BLE001 - a cut or malformed call
                continue
            for call in decoded:
                args = call.function.arguments
                text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
                given = str(call.id or "")
                calls.append(ToolCall(given if given and given != "null" else new_call_id(),
                                      call.function.name.strip(), text))
        return self.decode(content_ids), tuple(calls)


def new_call_id() -> str:
    """A 9-character tool call id, the form Mistral's chat template expects (as vLLM makes them)."""
    return "".join(secrets.choice(_ID_CHARS) for _ in range(9))


def _schema_of(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_object":
        return {"type": "object"}
    inner = response_format.get("json_schema")
    if response_format.get("type") == "json_schema" and isinstance(inner, dict):
        schema = inner.get("schema")
        return schema if isinstance(schema, dict) else None
    return None


def compact_json(grammar: str) -> str:
    """A Lark grammar whose inline JSON schemas (``%json {...}``) allow no free whitespace."""
    options = json.dumps({"x-guidance": _JSON_OPTIONS})[1:-1]
    return _INLINE_JSON.sub(lambda m: "%json {" + options + ("}" if m.group(1) else ", "), grammar)
