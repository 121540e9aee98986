/**
 * The AI actions in VS Code: palette commands (Implement, Optimise, Explain, Document, Write Tests,
 * Edit with Instruction, Run AI Action…), the instruction box, and the explanation view. The server
 * does the work (`mistral-lsp.runAction`); edits come back through `workspace/applyEdit`, one undo
 * step. The light-bulb list is the server's code actions: those that run a command (an
 * explanation, an action that needs an instruction) pass through `middleware`, which asks for the
 * instruction and shows the Markdown.
 */
import * as vscode from 'vscode';
import type { ExecuteCommandSignature } from 'vscode-languageclient/node';
import type { ServerController } from './server';

export const RUN_ACTION = 'mistral-lsp.runAction';
export const LIST_ACTIONS = 'mistral-lsp.listActions';
const EXPLANATION_SCHEME = 'mistral-lsp-explanation';

/** What `mistral-lsp.runAction` answers. */
export interface ActionResult {
  ok: boolean;
  message: string;
  markdown?: string;
  title?: string;
  note?: string | null;
  needsInstruction?: boolean;
  cancelled?: boolean;
}

/** One entry of `mistral-lsp.listActions`. */
export interface ListedAction {
  action: string;
  title: string;
  asksInstruction: boolean;
  output: string;
  builtin: boolean;
}

/** The palette commands of the built-in actions: VS Code command -> server action. */
export const ACTION_COMMANDS: Record<string, string> = {
  'mistralLsp.implement': 'implement',
  'mistralLsp.optimise': 'optimise',
  'mistralLsp.explain': 'explain',
  'mistralLsp.document': 'document',
  'mistralLsp.writeTests': 'tests',
  'mistralLsp.editWithInstruction': 'edit',
};

