import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** Progress lines go to stderr, so that stdout stays clean for `env`. */
export interface Reporter {
  info(message: string): void;
}

const width = 8;

export function reporter(name: string): Reporter {
  const tag = `[${name.padEnd(width)}]`;
  return {
    info(message) {
      process.stderr.write(`${tag} ${message}\n`);
    },
  };
}

export function seconds(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** An error that the CLI prints as it is (no stack trace): the message says what to do. */
export class InfraError extends Error {
  override name = 'InfraError';
}

export interface RunLoggedOptions {
  cmd: string;
  args: string[];
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** Written to the command's stdin. */
  input?: string;
  /** Called with each output line, e.g. to count downloads. */
  onLine?: (line: string) => void;
  /** Every heartbeatMs, while the command runs, a line saying it is still at work. */
  heartbeat?: { report: Reporter; everyMs: number; describe: (elapsedMs: number) => string };
  /** What the error says when the command fails. */
  what: string;
}

/** Runs a command to completion, its output appended to logFile; rejects with the log path on failure. */
export function runLogged(opts: RunLoggedOptions): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const log = createWriteStream(opts.logFile, { flags: 'a' });
    log.write(`\n=== ${new Date().toISOString()} $ ${opts.cmd} ${opts.args.join(' ')}\n`);
    const started = Date.now();
    const child = spawn(opts.cmd, opts.args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    });
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
    const timer = opts.heartbeat
      ? setInterval(() => {
          const hb = opts.heartbeat;
          if (hb) hb.report.info(hb.describe(Date.now() - started));
        }, opts.heartbeat.everyMs)
      : undefined;
    const last: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      stream.pipe(log, { end: false });
      createInterface({ input: stream }).on('line', (line) => {
        if (line.trim()) last.push(line.length > 300 ? `${line.slice(0, 297)}...` : line);
        if (last.length > 6) last.shift();
        opts.onLine?.(line);
      });
    }
    const finish = (err?: Error) => {
      if (timer) clearInterval(timer);
      log.end(() => (err ? reject(err) : resolvePromise()));
    };
    child.once('error', (err) =>
      finish(new InfraError(`${opts.what} failed: cannot run ${opts.cmd}: ${err.message}`)),
    );
    child.once('close', (code, signal) => {
      if (code === 0) finish();
      else
        finish(
          new InfraError(
            `${opts.what} failed (${signal ? `signal ${signal}` : `exit code ${code}`}); read ${opts.logFile}` +
              (last.length ? `; its last lines:\n${last.map((l) => `    ${l}`).join('\n')}` : ''),
          ),
        );
    });
  });
}
