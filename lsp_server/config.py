"""Wire options -> resolved Settings.

Options arrive from four layers; each setting is taken from the highest layer that
gives a *valid* value (an invalid one is reported and the next layer is used):

    editor (initializationOptions / workspace/configuration ``mistralLsp``)
      > environment (``MISTRAL_LSP_*``)
      > project file (``[tool.mistral-lsp]`` in pyproject.toml, or ``.mistral-lsp.toml``)
      > built-in defaults

Keys are matched case-insensitively with ``-`` and ``_`` ignored, so ``debounceMs``,
``debounce_ms`` and ``debounce-ms`` are the same key. Nested tables (``completion``)
and dotted flat keys (``completion.debounceMs``) both work.

A problem is described, not judged: the source, the key as the user wrote it, the
value, what was expected, and for an unknown key the closest known one ("did you
mean"). What happens next is the caller's to say: the editor uses the next layer's
value and tells the user once; ``mistral-lsp review`` refuses to run (exit 2).
``Settings.sources`` tells which layer gave each setting that was not a default.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlparse

from lsp_server.config_actions import ActionSpec, parse_custom, take_custom

DEFAULT_ENDPOINT = "http://127.0.0.1:8000/v1"
DEFAULT_MODEL = "mistralai/Mistral-Small-3.2-24B-Instruct-2506"
REVIEW_TRIGGERS = ("open", "save", "change", "manual")
PERFORMANCE_LEVELS = ("off", "hint", "info", "warning")
IF_UNREACHABLE = ("fail", "warn")
BACKENDS = ("vllm", "transformers")
DTYPES = ("auto", "bfloat16", "float16", "float32")
DEFAULT_SECRET_GLOBS = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    ".npmrc",
    ".pypirc",
    "*.keystore",
    "credentials.json",
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """Everything the engines need, resolved and validated."""

    endpoint: str = DEFAULT_ENDPOINT
    model: str = DEFAULT_MODEL  # vllm: the served name; transformers: a local folder or a hub id
    backend: str = "vllm"  # "vllm" (an OpenAI-compatible server) or "transformers" (in process)
    device: str = "auto"  # transformers backend: auto, cpu, cuda, cuda:N, mps
    dtype: str = "auto"  # transformers backend: auto, bfloat16, float16, float32
    api_key: str | None = field(default=None, repr=False)
    cache_dir: Path = Path(".")
    completion_enabled: bool = True
    debounce_ms: int = 75
    temperature: float = 0.15
    max_tokens_line: int = 64
    max_tokens_block: int = 256
    context_tokens: int = 3072
    connect_timeout_s: float = 1.5
    completion_timeout_s: float = 8.0
    system_prompt: str | None = None
    priority_enabled: bool = False
    completion_priority: int = 0
    max_file_bytes: int = 4_000_000
    secret_globs: tuple[str, ...] = DEFAULT_SECRET_GLOBS
    log_level: str = "INFO"
    review_enabled: bool = True
    review_triggers: tuple[str, ...] = ("open", "save")
    review_change_debounce_ms: int = 1500
    review_min_severity: str = "info"
    review_concurrency: int = 4
    review_max_tokens: int = 1024
    review_timeout_s: float = 60.0
    review_temperature: float = 0.0
    review_priority: int = 10
    review_max_workspace_files: int = 2000
    index_enabled: bool = True
    index_max_files: int = 5000
    index_max_bytes: int = 100_000_000
    context_cross_file: bool = True
    review_tools: bool = True
    review_tool_calls: int = 6
    review_tool_tokens: int = 4000
    review_if_unreachable: str = "fail"
    review_performance: str = "off"
    actions_enabled: bool = True
    actions_temperature: float = 0.15
    actions_max_tokens: int = 2048
    actions_context_tokens: int = 6144
    actions_timeout_s: float = 120.0
    actions_priority: int = 5
    actions_tests_dir: str | None = None
    actions_custom: tuple[ActionSpec, ...] = ()
    # setting name -> the layer that gave it ("environment", ".mistral-lsp.toml", ...); defaults absent
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    # vision (docs/vision.md): images in Markdown, HTML, JSX and reStructuredText
    vision_enabled: bool = True
    vision_diagnostics: bool = True
    vision_figure_review: bool = True
    vision_max_images: int = 10
    vision_alt_max_chars: int = 125
    vision_site_root: str | None = None
    vision_patch_size: int = 14
    vision_max_image_size: int = 1540
    vision_spatial_merge: int = 2
    vision_max_image_bytes: int = 20_000_000
    vision_max_tokens: int = 400
    vision_timeout_s: float = 60.0

    @property
    def given(self) -> frozenset[str]:
        """The settings a user set somewhere (not defaults)."""
        return frozenset(self.sources)

    def describe(self) -> dict[str, Any]:
        """A loggable view: the API key is reduced to whether one is set."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("api_key", "sources")}
        out["api_key"] = "set" if self.api_key else "unset"
        out["cache_dir"] = str(self.cache_dir)
        out["actions_custom"] = [spec.name for spec in self.actions_custom]
        return out


