/*
 * Tests for rtmp_play: hand-built server byte streams fed to the client.
 * Build and run: make -C bench test (sanitizers on).
 * Prints "N passed, M failed"; exit status 1 if anything failed.
 */
#include "rtmp_play.h"

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


/* ------------------------------------------------------------ buffers */

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
b_u8(buf_t *b, uint8_t v)
{
    b_put(b, &v, 1);
}


static void
b_be16(buf_t *b, uint32_t v)
{
    b_u8(b, (uint8_t) (v >> 8));
    b_u8(b, (uint8_t) v);
}


static void
b_be24(buf_t *b, uint32_t v)
{
    b_u8(b, (uint8_t) (v >> 16));
    b_be16(b, v);
}


static void
b_be32(buf_t *b, uint32_t v)
{
    b_be16(b, v >> 16);
    b_be16(b, v);
}


static void
b_free(buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}


/* AMF0 */
static void
a_str(buf_t *b, const char *s)
{
    b_u8(b, 2);
    b_be16(b, (uint32_t) strlen(s));
    b_put(b, s, strlen(s));
}


static void
a_key(buf_t *b, const char *s)
{
    b_be16(b, (uint32_t) strlen(s));
    b_put(b, s, strlen(s));
}


static void
a_num(buf_t *b, double d)
{
    uint64_t  u;
    int       i;

    memcpy(&u, &d, 8);
    b_u8(b, 0);
    for (i = 7; i >= 0; i--) {
        b_u8(b, (uint8_t) (u >> (8 * i)));
    }
}


static void
a_null(buf_t *b)
{
    b_u8(b, 5);
}


static void
a_end(buf_t *b)
{
    b_be16(b, 0);
    b_u8(b, 9);
}


static uint32_t  rnd_state = 12345;

static uint32_t
rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}


static uint8_t
pat(uint32_t seed, size_t i)
{
    return (uint8_t) (seed * 131 + i * 7 + (i >> 8));
}


/* ------------------------------------------------ server chunk writer */

/* one chunk header; ts is the value of the timestamp field (abs/delta) */
static void
w_hdr(buf_t *b, uint32_t csid, int fmt, uint32_t ts, uint32_t len,
    uint8_t type, uint32_t msid)
{
    uint32_t  f = ts >= 0xffffff ? 0xffffff : ts;

    if (csid < 64) {
        b_u8(b, (uint8_t) ((fmt << 6) | csid));
    } else if (csid < 320) {
        b_u8(b, (uint8_t) (fmt << 6));
        b_u8(b, (uint8_t) (csid - 64));
    } else {
        b_u8(b, (uint8_t) ((fmt << 6) | 1));
        b_u8(b, (uint8_t) (csid - 64));
        b_u8(b, (uint8_t) ((csid - 64) >> 8));
    }
    if (fmt <= 2) {
        b_be24(b, f);
    }
    if (fmt <= 1) {
        b_be24(b, len);
        b_u8(b, type);
    }
    if (fmt == 0) {
        b_u8(b, (uint8_t) msid);
        b_u8(b, (uint8_t) (msid >> 8));
        b_u8(b, (uint8_t) (msid >> 16));
        b_u8(b, (uint8_t) (msid >> 24));
    }
}


/*
 * A message as separate chunks (one buf_t each) so that callers can
 * interleave them.  ext: value of the extended timestamp for this message
 * (written after every header incl. fmt 3 continuations when ts_field
 * needed it, or when ext_prev says the chunk stream is in ext mode for a
 * fmt 3 first chunk).
 */
typedef struct {
    buf_t     c[20000];
    size_t    n;
} chunks_t;


static void
w_msg_chunks(chunks_t *cl, uint32_t csid, int fmt, uint32_t ts,
    uint8_t type, uint32_t msid, const uint8_t *pl, uint32_t len,
    uint32_t chunk, int ext3)
{
    uint32_t  off, k;
    buf_t    *b;
    int       ext = ts >= 0xffffff || (fmt == 3 && ext3);

    off = 0;
    do {
        if (cl->n >= sizeof(cl->c) / sizeof(cl->c[0])) {
            fprintf(stderr, "too many chunks\n");
            exit(2);
        }
        b = &cl->c[cl->n++];
        memset(b, 0, sizeof(*b));
        w_hdr(b, csid, off ? 3 : fmt, ts, len, type, msid);
        if (ext) {
            b_be32(b, ts);
        }
        k = len - off < chunk ? len - off : chunk;
        b_put(b, pl + off, k);
        off += k;
    } while (off < len);
}


static void
chunks_flush(chunks_t *cl, buf_t *out)
{
    size_t  i;

    for (i = 0; i < cl->n; i++) {
        b_put(out, cl->c[i].p, cl->c[i].len);
        b_free(&cl->c[i]);
    }
    cl->n = 0;
}


static chunks_t  chunks_a;


static void
chunks_free(chunks_t *cl)
{
    size_t  i;

    for (i = 0; i < cl->n; i++) {
        b_free(&cl->c[i]);
    }
    cl->n = 0;
}

static void
w_msg(buf_t *out, uint32_t csid, int fmt, uint32_t ts, uint8_t type,
    uint32_t msid, const uint8_t *pl, uint32_t len, uint32_t chunk)
{
    w_msg_chunks(&chunks_a, csid, fmt, ts, type, msid, pl, len, chunk, 0);
    chunks_flush(&chunks_a, out);
}


