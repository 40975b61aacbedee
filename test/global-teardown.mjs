/** Stops the private redis-server the global set-up started, if it started one. */
export default async function globalTeardown() {
  await globalThis.flannelOpsTestRedis?.stop();
  globalThis.flannelOpsTestRedis = undefined;
}
