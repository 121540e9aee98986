/**
 * What the user reads: the status bar item's text and tooltip, the status menu's entries, and
 * the one-line results of commands, computed from the server's answers. No VS Code API here
 * (the unit tests run it in plain Node); status.ts puts it on screen.
 */

/** What `mistral-lsp.status` answers, or the server pushes as `mistral-lsp/status` (the fields used). */
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

export type Severity = 'info' | 'warning' | 'error';

/** The status item's content. */
export interface Presentation {
  /** ready | unreachable | busy | not checked yet | starting | server not found | server failed | stopped */
  label: string;
  /** The status bar text, with a codicon: "$(sparkle) Mistral: ready · 42 ms". */
  text: string;
  severity: Severity;
  /** The tooltip's lines (Markdown); the full reason of a problem is one of them, never cut. */
  tooltip: string[];
  /** The problem's reason, if any (for the menu's Check Setup entry). */
  reason?: string;
  latencyMs?: number;
}

export interface PresentInput {
  phase: ClientPhase;
  phaseDetail?: string;
  server?: ServerStatus;
  busy?: boolean;
}

function hostOf(endpoint: string | undefined): string {
  if (!endpoint) {
    return '';
  }
  try {
    return new URL(endpoint).host;
  } catch {
    return endpoint;
  }
}

