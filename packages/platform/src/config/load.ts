import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { z } from 'zod';
import { REDACTED, redactValue, secretKindOf } from './secret.ts';

/** EX_CONFIG from sysexits.h: the process exits with it when its configuration is invalid. */
export const EX_CONFIG = 78;

export type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigProblem {
  /** The environment variable (or `NAME_FILE`) at fault. */
  readonly key: string;
  /** Why; never contains the value. */
  readonly reason: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(formatProblems(problems));
    this.problems = problems;
  }
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  const n = problems.length;
  const lines = problems.map((p) => `  - ${p.key}: ${p.reason}`);
  return [`invalid configuration (${n} problem${n === 1 ? '' : 's'}):`, ...lines].join('\n');
}

export interface LoadConfigOptions {
  /** The environment to read. Default: `process.env` (the only place in a service that reads it). */
  readonly env?: Env;
  /**
   * On invalid config, print every problem to stderr and exit with {@link EX_CONFIG} (default),
   * or throw a {@link ConfigError} (tests).
   */
  readonly exitOnError?: boolean;
}

const cache = new WeakMap<z.ZodType, unknown>();

/**
 * Parses the environment with a schema, once. For every key `NAME` of the schema, `NAME_FILE`
 * may instead name a file (a mounted Kubernetes secret) whose content, minus one trailing newline,
 * is the value; setting both is an error. Empty variables count as unset.
 *
 * The result is frozen; logging it (pino, `JSON.stringify`, `console.log`) redacts the keys marked
 * with `secret()`/`secretUrl()`. Use {@link redactConfig} for an explicit redacted copy.
 */
export function loadConfig<T extends z.ZodObject>(schema: T, options: LoadConfigOptions = {}): z.output<T> {
  const useProcessEnv = options.env === undefined;
  if (useProcessEnv && cache.has(schema)) return cache.get(schema) as z.output<T>;
  const env = options.env ?? process.env;
  const exitOnError = options.exitOnError ?? true;

  const { input, problems } = collectInput(schema, env);
  // Always parse, even after a problem with a file, so that every problem is reported at once.
  const faulty = new Set(problems.map((p) => p.key.replace(/_FILE$/, '')));
  let config: z.output<T> | undefined;
  const result = schema.safeParse(input);
  if (result.success) config = result.data;
  else {
    for (const issue of result.error.issues) {
      if (!faulty.has(String(issue.path[0] ?? ''))) problems.push(toProblem(issue, input));
    }
  }
  if (problems.length > 0 || config === undefined) {
    const error = new ConfigError(dedupe(problems));
    if (!exitOnError) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(EX_CONFIG);
  }
  const frozen = protect(schema, config as Record<string, unknown>) as z.output<T>;
  if (useProcessEnv) cache.set(schema, frozen);
  return frozen;
}

function collectInput(
  schema: z.ZodObject,
  env: Env,
): { input: Record<string, string>; problems: ConfigProblem[] } {
  const input: Record<string, string> = {};
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(schema.shape)) {
    const direct = nonEmpty(env[key]);
    const fileKey = `${key}_FILE`;
    const file = nonEmpty(env[fileKey]);
    if (direct !== undefined && file !== undefined) {
      problems.push({ key, reason: `both ${key} and ${fileKey} are set; set only one` });
      continue;
    }
    if (file !== undefined) {
      try {
        input[key] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        problems.push({ key: fileKey, reason: `cannot read the file it names (${file}): ${code}` });
      }
      continue;
    }
    if (direct !== undefined) input[key] = direct;
  }
  return { input, problems };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function toProblem(issue: z.core.$ZodIssue, input: Record<string, string>): ConfigProblem {
  const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(config)';
  const top = String(issue.path[0] ?? '');
  const missing = issue.code === 'invalid_type' && top !== '' && input[top] === undefined;
  return { key, reason: missing ? 'required but not set' : issue.message };
}

function dedupe(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const id = `${p.key}\u0000${p.reason}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

const schemas = new WeakMap<object, z.ZodObject>();

/** A copy of a loaded config with every secret redacted: safe to log or print. */
export function redactConfig<T extends object>(config: T): Record<string, unknown> {
  const schema = schemas.get(config);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const fieldSchema = schema?.shape[key] as z.ZodType | undefined;
    const kind = fieldSchema ? secretKindOf(fieldSchema) : undefined;
    out[key] = kind ? redactValue(kind, value) : value;
  }
  // A config not produced by loadConfig: redact what merely looks secret.
  if (!schema) {
    for (const key of Object.keys(out)) {
      if (/pass|secret|token|private|credential/i.test(key)) out[key] = REDACTED;
    }
  }
  return out;
}

function protect(schema: z.ZodObject, config: Record<string, unknown>): Record<string, unknown> {
  schemas.set(config, schema);
  Object.defineProperty(config, 'toJSON', { value: () => redactConfig(config), enumerable: false });
  Object.defineProperty(config, inspect.custom, {
    value: (_depth: number, opts: object) => inspect(redactConfig(config), opts),
    enumerable: false,
  });
  return Object.freeze(config);
}

// ---------------------------------------------------------------------------------------------
// Fragments: reusable pieces of schema with their cross-field rules, composed per service.

export type EnvRule = (
  env: Readonly<Record<string, unknown>>,
  problem: (key: string, reason: string) => void,
) => void;

const rules = new WeakMap<z.ZodObject, readonly EnvRule[]>();

/** A schema fragment over some environment variables, with rules that span several of them. */
export function envFragment<S extends z.ZodRawShape>(shape: S, ...fragmentRules: EnvRule[]): z.ZodObject<S> {
  const fragment = withRules(z.object(shape), fragmentRules);
  return fragment;
}

function withRules<T extends z.ZodObject>(schema: T, ruleList: readonly EnvRule[]): T {
  const refined =
    ruleList.length === 0
      ? schema
      : schema.superRefine(
          (value, ctx) => {
            for (const rule of ruleList) {
              rule(value as Record<string, unknown>, (key, reason) =>
                ctx.addIssue({ code: 'custom', path: [key], message: reason }),
              );
            }
          },
          // Run even when a field failed, so that every problem is reported at once.
          { when: () => true },
        );
  rules.set(refined, ruleList);
  return refined;
}

type ShapeOf<T> = T extends z.ZodObject<infer S> ? S : never;
type MergeShapes<T extends readonly unknown[]> = T extends readonly [infer H, ...infer R]
  ? ShapeOf<H> & MergeShapes<R>
  : unknown;
type Flatten<T> = { [K in keyof T]: T[K] } & {};
type AsShape<S> = S extends z.core.$ZodShape ? S : never;

/**
 * Merges fragments (and plain `z.object`s with a service's own keys) into one schema, keeping the
 * cross-field rules of every fragment. A later part may override a key of an earlier one.
 */
export function composeEnv<const T extends readonly z.ZodObject[]>(
  ...parts: T
): z.ZodObject<AsShape<Flatten<MergeShapes<T>>>> {
  const shape: z.ZodRawShape = {};
  const all: EnvRule[] = [];
  for (const part of parts) {
    Object.assign(shape, part.shape);
    all.push(...(rules.get(part) ?? []));
  }
  return withRules(z.object(shape), all) as unknown as z.ZodObject<AsShape<Flatten<MergeShapes<T>>>>;
}
