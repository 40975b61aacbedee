/**
 * One simulated node's host: a real directory tree on disk (what a hostPath probe pod reads) plus its
 * network devices (what the `ip` stand-in in ./bin prints). CNI ADD/DEL decisions come from the tree's
 * current content (./cni-plan.ts), so a remediation that fixes files heals the node.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  deviceSchema,
  routeSchema,
  type Device,
  type DeviceInput,
  type Route,
  type Runtime,
  type ScenarioNode,
} from '../scenario/schema.js';

type RouteInput = Parameters<typeof routeSchema.parse>[0];
import {
  networkStatus,
  planCniAdd,
  planCniDel,
  type CniAddRequest,
  type CniAddResult,
  type HostEffect,
  type HostView,
  type NetworkStatus,
  type SandboxRecord,
} from './cni-plan.js';
import { DEFAULT_PLUGIN_VERSIONS, pluginBinaryStub } from './cni-versions.js';
import { leakedSandboxId, macFor, netnsNameFor, podSandboxId, vethNameFor } from './ids.js';
import { renderAddrFile, renderLinkFile, renderRouteFile } from './ip-output.js';
import { formatIpv4, parseIpv4OrThrow } from '../../../util/ipv4.js';

export type { CniAddRequest, CniAddResult, NetworkStatus } from './cni-plan.js';

/** Directories every simulated node has, whatever the scenario says. */
const BASE_DIRS = [
  '/etc/cni/net.d',
  '/opt/cni/bin',
  '/run/netns',
  '/var/lib/cni',
  '/var/lib/kubelet',
  '/tmp',
];
const SIM_DIR = '/.sim';

export class NodeHost {
  readonly name: string;
  /** Absolute path of the node's `/` on this machine: `<baseDir>/nodes/<name>`. */
  readonly root: string;
  readonly runtime: Runtime;
  /** Registries the node cannot pull from (scenario `host.unreachableRegistries`). */
  readonly unreachableRegistries: readonly string[];
  /** br_netfilter is loaded (flanneld checks /proc/sys/net/bridge/bridge-nf-call-iptables). */
  readonly brNetfilter: boolean;
  private deviceList: Device[] = [];
  private routeList: Route[] = [];

  private constructor(root: string, node: ScenarioNode) {
    this.name = node.name;
    this.root = root;
    this.runtime = node.runtime;
    this.unreachableRegistries = [...node.host.unreachableRegistries];
    this.brNetfilter = node.host.brNetfilter;
  }

  /**
   * Builds `<baseDir>/nodes/<node.name>` from the scenario node (replacing any previous tree there):
   * base directories, `/var/run -> ../run`, host files, CNI plugin stubs, host-local reservations, netns
   * entries and devices (lo and eth0 are added when the scenario does not list them).
   */
  static create(baseDir: string, node: ScenarioNode): NodeHost {
    const root = path.resolve(baseDir, 'nodes', node.name);
    fs.rmSync(root, { recursive: true, force: true });
    const host = new NodeHost(root, node);
    host.materialize(node);
    return host;
  }

  // ---- files, relative to the host's / ----

  /** Maps a host path (`/etc/cni/net.d`) to the real path under root; refuses paths that escape it. */
  hostPath(p: string): string {
    const resolved = path.resolve(this.root, '.' + path.posix.resolve('/', p));
    if (resolved !== this.root && !resolved.startsWith(this.root + path.sep)) {
      throw new Error(`path ${p} escapes the node root`);
    }
    return resolved;
  }

  readFile(p: string): string | undefined {
    try {
      return fs.readFileSync(this.hostPath(p), 'utf8');
    } catch {
      return undefined;
    }
  }

  writeFile(p: string, content: string, mode?: number): void {
    const real = this.hostPath(p);
    fs.mkdirSync(path.dirname(real), { recursive: true });
    fs.writeFileSync(real, content, mode === undefined ? undefined : { mode });
    if (mode !== undefined) fs.chmodSync(real, mode);
  }

  exists(p: string): boolean {
    return fs.existsSync(this.hostPath(p));
  }

  /** Entry names of a directory, sorted; empty when it does not exist. */
  list(dir: string): string[] {
    try {
      return fs.readdirSync(this.hostPath(dir)).sort();
    } catch {
      return [];
    }
  }

  remove(p: string): void {
    fs.rmSync(this.hostPath(p), { recursive: true, force: true });
  }

  mkdir(p: string): void {
    fs.mkdirSync(this.hostPath(p), { recursive: true });
  }

  // ---- devices ----

  devices(): Device[] {
    return this.deviceList.map((d) => structuredClone(d));
  }

  device(name: string): Device | undefined {
    const d = this.deviceList.find((x) => x.name === name);
    return d && structuredClone(d);
  }

