import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DirectoryObjectStore } from './directory.ts';

type Next = (err?: unknown) => void;

/**
 * Serves presigned GETs of a directory store (the embedded mode's stand-in for S3 presigned
 * URLs). Express-compatible (`app.use('/objects', directoryObjectsHandler(store))`) and usable as
 * a plain `http` request listener. Checks signature and expiry before touching the disk, answers
 * GET and HEAD, honours `If-None-Match` and a single `Range`, and streams the file.
 */
export function directoryObjectsHandler(store: DirectoryObjectStore) {
  return (req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, next?: Next): void => {
    serve(store, req, res).catch((err: unknown) => {
      if (next) return next(err);
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end();
      } else {
        res.destroy();
      }
    });
  };
}

function reply(res: ServerResponse, status: number, message: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(`${message}\n`);
}

async function serve(
  store: DirectoryObjectStore,
  req: IncomingMessage & { originalUrl?: string },
  res: ServerResponse,
) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return reply(res, 405, 'method not allowed');
  }
  const url = new URL(req.originalUrl ?? req.url ?? '/', 'http://localhost');
  let path = url.pathname;
  // Mounted under express the path is relative already; served directly it carries the base path.
  if (store.basePath && path.startsWith(`${store.basePath}/`)) path = path.slice(store.basePath.length);
  let key: string;
  try {
    key = path.slice(1).split('/').map(decodeURIComponent).join('/');
  } catch {
    return reply(res, 400, 'bad path');
  }
  const verdict = store.verifyPresigned(
    key,
    url.searchParams.get('expires'),
    url.searchParams.get('signature'),
  );
  if (!verdict.ok) return reply(res, verdict.status, verdict.reason);

  const info = await store.stat(key);
  if (!info) return reply(res, 404, 'not found');
  const etag = `"${info.etag}"`;
  const remaining = Number(url.searchParams.get('expires')) - Math.floor(Date.now() / 1000);
  res.setHeader('etag', etag);
  res.setHeader('last-modified', info.lastModified.toUTCString());
  res.setHeader('cache-control', `private, max-age=${Math.max(0, remaining)}`);
  res.setHeader('content-type', info.contentType ?? 'application/octet-stream');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('accept-ranges', 'bytes');
  if (req.headers['if-none-match'] === etag) {
    res.statusCode = 304;
    return void res.end();
  }

  let range: { start: number; end: number } | undefined;
  const rangeHeader = req.headers.range;
  if (rangeHeader && info.size > 0) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(rangeHeader.trim());
    if (m && (m[1] || m[2])) {
      const start = m[1] ? Number(m[1]) : Math.max(0, info.size - Number(m[2]));
      const end = m[1] && m[2] ? Math.min(Number(m[2]), info.size - 1) : info.size - 1;
      if (start > end || start >= info.size) {
        res.setHeader('content-range', `bytes */${info.size}`);
        return reply(res, 416, 'range not satisfiable');
      }
      range = { start, end };
    }
  }

  const opened = await store.openForServing(key, range);
  if (!opened) return reply(res, 404, 'not found');
  // The object may have been replaced since stat: describe what is actually sent.
  const size = opened.info.size;
  res.setHeader('etag', `"${opened.info.etag}"`);
  if (range) {
    res.statusCode = 206;
    res.setHeader('content-range', `bytes ${range.start}-${Math.min(range.end, size - 1)}/${size}`);
    res.setHeader('content-length', String(Math.max(0, Math.min(range.end, size - 1) - range.start + 1)));
  } else {
    res.statusCode = 200;
    res.setHeader('content-length', String(size));
  }
  if (req.method === 'HEAD') {
    opened.body.destroy();
    return void res.end();
  }
  opened.body.on('error', () => res.destroy());
  opened.body.pipe(res);
  res.on('close', () => opened.body.destroy());
}
