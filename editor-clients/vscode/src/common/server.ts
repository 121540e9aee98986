/**
 * The language client's lifecycle: find the server once a document it serves is open (not
 * before: a window without such files never starts it, nor reports it missing), start it with
 * the user's explicit settings and the API key (environment), restart it once when a setting
 * that shapes the process changes, push other setting changes, and keep the status item
 * current (the server pushes `mistral-lsp/status`; the item also asks after completions).
 */
import { createHash } from 'crypto';
import * as os from 'os';
import * as readline from 'readline';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  ExecuteCommandSignature,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  StaticFeature,
  TransportKind,
} from 'vscode-languageclient/node';
import { discoverServer, Discovery, ServerCommand } from './discovery';
import { canImport, isExecutable, run } from './process';
import { onInterpreterChanged, pythonInterpreter } from './python';
import { documentSelector, explicitServerSettings, LaunchSettings, launchSettings, RESTART_SETTINGS, SECTION, SERVER_SECTION } from './settings';
import { ServerStatus, StatusView } from './status';

export const API_KEY_SECRET = 'mistralLsp.apiKey';
export const API_KEY_ENV = 'MISTRAL_LSP_API_KEY';

/** Server commands (workspace/executeCommand) the extension calls. */
export const SERVER = {
  status: 'mistral-lsp.status',
  toggleCompletions: 'mistral-lsp.toggleCompletions',
  clearCache: 'mistral-lsp.clearCache',
  reviewFile: 'mistral-lsp.reviewFile',
  reviewWorkspace: 'mistral-lsp.reviewWorkspace',
  runAction: 'mistral-lsp.runAction',
};

/** The server's status notification, asked for with `experimental.mistralLsp.statusNotification`. */
export const STATUS_NOTIFICATION = 'mistral-lsp/status';

/** Declares the client capability that makes the server push its status. */
const statusNotificationFeature: StaticFeature = {
  fillClientCapabilities(capabilities) {
    const experimental = (capabilities.experimental ?? {}) as Record<string, unknown>;
    capabilities.experimental = { ...experimental, mistralLsp: { statusNotification: true } };
  },
  initialize() {},
  getState() {
    return { kind: 'static' };
  },
  clear() {},
};

// Long enough for a burst of settings writes (VS Code applies them one after the other; each can take
// several hundred ms on a busy machine) to restart the server once.
const RESTART_DEBOUNCE_MS = 1000;
const CONFIG_DEBOUNCE_MS = 200;
const REFRESH_DEBOUNCE_MS = 400;

function getDotted(table: Record<string, any>, key: string): unknown {
  return key.split('.').reduce<any>((acc, part) => (acc && typeof acc === 'object' ? acc[part] : undefined), table);
}

