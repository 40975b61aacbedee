/**
 * flanneld start-up errors in the kube-flannel container log (domain/flannel.md §1.3 F, G, H, I).
 * Pure: classifies the last lines of a (previous) container log.
 */
export type FlanneldErrorKind =
  | 'podcidr-missing'
  | 'podcidr-outside-network'
  | 'config-corrupt'
  | 'rbac'
  | 'br-netfilter'
  | 'no-interface'
  | 'other';

export interface FlanneldError {
  kind: FlanneldErrorKind;
  line: string;
  node?: string;
  network?: string;
  podCIDR?: string;
}

const PATTERNS: Array<{ kind: FlanneldErrorKind; re: RegExp }> = [
  // G: pkg/subnet/kube/kube.go
  {
    kind: 'podcidr-outside-network',
    re: /subnet "([^"]+)" specified in the flannel net config doesn't contain "([^"]+)" PodCIDR of the "([^"]+)" node/,
  },
  // F
  { kind: 'podcidr-missing', re: /node "([^"]+)" pod cidr not assigned/ },
  // I: net-conf.json unreadable or invalid
  {
    kind: 'config-corrupt',
    re: /failed to read net conf|error parsing subnet config|failed to parse net conf|error parsing net conf/i,
  },
  // I: RBAC
  { kind: 'rbac', re: /error retrieving pod spec|is forbidden|forbidden: User "system:serviceaccount/i },
  // H
  { kind: 'br-netfilter', re: /Failed to check br_netfilter/i },
  { kind: 'no-interface', re: /Failed to find any valid interface/i },
];

/** The most telling error in the log: the last matching line (flanneld exits right after it). */
export function classifyFlanneldLog(lines: readonly string[]): FlanneldError | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    for (const { kind, re } of PATTERNS) {
      const m = re.exec(line);
      if (!m) continue;
      if (kind === 'podcidr-outside-network') return { kind, line, network: m[1], podCIDR: m[2], node: m[3] };
      if (kind === 'podcidr-missing') return { kind, line, node: m[1] };
      return { kind, line };
    }
  }
  // klog error lines start with E<mmdd>; a fatal exit often ends with one.
  const lastError = [...lines].reverse().find((l) => /^[EF]\d{4} /.test(l));
  return lastError ? { kind: 'other', line: lastError } : undefined;
}
