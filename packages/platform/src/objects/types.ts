import type { Readable } from 'node:stream';

/**
 * One object-store interface over S3 (the `minio` client, any S3 server) and a local directory,
 * proven equal by one contract suite (test/objects.contract.ts). Keys are relative to the
 * service's prefix inside the bucket.
 */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType?: string;
  readonly metadata?: Record<string, string>;
}

export interface PutOptions {
  readonly contentType?: string;
  readonly metadata?: Record<string, string>;
  /**
   * The in-memory body's SHA-256 (64 lower-case hex digits), when the caller computed it anyway
   * (an ImageRef carries it): the S3 store signs the PUT with it instead of hashing the body a
   * second time, and every store refuses a body that does not match it, storing nothing. Not
   * for streams (refused: the digest is known only after the upload).
   */
  readonly sha256?: string;
}

export interface LifecycleRule {
  readonly id: string;
  readonly prefix: string;
  readonly expireAfterDays: number;
}

export interface ObjectStore {
  readonly kind: 's3' | 'directory';
  /**
   * The store's prefix inside the bucket (`''` or ending with `/`, e.g. `device-ingest/`). Keys
   * are relative to it; `prefix + key` is the object's full bucket key — the form to hand to other
   * services (e.g. `anfang.common.v1.ImageRef.object_key`), which read it without this prefix.
   */
  readonly prefix: string;
  put(key: string, body: Uint8Array | Readable, options?: PutOptions): Promise<ObjectInfo>;
  get(key: string): Promise<Buffer>;
  getStream(key: string): Promise<Readable>;
  /** null when absent. */
  stat(key: string): Promise<ObjectInfo | null>;
  /** Deletes in batches; absent keys are not an error. */
  delete(keys: readonly string[]): Promise<void>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** A URL anyone holding it may GET until it expires. */
  presignedGetUrl(key: string, expirySeconds: number): Promise<string>;
  /** Installs expiry rules where the backend has lifecycle; false where it does not. */
  setLifecycle(rules: readonly LifecycleRule[]): Promise<boolean>;
  check(): Promise<void>;
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  override readonly name = 'ObjectNotFoundError';
  readonly key: string;
  constructor(key: string) {
    super(`object not found: ${key}`);
    this.key = key;
  }
}
