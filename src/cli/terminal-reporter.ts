import { formatDollars } from '../agent/cost.js';
import type { ActionReport, RunEvent, RunOutcome, RunTotals } from '../agent/events.js';
import type { Redactor } from '../lib/redact.js';
import type { RunReporter } from '../runs/ports.js';

export interface TerminalReporterOptions {
  /** Where the lines go (stdout). */
  out: NodeJS.WritableStream;
  /** Applied to every line before it is written. */
  redact: Redactor;
  /** `--no-pr`: a publish keeps the branch unpublished, so no pull-request link is shown. */
  noPr?: boolean;
  /** Lines of a failed command's output shown (its last lines). Default 12. */
  failedOutputLines?: number;
}

/**
 * Turns a run's events into terminal lines as they happen: one line per sandbox action, the model's
 * narration, notices, and the outcome. The terminal's own reporter on the agent's events; nothing in
 * agent/ knows about terminals.
 */
export class TerminalReporter implements RunReporter {
  /** The last run's outcome, once its run-end arrived. */
  outcome: RunOutcome | undefined;

  constructor(private readonly options: TerminalReporterOptions) {}

  readonly handle = (event: RunEvent): void => {
    for (const line of this.lines(event)) this.write(line);
  };

  async flush(): Promise<void> {}

  private write(line: string): void {
    this.options.out.write(`${this.options.redact(line)}\n`);
  }

  private lines(event: RunEvent): string[] {
    switch (event.type) {
      case 'run-start':
        return [`▶ ${event.repo} @ ${event.baseBranch} → branch ${event.branch}`];
      case 'sandbox-ready': {
        const lines = [`  sandbox ${event.reused ? 'reconnected' : 'ready'}: ${event.sandboxId} (${event.repo})`];
        if (event.note) lines.push(`  ! ${event.note}`);
        return lines;
      }
      case 'action-start':
        // A command can take minutes: say it started. Other actions take a moment; their end line says it all.
        return event.tool === 'run_command' ? [`  … ${oneLine(event.summary)}`] : [];
      case 'action-end':
        return actionLines(event.tool, event.action, this.options);
      case 'model-text':
        return indent(event.text.trim(), '  » ', 8);
      case 'notice':
        return indent(event.text.trim(), '  ! ', 6);
      case 'usage':
        return [];
      case 'run-end':
        this.outcome = event.outcome;
        return outcomeLines(event.outcome, this.options.noPr ?? false);
      default:
        return [];
    }
  }
}

function actionLines(tool: string, action: ActionReport, options: TerminalReporterOptions): string[] {
  switch (action.kind) {
    case 'file-written':
      return [
        `  ✎ ${action.created ? 'created' : 'wrote'} ${action.path} (${delta(action.added, action.removed)}, ${count(action.bytes, 'byte')})`,
      ];
    case 'file-edited':
      return [`  ✎ edited ${action.path} (${delta(action.added, action.removed)})`];
    case 'directory-created':
      return [`  + ${action.existed ? 'directory exists' : 'created directory'} ${action.path}/`];
    case 'file-read':
      return [`  · read ${action.path} (lines ${action.lines})`];
    case 'files-listed':
      return [`  · listed ${action.path || '.'} (${count(action.count, 'entry', 'entries')})`];
    case 'code-searched':
      return [`  · searched ${JSON.stringify(action.pattern)} (${count(action.matches, 'match', 'matches')})`];
    case 'command': {
      const mark = action.exitCode === 0 && !action.timedOut ? '✓' : '✗';
      const how = action.timedOut ? `timed out after ${duration(action.durationMs)}` : `exit ${action.exitCode}`;
      const lines = [`  ${mark} $ ${oneLine(action.command)} · ${how} · ${duration(action.durationMs)}`];
      if (mark === '✗' && action.output.trim()) {
        const tail = action.output
          .trimEnd()
          .split('\n')
          .slice(-(options.failedOutputLines ?? 12));
        lines.push(...tail.map((l) => `      ${l}`));
      }
      return lines;
    }
    case 'commit':
      return [`  ● committed ${action.sha.slice(0, 7)} ${oneLine(action.message)} (${count(action.files, 'file')})`];
    case 'pull-request':
      return options.noPr
        ? [`  ● branch ${action.branch} kept unpublished (--no-pr)`]
        : [`  ● ${action.created ? 'opened' : 'updated'} pull request #${action.number}: ${action.url}`];
    case 'failed':
      return [`  ✗ ${tool}: ${oneLine(action.error)}`];
    default:
      return [];
  }
}

