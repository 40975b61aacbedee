import { createServer } from 'node:net';
import { UserError } from './errors.js';

/** A TCP port on 127.0.0.1 that was free a moment ago (for stand-ins and children started on it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A listen() failure a user can fix (port taken, no permission, address not on this machine) as a UserError
 * naming the variables that set it; undefined for anything else.
 */
export function listenUserError(
  err: unknown,
  listen: { host: string; port: number },
  names = { host: 'HTTP_HOST', port: 'HTTP_PORT' },
): UserError | undefined {
  const code = (err as NodeJS.ErrnoException)?.code;
  const where = `${listen.host}:${listen.port}`;
  if (code === 'EADDRINUSE')
    return new UserError(
      `${names.port} ${listen.port} is in use on ${listen.host}: stop the other process or set ${names.port}`,
    );
  if (code === 'EACCES')
    return new UserError(
      `not allowed to listen on ${where} (ports below 1024 need privileges): set ${names.port}`,
    );
  if (code === 'EADDRNOTAVAIL')
    return new UserError(`${names.host} ${listen.host} is not an address of this machine: set ${names.host}`);
  return undefined;
}
