/**
 * The simulator's node agent: a loopback HTTP endpoint the node-tool stand-ins (crictl, systemctl,
 * `ip link delete`) call from inside action pods, because what they act on lives in the simulator's
 * memory (the kubelet, the runtime's sandboxes, the devices). Each node has its own random token, handed
 * to the node's action pods in their environment, so a pod can only act on the node it runs on.
 *
 *   POST /v1/exec   Authorization: Bearer <node token>   {"tool": "crictl", "args": ["pods", "-q"]}
 *   → 200 {"stdout": "...", "stderr": "...", "exitCode": 0}
 *
 * It is not the API server, so the API fault injection (latency, failures) never reaches node tools.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { z } from 'zod';
import { NODE_TOOLS, type NodeEffect, type NodeView, runNodeTool } from '../host/node-tools.js';

/** What the agent needs from a node (the node's kubelet provides it). */
export interface AgentNode {
  nodeView(): Omit<NodeView, 'pathPrefix' | 'now'>;
  /** The node root as processes on this machine see it: the prefix of the host paths tools print. */
  readonly hostRoot: string;
  applyNodeEffect(effect: NodeEffect): void;
}

export interface NodeAgentAccess {
  url: string;
  token: string;
}

const execRequestSchema = z.strictObject({
  tool: z.enum(NODE_TOOLS),
  args: z.array(z.string().max(65536)).max(1024),
});

const MAX_BODY_BYTES = 1024 * 1024;

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** What a read-only token (a probe pod's) may run: listing sandboxes, nothing that changes the node. */
function readOnlyAllowed(tool: string, args: readonly string[]): boolean {
  const verb = args.find((a) => !a.startsWith('-'));
  return tool === 'crictl' && (verb === 'pods' || verb === 'inspectp');
}

export class NodeAgent {
  private readonly tokens = new Map<string, string>();
  /** Read-only tokens per node: probe pods that mount the runtime socket list sandboxes with them. */
  private readonly readOnlyTokens = new Map<string, string>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private address = '';

  private constructor(
    private readonly nodes: ReadonlyMap<string, AgentNode>,
    onError: (err: unknown) => void,
  ) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        onError(err);
        if (!res.headersSent)
          send(res, 500, { message: `node agent: ${(err as Error)?.message ?? String(err)}` });
        else res.destroy();
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** `nodes` is read on every request, so it may be filled after the agent starts. */
  static async start(
    nodes: ReadonlyMap<string, AgentNode>,
    onError: (err: unknown) => void,
  ): Promise<NodeAgent> {
    const agent = new NodeAgent(nodes, onError);
    await new Promise<void>((resolve, reject) => {
      agent.server.once('error', reject);
      agent.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = agent.server.address() as AddressInfo;
    agent.address = `http://127.0.0.1:${port}/v1/exec`;
    return agent;
  }

  get url(): string {
    return this.address;
  }

  /** The URL and token an action pod on `node` gets (the node's token is made on first use). */
  accessFor(node: string): NodeAgentAccess {
    let token = this.tokens.get(node);
    if (token === undefined) {
      token = randomBytes(24).toString('hex');
      this.tokens.set(node, token);
    }
    return { url: this.url, token };
  }

  /** A token for `crictl pods` / `crictl inspectp` only (probe pods with the runtime socket mounted). */
  readOnlyAccessFor(node: string): NodeAgentAccess {
    let token = this.readOnlyTokens.get(node);
    if (token === undefined) {
      token = randomBytes(24).toString('hex');
      this.readOnlyTokens.set(node, token);
    }
    return { url: this.url, token };
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  private nodeFor(req: IncomingMessage): { node: string; readOnly: boolean } | undefined {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!m) return undefined;
    for (const [node, token] of this.tokens) if (sameToken(token, m[1])) return { node, readOnly: false };
    for (const [node, token] of this.readOnlyTokens)
      if (sameToken(token, m[1])) return { node, readOnly: true };
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/v1/exec')
      return send(res, 404, { message: 'not found' });
    if (req.method !== 'POST') return send(res, 405, { message: 'method not allowed: use POST' });
    const caller = this.nodeFor(req);
    const node = caller === undefined ? undefined : this.nodes.get(caller.node);
    if (!node) return send(res, 401, { message: 'unknown or missing node token' });
    const text = await readBody(req);
    if (text === undefined) return send(res, 413, { message: 'request body too large' });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return send(res, 400, { message: `request body is not JSON: ${(err as Error).message}` });
    }
    const parsed = execRequestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue.path.length ? issue.path.join('.') : '(body)';
      return send(res, 400, { message: `field "${field}": ${issue.message}` });
    }
    if (caller?.readOnly && !readOnlyAllowed(parsed.data.tool, parsed.data.args))
      return send(res, 403, {
        message: `read-only access: ${parsed.data.tool} ${parsed.data.args[0] ?? ''} is not allowed`,
      });
    const outcome = runNodeTool(parsed.data.tool, parsed.data.args, {
      ...node.nodeView(),
      pathPrefix: node.hostRoot,
      now: Date.now(),
    });
    if (outcome.effect) node.applyNodeEffect(outcome.effect);
    send(res, 200, outcome.result);
  }
}
