/**
 * The API suite, run inside code-server's real extension host (workbench `payload`:
 * extensionDevelopmentPath + extensionTestsPath). It drives the real mistral-lsp server against
 * the vLLM stand-in, whose control API (MISTRAL_LSP_TEST_CONTROL) tells what the model saw.
 *
 * Prints "N passed, N failed, N skipped" and writes the results to MISTRAL_LSP_TEST_RESULTS.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as vscode from 'vscode';
import type { MistralLspApi } from '../../extension';

const EXTENSION_ID = 'mistral-lsp.mistral-lsp';
const CONTROL = process.env.MISTRAL_LSP_TEST_CONTROL ?? '';
const RESULTS = process.env.MISTRAL_LSP_TEST_RESULTS ?? '';
const DEFAULT_MODEL = 'mistralai/Mistral-Small-3.2-24B-Instruct-2506';

class Skip extends Error {}

interface Case {
  name: string;
  fn: () => Promise<void>;
  timeoutMs: number;
}

const cases: Case[] = [];
function test(name: string, fn: () => Promise<void>, timeoutMs = 30000): void {
  cases.push({ name, fn, timeoutMs });
}

// -- helpers ------------------------------------------------------------------------------

function log(line: string): void {
  console.log(`[mistral-lsp suite] ${line}`);
  if (RESULTS) {
    fs.appendFileSync(`${RESULTS}.log`, `${line}\n`);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false && value !== null) {
        return value;
      }
    } catch (err) {
      last = err;
    }
    await sleep(150);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

async function control(path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${CONTROL}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json();
}

let api: MistralLspApi;

async function running(): Promise<void> {
  await api.controller.idle();
  await eventually('the server to run', () => api.controller.client?.isRunning());
}

function folderUri(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the test window has a workspace folder');
  return vscode.Uri.joinPath(folder.uri, name);
}

async function openFresh(name: string, text: string): Promise<vscode.TextEditor> {
  const uri = folderUri(name);
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
  const doc = await vscode.workspace.openTextDocument(uri);
  const editor = await vscode.window.showTextDocument(doc);
  return editor;
}

async function updateSetting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration('mistralLSP').update(key, value, vscode.ConfigurationTarget.Global);
}

async function inlineItems(doc: vscode.TextDocument, position: vscode.Position): Promise<string[]> {
  const client = api.controller.client;
  assert.ok(client, 'client');
  const feature: any = client.getFeature('textDocument/inlineCompletion');
  const provider = feature?.getProvider(doc);
  assert.ok(provider, 'the language client registered an inline completion provider for the document');
  const source = new vscode.CancellationTokenSource();
  const result = await provider.provideInlineCompletionItems(
    doc,
    position,
    { triggerKind: vscode.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined },
    source.token,
  );
  const items: vscode.InlineCompletionItem[] = Array.isArray(result) ? result : (result?.items ?? []);
  return items.map((item) => (typeof item.insertText === 'string' ? item.insertText : item.insertText.value));
}

// -- the tests ----------------------------------------------------------------------------

test('activates on the languages the server serves, not at start-up nor on other files', async () => {
  const ext = vscode.extensions.getExtension<MistralLspApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is installed`);
  const events: string[] = ext.packageJSON.activationEvents;
  assert.ok(!events.includes('onStartupFinished') && !events.includes('*'), `no start-up activation: ${events.join(', ')}`);
  const languages: string[] = ext.packageJSON.contributes.configuration
    .flatMap((category: any) => Object.entries(category.properties ?? {}))
    .find(([key]: [string]) => key === 'mistralLSP.languages')[1].default;
  assert.deepEqual(events, languages.map((language) => `onLanguage:${language}`), 'one activation event per served language');
  assert.equal(ext.isActive, false, 'not active in a window with no file open');
  const notes = (await openFresh('notes.txt', 'Notes\n')).document;
  await sleep(1500);
  assert.equal(notes.languageId, 'plaintext');
  assert.equal(ext.isActive, false, 'not active for a plain-text file (not a served language)');
  await openFresh('first.py', 'x = 1\n');
  await eventually('activation by the Python file', () => ext.isActive, 20000);
  api = ext.exports;
});

test('activates, finds the server through the setting and starts it', async () => {
  const ext = vscode.extensions.getExtension<MistralLspApi>(EXTENSION_ID);
  assert.ok(ext);
  api = await ext.activate();
  await running();
  assert.equal(api.controller.server?.source, 'setting');
  // run.js left a setting under the old prefix in the workspace: it is found (and reported once)
  assert.deepEqual(api.legacySettings, ['mistralLsp.logLevel']);
  const commands = api.controller.serverCommands();
  for (const command of ['mistral-lsp.status', 'mistral-lsp.toggleCompletions', 'mistral-lsp.clearCache']) {
    assert.ok(commands.includes(command), `the server offers ${command} (it offers ${commands.join(', ')})`);
  }
  const caps = api.controller.client?.initializeResult?.capabilities as any;
  assert.ok(caps.inlineCompletionProvider, 'the server advertises inline completions');
  const ours = await vscode.commands.getCommands(true);
  for (const command of ['mistralLsp.reviewFile', 'mistralLsp.reviewWorkspace', 'mistralLsp.toggleCompletions', 'mistralLsp.restartServer', 'mistralLsp.showLogs', 'mistralLsp.checkSetup', 'mistralLsp.setApiKey', 'mistralLsp.implement', 'mistralLsp.editWithInstruction', 'mistralLsp.runAction']) {
    assert.ok(ours.includes(command), `command ${command} is registered`);
  }
});

test('unset settings do not override the server: endpoint from the environment, default model', async () => {
  const status = await eventually('a status answer', async () => (await api.refreshStatus()).server);
  assert.equal(status.model, DEFAULT_MODEL);
  assert.equal(status.endpoint, process.env.MISTRAL_LSP_ENDPOINT, 'the endpoint comes from MISTRAL_LSP_ENDPOINT, not from an empty setting');
  await eventually('the server to ask the stand-in for its models', async () =>
    (await control('/requests')).some((r: any) => r.path === '/v1/models') ? true : undefined,
  );
});

test('inline completion through the language client (ghost text items)', async () => {
  await control('/completion', { text: 'return a + b' });
  const editor = await openFresh('inline_api.py', 'def add(a, b):\n    \n\nprint(add(1, 2))\n');
  await sleep(200);
  const texts = await eventually('an inline item', async () => {
    const items = await inlineItems(editor.document, new vscode.Position(1, 4));
    return items.length ? items : undefined;
  });
  assert.deepEqual(texts, ['return a + b']);
});

test('inline suggestion triggered and committed in a real editor', async () => {
  await control('/completion', { text: 'return a * b' });
  const editor = await openFresh('inline_editor.py', 'def mul(a, b):\n    \n');
  editor.selection = new vscode.Selection(1, 4, 1, 4);
  await eventually(
    'the ghost text to be accepted',
    async () => {
      await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
      await sleep(400);
      await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
      return editor.document.lineAt(1).text === '    return a * b' ? true : undefined;
    },
    20000,
  );
  // "busy" while VS Code's own follow-up request after the commit is in flight: wait it out.
  const status = await eventually('the ready state', async () => {
    const now = await api.refreshStatus();
    return now.label === 'ready' ? now : undefined;
  });
  assert.equal(typeof status.latencyMs, 'number', 'the status item shows the last completion latency');
  assert.match(status.text, /Mistral: ready · \d+ ms/);
});

test('classic completion item (vscode.executeCompletionItemProvider) and its edit', async () => {
  await control('/completion', { text: 'urn a - b' });
  const editor = await openFresh('classic.py', 'def sub(a, b):\n    ret\n');
  const position = new vscode.Position(1, 7);
  const item = await eventually('the AI completion item', async () => {
    const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', editor.document.uri, position);
    return list.items.find((candidate) => candidate.detail === 'mistral-lsp');
  });
  const label = typeof item.label === 'string' ? item.label : item.label.label;
  assert.equal(label, 'return a - b');
  const range = item.range instanceof vscode.Range ? item.range : item.range?.replacing;
  assert.ok(range, 'the item carries a range (the word being typed)');
  assert.equal(editor.document.getText(range), 'ret', 'the edit replaces the typed word, so filtering keeps the item');
  const insert = typeof item.insertText === 'string' ? item.insertText : (item.insertText?.value ?? label);
  const applied = await editor.edit((builder) => builder.replace(range, insert));
  assert.ok(applied);
  assert.equal(editor.document.lineAt(1).text, '    return a - b');
});

test('toggle completions: the server says off, the status item shows it, and back on', async () => {
  const off = await vscode.commands.executeCommand<{ completionsEnabled: boolean }>('mistralLsp.toggleCompletions');
  assert.equal(off?.completionsEnabled, false);
  assert.match(api.status().text, /completions off/);
  const on = await vscode.commands.executeCommand<{ completionsEnabled: boolean }>('mistralLsp.toggleCompletions');
  assert.equal(on?.completionsEnabled, true);
  assert.doesNotMatch(api.status().text, /completions off/);
});

test('the status item follows the server by itself: settings in use from the start, pushed changes', async () => {
  // The issue's case: the environment points elsewhere, the endpoint is set in the settings.
  const config = vscode.workspace.getConfiguration('mistralLSP');
  const env = { ...(config.get<Record<string, string>>('server.env') ?? {}) };
  const good = process.env.MISTRAL_LSP_ENDPOINT ?? '';
  const seen = new Set<string>();
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const endpoint = api.status().server?.endpoint;
      if (endpoint) seen.add(endpoint);
      await sleep(20);
    }
  })();
  try {
    await updateSetting('endpoint', good);
    await updateSetting('server.env', { ...env, MISTRAL_LSP_ENDPOINT: 'http://127.0.0.1:9/v1' });
    await sleep(600);
    await running();
    // No refreshStatus() here: the item must get there by itself (the next poll is 30 s away).
    await eventually('the ready state with the configured endpoint', () =>
      api.status().label === 'ready' && api.status().server?.endpoint === good ? true : undefined, 45000);
    await updateSetting('model', 'pushed/model');
    await eventually('the new model in the status item without a refresh', () =>
      api.status().server?.model === 'pushed/model' ? true : undefined, 20000);
    await eventually('"unreachable": the stand-in does not serve that model', () =>
      api.status().label === 'unreachable' ? true : undefined, 20000);
    assert.match(api.status().tooltip.join('\n'), /pushed\/model/);
    await updateSetting('model', undefined);
    await eventually('ready again', () => (api.status().label === 'ready' ? true : undefined), 20000);
  } finally {
    watching = false;
    await watch;
    await updateSetting('model', undefined);
    await updateSetting('endpoint', undefined);
    await updateSetting('server.env', env);
    await sleep(600);
    await running();
  }
  assert.deepEqual([...seen], [good], `the status only ever showed the endpoint in use (saw ${[...seen].join(', ')})`);
}, 120000);  // a restarted server on a loaded 2-core machine can take a while to import and load its tokenizer

test('the status menu offers toggle, review, check, logs, restart, settings', async () => {
  await openFresh('menu.py', 'x = 1\n');
  const labels = () => api.menu().map((entry) => entry.label.replace(/^\$\([^)]*\) /, ''));
  const before = labels();
  assert.deepEqual(before, [
    'Disable Automatic Completions',
    'Review File',
    'Review Workspace',
    'Check Setup',
    'Show Logs',
    'Restart Server',
    'Open Settings',
  ]);
  assert.equal(api.menu()[1].description, 'menu.py');
  await vscode.commands.executeCommand('mistralLsp.toggleCompletions');
  assert.equal(labels()[0], 'Enable Automatic Completions');
  assert.match(api.status().text, /completions off/);
  await vscode.commands.executeCommand('mistralLsp.toggleCompletions');
  assert.equal(labels()[0], 'Disable Automatic Completions');
  const commands = await vscode.commands.getCommands(true);
  for (const entry of api.menu()) {
    assert.ok(commands.includes(entry.command), `the menu's ${entry.command} exists`);
  }
});

test('Review File says what came of it, a clean file too', async () => {
  assert.ok(api.controller.offers('mistral-lsp.reviewFile'), 'the server offers mistral-lsp.reviewFile');
  const editor = await openFresh('clean.py', 'def double(x):\n    return 2 * x\n');
  const outcome = await vscode.commands.executeCommand<{ message: string }>('mistralLsp.reviewFile', editor.document.uri);
  assert.equal(outcome?.message, 'Mistral LSP: reviewed clean.py: no findings');
}, 45000);

test('a setting change is pushed without a restart; removing it gives the server its default back', async () => {
  const starts = api.controller.starts;
  await updateSetting('model', 'other/model');
  await eventually('the server to use the new model', async () => ((await api.refreshStatus()).server?.model === 'other/model' ? true : undefined));
  await updateSetting('model', undefined);
  await eventually('the default model again', async () => ((await api.refreshStatus()).server?.model === DEFAULT_MODEL ? true : undefined));
  assert.equal(api.controller.starts, starts, 'no restart for a setting the server applies itself');
});

test('server settings restart the server once per burst, and not at all when nothing changed', async () => {
  const config = vscode.workspace.getConfiguration('mistralLSP');
  const env = { ...(config.get<Record<string, string>>('server.env') ?? {}) };
  const starts = api.controller.starts;
  await Promise.all([
    updateSetting('server.env', { ...env, MISTRAL_LSP_TEST_MARK: '1' }),
    updateSetting('server.args', ['--log-level', 'debug']),
  ]);
  await sleep(600);
  await running();
  assert.equal(api.controller.starts, starts + 1, 'two quick changes, one restart');
  await updateSetting('server.args', ['--log-level', 'debug']); // same value: no event, no restart
  await updateSetting('server.env', { ...env, MISTRAL_LSP_TEST_MARK: '1' });
  await sleep(600);
  await running();
  assert.equal(api.controller.starts, starts + 1, 'unchanged launch settings do not restart');
  await Promise.all([updateSetting('server.args', undefined), updateSetting('server.env', env)]);
  await sleep(600);
  await running();
  assert.equal(api.controller.starts, starts + 2);
});

test('the API key goes from secret storage to the server environment, never to settings', async () => {
  await control('/reset', {});
  await api.setApiKey('sk-test-secret-123');
  await running();
  await eventually('an authenticated request', async () => {
    const requests = await control('/requests');
    return requests.some((r: any) => r.authorization === 'Bearer sk-test-secret-123') ? true : undefined;
  });
  const inspected = JSON.stringify(vscode.workspace.getConfiguration('mistralLSP'));
  assert.ok(!inspected.includes('sk-test-secret-123'), 'the key is not in any setting');
  await api.setApiKey(undefined);
  await running();
  await control('/reset', {}); // after the restart: the old process may still have been talking
  await control('/completion', { text: 'return a // b' });
  const editor = await openFresh('after_key.py', 'def div(a, b):\n    \n');
  await eventually('an inline item from the restarted server', async () => ((await inlineItems(editor.document, new vscode.Position(1, 4))).length ? true : undefined));
  const requests = await control('/requests');
  assert.ok(requests.some((r: any) => r.path === '/v1/chat/completions'), 'the completion reached the stand-in');
  const stale = requests.filter((r: any) => r.authorization === 'Bearer sk-test-secret-123');
  assert.equal(stale.length, 0, `the cleared key is gone (still sent: ${JSON.stringify(stale)} of ${JSON.stringify(requests)})`);
}, 90000); // two restarts, each up to ~20 s on a loaded machine

test('check setup runs `mistral-lsp check` with the same server and environment', async () => {
  const outcome = await vscode.commands.executeCommand<any>('mistralLsp.checkSetup');
  assert.equal(outcome?.exitCode, 0, outcome?.message);
  assert.equal(outcome.usable, true);
  assert.equal(outcome.report.endpoint, process.env.MISTRAL_LSP_ENDPOINT);
  await updateSetting('endpoint', 'http://127.0.0.1:9/v1');
  const bad = await vscode.commands.executeCommand<any>('mistralLsp.checkSetup');
  await updateSetting('endpoint', undefined);
  assert.equal(bad?.exitCode, 3, 'an unreachable endpoint set in the settings is not usable');
  assert.match(bad.message, /127\.0\.0\.1:9/);
});

test('server not found: clear state, then back after fixing the setting (one restart each)', async () => {
  const good = vscode.workspace.getConfiguration('mistralLSP').get<string>('server.path');
  await updateSetting('server.path', '/nonexistent/mistral-lsp');
  await eventually('the not-found state', () => (api.status().phase === 'notFound' ? true : undefined));
  assert.match(api.status().tooltip.join('\n'), /not an executable file/);
  assert.equal(api.status().severity, 'error');
  assert.match(api.status().text, /Mistral: server not found/);
  assert.equal(api.controller.client, undefined, 'no client without a server');
  await updateSetting('server.path', good);
  await sleep(600);
  await running();
  assert.equal(api.status().phase, 'running');
});

test('review diagnostics in Problems and the quick fix', async () => {
  assert.ok(api.controller.offers('mistral-lsp.reviewFile'), 'the server offers mistral-lsp.reviewFile');
  const text = 'def total(items):\n    s = 0\n    for i in range(len(items) - 1):\n        s += items[i]\n    return s\n';
  const editor = await openFresh('review.py', text);
  const outcome = await vscode.commands.executeCommand<{ message: string }>('mistralLsp.reviewFile', editor.document.uri);
  assert.equal(outcome?.message, 'Mistral LSP: reviewed review.py: 1 finding');
  const diagnostic = await eventually('the review diagnostic', () =>
    vscode.languages.getDiagnostics(editor.document.uri).find((d) => d.source === 'mistral-lsp'),
  30000);
  assert.equal(editor.document.getText(diagnostic.range), 'range(len(items) - 1)', 'anchored on the quote, not the reported line');
  assert.equal(diagnostic.severity, vscode.DiagnosticSeverity.Warning);
  const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', editor.document.uri, diagnostic.range);
  const fix = actions.find((a) => a.kind?.value.startsWith('quickfix') && a.edit);
  assert.ok(fix?.edit, `a quick fix with an edit (got ${actions.map((a) => a.title).join(', ')})`);
  assert.ok(await vscode.workspace.applyEdit(fix.edit));
  assert.equal(editor.document.lineAt(2).text, '    for i in range(len(items)):');
}, 45000);

// -- AI actions ----------------------------------------------------------------------------

async function scriptAction(name: string, text: string): Promise<void> {
  await control('/action', { name, text });
}

async function actionRequests(name: string): Promise<any[]> {
  return (await control('/requests')).filter((r: any) => r.action === name);
}

async function codeActions(doc: vscode.TextDocument, range: vscode.Range, resolve = 0): Promise<vscode.CodeAction[]> {
  return (await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, range, undefined, resolve)) ?? [];
}

test('AI actions: the light bulb lists them; Implement resolves to an edit of the stub only', async () => {
  await running();
  await scriptAction('implement', '    return a + b\n```');
  const text = 'def add(a, b):\n    """Return the sum of a and b."""\n    raise NotImplementedError\n\n\ndef twice(x):\n    return x + x\n';
  const editor = await openFresh('impl.py', text);
  const at = new vscode.Range(2, 6, 2, 6);
  const listed = await eventually('the AI actions', async () => {
    const found = await codeActions(editor.document, at);
    return found.some((a) => a.title === 'Implement with AI: add') ? found : undefined;
  });
  const titles = listed.map((a) => a.title);
  assert.ok(titles.includes('Document with AI: add'), titles.join(', '));
  assert.ok(!titles.some((t) => t.startsWith('Optimise')), `no Optimise on a stub: ${titles.join(', ')}`);
  assert.equal((await actionRequests('implement')).length, 0, 'listing made no model request');
  const resolved = await codeActions(editor.document, at, 20);
  const implement = resolved.find((a) => a.title === 'Implement with AI: add');
  assert.ok(implement?.edit, 'Implement resolved to an edit');
  assert.ok(await vscode.workspace.applyEdit(implement.edit));
  assert.equal(editor.document.getText(), text.replace('    raise NotImplementedError\n', '    return a + b\n'));
  assert.equal((await actionRequests('implement')).length, 1);
}, 45000);

test('AI actions: palette commands edit in one undo step; Optimise says why', async () => {
  await scriptAction('optimise', ' `x + x` is one addition; `2 * x` reads better and is as fast.\n```python\ndef twice(x):\n    return 2 * x\n```');
  const editor = vscode.window.activeTextEditor;
  assert.ok(editor && editor.document.fileName.endsWith('impl.py'));
  const before = editor.document.getText();
  editor.selection = new vscode.Selection(6, 8, 6, 8);
  const result = await vscode.commands.executeCommand<any>('mistralLsp.optimise');
  assert.equal(result?.ok, true, JSON.stringify(result));
  assert.equal(result.note, 'Optimise with AI: `x + x` is one addition; `2 * x` reads better and is as fast.');
  await eventually('the edit applied', () => (editor.document.getText().includes('return 2 * x') ? true : undefined));
  assert.equal(editor.document.getText(), before.replace('    return x + x\n', '    return 2 * x\n'));
  await vscode.commands.executeCommand('undo');
  assert.equal(editor.document.getText(), before, 'one undo step takes the action back');
}, 45000);

test('AI actions: Explain shows the Markdown; Edit with an instruction; Document; Write Tests creates the file', async () => {
  const editor = await openFresh('explain.py', 'def mean(xs):\n    return sum(xs) / len(xs)\n');
  editor.selection = new vscode.Selection(1, 4, 1, 4);
  await scriptAction('explain', '`mean` returns the **average** of `xs`; an empty list raises `ZeroDivisionError`.');
  const explained = await vscode.commands.executeCommand<any>('mistralLsp.explain');
  assert.equal(explained?.markdown, '`mean` returns the **average** of `xs`; an empty list raises `ZeroDivisionError`.');
  assert.equal(api.actions.view.last?.title, 'Explain with AI: mean');
  const shown = await vscode.workspace.openTextDocument(api.actions.view.last!.uri);
  assert.match(shown.getText(), /^# Explain with AI: mean\n\n`mean` returns the \*\*average\*\*/);
  await eventually('the cursor back in the code after the explanation opened', () =>
    vscode.window.activeTextEditor?.document.uri.toString() === editor.document.uri.toString() ? true : undefined);
  assert.ok(vscode.window.tabGroups.all.some((group) => group.tabs.some((tab) => tab.label.includes('Explain with AI'))),
    'the explanation is open beside the code');
  const active = vscode.window.activeTextEditor!;
  active.selection = new vscode.Selection(1, 0, 1, 28);
  await scriptAction('edit', '    return sum(xs) / len(xs) if xs else 0.0\n```');
  const edited = await vscode.commands.executeCommand<any>('mistralLsp.editWithInstruction', 'return 0.0 for an empty list');
  assert.equal(edited?.ok, true, JSON.stringify(edited));
  await eventually('the edit applied', () => (editor.document.lineAt(1).text.endsWith('else 0.0') ? true : undefined));
  const sent = (await actionRequests('edit')).pop();
  assert.ok(JSON.stringify(sent.messages).includes('Instruction: return 0.0 for an empty list'));
  await scriptAction('document', 'Return the mean of xs (0.0 when empty)."""\n');
  active.selection = new vscode.Selection(0, 5, 0, 5);
  const documented = await vscode.commands.executeCommand<any>('mistralLsp.document');
  assert.equal(documented?.ok, true, JSON.stringify(documented));
  await eventually('the docstring', () => (editor.document.lineAt(1).text === '    """Return the mean of xs (0.0 when empty)."""' ? true : undefined));
  await scriptAction('tests', 'from explain import mean\n\n\ndef test_mean_of_two():\n    assert mean([1, 3]) == 2\n```');
  const tested = await vscode.commands.executeCommand<any>('mistralLsp.writeTests');
  assert.equal(tested?.ok, true, JSON.stringify(tested));
  const created = folderUri('tests/test_explain.py');
  const testDoc = await eventually('the test file', async () => {
    try {
      return await vscode.workspace.openTextDocument(created);
    } catch {
      return undefined;
    }
  });
  assert.equal(testDoc.getText(), 'from explain import mean\n\n\ndef test_mean_of_two():\n    assert mean([1, 3]) == 2\n');
}, 60000);

