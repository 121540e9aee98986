/**
 * The status bar item "Mistral: ready · 42 ms": the model's state from the server (its pushed
 * `mistral-lsp/status` notifications and the `mistral-lsp.status` command), the client's own
 * state (starting, server not found, ...), a tooltip with the whole story, and a menu on click
 * (enable/disable completions, review, check setup, logs, restart, settings). The words come
 * from presentation.ts.
 */
import * as vscode from 'vscode';
import { ClientPhase, menuEntries, present, Presentation, ServerStatus } from './presentation';

export type { ClientPhase, ServerStatus };

/** What the item shows, also handed to tests. */
export interface StatusSnapshot {
  phase: ClientPhase;
  label: string;
  text: string;
  /** The tooltip as plain lines (Markdown source). */
  tooltip: string[];
  severity: Presentation['severity'];
  latencyMs?: number;
  completionsEnabled?: boolean;
  server?: ServerStatus;
}

const BUSY_AFTER_MS = 300;

export class StatusView implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private phase: ClientPhase = 'starting';
  private phaseDetail = '';
  private server?: ServerStatus;
  private inFlight = 0;
  private busyTimer?: NodeJS.Timeout;
  private showBusy = false;
  private presentation: Presentation;
  snapshot: StatusSnapshot;

  constructor() {
    this.item = vscode.window.createStatusBarItem('mistralLsp.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Mistral LSP';
    this.item.command = 'mistralLsp.showMenu';
    this.presentation = present({ phase: this.phase });
    this.snapshot = this.render();
    this.item.show();
  }

  setPhase(phase: ClientPhase, detail = ''): void {
    this.phase = phase;
    this.phaseDetail = detail;
    if (phase !== 'running') {
      this.server = undefined;
    }
    this.snapshot = this.render();
  }

  setServerStatus(status: ServerStatus | undefined): void {
    this.server = status;
    this.snapshot = this.render();
  }

  /** A completion request started (+1) or ended (-1). */
  requestDelta(delta: number): void {
    this.inFlight = Math.max(0, this.inFlight + delta);
    if (this.inFlight > 0 && !this.busyTimer && !this.showBusy) {
      this.busyTimer = setTimeout(() => {
        this.busyTimer = undefined;
        this.showBusy = this.inFlight > 0;
        this.snapshot = this.render();
      }, BUSY_AFTER_MS);
    }
    if (this.inFlight === 0) {
      clearTimeout(this.busyTimer);
      this.busyTimer = undefined;
      this.showBusy = false;
    }
    this.snapshot = this.render();
  }

  /** The menu's entries for the current state (the Quick Pick of showMenu). */
  menu(reviewAvailable: boolean, extensionId: string): ReturnType<typeof menuEntries> {
    const editor = vscode.window.activeTextEditor;
    const uri = editor?.document.uri;
    const fileName = uri && (uri.scheme === 'file' || uri.scheme === 'untitled') ? uri.path.split('/').pop() : undefined;
    return menuEntries({
      phase: this.phase,
      presentation: this.presentation,
      completionsEnabled: this.server?.completionsEnabled,
      reviewAvailable,
      fileName,
      extensionId,
    });
  }

  /** Show the menu; runs the picked entry's command. Returns the picked command, if any. */
  async showMenu(reviewAvailable: boolean, extensionId: string): Promise<string | undefined> {
    const entries = this.menu(reviewAvailable, extensionId);
    const pick = vscode.window.createQuickPick<vscode.QuickPickItem & { command: string; args?: unknown[] }>();
    pick.title = `Mistral LSP: ${this.presentation.label}`;
    pick.placeholder = this.presentation.reason ?? 'Choose an action';
    pick.items = entries;
    pick.matchOnDescription = true;
    const chosen = await new Promise<(typeof entries)[number] | undefined>((resolve) => {
      pick.onDidAccept(() => resolve(pick.selectedItems[0]));
      pick.onDidHide(() => resolve(undefined));
      pick.show();
    });
    pick.dispose();
    if (chosen) {
      await vscode.commands.executeCommand(chosen.command, ...(chosen.args ?? []));
    }
    return chosen?.command;
  }

  private render(): StatusSnapshot {
    const status = this.server;
    const presentation = present({ phase: this.phase, phaseDetail: this.phaseDetail, server: status, busy: this.showBusy });
    this.presentation = presentation;
    const item = this.item;
    item.text = presentation.text;
    const tooltip = new vscode.MarkdownString(presentation.tooltip.join('\n\n'), true);
    item.tooltip = tooltip;
    item.backgroundColor =
      presentation.severity === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : presentation.severity === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    item.accessibilityInformation = { label: `Mistral LSP: ${presentation.label}${presentation.reason ? `: ${presentation.reason}` : ''}` };
    return {
      phase: this.phase,
      label: presentation.label,
      text: presentation.text,
      tooltip: presentation.tooltip,
      severity: presentation.severity,
      latencyMs: presentation.latencyMs,
      completionsEnabled: status?.completionsEnabled,
      server: status,
    };
  }

  dispose(): void {
    clearTimeout(this.busyTimer);
    this.item.dispose();
  }
}
