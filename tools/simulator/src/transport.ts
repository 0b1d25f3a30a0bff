/**
 * HTTP from simulated devices to the platform: one keep-alive pool with a hard socket cap, a
 * timeout on every request, and — when the target is on loopback — each device's own source
 * address (127.x.y.z), because vendor push protocols identify a device by where it sends from.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import { digestAuthorization } from './auth.ts';

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  /** Path and query. */
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer;
  /** The device's address to send from (ignored when the target is not on loopback). */
  readonly sourceAddress?: string;
}

export interface Transport {
  request(req: HttpRequest): Promise<HttpResponse>;
  /** Whether requests leave from the devices' own addresses. */
  readonly bindsSource: boolean;
  close(): void;
}

export interface TransportOptions {
  readonly target: URL;
  /** Cap of open sockets across all devices. */
  readonly maxSockets: number;
  readonly timeoutMs: number;
  /** Largest answer read (bytes); more is cut off. */
  readonly maxResponseBytes?: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function createTransport(options: TransportOptions): Transport {
  if (options.target.protocol !== 'http:')
    throw new Error(`only http:// targets are supported, not ${options.target.protocol}`);
  // Requests from each device's own address cannot share connections (the pool is per source
  // address), and idle keep-alive sockets of thousands of devices would hold every slot: one
  // connection per request then, as the cameras themselves mostly do. The simulator's in-flight
  // cap bounds the sockets either way.
  const agents = {
    perDevice: new http.Agent({ keepAlive: false, maxTotalSockets: options.maxSockets }),
    shared: new http.Agent({
      keepAlive: true,
      maxSockets: options.maxSockets,
      maxFreeSockets: Math.max(1, Math.ceil(options.maxSockets / 4)),
    }),
  };
  const host = options.target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(options.target.port || 80);
  const maxBytes = options.maxResponseBytes ?? 1 << 20;
  let bindSource = LOOPBACK.has(options.target.hostname) && host !== '::1';

  const once = (req: HttpRequest, bind: boolean): Promise<HttpResponse> =>
    new Promise((resolve, reject) => {
      const body = req.body ?? Buffer.alloc(0);
      const outgoing = http.request(
        {
          agent: bind && req.sourceAddress ? agents.perDevice : agents.shared,
          host: host === 'localhost' ? '127.0.0.1' : host,
          port,
          method: req.method,
          path: req.path,
          headers: { ...req.headers, 'content-length': String(body.length) },
          ...(bind && req.sourceAddress ? { localAddress: req.sourceAddress } : {}),
          timeout: options.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= maxBytes) chunks.push(chunk);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      // A deadline for the whole exchange, also while waiting for a socket.
      const deadline = setTimeout(
        () => outgoing.destroy(new Error(`no answer within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      outgoing.on('close', () => clearTimeout(deadline));
      outgoing.on('timeout', () => outgoing.destroy(new Error(`timeout after ${options.timeoutMs} ms`)));
      outgoing.on('error', reject);
      outgoing.end(body);
    });

  return {
    get bindsSource() {
      return bindSource;
    },
    async request(req) {
      try {
        return await once(req, bindSource);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A machine whose loopback is only 127.0.0.1 (some containers): send from there instead.
        if (bindSource && (code === 'EADDRNOTAVAIL' || code === 'EINVAL')) {
          bindSource = false;
          return once(req, false);
        }
        throw err;
      }
    },
    close: () => {
      agents.perDevice.destroy();
      agents.shared.destroy();
    },
  };
}

/**
 * A device's HTTP Digest state, as cameras keep it: the last challenge is reused with a rising
 * nonce count, and a 401 with a fresh challenge is answered once.
 */
export class DigestSession {
  private challenge: string | undefined;
  private nc = 0;
  private readonly username: string;
  private readonly password: string;

  constructor(username: string, password: string) {
    this.username = username;
    this.password = password;
  }

  async send(transport: Transport, req: HttpRequest): Promise<HttpResponse> {
    const first = await transport.request(this.withAuth(req));
    if (first.status !== 401) return first;
    const header = first.headers['www-authenticate'];
    const challenge = Array.isArray(header) ? header.find((h) => /^digest/i.test(h)) : header;
    if (!challenge || !/^\s*digest/i.test(challenge)) return first;
    this.challenge = challenge;
    this.nc = 0;
    return transport.request(this.withAuth(req));
  }

  private withAuth(req: HttpRequest): HttpRequest {
    if (this.challenge === undefined) return req;
    this.nc += 1;
    const authorization = digestAuthorization({
      username: this.username,
      password: this.password,
      method: req.method,
      uri: req.path,
      challenge: this.challenge,
      nc: this.nc,
    });
    return { ...req, headers: { ...req.headers, authorization } };
  }
}
