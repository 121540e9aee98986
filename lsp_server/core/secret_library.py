"""Yelp's detect-secrets as a line scanner for the secret filter.

Its plugins bring the known token formats (AWS, GitHub, GitLab, Slack, Stripe,
Twilio, SendGrid, npm, PyPI, JWT, Azure, IBM, Discord, Telegram, ...), its keyword
detector with per-file-type rules, its Shannon-entropy scoring of quoted strings
(base64 above 4.5 bits, hex above 3.0) and its false-positive heuristics. They are
used directly, as plugin objects and pure functions: never through the library's
global settings, its baseline machinery or its verification (which would send
candidate secrets over the network).

Every plugin is cheap on its own but not all together, so each runs only on lines
that could hold what it finds: the keyword detector on lines with a secret word
(``secret_rules.GATE``), each token format on lines with its fixed part (``eyJ``,
``xox``, ``AKIA`` ...) or a long enough token-like run, the entropy scoring on
quoted (or, in config syntax, unquoted) runs long enough to pass its limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from detect_secrets.filters import heuristic
from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import BasePlugin
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.cloudant import CloudantDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString, HexHighEntropyString
from detect_secrets.plugins.ibm_cloud_iam import IbmCloudIamDetector
from detect_secrets.plugins.ibm_cos_hmac import IbmCosHmacDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.keyword import (
    QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
    REGEX_BY_FILETYPE,
    KeywordDetector,
)
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.softlayer import SoftlayerDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector
from detect_secrets.util.filetype import determine_file_type

from lsp_server.core.secret_lexer import Profile
from lsp_server.core.secret_names import is_placeholder, looks_like_code

Span = tuple[int, int]

# Every token-format plugin of detect-secrets 1.5 except IPPublicDetector (an IP address is not a
# secret), each with the fixed parts one of its formats holds, or LONG: a run of 23 or more token
# characters (the shortest of its formats without a fixed part).
LONG = ""
FORMAT_PLUGINS: tuple[tuple[type[BasePlugin], tuple[str, ...]], ...] = (
    (ArtifactoryDetector, ("AKC", "AP")),
    (AWSKeyDetector, ("AKIA", "ASIA", "ABIA", "ACCA", "A3T", LONG)),
    (AzureStorageKeyDetector, ("AccountKey",)),
    (BasicAuthDetector, ("://",)),
    (CloudantDetector, ("cloudant", LONG)),
    (DiscordBotTokenDetector, (LONG,)),
    (GitHubTokenDetector, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    (GitLabTokenDetector, (LONG,)),
    (IbmCloudIamDetector, (LONG,)),
    (IbmCosHmacDetector, (LONG,)),
    (JwtTokenDetector, ("eyJ",)),
    (MailchimpDetector, ("-us",)),
    (NpmDetector, ("_authToken",)),
    (OpenAIDetector, ("T3BlbkFJ",)),
    (PypiTokenDetector, ("pypi-",)),
    (SendGridDetector, ("SG.",)),
    (SlackDetector, ("xox", "XOX", "hooks.slack.com")),
    (SoftlayerDetector, (LONG,)),
    (SquareOAuthDetector, ("sq0csp-",)),
    (StripeDetector, ("k_live_",)),
    (TelegramBotTokenDetector, (LONG,)),
    (TwilioKeyDetector, (LONG,)),
)
_LONG_RUN = re.compile(r"[A-Za-z0-9_\-+/]{23,}")
_FIXED_PARTS = re.compile("|".join(sorted({re.escape(part) for _, parts in FORMAT_PLUGINS for part in parts if part},
                                          key=len, reverse=True)))
_QUOTED_RUN = re.compile(r"(?P<q>[\"'`])(?P<v>[A-Za-z0-9+/=_\-]{9,})(?P=q)")
_CONFIG_VALUE = re.compile(r"[=:][ \t]*(?P<v>[A-Za-z0-9+/=_\-]{16,})[ \t]*[\r]?$")
_KEYWORD_WINDOW = 200  # the keyword detector sees at most this many characters at a time ...
_KEYWORD_WINDOWS = 4  # ... in at most this many windows per line
_LIBRARY_WORDS = re.compile(r"pass|pwd|secret|key|contrase")  # the keyword detector's words, lower-cased
_COMMENT_TAIL = re.compile(r"[ \t]+(?:#|;|//)")
_IDENTIFIER = re.compile(r"^[A-Za-z_][\w.]*$")


class LibraryScanner:
    """detect-secrets' plugins and filters, applied to one line at a time."""

    def __init__(self) -> None:
        self._by_part: dict[str, list[BasePlugin]] = {}
        for plugin_type, parts in FORMAT_PLUGINS:
            plugin = plugin_type()
            for part in parts:
                self._by_part.setdefault(part, []).append(plugin)
        self._keyword = KeywordDetector()
        self._base64 = Base64HighEntropyString(limit=4.5)
        self._hex = HexHighEntropyString(limit=3.0)
        self._entropy = tuple((plugin, frozenset(plugin.charset)) for plugin in (self._base64, self._hex))
        self._key_headers = tuple(PrivateKeyDetector.denylist)
        self._keyword_rules: dict[str, dict[re.Pattern[str], int]] = {}

    def private_key_header(self, line: str) -> int | None:
        """Where a private key's body starts on ``line`` (after its header), if it has one."""
        if "PRIVATE KEY" not in line and "PuTTY" not in line:
            return None
        for pattern in self._key_headers:
            match = pattern.search(line)
            if match is not None:
                dashes = line.find("-----", match.end())
                return dashes + 5 if dashes >= 0 else len(line)
        return None

    def spans(self, line: str, low: str, profile: Profile, *, keyword: bool) -> list[Span]:
        """What detect-secrets finds on ``line`` (``low``: lower-cased; ``keyword``: it has a secret word)."""
        found: list[str] = []
        if keyword:
            found.extend(self._keywords(line, profile))
        parts = {match.group(0) for match in _FIXED_PARTS.finditer(line)}
        if _LONG_RUN.search(line) is not None:
            parts.add(LONG)
        if parts:
            plugins = {id(p): p for part in parts for p in self._by_part[part]}
            for plugin in plugins.values():
                found.extend(value for value in plugin.analyze_string(line) if _keep(value, line, plugin))
        if "'" in line or '"' in line or "`" in line or not profile.code:
            found.extend(self._high_entropy(line, profile))
        return list(_occurrences(line, found)) if found else []

    def _keywords(self, line: str, profile: Profile) -> Iterator[str]:
        rules = self._keyword_rules.get(profile.filename)
        if rules is None:
            rules = REGEX_BY_FILETYPE.get(determine_file_type(profile.filename),
                                          QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
            self._keyword_rules[profile.filename] = rules
        for value in self._keyword_values(line, rules):
            if not profile.code:
                value = _COMMENT_TAIL.split(value, 1)[0].rstrip()
            if not _keep(value, line, self._keyword) or is_placeholder(value):
                continue
            at = line.find(value)
            quoted = at > 0 and line[at - 1] in "\"'`"
            # (detect-secrets' own is_indirect_reference filter backtracks for seconds on some lines: this
            # is its job, on the value alone: secret = get_secret_key(), password = request.headers[...])
            if not quoted and (looks_like_code(value, dotted_is_code=profile.code)
                               or profile.code and _IDENTIFIER.match(value)):
                continue  # password = other_variable
            yield value

    def _keyword_values(self, line: str, rules: dict[re.Pattern[str], int]) -> Iterator[str]:
        """The keyword detector's values: on the line, or on a few windows around its words
        when the line is long (its expressions backtrack badly on long lines)."""
        if len(line) <= _KEYWORD_WINDOW:
            yield from self._keyword.analyze_string(line, denylist_regex_to_group=rules)
            return
        done = -1
        for count, hit in enumerate(_LIBRARY_WORDS.finditer(line.lower())):
            if count >= _KEYWORD_WINDOWS or hit.start() < done:
                break
            start = max(0, hit.start() - 40)
            done = start + _KEYWORD_WINDOW
            yield from self._keyword.analyze_string(line[start:done], denylist_regex_to_group=rules)

    def _high_entropy(self, line: str, profile: Profile) -> Iterator[str]:
        candidates = [m.group("v") for m in _QUOTED_RUN.finditer(line)]
        if not profile.code and (m := _CONFIG_VALUE.search(line)) is not None:
            candidates.append(m.group("v"))
        for value in candidates:
            distinct = len(set(value))
            for plugin, charset in self._entropy:
                # n distinct characters carry at most log2(n) bits: fewer than 2**limit cannot pass
                if (distinct > 2 ** plugin.entropy_limit and charset.issuperset(value)
                        and plugin.calculate_shannon_entropy(value) > plugin.entropy_limit
                        and _keep(value, line, plugin) and not heuristic.is_potential_uuid(value)
                        and not heuristic.is_likely_id_string(value, line, plugin)):
                    yield value
                    break


def _keep(value: str, line: str, plugin: BasePlugin) -> bool:
    """detect-secrets' own false-positive filters (the ones that need no file or settings)."""
    return bool(value) and not (
        heuristic.is_sequential_string(value)
        or heuristic.is_templated_secret(value)
        or heuristic.is_prefixed_with_dollar_sign(value)
        or heuristic.is_not_alphanumeric_string(value)
        or "<redacted>" in value
    )


def _occurrences(line: str, values: Iterable[str]) -> Iterator[Span]:
    for value in set(values):
        if len(value) < 3:
            continue
        at = line.find(value)
        while at >= 0:
            yield at, at + len(value)
            at = line.find(value, at + len(value))
