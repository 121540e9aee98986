"""The secret filter: credentials masked, secret files recognised, code left alone."""

from __future__ import annotations

import pytest

from lsp_server.config import DEFAULT_SECRET_GLOBS
from lsp_server.core.secrets import MASK, SecretFilter

F = SecretFilter(DEFAULT_SECRET_GLOBS)


@pytest.mark.parametrize(
    "secret",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a" * 36,
        "sk-proj-" + "Ab1" * 10,
        "xoxb-1234567890-abcdefghij",
        "AIza" + "B" * 35,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
        "sk_live_" + "9" * 24,
    ],
)
def test_token_shapes_are_masked(secret: str) -> None:
    out = F.mask(f"x = call('{secret}')\n")
    assert secret not in out and MASK in out


def test_private_key_block_is_masked() -> None:
    text = "KEY = '''-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----'''\n"
    out = F.mask(text)
    assert "MIIEpAIBAAKCAQEA" not in out and MASK in out


def test_assignments_mask_only_the_value() -> None:
    out = F.mask('db_password = "correct-horse-battery"\napi_key: "abcdef123456"\n')
    assert "correct-horse" not in out and "abcdef123456" not in out
    assert out.startswith('db_password = "<redacted>"')


def test_placeholders_and_code_are_left_alone() -> None:
    code = 'token = os.environ["TOKEN"]\npassword = "${DB_PASSWORD}"\nname = "hello world"\n'
    assert F.mask(code) == code


def test_url_credentials() -> None:
    out = F.mask("url = 'postgres://admin:s3cr3tpass@db:5432/x'")
    assert "s3cr3tpass" not in out


@pytest.mark.parametrize("path", ["/w/.env", "/w/.env.local", "/w/key.pem", "/home/u/.ssh/id_rsa", "/w/id_ed25519.pub"])
def test_secret_paths(path: str) -> None:
    assert F.is_secret_path(path)


@pytest.mark.parametrize("path", ["/w/env.py", "/w/main.go", "/w/README.md"])
def test_ordinary_paths(path: str) -> None:
    assert not F.is_secret_path(path)
