
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The playlists of Low-Latency HLS as text: the media playlist of a
 * ws_stream_hls_snap_t (full or as a delta update) and the multivariant
 * playlist of a list of variants.
 *
 * Each writer works like snprintf: it returns the exact length of the
 * whole playlist and writes at most size bytes of it to out (no NUL);
 * with out NULL it only counts.  So the glue takes one snapshot, asks
 * the length, allocates once and writes: the same input gives the same
 * bytes.
 *
 * Versions: a full media playlist needs 6 (EXT-X-MAP without
 * EXT-X-I-FRAMES-ONLY; floating EXTINF needs 3; the low-latency tags
 * need none), a delta update 9 (EXT-X-SKIP).  Nothing in the
 * multivariant playlist needs more than 1; it says 6, the version of
 * the playlists it leads to, so that a client that cannot play them
 * stops there.
 *
 * Durations are whole ms, written with 3 decimals: nothing is rounded,
 * so no part shows more than PART-TARGET and every EXTINF is the sum of
 * its parts.  PROGRAM-DATE-TIME is on every segment, UTC with ms.
 */


#ifndef _WS_STREAM_M3U8_H_INCLUDED_
#define _WS_STREAM_M3U8_H_INCLUDED_


#include "ws_stream_hls.h"


/* an EXT-X-RENDITION-REPORT: another rendition's last part */
typedef struct {
    const char      *uri;           /* relative to this playlist */
    uint64_t         msn;           /* LAST-MSN */
    uint64_t         part;          /* LAST-PART */
} ws_stream_m3u8_report_t;


typedef struct {
    unsigned                        skip;      /* _HLS_skip=YES asked */
    const ws_stream_m3u8_report_t  *reports;
    size_t                          nreports;
} ws_stream_m3u8_media_t;


/* an EXT-X-STREAM-INF */
typedef struct {
    const char      *uri;           /* the media playlist */
    uint64_t         bandwidth;     /* peak bits/s */
    uint64_t         average;       /* 0: no AVERAGE-BANDWIDTH */
    const char      *codecs;        /* "avc1.64001f,mp4a.40.2"; NULL */
    uint32_t         width;         /* 0: no RESOLUTION */
    uint32_t         height;
    uint32_t         frame_rate;    /* frames per 1000 s; 0: none */
} ws_stream_m3u8_variant_t;


/*
 * The media playlist: the window's segments with EXTINF (the open one
 * only by its parts), EXT-X-PART for the segments from s->parts_from
 * on, EXT-X-PRELOAD-HINT for the next part, EXT-X-MAP before the first
 * segment and wherever the init generation changes, EXT-X-DISCONTINUITY
 * where flagged, then the rendition reports.  opt may be NULL.  With
 * opt->skip and enough segments, a delta update (see
 * ws_stream_m3u8_skippable); else the whole playlist.
 */
size_t ws_stream_m3u8_media(uint8_t *out, size_t size,
    const ws_stream_hls_snap_t *s, const ws_stream_m3u8_media_t *opt);

size_t ws_stream_m3u8_multivariant(uint8_t *out, size_t size,
    const ws_stream_m3u8_variant_t *v, size_t n, unsigned independent);

/*
 * The segments a delta update replaces with EXT-X-SKIP: the oldest
 * complete ones that end at least the Skip Boundary (CAN-SKIP-UNTIL, 6
 * target durations) before the end of the last part, and never one
 * whose parts are listed.  0: the playlist is too short to skip any.
 */
uint32_t ws_stream_m3u8_skippable(const ws_stream_hls_snap_t *s);

/*
 * For EXT-X-STREAM-INF, over the listed complete segments (the open
 * one's parts while none is complete): BANDWIDTH, the largest segment
 * bit rate; AVERAGE-BANDWIDTH, all bytes over all time; FRAME-RATE in
 * frames per 1000 s (29970: 29.970).  Zeros when nothing was cut.
 */
void ws_stream_m3u8_rates(const ws_stream_hls_snap_t *s, uint64_t *peak,
    uint64_t *average, uint32_t *frame_rate);


#endif /* _WS_STREAM_M3U8_H_INCLUDED_ */
