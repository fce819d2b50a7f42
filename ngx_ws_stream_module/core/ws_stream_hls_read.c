
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The readers' side of the LL-HLS index, for any process without a lock:
 * the head, part and segment lookups, snapshots, and what a request asks
 * for (arguments, blocking decisions, file names).
 */


#include "ws_stream_hls_int.h"


/* a reader copies again at most this often before it gives up */
#define WS_STREAM_HLS_TRIES        1000


static int ws_stream_hls_wait(const ws_stream_hls_head_t *hd, uint64_t msn,
    int has_part, uint64_t part, const char **why);
static void ws_stream_hls_read_head(const ws_stream_hls_t *h,
    ws_stream_hls_head_t *hd);
static int ws_stream_hls_read_part(const ws_stream_hls_t *h, uint64_t msn,
    uint64_t n, ws_stream_hls_chunk_t *c);
static int ws_stream_hls_read_seg(const ws_stream_hls_t *h, uint64_t msn,
    ws_stream_hls_seg_ref_t *s);
static void ws_stream_hls_read_snap(const ws_stream_hls_t *h,
    ws_stream_hls_snap_t *s);
static int ws_stream_hls_number(const uint8_t **pp, const uint8_t *end,
    uint64_t max, int zeros, uint64_t *v);


static void
ws_stream_hls_read_head(const ws_stream_hls_t *h, ws_stream_hls_head_t *hd)
{
    const ws_stream_hls_seg_t  *s;

    hd->open = h->open;
    hd->oldest = h->oldest;
    hd->committed = h->committed;
    hd->end = h->end;
    hd->open_parts = h->open_parts;
    hd->part_target = h->conf.part;
    hd->prev_parts = 0;

    if (hd->open > hd->oldest) {
        s = ws_stream_hls_seg(h, hd->open - 1);
        hd->prev_parts = s->id == hd->open ? s->nparts : 0;
    }
}


#define ws_stream_hls_read(h, call, busy)                                    \
    do {                                                                     \
        unsigned  i_;                                                        \
        uint64_t  v_;                                                        \
                                                                             \
        for (i_ = 0; i_ < WS_STREAM_HLS_TRIES; i_++) {                       \
            v_ = ws_stream_hls_load(&(h)->version);                          \
                                                                             \
            if (v_ & 1) {                                                    \
                continue;                                                    \
            }                                                                \
                                                                             \
            call;                                                            \
            __atomic_thread_fence(__ATOMIC_ACQUIRE);                         \
                                                                             \
            if (__atomic_load_n(&(h)->version, __ATOMIC_RELAXED) == v_) {    \
                return rc;                                                   \
            }                                                                \
        }                                                                    \
                                                                             \
        return busy;                                                         \
    } while (0)


int
ws_stream_hls_head(const ws_stream_hls_t *h, ws_stream_hls_head_t *hd)
{
    int  rc;

    rc = WS_STREAM_OK;

    ws_stream_hls_read(h, ws_stream_hls_read_head(h, hd), WS_STREAM_AGAIN);
}


static int
ws_stream_hls_read_part(const ws_stream_hls_t *h, uint64_t msn, uint64_t n,
    ws_stream_hls_chunk_t *c)
{
    uint64_t                     number;
    const ws_stream_hls_seg_t   *s;
    const ws_stream_hls_part_t  *p;
    ws_stream_hls_head_t         hd;

    ws_stream_hls_read_head(h, &hd);

    if (msn < hd.oldest) {
        return WS_STREAM_HLS_GONE;
    }

    if (msn < hd.open || (msn == hd.open && n < hd.open_parts)) {
        s = ws_stream_hls_seg(h, msn);

        if (s->id != msn + 1 || n >= s->nparts) {
            return WS_STREAM_HLS_GONE;
        }

        number = s->first + n;
        p = ws_stream_hls_prt(h, number);

        if (p->id != number + 1) {
            return WS_STREAM_HLS_GONE;
        }

        c->handle = p->handle;
        c->number = number;
        c->size = p->size;
        c->gen = s->gen;

        return WS_STREAM_HLS_FOUND;
    }

    return ws_stream_hls_wait(&hd, msn, 1, n, NULL) == WS_STREAM_HLS_WAIT
           ? WS_STREAM_HLS_NOT_YET : WS_STREAM_HLS_BAD;
}


