/**
 * flannel-configmap: the ConfigMap the Flannel DaemonSet mounts (kube-flannel-cfg) exists and its
 * net-conf.json / cni-conf.json are valid. Its facts (Network, SubnetLen, backend) feed node-podcidrs
 * and the network report.
 */
import type { CheckDefinition } from '../types.js';
import { evaluation, type Evaluation } from './common.js';
import {
  configMapCandidates,
  gatherFlannelConfigMap,
  gatherFlannelDaemonSets,
  type ConfigMapRef,
  type FlannelConfigMap,
} from './flannel-objects.js';
import { parseCniConf, parseNetConf } from './netconf.js';

export interface FlannelConfigMapFacts {
  /** The Flannel DaemonSet the ConfigMap belongs to (namespace/name), if any. */
  daemonSet?: ConfigMapRef;
  /** Where the ConfigMap was looked for (the DaemonSet's flannel-cfg volume first). */
  expected: ConfigMapRef;
  configMap?: FlannelConfigMap;
}

export function evaluateFlannelConfigMap(facts: FlannelConfigMapFacts): Evaluation {
  const ref = `${facts.expected.namespace}/${facts.expected.name}`;
  const getCmd = `kubectl -n ${facts.expected.namespace} get configmap ${facts.expected.name}`;
  if (!facts.configMap) {
    if (!facts.daemonSet) {
      return evaluation('skipped', 'No Flannel DaemonSet and no Flannel ConfigMap (see flannel-daemonset)', [
        `${getCmd}: NotFound`,
      ]);
    }
    const evidence = [
      `${getCmd}: NotFound`,
      `DaemonSet ${facts.daemonSet.namespace}/${facts.daemonSet.name} mounts ConfigMap ${facts.expected.name} as flannel-cfg: its pods cannot start (FailedMount)`,
    ];
    return evaluation('fail', `ConfigMap ${ref} is missing while the Flannel DaemonSet exists`, evidence, [
      {
        cause: 'flannel-partially-deployed',
        confidence: 0.85,
        summary: `The Flannel ConfigMap ${ref} was deleted`,
        nodes: [],
        evidence,
        data: { missing: [`configmap ${ref}`] },
      },
    ]);
  }
  const cm = facts.configMap;
  const at = `${cm.namespace}/${cm.name}`;
  const netConf = parseNetConf(cm.data['net-conf.json']);
  const cniConf = parseCniConf(cm.data['cni-conf.json']);
  const problems = [...(netConf.ok ? [] : netConf.problems), ...(cniConf.ok ? [] : cniConf.problems)];
  const jsonpath = (key: string) =>
    `kubectl -n ${cm.namespace} get configmap ${cm.name} -o jsonpath='{.data.${key.replace('.', '\\.')}}'`;
  if (problems.length > 0) {
    const evidence = problems.map(
      (p) => `${jsonpath(p.includes('cni-conf') ? 'cni-conf.json' : 'net-conf.json')}: ${p}`,
    );
    return evaluation(
      'fail',
      `ConfigMap ${at} is invalid: ${problems[0]}`,
      evidence,
      [
        {
          cause: 'flannel-config-corrupt',
          confidence: 0.9,
          summary: `ConfigMap ${at}: ${problems.join('; ')}`,
          nodes: [],
          evidence,
          data: { configMap: at, problems },
        },
      ],
      { configMap: at, valid: false, problems },
    );
  }
  const net = netConf.ok ? netConf.value : undefined;
  const cni = cniConf.ok ? cniConf.value : undefined;
  const facts2: Record<string, unknown> = {
    configMap: at,
    valid: true,
    ...(net
      ? {
          netConf: net.raw,
          network: net.network,
          subnetLen: net.subnetLen ?? 24,
          backendType: net.backendType,
          backend: net.backendType,
          ...(net.port !== undefined ? { port: net.port } : {}),
          ...(net.vni !== undefined ? { vni: net.vni } : {}),
          ...(net.mtu !== undefined ? { mtu: net.mtu } : {}),
          enableNFTables: net.enableNFTables ?? false,
          enableIPv6: net.enableIPv6,
        }
      : {}),
    ...(cni ? { cniNetworkName: cni.name, cniPlugins: cni.pluginTypes } : {}),
  };
  const evidence = [
    `${jsonpath('net-conf.json')}: Network ${net?.network ?? '(IPv6 only)'}, SubnetLen ${net?.subnetLen ?? '24 (default)'}, Backend ${net?.backendType}${net?.vni !== undefined ? ` VNI ${net.vni}` : ''}${net?.port !== undefined ? ` Port ${net.port}` : ''}${net?.mtu !== undefined ? ` MTU ${net.mtu}` : ''}, EnableNFTables ${net?.enableNFTables ?? false}`,
    `${jsonpath('cni-conf.json')}: network "${cni?.name}", plugins ${cni?.pluginTypes.join(', ')}`,
  ];
  const warnings = netConf.ok ? netConf.warnings : [];
  if (warnings.length > 0) {
    return evaluation(
      'warn',
      `ConfigMap ${at}: ${warnings.join('; ')}`,
      [...evidence, ...warnings],
      [],
      facts2,
    );
  }
  return evaluation(
    'ok',
    `ConfigMap ${at} is valid (Network ${net?.network}, backend ${net?.backendType})`,
    evidence,
    [],
    facts2,
  );
}

export const check: CheckDefinition<FlannelConfigMapFacts> = {
  id: 'flannel-configmap',
  scope: 'api',
  title: 'Flannel ConfigMap',
  async gather(ctx) {
    const primary = (await gatherFlannelDaemonSets(ctx.kube))[0];
    const configMap = await gatherFlannelConfigMap(ctx.kube, primary);
    return {
      ...(primary ? { daemonSet: { namespace: primary.namespace, name: primary.name } } : {}),
      expected: configMap
        ? { namespace: configMap.namespace, name: configMap.name }
        : configMapCandidates(primary)[0],
      ...(configMap ? { configMap } : {}),
    };
  },
  evaluate: (facts) => evaluateFlannelConfigMap(facts),
};
