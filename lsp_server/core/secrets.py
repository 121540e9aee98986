"""The secret filter: the one function every text bound for the model or a cache passes.

``SecretFilter.mask(text, path)`` replaces credentials with ``<redacted>``: what
Yelp's detect-secrets finds (known token formats, its keyword rules, high-entropy
strings; ``secret_library``), plus our own rules for the assignment, constant,
default-argument, map-literal, header and comment forms of every supported language
and for YAML/TOML/JSON/INI/.env syntax wherever it appears (``secret_rules``), and
private key blocks. ``path`` says how the text reads (``secret_lexer.profile_for``):
``password = other`` is code in a ``.py`` file and a literal in an ``.ini`` file.

Masking keeps the line structure (one output line per input line, line endings
untouched) and only replaces the secret part of a line, so line numbers hold and
``MaskedLine`` maps columns between the masked and the original line. Lines are
masked one at a time with a cache of lines already seen (the text sent on
consecutive keystrokes is almost the same), so only new or edited lines are
scanned; values that go on below their line (a key block, a triple-quoted string, a
YAML block scalar) are carried to the next lines, and so are multi-line strings and
block comments, inside which config syntax (``password: x`` in a docstring) counts. Files whose names match the
secret patterns (``.env*``, ``*.pem``, ``id_rsa*`` ...) are never sent at all:
``is_secret_path`` says so.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from lsp_server.core.secret_carry import Carry, continued, named_carry, open_block
from lsp_server.core.secret_lexer import Profile, profile_for
from lsp_server.core.secret_library import LibraryScanner
from lsp_server.core.secret_rules import Span, has_secret_word, keyword_spans
from lsp_server.core.secret_shapes import pattern_spans

MASK = "<redacted>"
# Bumped whenever masking changes: what an older filter stored (index rows, cached reviews) is dropped.
SECRET_FILTER_VERSION = 2

_LINE_CACHE_LIMIT = 50_000
_LONG_LINE = 2_000  # longer lines are scanned in pieces of about _PIECE characters
_PIECE = 1_000
_KEY_BODY = re.compile(r"[A-Za-z0-9+/=]{4,}")
_Entry = tuple[str, tuple[Span, ...], Carry | None]


@dataclass(frozen=True, slots=True)
class MaskedLine:
    """A masked line and the original spans each ``MASK`` in it replaced (in order)."""

    text: str
    spans: tuple[Span, ...] = ()

    def masked_index(self, index: int) -> int:
        """Where original index ``index`` is in the masked text (after the mask if inside one)."""
        shift = 0
        for start, end in self.spans:
            if index <= start:
                break
            if index < end:
                return start + shift + len(MASK)
            shift += len(MASK) - (end - start)
        return index + shift

    def original_index(self, index: int, *, end: bool = False) -> int:
        """Where masked index ``index`` is in the original (inside a mask: the secret's
        start, or its end for ``end``)."""
        shift = 0
        for start, stop in self.spans:
            masked_start = start + shift
            if index <= masked_start:
                break
            if index < masked_start + len(MASK):
                return stop if end else start
            shift += len(MASK) - (stop - start)
        return index - shift

    def original_byte(self, original: str, byte_col: int, *, end: bool = False) -> int:
        """``original_index`` for UTF-8 byte columns of the masked and original line."""
        if not self.spans:
            return byte_col
        index = len(self.text.encode("utf-8", errors="surrogatepass")[:byte_col].decode("utf-8", errors="ignore"))
        return len(original[: self.original_index(index, end=end)].encode("utf-8", errors="surrogatepass"))


class SecretFilter:
    """Masks secrets in outgoing and cached text; knows which paths are secret files."""

    def __init__(self, secret_globs: Iterable[str] = ()) -> None:
        self._globs = tuple(secret_globs)
        self._library = LibraryScanner()
        self._lines: dict[tuple[str, Carry | None], dict[str, _Entry]] = {}  # (profile, carry) -> line -> entry
        self._profiles: dict[str, Profile] = {}

    def is_secret_path(self, path: str) -> bool:
        """True when the file's name matches a secret pattern (never send it)."""
        name = PurePath(path).name
        return any(fnmatch.fnmatch(name, glob) for glob in self._globs)

    # -- the one function, in the shapes callers need --------------------------------
    def mask(self, text: str, path: str = "") -> str:
        """``text`` with every secret replaced by ``<redacted>`` (a file named ``path``)."""
        if not text:
            return text
        return "\n".join([entry[0] for entry in self._entries(text.split("\n"), self._profile(path))])

    def mask_prose(self, text: str, path: str = "") -> str:
        """``text`` taken out of a comment or docstring of a file named ``path`` (its
        markers gone), or a message: read both as the file's text and as prose."""
        return self.mask(self.mask(text, path), "") if text else text

    def mask_lines(self, lines: Sequence[str], path: str = "") -> list[str]:
        """One masked line per line of ``lines`` (read as consecutive lines of one file)."""
        return [entry[0] for entry in self._entries(lines, self._profile(path))]

    def mask_mapped(self, lines: Sequence[str], path: str = "") -> list[MaskedLine]:
        """Like ``mask_lines``, with each line's column map."""
        return [MaskedLine(text, spans) for text, spans, _ in self._entries(lines, self._profile(path))]

    def mask_split(self, before: str, after: str, path: str = "") -> tuple[str, str]:
        """Mask ``before + after`` as one text and split it again at the same place.

        Masking the halves apart would miss a secret the cursor stands in; this masks
        the cursor's whole line (a secret around the cursor ends up in ``before``)."""
        head, _, left = before.rpartition("\n")
        right, _, tail = after.partition("\n")
        lines = [*(head.split("\n") if "\n" in before else ()), left + right,
                 *(tail.split("\n") if "\n" in after else ())]
        row = before.count("\n")
        entries = self._entries(lines, self._profile(path))
        texts = [entry[0] for entry in entries]
        text, spans, _ = entries[row]
        cut = MaskedLine(text, spans).masked_index(len(left))
        return "\n".join([*texts[:row], text[:cut]]), "\n".join([text[cut:], *texts[row + 1:]])

    def mask_json(self, value: Any, *paths: str) -> Any:
        """``value`` (JSON-like: dicts, lists, strings) with every string masked, read as
        text of each of ``paths`` in turn (``""``: of no known kind, e.g. prose)."""
        if isinstance(value, str):
            for path in paths or ("",):
                value = self.mask(value, path)
            return value
        if isinstance(value, dict):
            return {self.mask_json(k, *paths): self.mask_json(v, *paths) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.mask_json(item, *paths) for item in value]
        return value

    # -- lines ------------------------------------------------------------------------
    def _profile(self, path: str) -> Profile:
        profile = self._profiles.get(path)
        if profile is None:
            if len(self._profiles) > 1000:
                self._profiles.clear()
            profile = self._profiles[path] = profile_for(path)
        return profile

    def _entries(self, lines: Sequence[str], profile: Profile) -> list[_Entry]:
        cache = self._cache(profile, None)
        get = cache.get
        out: list[_Entry] = []
        append = out.append
        carry: Carry | None = None
        below: dict[Carry, dict[str, _Entry]] = {}
        for line in lines:
            if carry is None:  # the common case, kept lean: one dictionary look-up per line
                entry = get(line)
                if entry is None:
                    entry = cache[line] = self._scan(line, profile, "")
            else:
                carried = below.get(carry)
                if carried is None:
                    carried = below[carry] = self._cache(profile, carry)
                entry = carried.get(line) or self._carried(line, carry, profile, carried)
            carry = entry[2]
            append(entry)
        return out

    def _cache(self, profile: Profile, carry: Carry | None) -> dict[str, _Entry]:
        """Lines already seen (of files of ``profile``, below a line that left ``carry``)."""
        key = (profile.name, carry)
        cache = self._lines.get(key)
        if cache is None or len(cache) > _LINE_CACHE_LIMIT:
            if len(self._lines) > 256:  # many kinds of carried lines: start over
                self._lines.clear()
            cache = self._lines[key] = {}
        return cache

    def _carried(self, line: str, carry: Carry, profile: Profile, cache: dict[str, _Entry]) -> _Entry:
        """A line below one that left ``carry``: a value that goes on, or the inside of a
        multi-line string or comment (remembered in ``cache``, like any line)."""
        if carry.kind in ("string", "comment"):
            mode = "interior" if carry.kind == "string" else "comment"
            close = line.find(carry.delim)
            if close < 0:
                spans, more, taken = list(self._scan(line, profile, mode)[1]), carry, len(line)
            else:
                spans, more, taken = list(self._scan(line[:close], profile, mode)[1]), None, close + len(carry.delim)
        else:
            spans, more, taken = self._continued(line, carry, profile)
        if taken < len(line):  # the rest of the line reads as a line of its own
            _, own, after = self._scan(line[taken:], profile, "")
            spans = [*spans, *((s + taken, e + taken) for s, e in own)]
            more = more or after
        entry = cache[line] = _apply(line, spans, more)
        return entry

    def _continued(self, line: str, carry: Carry, profile: Profile) -> tuple[list[Span], Carry | None, int]:
        if carry.kind != "pem":
            return continued(line, carry, profile)
        end = line.find("-----END")
        spans = [match.span() for match in _KEY_BODY.finditer(line if end < 0 else line[:end])]
        if end < 0:
            return spans, carry, len(line)
        taken = line.find("-----", end + 8)
        taken = taken + 5 if taken >= 0 else len(line)
        if carry.delim:  # the key block sat in a multi-line string: it may go on
            close = line.find(carry.delim, taken)
            if close < 0:
                return spans, Carry("string", delim=carry.delim), len(line)
            taken = close + len(carry.delim)
        return spans, None, taken

    def _scan(self, line: str, profile: Profile, mode: str = "") -> _Entry:
        body = line[:-1] if line.endswith("\r") else line
        if "\r" in body:  # lone CRs end lines too: scan each part on its own
            spans: list[Span] = []
            carry: Carry | None = None
            offset = 0
            for part in body.split("\r"):
                _, found, carry = self._scan(part, profile, mode)
                spans.extend((s + offset, e + offset) for s, e in found)
                offset += len(part) + 1
            return _apply(line, spans, carry)
        if len(body) <= _LONG_LINE:
            spans, carry = self._rules(body, profile, mode)
        else:  # minified code, data: in pieces cut between values, so no rule's cost grows with the line
            spans, carry = [], None
            for start, end in _pieces(body):
                found, carry = self._rules(body[start:end], profile, mode)
                spans.extend((s + start, e + start) for s, e in found)
        key_body = self._library.private_key_header(body)
        if key_body is not None:
            end = body.find("-----END", key_body)
            tail = body[key_body:end if end >= 0 else len(body)]
            spans.extend((key_body + s, key_body + e) for s, e in (m.span() for m in _KEY_BODY.finditer(tail)))
            if end < 0 and carry is None:  # (a secret-named value's own carry masks whole lines: it wins)
                block = open_block(body, profile)
                carry = Carry("pem", delim=block.delim if block is not None and block.kind == "string" else "")
        if carry is None and not mode:
            carry = named_carry(body, profile) or open_block(body, profile)
        return _apply(line, spans, carry)

    def _rules(self, text: str, profile: Profile, mode: str) -> tuple[list[Span], Carry | None]:
        """Our rules and detect-secrets' on one line (or piece of a long line)."""
        spans: list[Span] = []
        carry = None
        low = text.lower()
        keyword = has_secret_word(low)
        if keyword:
            spans, carry = keyword_spans(text, profile, mode, low)
        spans.extend(pattern_spans(text, low))
        # detect-secrets' keyword rules back ours up: on lines where ours found nothing
        spans.extend(self._library.spans(text, low, profile, keyword=keyword and not spans))
        return spans, carry


