/**
 * Ports for servers a test starts later (other processes, which bind them themselves). Never from
 * the kernel's ephemeral range: between the check and the server's start, an outgoing connection
 * (a Kafka, Postgres or Redis client) can take such a port — seen in CI as EADDRINUSE, and as a
 * whole platform never getting ready. Ports are checked free on every interface (the services
 * bind 0.0.0.0) and never handed out twice by one process.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const BELOW_EPHEMERAL_FROM = 20_000;
const handedOut = new Set<number>();

/** First port of the kernel's ephemeral range (Linux; 32768 elsewhere, the common default). */
export function ephemeralPortStart(): number {
  try {
    const first = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    return first > BELOW_EPHEMERAL_FROM + 1000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

/** One free port, at random below the ephemeral range. */
export async function freePort(): Promise<number> {
  const span = ephemeralPortStart() - BELOW_EPHEMERAL_FROM;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = BELOW_EPHEMERAL_FROM + Math.floor(Math.random() * span);
    if (handedOut.has(port) || !(await isFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port below the ephemeral range');
}

/**
 * The first port of `size` consecutive free ports, scanning up from `from` in steps of `size`
 * (below the ephemeral range): a whole platform's layout of ports in one piece.
 */
export async function freePortBlock(size: number, from = 21_000): Promise<number> {
  const end = ephemeralPortStart();
  for (let first = from; first + size <= end; first += size) {
    let free = true;
    for (let port = first; port < first + size && free; port++)
      free = !handedOut.has(port) && (await isFree(port));
    if (!free) continue;
    for (let port = first; port < first + size; port++) handedOut.add(port);
    return first;
  }
  throw new Error(`no ${size} consecutive free ports between ${from} and ${end}`);
}

/**
 * Where a suite looks for free ports: the port in the environment variable `name` (on a shared
 * machine each engineer's range), else `fallback`.
 */
export function portBaseFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const base = Number(raw);
  if (!Number.isInteger(base) || base < 1024 || base > 64_000)
    throw new Error(`${name} must be a port number between 1024 and 64000, not ${raw}`);
  return base;
}
