
/*
 * Copyright (C) ngx_ws_stream authors
 */


#include <stdlib.h>
#include <float.h>

#include "ws_stream_json.h"


#define WS_STREAM_JSON_STRING   1
#define WS_STREAM_JSON_NUMBER   2
#define WS_STREAM_JSON_TRUE     3
#define WS_STREAM_JSON_FALSE    4
#define WS_STREAM_JSON_NULL     5

/* more fields than this in one message are refused */
#define WS_STREAM_JSON_KEYS     64

/* the longest number converted */
#define WS_STREAM_JSON_NUM_LEN  128

#define WS_STREAM_JSON_MAX_ID   9007199254740992.0      /* 2^53 */
#define WS_STREAM_JSON_MAX_NUM  1e12
#define WS_STREAM_JSON_MAX_RATE 16


typedef struct {
    const uint8_t   *start;         /* string: between the quotes */
    const uint8_t   *end;
    unsigned         type;          /* WS_STREAM_JSON_* */
} ws_stream_json_value_t;


/* the fields the parser knows, in the order of ws_stream_json_fields */

#define WS_STREAM_F_TYPE        0
#define WS_STREAM_F_ID          1
#define WS_STREAM_F_T           2
#define WS_STREAM_F_STATE       3
#define WS_STREAM_F_NUM         4       /* the report's numbers from here */
#define WS_STREAM_NUMS          13
#define WS_STREAM_F_INDEX       17      /* rendition */
#define WS_STREAM_F_SYNC        18      /* report, signed */
#define WS_STREAM_F_STREAM      19      /* switch */
#define WS_STREAM_F_N           20


static const char  *ws_stream_json_fields[WS_STREAM_F_N] = {
    "type", "id", "t", "state",
    "latency", "buffer", "bitrate", "dropped", "decoded", "stalls",
    "stall_ms", "startup_ms", "rate", "throughput", "target", "jitter",
    "clock_err", "index", "sync", "stream"
};


/* where each number of a report goes, and its largest value */

typedef struct {
    size_t           offset;
    double           max;
} ws_stream_json_num_t;


static const ws_stream_json_num_t  ws_stream_json_nums[WS_STREAM_NUMS] = {
    { offsetof(ws_stream_client_msg_t, latency), WS_STREAM_JSON_MAX_NUM },
    { offsetof(ws_stream_client_msg_t, buffer), WS_STREAM_JSON_MAX_NUM },
    { offsetof(ws_stream_client_msg_t, bitrate), WS_STREAM_JSON_MAX_NUM },
    { offsetof(ws_stream_client_msg_t, dropped), WS_STREAM_JSON_MAX_NUM },
    { offsetof(ws_stream_client_msg_t, decoded), WS_STREAM_JSON_MAX_NUM },
    { offsetof(ws_stream_client_msg_t, stalls), WS_STREAM_JSON_MAX_NUM },
    { offsetof(ws_stream_client_msg_t, stall_ms), WS_STREAM_JSON_MAX_NUM },
    { offsetof(ws_stream_client_msg_t, startup_ms), WS_STREAM_JSON_MAX_NUM },
    { offsetof(ws_stream_client_msg_t, rate), WS_STREAM_JSON_MAX_RATE },
    { offsetof(ws_stream_client_msg_t, throughput), WS_STREAM_JSON_MAX_NUM },
    { offsetof(ws_stream_client_msg_t, target), WS_STREAM_JSON_MAX_NUM },
    { offsetof(ws_stream_client_msg_t, jitter), WS_STREAM_JSON_MAX_NUM },
    { offsetof(ws_stream_client_msg_t, clock_err), WS_STREAM_JSON_MAX_NUM }
};


#define ws_stream_json_num_field(m, i)                                       \
    ((double *) ((uint8_t *) (m) + ws_stream_json_nums[i].offset))


static const uint8_t *ws_stream_json_ws(const uint8_t *p,
    const uint8_t *last);
static const uint8_t *ws_stream_json_value(const uint8_t *p,
    const uint8_t *last, ws_stream_json_value_t *v, const char **error);
static const uint8_t *ws_stream_json_string(const uint8_t *p,
    const uint8_t *last, ws_stream_json_value_t *v, const char **error);
static const uint8_t *ws_stream_json_number(const uint8_t *p,
    const uint8_t *last);
static int ws_stream_json_hex4(const uint8_t *p, const uint8_t *last,
    uint32_t *cp);
static size_t ws_stream_json_utf8(const uint8_t *p, const uint8_t *last,
    uint32_t *cp);