function escapeMarkdown(text: string): string {
  return text.replace(/([\\`*_{}[\]()#+!|<>-])/g, '\\$1');
}

/** The client-side states: what the item says (and, for a problem, the reason if none is known). */
const CLIENT_PHASES: Record<Exclude<ClientPhase, 'running'>, { label: string; severity: Severity; icon: string; fallback?: string }> = {
  starting: { label: 'starting', severity: 'info', icon: '$(loading~spin)' },
  notFound: { label: 'server not found', severity: 'error', icon: '$(error)', fallback: 'Run "Mistral LSP: Check Setup"' },
  failed: { label: 'server failed', severity: 'error', icon: '$(error)', fallback: 'See the log' },
  stopped: { label: 'stopped', severity: 'warning', icon: '$(debug-stop)' },
};

export function present({ phase, phaseDetail = '', server, busy = false }: PresentInput): Presentation {
  const latency = typeof server?.lastCompletionLatencyMs === 'number' ? server.lastCompletionLatencyMs : undefined;
  let label: string;
  let severity: Severity = 'info';
  let reason: string | undefined;
  let icon = '$(sparkle)';
  const client = CLIENT_PHASES[phase as Exclude<ClientPhase, 'running'>];
  if (client) {
    ({ label, severity, icon } = client);
    if (client.fallback) {
      reason = phaseDetail || client.fallback;
    }
  } else {
    if (server?.state === 'unavailable') {
      label = 'unreachable';
      severity = 'warning';
      icon = '$(warning)';
      reason = server.reason || undefined;
    } else if (server?.state === 'ready') {
      label = 'ready';
    } else if (server?.state === 'starting') {
      label = 'starting';
      icon = '$(loading~spin)';
    } else {
      label = 'not checked yet';
    }
    const reviewing = (server?.review as { running?: unknown } | undefined)?.running;
    if ((busy || (typeof reviewing === 'number' ? reviewing > 0 : Boolean(reviewing))) && label !== 'unreachable') {
      label = 'busy';
      icon = '$(loading~spin)';
    }
  }
  const running = phase === 'running';
  const off = running && server?.completionsEnabled === false;
  if (off && severity === 'info') {
    icon = '$(circle-slash)';
  }
  let text = `${icon} Mistral: ${label}`;
  if (running && latency !== undefined && severity === 'info') {
    text += ` · ${Math.round(latency)} ms`;
  }
  if (off) {
    text += ' · completions off';
  }

  const tooltip = [`**Mistral LSP: ${escapeMarkdown(label)}**`];
  if (reason) {
    tooltip.push(escapeMarkdown(reason));
  }
  if (server?.model) {
    const model = server.model.split('/').pop() ?? server.model;
    const host = hostOf(server.endpoint);
    tooltip.push(escapeMarkdown(host ? `Model: ${model} at ${host}` : `Model: ${model}`));
  }
  if (running && server?.completionsEnabled !== undefined) {
    tooltip.push(`Automatic completions: ${server.completionsEnabled ? 'on' : 'off'}`);
  }
  if (running && latency !== undefined) {
    tooltip.push(`Last completion: ${Math.round(latency)} ms`);
  }
  const index = server?.index as { enabled?: boolean; ready?: boolean; files?: number; roots?: unknown[] } | undefined;
  if (running && index?.enabled && Array.isArray(index.roots) && index.roots.length > 0) {
    tooltip.push(index.ready ? `Index: ${plural(index.files ?? 0, 'file')}` : 'Indexing the workspace…');
  }
  tooltip.push('Click for actions');
  return { label, text, severity, tooltip, reason, latencyMs: latency };
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** One entry of the status menu (a Quick Pick). */
export interface MenuEntry {
  label: string;
  description?: string;
  detail?: string;
  command: string;
  args?: unknown[];
}

export interface MenuInput {
  phase: ClientPhase;
  presentation: Presentation;
  completionsEnabled?: boolean;
  reviewAvailable: boolean;
  /** The active editor's file name, when it is one the server gets. */
  fileName?: string;
  extensionId: string;
}

/** The status menu: what the status item offers when clicked (like Copilot's and Continue's). */
export function menuEntries(input: MenuInput): MenuEntry[] {
  const entries: MenuEntry[] = [];
  if (input.phase === 'running') {
    entries.push(
      input.completionsEnabled === false
        ? { label: '$(sparkle) Enable Automatic Completions', command: 'mistralLsp.toggleCompletions' }
        : { label: '$(circle-slash) Disable Automatic Completions', command: 'mistralLsp.toggleCompletions' },
    );
    if (input.reviewAvailable && input.fileName) {
      entries.push({ label: '$(checklist) Review File', description: input.fileName, command: 'mistralLsp.reviewFile' });
    }
    if (input.reviewAvailable) {
      entries.push({ label: '$(checklist) Review Workspace', command: 'mistralLsp.reviewWorkspace' });
    }
  }
  entries.push({
    label: '$(pulse) Check Setup',
    description: 'is the model server usable?',
    detail: input.presentation.reason,
    command: 'mistralLsp.checkSetup',
  });
  entries.push({ label: '$(output) Show Logs', command: 'mistralLsp.showLogs' });
  entries.push({ label: '$(debug-restart) Restart Server', command: 'mistralLsp.restartServer' });
  entries.push({
    label: '$(gear) Open Settings',
    command: 'workbench.action.openSettings',
    args: [`@ext:${input.extensionId}`],
  });
  return entries;
}

/** The answer of `mistral-lsp.reviewFile` (the fields used). */
export interface ReviewFileResult {
  reviewed?: boolean;
  reason?: string;
  findings?: number;
  shown?: number;
  errors?: string[];
  message?: string;
}

/**
 * The sentence after Review File: the server's own `message` (the same words in every editor),
 * else one built here for an older server. `findings` tells whether to offer the Problems view.
 */
export function reviewFileMessage(result: ReviewFileResult | undefined, name: string): { text: string; severity: Severity; findings: number } {
  const shown = Number(result?.shown ?? result?.findings ?? 0) || 0;
  const problem = result?.reviewed === false || (Array.isArray(result?.errors) && result.errors.length > 0);
  let text: string;
  if (typeof result?.message === 'string' && result.message) {
    text = result.message;
  } else if (result?.reviewed === false) {
    text = `${name} was not reviewed: ${result.reason || 'no reason given'}`;
  } else {
    text = `reviewed ${name}: ${shown ? plural(shown, 'finding') : 'no findings'}`;
  }
  return { text: `Mistral LSP: ${text}`, severity: problem ? 'warning' : 'info', findings: shown };
}

/** The transient status bar message after Toggle AI Completions. */
export function toggleMessage(enabled: boolean): string {
  return enabled
    ? '$(sparkle) Mistral: automatic completions on'
    : '$(circle-slash) Mistral: automatic completions off (Alt+\\ still asks)';
}
