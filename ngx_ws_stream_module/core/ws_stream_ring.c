
/*
 * Copyright (C) ngx_ws_stream authors
 */


#include "ws_stream_ring.h"


#define ws_stream_load(p)      __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define ws_stream_store(p, v)  __atomic_store_n(p, v, __ATOMIC_RELEASE)
#define ws_stream_fence()      __atomic_thread_fence(__ATOMIC_SEQ_CST)

#define WS_STREAM_REC_MIN      8       /* size and type of a pad */

#define ws_stream_align8(n)    (((n) + 7) & ~(uint64_t) 7)


static int ws_stream_ring_safe(ws_stream_ring_t *ring, uint64_t pos,
    uint64_t head, uint64_t tail);


void
ws_stream_ring_init(ws_stream_ring_t *ring, uint8_t *data,
    size_t size)
{
    memset(ring, 0, sizeof(ws_stream_ring_t));

    ring->data = data;
    ring->size = size & ~(uint64_t) 7;
    ring->margin = ws_stream_align8(ring->size / 8);
}


size_t
ws_stream_ring_max_frame(ws_stream_ring_t *ring)
{
    /* a frame never takes more than half the ring, so that at least one
     * older record and the margin survive every append */

    return ring->size / 2 - sizeof(ws_stream_rec_t);
}


uint8_t *
ws_stream_ring_reserve(ws_stream_ring_t *ring, size_t len)
{
    uint32_t             size;
    uint64_t             head, tail, need, pad, off, end;
    ws_stream_rec_t  *r;

    if (len > ws_stream_ring_max_frame(ring)) {
        return NULL;
    }

    need = ws_stream_align8(sizeof(ws_stream_rec_t) + len);

    head = ring->head;
    off = head % ring->size;
    pad = (ring->size - off < need) ? ring->size - off : 0;
    end = head + pad + need;

    /* move tail past every record the new one overwrites */

    tail = ring->tail;

    while (end - tail > ring->size) {
        r = (ws_stream_rec_t *) (ring->data + tail % ring->size);
        size = r->size;
        tail += size;
    }

    if (tail != ring->tail) {
        ws_stream_store(&ring->tail, tail);
    }

    /* readers must see the new tail before any byte changes */
    ws_stream_fence();

    if (pad) {
        r = (ws_stream_rec_t *) (ring->data + off);
        r->size = (uint32_t) pad;
        r->type = WS_STREAM_REC_PAD;
    }

    ring->wpos = head + pad;
    ring->wneed = need;
    ring->wlen = len;

    return ring->data + ring->wpos % ring->size + sizeof(ws_stream_rec_t);
}


void
ws_stream_ring_commit(ws_stream_ring_t *ring, unsigned type,
    unsigned kind, uint32_t dts, uint64_t ingest, int sync)
{
    uint64_t              n;
    ws_stream_rec_t  *r;

    r = (ws_stream_rec_t *) (ring->data + ring->wpos % ring->size);

    r->size = (uint32_t) ring->wneed;
    r->type = (uint8_t) type;
    r->kind = (uint8_t) kind;
    r->reserved = 0;
    r->len = (uint32_t) ring->wlen;
    r->dts = dts;
    r->ingest = ingest;
    r->seq = ring->seq;

    ws_stream_store(&ring->seq, ring->seq + 1);
    ws_stream_store(&ring->head, ring->wpos + ring->wneed);

    if (sync) {
        n = ring->nkeys;
        ws_stream_store(&ring->keys[n % WS_STREAM_RING_KEYS],
                            ring->wpos);
        ws_stream_store(&ring->key_seq[n % WS_STREAM_RING_KEYS],
                            r->seq);
        ws_stream_store(&ring->nkeys, n + 1);
    }
}


static int
ws_stream_ring_safe(ws_stream_ring_t *ring, uint64_t pos,
    uint64_t head, uint64_t tail)
{
    /* the writer overwrites pos once head passes pos + size; a reader
     * within margin of that is as good as lost */

    return pos >= tail && pos <= head
           && head - pos <= ring->size - ring->margin;
}


