// Prints the gzipped size of every built JS and CSS file in dist/assets/ and their
// total, and fails (exit 1) when the app is over its budget: 200 KB gzipped for
// everything except the session replay player, a lazy chunk whose file name starts
// with "replay" (loaded only when a recording is watched), which is listed apart.
// Source maps are not counted: browsers fetch them only with developer tools open.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const KB = 1024;
const BUDGET = 200 * KB;
const assets = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'assets');

const kb = (bytes) => `${(bytes / KB).toFixed(1)} KB`;

let files;
try {
  files = readdirSync(assets)
    .filter((name) => /\.(js|css)$/.test(name))
    .sort();
} catch {
  console.error(`no build in ${assets}: run vite build first`);
  process.exit(1);
}
if (files.length === 0) {
  console.error(`no JS or CSS files in ${assets}`);
  process.exit(1);
}

let app = 0;
let replay = 0;
const width = Math.max(...files.map((name) => name.length));
console.log(`${'file'.padEnd(width)}  ${'raw'.padStart(9)}  ${'gzip'.padStart(9)}`);
for (const name of files) {
  const code = readFileSync(join(assets, name));
  const gzip = gzipSync(code, { level: 9 }).length;
  const isReplay = name.startsWith('replay');
  if (isReplay) replay += gzip;
  else app += gzip;
  const note = isReplay ? '  (replay player, outside the budget)' : '';
  console.log(`${name.padEnd(width)}  ${kb(code.length).padStart(9)}  ${kb(gzip).padStart(9)}${note}`);
}
console.log(`app total (gzip): ${kb(app)} of a ${kb(BUDGET)} budget`);
if (replay > 0) console.log(`replay player (gzip): ${kb(replay)}`);
console.log(`all files (gzip): ${kb(app + replay)}`);
if (app > BUDGET) {
  console.error(`the app is over its size budget: ${kb(app)} gzipped, at most ${kb(BUDGET)}`);
  process.exit(1);
}
