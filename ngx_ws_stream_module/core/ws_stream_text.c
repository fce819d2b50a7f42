
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The text writers of the statistics (declared in ws_stream_stats.h):
 * output into a fixed buffer, JSON with commas by themselves, and the
 * Prometheus text format; everything user-controlled is escaped and bytes
 * that are not UTF-8 are replaced.
 */


#include <stdio.h>
#include <stdarg.h>
#include <inttypes.h>
#include <float.h>

#include "ws_stream_stats.h"


/* how ws_stream_out_text() escapes */
#define WS_STREAM_ESC_JSON      0
#define WS_STREAM_ESC_LABEL     1       /* Prometheus label value */
#define WS_STREAM_ESC_HELP      2       /* Prometheus HELP text */

/* the longest number written: DBL_MAX with %.*f and the most decimals */
#define WS_STREAM_NUM_LEN       400
#define WS_STREAM_NUM_DECIMALS  20

/* "18446744073709.551615": seconds from microseconds */
#define WS_STREAM_SECONDS_LEN   32


static void ws_stream_out_str(ws_stream_out_t *o, const char *s);
static void ws_stream_out_printf(ws_stream_out_t *o, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static void ws_stream_out_text(ws_stream_out_t *o, const uint8_t *s,
    size_t len, unsigned esc);
static const char *ws_stream_out_escape(uint8_t c, unsigned esc,
    char *hex);
static size_t ws_stream_utf8(const uint8_t *p, const uint8_t *last,
    unsigned *valid);
static void ws_stream_json_item(ws_stream_out_t *o, const char *key);
static void ws_stream_json_quoted(ws_stream_out_t *o, const uint8_t *s,
    size_t len);
static void ws_stream_prom_series(ws_stream_out_t *o, const char *name,
    const char *suffix, const ws_stream_label_t *labels, size_t n,
    const ws_stream_label_t *le);
static size_t ws_stream_prom_seconds(char *buf, uint64_t us);


/* output */

void
ws_stream_out_init(ws_stream_out_t *o, uint8_t *buf, size_t size)
{
    memset(o, 0, sizeof(ws_stream_out_t));

    o->start = buf;
    o->pos = buf;
    o->end = buf + size;
    o->first[0] = 1;
}


void
ws_stream_out_raw(ws_stream_out_t *o, const void *p, size_t len)
{
    /* once something is dropped, so is all that follows */

    if (o->overflow || len == 0) {
        return;
    }

    if (len > (size_t) (o->end - o->pos)) {
        o->overflow = 1;
        return;
    }

    memcpy(o->pos, p, len);
    o->pos += len;
}


static void
ws_stream_out_str(ws_stream_out_t *o, const char *s)
{
    ws_stream_out_raw(o, s, strlen(s));
}


static void
ws_stream_out_printf(ws_stream_out_t *o, const char *fmt, ...)
{
    int      n;
    char     buf[WS_STREAM_NUM_LEN];
    va_list  args;

    /* numbers only: they fit buf (the C locale of nginx: a '.') */

    va_start(args, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);

    if (n < 0 || (size_t) n >= sizeof(buf)) {
        o->overflow = 1;
        return;
    }

    ws_stream_out_raw(o, buf, n);
}


static void
ws_stream_out_text(ws_stream_out_t *o, const uint8_t *s, size_t len,
    unsigned esc)
{
    char            hex[8];
    size_t          n;
    unsigned        valid;
    const char     *e;
    const uint8_t  *p, *last, *run;

    /* runs of bytes that need no escaping go out at once */

    p = s;
    last = s + len;
    run = s;

    while (p < last) {
        n = ws_stream_utf8(p, last, &valid);

        if (!valid) {
            e = (esc == WS_STREAM_ESC_JSON) ? "\\ufffd" : "\xef\xbf\xbd";

        } else if (n == 1) {
            e = ws_stream_out_escape(*p, esc, hex);

        } else {
            e = NULL;
        }

        p += n;

        if (e) {
            ws_stream_out_raw(o, run, p - n - run);
            ws_stream_out_str(o, e);
            run = p;
        }
    }

    ws_stream_out_raw(o, run, p - run);
}


static const char *
ws_stream_out_escape(uint8_t c, unsigned esc, char *hex)
{
    /*
     * backslash and newline as \\ and \n, the quote as \" but in HELP
     * text, and in JSON the other control characters and DEL as \u00xx
     */

    switch (c) {

    case '\\':
        return "\\\\";

    case '\n':
        return "\\n";

    case '"':
        return (esc == WS_STREAM_ESC_HELP) ? NULL : "\\\"";
    }

    if (esc != WS_STREAM_ESC_JSON || (c >= 0x20 && c != 0x7f)) {
        return NULL;
    }

    snprintf(hex, 8, "\\u%04x", c);

    return hex;
}


static size_t
ws_stream_utf8(const uint8_t *p, const uint8_t *last, unsigned *valid)
{
    size_t   n, i;
    uint8_t  c, lo, hi;

    /*
     * The length of the sequence at p and whether it is well-formed UTF-8
     * (the Unicode standard's table 3-7: no overlong forms, surrogates or
     * code points above U+10FFFF).  An ill-formed one is its maximal
     * subpart, the lead byte and the continuation bytes that may follow
     * it, or one byte: each becomes one U+FFFD.
     */

    c = p[0];
    *valid = (c < 0x80);

    if (c < 0xc2 || c > 0xf4) {
        return 1;
    }

    n = (c < 0xe0) ? 2 : (c < 0xf0) ? 3 : 4;
    lo = (c == 0xe0) ? 0xa0 : (c == 0xf0) ? 0x90 : 0x80;
    hi = (c == 0xed) ? 0x9f : (c == 0xf4) ? 0x8f : 0xbf;

    for (i = 1; i < n; i++) {
        if (p + i == last || p[i] < lo || p[i] > hi) {
            return i;
        }

        lo = 0x80;
        hi = 0xbf;
    }

    *valid = 1;

    return n;
}


/* JSON */

static void
ws_stream_json_item(ws_stream_out_t *o, const char *key)
{
    /* a comma before all items but the first at this depth, "key": */

    if (o->depth < WS_STREAM_OUT_DEPTH) {

        if (!o->first[o->depth]) {
            ws_stream_out_raw(o, ",", 1);
        }

        o->first[o->depth] = 0;
    }

    if (key) {
        ws_stream_json_quoted(o, (const uint8_t *) key, strlen(key));
        ws_stream_out_raw(o, ":", 1);
    }
}


static void
ws_stream_json_quoted(ws_stream_out_t *o, const uint8_t *s, size_t len)
{
    ws_stream_out_raw(o, "\"", 1);
    ws_stream_out_text(o, s, len, WS_STREAM_ESC_JSON);
    ws_stream_out_raw(o, "\"", 1);
}


void
ws_stream_json_open(ws_stream_out_t *o, const char *key, int array)
{
    ws_stream_json_item(o, key);
    ws_stream_out_raw(o, array ? "[" : "{", 1);

    o->depth++;

    if (o->depth < WS_STREAM_OUT_DEPTH) {
        o->first[o->depth] = 1;

    } else {
        /* deeper than first[] can follow: a bug of the caller's */
        o->overflow = 1;
    }
}


void
ws_stream_json_close(ws_stream_out_t *o, int array)
{
    ws_stream_out_raw(o, array ? "]" : "}", 1);

    if (o->depth > 0) {
        o->depth--;
    }

    if (o->depth < WS_STREAM_OUT_DEPTH) {
        o->first[o->depth] = 0;
    }
}


void
ws_stream_json_str(ws_stream_out_t *o, const char *key, const uint8_t *s,
    size_t len)
{
    /* NULL, not a string: null */

    if (s == NULL) {
        ws_stream_json_null(o, key);
        return;
    }

    ws_stream_json_item(o, key);
    ws_stream_json_quoted(o, s, len);
}


void
ws_stream_json_cstr(ws_stream_out_t *o, const char *key, const char *s)
{
    ws_stream_json_str(o, key, (const uint8_t *) s, s ? strlen(s) : 0);
}


void
ws_stream_json_uint(ws_stream_out_t *o, const char *key, uint64_t v)
{
    ws_stream_json_item(o, key);
    ws_stream_out_printf(o, "%" PRIu64, v);
}


void
ws_stream_json_int(ws_stream_out_t *o, const char *key, int64_t v)
{
    ws_stream_json_item(o, key);
    ws_stream_out_printf(o, "%" PRId64, v);
}


void
ws_stream_json_num(ws_stream_out_t *o, const char *key, double v,
    unsigned decimals)
{
    ws_stream_json_item(o, key);

    if (v != v || v > DBL_MAX || v < -DBL_MAX) {
        ws_stream_out_str(o, "null");
        return;
    }

    if (decimals > WS_STREAM_NUM_DECIMALS) {
        decimals = WS_STREAM_NUM_DECIMALS;
    }

    ws_stream_out_printf(o, "%.*f", (int) decimals, v);
}


void
ws_stream_json_bool(ws_stream_out_t *o, const char *key, int v)
{
    ws_stream_json_item(o, key);
    ws_stream_out_str(o, v ? "true" : "false");
}


void
ws_stream_json_null(ws_stream_out_t *o, const char *key)
{
    ws_stream_json_item(o, key);
    ws_stream_out_str(o, "null");
}


/* Prometheus */

void
ws_stream_prom_head(ws_stream_out_t *o, const char *name, const char *type,
    const char *help)
{
    ws_stream_out_str(o, "# HELP ");
    ws_stream_out_str(o, name);
    ws_stream_out_raw(o, " ", 1);
    ws_stream_out_text(o, (const uint8_t *) help, strlen(help),
                       WS_STREAM_ESC_HELP);
    ws_stream_out_str(o, "\n# TYPE ");
    ws_stream_out_str(o, name);
    ws_stream_out_raw(o, " ", 1);
    ws_stream_out_str(o, type);
    ws_stream_out_raw(o, "\n", 1);
}


void
ws_stream_prom_uint(ws_stream_out_t *o, const char *name,
    const ws_stream_label_t *labels, size_t n, uint64_t v)
{
    ws_stream_prom_series(o, name, "", labels, n, NULL);
    ws_stream_out_printf(o, "%" PRIu64 "\n", v);
}


void
ws_stream_prom_num(ws_stream_out_t *o, const char *name,
    const ws_stream_label_t *labels, size_t n, double v)
{
    const char  *s;

    s = (v != v) ? "NaN\n" : (v > DBL_MAX) ? "+Inf\n"
        : (v < -DBL_MAX) ? "-Inf\n" : NULL;

    ws_stream_prom_series(o, name, "", labels, n, NULL);

    if (s) {
        ws_stream_out_str(o, s);

    } else {
        ws_stream_out_printf(o, "%.17g\n", v);
    }
}


void
ws_stream_prom_hist(ws_stream_out_t *o, const char *name,
    const ws_stream_label_t *labels, size_t n, const ws_stream_hist_t *h,
    const uint32_t *bounds)
{
    char               buf[WS_STREAM_SECONDS_LEN];
    size_t             i;
    uint64_t           total;
    ws_stream_label_t  le;

    /*
     * +Inf and _count are the sum of the buckets rather than h->count:
     * a histogram read while written still has +Inf = _count and no
     * bucket above them
     */

    le.name = "le";
    le.value = (const uint8_t *) buf;
    total = 0;

    for (i = 0; i < WS_STREAM_HIST_N; i++) {
        total += h->bucket[i];

        if (i < WS_STREAM_HIST_BOUNDS) {
            le.len = ws_stream_prom_seconds(buf, bounds[i]);

        } else {
            le.len = 4;
            memcpy(buf, "+Inf", 4);
        }

        ws_stream_prom_series(o, name, "_bucket", labels, n, &le);
        ws_stream_out_printf(o, "%" PRIu64 "\n", total);
    }

    ws_stream_prom_series(o, name, "_sum", labels, n, NULL);
    ws_stream_out_raw(o, buf, ws_stream_prom_seconds(buf, h->sum_us));
    ws_stream_out_raw(o, "\n", 1);

    ws_stream_prom_series(o, name, "_count", labels, n, NULL);
    ws_stream_out_printf(o, "%" PRIu64 "\n", total);
}


static void
ws_stream_prom_series(ws_stream_out_t *o, const char *name,
    const char *suffix, const ws_stream_label_t *labels, size_t n,
    const ws_stream_label_t *le)
{
    size_t                    i;
    const ws_stream_label_t  *l;

    /* name{labels,le} and the space before the value */

    ws_stream_out_str(o, name);
    ws_stream_out_str(o, suffix);

    if (n == 0 && le == NULL) {
        ws_stream_out_raw(o, " ", 1);
        return;
    }

    ws_stream_out_raw(o, "{", 1);

    for (i = 0; i < n + (le != NULL); i++) {
        l = (i < n) ? &labels[i] : le;

        if (i) {
            ws_stream_out_raw(o, ",", 1);
        }

        ws_stream_out_str(o, l->name);
        ws_stream_out_raw(o, "=\"", 2);
        ws_stream_out_text(o, l->value, l->len, WS_STREAM_ESC_LABEL);
        ws_stream_out_raw(o, "\"", 1);
    }

    ws_stream_out_raw(o, "} ", 2);
}


static size_t
ws_stream_prom_seconds(char *buf, uint64_t us)
{
    int  n;

    /* microseconds as exact decimal seconds, no trailing zeros */

    n = snprintf(buf, WS_STREAM_SECONDS_LEN, "%" PRIu64, us / 1000000);

    if (us % 1000000) {
        n += snprintf(buf + n, WS_STREAM_SECONDS_LEN - n, ".%06" PRIu64,
                      us % 1000000);

        while (buf[n - 1] == '0') {
            n--;
        }
    }

    return n;
}
