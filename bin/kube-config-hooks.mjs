// A module resolution hook (node:module register) for the bot's start-up memory: client-node's config.js (the
// KubeConfig class) imports its generated API index (./gen/index.js: every typed API and model, ~50 MB once
// loaded) for two names only, createConfiguration and ServerConfiguration, used when a typed API client is
// made. This hook hands config.js a module with just those two, taken from the very files the index re-exports
// them from, so they are the same functions. The typed APIs load the real index when a diagnosis first needs
// them (src/kube/clients.ts). Only that one import of that one file is redirected; if a client-node release
// moves it, the hook matches nothing and the full index loads as before.
const SLIM = new URL('./kube-config-gen.mjs', import.meta.url).href;
const CONFIG = '/@kubernetes/client-node/dist/config.js';

export async function resolve(specifier, context, nextResolve) {
  if (specifier === './gen/index.js' && context.parentURL?.endsWith(CONFIG)) {
    return { url: SLIM, format: 'module', shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
