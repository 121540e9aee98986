"""The secret filter: credentials masked in every form and file kind, code left alone,
line structure and columns kept, secret files recognised."""

from __future__ import annotations

import pytest

from lsp_server.config import DEFAULT_SECRET_GLOBS
from lsp_server.core.secrets import MASK, MaskedLine, SecretFilter
from tests.secret_corpus import ALL, CorpusFile

F = SecretFilter(DEFAULT_SECRET_GLOBS)


# -- the corpus: every language and file format ------------------------------------------
@pytest.mark.parametrize("corpus", ALL, ids=lambda c: c.name)
def test_corpus_is_masked_and_keeps_its_lines(corpus: CorpusFile) -> None:
    out = SecretFilter().mask(corpus.text, corpus.name)
    assert out.count("\n") == corpus.text.count("\n")
    assert [s for s in corpus.secrets if s in out] == []
    assert [k for k in corpus.kept if k not in out] == []
    assert out.count(MASK) >= len(corpus.secrets) // 2  # masks replace values, not whole files


@pytest.mark.parametrize("corpus", ALL, ids=lambda c: c.name)
def test_corpus_masks_the_same_in_every_shape(corpus: CorpusFile) -> None:
    lines = corpus.text.split("\n")
    whole = F.mask(corpus.text, corpus.name)
    assert F.mask_lines(lines, corpus.name) == whole.split("\n")
    assert [m.text for m in F.mask_mapped(lines, corpus.name)] == whole.split("\n")
    assert F.mask(whole, corpus.name) == whole  # masking masked text changes nothing
    crlf = F.mask(corpus.text.replace("\n", "\r\n"), corpus.name)
    assert crlf == whole.replace("\n", "\r\n")


# -- the forms that leaked (issue 12, item 10), and their neighbours ----------------------
LEAKED = [
    ("a.py", 'api_token: str = "{s}"'),
    ("a.py", 'password = "two words {s}"'),
    ("a.py", 'db_password = f"{{host}}-{s}"'),
    ("a.py", 'os.environ["API_KEY"] = "{s}"'),
    ("a.py", "# AWS_SECRET_ACCESS_KEY={s}"),
    ("a.py", 'session.headers.update({{"Authorization": "Token {s}"}})'),
    ("a.py", 'DEFAULT_PASSPHRASE = "{s}"'),
    ("a.py", 'def make_client(passphrase: str = "{s}"):'),
    ("a.py", 'client = Client(api_key="{s}", retries=3)'),
    ("a.py", "    password: {s}"),  # YAML in a docstring (a line of its own: generic reading)
    ("a.js", 'const opts = {{ "x-api-key": "{s}" }};'),
    ("a.js", 'const apiKey = `{s}`;'),
    ("a.ts", 'let token: string | undefined = "{s}";'),
    ("a.ts", 'class A {{ private secret = "{s}"; }}'),
    ("a.go", 'password := "{s}"'),
    ("a.go", "\tcfg := Config{{Secret: \"{s}\"}}"),
    ("a.go", 'const DBPassword = `{s}`'),
    ("a.rs", 'let token = "{s}".to_string();'),
    ("a.rs", 'pub const AUTH_TOKEN: &str = "{s}";'),
    ("a.java", 'final String apiKey = "{s}";'),
    ("a.java", 'headers.put("Authorization", "Bearer {s}");'),
    ("a.java", 'if ("{s}".equals(password)) {{'),
    ("a.js", 'if ("{s}" === user.token) {{'),
    ("a.toml", 'db = {{ password = "{s}", host = "h" }}'),
    ("a.go", "const (\n\tAPIKey = \"{s}\"\n)"),
    ("a.rb", 'ENV["API_KEY"] ||= "{s}"'),
    ("a.js", 'const {{ password = "{s}" }} = opts;'),
    ("a.c", 'const char *api_key = "{s}";'),
    ("a.cpp", 'std::string password{{"{s}"}};'),
    ("a.cs", 'private const string ClientSecret = "{s}";'),
    ("a.rb", 'config.access_token = "{s}"'),
    ("a.php", "$config['db_password'] = '{s}';"),
    ("a.php", "'password' => '{s}',"),
    ("a.kt", 'val apiKey: String = "{s}"'),
    ("a.swift", 'let secretKey = "{s}"'),
    ("a.sh", "export STRIPE_SECRET={s}"),
    ("a.sh", 'curl -u "admin:{s}" -H "Authorization: Bearer {s}" https://x'),
    ("a.yaml", "  auth_token: {s}"),
    ("a.yml", '- password: "{s}"'),
    ("a.toml", 'secret_key = "{s}"'),
    ("a.ini", "db_pass={s}"),
    ("a.cfg", "password: {s}"),
    ("a.json", '{{"client_secret":"{s}"}}'),
    ("a.properties", "mail.smtp.password={s}"),
    ("a.env", "SECRET_KEY={s}"),
    ("notes.md", "Use `TOKEN={s}` here."),
    ("a.tf", 'password = "{s}"'),
    ("a.sql", "CREATE USER app WITH PASSWORD '{s}';"),
    ("", "password={s}"),
    ("", 'postgres://user:{s}@host/db'),
]


