
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * A fragmented MP4 (ISO/IEC 14496-12) muxer for the Low-Latency HLS
 * fallback: the init segment (ftyp + moov) and moof + mdat fragments for
 * one H.264/H.265 track and one AAC/MP3 track, built from the payloads of
 * FLV/RTMP tags.  No nginx headers, no allocation: every function can be
 * called with out == NULL to learn the size, then again with a buffer of
 * at least that size.
 */


#ifndef _WS_STREAM_MP4_H_INCLUDED_
#define _WS_STREAM_MP4_H_INCLUDED_


#include "ws_stream_core.h"
#include "ws_stream_flv.h"          /* WS_STREAM_CODEC_* */


/*
 * The video track runs at 90 kHz, the audio track at its sample rate.
 * Track ids: video 1 and audio 2, or 1 for a single track.
 */
#define WS_STREAM_MP4_VIDEO_TIMESCALE  90000

/* the longest configuration record accepted */
#define WS_STREAM_MP4_MAX_CONFIG       (1024 * 1024)


typedef struct {
    unsigned         codec;         /* WS_STREAM_CODEC_AVC/HEVC/AAC/MP3 */

    /*
     * AVC: the AVCDecoderConfigurationRecord (the body of an FLV AVC
     * sequence header after its 5-byte header), HEVC: the
     * HEVCDecoderConfigurationRecord, AAC: the AudioSpecificConfig (after
     * the 2-byte AAC header); MP3: unused, NULL/0.  Copied into the init
     * segment as is; not referenced after the call.
     */
    const uint8_t   *config;
    size_t           config_len;

    uint32_t         width;         /* video, pixels, up to 65535; 0 ok */
    uint32_t         height;
    uint32_t         sample_rate;   /* audio, Hz, the output rate (e.g.
                                       44100 for HE-AAC with a 22050 core),
                                       required: it is the timescale */
    uint32_t         channels;      /* audio; 0 writes 2 */
} ws_stream_mp4_track_t;


typedef struct {
    /*
     * video: the NAL units with their length prefixes (of the size the
     * configuration record tells, 4 from every RTMP encoder), exactly as
     * in an FLV AVC/HEVC coded frame tag after its 5-byte header;
     * AAC: one raw AAC frame (after the 2-byte header); MP3: one MP3
     * frame (after the 1-byte header).  Copied into the fragment as is.
     */
    const uint8_t   *data;
    uint32_t         len;
    uint64_t         dts;           /* milliseconds, continuous 64-bit */
    int32_t          cts;           /* video: pts - dts, ms, may be < 0;
                                       audio: ignored */
    unsigned         key;           /* video: sync sample (IDR/IRAP);
                                       audio: ignored, all are sync */
} ws_stream_mp4_sample_t;


/*
 * The init segment: ftyp, then moov with mvhd, one trak per present
 * track (tkhd, mdia with mdhd, hdlr, minf with vmhd/smhd, dinf and an
 * stbl whose stsd holds avc1+avcC, hvc1+hvcC or mp4a+esds and whose
 * stts/stsc/stsz/stco are empty) and mvex with a trex per track.
 *
 * video or audio may be NULL, not both.  video->codec must be AVC or
 * HEVC with a well-formed configuration record (version 1, its
 * parameter set lists inside config_len); audio->codec AAC with an
 * AudioSpecificConfig of at least 2 bytes, or MP3; audio->sample_rate
 * must not be 0.
 *
 * out NULL: returns the size.  Otherwise writes the segment to out,
 * which must hold that many bytes, and returns the bytes written.
 * Returns 0 on invalid input, without writing anything.
 */
size_t ws_stream_mp4_init(uint8_t *out, const ws_stream_mp4_track_t *video,
    const ws_stream_mp4_track_t *audio);

/*
 * One fragment: moof (mfhd with sequence, then a traf per track that has
 * samples, video first: tfhd with default-base-is-moof, tfdt version 1,
 * trun with data offset and per-sample duration, size, flags and
 * composition offset), then one mdat with the video samples followed by
 * the audio samples.
 *
 * video and audio must be the same tracks (or NULLs) that built the init
 * segment: they decide the track ids, and audio->sample_rate the audio
 * timescale.  A track may have no samples in this fragment (nv or na 0);
 * nv + na must not be 0.
 *
 * Decode times: video dts * 90; audio round(dts * rate / 1000).  A
 * sample lasts until the next one; the last sample of a track until
 * v_end / a_end, the dts of that track's first sample in the next
 * fragment, so consecutive fragments join without gaps.  The dts of a
 * track must not decrease (equal dts give a 0 duration) and must not
 * pass its *_end; v_end/a_end are ignored for a track without samples.
 * trun is version 1 (signed composition offsets) when a video cts is
 * negative, else version 0.
 *
 * out NULL: returns the size.  Otherwise writes the fragment to out,
 * which must hold that many bytes, and returns the bytes written.
 * Returns 0 without writing for invalid input: no samples, samples
 * without a track, a video track that is not AVC/HEVC or an audio track
 * that is not AAC/MP3 or has no sample rate, decreasing dts, a duration
 * or composition offset that does not fit in 32 bits, more than 4 GiB of
 * sample data (the mdat size is 32-bit) or an audio run beyond 2 GiB
 * (the trun data offset is signed 32-bit).
 */
size_t ws_stream_mp4_fragment(uint8_t *out, uint32_t sequence,
    const ws_stream_mp4_track_t *video, const ws_stream_mp4_sample_t *vs,
    size_t nv, uint64_t v_end,
    const ws_stream_mp4_track_t *audio, const ws_stream_mp4_sample_t *as,
    size_t na, uint64_t a_end);

/* the decode time of an audio dts in the track's timescale */
uint64_t ws_stream_mp4_audio_time(uint64_t dts, uint32_t sample_rate);


#endif /* _WS_STREAM_MP4_H_INCLUDED_ */
