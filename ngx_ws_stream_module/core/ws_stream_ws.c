
/*
 * Copyright (C) ngx_ws_stream authors
 */


#include "ws_stream_ws.h"


#define WS_STREAM_WS_ST_HEADER    0
#define WS_STREAM_WS_ST_PAYLOAD   1
#define WS_STREAM_WS_ST_ERROR     2

/*
 * the UTF-8 state: bits 4 and up the continuation bytes still expected,
 * bits 0-3 the range of the next one (E0, ED, F0 and F4 narrow it)
 */
#define WS_STREAM_UTF8_ACCEPT     0
#define WS_STREAM_UTF8_REJECT     0x100


static int ws_stream_ws_frame_start(ws_stream_ws_parser_t *p);
static int ws_stream_ws_frame_header(ws_stream_ws_parser_t *p);
static int ws_stream_ws_frame_end(ws_stream_ws_parser_t *p,
    ws_stream_ws_msg_t *msg);
static int ws_stream_ws_close_code(unsigned code);
static int ws_stream_ws_error(ws_stream_ws_parser_t *p,
    unsigned code, const char *error);
static unsigned ws_stream_utf8_step(unsigned state, unsigned c);


size_t
ws_stream_ws_header(uint8_t *buf, unsigned opcode, uint64_t len)
{
    buf[0] = (uint8_t) (0x80 | (opcode & 0x0f));

    if (len < 126) {
        buf[1] = (uint8_t) len;
        return 2;
    }

    if (len <= 0xffff) {
        buf[1] = 126;
        (void) ws_stream_wb(buf + 2, len, 2);
        return 4;
    }

    buf[1] = 127;
    (void) ws_stream_wb(buf + 2, len, 8);

    return 10;
}


void
ws_stream_ws_parser_init(ws_stream_ws_parser_t *p)
{
    p->state = WS_STREAM_WS_ST_HEADER;
    p->hdr_len = 0;
    p->hdr_need = 2;
    p->opcode = 0;
    p->fin = 0;
    p->frame_len = 0;
    p->frame_got = 0;
    p->msg_opcode = 0;
    p->msg_len = 0;
    p->ctl_len = 0;
    p->utf8_state = WS_STREAM_UTF8_ACCEPT;
    p->close_code = 0;
    p->error = NULL;
}


int
ws_stream_ws_parser_idle(const ws_stream_ws_parser_t *p)
{
    return p->state == WS_STREAM_WS_ST_HEADER && p->hdr_len == 0
           && p->msg_opcode == 0;
}


int
ws_stream_ws_parse(ws_stream_ws_parser_t *p, const uint8_t **pos,
    const uint8_t *last, ws_stream_ws_msg_t *msg)
{
    int             rc;
    size_t          i, n;
    uint8_t        *dst;
    uint64_t        left;
    unsigned        state;
    const uint8_t  *src;

    for ( ;; ) {

        switch (p->state) {

        case WS_STREAM_WS_ST_HEADER:

            while (p->hdr_len < p->hdr_need && *pos < last) {
                p->hdr[p->hdr_len++] = *(*pos)++;
            }

            if (p->hdr_len < p->hdr_need) {
                return WS_STREAM_AGAIN;
            }

            if (p->hdr_need == 2) {
                rc = ws_stream_ws_frame_start(p);

                if (rc != WS_STREAM_OK) {
                    return rc;
                }

                continue;
            }

            rc = ws_stream_ws_frame_header(p);

            if (rc != WS_STREAM_OK) {
                return rc;
            }

            p->state = WS_STREAM_WS_ST_PAYLOAD;

            /* fall through */

        case WS_STREAM_WS_ST_PAYLOAD:

            left = p->frame_len - p->frame_got;
            n = (size_t) (last - *pos);

            if (left < n) {
                n = (size_t) left;
            }

            if (n) {
                src = *pos;

                if (p->opcode & 0x08) {
                    dst = p->ctl + p->ctl_len;
                    p->ctl_len += n;

                } else {
                    dst = p->buf + p->msg_len;
                    p->msg_len += n;
                }

                for (i = 0; i < n; i++) {
                    dst[i] = src[i] ^ p->mask[(p->frame_got + i) & 3];
                }

                if (p->msg_opcode == WS_STREAM_WS_TEXT
                    && !(p->opcode & 0x08))
                {
                    state = p->utf8_state;

                    for (i = 0; i < n; i++) {
                        state = ws_stream_utf8_step(state, dst[i]);

                        if (state == WS_STREAM_UTF8_REJECT) {
                            return ws_stream_ws_error(p,
                                                   WS_STREAM_CLOSE_INVALID,
                                                   "text is not UTF-8");
                        }
                    }

                    p->utf8_state = state;
                }

                p->frame_got += n;
                *pos += n;
            }

            if (p->frame_got < p->frame_len) {
                return WS_STREAM_AGAIN;
            }

            p->state = WS_STREAM_WS_ST_HEADER;
            p->hdr_len = 0;
            p->hdr_need = 2;

            rc = ws_stream_ws_frame_end(p, msg);

            if (rc != WS_STREAM_OK) {
                return rc;
            }

            continue;

        default:
            return WS_STREAM_ERROR;
        }
    }
}