int
ws_stream_hls_part(const ws_stream_hls_t *h, uint64_t msn, uint64_t n,
    ws_stream_hls_chunk_t *c)
{
    int  rc;

    ws_stream_hls_read(h, rc = ws_stream_hls_read_part(h, msn, n, c),
                       WS_STREAM_HLS_BUSY);
}


static int
ws_stream_hls_read_seg(const ws_stream_hls_t *h, uint64_t msn,
    ws_stream_hls_seg_ref_t *r)
{
    uint32_t                     i;
    uint64_t                     number;
    const ws_stream_hls_seg_t   *s;
    const ws_stream_hls_part_t  *p;
    ws_stream_hls_head_t         hd;

    ws_stream_hls_read_head(h, &hd);

    if (msn < hd.oldest) {
        return WS_STREAM_HLS_GONE;
    }

    if (msn >= hd.open) {
        return ws_stream_hls_wait(&hd, msn, 0, 0, NULL) == WS_STREAM_HLS_WAIT
               ? WS_STREAM_HLS_NOT_YET : WS_STREAM_HLS_BAD;
    }

    s = ws_stream_hls_seg(h, msn);

    if (s->id != msn + 1 || s->nparts > WS_STREAM_HLS_SEG_PARTS) {
        return WS_STREAM_HLS_GONE;
    }

    r->msn = msn;
    r->bytes = s->bytes;
    r->nparts = s->nparts;
    r->gen = s->gen;
    r->duration = s->duration;

    for (i = 0; i < s->nparts; i++) {
        number = s->first + i;
        p = ws_stream_hls_prt(h, number);

        if (p->id != number + 1) {
            return WS_STREAM_HLS_GONE;
        }

        r->parts[i].handle = p->handle;
        r->parts[i].number = number;
        r->parts[i].size = p->size;
        r->parts[i].gen = s->gen;
    }

    return WS_STREAM_HLS_FOUND;
}


int
ws_stream_hls_segment(const ws_stream_hls_t *h, uint64_t msn,
    ws_stream_hls_seg_ref_t *s)
{
    int  rc;

    ws_stream_hls_read(h, rc = ws_stream_hls_read_seg(h, msn, s),
                       WS_STREAM_HLS_BUSY);
}


static void
ws_stream_hls_read_snap(const ws_stream_hls_t *h, ws_stream_hls_snap_t *s)
{
    uint64_t                    m, last, from, i;
    const ws_stream_hls_seg_t  *g;

    ws_stream_hls_read_head(h, &s->head);

    s->target = h->target;
    s->segment = h->conf.segment;
    s->window = h->conf.window;
    s->next_gen = h->next_gen;
    s->next_disc = h->next_disc;
    s->discs = h->discs;

    m = s->head.open > s->window ? s->head.open - s->window : 0;
    s->first = m > s->head.oldest ? m : s->head.oldest;

    last = s->head.open + (s->head.open_parts ? 1 : 0);
    s->nsegs = 0;

    for (m = s->first; m < last && s->nsegs < WS_STREAM_HLS_SEGS; m++) {
        s->segs[s->nsegs++] = *ws_stream_hls_seg(h, m);
    }

    /* parts are listed for the open segment and for the last two
     * complete ones if all their parts are within 3 target durations of
     * the end (rfc8216bis 4.4.4.9: removed when older than that) */

    from = s->head.open >= 2 ? s->head.open - 2 : 0;
    from = from > s->first ? from : s->first;

    for ( /* void */ ; from < s->head.open; from++) {
        g = &s->segs[(from - s->first) % WS_STREAM_HLS_SEGS];

        if (s->head.end - g->start <= 3000 * (uint64_t) s->target) {
            break;
        }
    }

    s->parts_from = from;
    s->first_part = from < last
                    ? s->segs[(from - s->first) % WS_STREAM_HLS_SEGS].first
                    : s->head.committed;
    s->nparts = 0;

    for (i = s->first_part;
         i < s->head.committed && s->nparts < WS_STREAM_HLS_PARTS;
         i++)
    {
        s->parts[s->nparts++] = *ws_stream_hls_prt(h, i);
    }
}


