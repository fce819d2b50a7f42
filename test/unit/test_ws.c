
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * WebSocket framing: header writer, client frame parser fed whole, byte
 * by byte and in random chunks, every violation and its close code,
 * Sec-WebSocket-Protocol matching, UTF-8 validation.
 */


#include "test.h"
#include "ws_stream_ws.h"


#define TEST_WS_MAX_MSGS    16

/* length forms of test_ws_frame() */
#define TEST_LEN_MINIMAL    0
#define TEST_LEN_16         1
#define TEST_LEN_64         2


typedef struct {
    size_t                   n;
    ws_stream_ws_msg_t   msg[TEST_WS_MAX_MSGS];
    uint8_t                 *copy[TEST_WS_MAX_MSGS];
    int                      rc;            /* last result */
    unsigned                 close_code;
    const char              *error;
} test_ws_result_t;


static const uint8_t  test_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };


/* a client frame: b0 is FIN, RSV and opcode; masked unless masked == 0 */

static size_t
test_ws_frame(uint8_t *out, unsigned b0, const void *data, size_t len,
    int masked, int form)
{
    size_t          i, n;
    const uint8_t  *p;

    p = data;
    n = 0;
    out[n++] = (uint8_t) b0;

    if (form == TEST_LEN_MINIMAL && len < 126) {
        out[n++] = (uint8_t) len;

    } else if (form != TEST_LEN_64 && len <= 0xffff) {
        out[n++] = 126;
        out[n++] = (uint8_t) (len >> 8);
        out[n++] = (uint8_t) len;

    } else {
        out[n++] = 127;
        (void) ws_stream_wb(out + n, len, 8);
        n += 8;
    }

    if (masked) {
        out[1] |= 0x80;
        memcpy(out + n, test_mask, 4);
        n += 4;
    }

    for (i = 0; i < len; i++) {
        out[n + i] = masked ? p[i] ^ test_mask[i & 3] : p[i];
    }

    return n + len;
}


static void
test_ws_free(test_ws_result_t *r)
{
    size_t  i;

    for (i = 0; i < r->n; i++) {
        free(r->copy[i]);
    }

    r->n = 0;
}


/* feeds the bytes in chunks of step (0: pseudo-random sizes) */

static void
test_ws_feed(const uint8_t *data, size_t len, size_t max, size_t step,
    test_ws_result_t *r)
{
    int                         rc;
    size_t                      off, n;
    uint8_t                    *buf, *chunk;
    uint32_t                    x;
    const uint8_t              *pos, *last;
    ws_stream_ws_msg_t      msg;
    ws_stream_ws_parser_t   p;

    memset(r, 0, sizeof(test_ws_result_t));
    memset(&p, 0x5a, sizeof(ws_stream_ws_parser_t));

    buf = max ? malloc(max) : NULL;
    p.buf = buf;
    p.max = max;
    ws_stream_ws_parser_init(&p);

    x = 7;
    off = 0;
    rc = WS_STREAM_AGAIN;

    while (off < len) {

        if (step) {
            n = step;

        } else {
            x = x * 1103515245 + 12345;
            n = 1 + (x >> 16) % 40;
        }

        if (n > len - off) {
            n = len - off;
        }

        chunk = test_dup(data + off, n);
        pos = chunk;
        last = chunk + n;

        for ( ;; ) {
            rc = ws_stream_ws_parse(&p, &pos, last, &msg);

            if (rc != WS_STREAM_WS_MESSAGE) {
                break;
            }

            if (r->n < TEST_WS_MAX_MSGS) {
                r->msg[r->n] = msg;
                r->copy[r->n] = test_dup(msg.data, msg.len);
                r->msg[r->n].data = r->copy[r->n];
                r->n++;
            }
        }

        free(chunk);

        if (rc == WS_STREAM_ERROR) {
            break;
        }

        if (rc != WS_STREAM_AGAIN || pos != last) {
            rc = 99;
            break;
        }

        off += n;
    }

    r->rc = rc;
    r->close_code = p.close_code;
    r->error = p.error;

    if (rc == WS_STREAM_ERROR) {
        /* stays failed */
        pos = data;
        if (ws_stream_ws_parse(&p, &pos, data + len, &msg)
            != WS_STREAM_ERROR)
        {
            r->rc = 98;
        }
    }

    free(buf);
}


