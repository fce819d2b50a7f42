/*
 * rtmp_play: sans-IO RTMP play client.  See rtmp_play.h.
 *
 * This file is the chunk layer: the handshake, the chunk stream reader
 * (headers, bodies, per chunk stream state), the output queue and chunk
 * writer, protocol control messages (Set Chunk Size, Abort, User Control,
 * Window Acknowledgement Size, acknowledgements) and the public API.  AMF0
 * and the connect / createStream / play commands are in rtmp_play_amf.c;
 * the shared state is in rtmp_play_int.h.
 *
 * Written from the RTMP specification (Adobe, 2012); the behaviour of
 * nginx-rtmp 1.2.2 was checked for the facts noted below (old-style
 * handshake echo, extended timestamps repeated on fmt 3 continuation chunks
 * when play_time_fix is on, the default).
 */
#include "rtmp_play_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* ---------------------------------------------------------------- misc */

void
rp_fail(rtmp_play_t *rp, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(rp->err, sizeof(rp->err), fmt, ap);
    va_end(ap);
    rp->state = RP_ST_ERR;
}


static uint64_t
rp_random(rtmp_play_t *rp)
{
    /* xorshift64*: C1 only needs to look random, not be secret */
    rp->rnd ^= rp->rnd >> 12;
    rp->rnd ^= rp->rnd << 25;
    rp->rnd ^= rp->rnd >> 27;
    return rp->rnd * 0x2545f4914f6cdd1dULL;
}


/* -------------------------------------------------------------- output */

static uint8_t *
rp_out_reserve(rtmp_play_t *rp, size_t n)
{
    size_t    pending, cap;
    uint8_t  *p;

    if (rp->out_pos == rp->out_len) {
        rp->out_pos = rp->out_len = 0;
    }

    if (rp->out_cap - rp->out_len >= n) {
        return rp->out + rp->out_len;
    }

    pending = rp->out_len - rp->out_pos;

    if (pending + n > RP_OUT_MAX) {
        rp_fail(rp, "output queue overflow (%zu bytes not written)",
                pending);
        return NULL;
    }

    if (rp->out_pos > 0) {
        memmove(rp->out, rp->out + rp->out_pos, pending);
        rp->out_pos = 0;
        rp->out_len = pending;
        if (rp->out_cap - rp->out_len >= n) {
            return rp->out + rp->out_len;
        }
    }

    cap = rp->out_cap ? rp->out_cap : 256;
    while (cap < pending + n) {
        cap *= 2;
    }

    p = realloc(rp->out, cap);
    if (p == NULL) {
        rp_fail(rp, "out of memory (output queue of %zu bytes)", cap);
        return NULL;
    }

    rp->out = p;
    rp->out_cap = cap;
    return rp->out + rp->out_len;
}


/* one message as chunks of RP_OUT_CHUNK: a fmt 0 header, then fmt 3 */
int
rp_send(rtmp_play_t *rp, uint32_t csid, uint8_t type, uint32_t msid,
    const uint8_t *pl, size_t len)
{
    size_t    nchunks, total, off, n;
    uint8_t  *p;

    nchunks = len ? (len + RP_OUT_CHUNK - 1) / RP_OUT_CHUNK : 1;
    total = 12 + (nchunks - 1) + len;

    p = rp_out_reserve(rp, total);
    if (p == NULL) {
        return -1;
    }

    *p++ = (uint8_t) csid;                  /* fmt 0, csid 2..63 */
    *p++ = 0;                               /* timestamp 0 */
    *p++ = 0;
    *p++ = 0;
    *p++ = (uint8_t) (len >> 16);
    *p++ = (uint8_t) (len >> 8);
    *p++ = (uint8_t) len;
    *p++ = type;
    *p++ = (uint8_t) msid;                  /* little endian */
    *p++ = (uint8_t) (msid >> 8);
    *p++ = (uint8_t) (msid >> 16);
    *p++ = (uint8_t) (msid >> 24);

    for (off = 0; off < len; off += n) {
        if (off) {
            *p++ = (uint8_t) (0xc0 | csid);
        }
        n = len - off < RP_OUT_CHUNK ? len - off : RP_OUT_CHUNK;
        memcpy(p, pl + off, n);
        p += n;
    }

    rp->out_len += total;
    return 0;
}


/* ------------------------------------------------------ messages in */

