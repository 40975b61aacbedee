import { createHash } from 'node:crypto';
import type { ScenarioNode } from '../scenario/schema.js';
import type { KubeObject } from '../store.js';
import { isoSeconds } from './names.js';

/** The Node object a kubelet would register for a scenario node (pure). */

const RUNTIME_VERSIONS: Record<ScenarioNode['runtime'], string> = {
  containerd: 'containerd://1.7.27',
  'containerd-1.5': 'containerd://1.5.18',
  'cri-o': 'cri-o://1.33.1',
  dockershim: 'docker://20.10.24',
};

function hexId(seed: string): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, 32);
}

function uuidFrom(seed: string): string {
  const h = hexId(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function nodeObject(node: ScenarioNode, kubernetesVersion: string): KubeObject {
  const now = isoSeconds();
  const defaults = [
    {
      type: 'MemoryPressure',
      status: 'False',
      reason: 'KubeletHasSufficientMemory',
      message: 'kubelet has sufficient memory available',
    },
    {
      type: 'DiskPressure',
      status: 'False',
      reason: 'KubeletHasNoDiskPressure',
      message: 'kubelet has no disk pressure',
    },
    {
      type: 'PIDPressure',
      status: 'False',
      reason: 'KubeletHasSufficientPID',
      message: 'kubelet has sufficient PID available',
    },
  ];
  const conditions = [
    ...defaults.filter((d) => !node.conditions.some((c) => c.type === d.type)),
    ...node.conditions,
  ].map((c) => ({
    ...c,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  }));
  const capacity = {
    cpu: '4',
    'ephemeral-storage': '101430960Ki',
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: '8128180Ki',
    pods: String(node.maxPods),
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': node.name,
        'kubernetes.io/os': 'linux',
        ...node.labels,
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        ...node.annotations,
      },
    },
    spec: {
      ...nodePodCidrs(node),
      ...(node.taints.length > 0 ? { taints: node.taints } : {}),
    },
    status: {
      capacity,
      allocatable: { ...capacity, cpu: '4', memory: '8025780Ki', 'ephemeral-storage': '93478772582' },
      conditions,
      addresses: [
        { type: 'InternalIP', address: node.internalIP },
        { type: 'Hostname', address: node.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: 'amd64',
        bootID: uuidFrom(`boot/${node.name}`),
        containerRuntimeVersion: node.runtimeVersion ?? RUNTIME_VERSIONS[node.runtime],
        kernelVersion: '6.8.0-51-generic',
        kubeProxyVersion: node.kubeletVersion ?? kubernetesVersion,
        kubeletVersion: node.kubeletVersion ?? kubernetesVersion,
        machineID: hexId(`machine/${node.name}`),
        operatingSystem: 'linux',
        osImage: 'Ubuntu 24.04.2 LTS',
        systemUUID: uuidFrom(`system/${node.name}`),
      },
    },
  };
}

/** spec.podCIDR and spec.podCIDRs: podCIDRs as listed (dual-stack), else [podCIDR]. */
function nodePodCidrs(node: ScenarioNode): { podCIDR?: string; podCIDRs?: string[] } {
  const cidrs = node.podCIDRs ?? (node.podCIDR ? [node.podCIDR] : []);
  if (cidrs.length === 0) return {};
  return {
    podCIDR: node.podCIDR ?? cidrs[0],
    podCIDRs: node.podCIDR && !node.podCIDRs ? [node.podCIDR] : cidrs,
  };
}
