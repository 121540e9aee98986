"""From an action and its target to a ready model request (synchronous, no I/O but counting).

The context is the one completions and reviews get: the file's imports, the enclosing scopes,
the signatures of same-file definitions the code uses, the signatures of definitions from
other files (the workspace symbol index, at most a fifth of the budget), and the numbered
code around the target, as much as the token budget leaves. The prompt is counted exactly
(mistral-common's tokenizer, once loaded) and trimmed until it fits. Every text is masked by
the secret filter before it is counted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsp_server.config_actions import ActionSpec, render
from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.action_targets import Target, language_of
from lsp_server.engines.completion_plan import within_budget
from lsp_server.engines.documents import OpenDocument
from lsp_server.model.action_prompts import ActionInput, build_action_prompt
from lsp_server.syntax.context import RelatedLookup, cursor_context, names_defined_elsewhere
from lsp_server.syntax.units import ReviewUnit, unit_context

_RELATED_SHARE = 0.2
_OVERHEAD = 64  # chat template tokens around the messages
_WINDOW_ROWS = 2000  # rows above and below the target the code window may take
_PROSE_FIELDS = frozenset({"instruction", "path", "file"})


class PromptTooLong(Exception):
    """The action's own text does not fit in the token budget."""


def relative_path(path: str, roots: list[Path]) -> str:
    target = Path(path)
    for root in sorted(roots, key=lambda r: len(r.parts), reverse=True):
        if target == root or root in target.parents:
            return target.relative_to(root).as_posix()
    return target.name


def template_fields(doc: OpenDocument, target: Target, roots: list[Path], instruction: str | None,
                    extra: dict[str, str]) -> dict[str, str]:
    """The values of the template fields for ``target`` (not yet masked)."""
    buffer = doc.syntax.buffer
    code = "\n".join(buffer.line_text(row) for row in range(target.first, target.last + 1))
    selection = buffer.slice(*target.selection) if target.selection else ""
    span = f"line {target.first + 1}" if target.first == target.last else f"lines {target.first + 1}-{target.last + 1}"
    function = target.function
    if target.scope == "stub" and function is not None:
        code = "\n".join(buffer.line_text(row) for row in range(function.start_row, function.end_row + 1))
        span = f"lines {function.start_row + 1}-{function.end_row + 1}"
    values = {
        "code": code,
        "selection": selection,
        "language": language_of(doc),
        "path": relative_path(doc.path, roots),
        "file": Path(doc.path).name,
        "name": target.name,
        "lines": span,
        "instruction": (instruction or "").strip(),
    }
    values.update(extra)
    return values


def plan_messages(
    doc: OpenDocument,
    spec: ActionSpec,
    target: Target,
    fields: dict[str, str],
    *,
    prefill: str,
    style: str,
    budget: int,
    count: Callable[[str], int],
    secrets: SecretFilter,
    related: RelatedLookup | None,
) -> list[dict[str, Any]]:
    """The chat messages, within ``budget`` tokens; raises ``PromptTooLong``."""
    syntax = doc.syntax
    buffer = syntax.buffer
    language = doc.spec.name if doc.spec is not None else ""
    path = doc.path
    # the code in the file's own terms; the instruction and file names as prose
    masked = {key: secrets.mask_prose(value, path) if key in _PROSE_FIELDS else secrets.mask(value, path)
              for key, value in fields.items()}
    request = render(spec.prompt, masked)
    core = ActionInput(path=fields["path"], language=language, request=request, prefill=secrets.mask(prefill, path),
                       explain=spec.explains, style=secrets.mask(style, path))
    used = sum(count(m["content"]) for m in build_action_prompt(core)) + _OVERHEAD
    if used > budget:
        raise PromptTooLong(f"the request needs {used} tokens, more than actions.contextTokens ({budget})")
    extras: dict[str, list[str]] = {"imports": [], "scopes": [], "signatures": [], "related": []}
    start_byte = buffer.line_start(target.first)
    shown = fields["code"]
    if syntax.tree is not None:
        context = cursor_context(syntax, start_byte)
        unit = unit_context(syntax, ReviewUnit("code", "", tuple(range(target.first, target.last + 1))))
        signatures = list(dict.fromkeys([*context.local_signatures, *unit.signatures]))
        candidates = {
            "imports": [i for i in context.imports if i not in shown],
            "scopes": list(context.scopes) if target.scope != "file" else [],
            "signatures": [s for s in signatures if s not in shown],
            "related": _related(doc, target, related, int(budget * _RELATED_SHARE), count),
        }
        for key in ("imports", "scopes", "signatures", "related"):
            texts = [secrets.mask(text, path) for text in candidates[key]]
            cost = count("\n".join(texts)) + 8 if texts else 0
            if texts and used + cost <= budget:
                extras[key] = texts
                used += cost
    before, after = _window(doc, target, budget - used, count, secrets) if target.scope != "file" else ([], [])
    data = ActionInput(
        path=core.path, language=language, request=request, before=before, after=after,
        target=(target.first + 1, target.last + 1), imports=extras["imports"], related=extras["related"],
        signatures=extras["signatures"], scopes=extras["scopes"], style=core.style, prefill=core.prefill,
        explain=spec.explains,
    )
    messages = build_action_prompt(data)
    while before or after:  # the exact count decides; lines were counted one by one
        total = sum(count(m["content"]) for m in messages) + _OVERHEAD
        if total <= budget:
            break
        drop = max(1, (len(before) + len(after)) // 10)
        for _ in range(drop):
            if len(before) >= len(after) and before:
                before = before[1:]
            elif after:
                after = after[:-1]
        data = ActionInput(**{**data.__dict__, "before": before, "after": after})
        messages = build_action_prompt(data)
    return messages


def _window(doc: OpenDocument, target: Target, budget: int, count: Callable[[str], int], secrets: SecretFilter
            ) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Numbered lines above and below the target, nearest first, while they fit."""
    buffer = doc.syntax.buffer
    above, below = target.first - 1, target.last + 1
    before: list[tuple[int, str]] = []
    after: list[tuple[int, str]] = []
    used = 16
    # masked as consecutive lines of the file (a secret may span lines), never more than can fit
    lo, hi = max(0, target.first - _WINDOW_ROWS), min(buffer.line_count, target.last + 1 + _WINDOW_ROWS)
    masked = secrets.mask_lines([buffer.line_text(row) for row in range(lo, hi)], doc.path)
    while above >= lo or below < hi:
        for side in ("above", "below"):
            row = above if side == "above" else below
            if not lo <= row < hi:
                continue
            text = masked[row - lo]
            cost = count(text) + 3
            if used + cost > budget:
                return before, after
            used += cost
            if side == "above":
                before.insert(0, (row + 1, text))
                above -= 1
            else:
                after.append((row + 1, text))
                below += 1
    return before, after


def _related(doc: OpenDocument, target: Target, lookup: RelatedLookup | None, budget: int,
             count: Callable[[str], int]) -> list[str]:
    if lookup is None or doc.spec is None:
        return []
    names = names_defined_elsewhere(doc.syntax, target.first, target.last,
                                    doc.syntax.buffer.line_start(target.first))
    if not names:
        return []
    return within_budget(lookup(doc.path, names, doc.spec.comment_prefix), budget, count)
