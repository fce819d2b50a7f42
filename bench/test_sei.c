/*
 * Unit test for the stamp SEI library (sei.c). Prints "N passed, M failed"
 * and exits non-zero on any failure. Build with the sanitizers:
 *   make -C bench test
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sei.h"

static unsigned passed, failed;

#define CHECK(cond, ...)                                                 \
    do {                                                                 \
        if (cond) {                                                      \
            passed++;                                                    \
        } else {                                                         \
            failed++;                                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);         \
            fprintf(stderr, __VA_ARGS__);                                \
            fputc('\n', stderr);                                         \
        }                                                                \
    } while (0)

static int
stamp_eq(const bench_stamp_t *a, const bench_stamp_t *b)
{
    return a->wall_us == b->wall_us && a->index == b->index
           && a->loop == b->loop && a->pts_ms == b->pts_ms;
}

/* xorshift, deterministic */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A value whose bytes are mostly 00..03, to provoke emulation prevention */
static uint64_t
nasty(void)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        uint64_t r = rng();
        uint8_t b = (r & 3) ? (uint8_t) ((r >> 8) & 3) : (uint8_t) (r >> 16);
        v = (v << 8) | b;
    }
    return v;
}

/* No 00 00 0x (x <= 2) anywhere after the header; every 00 00 03 is an
 * emulation prevention byte followed by a byte <= 3 (or ends the NAL
 * before the trailing byte, which cannot happen here). */
static int
escaped_ok(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 1; i + 2 < n; i++) {
        if (p[i] == 0 && p[i + 1] == 0) {
            if (p[i + 2] <= 2) {
                return 0;
            }
            if (p[i + 2] == 3 && (i + 3 >= n || p[i + 3] > 3)) {
                return 0;
            }
        }
    }
    return 1;
}

static size_t
put_avcc(uint8_t *out, const uint8_t *nal, size_t len)
{
    out[0] = (uint8_t) (len >> 24);
    out[1] = (uint8_t) (len >> 16);
    out[2] = (uint8_t) (len >> 8);
    out[3] = (uint8_t) len;
    memcpy(out + 4, nal, len);
    return len + 4;
}

static size_t
put_annexb(uint8_t *out, const uint8_t *nal, size_t len, int four)
{
    size_t o = 0;

    if (four) {
        out[o++] = 0;
    }
    out[o++] = 0;
    out[o++] = 0;
    out[o++] = 1;
    memcpy(out + o, nal, len);
    return o + len;
}

static void
test_round_trip(void)
{
    bench_stamp_t in = { 1700000000123456ull, 899, 7, 123456789ull }, out;
    uint8_t nal[BENCH_SEI_MAX];
    size_t n;

    bench_stamp_t plain = { 0x1122334455667788ull, 0x11223344, 0x55667788,
                            0x1111111111111111ull };

    n = bench_sei_make(nal, sizeof(nal), &plain);
    CHECK(n == 44, "plain stamp NAL is %zu bytes, want 44", n);
    CHECK(bench_sei_parse_nal(nal, n, &out) == 1 && stamp_eq(&plain, &out),
          "plain round trip");
    n = bench_sei_make(nal, sizeof(nal), &in);
    CHECK(nal[0] == 0x06 && nal[1] == 5 && nal[2] == 40,
          "header bytes %02x %02x %02x", nal[0], nal[1], nal[2]);
    CHECK(memcmp(nal + 3, BENCH_SEI_UUID, 16) == 0, "uuid");
    CHECK(nal[n - 1] == 0x80, "trailing byte %02x", nal[n - 1]);
    memset(&out, 0, sizeof(out));
    CHECK(bench_sei_parse_nal(nal, n, &out) == 1 && stamp_eq(&in, &out),
          "round trip");
}

static void
test_make_small_buffer(void)
{
    bench_stamp_t in = { 0, 0, 0, 0 }, out;
    uint8_t nal[BENCH_SEI_MAX];
    size_t need, s, n;

    need = bench_sei_make(nal, sizeof(nal), &in);
    CHECK(need > 44 && need <= BENCH_SEI_MAX, "all-zero stamp len %zu",
          need);
    for (s = 0; s < need; s++) {
        n = bench_sei_make(nal, s, &in);
        CHECK(n == 0, "make into %zu bytes returned %zu", s, n);
    }
    n = bench_sei_make(nal, need, &in);
    CHECK(n == need && bench_sei_parse_nal(nal, n, &out) == 1
          && stamp_eq(&in, &out), "make into exact size");
}