static int
rp_on_message(rtmp_play_t *rp, rp_cs_t *cs, rtmp_play_msg_pt cb, void *ctx)
{
    const uint8_t  *p;
    size_t          have, head;
    uint32_t        v;
    uint16_t        ev;
    uint8_t         resp[6];
    unsigned        i;

    p = cs->buf;
    have = cs->len < cs->cap ? cs->len : cs->cap;

    switch (cs->type) {

    case 1:                                     /* Set Chunk Size */
        if (have < 4) {
            rp_fail(rp, "short Set Chunk Size message (%u bytes)", cs->len);
            return -1;
        }
        v = ws_stream_rb32(p) & 0x7fffffff;
        if (v == 0) {
            rp_fail(rp, "Set Chunk Size 0");
            return -1;
        }
        rp->in_chunk = v;
        break;

    case 2:                                     /* Abort */
        if (have < 4) {
            rp_fail(rp, "short Abort message");
            return -1;
        }
        v = ws_stream_rb32(p);
        for (i = 0; i < RP_MAX_CS; i++) {
            if (rp->cs[i].csid == v && &rp->cs[i] != cs) {
                rp->cs[i].active = 0;
                rp->cs[i].got = 0;
            }
        }
        break;

    case 4:                                     /* User Control */
        if (have < 2) {
            rp_fail(rp, "short User Control message");
            return -1;
        }
        ev = (uint16_t) ((p[0] << 8) | p[1]);
        if (ev == 6) {                          /* PingRequest */
            if (have < 6) {
                rp_fail(rp, "short PingRequest");
                return -1;
            }
            resp[0] = 0;
            resp[1] = 7;                        /* PingResponse */
            memcpy(resp + 2, p + 2, 4);
            if (rp_send(rp, 2, 4, 0, resp, sizeof(resp)) != 0) {
                return -1;
            }
        }
        break;

    case 5:                                     /* Window Ack Size */
        if (have < 4) {
            rp_fail(rp, "short Window Acknowledgement Size message");
            return -1;
        }
        rp->ack_window = ws_stream_rb32(p);
        break;

    case 17:                                    /* AMF3 command */
        if (have >= 1 && rp_on_command(rp, p + 1, have - 1,
                                       cs->len <= cs->cap) != 0)
        {
            return -1;
        }
        break;

    case 20:                                    /* AMF0 command */
        if (rp_on_command(rp, p, have, cs->len <= cs->cap) != 0) {
            return -1;
        }
        break;

    default:                                    /* 3 Ack, 6 Peer BW, ... */
        break;
    }

    if (cb != NULL) {
        head = cs->len < rp->keep ? cs->len : rp->keep;
        cb(ctx, cs->type, cs->ts, p, head, cs->len);
    }

    return 0;
}


/* called when a message starts: make room for its head */
static int
rp_cs_prepare(rtmp_play_t *rp, rp_cs_t *cs)
{
    size_t    want;
    uint8_t  *b;

    want = rp->ikeep;
    if ((cs->type == 20 || cs->type == 17) && cs->len > want) {
        want = cs->len < RP_CMD_MAX ? cs->len : RP_CMD_MAX;
    }

    if (cs->buf != NULL && cs->cap == want) {
        return 0;
    }

    b = realloc(cs->buf, want);
    if (b == NULL) {
        rp_fail(rp, "out of memory (%zu byte message head)", want);
        return -1;
    }
    cs->buf = b;
    cs->cap = (uint32_t) want;
    return 0;
}


static rp_cs_t *
rp_cs_find(rtmp_play_t *rp, uint32_t csid, int create)
{
    unsigned   i;
    rp_cs_t   *cs, *lru;
    uint8_t   *buf;
    uint32_t   cap;

    for (i = 0; i < RP_MAX_CS; i++) {
        if (rp->cs[i].csid == csid) {
            return &rp->cs[i];
        }
    }
    if (!create) {
        return NULL;
    }

    /* a free slot, else the least recently used one without a message in
       progress (its header state is forgotten) */
    lru = NULL;
    for (i = 0; i < RP_MAX_CS; i++) {
        cs = &rp->cs[i];
        if (cs->csid == 0) {
            lru = cs;
            break;
        }
        if (!cs->active && (lru == NULL || cs->used < lru->used)) {
            lru = cs;
        }
    }
    if (lru == NULL) {
        return NULL;
    }

    buf = lru->buf;
    cap = lru->cap;
    memset(lru, 0, sizeof(*lru));
    lru->csid = csid;
    lru->buf = buf;
    lru->cap = cap;
    return lru;
}


