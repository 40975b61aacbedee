import { createHash, randomBytes } from 'node:crypto';

/** Kubernetes' "safe" alphabet for generated suffixes: no vowels (no words), no look-alikes (apimachinery rand). */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A suffix like the API server appends for generateName ("web-7cb9ccb4f5-" -> "web-7cb9ccb4f5-cwcs7"). */
export function randomSuffix(length = 5): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += SAFE_ALPHABET[b % SAFE_ALPHABET.length];
  return out;
}

/** The pod-template-hash label a Deployment puts on its ReplicaSets: stable for one template. */
export function podTemplateHash(template: unknown): string {
  const digest = createHash('sha256').update(JSON.stringify(template)).digest();
  let out = '';
  for (let i = 0; i < 10; i++) out += SAFE_ALPHABET[digest[i] % SAFE_ALPHABET.length];
  return out;
}

/** A CRI sandbox or container id: 64 lowercase hex characters. */
export function hex64(): string {
  return randomBytes(32).toString('hex');
}

/**
 * An event name as client-go's recorder makes it: `<involvedObject.name>.<UnixNano in hex>`.
 * A per-process counter keeps names distinct when the clock does not move between two events.
 */
let lastNano = 0n;
export function eventName(objectName: string, now = Date.now()): string {
  let nano = BigInt(now) * 1_000_000n;
  if (nano <= lastNano) nano = lastNano + 1n;
  lastNano = nano;
  return `${objectName}.${nano.toString(16)}`;
}

/** RFC 3339 with second precision, the form metav1.Time serialises to. */
export function isoSeconds(ms = Date.now()): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** RFC 3339 with microseconds, the form metav1.MicroTime serialises to. */
export function isoMicros(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
