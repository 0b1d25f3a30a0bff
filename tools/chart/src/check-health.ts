/**
 * The `helm test` Pod: every argument is `host:port/service` of an enabled component; exits 0
 * when all answer SERVING on their readiness health service within a minute, else 1 with the
 * reasons (one line per component that is not ready).
 */
import { parseHealthTarget, waitServing } from './health.ts';

const targets = process.argv.slice(2).map(parseHealthTarget);
if (targets.length === 0) {
  console.error('usage: check-health.ts host:port/service [...]');
  process.exit(2);
}
const results = await Promise.allSettled(targets.map((target) => waitServing(target, 60_000)));
let failed = 0;
for (const [index, result] of results.entries()) {
  const target = targets[index]!;
  if (result.status === 'fulfilled') console.log(`SERVING ${target.address} ${target.service}`);
  else {
    failed++;
    console.error(`NOT READY ${(result.reason as Error).message}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
