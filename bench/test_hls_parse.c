/*
 * Tests for hls_parse: HTTP response heads, media playlists fed in pieces,
 * init segments and moof + mdat fragments built by hand.
 * Build and run: make -C bench test (sanitizers on).
 * Prints "N passed, M failed"; exit status 1 if anything failed.
 */
#include "hls_parse.h"
#include "sei.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int  passed, failed;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (cond) {                                                         \
            passed++;                                                       \
        } else {                                                            \
            failed++;                                                       \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)

#define N(a)  (sizeof(a) / sizeof((a)[0]))


/* ------------------------------------------------------------ HTTP */

static void
test_http(void)
{
    static const struct {
        const char  *in;
        int          rc;
        unsigned     status;
        int64_t      len;
        unsigned     close;
        unsigned     chunked;
    } t[] = {
        { "HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n",
          0, 200, 17, 0, 0 },
        { "HTTP/1.1 200 OK\r\nServer: nginx\r\ncontent-length:0\r\n"
          "Connection: keep-alive\r\n\r\n", 0, 200, 0, 0, 0 },
        { "HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n"
          "Connection: close\r\n\r\n", 0, 404, 5, 1, 0 },
        { "HTTP/1.1 503 Service Temporarily Unavailable\r\n"
          "Content-Length:  190 \r\nConnection: Keep-Alive, close\r\n\r\n",
          0, 503, 190, 1, 0 },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
          0, 200, -1, 0, 1 },
        { "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", 0, 200, 1, 1, 0 },
        { "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
          "Content-Length: 1\r\n\r\n", 0, 200, 1, 0, 0 },
        { "HTTP/1.1 204\r\n\r\n", 0, 204, -1, 0, 0 },
        { "HTTP/1.1 200 OK\nContent-Length: 3\n\n", 0, 200, 3, 0, 0 },
        { "HTTP/1.1 200 OK\r\nX-Content-Length: 9\r\n\r\n",
          0, 200, -1, 0, 0 },
        { "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n"
          "\r\n", -1, 0, 0, 0, 0 },
        { "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", -1, 0, 0, 0, 0 },
        { "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", -1, 0, 0, 0, 0 },
        { "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
          -1, 0, 0, 0, 0 },
        { "HTTP/2 200\r\n\r\n", -1, 0, 0, 0, 0 },
        { "HTTP/1.1 20 OK\r\n\r\n", -1, 0, 0, 0, 0 },
        { "HTTP/1.1 2000 OK\r\n\r\n", -1, 0, 0, 0, 0 },
        { "HTTP/1.1 600 Nope\r\n\r\n", -1, 0, 0, 0, 0 },
        { "ICY 200 OK\r\n\r\n", -1, 0, 0, 0, 0 },
        { "", -1, 0, 0, 0, 0 },
    };
    hls_http_resp_t  r;
    size_t           i, n;
    int              rc;

    for (i = 0; i < N(t); i++) {
        n = strlen(t[i].in);
        rc = hls_http_head(t[i].in, n, &r);
        CHECK(rc == t[i].rc, "head %zu: rc %d", i, rc);
        if (rc != 0 || t[i].rc != 0) {
            continue;
        }
        CHECK(r.status == t[i].status, "head %zu: status %u", i, r.status);
        CHECK(r.content_length == t[i].len, "head %zu: length %lld", i,
              (long long) r.content_length);
        CHECK(r.close == t[i].close, "head %zu: close %u", i, r.close);
        CHECK(r.chunked == t[i].chunked, "head %zu: chunked", i);
    }

    {
        static const char  h[] = "HTTP/1.1 200 OK\r\nA: b\r\n\r\nBODY";
        size_t             k;

        CHECK(hls_http_head_end(h, strlen(h)) == strlen(h) - 4, "end");
        for (k = 0; k < strlen(h) - 4; k++) {
            CHECK(hls_http_head_end(h, k) == 0, "end of %zu bytes", k);
        }
        CHECK(hls_http_head_end("\r\n\r\n", 4) == 4, "empty head");
        CHECK(hls_http_head_end("\n\n", 2) == 0, "LF only is not found");
    }
}


