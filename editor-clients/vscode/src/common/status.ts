/**
 * The language status item: the model's state (ready / unreachable / busy / ...) and the last
 * completion latency, from the server's `mistral-lsp.status` command. Refreshed after
 * completions (debounced) and polled modestly while the window is focused.
 */
import * as vscode from 'vscode';

/** What `mistral-lsp.status` answers (the fields the item uses). */
export interface ServerStatus {
  state?: string; // "ready" | "unavailable" | "unknown" | "starting"
  reason?: string;
  endpoint?: string;
  model?: string;
  completionsEnabled?: boolean;
  lastCompletionLatencyMs?: number | null;
  [key: string]: unknown;
}

/** The client-side situation, which wins over the server's answer when not "running". */
export type ClientPhase = 'starting' | 'running' | 'notFound' | 'failed' | 'stopped';

/** What the item shows, also handed to tests. */
export interface StatusSnapshot {
  phase: ClientPhase;
  /** ready | unreachable | busy | checking | starting | not found | stopped | failed */
  label: string;
  text: string;
  detail: string;
  latencyMs?: number;
  completionsEnabled?: boolean;
  server?: ServerStatus;
}

const BUSY_AFTER_MS = 300;

export class StatusView implements vscode.Disposable {
  private readonly item: vscode.LanguageStatusItem;
  private phase: ClientPhase = 'starting';
  private phaseDetail = '';
  private server?: ServerStatus;
  private inFlight = 0;
  private busyTimer?: NodeJS.Timeout;
  private showBusy = false;
  snapshot: StatusSnapshot;

  constructor(selector: vscode.DocumentSelector) {
    this.item = vscode.languages.createLanguageStatusItem('mistralLsp.status', selector);
    this.item.name = 'Mistral LSP';
    this.item.command = { title: 'Logs', command: 'mistralLsp.showLogs', tooltip: 'Show the Mistral LSP log' };
    this.snapshot = this.render();
  }

  setSelector(selector: vscode.DocumentSelector): void {
    this.item.selector = selector;
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
    this.item.busy = this.inFlight > 0;
    this.snapshot = this.render();
  }

  private render(): StatusSnapshot {
    const item = this.item;
    const status = this.server;
    const latency = typeof status?.lastCompletionLatencyMs === 'number' ? status.lastCompletionLatencyMs : undefined;
    let label: string;
    let severity = vscode.LanguageStatusSeverity.Information;
    const details: string[] = [];
    switch (this.phase) {
      case 'starting':
        label = 'starting';
        break;
      case 'notFound':
        label = 'server not found';
        severity = vscode.LanguageStatusSeverity.Error;
        details.push(this.phaseDetail || 'Run "Mistral LSP: Check Setup"');
        break;
      case 'failed':
        label = 'server failed';
        severity = vscode.LanguageStatusSeverity.Error;
        details.push(this.phaseDetail || 'See the log');
        break;
      case 'stopped':
        label = 'stopped';
        severity = vscode.LanguageStatusSeverity.Warning;
        break;
      default:
        if (status?.state === 'unavailable') {
          label = 'unreachable';
          severity = vscode.LanguageStatusSeverity.Warning;
          if (status.reason) {
            details.push(status.reason);
          }
        } else if (status?.state === 'ready') {
          label = 'ready';
        } else if (status?.state === 'starting') {
          label = 'starting';
        } else {
          label = 'not checked yet';
        }
        const reviewing = (status?.review as { running?: unknown } | undefined)?.running;
        if ((this.showBusy || (typeof reviewing === 'number' ? reviewing > 0 : Boolean(reviewing))) && label !== 'unreachable') {
          label = 'busy';
        }
    }
    let text = `$(sparkle) Mistral: ${label}`;
    if (this.phase === 'running' && latency !== undefined) {
      text += ` · ${Math.round(latency)} ms`;
    }
    if (this.phase === 'running' && status?.completionsEnabled === false) {
      text += ' · completions off';
    }
    if (status?.model) {
      const model = status.model.split('/').pop() ?? status.model;
      let host = status.endpoint ?? '';
      try {
        host = new URL(host).host;
      } catch {
        // keep it as it is
      }
      details.push(host ? `${model} at ${host}` : model);
    }
    const index = status?.index as { enabled?: boolean; ready?: boolean; files?: number } | undefined;
    if (this.phase === 'running' && index?.enabled && Array.isArray((index as { roots?: unknown }).roots)
        && ((index as { roots: unknown[] }).roots.length > 0)) {
      details.push(index.ready ? `index: ${index.files ?? 0} files` : 'indexing the workspace…');
    }
    item.text = text;
    item.detail = details.join(' · ');
    item.severity = severity;
    item.accessibilityInformation = { label: `Mistral LSP: ${label}` };
    return {
      phase: this.phase,
      label,
      text,
      detail: item.detail,
      latencyMs: latency,
      completionsEnabled: status?.completionsEnabled,
      server: status,
    };
  }

  dispose(): void {
    clearTimeout(this.busyTimer);
    this.item.dispose();
  }
}
