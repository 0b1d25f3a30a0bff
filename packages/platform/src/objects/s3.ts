import { createHash } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable, Transform } from 'node:stream';
import { Client } from 'minio';
import type { LifecycleConfig, LifecycleRule as MinioLifecycleRule } from 'minio';
import type { LifecycleRule, ObjectInfo, ObjectStore, PutOptions } from './types.ts';
import { ObjectNotFoundError } from './types.ts';
import { amzDate, sigV4Signer } from './sigv4.ts';
import {
  checkExpiry,
  checkKey,
  checkListPrefix,
  checkPutOptions,
  checkSha256,
  decodeListedKey,
  normalizeStorePrefix,
} from './keys.ts';

export interface S3ObjectStoreOptions {
  /** `http(s)://host:port` of the S3 API; alternatively `endPoint` (+ `port`, `useSSL`). */
  readonly url?: string;
  readonly endPoint?: string;
  readonly port?: number;
  readonly useSSL?: boolean;
  readonly accessKey: string;
  readonly secretKey: string;
  /** Default `us-east-1`. Giving it spares the client a bucket-location request. */
  readonly region?: string;
  readonly bucket: string;
  /** The service's prefix inside the bucket (e.g. `video-index/`); keys are relative to it. */
  readonly prefix?: string;
  /** Create the bucket when it is missing (local and test set-ups). Default false. */
  readonly createBucket?: boolean;
  /** Path-style requests (`host/bucket/key`), which every S3 server accepts. Default true. */
  readonly pathStyle?: boolean;
  /**
   * The S3 endpoint as clients outside the cluster reach it (`https://objects.example.com`).
   * Presigned URLs are signed for this host; default: the API endpoint.
   */
  readonly publicUrl?: string;
  /** Parallel requests for batch deletes (each of up to 1000 keys). Default 4. */
  readonly deleteConcurrency?: number;
  /**
   * Keep-alive connections to the S3 endpoint: at most this many sockets at once (requests beyond
   * queue in the agent), idle ones reused instead of a TCP (and TLS) handshake per request.
   * Default 64.
   */
  readonly maxSockets?: number;
}

const DELETE_BATCH = 1000;
const LIFECYCLE_ID_PREFIX = 'anfang:';

interface Endpoint {
  endPoint: string;
  port?: number;
  useSSL: boolean;
}