export class ServerController implements vscode.Disposable {
  client?: LanguageClient;
  server?: ServerCommand;
  lastDiscovery?: Discovery;
  /** How many times a server process was started by this controller (tests read it). */
  starts = 0;
  private fingerprint?: string;
  private queue: Promise<void> = Promise.resolve();
  private restartTimer?: NodeJS.Timeout;
  private configTimer?: NodeJS.Timeout;
  private refreshTimer?: NodeJS.Timeout;
  private pollTimer?: NodeJS.Timeout;
  private shownProblem?: string;
  private disposed = false;
  private watchingInterpreter = false;
  private wanted = false; // a served document was opened, or a command needs the server
  private readonly disposables: vscode.Disposable[] = [];
  /** Sees the server commands the client runs for code actions (the AI actions set it). */
  commandMiddleware?: (command: string, args: any[], next: ExecuteCommandSignature) => Promise<unknown>;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
    private readonly status: StatusView,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event)),
      context.secrets.onDidChange((event) => {
        if (event.key === API_KEY_SECRET) {
          this.requestRestart('the API key changed');
        }
      }),
      vscode.window.onDidChangeWindowState((state) => {
        if (state.focused) {
          this.scheduleRefresh();
        }
      }),
      vscode.workspace.onDidOpenTextDocument((document) => {
        if (!this.wanted && this.serves(document)) {
          void this.start();
        }
      }),
    );
    this.updateLanguageContext();
    this.schedulePoll();
  }

  /** Is `document` one the server gets (mistralLSP.languages, file or untitled)? */
  serves(document: vscode.TextDocument): boolean {
    return vscode.languages.match(documentSelector(), document) > 0;
  }

  /** Start when a served document is open; otherwise wait for one (onDidOpenTextDocument). */
  startWhenNeeded(): Promise<void> {
    if (vscode.workspace.textDocuments.some((document) => this.serves(document))) {
      return this.start();
    }
    this.log.info('waiting for a file of mistralLSP.languages before starting the server');
    return Promise.resolve();
  }

  /** Start the server if it was never started (a command that needs it). */
  async ensureStarted(): Promise<void> {
    if (!this.wanted) {
      await this.start();
    }
    await this.idle();
  }

  // -- lifecycle ------------------------------------------------------------------------

  /** Start (or restart) now, after whatever is queued. */
  start(): Promise<void> {
    this.wanted = true;
    return this.enqueue(() => this.restartNow('start', true));
  }

  /** Restart now, even if nothing changed (the Restart Server command). */
  restart(): Promise<void> {
    clearTimeout(this.restartTimer);
    this.wanted = true;
    return this.enqueue(() => this.restartNow('restart requested', true));
  }

  /** Restart soon, once for a burst of changes, and only if the launch really changed. */
  requestRestart(reason: string): void {
    if (!this.wanted) {
      return; // not started yet: the first start will use the new settings
    }
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      void this.enqueue(() => this.restartNow(reason, false));
    }, RESTART_DEBOUNCE_MS);
  }

  /** Resolves when queued starts/restarts are done. */
  async idle(): Promise<void> {
    let seen: Promise<void> | undefined;
    while (seen !== this.queue || this.restartTimer) {
      if (this.restartTimer) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      seen = this.queue;
      await seen;
    }
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work, work);
    this.queue = next.catch((err) => this.log.error(`lifecycle: ${String(err)}`));
    return this.queue;
  }

  private async environment(launch: LaunchSettings): Promise<NodeJS.ProcessEnv> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...launch.env };
    const key = await this.context.secrets.get(API_KEY_SECRET);
    if (key) {
      env[API_KEY_ENV] = key; // the key from secret storage wins over an inherited one
    }
    return env;
  }

  /** Find the server (setting > Python extension > PATH). */
  async discover(): Promise<{ discovery: Discovery; launch: LaunchSettings; env: NodeJS.ProcessEnv }> {
    const launch = launchSettings();
    if (!launch.path && !this.watchingInterpreter) {
      // The Python extension is consulted: follow its interpreter from now on.
      this.watchingInterpreter = true;
      void onInterpreterChanged(() => {
        if (!launchSettings().path) {
          this.requestRestart('the selected Python interpreter changed');
        }
      }).then((listener) => listener && this.disposables.push(listener));
    }
    const env = await this.environment(launch);
    const folder = vscode.workspace.workspaceFolders?.[0];
    const discovery = await discoverServer({
      settingPath: launch.path,
      workspaceFolder: folder?.uri.scheme === 'file' ? folder.uri.fsPath : undefined,
      homeDir: os.homedir(),
      env,
      platform: process.platform,
      pythonInterpreter: () => pythonInterpreter(folder?.uri),
      isExecutable,
      canImport: (python) => canImport(python, env),
    });
    this.lastDiscovery = discovery;
    return { discovery, launch, env };
  }

  private async restartNow(reason: string, force: boolean): Promise<void> {
    this.restartTimer = undefined;
    if (this.disposed) {
      return;
    }
    const { discovery, launch, env } = await this.discover();
    if (!discovery.ok) {
      for (const line of discovery.tried) {
        this.log.info(`discovery: ${line}`);
      }
      this.log.error(`${discovery.problem} ${discovery.fix}`);
      await this.stopClient();
      this.fingerprint = undefined;
      this.status.setPhase('notFound', discovery.problem);
      this.showNotFound(discovery);
      return;
    }
    const server = discovery.server;
    const args = [...server.base, 'serve', ...launch.args];
    const fingerprint = createHash('sha256')
      .update(JSON.stringify({ command: server.command, args, env: launch.env, key: env[API_KEY_ENV] ?? '', selector: documentSelector() }))
      .digest('hex');
    if (!force && fingerprint === this.fingerprint && this.client?.isRunning()) {
      this.log.info(`no restart needed (${reason}): the server command and environment are unchanged`);
      return;
    }
    this.log.info(`${this.client ? 'restarting' : 'starting'} the server (${reason}): ${server.description} ${args.slice(server.base.length).join(' ')} [found via ${server.source}]`);
    await this.stopClient();
    this.status.setPhase('starting');
    this.server = server;
    this.fingerprint = fingerprint;
    this.shownProblem = undefined;
    const folder = vscode.workspace.workspaceFolders?.[0];
    const serverOptions: ServerOptions = {
      command: server.command,
      args,
      transport: TransportKind.stdio,
      options: { env, cwd: folder?.uri.scheme === 'file' ? folder.uri.fsPath : os.homedir() },
    };
    const client = new LanguageClient(SECTION, 'Mistral LSP', serverOptions, this.clientOptions());
    client.registerProposedFeatures();
    client.registerFeature(statusNotificationFeature);
    client.onNotification(STATUS_NOTIFICATION, (status: ServerStatus) => {
      if (client === this.client && client.isRunning()) {
        this.status.setServerStatus(status);
      }
    });
    client.onDidChangeState((event) => {
      if (client !== this.client) {
        return;
      }
      if (event.newState === State.Running) {
        this.status.setPhase('running');
        this.updateContext();
        this.scheduleRefresh(0);
      } else if (event.newState === State.Stopped && !this.disposed) {
        this.status.setPhase('stopped');
      }
    });
    this.client = client;
    this.starts += 1;
    try {
      await client.start();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log.error(`the server failed to start: ${message}`);
      this.status.setPhase('failed', message);
      void vscode.window
        .showErrorMessage(`Mistral LSP: the server failed to start (${message}).`, 'Show Logs', 'Check Setup')
        .then((choice) => this.handleChoice(choice));
      return;
    }
    this.status.setPhase('running');
    this.updateContext();
    this.log.info(`server running; it offers commands: ${this.serverCommands().join(', ') || '(none)'}`);
    await this.refreshStatus();
  }

  private clientOptions(): LanguageClientOptions {
    const packageJSON = this.context.extension.packageJSON;
    const selector = documentSelector();
    return {
      documentSelector: selector,
      // The explicit settings go in initializationOptions too, so the server starts with them
      // (its log and status never show defaults that are not in use). It pulls them again after
      // `initialized`; that answer replaces these options, so a setting removed later is gone.
      initializationOptions: () => ({ [SERVER_SECTION]: explicitServerSettings(packageJSON) }),
      outputChannel: this.log,
      // The server logs "time LEVEL logger: message" on stderr: keep the level, drop the time.
      stdioOptions: { stdout: (input) => this.pipeLog(input), stderr: (input) => this.pipeLog(input) },
      traceOutputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      middleware: {
        executeCommand: (command, args, next) =>
          this.commandMiddleware ? this.commandMiddleware(command, args, next) : next(command, args),
        workspace: {
          // Answer the server's pull with explicit values only (never the UI defaults).
          configuration: async (params, token, next) => {
            const answer = await next(params, token);
            if (!Array.isArray(answer)) {
              return answer;
            }
            return params.items.map((item, index) => {
              const section = item.section ?? '';
              if (section !== SERVER_SECTION && !section.startsWith(`${SERVER_SECTION}.`)) {
                return answer[index];
              }
              const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
              const explicit = explicitServerSettings(packageJSON, scope);
              return section === SERVER_SECTION ? explicit : (getDotted(explicit, section.slice(SERVER_SECTION.length + 1)) ?? null);
            });
          },
        },
        provideInlineCompletionItems: async (document, position, context, token, next) => {
          this.status.requestDelta(1);
          try {
            return await next(document, position, context, token);
          } finally {
            this.status.requestDelta(-1);
            this.scheduleRefresh();
          }
        },
        provideCompletionItem: async (document, position, context, token, next) => {
          this.status.requestDelta(1);
          try {
            return await next(document, position, context, token);
          } finally {
            this.status.requestDelta(-1);
            this.scheduleRefresh();
          }
        },
      },
    };
  }

  private pipeLog(input: NodeJS.ReadableStream): void {
    const lines = readline.createInterface({ input, crlfDelay: Infinity, terminal: false });
    lines.on('line', (line) => {
      const match = /^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$/.exec(line);
      if (!match) {
        this.log.info(line);
        return;
      }
      const [, level, rest] = match;
      if (level === 'DEBUG') this.log.debug(rest);
      else if (level === 'INFO') this.log.info(rest);
      else if (level === 'WARNING') this.log.warn(rest);
      else this.log.error(rest);
    });
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    void vscode.commands.executeCommand('setContext', 'mistralLsp.reviewAvailable', false);
    void vscode.commands.executeCommand('setContext', 'mistralLsp.actionsAvailable', false);
    if (!client) {
      return;
    }
    try {
      if (client.needsStop()) {
        await client.stop(3000);
      }
    } catch (err) {
      this.log.warn(`stopping the server: ${String(err)}`);
    }
    try {
      await client.dispose(1000);
    } catch {
      // already stopped
    }
  }

  // -- settings ---------------------------------------------------------------------------

  private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (event.affectsConfiguration(`${SECTION}.languages`)) {
      this.updateLanguageContext();
      if (!this.wanted && vscode.workspace.textDocuments.some((document) => this.serves(document))) {
        void this.start();
        return;
      }
    }
    if (RESTART_SETTINGS.some((key) => event.affectsConfiguration(key))) {
      this.requestRestart('server settings changed');
      return; // the new process gets the current settings at initialize
    }
    if (event.affectsConfiguration(SECTION)) {
      if (event.affectsConfiguration(`${SECTION}.statusPollSeconds`)) {
        this.schedulePoll();
      }
      if (!this.client && this.lastDiscovery && !this.lastDiscovery.ok) {
        return;
      }
      clearTimeout(this.configTimer);
      this.configTimer = setTimeout(() => void this.pushConfiguration(), CONFIG_DEBOUNCE_MS);
    }
  }

  /** workspace/didChangeConfiguration with the explicit settings (unset = server decides). */
  async pushConfiguration(): Promise<void> {
    const client = this.client;
    if (!client?.isRunning()) {
      return;
    }
    const settings = explicitServerSettings(this.context.extension.packageJSON);
    await client.sendNotification(DidChangeConfigurationNotification.type, { settings: { [SERVER_SECTION]: settings } });
    this.scheduleRefresh();
  }

  // -- server commands ----------------------------------------------------------------------

  serverCommands(): string[] {
    return this.client?.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
  }

  offers(command: string): boolean {
    return this.serverCommands().includes(command);
  }

  /** Context keys for `when` clauses: the languages the server gets (the editor context menu). */
  private updateLanguageContext(): void {
    const languages = vscode.workspace.getConfiguration(SECTION).get<string[]>('languages') ?? ['*'];
    const all = languages.length === 0 || languages.includes('*');
    void vscode.commands.executeCommand('setContext', 'mistralLsp.allLanguages', all);
    void vscode.commands.executeCommand('setContext', 'mistralLsp.servedLanguages', all ? [] : languages);
  }

  private updateContext(): void {
    const review = this.offers(SERVER.reviewFile) || this.offers(SERVER.reviewWorkspace);
    void vscode.commands.executeCommand('setContext', 'mistralLsp.reviewAvailable', review);
    void vscode.commands.executeCommand('setContext', 'mistralLsp.actionsAvailable', this.offers(SERVER.runAction));
  }

  async executeServerCommand<T = unknown>(command: string, args: unknown[] = []): Promise<T> {
    await this.ensureStarted();
    const client = this.client;
    if (!client?.isRunning()) {
      throw new Error('the Mistral LSP server is not running');
    }
    return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args }) as Promise<T>;
  }

  // -- status -------------------------------------------------------------------------------

  scheduleRefresh(delay = REFRESH_DEBOUNCE_MS): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.refreshStatus(), delay);
  }

  async refreshStatus(): Promise<void> {
    const client = this.client;
    if (!client?.isRunning()) {
      return;
    }
    try {
      const status = await client.sendRequest(ExecuteCommandRequest.type, { command: SERVER.status, arguments: [] });
      if (client === this.client) {
        this.status.setServerStatus(status ?? undefined);
      }
    } catch (err) {
      this.log.debug(`status: ${String(err)}`);
    }
  }

  private schedulePoll(): void {
    clearInterval(this.pollTimer);
    const seconds = vscode.workspace.getConfiguration(SECTION).get<number>('statusPollSeconds', 30);
    if (seconds > 0) {
      this.pollTimer = setInterval(() => {
        if (vscode.window.state.focused) {
          void this.refreshStatus();
        }
      }, seconds * 1000);
    }
  }

  // -- messages -----------------------------------------------------------------------------

  showNotFound(discovery: Discovery & { ok: false }): void {
    const message = `Mistral LSP: ${discovery.problem} ${discovery.fix}`;
    if (this.shownProblem === message) {
      return; // once per distinct problem
    }
    this.shownProblem = message;
    const actions = ['Open Settings'];
    if (!discovery.settingFailed && vscode.extensions.getExtension('ms-python.python')) {
      actions.push('Select Interpreter');
    }
    actions.push('Show Logs');
    void vscode.window.showErrorMessage(message, ...actions).then((choice) => this.handleChoice(choice));
  }

  handleChoice(choice: string | undefined): void {
    switch (choice) {
      case 'Open Settings':
        void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.`);
        break;
      case 'Select Interpreter':
        void vscode.commands.executeCommand('python.setInterpreter');
        break;
      case 'Show Logs':
        this.log.show(true);
        break;
      case 'Check Setup':
        void vscode.commands.executeCommand('mistralLsp.checkSetup');
        break;
      case 'Set API Key':
        void vscode.commands.executeCommand('mistralLsp.setApiKey');
        break;
    }
  }

  /** `mistral-lsp check --json` with the server's command and environment. */
  async runCheck(extraEnv: Record<string, string>): Promise<{ discovery: Discovery; code: number | null; stdout: string; stderr: string; error?: string }> {
    const { discovery, env } = await this.discover();
    if (!discovery.ok) {
      return { discovery, code: null, stdout: '', stderr: '', error: discovery.problem };
    }
    const folder = vscode.workspace.workspaceFolders?.[0];
    const args = [...discovery.server.base, 'check', '--json'];
    if (folder?.uri.scheme === 'file') {
      args.push('--root', folder.uri.fsPath);
    }
    this.log.info(`check: ${discovery.server.command} ${args.join(' ')}`);
    const result = await run(discovery.server.command, args, { env: { ...env, ...extraEnv }, timeoutMs: 60000 });
    return { discovery, ...result };
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.configTimer);
    clearTimeout(this.refreshTimer);
    clearInterval(this.pollTimer);
    for (const d of this.disposables) {
      d.dispose();
    }
  }

  /** Stop the server (deactivate). */
  async shutdown(): Promise<void> {
    this.dispose();
    await this.stopClient();
  }
}
