// Renditions of one picture for rendition-group tests and benchmarks.
//
// ensureRenditions() encodes, once, an MP4 with N H.264 video tracks scaled
// from the same testsrc2 frames (one ffmpeg, split + scale) and one AAC
// track: keyframe every `gop` frames and nowhere else, no B-frames, CBR
// (filler), so that every rendition has its keyframes at the same times and
// its samples at the same timestamps. publishRenditions() publishes every
// track as <base><suffix> from ONE ffmpeg that reads the file in real time
// in a loop (-re -stream_loop -1, stream copy): one input, one clock, so the
// renditions stay in step, across loops too.
//
// The loop: ffmpeg moves each new loop by the longest track (video: its
// frames; audio: its packets but the last one). The file's video is exactly
// `seconds` long, a whole number of GOPs; its audio is `seconds` long too,
// the encoder's priming frame included (a normal first frame at pts 0: no
// edit list, which a loop would skip), so `seconds` must also be a whole
// number of 1024-sample AAC frames: at 48 kHz a multiple of 8 s (hence
// 24 s, not 20). Over RTMP every track then goes on across a loop as within
// it: video 1/fps apart, audio 1024 samples apart, both from 0.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnPublisher } from './publish.mjs';

const FFMPEG = process.env.WS_STREAM_FFMPEG || 'ffmpeg';
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const AAC_FRAME = 1024;

// Highest first, as ws_stream_variant lists them.
export const DEFAULT_RENDITIONS = Object.freeze([
  { suffix: '_hi', size: '640x360', bitrate: '1200k' },
  { suffix: '_mid', size: '320x180', bitrate: '400k' },
  { suffix: '_lo', size: '160x90', bitrate: '120k' },
]);

function checkRenditions(renditions) {
  if (!Array.isArray(renditions) || renditions.length === 0) throw new Error('renditions: none given');
  const seen = new Set();
  for (const r of renditions) {
    if (!r.suffix || seen.has(r.suffix)) throw new Error(`renditions: suffix ${JSON.stringify(r.suffix)} empty or twice`);
    seen.add(r.suffix);
    const m = /^(\d+)x(\d+)$/.exec(r.size || '');
    if (!m || m[1] % 2 || m[2] % 2) throw new Error(`renditions: size ${JSON.stringify(r.size)} is not an even WxH`);
    if (!/^\d+k?$/.test(r.bitrate || '')) throw new Error(`renditions: bitrate ${JSON.stringify(r.bitrate)} is not like 400k`);
  }
}

const area = (size) => size.split('x').reduce((a, b) => a * b, 1);

// ffmpeg's arguments but the files: `audio` encodes the ADTS file; `inputs`
// and `outputs` with that file in between, the MP4. The ADTS file's first
// frame (the encoder's priming) has pts 0: an MP4 of it has no edit list,
// whose audio a loop would start after the priming frame.
function encodeArgs({ renditions, fps, gop, seconds, sampleRate, audioBitrate, preset, profile }) {
  const frames = seconds * fps;
  if (!Number.isInteger(frames) || frames % gop)
    throw new Error(`renditions: ${seconds} s at ${fps} fps is not a whole number of ${gop}-frame GOPs`);
  const aacFrames = seconds * sampleRate / AAC_FRAME;
  if (!Number.isInteger(aacFrames))
    throw new Error(`renditions: ${seconds} s at ${sampleRate} Hz is not a whole number of AAC frames`);
  const quiet = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'];
  // one AAC frame less than the loop: the encoder's priming frame makes it up
  const audio = [...quiet, '-f', 'lavfi',
    '-i', `sine=frequency=440:sample_rate=${sampleRate},atrim=end_sample=${(aacFrames - 1) * AAC_FRAME}`,
    '-c:a', 'aac', '-b:a', audioBitrate, '-ac', '2', '-f', 'adts'];
  const top = renditions.reduce((a, r) => (area(r.size) > area(a.size) ? r : a));
  const labels = renditions.map((_, k) => `[s${k}]`).join('');
  const chains = renditions.map((r, k) =>
    `[s${k}]scale=${r.size.replace('x', ':')},setsar=1,format=yuv420p[v${k}]`);
  const inputs = [...quiet, '-f', 'lavfi', '-i', `testsrc2=size=${top.size}:rate=${fps}:duration=${seconds}`,
    '-filter_complex', `[0:v]split=${renditions.length}${labels};${chains.join(';')}`];
  const outputs = [];
  renditions.forEach((_, k) => outputs.push('-map', `[v${k}]`));
  outputs.push('-map', '1:a', '-c:v', 'libx264', '-preset', preset, '-profile:v', profile, '-bf', '0',
    '-pix_fmt', 'yuv420p', '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0');
  renditions.forEach((r, k) => outputs.push(`-b:v:${k}`, r.bitrate, `-minrate:v:${k}`, r.bitrate,
    `-maxrate:v:${k}`, r.bitrate, `-bufsize:v:${k}`, r.bitrate,
    `-x264-params:v:${k}`, 'scenecut=0:nal-hrd=cbr'));
  outputs.push('-c:a', 'copy', '-f', 'mp4');
  return { audio, inputs, outputs };
}

