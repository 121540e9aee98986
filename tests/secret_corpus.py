"""A corpus of secrets per language and file format, shared by the unit and end-to-end tests.

Each ``CorpusFile`` is a realistic file holding secrets in the forms that file kind
writes them (assignments with and without types, constants, default and keyword
arguments, map and object literals, headers, env pairs, comments, config syntax,
key blocks, multi-line values, known token formats) and lines that must survive
masking unchanged (placeholders, reads of the environment, code). Every secret value
is unique, so a test can search any text or any file's bytes for it.

The token-shaped values are assembled from pieces (``_fake``) so that this file itself
does not trip secret scanners.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CorpusFile:
    name: str  # workspace-relative path (never a name the secret globs refuse)
    language: str  # LSP language id
    text: str
    secrets: tuple[str, ...]  # each must be absent from anything sent or stored
    kept: tuple[str, ...] = ()  # each must still be there after masking


def _fake(prefix: str, body: str, length: int) -> str:
    """A token of a known format: ``prefix`` + ``body`` repeated to ``length`` characters."""
    out = prefix
    while len(out) < length:
        out += body
    return out[:length]


GITHUB = _fake("gh" + "p_", "Zq8Lm3Np7Rt2Vx6Bc1", 40)
STRIPE = _fake("sk" + "_live_", "4eC39HqLyjWDarjtT1zdp7dc", 32)
AWS_ID = "AKIA" + "QX7T4L2M9PZ5RW3K"
SLACK = "xox" + "b-2468013579-1357924680-Qw3Er5Ty7Ui9Op1As2Df4Gh"
ENTROPY = "Zk3vQ9xLp2Wm8Rt5Yb7Nc4Hd6Jf1Gs0Ua9Ei8Ko7"
PEM_BODY_1 = "MIIEowIBAAKCAQEAxQp16BodyOneAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
PEM_BODY_2 = "q17BodyTwoAbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmnopqr"

PYTHON = CorpusFile("app/settings.py", "python", f'''"""Service settings.

Example configuration (YAML):
    database:
      password: pydocyaml01
