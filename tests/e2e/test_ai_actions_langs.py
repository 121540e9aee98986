"""AI actions end to end in brace languages: TypeScript as VS Code sees it (UTF-16), Go with tabs and
Rust as Neovim sees them (UTF-8 positions, resource operations without documentChanges). Each
action's exact resulting text; Go's answers written with spaces land with tabs."""

from __future__ import annotations

import json

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.e2e.actions_client import (
    ActionClient, actions_at, apply_edits, edits_for, reply, rng, start_action_client, titled,
)
from tests.e2e.conftest import capabilities, open_doc
from tests.standin import StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

STATS_TS = '''import { readFileSync } from "fs";

/**
 * Returns the arithmetic mean of the values.
 * @param values the numbers (not empty)
 */
export function mean(values: number[]): number {
  throw new Error("not implemented");
}

export function maxOf(values: number[]): number {
  let best = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] > best) best = values[i];
  }
  return best;
}
'''

STATS_GO = '''package stats

import "sort"

// Median returns the middle value of xs (the mean of the two middle ones for an even count).
func Median(xs []float64) float64 {
\tpanic("TODO")
}

func Sum(xs []float64) float64 {
\ttotal := 0.0
\tfor _, x := range xs {
\t\ttotal += x
\t}
\treturn total
}
'''

