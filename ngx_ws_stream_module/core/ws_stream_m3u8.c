
/*
 * Copyright (C) ngx_ws_stream authors
 */


#include <time.h>

#include "ws_stream_m3u8.h"


typedef struct {
    uint8_t         *p;             /* NULL: count only */
    uint8_t         *last;
    size_t           len;           /* of everything written or not */
} ws_stream_m3u8_buf_t;


#define ws_stream_m3u8_str(b, s)  ws_stream_m3u8_put(b, s, sizeof(s) - 1)


static void ws_stream_m3u8_put(ws_stream_m3u8_buf_t *b, const void *s,
    size_t n);
static void ws_stream_m3u8_uint(ws_stream_m3u8_buf_t *b, uint64_t v);
static void ws_stream_m3u8_ms(ws_stream_m3u8_buf_t *b, uint64_t ms);
static void ws_stream_m3u8_text(ws_stream_m3u8_buf_t *b, const char *s);
static void ws_stream_m3u8_date(ws_stream_m3u8_buf_t *b, uint64_t ms);
static void ws_stream_m3u8_digits(uint8_t *p, uint64_t v, size_t n);
static void ws_stream_m3u8_uri(ws_stream_m3u8_buf_t *b, uint64_t msn,
    uint64_t part, int has_part);
static void ws_stream_m3u8_start(ws_stream_m3u8_buf_t *b, unsigned disc,
    uint32_t gen, int *have_map, uint32_t *map);
static void ws_stream_m3u8_parts(ws_stream_m3u8_buf_t *b,
    const ws_stream_hls_snap_t *s, const ws_stream_hls_seg_t *g,
    uint64_t msn);


