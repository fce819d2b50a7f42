
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Fragments: moof (mfhd, a traf per track: tfhd, tfdt, trun) + mdat, per
 * ISO/IEC 14496-12.  The init segment is ws_stream_mp4.c.
 */


#include "ws_stream_mp4_int.h"


/* sample_flags: sample_depends_on 2 (I), or 1 with sample_is_non_sync */
#define WS_STREAM_MP4_SYNC         0x02000000
#define WS_STREAM_MP4_NON_SYNC     0x01010000

/* tfhd: default-base-is-moof */
#define WS_STREAM_MP4_TFHD_FLAGS   0x020000

/* trun: data offset, sample duration, size, flags, composition offset */
#define WS_STREAM_MP4_TRUN_FLAGS   0x000f01
#define WS_STREAM_MP4_TRUN_SAMPLE  16

/* a decode time in the track's timescale: audio rate, video 90 kHz */
#define ws_stream_mp4_time(r, dts)                                           \
    ((r)->rate ? ws_stream_mp4_audio_time(dts, (r)->rate) : (dts) * 90)


/* one track's samples in a fragment */

typedef struct {
    const ws_stream_mp4_sample_t   *s;
    size_t                          n;
    uint64_t                        end;    /* dts after the last sample */
    uint32_t                        id;
    uint32_t                        rate;   /* audio; 0 for video */
    unsigned                        version;   /* trun */
    uint64_t                        bytes;
    uint64_t                        offset;    /* from the moof start */
} ws_stream_mp4_run_t;


static int ws_stream_mp4_run(ws_stream_mp4_run_t *r,
    const ws_stream_mp4_track_t *t, unsigned audio,
    const ws_stream_mp4_sample_t *s, size_t n, uint64_t end);
static void ws_stream_mp4_traf(ws_stream_mp4_out_t *o,
    const ws_stream_mp4_run_t *r);


size_t
ws_stream_mp4_fragment(uint8_t *out, uint32_t sequence,
    const ws_stream_mp4_track_t *video, const ws_stream_mp4_sample_t *vs,
    size_t nv, uint64_t v_end,
    const ws_stream_mp4_track_t *audio, const ws_stream_mp4_sample_t *as,
    size_t na, uint64_t a_end)
{
    size_t               i, k;
    uint64_t             moof, mdat, start, box;
    ws_stream_mp4_out_t  o;
    ws_stream_mp4_run_t  run[2];

    if (nv + na == 0 || nv > UINT32_MAX || na > UINT32_MAX) {
        return 0;
    }

    if (ws_stream_mp4_run(&run[0], video, 0, vs, nv, v_end) != WS_STREAM_OK
        || ws_stream_mp4_run(&run[1], audio, 1, as, na, a_end)
           != WS_STREAM_OK)
    {
        return 0;
    }

    run[0].id = 1;
    run[1].id = video ? 2 : 1;

    /* moof: header, mfhd, per traf: header, tfhd, tfdt, trun */

    moof = 8 + 16;

    for (k = 0; k < 2; k++) {
        if (run[k].n) {
            moof += 8 + 16 + 20 + 20 + WS_STREAM_MP4_TRUN_SAMPLE * run[k].n;
        }
    }

    /* the mdat size and the signed trun data offsets are 32-bit */

    mdat = 8 + run[0].bytes + run[1].bytes;

    if (mdat > UINT32_MAX
        || (run[1].n && moof + 8 + run[0].bytes > INT32_MAX)
        || moof + mdat > SIZE_MAX)
    {
        return 0;
    }

    run[0].offset = moof + 8;
    run[1].offset = moof + 8 + run[0].bytes;

    if (out == NULL) {
        return (size_t) (moof + mdat);
    }

    o.p = out;
    o.n = 0;

    start = ws_stream_mp4_box(&o, "moof");

    box = ws_stream_mp4_full(&o, "mfhd", 0, 0);
    ws_stream_mp4_put(&o, sequence, 4);     /* sequence_number */
    ws_stream_mp4_end(&o, box);

    for (k = 0; k < 2; k++) {
        if (run[k].n) {
            ws_stream_mp4_traf(&o, &run[k]);
        }
    }

    ws_stream_mp4_end(&o, start);

    ws_stream_mp4_put(&o, mdat, 4);
    ws_stream_mp4_bytes(&o, "mdat", 4);

    for (k = 0; k < 2; k++) {
        for (i = 0; i < run[k].n; i++) {
            ws_stream_mp4_bytes(&o, run[k].s[i].data, run[k].s[i].len);
        }
    }

    return (size_t) o.n;
}


