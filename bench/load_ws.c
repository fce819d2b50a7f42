/*
 * ws-stream-load: the WebSocket viewer (RFC 6455 client side).
 *
 * --mode ws:  ngx_ws_stream protocol v1 (docs/protocol.md): subprotocol
 *             wsstream.1, binary media messages with a 14-byte header, JSON
 *             text notices (hello, offline, online, skipped, pong).
 * --mode flv: FLV over WebSocket as node-media-server serves it: the binary
 *             messages carry an FLV byte stream ('FLV' header, then tags),
 *             split arbitrarily; parsed as a stream.
 *
 * Only the first LOAD_HEAD bytes of each message (ws) or tag body (flv) are
 * kept; the rest is counted and dropped.  Server pings are answered with
 * masked pongs.  With --report-interval (ws) every viewer sends a `report`
 * text message as often, as the player does once a second.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ws_stream_core.h"    /* protocol v1 media header */
#include "load.h"

#define WS_GUID  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define HS_ACCEPT_LEN  28          /* base64 of a SHA-1 digest */
#define HS_OFF         32          /* response starts here in c->hs */

enum { FLV_SIG = 0, FLV_SKIP, FLV_TAGHDR, FLV_BODY };

static __thread uint64_t  rng_state;


/* ---- SHA-1 (FIPS 180-4), only for the accept key ---- */

typedef struct {
    uint32_t  h[5];
    uint64_t  len;
    uint8_t   buf[64];
    size_t    used;
} sha1_t;


static uint32_t
rol32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}


static void
sha1_block(sha1_t *s, const uint8_t *p)
{
    uint32_t  w[80], a, b, c, d, e, f, k, tmp;
    unsigned  i;

    for (i = 0; i < 16; i++) {
        w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16
               | (uint32_t) p[4 * i + 2] << 8 | p[4 * i + 3];
    }
    for (i = 16; i < 80; i++) {
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    }
    a = s->h[0];
    b = s->h[1];
    c = s->h[2];
    d = s->h[3];
    e = s->h[4];
    for (i = 0; i < 80; i++) {
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdc;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6;
        }
        tmp = rol32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol32(b, 30);
        b = a;
        a = tmp;
    }
    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
}


static void
sha1_init(sha1_t *s)
{
    s->h[0] = 0x67452301;
    s->h[1] = 0xefcdab89;
    s->h[2] = 0x98badcfe;
    s->h[3] = 0x10325476;
    s->h[4] = 0xc3d2e1f0;
    s->len = 0;
    s->used = 0;
}


static void
sha1_update(sha1_t *s, const uint8_t *p, size_t n)
{
    size_t  take;

    s->len += n;
    while (n > 0) {
        take = 64 - s->used;
        if (take > n) {
            take = n;
        }
        memcpy(s->buf + s->used, p, take);
        s->used += take;
        p += take;
        n -= take;
        if (s->used == 64) {
            sha1_block(s, s->buf);
            s->used = 0;
        }
    }
}


static void
sha1_final(sha1_t *s, uint8_t out[20])
{
    uint64_t  bits = s->len * 8;
    uint8_t   pad = 0x80, zero = 0, lenb[8];
    unsigned  i;

    sha1_update(s, &pad, 1);
    while (s->used != 56) {
        sha1_update(s, &zero, 1);
    }
    for (i = 0; i < 8; i++) {
        lenb[i] = (uint8_t) (bits >> (56 - 8 * i));
    }
    sha1_update(s, lenb, 8);
    for (i = 0; i < 20; i++) {
        out[i] = (uint8_t) (s->h[i / 4] >> (24 - 8 * (i % 4)));
    }
}