@pytest.mark.parametrize(("path", "template"), LEAKED)
def test_assignment_forms_mask_the_value(path: str, template: str) -> None:
    secret = "Qz7-unique-VALUE-81"
    line = template.format(s=secret)
    out = SecretFilter().mask(line, path)
    assert secret not in out and MASK in out
    assert "Qz7" not in out and "VALUE-81" not in out  # nothing of it, not even a part


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("a.py", 'token = os.environ["TOKEN"]'),
        ("a.py", 'password = os.environ.get("DB_PASSWORD", "")'),
        ("a.py", 'password = "${DB_PASSWORD}"'),
        ("a.py", 'api_key = "<your api key>"'),
        ("a.py", 'API_KEY = "changeme"'),
        ("a.py", 'password = ""'),
        ("a.py", 'secret = "********"'),
        ("a.py", "password = get_password()"),
        ("a.py", "password = pwd"),
        ("a.py", "password: str"),
        ("a.py", 'name = "hello world"'),
        ("a.py", 'password_field = "password"'),
        ("a.py", 'TOKEN_URL = "https://auth.example.com/token"'),
        ("a.py", 'headers = {"Authorization": f"Bearer {token}"}'),
        ("a.py", 'AUTH_HEADER = "X-API-Key"'),
        ("a.py", 'print("password:", password)'),
        ("a.py", 'token = tokenizer.encode("hello")'),
        ("a.py", "max_tokens = 100"),
        ("a.py", 'self.password = config["database"]["password"]'),
        ("a.py", 'uuid = "123e4567-e89b-12d3-a456-426614174000"'),
        ("a.js", "headers: { Authorization: `Bearer ${token}` },"),
        ("a.js", "const password = process.env.PASSWORD;"),
        ("a.go", 'token := os.Getenv("TOKEN")'),
        ("a.go", 'req.Header.Set("Authorization", "Bearer "+token)'),
        ("a.go", "\tPassword string `json:\"password\"`"),
        ("a.rs", "let password = read_password()?;"),
        ("a.java", '@Value("${app.secret}") private String secret;'),
        ("a.ts", "interface Login { password: string; token?: string }"),
        ("a.yaml", "password: ${DB_PASSWORD}"),
        ("a.yaml", "password: !vault |"),
        ("a.yaml", "token: null"),
        ("a.ini", "password ="),
        ("a.md", "The password is stored in the vault."),
        ("a.py", "# Reads the token from the environment."),
    ],
)
def test_placeholders_references_and_code_are_left_alone(path: str, line: str) -> None:
    assert SecretFilter().mask(line, path) == line


# -- what detect-secrets brings: token formats and entropy --------------------------------
@pytest.mark.parametrize(
    "secret",
    [
        "AKIA" + "IOSFODNN7EXAMPLE",
        "gh" + "p_" + "a1B2" * 9,
        "github_pat_" + "11ABCDEFG0" * 5,
        "gl" + "pat-" + "xY9" * 7,
        "xox" + "b-1234567890-abcdefghij",
        "AIza" + "B" * 35,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
        "sk" + "_live_" + "9" * 24,
        "SG." + "a" * 22 + "." + "b" * 43,
        "sk-" + "proj-" + "Ab1" * 10,
        "sk-" + "ant-api03-" + "Zz9" * 10,
        "hf_" + "Ab3" * 11,
        "AC" + "0123456789abcdef" * 2,
        "123456789:" + "AAH" + "x1Y" * 11 + "zz",
    ],
)
def test_token_shapes_are_masked(secret: str) -> None:
    out = F.mask(f"x = call('{secret}')\n", "a.py")
    assert secret not in out and MASK in out


