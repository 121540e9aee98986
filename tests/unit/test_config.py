"""Settings resolution: precedence, spellings, bad values, project files."""

from __future__ import annotations

import json
from pathlib import Path

from lsp_server.config import DEFAULT_ENDPOINT, load_settings


def test_defaults(tmp_path: Path) -> None:
    settings, problems = load_settings(None, root=tmp_path, environ={})
    assert settings.endpoint == DEFAULT_ENDPOINT
    assert settings.model == "mistralai/Mistral-Small-3.2-24B-Instruct-2506"
    assert settings.temperature == 0.15 and settings.api_key is None
    assert problems == []


def test_precedence_editor_over_environment_over_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.mistral-lsp]\nendpoint = "http://project:1/v1"\nmodel = "project-model"\n'
        'completion = { debounce-ms = 10, max_tokens_line = 32 }\n'
    )
    environ = {"MISTRAL_LSP_ENDPOINT": "http://env:2/v1", "MISTRAL_LSP_MODEL": "env-model"}
    editor = {"mistralLsp": {"model": "editor-model"}}
    settings, problems = load_settings(editor, root=tmp_path, environ=environ)
    assert settings.model == "editor-model"
    assert settings.endpoint == "http://env:2/v1"
    assert settings.debounce_ms == 10 and settings.max_tokens_line == 32
    assert problems == []


def test_dot_file_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.mistral-lsp]\nmodel = "a"\n')
    (tmp_path / ".mistral-lsp.toml").write_text('model = "b"\n')
    assert load_settings(None, root=tmp_path, environ={})[0].model == "b"


def test_invalid_values_fall_back_to_the_next_layer_with_a_message(tmp_path: Path) -> None:
    editor = {"endpoint": "ftp://nope", "completion": {"temperature": 9, "debounceMs": "x"}, "bogus": 1}
    settings, problems = load_settings(editor, root=tmp_path, environ={"MISTRAL_LSP_ENDPOINT": "http://h:3/v1"})
    assert settings.endpoint == "http://h:3/v1"
    assert settings.temperature == 0.15 and settings.debounce_ms == 75
    text = " | ".join(problems)
    assert "endpoint" in text and "temperature" in text and "debounceMs" in text and "bogus" in text


def test_broken_project_file_is_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / ".mistral-lsp.toml").write_text("this is = = not toml")
    settings, problems = load_settings(None, root=tmp_path, environ={})
    assert settings.endpoint == DEFAULT_ENDPOINT
    assert problems and ".mistral-lsp.toml" in problems[0]


def test_api_key_never_in_describe_or_repr(tmp_path: Path) -> None:
    settings, _ = load_settings(None, root=tmp_path, environ={"MISTRAL_LSP_API_KEY": "sk-secret-value-123"})
    assert settings.api_key == "sk-secret-value-123"
    assert "sk-secret" not in repr(settings)
    assert "sk-secret" not in str(settings.describe())


def test_cache_dir_from_environment(tmp_path: Path) -> None:
    settings, _ = load_settings(None, root=tmp_path, environ={"MISTRAL_LSP_CACHE_DIR": str(tmp_path / "c")})
    assert settings.cache_dir == tmp_path / "c"


def test_every_setting_is_documented() -> None:
    """docs/configuration.md has a row for every setting the server reads (and its env var)."""
    from pathlib import Path

    from lsp_server.config import _SPECS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [spec.keys[0] for spec in _SPECS if f"`{spec.keys[0]}`" not in doc]
    missing += [spec.env for spec in _SPECS if spec.env and f"`{spec.env}`" not in doc]
    assert missing == [], f"not in docs/configuration.md: {missing}"


def test_problems_name_the_key_as_written_the_value_and_the_expected_type(tmp_path: Path) -> None:
    (tmp_path / ".mistral-lsp.toml").write_text(
        '[review]\nmax-tokens = "lots"\nmin_severity = 3\n[completion]\ndebounce-ms = 1.5\ntemperature = "hot"\n')
    environ = {"MISTRAL_LSP_REVIEW_CONCURRENCY": "lots", "MISTRAL_LSP_ENDPOINT": "localhost:8000"}
    settings, problems = load_settings({"mistralLsp": {"cacheDir": 7, "logLevel": "loud"}}, root=tmp_path,
                                       environ=environ)
    assert sorted(problems) == sorted([
        'environment: MISTRAL_LSP_REVIEW_CONCURRENCY = "lots": expected a whole number from 1 to 64',
        'environment: MISTRAL_LSP_ENDPOINT = "localhost:8000": expected an http(s) URL such as '
        "http://127.0.0.1:8000/v1",
        '.mistral-lsp.toml: review.max-tokens = "lots": expected a whole number from 64 to 16384',
        ".mistral-lsp.toml: review.min_severity = 3: expected one of error, warning, info, hint",
        ".mistral-lsp.toml: completion.debounce-ms = 1.5: expected a whole number from 0 to 5000",
        '.mistral-lsp.toml: completion.temperature = "hot": expected a number from 0 to 2',
        "editor settings: cacheDir = 7: expected a folder path",
        'editor settings: logLevel = "loud": expected one of debug, info, warning, error',
    ])
    text = "\n".join(problems)
    assert "could not convert" not in text and "ignored" not in text  # what happens next is the caller's to say
    assert settings.review_concurrency == 4 and settings.debounce_ms == 75  # the next layer (here the default)