function endpointOf(options: { url?: string; endPoint?: string; port?: number; useSSL?: boolean }): Endpoint {
  if (options.url) {
    const u = new URL(options.url);
    const useSSL = u.protocol === 'https:';
    return { endPoint: u.hostname, useSSL, ...(u.port ? { port: Number(u.port) } : {}) };
  }
  if (!options.endPoint) throw new Error('s3 object store: url or endPoint is required');
  return {
    endPoint: options.endPoint,
    useSSL: options.useSSL ?? true,
    ...(options.port !== undefined ? { port: options.port } : {}),
  };
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

const isNotFound = (err: unknown) => {
  const code = codeOf(err);
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchObject';
};

/** S3 response headers that are not user metadata (minio strips `x-amz-meta-` from the rest). */
const STANDARD_HEADERS = new Set([
  'content-type',
  'cache-control',
  'content-encoding',
  'content-disposition',
  'content-language',
  'if-none-match',
  'if-match',
]);

/** S3's object-key escaping in a request path (what minio's `uriResourceEscape` does). */
const escapeKey = (key: string): string =>
  encodeURIComponent(key)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/');

/** HTTP answers minio retries once (its defaults): the server's transient refusals. */
const RETRYABLE_STATUS = new Set([408, 429, 499, 500, 502, 503, 504, 520]);

function readBuffer(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

const readBody = async (res: IncomingMessage): Promise<string> => (await readBuffer(res)).toString('utf8');

/** An S3 error answer as an Error with the S3 `code` (as minio's S3Error has it). */
function s3Error(method: string, status: number, body: string, key: string): Error {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? `HTTP ${status}`;
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? body.slice(0, 200);
  return Object.assign(new Error(`s3 object store: ${method} ${key}: ${code} ${message}`.trim()), {
    code,
    statusCode: status,
  });
}

/**
 * Any S3 server through the `minio` client (Versity Gateway and SeaweedFS locally, Ceph RGW or
 * cloud storage in production). Streams in both directions (unknown-size bodies go up as
 * multipart), deletes in batches of 1000 keys, lists with ListObjectsV2. A body held in memory
 * (a device's picture) goes up in one PUT signed with minio's SigV4 signer but sent directly:
 * minio's putObject wraps the buffer in a stream, reads it back, hashes it twice and builds the
 * request through several layers, which made it the device-ingest's largest CPU cost per event.
 */
export async function createS3ObjectStore(options: S3ObjectStoreOptions): Promise<ObjectStore> {
  const region = options.region ?? 'us-east-1';
  const bucket = options.bucket;
  const prefix = normalizeStorePrefix(options.prefix);
  const pathStyle = options.pathStyle ?? true;
  const endpoint = endpointOf(options);
  const agentOptions = {
    keepAlive: true,
    maxSockets: Math.max(1, options.maxSockets ?? 64),
    // Every socket may stay open while idle: a burst of puts must not close and reopen connections.
    maxFreeSockets: Math.max(1, options.maxSockets ?? 64),
    // Below common S3 servers' idle timeouts (5 s and up), so a reused socket is not one being closed.
    timeout: 4_000,
  };
  const transportAgent = endpoint.useSSL ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const client = new Client({
    ...endpoint,
    accessKey: options.accessKey,
    secretKey: options.secretKey,
    region,
    pathStyle,
    transportAgent,
  });
  // Presigning is offline; a second client only carries the public host.
  const signer = options.publicUrl
    ? new Client({
        ...endpointOf({ url: options.publicUrl }),
        accessKey: options.accessKey,
        secretKey: options.secretKey,
        region,
        pathStyle,
      })
    : client;
  const deleteConcurrency = Math.max(1, options.deleteConcurrency ?? 4);
  const direct = directRequests({
    endpoint,
    agent: transportAgent,
    accessKey: options.accessKey,
    secretKey: options.secretKey,
    region,
    bucket,
    pathStyle,
  });

  if (options.createBucket && !(await client.bucketExists(bucket))) {
    try {
      await client.makeBucket(bucket, region);
    } catch (err) {
      const code = codeOf(err);
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw err;
    }
  }

  const full = (key: string) => {
    checkKey(key, prefix);
    return prefix + key;
  };

  const statFull = async (key: string): Promise<ObjectInfo | null> => {
    try {
      const s = await client.statObject(bucket, full(key));
      const metadata: Record<string, string> = {};
      let contentType: string | undefined;
      for (const [k, v] of Object.entries(s.metaData ?? {})) {
        const lower = k.toLowerCase();
        if (lower === 'content-type') contentType = String(v);
        else if (!STANDARD_HEADERS.has(lower) && !lower.startsWith('x-amz-')) metadata[lower] = String(v);
      }
      return {
        key,
        size: s.size,
        etag: s.etag,
        lastModified: s.lastModified,
        ...(contentType !== undefined ? { contentType } : {}),
        metadata,
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  };

  const open = async (key: string): Promise<Readable> => {
    try {
      return await client.getObject(bucket, full(key));
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      throw err;
    }
  };

  return {
    kind: 's3',
    prefix,

    async put(key: string, body: Uint8Array | Readable, putOptions?: PutOptions): Promise<ObjectInfo> {
      checkPutOptions(putOptions, body);
      const name = full(key);
      const meta: Record<string, string> = {};
      if (putOptions?.contentType) meta['Content-Type'] = putOptions.contentType;
      for (const [k, v] of Object.entries(putOptions?.metadata ?? {})) meta[`x-amz-meta-${k}`] = v;
      let size = 0;
      let uploaded;
      if (body instanceof Readable) {
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            size += chunk.length;
            cb(null, chunk);
          },
        });
        body.on('error', (err) => counter.destroy(err));
        uploaded = await client.putObject(bucket, name, body.pipe(counter), undefined, meta);
      } else {
        const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        size = buf.length;
        if (direct) {
          // The store checks the signed digest against the body it receives.
          uploaded = { etag: await direct.put(name, buf, meta, putOptions?.sha256) };
        } else {
          checkSha256(buf, putOptions?.sha256);
          uploaded = await client.putObject(bucket, name, buf, buf.length, meta);
        }
      }
      return {
        key,
        size,
        etag: uploaded.etag,
        lastModified: new Date(),
        ...(putOptions?.contentType ? { contentType: putOptions.contentType } : {}),
        metadata: { ...putOptions?.metadata },
      };
    },

    async get(key) {
      if (direct) return direct.get(full(key), key);
      const stream = await open(key);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },

    getStream: open,

    stat: statFull,

    async delete(keys) {
      const names = [...new Set(keys.map(full))];
      const batches: string[][] = [];
      for (let i = 0; i < names.length; i += DELETE_BATCH) batches.push(names.slice(i, i + DELETE_BATCH));
      let next = 0;
      const worker = async () => {
        while (next < batches.length) {
          const batch = batches[next++]!;
          // One request per batch (minio's removeObjects would send all batches at once).
          const results = await client.removeObjects(bucket, batch);
          const failed = results.filter((r) => r?.Error && r.Error.Code !== 'NoSuchKey');
          if (failed.length > 0) {
            const first = failed[0]!.Error!;
            throw new Error(
              `s3 object store: ${failed.length} deletes failed, first ${first.Key}: ${first.Code} ${first.Message ?? ''}`,
            );
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(deleteConcurrency, batches.length) }, worker));
    },

    async *list(listPrefix: string): AsyncIterable<ObjectInfo> {
      checkListPrefix(listPrefix);
      const stream = client.listObjectsV2(bucket, prefix + listPrefix, true);
      for await (const item of stream) {
        if (!item.name) continue;
        const key = decodeListedKey(item.name).slice(prefix.length);
        yield { key, size: item.size, etag: item.etag, lastModified: item.lastModified };
      }
    },

    async presignedGetUrl(key, expirySeconds) {
      return signer.presignedGetObject(bucket, full(key), checkExpiry(expirySeconds));
    },

    async setLifecycle(rules: readonly LifecycleRule[]): Promise<boolean> {
      // The lifecycle configuration belongs to the bucket: keep the rules of other prefixes.
      const owned = `${LIFECYCLE_ID_PREFIX}${prefix}`;
      let existing: MinioLifecycleRule[] = [];
      try {
        const current = await client.getBucketLifecycle(bucket);
        existing = current?.Rule ?? [];
      } catch (err) {
        const code = codeOf(err);
        if (code === 'NotImplemented') return false;
        if (code !== 'NoSuchLifecycleConfiguration') throw err;
      }
      const kept = existing.filter((r) => !String(r.ID ?? '').startsWith(owned));
      const ours: MinioLifecycleRule[] = rules.map((r) => {
        if (!Number.isInteger(r.expireAfterDays) || r.expireAfterDays < 1) {
          throw new Error(`lifecycle rule ${r.id}: expireAfterDays must be a whole number >= 1`);
        }
        if (r.prefix) checkListPrefix(r.prefix);
        return {
          ID: `${owned}${r.id}`,
          Status: 'Enabled',
          Filter: { Prefix: prefix + r.prefix },
          Expiration: { Days: r.expireAfterDays },
        };
      });
      const config: LifecycleConfig = { Rule: [...kept, ...ours] };
      try {
        if (config.Rule.length === 0) await client.removeBucketLifecycle(bucket);
        else await client.setBucketLifecycle(bucket, config);
      } catch (err) {
        if (codeOf(err) === 'NotImplemented') return false;
        throw err;
      }
      return true;
    },

    async check() {
      if (!(await client.bucketExists(bucket)))
        throw new Error(`s3 object store: bucket ${bucket} does not exist`);
    },

    async close() {
      transportAgent.destroy();
    },
  };
}

/** The SHA-256 of an empty payload, which a GET signs. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

interface DirectRequests {
  /** One PUT of an in-memory body (signed with `sha256` when given); resolves with the ETag. */
  put(name: string, body: Buffer, meta: Record<string, string>, sha256?: string): Promise<string>;
  /** One GET of a whole object; ObjectNotFoundError(key) when it does not exist. */
  get(name: string, key: string): Promise<Buffer>;
}

