/**
 * version-compat: the Kubernetes version against the running Flannel version and manifest generation
 * (domain/flannel.md §3: the current manifest needs Kubernetes v1.17+; ≤ v0.18 lived in kube-system
 * with a PodSecurityPolicy, which Kubernetes 1.25 removed).
 */
import type { CheckDefinition, Finding } from '../types.js';
import { evaluation, gatherNodes, type Evaluation } from './common.js';
import {
  compareVersions,
  detectEmbedded,
  embeddedUnlessLeftovers,
  flannelImage,
  flannelVersion,
  gatherFlannelDaemonSets,
  gatherLeftovers,
  parseVersion,
  type EmbeddedFlavour,
} from './flannel-objects.js';

/** The newest release flannel.md documents; what a re-apply should pin when none runs on a v1.17+ cluster. */
export const LATEST_KNOWN_FLANNEL = 'v0.28.9';

export interface VersionCompatFacts {
  kubernetesVersion: string;
  flannel?: { namespace: string; daemonSet: string; image?: string; version?: string };
  embedded?: EmbeddedFlavour;
}

/** Which Flannel suits a Kubernetes version (for a re-apply when none runs). */
export function suitableFlannelFor(kube: { major: number; minor: number } | undefined): string {
  if (!kube || kube.major > 1 || kube.minor >= 17) return LATEST_KNOWN_FLANNEL;
  if (kube.minor === 16) return 'Documentation/k8s-old-manifests (rbac.authorization.k8s.io/v1beta1)';
  return 'Documentation/k8s-old-manifests/kube-flannel-legacy.yml + kube-flannel-rbac.yml';
}

export function evaluateVersionCompat(facts: VersionCompatFacts): Evaluation {
  const kube = parseVersion(facts.kubernetesVersion);
  const suitable = suitableFlannelFor(kube);
  const versionCmd = `kubectl version: server ${facts.kubernetesVersion}`;
  const baseFacts = {
    kubernetesVersion: facts.kubernetesVersion,
    suitableFlannelVersion: suitable,
    ...(facts.embedded ? { embedded: facts.embedded } : {}),
  };
  if (!facts.flannel) {
    if (facts.embedded) {
      return evaluation(
        'ok',
        `Flannel is embedded in ${facts.embedded}; its version follows the distribution (${facts.kubernetesVersion})`,
        [versionCmd],
        [],
        baseFacts,
      );
    }
    return evaluation(
      'skipped',
      `No Flannel running; a fresh install on ${facts.kubernetesVersion} should use ${suitable}`,
      [versionCmd],
      [],
      baseFacts,
    );
  }
  const f = facts.flannel;
  const flannel = parseVersion(f.version);
  const resultFacts = {
    ...baseFacts,
    flannelVersion: f.version,
    image: f.image,
    namespace: f.namespace,
    daemonSet: f.daemonSet,
  };
  const imageLine = `kubectl -n ${f.namespace} get ds ${f.daemonSet} -o jsonpath='{..image}': ${f.image ?? '(no flannel image)'}`;
  if (!kube || !flannel) {
    return evaluation(
      'warn',
      `Cannot compare versions (Kubernetes ${facts.kubernetesVersion}, Flannel ${f.version ?? 'unknown'})`,
      [versionCmd, imageLine],
      [],
      resultFacts,
    );
  }
  const findings: Finding[] = [];
  const evidence = [versionCmd, imageLine];
  const kubeAtLeast = (minor: number) => kube.major > 1 || kube.minor >= minor;
  if (!kubeAtLeast(17) && compareVersions(flannel, { major: 0, minor: 15, patch: 0 }) >= 0) {
    const line = `Flannel ${f.version} ships the manifest for Kubernetes v1.17+; this cluster runs ${facts.kubernetesVersion}`;
    evidence.push(line);
    findings.push({
      cause: 'version-mismatch',
      confidence: 0.75,
      summary: line,
      nodes: [],
      evidence: [...evidence],
      data: { suitable },
    });
    return evaluation('fail', line, evidence, findings, resultFacts);
  }
  if (kubeAtLeast(25) && compareVersions(flannel, { major: 0, minor: 18, patch: 1 }) <= 0) {
    const line = `Flannel ${f.version} is a pre-v0.19 (kube-system, PodSecurityPolicy) release on Kubernetes ${facts.kubernetesVersion}, which removed PSP: its manifest no longer applies; upgrade to ${LATEST_KNOWN_FLANNEL}`;
    evidence.push(line);
    findings.push({
      cause: 'version-mismatch',
      confidence: 0.45,
      summary: line,
      nodes: [],
      evidence: [...evidence],
      data: { suitable },
    });
    return evaluation('warn', line, evidence, findings, resultFacts);
  }
  return evaluation(
    'ok',
    `Flannel ${f.version} suits Kubernetes ${facts.kubernetesVersion}`,
    evidence,
    [],
    resultFacts,
  );
}

export const check: CheckDefinition<VersionCompatFacts> = {
  id: 'version-compat',
  scope: 'api',
  title: 'Kubernetes and Flannel versions',
  async gather(ctx) {
    const [code, daemonSets] = await Promise.all([
      ctx.kube.version.getCode(),
      gatherFlannelDaemonSets(ctx.kube),
    ]);
    const primary = daemonSets[0];
    if (primary) {
      const image = flannelImage(primary);
      const version = flannelVersion(primary);
      return {
        kubernetesVersion: code.gitVersion,
        flannel: {
          namespace: primary.namespace,
          daemonSet: primary.name,
          ...(image ? { image } : {}),
          ...(version ? { version } : {}),
        },
      };
    }
    const detected = detectEmbedded(await gatherNodes(ctx.kube), 0);
    const embedded =
      detected === 'unknown' ? embeddedUnlessLeftovers(detected, await gatherLeftovers(ctx.kube)) : detected;
    return { kubernetesVersion: code.gitVersion, ...(embedded ? { embedded } : {}) };
  },
  evaluate: (facts) => evaluateVersionCompat(facts),
};
