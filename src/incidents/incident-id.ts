import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i: people read ids aloud and type them
const ID_PATTERN = /^inc-[a-z0-9]{8,16}$/;

/**
 * Short incident ids people can type in `/flannel timeline inc-…`: URL-safe, never all digits (a prefix), no ':'
 * (Redis key separator). 8 random chars from 31 = ~8.5e11 ids; the store re-draws on the rare collision.
 */
export function newIncidentId(): string {
  const bytes = randomBytes(8);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return `inc-${out}`;
}

export function isIncidentId(value: string): boolean {
  return ID_PATTERN.test(value);
}
