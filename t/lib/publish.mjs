// ffmpeg test publisher (lavfi testsrc2 + sine, H.264 + AAC, real time, FLV over RTMP).
import { spawn } from 'node:child_process';
import { settlesWithin } from './util.mjs';

const FFMPEG = process.env.WS_STREAM_FFMPEG || 'ffmpeg';
const running = new Set();

// Last resort if the test process dies without teardown: no stray ffmpeg.
process.on('exit', () => {
  for (const p of running) { try { p.proc.kill('SIGKILL'); } catch { /* gone */ } }
});

export function startPublisher({ port, app = 'live', name, size = '640x360', rate = 30, gop = 30,
  bitrate = null, cbr = false, duration = null, audio = true, video = true, extra = [] }) {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error'];
  if (video) args.push('-re', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}`);
  if (audio) args.push('-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100');
  if (duration) args.push('-t', String(duration));
  if (video) {
    args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(gop),
      '-pix_fmt', 'yuv420p');
    if (bitrate) {
      args.push('-b:v', bitrate, '-maxrate', bitrate, '-bufsize', '1M');
      if (cbr) args.push('-minrate', bitrate, '-x264-params', 'nal-hrd=cbr');
    }
  }
  if (audio) args.push('-c:a', 'aac', '-b:a', '64k');
  args.push(...extra, '-f', 'flv', `rtmp://127.0.0.1:${port}/${app}/${name}`);
  return spawnPublisher(args, { name });
}

// One ffmpeg with these arguments, as startPublisher returns it (`props`
// added to the object), stopped by stop() or stopAllPublishers().
export function spawnPublisher(args, props = {}) {
  const proc = spawn(FFMPEG, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const pub = {
    proc, args, ...props, stderr: '',
    exited: null,
    get running() { return proc.exitCode === null && proc.signalCode === null; },
    async stop({ timeout = 5000 } = {}) {
      if (pub.running) {
        try { proc.kill('SIGINT'); } catch { /* gone */ }
        const done = await settlesWithin(pub.exited, timeout);
        if (!done) { try { proc.kill('SIGKILL'); } catch { /* gone */ } await settlesWithin(pub.exited, 3000); }
      }
      running.delete(pub);
      return pub.exited;
    },
  };
  proc.stderr.on('data', (d) => { if (pub.stderr.length < 20000) pub.stderr += d; });
  pub.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  proc.once('error', (e) => { pub.stderr += `spawn error: ${e.message}`; });
  running.add(pub);
  return pub;
}

export async function stopAllPublishers() {
  await Promise.all([...running].map((p) => p.stop()));
}
