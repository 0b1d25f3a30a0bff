import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, ownStateDir, ports } from '../config.ts';
import {
  chooseDataDir,
  type DataLocations,
  dataLocations,
  initDataDir,
  packagedBinaries,
  postgresBinaries,
  postgresUser,
  postmasterMatcher,
  probePostgres,
  removeRelocated,
  serverArgs,
  systemDataDir,
} from '../pg-server.ts';
import { installLog, type LaunchSpec, type Service, stateDir } from '../service.ts';

/**
 * The data folder: .cache/infra/postgres/data, or, when root runs the launcher in a checkout
 * that user postgres cannot traverse, /var/lib/anfang/<hash of the checkout>/infra-postgres. An
 * own state folder (ANFANG_INFRA_STATE_DIR) relocates to a place named after that folder, never
 * to the checkout's.
 */
export function infraPostgresLocations(): DataLocations {
  const data = join(stateDir('postgres'), 'data');
  return ownStateDir ? dataLocations(data) : dataLocations(data, systemDataDir('infra-postgres'));
}

export function postgresService(): Service {
  const { version } = safeVersion();
  const loc = infraPostgresLocations();
  return {
    name: 'postgres',
    title: `Postgres ${version.split('-')[0]}`,
    port: ports.postgres,
    extraPorts: [],
    // SIGINT is Postgres' "fast" shutdown (SIGTERM would wait for every client to leave).
    stopSignal: 'SIGINT',
    stopTimeoutMs: 20_000,
    startTimeoutMs: 60_000,
    // Either place the data may live in.
    match: postmasterMatcher([loc.requested, loc.relocated]),
    async install() {
      packagedBinaries();
    },
    async prepare(report): Promise<LaunchSpec> {
      const ids = postgresUser(report);
      const { bin } = postgresBinaries(ids, report);
      mkdirSync(stateDir('postgres'), { recursive: true });
      const dataDir = chooseDataDir(loc, ids, report);
      await initDataDir({
        dataDir,
        bin,
        ids,
        user: credentials.pgUser,
        password: credentials.pgPassword,
        logFile: installLog('postgres'),
        report,
      });
      return {
        cmd: join(bin, 'postgres'),
        args: serverArgs(dataDir, ports.postgres, { max_connections: 300, shared_buffers: '128MB' }),
        cwd: dataDir,
        env: { ...process.env, LC_ALL: 'C' },
        ...(ids ?? {}),
      };
    },
    async probe(timeoutMs) {
      await probePostgres(
        `postgres://${credentials.pgUser}:${credentials.pgPassword}@127.0.0.1:${ports.postgres}/postgres`,
        timeoutMs,
      );
    },
    purge() {
      const existed = existsSync(loc.relocated);
      removeRelocated(loc.relocated);
      return existed ? [loc.relocated] : [];
    },
  };
}

function safeVersion(): { version: string } {
  try {
    return { version: packagedBinaries().version };
  } catch {
    return { version: '18' };
  }
}
