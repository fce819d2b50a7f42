
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * flv2fmp4 IN.flv OUT.mp4: the muxer of the LL-HLS fallback end to end,
 * for test/mp4/check.sh.  Reads an FLV file (legacy AVC/HEVC, AAC/MP3
 * tags), writes the init segment and fragments of about 200 ms cut at
 * frame boundaries, audio and video muxed, into one fragmented MP4.
 * Prints what it saw as key=value lines.
 */


#include <stdio.h>
#include <stdlib.h>

#include "ws_stream_flv.h"
#include "ws_stream_mp4.h"


#define FLV2FMP4_FRAGMENT_MS  200


typedef struct {
    ws_stream_mp4_sample_t  *s;
    size_t                   n;
    size_t                   size;
    ws_stream_mp4_track_t    track;
    unsigned                 present;       /* a config or a frame seen */
    char                     codec[32];
} flv2fmp4_track_t;


static int flv2fmp4_video(flv2fmp4_track_t *t, const uint8_t *p,
    size_t len, uint64_t dts);
static int flv2fmp4_audio(flv2fmp4_track_t *t, const uint8_t *p,
    size_t len, uint64_t dts);
static void flv2fmp4_add(flv2fmp4_track_t *t, const uint8_t *p,
    size_t len, uint64_t dts, int32_t cts, unsigned key);
static uint64_t flv2fmp4_last_end(const flv2fmp4_track_t *t);
static void flv2fmp4_write(FILE *f, const uint8_t *p, size_t len);
static uint8_t *flv2fmp4_read(const char *name, size_t *len);
static void flv2fmp4_fail(const char *fmt, const char *arg)
    __attribute__ ((noreturn));


int
main(int argc, char **argv)
{
    FILE                          *f;
    size_t                         len, k, n, vi, ve, ai, ae, frags;
    uint8_t                       *flv, *buf;
    uint64_t                       dts, start, cut, v_end, a_end;
    unsigned                       type;
    flv2fmp4_track_t               v, a;
    const ws_stream_mp4_track_t   *vt, *at;

    if (argc != 3) {
        fprintf(stderr, "usage: flv2fmp4 IN.flv OUT.mp4\n");
        return 2;
    }

    flv = flv2fmp4_read(argv[1], &len);

    memset(&v, 0, sizeof(flv2fmp4_track_t));
    memset(&a, 0, sizeof(flv2fmp4_track_t));

    /* "FLV", version, flags, header size; then PreviousTagSize0 */

    if (len < 13 || memcmp(flv, "FLV", 3) != 0
        || ws_stream_rb32(flv + 5) > len - 4)
    {
        flv2fmp4_fail("%s: not an FLV file", argv[1]);
    }

    k = ws_stream_rb32(flv + 5) + 4;

    /* tags: type, 24-bit size, 24-bit timestamp + 8 high bits, stream */

    while (len - k >= 11) {
        type = flv[k] & 0x1f;
        n = ws_stream_rb24(flv + k + 1);
        dts = ws_stream_rb24(flv + k + 4) | (uint64_t) flv[k + 7] << 24;

        if (n > len - k - 11) {
            flv2fmp4_fail("%s: truncated tag", argv[1]);
        }

        if ((type == 9 && flv2fmp4_video(&v, flv + k + 11, n, dts) != 0)
            || (type == 8 && flv2fmp4_audio(&a, flv + k + 11, n, dts) != 0))
        {
            flv2fmp4_fail("%s: unusable tag", argv[1]);
        }

        k += 11 + n + 4;

        if (k > len) {
            break;
        }
    }

    vt = v.present ? &v.track : NULL;
    at = a.present ? &a.track : NULL;

    if (v.n + a.n == 0) {
        flv2fmp4_fail("%s: no frames", argv[1]);
    }

    f = fopen(argv[2], "wb");

    if (f == NULL) {
        flv2fmp4_fail("cannot open %s", argv[2]);
    }

    n = ws_stream_mp4_init(NULL, vt, at);
    buf = malloc(n ? n : 1);

    if (n == 0 || buf == NULL || ws_stream_mp4_init(buf, vt, at) != n) {
        flv2fmp4_fail("%s: init segment failed", argv[2]);
    }

    flv2fmp4_write(f, buf, n);
    free(buf);

    /*
     * A fragment runs from the first video frame at least 200 ms after
     * the last cut (any frame: LL-HLS parts need no key frame), with the
     * audio frames before that; without video, 200 ms of audio.  The
     * last sample of each track lasts until the next fragment's first.
     */

    start = (v.n && (a.n == 0 || v.s[0].dts <= a.s[0].dts))
            ? v.s[0].dts : a.s[0].dts;
    vi = 0;
    ai = 0;
    frags = 0;

    while (vi < v.n || ai < a.n) {
        ve = vi;
        cut = start + FLV2FMP4_FRAGMENT_MS;

        if (vi < v.n) {
            for (ve = vi + 1; ve < v.n && v.s[ve].dts < cut; ve++) {
                /* void */
            }

            cut = (ve < v.n) ? v.s[ve].dts : UINT64_MAX;
        }

        for (ae = ai; ae < a.n && a.s[ae].dts < cut; ae++) { /* void */ }

        if (ve == vi && ae == ai) {
            ae++;                               /* audio only: >= 1 frame */
        }

        v_end = (ve < v.n) ? v.s[ve].dts : flv2fmp4_last_end(&v);
        a_end = (ae < a.n) ? a.s[ae].dts : flv2fmp4_last_end(&a);

        n = ws_stream_mp4_fragment(NULL, (uint32_t) frags + 1,
                                   vt, v.s + vi, ve - vi, v_end,
                                   at, a.s + ai, ae - ai, a_end);
        buf = malloc(n ? n : 1);

        if (n == 0 || buf == NULL
            || ws_stream_mp4_fragment(buf, (uint32_t) frags + 1,
                                      vt, v.s + vi, ve - vi, v_end,
                                      at, a.s + ai, ae - ai, a_end) != n)
        {
            flv2fmp4_fail("%s: fragment failed", argv[2]);
        }

        flv2fmp4_write(f, buf, n);
        free(buf);

        frags++;
        vi = ve;
        ai = ae;
        start = cut;
    }

    if (fclose(f) != 0) {
        flv2fmp4_fail("cannot write %s", argv[2]);
    }

    printf("video_codec=%s\nvideo_frames=%zu\n"
           "audio_codec=%s\naudio_frames=%zu\nfragments=%zu\n",
           v.codec, v.n, a.codec, a.n, frags);

    free(v.s);
    free(a.s);
    free(flv);

    return 0;
}


