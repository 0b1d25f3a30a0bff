/** A failed API call, from the gateway's problem+json body when there is one. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly detail: string | undefined;

  constructor(status: number, title: string, code?: string, detail?: string) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.detail = detail;
  }

  /**
   * The backing service is not deployed or not reachable (gRPC UNAVAILABLE/UNIMPLEMENTED map to
   * 503/501), or the gateway has no such route yet. Pages show "no data yet" instead of an error.
   */
  get unavailable(): boolean {
    return (
      this.status === 501 ||
      this.status === 503 ||
      this.status === 502 ||
      (this.status === 404 && this.code === 'no_route')
    );
  }
}

export type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

/** Called when a call is refused for want of a session, so the app can show the sign-in page. */
let onUnauthorized: ((error: ApiError) => void) | undefined;
export function handleUnauthorized(handler: (error: ApiError) => void): void {
  onUnauthorized = handler;
}

/** Builds `path?query`, repeating the key for lists, as the gateway's query mapping expects. */
export function withQuery(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === '') continue;
    if (Array.isArray(value)) for (const v of value as readonly string[]) params.append(key, v);
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers:
      body === undefined
        ? { accept: 'application/json' }
        : { accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const problem = (parsed ?? {}) as { title?: string; detail?: string; code?: string };
    const noRoute = response.status === 404 && /^no route/.test(problem.detail ?? '');
    const error = new ApiError(
      response.status,
      problem.title ?? response.statusText,
      problem.code ?? (noRoute ? 'no_route' : undefined),
      problem.detail,
    );
    if (response.status === 401 && !path.startsWith('/auth/')) onUnauthorized?.(error);
    throw error;
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string, query?: Query): Promise<T> => call<T>('GET', withQuery(path, query)),
  post: <T>(path: string, body: unknown = {}): Promise<T> => call<T>('POST', path, body),
  put: <T>(path: string, body: unknown): Promise<T> => call<T>('PUT', path, body),
  delete: <T>(path: string): Promise<T> => call<T>('DELETE', path),
};

/** Path segment escaping for ids taken from data. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}

/**
 * Runs `task` over `items` with at most `limit` in flight, keeping the input order. Used where
 * the API offers only one-at-a-time reads (levels, device status), so a district of 475
 * compounds does not open 475 connections at once.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