static void
w_cmd(buf_t *out, uint32_t csid, uint32_t msid, buf_t *amf, uint32_t chunk)
{
    w_msg(out, csid, 0, 0, 20, msid, amf->p, (uint32_t) amf->len, chunk);
    b_free(amf);
}


static void
w_ctrl(buf_t *out, uint8_t type, uint32_t v, uint32_t chunk)
{
    uint8_t  p[4] = { (uint8_t) (v >> 24), (uint8_t) (v >> 16),
                      (uint8_t) (v >> 8), (uint8_t) v };

    w_msg(out, 2, 0, 0, type, 0, p, 4, chunk);
}


static void
w_status(buf_t *out, const char *level, const char *code, const char *desc,
    uint32_t chunk)
{
    buf_t  a = { 0 };

    a_str(&a, "onStatus");
    a_num(&a, 0);
    a_null(&a);
    b_u8(&a, 3);
    a_key(&a, "level");
    a_str(&a, level);
    a_key(&a, "code");
    a_str(&a, code);
    a_key(&a, "description");
    a_str(&a, desc);
    a_end(&a);
    w_cmd(out, 5, 1, &a, chunk);
}


static uint8_t  s1[1536];

/* S0 S1 S2 .. onStatus Play.Start, the server at chunk size `chunk` */
static void
w_prelude(buf_t *out, uint32_t chunk, uint32_t window)
{
    buf_t     a = { 0 };
    size_t    i;
    uint8_t   uc[6] = { 0, 0, 0, 0, 0, 1 };

    for (i = 0; i < sizeof(s1); i++) {
        s1[i] = (uint8_t) rnd();
    }
    b_u8(out, 3);
    b_put(out, s1, sizeof(s1));
    b_put(out, s1, sizeof(s1));             /* S2: whatever */

    w_ctrl(out, 5, window, 128);
    w_msg(out, 2, 0, 0, 6, 0, (const uint8_t *) "\0\x4c\x4b\x40\x02", 5,
          128);
    w_ctrl(out, 1, chunk, 128);

    a_str(&a, "_result");
    a_num(&a, 1);
    b_u8(&a, 3);
    a_key(&a, "fmsVer");
    a_str(&a, "FMS/3,0,1,123");
    a_key(&a, "capabilities");
    a_num(&a, 31);
    a_end(&a);
    b_u8(&a, 3);
    a_key(&a, "level");
    a_str(&a, "status");
    a_key(&a, "code");
    a_str(&a, "NetConnection.Connect.Success");
    a_key(&a, "description");
    a_str(&a, "Connection succeeded.");
    a_key(&a, "objectEncoding");
    a_num(&a, 0);
    a_end(&a);
    w_cmd(out, 3, 0, &a, chunk);

    a_str(&a, "_result");
    a_num(&a, 2);
    a_null(&a);
    a_num(&a, 1);
    w_cmd(out, 3, 0, &a, chunk);

    w_msg(out, 2, 0, 0, 4, 0, uc, 6, chunk);          /* StreamBegin 1 */
    w_status(out, "status", "NetStream.Play.Start", "Start live", chunk);

    a_str(&a, "|RtmpSampleAccess");
    b_u8(&a, 1);
    b_u8(&a, 1);
    b_u8(&a, 1);
    b_u8(&a, 1);
    w_msg(out, 5, 0, 0, 18, 1, a.p, (uint32_t) a.len, chunk);
    b_free(&a);
}


/* ------------------------------------------------ recording callbacks */

#define MAXEV  4096

typedef struct {
    unsigned  type;
    uint32_t  ts;
    size_t    head_len;
    size_t    total;
    uint8_t   head[300];
} ev_t;

typedef struct {
    ev_t      ev[MAXEV];
    size_t    n;
    size_t    media;        /* only types 8, 9 recorded when set */
} rec_t;


static void
rec_cb(void *ctx, unsigned type, uint32_t ts, const uint8_t *head,
    size_t head_len, size_t total)
{
    rec_t  *r = ctx;
    ev_t   *e;

    if (r->media && type != 8 && type != 9 && type != 18) {
        return;
    }
    if (r->n >= MAXEV) {
        return;
    }
    e = &r->ev[r->n++];
    e->type = type;
    e->ts = ts;
    e->head_len = head_len;
    e->total = total;
    memcpy(e->head, head, head_len < sizeof(e->head) ? head_len
                                                    : sizeof(e->head));
}


static rec_t  rec1, rec2;


static int
rec_equal(const rec_t *a, const rec_t *b)
{
    size_t  i, hl;

    if (a->n != b->n) {
        return 0;
    }
    for (i = 0; i < a->n; i++) {
        const ev_t  *x = &a->ev[i], *y = &b->ev[i];

        hl = x->head_len < sizeof(x->head) ? x->head_len : sizeof(x->head);
        if (x->type != y->type || x->ts != y->ts
            || x->head_len != y->head_len || x->total != y->total
            || memcmp(x->head, y->head, hl) != 0)
        {
            return 0;
        }
    }
    return 1;
}


/* feed in pieces: step 0 = all at once, -1 = random sizes */
static int
feed(rtmp_play_t *rp, const buf_t *b, long step, rec_t *r)
{
    size_t  off = 0, k;
    int     rc = 0;

    while (off < b->len) {
        if (step == 0) {
            k = b->len - off;
        } else if (step < 0) {
            k = 1 + rnd() % 3000;
        } else {
            k = (size_t) step;
        }
        if (k > b->len - off) {
            k = b->len - off;
        }
        rc = rtmp_play_input(rp, b->p + off, k, rec_cb, r);
        if (rc != 0) {
            return rc;
        }
        off += k;
    }
    return rc;
}