static int
ws_stream_mp4_run(ws_stream_mp4_run_t *r, const ws_stream_mp4_track_t *t,
    unsigned audio, const ws_stream_mp4_sample_t *s, size_t n,
    uint64_t end)
{
    size_t    i;
    int64_t   cts, min, max;
    uint64_t  next;

    memset(r, 0, sizeof(ws_stream_mp4_run_t));

    if (n == 0) {
        return WS_STREAM_OK;
    }

    if (t == NULL || s == NULL) {
        return WS_STREAM_ERROR;
    }

    if (audio) {
        if ((t->codec != WS_STREAM_CODEC_AAC
             && t->codec != WS_STREAM_CODEC_MP3)
            || t->sample_rate == 0
            || end / 1000 >= UINT64_MAX / t->sample_rate)
        {
            return WS_STREAM_ERROR;
        }

    } else if ((t->codec != WS_STREAM_CODEC_AVC
                && t->codec != WS_STREAM_CODEC_HEVC)
               || end > UINT64_MAX / 90)
    {
        return WS_STREAM_ERROR;
    }

    r->s = s;
    r->n = n;
    r->end = end;
    r->rate = audio ? t->sample_rate : 0;

    /*
     * end bounds the conversions: a dts beyond it fails the order check
     * below, so an accepted run never wraps
     */

    min = 0;
    max = 0;

    for (i = 0; i < n; i++) {
        next = (i + 1 < n) ? s[i + 1].dts : end;

        if (next < s[i].dts
            || ws_stream_mp4_time(r, next) - ws_stream_mp4_time(r, s[i].dts)
               > UINT32_MAX)
        {
            return WS_STREAM_ERROR;
        }

        if (s[i].len && s[i].data == NULL) {
            return WS_STREAM_ERROR;
        }

        r->bytes += s[i].len;

        if (!audio) {
            cts = (int64_t) s[i].cts * 90;
            min = (cts < min) ? cts : min;
            max = (cts > max) ? cts : max;
        }
    }

    /* trun version 1 offsets are signed 32-bit, version 0 unsigned */

    r->version = (min < 0);

    if (min < INT32_MIN || max > (r->version ? INT32_MAX : UINT32_MAX)) {
        return WS_STREAM_ERROR;
    }

    return WS_STREAM_OK;
}


uint64_t
ws_stream_mp4_audio_time(uint64_t dts, uint32_t sample_rate)
{
    /* round(dts * rate / 1000) without the overflow of dts * rate */

    return dts / 1000 * sample_rate
           + ((dts % 1000) * sample_rate + 500) / 1000;
}


static void
ws_stream_mp4_traf(ws_stream_mp4_out_t *o, const ws_stream_mp4_run_t *r)
{
    size_t                         i;
    uint64_t                       traf, box, t, next;
    const ws_stream_mp4_sample_t  *s;

    traf = ws_stream_mp4_box(o, "traf");

    box = ws_stream_mp4_full(o, "tfhd", 0, WS_STREAM_MP4_TFHD_FLAGS);
    ws_stream_mp4_put(o, r->id, 4);         /* track_ID */
    ws_stream_mp4_end(o, box);

    box = ws_stream_mp4_full(o, "tfdt", 1, 0);
    ws_stream_mp4_put(o, ws_stream_mp4_time(r, r->s[0].dts), 8);
    ws_stream_mp4_end(o, box);

    box = ws_stream_mp4_full(o, "trun", r->version,
                             WS_STREAM_MP4_TRUN_FLAGS);
    ws_stream_mp4_put(o, r->n, 4);          /* sample_count */
    ws_stream_mp4_put(o, r->offset, 4);     /* data_offset */

    for (i = 0; i < r->n; i++) {
        s = &r->s[i];
        t = ws_stream_mp4_time(r, s->dts);
        next = ws_stream_mp4_time(r, (i + 1 < r->n) ? s[1].dts : r->end);

        ws_stream_mp4_put(o, next - t, 4);  /* sample_duration */
        ws_stream_mp4_put(o, s->len, 4);    /* sample_size */

        if (r->rate) {
            ws_stream_mp4_put(o, WS_STREAM_MP4_SYNC, 4);
            ws_stream_mp4_put(o, 0, 4);

        } else {
            ws_stream_mp4_put(o, s->key ? WS_STREAM_MP4_SYNC
                                        : WS_STREAM_MP4_NON_SYNC, 4);

            /* two's complement of a negative offset for version 1 */
            ws_stream_mp4_put(o, (uint64_t) ((int64_t) s->cts * 90), 4);
        }
    }

    ws_stream_mp4_end(o, box);
    ws_stream_mp4_end(o, traf);
}