static uint32_t ws_stream_json_next(const uint8_t **pp,
    const uint8_t *end);
static int ws_stream_json_equal(ws_stream_json_value_t *a,
    ws_stream_json_value_t *b);
static int ws_stream_json_is(ws_stream_json_value_t *v,
    const char *s);
static int ws_stream_json_double(ws_stream_json_value_t *v,
    double *d);
static int ws_stream_json_ping(ws_stream_json_value_t *vals,
    unsigned present, ws_stream_client_msg_t *m);
static int ws_stream_json_report(ws_stream_json_value_t *vals,
    unsigned present, ws_stream_client_msg_t *m);
static int ws_stream_json_rendition(ws_stream_json_value_t *vals,
    unsigned present, ws_stream_client_msg_t *m);
static int ws_stream_json_switch(ws_stream_json_value_t *vals,
    unsigned present, ws_stream_client_msg_t *m);
static int ws_stream_json_error(ws_stream_client_msg_t *m,
    const char *error);


int
ws_stream_json_parse(const uint8_t *p, size_t len,
    ws_stream_client_msg_t *m)
{
    size_t                       nkeys, i;
    unsigned                     present;
    const char                  *error;
    const uint8_t               *last;
    ws_stream_json_value_t   keys[WS_STREAM_JSON_KEYS], value,
                                 vals[WS_STREAM_F_N];

    memset(m, 0, sizeof(ws_stream_client_msg_t));

    for (i = 0; i < WS_STREAM_NUMS; i++) {
        *ws_stream_json_num_field(m, i) = -1;
    }

    last = p + len;
    nkeys = 0;
    present = 0;
    error = NULL;

    p = ws_stream_json_ws(p, last);

    if (p == last || *p != '{') {
        return ws_stream_json_error(m, "not a JSON object");
    }

    p = ws_stream_json_ws(p + 1, last);

    if (p < last && *p == '}') {
        p++;
        goto done;
    }

    for ( ;; ) {

        /* "key" */

        if (p == last || *p != '"') {
            return ws_stream_json_error(m, "field name expected");
        }

        if (nkeys == WS_STREAM_JSON_KEYS) {
            return ws_stream_json_error(m, "too many fields");
        }

        p = ws_stream_json_string(p, last, &keys[nkeys], &error);

        if (p == NULL) {
            return ws_stream_json_error(m, error);
        }

        for (i = 0; i < nkeys; i++) {
            if (ws_stream_json_equal(&keys[i], &keys[nkeys])) {
                return ws_stream_json_error(m, "duplicate field");
            }
        }

        nkeys++;

        /* : value */

        p = ws_stream_json_ws(p, last);

        if (p == last || *p != ':') {
            return ws_stream_json_error(m, "colon expected");
        }

        p = ws_stream_json_ws(p + 1, last);

        p = ws_stream_json_value(p, last, &value, &error);

        if (p == NULL) {
            return ws_stream_json_error(m, error);
        }

        for (i = 0; i < WS_STREAM_F_N; i++) {
            if (ws_stream_json_is(&keys[nkeys - 1],
                                      ws_stream_json_fields[i]))
            {
                vals[i] = value;
                present |= 1 << i;
                break;
            }
        }

        /* , or } */

        p = ws_stream_json_ws(p, last);

        if (p == last) {
            return ws_stream_json_error(m, "unterminated object");
        }

        if (*p == '}') {
            p++;
            break;
        }

        if (*p != ',') {
            return ws_stream_json_error(m, "comma expected");
        }

        p = ws_stream_json_ws(p + 1, last);
    }

done:

    if (ws_stream_json_ws(p, last) != last) {
        return ws_stream_json_error(m, "trailing bytes");
    }

    if (!(present & (1 << WS_STREAM_F_TYPE))) {
        return ws_stream_json_error(m, "no type");
    }

    value = vals[WS_STREAM_F_TYPE];

    if (value.type != WS_STREAM_JSON_STRING) {
        return ws_stream_json_error(m, "type is not a string");
    }

    if (ws_stream_json_is(&value, "ping")) {
        m->type = WS_STREAM_MSG_PING;
        return ws_stream_json_ping(vals, present, m);
    }

    if (ws_stream_json_is(&value, "report")) {
        m->type = WS_STREAM_MSG_REPORT;
        return ws_stream_json_report(vals, present, m);
    }

    if (ws_stream_json_is(&value, "rendition")) {
        m->type = WS_STREAM_MSG_RENDITION;
        return ws_stream_json_rendition(vals, present, m);
    }

    if (ws_stream_json_is(&value, "switch")) {
        m->type = WS_STREAM_MSG_SWITCH;
        return ws_stream_json_switch(vals, present, m);
    }

    return ws_stream_json_error(m, "unknown type");
}


