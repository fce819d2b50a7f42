
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The nginx-free half of the statistics (docs/stats.md): histograms and
 * "viewers now" aggregates, the ingest rate window, the estimate of
 * distinct HLS clients, codec descriptions, and the JSON and Prometheus
 * text writers the API and /metrics are built with.
 */


#ifndef _WS_STREAM_STATS_H_INCLUDED_
#define _WS_STREAM_STATS_H_INCLUDED_


#include "ws_stream_core.h"


/*
 * Histograms: WS_STREAM_HIST_BOUNDS upper bounds in microseconds, one
 * more bucket for what is above the last.  bucket[i] counts values v
 * with bounds[i - 1] < v <= bounds[i] (not cumulative: the Prometheus
 * writer sums them).
 */

#define WS_STREAM_HIST_BOUNDS   15
#define WS_STREAM_HIST_N        (WS_STREAM_HIST_BOUNDS + 1)

/* client-reported glass-to-glass latency: 50 ms .. 10 s */
extern const uint32_t  ws_stream_hist_latency[WS_STREAM_HIST_BOUNDS];
/* server send delay, ingest to socket: 1 ms .. 5 s */
extern const uint32_t  ws_stream_hist_delay[WS_STREAM_HIST_BOUNDS];


typedef struct {
    uint64_t         bucket[WS_STREAM_HIST_N];
    uint64_t         count;
    uint64_t         sum_us;
} ws_stream_hist_t;


/* min/max/avg and a bucket count of the current values of some viewers */
typedef struct {
    uint64_t         n;
    uint64_t         sum_us;
    uint64_t         min_us;        /* meaningful when n > 0 */
    uint64_t         max_us;
    uint32_t         bucket[WS_STREAM_HIST_N];
} ws_stream_agg_t;


/*
 * Signed current values of some viewers (their offsets from the shared
 * latency target, ms): how far apart the audience is
 */
typedef struct {
    uint64_t         n;
    double           sum;
    double           min;           /* meaningful when n > 0 */
    double           max;
} ws_stream_spread_t;


/* a worker's "viewers now" of one stream, rewritten every second */
typedef struct {
    ws_stream_agg_t      delay;     /* ingest -> socket, us */
    ws_stream_agg_t      latency;   /* client reports, us */
    ws_stream_spread_t   sync;      /* client reports, ms */
} ws_stream_now_t;


void ws_stream_hist_add(ws_stream_hist_t *h, const uint32_t *bounds,
    uint64_t v_us);
/* dst += src, bucket by bucket */
void ws_stream_hist_merge(ws_stream_hist_t *dst, const ws_stream_hist_t *src);

void ws_stream_agg_reset(ws_stream_agg_t *a);
void ws_stream_agg_add(ws_stream_agg_t *a, const uint32_t *bounds,
    uint64_t v_us);
void ws_stream_agg_merge(ws_stream_agg_t *dst, const ws_stream_agg_t *src);

void ws_stream_spread_add(ws_stream_spread_t *s, double v);
void ws_stream_spread_merge(ws_stream_spread_t *dst,
    const ws_stream_spread_t *src);

void ws_stream_now_reset(ws_stream_now_t *now);
void ws_stream_now_merge(ws_stream_now_t *dst, const ws_stream_now_t *src);

/*
 * The q-quantile (0 < q < 1) of the values counted in a, estimated from
 * its buckets by linear interpolation inside the bucket that holds it,
 * clamped to [min_us, max_us]; 0 when a->n is 0.
 */
uint64_t ws_stream_agg_quantile(const ws_stream_agg_t *a,
    const uint32_t *bounds, double q);


/*
 * Ingest rate over a sliding window of whole seconds: one slot per
 * second of the wall clock, WS_STREAM_RATE_SLOTS of them.  One writer;
 * a reader in another process may see a slot being reused, which costs
 * one second's accuracy, never a wrong order of magnitude.
 */

#define WS_STREAM_RATE_SLOTS    8
#define WS_STREAM_RATE_WINDOW   5       /* seconds read by default */

typedef struct {
    uint64_t         sec[WS_STREAM_RATE_SLOTS];     /* wall clock, s */
    uint64_t         bytes[WS_STREAM_RATE_SLOTS];
    uint64_t         frames[WS_STREAM_RATE_SLOTS];
} ws_stream_rate_t;

void ws_stream_rate_add(ws_stream_rate_t *r, uint64_t now_ms,
    uint64_t bytes);

/*
 * Over the last `window` complete seconds before now (1 to
 * WS_STREAM_RATE_SLOTS - 1); seconds without data count as zero, so a
 * stream that stops reads 0 after window seconds.
 */
uint64_t ws_stream_rate_bps(const ws_stream_rate_t *r, uint64_t now_ms,
    unsigned window);
