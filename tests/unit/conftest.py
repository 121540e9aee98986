"""Shared fixtures of the unit tests: the e2e tests' vLLM stand-in (one per module, reset
before each test that uses it)."""

from __future__ import annotations

from tests.e2e.conftest import _fresh_standin, standin

__all__ = ["_fresh_standin", "standin"]
