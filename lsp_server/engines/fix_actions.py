"""The fixes a code action request gets, and a lazy "Fix with AI" resolved: one call each.

``FixActions.offer`` answers a code action request without a model call: each review
finding shown on the document (its rows, message and diagnostic data) that carries a
fix gets a quick fix with its edits on the current text, offered only while the fix's
lines are unchanged and the result parses; a finding without a fix, and a selection of
rows, get a "Fix with AI" offer whose request travels in the action's data (only for
clients that resolve edits lazily). A secret file, a binary one and one in no known
language get nothing. ``FixActions.resolve`` runs such a request: it follows the rows
through the edits made since (``AiFixRequest.rows_now``), asks the model
(``AiFixer``) and returns the validated edits, or what to tell the user.
Rows and edits are the engines' (0-based rows, UTF-8 byte columns); the protocol layer
converts them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lsp_server.core.findings import Edit
from lsp_server.engines.documents import DocumentStore, OpenDocument
from lsp_server.engines.fixes import FindingData, OfferedFix, checked_edits, lines_now
from lsp_server.engines.fixes_ai import MAX_FIX_LINES, AiFixer, AiFixRequest, fix_lines

log = logging.getLogger(__name__)

AI_FIX = "mistral-lsp.ai-fix"  # the kind of a "Fix with AI" action's data
TITLE_WIDTH = 70


def short(text: str) -> str:
    """``text`` cut to fit an action's title."""
    return text if len(text) <= TITLE_WIDTH else text[: TITLE_WIDTH - 1].rstrip() + "…"


@dataclass(frozen=True)
class FindingRef:
    """A review finding as a code action request shows it: rows ``first..last`` of the
    document version its ``data`` records, its message, and the diagnostic's data."""

    first: int
    last: int
    message: str
    data: object


@dataclass(frozen=True)
class FixOffer:
    """One action: a quick fix's ``edits`` on the document's current text, or a "Fix with
    AI" request's ``data`` (to resolve later). ``finding`` is the index of the finding it
    fixes in the request (None: it rewrites the selected rows)."""

    title: str
    finding: int | None
    edits: list[Edit] | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class ResolvedFix:
    """A resolved "Fix with AI": the edits for ``doc`` (None: none), and what to tell the user."""

    doc: OpenDocument | None
    edits: list[Edit] | None
    message: str | None = None


class FixActions:
    """Offers quick fixes and "Fix with AI" for open documents, and resolves the latter."""

    def __init__(self, documents: DocumentStore, fixer: AiFixer) -> None:
        """``documents``: where a resolve finds the document (open, and still the same one)."""
        self._documents = documents
        self._fixer = fixer

    def offer(self, doc: OpenDocument, findings: Sequence[FindingRef], selection: tuple[int, int] | None, *,
              lazy: bool) -> list[FixOffer]:
        """The fixes for ``findings`` and the ``selection`` rows of ``doc``; "Fix with AI"
        only when the client resolves edits lazily (``lazy``)."""
        if doc.binary or doc.spec is None or self._fixer.secrets.is_secret_path(doc.path):
            return []
        offers: list[FixOffer] = []
        for index, finding in enumerate(findings):
            data = FindingData.read(finding.data, doc.version)
            if data.fix is not None:
                edits = quick_fix(doc, data.fix)
                if edits is not None:
                    offers.append(FixOffer(f"Apply suggested fix: {short(finding.message)}", index, edits=edits))
            elif lazy:
                rows = lines_now(doc, data.version, finding.first, finding.last)  # rows of the data's version
                if rows is not None:
                    first, last = fix_lines(doc, *rows)
                    offers.append(FixOffer(f"Fix with AI: {short(finding.message)}", index,
                                           data=_request(doc, first, last, finding.message)))
        if (lazy and selection is not None and selection[1] - selection[0] < MAX_FIX_LINES
                and 0 <= selection[0] <= selection[1] < doc.syntax.buffer.line_count):
            first, last = selection
            span = f"line {first + 1}" if first == last else f"lines {first + 1}-{last + 1}"
            offers.append(FixOffer(f"Fix with AI: {span}", None, data=_request(doc, first, last, "")))
        return offers

    async def resolve(self, data: object) -> ResolvedFix | None:
        """The edits of the "Fix with AI" action whose data is ``data`` (None: not one of ours)."""
        if not isinstance(data, dict) or data.get("kind") != AI_FIX:
            return None
        request = AiFixRequest.read(data)
        if request is None:
            return ResolvedFix(None, None)
        doc = self._documents.get(request.uri)
        rows = request.rows_now(doc) if doc is not None else None  # followed through the edits since
        if doc is None or rows is None:
            return ResolvedFix(doc, None, "the lines changed since the action was offered; nothing was done")
        plan = self._fixer.plan(doc, rows[0], rows[1], request.problem)
        if plan is None:
            return ResolvedFix(doc, None)
        outcome = await self._fixer.run(doc, plan)
        if self._documents.get(request.uri) is not doc:
            return ResolvedFix(doc, None)  # closed meanwhile
        if outcome.edits is None:
            return ResolvedFix(doc, None, f"no AI fix: {outcome.reason}")
        return ResolvedFix(doc, outcome.edits)


def quick_fix(doc: OpenDocument, offered: OfferedFix) -> list[Edit] | None:
    """A finding's own fix as minimal edits, if its lines are still there, unchanged, and it parses."""
    fix = offered.now(doc)
    if fix is None:
        return None
    edits = checked_edits(doc, fix)
    if edits == "parse":
        log.debug("quick fix at line %d not offered: it does not parse", fix.start_line + 1)
    return edits if isinstance(edits, list) else None


def _request(doc: OpenDocument, first: int, last: int, problem: str) -> dict[str, Any]:
    return AiFixRequest.for_lines(doc, first, last, problem).to_data(AI_FIX)