# -- validators: value -> converted value, or raise ValueError with a reason -------


# The messages say what was expected; the caller shows the key and the value.


def _url(value: Any) -> str:
    text = str(value).strip().rstrip("/")
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("expected an http(s) URL such as http://127.0.0.1:8000/v1")
    return text


def _nonempty(value: Any) -> str:
    text = str(value).strip() if isinstance(value, (str, int, float)) else ""
    if not text:
        raise ValueError("expected a non-empty text")
    return text


def _optional_text(value: Any) -> str | None:
    text = str(value)
    return text if text.strip() else None


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _number(value: Any) -> float | None:
    """``value`` as a finite number (numbers and numeric texts), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _int_range(lo: int, hi: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        number = _number(value)
        if number is None or not number.is_integer() or not lo <= number <= hi:
            raise ValueError(f"expected a whole number from {lo} to {hi}")
        return int(number)

    return check


def _float_range(lo: float, hi: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        number = _number(value)
        if number is None or not lo <= number <= hi:
            raise ValueError(f"expected a number from {lo:g} to {hi:g}")
        return number

    return check


def _path(value: Any) -> Path:
    text = str(value).strip() if isinstance(value, str) else ""
    if not text:
        raise ValueError("expected a folder path")
    return Path(os.path.expanduser(text))


def _globs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = [str(part).strip() for part in value]
    else:
        raise ValueError("expected a list of file patterns (or one comma-separated text)")
    return tuple(item for item in items if item)


def _triggers(value: Any) -> tuple[str, ...]:
    try:
        items = _globs(value)
    except ValueError:
        items = ()
    unknown = [item for item in items if item.lower() not in REVIEW_TRIGGERS]
    if unknown or not items:
        raise ValueError(f"expected a list of {', '.join(REVIEW_TRIGGERS[:-1])}, or manual alone")
    chosen = tuple(dict.fromkeys(item.lower() for item in items))
    if "manual" in chosen and len(chosen) > 1:
        raise ValueError("expected manual alone: it cannot be combined with other triggers")
    return chosen


def _choice(*allowed: str, upper: bool = False) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = str(value).strip().lower() if isinstance(value, str) else ""
        if text not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return text.upper() if upper else text

    return check


_backend = _choice(*BACKENDS)
_performance = _choice(*PERFORMANCE_LEVELS)


def _relative_dir(value: Any) -> str | None:
    text = str(value).strip().replace("\\", "/").strip("/")
    if not text:
        return None
    if text.startswith("~") or os.path.isabs(str(value).strip()) or ".." in text.split("/"):
        raise ValueError("expected a folder inside the workspace, relative to it (such as tests)")
    return text


def _device(value: Any) -> str:
    text = str(value).strip().lower() if isinstance(value, str) else ""
    if text in ("auto", "cpu", "cuda", "mps") or re.fullmatch(r"cuda:\d+", text):
        return text
    raise ValueError("expected one of auto, cpu, cuda, cuda:N, mps")


_DTYPE_ALIASES = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32", "float": "float32"}


def _dtype(value: Any) -> str:
    text = str(value).strip().lower() if isinstance(value, str) else ""
    text = _DTYPE_ALIASES.get(text, text)
    if text not in DTYPES:
        raise ValueError(f"expected one of {', '.join(DTYPES)}")
    return text


_severity = _choice("error", "warning", "info", "hint")
_level = _choice("debug", "info", "warning", "error", upper=True)


@dataclass(frozen=True)
class _Spec:
    name: str  # Settings field
    keys: tuple[str, ...]  # wire keys (dotted for nesting), any spelling
    check: Callable[[Any], Any]
    env: str | None = None


_SPECS: tuple[_Spec, ...] = (
    _Spec("endpoint", ("endpoint",), _url, "MISTRAL_LSP_ENDPOINT"),
    _Spec("model", ("model",), _nonempty, "MISTRAL_LSP_MODEL"),
    _Spec("backend", ("backend",), _backend, "MISTRAL_LSP_BACKEND"),
    _Spec("device", ("transformers.device",), _device, "MISTRAL_LSP_DEVICE"),
    _Spec("dtype", ("transformers.dtype",), _dtype, "MISTRAL_LSP_DTYPE"),
    _Spec("api_key", ("apiKey",), _optional_text, "MISTRAL_LSP_API_KEY"),
    _Spec("cache_dir", ("cacheDir",), _path, "MISTRAL_LSP_CACHE_DIR"),
    _Spec("completion_enabled", ("completion.enable", "completion.enabled"), _bool),
    _Spec("debounce_ms", ("completion.debounceMs",), _int_range(0, 5000), "MISTRAL_LSP_DEBOUNCE_MS"),
    _Spec("temperature", ("completion.temperature",), _float_range(0.0, 2.0)),
    _Spec("max_tokens_line", ("completion.maxTokensLine",), _int_range(1, 1024)),
    _Spec("max_tokens_block", ("completion.maxTokensBlock",), _int_range(1, 4096)),
    _Spec("context_tokens", ("completion.contextTokens",), _int_range(256, 120_000)),
    _Spec("completion_timeout_s", ("completion.timeoutSeconds",), _float_range(0.5, 120.0)),
    _Spec("connect_timeout_s", ("connectTimeoutSeconds",), _float_range(0.1, 30.0), "MISTRAL_LSP_CONNECT_TIMEOUT"),
    _Spec("system_prompt", ("completion.systemPrompt",), _optional_text),
    _Spec("priority_enabled", ("priority.enable", "priority.enabled"), _bool),
    _Spec("completion_priority", ("priority.completion",), _int_range(-1000, 1000)),
    _Spec("max_file_bytes", ("maxFileBytes",), _int_range(1_000, 200_000_000)),
    _Spec("secret_globs", ("secretPatterns",), _globs),
    _Spec("log_level", ("logLevel",), _level, "MISTRAL_LSP_LOG_LEVEL"),
    _Spec("review_enabled", ("review.enable", "review.enabled"), _bool),
    _Spec("review_triggers", ("review.triggers",), _triggers, "MISTRAL_LSP_REVIEW_TRIGGERS"),
    _Spec("review_change_debounce_ms", ("review.changeDebounceMs",), _int_range(100, 60_000)),
    _Spec("review_min_severity", ("review.minSeverity",), _severity),
    _Spec("review_concurrency", ("review.concurrency",), _int_range(1, 64), "MISTRAL_LSP_REVIEW_CONCURRENCY"),
    _Spec("review_max_tokens", ("review.maxTokens",), _int_range(64, 16_384)),
    _Spec("review_timeout_s", ("review.timeoutSeconds",), _float_range(1.0, 600.0)),
    _Spec("review_temperature", ("review.temperature",), _float_range(0.0, 2.0)),
    _Spec("review_priority", ("priority.review",), _int_range(-1000, 1000)),
    _Spec("review_max_workspace_files", ("review.maxWorkspaceFiles",), _int_range(1, 1_000_000)),
    _Spec("index_enabled", ("index.enable", "index.enabled"), _bool, "MISTRAL_LSP_INDEX"),
    _Spec("index_max_files", ("index.maxFiles",), _int_range(1, 1_000_000)),
    _Spec("index_max_bytes", ("index.maxBytes",), _int_range(100_000, 10_000_000_000)),
    _Spec("context_cross_file", ("completion.crossFileContext",), _bool),
    _Spec("review_tools", ("review.tools",), _bool, "MISTRAL_LSP_REVIEW_TOOLS"),
    _Spec("review_tool_calls", ("review.maxToolCalls",), _int_range(0, 50)),
    _Spec("review_tool_tokens", ("review.maxToolTokens",), _int_range(0, 100_000)),
    _Spec("review_if_unreachable", ("review.ifUnreachable",), _choice(*IF_UNREACHABLE),
          "MISTRAL_LSP_REVIEW_IF_UNREACHABLE"),
    _Spec("vision_enabled", ("vision.enable", "vision.enabled"), _bool, "MISTRAL_LSP_VISION"),
    _Spec("vision_diagnostics", ("vision.diagnostics",), _bool),
    _Spec("vision_figure_review", ("vision.figureReview",), _bool),
    _Spec("vision_max_images", ("vision.maxImagesPerRequest",), _int_range(1, 64), "MISTRAL_LSP_VISION_MAX_IMAGES"),
    _Spec("vision_alt_max_chars", ("vision.altTextMaxChars",), _int_range(20, 1000)),
    _Spec("vision_site_root", ("vision.siteRoot",), _optional_text),
    _Spec("vision_patch_size", ("vision.patchSize",), _int_range(1, 256)),
    _Spec("vision_max_image_size", ("vision.maxImageSize",), _int_range(16, 16_384)),
    _Spec("vision_spatial_merge", ("vision.spatialMergeSize",), _int_range(1, 8)),
    _Spec("vision_max_image_bytes", ("vision.maxImageBytes",), _int_range(1_000, 500_000_000)),
    _Spec("vision_max_tokens", ("vision.maxTokens",), _int_range(16, 4096)),
    _Spec("vision_timeout_s", ("vision.timeoutSeconds",), _float_range(1.0, 600.0)),
    _Spec("review_performance", ("review.performance",), _performance),
    _Spec("actions_enabled", ("actions.enable", "actions.enabled"), _bool),
    _Spec("actions_temperature", ("actions.temperature",), _float_range(0.0, 2.0)),
    _Spec("actions_max_tokens", ("actions.maxTokens",), _int_range(64, 16_384)),
    _Spec("actions_context_tokens", ("actions.contextTokens",), _int_range(512, 120_000)),
    _Spec("actions_timeout_s", ("actions.timeoutSeconds",), _float_range(1.0, 600.0)),
    _Spec("actions_priority", ("priority.actions",), _int_range(-1000, 1000)),
    _Spec("actions_tests_dir", ("actions.testsDir",), _relative_dir),
)


def _norm(key: str) -> str:
    return key.replace("-", "").replace("_", "").lower()


def _wire_key(key: str) -> str:
    return ".".join(_norm(part) for part in key.split("."))


def _flatten(options: Mapping[str, Any], prefix: str = "", written: str = "",
             names: dict[str, str] | None = None) -> dict[str, Any]:
    """Nested or dotted option tables -> {normalised.dotted.key: value}; ``names`` gets
    each normalised key's spelling as written (``review.maxTokens``)."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        dotted = f"{prefix}.{_wire_key(str(key))}" if prefix else _wire_key(str(key))
        as_written = f"{written}.{key}" if written else str(key)
        if isinstance(value, Mapping):
            out.update(_flatten(value, dotted, as_written, names))
        else:
            out[dotted] = value
            if names is not None:
                names[dotted] = as_written
    return out


