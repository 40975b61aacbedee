import type { Command } from 'commander';
import type { SimFlags } from '../actions/sim.js';
import { BUILTIN_SCENARIOS } from '../../sim/kube/scenario/builtin-names.js';
import type { RegisterCommand } from './index.js';

export const registerSim: RegisterCommand = (program: Command) => {
  program
    .command('sim')
    .description(
      'run the Kubernetes API simulator alone (a scenario with nodes, kubelets and Flannel) until Ctrl-C',
    )
    .option(
      '--scenario <name>',
      `built-in scenario: ${BUILTIN_SCENARIOS.join(', ')} (default: flannel-missing)`,
    )
    .option('--scenario-file <file>', 'a scenario YAML file (see src/sim/kube/scenarios/README.md)')
    .option('--port <port>', 'port to listen on (0 = any free port)', '0')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--kubeconfig <file>', 'write the kubeconfig here (default: inside the work directory)')
    .option('--context <name>', 'cluster/context name in the kubeconfig', 'sim')
    .option('--nodes <n>', 'scale the scenario to N nodes (its generate section)')
    .option('--storm <n>', 'emit N FailedCreatePodSandBox events as fast as possible (benchmarks)')
    .option('--storm-delay <ms>', 'wait this long after start-up before the storm')
    .option('--rbac', 'enforce RBAC for service-account tokens (the admin token always has full access)')
    .option('--latency <ms>', 'add this latency to every API response')
    .option('--retry-interval <ms>', 'kubelet retry interval for failing pod sandboxes (default 3000)')
    .option('--event-ttl <seconds>', 'delete events this long after their last update (default 3600)')
    .option('--work-dir <dir>', 'where the simulated node file systems live (default: a temporary directory)')
    // The implementation is loaded on use, so `--help` and other commands do not pay for its imports.
    .action(async (flags: SimFlags) => (await import('../actions/sim.js')).runSim(flags));
};
