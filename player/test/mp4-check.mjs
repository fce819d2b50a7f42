// Test helper (not a test): parse fMP4 bytes with mp4box.js, an independent parser.
import { createFile, MP4BoxBuffer } from 'mp4box';

/**
 * Parse init + media segments.
 * @param {Uint8Array} bytes
 * @returns {{file: object, info: object, samples: object[], paths: string[]}}
 *   samples: all samples of the first track (dts, cts, duration, is_sync, size, data)
 */
export function parseMp4(bytes) {
  const file = createFile();
  let info = null;
  const samples = [];
  file.onError = (e) => { throw new Error(`mp4box: ${e}`); };
  file.onReady = (i) => {
    info = i;
    file.setExtractionOptions(i.tracks[0].id, null, { nbSamples: 100000 });
    file.start();
  };
  file.onSamples = (id, user, s) => { samples.push(...s); };
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(bytes.slice().buffer, 0));
  file.flush();
  if (!info) throw new Error('mp4box: no moov');
  return { file, info, samples, paths: boxPaths(file.boxes) };
}

/** Box paths in file order, e.g. 'moov/trak/mdia/minf/stbl/stsd/avc1/avcC'. */
export function boxPaths(boxes, prefix = '', out = []) {
  for (const b of boxes) {
    if (!b || !b.type) continue;
    const path = prefix ? `${prefix}/${b.type.trim()}` : b.type.trim();
    out.push(path);
    boxPaths([...(b.boxes || []), ...(b.entries || [])], path, out);
  }
  return out;
}

/** The moov sample entry (avc1/hvc1/mp4a box) of the first track. */
export function sampleEntry(file) {
  return file.moov.traks[0].mdia.minf.stbl.stsd.entries[0];
}

/** Expected box paths of an init segment with the given sample entry. */
export function initPaths(handlerBox, entryPath) {
  return ['ftyp', 'moov', 'moov/mvhd', 'moov/trak', 'moov/trak/tkhd', 'moov/trak/mdia', 'moov/trak/mdia/mdhd',
    'moov/trak/mdia/hdlr', 'moov/trak/mdia/minf', `moov/trak/mdia/minf/${handlerBox}`,
    'moov/trak/mdia/minf/dinf', 'moov/trak/mdia/minf/dinf/dref', 'moov/trak/mdia/minf/dinf/dref/url',
    'moov/trak/mdia/minf/stbl', 'moov/trak/mdia/minf/stbl/stsd',
    ...entryPath.map((p) => `moov/trak/mdia/minf/stbl/stsd/${p}`),
    'moov/trak/mdia/minf/stbl/stts', 'moov/trak/mdia/minf/stbl/stsc', 'moov/trak/mdia/minf/stbl/stsz',
    'moov/trak/mdia/minf/stbl/stco', 'moov/mvex', 'moov/mvex/trex'];
}

export const SEGMENT_PATHS = ['moof', 'moof/mfhd', 'moof/traf', 'moof/traf/tfhd', 'moof/traf/tfdt', 'moof/traf/trun', 'mdat'];
