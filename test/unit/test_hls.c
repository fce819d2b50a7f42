
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The LL-HLS core: configuration check, cut decisions over synthetic
 * streams (frame rates with ms rounding, GOPs, forced cuts, audio only,
 * skipped leading media, a 32-bit wrap, discontinuities), part and
 * segment numbering, retention and expiry, lookups, request arguments,
 * blocking decisions and URIs.  A small glue stand-in commits each
 * closed part with handle 1000 + its number and frees what expires.
 */


#include "test.h"
#include "ws_stream_hls.h"


#define TEST_WALL   1700000000000ULL

#define P(h, n)  (&(h)->parts[(n) % WS_STREAM_HLS_PARTS])
#define S(h, m)  (&(h)->segs[(m) % WS_STREAM_HLS_SEGS])

#define V   WS_STREAM_TRACK_VIDEO
#define A   WS_STREAM_TRACK_AUDIO


typedef struct {
    ws_stream_hls_t     *h;
    uint64_t             next;      /* handle of the next commit */
    uint64_t             freed;     /* handles freed, in order */
    unsigned             bad;       /* the glue saw something wrong */
    unsigned             open;      /* the open part has frames */
    uint32_t             vframes;
    uint64_t             ingest;
    int64_t              wall;      /* ingest = TEST_WALL + dts + wall */

    /* what the committed parts looked like */
    uint64_t             parts;
    uint32_t             part_max;
    uint32_t             part_min;  /* not the last of a segment */
    uint32_t             not_exact; /* after warm_up, not the target */
    uint64_t             warm_up;   /* ms on the output timeline */
    uint32_t             seg_max;
    uint32_t             seg_min;
    uint64_t             segs;
    unsigned             keyless;   /* segments not independent */
} test_hls_glue_t;


static ws_stream_hls_t *
test_hls_new(uint32_t part, uint32_t segment, uint32_t window,
    uint32_t lead)
{
    ws_stream_hls_t       *h;
    ws_stream_hls_conf_t   conf;

    h = malloc(sizeof(ws_stream_hls_t));

    if (h == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }

    conf.part = part;
    conf.segment = segment;
    conf.window = window;
    conf.lead = lead;

    ws_stream_hls_init(h, &conf);

    return h;
}


static void
test_hls_glue(test_hls_glue_t *g, ws_stream_hls_t *h)
{
    memset(g, 0, sizeof(test_hls_glue_t));

    g->h = h;
    g->next = 1000;
    g->freed = 1000;
    g->part_min = UINT32_MAX;
    g->seg_min = UINT32_MAX;
}


/* the glue's side of a closed part: mux (nothing), commit, expire */

static void
test_hls_commit(test_hls_glue_t *g, int seg)
{
    size_t                  n, i;
    uint64_t                handles[WS_STREAM_HLS_SEG_PARTS];
    ws_stream_hls_t        *h;
    ws_stream_hls_seg_t    *s;
    ws_stream_hls_part_t   *p;
    ws_stream_hls_commit_t  c;

    h = g->h;

    c.handle = g->next;
    c.size = 500 + 100 * g->vframes;
    c.vframes = g->vframes;
    c.ingest = g->ingest;

    if (ws_stream_hls_commit(h, &c) != WS_STREAM_OK) {
        g->bad++;
        return;
    }

    g->next++;
    g->open = 0;
    g->vframes = 0;

    p = &h->parts[(h->committed - 1) % WS_STREAM_HLS_PARTS];

    if (p->handle != c.handle || p->id != h->committed || p->duration == 0) {
        g->bad++;
    }

    g->parts++;
    g->part_max = p->duration > g->part_max ? p->duration : g->part_max;

    if (!seg && p->duration < g->part_min) {
        g->part_min = p->duration;
    }

    if (!seg && p->start >= g->warm_up && p->duration != h->conf.part) {
        g->not_exact++;
    }

    if (seg) {
        s = &h->segs[(h->open - 1) % WS_STREAM_HLS_SEGS];

        if (!s->complete || s->id != h->open) {
            g->bad++;
        }

        g->segs++;
        g->seg_max = s->duration > g->seg_max ? s->duration : g->seg_max;
        g->keyless += !s->independent;

        if (g->segs > 1 && s->duration < g->seg_min) {
            g->seg_min = s->duration;
        }
    }

    while ((n = ws_stream_hls_expire(h, handles, WS_STREAM_HLS_SEG_PARTS))) {
        for (i = 0; i < n; i++) {
            if (handles[i] != g->freed++) {
                g->bad++;
            }
        }
    }
}


static int
test_hls_frame(test_hls_glue_t *g, unsigned track, unsigned key,
    uint32_t dts)
{
    int  rc;

    rc = ws_stream_hls_cut(g->h, track, key, dts);

    if (rc == WS_STREAM_HLS_PART || rc == WS_STREAM_HLS_SEGMENT) {
        if (ws_stream_hls_part_end(g->h) != ws_stream_hls_dts(g->h, dts)) {
            g->bad++;
        }

        test_hls_commit(g, rc == WS_STREAM_HLS_SEGMENT);
    }

    if (rc == WS_STREAM_HLS_SKIP || rc < 0) {
        return rc;
    }

    if (!g->open) {
        g->open = 1;
        g->ingest = TEST_WALL + ws_stream_hls_dts(g->h, dts) + g->wall;
    }

    g->vframes += track == V;

    return rc;
}


/* the dts of frame i at num/den frames per second, rounded to ms */

static uint32_t
test_hls_at(uint64_t i, uint64_t num, uint64_t den)
{
    return (uint32_t) ((2000 * den * i + num) / (2 * num));
}


/* video at num/den fps, a key every gop frames, AAC 48 kHz if audio */

static void
test_hls_stream(test_hls_glue_t *g, uint64_t num, uint64_t den,
    uint64_t gop, uint64_t frames, uint32_t t0, int audio)
{
    uint32_t  v, a;
    uint64_t  i, j;

    for (i = 0, j = 0; i < frames; i++) {
        v = t0 + test_hls_at(i, num, den);

        while (audio && (a = t0 + test_hls_at(j, 48000, 1024)) <= v) {
            test_hls_frame(g, A, 0, a);
            j++;
        }

        test_hls_frame(g, V, i % gop == 0, v);
    }
}