def test_unknown_keys_suggest_the_closest_known_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.mistral-lsp]\nendpont = "http://h:1/v1"\n[tool.mistral-lsp.review]\nconcurency = 2\n'
        'max_tool_calls = 3\n[tool.mistral-lsp.completion]\nconcurrency = 3\nbanana = 1\n')
    _, problems = load_settings({"review": {"minSeverty": "error"}}, root=tmp_path, environ={})
    assert sorted(problems) == sorted([
        "pyproject.toml [tool.mistral-lsp]: unknown setting 'endpont' (did you mean 'endpoint'?)",
        "pyproject.toml [tool.mistral-lsp]: unknown setting 'review.concurency' (did you mean 'review.concurrency'?)",
        "pyproject.toml [tool.mistral-lsp]: unknown setting 'completion.concurrency' "
        "(did you mean 'review.concurrency'?)",
        "pyproject.toml [tool.mistral-lsp]: unknown setting 'completion.banana'",
        "editor settings: unknown setting 'review.minSeverty' (did you mean 'review.minSeverity'?)",
    ])  # review.max_tool_calls is a known key in another spelling: no problem


def test_integers_must_be_whole_and_numbers_finite(tmp_path: Path) -> None:
    good, problems = load_settings({"review": {"concurrency": "8", "maxTokens": 512.0}}, root=tmp_path, environ={})
    assert problems == [] and good.review_concurrency == 8 and good.review_max_tokens == 512
    for bad in (2.5, "2.5", True, "nan", "inf", [4], None, ""):
        _, problems = load_settings({"review": {"concurrency": bad}}, root=tmp_path, environ={})
        assert problems == [f"editor settings: review.concurrency = {json.dumps(bad)}: expected a whole number "
                            "from 1 to 64"], bad


def test_sources_record_where_each_setting_came_from(tmp_path: Path) -> None:
    (tmp_path / ".mistral-lsp.toml").write_text('model = "m"\n')
    settings, _ = load_settings({"completion": {"debounceMs": 10}}, root=tmp_path,
                                environ={"MISTRAL_LSP_ENDPOINT": "http://h:1/v1"})
    assert dict(settings.sources) == {"endpoint": "environment", "model": ".mistral-lsp.toml",
                                      "debounce_ms": "editor settings"}
    assert settings.given == {"endpoint", "model", "debounce_ms"}
    assert "sources" not in settings.describe()


def test_review_if_unreachable_setting(tmp_path: Path) -> None:
    assert load_settings(None, root=tmp_path, environ={})[0].review_if_unreachable == "fail"
    warn, problems = load_settings(None, root=tmp_path, environ={"MISTRAL_LSP_REVIEW_IF_UNREACHABLE": "WARN"})
    assert warn.review_if_unreachable == "warn" and problems == []
    _, problems = load_settings({"review": {"ifUnreachable": "pass"}}, root=tmp_path, environ={})
    assert problems == ['editor settings: review.ifUnreachable = "pass": expected one of fail, warn']


def test_vscode_setting_defaults_are_the_servers() -> None:
    """Every setting the VS Code extension contributes that the server reads has the server's default
    (``""`` for a text setting means "not set here": the server's own default or another layer applies),
    so a user who never touched a setting gets the same behaviour from VS Code, Neovim and the CLI."""
    import json
    from dataclasses import fields
    from pathlib import Path

    from lsp_server.config import _SPECS, Settings, _wire_key

    package = json.loads((Path(__file__).resolve().parents[2] / "editor-clients" / "vscode" / "package.json")
                         .read_text(encoding="utf-8"))
    sections = package["contributes"]["configuration"]
    properties = {k: v for section in (sections if isinstance(sections, list) else [sections])
                  for k, v in section["properties"].items()}
    by_key = {_wire_key(key): spec for spec in _SPECS for key in spec.keys}
    defaults = {f.name: f.default for f in fields(Settings)}
    compared, wrong = 0, []
    for name, prop in properties.items():
        spec = by_key.get(_wire_key(name.removeprefix("mistralLSP.")))
        if spec is None or "default" not in prop:
            continue
        compared += 1
        theirs, ours = prop["default"], defaults[spec.name]
        if theirs == "" and isinstance(ours, str):
            continue
        if spec.check(theirs) != ours:  # read as the server reads it (e.g. a log level's case)
            wrong.append(f"{name}: package.json {prop['default']!r}, config.py {ours!r}")
    assert wrong == []
    assert compared >= 15  # the comparison ran over the extension's server settings
