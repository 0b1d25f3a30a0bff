import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rmdir,
  stat as fsStat,
  unlink,
  writeFile,
  access,
  constants,
} from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { LifecycleRule, ObjectInfo, ObjectStore, PutOptions } from './types.ts';
import { ObjectNotFoundError } from './types.ts';
import {
  checkExpiry,
  checkKey,
  checkListPrefix,
  checkPutOptions,
  checkSha256,
  normalizeStorePrefix,
} from './keys.ts';

export interface DirectoryObjectStoreOptions {
  /** The folder holding every store's objects (created when missing). */
  readonly root: string;
  /** The service's prefix (a sub-folder); keys are relative to it. */
  readonly prefix?: string;
  /** HMAC key for presigned URLs (≥ 32 bytes of secret; from a secret file in production). */
  readonly signingSecret?: string | Uint8Array;
  /** Where `directoryObjectsHandler(store)` is reachable, e.g. `http://127.0.0.1:8080/objects`. */
  readonly publicBaseUrl?: string;
  /** fsync data, sidecar and folder before a put returns (survives power loss). Default true. */
  readonly fsync?: boolean;
}

/** A directory store with what its HTTP handler needs. */
export interface DirectoryObjectStore extends ObjectStore {
  readonly kind: 'directory';
  /** Checks a presigned request; returns the key, or why it is refused. */
  verifyPresigned(
    key: string,
    expires: string | null,
    signature: string | null,
    nowMs?: number,
  ): PresignCheck;
  /** The object and its bytes from `start` to `end` inclusive (whole when omitted). */
  openForServing(
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ info: ObjectInfo; body: Readable } | null>;
  /** Path part of `publicBaseUrl` ('' when unset). */
  readonly basePath: string;
}

export type PresignCheck = { ok: true } | { ok: false; status: 400 | 403; reason: string };

/*
 * Layout under <root>/<prefix>: each key segment is a folder or file name, percent-encoded
 * (encodeURIComponent), so '$' never occurs in an encoded segment. Files of one object `seg`:
 *   seg$m         the sidecar (JSON: data file name, size, etag, content type, metadata) — the
 *                 object exists exactly when this file does; renaming it into place is the commit
 *   seg$d.<rand>  the bytes, referenced by the sidecar; replaced objects get a fresh data file
 *   seg$t.<rand>.json  the next sidecar while it is written
 * A crash can leave an unreferenced `$d.`/`$t.` file behind: garbage, never read, never listed.
 * A folder `seg` (no '$') holds keys below `seg/`, so keys `a` and `a/b` coexist as in S3.
 */
const SIDECAR = '$m';
const DATA = '$d.';
const TEMP = '$t.';

interface Sidecar {
  v: 1;
  data: string;
  size: number;
  etag: string;
  lastModified: number;
  contentType?: string;
  metadata: Record<string, string>;
}

const encodeSegment = (s: string) => {
  const e = encodeURIComponent(s);
  if (Buffer.byteLength(e) > 200)
    throw new Error(`object key segment too long for a directory store: ${s.slice(0, 40)}…`);
  return e;
};

function isCode(err: unknown, ...codes: string[]): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && codes.includes(code);
}

const safeDecode = (name: string): string | undefined => {
  try {
    return decodeURIComponent(name);
  } catch {
    return undefined; // not a file of ours
  }
};

/** Byte-wise (UTF-8) comparison, the order S3 lists keys in. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Objects as files under a local folder, for the embedded mode. Writes are atomic and durable:
 * bytes go to a temp file, then the sidecar is renamed into place (the commit), then the old
 * data file is removed; readers never see a half-written object. Writers of one key are
 * serialised within the process (one process owns the folder in embedded mode). Presigned GETs
 * are HMAC-SHA256-signed, expiring URLs served by `directoryObjectsHandler`.
 */