static int
ws_stream_json_rendition(ws_stream_json_value_t *vals, unsigned present,
    ws_stream_client_msg_t *m)
{
    double  d;

    if (!(present & (1 << WS_STREAM_F_INDEX))
        || ws_stream_json_double(&vals[WS_STREAM_F_INDEX], &d)
           != WS_STREAM_OK
        || d < -1 || d >= WS_STREAM_MSG_RENDITIONS
        || d != (double) (int) d)
    {
        return ws_stream_json_error(m, "invalid rendition index");
    }

    m->index = (int) d;

    return WS_STREAM_OK;
}


/*
 * A switch: "stream" is a string of 1 .. WS_STREAM_STREAM_LEN - 1 bytes
 * of UTF-8 once decoded, without control characters; whether it names
 * an application and a stream is the server's to say.
 */

static int
ws_stream_json_switch(ws_stream_json_value_t *vals, unsigned present,
    ws_stream_client_msg_t *m)
{
    size_t                   n;
    uint32_t                 c;
    const uint8_t           *s;
    ws_stream_json_value_t  *v;

    v = &vals[WS_STREAM_F_STREAM];

    if (!(present & (1 << WS_STREAM_F_STREAM))
        || v->type != WS_STREAM_JSON_STRING
        || v->start == v->end)
    {
        return ws_stream_json_error(m, "switch without a stream");
    }

    s = v->start;
    n = 0;

    while (s < v->end) {
        c = ws_stream_json_next(&s, v->end);

        if (c < 0x20 || c == 0x7f) {
            return ws_stream_json_error(m, "invalid switch stream");
        }

        if (n + 4 >= WS_STREAM_STREAM_LEN) {
            return ws_stream_json_error(m, "switch stream too long");
        }

        /* back to UTF-8: the string was valid, so c is a scalar value */

        if (c < 0x80) {
            m->stream[n++] = (char) c;

        } else if (c < 0x800) {
            m->stream[n++] = (char) (0xc0 | (c >> 6));
            m->stream[n++] = (char) (0x80 | (c & 0x3f));

        } else if (c < 0x10000) {
            m->stream[n++] = (char) (0xe0 | (c >> 12));
            m->stream[n++] = (char) (0x80 | ((c >> 6) & 0x3f));
            m->stream[n++] = (char) (0x80 | (c & 0x3f));

        } else {
            m->stream[n++] = (char) (0xf0 | (c >> 18));
            m->stream[n++] = (char) (0x80 | ((c >> 12) & 0x3f));
            m->stream[n++] = (char) (0x80 | ((c >> 6) & 0x3f));
            m->stream[n++] = (char) (0x80 | (c & 0x3f));
        }
    }

    m->stream[n] = '\0';
    m->stream_len = n;

    return WS_STREAM_OK;
}


static int
ws_stream_json_ping(ws_stream_json_value_t *vals, unsigned present,
    ws_stream_client_msg_t *m)
{
    double  id, t;

    if (!(present & (1 << WS_STREAM_F_ID))
        || !(present & (1 << WS_STREAM_F_T)))
    {
        return ws_stream_json_error(m, "ping without id or t");
    }

    if (ws_stream_json_double(&vals[WS_STREAM_F_ID], &id)
        != WS_STREAM_OK
        || id < 0 || id > WS_STREAM_JSON_MAX_ID
        || id != (double) (uint64_t) id)
    {
        return ws_stream_json_error(m, "invalid ping id");
    }

    if (ws_stream_json_double(&vals[WS_STREAM_F_T], &t)
        != WS_STREAM_OK)
    {
        return ws_stream_json_error(m, "invalid ping t");
    }

    m->id = (double) (uint64_t) id;
    m->t = t;

    return WS_STREAM_OK;
}


