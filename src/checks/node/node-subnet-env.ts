/**
 * /run/flannel/subnet.env on each node: flanneld writes it once it holds its lease; the flannel CNI
 * plugin cannot set up any pod without it. It must be complete and FLANNEL_SUBNET must be the node's
 * podCIDR gateway (domain/flannel.md §3): a file that disagrees (copied from another node, hand-written,
 * older than the podCIDR) is `subnet-env-mismatch`. The fix is always flanneld's (a restart rewrites it from
 * its lease), never a hand-written or copied file (§6 anti-patterns).
 */
import { nodeCheck, type NodeCheckFacts, type NodeOutcome, type ProbedNode } from './common.js';
import {
  cidrContainsCidr,
  formatIpv4Cidr,
  gatewayCidr,
  parseIpv4Cidr,
  sameNetwork,
} from '../../util/ipv4.js';

export const SUBNET_ENV_KEYS = [
  'FLANNEL_NETWORK',
  'FLANNEL_SUBNET',
  'FLANNEL_MTU',
  'FLANNEL_IPMASQ',
] as const;

const NOT_A_FIX = 'do not copy or hand-write subnet.env: it hides why flanneld did not write it';

export function evaluateNode(
  nf: ProbedNode,
  _params: Record<string, unknown>,
  all: NodeCheckFacts,
): NodeOutcome {
  const env = nf.probe.report.subnetEnv;
  const notDeployed = all.flannelDeployed === false;
  const flannelPod = nf.flannelPod
    ? `Flannel pod ${nf.flannelPod.namespace}/${nf.flannelPod.name} is ${nf.flannelPod.phase ?? 'without status'}${nf.flannelPod.ready ? ' and ready' : ', not ready'}`
    : undefined;
  if (env.present && !env.readable) {
    return {
      status: 'error',
      summary: `cannot read ${env.path}`,
      evidence: [`${env.path} exists but the probe cannot read it`],
    };
  }
  if (!env.present) {
    const evidence = [
      `cat ${env.path}: no such file or directory`,
      ...(notDeployed
        ? ['no Flannel DaemonSet (app=flannel) in the cluster']
        : flannelPod
          ? [flannelPod]
          : []),
    ];
    return {
      status: 'fail',
      summary: `${env.path} is missing`,
      evidence,
      findings: [
        {
          cause: 'subnet-env-missing',
          // With Flannel not deployed nobody could have written it: that is the cause, not this.
          confidence: notDeployed ? 0.3 : 0.8,
          summary: notDeployed
            ? `${env.path} is missing because no flanneld runs on the node`
            : `flanneld has not written ${env.path} on the node: check the kube-flannel pod log there (${NOT_A_FIX})`,
          evidence,
        },
      ],
      facts: { present: false },
    };
  }
  const facts = {
    present: true,
    network: env.network ?? null,
    subnet: env.subnet ?? null,
    mtu: env.mtu ?? null,
    ipmasq: env.ipmasq ?? null,
  };
  const lines = SUBNET_ENV_KEYS.filter((k) => env.vars[k] !== undefined).map((k) => `${k}=${env.vars[k]}`);
  const shown = `cat ${env.path}: ${lines.join(' ') || '(no FLANNEL_ variables)'}`;
  const missingKeys = SUBNET_ENV_KEYS.filter((k) => !env.vars[k]);
  if (missingKeys.length) {
    const evidence = [shown, `missing: ${missingKeys.join(', ')}`];
    return {
      status: 'fail',
      summary: `${env.path} is incomplete (no ${missingKeys.join(', ')})`,
      evidence,
      findings: [
        {
          cause: 'subnet-env-missing',
          confidence: notDeployed ? 0.3 : 0.7,
          summary: `${env.path} lacks ${missingKeys.join(', ')}: flanneld did not write it completely (${NOT_A_FIX})`,
          evidence,
        },
      ],
      facts,
    };
  }

  const subnet = parseIpv4Cidr(env.subnet);
  const network = parseIpv4Cidr(env.network);
  const podCidr = parseIpv4Cidr(nf.podCIDR);
  if (!subnet || !network) {
    const evidence = [shown, `FLANNEL_SUBNET/FLANNEL_NETWORK are not IPv4 CIDRs`];
    return {
      status: 'fail',
      summary: `${env.path} holds an invalid subnet`,
      evidence,
      findings: [
        {
          cause: 'subnet-env-missing',
          confidence: 0.6,
          summary: `${env.path} is not usable: ${evidence[1]}`,
          evidence,
        },
      ],
      facts,
    };
  }
  if (!podCidr) {
    if (!nf.podCIDR && nf.nodeFound) {
      const evidence = [shown, `kubectl get node ${nf.node} -o jsonpath='{.spec.podCIDR}': empty`];
      return {
        status: 'fail',
        summary: `the node has no podCIDR while ${env.path} says ${env.subnet}`,
        evidence,
        findings: [
          {
            cause: 'podcidr-missing',
            confidence: 0.5,
            summary: `node has no spec.podCIDR; subnet.env is left from an earlier lease`,
            evidence,
          },
        ],
        facts,
      };
    }
    return { status: 'ok', summary: `FLANNEL_SUBNET=${env.subnet}`, evidence: [shown], facts };
  }
  const evidence = [shown, `node podCIDR ${nf.podCIDR} (gateway ${gatewayCidr(podCidr)})`];
  // flanneld writes FLANNEL_SUBNET from the lease it takes, which is the node's podCIDR; a running, ready
  // flanneld therefore never leaves a file that disagrees with it: such a file was written by someone else
  // (copied from another node, hand-written) or is older than the podCIDR.
  const flannelReady = nf.flannelPod?.ready === true;
  const mismatch = (confidence: number, why: string): NodeOutcome => {
    const lines = [
      ...evidence,
      ...(flannelPod ? [flannelPod] : []),
      `the flannel CNI plugin hands out pod IPs from FLANNEL_SUBNET ${formatIpv4Cidr(subnet)} and the bridge plugin wants cni0 at ${env.subnet}: pods get addresses from another node's range`,
    ];
    return {
      status: 'fail',
      summary: `FLANNEL_SUBNET ${env.subnet} does not match podCIDR ${nf.podCIDR}`,
      evidence: lines,
      findings: [
        {
          cause: 'subnet-env-mismatch',
          confidence,
          summary: `${env.path} says FLANNEL_SUBNET=${env.subnet} but the node's podCIDR is ${nf.podCIDR} (${why}): restart the Flannel pod on the node so flanneld rewrites it from its lease (${NOT_A_FIX})`,
          evidence: lines,
          data: {
            subnetEnvMismatch: {
              [nf.node]: { subnet: env.subnet, network: env.network, podCIDR: nf.podCIDR },
            },
          },
        },
      ],
      facts,
    };
  };
  if (!cidrContainsCidr(network, podCidr)) {
    return {
      status: 'fail',
      summary: `podCIDR ${nf.podCIDR} lies outside FLANNEL_NETWORK ${env.network}`,
      evidence,
      findings: [
        {
          cause: 'podcidr-outside-network',
          confidence: 0.6,
          summary: `the node podCIDR ${nf.podCIDR} is outside the Flannel Network ${env.network}`,
          evidence,
        },
      ],
      facts,
    };
  }
  if (!sameNetwork(subnet, podCidr)) {
    return mismatch(
      0.85,
      flannelReady
        ? 'the Flannel pod there is ready, so the file is not the one flanneld wrote: copied, hand-written, or left from an earlier lease'
        : 'written by hand, copied from another node, or left from an earlier lease',
    );
  }
  return {
    status: 'ok',
    summary: `FLANNEL_SUBNET=${env.subnet} matches podCIDR ${nf.podCIDR}`,
    evidence: [shown],
    facts,
  };
}

export const check = nodeCheck({
  id: 'node-subnet-env',
  title: 'Flannel subnet.env on the node',
  needs: { flannel: true },
  evaluateNode,
});
