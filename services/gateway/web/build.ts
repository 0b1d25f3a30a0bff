/**
 * Bundles the dashboard: web/src/main.ts → web/dist/assets/app.js (one ES module, minified,
 * with a source map), plus the shell and the stylesheet. Run by the package's `codegen` script,
 * so turbo builds it before typecheck and tests. `--watch` rebuilds on change while developing.
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const dist = join(here, 'dist');

const options: esbuild.BuildOptions = {
  entryPoints: [join(src, 'main.ts')],
  outfile: join(dist, 'assets', 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Control-room PCs run current Chromium-based browsers; nothing older is supported.
  target: ['chrome120', 'edge120', 'firefox120', 'safari17'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
};

await rm(dist, { recursive: true, force: true });
await mkdir(join(dist, 'assets'), { recursive: true });
await Promise.all([
  copyFile(join(src, 'index.html'), join(dist, 'index.html')),
  copyFile(join(src, 'styles.css'), join(dist, 'assets', 'styles.css')),
]);
if (process.argv.includes('--watch')) {
  const context = await esbuild.context(options);
  await context.watch();
  console.log('web: watching web/src');
} else {
  await esbuild.build(options);
}
