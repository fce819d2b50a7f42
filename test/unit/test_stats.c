
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Statistics: histogram buckets and merges, quantiles of known
 * distributions, the rate window, the distinct client estimate and its
 * epochs, codec names, JSON escaping, nesting and overflow at every cut,
 * Prometheus lines compared with the expected text.
 */


#include "test.h"
#include "ws_stream_stats.h"


#define TEST_STATS_T0       1700000000000ULL    /* a wall clock, ms */
#define TEST_STATS_CANARY   0xa5

#define test_stats_is(o, s)                                                  \
    test_stats_equal(o, s, sizeof(s) - 1)

/* the text ends with s */
#define test_stats_ends(o, s)                                                \
    ((o)->overflow == 0 && (size_t) ((o)->pos - (o)->start) >= sizeof(s) - 1 \
     && memcmp((o)->pos - (sizeof(s) - 1), s, sizeof(s) - 1) == 0)


static uint8_t  test_stats_buf[16384];


static int
test_stats_equal(ws_stream_out_t *o, const char *s, size_t len)
{
    size_t  n;

    n = o->pos - o->start;

    if (o->overflow || n != len || memcmp(o->start, s, len) != 0) {
        fprintf(stderr, "got \"%.*s\"\nnot \"%.*s\"\n", (int) n, o->start,
                (int) len, s);
        return 0;
    }

    return 1;
}


static void
test_stats_init(ws_stream_out_t *o)
{
    ws_stream_out_init(o, test_stats_buf, sizeof(test_stats_buf));
}


static void
test_stats_hist_of(ws_stream_hist_t *h, const uint32_t *bounds,
    const uint64_t *v, size_t n)
{
    size_t  i;

    memset(h, 0, sizeof(ws_stream_hist_t));

    for (i = 0; i < n; i++) {
        ws_stream_hist_add(h, bounds, v[i]);
    }
}


static void
test_stats_hist(void)
{
    size_t            i;
    ws_stream_hist_t  h, g;

    static const uint64_t  edges[] = {
        0, 50000, 50001, 10000000, 10000001, UINT64_MAX / 2
    };
    static const uint64_t  delays[] = { 2500, 3000, 3001 };

    T(ws_stream_hist_latency[0] == 50000);
    T(ws_stream_hist_latency[8] == 750000);
    T(ws_stream_hist_latency[14] == 10000000);
    T(ws_stream_hist_delay[0] == 1000);
    T(ws_stream_hist_delay[14] == 5000000);

    for (i = 1; i < WS_STREAM_HIST_BOUNDS; i++) {
        T(ws_stream_hist_latency[i - 1] < ws_stream_hist_latency[i]);
        T(ws_stream_hist_delay[i - 1] < ws_stream_hist_delay[i]);
    }

    /* an upper bound belongs to its bucket */

    test_stats_hist_of(&h, ws_stream_hist_latency, edges, 6);

    T(h.bucket[0] == 2 && h.bucket[1] == 1 && h.bucket[2] == 0);
    T(h.bucket[14] == 1 && h.bucket[15] == 2);
    T(h.count == 6);
    T(h.sum_us == 50000 + 50001 + 10000000 + 10000001 + UINT64_MAX / 2);

    test_stats_hist_of(&g, ws_stream_hist_delay, delays, 3);

    T(g.bucket[2] == 2 && g.bucket[3] == 1 && g.count == 3);

    ws_stream_hist_merge(&h, &g);

    T(h.bucket[0] == 2 && h.bucket[2] == 2 && h.bucket[3] == 1);
    T(h.bucket[15] == 2 && h.count == 9);
    T(h.sum_us == 50000 + 50001 + 10000000 + 10000001 + UINT64_MAX / 2
                  + 2500 + 3000 + 3001);
}


