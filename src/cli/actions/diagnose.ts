import { z } from 'zod';
import { ConfigError, isConfigError } from '../../config/issues.js';
import type { DiagnosisDocument } from '../../diagnosis/assemble.js';
import { formatDiagnosisReport, progressLines } from '../../diagnosis/report-text.js';
import type { DiagnosisProgress } from '../../diagnosis/types.js';
import { UserError } from '../../util/errors.js';
import { terminalJson } from '../../util/sanitize.js';
import { untilSignal } from '../signals.js';
import { openDiagnosisSession, safeUserName } from './diagnosis-session.js';

export interface DiagnoseFlags {
  json?: boolean;
  node?: string[];
  clusters?: string;
  runbooks?: string;
  timeout: string;
}

const timeoutSchema = z
  .string()
  .regex(/^\d+$/, '--timeout must be a whole number of seconds')
  .transform(Number)
  .pipe(
    z
      .number()
      .min(1, '--timeout must be at least 1 second')
      .max(3600, '--timeout must be at most 3600 seconds'),
  );

/** Exit codes of `diagnose` (SPEC): 0 healthy, 1 problems found, 2 could not diagnose. */
export function diagnoseExitCode(d: DiagnosisDocument): 0 | 1 | 2 {
  if (d.healthy) return 0;
  if (d.causes.length > 0 || d.checks.some((c) => c.status === 'fail')) return 1;
  return 2;
}

/** `flannel-ops diagnose CLUSTER`: one diagnosis through the queue; resolves to its exit code. */
export async function runDiagnose(clusterName: string, flags: DiagnoseFlags): Promise<number> {
  const timeout = timeoutSchema.safeParse(flags.timeout);
  if (!timeout.success) throw new UserError(timeout.error.issues.map((i) => i.message).join('; '), 2);
  const { cluster, service, close } = await openDiagnosisSession(clusterName, flags, asCouldNotDiagnose);
  const view = new ProgressView(process.stderr);
  let diagnosisId: string | undefined;
  // Snapshots can arrive before start() returns the id: keep the latest per diagnosis until then.
  const early = new Map<string, DiagnosisProgress>();
  service.on('progress', (p) => {
    if (diagnosisId === undefined) early.set(p.id, p);
    else if (p.id === diagnosisId) view.update(p);
  });
  const interrupted = untilSignal().then((signal) => {
    throw new UserError(`could not diagnose: interrupted (${signal})`, 2);
  });
  interrupted.catch(() => undefined);
  try {
    const run = (async () => {
      const { id } = await service.start({
        cluster: cluster.name,
        ...(flags.node?.length ? { nodes: flags.node } : {}),
        requestedBy: `cli:${safeUserName()}`,
      });
      diagnosisId = id;
      const current = early.get(id);
      early.clear();
      if (current) view.update(current);
      return service.result(id, timeout.data * 1000);
    })();
    const diagnosis = await Promise.race([run, interrupted]);
    view.finish();
    process.stdout.write(
      flags.json ? `${terminalJson(JSON.stringify(diagnosis, null, 2))}\n` : formatDiagnosisReport(diagnosis),
    );
    return diagnoseExitCode(diagnosis);
  } finally {
    view.finish();
    await close();
  }
}

/** Configuration problems stop a diagnosis: exit code 2 ("could not diagnose"), same message. */
function asCouldNotDiagnose<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (isConfigError(err) && err.exitCode !== 2) throw new ConfigError(err.problems, 2);
    throw err;
  }
}

/** Live progress on stderr: rewritten in place on a terminal, one plain line per change otherwise. */
class ProgressView {
  private shownLines = 0;
  private finished = false;
  private latest?: DiagnosisProgress;
  private timer?: NodeJS.Timeout;
  private readonly printed = new Map<string, string>();

  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(p: DiagnosisProgress): void {
    if (this.finished) return;
    if (this.stream.isTTY) {
      // Redraw at most ~12 times a second: a diagnosis sends many snapshots in bursts.
      this.latest = p;
      this.timer ??= setTimeout(() => this.draw(), 80);
      return;
    }
    for (const check of p.checks) {
      if (check.state === 'pending' || check.state === 'running') continue;
      const line = `${check.state} ${check.id}${check.summary ? `: ${check.summary}` : ''}`;
      if (this.printed.get(check.id) === line) continue;
      this.printed.set(check.id, line);
      this.stream.write(`diagnose: ${line}\n`);
    }
    const probes = `probes ${p.probes.done + p.probes.failed}/${p.probes.total}`;
    if (p.probes.total > 0 && this.printed.get('(probes)') !== probes) {
      this.printed.set('(probes)', probes);
      this.stream.write(`diagnose: ${probes}${p.probes.failed ? ` (${p.probes.failed} failed)` : ''}\n`);
    }
  }

  /** Draws the last snapshot (on a terminal) and stops. */
  finish(): void {
    if (this.finished) return;
    if (this.timer) this.draw();
    this.finished = true;
  }

  private draw(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.latest) return;
    const width = Math.max(20, (this.stream.columns || 120) - 1);
    const lines = progressLines(this.latest).map((l) => l.slice(0, width));
    const rewind = this.shownLines > 0 ? `\x1b[${this.shownLines}F` : '';
    this.stream.write(`${rewind}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    this.shownLines = lines.length;
  }
}
