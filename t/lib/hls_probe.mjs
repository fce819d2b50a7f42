// ffprobe / ffmpeg on fMP4 bytes fetched from the HLS location: streams and
// frame counts, decode errors, packet timestamps; CODECS strings against
// what ffprobe reads from the SPS and the AAC config.
import { spawn } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';

export const FFPROBE = process.env.WS_STREAM_FFPROBE || 'ffprobe';
const FFMPEG = process.env.WS_STREAM_FFMPEG || 'ffmpeg';

/** Run a command (bounded); resolves { code, signal, stdout, stderr }. */
export function run(cmd, args, { timeout = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => { p.kill('SIGKILL'); }, timeout);
    p.once('error', (e) => { clearTimeout(t); reject(e); });
    p.once('close', (code, signal) => { clearTimeout(t); resolve({ code, signal, stdout, stderr }); });
  });
}

/** Write the concatenation of buffers to dir/name; returns the path. */
export async function writeFile(dir, name, buffers) {
  const p = path.join(dir, name);
  await fsp.writeFile(p, Buffer.concat([].concat(buffers)));
  return p;
}

/**
 * Streams of a file with decoded frame counts (ffprobe -count_frames: frames,
 * what decodes) and packet counts (-count_packets: packets, what is stored).
 */
export async function probe(file) {
  const r = await run(FFPROBE, ['-v', 'error', '-count_frames', '-count_packets', '-show_entries',
    'stream=index,codec_type,codec_name,profile,level,width,height,nb_read_frames,nb_read_packets,sample_rate,channels,avg_frame_rate',
    '-of', 'json', file]);
  if (r.code !== 0) throw new Error(`ffprobe ${file} failed (${r.code}): ${r.stderr}`);
  const streams = JSON.parse(r.stdout).streams || [];
  const video = streams.find((s) => s.codec_type === 'video') || null;
  const audio = streams.find((s) => s.codec_type === 'audio') || null;
  for (const s of [video, audio]) if (s) { s.frames = Number(s.nb_read_frames); s.packets = Number(s.nb_read_packets); }
  return { streams, video, audio, stderr: r.stderr };
}

/** `ffmpeg -v error -i file -f null -`: what it prints (should be nothing). */
export async function decodeErrors(file) {
  const r = await run(FFMPEG, ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-']);
  return (r.code === 0 ? '' : `exit ${r.code} `) + r.stderr.trim();
}

/** Packets: [{ type: 'video'|'audio', pts, dts, duration (s), key }] in file order. */
export async function packets(file) {
  const r = await run(FFPROBE, ['-v', 'error', '-show_entries',
    'packet=codec_type,pts_time,dts_time,duration_time,flags', '-of', 'json', file]);
  if (r.code !== 0) throw new Error(`ffprobe packets ${file} failed: ${r.stderr}`);
  return (JSON.parse(r.stdout).packets || []).map((p) => ({
    type: p.codec_type, pts: Number(p.pts_time), dts: Number(p.dts_time),
    duration: Number(p.duration_time), key: (p.flags || '').includes('K'),
  }));
}

const H264_PROFILES = {
  Baseline: 66, 'Constrained Baseline': 66, Main: 77, Extended: 88, High: 100,
  'High 10': 110, 'High 4:2:2': 122, 'High 4:4:4 Predictive': 244,
};

/**
 * Compare CODECS="avc1.PPCCLL,mp4a.40.N" to ffprobe's streams; returns a list
 * of mismatches (empty when they agree).
 */
export function codecsMismatches(codecs, { video, audio }) {
  const out = [];
  const list = codecs.split(',');
  const avc = list.find((c) => c.startsWith('avc1.'));
  const mp4a = list.find((c) => c.startsWith('mp4a.'));
  if (video) {
    if (!avc) out.push(`no avc1 in CODECS "${codecs}"`);
    else {
      const m = /^avc1\.([0-9a-fA-F]{2})([0-9a-fA-F]{2})([0-9a-fA-F]{2})$/.exec(avc);
      if (!m) out.push(`"${avc}" is not avc1.PPCCLL`);
      else {
        const [pp, cc, ll] = [m[1], m[2], m[3]].map((x) => parseInt(x, 16));
        const want = H264_PROFILES[video.profile];
        if (want === undefined) out.push(`ffprobe profile "${video.profile}" unknown to the test`);
        else if (pp !== want) out.push(`profile_idc ${pp} in "${avc}", ffprobe says ${video.profile} (${want})`);
        if (video.profile === 'Constrained Baseline' && !(cc & 0x40))
          out.push(`"${avc}": constraint_set1 missing for Constrained Baseline`);
        if (ll !== Number(video.level)) out.push(`level ${ll} in "${avc}", ffprobe says ${video.level}`);
      }
    }
  } else if (avc) out.push(`CODECS has ${avc} but there is no video`);
  if (audio) {
    if (!mp4a) out.push(`no mp4a in CODECS "${codecs}"`);
    else if (audio.codec_name === 'aac') {
      const aot = { LC: 2, HE: 5, 'HE-AACv2': 29, Main: 1, LTP: 4 }[audio.profile];
      if (mp4a !== `mp4a.40.${aot}`) out.push(`"${mp4a}" for AAC ${audio.profile}`);
    }
  } else if (mp4a) out.push(`CODECS has ${mp4a} but there is no audio`);
  return out;
}