/*
 * How many header bytes are needed, given what is in rp->hdr so far.
 * Sets *done when rp->hdr_len reaches it.
 */
static uint32_t
rp_hdr_need(rtmp_play_t *rp)
{
    static const uint8_t  mh[4] = { 11, 7, 3, 0 };
    uint32_t              bh, fmt, csid, need;
    rp_cs_t              *cs;

    if (rp->hdr_len < 1) {
        return 1;
    }

    fmt = rp->hdr[0] >> 6;
    csid = rp->hdr[0] & 0x3f;
    bh = csid == 0 ? 2 : csid == 1 ? 3 : 1;
    if (rp->hdr_len < bh) {
        return bh;
    }

    need = bh + mh[fmt];
    if (rp->hdr_len < need) {
        return need;
    }

    if (fmt < 3) {
        if (ws_stream_rb24(rp->hdr + bh) == 0xffffff) {
            need += 4;
        }
        return need;
    }

    if (csid == 0) {
        csid = 64 + rp->hdr[1];
    } else if (csid == 1) {
        csid = 64 + rp->hdr[1] + 256 * (uint32_t) rp->hdr[2];
    }
    cs = rp_cs_find(rp, csid, 0);
    if (cs != NULL && cs->ext) {
        need += 4;
    }
    return need;
}


/* a complete chunk header is in rp->hdr */
static int
rp_hdr_done(rtmp_play_t *rp, rtmp_play_msg_pt cb, void *ctx)
{
    uint32_t   bh, fmt, csid, tsf, len;
    uint8_t   *h;
    rp_cs_t   *cs;
    int        starting;

    h = rp->hdr;
    fmt = h[0] >> 6;
    csid = h[0] & 0x3f;
    bh = 1;
    if (csid == 0) {
        csid = 64 + h[1];
        bh = 2;
    } else if (csid == 1) {
        csid = 64 + h[1] + 256 * (uint32_t) h[2];
        bh = 3;
    }
    h += bh;

    cs = rp_cs_find(rp, csid, 1);
    if (cs == NULL) {
        rp_fail(rp, "more than %d chunk streams in use at once (csid %u)",
                RP_MAX_CS, csid);
        return -1;
    }
    cs->used = ++rp->clock;

    /* a fresh chunk stream must start with fmt 0 (fmt 1 tolerated) */
    if (!cs->seen && fmt >= 2) {
        rp_fail(rp, "chunk stream %u starts with a fmt %u header", csid,
                fmt);
        return -1;
    }

    if (cs->active && fmt != 3) {
        rp_fail(rp, "chunk stream %u: fmt %u header inside a message "
                "(%u of %u bytes)", csid, fmt, cs->got, cs->len);
        return -1;
    }

    starting = !cs->active;

    if (fmt < 3) {
        tsf = ws_stream_rb24(h);
        len = cs->len;
        if (fmt <= 1) {
            len = ws_stream_rb24(h + 3);
            cs->type = h[6];
            if (fmt == 0) {
                cs->msid = (uint32_t) h[7] | ((uint32_t) h[8] << 8)
                           | ((uint32_t) h[9] << 16)
                           | ((uint32_t) h[10] << 24);
            }
        }
        cs->len = len;
        cs->ext = tsf == 0xffffff;
        if (cs->ext) {
            tsf = ws_stream_rb32(h + (fmt == 0 ? 11
                                          : fmt == 1 ? 7 : 3));
        }
        cs->delta = tsf;
        cs->ts = fmt == 0 ? tsf : cs->ts + tsf;

    } else if (starting) {
        /* new message with everything (delta too) as the previous one;
           an extended timestamp field here repeats the delta */
        cs->ts += cs->delta;
    }
    /* else: continuation chunk; its extended timestamp (if any) is only
       a repetition and is ignored */

    cs->seen = 1;

    if (starting) {
        cs->got = 0;
        cs->active = 1;
        if (rp_cs_prepare(rp, cs) != 0) {
            return -1;
        }
    }

    rp->cur = cs;
    rp->chunk_left = cs->len - cs->got;
    if (rp->chunk_left > rp->in_chunk) {
        rp->chunk_left = rp->in_chunk;
    }

    if (cs->len == 0) {                 /* empty message: complete now */
        cs->active = 0;
        rp->state = RP_ST_HDR;
        return rp_on_message(rp, cs, cb, ctx);
    }

    rp->state = RP_ST_BODY;
    return 0;
}


