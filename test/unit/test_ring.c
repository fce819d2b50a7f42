
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The ring with malloc'd memory standing in for the shared zone: append,
 * read, wrap with pad records, overrun and skip to a keyframe, the
 * safety margin, the after-send check, and a long randomized run.
 */


#include "test.h"
#include "ws_stream_ring.h"


static void
test_ring_fill(uint8_t *p, size_t len, uint64_t seq)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        p[i] = (uint8_t) (seq * 31 + i);
    }
}


static int
test_ring_check(const uint8_t *p, size_t len, uint64_t seq)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] != (uint8_t) (seq * 31 + i)) {
            return 0;
        }
    }

    return 1;
}


static void
test_ring_put(ws_stream_ring_t *ring, size_t len, int sync)
{
    uint8_t  *p;
    uint64_t  seq;

    seq = ring->seq;
    p = ws_stream_ring_reserve(ring, len);

    if (p == NULL) {
        T(p != NULL);
        return;
    }

    test_ring_fill(p, len, seq);

    ws_stream_ring_commit(ring, WS_STREAM_REC_MEDIA,
                              WS_STREAM_TRACK_VIDEO
                              | (sync ? WS_STREAM_FLAG_KEY : 0),
                              (uint32_t) seq * 33, 1000 + seq, sync);
}


static void
test_ring_basic(void)
{
    int                     rc;
    uint8_t                *mem;
    const uint8_t          *frame;
    ws_stream_rec_t     rec;
    ws_stream_ring_t    ring;
    ws_stream_cursor_t  cur;

    mem = malloc(4096);
    ws_stream_ring_init(&ring, mem, 4093);

    T(ring.size == 4088);
    T(ws_stream_ring_max_frame(&ring)
      == 4088 / 2 - sizeof(ws_stream_rec_t));
    T(ws_stream_ring_reserve(&ring, 4088) == NULL);
    T(ws_stream_ring_reserve(&ring,
                                 ws_stream_ring_max_frame(&ring) + 1)
      == NULL);

    /* empty: a new reader starts at head and waits */

    T(ws_stream_ring_start(&ring, &cur) == 0);
    T(cur.pos == 0);
    T(ws_stream_ring_read(&ring, &cur, &rec, &frame)
      == WS_STREAM_AGAIN);

    test_ring_put(&ring, 100, 0);
    test_ring_put(&ring, 1, 1);
    test_ring_put(&ring, 0, 0);

    rc = ws_stream_ring_read(&ring, &cur, &rec, &frame);
    T(rc == WS_STREAM_OK);
    T(rec.len == 100 && rec.seq == 0 && rec.dts == 0 && rec.ingest == 1000);
    T(rec.type == WS_STREAM_REC_MEDIA);
    T(rec.size % 8 == 0 && rec.size >= sizeof(rec) + 100);
    T(test_ring_check(frame, 100, 0));

    /* read does not move the cursor; next does */

    T(ws_stream_ring_read(&ring, &cur, &rec, &frame) == WS_STREAM_OK
      && rec.seq == 0);
    ws_stream_ring_next(&cur, &rec);

    T(ws_stream_ring_read(&ring, &cur, &rec, &frame) == WS_STREAM_OK);
    T(rec.len == 1 && rec.seq == 1 && rec.dts == 33);
    T(rec.kind == (WS_STREAM_TRACK_VIDEO | WS_STREAM_FLAG_KEY));
    T(test_ring_check(frame, 1, 1));
    ws_stream_ring_next(&cur, &rec);

    T(ws_stream_ring_read(&ring, &cur, &rec, &frame) == WS_STREAM_OK);
    T(rec.len == 0 && rec.seq == 2);
    ws_stream_ring_next(&cur, &rec);

    T(ws_stream_ring_read(&ring, &cur, &rec, &frame)
      == WS_STREAM_AGAIN);
    T(cur.pos == ws_stream_ring_head(&ring));

    /* a new reader starts at the keyframe */

    T(ws_stream_ring_start(&ring, &cur) == 1);
    T(cur.seq == 1);
    T(ws_stream_ring_read(&ring, &cur, &rec, &frame) == WS_STREAM_OK
      && rec.seq == 1);

    /* a reservation that is never committed changes nothing visible */

    T(ws_stream_ring_reserve(&ring, 50) != NULL);
    T(ws_stream_ring_head(&ring) == cur.pos + rec.size + 32 /* 0-len */);
    test_ring_put(&ring, 7, 0);
    T(ring.seq == 4);

    free(mem);
}


