
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Statistics without nginx (docs/stats.md): histograms and aggregates,
 * the ingest rate window, the estimate of distinct clients and codec
 * names (the text writers are in ws_stream_text.c).  Only libc: the
 * logarithm of the estimate is computed here, so the module needs no
 * libm.
 */


#include <stdio.h>

#include "ws_stream_stats.h"


/* log2 of WS_STREAM_SEEN_BITS */
#define WS_STREAM_SEEN_LOG2     11

/* the digits a codec string's number may have */
#define WS_STREAM_CODEC_DIGITS  9

#define WS_STREAM_LN2           0.69314718055994530942
#define WS_STREAM_SQRT2         1.41421356237309504880


typedef struct {
    unsigned         id;
    const char      *name;
} ws_stream_name_t;


static size_t ws_stream_hist_index(const uint32_t *bounds, uint64_t v_us);
static uint64_t ws_stream_rate_sum(const ws_stream_rate_t *r,
    const uint64_t *v, uint64_t now_ms, unsigned *window);
static double ws_stream_ln(double x);
static const char *ws_stream_codec_name(const ws_stream_name_t *names,
    unsigned id);
static size_t ws_stream_codec_num(const char **pp, unsigned base,
    unsigned *v);
static void ws_stream_codec_level(char *buf, size_t size, unsigned v,
    unsigned div, unsigned step);
static void ws_stream_codec_copy(char *dst, size_t size, const char *src,
    size_t len);


const uint32_t  ws_stream_hist_latency[WS_STREAM_HIST_BOUNDS] = {
    50000, 100000, 150000, 200000, 250000, 300000, 400000, 500000, 750000,
    1000000, 1500000, 2000000, 3000000, 5000000, 10000000
};

const uint32_t  ws_stream_hist_delay[WS_STREAM_HIST_BOUNDS] = {
    1000, 2000, 3000, 5000, 10000, 20000, 30000, 50000, 100000, 200000,
    300000, 500000, 1000000, 2000000, 5000000
};


static const ws_stream_name_t  ws_stream_avc_profiles[] = {
    { 66, "Baseline" }, { 77, "Main" }, { 88, "Extended" }, { 100, "High" },
    { 110, "High 10" }, { 122, "High 4:2:2" }, { 244, "High 4:4:4" },
    { 0, NULL }
};

static const ws_stream_name_t  ws_stream_hevc_profiles[] = {
    { 1, "Main" }, { 2, "Main 10" }, { 3, "Main Still Picture" },
    { 4, "Range Extensions" }, { 0, NULL }
};

/* MPEG-4 audio object types; 34 (layer 3) is told apart as MP3 */
static const ws_stream_name_t  ws_stream_aac_profiles[] = {
    { 1, "Main" }, { 2, "LC" }, { 5, "HE-AAC" }, { 29, "HE-AACv2" },
    { 0, NULL }
};


/* histograms and aggregates */

static size_t
ws_stream_hist_index(const uint32_t *bounds, uint64_t v_us)
{
    size_t  i;

    for (i = 0; i < WS_STREAM_HIST_BOUNDS; i++) {
        if (v_us <= bounds[i]) {
            break;
        }
    }

    return i;
}


void
ws_stream_hist_add(ws_stream_hist_t *h, const uint32_t *bounds,
    uint64_t v_us)
{
    h->bucket[ws_stream_hist_index(bounds, v_us)]++;
    h->count++;
    h->sum_us += v_us;
}


void
ws_stream_hist_merge(ws_stream_hist_t *dst, const ws_stream_hist_t *src)
{
    size_t  i;

    for (i = 0; i < WS_STREAM_HIST_N; i++) {
        dst->bucket[i] += src->bucket[i];
    }

    dst->count += src->count;
    dst->sum_us += src->sum_us;
}


void
ws_stream_agg_reset(ws_stream_agg_t *a)
{
    memset(a, 0, sizeof(ws_stream_agg_t));

    a->min_us = UINT64_MAX;
}


void
ws_stream_agg_add(ws_stream_agg_t *a, const uint32_t *bounds,
    uint64_t v_us)
{
    a->bucket[ws_stream_hist_index(bounds, v_us)]++;
    a->n++;
    a->sum_us += v_us;

    if (v_us < a->min_us) {
        a->min_us = v_us;
    }

    if (v_us > a->max_us) {
        a->max_us = v_us;
    }
}


