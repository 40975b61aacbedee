import { BotProcess, benchSlackSecrets } from './src/bench/bot-process.ts';
import { startSimulator } from './src/sim/kube/simulator.ts';
import { startSlackEmulator } from './src/sim/slack/index.ts';
import { startPrivateRedis } from './src/demo/private-redis.ts';
import { IncidentStore } from './src/incidents/store.ts';
import { Redis } from 'ioredis';
const redisH = await startPrivateRedis();
const secrets = benchSlackSecrets();
const slack = await startSlackEmulator({ port: 0, ...secrets, channels: [{ id: 'C0STORM', name: 'storm' }] });
const sim = await startSimulator({ scenario: 'healthy', nodes: 500, port: 0, startDelayMs: 10 });
await sim.settle();
const prefix = 'sp-' + Math.random();
const bot = await BotProcess.start({ root: process.cwd(), clusters: [{ name: 'storm', kubeconfig: sim.kubeconfigPath, channel: 'C0STORM' }], redisUrl: redisH.url, prefix, slack: { apiUrl: slack.apiUrl, ...secrets } });
slack.setRequestUrl(`${bot.url}/slack/events`);
await new Promise((r) => setTimeout(r, 3000));
const redis = new Redis(redisH.url); const store = new IncidentStore({ redis, prefix });
const cpu0 = bot.cpuMs(); const t0 = Date.now();
await sim.storm(10000);
for (;;) { const l = await store.list({ cluster: 'storm' }); if (l[0] && l[0].counts.events >= 10000) break; await new Promise((r) => setTimeout(r, 50)); }
console.log('storm counted in', Date.now() - t0, 'ms; bot cpu', bot.cpuMs() - cpu0);
for (;;) { const l = await store.list({ cluster: 'storm' }); if (l[0] && !['open', 'diagnosing'].includes(l[0].state)) break; await new Promise((r) => setTimeout(r, 100)); }
console.log('diagnosed at', Date.now() - t0, 'ms; bot cpu', bot.cpuMs() - cpu0);
await bot.stop(); await store.close(); redis.disconnect(); await sim.stop(); await redisH.stop(); process.exit(0);
