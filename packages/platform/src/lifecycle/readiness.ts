/**
 * Readiness: may this instance receive traffic? It is false while starting, true once main calls
 * `markReady()`, and false again from the first moment of shutdown (SIGTERM). On top of that flag,
 * `/readyz` runs the registered dependency checks. Liveness (`/healthz`) never looks at any of this.
 */

export type ReadinessState = 'starting' | 'ready' | 'shutting_down';

export interface DependencyCheck {
  /** Throws (or rejects) when the dependency cannot serve. Should honour `signal`. */
  (signal: AbortSignal): Promise<unknown> | unknown;
}

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly durationMs: number;
  /** Short reason for a failed check (credentials in URLs masked). */
  readonly error?: string;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly state: ReadinessState;
  readonly checks: readonly CheckResult[];
}

export interface ReadinessOptions {
  /** Per-check timeout; a check slower than this fails. Default 2000 ms. */
  readonly checkTimeoutMs?: number;
}

export class Readiness {
  #state: ReadinessState = 'starting';
  readonly #checks = new Map<string, { check: DependencyCheck; timeoutMs: number }>();
  readonly #listeners = new Set<(state: ReadinessState) => void>();
  readonly #timeoutMs: number;
  #inflight: Promise<ReadinessReport> | undefined;

  constructor(options: ReadinessOptions = {}) {
    this.#timeoutMs = options.checkTimeoutMs ?? 2000;
  }

  get state(): ReadinessState {
    return this.#state;
  }

  /** True when ready and not shutting down (checks not included). */
  get serving(): boolean {
    return this.#state === 'ready';
  }

  /** Registers a dependency checked by `/readyz` (e.g. `bus.check`, a `SELECT 1`). */
  addCheck(name: string, check: DependencyCheck, options: { timeoutMs?: number } = {}): void {
    if (this.#checks.has(name)) throw new Error(`readiness check ${name} registered twice`);
    this.#checks.set(name, { check, timeoutMs: options.timeoutMs ?? this.#timeoutMs });
  }

  /** Start-up is complete. Ignored once shutdown has begun. */
  markReady(): void {
    if (this.#state === 'starting') this.#set('ready');
  }

  /** Shutdown has begun: not ready from now on, for good. */
  markShuttingDown(): void {
    if (this.#state !== 'shutting_down') this.#set('shutting_down');
  }

  /** Called on every state change (the gRPC health service follows it). Returns an unsubscribe. */
  onChange(listener: (state: ReadinessState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Runs every check concurrently (concurrent callers share one run). */
  check(): Promise<ReadinessReport> {
    this.#inflight ??= this.#run().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #run(): Promise<ReadinessReport> {
    const checks = await Promise.all(
      [...this.#checks].map(([name, c]) => runCheck(name, c.check, c.timeoutMs)),
    );
    // Re-read the state after the checks: shutdown may have begun meanwhile.
    const state = this.#state;
    return { ready: state === 'ready' && checks.every((c) => c.ok), state, checks };
  }

  #set(state: ReadinessState): void {
    this.#state = state;
    for (const listener of this.#listeners) {
      try {
        listener(state);
      } catch {
        // A listener must not break the state machine.
      }
    }
  }
}

async function runCheck(name: string, check: DependencyCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(() => check(controller.signal)), timeout]);
    return { name, ok: true, durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { name, ok: false, durationMs: Math.round(performance.now() - started), error: describe(err) };
  } finally {
    clearTimeout(timer);
  }
}

function describe(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^@\s/]*@/gi, '$1[REDACTED]@').slice(0, 200);
}
