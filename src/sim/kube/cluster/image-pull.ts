/**
 * Image pulls as containerd reports them (pure). A node that cannot reach an image's registry (DNS or
 * egress blocked, scenario `host.unreachableRegistries`) has none of that registry's images, so the
 * kubelet's pull fails: `ErrImagePull`, then `ImagePullBackOff` on every retry. Everything else is
 * treated as already present on the machine.
 */

/** The registry host of an image reference, as containerd normalises it (docker.io when none is named). */
export function imageRegistry(image: string): string {
  const first = image.split('/')[0];
  const hasRegistry =
    image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return hasRegistry ? first : 'docker.io';
}

/** The fully qualified reference containerd resolves (`nginx:1.27` -> `docker.io/library/nginx:1.27`). */
export function fullReference(image: string): string {
  const registry = imageRegistry(image);
  if (image.startsWith(`${registry}/`)) return image;
  const path = image.includes('/') ? image : `library/${image}`;
  const tagged = /[:@][^/]+$/.test(path) ? path : `${path}:latest`;
  return `${registry}/${tagged}`;
}

/** The manifest URL containerd's resolver asks first (HEAD). */
function manifestUrl(reference: string, registry: string): string {
  const rest = reference.slice(registry.length + 1);
  const at = rest.lastIndexOf('@');
  const colon = rest.lastIndexOf(':');
  const split = at >= 0 ? at : colon;
  const repo = rest.slice(0, split);
  const ref = rest.slice(split + 1);
  const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
  return `https://${host}/v2/${repo}/manifests/${ref}`;
}

/**
 * Why pulling `image` fails on a node that cannot reach `unreachableRegistries`, worded like the
 * kubelet's `Failed to pull image` event after its colon; undefined when the pull succeeds.
 */
export function imagePullError(image: string, unreachableRegistries: readonly string[]): string | undefined {
  const registry = imageRegistry(image);
  if (!unreachableRegistries.includes(registry)) return undefined;
  const reference = fullReference(image);
  const host = registry.split(':')[0];
  return (
    `failed to pull and unpack image "${reference}": failed to resolve reference "${reference}": ` +
    `failed to do request: Head "${manifestUrl(reference, registry)}": dial tcp: lookup ${host}: i/o timeout`
  );
}

export interface PullFailure {
  /** Which list the failing container is in, and its name. */
  list: 'initContainers' | 'containers';
  container: string;
  image: string;
  error: string;
}

/**
 * The first image the kubelet cannot pull, in the order it starts containers: init containers one by
 * one, then all regular containers (their images are pulled before any of them starts).
 */
export function firstPullFailure(
  spec: {
    initContainers?: ReadonlyArray<{ name: string; image?: string }>;
    containers: ReadonlyArray<{ name: string; image?: string }>;
  },
  unreachableRegistries: readonly string[],
): PullFailure | undefined {
  if (unreachableRegistries.length === 0) return undefined;
  const lists = [
    ['initContainers', spec.initContainers ?? []],
    ['containers', spec.containers],
  ] as const;
  for (const [list, containers] of lists) {
    for (const c of containers) {
      const error = c.image ? imagePullError(c.image, unreachableRegistries) : undefined;
      if (error) return { list, container: c.name, image: c.image!, error };
    }
  }
  return undefined;
}