static void
test_ring_wrap(void)
{
    int                     rc;
    size_t                  len;
    uint8_t                *mem;
    uint64_t                expect, split;
    const uint8_t          *frame;
    ws_stream_rec_t     rec;
    ws_stream_ring_t    ring;
    ws_stream_cursor_t  cur;

    mem = malloc(8192);
    ws_stream_ring_init(&ring, mem, 8192);

    /* a reader that keeps up reads everything across many wraps */

    T(ws_stream_ring_start(&ring, &cur) == 0);

    expect = 0;
    split = 0;

    for (len = 1; len < 3000; len += 37) {
        test_ring_put(&ring, len, len % 5 == 0);

        rc = ws_stream_ring_read(&ring, &cur, &rec, &frame);
        T(rc == WS_STREAM_OK);

        if (rc != WS_STREAM_OK) {
            break;
        }

        T(rec.seq == expect && rec.len == len);
        T(test_ring_check(frame, len, expect));

        /* never split: the frame lies inside the buffer */
        T(frame + len <= mem + ring.size);

        if (cur.pos % ring.size + rec.size > ring.size) {
            split++;
        }

        ws_stream_ring_next(&cur, &rec);
        expect++;
    }

    T(expect == 82);
    T(split == 0);
    T(ws_stream_ring_head(&ring) > 3 * ring.size);
    T(ring.tail > 0 && ring.head - ring.tail <= ring.size);

    free(mem);
}


static void
test_ring_overrun(void)
{
    int                     rc;
    uint8_t                *mem;
    uint64_t                i, key;
    const uint8_t          *frame;
    ws_stream_rec_t     rec;
    ws_stream_ring_t    ring;
    ws_stream_cursor_t  slow, fast;

    mem = malloc(16384);
    ws_stream_ring_init(&ring, mem, 16384);

    ws_stream_ring_start(&ring, &slow);

    key = 0;

    for (i = 0; i < 100; i++) {
        if (i % 10 == 0) {
            key = i;
        }

        test_ring_put(&ring, 500, i % 10 == 0);
    }

    /* the slow reader's data is gone: it is told, not fed garbage */

    T(ws_stream_ring_read(&ring, &slow, &rec, &frame)
      == WS_STREAM_RING_BEHIND);
    T(!ws_stream_ring_intact(&ring, slow.pos));

    /* and it restarts at the newest keyframe */

    T(ws_stream_ring_start(&ring, &slow) == 1);
    T(slow.seq == key);

    rc = ws_stream_ring_read(&ring, &slow, &rec, &frame);
    T(rc == WS_STREAM_OK && rec.seq == key);
    T(rc == WS_STREAM_OK && test_ring_check(frame, 500, key));
    T(rec.kind & WS_STREAM_FLAG_KEY);

    /* within the margin of being overwritten counts as behind already */

    fast = slow;
    T(ws_stream_ring_intact(&ring, fast.pos));

    while (ring.head - fast.pos <= ring.size - ring.margin) {
        test_ring_put(&ring, 500, 0);
    }

    T(ws_stream_ring_intact(&ring, fast.pos));
    T(ws_stream_ring_read(&ring, &fast, &rec, &frame)
      == WS_STREAM_RING_BEHIND);

    /* no keyframe left that is safe: start at head, wait for one */

    T(ws_stream_ring_start(&ring, &fast) == 0);
    T(fast.pos == ws_stream_ring_head(&ring));
    T(fast.seq == WS_STREAM_SEQ_UNKNOWN);

    test_ring_put(&ring, 10, 0);
    T(ws_stream_ring_read(&ring, &fast, &rec, &frame) == WS_STREAM_OK);
    T(rec.seq == ring.seq - 1);

    free(mem);
}


/* writer and reader at random paces over many laps */

