/**
 * The regular expressions detection uses, with the source of each wording (domain/flannel.md §1).
 *
 * Every pattern starts with a literal (no leading `\S*` or `.*`) so that matching stays linear on
 * long or hostile messages; paths that precede a keyword are recovered by scanning back instead.
 * All are case-insensitive: kubelet and runtimes changed capitalisation between versions.
 */

/** kubelet's event aggregator prefix (client-go record/events_cache.go). */
export const COMBINED_PREFIX = /^\(combined from similar events\):\s*/i;

// ---- runtime wrappers (§1.2) -------------------------------------------------------------------

/** CRI-O: `failed to create pod network sandbox k8s_<pod>_<ns>_<uid>_<n>(<id>)`. */
export const CRIO_SANDBOX =
  /failed to create pod network sandbox k8s_([^_\s]+)_([^_\s]+)_([^_\s]+)_(\d+)(?:\(([^)\s]*)\))?/i;
/** CRI-O: `error adding pod <ns>_<pod> to CNI network "<net>"`. */
export const CRIO_ADDING_POD = /error adding pod ([^_\s]+)_([^\s]+) to CNI network "([^"]*)"/i;
/** dockershim, both capitalisations (`networkPlugin` / `NetworkPlugin`). */
export const DOCKERSHIM_PLUGIN = /networkPlugin cni failed to (?:set up|teardown) pod "([^"]*)" network/i;
export const DOCKERSHIM_SANDBOX = /failed to set up sandbox container "([^"]*)" network for pod "([^"]*)"/i;
/** dockershim runtime status text inside NetworkNotReady. */
export const DOCKERSHIM_NOT_READY = /message:\s?docker: network plugin is not ready/i;
/** pre-CRI kubelet (≤1.5): `Failed to setup network for pod "<pod>_<ns>(<uid>)" using network plugins "cni"`. */
export const PRE_CRI = /failed to setup network for pod\b/i;
export const PRE_CRI_POD = /failed to setup network for pod "([^"_(]+)_([^"(]+)(?:\(([^")]*)\))?"/i;
export const PRE_CRI_PLUGINS = /using network plugins? "/i;
/** containerd (both eras): `failed to setup network for sandbox "<id>"`. */
export const CONTAINERD_SANDBOX = /failed to setup network for sandbox "([^"]*)"/i;
/** containerd ≤1.5 / crictl info wording of the not-ready status (go-cni). */
export const CONTAINERD_15_NOT_READY = /cni config load failed/i;
/** containerd ≥1.6 runtime status: `Network plugin returns error: cni plugin not initialized`. */
export const CONTAINERD_NOT_READY = /network plugin returns error: cni plugin not initiali[sz]ed/i;
/** CRI-O runtime status: `No CNI configuration file in /etc/cni/net.d/. Has your network provider started?` */
export const CRIO_NOT_READY = /no CNI configuration file in /i;

/** Any quoted sandbox id (containerd `sandbox "<id>"`, dockershim `sandbox container "<id>"`). */
export const SANDBOX_ID = /sandbox (?:container )?"([^"]*)"/i;

/** libcni ≥1.0: `plugin type="flannel" name="x" failed (add)`; the seed's odd `failed (added netns ...)` too. */
export const PLUGIN_DESCRIPTION = /plugin type="([^"]*)"(?: name="([^"]*)")? failed \(/gi;
export const LIBCNI_PREFIX = /plugin type="[^"]*"(?: name="[^"]*")? failed \(/i;

// ---- Multus (§5.7) -----------------------------------------------------------------------------

export const MULTUS =
  /error in getting result from AddNetwork|\bMultus: |invoking DelegateAdd|error adding container to network "/i;
export const MULTUS_DELEGATE_TYPE = /invoking DelegateAdd - "([^"]*)"/i;
/** Network names a wrapper states: CRI-O's `to CNI network "x"` and Multus's `to network "x"`. */
export const NETWORK_NAME = /(?:to CNI network|error adding container to network) "([^"]*)"/gi;

// ---- plugin and runtime errors (§1.3) -------------------------------------------------------------

