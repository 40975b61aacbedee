/** Pure parser of the `/flannel` slash command text. Unknown input becomes an error that says what works. */
import { isIncidentId } from '../incidents/incident-id.js';
import { terminalLine } from '../util/sanitize.js';

export type FlannelCommand =
  | { kind: 'diagnose'; cluster: string; node?: string }
  | { kind: 'status'; cluster?: string }
  | { kind: 'incidents'; cluster?: string }
  | { kind: 'timeline'; incidentId: string }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

export const USAGE: ReadonlyArray<readonly [string, string]> = [
  ['/flannel diagnose CLUSTER [NODE]', 'run the diagnosis checks now and post the report in a thread'],
  ['/flannel status [CLUSTER]', 'watch health per cluster and open incidents'],
  ['/flannel incidents [CLUSTER]', 'recent incidents with their state and counts'],
  ['/flannel timeline INCIDENT', "an incident's audit log (who did what, when, with what outcome)"],
  ['/flannel help', 'this help'],
];

// Kubernetes node names are DNS-1123 subdomains.
const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The accepted forms and the configured clusters, for every error message. */
export function acceptedText(clusters: readonly string[]): string {
  const forms = USAGE.map(([form]) => `\`${form}\``).join(', ');
  const known = clusters.length ? clusters.map((c) => `\`${c}\``).join(', ') : '(none configured)';
  return `Accepted: ${forms}. Clusters: ${known}.`;
}

function error(problem: string, clusters: readonly string[]): FlannelCommand {
  return { kind: 'error', message: `${problem} ${acceptedText(clusters)}` };
}

/**
 * Parses the text after `/flannel`. Only names from `clusters` are accepted; text the user typed is
 * quoted back only after it passed a strict pattern, and otherwise shortened and stripped of mrkdwn.
 */
export function parseFlannelCommand(text: string, clusters: readonly string[]): FlannelCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [sub, ...args] = words;
  const subcommand = sub?.toLowerCase();
  const clusterArg = (value: string | undefined, required: boolean): string | FlannelCommand | undefined => {
    if (value === undefined)
      return required ? error('Which cluster? `diagnose` needs a cluster name.', clusters) : undefined;
    if (clusters.includes(value)) return value;
    return error(`Unknown cluster "${quote(value)}".`, clusters);
  };
  const tooMany = (max: number) =>
    args.length > max
      ? error(`Too many arguments for \`${subcommand}\`: "${quote(args.slice(max).join(' '))}".`, clusters)
      : undefined;

  switch (subcommand) {
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      return { kind: 'help' };
    case 'diagnose': {
      const extra = tooMany(2);
      if (extra) return extra;
      const cluster = clusterArg(args[0], true);
      if (typeof cluster !== 'string') return cluster as FlannelCommand;
      const node = args[1];
      if (node === undefined) return { kind: 'diagnose', cluster };
      if (!NODE_NAME.test(node)) return error(`"${quote(node)}" is not a node name.`, clusters);
      return { kind: 'diagnose', cluster, node };
    }
    case 'status':
    case 'incidents': {
      const extra = tooMany(1);
      if (extra) return extra;
      const cluster = clusterArg(args[0], false);
      if (cluster !== undefined && typeof cluster !== 'string') return cluster;
      return { kind: subcommand, ...(cluster !== undefined && { cluster }) };
    }
    case 'timeline': {
      const extra = tooMany(1);
      if (extra) return extra;
      const id = args[0];
      if (id === undefined)
        return error('Which incident? `timeline` needs an incident id like `inc-ab12cd34`.', clusters);
      if (!isIncidentId(id))
        return error(`"${quote(id)}" is not an incident id (they look like \`inc-ab12cd34\`).`, clusters);
      return { kind: 'timeline', incidentId: id };
    }
    default:
      return error(`Unknown subcommand "${quote(sub)}".`, clusters);
  }
}

/** User text echoed in an error: short, and without characters that could form mrkdwn controls. */
function quote(value: string): string {
  const clean = terminalLine(value).replace(/[<>&*_~`]/g, '');
  return clean.length > 40 ? `${clean.slice(0, 39)}…` : clean;
}
