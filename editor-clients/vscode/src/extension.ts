/**
 * Mistral LSP for VS Code: wires the log channel, the status item, the server controller and
 * the commands. Behaviour lives in the server; this only launches, configures and displays.
 * The extension activates on the languages the server serves (package.json, written from the
 * server's list) and on its commands.
 */
import * as vscode from 'vscode';
import { checkEnvironment, explicitServerSettings, legacySettings, SECTION } from './common/settings';
import { API_KEY_SECRET, SERVER, ServerController } from './common/server';
import { MenuEntry, reviewFileMessage, toggleMessage } from './common/presentation';
import { StatusSnapshot, StatusView } from './common/status';
import { ACTION_COMMANDS, ActionResult, Actions } from './common/actions';

/** What activate() returns: used by the extension-host tests, stable enough for other extensions. */
export interface MistralLspApi {
  controller: ServerController;
  status(): StatusSnapshot;
  refreshStatus(): Promise<StatusSnapshot>;
  /** Store (or with undefined, delete) the API key, as the Set API Key command does. */
  setApiKey(key: string | undefined): Promise<void>;
  /** The status menu's entries as they are now (what clicking the status item offers). */
  menu(): MenuEntry[];
  /** Settings found under the old `mistralLsp.` prefix (reported once at activation). */
  legacySettings: string[];
  /** The AI actions (the tests read the last explanation shown). */
  actions: Actions;
}

/** What the review commands return to their callers (the tests): the server's answer and what was said. */
export interface ReviewOutcome {
  result: unknown;
  message: string;
}

let controller: ServerController | undefined;

interface CheckOutcome {
  exitCode: number | null;
  usable: boolean;
  report?: Record<string, any>;
  message: string;
}

export async function activate(context: vscode.ExtensionContext): Promise<MistralLspApi> {
  const log = vscode.window.createOutputChannel('Mistral LSP', { log: true });
  const status = new StatusView();
  const ctl = new ServerController(context, log, status);
  controller = ctl;
  context.subscriptions.push(log, status, ctl);
  log.info(`Mistral LSP extension ${context.extension.packageJSON.version} activating`);

  const setApiKey = async (key: string | undefined): Promise<void> => {
    if (key) {
      await context.secrets.store(API_KEY_SECRET, key);
    } else {
      await context.secrets.delete(API_KEY_SECRET);
    }
    ctl.requestRestart(key ? 'API key set' : 'API key cleared');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await ctl.idle();
  };

  const requireCommand = async (command: string): Promise<boolean> => {
    await ctl.ensureStarted();
    if (ctl.offers(command)) {
      return true;
    }
    const why = ctl.client?.isRunning()
      ? 'this version of the mistral-lsp server does not offer review yet: update it'
      : 'the server is not running (see "Mistral LSP: Check Setup")';
    void vscode.window.showWarningMessage(`Mistral LSP: cannot review: ${why}.`);
    return false;
  };

  const register = (id: string, handler: (...args: any[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, handler));

  const actions = new Actions(ctl);
  context.subscriptions.push(actions);
  ctl.commandMiddleware = actions.middleware;
  for (const [command, name] of Object.entries(ACTION_COMMANDS)) {
    // An instruction may be given by a caller (a keybinding's args, another extension, the tests).
    register(command, (instruction?: unknown): Promise<ActionResult | undefined> =>
      actions.run(name, typeof instruction === 'string' ? instruction : undefined));
  }
  register('mistralLsp.runAction', (name?: unknown, instruction?: unknown): Promise<ActionResult | undefined> =>
    actions.pick(typeof name === 'string' ? name : undefined, typeof instruction === 'string' ? instruction : undefined));

  register('mistralLsp.reviewFile', async (uri?: vscode.Uri): Promise<ReviewOutcome | undefined> => {
    const target = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
    if (!target) {
      void vscode.window.showInformationMessage('Mistral LSP: open a file to review it.');
      return undefined;
    }
    if (!(await requireCommand(SERVER.reviewFile))) {
      return undefined;
    }
    await vscode.workspace.openTextDocument(target); // the server reviews open documents
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Mistral LSP: reviewing' },
      () => ctl.executeServerCommand<Record<string, unknown>>(SERVER.reviewFile, [target.toString()]),
    );
    log.info(`review of ${target.toString()}: ${JSON.stringify(result)}`);
    // Say what came of it, a clean file included (its Problems view would stay empty).
    const said = reviewFileMessage(result ?? undefined, vscode.workspace.asRelativePath(target));
    if (said.severity === 'warning') {
      void vscode.window.showWarningMessage(said.text, 'Show Logs').then((c) => ctl.handleChoice(c));
    } else if (said.findings > 0) {
      void vscode.window.showInformationMessage(said.text, 'Show Problems').then((choice) => {
        if (choice === 'Show Problems') {
          void vscode.commands.executeCommand('workbench.actions.view.problems');
        }
      });
    } else {
      void vscode.window.showInformationMessage(said.text);
    }
    return { result, message: said.text };
  });

  register('mistralLsp.reviewWorkspace', async (): Promise<ReviewOutcome | undefined> => {
    if (!(await requireCommand(SERVER.reviewWorkspace))) {
      return undefined;
    }
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Mistral LSP: reviewing the workspace' },
      () => ctl.executeServerCommand<{ started?: boolean; files?: number; message?: string }>(SERVER.reviewWorkspace, []),
    );
    log.info(`workspace review: ${JSON.stringify(result)}`);
    const text = `Mistral LSP: ${result?.message ?? (result?.started === false ? 'workspace review not started' : `reviewing ${result?.files ?? 0} files in the background`)}`;
    if (result?.started === false) {
      void vscode.window.showWarningMessage(text);
    } else {
      void vscode.window.showInformationMessage(text);
    }
    return { result, message: text };
  });

  let toggleNote: vscode.Disposable | undefined;
  register('mistralLsp.toggleCompletions', async () => {
    try {
      const result = await ctl.executeServerCommand<{ completionsEnabled?: boolean }>(SERVER.toggleCompletions);
      const on = result?.completionsEnabled !== false;
      await ctl.refreshStatus();
      // A transient status bar message, not a notification: toggling twice must not stack toasts.
      // The status item itself keeps saying "completions off" while they are.
      toggleNote?.dispose();
      toggleNote = vscode.window.setStatusBarMessage(toggleMessage(on), 4000);
      return result;
    } catch (err) {
      void vscode.window.showWarningMessage(`Mistral LSP: ${err instanceof Error ? err.message : String(err)}.`);
      return undefined;
    }
  });

  register('mistralLsp.clearCache', async () => {
    try {
      return await ctl.executeServerCommand(SERVER.clearCache);
    } catch (err) {
      void vscode.window.showWarningMessage(`Mistral LSP: ${err instanceof Error ? err.message : String(err)}.`);
      return undefined;
    }
  });

  register('mistralLsp.restartServer', async () => {
    await ctl.restart();
    return ctl.client?.isRunning() ?? false;
  });

  register('mistralLsp.showLogs', () => log.show(true));

  register('mistralLsp.showMenu', () => status.showMenu(ctl.offers(SERVER.reviewFile), context.extension.id));

  register('mistralLsp.setApiKey', async () => {
    const key = await vscode.window.showInputBox({
      title: 'Mistral LSP: API key',
      prompt: 'The bearer token of your vLLM server (vllm serve --api-key). Kept in VS Code\'s secret storage; empty clears it.',
      password: true,
      ignoreFocusOut: true,
      placeHolder: 'token',
    });
    if (key === undefined) {
      return;
    }
    await setApiKey(key.trim() || undefined);
    void vscode.window.showInformationMessage(
      key.trim() ? 'Mistral LSP: API key saved in secret storage; the server was restarted.' : 'Mistral LSP: API key cleared.',
    );
  });

  register('mistralLsp.clearApiKey', async () => {
    await setApiKey(undefined);
    void vscode.window.showInformationMessage('Mistral LSP: API key cleared.');
  });

  register('mistralLsp.checkSetup', () =>
    vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Mistral LSP: checking the model server…' },
      () => checkSetup(ctl, log, context.extension.packageJSON),
    ),
  );

  const legacy = legacySettings(context.extension.packageJSON);
  if (legacy.length) {
    const message = `Mistral LSP: the settings are now named ${SECTION}.*; ${legacy.join(', ')} ${legacy.length === 1 ? 'is' : 'are'} ignored until renamed in your settings.json.`;
    log.warn(message);
    void vscode.window.showWarningMessage(message, 'Open Settings (JSON)').then((choice) => {
      if (choice) {
        void vscode.commands.executeCommand('workbench.action.openSettingsJson');
      }
    });
  }

  void ctl.startWhenNeeded();
  return {
    controller: ctl,
    status: () => status.snapshot,
    refreshStatus: async () => {
      await ctl.refreshStatus();
      return status.snapshot;
    },
    setApiKey,
    menu: () => status.menu(ctl.offers(SERVER.reviewFile), context.extension.id),
    legacySettings: legacy,
    actions,
  };
}