static void
test_emulation_prevention(void)
{
    static const bench_stamp_t fixed[] = {
        { 0, 0, 0, 0 },
        { 0x0000000100000002ull, 0x00000003, 0x00000001,
          0x0000030000000000ull },
        { 0x0000000000000300ull, 0x00000100, 0x00020000,
          0x0300000000000003ull },
        { 0x0000030000000100ull, 0x03000000, 0x00000000,
          0x0000000000000001ull },
        { 0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFF, 0xFFFFFFFF,
          0xFFFFFFFFFFFFFFFFull },
    };
    bench_stamp_t in, out;
    uint8_t nal[BENCH_SEI_MAX];
    size_t i, n;
    unsigned bad = 0, grew = 0;

    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        n = bench_sei_make(nal, sizeof(nal), &fixed[i]);
        CHECK(n > 0 && escaped_ok(nal, n), "fixed case %zu escaping", i);
        CHECK(bench_sei_parse_nal(nal, n, &out) == 1
              && stamp_eq(&fixed[i], &out), "fixed case %zu round trip", i);
        if (i < 4) {
            CHECK(n > 44, "fixed case %zu has no EP bytes (len %zu)", i, n);
        }
    }
    for (i = 0; i < 20000; i++) {
        in.wall_us = nasty();
        in.index = (uint32_t) nasty();
        in.loop = (uint32_t) nasty();
        in.pts_ms = nasty();
        n = bench_sei_make(nal, sizeof(nal), &in);
        if (n == 0 || !escaped_ok(nal, n)
            || bench_sei_parse_nal(nal, n, &out) != 1
            || !stamp_eq(&in, &out))
        {
            bad++;
        }
        if (n > 44) {
            grew++;
        }
    }
    CHECK(bad == 0, "%u of 20000 random zero-heavy stamps failed", bad);
    CHECK(grew > 5000, "only %u random stamps needed EP", grew);
}

static void
test_truncation(void)
{
    static const bench_stamp_t cases[] = {
        { 1700000000123456ull, 5, 0, 166 },
        { 0, 0, 0, 0 },
        { 0x0000000100000002ull, 0x00000003, 0x00000001,
          0x0000030000000000ull },
    };
    bench_stamp_t out;
    uint8_t nal[BENCH_SEI_MAX], buf[256], slice[40];
    size_t c, k, n, len, pos;
    int r;
    unsigned bad;

    memset(slice, 0xAB, sizeof(slice));
    slice[0] = 0x65;

    for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        n = bench_sei_make(nal, sizeof(nal), &cases[c]);

        /* raw NAL truncated */
        bad = 0;
        for (k = 0; k < n; k++) {
            uint8_t *copy = malloc(k ? k : 1);   /* exact size for ASan */
            if (copy == NULL) {
                abort();
            }
            memcpy(copy, nal, k);
            if (bench_sei_parse_nal(copy, k, &out) != 0) {
                bad++;
            }
            free(copy);
        }
        CHECK(bad == 0, "case %zu: %u truncated NALs parsed", c, bad);

        /* AVCC: stamp NAL then a slice, cut everywhere before the stamp
         * NAL is complete; the prefix still claims the full length */
        len = put_avcc(buf, nal, n);
        len += put_avcc(buf + len, slice, sizeof(slice));
        bad = 0;
        for (k = 0; k < 4 + n; k++) {
            uint8_t *copy = malloc(k ? k : 1);
            if (copy == NULL) {
                abort();
            }
            memcpy(copy, buf, k);
            r = bench_sei_find_avcc(copy, k, &out);
            if (r == 1 || (k > 0 && r != -1)) {
                bad++;
            }
            free(copy);
        }
        CHECK(bad == 0, "case %zu: %u truncated AVCC buffers misread", c,
              bad);

        /* AVCC whose length prefix matches the cut NAL */
        bad = 0;
        for (k = 0; k < n; k++) {
            pos = put_avcc(buf, nal, k);
            if (bench_sei_find_avcc(buf, pos, &out) != 0) {
                bad++;
            }
        }
        CHECK(bad == 0, "case %zu: %u short-length AVCC NALs found", c,
              bad);

        /* Annex-B, cut everywhere */
        bad = 0;
        len = put_annexb(buf, nal, n, 1);
        for (k = 0; k < len; k++) {
            uint8_t *copy = malloc(k ? k : 1);
            if (copy == NULL) {
                abort();
            }
            memcpy(copy, buf, k);
            if (bench_sei_find_annexb(copy, k, &out) == 1) {
                bad++;
            }
            free(copy);
        }
        CHECK(bad == 0, "case %zu: %u truncated Annex-B buffers found", c,
              bad);
        CHECK(bench_sei_find_annexb(buf, len, &out) == 1
              && stamp_eq(&cases[c], &out), "case %zu: Annex-B whole", c);
    }
}

