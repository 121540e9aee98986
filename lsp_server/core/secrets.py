"""The secret filter: masks credentials in text and recognises secret files.

Every piece of code that leaves the machine for the model passes ``SecretFilter.mask``.
Files whose names match the secret patterns (``.env*``, ``*.pem``, ``id_rsa*`` ...)
are never sent at all: ``is_secret_path`` says so.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from pathlib import PurePath

MASK = "<redacted>"

# A private key block spans lines: it is masked over the whole text.
_PRIVATE_KEY = (
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)"
)

# Whole-token credentials with a recognisable shape (each within one line).
_TOKEN_PATTERNS = (
    r"\bAKIA[0-9A-Z]{16}\b",  # AWS access key id
    r"\bASIA[0-9A-Z]{16}\b",
    r"\bgh[pousr]_[A-Za-z0-9]{30,}\b",  # GitHub tokens
    r"\bgithub_pat_[A-Za-z0-9_]{40,}\b",
    r"\bglpat-[A-Za-z0-9_\-]{20,}\b",  # GitLab
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b",  # Slack
    r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}\b",  # OpenAI / Anthropic style
    r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}\b",  # Stripe
    r"\bAIza[0-9A-Za-z_\-]{35}\b",  # Google API key
    r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\b",  # JWT
    r"(?i:\bbearer\s+[A-Za-z0-9_\-\.=]{20,})",
    r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)",  # user:password@ in URLs
)

# key = "value" assignments whose key names a secret: mask the value only.
_ASSIGNMENT = (
    r"(?i)(?P<key>[A-Za-z0-9_\-\.]*(?:api[_\-]?key|secret|token|passw(?:or)?d|passwd|pwd|"
    r"credential|private[_\-]?key|access[_\-]?key|auth)[A-Za-z0-9_\-\.]*)"
    r"(?P<sep>[\"']?\s*(?::=|=>|=|:)\s*)(?P<quote>[\"'`])(?P<value>[^\"'`\n]{6,})(?P=quote)"
)


_LINE_CACHE_LIMIT = 50_000


class SecretFilter:
    """Masks secrets in outgoing text; knows which paths are secret files.

    Masking works line by line with a cache of lines already seen, because the
    text sent on consecutive keystrokes is almost the same: only new or edited
    lines go through the regular expressions again.
    """

    def __init__(self, secret_globs: Iterable[str]) -> None:
        self._globs = tuple(secret_globs)
        self._private_key = re.compile(_PRIVATE_KEY)
        self._tokens = re.compile("|".join(f"(?:{p})" for p in _TOKEN_PATTERNS))
        self._assignment = re.compile(_ASSIGNMENT)
        self._lines: dict[str, str] = {}

    def is_secret_path(self, path: str) -> bool:
        """True when the file's name matches a secret pattern (never send it)."""
        name = PurePath(path).name
        return any(fnmatch.fnmatch(name, glob) for glob in self._globs)

    def mask(self, text: str) -> str:
        """Replace credentials in ``text`` with ``<redacted>``."""
        if not text:
            return text
        if "PRIVATE KEY" in text:
            text = self._private_key.sub(MASK, text)
        cache = self._lines
        if len(cache) > _LINE_CACHE_LIMIT:
            cache.clear()
        out = []
        for line in text.split("\n"):
            masked = cache.get(line)
            if masked is None:
                masked = self._tokens.sub(MASK, self._assignment.sub(self._mask_assignment, line))
                cache[line] = masked
            out.append(masked)
        return "\n".join(out)

    @staticmethod
    def _mask_assignment(match: re.Match[str]) -> str:
        value = match.group("value")
        if value == MASK or _looks_like_code(value):
            return match.group(0)
        quote = match.group("quote")
        return f"{match.group('key')}{match.group('sep')}{quote}{MASK}{quote}"


def _looks_like_code(value: str) -> bool:
    """Placeholders and references are not secrets: ``${TOKEN}``, ``<your key>``, ``os.environ``."""
    lowered = value.lower()
    return (
        value.startswith(("${", "{{", "<", "%(", "$"))
        or " " in value.strip()
        or lowered in ("changeme", "password", "xxxxxx", "secret", "example")
    )