/* the close code of a violation, whole, byte by byte and chunked */

static unsigned
test_ws_violation(const uint8_t *data, size_t len, size_t max)
{
    size_t            i;
    unsigned          code[3];
    test_ws_result_t  r;

    for (i = 0; i < 3; i++) {
        test_ws_feed(data, len, max, i == 0 ? len : (i == 1 ? 1 : 0), &r);
        test_ws_free(&r);

        if (r.rc != WS_STREAM_ERROR || r.error == NULL) {
            return 0;
        }

        code[i] = r.close_code;
    }

    if (code[0] != code[1] || code[0] != code[2]) {
        return 1;
    }

    return code[0];
}


static void
test_ws_header(void)
{
    size_t   n;
    uint8_t  buf[WS_STREAM_WS_MAX_HDR];

    n = ws_stream_ws_header(buf, WS_STREAM_WS_TEXT, 0);
    T(n == 2 && buf[0] == 0x81 && buf[1] == 0);

    n = ws_stream_ws_header(buf, WS_STREAM_WS_BINARY, 125);
    T(n == 2 && buf[0] == 0x82 && buf[1] == 125);

    n = ws_stream_ws_header(buf, WS_STREAM_WS_BINARY, 126);
    T(n == 4 && buf[1] == 126 && buf[2] == 0 && buf[3] == 126);

    n = ws_stream_ws_header(buf, WS_STREAM_WS_BINARY, 65535);
    T(n == 4 && buf[1] == 126 && buf[2] == 0xff && buf[3] == 0xff);

    n = ws_stream_ws_header(buf, WS_STREAM_WS_BINARY, 65536);
    T(n == 10 && buf[1] == 127
      && memcmp(buf + 2, "\0\0\0\0\0\1\0\0", 8) == 0);

    n = ws_stream_ws_header(buf, WS_STREAM_WS_CLOSE,
                                0x0123456789abcdefULL);
    T(n == 10 && buf[0] == 0x88
      && memcmp(buf + 2, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8) == 0);

    n = ws_stream_ws_header(buf, WS_STREAM_WS_PONG, 3);
    T(n == 2 && buf[0] == 0x8a && buf[1] == 3);
}


static void
test_ws_lengths(void)
{
    size_t             i, j, n, len, steps[3];
    uint8_t           *frame, *payload;
    test_ws_result_t   r;

    static const size_t  lens[] = { 0, 1, 125, 126, 127, 65535, 65536,
                                    70000 };

    frame = malloc(70000 + 14);
    payload = malloc(70000);

    for (i = 0; i < 70000; i++) {
        payload[i] = (uint8_t) (i * 7 + (i >> 8));
    }

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        len = lens[i];
        n = test_ws_frame(frame, 0x82, payload, len, 1, TEST_LEN_MINIMAL);

        T(n == len + 4 + (len < 126 ? 2 : (len <= 0xffff ? 4 : 10)));

        steps[0] = n;
        steps[1] = 1;
        steps[2] = 0;

        for (j = 0; j < 3; j++) {
            if (j == 1 && len > 65536) {
                continue;
            }

            test_ws_feed(frame, n, 70000, steps[j], &r);

            T(r.rc == WS_STREAM_AGAIN && r.n == 1);
            T(r.n == 1 && r.msg[0].opcode == WS_STREAM_WS_BINARY
              && r.msg[0].len == len
              && (len == 0 || memcmp(r.msg[0].data, payload, len) == 0));

            test_ws_free(&r);
        }

        /* one byte over the maximum */

        if (len > 0) {
            test_ws_feed(frame, n, len - 1, n, &r);
            T(r.rc == WS_STREAM_ERROR
              && r.close_code == WS_STREAM_CLOSE_TOO_BIG);
            test_ws_free(&r);
        }
    }

    /* a zero maximum (no buffer) still takes empty messages */

    n = test_ws_frame(frame, 0x81, "", 0, 1, TEST_LEN_MINIMAL);
    test_ws_feed(frame, n, 0, 1, &r);
    T(r.rc == WS_STREAM_AGAIN && r.n == 1 && r.msg[0].len == 0
      && r.msg[0].opcode == WS_STREAM_WS_TEXT);
    test_ws_free(&r);

    free(frame);
    free(payload);
}