"""
import os

API_TOKEN: str = "py-annotated-02"
password = "two words py03"
db_password = f"{{user}}-pyfstring04"
os.environ["API_KEY"] = "py-environ-05"
# AWS_SECRET_ACCESS_KEY=py/comment+unquoted06
HEADERS = {{"Authorization": "Token py-header-07", "Accept": "application/json"}}
DEFAULT_PASSPHRASE = "py default passphrase 08"
GITHUB_PAT = "{GITHUB}"
STRIPE_KEY = '{STRIPE}'
AWS_ACCESS_KEY_ID = "{AWS_ID}"
SLACK_HOOK = "{SLACK}"
blob = "{ENTROPY}"


def make_client(passphrase: str = "py-default-09", *, timeout: float = 3.0):
    return Client(secret_key="py-kwarg-10", timeout=timeout)


class Settings:
    client_secret = 'py-class-11'
    SMTP_PASS = "py-smtp-12"

    def check(self, password):
        if password == "py-compare-13":
            return True
        return os.getenv("FALLBACK_TOKEN", "py-getenv-14")


DATABASE_URL = "postgresql://admin:py-url-15@db.internal:5432/app"
PRIVATE_KEY = """-----BEGIN RSA PRIVATE KEY-----
{PEM_BODY_1}
{PEM_BODY_2}
-----END RSA PRIVATE KEY-----"""
LONG_SECRET = (
    "py-next-line-18"
)
auth = ("admin", "py-tuple-19")
token = os.environ["TOKEN"]
name = "hello world"
password_field = "password"
''', ("pydocyaml01", "py-annotated-02", "two words py03", "pyfstring04", "py-environ-05",
      "py/comment+unquoted06", "py-header-07", "py default passphrase 08", GITHUB, STRIPE, AWS_ID, SLACK, ENTROPY,
      "py-default-09", "py-kwarg-10", "py-class-11", "py-smtp-12", "py-compare-13", "py-getenv-14", "py-url-15",
      PEM_BODY_1, PEM_BODY_2, "py-next-line-18", "py-tuple-19"),
    ('os.environ["TOKEN"]', 'name = "hello world"', 'password_field = "password"', 'os.getenv("FALLBACK_TOKEN", ',
     '"Accept": "application/json"', "timeout=timeout", "def check(self, password):"))

JAVASCRIPT = CorpusFile("web/client.js", "javascript", '''// Client for the billing API. Token: jscommenttok01
const API_KEY = "js-const-02";
let password = 'js let pw 03';
var dbPassword = `js-template-04`;
const config = { apiKey: "js-object-05", clientSecret: 'js-object-06', region: "eu-west-1" };
process.env.SESSION_SECRET = "js-env-07";
function connect(user, password = "js-default-08") {
  return login(user, password);
}
const headers = { Authorization: "Bearer js-bearer-09x", "X-Api-Key": "js-header-10" };
fetch(url, { headers: { Authorization: `Basic ${btoa("user:js-btoa-11")}` } });
if (token === "js-compare-12") {
  console.log("ok");
}
module.exports = { secret: "js-export-13", fetchToken: () => process.env.TOKEN || "js-fallback-14" };
const auth = { headers: { Authorization: `Bearer ${token}` } };
''', ("jscommenttok01", "js-const-02", "js let pw 03", "js-template-04", "js-object-05", "js-object-06",
      "js-env-07", "js-default-08", "js-bearer-09x", "js-header-10", "js-btoa-11", "js-compare-12",
      "js-export-13", "js-fallback-14"),
    ('region: "eu-west-1"', "login(user, password)", "Authorization: `Bearer ${token}`"))

TYPESCRIPT = CorpusFile("web/api.ts", "typescript", '''export const API_TOKEN: string = "ts-annotated-01";
interface Creds { password: string; token?: string }
class Client {
  private readonly secretKey: string = "ts-field-02";
  constructor(private apiKey = "ts-ctor-03") {}
}
export function login(passphrase: string = "ts-default-04"): void {}
const creds: Creds = { password: "ts-object-05" };
axios.defaults.headers.common["Authorization"] = "Bearer ts-axios-06x";
''', ("ts-annotated-01", "ts-field-02", "ts-ctor-03", "ts-default-04", "ts-object-05", "ts-axios-06x"),
    ("interface Creds { password: string; token?: string }",))

GO = CorpusFile("cmd/main.go", "go", '''package main

import "os"

const APIKey = "go-const-01"

var dbPassword string = "go-var-typed-02"

type Config struct {
\tToken    string `json:"token"`
\tPassword string
}

func connect(user string) *Config {
\tsecret := "go-short-decl-03"
\tcfg := &Config{Token: "go-struct-04", Password: "go struct pw 05"}
\treq.Header.Set("Authorization", "Bearer go-header-06x")
\tos.Setenv("AWS_SECRET_ACCESS_KEY", "go-setenv-07")
\tprivateKey := `go-raw-08`
\ttoken := os.Getenv("TOKEN")
\t_, _, _ = secret, privateKey, token
\treturn cfg
}

// DB_PASSWORD=go-comment-09
''', ("go-const-01", "go-var-typed-02", "go-short-decl-03", "go-struct-04", "go struct pw 05", "go-header-06x",
      "go-setenv-07", "go-raw-08", "go-comment-09"),
    ('os.Getenv("TOKEN")', '`json:"token"`', "\tPassword string\n"))

RUST = CorpusFile("src/lib.rs", "rust", '''const API_KEY: &str = "rs-const-01";
static SECRET_TOKEN: &'static str = "rs-static-02";

pub fn connect() -> Client {
    let password = String::from("rs-string-from-03");
    let api_key: &str = "rs-let-typed-04";
    let client = Client::new().header("Authorization", "Bearer rs-bearer-05x");
    let cfg = Config { password: "rs-struct-06".to_string(), user: "admin".into() };
    // token = rs-comment-07
    let raw = r#"{"secret": "rs-raw-json-08"}"#;
    client
}
''', ("rs-const-01", "rs-static-02", "rs-string-from-03", "rs-let-typed-04", "rs-bearer-05x", "rs-struct-06",
      "rs-comment-07", "rs-raw-json-08"),
    ('user: "admin".into()', "pub fn connect() -> Client {"))

JAVA = CorpusFile("src/main/java/app/Service.java", "java", '''package app;

public class Service {
    private static final String API_KEY = "java-const-01";
    private String password = "java field pw 02";

    @Value("${db.password}")
    private String dbPassword;

    public Connection open() {
        Properties props = new Properties();
        props.setProperty("password", "java-props-03");
        conn.setRequestProperty("Authorization", "Basic amF2YS1iYXNpYy0wNA==");
        String token = System.getenv().getOrDefault("TOKEN", "java-default-05");
        builder.password("java-builder-06");
        return null;
    }
    // secret: java-comment-08
}
''', ("java-const-01", "java field pw 02", "java-props-03", "amF2YS1iYXNpYy0wNA==", "java-default-05",
      "java-builder-06", "java-comment-08"),
    ('@Value("${db.password}")', 'getOrDefault("TOKEN", '))

C = CorpusFile("src/config.c", "c", '''#include <stdlib.h>

#define API_KEY "c-define-01"
static const char *password = "c-pointer-02";
char db_password[] = "c-array-03";
const char kSecretToken[32] = "c-sized-04";

int connect(void) {
    setenv("DB_PASSWORD", "c-setenv-05", 1);
    curl_easy_setopt(curl, CURLOPT_PASSWORD, "c-curlopt-06");
    return 0;
}
/* password: c-comment-07 */
''', ("c-define-01", "c-pointer-02", "c-array-03", "c-sized-04", "c-setenv-05", "c-curlopt-06", "c-comment-07"),
    ("#include <stdlib.h>",))

CPP = CorpusFile("src/client.cpp", "cpp", '''#include <string>

const std::string kApiKey = "cpp-const-01";
std::string secret("cpp-ctor-02");
auto token = std::string{"cpp-brace-03"};

void setup(Client& client) {
    client.set_password(u8"cpp-u8-04");
    constexpr auto kAuthHeader = R"(Bearer cpp-raw-05x)";
}
''', ("cpp-const-01", "cpp-ctor-02", "cpp-brace-03", "cpp-u8-04", "cpp-raw-05x"), ("#include <string>",))

CSHARP = CorpusFile("src/Program.cs", "csharp", '''var conn = "Server=db;User Id=sa;Password=cs-connstr-01;";
string apiKey = @"cs-verbatim-02";
client.DefaultRequestHeaders.Add("X-Api-Key", "cs-header-03");
''', ("cs-connstr-01", "cs-verbatim-02", "cs-header-03"), ("Server=db;User Id=sa;",))

SHELL = CorpusFile("deploy/deploy.sh", "shellscript", '''#!/bin/sh
export API_TOKEN=sh-export-01
DB_PASSWORD="sh quoted 02"
curl -H "Authorization: Bearer sh-curl-03x" https://api.example.com
mysql --password=sh-flag-04 -u root
TOKEN="$(cat /run/secrets/token)"
''', ("sh-export-01", "sh quoted 02", "sh-curl-03x", "sh-flag-04"), ('TOKEN="$(cat /run/secrets/token)"',))

YAML = CorpusFile("deploy/config.yaml", "yaml", '''database:
  host: db.internal
  password: yaml-plain-01
  api_key: "yaml-quoted-02"
  token: 'yaml-single-03'
env:
  - name: DB_PASSWORD
    value: yaml-k8s-04
secret: |
  yaml-block-05
  yaml-block-06
client_secret: >-
  yaml-folded-07
# password: yaml-comment-08
admin_password: ${ADMIN_PASSWORD}
''', ("yaml-plain-01", "yaml-quoted-02", "yaml-single-03", "yaml-k8s-04", "yaml-block-05", "yaml-block-06",
      "yaml-folded-07", "yaml-comment-08"),
    ("host: db.internal", "admin_password: ${ADMIN_PASSWORD}", "- name: DB_PASSWORD"))

TOML = CorpusFile("settings.toml", "toml", '''[database]
password = "toml-basic-01"
api_key = 'toml-literal-02'
token = """
toml-multiline-03
"""

[auth]
client_secret = "toml-section-04"
url = "https://auth.example.com"
''', ("toml-basic-01", "toml-literal-02", "toml-multiline-03", "toml-section-04"),
    ('url = "https://auth.example.com"',))

JSON = CorpusFile("config/app.json", "json", '''{
  "database": {"password": "json-nested-01", "user": "app"},
  "apiKey": "json-camel-02",
  "headers": {"Authorization": "Bearer json-bearer-03x"},
  "name": "billing"
}
''', ("json-nested-01", "json-camel-02", "json-bearer-03x"), ('"user": "app"', '"name": "billing"'))

INI = CorpusFile("config/app.ini", "ini", '''[database]
password = ini-spaced-01
secret_key=ini-nospace-02
; token = ini-comment-03
api_key: ini-colon-04
host = db.internal
''', ("ini-spaced-01", "ini-nospace-02", "ini-comment-03", "ini-colon-04"), ("host = db.internal",))

DOTENV = CorpusFile("deploy/docker.env", "dotenv", '''API_KEY=env-plain-01
export SECRET_TOKEN="env-quoted-02"
DATABASE_URL=postgres://app:env-url-03@db/app
DEBUG=true
''', ("env-plain-01", "env-quoted-02", "env-url-03"), ("DEBUG=true",))

PROPERTIES = CorpusFile("config/application.properties", "properties", '''spring.datasource.url=jdbc:postgresql://db/app
spring.datasource.password=props-01
app.jwt.secret: props-colon-02
''', ("props-01", "props-colon-02"), ("spring.datasource.url=jdbc:postgresql://db/app",))

MARKDOWN = CorpusFile("docs/setup.md", "markdown", '''# Setup

Set `API_KEY=md-inline-01` in your shell, then:

    curl -H "X-Api-Key: md-curl-02" https://api.example.com

```yaml
password: md-fenced-03
```
''', ("md-inline-01", "md-curl-02", "md-fenced-03"), ("# Setup",))

DOCKERFILE = CorpusFile("Dockerfile", "dockerfile", '''FROM python:3.12-slim
ENV API_TOKEN=docker-env-01
ENV DB_PASSWORD docker-env-02
ARG NPM_TOKEN=docker-arg-03
''', ("docker-env-01", "docker-env-02", "docker-arg-03"), ("FROM python:3.12-slim",))

XML = CorpusFile("config/app.config", "xml", '''<configuration>
  <add key="ApiKey" value="xml-attr-01"/>
  <password>xml-elem-02</password>
  <add key="Region" value="eu-west-1"/>
</configuration>
''', ("xml-attr-01", "xml-elem-02"), ('<add key="Region" value="eu-west-1"/>',))

ALL = (PYTHON, JAVASCRIPT, TYPESCRIPT, GO, RUST, JAVA, C, CPP, CSHARP, SHELL, YAML, TOML, JSON, INI, DOTENV,
       PROPERTIES, MARKDOWN, DOCKERFILE, XML)
# The files the server parses with tree-sitter (reviewed, indexed); the rest reach the model through
# completions and ``read_lines``.
PARSED = (PYTHON, JAVASCRIPT, TYPESCRIPT, GO, RUST, JAVA, C, CPP)
SECRETS = tuple(secret for corpus in ALL for secret in corpus.secrets)
