// Bundles the player (ws-stream-player.js and its modules) into one minified
// ES module, player/dist/ws-stream-player.min.js, and prints its size.
//
//   node player/build.mjs
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const outfile = path.join(dir, 'dist', 'ws-stream-player.min.js');

await build({
  entryPoints: [path.join(dir, 'ws-stream-player.js')],
  outfile,
  bundle: true,
  format: 'esm',
  minify: true,
  target: ['es2020'],
  platform: 'browser',
  legalComments: 'none',
  logLevel: 'warning',
});

const code = fs.readFileSync(outfile);
const gz = zlib.gzipSync(code, { level: 9 });
console.log(`${path.relative(process.cwd(), outfile)}: ${code.length} bytes, ${gz.length} bytes gzipped`);