size_t
ws_stream_m3u8_media(uint8_t *out, size_t size,
    const ws_stream_hls_snap_t *s, const ws_stream_m3u8_media_t *opt)
{
    int                         have_map;
    size_t                      i;
    uint32_t                    skip, map;
    uint64_t                    msn, dsn;
    ws_stream_m3u8_buf_t        b;
    const ws_stream_hls_seg_t  *g;

    b.p = out;
    b.last = out ? out + size : NULL;
    b.len = 0;

    skip = (opt && opt->skip) ? ws_stream_m3u8_skippable(s) : 0;

    ws_stream_m3u8_str(&b, "#EXTM3U\n#EXT-X-VERSION:");
    ws_stream_m3u8_uint(&b, skip ? 9 : 6);
    ws_stream_m3u8_str(&b, "\n#EXT-X-TARGETDURATION:");
    ws_stream_m3u8_uint(&b, s->target);
    ws_stream_m3u8_str(&b, "\n#EXT-X-MEDIA-SEQUENCE:");
    ws_stream_m3u8_uint(&b, s->first);
    ws_stream_m3u8_str(&b, "\n");

    /* the discontinuities before the first segment */

    dsn = s->nsegs ? s->segs[0].dsn - s->segs[0].discontinuity : s->discs;

    if (dsn) {
        ws_stream_m3u8_str(&b, "#EXT-X-DISCONTINUITY-SEQUENCE:");
        ws_stream_m3u8_uint(&b, dsn);
        ws_stream_m3u8_str(&b, "\n");
    }

    ws_stream_m3u8_str(&b, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
                           "CAN-SKIP-UNTIL=");
    ws_stream_m3u8_ms(&b, 6000 * (uint64_t) s->target);
    ws_stream_m3u8_str(&b, ",PART-HOLD-BACK=");
    ws_stream_m3u8_ms(&b, 3 * (uint64_t) s->head.part_target);
    ws_stream_m3u8_str(&b, ",HOLD-BACK=");
    ws_stream_m3u8_ms(&b, 3000 * (uint64_t) s->target);
    ws_stream_m3u8_str(&b, "\n#EXT-X-PART-INF:PART-TARGET=");
    ws_stream_m3u8_ms(&b, s->head.part_target);
    ws_stream_m3u8_str(&b, "\n");

    if (skip) {
        ws_stream_m3u8_str(&b, "#EXT-X-SKIP:SKIPPED-SEGMENTS=");
        ws_stream_m3u8_uint(&b, skip);
        ws_stream_m3u8_str(&b, "\n");
    }

    have_map = 0;
    map = 0;

    for (i = skip; i < s->nsegs; i++) {
        g = &s->segs[i];
        msn = s->first + i;

        ws_stream_m3u8_start(&b, g->discontinuity, g->gen, &have_map, &map);

        ws_stream_m3u8_str(&b, "#EXT-X-PROGRAM-DATE-TIME:");
        ws_stream_m3u8_date(&b, g->pdt);
        ws_stream_m3u8_str(&b, "\n");

        if (msn >= s->parts_from) {
            ws_stream_m3u8_parts(&b, s, g, msn);
        }

        if (g->complete) {
            ws_stream_m3u8_str(&b, "#EXTINF:");
            ws_stream_m3u8_ms(&b, g->duration);
            ws_stream_m3u8_str(&b, ",\n");
            ws_stream_m3u8_uri(&b, msn, 0, 0);
            ws_stream_m3u8_str(&b, "\n");
        }
    }

    /* the open segment before its first part: the hinted part needs its
     * init segment and discontinuity */

    if (s->head.open_parts == 0) {
        ws_stream_m3u8_start(&b, s->next_disc, s->next_gen, &have_map, &map);
    }

    ws_stream_m3u8_str(&b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"");
    ws_stream_m3u8_uri(&b, s->head.open, s->head.open_parts, 1);
    ws_stream_m3u8_str(&b, "\"\n");

    for (i = 0; opt && i < opt->nreports; i++) {
        ws_stream_m3u8_str(&b, "#EXT-X-RENDITION-REPORT:URI=\"");
        ws_stream_m3u8_text(&b, opt->reports[i].uri);
        ws_stream_m3u8_str(&b, "\",LAST-MSN=");
        ws_stream_m3u8_uint(&b, opt->reports[i].msn);
        ws_stream_m3u8_str(&b, ",LAST-PART=");
        ws_stream_m3u8_uint(&b, opt->reports[i].part);
        ws_stream_m3u8_str(&b, "\n");
    }

    return b.len;
}


size_t
ws_stream_m3u8_multivariant(uint8_t *out, size_t size,
    const ws_stream_m3u8_variant_t *v, size_t n, unsigned independent)
{
    size_t                i;
    uint8_t               frac[3];
    ws_stream_m3u8_buf_t  b;

    b.p = out;
    b.last = out ? out + size : NULL;
    b.len = 0;

    ws_stream_m3u8_str(&b, "#EXTM3U\n#EXT-X-VERSION:6\n");

    if (independent) {
        ws_stream_m3u8_str(&b, "#EXT-X-INDEPENDENT-SEGMENTS\n");
    }

    for (i = 0; i < n; i++, v++) {
        ws_stream_m3u8_str(&b, "#EXT-X-STREAM-INF:BANDWIDTH=");
        ws_stream_m3u8_uint(&b, v->bandwidth);

        if (v->average) {
            ws_stream_m3u8_str(&b, ",AVERAGE-BANDWIDTH=");
            ws_stream_m3u8_uint(&b, v->average);
        }

        if (v->codecs) {
            ws_stream_m3u8_str(&b, ",CODECS=\"");
            ws_stream_m3u8_text(&b, v->codecs);
            ws_stream_m3u8_str(&b, "\"");
        }

        if (v->width && v->height) {
            ws_stream_m3u8_str(&b, ",RESOLUTION=");
            ws_stream_m3u8_uint(&b, v->width);
            ws_stream_m3u8_str(&b, "x");
            ws_stream_m3u8_uint(&b, v->height);
        }

        if (v->frame_rate) {
            ws_stream_m3u8_str(&b, ",FRAME-RATE=");
            ws_stream_m3u8_uint(&b, v->frame_rate / 1000);
            frac[0] = '.';
            frac[1] = (uint8_t) ('0' + v->frame_rate / 100 % 10);
            frac[2] = (uint8_t) ('0' + v->frame_rate / 10 % 10);
            ws_stream_m3u8_put(&b, frac, 3);
            frac[0] = (uint8_t) ('0' + v->frame_rate % 10);
            ws_stream_m3u8_put(&b, frac, 1);
        }

        ws_stream_m3u8_str(&b, "\n");
        ws_stream_m3u8_text(&b, v->uri);
        ws_stream_m3u8_str(&b, "\n");
    }

    return b.len;
}


