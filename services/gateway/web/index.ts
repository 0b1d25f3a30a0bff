import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';

export interface DashboardOptions {
  /** Folder of the built dashboard (index.html, assets/). Default: web/dist beside this file. */
  readonly distDir?: string;
}

/**
 * Serves the dashboard: the shell at `GET /` and its assets under `/assets/`. Nothing else, so
 * it never shadows an API route wherever it is mounted. The pages route by URL hash, so the
 * server needs no per-page fallback. The shell is never cached (a new release is picked up at
 * once); assets are revalidated by their modification time.
 */
export function dashboardRouter(options: DashboardOptions = {}): Router {
  const dist = options.distDir ?? join(dirname(fileURLToPath(import.meta.url)), 'dist');
  const shell = join(dist, 'index.html');
  if (!existsSync(shell)) {
    throw new Error(`dashboard not built: ${shell} is missing (run "pnpm run codegen" in services/gateway)`);
  }
  const router = express.Router();
  router.get('/', (_req, res) => {
    res.set('cache-control', 'no-store');
    res.sendFile(shell);
  });
  router.use(
    '/assets',
    express.static(join(dist, 'assets'), {
      index: false,
      fallthrough: false,
      cacheControl: true,
      maxAge: 0,
      lastModified: true,
      etag: true,
    }),
  );
  return router;
}
