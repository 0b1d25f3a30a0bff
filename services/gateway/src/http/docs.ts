/** `/openapi.json` and `/docs` (swagger-ui from the swagger-ui-dist package, served as is). */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { type Router } from 'express';
import type { Logger } from '@anfang/platform/log';
import { buildOpenApi } from '../openapi/build.ts';

const SWAGGER_UI_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const GENERATED = new URL('../generated/openapi.json', import.meta.url);

/** The document written at build time; built here when the build step did not run (development). */
export async function loadOpenApi(logger: Logger): Promise<string> {
  try {
    return await readFile(GENERATED, 'utf8');
  } catch {
    logger.warn('src/generated/openapi.json is missing (run pnpm run codegen); building the document now');
    return JSON.stringify(buildOpenApi());
  }
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Anfang API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;

// A file of its own, not an inline script: the CSP allows scripts from 'self' only.
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', withCredentials: true });`;

export function docsRoutes(router: Router, document: string): void {
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').set('cache-control', 'no-cache').send(document);
  });
  router.get('/docs', (_req, res) => void res.type('html').send(PAGE));
  router.get('/docs/init.js', (_req, res) => void res.type('application/javascript').send(INIT));
  router.use('/docs/assets', express.static(SWAGGER_UI_DIR, { index: false, maxAge: '1d' }));
}