uint32_t
ws_stream_m3u8_skippable(const ws_stream_hls_snap_t *s)
{
    uint32_t                    i;
    uint64_t                    boundary;
    const ws_stream_hls_seg_t  *g;

    boundary = 6000 * (uint64_t) s->target;

    for (i = 0; i < s->nsegs && s->first + i < s->parts_from; i++) {
        g = &s->segs[i];

        if (!g->complete
            || s->head.end < g->start + g->duration + boundary)
        {
            break;
        }
    }

    return i;
}


void
ws_stream_m3u8_rates(const ws_stream_hls_snap_t *s, uint64_t *peak,
    uint64_t *average, uint32_t *frame_rate)
{
    uint32_t                    i, complete;
    uint64_t                    bytes, ms, frames, bps;
    const ws_stream_hls_seg_t  *g;

    *peak = 0;
    bytes = 0;
    ms = 0;
    frames = 0;
    complete = 0;

    for (i = 0; i < s->nsegs; i++) {
        complete += s->segs[i].complete;
    }

    for (i = 0; i < s->nsegs; i++) {
        g = &s->segs[i];

        if ((complete && !g->complete) || g->duration == 0) {
            continue;
        }

        bps = (g->bytes * 8000 + g->duration - 1) / g->duration;
        *peak = bps > *peak ? bps : *peak;
        bytes += g->bytes;
        ms += g->duration;
        frames += g->vframes;
    }

    *average = ms ? (bytes * 8000 + ms - 1) / ms : 0;
    *frame_rate = ms ? (uint32_t) ((frames * 1000000 + ms / 2) / ms) : 0;
}


/* EXT-X-DISCONTINUITY and EXT-X-MAP as a segment needs them */

static void
ws_stream_m3u8_start(ws_stream_m3u8_buf_t *b, unsigned disc, uint32_t gen,
    int *have_map, uint32_t *map)
{
    if (disc) {
        ws_stream_m3u8_str(b, "#EXT-X-DISCONTINUITY\n");
    }

    if (!*have_map || *map != gen) {
        ws_stream_m3u8_str(b, "#EXT-X-MAP:URI=\"init-");
        ws_stream_m3u8_uint(b, gen);
        ws_stream_m3u8_str(b, ".mp4\"\n");
        *have_map = 1;
        *map = gen;
    }
}


static void
ws_stream_m3u8_parts(ws_stream_m3u8_buf_t *b, const ws_stream_hls_snap_t *s,
    const ws_stream_hls_seg_t *g, uint64_t msn)
{
    uint64_t                     j, k;
    const ws_stream_hls_part_t  *p;

    for (j = 0; j < g->nparts; j++) {
        k = g->first + j - s->first_part;

        if (g->first + j < s->first_part || k >= s->nparts) {
            continue;
        }

        p = &s->parts[k];

        ws_stream_m3u8_str(b, "#EXT-X-PART:DURATION=");
        ws_stream_m3u8_ms(b, p->duration);
        ws_stream_m3u8_str(b, ",URI=\"");
        ws_stream_m3u8_uri(b, msn, j, 1);
        ws_stream_m3u8_str(b, "\"");

        if (p->independent) {
            ws_stream_m3u8_str(b, ",INDEPENDENT=YES");
        }

        ws_stream_m3u8_str(b, "\n");
    }
}