/* ------------------------------------------ parsing the client output */

typedef struct {
    uint32_t  csid;
    uint8_t   type;
    uint32_t  msid;
    uint8_t   pl[4096];
    size_t    len;
} cmsg_t;

typedef struct {
    cmsg_t    m[64];
    size_t    n;
    uint8_t   c0c1[1537];
    uint8_t   c2[1536];
    int       hs_ok;
} cout_t;


/* our client only ever writes fmt 0 + fmt 3 continuations, chunk 128 */
static int
parse_client(const uint8_t *p, size_t n, cout_t *co)
{
    size_t   off = 0, k, got;
    cmsg_t  *m;

    memset(co, 0, sizeof(*co));
    if (n < 1537 + 1536) {
        return -1;
    }
    memcpy(co->c0c1, p, 1537);
    memcpy(co->c2, p + 1537, 1536);
    co->hs_ok = 1;
    off = 1537 + 1536;

    while (off < n && co->n < 64) {
        m = &co->m[co->n];
        if (n - off < 12 || (p[off] >> 6) != 0) {
            return -1;
        }
        m->csid = p[off] & 0x3f;
        m->len = ((size_t) p[off + 4] << 16) | (p[off + 5] << 8)
                 | p[off + 6];
        m->type = p[off + 7];
        m->msid = p[off + 8] | (p[off + 9] << 8) | (p[off + 10] << 16)
                  | ((uint32_t) p[off + 11] << 24);
        off += 12;
        got = 0;
        while (got < m->len) {
            if (got) {
                if (off >= n || p[off] != (0xc0 | m->csid)) {
                    return -1;
                }
                off++;
            }
            k = m->len - got < 128 ? m->len - got : 128;
            if (off + k > n || got + k > sizeof(m->pl)) {
                return -1;
            }
            memcpy(m->pl + got, p + off, k);
            got += k;
            off += k;
        }
        co->n++;
    }
    return 0;
}


#define MEM_HAS(p, n, lit)  mem_has(p, n, lit, sizeof(lit) - 1)

static int
mem_has(const uint8_t *p, size_t n, const char *s, size_t l)
{
    size_t  i;

    for (i = 0; i + l <= n; i++) {
        if (memcmp(p + i, s, l) == 0) {
            return 1;
        }
    }
    return 0;
}


static cmsg_t *
find_cmd(cout_t *co, const char *name)
{
    size_t  i, l = strlen(name);

    for (i = 0; i < co->n; i++) {
        cmsg_t  *m = &co->m[i];

        if (m->type == 20 && m->len >= 3 + l && m->pl[0] == 2
            && m->pl[1] == 0 && m->pl[2] == l
            && memcmp(m->pl + 3, name, l) == 0)
        {
            return m;
        }
    }
    return NULL;
}


static cmsg_t *
find_type(cout_t *co, uint8_t type, size_t nth)
{
    size_t  i;

    for (i = 0; i < co->n; i++) {
        if (co->m[i].type == type && nth-- == 0) {
            return &co->m[i];
        }
    }
    return NULL;
}


/* drain the client output into a buffer (as a socket writer would) */
static void
drain(rtmp_play_t *rp, buf_t *all)
{
    const uint8_t  *p;
    size_t          n;

    while ((n = rtmp_play_output(rp, &p)) > 0) {
        if (n > 700) {
            n = 700;                     /* partial writes */
        }
        b_put(all, p, n);
        rtmp_play_consumed(rp, n);
    }
}


static rtmp_play_t *
new_client(size_t keep)
{
    rtmp_play_t  *rp;

    rp = rtmp_play_create("rtmp://127.0.0.1:1935/live", "live", "cam1",
                          keep);
    if (rp == NULL) {
        fprintf(stderr, "rtmp_play_create failed\n");
        exit(2);
    }
    return rp;
}


/* ------------------------------------------------------------- tests */