/* ------------------------------------------------------------ playlist */

static const char  playlist[] =
    "#EXTM3U\n"
    "#EXT-X-VERSION:6\n"
    "#EXT-X-TARGETDURATION:2\n"
    "#EXT-X-MEDIA-SEQUENCE:4\n"
    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.000,"
    "PART-HOLD-BACK=0.600,HOLD-BACK=6.000\n"
    "#EXT-X-PART-INF:PART-TARGET=0.200\n"
    "#EXT-X-MAP:URI=\"init-3.mp4\"\n"
    "#EXT-X-PROGRAM-DATE-TIME:2026-12-01T11:04:27.429Z\n"
    "#EXTINF:2.000,\n"
    "4.m4s\n"
    "#EXT-X-PART:DURATION=0.200,URI=\"5.8.m4s\"\n"
    "#EXT-X-PART:DURATION=0.200,URI=\"5.9.m4s\"\n"
    "#EXTINF:2.000,\n"
    "5.m4s\n"
    "#EXT-X-PART:DURATION=0.200,URI=\"6.0.m4s\",INDEPENDENT=YES\n"
    "#EXT-X-PART:DURATION=0.200,URI=\"6.1.m4s\"\n"
    "#EXT-X-PART:DURATION=0.200,URI=\"6.2.m4s\"\n"
    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"6.3.m4s\"\n";


static void
feed_split(hls_pl_t *pl, const char *s, size_t step)
{
    size_t  n = strlen(s), i, k;

    for (i = 0; i < n; i += k) {
        k = step == 0 || step > n - i ? n - i : step;
        hls_pl_feed(pl, (const uint8_t *) s + i, k);
    }
    hls_pl_end(pl);
}


static hls_part_id_t
at(const hls_pl_t *pl, unsigned i)
{
    return pl->queue[(pl->qfirst + i) % HLS_PL_QUEUE];
}