static int
ws_stream_json_report(ws_stream_json_value_t *vals, unsigned present,
    ws_stream_client_msg_t *m)
{
    size_t                       n;
    double                       d;
    uint32_t                     c;
    unsigned                     i;
    const uint8_t               *s;
    ws_stream_json_value_t  *v;

    for (i = 0; i < WS_STREAM_NUMS; i++) {

        if (!(present & (1 << (WS_STREAM_F_NUM + i)))) {
            continue;
        }

        if (ws_stream_json_double(&vals[WS_STREAM_F_NUM + i], &d)
            != WS_STREAM_OK
            || d < 0 || d > ws_stream_json_nums[i].max)
        {
            return ws_stream_json_error(m, "invalid report number");
        }

        *ws_stream_json_num_field(m, i) = d + 0.0;
    }

    if (present & (1 << WS_STREAM_F_SYNC)) {
        if (ws_stream_json_double(&vals[WS_STREAM_F_SYNC], &d)
            != WS_STREAM_OK
            || d < -WS_STREAM_SYNC_MAX || d > WS_STREAM_SYNC_MAX)
        {
            return ws_stream_json_error(m, "invalid report number");
        }

        m->sync = d + 0.0;
        m->has_sync = 1;
    }

    if (!(present & (1 << WS_STREAM_F_STATE))) {
        return WS_STREAM_OK;
    }

    v = &vals[WS_STREAM_F_STATE];

    if (v->type != WS_STREAM_JSON_STRING) {
        return ws_stream_json_error(m, "invalid report state");
    }

    s = v->start;
    n = 0;

    while (s < v->end) {
        c = ws_stream_json_next(&s, v->end);

        if (n == WS_STREAM_STATE_LEN - 1
            || !((c >= 'a' && c <= 'z') || c == '_'))
        {
            m->state[0] = '\0';
            return ws_stream_json_error(m, "invalid report state");
        }

        m->state[n++] = (char) c;
    }

    if (n == 0) {
        return ws_stream_json_error(m, "invalid report state");
    }

    m->state[n] = '\0';

    return WS_STREAM_OK;
}


static const uint8_t *
ws_stream_json_ws(const uint8_t *p, const uint8_t *last)
{
    while (p < last
           && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    {
        p++;
    }

    return p;
}


static const uint8_t *
ws_stream_json_value(const uint8_t *p, const uint8_t *last,
    ws_stream_json_value_t *v, const char **error)
{
    size_t  n;

    if (p == last) {
        *error = "value expected";
        return NULL;
    }

    v->start = p;

    switch (*p) {

    case '"':
        return ws_stream_json_string(p, last, v, error);

    case '{':
    case '[':
        *error = "nested value";
        return NULL;

    case 't':
        v->type = WS_STREAM_JSON_TRUE;
        n = 4;
        break;

    case 'f':
        v->type = WS_STREAM_JSON_FALSE;
        n = 5;
        break;

    case 'n':
        v->type = WS_STREAM_JSON_NULL;
        n = 4;
        break;

    default:
        v->type = WS_STREAM_JSON_NUMBER;
        v->end = ws_stream_json_number(p, last);

        if (v->end == NULL) {
            *error = "invalid value";
        }

        return v->end;
    }

    if ((size_t) (last - p) < n
        || memcmp(p, (v->type == WS_STREAM_JSON_TRUE) ? "true"
                     : (v->type == WS_STREAM_JSON_FALSE) ? "false"
                     : "null", n) != 0)
    {
        *error = "invalid value";
        return NULL;
    }

    v->end = p + n;

    return v->end;
}


static const uint8_t *
ws_stream_json_number(const uint8_t *p, const uint8_t *last)
{
    /* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */

    if (p < last && *p == '-') {
        p++;
    }

    if (p == last) {
        return NULL;
    }

    if (*p == '0') {
        p++;

    } else if (*p >= '1' && *p <= '9') {
        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }

    } else {
        return NULL;
    }

    if (p < last && *p == '.') {
        p++;

        if (p == last || *p < '0' || *p > '9') {
            return NULL;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < last && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < last && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == last || *p < '0' || *p > '9') {
            return NULL;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    return p;
}


static const uint8_t *
ws_stream_json_string(const uint8_t *p, const uint8_t *last,
    ws_stream_json_value_t *v, const char **error)
{
    size_t    n;
    uint32_t  cp, lo;

    /* validates a string: p is at the opening quote */

    v->type = WS_STREAM_JSON_STRING;
    v->start = ++p;

    for ( ;; ) {

        if (p == last) {
            *error = "unterminated string";
            return NULL;
        }

        if (*p == '"') {
            v->end = p;
            return p + 1;
        }

        if (*p < 0x20) {
            *error = "control character in string";
            return NULL;
        }

        if (*p >= 0x80) {
            n = ws_stream_json_utf8(p, last, &cp);

            if (n == 0) {
                *error = "string is not UTF-8";
                return NULL;
            }

            p += n;
            continue;
        }

        if (*p != '\\') {
            p++;
            continue;
        }

        if (last - p < 2) {
            *error = "unterminated string";
            return NULL;
        }

        switch (p[1]) {

        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            p += 2;
            continue;

        case 'u':
            break;

        default:
            *error = "invalid string escape";
            return NULL;
        }

        if (ws_stream_json_hex4(p + 2, last, &cp) != WS_STREAM_OK) {
            *error = "invalid string escape";
            return NULL;
        }

        p += 6;

        if (cp >= 0xdc00 && cp <= 0xdfff) {
            *error = "lone surrogate in string";
            return NULL;
        }

        if (cp < 0xd800 || cp > 0xdbff) {
            continue;
        }

        /* a high surrogate: a low one must follow */

        if (last - p < 6 || p[0] != '\\' || p[1] != 'u'
            || ws_stream_json_hex4(p + 2, last, &lo) != WS_STREAM_OK
            || lo < 0xdc00 || lo > 0xdfff)
        {
            *error = "lone surrogate in string";
            return NULL;
        }

        p += 6;
    }
}


static int
ws_stream_json_hex4(const uint8_t *p, const uint8_t *last, uint32_t *cp)
{
    size_t    i;
    uint32_t  c, v;

    if (last - p < 4) {
        return WS_STREAM_ERROR;
    }

    v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            c = (c | 0x20) - 'a' + 10;

        } else {
            return WS_STREAM_ERROR;
        }

        v = (v << 4) | c;
    }

    *cp = v;

    return WS_STREAM_OK;
}


