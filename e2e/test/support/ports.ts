/** Where the e2e files look for free ports: `ANFANG_E2E_PORT_BASE`, default 21100. */
export function portBase(): number {
  const raw = process.env.ANFANG_E2E_PORT_BASE;
  if (raw === undefined || raw === '') return 21_100;
  const base = Number(raw);
  if (!Number.isInteger(base) || base < 1024 || base > 64_000)
    throw new Error(`ANFANG_E2E_PORT_BASE must be a port number between 1024 and 64000, not ${raw}`);
  return base;
}