void
ws_stream_agg_merge(ws_stream_agg_t *dst, const ws_stream_agg_t *src)
{
    size_t  i;

    /* an empty src may be only zeroed, its min_us 0: left out */

    if (src->n == 0) {
        return;
    }

    for (i = 0; i < WS_STREAM_HIST_N; i++) {
        dst->bucket[i] += src->bucket[i];
    }

    if (dst->n == 0 || src->min_us < dst->min_us) {
        dst->min_us = src->min_us;
    }

    if (dst->n == 0 || src->max_us > dst->max_us) {
        dst->max_us = src->max_us;
    }

    dst->n += src->n;
    dst->sum_us += src->sum_us;
}


void
ws_stream_spread_add(ws_stream_spread_t *s, double v)
{
    if (s->n == 0 || v < s->min) {
        s->min = v;
    }

    if (s->n == 0 || v > s->max) {
        s->max = v;
    }

    s->n++;
    s->sum += v;
}


void
ws_stream_spread_merge(ws_stream_spread_t *dst, const ws_stream_spread_t *src)
{
    if (src->n == 0) {
        return;
    }

    if (dst->n == 0 || src->min < dst->min) {
        dst->min = src->min;
    }

    if (dst->n == 0 || src->max > dst->max) {
        dst->max = src->max;
    }

    dst->n += src->n;
    dst->sum += src->sum;
}


void
ws_stream_now_reset(ws_stream_now_t *now)
{
    ws_stream_agg_reset(&now->delay);
    ws_stream_agg_reset(&now->latency);
    memset(&now->sync, 0, sizeof(ws_stream_spread_t));
}


void
ws_stream_now_merge(ws_stream_now_t *dst, const ws_stream_now_t *src)
{
    ws_stream_agg_merge(&dst->delay, &src->delay);
    ws_stream_agg_merge(&dst->latency, &src->latency);
    ws_stream_spread_merge(&dst->sync, &src->sync);
}


uint64_t
ws_stream_agg_quantile(const ws_stream_agg_t *a, const uint32_t *bounds,
    double q)
{
    size_t    i;
    double    rank, lower, upper, v;
    uint64_t  below, r;

    if (a->n == 0) {
        return 0;
    }

    /*
     * the first bucket not empty where the rank q * n falls; q out of
     * (0, 1) comes to min_us or max_us by the clamping
     */

    rank = q * (double) a->n;
    below = 0;

    for (i = 0; i < WS_STREAM_HIST_N; i++) {
        if (a->bucket[i] && (double) (below + a->bucket[i]) >= rank) {
            break;
        }

        below += a->bucket[i];
    }

    if (i == WS_STREAM_HIST_N) {
        /* buckets read while written, fewer than n */
        return a->max_us;
    }

    /* above the last bound, the largest value closes the bucket */

    lower = (i == 0) ? 0 : bounds[i - 1];
    upper = (i == WS_STREAM_HIST_BOUNDS) ? (double) a->max_us : bounds[i];

    v = lower + (upper - lower) * (rank - (double) below) / a->bucket[i];

    r = (v > 0) ? (uint64_t) (v + 0.5) : 0;

    if (r < a->min_us) {
        return a->min_us;
    }

    if (r > a->max_us) {
        return a->max_us;
    }

    return r;
}


/* the ingest rate */

void
ws_stream_rate_add(ws_stream_rate_t *r, uint64_t now_ms, uint64_t bytes)
{
    size_t    slot;
    uint64_t  sec;

    sec = now_ms / 1000;
    slot = sec % WS_STREAM_RATE_SLOTS;

    if (r->sec[slot] != sec) {
        r->sec[slot] = sec;
        r->bytes[slot] = 0;
        r->frames[slot] = 0;
    }

    r->bytes[slot] += bytes;
    r->frames[slot]++;
}


static uint64_t
ws_stream_rate_sum(const ws_stream_rate_t *r, const uint64_t *v,
    uint64_t now_ms, unsigned *window)
{
    size_t    i;
    uint64_t  sec, first, sum;

    /*
     * v is r->bytes or r->frames: their sum over the seconds
     * [now - window, now - 1], the window made 1 to SLOTS - 1 so that
     * each of its seconds has a slot of its own
     */

    if (*window < 1) {
        *window = 1;
    }

    if (*window > WS_STREAM_RATE_SLOTS - 1) {
        *window = WS_STREAM_RATE_SLOTS - 1;
    }

    sec = now_ms / 1000;
    first = (sec > *window) ? sec - *window : 0;
    sum = 0;

    for (i = 0; i < WS_STREAM_RATE_SLOTS; i++) {
        if (r->sec[i] >= first && r->sec[i] < sec) {
            sum += v[i];
        }
    }

    return sum;
}


