// In-band data a publisher sends besides onMetaData (here ffmpeg's
// onTextData, from subtitles) reaches viewers as data frames of their
// time, in order with the media; onMetaData stays the configuration.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useNginx } from './lib/nginx.mjs';
import { spawnPublisher } from './lib/publish.mjs';
import { Viewer, isMedia } from './lib/ws.mjs';
import { liveConf, streamName } from './lib/common.mjs';

const SRT = `1
00:00:00,500 --> 00:00:01,500
first caption

2
00:00:02,000 --> 00:00:03,000
second caption
`;

describe('67 data channel: onTextData from the publisher', () => {
  const env = useNginx({ tag: 'data', conf: (p) => liveConf(p) });
  const name = streamName('data');

  it('a viewer gets each onTextData as a data frame at its dts, among the media', async () => {
    const srt = path.join(env.prefix, 'subs.srt');
    fs.writeFileSync(srt, SRT);
    const v = await Viewer.connect(env.http('live', name));
    const pub = spawnPublisher(['-hide_banner', '-nostdin', '-loglevel', 'error',
      '-re', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30:duration=4', '-i', srt,
      '-map', '0:v', '-map', '1:s', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-c:s', 'text',
      '-f', 'flv', `rtmp://127.0.0.1:${env.rtmpPort}/live/${name}`], { name });
    const isCue = (m) => m.kind === 'bin' && !m.short && m.track === 3 && !m.config;
    await v.waitFor((m) => isCue(m) && m.payload.includes('second caption'), { what: 'the second caption' });
    const cues = v.msgs.filter(isCue);
    assert.equal(cues.length, 2, `data frames: ${cues.map((m) => m.payload.toString('latin1')).join(' | ')}`);
    for (const [k, m] of cues.entries()) {
      assert.equal(m.payload[0], 0x02, 'an AMF0 string first');
      assert.equal(m.payload.subarray(3, 3 + m.payload.readUInt16BE(1)).toString(), 'onTextData');
      assert.ok(m.payload.includes(['first caption', 'second caption'][k]));
      assert.equal(m.dts, [500, 2000][k], `dts of caption ${k + 1}`);
      // in order with the media: the frames around it have the dts around it
      const before = v.msgs.slice(0, m.i).filter(isMedia).filter((x) => x.track === 1).at(-1);
      assert.ok(before && before.dts <= m.dts, `video before the caption at ${before && before.dts}`);
    }
    // the metadata is still configuration, not a data frame
    assert.ok(v.msgs.some((m) => m.kind === 'bin' && m.track === 3 && m.config), 'onMetaData as configuration');
    await v.close();
    await pub.stop();
  });
});