static size_t
ws_stream_json_utf8(const uint8_t *p, const uint8_t *last, uint32_t *cp)
{
    size_t    n, i;
    uint32_t  c, min;

    /* one UTF-8 sequence: its length, 0 if invalid */

    c = p[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        c &= 0x1f;
        min = 0x80;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        c &= 0x0f;
        min = 0x800;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if ((size_t) (last - p) < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    *cp = c;

    return n;
}


static uint32_t
ws_stream_json_next(const uint8_t **pp, const uint8_t *end)
{
    size_t          n;
    uint32_t        cp, lo;
    const uint8_t  *p;

    /* the next code point of a string already validated */

    p = *pp;

    if (*p != '\\') {
        n = ws_stream_json_utf8(p, end, &cp);
        *pp = p + (n ? n : 1);
        return n ? cp : 0xfffd;
    }

    *pp = p + 2;

    switch (p[1]) {
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'u':
        break;
    default:
        return p[1];
    }

    if (ws_stream_json_hex4(p + 2, end, &cp) != WS_STREAM_OK) {
        return 0xfffd;
    }

    *pp = p + 6;

    if (cp >= 0xd800 && cp <= 0xdbff) {

        if (end - p < 12
            || ws_stream_json_hex4(p + 8, end, &lo) != WS_STREAM_OK)
        {
            return 0xfffd;
        }

        *pp = p + 12;

        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }

    return cp;
}


static int
ws_stream_json_equal(ws_stream_json_value_t *a,
    ws_stream_json_value_t *b)
{
    const uint8_t  *p, *q;

    p = a->start;
    q = b->start;

    while (p < a->end && q < b->end) {
        if (ws_stream_json_next(&p, a->end)
            != ws_stream_json_next(&q, b->end))
        {
            return 0;
        }
    }

    return p == a->end && q == b->end;
}


static int
ws_stream_json_is(ws_stream_json_value_t *v, const char *s)
{
    const uint8_t  *p;

    p = v->start;

    while (p < v->end && *s) {
        if (ws_stream_json_next(&p, v->end) != (uint8_t) *s++) {
            return 0;
        }
    }

    return p == v->end && *s == '\0';
}


static int
ws_stream_json_double(ws_stream_json_value_t *v, double *d)
{
    char    buf[WS_STREAM_JSON_NUM_LEN], *end;
    size_t  n;

    if (v->type != WS_STREAM_JSON_NUMBER) {
        return WS_STREAM_ERROR;
    }

    n = v->end - v->start;

    if (n >= WS_STREAM_JSON_NUM_LEN) {
        return WS_STREAM_ERROR;
    }

    memcpy(buf, v->start, n);
    buf[n] = '\0';

    *d = strtod(buf, &end);

    if (end != buf + n || *d != *d || *d > DBL_MAX || *d < -DBL_MAX) {
        return WS_STREAM_ERROR;
    }

    return WS_STREAM_OK;
}


static int
ws_stream_json_error(ws_stream_client_msg_t *m, const char *error)
{
    m->error = error;

    return WS_STREAM_ERROR;
}
