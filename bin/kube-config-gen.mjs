// What client-node's config.js imports from its generated index (see kube-config-hooks.mjs), from the same
// modules the index re-exports them from.
export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
