import { which } from './proc.ts';
import { InfraError, type Reporter, runLogged, seconds } from './progress.ts';

let aptQueue: Promise<unknown> = Promise.resolve();
let updated = false;

/**
 * Returns the path of `cmd`; when it is missing and we are root on Debian, installs the
 * Debian package that provides it (apt-get update && apt-get install -y). apt runs one at a
 * time even when several servers need packages at once.
 */
export async function ensureCommand(
  cmd: string,
  aptPackage: string,
  report: Reporter,
  logFile: string,
): Promise<string> {
  const found = which(cmd);
  if (found) return found;
  if (process.getuid?.() !== 0)
    throw new InfraError(
      `${cmd} is not installed. Install it with: sudo apt-get install -y ${aptPackage} (the launcher does this itself when run as root)`,
    );
  if (!which('apt-get'))
    throw new InfraError(`${cmd} is not installed and apt-get is not available; install ${aptPackage}`);
  const job = aptQueue.then(async () => {
    if (which(cmd)) return;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const lock = ['-o', 'DPkg::Lock::Timeout=300'];
    const t0 = Date.now();
    if (!updated) {
      report.info(`${cmd} missing: apt-get update (log: ${logFile})`);
      await runLogged({ cmd: 'apt-get', args: [...lock, 'update'], env, logFile, what: 'apt-get update' });
      updated = true;
    }
    report.info(`apt-get install ${aptPackage}`);
    await runLogged({
      cmd: 'apt-get',
      args: [...lock, 'install', '-y', '--no-install-recommends', aptPackage],
      env,
      logFile,
      what: `apt-get install ${aptPackage}`,
    });
    report.info(`installed ${aptPackage} in ${seconds(Date.now() - t0)}`);
  });
  aptQueue = job.catch(() => undefined);
  await job;
  const installed = which(cmd);
  if (!installed) throw new InfraError(`apt-get installed ${aptPackage} but ${cmd} is still not on PATH`);
  return installed;
}