static size_t
rp_body(rtmp_play_t *rp, const uint8_t *p, size_t n, rtmp_play_msg_pt cb,
    void *ctx)
{
    rp_cs_t  *cs;
    size_t    k, c;

    cs = rp->cur;
    k = n < rp->chunk_left ? n : rp->chunk_left;

    if (cs->got < cs->cap) {
        c = cs->cap - cs->got;
        if (c > k) {
            c = k;
        }
        memcpy(cs->buf + cs->got, p, c);
    }

    cs->got += (uint32_t) k;
    rp->chunk_left -= (uint32_t) k;

    if (rp->chunk_left == 0) {
        rp->state = RP_ST_HDR;
        if (cs->got == cs->len) {
            cs->active = 0;
            if (rp_on_message(rp, cs, cb, ctx) != 0) {
                return (size_t) -1;
            }
        }
    }

    return k;
}


/* ----------------------------------------------------------------- API */

rtmp_play_t *
rtmp_play_create(const char *tcurl, const char *app, const char *stream,
    size_t keep)
{
    rtmp_play_t  *rp;
    size_t        lt, la, ls, i;
    uint8_t      *p;
    uint64_t      r;
    char         *s;
    static unsigned long  seq;
    struct timespec       tv;

    if (tcurl == NULL || app == NULL || stream == NULL) {
        return NULL;
    }

    lt = strlen(tcurl);
    la = strlen(app);
    ls = strlen(stream);
    if (lt > RP_MAX_STR || la > RP_MAX_STR || ls > RP_MAX_STR
        || keep > (1u << 24))
    {
        return NULL;
    }

    rp = calloc(1, sizeof(*rp) + lt + la + ls + 3);
    if (rp == NULL) {
        return NULL;
    }

    s = (char *) (rp + 1);
    rp->tcurl = memcpy(s, tcurl, lt + 1);
    s += lt + 1;
    rp->app = memcpy(s, app, la + 1);
    s += la + 1;
    rp->stream = memcpy(s, stream, ls + 1);

    rp->keep = keep;
    rp->ikeep = keep > RP_MIN_KEEP ? keep : RP_MIN_KEEP;
    rp->in_chunk = 128;
    rp->state = RP_ST_S0;
    rp->phase = RP_PH_CONNECT;

    if (clock_gettime(CLOCK_MONOTONIC, &tv) != 0) {
        tv.tv_sec = 0;
        tv.tv_nsec = 0;
    }
    rp->rnd = ((uint64_t) tv.tv_sec * 1000000007ULL) ^ (uint64_t) tv.tv_nsec
              ^ ((uint64_t) (uintptr_t) rp << 16) ^ (++seq * 0x9e3779b9ULL)
              ^ 0x5deece66dULL;
    if (rp->rnd == 0) {
        rp->rnd = 1;
    }

    /* C0 + C1: version 3, time 0, zero, 1528 random bytes */
    p = rp_out_reserve(rp, 1 + RP_HS_SIZE);
    if (p == NULL) {
        rtmp_play_destroy(rp);
        return NULL;
    }
    p[0] = 3;
    memset(p + 1, 0, 8);
    for (i = 9; i < 1 + RP_HS_SIZE; i += 8) {
        r = rp_random(rp);
        memcpy(p + i, &r, 8);
    }
    rp->out_len = 1 + RP_HS_SIZE;

    return rp;
}


void
rtmp_play_destroy(rtmp_play_t *rp)
{
    unsigned  i;

    if (rp == NULL) {
        return;
    }
    for (i = 0; i < RP_MAX_CS; i++) {
        free(rp->cs[i].buf);
    }
    free(rp->out);
    free(rp);
}


size_t
rtmp_play_output(rtmp_play_t *rp, const uint8_t **p)
{
    if (rp->out == NULL) {
        *p = NULL;
        return 0;
    }
    *p = rp->out + rp->out_pos;
    return rp->out_len - rp->out_pos;
}