static void
test_handshake_and_flow(uint32_t chunk, long step)
{
    rtmp_play_t    *rp;
    buf_t           in = { 0 }, out = { 0 };
    cout_t         *co;
    cmsg_t         *m;
    const uint8_t  *p;
    size_t          n, i;
    int             nz, rc;

    co = calloc(1, sizeof(*co));
    if (co == NULL) {
        exit(2);
    }
    rp = new_client(256);

    n = rtmp_play_output(rp, &p);
    CHECK(n == 1537, "C0+C1 is %zu bytes", n);
    CHECK(p[0] == 3, "C0 %u", p[0]);
    nz = 0;
    for (i = 1; i < 9; i++) {
        nz |= p[i];
    }
    CHECK(nz == 0, "C1 time/zero fields not zero");
    nz = 0;
    for (i = 9; i < 1537; i++) {
        nz += p[i] != 0;
    }
    CHECK(nz > 1000, "C1 random bytes look zero (%d nonzero)", nz);

    drain(rp, &out);
    CHECK(rtmp_play_output(rp, &p) == 0, "output left after drain");

    w_prelude(&in, chunk, 5000000);
    rec1.n = 0;
    rec1.media = 0;
    rc = feed(rp, &in, step, &rec1);
    CHECK(rc == 0, "chunk %u step %ld: %s", chunk, step,
          rtmp_play_error(rp));
    CHECK(rtmp_play_playing(rp) == 1, "not playing (chunk %u step %ld)",
          chunk, step);
    drain(rp, &out);

    CHECK(parse_client(out.p, out.len, co) == 0, "client output unparsable");
    CHECK(memcmp(co->c2, s1, 1536) == 0, "C2 is not the echo of S1");

    m = find_cmd(co, "connect");
    CHECK(m != NULL && m->csid == 3 && m->msid == 0, "no connect");
    if (m != NULL) {
        CHECK(MEM_HAS(m->pl, m->len, "\x00\x03" "app\x02\x00\x04" "live"),
              "connect without app");
        CHECK(MEM_HAS(m->pl, m->len,
                      "tcUrl\x02\x00\x1a" "rtmp://127.0.0.1:1935/live"),
              "connect without tcUrl");
        CHECK(m->len > 128, "connect not split into chunks (%zu)", m->len);
    }
    m = find_cmd(co, "createStream");
    CHECK(m != NULL, "no createStream");
    m = find_cmd(co, "play");
    CHECK(m != NULL && m->msid == 1, "no play on stream 1");
    if (m != NULL) {
        CHECK(MEM_HAS(m->pl, m->len, "\x02\x00\x04" "cam1"),
              "play without stream name");
    }
    m = find_type(co, 4, 0);
    CHECK(m != NULL && m->len == 10 && m->pl[1] == 3 && m->pl[5] == 1,
          "no SetBufferLength for stream 1");
    CHECK(co->n == 4, "client sent %zu messages (want 4)", co->n);

    /* the callback saw the control messages and commands too */
    CHECK(rec1.n == 8, "%zu messages seen (want 8)", rec1.n);
    CHECK(rec1.n > 0 && rec1.ev[0].type == 5, "first message type %u",
          rec1.ev[0].type);

    rtmp_play_destroy(rp);
    b_free(&in);
    b_free(&out);
    free(co);
}


typedef struct {
    unsigned  type;
    uint32_t  ts;
    uint32_t  len;
    uint32_t  seed;
} want_t;


static void
check_events(rec_t *r, const want_t *w, size_t nw, size_t keep,
    const char *what)
{
    size_t  i, j, hl;
    int     ok;

    CHECK(r->n == nw, "%s: %zu messages (want %zu)", what, r->n, nw);
    for (i = 0; i < nw && i < r->n; i++) {
        ev_t  *e = &r->ev[i];

        hl = w[i].len < keep ? w[i].len : keep;
        ok = e->type == w[i].type && e->ts == w[i].ts
             && e->total == w[i].len && e->head_len == hl;
        for (j = 0; ok && j < hl && j < sizeof(e->head); j++) {
            ok = e->head[j] == pat(w[i].seed, j);
        }
        CHECK(ok, "%s: message %zu: type %u ts %u total %zu head %zu; want "
              "type %u ts %u total %u head %zu", what, i, e->type, e->ts,
              e->total, e->head_len, w[i].type, w[i].ts, w[i].len, hl);
    }
}


static uint8_t  big[1 << 20];

static const uint8_t *
mkpl(uint32_t seed, uint32_t len)
{
    uint32_t  i;

    for (i = 0; i < len && i < sizeof(big); i++) {
        big[i] = pat(seed, i);
    }
    return big;
}


/* all four header formats, several chunk sizes, splits */
static void
test_formats(uint32_t chunk, long step, size_t keep)
{
    rtmp_play_t  *rp;
    buf_t         in = { 0 };
    want_t        w[16];
    size_t        nw = 0;
    char          what[64];
    int           rc;

    rp = new_client(keep);
    w_prelude(&in, chunk, 5000000);

#define MSG(csid, fmt, tsf, type, len, seed, ets)                           \
    w_msg(&in, csid, fmt, tsf, type, 1, mkpl(seed, len), len, chunk);       \
    w[nw++] = (want_t) { type, ets, len, seed }

    MSG(6, 0, 1000, 9, 5000, 1, 1000);         /* fmt 0 absolute */
    MSG(4, 0, 1000, 8, 300, 2, 1000);
    MSG(6, 1, 33, 9, 7000, 3, 1033);           /* fmt 1 delta, new len */
    MSG(6, 2, 34, 9, 7000, 4, 1067);           /* fmt 2 delta, same len */
    MSG(6, 3, 0, 9, 7000, 5, 1101);            /* fmt 3: delta again */
    MSG(4, 2, 23, 8, 300, 6, 1023);
    MSG(4, 3, 0, 8, 300, 7, 1046);
    MSG(4, 1, 0, 8, 0, 8, 1046);               /* empty message */
    MSG(4, 1, 21, 8, 1, 9, 1067);              /* one byte */
    MSG(5, 0, 0, 18, 700, 10, 0);              /* data on its own csid */
    MSG(6, 1, 0xfffffe, 9, 100, 11, 1101 + 0xfffffe);
#undef MSG

    rec1.n = 0;
    rec1.media = 1;
    rc = feed(rp, &in, step, &rec1);
    snprintf(what, sizeof(what), "formats chunk %u step %ld keep %zu",
             chunk, step, keep);
    CHECK(rc == 0, "%s: %s", what, rtmp_play_error(rp));
    /* first type 18 is |RtmpSampleAccess from the prelude */
    if (rec1.n > 0 && rec1.ev[0].type == 18) {
        memmove(rec1.ev, rec1.ev + 1, (rec1.n - 1) * sizeof(ev_t));
        rec1.n--;
    }
    check_events(&rec1, w, nw, keep, what);
    {
        buf_t   o = { 0 };
        size_t  ik = keep > 64 ? keep : 64;

        drain(rp, &o);
        b_free(&o);
        CHECK(rtmp_play_memory(rp) < 1500 + 6 * ik, "%s: memory %zu", what,
              rtmp_play_memory(rp));
    }

    rtmp_play_destroy(rp);
    b_free(&in);
}