static int
flv2fmp4_video(flv2fmp4_track_t *t, const uint8_t *p, size_t len,
    uint64_t dts)
{
    ws_stream_flv_info_t  info;

    if (ws_stream_flv_parse_video(p, len, &info) != WS_STREAM_OK) {
        fprintf(stderr, "video: %s\n", info.error);
        return -1;
    }

    /* legacy tags only: frame type/codec, packet type, cts, data */

    if (p[0] & 0x80) {
        fprintf(stderr, "video: enhanced RTMP tags not handled here\n");
        return -1;
    }

    if ((p[0] >> 4) == 5 || info.end) {
        return 0;                               /* command, end of stream */
    }

    if (info.flags & WS_STREAM_FLAG_CONFIG) {

        if (t->present && t->track.config) {
            return 0;                           /* a repeated header */
        }

        t->track.codec = info.codec;
        t->track.config = p + 5;
        t->track.config_len = len - 5;
        t->track.width = info.width;
        t->track.height = info.height;
        t->present = 1;
        memcpy(t->codec, info.codec_string, sizeof(t->codec));

        return 0;
    }

    flv2fmp4_add(t, p + 5, len - 5, dts, info.cts,
                 (info.flags & WS_STREAM_FLAG_KEY) != 0);

    return 0;
}


static int
flv2fmp4_audio(flv2fmp4_track_t *t, const uint8_t *p, size_t len,
    uint64_t dts)
{
    size_t                skip;
    ws_stream_flv_info_t  info;

    if (ws_stream_flv_parse_audio(p, len, &info) != WS_STREAM_OK) {
        fprintf(stderr, "audio: %s\n", info.error);
        return -1;
    }

    if (info.flags & WS_STREAM_FLAG_CONFIG) {

        if (t->present) {
            return 0;
        }

        t->track.codec = info.codec;
        t->track.config = p + 2;
        t->track.config_len = len - 2;
        t->track.sample_rate = info.sample_rate;
        t->track.channels = info.channels;
        t->present = 1;
        memcpy(t->codec, info.codec_string, sizeof(t->codec));

        return 0;
    }

    /* AAC: 2-byte header; MP3: 1 byte, its frame header gives the rate */

    skip = (info.codec == WS_STREAM_CODEC_AAC) ? 2 : 1;

    if (info.codec == WS_STREAM_CODEC_MP3 && !t->present) {
        t->track.codec = info.codec;
        t->track.sample_rate = info.sample_rate;
        t->track.channels = info.channels;
        t->present = 1;
        memcpy(t->codec, info.codec_string, sizeof(t->codec));
    }

    flv2fmp4_add(t, p + skip, len - skip, dts, 0, 1);

    return 0;
}


static void
flv2fmp4_add(flv2fmp4_track_t *t, const uint8_t *p, size_t len,
    uint64_t dts, int32_t cts, unsigned key)
{
    ws_stream_mp4_sample_t  *s;

    if (t->n == t->size) {
        t->size = t->size ? 2 * t->size : 256;
        t->s = realloc(t->s, t->size * sizeof(ws_stream_mp4_sample_t));

        if (t->s == NULL) {
            flv2fmp4_fail("%s", "out of memory");
        }
    }

    s = &t->s[t->n++];
    s->data = p;
    s->len = (uint32_t) len;
    s->dts = dts;
    s->cts = cts;
    s->key = key;
}


/* after the last frame: one more frame of the last frame's duration */

static uint64_t
flv2fmp4_last_end(const flv2fmp4_track_t *t)
{
    if (t->n < 2) {
        return t->n ? t->s[0].dts + 20 : 0;
    }

    return 2 * t->s[t->n - 1].dts - t->s[t->n - 2].dts;
}


static void
flv2fmp4_write(FILE *f, const uint8_t *p, size_t len)
{
    if (fwrite(p, 1, len, f) != len) {
        flv2fmp4_fail("%s", "write failed");
    }
}


static uint8_t *
flv2fmp4_read(const char *name, size_t *len)
{
    long      n;
    FILE     *f;
    uint8_t  *p;

    f = fopen(name, "rb");

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        flv2fmp4_fail("cannot read %s", name);
    }

    p = malloc(n ? (size_t) n : 1);

    if (p == NULL || fread(p, 1, (size_t) n, f) != (size_t) n) {
        flv2fmp4_fail("cannot read %s", name);
    }

    fclose(f);
    *len = (size_t) n;

    return p;
}


static void
flv2fmp4_fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "flv2fmp4: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}