void
rtmp_play_consumed(rtmp_play_t *rp, size_t n)
{
    if (n > rp->out_len - rp->out_pos) {
        n = rp->out_len - rp->out_pos;
    }
    rp->out_pos += n;

    if (rp->out_pos == rp->out_len) {
        rp->out_pos = rp->out_len = 0;
        if (rp->out_cap > 1024) {
            /* the handshake is gone: give the big buffer back */
            free(rp->out);
            rp->out = NULL;
            rp->out_cap = 0;
        }
    }
}


int
rtmp_play_input(rtmp_play_t *rp, const uint8_t *p, size_t n,
    rtmp_play_msg_pt cb, void *ctx)
{
    const uint8_t  *end;
    size_t          k;
    uint32_t        need;
    uint8_t        *o;

    if (rp->state == RP_ST_ERR) {
        return -1;
    }

    end = p + n;
    rp->bytes_in += n;

    while (p < end) {

        switch (rp->state) {

        case RP_ST_S0:
            if (*p != 3) {
                rp_fail(rp, "handshake: server RTMP version %u (want 3)",
                        *p);
                return -1;
            }
            p++;
            rp->state = RP_ST_S1;
            rp->hs_got = 0;
            break;

        case RP_ST_S1:
            /* C2 is the echo of S1: queue it as it arrives */
            k = (size_t) (end - p);
            if (k > RP_HS_SIZE - rp->hs_got) {
                k = RP_HS_SIZE - rp->hs_got;
            }
            o = rp_out_reserve(rp, k);
            if (o == NULL) {
                return -1;
            }
            memcpy(o, p, k);
            rp->out_len += k;
            p += k;
            rp->hs_got += (uint32_t) k;
            if (rp->hs_got == RP_HS_SIZE) {
                rp->state = RP_ST_S2;
                rp->hs_got = 0;
            }
            break;

        case RP_ST_S2:
            /* S2 (nginx-rtmp old style: our C1 again) is not checked */
            k = (size_t) (end - p);
            if (k > RP_HS_SIZE - rp->hs_got) {
                k = RP_HS_SIZE - rp->hs_got;
            }
            p += k;
            rp->hs_got += (uint32_t) k;
            if (rp->hs_got == RP_HS_SIZE) {
                rp->state = RP_ST_HDR;
                rp->hdr_len = 0;
                if (rp_send_connect(rp) != 0) {
                    return -1;
                }
            }
            break;

        case RP_ST_HDR:
            need = rp_hdr_need(rp);
            while (rp->hdr_len < need && p < end) {
                rp->hdr[rp->hdr_len++] = *p++;
                need = rp_hdr_need(rp);
            }
            if (rp->hdr_len < need) {
                break;                          /* p == end */
            }
            rp->hdr_len = 0;
            if (rp_hdr_done(rp, cb, ctx) != 0) {
                return -1;
            }
            break;

        case RP_ST_BODY:
            k = rp_body(rp, p, (size_t) (end - p), cb, ctx);
            if (k == (size_t) -1) {
                return -1;
            }
            p += k;
            break;

        default:
            return -1;
        }

        if (rp->state == RP_ST_ERR) {
            return -1;
        }
    }

    /* acknowledge once a window's worth arrived since the last one */
    if (rp->ack_window != 0 && rp->bytes_in - rp->last_ack >= rp->ack_window
        && rp->state >= RP_ST_HDR)
    {
        uint8_t  seq[4];

        ws_stream_wb(seq, (uint32_t) rp->bytes_in, 4);
        if (rp_send(rp, 2, 3, 0, seq, 4) != 0) {
            return -1;
        }
        rp->last_ack = rp->bytes_in;
    }

    return 0;
}


const char *
rtmp_play_error(rtmp_play_t *rp)
{
    return rp->err;
}


int
rtmp_play_playing(rtmp_play_t *rp)
{
    return rp->playing;
}


uint64_t
rtmp_play_bytes_in(rtmp_play_t *rp)
{
    return rp->bytes_in;
}


size_t
rtmp_play_memory(rtmp_play_t *rp)
{
    size_t    m;
    unsigned  i;

    m = sizeof(*rp) + strlen(rp->tcurl) + strlen(rp->app)
        + strlen(rp->stream) + 3 + rp->out_cap;
    for (i = 0; i < RP_MAX_CS; i++) {
        m += rp->cs[i].cap;
    }
    return m;
}