static void
test_playlist(void)
{
    static const size_t   steps[] = { 0, 1, 2, 3, 7, 64, 255 };
    static const struct {
        uint64_t  msn;
        uint32_t  part;
        unsigned  queued;         /* parts queued after it */
    } after[] = {
        { 0, 0, 5 }, { 5, 8, 4 }, { 5, 9, 3 }, { 5, 20, 3 }, { 6, 1, 1 },
        { 6, 2, 0 }, { 7, 0, 0 },
    };
    hls_pl_t       pl;
    hls_part_id_t  a, id;
    size_t         i, j;

    for (i = 0; i < N(steps); i++) {
        hls_pl_init(&pl, NULL);
        feed_split(&pl, playlist, steps[i]);
        CHECK(pl.extm3u && pl.have_last && pl.have_hint && pl.have_map,
              "step %zu: flags", steps[i]);
        CHECK(pl.last.msn == 6 && pl.last.part == 2, "step %zu: last %llu.%u",
              steps[i], (unsigned long long) pl.last.msn, pl.last.part);
        CHECK(pl.hint.msn == 6 && pl.hint.part == 3, "step %zu: hint",
              steps[i]);
        CHECK(pl.map_gen == 3, "step %zu: map %u", steps[i], pl.map_gen);
        CHECK(pl.part_target_ms == 200, "step %zu: target %u", steps[i],
              pl.part_target_ms);
        CHECK(pl.parts == 5 && pl.bad == 0 && pl.qlen == 0,
              "step %zu: parts %u bad %u queued %u", steps[i], pl.parts,
              pl.bad, pl.qlen);
    }

    for (i = 0; i < N(after); i++) {
        a.msn = after[i].msn;
        a.part = after[i].part;
        hls_pl_init(&pl, &a);
        feed_split(&pl, playlist, 5);
        CHECK(pl.qlen == after[i].queued && pl.dropped == 0,
              "after %llu.%u: %u queued", (unsigned long long) a.msn, a.part,
              pl.qlen);
        for (j = 0; j < pl.qlen; j++) {
            id = at(&pl, (unsigned) j);
            CHECK(hls_part_before(&a, &id), "after %zu: order", i);
            if (j > 0) {
                a = at(&pl, (unsigned) j - 1);
                CHECK(hls_part_before(&a, &id), "queue in order");
            }
        }
        if (pl.qlen > 0) {
            id = at(&pl, pl.qlen - 1);
            CHECK(id.msn == 6 && id.part == 2, "queue ends with the last");
        }
    }

    /* more new parts than the queue: the newest are kept */
    {
        char     big[8192];
        size_t   o = 0;
        unsigned k;

        o += (size_t) snprintf(big + o, sizeof(big) - o, "#EXTM3U\r\n");
        for (k = 0; k < 40; k++) {
            o += (size_t) snprintf(big + o, sizeof(big) - o,
                                   "#EXT-X-PART:DURATION=0.2,URI=\"%u.%u.m4s\""
                                   "\r\n", 10 + k / 10, k % 10);
        }
        a.msn = 10;
        a.part = 4;
        hls_pl_init(&pl, &a);
        feed_split(&pl, big, 13);
        CHECK(pl.qlen == HLS_PL_QUEUE && pl.dropped == 35 - HLS_PL_QUEUE,
              "big: %u queued, %u dropped", pl.qlen, pl.dropped);
        id = at(&pl, 0);
        CHECK(id.msn == 12 && id.part == 4, "big: first kept %llu.%u",
              (unsigned long long) id.msn, id.part);
        CHECK(!pl.have_hint && pl.last.msn == 13 && pl.last.part == 9,
              "big: last");
    }

    /* odd lines */
    {
        static const char  odd[] =
            "#EXTM3U\n"
            "#EXT-X-PART:DURATION=0.2,URI=\"a/b/7.1.m4s\",INDEPENDENT=YES\n"
            "#EXT-X-PART:DURATION=0.2,URI=\"7.01.m4s\"\n"
            "#EXT-X-PART:DURATION=0.2,URI=\"7.1.m4s\"\n"
            "#EXT-X-PART:DURATION=0.2,URI=\"7.0.m4s\"\n"
            "#EXT-X-PART:DURATION=0.2\n"
            "#EXT-X-PART:URI=\"7.2.m4s\n"
            "#EXT-X-PART:X-URI=\"9.9.m4s\",URI=\"7.3.m4s\"\n"
            "#EXT-X-PART:X=\"a,URI=8.8.m4s\",URI=\"7.4.m4s\"\n"
            "#EXT-X-PRELOAD-HINT:TYPE=MAP,URI=\"init-9.mp4\"\n"
            "#EXT-X-PRELOAD-HINT:URI=\"7.5.m4s\",TYPE=PART\n"
            "#EXT-X-MAP:URI=\"init-01.mp4\"\n";
        char  longline[600];

        hls_pl_init(&pl, NULL);
        feed_split(&pl, odd, 0);
        CHECK(pl.parts == 8 && pl.bad == 5, "odd: parts %u bad %u", pl.parts,
              pl.bad);
        CHECK(pl.last.msn == 7 && pl.last.part == 4, "odd: last %llu.%u",
              (unsigned long long) pl.last.msn, pl.last.part);
        CHECK(pl.have_hint && pl.hint.part == 5, "odd: hint");
        CHECK(!pl.have_map, "odd: init-01 is not a generation");

        memset(longline, 'x', sizeof(longline));
        memcpy(longline, "#EXT-X-PART:URI=\"1.1.m4s\",", 26);
        longline[sizeof(longline) - 1] = '\0';
        hls_pl_init(&pl, NULL);
        hls_pl_feed(&pl, (const uint8_t *) "#EXTM3U\n", 8);
        hls_pl_feed(&pl, (const uint8_t *) longline, strlen(longline));
        hls_pl_feed(&pl, (const uint8_t *) "\n", 1);
        feed_split(&pl, "#EXT-X-PART:URI=\"2.0.m4s\"", 4);
        CHECK(pl.parts == 1 && pl.last.msn == 2, "long line skipped");

        hls_pl_init(&pl, NULL);
        feed_split(&pl, "#EXT-X-VERSION:6\n#EXTM3U\n", 0);
        CHECK(!pl.extm3u, "#EXTM3U must come first");
    }

    /* part URIs */
    {
        static const struct {
            const char  *s;
            int          rc;
            uint64_t     msn;
            uint32_t     part;
        } u[] = {
            { "0.0.m4s", 0, 0, 0 },
            { "12.345.m4s", 0, 12, 345 },
            { "/llhls/live/x/3.4.m4s", 0, 3, 4 },
            { "18446744073709551615.4294967295.m4s", 0, UINT64_MAX,
              UINT32_MAX },
            { "18446744073709551616.0.m4s", -1, 0, 0 },
            { "1.4294967296.m4s", -1, 0, 0 },
            { "01.2.m4s", -1, 0, 0 },
            { "1.2.mp4", -1, 0, 0 },
            { "1.m4s", -1, 0, 0 },
            { "1..m4s", -1, 0, 0 },
            { ".1.m4s", -1, 0, 0 },
            { "1.2.3.m4s", -1, 0, 0 },
            { "a.2.m4s", -1, 0, 0 },
            { "", -1, 0, 0 },
        };

        for (i = 0; i < N(u); i++) {
            id.msn = 99;
            id.part = 99;
            CHECK(hls_part_uri(u[i].s, strlen(u[i].s), &id) == u[i].rc,
                  "uri %s", u[i].s);
            if (u[i].rc == 0) {
                CHECK(id.msn == u[i].msn && id.part == u[i].part, "uri %s",
                      u[i].s);
            }
        }
    }
}


