/**
 * Renders devices the way iproute2 prints them, for the `ip` stand-in (./bin/ip): `ip -o addr show`
 * lines and `ip -d link show` blocks. The ifindex is the device's position (1-based).
 */
import type { Device, Route } from '../scenario/schema.js';
import { formatCidr, parseCidr } from '../../../util/ip.js';
import { broadcastAddress, formatIpv4, parseIpv4Cidr } from '../../../util/ipv4.js';

const LFT = '\\       valid_lft forever preferred_lft forever';

function linkName(d: Device): string {
  // A veth's peer lives in the pod netns as eth0, which is ifindex 2 there.
  return d.type === 'veth' ? `${d.name}@if2` : d.name;
}

export function renderAddrFile(devices: readonly Device[]): string {
  const lines: string[] = [];
  devices.forEach((d, i) => {
    for (const addr of d.addresses.filter((a) => a.includes(':'))) {
      const scope = d.type === 'loopback' ? 'host' : 'global';
      lines.push(`${i + 1}: ${d.name}    inet6 ${addr} scope ${scope} ${LFT}`);
    }
    for (const addr of d.addresses) {
      const parsed = parseIpv4Cidr(addr);
      if (!parsed) continue;
      const scope = d.type === 'loopback' ? 'host' : 'global';
      const brd =
        parsed.prefix < 31 && d.type !== 'loopback' ? ` brd ${formatIpv4(broadcastAddress(parsed))}` : '';
      lines.push(`${i + 1}: ${d.name}    inet ${addr}${brd} scope ${scope} ${d.name}${LFT}`);
    }
  });
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** A bridge without attached ports has no carrier (how an unused cni0/docker0 looks). */
function noCarrier(d: Device, devices: readonly Device[]): boolean {
  return d.type === 'bridge' && !devices.some((x) => x.master === d.name);
}

function flags(d: Device, devices: readonly Device[]): string {
  if (d.type === 'loopback') return '<LOOPBACK,UP,LOWER_UP>';
  if (d.state === 'DOWN') return '<BROADCAST,MULTICAST>';
  if (noCarrier(d, devices)) return '<NO-CARRIER,BROADCAST,MULTICAST,UP>';
  return '<BROADCAST,MULTICAST,UP,LOWER_UP>';
}

function state(d: Device, devices: readonly Device[]): string {
  if (d.state) return d.state;
  if (d.type === 'loopback' || d.type === 'vxlan') return 'UNKNOWN';
  return noCarrier(d, devices) ? 'DOWN' : 'UP';
}

export function renderLinkFile(devices: readonly Device[]): string {
  const blocks = devices.map((d, i) => {
    const master = d.master ? ` master ${d.master}` : '';
    const qlen = d.type === 'vxlan' || d.type === 'veth' ? '' : ' qlen 1000';
    const qdisc = d.type === 'ether' ? 'fq_codel' : 'noqueue';
    const head = `${i + 1}: ${linkName(d)}: ${flags(d, devices)} mtu ${d.mtu} qdisc ${qdisc}${master} state ${state(d, devices)} mode DEFAULT group default${qlen}`;
    const mac = d.type === 'loopback' ? '00:00:00:00:00:00' : (d.mac ?? '02:00:00:00:00:01');
    const brd = d.type === 'loopback' ? '00:00:00:00:00:00' : 'ff:ff:ff:ff:ff:ff';
    const netns = d.linkNetns ? ` link-netns ${d.linkNetns}` : '';
    const promisc = d.master ? 1 : 0;
    const lines = [
      head,
      `    link/${d.type === 'loopback' ? 'loopback' : 'ether'} ${mac} brd ${brd}${netns} promiscuity ${promisc} minmtu ${d.type === 'loopback' ? 0 : 68} maxmtu ${d.type === 'loopback' ? 0 : 65535}`,
    ];
    if (d.type === 'vxlan' && d.vxlan) {
      const local = d.vxlan.local ? ` local ${d.vxlan.local}` : '';
      const dev = d.vxlan.dev ? ` dev ${d.vxlan.dev}` : '';
      lines.push(
        `    vxlan id ${d.vxlan.vni}${local}${dev} srcport 0 0 dstport ${d.vxlan.port} ${d.vxlan.learning ? '' : 'no'}learning ttl auto ageing 300 udpcsum noudp6zerocsumtx noudp6zerocsumrx addrgenmode eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535`,
      );
    } else if (d.type === 'bridge') {
      lines.push(
        '    bridge forward_delay 1500 hello_time 200 max_age 2000 ageing_time 30000 stp_state 0 priority 32768 vlan_filtering 0 vlan_protocol 802.1Q addrgenmode eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535',
      );
    } else if (d.type === 'veth') {
      lines.push('    veth');
      if (d.master) lines.push('    bridge_slave state forwarding priority 32 cost 2 hairpin on guard off');
    }
    return lines.join('\n');
  });
  return blocks.length ? blocks.join('\n') + '\n' : '';
}

/**
 * `ip route show` (and `ip -6 route show`): the kernel's connected routes of each address, then the routes
 * flanneld or the scenario added, as iproute2 prints them.
 */
export function renderRouteFile(devices: readonly Device[], routes: readonly Route[], family: 4 | 6): string {
  const lines: string[] = [];
  const fam = (text: string) => (text.includes(':') ? 6 : 4);
  for (const r of routes.filter((x) => x.dst === 'default' && fam(x.via ?? '0.0.0.0') === family))
    lines.push(`default${r.via ? ` via ${r.via}` : ''} dev ${r.dev}${r.onlink ? ' onlink' : ''}`);
  for (const d of devices) {
    if (d.type === 'loopback') continue;
    for (const addr of d.addresses) {
      if (fam(addr) !== family) continue;
      const cidr = parseCidr(addr);
      if (!cidr || (family === 4 && cidr.prefix === 32) || (family === 6 && cidr.prefix === 128)) continue;
      const src =
        family === 4
          ? ` proto kernel scope link src ${addr.split('/')[0]}`
          : ' proto kernel metric 256 pref medium';
      const down = d.type === 'bridge' && !devices.some((x) => x.master === d.name) ? ' linkdown' : '';
      lines.push(`${formatCidr(cidr)} dev ${d.name}${src}${down}`);
    }
  }
  for (const r of routes.filter((x) => x.dst !== 'default' && fam(x.dst) === family))
    lines.push(`${r.dst}${r.via ? ` via ${r.via}` : ''} dev ${r.dev}${r.onlink ? ' onlink' : ''}`);
  return lines.length ? lines.join('\n') + '\n' : '';
}
