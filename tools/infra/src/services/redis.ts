import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ensureCommand } from '../apt.ts';
import { ports } from '../config.ts';
import { commandMatcher, which } from '../proc.ts';
import { installLog, type LaunchSpec, type Service, stateDir, withTimeout } from '../service.ts';

const dir = stateDir('redis');
const confFile = join(dir, 'redis.conf');
const dataDir = join(dir, 'data');

function redisVersion(): string {
  const exe = which('redis-server');
  if (!exe) return '';
  const out = spawnSync(exe, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return /v=(\S+)/.exec(out)?.[1] ?? '';
}

export function redisService(): Service {
  const version = redisVersion();
  return {
    name: 'redis',
    title: `Redis${version ? ` ${version}` : ''}`,
    port: ports.redis,
    extraPorts: [],
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 15_000,
    startTimeoutMs: 30_000,
    // redis rewrites its process title; the template below keeps the config path in it.
    match: commandMatcher('redis-server', confFile),
    async install(report) {
      mkdirSync(dir, { recursive: true });
      await ensureCommand('redis-server', 'redis-server', report, installLog('redis'));
    },
    async prepare(): Promise<LaunchSpec> {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(
        confFile,
        [
          '# Written by tools/infra on every start; edits are lost.',
          'bind 127.0.0.1',
          `port ${ports.redis}`,
          'protected-mode yes',
          'daemonize no',
          'supervised no',
          'logfile ""',
          'loglevel notice',
          `dir ${dataDir}`,
          'save ""',
          'appendonly no',
          'databases 16',
          'maxclients 10000',
          'proc-title-template "{title} {listen-addr} {server-mode} {config-file}"',
          '',
        ].join('\n'),
      );
      const exe = which('redis-server') ?? 'redis-server';
      return { cmd: exe, args: [confFile], cwd: dataDir };
    },
    async probe(timeoutMs) {
      const client = new Redis({
        host: '127.0.0.1',
        port: ports.redis,
        lazyConnect: true,
        connectTimeout: timeoutMs,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
      client.on('error', () => undefined);
      try {
        await withTimeout(
          (async () => {
            await client.connect();
            const pong = await client.ping();
            if (pong !== 'PONG') throw new Error(`PING answered ${pong}`);
          })(),
          timeoutMs,
          'redis probe',
        );
      } finally {
        client.disconnect();
      }
    },
  };
}