/* ------------------------------------------------------------ fMP4 */

typedef struct {
    uint8_t  *p;
    size_t    len;
    size_t    cap;
} buf_t;


static void
b_put(buf_t *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        size_t  cap = b->cap ? b->cap : 1024;

        while (cap < b->len + n) {
            cap *= 2;
        }
        b->p = realloc(b->p, cap);
        if (b->p == NULL) {
            perror("realloc");
            exit(2);
        }
        b->cap = cap;
    }
    if (n) {
        memcpy(b->p + b->len, d, n);
    }
    b->len += n;
}


static void
b_be32(buf_t *b, uint32_t v)
{
    uint8_t  x[4] = { (uint8_t) (v >> 24), (uint8_t) (v >> 16),
                      (uint8_t) (v >> 8), (uint8_t) v };

    b_put(b, x, 4);
}


static uint32_t
get32(const buf_t *b, size_t at)
{
    return (uint32_t) b->p[at] << 24 | (uint32_t) b->p[at + 1] << 16
           | (uint32_t) b->p[at + 2] << 8 | b->p[at + 3];
}


static void
set32(buf_t *b, size_t at, uint32_t v)
{
    b->p[at] = (uint8_t) (v >> 24);
    b->p[at + 1] = (uint8_t) (v >> 16);
    b->p[at + 2] = (uint8_t) (v >> 8);
    b->p[at + 3] = (uint8_t) v;
}


/* opens a box: returns where its size goes */
static size_t
box_open(buf_t *b, const char *type)
{
    size_t  at = b->len;

    b_be32(b, 0);
    b_put(b, type, 4);
    return at;
}


static void
box_close(buf_t *b, size_t at)
{
    set32(b, at, (uint32_t) (b->len - at));
}