GCD_RS = '''/// Returns the greatest common divisor of `a` and `b`.
pub fn gcd(a: u64, b: u64) -> u64 {
    todo!()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcd_of_equal_numbers() {
        assert_eq!(gcd(4, 4), 4);
    }
}
'''


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vscode(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("actions-ts")
    (root / "package.json").write_text(json.dumps({"devDependencies": {"jest": "^29.0.0"}}))
    (root / "src").mkdir()
    session = await start_action_client(standin, root, capabilities("visual-studio-code@v1.65.2", inline=True))
    yield session
    await session.client.shutdown_session()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def neovim(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("actions-go")
    session = await start_action_client(standin, root, capabilities("neovim@v0.11", inline=False))
    yield session
    await session.client.shutdown_session()


def _open(session: ActionClient, name: str, text: str, language: str) -> str:
    path = session.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    uri = path.as_uri()
    open_doc(session.client, uri, text, language)
    return uri


async def _resolved(session: ActionClient, uri: str, where: types.Range, title: str) -> types.CodeAction:
    action = titled(await actions_at(session.client, uri, where), title)
    return await session.client.code_action_resolve_async(action)


# -- TypeScript ------------------------------------------------------------------------------------


async def test_ts_implement(vscode: ActionClient, standin: StandIn) -> None:
    uri = _open(vscode, "src/stats.ts", STATS_TS, "typescript")
    titles = [a.title for a in await actions_at(vscode.client, uri, rng(7, 4))]
    assert "Implement with AI: mean" in titles and "Write tests with AI: mean" in titles
    assert "Implement with AI: maxOf" not in [a.title for a in await actions_at(vscode.client, uri, rng(12, 4))]
    standin.script(reply("  if (values.length === 0) return NaN;\n"
                         "  return values.reduce((sum, v) => sum + v, 0) / values.length;\n}\n```"))
    resolved = await _resolved(vscode, uri, rng(7, 4), "Implement with AI: mean")
    prefill = standin.chat_requests()[-1].body["messages"][-1]["content"]
    assert prefill == ("```typescript\n/**\n * Returns the arithmetic mean of the values.\n"
                       " * @param values the numbers (not empty)\n */\n"
                       "export function mean(values: number[]): number {\n")
    edits = edits_for(resolved.edit, uri)
    assert all(6 <= e.range.start.line and e.range.end.line <= 8 for e in edits)
    assert apply_edits(STATS_TS, edits) == STATS_TS.replace(
        '  throw new Error("not implemented");\n',
        "  if (values.length === 0) return NaN;\n  return values.reduce((sum, v) => sum + v, 0) / values.length;\n")


async def test_ts_document_adds_jsdoc_above(vscode: ActionClient, standin: StandIn) -> None:
    uri = vscode.uri("src/stats.ts")
    standin.script(reply("\n   * Returns the largest of the values.\n   * @param values the numbers\n   * @returns"
                         " -Infinity when there are none\n   */\nexport function maxOf(values: number[]): number {\n```"))
    resolved = await _resolved(vscode, uri, rng(10, 20), "Document with AI: maxOf")
    body = standin.chat_requests()[-1].body
    assert body["messages"][-1]["content"] == "```typescript\n/**"
    assert "TSDoc comment (/** ... */)" in body["messages"][1]["content"]
    assert "Documentation as this file already writes it:\n```typescript\n/**\n * Returns the arithmetic mean" in \
        body["messages"][1]["content"]
    assert apply_edits(STATS_TS, edits_for(resolved.edit, uri)) == STATS_TS.replace(
        "export function maxOf(",
        "/**\n * Returns the largest of the values.\n * @param values the numbers\n"
        " * @returns -Infinity when there are none\n */\nexport function maxOf(")


async def test_ts_optimise_and_explain(vscode: ActionClient, standin: StandIn) -> None:
    uri = vscode.uri("src/stats.ts")
    standin.script(reply(" Math.max spreads the array once instead of an indexed loop.\n```ts\n"
                         "export function maxOf(values: number[]): number {\n  return Math.max(...values);\n}\n```"))
    resolved = await _resolved(vscode, uri, rng(12, 4), "Optimise with AI: maxOf")
    assert apply_edits(STATS_TS, edits_for(resolved.edit, uri)) == STATS_TS.replace(
        "  let best = -Infinity;\n  for (let i = 0; i < values.length; i++) {\n"
        "    if (values[i] > best) best = values[i];\n  }\n  return best;\n",
        "  return Math.max(...values);\n")
    assert list(resolved.command.arguments) == ["Optimise with AI: Math.max spreads the array once instead of an indexed loop."]
    explain = titled(await actions_at(vscode.client, uri, rng(12, 0, 14, 3)), "Explain with AI: lines 13-15")
    standin.script(reply("A loop that keeps the **largest** value seen so far."))
    answer = await vscode.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.runAction", arguments=[dict(explain.command.arguments[0], display="client")]))
    assert answer["markdown"] == "A loop that keeps the **largest** value seen so far."
    assert answer["title"] == "Explain with AI: lines 13-15"


async def test_ts_tests_go_beside_the_file_for_jest(vscode: ActionClient, standin: StandIn) -> None:
    uri = vscode.uri("src/stats.ts")
    standin.script(reply('```ts\nimport { maxOf } from "./stats";\n\ntest("maxOf picks the largest", () => {\n'
                         "  expect(maxOf([1, 3, 2])).toBe(3);\n});\n```"))
    resolved = await _resolved(vscode, uri, rng(12, 4), "Write tests with AI: maxOf")
    user = standin.chat_requests()[-1].body["messages"][1]["content"]
    assert "with Jest, to go in `src/stats.test.ts`" in user and "Import the code under test from `./stats`" in user
    test_uri = (vscode.root / "src" / "stats.test.ts").as_uri()
    assert isinstance(resolved.edit.document_changes[0], types.CreateFile)
    [edit] = edits_for(resolved.edit, test_uri)
    assert edit.new_text == ('import { maxOf } from "./stats";\n\ntest("maxOf picks the largest", () => {\n'
                             "  expect(maxOf([1, 3, 2])).toBe(3);\n});\n")


async def test_ts_edit_with_instruction(vscode: ActionClient, standin: StandIn) -> None:
    uri = vscode.uri("src/stats.ts")
    edit = titled(await actions_at(vscode.client, uri, rng(12, 0, 14, 3)), "Edit with AI")
    standin.script(reply("  for (const value of values) {\n    if (value > best) best = value;\n  }\n```"))
    answer = await vscode.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="mistral-lsp.runAction", arguments=[dict(edit.command.arguments[0], instruction="use for-of")]))
    assert answer["ok"] is True, answer
    [change] = vscode.applied[-1].edit.document_changes
    assert apply_edits(STATS_TS, change.edits) == STATS_TS.replace(
        "  for (let i = 0; i < values.length; i++) {\n    if (values[i] > best) best = values[i];\n  }\n",
        "  for (const value of values) {\n    if (value > best) best = value;\n  }\n")


async def test_ts_a_body_that_breaks_the_braces_is_refused(vscode: ActionClient, standin: StandIn) -> None:
    uri = vscode.uri("src/stats.ts")
    standin.script(reply("  return values.reduce((a, b) => { return a + b;, 0) / values.length;\n}\n```"))
    resolved = await _resolved(vscode, uri, rng(7, 4), "Implement with AI: mean")
    assert resolved.edit is None


# -- Go (tabs) -------------------------------------------------------------------------------------


async def test_go_implement_takes_tabs(neovim: ActionClient, standin: StandIn) -> None:
    uri = _open(neovim, "stats.go", STATS_GO, "go")
    standin.script(reply("    s := append([]float64(nil), xs...)\n    sort.Float64s(s)\n    n := len(s)\n"
                         "    if n%2 == 1 {\n        return s[n/2]\n    }\n    return (s[n/2-1] + s[n/2]) / 2\n}\n```"))
    resolved = await _resolved(neovim, uri, rng(6, 1), "Implement with AI: Median")
    assert resolved.edit.changes is not None  # no documentChanges declared: plain changes
    assert apply_edits(STATS_GO, edits_for(resolved.edit, uri)) == STATS_GO.replace(
        '\tpanic("TODO")\n',
        "\ts := append([]float64(nil), xs...)\n\tsort.Float64s(s)\n\tn := len(s)\n\tif n%2 == 1 {\n"
        "\t\treturn s[n/2]\n\t}\n\treturn (s[n/2-1] + s[n/2]) / 2\n")