def test_high_entropy_strings_are_masked_but_not_sequences_or_ids() -> None:
    blob = "Zk3vQ9xLp2Wm8Rt5Yb7Nc4Hd6Jf1Gs0Ua9Ei8Ko7"
    assert blob not in F.mask(f'payload = "{blob}"', "a.py")
    assert blob not in F.mask(f"seed: {blob}", "a.yaml")  # unquoted in config syntax too
    sequence = 'letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"'
    assert F.mask(sequence, "a.py") == sequence


# -- key blocks, multi-line values ----------------------------------------------------------
BODY = "MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"


def test_private_key_block_is_masked_line_by_line() -> None:
    text = f"KEY = '''-----BEGIN RSA PRIVATE KEY-----\n{BODY}\n{BODY[::-1]}\n-----END RSA PRIVATE KEY-----'''\nx = 1"
    out = F.mask(text, "a.py")
    assert BODY not in out and BODY[::-1] not in out
    assert out.count("\n") == text.count("\n") and out.endswith("x = 1")


def test_a_window_that_starts_inside_a_key_block_masks_its_body() -> None:
    text = f"{BODY}\n{BODY[5:]}==\n-----END OPENSSH PRIVATE KEY-----\nx = 1"
    out = F.mask(text, "a.py")
    assert BODY not in out and BODY[5:] not in out and out.endswith("x = 1")


def test_one_line_keys_and_other_key_kinds() -> None:
    one = f'KEY = "-----BEGIN PRIVATE KEY-----\\n{BODY}\\n-----END PRIVATE KEY-----\\n"'
    assert BODY not in F.mask(one, "a.js")
    pgp = f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{BODY}\n-----END PGP PRIVATE KEY BLOCK-----"
    assert BODY not in F.mask(pgp, "key.txt")


def test_values_that_go_on_below_their_line() -> None:
    text = 'TOKEN = (\n    "first-part-77"\n    "second-part-78"\n)\nSECRET = """\nmulti-79\n"""\nafter = "kept"'
    out = F.mask(text, "a.py")
    assert "first-part-77" not in out and "multi-79" not in out and 'after = "kept"' in out
    yaml = "key: |\n  block-80\n  block-81\nother: 1\npassword: >-\n  folded-82\nname: x"
    out = F.mask(yaml.replace("key:", "private_key:"), "a.yaml")
    assert "block-80" not in out and "folded-82" not in out and "other: 1" in out and "name: x" in out
    env = "env:\n  - name: GITHUB_TOKEN\n    value: named-83\n  - name: REGION\n    value: eu-west-1"
    out = F.mask(env, "ci.yml")
    assert "named-83" not in out and "value: eu-west-1" in out


def test_config_syntax_inside_docstrings_and_block_comments() -> None:
    text = '"""Example:\n\n    password: doc-84\n"""\n/*\n api_key = c-85\n*/\nx = 1'
    out = F.mask(text, "a.py")
    assert "doc-84" not in out
    out = F.mask("/*\n api_key = c-85\n*/\nint x = 1;", "a.c")
    assert "c-85" not in out and out.endswith("int x = 1;")


# -- structure: lines, line endings, columns, the cursor -----------------------------------
def test_line_endings_and_lone_carriage_returns_are_kept() -> None:
    assert F.mask('a\r\npassword = "crlf-86"\r\n', "a.py") == f'a\r\npassword = "{MASK}"\r\n'
    assert F.mask('a\rpassword = "cr-87"\rb', "a.py") == f'a\rpassword = "{MASK}"\rb'


@pytest.mark.parametrize(
    "prefix", ["", "\t", "s = '😀'; ", "名前 = '日本語'; ", "x = 'é' * 3; "], ids=["plain", "tab", "emoji", "cjk", "accent"]
)
def test_columns_map_back_to_the_original_line(prefix: str) -> None:
    line = f'{prefix}password = "pässwörd-88"; tail = 1'
    [mapped] = F.mask_mapped([line], "a.py")
    assert mapped.text == f'{prefix}password = "{MASK}"; tail = 1'
    masked_start = mapped.text.index(MASK)
    start = mapped.original_index(masked_start)
    end = mapped.original_index(masked_start + len(MASK), end=True)
    assert line[start:end] == "pässwörd-88"
    byte_start = len(mapped.text[:masked_start].encode())
    assert mapped.original_byte(line, byte_start) == len(line[:start].encode())
    tail = mapped.text.index("tail")
    assert line[mapped.original_index(tail):].startswith("tail = 1")
    assert mapped.masked_index(line.index("tail")) == tail
    assert mapped.masked_index(start + 3) == masked_start + len(MASK)  # inside the secret: after its mask