/** Explanations shown as Markdown documents (a preview beside the code). */
class ExplanationView implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private counter = 0;
  /** The last explanation shown (tests read it). */
  last?: { title: string; markdown: string; uri: vscode.Uri };

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  async show(title: string, markdown: string, source?: vscode.TextEditor): Promise<vscode.Uri> {
    this.counter += 1;
    const safe = title.replace(/[\\/:*?"<>|]+/g, ' ').trim() || 'Explanation';
    const uri = vscode.Uri.from({ scheme: EXPLANATION_SCHEME, path: `/${safe}.md`, query: String(this.counter) });
    this.texts.set(uri.toString(), `# ${title}\n\n${markdown}\n`);
    this.changed.fire(uri);
    this.last = { title, markdown, uri };
    try {
      await vscode.commands.executeCommand('markdown.showPreviewToSide', uri);
    } catch {
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
    }
    if (source && !source.document.isClosed) {
      // The explanation stays beside the code; the cursor goes back where it was (once the preview,
      // which takes the focus when its webview is ready, is there).
      const shown = () => vscode.window.tabGroups.all.some((group) => group.tabs.some((tab) => tab.label.includes(safe)));
      const focusTaken = () => vscode.window.activeTextEditor?.document !== source.document;
      for (let waited = 0; !(shown() && focusTaken()) && waited < 3000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (focusTaken()) {
        await vscode.window.showTextDocument(source.document, { viewColumn: source.viewColumn, selection: source.selection });
      }
    }
    return uri;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export class Actions implements vscode.Disposable {
  readonly view = new ExplanationView();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctl: ServerController) {
    this.disposables.push(vscode.workspace.registerTextDocumentContentProvider(EXPLANATION_SCHEME, this.view), this.view);
  }

  /** The arguments of `mistral-lsp.runAction` for `editor`'s selection (or cursor). */
  private args(name: string, editor: vscode.TextEditor): Record<string, unknown> {
    const client = this.ctl.client;
    if (!client) {
      throw new Error('the Mistral LSP server is not running');
    }
    return { action: name, uri: editor.document.uri.toString(), range: client.code2ProtocolConverter.asRange(editor.selection), display: 'client' };
  }

  /** Ask for the instruction of an action; undefined when the user cancelled. */
  async askInstruction(title: string): Promise<string | undefined> {
    const text = await vscode.window.showInputBox({
      title: `Mistral LSP: ${title}`,
      prompt: 'What should the AI do with the selected code?',
      placeHolder: 'e.g. handle an empty list, use early returns, add type hints',
      ignoreFocusOut: true,
    });
    return text?.trim() ? text.trim() : undefined;
  }

  /** Run a server action on the active editor (a palette command). */
  async run(name: string, instruction?: string): Promise<ActionResult | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('Mistral LSP: open a file and select some code first.');
      return undefined;
    }
    await this.ctl.ensureStarted();
    const args = this.args(name, editor);
    if (name === 'edit' && instruction === undefined) {
      instruction = await this.askInstruction('Edit with AI');
      if (instruction === undefined) {
        return undefined;
      }
    }
    if (instruction !== undefined) {
      args.instruction = instruction;
    }
    return this.execute(args, (next) => this.ctl.executeServerCommand<ActionResult>(RUN_ACTION, [next]));
  }

  /** Run one of the actions that apply here, picked from a list (the user's own among them). */
  async pick(name?: string, instruction?: string): Promise<ActionResult | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('Mistral LSP: open a file first.');
      return undefined;
    }
    await this.ctl.ensureStarted();
    const here = this.args('', editor);
    const listed = (await this.ctl.executeServerCommand<ListedAction[]>(LIST_ACTIONS, [{ uri: here.uri, range: here.range }])) ?? [];
    let chosen = name ? listed.find((item) => item.action === name) : undefined;
    if (!name) {
      const item = await vscode.window.showQuickPick(
        listed.map((entry) => ({ label: entry.title, description: entry.builtin ? '' : 'your action', entry })),
        { title: 'Mistral LSP: AI actions here', placeHolder: listed.length ? 'Pick an action' : 'No AI action applies here' },
      );
      chosen = item?.entry;
    }
    if (!chosen) {
      if (name) {
        void vscode.window.showWarningMessage(`Mistral LSP: ${name} does not apply here.`);
      }
      return undefined;
    }
    if (chosen.asksInstruction && instruction === undefined) {
      instruction = await this.askInstruction(chosen.title);
      if (instruction === undefined) {
        return undefined;
      }
    }
    const args: Record<string, unknown> = { ...here, action: chosen.action };
    if (instruction !== undefined) {
      args.instruction = instruction;
    }
    return this.execute(args, (next) => this.ctl.executeServerCommand<ActionResult>(RUN_ACTION, [next]));
  }

  /** Send, then say what came of it: the explanation, or why nothing was done. */
  private async execute(args: Record<string, unknown>, send: (args: Record<string, unknown>) => Promise<ActionResult>): Promise<ActionResult | undefined> {
    const source = vscode.window.activeTextEditor;
    let result: ActionResult | undefined;
    try {
      result = await send(args);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!/cancel/i.test(message)) {
        void vscode.window.showWarningMessage(`Mistral LSP: ${message}.`);
      }
      return undefined;
    }
    this.ctl.log.info(`action ${String(args.action)}: ${result?.ok ? 'done' : `not done: ${result?.message}`}`);
    if (result?.ok && typeof result.markdown === 'string') {
      await this.view.show(result.title ?? result.message, result.markdown, source);
    } else if (result && !result.ok && !result.cancelled) {
      void vscode.window.showWarningMessage(`Mistral LSP: ${result.message}.`);
    }
    return result;
  }

  /**
   * The language client's executeCommand middleware: a code action that runs `mistral-lsp.runAction`
   * (from the light bulb) gets its instruction asked for and its explanation shown here.
   */
  middleware = async (command: string, args: any[], next: ExecuteCommandSignature): Promise<unknown> => {
    if (command !== RUN_ACTION || !args.length || typeof args[0] !== 'object') {
      return next(command, args);
    }
    const given = { ...args[0], display: 'client' } as Record<string, unknown>;
    if (given.ask === 'instruction' && given.instruction === undefined) {
      const instruction = await this.askInstruction(String(given.title ?? 'AI action'));
      if (instruction === undefined) {
        return undefined;
      }
      given.instruction = instruction;
    }
    return this.execute(given, async (ready) => (await next(command, [ready])) as ActionResult);
  };

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