double ws_stream_rate_fps(const ws_stream_rate_t *r, uint64_t now_ms,
    unsigned window);


/*
 * Distinct clients seen recently (HLS has no connection to count):
 * linear counting over a bitmap of WS_STREAM_SEEN_BITS bits per epoch of
 * WS_STREAM_SEEN_EPOCH ms; a count covers the current and the previous
 * epoch.  Accurate to a few per cent up to about 5,000 clients.
 */

#define WS_STREAM_SEEN_BITS     2048
#define WS_STREAM_SEEN_EPOCH    5000

typedef struct {
    uint64_t         epoch;         /* now_ms / WS_STREAM_SEEN_EPOCH */
    uint64_t         bits[2][WS_STREAM_SEEN_BITS / 64];     /* [epoch & 1] */
} ws_stream_seen_t;

uint32_t ws_stream_seen_hash(const uint8_t *p, size_t len, uint32_t h);
void ws_stream_seen_add(ws_stream_seen_t *s, uint64_t now_ms,
    uint32_t hash);
uint64_t ws_stream_seen_count(const ws_stream_seen_t *s, uint64_t now_ms);


/*
 * From an RFC 6381 codec string ("avc1.64001f", "hvc1.1.6.L93.B0",
 * "mp4a.40.2", "mp4a.6b") the codec family ("H.264", "H.265", "AAC",
 * "MP3"), the profile ("High", "Main", "LC", ...) and the level ("3.1");
 * empty strings for what the string does not tell.
 */
void ws_stream_codec_describe(const char *codec, char *family,
    size_t family_size, char *profile, size_t profile_size, char *level,
    size_t level_size);


/*
 * Output into a fixed buffer.  Writers never pass end; what does not fit
 * sets overflow and is dropped, so a caller retries with a larger buffer.
 */

#define WS_STREAM_OUT_DEPTH     16

typedef struct {
    uint8_t         *start;
    uint8_t         *pos;
    uint8_t         *end;
    unsigned         overflow;
    unsigned         depth;
    uint8_t          first[WS_STREAM_OUT_DEPTH];    /* no item yet */
} ws_stream_out_t;

void ws_stream_out_init(ws_stream_out_t *o, uint8_t *buf, size_t size);
void ws_stream_out_raw(ws_stream_out_t *o, const void *p, size_t len);


/*
 * JSON.  key is NULL for array items and for the top level value;
 * commas come by themselves.  Strings are escaped (quote, backslash,
 * control characters as \uXXXX; bytes that are not UTF-8 become
 * \ufffd), so any user-controlled bytes make valid JSON.  A double that
 * is not finite is written as null.
 */

void ws_stream_json_open(ws_stream_out_t *o, const char *key, int array);
void ws_stream_json_close(ws_stream_out_t *o, int array);
void ws_stream_json_str(ws_stream_out_t *o, const char *key,
    const uint8_t *s, size_t len);
void ws_stream_json_cstr(ws_stream_out_t *o, const char *key,
    const char *s);
void ws_stream_json_uint(ws_stream_out_t *o, const char *key, uint64_t v);
void ws_stream_json_int(ws_stream_out_t *o, const char *key, int64_t v);
void ws_stream_json_num(ws_stream_out_t *o, const char *key, double v,
    unsigned decimals);
void ws_stream_json_bool(ws_stream_out_t *o, const char *key, int v);
void ws_stream_json_null(ws_stream_out_t *o, const char *key);


/*
 * Prometheus text format 0.0.4.  Label values are escaped (backslash,
 * quote, newline); bytes that are not UTF-8 become U+FFFD.
 */

typedef struct {
    const char      *name;
    const uint8_t   *value;
    size_t           len;
} ws_stream_label_t;

/* "# HELP name help\n# TYPE name type\n" */
void ws_stream_prom_head(ws_stream_out_t *o, const char *name,
    const char *type, const char *help);

/* name{labels} value: integers exactly, doubles with %.17g (NaN, +Inf) */
void ws_stream_prom_uint(ws_stream_out_t *o, const char *name,
    const ws_stream_label_t *labels, size_t n, uint64_t v);
void ws_stream_prom_num(ws_stream_out_t *o, const char *name,
    const ws_stream_label_t *labels, size_t n, double v);

/*
 * name_bucket{labels,le="..."} cumulative counts in seconds with +Inf,
 * then name_sum (seconds) and name_count.
 */
void ws_stream_prom_hist(ws_stream_out_t *o, const char *name,
    const ws_stream_label_t *labels, size_t n, const ws_stream_hist_t *h,
    const uint32_t *bounds);


#endif /* _WS_STREAM_STATS_H_INCLUDED_ */
