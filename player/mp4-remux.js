// Remuxes demuxed FLV samples into fragmented MP4 for MSE: one init segment
// (ftyp + moov) and a stream of moof + mdat media segments per track.
import { ErrorCodes, WsStreamError } from './errors.js';
import { concat, ftyp, moov, visualSampleEntry, mp4aSampleEntry, fragment } from './mp4-boxes.js';

const TRACK_IDS = { video: 1, audio: 2 };
const RESYNC_MS = 100;      // tfdt follows the dts again when it is this far off
const MAX_DELTA_MS = 1000;  // a dts delta above this is not taken as a frame duration
const FLAGS_SYNC = 0x02000000;     // sample_depends_on = 2
const FLAGS_NON_SYNC = 0x01010000; // sample_depends_on = 1, sample_is_non_sync_sample

function remuxError(message) {
  return new WsStreamError(ErrorCodes.REMUX, message);
}

function checkTrack(track) {
  if (track !== 'video' && track !== 'audio') throw remuxError(`unknown track '${track}'`);
}

/**
 * Fragmented MP4 remuxer, one independent timeline per track.
 *
 * Decode times: a track's segments follow each other without gaps (the next
 * baseMediaDecodeTime is the previous one plus the previous durations) unless
 * the first incoming dts is more than 100 ms off, then it resyncs to that dts.
 * Video durations are dts deltas: to the next sample of the same segment, and
 * for a segment's last sample the delta to the sample before it (first sample
 * after a reset: the last known delta, else 1/30 s). Audio durations are one
 * frame: config.samplesPerFrame (AAC 1024, MP3 1152) at timescale = sampleRate.
 */
export class Mp4Remuxer {
  /** @param {{videoTimescale?: number}} [options] */
  constructor({ videoTimescale = 90000 } = {}) {
    this.videoTimescale = videoTimescale;
    this.tracks = {};
  }

  /**
   * Init segment (ftyp + moov with one trak + mvex/trex) for one SourceBuffer.
   * Resets the track's timeline: the next media segment resyncs to its dts.
   * @param {'video'|'audio'} track
   * @param {object} config a config from demuxVideo/demuxAudio
   * @returns {Uint8Array}
   */
  initSegment(track, config) {
    checkTrack(track);
    if (!config || typeof config !== 'object') throw remuxError(`no ${track} config`);
    const id = TRACK_IDS[track];
    const prev = this.tracks[track];
    let timescale;
    let entry;
    let brands;
    if (track === 'video') {
      const { kind, width, height, record } = config;
      if (kind !== 'avc' && kind !== 'hevc') throw remuxError(`video kind '${kind}'`);
      if (!(record instanceof Uint8Array)) throw remuxError('video config without record');
      timescale = this.videoTimescale;
      entry = kind === 'avc'
        ? visualSampleEntry('avc1', 'avcC', width, height, record)
        : visualSampleEntry('hvc1', 'hvcC', width, height, record);
      brands = kind === 'avc' ? ['isom', 'iso6', 'avc1', 'mp41'] : ['isom', 'iso6', 'mp41'];
    } else {
      const { kind, sampleRate, channels, asc } = config;
      if (kind !== 'aac' && kind !== 'mp3') throw remuxError(`audio kind '${kind}'`);
      if (!(Number.isInteger(sampleRate) && sampleRate > 0)) throw remuxError(`audio sample rate ${sampleRate}`);
      if (kind === 'aac' && !(asc instanceof Uint8Array)) throw remuxError('AAC config without asc');
      timescale = sampleRate;
      entry = mp4aSampleEntry(channels, sampleRate, kind === 'aac' ? 0x40 : 0x6b, kind === 'aac' ? asc : null);
      brands = ['isom', 'iso6', 'mp41'];
    }
    this.tracks[track] = {
      id,
      config,
      timescale,
      seq: prev ? prev.seq : 0,
      nextTime: null,   // expected baseMediaDecodeTime of the next segment
      lastDts: null,    // dts (ms) of the last sample remuxed
      lastDelta: prev && prev.timescale === timescale ? prev.lastDelta : null,
    };
    const handler = track === 'video' ? 'vide' : 'soun';
    return concat([
      ftyp(brands),
      moov({ id, handler, timescale, width: config.width, height: config.height, sampleEntry: entry }),
    ]);
  }