@dataclass(frozen=True)
class Layer:
    """One source of options: a name for messages, its flattened values, and each key as written."""

    name: str
    values: Mapping[str, Any]
    written: Mapping[str, str] = field(default_factory=dict)
    custom: Any = None  # the layer's ``actions.custom`` (the user's AI actions), unparsed

    def key_as_written(self, key: str) -> str:
        return self.written.get(key, key)

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any] | None) -> Layer:
        if not isinstance(options, Mapping):
            return cls(name, {})
        # editors may wrap the section: {"mistralLsp": {...}}
        for key in list(options):
            if _norm(str(key)) == "mistrallsp" and isinstance(options[key], Mapping):
                options = options[key]
                break
        rest, custom = take_custom(options)
        names: dict[str, str] = {}
        return cls(name, _flatten(rest, names=names), names, custom)


def environment_layer(environ: Mapping[str, str]) -> Layer:
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for spec in _SPECS:
        if spec.env and environ.get(spec.env, "") != "":
            values[_wire_key(spec.keys[0])] = environ[spec.env]
            names[_wire_key(spec.keys[0])] = spec.env
    return Layer("environment", values, names)


def project_layer(root: Path | None) -> tuple[Layer, list[str]]:
    """``.mistral-lsp.toml`` (wins) or ``[tool.mistral-lsp]`` in pyproject.toml."""
    if root is None:
        return Layer("project file", {}), []
    problems: list[str] = []
    for candidate, table in ((root / ".mistral-lsp.toml", None), (root / "pyproject.toml", "tool")):
        if not candidate.is_file():
            continue
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            problems.append(f"{candidate.name}: cannot be read as TOML ({exc})")
            continue
        name = candidate.name
        if table == "tool":
            tool = data.get("tool", {})
            section = tool.get("mistral-lsp") if isinstance(tool, Mapping) else None
            if section is None:
                continue
            if not isinstance(section, Mapping):
                problems.append(f"{candidate.name}: [tool.mistral-lsp] is not a table")
                continue
            data, name = section, f"{candidate.name} [tool.mistral-lsp]"
        rest, custom = take_custom(data)
        names: dict[str, str] = {}
        return Layer(name, _flatten(rest, names=names), names, custom), problems
    return Layer("project file", {}), problems


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mistral-lsp", appauthor=False))


