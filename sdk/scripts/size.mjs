// Size budgets, gzipped: the full <script src> build at most 8 KB, the core
// (everything src/core.ts exports, minified) at most 4 KB, the replay module
// (dist/insightlite-replay.min.js, rrweb's recorder included, loaded only for
// recorded sessions) at most 30 KB. Exits 1 when one is exceeded; writes
// dist/sizes.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { mangle, target } from './esbuild-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const KB = 1024;

async function minified(entry) {
  const out = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    minify: true,
    ...mangle,
    target,
    write: false,
    legalComments: 'none',
  });
  return Buffer.from(out.outputFiles[0].contents);
}

const parts = [
  { name: 'full script (dist/insightlite.min.js)', code: readFileSync(join(root, 'dist/insightlite.min.js')), budget: 8 * KB },
  { name: 'core module', code: await minified('src/core.ts'), budget: 4 * KB },
  { name: 'heatmap module (alone)', code: await minified('src/heatmap.ts') },
  { name: 'errors module (alone)', code: await minified('src/errors.ts') },
  { name: 'replay module (dist/insightlite-replay.min.js)', code: readFileSync(join(root, 'dist/insightlite-replay.min.js')), budget: 30 * KB },
  { name: "rrweb's replayer (dist/replayer/rrweb-replay.js)", code: readFileSync(join(root, 'dist/replayer/rrweb-replay.js')) },
];
let failed = false;
const sizes = {};
for (const part of parts) {
  const gzip = gzipSync(part.code, { level: 9 }).length;
  sizes[part.name] = { minified: part.code.length, gzip, budget: part.budget ?? null };
  const verdict = part.budget === undefined ? '' : gzip <= part.budget ? `ok (budget ${part.budget} B)` : `OVER BUDGET (${part.budget} B)`;
  if (part.budget !== undefined && gzip > part.budget) failed = true;
  console.log(`${part.name.padEnd(50)} ${String(part.code.length).padStart(6)} B min  ${String(gzip).padStart(5)} B gzip  ${verdict}`);
}
writeFileSync(join(root, 'dist/sizes.json'), JSON.stringify(sizes, null, 2) + '\n');
if (failed) {
  console.error('size budget exceeded');
  process.exit(1);
}