const encoders = new Set();
process.on('exit', () => {
  for (const p of encoders) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
});

function run(args, { timeout }) {
  return new Promise((resolve, reject) => {
    const proc = spawn(FFMPEG, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    encoders.add(proc);
    let stderr = '';
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeout);
    proc.stderr.on('data', (d) => { if (stderr.length < 20000) stderr += d; });
    proc.once('error', (e) => { clearTimeout(timer); encoders.delete(proc); reject(e); });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      encoders.delete(proc);
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg ${args.join(' ')}\nended with ${signal || code}:\n${stderr}`));
    });
  });
}

const encodes = new Map();   // file -> promise of this process's encode

// Temporary files of encodes whose process is gone (killed mid-way).
function removeStale(dir, base) {
  let names = [];
  try { names = fs.readdirSync(dir); } catch { return; }
  for (const n of names) {
    const m = n.startsWith(`${base}.`) && /\.(\d+)\.[0-9a-f]+\.tmp(\.aac)?$/.exec(n);
    if (!m) continue;
    try { process.kill(Number(m[1]), 0); continue; } catch { /* not running */ }
    fs.rmSync(path.join(dir, n), { force: true });
  }
}

/**
 * The path of the MP4 with these renditions (video tracks in the order
 * given, then the audio track), encoding it first if no earlier run has:
 * the name is a hash of the encoding arguments; it is written under a
 * temporary name and renamed when complete, so a file of that name is
 * whole. Encoding takes a few seconds (2 cores, `veryfast`).
 */
export function ensureRenditions({ dir = path.join(REPO, 'build', 'fixtures'), renditions = DEFAULT_RENDITIONS,
  fps = 30, gop = 30, seconds = 24, sampleRate = 48000, audioBitrate = '64k', preset = 'veryfast',
  profile = 'main', timeout = 180000 } = {}) {
  checkRenditions(renditions);
  const args = encodeArgs({ renditions, fps, gop, seconds, sampleRate, audioBitrate, preset, profile });
  const key = crypto.createHash('sha256').update(JSON.stringify(args)).digest('hex').slice(0, 16);
  const file = path.join(dir, `renditions-${key}.mp4`);
  if (fs.existsSync(file)) return Promise.resolve(file);
  if (!encodes.has(file)) {
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    const p = (async () => {
      fs.mkdirSync(dir, { recursive: true });
      removeStale(dir, path.basename(file));
      try {
        await run([...args.audio, `${tmp}.aac`], { timeout });
        await run([...args.inputs, '-i', `${tmp}.aac`, ...args.outputs, tmp], { timeout });
        fs.renameSync(tmp, file);
      } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
      } finally {
        fs.rmSync(`${tmp}.aac`, { force: true });
        encodes.delete(file);
      }
      return file;
    })();
    encodes.set(file, p);
  }
  return encodes.get(file);
}

/**
 * ONE ffmpeg that publishes `file` (from ensureRenditions, with the same
 * renditions) in real time and in a loop: video track k with the audio as
 * rtmp://host:port/app/<base><suffix k>, each over its own connection.
 * Returns what startPublisher returns (proc, stop(), running, stderr,
 * exited; stopAllPublishers() stops it too), with `name` = base and
 * `names` = the renditions' stream names.
 */
export function publishRenditions({ port, app = 'live', base, renditions = DEFAULT_RENDITIONS, file,
  host = '127.0.0.1', extra = [] }) {
  checkRenditions(renditions);
  if (!file) throw new Error('publishRenditions: no file (await ensureRenditions() first)');
  if (!base) throw new Error('publishRenditions: no base name');
  const names = renditions.map((r) => `${base}${r.suffix}`);
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file];
  names.forEach((name, k) => args.push('-map', `0:v:${k}`, '-map', '0:a:0', '-c', 'copy', ...extra,
    '-flvflags', 'no_duration_filesize', '-f', 'flv', `rtmp://${host}:${port}/${app}/${name}`));
  return spawnPublisher(args, { name: base, names });
}
