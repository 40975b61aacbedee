import { describe, expect, it } from '@jest/globals';
import { buildProbePod, readProbeScript } from '../../src/checks/probe/pod.js';

const pod = buildProbePod({
  node: 'worker-1',
  namespace: 'flannel-ops',
  image: 'docker.io/library/busybox:1.36',
  runId: 'run-42',
  deadlineSeconds: 60,
  script: 'echo hi',
});
const spec = pod.spec!;
const container = spec.containers[0];

describe('buildProbePod', () => {
  it('is a labelled, generated-name pod pinned to the node', () => {
    expect(pod.metadata).toMatchObject({
      generateName: 'flannel-ops-probe-',
      namespace: 'flannel-ops',
      labels: {
        'app.kubernetes.io/name': 'flannel-ops-probe',
        'app.kubernetes.io/managed-by': 'flannel-ops',
        'flannel-ops/run': 'run-42',
      },
    });
    expect(pod.metadata?.name).toBeUndefined();
    expect(spec).toMatchObject({
      nodeName: 'worker-1',
      hostNetwork: true,
      restartPolicy: 'Never',
      activeDeadlineSeconds: 60,
      tolerations: [{ operator: 'Exists' }],
      automountServiceAccountToken: false,
    });
    expect(spec.priorityClassName).toBeUndefined();
  });

  it('runs the script with sh and names the node', () => {
    expect(spec.containers).toHaveLength(1);
    expect(container.command).toEqual(['/bin/sh', '-c', 'echo hi']);
    expect(container.image).toBe('docker.io/library/busybox:1.36');
    expect(container.env).toContainEqual({ name: 'NODE_NAME', value: 'worker-1' });
  });

  it('mounts each host directory read-only at /host<path>, with its env var equal to the mountPath', () => {
    const expected: Record<string, string> = {
      CNI_CONF_DIR: '/etc/cni/net.d',
      CNI_BIN_DIR: '/opt/cni/bin',
      FLANNEL_RUN_DIR: '/run/flannel',
      CNI_IPAM_DIR: '/var/lib/cni/networks',
      NETNS_DIR: '/var/run/netns',
    };
    for (const [envName, hostPath] of Object.entries(expected)) {
      const value = container.env?.find((e) => e.name === envName)?.value;
      expect(value).toBe(`/host${hostPath}`);
      const mount = container.volumeMounts?.find((m) => m.mountPath === value);
      expect(mount?.readOnly).toBe(true);
      const volume = spec.volumes?.find((v) => v.name === mount?.name);
      expect(volume?.hostPath?.path).toBe(hostPath);
    }
    // Nothing else: no runtime socket unless asked for (it would be root on the node).
    expect(container.volumeMounts).toHaveLength(5);
    expect(container.env?.some((e) => e.name === 'CONTAINER_RUNTIME_ENDPOINT')).toBe(false);
  });

  it('mounts the runtime socket directory read-only only when configured (FLANNEL_OPS_PROBE_CRI_SOCKET_DIR)', () => {
    const withCri = buildProbePod({
      node: 'worker-1',
      namespace: 'kube-system',
      image: 'busybox:1.36',
      runId: 'r1',
      deadlineSeconds: 60,
      script: 'true',
      criSocketDir: '/run/containerd',
    });
    const c = withCri.spec!.containers[0];
    const cri = c.volumeMounts?.find((m) => m.mountPath === '/host/run/containerd');
    expect(cri?.readOnly).toBe(true);
    expect(withCri.spec!.volumes?.find((v) => v.name === cri?.name)?.hostPath?.path).toBe('/run/containerd');
    expect(c.env).toContainEqual({
      name: 'CONTAINER_RUNTIME_ENDPOINT',
      value: 'unix:///host/run/containerd/containerd.sock',
    });
  });

  it('asks for little and cannot escalate', () => {
    expect(container.resources?.requests).toEqual({ cpu: '10m', memory: '16Mi' });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
    });
  });
});

describe('readProbeScript', () => {
  it('returns the POSIX sh probe', () => {
    const script = readProbeScript();
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    expect(script).toContain('PROBE_VERSION=1');
  });
});