static void
test_stats_agg(void)
{
    uint64_t         i;
    ws_stream_agg_t  a, b, z;

    static const struct {
        double       q;
        uint64_t     us;
    } qs[] = {
        { 0.5, 500000 }, { 0.95, 950000 }, { 0.25, 250000 }, { 0.01, 10000 },
        { 0.0001, 1000 }, { 0, 1000 }, { 1, 1000000 }, { -1, 1000 },
        { 2, 1000000 }
    };

    ws_stream_agg_reset(&a);

    T(a.n == 0 && a.sum_us == 0 && a.min_us == UINT64_MAX && a.max_us == 0);
    T(a.bucket[0] == 0 && a.bucket[WS_STREAM_HIST_N - 1] == 0);
    T(ws_stream_agg_quantile(&a, ws_stream_hist_latency, 0.5) == 0);

    /* 1 ms .. 1000 ms: the bucket edges fall on the true quantiles */

    for (i = 1; i <= 1000; i++) {
        ws_stream_agg_add(&a, ws_stream_hist_latency, i * 1000);
    }

    T(a.n == 1000 && a.min_us == 1000 && a.max_us == 1000000);
    T(a.sum_us == 500500000);
    T(a.bucket[0] == 50 && a.bucket[6] == 100 && a.bucket[8] == 250);
    T(a.bucket[9] == 250 && a.bucket[10] == 0);

    for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        T(ws_stream_agg_quantile(&a, ws_stream_hist_latency, qs[i].q)
          == qs[i].us);
    }

    T(ws_stream_agg_quantile(&a, ws_stream_hist_latency, __builtin_nan(""))
      == 1000000);

    /* one value: every quantile is it */

    ws_stream_agg_reset(&b);
    ws_stream_agg_add(&b, ws_stream_hist_latency, 125000);

    T(ws_stream_agg_quantile(&b, ws_stream_hist_latency, 0.5) == 125000);
    T(ws_stream_agg_quantile(&b, ws_stream_hist_latency, 0.99) == 125000);

    /* above the last bound: up to the largest value */

    ws_stream_agg_reset(&b);
    ws_stream_agg_add(&b, ws_stream_hist_latency, 12000000);
    ws_stream_agg_add(&b, ws_stream_hist_latency, 20000000);
    ws_stream_agg_add(&b, ws_stream_hist_latency, 30000000);

    T(b.bucket[WS_STREAM_HIST_BOUNDS] == 3);
    T(ws_stream_agg_quantile(&b, ws_stream_hist_latency, 0.5)
      == 10000000 + 20000000 / 2);
    T(ws_stream_agg_quantile(&b, ws_stream_hist_latency, 0.99) == 29800000);
    T(ws_stream_agg_quantile(&b, ws_stream_hist_latency, 0.01) == 12000000);

    /* clamped to min below: 0 .. 50 ms bucket, values 40 and 45 ms */

    ws_stream_agg_reset(&b);
    ws_stream_agg_add(&b, ws_stream_hist_latency, 40000);
    ws_stream_agg_add(&b, ws_stream_hist_latency, 45000);

    T(ws_stream_agg_quantile(&b, ws_stream_hist_latency, 0.5) == 40000);
    T(ws_stream_agg_quantile(&b, ws_stream_hist_latency, 0.9) == 45000);

    /* merges: empty, zeroed, into empty */

    ws_stream_agg_merge(&b, &a);

    T(b.n == 1002 && b.min_us == 1000 && b.max_us == 1000000);
    T(b.sum_us == 500500000 + 85000 && b.bucket[0] == 52);

    ws_stream_agg_reset(&z);
    ws_stream_agg_merge(&b, &z);
    memset(&z, 0, sizeof(z));
    ws_stream_agg_merge(&b, &z);

    T(b.n == 1002 && b.min_us == 1000 && b.max_us == 1000000);

    ws_stream_agg_merge(&z, &b);

    T(z.n == 1002 && z.min_us == 1000 && z.max_us == 1000000);
    T(z.bucket[0] == 52 && z.bucket[9] == 250);

    /* a delay distribution: 3.02 .. 5 ms evenly, one bucket 3 .. 5 ms */

    ws_stream_agg_reset(&a);

    for (i = 0; i < 100; i++) {
        ws_stream_agg_add(&a, ws_stream_hist_delay, 3020 + i * 20);
    }

    T(a.bucket[3] == 100);
    T(ws_stream_agg_quantile(&a, ws_stream_hist_delay, 0.5) == 4000);
    T(ws_stream_agg_quantile(&a, ws_stream_hist_delay, 0.99) == 4980);
}


/* signed offsets: min, max, mean, merged across workers */

static void
test_stats_spread(void)
{
    ws_stream_now_t     a, b, z;

    ws_stream_now_reset(&a);
    ws_stream_now_reset(&b);
    ws_stream_now_reset(&z);

    T(a.sync.n == 0 && a.latency.n == 0 && a.latency.min_us == UINT64_MAX);

    ws_stream_spread_add(&a.sync, 12.5);
    T(a.sync.n == 1 && a.sync.min == 12.5 && a.sync.max == 12.5);

    ws_stream_spread_add(&a.sync, -20);
    ws_stream_spread_add(&a.sync, 3);
    T(a.sync.n == 3 && a.sync.min == -20 && a.sync.max == 12.5
      && a.sync.sum == -4.5);

    /* all above zero: the minimum is not 0 */
    ws_stream_spread_add(&b.sync, 40);
    ws_stream_spread_add(&b.sync, 35);
    T(b.sync.min == 35 && b.sync.max == 40);

    /* an empty one changes nothing, either way */
    ws_stream_now_merge(&b, &z);
    T(b.sync.n == 2 && b.sync.min == 35 && b.sync.max == 40);

    ws_stream_now_merge(&z, &b);
    T(z.sync.n == 2 && z.sync.min == 35 && z.sync.max == 40
      && z.sync.sum == 75);

    ws_stream_now_merge(&z, &a);
    T(z.sync.n == 5 && z.sync.min == -20 && z.sync.max == 40
      && z.sync.sum == 70.5);
    T(z.latency.n == 0 && z.delay.n == 0);
}