function outcomeLines(outcome: RunOutcome, noPr: boolean): string[] {
  switch (outcome.kind) {
    case 'pull-request': {
      if (noPr) return ['✓ Done; the branch is not published (--no-pr).'];
      const others = outcome.others ?? [];
      if (others.length > 1) {
        return [
          '✓ Pull requests of this run:',
          ...others.map((p) => `  ${p.repo} #${p.number} (${p.created ? 'opened' : 'updated'}): ${p.url}`),
        ];
      }
      return [`✓ ${outcome.created ? 'Opened' : 'Updated'} pull request #${outcome.number}: ${outcome.url}`];
    }
    case 'no-changes':
      return ['✓ No changes needed.', ...indent(outcome.answer.trim(), '  ', 20)];
    case 'stopped':
      return [`■ Stopped${outcome.by ? ` by ${outcome.by}` : ''}.`];
    case 'budget-reached':
      return [
        `‖ Budget reached (${outcome.limit}): run \`ai-dev run --follow-up "Continue where you stopped."\` to go on with a fresh budget.`,
      ];
    case 'failed':
      return [`✗ The run failed: ${outcome.reason} (reference ${outcome.reference}, in the logs)`];
    case 'interrupted':
      return ['✗ The run was interrupted; run `ai-dev run --follow-up "…"` to pick it up again.'];
    default:
      return [];
  }
}

/** "cost: 12,345 tokens (10,000 in, 2,345 out) · 6 model turns · sandbox 42.0 s · 1 min 3 s" */
export function costLine(totals: RunTotals): string {
  return (
    `cost: ${number(totals.totalTokens)} tokens (${number(totals.inputTokens)} in, ${number(totals.outputTokens)} out)` +
    ` · ${count(totals.turns, 'model turn')} · sandbox ${(totals.sandboxMs / 1000).toFixed(1)} s` +
    ` · ${duration(totals.elapsedMs)} in all` +
    (totals.cost
      ? ` · ${formatDollars(totals.cost.dollars)}${totals.budgetDollars !== undefined ? ` of ${formatDollars(totals.budgetDollars)}` : ''}`
      : '')
  );
}

/** The exit code for an outcome: 0 done, 1 failed, 3 budget reached, 130 stopped (as after Ctrl-C). */
export function exitCodeOf(outcome: RunOutcome | undefined): number {
  switch (outcome?.kind) {
    case 'pull-request':
    case 'no-changes':
      return 0;
    case 'budget-reached':
      return 3;
    case 'stopped':
      return 130;
    default:
      return 1;
  }
}

function indent(text: string, prefix: string, maxLines: number): string[] {
  if (!text) return [];
  const lines = text.split('\n');
  const shown = lines.slice(0, maxLines).map((l) => `${prefix}${l}`);
  if (lines.length > maxLines) shown.push(`${prefix}[… ${lines.length - maxLines} more lines]`);
  return shown;
}

const oneLine = (text: string) => {
  const first = text.split('\n')[0] ?? '';
  return first.length > 160 ? `${first.slice(0, 157)}…` : first;
};
const number = (n: number) => n.toLocaleString('en-US');
const count = (n: number, one: string, many = `${one}s`) => `${number(n)} ${n === 1 ? one : many}`;
const delta = (added: number, removed: number) => `+${number(added)} −${number(removed)}`;

function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return minutes >= 60
    ? `${Math.floor(minutes / 60)} h ${minutes % 60} min`
    : `${minutes} min${seconds % 60 ? ` ${seconds % 60} s` : ''}`;
}