static void
full(buf_t *b, uint8_t version, uint32_t flags)
{
    b_be32(b, (uint32_t) version << 24 | flags);
}


static void
trak(buf_t *b, uint32_t id, const char *handler, int v1)
{
    size_t  t, x;
    int     i;

    t = box_open(b, "trak");
    x = box_open(b, "tkhd");
    full(b, (uint8_t) v1, 3);
    for (i = 0; i < (v1 ? 4 : 2); i++) {
        b_be32(b, 0);                   /* creation, modification */
    }
    b_be32(b, id);
    for (i = 0; i < 15 + v1; i++) {
        b_be32(b, 0);
    }
    box_close(b, x);
    x = box_open(b, "mdia");
    {
        size_t  h = box_open(b, "hdlr");

        full(b, 0, 0);
        b_be32(b, 0);
        b_put(b, handler, 4);
        b_be32(b, 0);
        b_be32(b, 0);
        b_be32(b, 0);
        b_put(b, "", 1);
        box_close(b, h);
    }
    box_close(b, x);
    box_close(b, t);
}


static void
test_init(void)
{
    buf_t     b = { 0 };
    size_t    m, n;
    uint32_t  track;

    m = box_open(&b, "ftyp");
    b_put(&b, "iso6\0\0\0\0", 8);
    box_close(&b, m);
    m = box_open(&b, "moov");
    n = box_open(&b, "mvhd");
    full(&b, 0, 0);
    box_close(&b, n);
    trak(&b, 7, "soun", 0);
    trak(&b, 9, "vide", 1);
    trak(&b, 11, "vide", 0);
    box_close(&b, m);

    track = 0;
    CHECK(hls_mp4_video_track(b.p, b.len, &track) == 0 && track == 9,
          "init: video track %u", track);
    for (n = 0; n < b.len; n++) {
        /* every truncation: no video track or the right one, no overread */
        track = 0;
        if (hls_mp4_video_track(b.p, n, &track) == 0) {
            CHECK(track == 9, "init cut at %zu: track %u", n, track);
        }
    }
    b.len = 0;
    m = box_open(&b, "moov");
    trak(&b, 7, "soun", 0);
    box_close(&b, m);
    CHECK(hls_mp4_video_track(b.p, b.len, &track) == -1, "audio only");
    CHECK(hls_mp4_video_track(b.p, 0, &track) == -1, "empty");
    free(b.p);
}


/* the samples a walk handed back */
typedef struct {
    int       video[64];
    int       key[64];
    uint32_t  size[64];
    size_t    head_len[64];
    uint8_t   head[64][HLS_SAMPLE_HEAD];
    uint64_t  pos[64];            /* f->pos when handed back */
    unsigned  n;
    const hls_frag_t  *f;
} rec_t;


static void
on_sample(void *ctx, int video, int key, const uint8_t *head,
    size_t head_len, uint32_t size)
{
    rec_t  *r = ctx;

    if (r->n == 64) {
        return;
    }
    r->video[r->n] = video;
    r->key[r->n] = key;
    r->size[r->n] = size;
    r->head_len[r->n] = head_len;
    r->pos[r->n] = r->f->pos;
    memcpy(r->head[r->n], head, head_len);
    r->n++;
}


typedef struct {
    uint32_t  track;
    uint32_t  tfhd_flags;         /* 0x020000 default-base-is-moof ... */
    uint32_t  trun_flags;
    uint32_t  nsamples;
    uint32_t  size;               /* per sample (0: from the sample) */
    int       stamped;            /* video: stamp SEI first in a sample */
} traf_spec_t;


