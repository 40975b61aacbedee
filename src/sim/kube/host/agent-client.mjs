// Client half of the node-tool stand-ins (crictl, systemctl, `ip link delete`) in simulated action pods:
// sends the tool's argv to the simulator's node agent (src/sim/kube/cluster/node-agent.ts), which acts on
// the node in the simulator's memory, then prints the answer and exits with the tool's exit code.
// Plain JavaScript run by this machine's Node, so a stand-in starts without compiling anything.
//   node agent-client.mjs TOOL ARG...
// Env: FLANNEL_OPS_SIM_AGENT_URL, FLANNEL_OPS_SIM_AGENT_TOKEN (set by the simulated kubelet).
import { Buffer } from 'node:buffer';
import http from 'node:http';

const [tool, ...args] = process.argv.slice(2);
const url = process.env.FLANNEL_OPS_SIM_AGENT_URL;
const token = process.env.FLANNEL_OPS_SIM_AGENT_TOKEN;

function die(message, code = 1) {
  process.stderr.write(`${tool}: ${message}\n`);
  process.exit(code);
}

if (!url || !token) die('cannot reach the node (flannel-ops simulator: no node agent in this pod)');

const body = JSON.stringify({ tool, args });
const req = http.request(
  url,
  {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    },
  },
  (res) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => (text += chunk));
    res.on('end', () => {
      let answer;
      try {
        answer = JSON.parse(text);
      } catch {
        die(`node agent answered HTTP ${res.statusCode} with no JSON`);
      }
      if (res.statusCode !== 200) die(`node agent: ${answer?.message ?? `HTTP ${res.statusCode}`}`);
      // Exit only once both streams are flushed (a pipe may not take everything at once).
      process.stdout.write(answer.stdout ?? '', () =>
        process.stderr.write(answer.stderr ?? '', () => process.exit(answer.exitCode ?? 1)),
      );
    });
  },
);
req.on('error', (err) => die(`cannot reach the node agent: ${err.message}`));
req.end(body);