static int
ws_stream_ws_frame_start(ws_stream_ws_parser_t *p)
{
    unsigned  len;

    /* the first two bytes: every violation they can show */

    p->fin = p->hdr[0] >> 7;
    p->opcode = p->hdr[0] & 0x0f;
    len = p->hdr[1] & 0x7f;

    if (p->hdr[0] & 0x70) {
        return ws_stream_ws_error(p, WS_STREAM_CLOSE_PROTOCOL,
                                      "reserved bits set");
    }

    switch (p->opcode) {

    case WS_STREAM_WS_CONT:
        if (p->msg_opcode == 0) {
            return ws_stream_ws_error(p, WS_STREAM_CLOSE_PROTOCOL,
                                          "continuation without a start");
        }

        break;

    case WS_STREAM_WS_TEXT:
    case WS_STREAM_WS_BINARY:
        if (p->msg_opcode != 0) {
            return ws_stream_ws_error(p, WS_STREAM_CLOSE_PROTOCOL,
                                          "new message inside a fragmented "
                                          "message");
        }

        break;

    case WS_STREAM_WS_CLOSE:
    case WS_STREAM_WS_PING:
    case WS_STREAM_WS_PONG:
        if (!p->fin) {
            return ws_stream_ws_error(p, WS_STREAM_CLOSE_PROTOCOL,
                                          "fragmented control frame");
        }

        if (len > 125) {
            return ws_stream_ws_error(p, WS_STREAM_CLOSE_PROTOCOL,
                                          "control frame too big");
        }

        break;

    default:
        return ws_stream_ws_error(p, WS_STREAM_CLOSE_PROTOCOL,
                                      "reserved opcode");
    }

    if (!(p->hdr[1] & 0x80)) {
        return ws_stream_ws_error(p, WS_STREAM_CLOSE_PROTOCOL,
                                      "unmasked frame");
    }

    p->hdr_need = 2 + 4 + (len == 126 ? 2 : (len == 127 ? 8 : 0));

    return WS_STREAM_OK;
}


static int
ws_stream_ws_frame_header(ws_stream_ws_parser_t *p)
{
    uint64_t  len;

    len = p->hdr[1] & 0x7f;

    if (len == 126) {
        len = ws_stream_rb16(p->hdr + 2);

        if (len < 126) {
            return ws_stream_ws_error(p, WS_STREAM_CLOSE_PROTOCOL,
                                          "non-minimal frame length");
        }

    } else if (len == 127) {
        len = ((uint64_t) ws_stream_rb32(p->hdr + 2) << 32)
              | ws_stream_rb32(p->hdr + 6);

        if (len >> 63) {
            return ws_stream_ws_error(p, WS_STREAM_CLOSE_PROTOCOL,
                                          "frame length over 2^63");
        }

        if (len <= 0xffff) {
            return ws_stream_ws_error(p, WS_STREAM_CLOSE_PROTOCOL,
                                          "non-minimal frame length");
        }
    }

    memcpy(p->mask, p->hdr + p->hdr_need - 4, 4);

    p->frame_len = len;
    p->frame_got = 0;

    if (p->opcode & 0x08) {
        p->ctl_len = 0;
        return WS_STREAM_OK;
    }

    if (len > p->max - p->msg_len) {
        return ws_stream_ws_error(p, WS_STREAM_CLOSE_TOO_BIG,
                                      "message too big");
    }

    if (p->opcode != WS_STREAM_WS_CONT) {
        p->msg_opcode = p->opcode;
        p->msg_len = 0;
        p->utf8_state = WS_STREAM_UTF8_ACCEPT;
    }

    return WS_STREAM_OK;
}