uint64_t
ws_stream_rate_bps(const ws_stream_rate_t *r, uint64_t now_ms,
    unsigned window)
{
    uint64_t  bytes;

    bytes = ws_stream_rate_sum(r, r->bytes, now_ms, &window);

    return bytes * 8 / window;
}


double
ws_stream_rate_fps(const ws_stream_rate_t *r, uint64_t now_ms,
    unsigned window)
{
    uint64_t  frames;

    frames = ws_stream_rate_sum(r, r->frames, now_ms, &window);

    return (double) frames / window;
}


/* distinct clients */

uint32_t
ws_stream_seen_hash(const uint8_t *p, size_t len, uint32_t h)
{
    size_t  i;

    /*
     * FNV-1a, 32 bits, going on from h: a key starts from the offset
     * basis 2166136261 and its parts are chained (the address, then the
     * User-Agent)
     */

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619;
    }

    return h;
}


void
ws_stream_seen_add(ws_stream_seen_t *s, uint64_t now_ms, uint32_t hash)
{
    uint32_t  bit;
    uint64_t  e;

    e = now_ms / WS_STREAM_SEEN_EPOCH;

    if (e == s->epoch + 1) {
        /* the map of two epochs ago becomes the current one */
        memset(s->bits[e & 1], 0, sizeof(s->bits[0]));
        s->epoch = e;

    } else if (e > s->epoch + 1 || e + 1 < s->epoch) {
        memset(s->bits, 0, sizeof(s->bits));
        s->epoch = e;
    }

    /*
     * e is s->epoch, or s->epoch - 1 for a writer whose clock is a little
     * behind another's: the previous map, still held, takes it.  The low
     * bits of FNV-1a depend on the low bits of the state alone: the high
     * ones are folded into them (the FNV authors' xor-folding).
     */

    bit = (hash ^ (hash >> WS_STREAM_SEEN_LOG2)
           ^ (hash >> 2 * WS_STREAM_SEEN_LOG2)) % WS_STREAM_SEEN_BITS;

    s->bits[e & 1][bit / 64] |= (uint64_t) 1 << (bit % 64);
}


uint64_t
ws_stream_seen_count(const ws_stream_seen_t *s, uint64_t now_ms)
{
    size_t    i;
    uint64_t  e, zeros, w, use[2];

    /*
     * Linear counting: n = m ln(m / z) for z of the m bits zero in the
     * union of the current and the previous epoch's maps.  When all are
     * set, the estimate saturates at m ln m (15,615 for 2,048 bits).
     */

    e = now_ms / WS_STREAM_SEEN_EPOCH;

    if (e > s->epoch + 1 || e + 1 < s->epoch) {
        return 0;
    }

    /* when now is an epoch past the newest add, the other map is older */

    use[s->epoch & 1] = UINT64_MAX;
    use[(s->epoch & 1) ^ 1] = (e == s->epoch + 1) ? 0 : UINT64_MAX;

    zeros = 0;

    for (i = 0; i < WS_STREAM_SEEN_BITS / 64; i++) {
        w = (s->bits[0][i] & use[0]) | (s->bits[1][i] & use[1]);
        zeros += 64 - __builtin_popcountll(w);
    }

    if (zeros == 0) {
        zeros = 1;
    }

    return (uint64_t) (WS_STREAM_SEEN_BITS
                       * ws_stream_ln((double) WS_STREAM_SEEN_BITS / zeros)
                       + 0.5);
}


static double
ws_stream_ln(double x)
{
    int       k;
    double    y, y2, term, sum;
    unsigned  i;

    /*
     * x > 0 as m 2^k, m in [1/sqrt(2), sqrt(2)); then
     * ln m = 2 atanh(y) = 2 (y + y^3/3 + y^5/5 ...), y = (m - 1) / (m + 1),
     * |y| < 0.172: twelve terms are below a double's precision
     */

    if (!(x > 0)) {
        return 0;
    }

    k = 0;

    while (x >= WS_STREAM_SQRT2) {
        x /= 2;
        k++;
    }

    while (x < WS_STREAM_SQRT2 / 2) {
        x *= 2;
        k--;
    }

    y = (x - 1) / (x + 1);
    y2 = y * y;
    term = y;
    sum = 0;

    for (i = 1; i < 24; i += 2) {
        sum += term / i;
        term *= y2;
    }

    return 2 * sum + k * WS_STREAM_LN2;
}


/* codec names */