static void
test_stats_rate(void)
{
    uint64_t          s, f, now;
    ws_stream_rate_t  r;

    memset(&r, 0, sizeof(r));

    T(ws_stream_rate_bps(&r, TEST_STATS_T0, 5) == 0);
    T(ws_stream_rate_fps(&r, TEST_STATS_T0, 5) == 0);

    /* ten seconds of 10 frames of 1000 bytes */

    for (s = 0; s < 10; s++) {
        for (f = 0; f < 10; f++) {
            ws_stream_rate_add(&r, TEST_STATS_T0 + s * 1000 + f * 100, 1000);
        }
    }

    now = TEST_STATS_T0 + 10 * 1000 + 500;

    T(ws_stream_rate_bps(&r, now, 5) == 80000);
    T(ws_stream_rate_fps(&r, now, 5) == 10);
    T(ws_stream_rate_bps(&r, now, 1) == 80000);
    T(ws_stream_rate_bps(&r, now, 0) == 80000);
    T(ws_stream_rate_bps(&r, now, 7) == 80000);
    T(ws_stream_rate_bps(&r, now, 1000) == 80000);
    T(ws_stream_rate_fps(&r, now, 1000) == 10);

    /* the current second does not count; its slot was second 2's */

    ws_stream_rate_add(&r, now, 1000000);

    T(ws_stream_rate_bps(&r, now, 7) == 80000);
    T(ws_stream_rate_fps(&r, now, 7) == 10);

    now = TEST_STATS_T0 + 11 * 1000;

    T(ws_stream_rate_bps(&r, now, 1) == 8000000);
    T(ws_stream_rate_fps(&r, now, 1) == 1);
    T(ws_stream_rate_bps(&r, now, 2) == (1000000 + 10000) * 8 / 2);

    /* a second later the slot is reset, not added to */

    ws_stream_rate_add(&r, TEST_STATS_T0 + 18 * 1000, 5);

    T(ws_stream_rate_bps(&r, TEST_STATS_T0 + 19 * 1000, 1) == 40);
    T(ws_stream_rate_fps(&r, TEST_STATS_T0 + 19 * 1000, 1) == 1);

    /* a stream that stops: partly, then 0 after the window */

    memset(&r, 0, sizeof(r));

    for (s = 0; s < 10; s++) {
        ws_stream_rate_add(&r, TEST_STATS_T0 + s * 1000, 500);
    }

    T(ws_stream_rate_bps(&r, TEST_STATS_T0 + 12 * 1000, 5) == 3 * 4000 / 5);
    T(ws_stream_rate_fps(&r, TEST_STATS_T0 + 12 * 1000, 5) == 0.6);
    T(ws_stream_rate_bps(&r, TEST_STATS_T0 + 14 * 1000, 5) == 800);
    T(ws_stream_rate_bps(&r, TEST_STATS_T0 + 15 * 1000, 5) == 0);
    T(ws_stream_rate_fps(&r, TEST_STATS_T0 + 15 * 1000, 5) == 0);
    T(ws_stream_rate_bps(&r, TEST_STATS_T0 + 99 * 1000, 7) == 0);
}


static uint32_t
test_stats_key(unsigned i, unsigned ua)
{
    char      addr[32], agent[64];
    uint32_t  h;

    snprintf(addr, sizeof(addr), "10.%u.%u.%u", i >> 16, (i >> 8) & 0xff,
             i & 0xff);
    snprintf(agent, sizeof(agent), "Mozilla/5.0 (X11; Linux) Chrome/%u",
             120 + ua);

    h = ws_stream_seen_hash((const uint8_t *) addr, strlen(addr),
                            2166136261u);

    return ws_stream_seen_hash((const uint8_t *) agent, strlen(agent), h);
}


static void
test_stats_seen_bits(unsigned k, uint64_t expect)
{
    unsigned          i;
    ws_stream_seen_t  s;

    /* k bits exactly: round(2048 ln(2048 / (2048 - k))) */

    memset(&s, 0, sizeof(s));

    for (i = 0; i < k; i++) {
        ws_stream_seen_add(&s, TEST_STATS_T0, i);
    }

    T(ws_stream_seen_count(&s, TEST_STATS_T0) == expect);
}


static void
test_stats_seen_many(unsigned n, unsigned ua)
{
    unsigned          i;
    uint64_t          c;
    ws_stream_seen_t  s;

    memset(&s, 0, sizeof(s));

    for (i = 0; i < n; i++) {
        ws_stream_seen_add(&s, TEST_STATS_T0, test_stats_key(i, ua));

        /* a client is counted once however often it comes */
        ws_stream_seen_add(&s, TEST_STATS_T0 + 1000, test_stats_key(i, ua));
    }

    c = ws_stream_seen_count(&s, TEST_STATS_T0 + 2000);

    if (n <= 100) {
        T(c >= n - 1 && c <= n + 1);

    } else {
        T(c * 100 >= n * 95 && c * 100 <= n * 105);
    }
}


static void
test_stats_seen(void)
{
    unsigned          i;
    uint64_t          t;
    ws_stream_seen_t  s;

    T(ws_stream_seen_hash(NULL, 0, 2166136261u) == 0x811c9dc5);
    T(ws_stream_seen_hash((const uint8_t *) "a", 1, 2166136261u)
      == 0xe40c292c);
    T(ws_stream_seen_hash((const uint8_t *) "foobar", 6, 2166136261u)
      == 0xbf9cf968);
    T(ws_stream_seen_hash((const uint8_t *) "bar", 3,
          ws_stream_seen_hash((const uint8_t *) "foo", 3, 2166136261u))
      == 0xbf9cf968);

    test_stats_seen_bits(0, 0);
    test_stats_seen_bits(1, 1);
    test_stats_seen_bits(2, 2);
    test_stats_seen_bits(100, 103);
    test_stats_seen_bits(1024, 1420);
    test_stats_seen_bits(1500, 2700);
    test_stats_seen_bits(2000, 7687);
    test_stats_seen_bits(2047, 15615);
    test_stats_seen_bits(2048, 15615);      /* saturated */

    test_stats_seen_many(10, 0);
    test_stats_seen_many(100, 0);
    test_stats_seen_many(1000, 0);
    test_stats_seen_many(3000, 0);
    test_stats_seen_many(3000, 1);
    test_stats_seen_many(5000, 2);

    /* epochs: t is the start of one */

    t = TEST_STATS_T0 / WS_STREAM_SEEN_EPOCH * WS_STREAM_SEEN_EPOCH;

    memset(&s, 0, sizeof(s));

    for (i = 0; i < 100; i++) {
        ws_stream_seen_add(&s, t + i, i);
    }

    T(ws_stream_seen_count(&s, t + 4999) == 103);
    T(ws_stream_seen_count(&s, t + 5000) == 103);       /* previous */
    T(ws_stream_seen_count(&s, t + 9999) == 103);
    T(ws_stream_seen_count(&s, t + 10000) == 0);        /* too old */
    T(ws_stream_seen_count(&s, t - 1) == 103);          /* clock behind */
    T(ws_stream_seen_count(&s, t - 5001) == 0);

    /* the next epoch: its own 50, the previous 100 of which 50 again */

    for (i = 50; i < 100; i++) {
        ws_stream_seen_add(&s, t + 5000, i + 50);
    }

    T(s.epoch == (t + 5000) / WS_STREAM_SEEN_EPOCH);
    T(ws_stream_seen_count(&s, t + 5000) == 156);
    T(ws_stream_seen_count(&s, t + 10000) == 51);       /* 50 only */

    /* a writer one epoch behind: into the previous map */

    ws_stream_seen_add(&s, t + 4000, 1000);

    T(s.epoch == (t + 5000) / WS_STREAM_SEEN_EPOCH);
    T(ws_stream_seen_count(&s, t + 5000) == 157);
    T(ws_stream_seen_count(&s, t + 10000) == 51);

    /* the epoch after: the oldest map is cleared, not the previous */

    ws_stream_seen_add(&s, t + 10000, 2000);

    T(ws_stream_seen_count(&s, t + 10000) == 52);
    T(ws_stream_seen_count(&s, t + 15000) == 1);

    /* a jump: both cleared, forwards or backwards */

    ws_stream_seen_add(&s, t + 30000, 7);

    T(ws_stream_seen_count(&s, t + 30000) == 1);

    ws_stream_seen_add(&s, t, 8);
    ws_stream_seen_add(&s, t, 9);

    T(s.epoch == t / WS_STREAM_SEEN_EPOCH);
    T(ws_stream_seen_count(&s, t) == 2);
}