/* the video samples: SEI stamp NAL (index = sample), then a slice */
static void
sample_bytes(buf_t *b, uint32_t i, uint32_t size, int stamped)
{
    uint8_t        nal[BENCH_SEI_MAX];
    bench_stamp_t  st = { 1700000000000000ULL + i, i, 0, i * 33 };
    size_t         n, start = b->len, k;

    if (stamped) {
        n = bench_sei_make(nal, sizeof(nal), &st);
        b_be32(b, (uint32_t) n);
        b_put(b, nal, n);
    }
    b_be32(b, size - (uint32_t) (b->len - start) - 4);
    for (k = b->len - start; k < size; k++) {
        b_put(b, "\x65", 1);
    }
}


/*
 * moof (+ mdat) of trafs: video samples of 300 + 50 * i bytes (or
 * spec.size), audio samples of 20 + i; mdat holds them in traf order.
 */
static void
fragment(buf_t *b, const traf_spec_t *spec, size_t nspec, int with_mdat)
{
    size_t    moof, traf, x, offs[8], data, o;
    uint32_t  i, k, size;

    moof = box_open(b, "moof");
    x = box_open(b, "mfhd");
    full(b, 0, 0);
    b_be32(b, 1);
    box_close(b, x);
    for (k = 0; k < nspec; k++) {
        traf = box_open(b, "traf");
        x = box_open(b, "tfhd");
        full(b, 0, spec[k].tfhd_flags);
        b_be32(b, spec[k].track);
        if (spec[k].tfhd_flags & 0x1) {
            b_be32(b, 0);
            b_be32(b, 0);               /* base-data-offset: moof at 0 */
        }
        if (spec[k].tfhd_flags & 0x10) {
            b_be32(b, spec[k].size);
        }
        if (spec[k].tfhd_flags & 0x20) {
            b_be32(b, 0x01010000);      /* default: not a sync sample */
        }
        box_close(b, x);
        x = box_open(b, "trun");
        full(b, 0, spec[k].trun_flags);
        b_be32(b, spec[k].nsamples);
        offs[k] = b->len;
        if (spec[k].trun_flags & 0x1) {
            b_be32(b, 0);
        }
        if (spec[k].trun_flags & 0x4) {
            b_be32(b, 0x02000000);      /* the first is a sync sample */
        }
        for (i = 0; i < spec[k].nsamples; i++) {
            size = spec[k].size ? spec[k].size
                   : spec[k].stamped ? 300 + 50 * i : 20 + i;
            if (spec[k].trun_flags & 0x100) {
                b_be32(b, 3000);
            }
            if (spec[k].trun_flags & 0x200) {
                b_be32(b, size);
            }
            if (spec[k].trun_flags & 0x400) {
                b_be32(b, i % 3 == 0 ? 0x02000000 : 0x01010000);
            }
            if (spec[k].trun_flags & 0x800) {
                b_be32(b, 0);
            }
        }
        box_close(b, x);
        box_close(b, traf);
    }
    box_close(b, moof);
    if (!with_mdat) {
        return;
    }
    x = box_open(b, "mdat");
    for (k = 0; k < nspec; k++) {
        data = b->len;
        if (spec[k].trun_flags & 0x1) {
            o = data - ((spec[k].tfhd_flags & 0x1) ? 0 : moof);
            set32(b, offs[k], (uint32_t) o);
        }
        for (i = 0; i < spec[k].nsamples; i++) {
            size = spec[k].size ? spec[k].size
                   : spec[k].stamped ? 300 + 50 * i : 20 + i;
            if (spec[k].stamped) {
                sample_bytes(b, i, size, 1);
            } else {
                for (o = 0; o < size; o++) {
                    b_put(b, "\xa1", 1);
                }
            }
        }
    }
    box_close(b, x);
}


static int
walk(const buf_t *b, size_t step, uint32_t video, rec_t *r, hls_frag_t *f)
{
    size_t  i, k;

    memset(r, 0, sizeof(*r));
    r->f = f;
    hls_frag_init(f, video, on_sample, r);
    for (i = 0; i < b->len; i += k) {
        k = step == 0 || step > b->len - i ? b->len - i : step;
        if (hls_frag_feed(f, b->p + i, k) != 0) {
            return -1;
        }
    }
    return hls_frag_end(f);
}


