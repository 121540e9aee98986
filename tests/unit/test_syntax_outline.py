"""The outline index stays correct after edits (incremental refresh)."""

from __future__ import annotations

import pytest

from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.languages import SPECS, LanguageRegistry

from .test_syntax_samples import big_python


@pytest.mark.parametrize("name", ["python"])
def test_outline_refresh_is_local(name: str) -> None:
    """After the first build, an edit's new definition shows up through the incremental refresh."""
    doc = SyntaxDocument(big_python(), SPECS[name], LanguageRegistry())
    doc.outline.refresh()
    count = len(doc.outline.definitions())
    row = next(r for r in range(300, doc.buffer.line_count) if doc.buffer.line_text(r).startswith("def "))
    doc.apply_change((row, 0), (row, 0), "def injected(a):\n    return a\n\n\n", "utf-16")
    definitions = doc.outline.definitions()
    assert len(definitions) == count + 1
    assert any(d.name == "injected" for d in definitions)