static void
test_ws_sequences(void)
{
    size_t            n, step;
    uint8_t           buf[1024];
    test_ws_result_t  r;

    /* fragmented text with a ping and a pong inside; then a close */

    n = test_ws_frame(buf, 0x01, "Hel", 3, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x89, "p1", 2, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x00, "lo ", 3, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x8a, "", 0, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x00, "", 0, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x80, "world", 5, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x82, "\xff\x00", 2, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x88, "\x03\xe8" "bye", 5, 1,
                       TEST_LEN_MINIMAL);

    for (step = 0; step <= n; step++) {

        /* step 0: pseudo-random chunks */

        test_ws_feed(buf, n, 64, step, &r);

        T(r.rc == WS_STREAM_AGAIN && r.n == 5);

        if (r.n == 5) {
            T(r.msg[0].opcode == WS_STREAM_WS_PING && r.msg[0].len == 2
              && memcmp(r.msg[0].data, "p1", 2) == 0);
            T(r.msg[1].opcode == WS_STREAM_WS_PONG && r.msg[1].len == 0);
            T(r.msg[2].opcode == WS_STREAM_WS_TEXT && r.msg[2].len == 11
              && memcmp(r.msg[2].data, "Hello world", 11) == 0);
            T(r.msg[3].opcode == WS_STREAM_WS_BINARY
              && r.msg[3].len == 2
              && memcmp(r.msg[3].data, "\xff\x00", 2) == 0);
            T(r.msg[4].opcode == WS_STREAM_WS_CLOSE
              && r.msg[4].close_code == 1000 && r.msg[4].len == 5
              && memcmp(r.msg[4].data, "\x03\xe8" "bye", 5) == 0);
        }

        test_ws_free(&r);
    }

    /* the maximum applies to the assembled message */

    n = test_ws_frame(buf, 0x01, "0123456789", 10, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x80, "0123456789", 10, 1, TEST_LEN_MINIMAL);

    test_ws_feed(buf, n, 20, 1, &r);
    T(r.rc == WS_STREAM_AGAIN && r.n == 1 && r.msg[0].len == 20);
    test_ws_free(&r);

    T(test_ws_violation(buf, n, 19) == WS_STREAM_CLOSE_TOO_BIG);

    /* control frames do not count against it */

    n = test_ws_frame(buf, 0x01, "0123456789", 10, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x89, "0123456789abcdef", 16, 1,
                       TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x80, "0", 1, 1, TEST_LEN_MINIMAL);

    test_ws_feed(buf, n, 11, 0, &r);
    T(r.rc == WS_STREAM_AGAIN && r.n == 2 && r.msg[0].len == 16
      && r.msg[1].len == 11);
    test_ws_free(&r);

    /* 125-byte control frame */

    memset(buf + 512, 'x', 125);
    n = test_ws_frame(buf, 0x89, buf + 512, 125, 1, TEST_LEN_MINIMAL);
    test_ws_feed(buf, n, 0, 3, &r);
    T(r.rc == WS_STREAM_AGAIN && r.n == 1 && r.msg[0].len == 125);
    test_ws_free(&r);
}