  /** Adds or replaces a device (by name) and rewrites root/.sim/net/{addr,link}. */
  setDevice(d: DeviceInput): void {
    const device = deviceSchema.parse(d);
    const i = this.deviceList.findIndex((x) => x.name === device.name);
    if (i >= 0) this.deviceList[i] = device;
    else this.deviceList.push(device);
    this.writeNetFiles();
  }

  /** Routes besides the connected ones (`ip route` prints both). */
  routes(): Route[] {
    return this.routeList.map((r) => ({ ...r }));
  }

  /** Replaces the routes through a device (what flanneld does when it programs its backend). */
  setRoutesVia(dev: string, routes: RouteInput[]): void {
    this.routeList = [
      ...this.routeList.filter((r) => r.dev !== dev || r.dst === 'default'),
      ...routes.map((r) => routeSchema.parse(r)),
    ];
    this.writeNetFiles();
  }

  removeDevice(name: string): void {
    const before = this.deviceList.length;
    this.deviceList = this.deviceList.filter((d) => d.name !== name && d.master !== name);
    if (this.deviceList.length !== before) this.writeNetFiles();
  }

  /**
   * `ip link delete NAME` as the kernel does it: a bridge's ports are released (they stay, without a
   * master), a veth takes its peer in the pod netns with it (not modelled), and `lo` or a physical NIC
   * cannot be deleted.
   */
  deleteLink(name: string): 'deleted' | 'missing' | 'unsupported' {
    const device = this.deviceList.find((d) => d.name === name);
    if (!device) return 'missing';
    if (device.type === 'loopback' || device.type === 'ether') return 'unsupported';
    this.deviceList = this.deviceList
      .filter((d) => d !== device)
      .map((d) => {
        if (d.master !== name) return d;
        const { master: _released, ...port } = d;
        return port;
      });
    this.writeNetFiles();
    return 'deleted';
  }

  // ---- CNI ----

  /** What the runtime reports for the pod network (the node's Ready condition text when not ready). */
  networkReady(): NetworkStatus {
    return networkStatus(this.view());
  }

  /** Runs the CNI ADD chain the node's files describe; the error is the plugin's own text (not yet wrapped). */
  cniAdd(req: CniAddRequest): CniAddResult {
    const plan = planCniAdd(this.view(), req, {
      netns: netnsNameFor(req.sandboxId),
      veth: vethNameFor(req.sandboxId),
      mac: macFor(req.sandboxId),
    });
    this.apply(plan.effects);
    if (plan.sandbox) this.saveSandbox(plan.sandbox);
    return plan.result;
  }

  /** Releases the sandbox's host-local reservation, netns, veth and CNI scratch files (idempotent). */
  cniDel(sandboxId: string): void {
    const record = this.loadSandbox(sandboxId);
    this.apply(planCniDel(this.view(), sandboxId, record));
    this.remove(`${SIM_DIR}/sandboxes/${sandboxId}.json`);
  }

  /** Sandbox ids the host holds network state for (what `crictl pods -q` would list as having a network). */
  sandboxes(): SandboxRecord[] {
    return this.list(`${SIM_DIR}/sandboxes`)
      .map((f) => this.loadSandbox(f.replace(/\.json$/, '')))
      .filter((r): r is SandboxRecord => r !== undefined);
  }

  // ---- internals ----

  private view(): HostView {
    return {
      runtime: this.runtime,
      list: (dir) => this.list(dir),
      readFile: (p) => this.readFile(p),
      devices: this.deviceList,
    };
  }

  private apply(effects: HostEffect[]): void {
    for (const e of effects) {
      if (e.op === 'write') this.writeFile(e.path, e.content, e.mode);
      else if (e.op === 'remove') this.remove(e.path);
      else if (e.op === 'setDevice') this.setDevice(e.device);
      else this.removeDevice(e.name);
    }
  }

  private saveSandbox(record: SandboxRecord): void {
    record.createdAt ??= new Date().toISOString();
    this.writeFile(`${SIM_DIR}/sandboxes/${record.sandboxId}.json`, JSON.stringify(record, null, 2) + '\n');
  }

  private loadSandbox(sandboxId: string): SandboxRecord | undefined {
    const text = this.readFile(`${SIM_DIR}/sandboxes/${sandboxId}.json`);
    return text === undefined ? undefined : (JSON.parse(text) as SandboxRecord);
  }

  private writeNetFiles(): void {
    this.writeFile(`${SIM_DIR}/net/addr`, renderAddrFile(this.deviceList));
    this.writeFile(`${SIM_DIR}/net/link`, renderLinkFile(this.deviceList));
    this.writeFile(`${SIM_DIR}/net/route`, renderRouteFile(this.deviceList, this.routeList, 4));
    this.writeFile(`${SIM_DIR}/net/route6`, renderRouteFile(this.deviceList, this.routeList, 6));
  }