static void
test_hls_check(void)
{
    char                  err[256];
    ws_stream_hls_conf_t  c;

    c.part = 200;
    c.segment = 2000;
    c.window = 7;
    c.lead = 0;

    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_OK);

    c.window = 25;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_OK);
    c.window = 26;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_ERROR);
    T(strcmp(err, "a window of 26 segments of 2000 ms with 200 ms parts "
                  "needs room for 65 segments, 1040 parts, 16 parts in one "
                  "segment; the index holds 64, 1024, 64: use fewer or "
                  "shorter segments or longer parts") == 0);

    /* 6 s segments fit with 200 ms parts, 10 s need 500 ms parts */

    c.window = 7;
    c.segment = 6000;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_OK);
    c.segment = 10000;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_ERROR);
    c.part = 500;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_OK);

    /* ranges */

    c.part = 199;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_ERROR);
    T(strcmp(err, "the part target must be 200..2000 ms, not 199") == 0);
    c.part = 2001;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_ERROR);
    c.part = 2000;
    c.segment = 1500;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_ERROR);
    c.part = 200;
    c.segment = 999;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_ERROR);
    c.segment = 10001;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_ERROR);
    c.segment = 2000;
    c.window = 2;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_ERROR);
    c.window = 33;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_ERROR);
    c.window = 7;
    c.lead = 3;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_ERROR);
    c.lead = A;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_OK);

    /* 3 target durations: 1.5 s segments round up to 2 s */

    c.segment = 1500;
    c.window = 4;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_ERROR);
    T(strcmp(err, "a window of 4 segments of 1500 ms is shorter than 3 "
                  "target durations (6 s): use at least 5") == 0);
    c.window = 5;
    T(ws_stream_hls_check(&c, err, sizeof(err)) == WS_STREAM_OK);
}


/* 30 fps with 33/34 ms steps, 2 s GOP: exact 200 ms parts and 2 s
 * segments after the first second, the last frame before the cut */

static void
test_hls_30fps(void)
{
    int               rc[8];
    unsigned          i;
    ws_stream_hls_t  *h;
    test_hls_glue_t   g;

    h = test_hls_new(200, 2000, 7, 0);
    test_hls_glue(&g, h);

    /* frame 0 opens the first part; before the 33/34 pattern is known
     * (35 frames) the next interval may be 34: 167 + 34 > 200 cuts */

    for (i = 0; i < 8; i++) {
        rc[i] = test_hls_frame(&g, V, i == 0, test_hls_at(i, 30, 1));
    }

    T(rc[0] == WS_STREAM_HLS_APPEND && rc[4] == WS_STREAM_HLS_APPEND);
    T(rc[5] == WS_STREAM_HLS_PART && rc[6] == WS_STREAM_HLS_APPEND);
    T(h->committed == 1 && h->parts[0].duration == 167);
    T(h->parts[0].independent == 1 && h->parts[0].n == 0);
    T(ws_stream_hls_dts(h, 167) == 167 && ws_stream_hls_part_end(h) == 167);
    free(h);

    h = test_hls_new(200, 2000, 7, 0);
    test_hls_glue(&g, h);
    g.warm_up = 1000;
    test_hls_stream(&g, 30, 1, 60, 10000, 0, 0);

    T(g.bad == 0);
    T(g.part_max == 200 && g.part_min == 167 && g.not_exact == 0);
    T(g.seg_max == 2000 && g.seg_min == 2000);
    T(h->long_parts == 0 && h->forced == 0 && g.keyless == 0);
    free(h);

    /* 250 ms: parts of 7 frames, 233 or 234 ms, the last one 133 */

    h = test_hls_new(250, 2000, 7, 0);
    test_hls_glue(&g, h);
    test_hls_stream(&g, 30, 1, 60, 10000, 0, 0);

    T(g.bad == 0 && g.part_max == 234 && g.part_min == 233);
    T(g.seg_max == 2000 && g.seg_min == 2000 && h->long_parts == 0);
    T(h->segs[3].nparts == 9 && P(h, h->segs[3].first + 8)->duration
                                == 133);

    free(h);
}


/* parts never pass the target, for the usual rates and targets, with
 * audio interleaved; segments stay within segment + 499 ms */

static void
test_hls_rates(void)
{
    unsigned          r, p, bad, long_parts;
    ws_stream_hls_t  *h;
    test_hls_glue_t   g;

    static const uint64_t  rates[][2] = {
        { 30, 1 }, { 30000, 1001 }, { 25, 1 }, { 24, 1 }, { 24000, 1001 },
        { 50, 1 }, { 60, 1 }, { 60000, 1001 }, { 15, 1 }, { 10, 1 }
    };
    static const uint32_t  parts[] = { 200, 250, 300, 333, 500, 1000, 2000 };

    bad = 0;
    long_parts = 0;

    for (r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        for (p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
            h = test_hls_new(parts[p], 2000, 7, 0);
            test_hls_glue(&g, h);

            /* a 2 s GOP as frames: 60, 60 (2.002 s), 50, 48... */
            test_hls_stream(&g, rates[r][0], rates[r][1],
                            (2 * rates[r][0] + rates[r][1] / 2) / rates[r][1],
                            10000, 5, r == 0);

            bad += g.bad;
            long_parts += h->long_parts;

            if (g.part_max > parts[p] || g.seg_max > 2499 || h->forced
                || g.parts < 10000 * rates[r][1] / rates[r][0] * 1000
                             / parts[p] / 2)
            {
                fprintf(stderr, "rate %u/%u part %u: parts %u..%u, "
                        "segments %u..%u, forced %u\n",
                        (unsigned) rates[r][0], (unsigned) rates[r][1],
                        parts[p], g.part_min, g.part_max, g.seg_min,
                        g.seg_max, (unsigned) h->forced);
                bad++;
            }

            free(h);
        }
    }

    T(bad == 0);
    T(long_parts == 0);

    /* 25 fps: 40 ms frames cut 200 ms parts from the start */

    h = test_hls_new(200, 2000, 7, 0);
    test_hls_glue(&g, h);
    test_hls_stream(&g, 25, 1, 50, 10000, 0, 1);
    T(g.bad == 0 && g.part_min == 200 && g.part_max == 200);
    T(g.not_exact == 0 && g.seg_min == 2000 && g.seg_max == 2000);
    free(h);

    /* 60 fps, 1 s GOP: keys at 1 s do not cut a 2 s segment */

    h = test_hls_new(200, 2000, 7, 0);
    test_hls_glue(&g, h);
    g.warm_up = 1000;
    test_hls_stream(&g, 60, 1, 60, 10000, 0, 0);
    T(g.bad == 0 && g.part_max == 200 && g.not_exact == 0);
    T(g.seg_min == 2000 && g.seg_max == 2000 && h->forced == 0);
    free(h);
}


