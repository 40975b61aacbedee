/**
 * version-compat: the Kubernetes version against the running Flannel release, from the release table
 * (src/flannel/releases.ts, domain/flannel.md "Releases and their manifests"): a cluster older than the
 * release's manifest supports fails; a cluster that no longer serves an API the manifest uses (rbac v1beta1,
 * PodSecurityPolicy, extensions/v1beta1 DaemonSet) warns, naming those APIs, since a re-apply of that release
 * would be refused. With no Flannel running it names the release a fresh install should use.
 */
import type { CheckDefinition, Finding } from '../types.js';
import { evaluation, gatherNodes, type Evaluation } from './common.js';
import {
  detectEmbedded,
  embeddedUnlessLeftovers,
  flannelImage,
  flannelVersion,
  gatherFlannelDaemonSets,
  gatherLeftovers,
  type EmbeddedFlavour,
} from './flannel-objects.js';
import {
  closestRelease,
  compareVersions,
  describeUnservedApi,
  newestRelease,
  parseVersion,
  suitableRelease,
  unservedApis,
  type FlannelRelease,
} from '../../flannel/releases.js';

/** The newest release in the table; what a re-apply should pin when none runs on a v1.17+ cluster. */
export const LATEST_KNOWN_FLANNEL = newestRelease().version;

export interface VersionCompatFacts {
  kubernetesVersion: string;
  flannel?: { namespace: string; daemonSet: string; image?: string; version?: string };
  embedded?: EmbeddedFlavour;
}

function rangeText(release: FlannelRelease): string {
  const { min, max } = release.kubernetes;
  return max ? `Kubernetes ${min} to ${max} (exclusive)` : `Kubernetes v${min}+`;
}

export function evaluateVersionCompat(facts: VersionCompatFacts): Evaluation {
  const kube = parseVersion(facts.kubernetesVersion);
  const suitable = suitableRelease(facts.kubernetesVersion);
  const suitableText = suitable
    ? `${suitable.version} (${suitable.sources.documentation})`
    : `no Flannel release whose manifest supports Kubernetes ${facts.kubernetesVersion}`;
  const versionCmd = `kubectl version: server ${facts.kubernetesVersion}`;
  const baseFacts = {
    kubernetesVersion: facts.kubernetesVersion,
    ...(suitable ? { suitableFlannelVersion: suitable.version } : {}),
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
      suitable
        ? `No Flannel running; a fresh install on ${facts.kubernetesVersion} should use ${suitableText}`
        : `No Flannel running, and ${suitableText}`,
      [versionCmd],
      [],
      baseFacts,
    );
  }
  const f = facts.flannel;
  const release = closestRelease(f.version);
  const resultFacts = {
    ...baseFacts,
    flannelVersion: f.version,
    image: f.image,
    namespace: f.namespace,
    daemonSet: f.daemonSet,
  };
  const imageLine = `kubectl -n ${f.namespace} get ds ${f.daemonSet} -o jsonpath='{..image}': ${f.image ?? '(no flannel image)'}`;
  const evidence = [versionCmd, imageLine];
  const flannel = parseVersion(f.version);
  if (!kube || !flannel) {
    return evaluation(
      'warn',
      `Cannot compare versions (Kubernetes ${facts.kubernetesVersion}, Flannel ${f.version ?? 'unknown'})`,
      evidence,
      [],
      resultFacts,
    );
  }
  if (!release) {
    const newer = compareVersions(flannel, parseVersion(LATEST_KNOWN_FLANNEL)!) > 0;
    return evaluation(
      newer ? 'ok' : 'warn',
      newer
        ? `Flannel ${f.version} is newer than the releases flannel-ops knows (up to ${LATEST_KNOWN_FLANNEL}); assuming it suits Kubernetes ${facts.kubernetesVersion}`
        : `Flannel ${f.version} is not a release flannel-ops knows; cannot judge it against Kubernetes ${facts.kubernetesVersion}`,
      evidence,
      [],
      resultFacts,
    );
  }
  const unserved = unservedApis(release, facts.kubernetesVersion).filter((a) => a.reason === 'removed');
  const withRelease = {
    ...resultFacts,
    manifest: {
      release: release.version,
      source: release.sources.documentation,
      kubernetesMin: release.kubernetes.min,
      ...(release.kubernetes.max ? { kubernetesMax: release.kubernetes.max } : {}),
      apis: release.apis.map((a) => `${a.apiVersion} ${a.kind}`),
    },
    unservedApis: unserved.map((a) => `${a.apiVersion} ${a.kind}`),
  };
  const kubeMinor = { major: kube.major, minor: kube.minor, patch: 0 };
  const findings: Finding[] = [];
  if (compareVersions(kubeMinor, parseVersion(release.kubernetes.min)!) < 0) {
    const line = `Flannel ${f.version} ships the manifest for Kubernetes v${release.kubernetes.min}+; this cluster runs ${facts.kubernetesVersion} (${release.kubernetes.minReason})`;
    evidence.push(line);
    findings.push({
      cause: 'version-mismatch',
      confidence: 0.75,
      summary: line,
      nodes: [],
      evidence: [...evidence],
      // Every Flannel failure on a cluster the release does not support follows from that (verdict rules).
      data: { suitable: suitable?.version ?? null, release: release.version, belowMinimum: true },
    });
    return evaluation('fail', line, evidence, findings, withRelease);
  }
  if (unserved.length > 0) {
    const apis = unserved.map(describeUnservedApi).join(', ');
    const upgrade = suitable ? `; upgrade to ${suitable.version}` : '';
    const line = `Flannel ${f.version}'s manifest (for ${rangeText(release)}) uses ${apis}, which Kubernetes ${facts.kubernetesVersion} no longer serves: the running objects keep working, but re-applying that manifest fails${upgrade}`;
    evidence.push(line);
    findings.push({
      cause: 'version-mismatch',
      confidence: 0.45,
      summary: line,
      nodes: [],
      evidence: [...evidence],
      data: {
        suitable: suitable?.version ?? null,
        release: release.version,
        unservedApis: withRelease.unservedApis,
        // The kinds whose manifest API is gone: if exactly those objects are missing, applying the manifest
        // failed on them (`no matches for kind ...`), and this cause explains the partial deployment.
        unservedKinds: [...new Set(unserved.map((a) => a.kind))],
      },
    });
    return evaluation('warn', line, evidence, findings, withRelease);
  }
  return evaluation(
    'ok',
    `Flannel ${f.version} suits Kubernetes ${facts.kubernetesVersion} (its manifest is for ${rangeText(release)})`,
    evidence,
    [],
    withRelease,
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