static void
test_stats_codec_is(const char *codec, const char *family,
    const char *profile, const char *level)
{
    char  f[32], p[32], l[32];

    memset(f, 'x', sizeof(f));
    memset(p, 'x', sizeof(p));
    memset(l, 'x', sizeof(l));

    ws_stream_codec_describe(codec, f, sizeof(f), p, sizeof(p), l,
                             sizeof(l));

    if (strcmp(f, family) || strcmp(p, profile) || strcmp(l, level)) {
        T(0);
        fprintf(stderr, "%s: \"%s\" \"%s\" \"%s\"\n", codec ? codec : "NULL",
                f, p, l);
        return;
    }

    T(1);
}


static void
test_stats_codec(void)
{
    char  f[8], p[8], l[8];

    test_stats_codec_is("avc1.42e01e", "H.264", "Constrained Baseline", "3");
    test_stats_codec_is("avc1.42001f", "H.264", "Baseline", "3.1");
    test_stats_codec_is("avc1.4d401f", "H.264", "Main", "3.1");
    test_stats_codec_is("avc1.58000a", "H.264", "Extended", "1");
    test_stats_codec_is("avc1.640028", "H.264", "High", "4");
    test_stats_codec_is("avc1.64001f", "H.264", "High", "3.1");
    test_stats_codec_is("avc1.640C1F", "H.264", "High", "3.1");
    test_stats_codec_is("avc3.640033", "H.264", "High", "5.1");
    test_stats_codec_is("avc1.6e0028", "H.264", "High 10", "4");
    test_stats_codec_is("avc1.7a0029", "H.264", "High 4:2:2", "4.1");
    test_stats_codec_is("avc1.f4001e", "H.264", "High 4:4:4", "3");
    test_stats_codec_is("avc1.ff0028", "H.264", "", "4");
    test_stats_codec_is("avc1.640000", "H.264", "High", "");
    test_stats_codec_is("avc1.64002", "H.264", "", "");
    test_stats_codec_is("avc1.6400281", "H.264", "", "");
    test_stats_codec_is("avc1.6400zz", "H.264", "", "");
    test_stats_codec_is("avc1.", "H.264", "", "");
    test_stats_codec_is("avc1", "H.264", "", "");

    test_stats_codec_is("hvc1.1.6.L93.B0", "H.265", "Main", "3.1");
    test_stats_codec_is("hev1.2.4.L120.90", "H.265", "Main 10", "4");
    test_stats_codec_is("hvc1.A1.60000000.L153.B0", "H.265", "Main", "5.1");
    test_stats_codec_is("hvc1.3.E.H186", "H.265", "Main Still Picture",
                        "6.2");
    test_stats_codec_is("hvc1.4.10.L123.9C.8", "H.265", "Range Extensions",
                        "4.1");
    test_stats_codec_is("hvc1.B2.4.H150.B0", "H.265", "Main 10", "5");
    test_stats_codec_is("hvc1.9.4.L150", "H.265", "", "5");
    test_stats_codec_is("hvc1.1", "H.265", "Main", "");
    test_stats_codec_is("hvc1.1.6", "H.265", "Main", "");
    test_stats_codec_is("hvc1.1.6.X93", "H.265", "Main", "");
    test_stats_codec_is("hvc1.1.6.L9x", "H.265", "Main", "");
    test_stats_codec_is("hvc1.x", "H.265", "", "");
    test_stats_codec_is("hev1", "H.265", "", "");

    test_stats_codec_is("mp4a.40.2", "AAC", "LC", "");
    test_stats_codec_is("mp4a.40.5", "AAC", "HE-AAC", "");
    test_stats_codec_is("mp4a.40.29", "AAC", "HE-AACv2", "");
    test_stats_codec_is("mp4a.40.1", "AAC", "Main", "");
    test_stats_codec_is("mp4a.40.34", "MP3", "", "");
    test_stats_codec_is("mp4a.6b", "MP3", "", "");
    test_stats_codec_is("mp4a.6B", "MP3", "", "");
    test_stats_codec_is("mp4a.69", "MP3", "", "");
    test_stats_codec_is("mp4a.40", "AAC", "", "");
    test_stats_codec_is("mp4a.40.99", "AAC", "", "");
    test_stats_codec_is("mp4a.40.2x", "AAC", "", "");
    test_stats_codec_is("mp4a.67", "mp4a", "", "");
    test_stats_codec_is("mp4a", "mp4a", "", "");

    test_stats_codec_is("opus", "opus", "", "");
    test_stats_codec_is("vp09.00.10.08", "vp09", "", "");
    test_stats_codec_is("av01.0.04M.08", "av01", "", "");
    test_stats_codec_is("garbage", "garb", "", "");
    test_stats_codec_is("ab.cd", "ab", "", "");
    test_stats_codec_is(".", "", "", "");
    test_stats_codec_is("", "", "", "");
    test_stats_codec_is(NULL, "", "", "");

    /* small buffers: cut and terminated, nothing written past them */

    memset(f, 'x', sizeof(f));
    memset(p, 'x', sizeof(p));
    memset(l, 'x', sizeof(l));

    ws_stream_codec_describe("avc1.42e01f", f, 4, p, 5, l, 2);

    T(strcmp(f, "H.2") == 0 && f[4] == 'x');
    T(strcmp(p, "Cons") == 0 && p[5] == 'x');
    T(strcmp(l, "3") == 0 && l[2] == 'x');

    memset(f, 'x', sizeof(f));
    memset(p, 'x', sizeof(p));
    memset(l, 'x', sizeof(l));

    ws_stream_codec_describe("hvc1.1.6.L93.B0", f, 1, p, 0, l, 0);

    T(f[0] == '\0' && f[1] == 'x' && p[0] == 'x' && l[0] == 'x');

    ws_stream_codec_describe("garbage", f, 3, p, 1, l, 1);

    T(strcmp(f, "ga") == 0 && p[0] == '\0' && l[0] == '\0');
}