/* An SEI NAL with several messages: an extended-type message (type 300,
 * size 260, both 0xFF-extended), a user_data_unregistered with another
 * uuid, then (optionally) the stamp message, then the trailing byte. */
static size_t
multi_sei(uint8_t *out, const bench_stamp_t *st, int with_stamp)
{
    uint8_t stamp[BENCH_SEI_MAX];
    size_t o = 0, i, n;

    out[o++] = 0x06;
    out[o++] = 0xFF;                /* type 255 + 45 = 300 */
    out[o++] = 45;
    out[o++] = 0xFF;                /* size 255 + 5 = 260 */
    out[o++] = 5;
    for (i = 0; i < 260; i++) {
        out[o++] = (uint8_t) (0x10 + i % 200);
    }
    out[o++] = 5;                   /* other uuid, same size as ours */
    out[o++] = 40;
    memcpy(out + o, "ngx_ws_stream_bX", 16);
    o += 16;
    for (i = 0; i < 24; i++) {
        out[o++] = 0x55;
    }
    out[o++] = 5;                   /* x264-like, short */
    out[o++] = 20;
    memcpy(out + o, "x264 uuid 0123456", 16);
    o += 16;
    memcpy(out + o, "abcd", 4);
    o += 4;
    if (with_stamp) {
        n = bench_sei_make(stamp, sizeof(stamp), st);
        /* drop our NAL header and trailing byte: message only */
        memcpy(out + o, stamp + 1, n - 2);
        o += n - 2;
    }
    out[o++] = 0x80;
    return o;
}

static void
test_multi_message_and_avcc(void)
{
    bench_stamp_t in = { 1700000001000000ull, 42, 3, 90042 }, out;
    uint8_t sei[512], buf[2048], stamp[BENCH_SEI_MAX], aud[2] = { 0x09, 0xF0 };
    uint8_t sps[8] = { 0x67, 0x64, 0x00, 0x1F, 0xAC, 0xD9, 0x40, 0x50 };
    uint8_t slice[300];
    size_t n, len, sn;

    memset(slice, 0x5A, sizeof(slice));
    slice[0] = 0x41;

    n = multi_sei(sei, &in, 1);
    memset(&out, 0, sizeof(out));
    CHECK(bench_sei_parse_nal(sei, n, &out) == 1 && stamp_eq(&in, &out),
          "stamp as 4th message of one SEI");
    n = multi_sei(sei, &in, 0);
    CHECK(bench_sei_parse_nal(sei, n, &out) == 0, "SEI without stamp");

    /* AVCC: AUD, SPS, other SEI, slice -> no stamp */
    len = put_avcc(buf, aud, sizeof(aud));
    len += put_avcc(buf + len, sps, sizeof(sps));
    len += put_avcc(buf + len, sei, n);
    len += put_avcc(buf + len, slice, sizeof(slice));
    CHECK(bench_sei_find_avcc(buf, len, &out) == 0, "AVCC without stamp");
    CHECK(bench_sei_find_avcc(buf, len - 1, &out) == -1,
          "AVCC with a short last NAL is malformed");
    CHECK(bench_sei_find_avcc(buf, len + 0, &out) == 0 &&
          bench_sei_find_avcc(buf, 0, &out) == 0, "AVCC empty");

    /* same plus the stamp NAL after the other SEI */
    sn = bench_sei_make(stamp, sizeof(stamp), &in);
    len = put_avcc(buf, aud, sizeof(aud));
    len += put_avcc(buf + len, sps, sizeof(sps));
    len += put_avcc(buf + len, sei, n);
    len += put_avcc(buf + len, stamp, sn);
    len += put_avcc(buf + len, slice, sizeof(slice));
    memset(&out, 0, sizeof(out));
    CHECK(bench_sei_find_avcc(buf, len, &out) == 1 && stamp_eq(&in, &out),
          "AVCC with stamp as 4th NAL");

    /* publisher layout: stamp first */
    len = put_avcc(buf, stamp, sn);
    len += put_avcc(buf + len, slice, sizeof(slice));
    memset(&out, 0, sizeof(out));
    CHECK(bench_sei_find_avcc(buf, len, &out) == 1 && stamp_eq(&in, &out),
          "AVCC with stamp first");

    /* garbage lengths */
    memset(buf, 0xFF, 16);
    CHECK(bench_sei_find_avcc(buf, 16, &out) == -1, "AVCC huge length");
    memset(buf, 0, 3);
    CHECK(bench_sei_find_avcc(buf, 3, &out) == -1, "AVCC 3 bytes");
    memset(buf, 0, 8);
    CHECK(bench_sei_find_avcc(buf, 8, &out) == 0, "AVCC zero-length NALs");
}

