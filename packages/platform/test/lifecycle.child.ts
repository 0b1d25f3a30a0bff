// Run by test/lifecycle.test.ts: a miniature service whose shutdown the parent drives with signals.
import { setTimeout as sleep } from 'node:timers/promises';
import { createHttpApp, listen } from '../src/http/index.ts';
import { createLifecycle } from '../src/lifecycle/index.ts';
import { createLogger } from '../src/log/index.ts';

const mode = process.argv[2] ?? 'ok';
const logger = createLogger({ service: 'lifecycle-child', level: 'debug' });
const lifecycle = createLifecycle({ logger, timeoutMs: mode === 'hang' ? 500 : 5000 });
const http = await listen(
  createHttpApp({ logger, readiness: lifecycle.readiness, metrics: false }),
  0,
  '127.0.0.1',
);

const step =
  (name: string, ms = 0) =>
  async () => {
    logger.info({ step: name }, 'step start');
    if (ms) await sleep(ms);
    logger.info({ step: name }, 'step end');
  };

lifecycle.onShutdown('flush-telemetry', 'telemetry', step('telemetry'));
lifecycle.onShutdown('close-pools', 'pg', step('pg'));
lifecycle.onShutdown('stop-accepting', 'http', async () => {
  logger.info({ step: 'http' }, 'step start');
  await sleep(400); // the parent probes /readyz meanwhile
  await http.close();
  logger.info({ step: 'http' }, 'step end');
});
lifecycle.onShutdown('drain-consumers', 'consumer', step('consumer', 20));
lifecycle.onShutdown(
  'flush-producers',
  'outbox',
  mode === 'hang' ? () => new Promise(() => undefined) : step('outbox', 5),
);
lifecycle.onShutdown('flush-producers', 'producer', step('producer', 30));
lifecycle.markReady();
logger.info({ port: http.port }, 'listening');

if (mode === 'crash')
  setTimeout(() => {
    throw new Error('boom in a timer');
  }, 50);
if (mode === 'reject') setTimeout(() => void Promise.reject(new Error('nobody awaited me')), 50);