/* extended timestamps: fmt 0/1/2 with ext, fmt 3 continuation and fmt 3
   new message carrying it */
static void
test_ext(uint32_t chunk, long step)
{
    rtmp_play_t  *rp;
    buf_t         in = { 0 };
    want_t        w[8];
    size_t        nw = 0;
    uint32_t      base = 0x01000000 + 5;
    int           rc;

    rp = new_client(256);
    w_prelude(&in, chunk, 5000000);

    /* fmt 0 absolute with ext: continuation chunks repeat it */
    w_msg_chunks(&chunks_a, 7, 0, base, 9, 1, mkpl(1, 3000), 3000, chunk, 0);
    chunks_flush(&chunks_a, &in);
    w[nw++] = (want_t) { 9, base, 3000, 1 };

    /* fmt 1, small delta: no ext any more */
    w_msg_chunks(&chunks_a, 7, 1, 40, 9, 1, mkpl(2, 2000), 2000, chunk, 0);
    chunks_flush(&chunks_a, &in);
    w[nw++] = (want_t) { 9, base + 40, 2000, 2 };

    /* fmt 2 with an extended delta */
    w_msg_chunks(&chunks_a, 7, 2, 0x01000001, 9, 1, mkpl(3, 2000), 2000,
                 chunk, 0);
    chunks_flush(&chunks_a, &in);
    w[nw++] = (want_t) { 9, base + 40 + 0x01000001, 2000, 3 };

    /* fmt 3 new message: delta and its ext field repeated */
    w_msg_chunks(&chunks_a, 7, 3, 0x01000001, 9, 1, mkpl(4, 2000), 2000,
                 chunk, 1);
    chunks_flush(&chunks_a, &in);
    w[nw++] = (want_t) { 9, base + 40 + 2 * 0x01000001, 2000, 4 };

    /* exactly 0xffffff is extended too */
    w_msg_chunks(&chunks_a, 6, 0, 0xffffff, 8, 1, mkpl(5, 500), 500,
                 chunk, 0);
    chunks_flush(&chunks_a, &in);
    w[nw++] = (want_t) { 8, 0xffffff, 500, 5 };

    rec1.n = 0;
    rec1.media = 1;
    rc = feed(rp, &in, step, &rec1);
    CHECK(rc == 0, "ext chunk %u step %ld: %s", chunk, step,
          rtmp_play_error(rp));
    if (rec1.n > 0 && rec1.ev[0].type == 18) {
        memmove(rec1.ev, rec1.ev + 1, (rec1.n - 1) * sizeof(ev_t));
        rec1.n--;
    }
    check_events(&rec1, w, nw, 256, "ext");

    rtmp_play_destroy(rp);
    b_free(&in);
}


/* chunks of several messages on several chunk streams interleaved,
   including 2- and 3-byte basic headers; a Set Chunk Size between them */
static void
test_interleave(uint32_t chunk, long step)
{
    rtmp_play_t  *rp;
    buf_t         in = { 0 };
    size_t        i, j, k;
    int           rc;
    static const struct {
        uint32_t  csid;
        uint8_t   type;
        uint32_t  len;
        uint32_t  ts;
    } ms[4] = {
        { 7, 9, 9000, 100 }, { 6, 8, 400, 90 }, { 64 + 200, 9, 3000, 80 },
        { 400, 8, 5000, 70 }
    };
    chunks_t     *cl;

    cl = calloc(4, sizeof(chunks_t));
    if (cl == NULL) {
        exit(2);
    }

    rp = new_client(256);
    w_prelude(&in, chunk, 5000000);

    for (i = 0; i < 4; i++) {
        w_msg_chunks(&cl[i], ms[i].csid, 0, ms[i].ts, ms[i].type, 1,
                     mkpl((uint32_t) i + 20, ms[i].len), ms[i].len, chunk,
                     0);
    }
    /* round robin */
    for (j = 0; ; j++) {
        k = 0;
        for (i = 0; i < 4; i++) {
            if (j < cl[i].n) {
                b_put(&in, cl[i].c[j].p, cl[i].c[j].len);
                k++;
            }
        }
        if (k == 0) {
            break;
        }
    }
    for (i = 0; i < 4; i++) {
        chunks_free(&cl[i]);
    }

    rec1.n = 0;
    rec1.media = 1;
    rc = feed(rp, &in, step, &rec1);
    CHECK(rc == 0, "interleave chunk %u: %s", chunk, rtmp_play_error(rp));
    if (rec1.n > 0 && rec1.ev[0].type == 18) {
        memmove(rec1.ev, rec1.ev + 1, (rec1.n - 1) * sizeof(ev_t));
        rec1.n--;
    }
    CHECK(rec1.n == 4, "interleave: %zu messages", rec1.n);
    for (i = 0; i < rec1.n; i++) {
        ev_t  *e = &rec1.ev[i];

        for (j = 0; j < 4; j++) {
            if (ms[j].len == e->total) {
                break;
            }
        }
        CHECK(j < 4 && e->type == ms[j].type && e->ts == ms[j].ts
              && e->head_len == 256
              && e->head[0] == pat((uint32_t) j + 20, 0)
              && e->head[255] == pat((uint32_t) j + 20, 255),
              "interleave: message %zu wrong (total %zu ts %u)", i,
              e->total, e->ts);
    }

    rtmp_play_destroy(rp);
    b_free(&in);
    free(cl);
}