static void
test_ws_close(void)
{
    size_t            i, n;
    uint8_t           buf[256], payload[130];
    test_ws_result_t  r;

    static const unsigned  valid[] = { 1000, 1001, 1002, 1003, 1007, 1008,
                                       1009, 1010, 1011, 3000, 3999, 4000,
                                       4999 };
    static const unsigned  invalid[] = { 0, 999, 1004, 1005, 1006, 1012,
                                         1013, 1014, 1015, 1016, 2000, 2999,
                                         5000, 65535 };

    n = test_ws_frame(buf, 0x88, "", 0, 1, TEST_LEN_MINIMAL);
    test_ws_feed(buf, n, 16, 1, &r);
    T(r.n == 1 && r.msg[0].opcode == WS_STREAM_WS_CLOSE
      && r.msg[0].close_code == 1005 && r.msg[0].len == 0);
    test_ws_free(&r);

    n = test_ws_frame(buf, 0x88, "\x03", 1, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        payload[0] = (uint8_t) (valid[i] >> 8);
        payload[1] = (uint8_t) valid[i];
        n = test_ws_frame(buf, 0x88, payload, 2, 1, TEST_LEN_MINIMAL);
        test_ws_feed(buf, n, 16, 0, &r);
        T(r.n == 1 && r.msg[0].close_code == valid[i]);
        test_ws_free(&r);
    }

    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        payload[0] = (uint8_t) (invalid[i] >> 8);
        payload[1] = (uint8_t) invalid[i];
        n = test_ws_frame(buf, 0x88, payload, 2, 1, TEST_LEN_MINIMAL);
        T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);
    }

    /* reasons: UTF-8, the longest, invalid */

    memcpy(payload, "\x03\xe9" "\xc3\xa9t\xc3\xa9", 7);
    n = test_ws_frame(buf, 0x88, payload, 7, 1, TEST_LEN_MINIMAL);
    test_ws_feed(buf, n, 0, 1, &r);
    T(r.n == 1 && r.msg[0].close_code == 1001 && r.msg[0].len == 7);
    test_ws_free(&r);

    memset(payload + 2, 'r', 123);
    n = test_ws_frame(buf, 0x88, payload, 125, 1, TEST_LEN_MINIMAL);
    test_ws_feed(buf, n, 0, 0, &r);
    T(r.n == 1 && r.msg[0].len == 125);
    test_ws_free(&r);

    memcpy(payload, "\x03\xe8" "ok\xc3", 5);
    n = test_ws_frame(buf, 0x88, payload, 5, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_INVALID);

    memcpy(payload, "\x03\xe8" "\xed\xa0\x80", 5);
    n = test_ws_frame(buf, 0x88, payload, 5, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_INVALID);
}


