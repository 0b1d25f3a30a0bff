/**
 * node tools/gat1400-peer/src/cli.ts [options]
 *   --port 41600                      where to listen (0: any free port)
 *   --host 127.0.0.1
 *   --platform-id 37030300005030009001   the peer's own 20-digit id
 *   --user 37030300005040000001:secret   a lower platform allowed to register (repeatable)
 *   --outage-after 0 --outage-seconds 60 go down after N s for M s (fault drills), 0: never
 *   --stats 10                        seconds between stats lines
 */
import { parseArgs } from 'node:util';
import { startGat1400Peer } from './peer.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '41600' },
    host: { type: 'string', default: '127.0.0.1' },
    'platform-id': { type: 'string', default: '37030300005030009001' },
    user: { type: 'string', multiple: true, default: [] },
    'outage-after': { type: 'string', default: '0' },
    'outage-seconds': { type: 'string', default: '60' },
    stats: { type: 'string', default: '10' },
  },
});

const users: Record<string, string> = {};
for (const entry of values.user) {
  const at = entry.indexOf(':');
  if (at !== 20) {
    console.error(`--user must be <20-digit id>:<password>, not "${entry}"`);
    process.exit(2);
  }
  users[entry.slice(0, at)] = entry.slice(at + 1);
}

const peer = await startGat1400Peer({
  port: Number(values.port),
  host: values.host,
  platformId: values['platform-id'],
  users,
});
const log = (line: string): void => console.log(`[gat1400-peer] ${line}`);
log(`listening on ${peer.url}/VIID as ${peer.platformId}; ${Object.keys(users).length} lower platform(s)`);

const outageAfter = Number(values['outage-after']);
if (outageAfter > 0) {
  setTimeout(() => {
    log(`going down for ${values['outage-seconds']} s`);
    void peer.mode('down');
    setTimeout(
      () => {
        log('back up');
        void peer.mode('up');
      },
      Number(values['outage-seconds']) * 1000,
    );
  }, outageAfter * 1000);
}

const stats = setInterval(() => log(JSON.stringify(peer.stats())), Number(values.stats) * 1000);
const shutdown = (): void => {
  clearInterval(stats);
  log(JSON.stringify(peer.stats()));
  void peer.close().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