/* whole stream 1 byte at a time / random splits == all at once */
static void
test_split_equivalence(void)
{
    rtmp_play_t  *a, *b;
    buf_t         in = { 0 };
    uint32_t      i, ts = 0;
    int           ra, rb;

    a = new_client(200);
    b = new_client(200);
    w_prelude(&in, 1000, 100000);
    for (i = 0; i < 60; i++) {
        uint32_t  len = 1 + rnd() % 20000;

        ts += rnd() % 50;
        w_msg(&in, 6 + (i & 1), i < 2 ? 0 : 1, i < 2 ? ts : rnd() % 50,
              (uint8_t) (8 + (i & 1)), 1, mkpl(i, len), len, 1000);
    }
    rec1.n = rec2.n = 0;
    rec1.media = rec2.media = 0;
    ra = feed(a, &in, 0, &rec1);
    rb = feed(b, &in, 1, &rec2);
    CHECK(ra == 0 && rb == 0, "split: %s / %s", rtmp_play_error(a),
          rtmp_play_error(b));
    CHECK(rec1.n == rec2.n && rec1.n > 60, "split: %zu vs %zu messages",
          rec1.n, rec2.n);
    CHECK(rec_equal(&rec1, &rec2), "split: 1-byte feeding differs");
    rtmp_play_destroy(b);

    b = new_client(200);
    rec2.n = 0;
    rb = feed(b, &in, -1, &rec2);
    CHECK(rb == 0 && rec_equal(&rec1, &rec2),
          "split: random feeding differs");

    /* acks: window 100000, about 600 KB fed */
    {
        buf_t    out = { 0 };
        cout_t  *co = calloc(1, sizeof(*co));
        cmsg_t  *m;
        size_t   nacks = 0;
        uint32_t seq, prev = 0;

        if (co == NULL) {
            exit(2);
        }
        drain(a, &out);
        CHECK(parse_client(out.p, out.len, co) == 0, "ack: unparsable");
        while ((m = find_type(co, 3, nacks)) != NULL) {
            seq = ((uint32_t) m->pl[0] << 24) | (m->pl[1] << 16)
                  | (m->pl[2] << 8) | m->pl[3];
            CHECK(m->len == 4 && m->csid == 2 && seq >= prev + 100000,
                  "ack %zu: seq %u after %u", nacks, seq, prev);
            prev = seq;
            nacks++;
        }
        /* all fed in one call: one Ack, sequence = bytes in */
        CHECK(nacks == 1 && prev == in.len, "acks: %zu, last %u of %zu",
              nacks, prev, in.len);

        b_free(&out);
        drain(b, &out);
        CHECK(parse_client(out.p, out.len, co) == 0, "ack: unparsable");
        nacks = 0;
        prev = 0;
        while ((m = find_type(co, 3, nacks)) != NULL) {
            seq = ((uint32_t) m->pl[0] << 24) | (m->pl[1] << 16)
                  | (m->pl[2] << 8) | m->pl[3];
            CHECK(seq >= prev + 100000, "ack seq %u after %u", seq, prev);
            prev = seq;
            nacks++;
        }
        CHECK(nacks >= in.len / 100000 - 1 && nacks <= in.len / 100000,
              "random feeding: %zu acks for %zu bytes", nacks, in.len);
        b_free(&out);
        free(co);
    }

    rtmp_play_destroy(a);
    rtmp_play_destroy(b);
    b_free(&in);
}


static void
test_abort_ping(void)
{
    rtmp_play_t  *rp;
    buf_t         in = { 0 }, out = { 0 };
    chunks_t     *cl = &chunks_a;
    cout_t       *co;
    cmsg_t       *m;
    uint8_t       ping[6] = { 0, 6, 0x12, 0x34, 0x56, 0x78 };
    int           rc;

    co = calloc(1, sizeof(*co));
    if (co == NULL) {
        exit(2);
    }
    rp = new_client(256);
    w_prelude(&in, 128, 5000000);

    /* half a video message, then Abort for csid 7, then a fresh one */
    w_msg_chunks(cl, 7, 0, 10, 9, 1, mkpl(1, 1000), 1000, 128, 0);
    b_put(&in, cl->c[0].p, cl->c[0].len);
    b_put(&in, cl->c[1].p, cl->c[1].len);
    chunks_free(cl);
    w_ctrl(&in, 2, 7, 128);
    w_msg(&in, 7, 0, 20, 9, 1, mkpl(2, 300), 300, 128);
    w_msg(&in, 2, 0, 0, 4, 0, ping, 6, 128);

    rec1.n = 0;
    rec1.media = 1;
    rc = feed(rp, &in, 0, &rec1);
    CHECK(rc == 0, "abort: %s", rtmp_play_error(rp));
    CHECK(rec1.n == 2 && rec1.ev[1].total == 300 && rec1.ev[1].ts == 20,
          "abort: %zu messages", rec1.n);

    drain(rp, &out);
    CHECK(parse_client(out.p, out.len, co) == 0, "ping: unparsable");
    m = find_type(co, 4, 1);        /* 0: SetBufferLength */
    CHECK(m != NULL && m->len == 6 && memcmp(m->pl, "\0\x07\x12\x34\x56\x78",
                                             6) == 0, "no PingResponse");

    rtmp_play_destroy(rp);
    b_free(&in);
    b_free(&out);
    free(co);
}


