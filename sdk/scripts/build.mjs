// Builds dist/: ES modules (index, core, heatmap, errors; shared code split into
// chunks so each entry can be imported apart), the minified <script src> build,
// and type declarations.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { mangle, target } from './esbuild-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/index.ts', 'src/core.ts', 'src/heatmap.ts', 'src/errors.ts'],
  outdir: 'dist/esm',
  bundle: true,
  splitting: true,
  format: 'esm',
  target,
  sourcemap: true,
  logLevel: 'warning',
});
await build({
  absWorkingDir: root,
  entryPoints: ['src/script.ts'],
  outfile: 'dist/insightlite.min.js',
  bundle: true,
  format: 'iife',
  minify: true,
  ...mangle,
  target,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', 'dist/types'], {
  cwd: root,
  stdio: 'inherit',
});
console.log('built dist/esm, dist/insightlite.min.js and dist/types');