def _shown_value(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _closest(key: str, known: Mapping[str, str]) -> str | None:
    """The documented spelling of the known key closest to ``key`` (both normalised): its last
    part must be close (a typo, or the right name in the wrong table); the whole key breaks ties."""
    leaf = key.rsplit(".", 1)[-1]
    best, best_score = None, 0.0
    for candidate, shown in known.items():
        near = difflib.SequenceMatcher(None, leaf, candidate.rsplit(".", 1)[-1]).ratio()
        if near < 0.75:
            continue
        score = near + difflib.SequenceMatcher(None, key, candidate).ratio()
        if score > best_score:
            best, best_score = shown, score
    return best


def resolve(layers: list[Layer], base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Resolve settings from layers listed highest precedence first.

    Returns the settings and human-readable problems (unknown keys, invalid values),
    each naming the source, the key as written, the value and what was expected.
    """
    base = base or Settings(cache_dir=default_cache_dir())
    problems: list[str] = []
    chosen: dict[str, Any] = {}
    sources: dict[str, str] = {}
    known: dict[str, str] = {}  # normalised wire key -> documented spelling
    for spec in _SPECS:
        wire_keys = {_wire_key(key) for key in spec.keys}
        known.update({key: spec.keys[0] for key in wire_keys})
        for layer in layers:
            hit = next((k for k in wire_keys if k in layer.values), None)
            if hit is None:
                continue
            raw = layer.values[hit]
            try:
                chosen[spec.name] = spec.check(raw)
                sources[spec.name] = layer.name
                break
            except (ValueError, TypeError) as exc:
                shown = "<hidden>" if spec.name == "api_key" else _shown_value(raw)
                problems.append(f"{layer.name}: {layer.key_as_written(hit)} = {shown}: {exc}")
    for layer in layers:
        for key in layer.values:
            if key not in known:
                near = _closest(key, known)
                hint = f" (did you mean {near!r}?)" if near else ""
                problems.append(f"{layer.name}: unknown setting {layer.key_as_written(key)!r}{hint}")
    custom, more = _custom_actions(layers)
    problems += more
    settings = replace(base, **chosen, sources=MappingProxyType(sources), actions_custom=custom)
    if settings.max_tokens_block < settings.max_tokens_line:
        problems.append(f"completion.maxTokensBlock ({settings.max_tokens_block}) is below "
                        f"completion.maxTokensLine ({settings.max_tokens_line}): expected at least as many")
        settings = replace(settings, max_tokens_block=settings.max_tokens_line)
    return settings, problems


def _custom_actions(layers: list[Layer]) -> tuple[tuple[ActionSpec, ...], list[str]]:
    """The user's AI actions of every layer; a higher layer's action replaces a lower one's of the
    same name."""
    from lsp_server.editor_languages import nvim_filetypes, vscode_language_ids
    from lsp_server.syntax.languages import LANGUAGE_IDS

    known = frozenset([*LANGUAGE_IDS, *vscode_language_ids(), *nvim_filetypes()])
    by_name: dict[str, ActionSpec] = {}
    problems: list[str] = []
    for layer in reversed(layers):
        specs, found = parse_custom(layer.custom, layer.name, known)
        problems += found
        by_name.update((spec.name, spec) for spec in specs)
    return tuple(by_name.values()), problems


def load_settings(
    editor_options: Mapping[str, Any] | None = None,
    *,
    root: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[Settings, list[str]]:
    """The full resolution: editor > environment > project file > defaults."""
    project, problems = project_layer(root)
    layers = [
        Layer.from_options("editor settings", editor_options),
        environment_layer(os.environ if environ is None else environ),
        project,
    ]
    settings, more = resolve(layers)
    return settings, problems + more