async function checkSetup(ctl: ServerController, log: vscode.LogOutputChannel, packageJSON: unknown): Promise<CheckOutcome> {
  const explicit = explicitServerSettings(packageJSON);
  const result = await ctl.runCheck(checkEnvironment(explicit));
  if (!result.discovery.ok) {
    ctl.showNotFound(result.discovery);
    return { exitCode: null, usable: false, message: result.discovery.problem };
  }
  let report: Record<string, any> | undefined;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    report = undefined;
  }
  if (report) {
    log.info(`check: ${JSON.stringify(report)}`);
  } else {
    log.info(`check stdout: ${result.stdout.trim()}`);
  }
  if (result.stderr.trim()) {
    log.info(`check stderr: ${result.stderr.trim()}`);
  }
  let message: string;
  if (result.code === 0 && report) {
    const context = report.maxModelLen ? `, context ${report.maxModelLen} tokens` : '';
    const took = typeof report.completionMs === 'number' ? `; a 1-token completion took ${Math.round(report.completionMs)} ms` : '';
    message = `Mistral LSP: setup OK: ${report.model} at ${report.endpoint}${context}${took}.`;
    void vscode.window.showInformationMessage(message, 'Show Logs').then((c) => ctl.handleChoice(c));
  } else if (result.code === 3) {
    const problems = [...(report?.settingsProblems ?? []), ...(report?.problems ?? [])];
    const auth = problems.some((p: string) => /401|403|auth|api key|unauthori[sz]ed/i.test(p));
    message = `Mistral LSP: completions would not work with ${report?.endpoint ?? 'the configured endpoint'}: ${problems.join('; ') || 'see the log'}.`;
    const actions = auth ? ['Set API Key', 'Open Settings', 'Show Logs'] : ['Open Settings', 'Show Logs'];
    void vscode.window.showWarningMessage(message, ...actions).then((c) => ctl.handleChoice(c));
  } else {
    const tail = (result.error ?? result.stderr).trim().split('\n').slice(-1)[0] ?? '';
    message = `Mistral LSP: the check could not run (exit ${result.code ?? 'none'}): ${tail}`;
    void vscode.window.showErrorMessage(message, 'Show Logs').then((c) => ctl.handleChoice(c));
  }
  return { exitCode: result.code, usable: result.code === 0, report, message };
}

export async function deactivate(): Promise<void> {
  await controller?.shutdown();
  controller = undefined;
}