static void
test_stats_out(void)
{
    uint8_t          b[4];
    ws_stream_out_t  o;

    memset(b, TEST_STATS_CANARY, sizeof(b));
    ws_stream_out_init(&o, b, 3);

    T(o.start == b && o.pos == b && o.end == b + 3);
    T(o.overflow == 0 && o.depth == 0 && o.first[0] == 1);

    ws_stream_out_raw(&o, "ab", 2);

    T(o.pos == b + 2 && o.overflow == 0);

    ws_stream_out_raw(&o, "cd", 2);

    T(o.pos == b + 2 && o.overflow == 1);

    /* after an overflow, even what would fit is dropped */

    ws_stream_out_raw(&o, "e", 1);

    T(o.pos == b + 2 && b[2] == TEST_STATS_CANARY);

    ws_stream_out_init(&o, b, 3);
    ws_stream_out_raw(&o, "abc", 3);
    ws_stream_out_raw(&o, "", 0);

    T(o.pos == b + 3 && o.overflow == 0 && b[3] == TEST_STATS_CANARY);

    memset(b, TEST_STATS_CANARY, sizeof(b));
    ws_stream_out_init(&o, b, 0);
    ws_stream_out_raw(&o, "a", 1);

    T(o.pos == b && o.overflow == 1 && b[0] == TEST_STATS_CANARY);
}


static void
test_stats_json_esc(const char *in, size_t len, const char *expect)
{
    ws_stream_out_t  o;

    test_stats_init(&o);
    ws_stream_json_str(&o, NULL, (const uint8_t *) in, len);

    T(test_stats_equal(&o, expect, strlen(expect)));
}


#define test_stats_esc(in, expect)                                           \
    test_stats_json_esc(in, sizeof(in) - 1, "\"" expect "\"")