int
ws_stream_hls_snapshot(const ws_stream_hls_t *h, ws_stream_hls_snap_t *s)
{
    int  rc;

    rc = WS_STREAM_OK;

    ws_stream_hls_read(h, ws_stream_hls_read_snap(h, s), WS_STREAM_AGAIN);
}


int
ws_stream_hls_intact(const ws_stream_hls_t *h, uint64_t number)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    return ws_stream_hls_load(&h->oldest_part) <= number;
}


int
ws_stream_hls_last(const ws_stream_hls_head_t *hd, uint64_t *msn,
    uint64_t *part)
{
    if (hd->open_parts) {
        *msn = hd->open;
        *part = hd->open_parts - 1;
        return 1;
    }

    if (hd->open > hd->oldest && hd->prev_parts) {
        *msn = hd->open - 1;
        *part = hd->prev_parts - 1;
        return 1;
    }

    return 0;
}


int
ws_stream_hls_args(const uint8_t *p, size_t len, ws_stream_hls_args_t *a)
{
    size_t          n;
    uint64_t        v;
    const uint8_t  *end, *amp, *eq, *q;

    memset(a, 0, sizeof(ws_stream_hls_args_t));

    end = p + len;

    for ( /* void */ ; p < end; p = amp + 1) {

        for (amp = p; amp < end && *amp != '&'; amp++) { /* void */ }
        for (eq = p; eq < amp && *eq != '='; eq++) { /* void */ }

        n = eq - p;

        if (n < 8 || memcmp(p, "_HLS_", 5) != 0) {
            continue;
        }

        q = eq + 1;

        if (n == 9 && memcmp(p + 5, "skip", 4) == 0) {

            if (a->skip) {
                a->error = "_HLS_skip is repeated";
                return WS_STREAM_ERROR;
            }

            if (amp - q == 3 && memcmp(q, "YES", 3) == 0) {
                a->skip = WS_STREAM_HLS_SKIP_YES;

            } else if (amp - q == 2 && memcmp(q, "v2", 2) == 0) {
                a->skip = WS_STREAM_HLS_SKIP_V2;

            } else {
                a->error = "_HLS_skip is not YES or v2";
                return WS_STREAM_ERROR;
            }

            continue;
        }

        if (!((n == 8 && memcmp(p + 5, "msn", 3) == 0)
              || (n == 9 && memcmp(p + 5, "part", 4) == 0)))
        {
            continue;
        }

        if ((n == 8 && a->has_msn) || (n == 9 && a->has_part)) {
            a->error = "an _HLS_ argument is repeated";
            return WS_STREAM_ERROR;
        }

        if (eq == amp
            || ws_stream_hls_number(&q, amp, UINT64_MAX, 1, &v)
               != WS_STREAM_OK
            || q != amp)
        {
            a->error = "_HLS_msn or _HLS_part is not a decimal-integer";
            return WS_STREAM_ERROR;
        }

        if (n == 8) {
            a->msn = v;
            a->has_msn = 1;

        } else {
            a->part = v;
            a->has_part = 1;
        }
    }

    return WS_STREAM_OK;
}


int
ws_stream_hls_block(const ws_stream_hls_head_t *hd,
    const ws_stream_hls_args_t *a, const char **why)
{
    if (a->skip == WS_STREAM_HLS_SKIP_V2) {
        *why = "_HLS_skip=v2 needs CAN-SKIP-DATERANGES, which is not offered";
        return WS_STREAM_HLS_REFUSE;
    }

    if (a->has_part && !a->has_msn) {
        *why = "_HLS_part without _HLS_msn";
        return WS_STREAM_HLS_REFUSE;
    }

    if (!a->has_msn) {
        return WS_STREAM_HLS_READY;
    }

    return ws_stream_hls_wait(hd, a->msn, a->has_part, a->part, why);
}


