import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_SHUTDOWN_TIMEOUT,
  createLifecycle,
  type Lifecycle,
} from '../src/lifecycle/index.ts';
import { createLogger } from '../src/log/index.ts';

const logger = createLogger({ service: 'lifecycle-test', level: 'silent' });

function inProcess(timeoutMs = 2000): { lifecycle: Lifecycle; exits: number[] } {
  const exits: number[] = [];
  const lifecycle = createLifecycle({
    logger,
    timeoutMs,
    signals: [],
    handleProcessErrors: false,
    exit: (code) => exits.push(code),
  });
  return { lifecycle, exits };
}

describe('createLifecycle', () => {
  it('turns not-ready first, then runs the phases in order whatever the registration order', async () => {
    const { lifecycle, exits } = inProcess();
    const events: string[] = [];
    const step =
      (name: string, ms = 0) =>
      async () => {
        events.push(`${name}:ready=${lifecycle.readiness.serving}`);
        await sleep(ms);
      };
    lifecycle.onShutdown('flush-telemetry', 'telemetry', step('telemetry'));
    lifecycle.onShutdown('close-pools', 'pg', step('pg'));
    lifecycle.onShutdown('flush-producers', 'outbox', step('outbox', 20));
    lifecycle.onShutdown('drain-consumers', 'consumers', step('consumers', 20));
    lifecycle.onShutdown('stop-accepting', 'grpc', step('grpc', 30));
    lifecycle.onShutdown('stop-accepting', 'http', step('http', 10));
    lifecycle.readiness.onChange((state) => events.push(`state:${state}`));
    lifecycle.markReady();
    expect(lifecycle.readiness.serving).toBe(true);
    const code = await lifecycle.shutdown('test');
    expect(code).toBe(EXIT_OK);
    expect(exits).toEqual([EXIT_OK]);
    expect(events).toEqual([
      'state:ready',
      'state:shutting_down',
      'grpc:ready=false',
      'http:ready=false', // same phase: started together
      'consumers:ready=false',
      'outbox:ready=false',
      'pg:ready=false',
      'telemetry:ready=false',
    ]);
  });

  it('runs once however often it is asked', async () => {
    const { lifecycle, exits } = inProcess();
    let runs = 0;
    lifecycle.onShutdown('close-pools', 'pg', async () => {
      runs++;
      await sleep(20);
    });
    const [a, b] = await Promise.all([lifecycle.shutdown('SIGTERM'), lifecycle.shutdown('SIGINT')]);
    expect(a).toBe(b);
    expect(runs).toBe(1);
    expect(exits).toHaveLength(1);
    expect(lifecycle.shuttingDown).toBe(true);
  });

  it('goes on after a failed step and exits non-zero', async () => {
    const { lifecycle, exits } = inProcess();
    const ran: string[] = [];
    lifecycle.onShutdown('drain-consumers', 'consumer', () => {
      throw new Error('commit failed');
    });
    lifecycle.onShutdown('close-pools', 'pg', () => void ran.push('pg'));
    expect(await lifecycle.shutdown('SIGTERM')).toBe(EXIT_FAILURE);
    expect(ran).toEqual(['pg']);
    expect(exits).toEqual([EXIT_FAILURE]);
  });

  it('forces the exit when the deadline passes', async () => {
    const { lifecycle, exits } = inProcess(100);
    let later = false;
    lifecycle.onShutdown('drain-consumers', 'stuck', () => new Promise(() => undefined));
    lifecycle.onShutdown('close-pools', 'pg', () => void (later = true));
    const started = Date.now();
    expect(await lifecycle.shutdown('SIGTERM')).toBe(EXIT_SHUTDOWN_TIMEOUT);
    expect(Date.now() - started).toBeLessThan(500);
    expect(exits).toEqual([EXIT_SHUTDOWN_TIMEOUT]);
    expect(later).toBe(false);
  });

  it('markReady after shutdown began changes nothing', async () => {
    const { lifecycle } = inProcess();
    await lifecycle.shutdown('test');
    lifecycle.markReady();
    expect(lifecycle.readiness.state).toBe('shutting_down');
  });
});

// ------------------------------------------------------------------------------------------------

const child = fileURLToPath(new URL('./lifecycle.child.ts', import.meta.url));

interface Run {
  lines: Record<string, unknown>[];
  port: Promise<number>;
  kill(signal: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

function start(mode: string): Run {
  const proc = spawn(process.execPath, [child, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Record<string, unknown>[] = [];
  let resolvePort: (port: number) => void;
  const port = new Promise<number>((r) => (resolvePort = r));
  let buffer = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
      buffer = buffer.slice(nl + 1);
      lines.push(line);
      if (line.msg === 'listening') resolvePort(line.port as number);
    }
  });
  const exited = once(proc, 'close').then(([code]) => code as number | null);
  return { lines, port, kill: (s) => proc.kill(s), exited };
}

const steps = (lines: Record<string, unknown>[]) =>
  lines
    .filter((l) => l.msg === 'step start' || l.msg === 'step end')
    .map((l) => `${String(l.step)}:${l.msg === 'step start' ? 'start' : 'end'}`);

describe('lifecycle in a process', () => {
  it('on SIGTERM: /readyz 503 at once while /healthz stays 200, steps in order, exit 0', async () => {
    const run = start('ok');
    const port = await run.port;
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    run.kill('SIGTERM');
    await sleep(150);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    run.kill('SIGTERM'); // a second signal does not start a second shutdown
    expect(await run.exited).toBe(0);
    expect(steps(run.lines)).toEqual([
      'http:start',
      'http:end',
      'consumer:start',
      'consumer:end',
      'outbox:start',
      'producer:start',
      'outbox:end',
      'producer:end',
      'pg:start',
      'pg:end',
      'telemetry:start',
      'telemetry:end',
    ]);
    expect(run.lines.filter((l) => l.msg === 'shutting down')).toHaveLength(1);
    expect(run.lines.find((l) => l.msg === 'shutdown already in progress')).toBeDefined();
  });

  it('forces a non-zero exit when a step outlives the deadline', async () => {
    const run = start('hang');
    await run.port;
    const started = Date.now();
    run.kill('SIGTERM');
    expect(await run.exited).toBe(EXIT_SHUTDOWN_TIMEOUT);
    expect(Date.now() - started).toBeLessThan(3000);
    const timeout = run.lines.find((l) => l.msg === 'shutdown deadline passed; forcing exit');
    expect(timeout?.still_running).toEqual(['flush-producers/outbox']);
    expect(steps(run.lines)).not.toContain('pg:start');
  });

  it.each(['crash', 'reject'])('logs a %s and shuts down in order with exit 1', async (mode) => {
    const run = start(mode);
    await run.port;
    expect(await run.exited).toBe(EXIT_FAILURE);
    const fatal = run.lines.find((l) => l.level === 'fatal');
    expect(JSON.stringify(fatal)).toContain(mode === 'crash' ? 'boom in a timer' : 'nobody awaited me');
    expect(steps(run.lines).at(-1)).toBe('telemetry:end');
  });
});
