"""A vLLM stand-in for tests and benchmarks (see :mod:`tests.standin.server`)."""

from tests.standin.server import (
    CHARS_PER_TOKEN,
    DEFAULT_MODEL,
    MODES,
    RecordedRequest,
    Reply,
    StandIn,
    error_body,
    estimate_tokens,
    split_text,
)

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_MODEL",
    "MODES",
    "RecordedRequest",
    "Reply",
    "StandIn",
    "error_body",
    "estimate_tokens",
    "split_text",
]