  /**
   * One moof + mdat with the given samples.
   * @param {'video'|'audio'} track
   * @param {Array<{dts: number, cts?: number, key?: boolean, data: Uint8Array}>} samples
   *   in decode order; dts and cts in ms (player timeline)
   * @returns {Uint8Array}
   */
  mediaSegment(track, samples) {
    checkTrack(track);
    const t = this.tracks[track];
    if (!t) throw remuxError(`${track} media before its init segment`);
    if (!Array.isArray(samples) || samples.length === 0) throw remuxError(`no ${track} samples`);
    for (const s of samples) {
      if (!s || !(s.data instanceof Uint8Array) || !Number.isFinite(s.dts)) {
        throw remuxError(`bad ${track} sample`);
      }
    }
    const ts = t.timescale;
    const first = Math.round(samples[0].dts * ts / 1000);
    let base = t.nextTime;
    if (base === null || Math.abs(first - base) > RESYNC_MS * ts / 1000) {
      base = first;
      t.lastDts = null;  // no delta across a discontinuity
    }
    if (base < 0) throw remuxError(`negative ${track} decode time ${base}`);
    const entries = track === 'video' ? this._videoEntries(t, samples) : this._audioEntries(t, samples);
    let total = 0;
    for (const e of entries) total += e.duration;
    t.nextTime = base + total;
    t.lastDts = samples[samples.length - 1].dts;
    t.seq++;
    return fragment(t.seq, t.id, base, entries, samples.map((s) => s.data), track === 'video');
  }

  _videoEntries(t, samples) {
    const ts = t.timescale;
    const valid = (ms) => ms > 0 && ms <= MAX_DELTA_MS;
    const fallback = () => t.lastDelta ?? Math.round(ts / 30);
    return samples.map((s, i) => {
      let duration;
      const next = samples[i + 1];
      const prevDts = i > 0 ? samples[i - 1].dts : t.lastDts;
      if (next && next.dts > s.dts) {
        duration = Math.round(next.dts * ts / 1000) - Math.round(s.dts * ts / 1000);
      } else if (!next && prevDts !== null && valid(s.dts - prevDts)) {
        duration = Math.round(s.dts * ts / 1000) - Math.round(prevDts * ts / 1000);
      } else {
        duration = fallback();
      }
      if (next && valid(next.dts - s.dts)) t.lastDelta = duration;
      if (!next && duration > 0 && valid(duration * 1000 / ts)) t.lastDelta = duration;
      const cto = Math.round((Number.isFinite(s.cts) ? s.cts : 0) * ts / 1000);
      if (cto < -0x80000000 || cto > 0x7fffffff) throw remuxError(`composition offset ${s.cts} ms`);
      return { duration, size: s.data.length, flags: s.key ? FLAGS_SYNC : FLAGS_NON_SYNC, cto };
    });
  }

  _audioEntries(t, samples) {
    const duration = t.config.samplesPerFrame || (t.config.kind === 'mp3' ? 1152 : 1024);
    return samples.map((s) => ({ duration, size: s.data.length, flags: FLAGS_SYNC, cto: 0 }));
  }

  /**
   * Forget the timeline of one track (or both): its next media segment takes
   * its baseMediaDecodeTime from the dts again. Call on a new config or a
   * discontinuity.
   * @param {'video'|'audio'} [track]
   */
  reset(track) {
    for (const name of track ? [track] : ['video', 'audio']) {
      const t = this.tracks[name];
      if (t) { t.nextTime = null; t.lastDts = null; }
    }
  }
}