static void
test_stats_json_strings(void)
{
    char             in[2], expect[16];
    unsigned         c;
    ws_stream_out_t  o;

    test_stats_esc("", "");
    test_stats_esc("plain text", "plain text");
    test_stats_esc("a\"b\\c/d", "a\\\"b\\\\c/d");
    test_stats_esc("\"\"\\\\", "\\\"\\\"\\\\\\\\");
    test_stats_esc("\n\r\t", "\\n\\u000d\\u0009");
    test_stats_esc("a\0b", "a\\u0000b");

    /* every control character and DEL */

    for (c = 0; c < 0x80; c++) {
        if (c >= 0x20 && c != 0x7f) {
            continue;
        }

        in[0] = (char) c;

        if (c == '\n') {
            snprintf(expect, sizeof(expect), "\"\\n\"");

        } else {
            snprintf(expect, sizeof(expect), "\"\\u%04x\"", c);
        }

        test_stats_json_esc(in, 1, expect);
    }

    test_stats_esc(" ~", " ~");

    /* well-formed UTF-8 passes, the edges of each length */

    test_stats_esc("\xc2\x80 \xc3\xa9 \xdf\xbf", "\xc2\x80 \xc3\xa9 \xdf\xbf");
    test_stats_esc("\xe0\xa0\x80 \xe2\x82\xac \xed\x9f\xbf \xee\x80\x80",
                   "\xe0\xa0\x80 \xe2\x82\xac \xed\x9f\xbf \xee\x80\x80");
    test_stats_esc("\xef\xbf\xbf \xef\xbf\xbd", "\xef\xbf\xbf \xef\xbf\xbd");
    test_stats_esc("\xf0\x90\x80\x80 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
                   "\xf0\x90\x80\x80 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");

    /* overlong forms: every byte is replaced */

    test_stats_esc("\xc0\xaf", "\\ufffd\\ufffd");
    test_stats_esc("\xc1\xbf", "\\ufffd\\ufffd");
    test_stats_esc("\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd");
    test_stats_esc("\xe0\x9f\xbf", "\\ufffd\\ufffd\\ufffd");
    test_stats_esc("\xf0\x80\x80\xaf", "\\ufffd\\ufffd\\ufffd\\ufffd");
    test_stats_esc("\xf0\x8f\xbf\xbf", "\\ufffd\\ufffd\\ufffd\\ufffd");

    /* surrogates, above U+10FFFF, bytes never in UTF-8 */

    test_stats_esc("\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd");
    test_stats_esc("\xed\xbf\xbf", "\\ufffd\\ufffd\\ufffd");
    test_stats_esc("\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd");
    test_stats_esc("\xf5\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd");
    test_stats_esc("a\xfe\xff", "a\\ufffd\\ufffd");

    /* truncated sequences: one U+FFFD for what there is */

    test_stats_esc("\xc3", "\\ufffd");
    test_stats_esc("\xe2\x82", "\\ufffd");
    test_stats_esc("\xf0\x9f\x98", "\\ufffd");
    test_stats_esc("\xc3" "A", "\\ufffdA");
    test_stats_esc("\xe2\x82" "A", "\\ufffdA");
    test_stats_esc("\xf0\x9f\x98" "\"", "\\ufffd\\\"");
    test_stats_esc("\xf0\x9f\xe2\x82\xac", "\\ufffd\xe2\x82\xac");

    /* lone continuation bytes */

    test_stats_esc("\x80", "\\ufffd");
    test_stats_esc("\x80\xbf", "\\ufffd\\ufffd");
    test_stats_esc("A\x80" "B\xbf", "A\\ufffdB\\ufffd");
    test_stats_esc("\xc3\xa9\xa9", "\xc3\xa9\\ufffd");

    /* keys are escaped too, NULL strings are null */

    test_stats_init(&o);
    ws_stream_json_open(&o, NULL, 0);
    ws_stream_json_cstr(&o, "k\"\n", "v\x01");
    ws_stream_json_cstr(&o, "n", NULL);
    ws_stream_json_str(&o, "m", NULL, 0);
    ws_stream_json_str(&o, "e", (const uint8_t *) "", 0);
    ws_stream_json_str(&o, "l", (const uint8_t *) "a\0b", 3);
    ws_stream_json_close(&o, 0);

    T(test_stats_is(&o, "{\"k\\\"\\n\":\"v\\u0001\",\"n\":null,\"m\":null,"
                        "\"e\":\"\",\"l\":\"a\\u0000b\"}"));
}


static void
test_stats_json_values(void)
{
    unsigned         i;
    ws_stream_out_t  o;

    /* an object in an array in an object, empty ones, commas */

    test_stats_init(&o);
    ws_stream_json_open(&o, NULL, 0);
    ws_stream_json_open(&o, "a", 1);
    ws_stream_json_open(&o, NULL, 0);
    ws_stream_json_uint(&o, "b", 1);
    ws_stream_json_close(&o, 0);
    ws_stream_json_open(&o, NULL, 0);
    ws_stream_json_open(&o, "c", 1);
    ws_stream_json_close(&o, 1);
    ws_stream_json_close(&o, 0);
    ws_stream_json_uint(&o, NULL, 2);
    ws_stream_json_open(&o, NULL, 1);
    ws_stream_json_close(&o, 1);
    ws_stream_json_close(&o, 1);
    ws_stream_json_open(&o, "d", 0);
    ws_stream_json_close(&o, 0);
    ws_stream_json_bool(&o, "e", 1);
    ws_stream_json_bool(&o, "f", 0);
    ws_stream_json_null(&o, "g");
    ws_stream_json_int(&o, "h", -5);
    ws_stream_json_close(&o, 0);

    T(o.depth == 0);
    T(test_stats_is(&o, "{\"a\":[{\"b\":1},{\"c\":[]},2,[]],\"d\":{},"
                        "\"e\":true,\"f\":false,\"g\":null,\"h\":-5}"));

    /* integers exactly */

    test_stats_init(&o);
    ws_stream_json_open(&o, NULL, 1);
    ws_stream_json_uint(&o, NULL, 0);
    ws_stream_json_uint(&o, NULL, UINT64_MAX);
    ws_stream_json_int(&o, NULL, 0);
    ws_stream_json_int(&o, NULL, INT64_MAX);
    ws_stream_json_int(&o, NULL, INT64_MIN);
    ws_stream_json_close(&o, 1);

    T(test_stats_is(&o, "[0,18446744073709551615,0,9223372036854775807,"
                        "-9223372036854775808]"));

    /* doubles: decimals as asked, not finite as null */

    test_stats_init(&o);
    ws_stream_json_open(&o, NULL, 1);
    ws_stream_json_num(&o, NULL, 1.5, 2);
    ws_stream_json_num(&o, NULL, 0.1234, 0);
    ws_stream_json_num(&o, NULL, 2.5e-3, 3);
    ws_stream_json_num(&o, NULL, -12.345, 1);
    ws_stream_json_num(&o, NULL, 1e15, 0);
    ws_stream_json_num(&o, NULL, 1, 30);
    ws_stream_json_num(&o, NULL, __builtin_nan(""), 2);
    ws_stream_json_num(&o, NULL, __builtin_inf(), 2);
    ws_stream_json_num(&o, NULL, -__builtin_inf(), 2);
    ws_stream_json_close(&o, 1);

    T(test_stats_is(&o, "[1.50,0,0.003,-12.3,1000000000000000,"
                        "1.00000000000000000000,null,null,null]"));

    /* the largest double fits the number buffer */

    test_stats_init(&o);
    ws_stream_json_num(&o, NULL, -1.7976931348623157e308, 30);

    T(o.overflow == 0 && o.pos - o.start == 1 + 309 + 1 + 20);

    /* nesting: as deep as first[] follows, then overflow */

    test_stats_init(&o);

    for (i = 0; i < WS_STREAM_OUT_DEPTH - 1; i++) {
        ws_stream_json_open(&o, NULL, 1);
    }

    ws_stream_json_uint(&o, NULL, 1);
    ws_stream_json_uint(&o, NULL, 2);

    for (i = 0; i < WS_STREAM_OUT_DEPTH - 1; i++) {
        ws_stream_json_close(&o, 1);
    }

    T(o.overflow == 0 && o.depth == 0);
    T(o.pos - o.start == 2 * (WS_STREAM_OUT_DEPTH - 1) + 3);
    T(memcmp(o.pos - WS_STREAM_OUT_DEPTH - 3, "[1,2]]", 6) == 0);

    test_stats_init(&o);

    for (i = 0; i < WS_STREAM_OUT_DEPTH; i++) {
        ws_stream_json_open(&o, NULL, 0);
    }

    T(o.overflow == 1);

    for (i = 0; i < WS_STREAM_OUT_DEPTH + 2; i++) {
        ws_stream_json_close(&o, 0);
    }

    T(o.depth == 0);
}


