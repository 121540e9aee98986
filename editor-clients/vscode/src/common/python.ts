/**
 * The Python extension's selected interpreter (ms-python.python), if that extension is
 * installed: its `environments` API (2023+), else the older `settings.getExecutionDetails`.
 */
import * as vscode from 'vscode';

const PYTHON_EXTENSION = 'ms-python.python';
const ACTIVATE_TIMEOUT_MS = 15000;

async function pythonApi(): Promise<any | undefined> {
  const ext = vscode.extensions.getExtension(PYTHON_EXTENSION);
  if (!ext) {
    return undefined;
  }
  if (ext.isActive) {
    return ext.exports;
  }
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ACTIVATE_TIMEOUT_MS));
  return Promise.race([Promise.resolve(ext.activate()), timeout]);
}

export async function pythonInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  const api = await pythonApi();
  if (!api) {
    return undefined;
  }
  const environments = api.environments;
  if (environments?.getActiveEnvironmentPath) {
    const active = environments.getActiveEnvironmentPath(resource);
    try {
      const resolved = await environments.resolveEnvironment?.(active);
      const exe = resolved?.executable?.uri?.fsPath;
      if (exe) {
        return exe;
      }
    } catch {
      // fall back to the unresolved path
    }
    return active?.path || undefined;
  }
  const details = api.settings?.getExecutionDetails?.(resource);
  const command: string[] | undefined = details?.execCommand;
  return command && command.length > 0 ? command[0] : undefined;
}

/** Fires when the user selects another interpreter (nothing when the extension is absent). */
export async function onInterpreterChanged(listener: () => void): Promise<vscode.Disposable | undefined> {
  const api = await pythonApi();
  const event = api?.environments?.onDidChangeActiveEnvironmentPath ?? api?.settings?.onDidChangeExecutionDetails;
  return typeof event === 'function' ? event(listener) : undefined;
}