static void
test_ws_violations(void)
{
    size_t    n, k;
    uint8_t   buf[256];
    unsigned  op;

    /* unmasked */

    n = test_ws_frame(buf, 0x81, "hi", 2, 0, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    n = test_ws_frame(buf, 0x89, "", 0, 0, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    /* reserved bits */

    n = test_ws_frame(buf, 0xc1, "hi", 2, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    n = test_ws_frame(buf, 0xa1, "hi", 2, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    n = test_ws_frame(buf, 0x99, "hi", 2, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    /* reserved opcodes */

    for (op = 3; op < 16; op++) {
        if (op >= 8 && op <= 10) {
            continue;
        }

        n = test_ws_frame(buf, 0x80 | op, "", 0, 1, TEST_LEN_MINIMAL);
        T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);
    }

    /* fragmented and oversized control frames */

    n = test_ws_frame(buf, 0x09, "", 0, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    n = test_ws_frame(buf, 0x08, "", 0, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    memset(buf + 128, 'x', 126);
    n = test_ws_frame(buf, 0x89, buf + 128, 126, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    n = test_ws_frame(buf, 0x8a, "x", 1, 1, TEST_LEN_16);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    /* continuation without a start; a new message inside one */

    n = test_ws_frame(buf, 0x80, "x", 1, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    n = test_ws_frame(buf, 0x81, "x", 1, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x00, "x", 1, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    n = test_ws_frame(buf, 0x01, "x", 1, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x81, "x", 1, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    n = test_ws_frame(buf, 0x02, "x", 1, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x89, "", 0, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x02, "x", 1, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    /* non-minimal lengths, the 64-bit top bit */

    n = test_ws_frame(buf, 0x82, "x", 1, 1, TEST_LEN_16);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    memset(buf + 128, 'x', 125);
    n = test_ws_frame(buf, 0x82, buf + 128, 125, 1, TEST_LEN_16);
    T(test_ws_violation(buf, n, 200) == WS_STREAM_CLOSE_PROTOCOL);

    n = test_ws_frame(buf, 0x82, "x", 1, 1, TEST_LEN_64);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);

    n = test_ws_frame(buf, 0x82, "", 0, 1, TEST_LEN_64);
    buf[2] = 0x80;
    T(test_ws_violation(buf, 14, 16) == WS_STREAM_CLOSE_PROTOCOL);

    buf[2] = 0x7f;
    T(test_ws_violation(buf, 14, 16) == WS_STREAM_CLOSE_TOO_BIG);

    /* a huge frame is refused on its header */

    n = test_ws_frame(buf, 0x82, "", 0, 1, TEST_LEN_64);
    buf[5] = 0x01;
    T(test_ws_violation(buf, 14, 1 << 20) == WS_STREAM_CLOSE_TOO_BIG);

    /* text that is not UTF-8: found before the message ends */

    n = test_ws_frame(buf, 0x81, "a\xc0\x80", 3, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_INVALID);

    n = test_ws_frame(buf, 0x01, "a\xff", 2, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_INVALID);

    n = test_ws_frame(buf, 0x81, "\xed\xa0\x80", 3, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_INVALID);

    n = test_ws_frame(buf, 0x81, "\xf4\x90\x80\x80", 4, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_INVALID);

    /* text ending inside a sequence, whole and across fragments */

    n = test_ws_frame(buf, 0x81, "ab\xe2\x82", 4, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_INVALID);

    n = test_ws_frame(buf, 0x01, "ab\xe2", 3, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x80, "\x82", 1, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_INVALID);

    /* a violation after good messages */

    k = test_ws_frame(buf, 0x89, "", 0, 1, TEST_LEN_MINIMAL);
    k += test_ws_frame(buf + k, 0x81, "ok", 2, 1, TEST_LEN_MINIMAL);
    n = k + test_ws_frame(buf + k, 0x81, "x", 1, 0, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_PROTOCOL);
}


static void
test_ws_utf8_fragments(void)
{
    size_t            n;
    uint8_t           buf[256];
    test_ws_result_t  r;

    /* e-acute, euro sign and U+1F600 split over fragments */

    n = test_ws_frame(buf, 0x01, "\xc3", 1, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x00, "\xa9\xe2", 2, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x89, "", 0, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x00, "\x82", 1, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x00, "\xac\xf0\x9f", 3, 1,
                       TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x00, "\x98", 1, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x80, "\x80!", 2, 1, TEST_LEN_MINIMAL);

    test_ws_feed(buf, n, 32, 1, &r);
    T(r.rc == WS_STREAM_AGAIN && r.n == 2);
    T(r.n == 2 && r.msg[1].opcode == WS_STREAM_WS_TEXT
      && r.msg[1].len == 10
      && memcmp(r.msg[1].data, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80!", 10)
         == 0);
    test_ws_free(&r);

    test_ws_feed(buf, n, 32, 0, &r);
    T(r.rc == WS_STREAM_AGAIN && r.n == 2);
    test_ws_free(&r);

    /* binary is not checked */

    n = test_ws_frame(buf, 0x02, "\xc3", 1, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x80, "\xff", 1, 1, TEST_LEN_MINIMAL);
    test_ws_feed(buf, n, 32, 1, &r);
    T(r.rc == WS_STREAM_AGAIN && r.n == 1
      && r.msg[0].opcode == WS_STREAM_WS_BINARY);
    test_ws_free(&r);

    /* a text message after a broken-off one starts clean */

    n = test_ws_frame(buf, 0x81, "\xc3\xa9", 2, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x81, "\xa9", 1, 1, TEST_LEN_MINIMAL);
    T(test_ws_violation(buf, n, 16) == WS_STREAM_CLOSE_INVALID);
}


static void
test_ws_offers(void)
{
    const char  *want;

#define test_offers(s)                                                       \
    ws_stream_ws_offers((const uint8_t *) s, sizeof(s) - 1, want)

    want = "wsstream.1";

    T(test_offers("wsstream.1") == 1);
    T(test_offers("foo, wsstream.1") == 1);
    T(test_offers("wsstream.1,foo") == 1);
    T(test_offers(" \tfoo ,\twsstream.1 \t") == 1);
    T(test_offers(",,wsstream.1,,") == 1);
    T(test_offers("a,b,c,wsstream.1") == 1);

    T(test_offers("") == 0);
    T(test_offers(" , ") == 0);
    T(test_offers("wsstream.10") == 0);
    T(test_offers("wsstream.") == 0);
    T(test_offers("xwsstream.1") == 0);
    T(test_offers("WSSTREAM.1") == 0);
    T(test_offers("wsstream.1x, foo") == 0);
    T(test_offers("ws stream.1") == 0);
    T(test_offers("wsstream.1;q=1") == 0);
    T(test_offers("foo") == 0);

#undef test_offers
}


static void
test_ws_utf8(void)
{
#define test_utf8(s)                                                         \
    ws_stream_ws_utf8((const uint8_t *) s, sizeof(s) - 1)

    T(test_utf8("") == 1);
    T(test_utf8("plain ascii \x7f") == 1);
    T(test_utf8("\x00") == 1);
    T(test_utf8("\xc2\x80") == 1);                  /* U+0080 */
    T(test_utf8("\xdf\xbf") == 1);                  /* U+07FF */
    T(test_utf8("\xe0\xa0\x80") == 1);              /* U+0800 */
    T(test_utf8("\xed\x9f\xbf") == 1);              /* U+D7FF */
    T(test_utf8("\xee\x80\x80") == 1);              /* U+E000 */
    T(test_utf8("\xef\xbf\xbf") == 1);              /* U+FFFF */
    T(test_utf8("\xf0\x90\x80\x80") == 1);          /* U+10000 */
    T(test_utf8("\xf4\x8f\xbf\xbf") == 1);          /* U+10FFFF */
    T(test_utf8("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5") == 1);

    T(test_utf8("\x80") == 0);                      /* lone continuation */
    T(test_utf8("\xbf") == 0);
    T(test_utf8("\xc0\x80") == 0);                  /* overlong NUL */
    T(test_utf8("\xc1\xbf") == 0);
    T(test_utf8("\xe0\x80\x80") == 0);
    T(test_utf8("\xe0\x9f\xbf") == 0);
    T(test_utf8("\xf0\x80\x80\x80") == 0);
    T(test_utf8("\xf0\x8f\xbf\xbf") == 0);
    T(test_utf8("\xed\xa0\x80") == 0);              /* U+D800 */
    T(test_utf8("\xed\xbf\xbf") == 0);              /* U+DFFF */
    T(test_utf8("\xed\xa0\xbd\xed\xb8\x80") == 0);  /* CESU pair */
    T(test_utf8("\xf4\x90\x80\x80") == 0);          /* U+110000 */
    T(test_utf8("\xf5\x80\x80\x80") == 0);
    T(test_utf8("\xf8\x88\x80\x80\x80") == 0);
    T(test_utf8("\xfe") == 0);
    T(test_utf8("\xff") == 0);
    T(test_utf8("\xc3") == 0);                      /* truncated */
    T(test_utf8("\xe2\x82") == 0);
    T(test_utf8("\xf0\x9f\x98") == 0);
    T(test_utf8("\xc3\x41") == 0);
    T(test_utf8("\xe2\x41\x82") == 0);

#undef test_utf8
}


/*
 * idle only between messages: the viewer frees the message buffer then,
 * so a byte of a header, a frame's payload or an open fragmented message
 * must say not idle
 */

static void test_ws_idle_fresh(void);


static void
test_ws_idle(void)
{
    size_t                     n, i, one, two;
    uint8_t                    buf[256], data[64];
    const uint8_t             *pos;
    ws_stream_ws_msg_t         msg;
    ws_stream_ws_parser_t      p;

    p.buf = data;
    p.max = sizeof(data);
    ws_stream_ws_parser_init(&p);

    T(ws_stream_ws_parser_idle(&p));

    one = test_ws_frame(buf, 0x01, "frag", 4, 1, TEST_LEN_MINIMAL);
    two = test_ws_frame(buf + one, 0x89, "pi", 2, 1, TEST_LEN_MINIMAL);
    n = one + two;
    n += test_ws_frame(buf + n, 0x80, "ment", 4, 1, TEST_LEN_MINIMAL);

    /* byte by byte: idle nowhere inside, and again after the end */

    for (i = 0; i < n; i++) {
        pos = buf + i;
        (void) ws_stream_ws_parse(&p, &pos, buf + i + 1, &msg);

        if (i + 1 < n) {
            T(!ws_stream_ws_parser_idle(&p));
        }
    }

    T(ws_stream_ws_parser_idle(&p));
    T(msg.opcode == WS_STREAM_WS_TEXT && msg.len == 8
      && memcmp(msg.data, "fragment", 8) == 0);

    /* a control frame between messages: idle after it */

    pos = buf + one;
    T(ws_stream_ws_parse(&p, &pos, buf + one + two, &msg)
      == WS_STREAM_WS_MESSAGE);
    T(msg.opcode == WS_STREAM_WS_PING && pos == buf + one + two);
    T(ws_stream_ws_parser_idle(&p));

    test_ws_idle_fresh();
}


/*
 * An idle parser is as good as a new one: the viewer keeps none between
 * reads that end idle (one per worker serves them) and makes a new one at
 * the next read.  Messages of UTF-8 text, fragments, pings and a close,
 * cut at every byte, come out the same from a parser made new at every
 * idle point as from one kept throughout.
 */

static void
test_ws_idle_fresh(void)
{
    int                        r1, r2;
    size_t                     n, cut, k, msgs;
    uint8_t                    buf[256], d1[64], d2[64];
    const uint8_t             *pos, *pos2, *end;
    ws_stream_ws_msg_t         m1, m2;
    ws_stream_ws_parser_t      kept, fresh;

    n = test_ws_frame(buf, 0x01, "h\xc3", 2, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x89, "pi", 2, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x80, "\xa9!", 2, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x81, "{\"t\":1}", 7, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x8a, "", 0, 1, TEST_LEN_MINIMAL);
    n += test_ws_frame(buf + n, 0x88, "\x03\xe8", 2, 1, TEST_LEN_MINIMAL);

    for (cut = 1; cut < n; cut++) {
        kept.buf = d1;
        kept.max = sizeof(d1);
        ws_stream_ws_parser_init(&kept);

        fresh.buf = d2;
        fresh.max = sizeof(d2);
        ws_stream_ws_parser_init(&fresh);

        msgs = 0;

        for (k = 0; k < n; k += cut) {
            end = buf + (k + cut < n ? k + cut : n);
            pos = buf + k;
            pos2 = buf + k;

            for ( ;; ) {
                r1 = ws_stream_ws_parse(&kept, &pos, end, &m1);
                r2 = ws_stream_ws_parse(&fresh, &pos2, end, &m2);

                T(r1 == r2 && pos == pos2);

                if (r1 != WS_STREAM_WS_MESSAGE) {
                    break;
                }

                msgs++;

                T(m1.opcode == m2.opcode && m1.len == m2.len
                  && memcmp(m1.data, m2.data, m1.len) == 0
                  && m1.close_code == m2.close_code);
            }

            if (ws_stream_ws_parser_idle(&fresh)) {
                fresh.buf = d2;
                fresh.max = sizeof(d2);
                ws_stream_ws_parser_init(&fresh);
            }
        }

        /* ping, the text of three frames, the text, pong, close */
        T(msgs == 5);
    }
}


void
test_ws(void)
{
    test_ws_idle();
    test_ws_header();
    test_ws_lengths();
    test_ws_sequences();
    test_ws_close();
    test_ws_violations();
    test_ws_utf8_fragments();
    test_ws_offers();
    test_ws_utf8();
}