/* random jitter of +-2 ms: a part passes the target only when an
 * interval is longer than the last 8, and that is counted */

static void
test_hls_jitter(void)
{
    uint32_t          v, seed;
    uint64_t          i;
    ws_stream_hls_t  *h;
    test_hls_glue_t   g;

    h = test_hls_new(200, 2000, 7, 0);
    test_hls_glue(&g, h);
    seed = 12345;

    for (i = 0; i < 10000; i++) {
        seed = seed * 1103515245 + 12345;
        v = test_hls_at(i, 30, 1) + 10 + (seed >> 16) % 5 - 2;
        test_hls_frame(&g, V, i % 60 == 0, v);
    }

    T(g.bad == 0 && h->forced == 0);
    T(g.part_max <= 204 && g.seg_max <= 2004);
    T((g.part_max > 200) == (h->long_parts > 0));
    T(h->long_parts < g.parts / 50);

    free(h);
}


/* a GOP of 3 s with 2 s segments: cut without a key before 2.5 s */

static void
test_hls_forced(void)
{
    ws_stream_hls_t  *h;
    test_hls_glue_t   g;

    h = test_hls_new(200, 2000, 7, 0);
    test_hls_glue(&g, h);

    test_hls_stream(&g, 30, 1, 90, 3000, 0, 0);

    T(g.bad == 0 && h->forced == 33 && g.keyless + !h->cut.seg_key == 33);
    T(g.seg_max <= 2499 && g.part_max <= 200);

    /* segment 0 starts on a key, runs to 2467 (2467 + 34 > 2499) */

    T(h->segs[0].duration == 2467 && h->segs[0].independent);
    T(h->segs[1].start == 2467 && !h->segs[1].independent);
    T(h->parts[h->segs[1].first].independent == 0);

    /* keys at 3000, 6000, 9000 come too early in their segments, the
     * one at 12000 cuts (2133 ms in) */
    T(h->segs[2].start == 4933 && h->segs[3].start == 7400);
    T(h->segs[4].start == 9867 && h->segs[4].duration == 2133);
    T(h->segs[5].start == 12000 && h->segs[5].independent);

    free(h);

    /* a stream of keys only still cuts at the target */

    h = test_hls_new(200, 2000, 7, 0);
    test_hls_glue(&g, h);
    test_hls_stream(&g, 30, 1, 1, 600, 0, 0);
    T(g.bad == 0 && h->forced == 0 && g.seg_max == 2000);
    free(h);
}


/* audio only: every frame is a sync point; the lead is found by waiting */

static void
test_hls_audio(void)
{
    uint64_t          i;
    ws_stream_hls_t  *h;
    test_hls_glue_t   g;

    /* told: AAC 44.1 kHz, 23/24 ms frames, 8 of them make a part */

    h = test_hls_new(200, 2000, 7, A);
    test_hls_glue(&g, h);

    T(test_hls_frame(&g, V, 1, 0) == WS_STREAM_HLS_SKIP);

    for (i = 0; i < 10000; i++) {
        test_hls_frame(&g, A, 0, test_hls_at(i, 44100, 1024));
    }

    T(g.bad == 0 && g.part_max <= 200 && g.part_min >= 185);
    T(g.seg_min >= 1980 && g.seg_max <= 2020 && g.keyless == 0);
    T(h->parts[5].independent && h->long_parts == 0 && h->forced == 0);
    free(h);

    /* not told: audio waits a second for video, then leads */

    h = test_hls_new(200, 2000, 7, 0);
    test_hls_glue(&g, h);

    for (i = 0; i < 44; i++) {
        T(test_hls_frame(&g, A, 0, 100 + test_hls_at(i, 44100, 1024))
          == WS_STREAM_HLS_SKIP);
    }

    T(test_hls_frame(&g, A, 0, 100 + test_hls_at(i, 44100, 1024))
      == WS_STREAM_HLS_APPEND);
    T(h->cut.lead == A && h->cut.tl_start == 100 + 1022);
    free(h);

    /* not told: video within the second takes the lead */

    h = test_hls_new(200, 2000, 7, 0);
    test_hls_glue(&g, h);
    T(test_hls_frame(&g, A, 0, 0) == WS_STREAM_HLS_SKIP);
    T(test_hls_frame(&g, V, 0, 10) == WS_STREAM_HLS_SKIP);
    T(h->cut.lead == V);
    free(h);
}


/* before the first video key: everything is dropped; audio from the
 * key's dts on goes in */