static void
test_stats_doc(ws_stream_out_t *o)
{
    ws_stream_json_open(o, NULL, 0);
    ws_stream_json_cstr(o, "app", "live");
    ws_stream_json_str(o, "ua", (const uint8_t *) "Moz\"\\\n\xff\xe2\x82\xac",
                       9);
    ws_stream_json_open(o, "viewers", 1);
    ws_stream_json_open(o, NULL, 0);
    ws_stream_json_uint(o, "id", 12345);
    ws_stream_json_int(o, "lag", -7);
    ws_stream_json_num(o, "rate", 1.25, 2);
    ws_stream_json_bool(o, "ok", 1);
    ws_stream_json_null(o, "report");
    ws_stream_json_close(o, 0);
    ws_stream_json_open(o, NULL, 0);
    ws_stream_json_close(o, 0);
    ws_stream_json_close(o, 1);
    ws_stream_json_num(o, "nan", __builtin_nan(""), 1);
    ws_stream_json_close(o, 0);
}


static void
test_stats_cut(void (*doc)(ws_stream_out_t *o))
{
    size_t           full, size, bad;
    uint8_t         *b;
    ws_stream_out_t  o;

    /*
     * every buffer size up to the whole and one more: no byte past end,
     * overflow exactly when the text does not fit, else the same text
     */

    test_stats_init(&o);
    doc(&o);
    full = o.pos - o.start;

    T(o.overflow == 0 && full > 0);

    bad = 0;

    for (size = 0; size <= full + 1; size++) {
        b = malloc(size + 1);

        if (b == NULL) {
            bad++;
            break;
        }

        b[size] = TEST_STATS_CANARY;
        ws_stream_out_init(&o, b, size);
        doc(&o);

        if (b[size] != TEST_STATS_CANARY || o.pos > o.end
            || o.overflow != (size < full)
            || memcmp(b, test_stats_buf, o.pos - o.start) != 0
            || (!o.overflow && (size_t) (o.pos - o.start) != full))
        {
            bad++;
        }

        free(b);
    }

    T(bad == 0);
}


static void
test_stats_label(ws_stream_label_t *l, const char *name, const char *value)
{
    l->name = name;
    l->value = (const uint8_t *) value;
    l->len = value ? strlen(value) : 0;
}


static void
test_stats_prom_labels(void)
{
    ws_stream_out_t    o;
    ws_stream_label_t  l[3];

    test_stats_label(&l[0], "app", "live");
    test_stats_label(&l[1], "stream", "a\"b\\c\nd\te\xff\xc3\xa9");
    test_stats_label(&l[2], "empty", NULL);

    test_stats_init(&o);
    ws_stream_prom_head(&o, "ws_stream_viewers", "gauge",
                        "Viewers \"now\"\\ by\nprotocol \xc3");
    ws_stream_prom_uint(&o, "ws_stream_viewers", l, 3, 42);
    ws_stream_prom_uint(&o, "ws_stream_up", NULL, 0, 1);
    ws_stream_prom_uint(&o, "ws_stream_big", l, 1, UINT64_MAX);
    ws_stream_prom_num(&o, "x", l, 1, 0.1);
    ws_stream_prom_num(&o, "x", NULL, 0, 1.5);
    ws_stream_prom_num(&o, "x", NULL, 0, -2);
    ws_stream_prom_num(&o, "x", NULL, 0, __builtin_nan(""));
    ws_stream_prom_num(&o, "x", NULL, 0, __builtin_inf());
    ws_stream_prom_num(&o, "x", NULL, 0, -__builtin_inf());
    ws_stream_prom_num(&o, "x", NULL, 0, 1e300);

    T(test_stats_is(&o,
        "# HELP ws_stream_viewers Viewers \"now\"\\\\ by\\nprotocol "
        "\xef\xbf\xbd\n"
        "# TYPE ws_stream_viewers gauge\n"
        "ws_stream_viewers{app=\"live\",stream=\"a\\\"b\\\\c\\nd\te"
        "\xef\xbf\xbd\xc3\xa9\",empty=\"\"} 42\n"
        "ws_stream_up 1\n"
        "ws_stream_big{app=\"live\"} 18446744073709551615\n"
        "x{app=\"live\"} 0.10000000000000001\n"
        "x 1.5\n"
        "x -2\n"
        "x NaN\n"
        "x +Inf\n"
        "x -Inf\n"
        "x 1.0000000000000001e+300\n"));
}


