/*
 * Stamp SEI writer and finders; see sei.h for the byte format.
 */

#include <string.h>

#include "sei.h"

#define UUID_LEN 16

/* Reads an escaped NAL payload byte by byte, dropping emulation
 * prevention bytes (the 0x03 of every 00 00 03 sequence). */
typedef struct {
    const uint8_t *p;
    size_t n;
    size_t pos;
    unsigned zeros;
} rbsp_reader_t;

static int
rbsp_get(rbsp_reader_t *r, uint8_t *out)
{
    uint8_t b;

    if (r->pos >= r->n) {
        return -1;
    }
    if (r->zeros >= 2 && r->p[r->pos] == 0x03) {
        r->pos++;
        r->zeros = 0;
        if (r->pos >= r->n) {
            return -1;
        }
    }
    b = r->p[r->pos++];
    r->zeros = (b == 0) ? r->zeros + 1 : 0;
    *out = b;
    return 0;
}

static int
rbsp_read(rbsp_reader_t *r, uint8_t *out, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (rbsp_get(r, &out[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

static int
rbsp_skip(rbsp_reader_t *r, uint64_t len)
{
    uint8_t b;

    while (len-- > 0) {
        if (rbsp_get(r, &b) != 0) {
            return -1;
        }
    }
    return 0;
}

/* payloadType / payloadSize: a run of 0xFF bytes (each adding 255) ended
 * by one byte < 0xFF. *last receives that final byte. */
static int
rbsp_sei_value(rbsp_reader_t *r, uint64_t *val, uint8_t *last)
{
    uint64_t v = 0;
    uint8_t b;

    for (;;) {
        if (rbsp_get(r, &b) != 0) {
            return -1;
        }
        v += b;
        if (b != 0xFF) {
            break;
        }
        if (v > ((uint64_t) 1 << 40)) {
            return -1;              /* absurd; treat as malformed */
        }
    }
    *val = v;
    *last = b;
    return 0;
}

static uint64_t
get_be(const uint8_t *p, unsigned len)
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < len; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void
put_be(uint8_t *p, uint64_t v, unsigned len)
{
    while (len-- > 0) {
        p[len] = (uint8_t) (v & 0xFF);
        v >>= 8;
    }
}

size_t
bench_sei_make(uint8_t *buf, size_t size, const bench_stamp_t *st)
{
    uint8_t raw[2 + BENCH_SEI_PAYLOAD + 1];
    size_t i, o;
    unsigned zeros;

    raw[0] = 5;
    raw[1] = BENCH_SEI_PAYLOAD;
    memcpy(raw + 2, BENCH_SEI_UUID, UUID_LEN);
    put_be(raw + 2 + UUID_LEN, st->wall_us, 8);
    put_be(raw + 2 + UUID_LEN + 8, st->index, 4);
    put_be(raw + 2 + UUID_LEN + 12, st->loop, 4);
    put_be(raw + 2 + UUID_LEN + 16, st->pts_ms, 8);
    raw[sizeof(raw) - 1] = 0x80;

    if (size < 1) {
        return 0;
    }
    buf[0] = 0x06;
    o = 1;
    zeros = 0;
    for (i = 0; i < sizeof(raw); i++) {
        if (zeros >= 2 && raw[i] <= 0x03) {
            if (o >= size) {
                return 0;
            }
            buf[o++] = 0x03;
            zeros = 0;
        }
        if (o >= size) {
            return 0;
        }
        buf[o++] = raw[i];
        zeros = (raw[i] == 0) ? zeros + 1 : 0;
    }
    return o;
}

int
bench_sei_parse_nal(const uint8_t *nal, size_t n, bench_stamp_t *st)
{
    rbsp_reader_t r;
    uint64_t type, size;
    uint8_t last, uuid[UUID_LEN], data[24], b;

    if (n < 2 || (nal[0] & 0x1F) != 6 || (nal[0] & 0x80) != 0) {
        return 0;
    }
    r.p = nal + 1;
    r.n = n - 1;
    r.pos = 0;
    r.zeros = 0;

    while (r.pos < r.n) {
        if (rbsp_sei_value(&r, &type, &last) != 0) {
            return 0;
        }
        if (type == 0x80 && r.pos >= r.n) {
            return 0;               /* rbsp trailing bits: done */
        }
        if (rbsp_sei_value(&r, &size, &last) != 0) {
            return 0;
        }
        if (type == 5 && size >= BENCH_SEI_PAYLOAD) {
            if (rbsp_read(&r, uuid, UUID_LEN) != 0) {
                return 0;
            }
            if (memcmp(uuid, BENCH_SEI_UUID, UUID_LEN) == 0) {
                if (rbsp_read(&r, data, sizeof(data)) != 0
                    || rbsp_skip(&r, size - BENCH_SEI_PAYLOAD) != 0
                    /* a complete SEI has at least the trailing byte */
                    || rbsp_get(&r, &b) != 0)
                {
                    return 0;
                }
                st->wall_us = get_be(data, 8);
                st->index = (uint32_t) get_be(data + 8, 4);
                st->loop = (uint32_t) get_be(data + 12, 4);
                st->pts_ms = get_be(data + 16, 8);
                return 1;
            }
            size -= UUID_LEN;
        }
        if (rbsp_skip(&r, size) != 0) {
            return 0;
        }
    }
    return 0;
}

int
bench_sei_find_avcc(const uint8_t *p, size_t n, bench_stamp_t *st)
{
    size_t pos = 0;
    uint32_t len;

    while (pos < n) {
        if (n - pos < 4) {
            return -1;
        }
        len = (uint32_t) get_be(p + pos, 4);
        pos += 4;
        if (len > n - pos) {
            return -1;
        }
        if (bench_sei_parse_nal(p + pos, len, st) == 1) {
            return 1;
        }
        pos += len;
    }
    return 0;
}

/* Offset of the first byte after the next 00 00 01 at or after pos, or
 * n if there is none. *sc receives the offset of the start code itself. */
static size_t
annexb_next(const uint8_t *p, size_t n, size_t pos, size_t *sc)
{
    size_t i;

    for (i = pos; i + 2 < n; i++) {
        if (p[i + 2] > 1) {
            i += 2;                 /* no start code can begin at i..i+2 */
            continue;
        }
        if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1) {
            *sc = i;
            return i + 3;
        }
    }
    *sc = n;
    return n;
}

int
bench_sei_find_annexb(const uint8_t *p, size_t n, bench_stamp_t *st)
{
    size_t start, next, sc, end;

    start = annexb_next(p, n, 0, &sc);
    if (start >= n) {
        return (n == 0 || sc < n) ? 0 : -1;
    }
    while (start < n) {
        next = annexb_next(p, n, start, &sc);
        end = sc;
        /* trailing_zero_8bits / the leading 00 of a 4-byte start code */
        while (end > start && p[end - 1] == 0) {
            end--;
        }
        if (bench_sei_parse_nal(p + start, end - start, st) == 1) {
            return 1;
        }
        start = next;
    }
    return 0;
}
