/** Diagnosis ids: they become BullMQ job ids, Redis keys and parts of Slack button values. */
import { createHash, randomBytes } from 'node:crypto';

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Short, URL-safe, starts with a letter (so never all digits), no ':' (BullMQ job ids). */
export function newDiagnosisId(): string {
  const bytes = randomBytes(10);
  let id = ID_ALPHABET[bytes[0] % 26];
  for (let i = 1; i < 10; i++) id += ID_ALPHABET[bytes[i] % ID_ALPHABET.length];
  return id;
}

/** The same (cluster, request key) always gives the same id. */
export function stableDiagnosisId(cluster: string, requestKey: string): string {
  const digest = createHash('sha256').update(`${cluster}\n${requestKey}`).digest();
  let id = ID_ALPHABET[digest[0] % 26];
  for (let i = 1; i < 12; i++) id += ID_ALPHABET[digest[i] % ID_ALPHABET.length];
  return id;
}