static void
test_hls_leading(void)
{
    ws_stream_hls_t  *h;
    test_hls_glue_t   g;

    h = test_hls_new(200, 2000, 7, V);
    test_hls_glue(&g, h);

    T(test_hls_frame(&g, A, 0, 1000) == WS_STREAM_HLS_SKIP);
    T(test_hls_frame(&g, V, 0, 1010) == WS_STREAM_HLS_SKIP);
    T(test_hls_frame(&g, A, 0, 1021) == WS_STREAM_HLS_SKIP);
    T(test_hls_frame(&g, WS_STREAM_TRACK_DATA, 1, 1040)
      == WS_STREAM_HLS_SKIP);
    T(test_hls_frame(&g, V, 1, 1043) == WS_STREAM_HLS_APPEND);
    T(test_hls_frame(&g, A, 0, 1042) == WS_STREAM_HLS_SKIP);
    T(test_hls_frame(&g, A, 0, 1043) == WS_STREAM_HLS_APPEND);
    T(test_hls_frame(&g, V, 0, 1076) == WS_STREAM_HLS_APPEND);
    T(h->committed == 0 && h->cut.tl_start == 1043);

    /* a lead dts that does not grow never cuts */

    T(test_hls_frame(&g, V, 1, 1076) == WS_STREAM_HLS_APPEND);
    T(test_hls_frame(&g, V, 1, 1000) == WS_STREAM_HLS_APPEND);
    T(test_hls_frame(&g, V, 0, 1500) == WS_STREAM_HLS_PART);
    T(h->committed == 1 && h->parts[0].duration == 457);
    T(h->long_parts == 1);

    /* a cut waits for its commit */

    T(ws_stream_hls_cut(h, V, 0, 1700) == WS_STREAM_HLS_PART);
    T(ws_stream_hls_cut(h, V, 0, 1733) == WS_STREAM_ERROR);
    T(ws_stream_hls_cut(h, A, 0, 1733) == WS_STREAM_ERROR);
    test_hls_commit(&g, 0);
    T(g.bad == 0 && h->committed == 2);

    /* nothing to commit */
    T(ws_stream_hls_commit(h, &(ws_stream_hls_commit_t) { 1, 1, 1, 1 })
      == WS_STREAM_ERROR);

    free(h);
}


/* the 32-bit RTMP clock wraps after 49.7 days: the timeline does not */

static void
test_hls_wrap(void)
{
    uint32_t          t0;
    uint64_t          i, d, prev;
    unsigned          bad;
    ws_stream_hls_t  *h;
    test_hls_glue_t   g;

    h = test_hls_new(200, 2000, 7, 0);
    test_hls_glue(&g, h);

    t0 = UINT32_MAX - 5000;
    bad = 0;
    prev = 0;

    for (i = 0; i < 600; i++) {
        test_hls_frame(&g, V, i % 60 == 0, t0 + test_hls_at(i, 30, 1));
        d = ws_stream_hls_dts(h, t0 + test_hls_at(i, 30, 1));
        bad += i > 0 && (d - prev < 33 || d - prev > 34);
        prev = d;
    }

    T(bad == 0 && g.bad == 0);
    T(prev == (uint64_t) t0 + 19967);
    T(ws_stream_hls_dts(h, 100) == 0x100000000ULL + 100);
    T(g.seg_min == 2000 && g.seg_max == 2000 && g.part_max == 200);
    T(h->segs[4].start == (uint64_t) t0 + 8000);

    free(h);
}


/* a publisher restart: flagged segment, new generation, no jump */

static void
test_hls_discontinuity(void)
{
    uint64_t          i, end;
    ws_stream_hls_t  *h;
    test_hls_glue_t   g;

    h = test_hls_new(200, 2000, 7, 0);
    test_hls_glue(&g, h);

    /* nothing yet: nothing to close, nothing to flag */

    T(ws_stream_hls_discontinuity(h) == WS_STREAM_OK);
    T(ws_stream_hls_gen(h) == 0 && h->cut.pending_disc == 0);

    test_hls_stream(&g, 30, 1, 60, 150, 500, 0);

    /* 500 + 4967 was the last frame: the open part ends 33 ms later */

    T(ws_stream_hls_discontinuity(h) == WS_STREAM_HLS_SEGMENT);
    T(ws_stream_hls_close_gen(h) == 0 && ws_stream_hls_gen(h) == 1);
    end = ws_stream_hls_part_end(h);
    T(end == 500 + 5000);
    test_hls_commit(&g, 1);

    T(g.bad == 0 && h->open == 3 && h->end == end);
    T(h->segs[2].duration == 1000 && h->segs[2].complete);
    T(ws_stream_hls_gen(h) == 1 && h->next_gen == 1 && h->next_disc == 1);

    /* a publisher that stops and one that starts: one generation */
    T(ws_stream_hls_discontinuity(h) == WS_STREAM_OK);
    T(ws_stream_hls_gen(h) == 1 && ws_stream_hls_close_gen(h) == 1);

    /* the new publisher starts at 0, audio first: skipped */

    g.wall = 30000;
    T(test_hls_frame(&g, A, 0, 0) == WS_STREAM_HLS_SKIP);
    T(test_hls_frame(&g, V, 1, 20) == WS_STREAM_HLS_APPEND);
    T(ws_stream_hls_dts(h, 20) == end);
    T(test_hls_frame(&g, A, 0, 10) == WS_STREAM_HLS_SKIP);
    T(test_hls_frame(&g, A, 0, 21) == WS_STREAM_HLS_APPEND);
    T(ws_stream_hls_dts(h, 21) == end + 1);

    for (i = 1; i < 300; i++) {
        test_hls_frame(&g, V, i % 60 == 0, 20 + test_hls_at(i, 30, 1));
    }

    T(g.bad == 0 && h->open == 7);
    T(h->segs[3].start == end && h->segs[3].discontinuity);
    T(h->segs[3].gen == 1 && h->segs[3].dsn == 1);
    T(h->segs[4].gen == 1 && h->segs[4].dsn == 1 && !h->segs[4].discontinuity);
    T(h->segs[2].gen == 0 && h->segs[2].dsn == 0);
    T(h->discs == 1 && h->forced == 0);

    /* PROGRAM-DATE-TIME follows the ingest clock across the restart */

    T(h->segs[2].pdt == TEST_WALL + 4500);
    T(h->segs[3].pdt == TEST_WALL + end + 30000);
    T(h->segs[4].pdt == TEST_WALL + end + 30000 + 2000);

    /* the predictor kept its history: 200 ms parts go on at once */
    T(h->parts[h->segs[3].first].duration == 200);

    /* a mux failure: the part is dropped, the segment ends before it */

    i = 300;

    while (ws_stream_hls_cut(h, V, 0, 20 + test_hls_at(i++, 30, 1))
           != WS_STREAM_HLS_PART)
    {
        /* void */
    }

    T(h->open_parts == 9);
    end = h->end;
    T(ws_stream_hls_discontinuity(h) == WS_STREAM_OK);
    T(h->open == 8 && h->open_parts == 0 && h->end == end);
    T(h->segs[7].complete && h->segs[7].nparts == 9 && !h->cut.closing);
    g.open = 0;
    T(test_hls_frame(&g, V, 1, 7) == WS_STREAM_HLS_APPEND);
    T(ws_stream_hls_dts(h, 7) == end);

    free(h);
}


