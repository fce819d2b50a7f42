/*
 * rtmp_play: AMF0 and the commands of the play flow.  See rtmp_play.h.
 *
 * AMF0 writing (strings, numbers, booleans, objects) and reading (skipping
 * any value, strings, numbers, the status info object), the commands we
 * send (connect, createStream, play + SetBufferLength) and the handling of
 * the commands the server sends back (_result, _error, onStatus), which
 * moves the client from connect to playing.  Written from the AMF0 format
 * specification and the RTMP specification (Adobe, 2012).
 *
 * The chunk layer (handshake, chunk streams, output queue, protocol control
 * messages) is in rtmp_play.c.
 */
#include "rtmp_play_int.h"

#include <string.h>

#define RP_TXN_CONNECT  1
#define RP_TXN_CREATE   2


/* ------------------------------------------------------- AMF0 writing */

typedef struct {
    uint8_t  *p;
    uint8_t  *end;
    int       overflow;
} rp_wr_t;


static void
rp_w_bytes(rp_wr_t *w, const void *d, size_t n)
{
    if (w->overflow || (size_t) (w->end - w->p) < n) {
        w->overflow = 1;
        return;
    }
    memcpy(w->p, d, n);
    w->p += n;
}


static void
rp_w_u8(rp_wr_t *w, uint8_t v)
{
    rp_w_bytes(w, &v, 1);
}


static void
rp_w_key(rp_wr_t *w, const char *s)
{
    size_t   n;
    uint8_t  b[2];

    n = strlen(s);
    b[0] = (uint8_t) (n >> 8);
    b[1] = (uint8_t) n;
    rp_w_bytes(w, b, 2);
    rp_w_bytes(w, s, n);
}


static void
rp_w_str(rp_wr_t *w, const char *s)
{
    rp_w_u8(w, 0x02);
    rp_w_key(w, s);
}


static void
rp_w_num(rp_wr_t *w, double d)
{
    uint64_t  u;
    uint8_t   b[8];
    int       i;

    memcpy(&u, &d, 8);
    for (i = 7; i >= 0; i--) {
        b[i] = (uint8_t) u;
        u >>= 8;
    }
    rp_w_u8(w, 0x00);
    rp_w_bytes(w, b, 8);
}


static void
rp_w_bool(rp_wr_t *w, int v)
{
    rp_w_u8(w, 0x01);
    rp_w_u8(w, v ? 1 : 0);
}


static void
rp_w_obj_end(rp_wr_t *w)
{
    static const uint8_t  end[3] = { 0, 0, 9 };

    rp_w_bytes(w, end, 3);
}


/* ------------------------------------------------------- AMF0 reading */

typedef struct {
    const uint8_t  *p;
    const uint8_t  *end;
} rp_rd_t;


static int
rp_r_need(rp_rd_t *r, size_t n)
{
    return (size_t) (r->end - r->p) >= n ? 0 : -1;
}


static int
rp_r_skip(rp_rd_t *r, int depth);


/* object / ECMA array body: (key, value)* until 00 00 09 */
static int
rp_r_skip_props(rp_rd_t *r, int depth)
{
    size_t  klen;

    for ( ;; ) {
        if (rp_r_need(r, 2) != 0) {
            return -1;
        }
        klen = ((size_t) r->p[0] << 8) | r->p[1];
        r->p += 2;
        if (klen == 0) {
            if (rp_r_need(r, 1) != 0) {
                return -1;
            }
            if (r->p[0] == 0x09) {
                r->p++;
                return 0;
            }
        }
        if (rp_r_need(r, klen) != 0) {
            return -1;
        }
        r->p += klen;
        if (rp_r_skip(r, depth + 1) != 0) {
            return -1;
        }
    }
}