/** A: current host-local wording (range set) and A-legacy (network name, optional subnet). */
export const IP_EXHAUSTED =
  /no IP addresses available(?: in (?:range set:? ?((?:[0-9a-f.:]+-[0-9a-f.:]+)(?:,[0-9a-f.:]+-[0-9a-f.:]+)*)?|network:? ?([^\s;,"'\])]+)?(?: ([0-9a-f.:]+\/\d{1,3}))?))?/i;
/** A-prefix: the flannel plugin's delegate wrapper. */
export const DELEGATE_ADD = /failed to delegate add: /i;
/** C: libcni invoke/find.go, also inside the bracketed list form. */
export const PLUGIN_MISSING = /failed to find plugin "([^"]*)" in path \[([^\]]*)\]/gi;
/** B (all three generations): the path is captured so a custom `subnetFile` shows too. */
export const SUBNET_ENV_MISSING = /open ([^\s:]*subnet\.env): no such file or directory/i;
export const SUBNET_ENV_PREFIX_LOAD = 'loadflannelsubnetenv failed: ';
export const SUBNET_ENV_PREFIX_FAILED_TO_LOAD = "failed to load flannel 'subnet.env' file: ";
/** B and its wrappers with any other reason (unreadable file): still "no usable subnet.env". */
export const SUBNET_ENV_OTHER = /loadFlannelSubnetEnv failed|failed to load flannel 'subnet\.env' file/i;
/** B2: `"%v is missing %v"`; the path before it is recovered by scanning back. */
export const SUBNET_ENV_INCOMPLETE = /subnet\.env is missing ((?:FLANNEL_\w+)(?:, ?FLANNEL_\w+)*)/i;
/** D: bridge.go `%q already has an IP address different from %v`. */
export const BRIDGE_ADDRESS_MISMATCH = /"([^"]*)" already has an IP address different from ([0-9a-f.:/]+)/i;
/** E, in every runtime's wording, and kubelet's own NetworkNotReady text. */
export const NETWORK_NOT_READY =
  /NetworkPluginNotReady|cni config uninitiali[sz]ed|cni plugin not initiali[sz]ed|network plugin is not ready|no CNI configuration file in|no network config found in|network is not ready|runtime network not ready/i;
export const CNI_CONF_DIR = /(?:no network config found in|no CNI configuration file in) ([^\s:]+)/i;
/**
 * A CNI config the runtime or plugin rejected (best effort: libcni conf parsing, version checks, the
 * flannel plugin's delegate validation from §3).
 */
export const CNI_CONFIG_INVALID =
  /'delegate' dictionary must not have '[a-z]+' field|failed to load netconf|error parsing configuration|incompatible CNI versions|no 'plugins' key|invalid CNI config|failed to unmarshal (?:network|plugin) config/i;

// ---- keys -----------------------------------------------------------------------------------------

/**
 * Lower-case literals a message must contain (any one of them) for the pattern to match at all; classify.ts
 * checks them with `includes` on a lower-cased copy and skips the regex without. Only where that is cheaper
 * than the regex's own scan (patterns that open with a quote or with words frequent in every message); the
 * others scan fast on their own. Keep each key in step with its pattern: a key the pattern can match without
 * would hide a wording (test/unit/detect-pattern-keys.test.ts checks them against sample wordings).
 */
export const PATTERN_KEYS: ReadonlyMap<RegExp, readonly string[]> = new Map<RegExp, readonly string[]>([
  [BRIDGE_ADDRESS_MISMATCH, ['" already has an ip address different from ']],
  [CRIO_SANDBOX, ['failed to create pod network sandbox k8s_']],
  [DELEGATE_ADD, ['failed to delegate add: ']],
  [DOCKERSHIM_SANDBOX, ['failed to set up sandbox container "']],
  [PLUGIN_MISSING, ['failed to find plugin "']],
  [PRE_CRI, ['failed to setup network for pod']],
  [PRE_CRI_POD, ['failed to setup network for pod "']],
  [CONTAINERD_SANDBOX, ['failed to setup network for sandbox "']],
  [PLUGIN_DESCRIPTION, ['plugin type="']],
  [LIBCNI_PREFIX, ['plugin type="']],
]);
