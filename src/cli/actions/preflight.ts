import { z } from 'zod';
import { ConfigError, isConfigError } from '../../config/issues.js';
import {
  formatPreflight,
  runPreflight,
  unknownPreflight,
  type PreflightReport,
} from '../../diagnosis/preflight.js';
import { isUserError, UserError } from '../../util/errors.js';
import { terminalJson } from '../../util/sanitize.js';
import { untilSignal } from '../signals.js';
import { openDiagnosisSession, safeUserName } from './diagnosis-session.js';

export interface PreflightFlags {
  json?: boolean;
  clusters?: string;
  runbooks?: string;
  sample: string;
  timeout: string;
  wait: string;
}

const seconds = (flag: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${flag} must be a whole number`)
    .transform(Number)
    .pipe(z.number().min(min, `${flag} must be at least ${min}`).max(max, `${flag} must be at most ${max}`));

const flagsSchema = z.object({
  sample: seconds('--sample', 0, 50),
  timeout: seconds('--timeout', 1, 3600),
  wait: seconds('--wait', 0, 86_400),
});

/** Between two attempts of `--wait`. */
const RETRY_INTERVAL_MS = 10_000;

/**
 * `flannel-ops preflight CLUSTER`: exit 0 ready, 1 not ready, 2 could not tell. Configuration problems and an
 * unreachable cluster or Redis are "could not tell" (2). With `--wait S`, a cluster not ready (or not answering
 * yet) is checked again every 10 s until it is ready or S seconds have passed (an API server still starting,
 * Flannel rolling out after `kubectl apply`); the last result decides the exit code.
 */
export async function runPreflightCommand(clusterName: string, flags: PreflightFlags): Promise<number> {
  const parsed = flagsSchema.safeParse(flags);
  if (!parsed.success) throw new UserError(parsed.error.issues.map((i) => i.message).join('; '), 2);
  const { sample, timeout, wait } = parsed.data;
  const { cluster, kube, service, close } = await openDiagnosisSession(clusterName, flags, couldNotTell);
  const interrupted = untilSignal().then((signal) => {
    throw new UserError(`could not tell: interrupted (${signal})`, 2);
  });
  interrupted.catch(() => undefined);
  const deadline = Date.now() + wait * 1000;
  try {
    let report: PreflightReport & { reason?: string };
    for (let attempt = 1; ; attempt++) {
      report = await Promise.race([
        runPreflight({
          service,
          kube,
          cluster: cluster.name,
          sample,
          requestedBy: `preflight:${safeUserName()}`,
          timeoutMs: timeout * 1000,
        }).catch((err: unknown) => {
          if (isUserError(err) && err.exitCode === 2) return unknownPreflight(cluster.name, err.message);
          throw err;
        }),
        interrupted,
      ]);
      if (report.exitCode === 0 || Date.now() + RETRY_INTERVAL_MS > deadline) break;
      process.stderr.write(
        `preflight: attempt ${attempt}: ${report.verdict}; checking again in ${RETRY_INTERVAL_MS / 1000}s\n`,
      );
      await Promise.race([new Promise((r) => setTimeout(r, RETRY_INTERVAL_MS)), interrupted]);
    }
    process.stdout.write(
      flags.json ? `${terminalJson(JSON.stringify(report, null, 2))}\n` : formatPreflight(report),
    );
    return report.exitCode;
  } finally {
    await close();
  }
}

/** Configuration problems: exit code 2 ("could not tell"), same message. */
function couldNotTell<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (isConfigError(err) && err.exitCode !== 2) throw new ConfigError(err.problems, 2);
    if (isUserError(err) && err.exitCode !== 2) throw new UserError(err.message, 2);
    throw err;
  }
}