static size_t
base64(char *out, const uint8_t *p, size_t n)
{
    static const char  tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t             i, o = 0;
    uint32_t           v;

    for (i = 0; i + 2 < n; i += 3) {
        v = (uint32_t) p[i] << 16 | (uint32_t) p[i + 1] << 8 | p[i + 2];
        out[o++] = tab[v >> 18];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (n - i == 1) {
        v = (uint32_t) p[i] << 16;
        out[o++] = tab[v >> 18];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        v = (uint32_t) p[i] << 16 | (uint32_t) p[i + 1] << 8;
        out[o++] = tab[v >> 18];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}


static uint64_t
rng(void)
{
    uint64_t  x;

    if (rng_state == 0) {
        rng_state = load_real_us() ^ ((uint64_t) (uintptr_t) &rng_state
                                      << 16) ^ 0x9e3779b97f4a7c15ULL;
    }
    x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}


/* ---- output ---- */

static size_t
out_cap(void)
{
    return LOAD_OUT + strlen(load_target.path) + strlen(load_target.host)
           + (load_target.user_agent ? strlen(load_target.user_agent) : 0);
}


int
load_ws_write(load_thread_t *t, load_conn_t *c)
{
    ssize_t  n;

    while (c->out_len > 0) {
        n = load_write(t, c, c->out, c->out_len);
        if (n <= 0) {
            if (n < 0) {
                return -1;
            }
            break;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t) n);
        c->out_len = (uint16_t) (c->out_len - (size_t) n);
    }
    return load_arm(t, c, c->out_len > 0);
}


int
load_ws_start(load_thread_t *t, load_conn_t *c)
{
    uint8_t   key[16], digest[20];
    char      key64[32];
    sha1_t    sha;
    uint64_t  r;
    size_t    cap;
    int       n;

    cap = out_cap();
    c->out = malloc(cap);
    c->hs = malloc(LOAD_HS_MAX);
    if (c->out == NULL || c->hs == NULL) {
        load_fail(t, c, LOAD_ERR_CONNECT, "out of memory");
        return -1;
    }
    r = rng();
    memcpy(key, &r, 8);
    r = rng();
    memcpy(key + 8, &r, 8);
    base64(key64, key, 16);

    sha1_init(&sha);
    sha1_update(&sha, (const uint8_t *) key64, strlen(key64));
    sha1_update(&sha, (const uint8_t *) WS_GUID, strlen(WS_GUID));
    sha1_final(&sha, digest);
    base64(c->hs, digest, 20);          /* expected accept, NUL-ended */
    c->hs_len = 0;

    n = snprintf((char *) c->out, cap,
                 "GET %s HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 "%s%s%s%s"
                 "\r\n",
                 load_target.path, load_target.host, key64,
                 load_target.mode == LOAD_MODE_WS
                 ? "Sec-WebSocket-Protocol: wsstream.1\r\n" : "",
                 load_target.user_agent ? "User-Agent: " : "",
                 load_target.user_agent ? load_target.user_agent : "",
                 load_target.user_agent ? "\r\n" : "");
    if (n < 0 || (size_t) n >= cap) {
        load_fail(t, c, LOAD_ERR_CONNECT, "request too long");
        return -1;
    }
    c->out_len = (uint16_t) n;
    c->want_out = 1;                    /* registered with EPOLLOUT */
    return load_ws_write(t, c);
}


void
load_ws_free(load_conn_t *c)
{
    free(c->out);
    c->out = NULL;
    free(c->hs);
    c->hs = NULL;
}


/* a masked frame into c's output; -1 if there is no room for it */
static int
queue_frame(load_thread_t *t, load_conn_t *c, unsigned opcode,
    const uint8_t *payload, size_t len)
{
    uint8_t  *o;
    uint32_t  m;
    size_t    i, hlen;

    hlen = len < 126 ? 6 : 8;
    if (len > 0xffff || out_cap() - c->out_len < hlen + len) {
        return -1;
    }
    o = c->out + c->out_len;
    o[0] = (uint8_t) (0x80 | opcode);   /* FIN */
    if (len < 126) {
        o[1] = (uint8_t) (0x80 | len);
    } else {
        o[1] = 0x80 | 126;
        o[2] = (uint8_t) (len >> 8);
        o[3] = (uint8_t) len;
    }
    m = (uint32_t) rng();
    memcpy(o + hlen - 4, &m, 4);
    for (i = 0; i < len; i++) {
        o[hlen + i] = payload[i] ^ o[hlen - 4 + (i & 3)];
    }
    c->out_len = (uint16_t) (c->out_len + hlen + len);
    (void) load_ws_write(t, c);
    return 0;
}


static void
queue_pong(load_thread_t *t, load_conn_t *c)
{
    if (queue_frame(t, c, 0xa, c->ctrl, c->ctrl_len) != 0) {
        t->st.pongs_dropped++;
    }
}


/*
 * A `report` as the player sends it (docs/protocol.md), every field
 * present: latency is this viewer's ingest delay of its newest message
 * plus the 150 ms a player buffers, decoded the video frames it received
 * in the window, startup_ms its time to the first keyframe, the rest the
 * plausible constants of a player playing at the live edge.
 */
void
load_ws_tick(load_thread_t *t, load_conn_t *c, uint64_t now_mono)
{
    char  buf[256];
    int   n;

    if (load_target.mode != LOAD_MODE_WS || load_target.report_us == 0
        || now_mono < c->report_due_us)
    {
        return;
    }
    c->report_due_us += load_target.report_us;
    if (c->report_due_us <= now_mono) {         /* a late tick: no burst */
        c->report_due_us = now_mono + load_target.report_us;
    }

    n = snprintf(buf, sizeof(buf),
                 "{\"type\":\"report\",\"latency\":%.1f,\"buffer\":150,"
                 "\"bitrate\":2150000,\"throughput\":2160000,"
                 "\"dropped\":0,\"decoded\":%llu,\"stalls\":0,"
                 "\"stall_ms\":0,\"startup_ms\":%.1f,\"rate\":1,"
                 "\"state\":\"playing\"}",
                 (double) c->delay_ms + 150.0,
                 (unsigned long long) c->vframes,
                 c->first_key_us >= 0 ? (double) c->first_key_us / 1000
                                      : 0.0);
    if (n < 0 || (size_t) n >= sizeof(buf)
        || queue_frame(t, c, 0x1, (const uint8_t *) buf, (size_t) n) != 0)
    {
        t->st.reports_dropped++;
        return;
    }
    if (t->measuring) {
        t->st.reports++;
    }
}


/* ---- handshake ---- */

/* value of header `name` in the response header block, or NULL */
static const char *
hs_header(char *hdr, const char *name, size_t *len)
{
    char    *line, *next, *colon, *v, *end;
    size_t   nlen = strlen(name);

    line = strstr(hdr, "\r\n");
    while (line != NULL) {
        line += 2;
        next = strstr(line, "\r\n");
        if (next == NULL || next == line) {
            return NULL;
        }
        colon = memchr(line, ':', (size_t) (next - line));
        if (colon != NULL && (size_t) (colon - line) == nlen
            && strncasecmp(line, name, nlen) == 0)
        {
            v = colon + 1;
            while (v < next && (*v == ' ' || *v == '\t')) {
                v++;
            }
            end = next;
            while (end > v && (end[-1] == ' ' || end[-1] == '\t')) {
                end--;
            }
            *len = (size_t) (end - v);
            return v;
        }
        line = next;
    }
    return NULL;
}


static int frames_feed(load_thread_t *t, load_conn_t *c, const uint8_t *p,
    size_t n);


static int
handshake_feed(load_thread_t *t, load_conn_t *c, const uint8_t *p, size_t n)
{
    char        *resp, *end, *eol;
    const char  *v;
    size_t       room, take, hlen, vlen;

    resp = c->hs + HS_OFF;
    room = LOAD_HS_MAX - HS_OFF - 1 - c->hs_len;
    take = n < room ? n : room;
    memcpy(resp + c->hs_len, p, take);
    c->hs_len = (uint16_t) (c->hs_len + take);
    resp[c->hs_len] = '\0';

    end = strstr(resp, "\r\n\r\n");
    if (end == NULL) {
        if (c->hs_len >= LOAD_HS_MAX - HS_OFF - 1) {
            load_fail(t, c, LOAD_ERR_HANDSHAKE, "response header too long");
            return -1;
        }
        return 0;
    }
    hlen = (size_t) (end - resp) + 4;
    end[2] = '\0';                      /* keep the last header's CRLF */

    eol = strstr(resp, "\r\n");
    if (strncmp(resp, "HTTP/1.1 101", 12) != 0) {
        load_fail(t, c, LOAD_ERR_HANDSHAKE, "upgrade refused: %.*s",
                  (int) (eol != NULL && eol - resp < 100 ? eol - resp : 100),
                  resp);
        return -1;
    }
    v = hs_header(resp, "Sec-WebSocket-Accept", &vlen);
    if (v == NULL || vlen != HS_ACCEPT_LEN
        || memcmp(v, c->hs, HS_ACCEPT_LEN) != 0)
    {
        load_fail(t, c, LOAD_ERR_HANDSHAKE, "bad Sec-WebSocket-Accept");
        return -1;
    }
    v = hs_header(resp, "Sec-WebSocket-Protocol", &vlen);
    if (load_target.mode == LOAD_MODE_WS) {
        if (v == NULL || vlen != 10 || memcmp(v, "wsstream.1", 10) != 0) {
            load_fail(t, c, LOAD_ERR_HANDSHAKE,
                      "subprotocol wsstream.1 not selected");
            return -1;
        }
    } else if (v != NULL) {
        load_fail(t, c, LOAD_ERR_HANDSHAKE,
                  "server selected a subprotocol we did not offer");
        return -1;
    }

    /* bytes of this read after the header: already frames */
    take = hlen - (c->hs_len - take);   /* of p, belonged to the header */
    free(c->hs);
    c->hs = NULL;
    c->hs_len = 0;
    c->ws_hdr_need = 2;
    c->ws_hdr_len = 0;
    c->report_due_us = t->now_mono_us + load_target.report_us;
    load_connected(t, c);
    if (n > take) {
        if (t->measuring) {
            c->bytes += n - take;
            t->st.bytes += n - take;
        }
        return frames_feed(t, c, p + take, n - take);
    }
    return 0;
}


/* ---- ngx_ws_stream messages ---- */

/* JSON number after "key": in s, or 0 */
static uint64_t
json_num(const char *s, const char *key)
{
    const char  *p;

    p = strstr(s, key);
    if (p == NULL) {
        return 0;
    }
    p += strlen(key);
    while (*p == ' ' || *p == ':') {
        p++;
    }
    return strtoull(p, NULL, 10);
}


static void
text_message(load_thread_t *t, load_conn_t *c)
{
    char  s[LOAD_HEAD + 1];

    memcpy(s, c->head, c->head_len);
    s[c->head_len] = '\0';

    if (strstr(s, "\"skipped\"") != NULL) {
        if (t->measuring) {
            t->st.skips++;
            t->st.skipped_frames += json_num(s, "\"frames\"");
            t->st.skipped_bytes += json_num(s, "\"bytes\"");
        }
    } else if (strstr(s, "\"offline\"") != NULL
               && strstr(s, "\"hello\"") == NULL)
    {
        t->st.offline++;
    } else if (strstr(s, "\"online\"") != NULL
               && strstr(s, "\"hello\"") == NULL)
    {
        t->st.online++;
    }
}


static int
media_message(load_thread_t *t, load_conn_t *c)
{
    static const unsigned  types[4] = { 0, 9, 8, 18 };
    const uint8_t         *h = c->head;
    uint64_t               ingest, now_ms;
    unsigned               track;

    if (c->msg_len < WS_STREAM_MEDIA_HDR
        || c->head_len < WS_STREAM_MEDIA_HDR)
    {
        load_fail(t, c, LOAD_ERR_PROTOCOL, "media message of %llu bytes",
                  (unsigned long long) c->msg_len);
        return -1;
    }
    track = h[0] & WS_STREAM_TRACK_MASK;
    if (track < WS_STREAM_TRACK_VIDEO || track > WS_STREAM_TRACK_DATA
        || (h[0] & 0xc0) != 0)
    {
        load_fail(t, c, LOAD_ERR_PROTOCOL, "bad media kind 0x%02x", h[0]);
        return -1;
    }
    if ((h[0] & WS_STREAM_FLAG_CONFIG) == 0) {
        ingest = (uint64_t) ws_stream_rb16(h + 8) << 32
                 | ws_stream_rb32(h + 10);
        now_ms = t->now_us / 1000;
        c->delay_ms = now_ms > ingest ? (uint32_t) (now_ms - ingest) : 0;
        if (t->measuring) {
            load_hist_add(&t->st.ingest_ms, c->delay_ms);
        }
    }
    load_media(t, c, types[track], h + WS_STREAM_MEDIA_HDR,
               c->head_len - WS_STREAM_MEDIA_HDR,
               c->msg_len - WS_STREAM_MEDIA_HDR);
    return 0;
}


/* ---- FLV byte stream (--mode flv) ---- */

/* gathers up to `want` header bytes in c->flv_hdr; returns how many it has */
static size_t
flv_collect(load_conn_t *c, size_t want, const uint8_t **p, size_t *n)
{
    size_t  take;

    take = want - c->flv_hlen;
    take = take < *n ? take : *n;
    memcpy(c->flv_hdr + c->flv_hlen, *p, take);
    c->flv_hlen = (uint8_t) (c->flv_hlen + take);
    *p += take;
    *n -= take;
    return c->flv_hlen;
}


static int
flv_feed(load_thread_t *t, load_conn_t *c, const uint8_t *p, size_t n)
{
    size_t  take;

    while (n > 0) {
        switch (c->flv_state) {

        case FLV_SIG:
            if (flv_collect(c, 9, &p, &n) < 9) {
                return 0;
            }
            if (memcmp(c->flv_hdr, "FLV", 3) != 0) {
                load_fail(t, c, LOAD_ERR_PROTOCOL, "no FLV signature");
                return -1;
            }
            c->flv_left = ws_stream_rb32(c->flv_hdr + 5);
            if (c->flv_left < 9 || c->flv_left > 1024) {
                load_fail(t, c, LOAD_ERR_PROTOCOL, "bad FLV header size");
                return -1;
            }
            c->flv_left = c->flv_left - 9 + 4;  /* + PreviousTagSize0 */
            c->flv_state = FLV_SKIP;
            break;

        case FLV_SKIP:
            take = c->flv_left < n ? c->flv_left : n;
            c->flv_left -= (uint32_t) take;
            p += take;
            n -= take;
            if (c->flv_left == 0) {
                c->flv_state = FLV_TAGHDR;
                c->flv_hlen = 0;
            }
            break;

        case FLV_TAGHDR:
            if (flv_collect(c, 11, &p, &n) < 11) {
                return 0;
            }
            c->flv_type = c->flv_hdr[0];
            if (c->flv_type & 0xc0) {
                load_fail(t, c, LOAD_ERR_PROTOCOL, "bad FLV tag type 0x%02x",
                          c->flv_type);
                return -1;
            }
            c->flv_size = ws_stream_rb24(c->flv_hdr + 1);
            c->flv_left = c->flv_size;
            c->head_len = 0;
            c->flv_state = FLV_BODY;
            if (c->flv_size > 0) {
                break;
            }
            /* fall through */

        case FLV_BODY:
            take = c->flv_left < n ? c->flv_left : n;
            if (c->head_len < LOAD_HEAD) {
                size_t  keep = LOAD_HEAD - c->head_len;

                keep = keep < take ? keep : take;
                memcpy(c->head + c->head_len, p, keep);
                c->head_len = (uint16_t) (c->head_len + keep);
            }
            c->flv_left -= (uint32_t) take;
            p += take;
            n -= take;
            if (c->flv_left == 0) {
                load_media(t, c, c->flv_type & 0x1f, c->head, c->head_len,
                           c->flv_size);
                c->flv_left = 4;                /* PreviousTagSize */
                c->flv_state = FLV_SKIP;
            }
            break;
        }
    }
    return 0;
}


/* ---- WebSocket frames ---- */

static int
data_chunk(load_thread_t *t, load_conn_t *c, const uint8_t *p, size_t n)
{
    size_t  keep;

    if (load_target.mode == LOAD_MODE_FLV) {
        if (c->msg_opcode == 2) {
            return flv_feed(t, c, p, n);
        }
        return 0;
    }
    if (c->head_len < LOAD_HEAD) {
        keep = LOAD_HEAD - c->head_len;
        keep = keep < n ? keep : n;
        memcpy(c->head + c->head_len, p, keep);
        c->head_len = (uint16_t) (c->head_len + keep);
    }
    c->msg_len += n;
    return 0;
}


static int
frame_end(load_thread_t *t, load_conn_t *c)
{
    unsigned  code;

    c->ws_hdr_need = 2;
    c->ws_hdr_len = 0;

    switch (c->ws_opcode) {
    case 8:
        code = c->ctrl_len >= 2 ? (unsigned) c->ctrl[0] << 8 | c->ctrl[1]
                                : 1005;
        load_fail(t, c, LOAD_ERR_CLOSED, "server sent close, code %u%s%.*s",
                  code, c->ctrl_len > 2 ? ": " : "",
                  c->ctrl_len > 2 ? (int) c->ctrl_len - 2 : 0,
                  (const char *) c->ctrl + 2);
        return -1;
    case 9:
        queue_pong(t, c);
        return c->state == CS_DEAD ? -1 : 0;
    case 10:
        return 0;
    }

    if (!c->ws_fin) {
        return 0;
    }
    /* a whole message */
    if (load_target.mode == LOAD_MODE_WS) {
        if (c->msg_opcode == 1) {
            text_message(t, c);
        } else if (media_message(t, c) != 0) {
            return -1;
        }
    }
    c->msg_opcode = 0;
    c->msg_len = 0;
    c->head_len = 0;
    return 0;
}


static int
frame_header(load_thread_t *t, load_conn_t *c)
{
    const uint8_t  *h = c->ws_hdr;
    uint64_t        len;
    unsigned        op, i;

    if (h[0] & 0x70) {
        load_fail(t, c, LOAD_ERR_PROTOCOL, "reserved bits set in a frame");
        return -1;
    }
    if (h[1] & 0x80) {
        load_fail(t, c, LOAD_ERR_PROTOCOL, "masked frame from the server");
        return -1;
    }
    op = h[0] & 0x0f;
    len = h[1] & 0x7f;
    if (len == 126) {
        len = (uint64_t) h[2] << 8 | h[3];
    } else if (len == 127) {
        len = 0;
        for (i = 2; i < 10; i++) {
            len = len << 8 | h[i];
        }
        if (len >> 63) {
            load_fail(t, c, LOAD_ERR_PROTOCOL, "frame length too large");
            return -1;
        }
    }
    c->ws_opcode = (uint8_t) op;
    c->ws_fin = (h[0] & 0x80) != 0;
    c->ws_left = len;
    c->ws_hdr_need = 0;                 /* in the payload now */

    if (op >= 8) {
        if (op > 10 || !c->ws_fin || len > LOAD_CTRL) {
            load_fail(t, c, LOAD_ERR_PROTOCOL, "bad control frame 0x%x",
                      op);
            return -1;
        }
        c->ctrl_len = 0;
        return 0;
    }
    if (op == 0) {
        if (c->msg_opcode == 0) {
            load_fail(t, c, LOAD_ERR_PROTOCOL, "continuation out of place");
            return -1;
        }
        return 0;
    }
    if (op > 2 || c->msg_opcode != 0) {
        load_fail(t, c, LOAD_ERR_PROTOCOL, "unexpected opcode 0x%x", op);
        return -1;
    }
    c->msg_opcode = (uint8_t) op;
    c->msg_len = 0;
    c->head_len = 0;
    return 0;
}


static int
frames_feed(load_thread_t *t, load_conn_t *c, const uint8_t *p, size_t n)
{
    size_t  take, need;

    while (n > 0 || (c->ws_hdr_need == 0 && c->ws_left == 0)) {
        if (c->ws_hdr_need != 0) {
            take = c->ws_hdr_need - c->ws_hdr_len;
            take = take < n ? take : n;
            memcpy(c->ws_hdr + c->ws_hdr_len, p, take);
            c->ws_hdr_len = (uint8_t) (c->ws_hdr_len + take);
            p += take;
            n -= take;
            if (c->ws_hdr_len < c->ws_hdr_need) {
                return 0;
            }
            if (c->ws_hdr_need == 2) {
                need = 2;
                if ((c->ws_hdr[1] & 0x7f) == 126) {
                    need += 2;
                } else if ((c->ws_hdr[1] & 0x7f) == 127) {
                    need += 8;
                }
                if (c->ws_hdr[1] & 0x80) {
                    need += 4;
                }
                if (need > 2) {
                    c->ws_hdr_need = (uint32_t) need;
                    continue;
                }
            }
            if (frame_header(t, c) != 0) {
                return -1;
            }
            continue;
        }

        /* payload */
        take = c->ws_left < n ? (size_t) c->ws_left : n;
        if (take > 0) {
            if (c->ws_opcode >= 8) {
                memcpy(c->ctrl + c->ctrl_len, p, take);
                c->ctrl_len = (uint8_t) (c->ctrl_len + take);
            } else if (data_chunk(t, c, p, take) != 0) {
                return -1;
            }
            c->ws_left -= take;
            p += take;
            n -= take;
        }
        if (c->ws_left == 0 && frame_end(t, c) != 0) {
            return -1;
        }
    }
    return 0;
}


int
load_ws_read(load_thread_t *t, load_conn_t *c, const uint8_t *p, size_t n)
{
    if (c->state == CS_HANDSHAKE) {
        return handshake_feed(t, c, p, n);
    }
    if (c->state != CS_OPEN) {
        return -1;
    }
    return frames_feed(t, c, p, n);
}
