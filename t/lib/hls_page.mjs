// A test page that plays an HLS URL with hls.js (node_modules/hls.js) and
// records what a test wants to look at: errors (fatal or not), the latency
// hls.js reports, the video element's progress and decoded frames.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { REPO } from './nginx.mjs';

export const HLSJS_DIST = path.join(REPO, 'node_modules', 'hls.js', 'dist');

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>hls.js test page</title></head>
<body>
<video id="v" muted autoplay playsinline></video>
<script src="/hlsjs/hls.min.js"></script>
<script>
  const params = new URLSearchParams(location.search);
  const v = document.getElementById('v');
  window.errors = [];
  window.events = { fragLoaded: 0, partsLoaded: 0, levelUpdates: 0, blocking: 0 };
  window.frames = 0;
  if ('requestVideoFrameCallback' in HTMLVideoElement.prototype) {
    const tick = () => { window.frames++; v.requestVideoFrameCallback(tick); };
    v.requestVideoFrameCallback(tick);
  }
  const hls = new Hls({ lowLatencyMode: true, debug: false });
  window.hls = hls;
  hls.on(Hls.Events.ERROR, (e, d) => {
    window.errors.push({ type: d.type, details: d.details, fatal: d.fatal,
      url: (d.url || (d.frag && d.frag.url) || (d.context && d.context.url) || ''),
      code: d.response ? d.response.code : null, reason: d.reason || (d.error && d.error.message) || '' });
  });
  hls.on(Hls.Events.FRAG_LOADED, (e, d) => { window.events.fragLoaded++; if (d.part) window.events.partsLoaded++; });
  hls.on(Hls.Events.LEVEL_UPDATED, (e, d) => { window.events.levelUpdates++; window.lastDetails = {
    live: d.details.live, canBlockReload: d.details.canBlockReload, partTarget: d.details.partTarget,
    parts: d.details.partList ? d.details.partList.length : 0, endSN: d.details.endSN }; });
  hls.loadSource(params.get('src'));
  hls.attachMedia(v);
  v.play().catch(() => {});
</script>
</body></html>
`;

/** Writes the page into dir/index.html; returns dir. */
export async function writePage(dir) {
  await fsp.mkdir(dir, { recursive: true });
  await fsp.writeFile(path.join(dir, 'index.html'), PAGE);
  return dir;
}

/** nginx server block that serves the page and hls.js on another port (another origin). */
export function pageServer(port, dir) {
  return `server {
        listen 127.0.0.1:${port};
        types { text/html html; text/javascript js mjs; }
        location / { root ${dir}; }
        location /hlsjs/ { alias ${HLSJS_DIST}/; }
    }`;
}

/** What the page saw so far. */
export function hlsSnapshot(page) {
  return page.evaluate(() => {
    const v = document.getElementById('v');
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
    const h = window.hls;
    return {
      now: performance.now(), currentTime: v.currentTime, readyState: v.readyState, paused: v.paused,
      width: v.videoWidth, height: v.videoHeight,
      decoded: q ? q.totalVideoFrames : null, dropped: q ? q.droppedVideoFrames : null, rvfc: window.frames,
      latency: h ? h.latency : null, targetLatency: h ? h.targetLatency : null, lowLatencyMode: h ? h.lowLatencyMode : null,
      errors: window.errors, events: window.events, details: window.lastDetails || null,
      audioBytes: v.webkitAudioDecodedByteCount ?? null,
      error: v.error ? `${v.error.code} ${v.error.message}` : null,
    };
  });
}