  private materialize(node: ScenarioNode): void {
    fs.mkdirSync(this.root, { recursive: true });
    for (const d of BASE_DIRS) this.mkdir(d);
    fs.mkdirSync(this.hostPath('/var'), { recursive: true });
    // On real hosts /var/run is a symlink to /run, so /var/run/netns and /run/netns are one directory.
    fs.symlinkSync('../run', path.join(this.hostPath('/var'), 'run'));

    const { host } = node;
    for (const [name, version] of Object.entries(host.cniBinaries)) {
      this.writeFile(`/opt/cni/bin/${name}`, pluginBinaryStub(name, version), 0o755);
    }
    for (const [p, file] of Object.entries(host.files)) {
      if (file === null) this.remove(p);
      else if (typeof file === 'string') this.writeFile(p, file);
      else this.writeFile(p, file.content, file.mode);
    }
    for (const ns of host.netns) this.writeFile(`/var/run/netns/${ns}`, '');

    this.deviceList = host.devices.map((d) => structuredClone(d));
    if (!this.deviceList.some((d) => d.name === 'lo')) {
      this.deviceList.unshift({ name: 'lo', type: 'loopback', mtu: 65536, addresses: ['127.0.0.1/8'] });
    }
    if (!this.deviceList.some((d) => d.name === 'eth0')) {
      const i = this.deviceList.findIndex((d) => d.name === 'lo') + 1;
      this.deviceList.splice(i, 0, {
        name: 'eth0',
        type: 'ether',
        mtu: 1500,
        mac: macFor(`eth0/${node.name}`),
        addresses: [`${node.internalIP}/24`],
      });
    }
    const eth0 = this.deviceList.find((d) => d.name === 'eth0');
    const gateway = node.internalIP.split('.').slice(0, 3).concat('1').join('.');
    this.routeList = [
      ...(eth0 && !host.routes.some((r) => r.dst === 'default')
        ? [routeSchema.parse({ dst: 'default', via: gateway, dev: 'eth0' })]
        : []),
      ...host.routes.map((r) => ({ ...r })),
    ];
    this.seedIpam(node);
    this.writeNetFiles();
  }

  /** Writes host-local reservations; pods' reservations also get their netns, veth and sandbox record. */
  private seedIpam(node: ScenarioNode): void {
    for (const seed of node.host.ipam) {
      const dir = `/var/lib/cni/networks/${seed.network}`;
      this.mkdir(dir);
      this.writeFile(`${dir}/lock`, '', 0o600);
      const taken = new Set<string>();
      let last: string | undefined;
      for (const r of seed.reservations) {
        const [namespace, pod] = r.owner ? r.owner.split('/') : [];
        const sandboxId = r.sandboxId ?? podSandboxId(namespace, pod);
        this.writeFile(`${dir}/${r.ip}`, `${sandboxId}\r\n${r.ifname}`, 0o600);
        taken.add(r.ip);
        last = r.ip;
        if (r.owner) this.seedPodSandbox(seed.network, sandboxId, r.ip, r.ifname, namespace, pod);
      }
      if (seed.leaked) {
        for (let n = parseIpv4OrThrow(seed.leaked.from); n <= parseIpv4OrThrow(seed.leaked.to); n++) {
          const ip = formatIpv4(n);
          if (taken.has(ip)) continue;
          this.writeFile(`${dir}/${ip}`, `${leakedSandboxId(node.name, ip)}\r\neth0`, 0o600);
          last = ip;
        }
      }
      const cursor = seed.lastReserved ?? last;
      if (cursor) this.writeFile(`${dir}/last_reserved_ip.0`, cursor, 0o600);
    }
  }

  private seedPodSandbox(
    network: string,
    sandboxId: string,
    ip: string,
    ifname: string,
    namespace: string,
    pod: string,
  ): void {
    const netns = netnsNameFor(sandboxId);
    const veth = vethNameFor(sandboxId);
    this.writeFile(`/var/run/netns/${netns}`, '');
    const bridge = this.deviceList.find((d) => d.type === 'bridge');
    if (bridge) {
      this.deviceList.push({
        name: veth,
        type: 'veth',
        mtu: bridge.mtu,
        mac: macFor(sandboxId),
        addresses: [],
        master: bridge.name,
        linkNetns: netns,
      });
    }
    this.saveSandbox({ sandboxId, namespace, podName: pod, ip, network, ifname, netns, veth });
  }
}

/** Plugin versions of a stock Flannel node (kube-flannel.yml v0.28.9 plus the upstream CNI plugins). */
export const DEFAULT_CNI_BINARIES: Readonly<Record<string, string>> = DEFAULT_PLUGIN_VERSIONS;
