
/*
 * Copyright (C) ngx_ws_stream authors
 */


#include "ngx_ws_stream_ring.h"


#define ngx_ws_stream_load(p)      __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define ngx_ws_stream_store(p, v)  __atomic_store_n(p, v, __ATOMIC_RELEASE)
#define ngx_ws_stream_fence()      __atomic_thread_fence(__ATOMIC_SEQ_CST)

#define NGX_WS_STREAM_REC_MIN      8       /* size and type of a pad */

#define ngx_ws_stream_align8(n)    (((n) + 7) & ~(uint64_t) 7)


static int ngx_ws_stream_ring_safe(ngx_ws_stream_ring_t *ring, uint64_t pos,
    uint64_t head, uint64_t tail);


void
ngx_ws_stream_ring_init(ngx_ws_stream_ring_t *ring, uint8_t *data,
    size_t size)
{
    memset(ring, 0, sizeof(ngx_ws_stream_ring_t));

    ring->data = data;
    ring->size = size & ~(uint64_t) 7;
    ring->margin = ngx_ws_stream_align8(ring->size / 8);
}


size_t
ngx_ws_stream_ring_max_frame(ngx_ws_stream_ring_t *ring)
{
    /* a frame never takes more than half the ring, so that at least one
     * older record and the margin survive every append */

    return ring->size / 2 - sizeof(ngx_ws_stream_rec_t);
}


uint8_t *
ngx_ws_stream_ring_reserve(ngx_ws_stream_ring_t *ring, size_t len)
{
    uint32_t             size;
    uint64_t             head, tail, need, pad, off, end;
    ngx_ws_stream_rec_t  *r;

    if (len > ngx_ws_stream_ring_max_frame(ring)) {
        return NULL;
    }

    need = ngx_ws_stream_align8(sizeof(ngx_ws_stream_rec_t) + len);

    head = ring->head;
    off = head % ring->size;
    pad = (ring->size - off < need) ? ring->size - off : 0;
    end = head + pad + need;

    /* move tail past every record the new one overwrites */

    tail = ring->tail;

    while (end - tail > ring->size) {
        r = (ngx_ws_stream_rec_t *) (ring->data + tail % ring->size);
        size = r->size;
        tail += size;
    }

    if (tail != ring->tail) {
        ngx_ws_stream_store(&ring->tail, tail);
    }

    /* readers must see the new tail before any byte changes */
    ngx_ws_stream_fence();

    if (pad) {
        r = (ngx_ws_stream_rec_t *) (ring->data + off);
        r->size = (uint32_t) pad;
        r->type = NGX_WS_STREAM_REC_PAD;
    }

    ring->wpos = head + pad;
    ring->wneed = need;
    ring->wlen = len;

    return ring->data + ring->wpos % ring->size + sizeof(ngx_ws_stream_rec_t);
}


void
ngx_ws_stream_ring_commit(ngx_ws_stream_ring_t *ring, unsigned type,
    unsigned kind, uint32_t dts, uint64_t ingest, int sync)
{
    uint64_t              n;
    ngx_ws_stream_rec_t  *r;

    r = (ngx_ws_stream_rec_t *) (ring->data + ring->wpos % ring->size);

    r->size = (uint32_t) ring->wneed;
    r->type = (uint8_t) type;
    r->kind = (uint8_t) kind;
    r->reserved = 0;
    r->len = (uint32_t) ring->wlen;
    r->dts = dts;
    r->ingest = ingest;
    r->seq = ring->seq;

    ngx_ws_stream_store(&ring->seq, ring->seq + 1);
    ngx_ws_stream_store(&ring->head, ring->wpos + ring->wneed);

    if (sync) {
        n = ring->nkeys;
        ngx_ws_stream_store(&ring->keys[n % NGX_WS_STREAM_RING_KEYS],
                            ring->wpos);
        ngx_ws_stream_store(&ring->key_seq[n % NGX_WS_STREAM_RING_KEYS],
                            r->seq);
        ngx_ws_stream_store(&ring->nkeys, n + 1);
    }
}