void
ws_stream_codec_describe(const char *codec, char *family,
    size_t family_size, char *profile, size_t profile_size, char *level,
    size_t level_size)
{
    size_t       len;
    unsigned     v, oti;
    const char  *p, *fam, *prof;

    ws_stream_codec_copy(profile, profile_size, "", 0);
    ws_stream_codec_copy(level, level_size, "", 0);

    /* the four-character code, then what follows its dot */

    if (codec == NULL) {
        codec = "";
    }

    len = strcspn(codec, ".");
    p = codec + len + (codec[len] == '.');
    fam = NULL;
    prof = "";

    if (len != 4) {
        /* not one of those named */

    } else if (memcmp(codec, "avc1", 4) == 0
               || memcmp(codec, "avc3", 4) == 0)
    {
        /* avc1.PPCCLL: profile_idc, constraint flags, level_idc in hex */

        fam = "H.264";

        if (ws_stream_codec_num(&p, 16, &v) == 6 && *p == '\0') {
            prof = ws_stream_codec_name(ws_stream_avc_profiles, v >> 16);

            if ((v >> 16) == 66 && (v & 0x4000)) {
                prof = "Constrained Baseline";
            }

            ws_stream_codec_level(level, level_size, v & 0xff, 10, 1);
        }

    } else if (memcmp(codec, "hvc1", 4) == 0
               || memcmp(codec, "hev1", 4) == 0)
    {
        /* hvc1.[ABC]P.flags.{L,H}level...: level_idc is 30 times level */

        fam = "H.265";

        if (*p >= 'A' && *p <= 'C') {
            p++;
        }

        if (ws_stream_codec_num(&p, 10, &v) && (*p == '.' || *p == '\0')) {
            prof = ws_stream_codec_name(ws_stream_hevc_profiles, v);

            /* the compatibility flags, then the tier and the level */

            p += (*p == '.');
            p += strcspn(p, ".");
            p += (*p == '.');

            if (*p == 'L' || *p == 'H') {
                p++;

                if (ws_stream_codec_num(&p, 10, &v)
                    && (*p == '.' || *p == '\0'))
                {
                    ws_stream_codec_level(level, level_size, v, 30, 3);
                }
            }
        }

    } else if (memcmp(codec, "mp4a", 4) == 0) {

        /* mp4a.OTI[.AOT]: 40 is MPEG-4 audio, 69 and 6b MPEG-2/1 audio */

        if (ws_stream_codec_num(&p, 16, &oti) == 2) {

            if (oti == 0x69 || oti == 0x6b) {
                fam = "MP3";

            } else if (oti == 0x40) {
                fam = "AAC";

                if (*p == '.') {
                    p++;

                    if (ws_stream_codec_num(&p, 10, &v) && *p == '\0') {
                        prof = ws_stream_codec_name(ws_stream_aac_profiles,
                                                    v);

                        if (v == 34) {
                            fam = "MP3";
                        }
                    }
                }
            }
        }
    }

    if (fam) {
        ws_stream_codec_copy(family, family_size, fam, strlen(fam));
        ws_stream_codec_copy(profile, profile_size, prof, strlen(prof));

    } else {
        ws_stream_codec_copy(family, family_size, codec, len < 4 ? len : 4);
    }
}


static const char *
ws_stream_codec_name(const ws_stream_name_t *names, unsigned id)
{
    for ( /* void */ ; names->name; names++) {
        if (names->id == id) {
            return names->name;
        }
    }

    return "";
}


static size_t
ws_stream_codec_num(const char **pp, unsigned base, unsigned *v)
{
    size_t       n;
    unsigned     d;
    const char  *p;

    /* a number of up to WS_STREAM_CODEC_DIGITS digits: their count */

    p = *pp;
    *v = 0;

    for (n = 0; n < WS_STREAM_CODEC_DIGITS; n++, p++) {

        if (*p >= '0' && *p <= '9') {
            d = *p - '0';

        } else if (base == 16 && (*p | 0x20) >= 'a' && (*p | 0x20) <= 'f') {
            d = (*p | 0x20) - 'a' + 10;

        } else {
            break;
        }

        *v = *v * base + d;
    }

    *pp = p;

    return n;
}


static void
ws_stream_codec_level(char *buf, size_t size, unsigned v, unsigned div,
    unsigned step)
{
    unsigned  major, minor;

    /* "3.1", "4": level_idc is div times the level, its tenths step */

    if (v == 0 || size == 0) {
        return;
    }

    major = v / div;
    minor = v % div / step;

    if (minor) {
        snprintf(buf, size, "%u.%u", major, minor);

    } else {
        snprintf(buf, size, "%u", major);
    }
}


static void
ws_stream_codec_copy(char *dst, size_t size, const char *src, size_t len)
{
    if (size == 0) {
        return;
    }

    if (len > size - 1) {
        len = size - 1;
    }

    memcpy(dst, src, len);
    dst[len] = '\0';
}
