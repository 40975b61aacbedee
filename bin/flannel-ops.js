#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx, a dev dependency), so `npm ci` is the only build step a user
// needs. Deployments build once (`npm run build`; deploy/Dockerfile) and set FLANNEL_OPS_COMPILED=1: plain
// Node on dist/ starts faster, holds far less memory and needs no dev dependency.
import { register } from 'node:module';

// KubeConfig without client-node's whole typed API at start-up (see kube-config-hooks.mjs).
if (process.env.FLANNEL_OPS_FULL_KUBE_INDEX !== '1') register('./kube-config-hooks.mjs', import.meta.url);
let main;
if (process.env.FLANNEL_OPS_COMPILED === '1') {
  try {
    ({ main } = await import('../dist/src/cli/main.js'));
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    process.stderr.write(
      'flannel-ops: FLANNEL_OPS_COMPILED=1 but dist/ is missing: run `npm run build` first\n',
    );
    process.exit(2);
  }
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    // tsx is a dev dependency: a production install (npm ci --omit=dev, the image) runs the compiled build.
    process.stderr.write(
      'flannel-ops: tsx is not installed (production dependencies only): set FLANNEL_OPS_COMPILED=1 to run dist/\n',
    );
    process.exit(2);
  }
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