int
ws_stream_ring_start(ws_stream_ring_t *ring,
    ws_stream_cursor_t *cur)
{
    uint64_t  n, i, k, s, head, tail;

    n = ws_stream_load(&ring->nkeys);

    if (n > 0) {
        i = (n - 1) % WS_STREAM_RING_KEYS;
        k = ws_stream_load(&ring->keys[i]);
        s = ws_stream_load(&ring->key_seq[i]);

        head = ws_stream_load(&ring->head);
        tail = ws_stream_load(&ring->tail);

        /* the entry is still the newest: the writer did not reuse it */

        if (ws_stream_load(&ring->nkeys) == n
            && ws_stream_ring_safe(ring, k, head, tail))
        {
            cur->pos = k;
            cur->seq = s;
            return 1;
        }
    }

    cur->pos = ws_stream_load(&ring->head);
    cur->seq = WS_STREAM_SEQ_UNKNOWN;

    return 0;
}


int
ws_stream_ring_key_at(ws_stream_ring_t *ring, uint32_t dts,
    ws_stream_cursor_t *cur)
{
    const uint8_t       *frame;
    uint64_t             n, j, first;
    ws_stream_rec_t      rec;
    ws_stream_cursor_t   c;

    n = ws_stream_load(&ring->nkeys);
    first = (n > WS_STREAM_RING_KEYS) ? n - WS_STREAM_RING_KEYS : 0;

    for (j = first; j < n; j++) {
        c.pos = ws_stream_load(&ring->keys[j % WS_STREAM_RING_KEYS]);
        c.seq = ws_stream_load(&ring->key_seq[j % WS_STREAM_RING_KEYS]);

        /* a read checks that the record is intact and that its number
         * is the entry's: a pair torn by the writer's reuse fails */

        if (ws_stream_ring_read(ring, &c, &rec, &frame) != WS_STREAM_OK) {
            continue;
        }

        if ((int32_t) (rec.dts - dts) >= 0) {
            *cur = c;
            return 1;
        }
    }

    return 0;
}


int
ws_stream_ring_read(ws_stream_ring_t *ring,
    ws_stream_cursor_t *cur, ws_stream_rec_t *rec,
    const uint8_t **frame)
{
    int       pads;
    uint64_t  head, tail, off;

    for (pads = 0; pads < 2; pads++) {

        head = ws_stream_load(&ring->head);

        if (cur->pos == head) {
            return WS_STREAM_AGAIN;
        }

        tail = ws_stream_load(&ring->tail);

        if (!ws_stream_ring_safe(ring, cur->pos, head, tail)) {
            return WS_STREAM_RING_BEHIND;
        }

        off = cur->pos % ring->size;

        memcpy(rec, ring->data + off, WS_STREAM_REC_MIN);

        if (rec->size < WS_STREAM_REC_MIN
            || rec->size % 8
            || rec->size > ring->size - off)
        {
            return WS_STREAM_RING_BEHIND;
        }

        if (rec->type == WS_STREAM_REC_PAD) {
            if (!ws_stream_ring_intact(ring, cur->pos)) {
                return WS_STREAM_RING_BEHIND;
            }

            cur->pos += rec->size;
            continue;
        }

        if (rec->size < sizeof(ws_stream_rec_t)) {
            return WS_STREAM_RING_BEHIND;
        }

        memcpy(rec, ring->data + off, sizeof(ws_stream_rec_t));

        if (!ws_stream_ring_intact(ring, cur->pos)
            || rec->len > rec->size - sizeof(ws_stream_rec_t)
            || (cur->seq != WS_STREAM_SEQ_UNKNOWN
                && rec->seq != cur->seq))
        {
            return WS_STREAM_RING_BEHIND;
        }

        *frame = ring->data + off + sizeof(ws_stream_rec_t);

        return WS_STREAM_OK;
    }

    return WS_STREAM_RING_BEHIND;
}


void
ws_stream_ring_next(ws_stream_cursor_t *cur,
    ws_stream_rec_t *rec)
{
    cur->pos += rec->size;
    cur->seq = rec->seq + 1;
}


int
ws_stream_ring_intact(ws_stream_ring_t *ring, uint64_t pos)
{
    ws_stream_fence();

    return ws_stream_load(&ring->tail) <= pos;
}


uint64_t
ws_stream_ring_head(ws_stream_ring_t *ring)
{
    return ws_stream_load(&ring->head);
}
