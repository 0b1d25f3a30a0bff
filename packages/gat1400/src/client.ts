/**
 * A GA/T 1400 HTTP client call: JSON body, `User-Identify`, a deadline, and HTTP Digest answered
 * when the server challenges (one fresh challenge per call, so the nonce is never reused). Used by
 * police-upload towards the upper platform and by the conformance peer towards a lower one.
 */
import { digestAuthorization } from './digest.ts';

export const CONTENT_TYPE = 'application/VIID+JSON;charset=UTF-8';

export interface CallOptions {
  /** Default: POST with a body, GET without. */
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly body?: unknown;
  /** Our 20-digit id. */
  readonly userIdentify: string;
  /** No answer within this → the call fails with a TimeoutError (the notes: ~5 s). */
  readonly timeoutMs: number;
  /** Credentials for a Digest challenge; without them a 401 is returned as is. */
  readonly digest?: { readonly username: string; readonly password: string };
  /** Undici dispatcher (TLS CA of the upper platform). */
  readonly dispatcher?: unknown;
}

export interface CallResult {
  readonly status: number;
  readonly body: unknown;
}

export async function callGat1400(url: string, options: CallOptions): Promise<CallResult> {
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const once = async (authorization?: string): Promise<Response> =>
    fetch(url, {
      method,
      headers: {
        'User-Identify': options.userIdentify,
        ...(payload !== undefined ? { 'Content-Type': CONTENT_TYPE } : {}),
        ...(authorization ? { Authorization: authorization } : {}),
      },
      ...(payload !== undefined ? { body: payload } : {}),
      signal: AbortSignal.timeout(options.timeoutMs),
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    } as RequestInit);
  let response = await once();
  const challenge = response.headers.get('www-authenticate');
  if (response.status === 401 && options.digest && challenge && /^\s*digest/i.test(challenge)) {
    await response.body?.cancel();
    const { pathname, search } = new URL(url);
    response = await once(
      digestAuthorization({
        username: options.digest.username,
        secret: options.digest.password,
        method,
        uri: pathname + search,
        challenge,
      }),
    );
  }
  const text = await response.text();
  let body: unknown = undefined;
  if (text !== '') {
    try {
      body = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
    } catch {
      body = text;
    }
  }
  return { status: response.status, body };
}
