/**
 * Finding the language server: the `mistralLSP.server.path` setting, then the Python
 * extension's selected interpreter (`python -m lsp_server`), then `mistral-lsp` on PATH.
 *
 * Pure logic over injected effects (no `vscode` import), so it is unit tested with node:test.
 */
import * as path from 'path';

export type Source = 'setting' | 'python' | 'path';

/** How to run the server: `command ...base serve ...extraArgs`, or `... check` for the check. */
export interface ServerCommand {
  source: Source;
  command: string;
  /** Arguments before the subcommand: [] for `mistral-lsp`, ['-m', 'lsp_server'] for Python. */
  base: string[];
  /** Human-readable, for the log and messages. */
  description: string;
}

export interface Found {
  ok: true;
  server: ServerCommand;
  /** What was tried before it, for the log. */
  tried: string[];
}

export interface NotFound {
  ok: false;
  /** One sentence: what is wrong. */
  problem: string;
  /** One sentence: how to fix it. */
  fix: string;
  tried: string[];
  /** True when the user's explicit setting is what failed (fix the setting, not the install). */
  settingFailed: boolean;
}

export type Discovery = Found | NotFound;

export interface DiscoveryDeps {
  /** `mistralLSP.server.path` as set (may be empty). */
  settingPath: string;
  /** The first workspace folder, for `${workspaceFolder}` and relative paths. */
  workspaceFolder?: string;
  homeDir: string;
  /** The environment the server would get (PATH is searched in it). */
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  /** The Python extension's interpreter for this workspace, if that extension is there. */
  pythonInterpreter(): Promise<string | undefined>;
  /** Is `file` an existing executable file? */
  isExecutable(file: string): Promise<boolean>;
  /** Can `python` import lsp_server? `detail` says why not. */
  canImport(python: string): Promise<{ ok: boolean; detail: string }>;
}

const PYTHON_NAME = /^(python|pypy)[0-9.]*w?(\.exe)?$/i;
const INSTALL_HINT = 'install the mistral-lsp package (`pip install .` in a mistral-lsp checkout)';

export function looksLikePython(file: string): boolean {
  return PYTHON_NAME.test(file.split(/[\\/]/).pop() ?? '');
}

/** `~`, `${workspaceFolder}`, `${userHome}` and workspace-relative paths. */
export function expandPath(raw: string, deps: Pick<DiscoveryDeps, 'workspaceFolder' | 'homeDir'>): string {
  let out = raw.trim();
  out = out.replace(/\$\{userHome\}/g, deps.homeDir);
  if (deps.workspaceFolder) {
    out = out.replace(/\$\{workspaceFolder\}/g, deps.workspaceFolder);
  }
  if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) {
    out = path.join(deps.homeDir, out.slice(1));
  }
  if (!path.isAbsolute(out) && deps.workspaceFolder && (out.includes('/') || out.includes('\\'))) {
    out = path.resolve(deps.workspaceFolder, out);
  }
  return out;
}

function python(command: string, source: Source): ServerCommand {
  return { source, command, base: ['-m', 'lsp_server'], description: `${command} -m lsp_server` };
}

function executable(command: string, source: Source): ServerCommand {
  return { source, command, base: [], description: command };
}

/** Looks `name` up on PATH (with PATHEXT on Windows); returns the first executable hit. */
export async function searchPath(name: string, deps: DiscoveryDeps): Promise<string | undefined> {
  const pathVar = deps.env.PATH ?? deps.env.Path ?? '';
  const delimiter = deps.platform === 'win32' ? ';' : ':';
  const exts = deps.platform === 'win32' ? (deps.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').concat(['']) : [''];
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) {
      continue;
    }
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext.toLowerCase());
      if (await deps.isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

export async function discoverServer(deps: DiscoveryDeps): Promise<Discovery> {
  const tried: string[] = [];

  // 1. The setting: explicit, so a broken value is reported, not silently skipped.
  if (deps.settingPath.trim()) {
    const file = expandPath(deps.settingPath, deps);
    if (!(await deps.isExecutable(file))) {
      return {
        ok: false,
        settingFailed: true,
        tried: [`setting mistralLSP.server.path: ${file} is not an executable file`],
        problem: `mistralLSP.server.path is "${deps.settingPath}", which is not an executable file.`,
        fix: `Point it at the mistral-lsp executable or at a Python interpreter that has the package, or clear it to search automatically.`,
      };
    }
    if (looksLikePython(file)) {
      const check = await deps.canImport(file);
      if (!check.ok) {
        return {
          ok: false,
          settingFailed: true,
          tried: [`setting mistralLSP.server.path: ${file} cannot import lsp_server (${check.detail})`],
          problem: `mistralLSP.server.path is the Python interpreter ${file}, which cannot import lsp_server.`,
          fix: `In that environment, ${INSTALL_HINT}, or point the setting at another interpreter.`,
        };
      }
      return { ok: true, tried, server: python(file, 'setting') };
    }
    return { ok: true, tried, server: executable(file, 'setting') };
  }
  tried.push('setting mistralLSP.server.path: not set');

  // 2. The Python extension's interpreter, if it has the package.
  let interpreter: string | undefined;
  try {
    interpreter = await deps.pythonInterpreter();
  } catch (err) {
    tried.push(`Python extension: failed to ask it (${String(err)})`);
  }
  if (interpreter) {
    const check = await deps.canImport(interpreter);
    if (check.ok) {
      return { ok: true, tried, server: python(interpreter, 'python') };
    }
    tried.push(`Python extension's interpreter ${interpreter}: cannot import lsp_server (${check.detail})`);
  } else if (tried.length === 1) {
    tried.push('Python extension: not installed or no interpreter selected');
  }

  // 3. PATH.
  const onPath = await searchPath('mistral-lsp', deps);
  if (onPath) {
    return { ok: true, tried, server: executable(onPath, 'path') };
  }
  tried.push('PATH: no mistral-lsp executable');

  const where = interpreter ? `the selected interpreter (${interpreter})` : 'your Python environment';
  return {
    ok: false,
    settingFailed: false,
    tried,
    problem: 'The mistral-lsp language server was not found (not in the Python extension\'s interpreter, not on PATH).',
    fix: `In ${where}, ${INSTALL_HINT}; or select an interpreter that has it; or set mistralLSP.server.path.`,
  };
}