def test_masked_line_without_spans_maps_identity() -> None:
    plain = MaskedLine("x = 1")
    assert plain.original_index(3) == 3 and plain.masked_index(3) == 3 and plain.original_byte("x = 1", 2) == 2


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_secrets_at_the_start_middle_and_end_of_a_text(where: str) -> None:
    secret_line = 'client_secret = "edge-89"'
    lines = ["a = 1", "b = 2", "c = 3"]
    lines.insert({"start": 0, "middle": 2, "end": 3}[where], secret_line)
    out = F.mask("\n".join(lines), "a.py")
    assert "edge-89" not in out and out.count("\n") == 3


def test_mask_split_masks_a_secret_the_cursor_stands_in() -> None:
    text = 'x = 1\nAPI_KEY = "cursor-secret-90"\ny = 2'
    for offset in range(len("cursor-secret-90") + 1):
        at = text.index("cursor-secret-90") + offset
        before, after = F.mask_split(text[:at], text[at:], "a.py")
        joined = before + after
        assert "cursor" not in joined and "secret-90" not in joined and "ret-9" not in joined
        assert before.startswith("x = 1\n") and after.endswith("\ny = 2")
    before, after = F.mask_split(text[:3], text[3:], "a.py")  # elsewhere: the plain split of the masked text
    assert (before, after) == ("x =", F.mask(text, "a.py")[3:])


def test_random_text_keeps_every_line_break_and_every_unmasked_character() -> None:
    """Fragments that trip every rule (quotes, comments, carries, key blocks, CRs), at random."""
    import random

    rng = random.Random(12)
    pieces = ["password", "token", "=", ":", '"', "'", "`", '"""', "#", "//", "/*", "*/", "(", ")", "{", "}",
              "[", "]", ",", ";", "\\", "\n", "\r\n", "\r", "api_key", "-----BEGIN RSA PRIVATE KEY-----",
              "-----END RSA PRIVATE KEY-----", "Bearer ", "://u:p@h", "secret", " ", "\t", "|", ">",
              "- name: DB_PASSWORD", "value: x", 'f"', 'r#"', 'R"(', "hunter2", "é", "😀", "日本", "\u2028"]
    paths = ["a.py", "a.go", "a.yaml", "a.ini", "", "a.rs", "a.c", "a.json", "a.md", "a.sh"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        path = rng.choice(paths)
        out = F.mask(text, path)
        assert (out.count("\n"), out.count("\r")) == (text.count("\n"), text.count("\r")), (text, path)
        cut = rng.randint(0, len(text))
        before, after = F.mask_split(text[:cut], text[cut:], path)
        assert (before + after).count("\n") == text.count("\n")
        lines = text.split("\n")
        for original, mapped in zip(lines, F.mask_mapped(lines, path), strict=True):
            at = masked_at = 0
            for start, end in mapped.spans:  # between masks, the original text, in order
                assert mapped.text[masked_at:masked_at + start - at] == original[at:start]
                masked_at += start - at + len(MASK)
                at = end
            assert mapped.text[masked_at:] == original[at:]


def test_long_lines_are_masked_in_pieces() -> None:
    minified = ";".join(f'var a{i}=f(b{i})' for i in range(400)) + ';var apiKey="minified-secret-94";' + "x" * 50
    out = F.mask(minified, "bundle.min.js")
    assert "minified-secret-94" not in out and out.startswith("var a0=f(b0)")


def test_mask_json_masks_every_string() -> None:
    value = {"q": 'password = "json-91"', "list": [1, "token: json-92", None], "n": 3}
    out = F.mask_json(value, "a.yaml")
    assert "json-91" not in str(out) and "json-92" not in str(out) and out["n"] == 3 and out["list"][0] == 1


def test_the_same_line_reads_by_its_file_kind() -> None:
    assert F.mask("password = hunter93", "a.py") == "password = hunter93"  # code: a variable
    assert "hunter93" not in F.mask("password = hunter93", "a.ini")  # config: a value
    assert "s3cr3t-pa55" not in F.mask("password = s3cr3t-pa55", "a.py")  # no expression reads so


# -- secret files ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/w/.env", "/w/.env.local", "/w/key.pem", "/home/u/.ssh/id_rsa", "/w/id_ed25519.pub"])
def test_secret_paths(path: str) -> None:
    assert F.is_secret_path(path)


@pytest.mark.parametrize("path", ["/w/env.py", "/w/main.go", "/w/README.md", "/w/docker.env"])
def test_ordinary_paths(path: str) -> None:
    assert not F.is_secret_path(path)