/* numbers, lookups, retention, expiry and a stale handle */

static void
test_hls_index(void)
{
    int                      rc;
    uint64_t                 msn, part, n, t;
    ws_stream_hls_t         *h;
    test_hls_glue_t          g;
    ws_stream_hls_head_t     hd;
    ws_stream_hls_chunk_t    c, old;
    ws_stream_hls_seg_ref_t  r;

    h = test_hls_new(200, 2000, 7, 0);
    test_hls_glue(&g, h);

    T(ws_stream_hls_head(h, &hd) == WS_STREAM_OK);
    T(hd.open == 0 && hd.open_parts == 0 && !ws_stream_hls_last(&hd, &msn,
                                                                &part));
    T(ws_stream_hls_part(h, 0, 0, &c) == WS_STREAM_HLS_NOT_YET);
    T(ws_stream_hls_part(h, 1, 14, &c) == WS_STREAM_HLS_NOT_YET);
    T(ws_stream_hls_part(h, 1, 15, &c) == WS_STREAM_HLS_BAD);
    T(ws_stream_hls_part(h, 2, 0, &c) == WS_STREAM_HLS_BAD);
    T(ws_stream_hls_segment(h, 0, &r) == WS_STREAM_HLS_NOT_YET);

    /* 3.3 s: segment 0 (10 parts), segment 1 with 6 parts */

    test_hls_stream(&g, 30, 1, 60, 100, 0, 0);

    T(ws_stream_hls_head(h, &hd) == WS_STREAM_OK);
    T(hd.open == 1 && hd.open_parts == 6 && hd.committed == 17);
    T(hd.end == 3200 && hd.prev_parts == 11 && hd.part_target == 200);
    T(ws_stream_hls_last(&hd, &msn, &part) && msn == 1 && part == 5);

    T(ws_stream_hls_part(h, 0, 9, &c) == WS_STREAM_HLS_FOUND);
    T(c.handle == 1009 && c.number == 9 && c.size == 1100 && c.gen == 0);
    T(ws_stream_hls_part(h, 0, 10, &c) == WS_STREAM_HLS_FOUND);
    T(c.handle == 1010 && c.size == 600);
    T(ws_stream_hls_part(h, 0, 11, &c) == WS_STREAM_HLS_GONE);
    T(ws_stream_hls_part(h, 1, 5, &c) == WS_STREAM_HLS_FOUND);
    T(c.handle == 1016 && c.number == 16);
    T(ws_stream_hls_part(h, 1, 6, &c) == WS_STREAM_HLS_NOT_YET);
    T(ws_stream_hls_part(h, 1, 20, &c) == WS_STREAM_HLS_NOT_YET);
    T(ws_stream_hls_part(h, 1, 21, &c) == WS_STREAM_HLS_BAD);
    T(ws_stream_hls_part(h, 2, 14, &c) == WS_STREAM_HLS_NOT_YET);
    T(ws_stream_hls_part(h, 3, 0, &c) == WS_STREAM_HLS_NOT_YET);
    T(ws_stream_hls_part(h, 4, 0, &c) == WS_STREAM_HLS_BAD);

    T(ws_stream_hls_segment(h, 0, &r) == WS_STREAM_HLS_FOUND);
    T(r.msn == 0 && r.nparts == 11 && r.duration == 2000 && r.gen == 0);
    T(r.bytes == 1000 + 9 * 1100 + 600 && r.parts[0].handle == 1000);
    T(r.parts[9].handle == 1009 && r.parts[10].size == 600);
    T(ws_stream_hls_segment(h, 1, &r) == WS_STREAM_HLS_NOT_YET);
    T(ws_stream_hls_segment(h, 3, &r) == WS_STREAM_HLS_NOT_YET);
    T(ws_stream_hls_segment(h, 4, &r) == WS_STREAM_HLS_BAD);

    /* the numbers: part n of segment msn, in order; the first segment
     * has a short first part (the 33/34 pattern is not known yet), so
     * a short last one */

    T(h->parts[0].duration == 167 && h->parts[10].duration == 33);
    T(h->parts[10].msn == 0 && h->parts[10].n == 10);
    T(h->parts[11].msn == 1 && h->parts[11].n == 0);
    T(h->parts[16].msn == 1 && h->parts[16].n == 5);
    T(h->parts[11].start == 2000 && h->segs[1].first == 11);

    /* segment 0 is listed until segment 7 completes (16 s), then stays
     * for its 2 s + the longest playlist, 7 x 2 s + 2 s of parts */

    T(ws_stream_hls_part(h, 0, 3, &old) == WS_STREAM_HLS_FOUND);
    T(ws_stream_hls_intact(h, old.number));

    for (t = 100; h->oldest == 0 && t < 2000; t++) {
        test_hls_frame(&g, V, t % 60 == 0, test_hls_at(t, 30, 1));

        if (h->oldest == 0) {
            rc = ws_stream_hls_part(h, 0, 3, &c);
            T(rc == WS_STREAM_HLS_FOUND);
        }
    }

    T(h->playlist_max == 7 * 2000 + 1800);
    T(h->end == 16000 + 2000 + 15800);
    T(h->early == 0 && g.freed == 1011 && g.bad == 0);
    T(ws_stream_hls_part(h, 0, 3, &c) == WS_STREAM_HLS_GONE);
    T(ws_stream_hls_segment(h, 0, &r) == WS_STREAM_HLS_GONE);
    T(!ws_stream_hls_intact(h, old.number));
    T(ws_stream_hls_intact(h, 11));
    T(ws_stream_hls_oldest_gen(h) == 0);

    /* steady state: 7 listed, the open one and 7 or 8 that left the
     * window (segment m goes when the end passes m x 2 s + 33.8 s) */

    free(h);
    h = test_hls_new(200, 2000, 7, 0);
    test_hls_glue(&g, h);
    test_hls_stream(&g, 30, 1, 60, 30000, 0, 0);
    T(g.bad == 0 && h->early == 0 && h->end == 999800);
    T(h->long_parts == 0 && g.part_max == 200);
    T(h->open == 499 && h->oldest == 484);
    T(h->oldest * 2000 + 33800 > h->end);
    T(h->committed - h->oldest_part == 15 * 10 + h->open_parts);

    free(h);

    /* caps too small for the configuration: the oldest go early, and
     * the glue never finds the index full */

    h = test_hls_new(200, 10000, 20, 0);
    test_hls_glue(&g, h);
    test_hls_stream(&g, 30, 1, 300, 20000, 0, 0);

    T(g.bad == 0 && h->early > 0);
    T(h->committed - h->oldest_part < WS_STREAM_HLS_PARTS);
    n = g.next - g.freed;
    T(n == h->committed - h->oldest_part);

    free(h);
}


