/** Small child-process and file helpers (effects behind discovery and the check command). */
import { spawn } from 'child_process';
import * as fs from 'fs';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the process could not be started or timed out. */
  error?: string;
}

export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const done = (result: RunResult) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(result);
      }
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ code: null, stdout, stderr, error: String(err) });
      return;
    }
    const timer = setTimeout(() => {
      child.kill();
      done({ code: null, stdout, stderr, error: `timed out after ${options.timeoutMs} ms` });
    }, options.timeoutMs ?? 30000);
    child.stdout?.on('data', (chunk) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk) => (stderr += chunk.toString()));
    child.on('error', (err) => done({ code: null, stdout, stderr, error: err.message }));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

export async function isExecutable(file: string): Promise<boolean> {
  try {
    const stat = await fs.promises.stat(file);
    if (!stat.isFile()) {
      return false;
    }
    if (process.platform !== 'win32') {
      await fs.promises.access(file, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

/** Can this Python import lsp_server? The detail is the error's last line. */
export async function canImport(python: string, env: NodeJS.ProcessEnv): Promise<{ ok: boolean; detail: string }> {
  const result = await run(python, ['-c', 'import lsp_server; print(lsp_server.__version__)'], { env, timeoutMs: 20000 });
  if (result.code === 0) {
    return { ok: true, detail: result.stdout.trim() };
  }
  const lines = (result.error ?? result.stderr).trim().split('\n');
  return { ok: false, detail: lines[lines.length - 1] || `exit code ${result.code}` };
}
