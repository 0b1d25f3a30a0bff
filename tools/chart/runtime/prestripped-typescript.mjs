/**
 * Node loader hook of the deployable bundle (`src/bundle.ts` copies this file to the bundle's root;
 * the image starts the service with `node --import=/app/prestripped-typescript.mjs src/main.ts`).
 *
 * The bundle's TypeScript sources were stripped of their types when it was built — by Node's own
 * stripper, in the mode that keeps every position — so at run time they are the JavaScript they
 * now are: this hook hands them to Node as plain ES modules, and Node's type stripper is never
 * loaded. It is swc compiled to WebAssembly (`amaro`), and its linear memory only grows: a service
 * that strips its sources at start-up carries 17–27 MiB more RSS for its whole life (measured on
 * device-ingest, whose memory goal is 300 MB).
 *
 * Plain JavaScript on purpose (a `.ts` hook would load the stripper to load itself). It acts only on
 * `.ts` files under its own folder, outside node_modules: in the repository that folder holds no
 * TypeScript, and without the hook the stripped sources still run — Node strips them again.
 */
import { readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath, URL } from 'node:url';

const bundleRoot = new URL('./', import.meta.url).href;

registerHooks({
  load(url, context, nextLoad) {
    if (url.startsWith(bundleRoot) && url.endsWith('.ts') && !url.includes('/node_modules/'))
      return { format: 'module', source: readFileSync(fileURLToPath(url)), shortCircuit: true };
    return nextLoad(url, context);
  },
});