static void
test_hls_args(void)
{
    ws_stream_hls_args_t  a;

#define test_hls_args_is(s)                                                  \
    ws_stream_hls_args((const uint8_t *) s, sizeof(s) - 1, &a)

    T(test_hls_args_is("") == WS_STREAM_OK);
    T(!a.has_msn && !a.has_part && a.skip == WS_STREAM_HLS_SKIP_NO);

    T(test_hls_args_is("_HLS_msn=12&_HLS_part=3") == WS_STREAM_OK);
    T(a.has_msn && a.msn == 12 && a.has_part && a.part == 3 && !a.skip);

    T(test_hls_args_is("_HLS_skip=YES&_HLS_msn=0") == WS_STREAM_OK);
    T(a.has_msn && a.msn == 0 && !a.has_part);
    T(a.skip == WS_STREAM_HLS_SKIP_YES);

    T(test_hls_args_is("_HLS_skip=v2") == WS_STREAM_OK);
    T(a.skip == WS_STREAM_HLS_SKIP_V2 && !a.has_msn);

    T(test_hls_args_is("_HLS_part=7") == WS_STREAM_OK);
    T(a.has_part && !a.has_msn && a.part == 7);

    /* unknown arguments, empty pairs, leading zeros (decimal-integer) */

    T(test_hls_args_is("token=abc&&_HLS_msn=007&_HLS_push=1&_HLS_&x")
      == WS_STREAM_OK);
    T(a.has_msn && a.msn == 7);
    T(test_hls_args_is("_hls_msn=x&_HLS_msnx=1&_HLS_Msn=q") == WS_STREAM_OK);
    T(!a.has_msn);

    T(test_hls_args_is("_HLS_msn=18446744073709551615") == WS_STREAM_OK);
    T(a.msn == UINT64_MAX);

    /* malformed */

    T(test_hls_args_is("_HLS_msn=18446744073709551616") == WS_STREAM_ERROR);
    T(strcmp(a.error, "_HLS_msn or _HLS_part is not a decimal-integer")
      == 0);
    T(test_hls_args_is("_HLS_msn=99999999999999999999") == WS_STREAM_ERROR);
    T(test_hls_args_is("_HLS_msn=") == WS_STREAM_ERROR);
    T(test_hls_args_is("_HLS_msn") == WS_STREAM_ERROR);
    T(test_hls_args_is("_HLS_msn=-1") == WS_STREAM_ERROR);
    T(test_hls_args_is("_HLS_msn=+1") == WS_STREAM_ERROR);
    T(test_hls_args_is("_HLS_msn=1.5") == WS_STREAM_ERROR);
    T(test_hls_args_is("_HLS_msn=%201") == WS_STREAM_ERROR);
    T(test_hls_args_is("_HLS_msn=1 ") == WS_STREAM_ERROR);
    T(test_hls_args_is("_HLS_part=0x1") == WS_STREAM_ERROR);
    T(test_hls_args_is("_HLS_msn=1&_HLS_msn=1") == WS_STREAM_ERROR);
    T(strcmp(a.error, "an _HLS_ argument is repeated") == 0);
    T(test_hls_args_is("_HLS_part=1&_HLS_part=2") == WS_STREAM_ERROR);
    T(test_hls_args_is("_HLS_skip=YES&_HLS_skip=YES") == WS_STREAM_ERROR);
    T(test_hls_args_is("_HLS_skip=yes") == WS_STREAM_ERROR);
    T(strcmp(a.error, "_HLS_skip is not YES or v2") == 0);
    T(test_hls_args_is("_HLS_skip=") == WS_STREAM_ERROR);
    T(test_hls_args_is("_HLS_skip=NO") == WS_STREAM_ERROR);
    T(test_hls_args_is("_HLS_skip") == WS_STREAM_ERROR);

#undef test_hls_args_is
}


static int
test_hls_decide(ws_stream_hls_head_t *hd, const char *query)
{
    const char            *why;
    ws_stream_hls_args_t   a;

    if (ws_stream_hls_args((const uint8_t *) query, strlen(query), &a)
        != WS_STREAM_OK)
    {
        return -1;
    }

    why = NULL;

    return ws_stream_hls_block(hd, &a, &why) == WS_STREAM_HLS_REFUSE
           ? (why ? WS_STREAM_HLS_REFUSE : -2)
           : ws_stream_hls_block(hd, &a, &why);
}


