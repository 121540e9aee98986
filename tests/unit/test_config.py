"""Settings resolution: precedence, spellings, bad values, project files."""

from __future__ import annotations

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
