/**
 * A CPU profile of this process over just the phase a benchmark measures, recorded through the
 * inspector: a `--cpu-prof` of the whole process would be mostly start-up and set-up.
 */
import { Session, type Profiler } from 'node:inspector/promises';

export interface CpuProfileRecording {
  /** Stops recording and returns the profile (`.cpuprofile` JSON once stringified). */
  stop(): Promise<Profiler.Profile>;
}

export async function startCpuProfile(): Promise<CpuProfileRecording> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      try {
        const { profile } = await session.post('Profiler.stop');
        return profile;
      } finally {
        session.disconnect();
      }
    },
  };
}