static void
test_stats_prom_hist(void)
{
    ws_stream_out_t    o;
    ws_stream_hist_t   h;
    ws_stream_label_t  l[2];

    static const uint64_t  v[] = { 30000, 50000, 120000, 2500001, 20000000 };

    test_stats_label(&l[0], "app", "live");
    test_stats_label(&l[1], "stream", "a\"b");
    test_stats_hist_of(&h, ws_stream_hist_latency, v, 5);

    test_stats_init(&o);
    ws_stream_prom_hist(&o, "lat_seconds", l, 2, &h, ws_stream_hist_latency);

#define TEST_STATS_LE                                                        \
    "lat_seconds_bucket{app=\"live\",stream=\"a\\\"b\",le=\""

    T(test_stats_is(&o,
        TEST_STATS_LE "0.05\"} 2\n" TEST_STATS_LE "0.1\"} 2\n"
        TEST_STATS_LE "0.15\"} 3\n" TEST_STATS_LE "0.2\"} 3\n"
        TEST_STATS_LE "0.25\"} 3\n" TEST_STATS_LE "0.3\"} 3\n"
        TEST_STATS_LE "0.4\"} 3\n" TEST_STATS_LE "0.5\"} 3\n"
        TEST_STATS_LE "0.75\"} 3\n" TEST_STATS_LE "1\"} 3\n"
        TEST_STATS_LE "1.5\"} 3\n" TEST_STATS_LE "2\"} 3\n"
        TEST_STATS_LE "3\"} 4\n" TEST_STATS_LE "5\"} 4\n"
        TEST_STATS_LE "10\"} 4\n" TEST_STATS_LE "+Inf\"} 5\n"
        "lat_seconds_sum{app=\"live\",stream=\"a\\\"b\"} 22.700001\n"
        "lat_seconds_count{app=\"live\",stream=\"a\\\"b\"} 5\n"));

#undef TEST_STATS_LE

    /* no labels, the delay bounds, nothing counted */

    memset(&h, 0, sizeof(h));

    test_stats_init(&o);
    ws_stream_prom_hist(&o, "d", NULL, 0, &h, ws_stream_hist_delay);

    T(test_stats_is(&o,
        "d_bucket{le=\"0.001\"} 0\nd_bucket{le=\"0.002\"} 0\n"
        "d_bucket{le=\"0.003\"} 0\nd_bucket{le=\"0.005\"} 0\n"
        "d_bucket{le=\"0.01\"} 0\nd_bucket{le=\"0.02\"} 0\n"
        "d_bucket{le=\"0.03\"} 0\nd_bucket{le=\"0.05\"} 0\n"
        "d_bucket{le=\"0.1\"} 0\nd_bucket{le=\"0.2\"} 0\n"
        "d_bucket{le=\"0.3\"} 0\nd_bucket{le=\"0.5\"} 0\n"
        "d_bucket{le=\"1\"} 0\nd_bucket{le=\"2\"} 0\n"
        "d_bucket{le=\"5\"} 0\nd_bucket{le=\"+Inf\"} 0\n"
        "d_sum 0\nd_count 0\n"));

    /* the sum: exact microseconds, whole seconds without a point */

    test_stats_hist_of(&h, ws_stream_hist_delay, v, 0);
    ws_stream_hist_add(&h, ws_stream_hist_delay, 1);

    test_stats_init(&o);
    ws_stream_prom_hist(&o, "d", NULL, 0, &h, ws_stream_hist_delay);

    T(test_stats_ends(&o, "} 1\nd_sum 0.000001\nd_count 1\n"));

    h.sum_us = 3000000;

    test_stats_init(&o);
    ws_stream_prom_hist(&o, "d", NULL, 0, &h, ws_stream_hist_delay);

    T(test_stats_ends(&o, "\nd_sum 3\nd_count 1\n"));

    h.sum_us = UINT64_MAX;

    test_stats_init(&o);
    ws_stream_prom_hist(&o, "d", NULL, 0, &h, ws_stream_hist_delay);

    T(test_stats_ends(&o, "\nd_sum 18446744073709.551615\nd_count 1\n"));
}


static void
test_stats_prom_doc(ws_stream_out_t *o)
{
    ws_stream_hist_t   h;
    ws_stream_label_t  l;

    test_stats_label(&l, "stream", "d\"\xfe");

    memset(&h, 0, sizeof(h));
    ws_stream_hist_add(&h, ws_stream_hist_delay, 7000);

    ws_stream_prom_head(o, "a_total", "counter", "A \\ B");
    ws_stream_prom_uint(o, "a_total", &l, 1, 3);
    ws_stream_prom_num(o, "b", &l, 1, 0.5);
    ws_stream_prom_hist(o, "c", &l, 1, &h, ws_stream_hist_delay);
}


void
test_stats(void)
{
    test_stats_hist();
    test_stats_agg();
    test_stats_spread();
    test_stats_rate();
    test_stats_seen();
    test_stats_codec();
    test_stats_out();
    test_stats_json_strings();
    test_stats_json_values();
    test_stats_cut(test_stats_doc);
    test_stats_prom_labels();
    test_stats_prom_hist();
    test_stats_cut(test_stats_prom_doc);
}