static int
ws_stream_ws_frame_end(ws_stream_ws_parser_t *p,
    ws_stream_ws_msg_t *msg)
{
    unsigned  code;

    if (p->opcode & 0x08) {

        msg->opcode = p->opcode;
        msg->data = p->ctl;
        msg->len = p->ctl_len;
        msg->close_code = 0;

        if (p->opcode != WS_STREAM_WS_CLOSE) {
            return WS_STREAM_WS_MESSAGE;
        }

        if (p->ctl_len == 0) {
            msg->close_code = 1005;
            return WS_STREAM_WS_MESSAGE;
        }

        if (p->ctl_len == 1) {
            return ws_stream_ws_error(p, WS_STREAM_CLOSE_PROTOCOL,
                                          "close frame with a 1-byte "
                                          "payload");
        }

        code = ws_stream_rb16(p->ctl);

        if (!ws_stream_ws_close_code(code)) {
            return ws_stream_ws_error(p, WS_STREAM_CLOSE_PROTOCOL,
                                          "invalid close code");
        }

        if (!ws_stream_ws_utf8(p->ctl + 2, p->ctl_len - 2)) {
            return ws_stream_ws_error(p, WS_STREAM_CLOSE_INVALID,
                                          "close reason is not UTF-8");
        }

        msg->close_code = code;

        return WS_STREAM_WS_MESSAGE;
    }

    if (!p->fin) {
        return WS_STREAM_OK;
    }

    if (p->msg_opcode == WS_STREAM_WS_TEXT
        && p->utf8_state != WS_STREAM_UTF8_ACCEPT)
    {
        return ws_stream_ws_error(p, WS_STREAM_CLOSE_INVALID,
                                      "text ends inside a UTF-8 sequence");
    }

    msg->opcode = p->msg_opcode;
    msg->data = p->buf;
    msg->len = p->msg_len;
    msg->close_code = 0;

    p->msg_opcode = 0;
    p->msg_len = 0;
    p->utf8_state = WS_STREAM_UTF8_ACCEPT;

    return WS_STREAM_WS_MESSAGE;
}


static int
ws_stream_ws_close_code(unsigned code)
{
    if (code >= 1000 && code <= 1003) {
        return 1;
    }

    if (code >= 1007 && code <= 1011) {
        return 1;
    }

    return code >= 3000 && code <= 4999;
}


static int
ws_stream_ws_error(ws_stream_ws_parser_t *p, unsigned code,
    const char *error)
{
    p->state = WS_STREAM_WS_ST_ERROR;
    p->close_code = code;
    p->error = error;

    return WS_STREAM_ERROR;
}


int
ws_stream_ws_offers(const uint8_t *value, size_t len, const char *want)
{
    size_t          n;
    const uint8_t  *p, *last, *start, *end;

    n = strlen(want);
    p = value;
    last = value + len;

    while (p < last) {

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        start = p;

        while (p < last && *p != ',') {
            p++;
        }

        end = p;

        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }

        if ((size_t) (end - start) == n && memcmp(start, want, n) == 0) {
            return 1;
        }

        if (p < last) {
            p++;                /* the comma */
        }
    }

    return 0;
}


int
ws_stream_ws_utf8(const uint8_t *p, size_t len)
{
    size_t    i;
    unsigned  state;

    state = WS_STREAM_UTF8_ACCEPT;

    for (i = 0; i < len; i++) {
        state = ws_stream_utf8_step(state, p[i]);

        if (state == WS_STREAM_UTF8_REJECT) {
            return 0;
        }
    }

    return state == WS_STREAM_UTF8_ACCEPT;
}


static unsigned
ws_stream_utf8_step(unsigned state, unsigned c)
{
    unsigned  lo, hi;

    if (state == WS_STREAM_UTF8_ACCEPT) {

        if (c < 0x80) {
            return WS_STREAM_UTF8_ACCEPT;
        }

        if (c < 0xc2) {         /* continuation byte or overlong C0/C1 */
            return WS_STREAM_UTF8_REJECT;
        }

        if (c < 0xe0) {
            return 1 << 4;
        }

        if (c < 0xf0) {
            return (2 << 4) | (c == 0xe0 ? 1 : (c == 0xed ? 2 : 0));
        }

        if (c < 0xf5) {
            return (3 << 4) | (c == 0xf0 ? 3 : (c == 0xf4 ? 4 : 0));
        }

        return WS_STREAM_UTF8_REJECT;
    }

    switch (state & 0x0f) {

    case 1:                     /* E0: no overlongs */
        lo = 0xa0;
        hi = 0xbf;
        break;

    case 2:                     /* ED: no surrogates */
        lo = 0x80;
        hi = 0x9f;
        break;

    case 3:                     /* F0: no overlongs */
        lo = 0x90;
        hi = 0xbf;
        break;

    case 4:                     /* F4: up to U+10FFFF */
        lo = 0x80;
        hi = 0x8f;
        break;

    default:
        lo = 0x80;
        hi = 0xbf;
    }

    if (c < lo || c > hi) {
        return WS_STREAM_UTF8_REJECT;
    }

    return ((state >> 4) - 1) << 4;
}