static int
ws_stream_hls_wait(const ws_stream_hls_head_t *hd, uint64_t msn,
    int has_part, uint64_t part, const char **why)
{
    uint64_t     shown, limit;
    const char  *dummy;

    if (why == NULL) {
        why = &dummy;
    }

    /* 1 + the msn of the last segment shown, complete or by its parts */

    shown = hd->open + (hd->open_parts ? 1 : 0);

    if (msn > shown + 1) {
        *why = "_HLS_msn is more than 2 past the last segment";
        return WS_STREAM_HLS_REFUSE;
    }

    if (msn < hd->open) {
        return WS_STREAM_HLS_READY;
    }

    if (!has_part) {
        return WS_STREAM_HLS_WAIT;
    }

    /* the Advance Part Limit; a later segment is at least part + 1 parts
     * past the last, whatever the open one still gets */

    limit = hd->part_target < 1000 ? 3000 / hd->part_target : 3;

    if (part >= limit + (msn == hd->open ? hd->open_parts : 0)) {
        *why = "_HLS_part is more than the Advance Part Limit past the last";
        return WS_STREAM_HLS_REFUSE;
    }

    if (msn == hd->open && part < hd->open_parts) {
        return WS_STREAM_HLS_READY;
    }

    return WS_STREAM_HLS_WAIT;
}


unsigned
ws_stream_hls_uri(const uint8_t *p, size_t len, ws_stream_hls_uri_t *u)
{
    uint64_t        v;
    const uint8_t  *end;

    memset(u, 0, sizeof(ws_stream_hls_uri_t));

    end = p + len;

    if (len == 10 && memcmp(p, "index.m3u8", 10) == 0) {
        return u->type = WS_STREAM_HLS_URI_MULTI;
    }

    if (len == 10 && memcmp(p, "media.m3u8", 10) == 0) {
        return u->type = WS_STREAM_HLS_URI_MEDIA;
    }

    if (len > 9 && memcmp(p, "init-", 5) == 0
        && memcmp(end - 4, ".mp4", 4) == 0)
    {
        p += 5;

        if (ws_stream_hls_number(&p, end - 4, UINT32_MAX, 0, &v)
            != WS_STREAM_OK || p != end - 4)
        {
            return WS_STREAM_HLS_URI_NONE;
        }

        u->gen = (uint32_t) v;

        return u->type = WS_STREAM_HLS_URI_INIT;
    }

    if (len < 5 || memcmp(end - 4, ".m4s", 4) != 0) {
        return WS_STREAM_HLS_URI_NONE;
    }

    end -= 4;

    if (ws_stream_hls_number(&p, end, UINT64_MAX, 0, &u->msn)
        != WS_STREAM_OK)
    {
        return WS_STREAM_HLS_URI_NONE;
    }

    if (p == end) {
        return u->type = WS_STREAM_HLS_URI_SEGMENT;
    }

    p++;

    if (p[-1] != '.'
        || ws_stream_hls_number(&p, end, UINT32_MAX, 0, &v) != WS_STREAM_OK
        || p != end)
    {
        u->msn = 0;
        return WS_STREAM_HLS_URI_NONE;
    }

    u->part = (uint32_t) v;

    return u->type = WS_STREAM_HLS_URI_PART;
}


/* decimal digits up to a non-digit: at least one, at most max */

static int
ws_stream_hls_number(const uint8_t **pp, const uint8_t *end, uint64_t max,
    int zeros, uint64_t *v)
{
    unsigned        d;
    const uint8_t  *p;

    p = *pp;
    *v = 0;

    if (p == end || *p < '0' || *p > '9'
        || (!zeros && *p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9'))
    {
        return WS_STREAM_ERROR;
    }

    for ( /* void */ ; p < end && *p >= '0' && *p <= '9'; p++) {
        d = *p - '0';

        if (*v > (max - d) / 10) {
            return WS_STREAM_ERROR;
        }

        *v = *v * 10 + d;
    }

    *pp = p;

    return WS_STREAM_OK;
}
