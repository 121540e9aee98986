/** Server discovery order and messages (node:test; no VS Code needed). */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { discoverServer, DiscoveryDeps, expandPath, looksLikePython } from '../../common/discovery';

function deps(overrides: Partial<DiscoveryDeps> & { executables?: string[]; importable?: string[] } = {}): DiscoveryDeps {
  const executables = new Set(overrides.executables ?? []);
  const importable = new Set(overrides.importable ?? []);
  return {
    settingPath: '',
    workspaceFolder: '/ws',
    homeDir: '/home/me',
    env: { PATH: '/usr/local/bin:/usr/bin' },
    platform: 'linux',
    pythonInterpreter: async () => undefined,
    isExecutable: async (file) => executables.has(file),
    canImport: async (python) => (importable.has(python) ? { ok: true, detail: '0.1.0' } : { ok: false, detail: "No module named 'lsp_server'" }),
    ...overrides,
  };
}

test('the setting wins: an executable runs as `mistral-lsp serve`', async () => {
  const found = await discoverServer(
    deps({ settingPath: '/opt/bin/mistral-lsp', executables: ['/opt/bin/mistral-lsp', '/usr/bin/mistral-lsp'] }),
  );
  assert.ok(found.ok);
  assert.equal(found.server.source, 'setting');
  assert.equal(found.server.command, '/opt/bin/mistral-lsp');
  assert.deepEqual(found.server.base, []);
});

test('the setting may be a Python interpreter: `python -m lsp_server`', async () => {
  const found = await discoverServer(
    deps({ settingPath: '${workspaceFolder}/.venv/bin/python3', executables: ['/ws/.venv/bin/python3'], importable: ['/ws/.venv/bin/python3'] }),
  );
  assert.ok(found.ok);
  assert.equal(found.server.command, '/ws/.venv/bin/python3');
  assert.deepEqual(found.server.base, ['-m', 'lsp_server']);
});

test('a broken setting is reported, not silently skipped', async () => {
  const missing = await discoverServer(deps({ settingPath: '~/nope/mistral-lsp', executables: ['/usr/bin/mistral-lsp'] }));
  assert.equal(missing.ok, false);
  assert.ok(!missing.ok && missing.settingFailed);
  assert.match(!missing.ok ? missing.problem : '', /not an executable file/);

  const noModule = await discoverServer(deps({ settingPath: '/venv/bin/python', executables: ['/venv/bin/python'] }));
  assert.ok(!noModule.ok);
  assert.match(noModule.problem, /cannot import lsp_server/);
  assert.match(noModule.fix, /pip install/);
});

test("then the Python extension's interpreter, if it has the package", async () => {
  const found = await discoverServer(
    deps({ pythonInterpreter: async () => '/venv/bin/python', importable: ['/venv/bin/python'], executables: ['/usr/bin/mistral-lsp'] }),
  );
  assert.ok(found.ok);
  assert.equal(found.server.source, 'python');
  assert.equal(found.server.description, '/venv/bin/python -m lsp_server');
});

test('then PATH, when the interpreter lacks the package', async () => {
  const found = await discoverServer(
    deps({ pythonInterpreter: async () => '/venv/bin/python', executables: ['/usr/bin/mistral-lsp'] }),
  );
  assert.ok(found.ok);
  assert.equal(found.server.source, 'path');
  assert.equal(found.server.command, '/usr/bin/mistral-lsp');
  assert.ok(found.tried.some((line) => line.includes('/venv/bin/python') && line.includes('cannot import')));
});

test('nothing works: a clear problem and fix naming the interpreter', async () => {
  const found = await discoverServer(deps({ pythonInterpreter: async () => '/venv/bin/python' }));
  assert.ok(!found.ok);
  assert.equal(found.settingFailed, false);
  assert.match(found.problem, /not found/);
  assert.match(found.fix, /\/venv\/bin\/python/);
  assert.match(found.fix, /mistralLSP\.server\.path/);
  assert.equal(found.tried.length, 3);
});

test('a failing Python extension does not stop the search', async () => {
  const found = await discoverServer(
    deps({
      pythonInterpreter: async () => {
        throw new Error('boom');
      },
      executables: ['/usr/local/bin/mistral-lsp'],
    }),
  );
  assert.ok(found.ok);
  assert.equal(found.server.command, '/usr/local/bin/mistral-lsp');
});

test('Windows: PATHEXT and ; separators', async () => {
  const found = await discoverServer(
    deps({ platform: 'win32', env: { Path: 'C:\\py\\Scripts;C:\\bin', PATHEXT: '.COM;.EXE' }, executables: ['C:\\py\\Scripts/mistral-lsp.exe'] }),
  );
  assert.ok(found.ok);
  assert.equal(found.server.command, 'C:\\py\\Scripts/mistral-lsp.exe');
});

test('path helpers', () => {
  assert.ok(looksLikePython('/usr/bin/python3.11'));
  assert.ok(looksLikePython('C:\\Python\\python.exe'));
  assert.ok(!looksLikePython('/usr/bin/mistral-lsp'));
  assert.equal(expandPath('~/x/mistral-lsp', { homeDir: '/home/me', workspaceFolder: '/ws' }), '/home/me/x/mistral-lsp');
  assert.equal(expandPath('.venv/bin/python', { homeDir: '/home/me', workspaceFolder: '/ws' }), '/ws/.venv/bin/python');
  assert.equal(expandPath('mistral-lsp', { homeDir: '/home/me', workspaceFolder: '/ws' }), 'mistral-lsp');
});