test('AI actions: a user action from .mistral-lsp.toml appears and runs (Run AI Action…)', async () => {
  const editor = await openFresh('shout.py', 'def greet():\n    return "hello"\n');
  editor.selection = new vscode.Selection(1, 4, 1, 18);
  const listed = await codeActions(editor.document, editor.selection);
  assert.ok(listed.some((a) => a.title === 'Shout: line 2'), listed.map((a) => a.title).join(', '));
  await scriptAction('other', '    return "HELLO"\n```');
  const result = await vscode.commands.executeCommand<any>('mistralLsp.runAction', 'shout');
  assert.equal(result?.ok, true, JSON.stringify(result));
  await eventually('the user action applied', () => (editor.document.lineAt(1).text === '    return "HELLO"' ? true : undefined));
}, 45000);

// -- the runner ---------------------------------------------------------------------------

export async function run(): Promise<void> {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const results: { name: string; outcome: string; ms: number; error?: string }[] = [];
  for (const testCase of cases) {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        testCase.fn(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${testCase.timeoutMs} ms`)), testCase.timeoutMs);
        }),
      ]);
      passed += 1;
      results.push({ name: testCase.name, outcome: 'passed', ms: Date.now() - started });
      log(`PASS ${testCase.name} (${Date.now() - started} ms)`);
    } catch (err) {
      if (err instanceof Skip) {
        skipped += 1;
        results.push({ name: testCase.name, outcome: 'skipped', ms: 0, error: err.message });
        log(`SKIP ${testCase.name}: ${err.message}`);
      } else {
        failed += 1;
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        results.push({ name: testCase.name, outcome: 'failed', ms: Date.now() - started, error: message });
        log(`FAIL ${testCase.name}: ${message}`);
      }
    } finally {
      clearTimeout(timer);
    }
  }
  const summary = `${passed} passed, ${failed} failed, ${skipped} skipped`;
  log(summary);
  if (RESULTS) {
    fs.writeFileSync(RESULTS, JSON.stringify({ passed, failed, skipped, results }, null, 2));
  }
  if (failed > 0 || passed === 0) {
    throw new Error(summary);
  }
}
