/**
 * The kubelet `FailedCreatePodSandBox` event message for a CNI error, with each runtime's real wrapper
 * (domain/flannel.md §1.2, fixtures §7), and the scenario's wording overrides.
 */
import type { Runtime, Scenario, SandboxOverride } from '../scenario/schema.js';

export interface SandboxContext {
  sandboxId: string;
  podName: string;
  namespace: string;
  podUid: string;
  /** The sandbox attempt number CRI-O puts in the sandbox name (`k8s_<pod>_<ns>_<uid>_<n>`). */
  attempt?: number;
}

/** Which plugin libcni names as failing, and the CNI network; from a failed cniAdd result. */
export interface FailingPlugin {
  /** `plugin type="X" failed (add): `; omitted for config-level errors (no plugin ran). */
  pluginType?: string;
  network?: string;
}

const RPC = 'rpc error: code = Unknown desc = ';

/**
 * "Failed to create pod sandbox: ..." as the kubelet records it for this runtime. `plugin` defaults to
 * Flannel's stock chain (type flannel, network cbr0); pass `{}` for errors no plugin produced.
 */
export function sandboxFailureMessage(
  runtime: Runtime,
  ctx: SandboxContext,
  pluginError: string,
  plugin: FailingPlugin = { pluginType: 'flannel', network: 'cbr0' },
): string {
  // libcni >= v1.0.0 (containerd >= 1.6, CRI-O) names the failing plugin; older vendored libcni did not.
  const libcni = plugin.pluginType ? `plugin type="${plugin.pluginType}" failed (add): ` : '';
  let detail: string;
  switch (runtime) {
    case 'containerd':
      detail = `failed to setup network for sandbox "${ctx.sandboxId}": ${libcni}${pluginError}`;
      break;
    case 'containerd-1.5':
      detail = `failed to setup network for sandbox "${ctx.sandboxId}": ${pluginError}`;
      break;
    case 'cri-o': {
      const sandboxName = `k8s_${ctx.podName}_${ctx.namespace}_${ctx.podUid}_${ctx.attempt ?? 0}`;
      const network = plugin.network ?? 'cbr0';
      detail =
        `failed to create pod network sandbox ${sandboxName}(${ctx.sandboxId}): ` +
        `error adding pod ${ctx.namespace}_${ctx.podName} to CNI network "${network}": ${libcni}${pluginError}`;
      break;
    }
    case 'dockershim':
      detail =
        `failed to set up sandbox container "${ctx.sandboxId}" network for pod "${ctx.podName}": ` +
        `networkPlugin cni failed to set up pod "${ctx.podName}_${ctx.namespace}" network: ${pluginError}`;
      break;
  }
  return `Failed to create pod sandbox: ${RPC}${detail}`;
}

/** The scenario's sandbox-wording override for a node, if any (the last matching entry wins). */
export function sandboxOverrideFor(
  scenario: Pick<Scenario, 'failure'>,
  nodeName: string,
): SandboxOverride | undefined {
  const matching = scenario.failure.sandbox.filter((o) => !o.nodes || o.nodes.includes(nodeName));
  return matching[matching.length - 1];
}

/**
 * The event message while a node's pod network is broken, honouring the scenario's override:
 * `message` is used as is (placeholders filled in), `pluginError` replaces the CNI error and is wrapped
 * by the node's runtime; without an override the real pluginError is wrapped.
 */
export function brokenSandboxMessage(
  scenario: Pick<Scenario, 'failure'>,
  node: { name: string; runtime: Runtime },
  ctx: SandboxContext,
  pluginError: string,
  plugin?: FailingPlugin,
): string {
  const override = sandboxOverrideFor(scenario, node.name);
  if (override?.message !== undefined) {
    const values: Record<string, string> = {
      sandboxId: ctx.sandboxId,
      pod: ctx.podName,
      namespace: ctx.namespace,
      podUid: ctx.podUid,
      node: node.name,
    };
    return override.message.replace(/\{\{(\w+)\}\}/g, (all, key: string) => values[key] ?? all);
  }
  if (override?.pluginError !== undefined) {
    return sandboxFailureMessage(node.runtime, ctx, override.pluginError);
  }
  return sandboxFailureMessage(node.runtime, ctx, pluginError, plugin);
}