def _around_cr(line: str, span: Span) -> Iterator[Span]:
    start, end = span
    cr = line.find("\r", start, end)
    while cr >= 0:
        yield start, cr
        start = cr + 1
        cr = line.find("\r", start, end)
    yield start, end


def _pieces(text: str, size: int = _PIECE) -> Iterator[Span]:
    """``text`` in pieces of at most ``size`` characters, cut after a separator where one is near."""
    start, length = 0, len(text)
    while start < length:
        end = min(length, start + size)
        if end < length:
            cut = max(text.rfind(separator, start + size // 2, end) for separator in ";, \t}")
            if cut > start:
                end = cut + 1
        yield start, end
        start = end


def _apply(line: str, spans: Iterable[Span], carry: Carry | None) -> _Entry:
    """The masked line for ``spans`` (merged; each merged span becomes one ``MASK``; a
    carriage return, a line break of its own, is never masked)."""
    if "\r" in line:
        spans = [part for span in spans for part in _around_cr(line, span)]
    merged: list[list[int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    if not merged:
        return line, (), carry
    parts: list[str] = []
    previous = 0
    for start, end in merged:
        parts.append(line[previous:start])
        parts.append(MASK)
        previous = end
    parts.append(line[previous:])
    return "".join(parts), tuple((s, e) for s, e in merged), carry
