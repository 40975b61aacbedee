/**
 * Gap 8: on a cluster that runs Flannel a sandbox failure from any CNI plugin is in scope; on one that does
 * not, only Flannel's own wordings are; whether it runs Flannel comes from the cluster, not the plugin name.
 */
import { describe, expect, it } from '@jest/globals';
import { classifySandboxMessage, isCniFailure } from '../../src/detect/classify.js';
import { loadRunbooks, matchRunbooks, shippedRunbooksDir } from '../../src/runbooks/load.js';
import { runsFlannel } from '../../src/watch/flannel-presence.js';

const runbooks = loadRunbooks(shippedRunbooksDir());
const signal = (message: string, reason = 'FailedCreatePodSandBox') => ({
  reason,
  kind: 'Pod',
  message,
  signature: classifySandboxMessage(message),
});
const wrap = (inner: string) =>
  `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "0f1e": ${inner}`;
const CALICO = wrap(
  'plugin type="calico" failed (add): error getting ClusterInformation: connection is unauthorized: Unauthorized',
);
const CILIUM_DOCKERSHIM =
  'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to set up sandbox container "ab" network for pod "web": networkPlugin cni failed to set up pod "web_shop" network: unable to connect to Cilium daemon';
const PAUSE =
  'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image "registry.k8s.io/pause:3.10": failed to pull image "registry.k8s.io/pause:3.10": i/o timeout';
const FLANNEL = wrap(
  'plugin type="flannel" failed (add): failed to load flannel \'subnet.env\' file: open /run/flannel/subnet.env: no such file or directory. Check the flannel pod log for this node.',
);
const ids = (message: string, flannel: boolean | undefined) =>
  matchRunbooks(runbooks, signal(message), { flannel }).map((r) => r.id);

describe('what is a CNI failure', () => {
  it('recognises every network wrapper and plugin error, not other sandbox problems', () => {
    expect(isCniFailure(signal(CALICO))).toBe(true);
    expect(isCniFailure(signal(CILIUM_DOCKERSHIM))).toBe(true);
    expect(isCniFailure(signal('network is not ready: cni plugin not initialized', 'NetworkNotReady'))).toBe(
      true,
    );
    expect(isCniFailure(signal(PAUSE))).toBe(false);
  });
});

describe('the Flannel runbook by what the cluster runs', () => {
  it('takes any CNI plugin failure on a Flannel cluster', () => {
    expect(ids(CALICO, true)).toEqual(['flannel']);
    expect(ids(CILIUM_DOCKERSHIM, true)).toEqual(['flannel']);
    expect(ids(PAUSE, true)).toEqual([]);
  });

  it('leaves other plugins to their runbooks where Flannel does not run, or before the watcher knows', () => {
    expect(ids(CALICO, false)).toEqual([]);
    expect(ids(CALICO, undefined)).toEqual([]);
    // Flannel's own wording stays in scope (the seed's cluster, where Flannel is missing altogether).
    expect(ids(FLANNEL, false)).toEqual(['flannel']);
  });

  it('knows a Flannel cluster by its DaemonSet or by flanneld annotations (k3s/RKE2), not by plugin names', () => {
    expect(
      runsFlannel({
        daemonSets: [{ name: 'kube-flannel-ds', labels: { app: 'flannel' } }],
        nodeAnnotations: [],
      }),
    ).toBe(true);
    expect(
      runsFlannel({ daemonSets: [{ name: 'kube-flannel-ds-amd64', labels: {} }], nodeAnnotations: [] }),
    ).toBe(true);
    expect(
      runsFlannel({
        daemonSets: [],
        nodeAnnotations: [{ 'flannel.alpha.coreos.com/backend-type': 'vxlan' }],
      }),
    ).toBe(true);
    expect(
      runsFlannel({
        daemonSets: [{ name: 'calico-node', labels: { 'k8s-app': 'calico-node' } }],
        nodeAnnotations: [{}],
      }),
    ).toBe(false);
  });
});
