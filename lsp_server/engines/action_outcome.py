"""What an AI action gives: the planned job, and its outcome (edits, files, Markdown, or why not).

Plain values shared by the engine (``actions.py``), the finisher (``action_results.py``), the
test-file writer (``action_testfile.py``) and the protocol layer, which converts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lsp_server.config_actions import ActionSpec
from lsp_server.core.findings import Edit
from lsp_server.engines.action_targets import Slot, Target
from lsp_server.engines.test_layout import TestPlace
from lsp_server.model.action_answers import AnswerReader


@dataclass(frozen=True)
class FileChange:
    """Edits to a file other than the document (a test file): created, or appended to."""

    uri: str
    path: str
    create: bool
    version: int | None  # the open document's version, None when it is not open
    text: str  # the text the edits were computed against ("" for a new file)
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class ActionOutcome:
    """What came of an action: edits, other files, an explanation, and a note; or a refusal."""

    edits: list[Edit] | None = None
    files: tuple[FileChange, ...] = ()
    markdown: str | None = None
    title: str = ""
    note: str | None = None  # said to the user (Optimise: why it is faster)
    refused: str | None = None
    needs_instruction: bool = False

    @classmethod
    def refusal(cls, reason: str, *, needs_instruction: bool = False) -> ActionOutcome:
        return cls(refused=reason, needs_instruction=needs_instruction)


@dataclass
class Job:
    """One planned action: what was asked and what it works on, fixed before the ``await``."""

    spec: ActionSpec
    target: Target
    digest: str
    version: int
    messages: list[dict[str, Any]]
    reader: AnswerReader
    slot: Slot | None = None
    place: TestPlace | None = None
    original: tuple[str, ...] = field(default_factory=tuple)
