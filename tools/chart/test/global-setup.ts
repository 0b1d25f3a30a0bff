import { installHelm, installValidator } from './tools.ts';

/** Once per run, before any test file: the tools every file uses. */
export default function setup(): void {
  const log = (line: string) => console.log(`[chart] ${line}`);
  installHelm(log);
  installValidator(log);
}