async def test_go_document_starts_with_the_name(neovim: ActionClient, standin: StandIn) -> None:
    uri = neovim.uri("stats.go")
    standin.script(reply(" returns the sum of xs (0 for none).\nfunc Sum(xs []float64) float64 {\n```"))
    resolved = await _resolved(neovim, uri, rng(10, 2), "Document with AI: Sum")
    assert standin.chat_requests()[-1].body["messages"][-1]["content"] == "```go\n// Sum"
    assert apply_edits(STATS_GO, edits_for(resolved.edit, uri)) == STATS_GO.replace(
        "func Sum(", "// Sum returns the sum of xs (0 for none).\nfunc Sum(")


async def test_go_optimise_a_selection_keeps_tabs(neovim: ActionClient, standin: StandIn) -> None:
    uri = neovim.uri("stats.go")
    standin.script(reply(" Summing by index avoids copying each element.\n```go\n    for i := range xs {\n"
                         "        total += xs[i]\n    }\n```"))
    resolved = await _resolved(neovim, uri, rng(11, 0, 14, 0), "Optimise with AI: lines 12-14")
    assert apply_edits(STATS_GO, edits_for(resolved.edit, uri)) == STATS_GO.replace(
        "\tfor _, x := range xs {\n\t\ttotal += x\n\t}\n", "\tfor i := range xs {\n\t\ttotal += xs[i]\n\t}\n")


async def test_go_tests_are_created_then_appended(neovim: ActionClient, standin: StandIn) -> None:
    uri = neovim.uri("stats.go")
    standin.script(reply("package stats\n\nimport \"testing\"\n\nfunc TestSum(t *testing.T) {\n"
                         "\tif Sum([]float64{1, 2}) != 3 {\n\t\tt.Fatal(\"want 3\")\n\t}\n}\n```"))
    resolved = await _resolved(neovim, uri, rng(10, 2), "Write tests with AI: Sum")
    test_uri = (neovim.root / "stats_test.go").as_uri()
    create = resolved.edit.document_changes[0]
    assert isinstance(create, types.CreateFile) and create.uri == test_uri
    [edit] = edits_for(resolved.edit, test_uri)
    created = edit.new_text
    assert created == ("package stats\n\nimport \"testing\"\n\nfunc TestSum(t *testing.T) {\n"
                       "\tif Sum([]float64{1, 2}) != 3 {\n\t\tt.Fatal(\"want 3\")\n\t}\n}\n")
    (neovim.root / "stats_test.go").write_text(created)
    standin.script(reply("package stats\n\nimport \"testing\"\n\nfunc TestSumEmpty(t *testing.T) {\n"
                         "\tif Sum(nil) != 0 {\n\t\tt.Fatal(\"want 0\")\n\t}\n}\n```"))
    again = await _resolved(neovim, uri, rng(10, 2), "Write tests with AI: Sum")
    edits = edits_for(again.edit, test_uri)
    assert apply_edits(created, edits) == created + (
        "\nfunc TestSumEmpty(t *testing.T) {\n\tif Sum(nil) != 0 {\n\t\tt.Fatal(\"want 0\")\n\t}\n}\n")


# -- Rust ------------------------------------------------------------------------------------------


async def test_rust_implement_and_tests_in_the_tests_module(neovim: ActionClient, standin: StandIn) -> None:
    uri = _open(neovim, "gcd.rs", GCD_RS, "rust")
    standin.script(reply("    if b == 0 { a } else { gcd(b, a % b) }\n}\n```"))
    resolved = await _resolved(neovim, uri, rng(2, 4), "Implement with AI: gcd")
    assert apply_edits(GCD_RS, edits_for(resolved.edit, uri)) == GCD_RS.replace(
        "    todo!()\n", "    if b == 0 { a } else { gcd(b, a % b) }\n")
    standin.script(reply("#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn gcd_with_zero() {\n"
                         "        assert_eq!(gcd(5, 0), 5);\n    }\n}\n```"))
    tests = await _resolved(neovim, uri, rng(1, 8), "Write tests with AI: gcd")
    edits = edits_for(tests.edit, uri)
    assert all(e.range.start.line >= 13 for e in edits)  # only inside the tests module
    assert apply_edits(GCD_RS, edits) == GCD_RS.replace(
        "        assert_eq!(gcd(4, 4), 4);\n    }\n}\n",
        "        assert_eq!(gcd(4, 4), 4);\n    }\n\n    #[test]\n    fn gcd_with_zero() {\n"
        "        assert_eq!(gcd(5, 0), 5);\n    }\n}\n")