static int
ngx_ws_stream_ring_safe(ngx_ws_stream_ring_t *ring, uint64_t pos,
    uint64_t head, uint64_t tail)
{
    /* the writer overwrites pos once head passes pos + size; a reader
     * within margin of that is as good as lost */

    return pos >= tail && pos <= head
           && head - pos <= ring->size - ring->margin;
}


int
ngx_ws_stream_ring_start(ngx_ws_stream_ring_t *ring,
    ngx_ws_stream_cursor_t *cur)
{
    uint64_t  n, i, k, s, head, tail;

    n = ngx_ws_stream_load(&ring->nkeys);

    if (n > 0) {
        i = (n - 1) % NGX_WS_STREAM_RING_KEYS;
        k = ngx_ws_stream_load(&ring->keys[i]);
        s = ngx_ws_stream_load(&ring->key_seq[i]);

        head = ngx_ws_stream_load(&ring->head);
        tail = ngx_ws_stream_load(&ring->tail);

        /* the entry is still the newest: the writer did not reuse it */

        if (ngx_ws_stream_load(&ring->nkeys) == n
            && ngx_ws_stream_ring_safe(ring, k, head, tail))
        {
            cur->pos = k;
            cur->seq = s;
            return 1;
        }
    }

    cur->pos = ngx_ws_stream_load(&ring->head);
    cur->seq = NGX_WS_STREAM_SEQ_UNKNOWN;

    return 0;
}


int
ngx_ws_stream_ring_read(ngx_ws_stream_ring_t *ring,
    ngx_ws_stream_cursor_t *cur, ngx_ws_stream_rec_t *rec,
    const uint8_t **frame)
{
    int       pads;
    uint64_t  head, tail, off;

    for (pads = 0; pads < 2; pads++) {

        head = ngx_ws_stream_load(&ring->head);

        if (cur->pos == head) {
            return NGX_WS_STREAM_AGAIN;
        }

        tail = ngx_ws_stream_load(&ring->tail);

        if (!ngx_ws_stream_ring_safe(ring, cur->pos, head, tail)) {
            return NGX_WS_STREAM_RING_BEHIND;
        }

        off = cur->pos % ring->size;

        memcpy(rec, ring->data + off, NGX_WS_STREAM_REC_MIN);

        if (rec->size < NGX_WS_STREAM_REC_MIN
            || rec->size % 8
            || rec->size > ring->size - off)
        {
            return NGX_WS_STREAM_RING_BEHIND;
        }

        if (rec->type == NGX_WS_STREAM_REC_PAD) {
            if (!ngx_ws_stream_ring_intact(ring, cur->pos)) {
                return NGX_WS_STREAM_RING_BEHIND;
            }

            cur->pos += rec->size;
            continue;
        }

        if (rec->size < sizeof(ngx_ws_stream_rec_t)) {
            return NGX_WS_STREAM_RING_BEHIND;
        }

        memcpy(rec, ring->data + off, sizeof(ngx_ws_stream_rec_t));

        if (!ngx_ws_stream_ring_intact(ring, cur->pos)
            || rec->len > rec->size - sizeof(ngx_ws_stream_rec_t)
            || (cur->seq != NGX_WS_STREAM_SEQ_UNKNOWN
                && rec->seq != cur->seq))
        {
            return NGX_WS_STREAM_RING_BEHIND;
        }

        *frame = ring->data + off + sizeof(ngx_ws_stream_rec_t);

        return NGX_WS_STREAM_OK;
    }

    return NGX_WS_STREAM_RING_BEHIND;
}


void
ngx_ws_stream_ring_next(ngx_ws_stream_cursor_t *cur,
    ngx_ws_stream_rec_t *rec)
{
    cur->pos += rec->size;
    cur->seq = rec->seq + 1;
}


int
ngx_ws_stream_ring_intact(ngx_ws_stream_ring_t *ring, uint64_t pos)
{
    ngx_ws_stream_fence();

    return ngx_ws_stream_load(&ring->tail) <= pos;
}


uint64_t
ngx_ws_stream_ring_head(ngx_ws_stream_ring_t *ring)
{
    return ngx_ws_stream_load(&ring->head);
}