static void
test_annexb(void)
{
    bench_stamp_t in = { 0x0000000100000002ull, 0, 0x00000001, 0 }, out;
    uint8_t buf[2048], stamp[BENCH_SEI_MAX], sei[512];
    uint8_t aud[2] = { 0x09, 0xF0 }, slice[100];
    size_t len, sn, n;
    int four;

    memset(slice, 0x77, sizeof(slice));
    slice[0] = 0x65;
    sn = bench_sei_make(stamp, sizeof(stamp), &in);
    n = multi_sei(sei, &in, 0);

    for (four = 0; four < 2; four++) {
        /* AUD (4-byte sc), other SEI (3/4), stamp (3/4), slice */
        len = put_annexb(buf, aud, sizeof(aud), 1);
        len += put_annexb(buf + len, sei, n, four);
        len += put_annexb(buf + len, stamp, sn, four);
        len += put_annexb(buf + len, slice, sizeof(slice), !four);
        memset(&out, 0, sizeof(out));
        CHECK(bench_sei_find_annexb(buf, len, &out) == 1
              && stamp_eq(&in, &out), "Annex-B four=%d", four);

        /* stamp last, followed by trailing zero bytes */
        len = put_annexb(buf, aud, sizeof(aud), four);
        len += put_annexb(buf + len, slice, sizeof(slice), four);
        len += put_annexb(buf + len, stamp, sn, four);
        memset(buf + len, 0, 3);
        len += 3;
        memset(&out, 0, sizeof(out));
        CHECK(bench_sei_find_annexb(buf, len, &out) == 1
              && stamp_eq(&in, &out), "Annex-B stamp last four=%d", four);

        /* no stamp */
        len = put_annexb(buf, aud, sizeof(aud), four);
        len += put_annexb(buf + len, sei, n, four);
        len += put_annexb(buf + len, slice, sizeof(slice), four);
        CHECK(bench_sei_find_annexb(buf, len, &out) == 0,
              "Annex-B no stamp four=%d", four);
    }
    /* data before the first start code is ignored */
    buf[0] = 0x47;
    buf[1] = 0x11;
    len = 2 + put_annexb(buf + 2, stamp, sn, 0);
    CHECK(bench_sei_find_annexb(buf, len, &out) == 1, "Annex-B leading junk");
    CHECK(bench_sei_find_annexb(slice, sizeof(slice), &out) == -1,
          "Annex-B without start code");
    CHECK(bench_sei_find_annexb(buf, 0, &out) == 0, "Annex-B empty");
}

static void
test_fuzz(void)
{
    bench_stamp_t st = { 1, 2, 3, 4 }, out;
    uint8_t stamp[BENCH_SEI_MAX];
    size_t sn, n, i, k;
    unsigned iter;

    sn = bench_sei_make(stamp, sizeof(stamp), &st);
    for (iter = 0; iter < 20000; iter++) {
        uint8_t *p;

        n = rng() % 200;
        p = malloc(n ? n : 1);
        if (p == NULL) {
            abort();
        }
        for (i = 0; i < n; i++) {
            uint64_t r = rng();
            p[i] = (r & 1) ? (uint8_t) ((r >> 8) % 4) : (uint8_t) (r >> 16);
        }
        if (iter & 1 && n > sn + 8) {   /* mutate a real stamp */
            k = rng() % (n - sn);
            memcpy(p + k, stamp, sn);
            p[k + rng() % sn] ^= (uint8_t) (1u << (rng() % 8));
        }
        (void) bench_sei_find_avcc(p, n, &out);
        (void) bench_sei_find_annexb(p, n, &out);
        (void) bench_sei_parse_nal(p, n, &out);
        free(p);
    }
    CHECK(1, "fuzz survived");
}

int
main(void)
{
    test_round_trip();
    test_make_small_buffer();
    test_emulation_prevention();
    test_truncation();
    test_multi_message_and_avcc();
    test_annexb();
    test_fuzz();
    printf("%u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
