/** The status item's words, the menu and the command messages (node:test; no VS Code needed). */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { menuEntries, present, reviewFileMessage, toggleMessage } from '../../common/presentation';

const ready = { state: 'ready', endpoint: 'http://gpu-box:8000/v1', model: 'mistralai/Mistral-Small-3.2-24B-Instruct-2506', completionsEnabled: true, lastCompletionLatencyMs: 41.6 };

test('ready: short text in the status bar, the details in the tooltip', () => {
  const shown = present({ phase: 'running', server: ready });
  assert.equal(shown.text, '$(sparkle) Mistral: ready · 42 ms');
  assert.equal(shown.severity, 'info');
  assert.ok(shown.tooltip.includes('Model: Mistral\\-Small\\-3.2\\-24B\\-Instruct\\-2506 at gpu\\-box:8000'), shown.tooltip.join('|'));
  assert.ok(shown.tooltip.includes('Automatic completions: on'));
});

test('unreachable: a warning, the whole reason in the tooltip, not in the status bar text', () => {
  const reason = 'cannot connect to http://127.0.0.1:8000/v1 (ConnectError) · Connection refused by the host after 3 attempts';
  const shown = present({ phase: 'running', server: { ...ready, state: 'unavailable', reason } });
  assert.equal(shown.text, '$(warning) Mistral: unreachable');
  assert.equal(shown.severity, 'warning');
  assert.equal(shown.reason, reason);
  assert.ok(shown.tooltip.some((line) => line.includes('Connection refused by the host after 3 attempts')));
});

test('client-side states win over the server answer', () => {
  assert.equal(present({ phase: 'notFound', phaseDetail: 'no mistral-lsp' }).text, '$(error) Mistral: server not found');
  assert.equal(present({ phase: 'notFound' }).severity, 'error');
  assert.equal(present({ phase: 'starting' }).label, 'starting');
  assert.equal(present({ phase: 'running', server: ready, busy: true }).label, 'busy');
  assert.equal(present({ phase: 'running', server: { ...ready, completionsEnabled: false } }).text, '$(circle-slash) Mistral: ready · 42 ms · completions off');
});

test('the menu: toggle follows the state; review only when offered; the reason beside Check Setup', () => {
  const base = { extensionId: 'mistral-lsp.mistral-lsp', reviewAvailable: true, fileName: 'main.py' };
  const on = menuEntries({ ...base, phase: 'running', presentation: present({ phase: 'running', server: ready }), completionsEnabled: true });
  assert.deepEqual(on.map((e) => e.command), [
    'mistralLsp.toggleCompletions', 'mistralLsp.reviewFile', 'mistralLsp.reviewWorkspace', 'mistralLsp.checkSetup',
    'mistralLsp.showLogs', 'mistralLsp.restartServer', 'workbench.action.openSettings',
  ]);
  assert.match(on[0].label, /Disable Automatic Completions/);
  assert.deepEqual(on[6].args, ['@ext:mistral-lsp.mistral-lsp']);
  const off = menuEntries({ ...base, phase: 'running', presentation: present({ phase: 'running', server: ready }), completionsEnabled: false });
  assert.match(off[0].label, /Enable Automatic Completions/);
  const missing = menuEntries({ ...base, phase: 'notFound', presentation: present({ phase: 'notFound', phaseDetail: 'mistral-lsp was not found' }) });
  assert.deepEqual(missing.map((e) => e.command), ['mistralLsp.checkSetup', 'mistralLsp.showLogs', 'mistralLsp.restartServer', 'workbench.action.openSettings']);
  assert.equal(missing[0].detail, 'mistral-lsp was not found');
});

test('Review File always says something: the server words, else a sentence of its own', () => {
  assert.deepEqual(reviewFileMessage({ reviewed: true, findings: 0, shown: 0, errors: [], message: 'reviewed a.py: no findings' }, 'a.py'),
    { text: 'Mistral LSP: reviewed a.py: no findings', severity: 'info', findings: 0 });
  assert.equal(reviewFileMessage({ reviewed: true, findings: 1, shown: 1, errors: [] }, 'b.py').text, 'Mistral LSP: reviewed b.py: 1 finding');
  assert.equal(reviewFileMessage({ reviewed: true, findings: 2, shown: 2, errors: [] }, 'b.py').text, 'Mistral LSP: reviewed b.py: 2 findings');
  const skipped = reviewFileMessage({ reviewed: false, reason: 'secret file' }, '.env');
  assert.equal(skipped.text, 'Mistral LSP: .env was not reviewed: secret file');
  assert.equal(skipped.severity, 'warning');
});

test('toggle: one short line each way', () => {
  assert.match(toggleMessage(false), /automatic completions off/);
  assert.match(toggleMessage(true), /automatic completions on/);
});
