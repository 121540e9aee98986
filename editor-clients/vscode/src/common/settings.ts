/**
 * Settings: what the server is sent (only what the user set), what the client itself uses,
 * and which changes need a server restart.
 *
 * A setting the user has not set must not override the server's own resolution
 * (environment, project file, defaults), so the `mistralLsp` section sent to the server is
 * built from `inspect()`: only values set in user, workspace or folder settings, never the
 * defaults shown in the Settings UI.
 */
import * as vscode from 'vscode';
import { contributedKeys, SECTION, SERVER_SECTION } from './manifest';

export { SECTION, SERVER_SECTION };

/** Settings read by the extension itself: never sent to the server. */
const CLIENT_ONLY_PREFIXES = ['server.', 'trace.', 'statusPollSeconds', 'languages'];

/** Settings whose change restarts the server (they shape the process, not the session). */
export const RESTART_SETTINGS = ['server.path', 'server.args', 'server.env', 'languages'].map((key) => `${SECTION}.${key}`);

/** The keys sent to the server (contributed keys minus the client-only ones). */
export function serverKeys(packageJSON: any): string[] {
  return contributedKeys(packageJSON).filter((key) => !CLIENT_ONLY_PREFIXES.some((p) => key.startsWith(p)));
}

/** Value of `key` if the user set it anywhere (folder > workspace > user), else undefined. */
export function explicitValue<T>(config: vscode.WorkspaceConfiguration, key: string): T | undefined {
  const seen = config.inspect<T>(key);
  if (!seen) {
    return undefined;
  }
  return seen.workspaceFolderValue ?? seen.workspaceValue ?? seen.globalValue;
}

/** Sets `value` at the dotted `key` of `target`, creating the nested tables. */
export function setDotted(target: Record<string, any>, key: string, value: unknown): void {
  const parts = key.split('.');
  let table = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof table[part] !== 'object' || table[part] === null) {
      table[part] = {};
    }
    table = table[part];
  }
  table[parts[parts.length - 1]] = value;
}

/**
 * The nested `mistralLsp` table the server gets: only explicitly set values; empty strings
 * (the "unset" of endpoint and model) are left out too.
 */
export function explicitServerSettings(packageJSON: any, scope?: vscode.ConfigurationScope): Record<string, any> {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  const out: Record<string, any> = {};
  for (const key of serverKeys(packageJSON)) {
    const value = explicitValue<unknown>(config, key);
    if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
      continue;
    }
    setDotted(out, key, value);
  }
  return out;
}

/** The settings' old prefix (it read "Mistral Lsp" in the Settings UI); such settings are ignored now. */
const LEGACY_SECTION = 'mistralLsp';

/** Settings the user still has under the old `mistralLsp.` prefix (to tell them once). */
export function legacySettings(packageJSON: any): string[] {
  const root = vscode.workspace.getConfiguration();
  return contributedKeys(packageJSON)
    .map((key) => `${LEGACY_SECTION}.${key}`)
    .filter((key) => {
      const seen = root.inspect(key);
      return !!seen && (seen.globalValue !== undefined || seen.workspaceValue !== undefined || seen.workspaceFolderValue !== undefined);
    });
}

/** The client-side settings that decide how the server process is launched. */
export interface LaunchSettings {
  path: string;
  args: string[];
  env: Record<string, string>;
}

export function launchSettings(scope?: vscode.ConfigurationScope): LaunchSettings {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(config.get<Record<string, unknown>>('server.env') ?? {})) {
    if (value !== undefined && value !== null) {
      env[name] = String(value);
    }
  }
  return {
    path: (config.get<string>('server.path') ?? '').trim(),
    args: (config.get<unknown[]>('server.args') ?? []).map(String),
    env,
  };
}

/** The slice of `explicit` that `mistral-lsp check` understands (it reads the environment). */
export function checkEnvironment(explicit: Record<string, any>): Record<string, string> {
  const env: Record<string, string> = {};
  if (typeof explicit.endpoint === 'string') {
    env.MISTRAL_LSP_ENDPOINT = explicit.endpoint;
  }
  if (typeof explicit.model === 'string') {
    env.MISTRAL_LSP_MODEL = explicit.model;
  }
  return env;
}

/** The documents the server gets: `mistralLSP.languages` (`*`: all) in files and untitled editors. */
export function documentSelector(): { scheme: string; language?: string }[] {
  const languages = vscode.workspace.getConfiguration(SECTION).get<string[]>('languages') ?? ['*'];
  if (languages.length === 0 || languages.includes('*')) {
    return [{ scheme: 'file' }, { scheme: 'untitled' }];
  }
  return languages.flatMap((language) => [
    { scheme: 'file', language },
    { scheme: 'untitled', language },
  ]);
}
