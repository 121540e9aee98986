"""Secrets recognised by their shape, whatever they are assigned to.

Token formats that detect-secrets lacks (Google ``AIza...``, GitHub ``github_pat_...``,
Anthropic and OpenAI project keys, Hugging Face, npm, Shopify, DigitalOcean, ...),
passwords in URLs (``scheme://user:password@host``) and ``curl -u user:password``,
credentials after ``Bearer``/``Basic``/``Token``, ``<password>...</password>`` and
``<add key="ApiKey" value="..."/>`` markup, and lines that are nothing but a long
high-entropy base64 run (the body of a key block whose header is out of view).
Spans are ``(start, end)`` indices into the line.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from lsp_server.core.secret_names import is_placeholder, is_secret_name

Span = tuple[int, int]

_XML = re.compile(r"<(?P<tag>[\w:.\-]+)(?:\s[^<>]*)?>(?P<v>[^<>]+)</(?P=tag)>")
_KEY_VALUE_ATTRS = re.compile(
    r"""(?:key|name)\s*=\s*["'](?P<name>[^"']+)["']\s+value\s*=\s*(?P<q>["'])(?P<v>[^"']*)(?P=q)""")
_USER_OPTION = re.compile(r"(?:^|\s)(?:-u|--user|--proxy-user|-U)[ =]+[\"']?[^\s:'\"]+:(?P<v>[^\s'\"]+)")
_URL_CREDENTIALS = re.compile(r"://[^/\s:@'\"`]+:(?P<v>[^/\s@'\"`]+)@")
_AUTH_SCHEME = re.compile(r"(?i)\b(?:bearer|basic|digest|token)[ \t]+(?P<v>[A-Za-z0-9._~+/\-]{8,}=*)")
_TOKEN_FORMATS = re.compile(
    r"\b(?:AIza[0-9A-Za-z_\-]{35}|github_pat_\w{40,}|gh[pousr]_[A-Za-z0-9]{30,}|glpat-[\w\-]{20,}"
    r"|sk-(?:proj-|ant-(?:api\d\d-)?|svcacct-)?[A-Za-z0-9_\-]{20,}|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}|dop_v1_[a-f0-9]{64}"
    r"|xox[abposre]-[A-Za-z0-9\-]{10,}|A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA)[0-9A-Z]{16}|pypi-[\w\-]{50,}"
    r"|eyJ[\w\-]{8,}\.eyJ[\w\-]{8,}\.[\w\-]{8,}|SG\.[\w\-]{16,}\.[\w\-]{16,})"
)
_TOKEN_GATE = re.compile(r"AIza|_pat_|gh[pousr]_|glpat|sk-|k_live|k_test|hf_|npm_|shp|dop_|xox|A[KSGIRN][A-Z]A|pypi-"
                         r"|eyJ|SG\.")
_BASE64_LINE = re.compile(r"^[ \t]*[\"'`]?(?P<v>[A-Za-z0-9+/]{40,}={0,2})(?:\\n)?[\"'`]?[ \t]*[,;+.\\]?[ \t]*$")



def _entropy(data: str) -> float:
    size = len(data)
    return -sum(c / size * math.log2(c / size) for c in Counter(data).values())



def markup_spans(line: str) -> list[Span]:
    """``<password>x</password>`` and ``<add key="ApiKey" value="x"/>``."""
    spans: list[Span] = []
    for match in _XML.finditer(line):
        if is_secret_name(match.group("tag")) and not is_placeholder(match.group("v")):
            spans.append(match.span("v"))
    for match in _KEY_VALUE_ATTRS.finditer(line):
        if is_secret_name(match.group("name")) and not is_placeholder(match.group("v")):
            spans.append(match.span("v"))
    return spans



def pattern_spans(line: str, low: str) -> list[Span]:
    """Token formats, URL credentials, auth scheme credentials, bare base64 lines
    (``low``: the line lower-cased)."""
    spans: list[Span] = []
    if _TOKEN_GATE.search(line):
        spans.extend(match.span() for match in _TOKEN_FORMATS.finditer(line))
    if "://" in line and "@" in line:
        for match in _URL_CREDENTIALS.finditer(line):
            if not is_placeholder(match.group("v")):
                spans.append(match.span("v"))
    if "-u" in line or "-U" in line:  # curl -u user:password
        for match in _USER_OPTION.finditer(line):
            if not is_placeholder(match.group("v")):
                spans.append(match.span("v"))
    schemes = "bearer" in low or "basic" in low or "digest" in low or "token" in low
    for match in _AUTH_SCHEME.finditer(line) if schemes else ():
        value = match.group("v")
        if (any(c.isdigit() for c in value) or value.endswith("=") or value.lower() != value
                and value.upper() != value) and not is_placeholder(value):
            spans.append(match.span("v"))
    if len(line) >= 40:
        match = _BASE64_LINE.match(line)
        if match is not None and _entropy(match.group("v")) > 4.5:
            spans.append(match.span("v"))
    return spans