static void
expect_error(const buf_t *in, long step, const char *needle,
    const char *what)
{
    rtmp_play_t  *rp;
    int           rc;
    uint8_t       x = 0;

    rp = new_client(256);
    rec1.n = 0;
    rec1.media = 0;
    rc = feed(rp, in, step, &rec1);
    CHECK(rc == -1, "%s: rc %d", what, rc);
    CHECK(strstr(rtmp_play_error(rp), needle) != NULL,
          "%s: error \"%s\" lacks \"%s\"", what, rtmp_play_error(rp),
          needle);
    CHECK(rtmp_play_input(rp, &x, 1, rec_cb, &rec1) == -1,
          "%s: error not sticky", what);
    rtmp_play_destroy(rp);
}


static void
test_errors(void)
{
    buf_t     in = { 0 }, a = { 0 };
    uint32_t  i;
    uint8_t   junk[3100];

    /* not-found stream */
    w_prelude(&in, 4096, 5000000);
    w_status(&in, "error", "NetStream.Play.StreamNotFound",
             "No such stream", 4096);
    expect_error(&in, 0, "NetStream.Play.StreamNotFound", "notfound");
    expect_error(&in, 1, "No such stream", "notfound 1-byte");
    b_free(&in);

    /* connect rejected */
    memset(junk, 0, sizeof(junk));
    b_u8(&in, 3);
    b_put(&in, junk, 3072);
    a_str(&a, "_error");
    a_num(&a, 1);
    a_null(&a);
    b_u8(&a, 3);
    a_key(&a, "level");
    a_str(&a, "error");
    a_key(&a, "code");
    a_str(&a, "NetConnection.Connect.Rejected");
    a_key(&a, "description");
    a_str(&a, "go away");
    a_end(&a);
    w_cmd(&in, 3, 0, &a, 128);
    expect_error(&in, 0, "connect failed: NetConnection.Connect.Rejected: "
                 "go away", "rejected");
    b_free(&in);

    /* wrong S0 */
    b_u8(&in, 6);
    expect_error(&in, 0, "version 6", "S0");
    b_free(&in);

    /* fmt 3 on a fresh chunk stream */
    b_u8(&in, 3);
    b_put(&in, junk, 3072);
    b_u8(&in, 0xc0 | 9);
    b_put(&in, junk, 20);
    expect_error(&in, 0, "starts with a fmt 3", "fresh fmt3");
    b_free(&in);

    /* fmt 1 header in the middle of a message */
    b_u8(&in, 3);
    b_put(&in, junk, 3072);
    w_hdr(&in, 9, 0, 0, 500, 9, 1);
    b_put(&in, junk, 128);
    w_hdr(&in, 9, 1, 0, 500, 9, 1);
    b_put(&in, junk, 128);
    expect_error(&in, 0, "inside a message", "fmt1 mid message");
    b_free(&in);

    /* Set Chunk Size 0 */
    b_u8(&in, 3);
    b_put(&in, junk, 3072);
    w_ctrl(&in, 1, 0, 128);
    expect_error(&in, 0, "Set Chunk Size 0", "chunk size 0");
    b_free(&in);

    /* many chunk streams one after the other are fine (slots reused) */
    {
        rtmp_play_t  *rp = new_client(64);

        b_u8(&in, 3);
        b_put(&in, junk, 3072);
        for (i = 0; i < 40; i++) {
            w_msg(&in, 10 + i, 0, 0, 9, 1, junk, 10, 128);
        }
        rec1.n = 0;
        rec1.media = 1;
        CHECK(feed(rp, &in, 0, &rec1) == 0 && rec1.n == 40,
              "40 chunk streams in turn: %s", rtmp_play_error(rp));
        rtmp_play_destroy(rp);
        b_free(&in);
    }

    /* too many messages in progress on different chunk streams */
    b_u8(&in, 3);
    b_put(&in, junk, 3072);
    for (i = 0; i < 12; i++) {
        w_hdr(&in, 10 + i, 0, 0, 500, 9, 1);
        b_put(&in, junk, 128);
    }
    expect_error(&in, 0, "chunk streams in use", "too many csids");
    b_free(&in);

    /* malformed command */
    b_u8(&in, 3);
    b_put(&in, junk, 3072);
    w_msg(&in, 3, 0, 0, 20, 0, junk, 10, 128);
    expect_error(&in, 0, "malformed AMF0", "malformed command");
    b_free(&in);

    /* createStream _result without a number */
    {
        /* rebuild: handshake + connect _result + bad createStream */
        buf_t  b2 = { 0 };

        b_u8(&b2, 3);
        b_put(&b2, junk, 3072);
        a_str(&a, "_result");
        a_num(&a, 1);
        a_null(&a);
        a_null(&a);
        w_cmd(&b2, 3, 0, &a, 128);
        a_str(&a, "_result");
        a_num(&a, 2);
        a_null(&a);
        a_str(&a, "x");
        w_cmd(&b2, 3, 0, &a, 128);
        expect_error(&b2, 0, "without a stream id", "bad createStream");
        b_free(&b2);
    }
    b_free(&in);
}