static void
test_hls_block(void)
{
    const char            *why;
    ws_stream_hls_head_t   hd;
    ws_stream_hls_args_t   a;

#define R  WS_STREAM_HLS_READY
#define W  WS_STREAM_HLS_WAIT
#define X  WS_STREAM_HLS_REFUSE

    /* segment 10 open with parts 0..2; 200 ms parts: limit 15 */

    memset(&hd, 0, sizeof(hd));
    hd.open = 10;
    hd.open_parts = 3;
    hd.prev_parts = 10;
    hd.part_target = 200;

    T(test_hls_decide(&hd, "") == R);
    T(test_hls_decide(&hd, "_HLS_skip=YES") == R);
    T(test_hls_decide(&hd, "_HLS_skip=v2") == X);
    T(test_hls_decide(&hd, "_HLS_msn=10&_HLS_skip=v2") == X);
    T(test_hls_decide(&hd, "_HLS_part=1") == X);

    /* msn alone: the segment complete */
    T(test_hls_decide(&hd, "_HLS_msn=0") == R);
    T(test_hls_decide(&hd, "_HLS_msn=9") == R);
    T(test_hls_decide(&hd, "_HLS_msn=10") == W);
    T(test_hls_decide(&hd, "_HLS_msn=11") == W);
    T(test_hls_decide(&hd, "_HLS_msn=12") == W);
    T(test_hls_decide(&hd, "_HLS_msn=13") == X);
    T(test_hls_decide(&hd, "_HLS_msn=18446744073709551615") == X);

    /* with a part: that part there, or the segment complete */
    T(test_hls_decide(&hd, "_HLS_msn=9&_HLS_part=0") == R);
    T(test_hls_decide(&hd, "_HLS_msn=9&_HLS_part=15") == R);
    T(test_hls_decide(&hd, "_HLS_msn=9&_HLS_part=99") == R);
    T(test_hls_decide(&hd, "_HLS_msn=10&_HLS_part=0") == R);
    T(test_hls_decide(&hd, "_HLS_msn=10&_HLS_part=2") == R);
    T(test_hls_decide(&hd, "_HLS_msn=10&_HLS_part=3") == W);
    T(test_hls_decide(&hd, "_HLS_msn=10&_HLS_part=17") == W);
    T(test_hls_decide(&hd, "_HLS_msn=10&_HLS_part=18") == X);
    T(test_hls_decide(&hd, "_HLS_msn=11&_HLS_part=0") == W);
    T(test_hls_decide(&hd, "_HLS_msn=11&_HLS_part=14") == W);
    T(test_hls_decide(&hd, "_HLS_msn=11&_HLS_part=15") == X);
    T(test_hls_decide(&hd, "_HLS_msn=12&_HLS_part=0") == W);
    T(test_hls_decide(&hd, "_HLS_msn=13&_HLS_part=0") == X);
    T(test_hls_decide(&hd, "_HLS_msn=10&_HLS_part=18446744073709551615")
      == X);

    /* segment 10 just completed, nothing of 11 yet */

    hd.open = 11;
    hd.open_parts = 0;

    T(test_hls_decide(&hd, "_HLS_msn=10") == R);
    T(test_hls_decide(&hd, "_HLS_msn=10&_HLS_part=3") == R);
    T(test_hls_decide(&hd, "_HLS_msn=11") == W);
    T(test_hls_decide(&hd, "_HLS_msn=11&_HLS_part=0") == W);
    T(test_hls_decide(&hd, "_HLS_msn=11&_HLS_part=14") == W);
    T(test_hls_decide(&hd, "_HLS_msn=11&_HLS_part=15") == X);
    T(test_hls_decide(&hd, "_HLS_msn=12") == W);
    T(test_hls_decide(&hd, "_HLS_msn=13") == X);

    /* nothing at all yet: 0 and 1 may be waited for */

    hd.open = 0;
    hd.prev_parts = 0;

    T(test_hls_decide(&hd, "_HLS_msn=0&_HLS_part=0") == W);
    T(test_hls_decide(&hd, "_HLS_msn=1") == W);
    T(test_hls_decide(&hd, "_HLS_msn=2") == X);

    /* the Advance Part Limit: 3 / target under 1 s, else 3 */

    hd.open = 5;
    hd.open_parts = 1;
    hd.part_target = 333;
    T(test_hls_decide(&hd, "_HLS_msn=5&_HLS_part=9") == W);
    T(test_hls_decide(&hd, "_HLS_msn=5&_HLS_part=10") == X);
    hd.part_target = 1000;
    T(test_hls_decide(&hd, "_HLS_msn=5&_HLS_part=3") == W);
    T(test_hls_decide(&hd, "_HLS_msn=5&_HLS_part=4") == X);
    T(test_hls_decide(&hd, "_HLS_msn=6&_HLS_part=2") == W);
    T(test_hls_decide(&hd, "_HLS_msn=6&_HLS_part=3") == X);

    /* the reasons */

    memset(&a, 0, sizeof(a));
    a.has_part = 1;
    T(ws_stream_hls_block(&hd, &a, &why) == X);
    T(strcmp(why, "_HLS_part without _HLS_msn") == 0);
    a.has_msn = 1;
    a.msn = 8;
    T(ws_stream_hls_block(&hd, &a, &why) == X);
    T(strcmp(why, "_HLS_msn is more than 2 past the last segment") == 0);
    a.msn = 5;
    a.part = 4;
    T(ws_stream_hls_block(&hd, &a, &why) == X);
    T(strcmp(why, "_HLS_part is more than the Advance Part Limit past "
                  "the last") == 0);
    a.skip = WS_STREAM_HLS_SKIP_V2;
    T(ws_stream_hls_block(&hd, &a, &why) == X);
    T(strcmp(why, "_HLS_skip=v2 needs CAN-SKIP-DATERANGES, which is not "
                  "offered") == 0);

#undef R
#undef W
#undef X
}