export async function createDirectoryObjectStore(
  options: DirectoryObjectStoreOptions,
): Promise<DirectoryObjectStore> {
  const prefix = normalizeStorePrefix(options.prefix);
  const base = prefix
    ? join(options.root, ...prefix.slice(0, -1).split('/').map(encodeSegment))
    : options.root;
  const fsync = options.fsync ?? true;
  const secret = options.signingSecret === undefined ? undefined : Buffer.from(options.signingSecret);
  if (secret && secret.length < 16)
    throw new Error('directory object store: signingSecret must be at least 16 bytes');
  const publicBase = options.publicBaseUrl?.replace(/\/+$/, '');
  const basePath = publicBase ? new URL(publicBase).pathname.replace(/\/+$/, '') : '';
  await mkdir(base, { recursive: true });

  const locks = new Map<string, Promise<void>>();
  /** Runs `fn` after every earlier writer of `key` in this process. */
  const withKeyLock = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const previous = locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((r) => (release = r));
    const chained = previous.then(() => current);
    locks.set(key, chained);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (locks.get(key) === chained) locks.delete(key);
    }
  };

  /** Folder and base file name of a key. */
  const locate = (key: string) => {
    checkKey(key, prefix);
    const segments = key.split('/').map(encodeSegment);
    const name = segments.pop()!;
    return { dir: join(base, ...segments), name };
  };

  const readSidecar = async (dir: string, name: string): Promise<Sidecar | null> => {
    try {
      return JSON.parse(await readFile(join(dir, name + SIDECAR), 'utf8')) as Sidecar;
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) return null;
      throw err;
    }
  };

  const infoOf = (key: string, s: Sidecar): ObjectInfo => ({
    key,
    size: s.size,
    etag: s.etag,
    lastModified: new Date(s.lastModified),
    ...(s.contentType !== undefined ? { contentType: s.contentType } : {}),
    metadata: { ...s.metadata },
  });

  const syncDir = async (dir: string) => {
    if (!fsync) return;
    let fh: FileHandle | undefined;
    try {
      fh = await open(dir, 'r');
      await fh.sync();
    } finally {
      await fh?.close();
    }
  };

  /** Opens the current data file of a key (retrying when a concurrent put replaced it). */
  const openData = async (key: string, range?: { start: number; end: number }) => {
    const { dir, name } = locate(key);
    for (let attempt = 0; attempt < 5; attempt++) {
      const s = await readSidecar(dir, name);
      if (!s) return null;
      let fh: FileHandle;
      try {
        fh = await open(join(dir, s.data), 'r');
      } catch (err) {
        if (isCode(err, 'ENOENT')) continue;
        throw err;
      }
      const body = createReadStream('', { fd: fh, ...(range ? { start: range.start, end: range.end } : {}) });
      return { info: infoOf(key, s), body };
    }
    throw new Error(`directory object store: ${key} kept changing while being opened`);
  };

  /** Removes now-empty folders from `dir` up to (not including) the store's base. */
  const pruneFolders = async (dir: string) => {
    for (let d = dir; d.length > base.length && d.startsWith(base); d = join(d, '..')) {
      try {
        await rmdir(d);
      } catch {
        return;
      }
    }
  };

  const put = async (
    key: string,
    body: Uint8Array | Readable,
    putOptions?: PutOptions,
  ): Promise<ObjectInfo> => {
    checkPutOptions(putOptions, body);
    if (!(body instanceof Readable)) checkSha256(body, putOptions?.sha256);
    const { dir, name } = locate(key);
    return withKeyLock(key, async () => {
      const id = randomBytes(8).toString('hex');
      const dataName = `${name}${DATA}${id}`;
      // The data file gets its final name at once: nothing refers to it until the sidecar commit.
      const dataPath = join(dir, dataName);
      const tmpSidecar = join(dir, `${name}${TEMP}${id}.json`);
      const md5 = createHash('md5');
      let size = 0;
      // A concurrent delete may remove an emptied folder between mkdir and open: try again.
      let fh: FileHandle;
      for (let attempt = 0; ; attempt++) {
        await mkdir(dir, { recursive: true });
        try {
          fh = await open(dataPath, 'wx');
          break;
        } catch (err) {
          if (!isCode(err, 'ENOENT') || attempt >= 5) throw err;
        }
      }
      const source =
        body instanceof Readable
          ? body
          : Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)]);
      const meter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          md5.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      });
      try {
        await pipeline(source, meter, createWriteStream('', { fd: fh, flush: fsync }));
      } catch (err) {
        await fh.close().catch(() => {});
        await unlink(dataPath).catch(() => {});
        throw err;
      }
      let committed = false;
      try {
        const previous = await readSidecar(dir, name);
        const sidecar: Sidecar = {
          v: 1,
          data: dataName,
          size,
          etag: md5.digest('hex'),
          lastModified: Date.now(),
          ...(putOptions?.contentType ? { contentType: putOptions.contentType } : {}),
          metadata: { ...putOptions?.metadata },
        };
        await syncDir(dir); // the data file's entry is durable before the sidecar can point at it
        await writeFile(tmpSidecar, JSON.stringify(sidecar), { flag: 'wx', flush: fsync });
        await rename(tmpSidecar, join(dir, name + SIDECAR)); // the commit
        committed = true;
        await syncDir(dir);
        if (previous && previous.data !== dataName) await unlink(join(dir, previous.data)).catch(() => {});
        return infoOf(key, sidecar);
      } catch (err) {
        if (!committed) {
          await unlink(dataPath).catch(() => {});
          await unlink(tmpSidecar).catch(() => {});
        }
        throw err;
      }
    });
  };

  const remove = async (key: string) => {
    const { dir, name } = locate(key);
    await withKeyLock(key, async () => {
      const s = await readSidecar(dir, name);
      if (!s) return;
      await unlink(join(dir, name + SIDECAR)).catch((err) => {
        if (!isCode(err, 'ENOENT')) throw err;
      });
      await unlink(join(dir, s.data)).catch(() => {});
      await pruneFolders(dir);
    });
  };

  /** Keys under `dir` (whose keys start with `keyBase`) in S3 order; entries of `dir` must start with `rest`. */
  async function* walk(dir: string, keyBase: string, rest: string): AsyncGenerator<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) return;
      throw err;
    }
    const items: { sortKey: string; segment: string; isDir: boolean; fileName: string }[] = [];
    for (const e of entries) {
      if (e.isDirectory()) {
        if (e.name.includes('$')) continue;
        const segment = safeDecode(e.name);
        if (segment?.startsWith(rest))
          items.push({ sortKey: `${segment}/`, segment, isDir: true, fileName: e.name });
      } else if (e.isFile() && e.name.endsWith(SIDECAR)) {
        const segment = safeDecode(e.name.slice(0, -SIDECAR.length));
        if (segment?.startsWith(rest))
          items.push({ sortKey: segment, segment, isDir: false, fileName: e.name });
      }
    }
    items.sort((a, b) => byteOrder(a.sortKey, b.sortKey));
    for (const item of items) {
      if (item.isDir) {
        yield* walk(join(dir, item.fileName), `${keyBase}${item.segment}/`, '');
      } else {
        const s = await readSidecar(dir, item.fileName.slice(0, -SIDECAR.length));
        if (s) yield infoOf(keyBase + item.segment, s);
      }
    }
  }

  const sign = (key: string, expires: number) => {
    if (!secret) throw new Error('directory object store: no signingSecret configured');
    return createHmac('sha256', secret).update(`GET\n${prefix}${key}\n${expires}`).digest('base64url');
  };

  const store: DirectoryObjectStore = {
    kind: 'directory',
    prefix,
    basePath,
    put,

    async get(key) {
      const opened = await openData(key);
      if (!opened) throw new ObjectNotFoundError(key);
      const chunks: Buffer[] = [];
      for await (const chunk of opened.body) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },

    async getStream(key) {
      const opened = await openData(key);
      if (!opened) throw new ObjectNotFoundError(key);
      return opened.body;
    },

    async stat(key) {
      const { dir, name } = locate(key);
      const s = await readSidecar(dir, name);
      return s ? infoOf(key, s) : null;
    },

    async delete(keys) {
      for (const key of keys) checkKey(key, prefix);
      const unique = [...new Set(keys)];
      let next = 0;
      const worker = async () => {
        while (next < unique.length) await remove(unique[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(8, unique.length) }, worker));
    },

    list(listPrefix: string): AsyncIterable<ObjectInfo> {
      checkListPrefix(listPrefix);
      const cut = listPrefix.lastIndexOf('/');
      const dirPart = cut >= 0 ? listPrefix.slice(0, cut) : '';
      const rest = listPrefix.slice(cut + 1);
      const dir = dirPart ? join(base, ...dirPart.split('/').map(encodeSegment)) : base;
      return walk(dir, dirPart ? `${dirPart}/` : '', rest);
    },

    async presignedGetUrl(key, expirySeconds) {
      checkKey(key, prefix);
      if (!publicBase) throw new Error('directory object store: no publicBaseUrl configured');
      const expires = Math.floor(Date.now() / 1000) + checkExpiry(expirySeconds);
      const path = key.split('/').map(encodeURIComponent).join('/');
      return `${publicBase}/${path}?expires=${expires}&signature=${sign(key, expires)}`;
    },

    verifyPresigned(key, expires, signature, nowMs = Date.now()): PresignCheck {
      if (!expires || !signature || !/^\d{1,12}$/.test(expires))
        return { ok: false, status: 403, reason: 'not signed' };
      try {
        checkKey(key, prefix);
      } catch {
        return { ok: false, status: 400, reason: 'invalid key' };
      }
      const expected = Buffer.from(sign(key, Number(expires)));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
        return { ok: false, status: 403, reason: 'bad signature' };
      }
      if (Number(expires) * 1000 <= nowMs) return { ok: false, status: 403, reason: 'expired' };
      return { ok: true };
    },

    openForServing: openData,

    async setLifecycle(_rules: readonly LifecycleRule[]) {
      return false;
    },

    async check() {
      await access(base, constants.R_OK | constants.W_OK);
      const s = await fsStat(base);
      if (!s.isDirectory()) throw new Error('directory object store: root is not a directory');
    },

    async close() {},
  };
  return store;
}
