import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let counter = 0;

/**
 * Random bytes drawn from the CSPRNG a pool at a time, as Node's own randomUUID does: a
 * `randomBytes(16)` per id (a call into OpenSSL and a Buffer each) cost 5–20 µs, paid by every
 * event every service publishes.
 */
const POOL_BYTES = 8 * 512;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let poolOffset = POOL_BYTES;

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits; sorts by creation time. Within
 * one millisecond a 12-bit counter in `rand_a` keeps ids from this process monotonic; `rand_b`
 * (62 bits after the variant) is random.
 */
export function uuidv7(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = 0;
  } else {
    counter++;
    if (counter > 0xfff) {
      lastMs++;
      counter = 0;
    }
  }
  if (poolOffset === POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += 8;
  pool[at] = 0x80 | (pool[at]! & 0x3f);
  const time = lastMs.toString(16).padStart(12, '0');
  const random = pool.toString('hex', at, at + 8);
  return `${time.slice(0, 8)}-${time.slice(8)}-${(0x7000 | counter).toString(16)}-${random.slice(0, 4)}-${random.slice(4)}`;
}