static int
rp_r_skip(rp_rd_t *r, int depth)
{
    uint8_t   m;
    uint32_t  n, i;

    if (depth > 16 || rp_r_need(r, 1) != 0) {
        return -1;
    }
    m = *r->p++;

    switch (m) {
    case 0x00:                                  /* number */
        if (rp_r_need(r, 8) != 0) {
            return -1;
        }
        r->p += 8;
        return 0;
    case 0x01:                                  /* boolean */
        if (rp_r_need(r, 1) != 0) {
            return -1;
        }
        r->p += 1;
        return 0;
    case 0x02:                                  /* string */
        if (rp_r_need(r, 2) != 0) {
            return -1;
        }
        n = ((uint32_t) r->p[0] << 8) | r->p[1];
        r->p += 2;
        if (rp_r_need(r, n) != 0) {
            return -1;
        }
        r->p += n;
        return 0;
    case 0x03:                                  /* object */
        return rp_r_skip_props(r, depth);
    case 0x05:                                  /* null */
    case 0x06:                                  /* undefined */
    case 0x0d:                                  /* unsupported */
        return 0;
    case 0x07:                                  /* reference */
        if (rp_r_need(r, 2) != 0) {
            return -1;
        }
        r->p += 2;
        return 0;
    case 0x08:                                  /* ECMA array */
        if (rp_r_need(r, 4) != 0) {
            return -1;
        }
        r->p += 4;
        return rp_r_skip_props(r, depth);
    case 0x0a:                                  /* strict array */
        if (rp_r_need(r, 4) != 0) {
            return -1;
        }
        n = ws_stream_rb32(r->p);
        r->p += 4;
        for (i = 0; i < n; i++) {
            if (rp_r_skip(r, depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    case 0x0b:                                  /* date */
        if (rp_r_need(r, 10) != 0) {
            return -1;
        }
        r->p += 10;
        return 0;
    case 0x0c:                                  /* long string */
    case 0x0f:                                  /* XML document */
        if (rp_r_need(r, 4) != 0) {
            return -1;
        }
        n = ws_stream_rb32(r->p);
        r->p += 4;
        if (rp_r_need(r, n) != 0) {
            return -1;
        }
        r->p += n;
        return 0;
    default:
        return -1;
    }
}


static int
rp_r_str(rp_rd_t *r, const uint8_t **s, size_t *n)
{
    if (rp_r_need(r, 3) != 0 || r->p[0] != 0x02) {
        return -1;
    }
    *n = ((size_t) r->p[1] << 8) | r->p[2];
    r->p += 3;
    if (rp_r_need(r, *n) != 0) {
        return -1;
    }
    *s = r->p;
    r->p += *n;
    return 0;
}


static int
rp_r_num(rp_rd_t *r, double *d)
{
    uint64_t  u;
    int       i;

    if (rp_r_need(r, 9) != 0 || r->p[0] != 0x00) {
        return -1;
    }
    u = 0;
    for (i = 1; i <= 8; i++) {
        u = (u << 8) | r->p[i];
    }
    memcpy(d, &u, 8);
    r->p += 9;
    return 0;
}


typedef struct {
    const uint8_t  *level;
    size_t          level_len;
    const uint8_t  *code;
    size_t          code_len;
    const uint8_t  *desc;
    size_t          desc_len;
} rp_status_t;


/* an info object: remember level, code, description; skip anything else
   (a non-object value, e.g. null or a string, gives an empty status) */
static int
rp_r_status(rp_rd_t *r, rp_status_t *st)
{
    const uint8_t  *key, *s;
    size_t          klen, n;

    memset(st, 0, sizeof(*st));

    if (rp_r_need(r, 1) != 0) {
        return 0;                       /* absent: fine */
    }
    if (r->p[0] != 0x03) {
        return rp_r_skip(r, 0);
    }
    r->p++;

    for ( ;; ) {
        if (rp_r_need(r, 2) != 0) {
            return -1;
        }
        klen = ((size_t) r->p[0] << 8) | r->p[1];
        r->p += 2;
        if (klen == 0 && rp_r_need(r, 1) == 0 && r->p[0] == 0x09) {
            r->p++;
            return 0;
        }
        if (rp_r_need(r, klen) != 0) {
            return -1;
        }
        key = r->p;
        r->p += klen;

        if (rp_r_need(r, 1) == 0 && r->p[0] == 0x02) {
            if (rp_r_str(r, &s, &n) != 0) {
                return -1;
            }
            if (klen == 5 && memcmp(key, "level", 5) == 0) {
                st->level = s;
                st->level_len = n;
            } else if (klen == 4 && memcmp(key, "code", 4) == 0) {
                st->code = s;
                st->code_len = n;
            } else if (klen == 11 && memcmp(key, "description", 11) == 0) {
                st->desc = s;
                st->desc_len = n;
            }
        } else if (rp_r_skip(r, 1) != 0) {
            return -1;
        }
    }
}


static int
rp_eq(const uint8_t *s, size_t n, const char *lit)
{
    size_t  l;

    l = strlen(lit);
    return s != NULL && n == l && memcmp(s, lit, l) == 0;
}


/* ------------------------------------------------------ commands out */

static int
rp_send_cmd(rtmp_play_t *rp, uint32_t csid, uint32_t msid, rp_wr_t *w,
    uint8_t *buf)
{
    if (w->overflow) {
        rp_fail(rp, "command too large");
        return -1;
    }
    return rp_send(rp, csid, 20, msid, buf, (size_t) (w->p - buf));
}


int
rp_send_connect(rtmp_play_t *rp)
{
    uint8_t  buf[RP_MAX_STR * 2 + 512];
    rp_wr_t  w = { buf, buf + sizeof(buf), 0 };

    rp_w_str(&w, "connect");
    rp_w_num(&w, RP_TXN_CONNECT);
    rp_w_u8(&w, 0x03);
    rp_w_key(&w, "app");
    rp_w_str(&w, rp->app);
    rp_w_key(&w, "flashVer");
    rp_w_str(&w, "LNX 9,0,124,2");
    rp_w_key(&w, "tcUrl");
    rp_w_str(&w, rp->tcurl);
    rp_w_key(&w, "fpad");
    rp_w_bool(&w, 0);
    rp_w_key(&w, "capabilities");
    rp_w_num(&w, 15);
    rp_w_key(&w, "audioCodecs");
    rp_w_num(&w, 4071);
    rp_w_key(&w, "videoCodecs");
    rp_w_num(&w, 252);
    rp_w_key(&w, "videoFunction");
    rp_w_num(&w, 1);
    rp_w_obj_end(&w);

    return rp_send_cmd(rp, 3, 0, &w, buf);
}


static int
rp_send_create_stream(rtmp_play_t *rp)
{
    uint8_t  buf[64];
    rp_wr_t  w = { buf, buf + sizeof(buf), 0 };

    rp_w_str(&w, "createStream");
    rp_w_num(&w, RP_TXN_CREATE);
    rp_w_u8(&w, 0x05);

    return rp_send_cmd(rp, 3, 0, &w, buf);
}


static int
rp_send_play(rtmp_play_t *rp)
{
    uint8_t  buf[RP_MAX_STR + 64], uc[10], *p;
    rp_wr_t  w = { buf, buf + sizeof(buf), 0 };

    rp_w_str(&w, "play");
    rp_w_num(&w, 0);
    rp_w_u8(&w, 0x05);
    rp_w_str(&w, rp->stream);
    rp_w_num(&w, -2);               /* start: live, else recorded */

    if (rp_send_cmd(rp, 8, rp->stream_id, &w, buf) != 0) {
        return -1;
    }

    /* user control SetBufferLength(stream id, ms) */
    uc[0] = 0;
    uc[1] = 3;
    p = ws_stream_wb(uc + 2, rp->stream_id, 4);
    ws_stream_wb(p, RP_BUFFER_MS, 4);

    return rp_send(rp, 2, 4, 0, uc, sizeof(uc));
}


/* ------------------------------------------------------- commands in */

int
rp_on_command(rtmp_play_t *rp, const uint8_t *p, size_t n, int complete)
{
    rp_rd_t         r = { p, p + n };
    const uint8_t  *name;
    size_t          name_len;
    double          txn, sid;
    rp_status_t     st;

    if (rp_r_str(&r, &name, &name_len) != 0) {
        if (!complete) {
            return 0;                   /* huge unknown command */
        }
        rp_fail(rp, "malformed AMF0 command (no name)");
        return -1;
    }

    if (rp_r_num(&r, &txn) != 0) {
        txn = 0;                        /* e.g. onMetaData-like calls */
    }

    if (rp_eq(name, name_len, "_result")) {

        if (txn == RP_TXN_CONNECT && rp->phase == RP_PH_CONNECT) {
            rp->phase = RP_PH_CREATE;
            return rp_send_create_stream(rp);
        }

        if (txn == RP_TXN_CREATE && rp->phase == RP_PH_CREATE) {
            if (rp_r_skip(&r, 0) != 0 || rp_r_num(&r, &sid) != 0
                || !(sid >= 1 && sid < 16777216.0))
            {
                rp_fail(rp, "createStream _result without a stream id");
                return -1;
            }
            rp->stream_id = (uint32_t) sid;
            rp->phase = RP_PH_PLAY;
            return rp_send_play(rp);
        }

        return 0;
    }

    if (rp_eq(name, name_len, "_error")) {
        if (rp_r_skip(&r, 0) != 0 || rp_r_status(&r, &st) != 0) {
            memset(&st, 0, sizeof(st));
        }
        rp_fail(rp, "%s failed: %.*s: %.*s",
                txn == RP_TXN_CONNECT ? "connect"
                : txn == RP_TXN_CREATE ? "createStream" : "command",
                (int) st.code_len, st.code ? (const char *) st.code : "",
                (int) st.desc_len, st.desc ? (const char *) st.desc : "");
        return -1;
    }

    if (rp_eq(name, name_len, "onStatus")) {
        if (rp_r_skip(&r, 0) != 0 || rp_r_status(&r, &st) != 0) {
            if (!complete) {
                return 0;
            }
            rp_fail(rp, "malformed onStatus");
            return -1;
        }

        if (rp_eq(st.code, st.code_len, "NetStream.Play.Start")) {
            rp->playing = 1;
            rp->phase = RP_PH_PLAYING;
        }

        if (rp_eq(st.level, st.level_len, "error")
            || rp_eq(st.code, st.code_len, "NetStream.Play.StreamNotFound")
            || rp_eq(st.code, st.code_len, "NetStream.Play.Failed"))
        {
            rp_fail(rp, "onStatus %.*s: %.*s",
                    (int) st.code_len,
                    st.code ? (const char *) st.code : "(no code)",
                    (int) st.desc_len,
                    st.desc ? (const char *) st.desc : "");
            return -1;
        }
        return 0;
    }

    /* onBWDone, |RtmpSampleAccess, close, ...: nothing to do */
    return 0;
}
