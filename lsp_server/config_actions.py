"""AI actions as data: the built-in ones and the user's own, parsed from settings.

Every action is an ``ActionSpec``: a name, a title, a prompt template with named fields,
the scopes it applies to (tried in order: the first one that fits where the user points
is used), what to do with the answer, and the languages it is offered for. The engine
(``engines/actions.py``) runs any of them the same way.

The user's own actions come from ``actions.custom`` in any settings layer: an array of
tables (``[[actions.custom]]`` in ``.mistral-lsp.toml`` or ``[[tool.mistral-lsp.actions.custom]]``
in pyproject.toml, a list of objects in the editor's settings) or a table of tables keyed by
name. ``parse_custom`` checks each entry and reports every problem naming the file, the
entry and the field; a bad entry is left out, the others are kept, and the server goes on.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SCOPES = ("selection", "function", "file")
OUTPUTS = ("replace", "insert-before", "insert-after", "explain")
#: Fields a prompt template may use, and what they hold.
FIELDS: Mapping[str, str] = {
    "code": "the code the action works on (the selected lines, the function, or the file)",
    "selection": "the selected text exactly (empty without a selection)",
    "language": "the language of the file (python, typescript, go, ...)",
    "path": "the file's path relative to the workspace folder",
    "file": "the file's name",
    "name": "the name of the function (empty for other scopes)",
    "lines": "where the code is, e.g. `lines 4-9`",
    "instruction": "what the user types when the action runs (the editor asks for it)",
}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
_KEYS = ("name", "title", "prompt", "scope", "output", "languages", "temperature")


@dataclass(frozen=True)
class ActionSpec:
    """One AI action. ``output`` is one of ``OUTPUTS`` for the user's actions; the built-ins
    also use ``body`` (implement a stub), ``doc`` (a docstring or doc comment) and ``tests``."""

    name: str
    title: str
    prompt: str
    scopes: tuple[str, ...]
    output: str
    languages: tuple[str, ...] = ()  # LSP language ids or registry names; () = every language
    temperature: float | None = None  # None: the actions.temperature setting
    reason: bool = False  # the answer begins with "Why: ..." (shown to the user)
    builtin: bool = False
    source: str = ""  # where it was defined

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(name for _, name, _, _ in string.Formatter().parse(self.prompt) if name)

    @property
    def asks_instruction(self) -> bool:
        return "instruction" in self.fields

    @property
    def explains(self) -> bool:
        return self.output == "explain"


_IMPLEMENT = (
    "Implement `{name}` ({lines}): write the body that does what its signature, its documentation and "
    "its comments say, using the code and definitions shown above. The function now:\n"
    "```{language}\n{code}\n```\n"
    "Continue after the function's header with its complete body (the placeholder removed), then close "
    "the function and the code block."
)
_OPTIMISE = (
    "Optimise this code ({lines}) to run faster or use less memory (quadratic loops, repeated work, "
    "needless copies) with exactly the same behaviour, the same signature and the same result for every "
    "input:\n```{language}\n{code}\n```\n"
    "First say in one or two sentences, on one line after \"Why:\", what you change and why it is faster. "
    "Then give the complete new code of these lines in one code block, with the same indentation."
)
_EXPLAIN = (
    "Explain this code ({lines}) to a developer reading it: what it does, how it works, its inputs and "
    "outputs, its edge cases and anything surprising. Write Markdown: a one-sentence summary first, then "
    "short paragraphs or bullet points; put names in `backticks`; do not rewrite the code.\n"
    "```{language}\n{code}\n```"
)
_DOCUMENT = (
    "Write the documentation of `{name}` ({lines}) as a {doc_style}: what it does, its parameters, what "
    "it returns and the errors it raises, matching the style of the file's other documentation.\n"
    "```{language}\n{code}\n```\n"
    "Answer with the {doc_style} only, without the function."
)
_TESTS = (
    "Write unit tests for `{name}` ({lines}) with {test_framework}, to go in `{test_file}`. Cover the "
    "normal cases, the edge cases and the errors the code handles.{test_hint}\n"
    "```{language}\n{code}\n```\n"
    "Answer with the test code only, in one code block."
)
_EDIT = (
    "Rewrite this code ({lines}) following the instruction below; keep everything the instruction does "
    "not ask to change.\nInstruction: {instruction}\n"
    "```{language}\n{code}\n```\n"
    "Answer with the complete new code of these lines only, in one code block, with the same indentation."
)

BUILTIN_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("implement", "Implement with AI", _IMPLEMENT, ("stub",), "body", builtin=True),
    ActionSpec("optimise", "Optimise with AI", _OPTIMISE, ("selection", "function"), "replace", reason=True,
               builtin=True),
    ActionSpec("explain", "Explain with AI", _EXPLAIN, ("selection", "function"), "explain", builtin=True),
    ActionSpec("document", "Document with AI", _DOCUMENT, ("function",), "doc", builtin=True),
    ActionSpec("tests", "Write tests with AI", _TESTS, ("function",), "tests", builtin=True),
    ActionSpec("edit", "Edit with AI…", _EDIT, ("selection",), "replace", builtin=True),
)
ALIASES: Mapping[str, str] = {"optimize": "optimise", "test": "tests", "doc": "document", "docs": "document"}


def _norm(key: str) -> str:
    return key.replace("-", "").replace("_", "").lower()


def take_custom(options: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    """Split ``actions.custom`` (nested or as a dotted key, any spelling) from other options."""
    rest: dict[str, Any] = {}
    found: Any = None
    for key, value in options.items():
        norm = ".".join(_norm(part) for part in str(key).split("."))
        if norm == "actions.custom":
            found = value
        elif norm == "actions" and isinstance(value, Mapping):
            inner = {k: v for k, v in value.items() if _norm(str(k)) != "custom"}
            custom = [v for k, v in value.items() if _norm(str(k)) == "custom"]
            if custom:
                found = custom[-1]
            if inner:
                rest[key] = inner
        else:
            rest[key] = value
    return rest, found


def parse_custom(raw: Any, source: str, languages: frozenset[str] = frozenset()) -> tuple[list[ActionSpec], list[str]]:
    """The user's actions from one layer's ``actions.custom``, and the problems found.

    ``languages`` are the accepted language names (empty: any)."""
    if raw is None:
        return [], []
    entries: list[tuple[str, Any]]
    if isinstance(raw, Mapping):
        entries = []
        for key, value in raw.items():
            entry = dict(value) if isinstance(value, Mapping) else value
            if isinstance(entry, dict):
                entry.setdefault("name", key)
            entries.append((f"actions.custom.{key}", entry))
    elif isinstance(raw, Sequence) and not isinstance(raw, (str, bytes)):
        entries = [(f"actions.custom[{index}]", value) for index, value in enumerate(raw)]
    else:
        return [], [f"{source}: actions.custom must be a list of tables (one per action); it is ignored"]
    specs: list[ActionSpec] = []
    problems: list[str] = []
    seen: set[str] = set()
    for where, entry in entries:
        spec, problem = _parse_entry(entry, f"{source}: {where}", languages)
        if problem is not None:
            problems.append(problem)
        elif spec is not None:
            if spec.name in seen:
                problems.append(f"{source}: {where} ({spec.name!r}): field 'name': a second action with this "
                                "name; the action is ignored")
                continue
            seen.add(spec.name)
            specs.append(spec)
    return specs, problems


def _parse_entry(entry: Any, where: str, languages: frozenset[str]) -> tuple[ActionSpec | None, str | None]:
    if not isinstance(entry, Mapping):
        return None, f"{where}: not a table (give name, title, prompt, scope, output, languages); it is ignored"
    values = {_norm(str(k)): v for k, v in entry.items()}
    name = values.get("name")
    label = f"{where} ({name!r})" if isinstance(name, str) and name else where

    def bad(field: str, reason: str) -> tuple[None, str]:
        return None, f"{label}: field {field!r}: {reason}; the action is ignored"

    unknown = [str(k) for k in entry if _norm(str(k)) not in _KEYS]
    if unknown:
        return bad(unknown[0], f"unknown field (known: {', '.join(_KEYS)})")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return bad("name", "required: letters, digits, '-', '_' or '.', starting with a letter")
    if name in {spec.name for spec in BUILTIN_ACTIONS} or name in ALIASES:
        return bad("name", f"{name!r} is a built-in action")
    title = values.get("title", name)
    if not isinstance(title, str) or not title.strip():
        return bad("title", "must be a non-empty string")
    prompt = values.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return bad("prompt", "required: the prompt template (fields: " + ", ".join("{" + f + "}" for f in FIELDS) + ")")
    try:
        fields = [(name_, spec_, conv) for _, name_, spec_, conv in string.Formatter().parse(prompt) if name_ is not None]
    except ValueError as exc:
        return bad("prompt", f"{exc} (write {{{{ and }}}} for literal braces)")
    for field_name, format_spec, conversion in fields:
        if field_name not in FIELDS:
            shown = "{" + field_name + "}" if field_name else "{}"
            return bad("prompt", f"unknown field {shown} (known: {', '.join('{' + f + '}' for f in FIELDS)}; "
                       "write {{ and }} for literal braces)")
        if format_spec or conversion:
            return bad("prompt", f"{{{field_name}}} takes no format or conversion")
    scope = values.get("scope", ["selection", "function"])
    scopes = (scope,) if isinstance(scope, str) else scope
    if not isinstance(scopes, (list, tuple)) or not scopes or any(s not in SCOPES for s in scopes):
        return bad("scope", f"{scope!r} is not one of {', '.join(SCOPES)} (or a list of them)")
    output = values.get("output", "replace")
    if output not in OUTPUTS:
        return bad("output", f"{output!r} is not one of {', '.join(OUTPUTS)}")
    langs = values.get("languages", [])
    if isinstance(langs, str):
        langs = [langs]
    if not isinstance(langs, (list, tuple)) or any(not isinstance(item, str) or not item.strip() for item in langs):
        return bad("languages", "must be a list of language names")
    unknown_langs = [item for item in langs if languages and item.strip().lower() not in languages]
    if unknown_langs:
        return bad("languages", f"unknown language {unknown_langs[0]!r}")
    temperature = values.get("temperature")
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
                                    or not 0.0 <= float(temperature) <= 2.0):
        return bad("temperature", f"{temperature!r} is not a number in 0..2")
    source = where.split(":", 1)[0]
    return ActionSpec(
        name=name,
        title=title.strip(),
        prompt=prompt,
        scopes=tuple(dict.fromkeys(scopes)),
        output=output,
        languages=tuple(item.strip().lower() for item in langs),
        temperature=float(temperature) if temperature is not None else None,
        source=source,
    ), None


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill a template's fields (every field used must be in ``values``)."""
    return template.format_map(dict(values))


def lookup(name: str, custom: Sequence[ActionSpec]) -> ActionSpec | None:
    """The action called ``name`` (an alias of a built-in is accepted)."""
    wanted = ALIASES.get(name, name)
    for spec in (*BUILTIN_ACTIONS, *custom):
        if spec.name == wanted:
            return spec
    return None