static void
test_fragments(void)
{
    static const size_t       steps[] = { 0, 1, 3, 8, 100, 1000 };
    static const traf_spec_t  plain[] = {
        { 1, 0x020000, 0xf01, 6, 0, 1 },
        { 2, 0x020000, 0xf01, 9, 0, 0 },
    };
    static const traf_spec_t  variants[][2] = {
        /* base-data-offset in tfhd, first-sample-flags, default flags */
        { { 1, 0x000021, 0x205, 4, 0, 1 }, { 2, 0x000001, 0x201, 3, 0, 0 } },
        /* default sizes from tfhd, no sizes in trun */
        { { 1, 0x020030, 0x001, 5, 400, 1 }, { 2, 0x020010, 0x001, 2, 64, 0 } },
        /* audio first in the file */
        { { 2, 0x020000, 0x301, 3, 0, 0 }, { 1, 0x020000, 0x701, 3, 0, 1 } },
    };
    hls_frag_t     *f;
    buf_t           b = { 0 };
    rec_t          *r;
    bench_stamp_t   st;
    size_t          i, j, v;
    unsigned        videos;
    int             rc;

    f = malloc(sizeof(*f));
    r = malloc(sizeof(*r));
    if (f == NULL || r == NULL) {
        perror("malloc");
        exit(2);
    }

    fragment(&b, plain, 2, 1);
    fragment(&b, plain, 2, 1);          /* a segment: two parts */
    for (i = 0; i < N(steps); i++) {
        rc = walk(&b, steps[i], 1, r, f);
        CHECK(rc == 0, "plain step %zu: %s", steps[i], f->error);
        CHECK(r->n == 30 && f->moofs == 2 && f->samples_lost == 0,
              "plain step %zu: %u samples", steps[i], r->n);
        for (j = 0; j < r->n; j++) {
            v = j % 15;
            CHECK(r->video[j] == (v < 6), "plain %zu: video", j);
            if (v >= 6) {
                CHECK(r->size[j] == 20 + v - 6 && r->head_len[j] == 0,
                      "plain %zu: audio size", j);
                continue;
            }
            CHECK(r->size[j] == 300 + 50 * v, "plain %zu: size", j);
            CHECK(r->key[j] == (v % 3 == 0), "plain %zu: key", j);
            CHECK(r->head_len[j] == HLS_SAMPLE_HEAD, "plain %zu: head", j);
            CHECK(bench_sei_find_avcc(r->head[j], r->head_len[j], &st) == 1
                  && st.index == v, "plain %zu: stamp", j);
        }
    }

    /* fed byte by byte, a sample comes back with its last byte */
    {
        uint64_t  end = get32(&b, 0) + 8;     /* the first mdat's data */

        (void) walk(&b, 1, 1, r, f);
        for (j = 0; j < 15; j++) {
            end += r->size[j];
            CHECK(r->pos[j] + 1 == end, "sample %zu back at %llu, ends %llu",
                  j, (unsigned long long) r->pos[j],
                  (unsigned long long) end);
        }
    }

    /* without a video track every sample is "video" */
    rc = walk(&b, 0, 0, r, f);
    for (j = 0, videos = 0; j < r->n; j++) {
        videos += r->video[j];
    }
    CHECK(rc == 0 && videos == 30, "track 0: %u video", videos);

    for (i = 0; i < N(variants); i++) {
        b.len = 0;
        fragment(&b, variants[i], 2, 1);
        for (j = 0; j < N(steps); j++) {
            rc = walk(&b, steps[j], 1, r, f);
            CHECK(rc == 0 && f->samples_lost == 0, "variant %zu: %s", i,
                  f->error ? f->error : "lost samples");
            for (v = 0, videos = 0; v < r->n; v++) {
                if (!r->video[v]) {
                    continue;
                }
                CHECK(bench_sei_find_avcc(r->head[v], r->head_len[v], &st)
                      == 1 && st.index == videos, "variant %zu: stamp %zu",
                      i, v);
                if (i == 0) {
                    CHECK(r->key[v] == (videos == 0), "variant 0: keys");
                }
                videos++;
            }
            CHECK(videos == variants[i][variants[i][0].track == 1 ? 0 : 1]
                            .nsamples, "variant %zu: %u video", i, videos);
        }
    }

    /* a moof without its mdat: the samples are lost, not invented */
    b.len = 0;
    fragment(&b, plain, 2, 0);
    rc = walk(&b, 0, 1, r, f);
    CHECK(rc == 0 && r->n == 0 && f->samples_lost == 15, "no mdat: %u",
          f->samples_lost);

    /* truncations: an error or fewer samples, never a crash */
    b.len = 0;
    fragment(&b, plain, 2, 1);
    {
        buf_t  cut = { 0 };

        b_put(&cut, b.p, b.len);
        for (i = 1; i < b.len; i += 7) {
            cut.len = i;
            rc = walk(&cut, 5, 1, r, f);
            if (i == get32(&b, 0)) {
                CHECK(rc == 0 && r->n == 0, "cut after the moof");
                continue;
            }
            CHECK(rc == -1 && f->error != NULL && r->n <= 15,
                  "cut at %zu: rc %d, %u samples", i, rc, r->n);
        }
        free(cut.p);
    }

    /* hostile boxes */
    {
        buf_t     h = { 0 };
        size_t    m;
        uint32_t  k;

        m = box_open(&h, "moof");       /* too large */
        for (k = 0; k < HLS_MOOF_MAX / 4; k++) {
            b_be32(&h, 0);
        }
        box_close(&h, m);
        CHECK(walk(&h, 0, 1, r, f) == -1, "big moof");

        h.len = 0;
        b_be32(&h, 4);                  /* size below the header */
        b_put(&h, "free", 4);
        CHECK(walk(&h, 0, 1, r, f) == -1, "size 4");

        h.len = 0;                      /* a trun that claims too much */
        fragment(&h, plain, 1, 1);
        set32(&h, 8 + 16 + 8 + 16 + 8 + 4, 1000000);
        CHECK(walk(&h, 0, 1, r, f) == -1 && r->n == 0, "long trun: %s",
              f->error);

        h.len = 0;                      /* too many samples */
        {
            traf_spec_t  many = { 1, 0x020000, 0x201, HLS_SAMPLES_MAX + 1,
                                  10, 0 };

            fragment(&h, &many, 1, 1);
            CHECK(walk(&h, 0, 1, r, f) == -1, "many samples");
        }

        h.len = 0;                      /* a free box and an mdat to the end */
        m = box_open(&h, "free");
        b_be32(&h, 0);
        box_close(&h, m);
        fragment(&h, plain, 2, 1);
        set32(&h, 12 + get32(&h, 12), 0);
        rc = walk(&h, 3, 1, r, f);
        CHECK(rc == 0 && r->n == 15, "free box first: %u", r->n);
        free(h.p);
    }

    /* random damage: no crash, no sample outside the buffer (ASan) */
    {
        buf_t     d = { 0 };
        uint32_t  seed = 12345;
        size_t    k, flips;

        for (i = 0; i < 3000; i++) {
            d.len = 0;
            b_put(&d, b.p, b.len);
            flips = 1 + i % 6;
            for (k = 0; k < flips; k++) {
                seed = seed * 1103515245 + 12345;
                d.p[(seed >> 8) % d.len] = (uint8_t) (seed >> 16);
            }
            (void) walk(&d, 1 + i % 97, 1, r, f);
        }
        CHECK(1, "fuzz");
        free(d.p);
    }

    free(b.p);
    free(f);
    free(r);
}


int
main(void)
{
    test_http();
    test_playlist();
    test_init();
    test_fragments();

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