/* a client that never writes runs into the output limit, cleanly */
static void
test_output_overflow(void)
{
    rtmp_play_t  *rp;
    buf_t         in = { 0 };
    uint8_t       ping[6] = { 0, 6, 1, 2, 3, 4 };
    int           rc = 0;
    size_t        i;

    rp = new_client(256);
    w_prelude(&in, 4096, 5000000);
    for (i = 0; i < 5000; i++) {
        w_msg(&in, 2, i ? 3 : 0, 0, 4, 0, ping, 6, 4096);
    }
    rec1.n = 0;
    rc = feed(rp, &in, 0, &rec1);
    CHECK(rc == -1 && strstr(rtmp_play_error(rp), "output queue"),
          "overflow: rc %d \"%s\"", rc, rtmp_play_error(rp));
    rtmp_play_destroy(rp);
    b_free(&in);
}


static void
test_truncated_and_keep(void)
{
    rtmp_play_t  *rp;
    buf_t         in = { 0 };
    size_t        full;
    int           rc;

    /* a message cut in the middle: nothing delivered, no error */
    rp = new_client(16);
    w_prelude(&in, 4096, 5000000);
    full = in.len;
    w_msg(&in, 7, 0, 5, 9, 1, mkpl(3, 10000), 10000, 4096);
    in.len -= 5000;
    rec1.n = 0;
    rec1.media = 1;
    rc = feed(rp, &in, 7, &rec1);
    CHECK(rc == 0 && rec1.n == 1, "truncated: rc %d, %zu messages", rc,
          rec1.n);
    CHECK(rtmp_play_bytes_in(rp) == in.len, "bytes_in %llu",
          (unsigned long long) rtmp_play_bytes_in(rp));
    rtmp_play_destroy(rp);

    /* keep 16 and keep 0 */
    in.len = full;
    w_msg(&in, 7, 0, 5, 9, 1, mkpl(3, 10000), 10000, 4096);
    rp = new_client(16);
    rec1.n = 0;
    rc = feed(rp, &in, 0, &rec1);
    CHECK(rc == 0 && rec1.n == 2 && rec1.ev[1].head_len == 16
          && rec1.ev[1].total == 10000 && rec1.ev[1].head[15] == pat(3, 15),
          "keep 16");
    rtmp_play_destroy(rp);

    rp = new_client(0);
    rec1.n = 0;
    rc = feed(rp, &in, 0, &rec1);
    CHECK(rc == 0 && rtmp_play_playing(rp) && rec1.n == 2
          && rec1.ev[1].head_len == 0 && rec1.ev[1].total == 10000,
          "keep 0: %s", rtmp_play_error(rp));
    rtmp_play_destroy(rp);
    b_free(&in);

    CHECK(rtmp_play_create("a", "b", "c", (size_t) 1 << 30) == NULL,
          "absurd keep accepted");
}


/* random garbage and mutations never crash; errors carry a text */
static void
test_fuzz(void)
{
    rtmp_play_t  *rp;
    buf_t         base = { 0 }, in = { 0 };
    size_t        i, j, nerr = 0, nok = 0;
    int           rc;

    w_prelude(&base, 300, 3000);
    for (i = 0; i < 20; i++) {
        w_msg(&base, 6 + (i % 3), 0, (uint32_t) i * 33, (uint8_t) (8 + i % 2),
              1, mkpl((uint32_t) i, 2000), 2000, 300);
    }

    for (i = 0; i < 3000; i++) {
        in.len = 0;
        b_put(&in, base.p, base.len);
        if (i % 3 == 0) {
            /* valid prefix then garbage */
            in.len = 3073 + rnd() % (base.len - 3073);
            for (j = 0; j < 2000; j++) {
                b_u8(&in, (uint8_t) rnd());
            }
        } else {
            /* a few flipped bytes after the handshake */
            for (j = 0; j < 1 + i % 8; j++) {
                in.p[3073 + rnd() % (in.len - 3073)] = (uint8_t) rnd();
            }
        }
        rp = new_client(i % 2 ? 256 : 5);
        rec1.n = 0;
        rec1.media = 0;
        rc = feed(rp, &in, i % 5 == 0 ? 1 : -1, &rec1);
        if (rc == -1) {
            nerr++;
            if (rtmp_play_error(rp)[0] == '\0') {
                CHECK(0, "fuzz %zu: error without text", i);
            }
        } else {
            nok++;
        }
        rtmp_play_destroy(rp);
    }
    CHECK(nerr + nok == 3000, "fuzz");
    printf("fuzz: %zu mutated streams, %zu rejected, %zu accepted\n", i, nerr,
           nok);
    b_free(&base);
    b_free(&in);
}


int
main(void)
{
    static const uint32_t  chunks[] = { 1, 60, 128, 4096, 65536 };
    static const long      steps[] = { 0, 1, -1 };
    size_t                 i, j;

    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        for (j = 0; j < sizeof(steps) / sizeof(steps[0]); j++) {
            test_handshake_and_flow(chunks[i], steps[j]);
            test_formats(chunks[i], steps[j], 256);
            test_ext(chunks[i], steps[j]);
            test_interleave(chunks[i], steps[j]);
        }
    }
    test_formats(4096, 0, 16);
    test_formats(128, -1, 5000);
    test_split_equivalence();
    test_abort_ping();
    test_errors();
    test_output_overflow();
    test_truncated_and_keep();
    test_fuzz();

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