static void
test_hls_uri(void)
{
    ws_stream_hls_uri_t  u;

#define test_hls_uri_is(s)                                                   \
    ws_stream_hls_uri((const uint8_t *) s, sizeof(s) - 1, &u)

    T(test_hls_uri_is("index.m3u8") == WS_STREAM_HLS_URI_MULTI);
    T(test_hls_uri_is("media.m3u8") == WS_STREAM_HLS_URI_MEDIA);
    T(test_hls_uri_is("init-0.mp4") == WS_STREAM_HLS_URI_INIT && u.gen == 0);
    T(test_hls_uri_is("init-4294967295.mp4") == WS_STREAM_HLS_URI_INIT);
    T(u.gen == UINT32_MAX);
    T(test_hls_uri_is("0.m4s") == WS_STREAM_HLS_URI_SEGMENT && u.msn == 0);
    T(test_hls_uri_is("1234.m4s") == WS_STREAM_HLS_URI_SEGMENT);
    T(u.msn == 1234 && u.part == 0);
    T(test_hls_uri_is("18446744073709551615.m4s")
      == WS_STREAM_HLS_URI_SEGMENT && u.msn == UINT64_MAX);
    T(test_hls_uri_is("12.0.m4s") == WS_STREAM_HLS_URI_PART);
    T(u.msn == 12 && u.part == 0);
    T(test_hls_uri_is("0.63.m4s") == WS_STREAM_HLS_URI_PART);
    T(u.msn == 0 && u.part == 63);
    T(test_hls_uri_is("7.4294967295.m4s") == WS_STREAM_HLS_URI_PART);
    T(u.part == UINT32_MAX);

    /* nothing else */

    T(test_hls_uri_is("") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("index.m3u") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("Index.m3u8") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("media.m3u8x") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("init-.mp4") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("init-01.mp4") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("init--1.mp4") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("init-4294967296.mp4") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("init-1.m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("init-1.mp4.mp4") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is(".m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("01.m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("00.m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("1.01.m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("1..m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("1.2.3.m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is(".1.m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("1.m4s.m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("-1.m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("+1.m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is(" 1.m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("1_2.m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("1.M4S") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("1.m4s?x=1") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("../1.m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("18446744073709551616.m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("1.4294967296.m4s") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("1.m4") == WS_STREAM_HLS_URI_NONE);
    T(test_hls_uri_is("1.mp4") == WS_STREAM_HLS_URI_NONE);

#undef test_hls_uri_is
}


/* an index that starts at a media sequence number far from 0 */

static void
test_hls_first(void)
{
    uint64_t               base;
    ws_stream_hls_t       *h;
    test_hls_glue_t        g;
    ws_stream_hls_head_t   hd;
    ws_stream_hls_chunk_t  c;

    base = 3529460000ULL;

    h = test_hls_new(200, 2000, 7, 0);
    ws_stream_hls_first(h, base, 1764590000);
    test_hls_glue(&g, h);
    test_hls_stream(&g, 30, 1, 60, 600, 0, 0);

    T(ws_stream_hls_head(h, &hd) == WS_STREAM_OK);
    T(hd.open >= base + 9 && hd.open <= base + 10);
    T(hd.oldest >= base && hd.oldest < hd.open);
    T(ws_stream_hls_gen(h) == 1764590000);
    T(h->segs[hd.open % WS_STREAM_HLS_SEGS].gen == 1764590000
      || h->segs[(hd.open - 1) % WS_STREAM_HLS_SEGS].gen == 1764590000);
    T(ws_stream_hls_part(h, hd.open - 1, 0, &c) == WS_STREAM_HLS_FOUND);
    T(ws_stream_hls_part(h, base - 1, 0, &c) == WS_STREAM_HLS_GONE);
    T(ws_stream_hls_part(h, 0, 0, &c) == WS_STREAM_HLS_GONE);

    /* too late once something was committed */
    ws_stream_hls_first(h, 5, 5);
    T(ws_stream_hls_head(h, &hd) == WS_STREAM_OK && hd.open >= base + 9);
    T(ws_stream_hls_gen(h) == 1764590000);

    free(h);
}


/* a glue out of memory drops the oldest complete segments, early */

static void
test_hls_drop(void)
{
    size_t                 n;
    uint64_t               oldest, handles[WS_STREAM_HLS_SEG_PARTS];
    ws_stream_hls_t       *h;
    test_hls_glue_t        g;
    ws_stream_hls_head_t     hd;
    ws_stream_hls_chunk_t    c;
    ws_stream_hls_seg_ref_t  ref;

    h = test_hls_new(200, 2000, 7, 0);
    test_hls_glue(&g, h);
    test_hls_stream(&g, 30, 1, 60, 300, 0, 0);      /* 10 s: 5 segments */

    T(ws_stream_hls_head(h, &hd) == WS_STREAM_OK);
    oldest = hd.oldest;
    T(hd.open >= oldest + 4);
    T(ws_stream_hls_segment(h, oldest, &ref) == WS_STREAM_HLS_FOUND);

    n = ws_stream_hls_drop(h, handles, WS_STREAM_HLS_SEG_PARTS);
    T(n == ref.nparts && n >= 10 && h->early == 1);
    T(handles[0] == ref.parts[0].handle);
    T(ws_stream_hls_head(h, &hd) == WS_STREAM_OK && hd.oldest == oldest + 1);
    T(ws_stream_hls_part(h, oldest, 0, &c) == WS_STREAM_HLS_GONE);
    T(ws_stream_hls_part(h, oldest + 1, 0, &c) == WS_STREAM_HLS_FOUND);

    /* too small a buffer, and never the open segment */
    T(ws_stream_hls_drop(h, handles, 8) == 0);

    while (ws_stream_hls_drop(h, handles, WS_STREAM_HLS_SEG_PARTS)) {
        /* void */
    }

    T(ws_stream_hls_head(h, &hd) == WS_STREAM_OK && hd.oldest == hd.open);
    T(ws_stream_hls_part(h, hd.open, 0, &c) == WS_STREAM_HLS_FOUND);

    free(h);
}


void
test_hls(void)
{
    test_hls_check();
    test_hls_30fps();
    test_hls_rates();
    test_hls_jitter();
    test_hls_forced();
    test_hls_audio();
    test_hls_leading();
    test_hls_wrap();
    test_hls_discontinuity();
    test_hls_index();
    test_hls_args();
    test_hls_block();
    test_hls_uri();
    test_hls_first();
    test_hls_drop();
}