/**
 * Whole-object requests (see createS3ObjectStore) signed as minio signs them (sigv4.ts) and sent on
 * the store's keep-alive pool, each retried once on a transient refusal as minio does. Undefined
 * for Amazon's own endpoints, whose regional host names minio works out: those keep minio.
 */
function directRequests(o: {
  endpoint: Endpoint;
  agent: HttpAgent | HttpsAgent;
  accessKey: string;
  secretKey: string;
  region: string;
  bucket: string;
  pathStyle: boolean;
}): DirectRequests | undefined {
  const { endpoint } = o;
  if (/(^|\.)amazonaws\.com(\.cn)?$/.test(endpoint.endPoint)) return undefined;
  const defaultPort = endpoint.useSSL ? 443 : 80;
  const port = endpoint.port ?? defaultPort;
  const hostname = o.pathStyle ? endpoint.endPoint : `${o.bucket}.${endpoint.endPoint}`;
  const host =
    port === defaultPort ? hostname : `${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
  const send = endpoint.useSSL ? httpsRequest : httpRequest;
  const sign = sigV4Signer(o.accessKey, o.secretKey, o.region);

  const once = (
    method: 'GET' | 'PUT',
    name: string,
    sha256: string,
    body?: Buffer,
    meta?: Record<string, string>,
  ) => {
    const path = o.pathStyle ? `/${o.bucket}/${escapeKey(name)}` : `/${escapeKey(name)}`;
    const headers: Record<string, string> = {
      host,
      'x-amz-date': amzDate(new Date()),
      'x-amz-content-sha256': sha256,
    };
    if (body) headers['content-length'] = String(body.length);
    for (const [k, v] of Object.entries(meta ?? {})) headers[k.toLowerCase()] = v;
    headers.authorization = sign(method, path, headers);
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send({ host: endpoint.endPoint, port, method, path, headers, agent: o.agent }, resolve);
      req.on('error', reject);
      req.end(body);
    });
  };

  /** The 200 answer, after one retry of a transient refusal; any other answer as an S3 error. */
  const exchange = async (
    method: 'GET' | 'PUT',
    name: string,
    sha256: string,
    body?: Buffer,
    meta?: Record<string, string>,
  ): Promise<IncomingMessage> => {
    for (let attempt = 1; ; attempt++) {
      const res = await once(method, name, sha256, body, meta);
      if (res.statusCode === 200) return res;
      const text = await readBody(res);
      if (attempt === 1 && RETRYABLE_STATUS.has(res.statusCode ?? 0)) {
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 100));
        continue;
      }
      throw s3Error(method, res.statusCode ?? 0, text, name);
    }
  };

  return {
    async put(name, body, meta, sha256) {
      const res = await exchange(
        'PUT',
        name,
        sha256 ?? createHash('sha256').update(body).digest('hex'),
        body,
        meta,
      );
      res.resume();
      return String(res.headers.etag ?? '').replace(/^"|"$/g, '');
    },
    async get(name, key) {
      try {
        return await readBuffer(await exchange('GET', name, EMPTY_SHA256));
      } catch (err) {
        if (isNotFound(err)) throw new ObjectNotFoundError(key);
        throw err;
      }
    },
  };
}