static void
ws_stream_m3u8_put(ws_stream_m3u8_buf_t *b, const void *s, size_t n)
{
    size_t  room;

    if (b->p) {
        room = b->last - b->p;
        room = n < room ? n : room;
        memcpy(b->p, s, room);
        b->p += room;
    }

    b->len += n;
}


static void
ws_stream_m3u8_uint(ws_stream_m3u8_buf_t *b, uint64_t v)
{
    uint8_t   buf[20], *p;

    p = buf + sizeof(buf);

    do {
        *--p = (uint8_t) ('0' + v % 10);
        v /= 10;
    } while (v);

    ws_stream_m3u8_put(b, p, buf + sizeof(buf) - p);
}


static void
ws_stream_m3u8_ms(ws_stream_m3u8_buf_t *b, uint64_t ms)
{
    uint8_t  frac[4];

    ws_stream_m3u8_uint(b, ms / 1000);

    frac[0] = '.';
    frac[1] = (uint8_t) ('0' + ms / 100 % 10);
    frac[2] = (uint8_t) ('0' + ms / 10 % 10);
    frac[3] = (uint8_t) ('0' + ms % 10);

    ws_stream_m3u8_put(b, frac, 4);
}


/* a quoted-string's or URI line's characters: no '"', CR or LF */

static void
ws_stream_m3u8_text(ws_stream_m3u8_buf_t *b, const char *s)
{
    size_t  n;

    while (s && *s) {
        n = strcspn(s, "\"\r\n");
        ws_stream_m3u8_put(b, s, n);
        s += n;
        s += *s ? 1 : 0;
    }
}


/* ISO 8601 UTC with ms: 2024-05-01T12:00:00.000Z */

static void
ws_stream_m3u8_date(ws_stream_m3u8_buf_t *b, uint64_t ms)
{
    time_t     t;
    struct tm  tm;
    uint8_t    buf[24];

    t = (time_t) (ms / 1000);

    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999) {
        memset(&tm, 0, sizeof(struct tm));
        tm.tm_year = 70;
        tm.tm_mday = 1;
    }

    ws_stream_m3u8_digits(buf, (unsigned) tm.tm_year + 1900, 4);
    buf[4] = '-';
    ws_stream_m3u8_digits(buf + 5, (unsigned) tm.tm_mon + 1, 2);
    buf[7] = '-';
    ws_stream_m3u8_digits(buf + 8, (unsigned) tm.tm_mday, 2);
    buf[10] = 'T';
    ws_stream_m3u8_digits(buf + 11, (unsigned) tm.tm_hour, 2);
    buf[13] = ':';
    ws_stream_m3u8_digits(buf + 14, (unsigned) tm.tm_min, 2);
    buf[16] = ':';
    ws_stream_m3u8_digits(buf + 17, (unsigned) tm.tm_sec, 2);
    buf[19] = '.';
    ws_stream_m3u8_digits(buf + 20, ms % 1000, 3);
    buf[23] = 'Z';

    ws_stream_m3u8_put(b, buf, 24);
}


static void
ws_stream_m3u8_digits(uint8_t *p, uint64_t v, size_t n)
{
    while (n--) {
        p[n] = (uint8_t) ('0' + v % 10);
        v /= 10;
    }
}


/* <msn>.m4s or <msn>.<part>.m4s */

static void
ws_stream_m3u8_uri(ws_stream_m3u8_buf_t *b, uint64_t msn, uint64_t part,
    int has_part)
{
    ws_stream_m3u8_uint(b, msn);

    if (has_part) {
        ws_stream_m3u8_str(b, ".");
        ws_stream_m3u8_uint(b, part);
    }

    ws_stream_m3u8_str(b, ".m4s");
}
