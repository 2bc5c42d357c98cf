// Builds dist/: ES modules (index, core, heatmap, errors, replay; shared code
// split into chunks so each entry can be imported apart, and the replay
// recorder a chunk of its own that index.js imports only when needed), the
// minified <script src> build with its replay module beside it, rrweb's
// replayer as a plain script with its stylesheet, and type declarations.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { mangle, rrwebBanner, target } from './esbuild-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/index.ts', 'src/core.ts', 'src/heatmap.ts', 'src/errors.ts', 'src/replay.ts'],
  outdir: 'dist/esm',
  bundle: true,
  splitting: true,
  format: 'esm',
  target,
  sourcemap: true,
  logLevel: 'warning',
});
const script = {
  absWorkingDir: root,
  bundle: true,
  format: 'iife',
  minify: true,
  ...mangle,
  target,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
};
await build({ ...script, entryPoints: ['src/script.ts'], outfile: 'dist/insightlite.min.js' });
// Loaded by insightlite.min.js from the same folder, only for recorded sessions. Without
// property mangling: rrweb writes some property names into the recording (a style
// element's `_cssText`), and a shortened name would lose the page's styles on replay.
const { mangleProps: _unused, ...unmangled } = script;
await build({ ...unmangled, entryPoints: ['src/replay-script.ts'], outfile: 'dist/insightlite-replay.min.js', banner: { js: rrwebBanner } });
// rrweb's replayer for pages that play recordings back: window.rrwebReplay.Replayer.
await build({
  absWorkingDir: root,
  stdin: { contents: "export { Replayer } from '@rrweb/replay';", resolveDir: root, sourcefile: 'rrweb-replay.js' },
  outfile: 'dist/replayer/rrweb-replay.js',
  bundle: true,
  format: 'iife',
  globalName: 'rrwebReplay',
  minify: true,
  target,
  legalComments: 'none',
  banner: { js: rrwebBanner },
  logLevel: 'warning',
});
mkdirSync(join(dist, 'replayer'), { recursive: true });
copyFileSync(join(root, 'node_modules/@rrweb/replay/dist/style.css'), join(dist, 'replayer/style.css'));
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', 'dist/types'], {
  cwd: root,
  stdio: 'inherit',
});
console.log('built dist/esm, dist/insightlite.min.js, dist/insightlite-replay.min.js, dist/replayer and dist/types');
