"""Shared fixtures of the unit tests: the e2e tests' vLLM stand-in (one per module, reset
before each test that uses it), and the server's kind of document store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lsp_server.engines.documents import DocumentStore
from lsp_server.syntax.budget import SyntaxBudget
from lsp_server.syntax.languages import LanguageRegistry
from tests.e2e.conftest import _fresh_standin, standin

__all__ = ["_fresh_standin", "editor_store", "registry", "standin"]


@pytest.fixture(scope="module")
def registry() -> LanguageRegistry:
    """One registry per module: grammars load and queries compile once (modules may define their own)."""
    return LanguageRegistry()


@pytest.fixture
async def editor_store(registry: LanguageRegistry) -> AsyncIterator[DocumentStore]:
    """The server's kind of store (budgeted documents, the parse threads), closed after the test."""
    made = DocumentStore(registry, max_parse_bytes=10**8, budget=SyntaxBudget())
    yield made
    await made.aclose()
