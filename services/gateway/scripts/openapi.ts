/** Writes the gateway's OpenAPI document to src/generated/openapi.json (turbo's codegen task). */
import { mkdir, writeFile } from 'node:fs/promises';
import { buildOpenApi } from '../src/openapi/build.ts';

const dir = new URL('../src/generated/', import.meta.url);
await mkdir(dir, { recursive: true });
const document = buildOpenApi();
await writeFile(new URL('openapi.json', dir), `${JSON.stringify(document, null, 2)}\n`);
console.log(`openapi.json: ${Object.keys(document.paths).length} paths`);
