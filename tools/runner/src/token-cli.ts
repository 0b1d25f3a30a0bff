/**
 * node tools/runner/src/token-cli.ts [--role district_admin] [--compounds all|id,id] [--subject u-ops]
 *                                    [--purpose "why"] [--ttl 3600] [--data-dir var/embedded]
 * Prints a caller token signed with the install's key (var/<mode>/secrets/caller-token-key), for
 * calling a service's gRPC directly, e.g.
 *   grpcurl -H "x-anfang-caller: $(./anfang token)" -plaintext 127.0.0.1:50051 list
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROLES, mintCallerToken, type Role } from '@anfang/platform/auth';

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'district_admin' },
    compounds: { type: 'string', default: 'all' },
    subject: { type: 'string', default: 'u-operator' },
    purpose: { type: 'string' },
    ttl: { type: 'string', default: '3600' },
    'data-dir': { type: 'string', default: join('var', 'embedded') },
  },
});

const fail = (message: string): never => {
  console.error(message);
  process.exit(2);
};
const role = values.role as Role;
if (!ROLES.includes(role)) fail(`--role must be one of ${ROLES.join(', ')}`);
const ttlSeconds = Number(values.ttl);
if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 86_400)
  fail('--ttl must be 1..86400 seconds');
const keyFile = join(values['data-dir'], 'secrets', 'caller-token-key');
const key = await readFile(keyFile, 'utf8').catch((err: unknown) =>
  fail(`${keyFile}: ${(err as Error).message} (start the platform once: ./anfang start)`),
);
const compounds = values.compounds === 'all' ? ('all' as const) : values.compounds.split(',').filter(Boolean);
console.log(
  await mintCallerToken(
    {
      subject: values.subject,
      role,
      compounds,
      ...(values.purpose ? { purpose: values.purpose } : {}),
    },
    key.trim(),
    { ttlSeconds },
  ),
);