static void
test_ring_random(void)
{
    int                     rc;
    size_t                  len;
    uint8_t                *mem;
    uint64_t                i, last, read, skips, bad;
    unsigned                seed;
    const uint8_t          *frame;
    ws_stream_rec_t     rec;
    ws_stream_ring_t    ring;
    ws_stream_cursor_t  cur;

    mem = malloc(65536);
    ws_stream_ring_init(&ring, mem, 65536);
    ws_stream_ring_start(&ring, &cur);

    seed = 12345;
    last = 0;
    read = 0;
    skips = 0;
    bad = 0;

    for (i = 0; i < 200000; i++) {
        seed = seed * 1103515245 + 12345;
        len = (seed >> 8) % 3000;

        if ((seed >> 4) % 50 == 0) {
            len = ws_stream_ring_max_frame(&ring);
        }

        test_ring_put(&ring, len, (seed >> 3) % 30 == 0);

        /* the reader reads 0 to 3 records per append */

        seed = seed * 1103515245 + 12345;

        for (len = (seed >> 12) % 4; len > 0; len--) {
            rc = ws_stream_ring_read(&ring, &cur, &rec, &frame);

            if (rc == WS_STREAM_AGAIN) {
                break;
            }

            if (rc == WS_STREAM_RING_BEHIND) {
                skips++;
                ws_stream_ring_start(&ring, &cur);
                continue;
            }

            if ((read && rec.seq <= last)
                || !test_ring_check(frame, rec.len, rec.seq)
                || !ws_stream_ring_intact(&ring, cur.pos))
            {
                bad++;
            }

            last = rec.seq;
            read++;
            ws_stream_ring_next(&cur, &rec);
        }
    }

    T(bad == 0);
    T(read > 100000);
    T(skips > 0);
    T(ring.head - ring.tail <= ring.size);

    free(mem);
}


/* a reader coming from another ring: the first keyframe at or after a
 * dts, among the keyframes the index still has and the ring still holds */

static void
test_ring_key_at(void)
{
    uint8_t             *mem;
    uint64_t             i;
    ws_stream_ring_t     ring;
    ws_stream_rec_t      rec;
    const uint8_t       *frame;
    ws_stream_cursor_t   cur;

    mem = malloc(64 * 1024);
    ws_stream_ring_init(&ring, mem, 64 * 1024);

    T(ws_stream_ring_key_at(&ring, 0, &cur) == 0);

    /* dts = seq * 33, a keyframe every 10th record */

    for (i = 0; i < 25; i++) {
        test_ring_put(&ring, 200, i % 10 == 0);
    }

    T(ws_stream_ring_key_at(&ring, 0, &cur) == 1 && cur.seq == 0);
    T(ws_stream_ring_key_at(&ring, 1, &cur) == 1 && cur.seq == 10);
    T(ws_stream_ring_key_at(&ring, 330, &cur) == 1 && cur.seq == 10);
    T(ws_stream_ring_key_at(&ring, 331, &cur) == 1 && cur.seq == 20);
    T(ws_stream_ring_key_at(&ring, 661, &cur) == 0);

    T(ws_stream_ring_read(&ring, &cur, &rec, &frame) == WS_STREAM_OK);
    T((rec.kind & WS_STREAM_FLAG_KEY) && rec.dts == 660);

    /* a dts far after the ring (and one 2^31 before) finds nothing; one
     * just before a wrap of the 32-bit clock finds the oldest */

    T(ws_stream_ring_key_at(&ring, 0x7fffffff, &cur) == 0);
    T(ws_stream_ring_key_at(&ring, 0xfffffff0, &cur) == 1 && cur.seq == 0);

    /* overwritten keyframes are not offered: only what is safe to read */

    for (i = 25; i < 2000; i++) {
        test_ring_put(&ring, 200, i % 10 == 0);
    }

    T(ws_stream_ring_key_at(&ring, 0, &cur) == 1);
    T(cur.pos >= ring.tail + ring.margin);
    T(ws_stream_ring_read(&ring, &cur, &rec, &frame) == WS_STREAM_OK);
    T((rec.kind & WS_STREAM_FLAG_KEY) && rec.seq % 10 == 0);
    T(cur.seq > 2000 - 64 * 1024 / 232);

    /* more keyframes than the index holds: the oldest indexed one */

    for (i = 2000; i < 2200; i++) {
        test_ring_put(&ring, 8, 1);
    }

    T(ws_stream_ring_key_at(&ring, 0, &cur) == 1);
    T(cur.seq == 2200 - WS_STREAM_RING_KEYS);

    free(mem);
}


void
test_ring(void)
{
    test_ring_key_at();
    test_ring_basic();
    test_ring_wrap();
    test_ring_overrun();
    test_ring_random();
}
