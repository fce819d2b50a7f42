
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * libFuzzer harness of the WebSocket frame parser.  The first byte picks
 * the maximum message size and the chunk size the rest is fed in:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -Ingx_ws_stream_module/core test/fuzz/fuzz_ws.c \
 *       ngx_ws_stream_module/core/ws_stream_ws.c -o build/fuzz_ws
 */


#include <stdlib.h>

#include "ws_stream_ws.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                         rc;
    size_t                      off, n, step;
    uint8_t                    *buf, *chunk;
    const uint8_t              *pos, *last;
    ws_stream_ws_msg_t      msg;
    ws_stream_ws_parser_t   p;

    if (size < 1) {
        return 0;
    }

    p.max = (data[0] & 0x0f) * 37;
    step = (data[0] >> 4) + 1;
    data++;
    size--;

    buf = malloc(p.max ? p.max : 1);
    p.buf = buf;
    ws_stream_ws_parser_init(&p);

    ws_stream_ws_offers(data, size, "wsstream.1");
    (void) ws_stream_ws_utf8(data, size);

    rc = WS_STREAM_AGAIN;

    for (off = 0; off < size && rc != WS_STREAM_ERROR; off += n) {
        n = (size - off < step) ? size - off : step;

        /* an exact copy: ASan sees any read past the chunk */

        chunk = malloc(n);
        memcpy(chunk, data + off, n);

        pos = chunk;
        last = chunk + n;

        for ( ;; ) {
            rc = ws_stream_ws_parse(&p, &pos, last, &msg);

            if (rc != WS_STREAM_WS_MESSAGE) {
                break;
            }

            if (pos < chunk || pos > last) {
                abort();
            }

            switch (msg.opcode) {

            case WS_STREAM_WS_TEXT:
                if (!ws_stream_ws_utf8(msg.data, msg.len)) {
                    abort();
                }

                /* fall through */

            case WS_STREAM_WS_BINARY:
                if (msg.len > p.max) {
                    abort();
                }

                break;

            case WS_STREAM_WS_CLOSE:
                if (msg.close_code == 0 || msg.len > 125) {
                    abort();
                }

                break;

            case WS_STREAM_WS_PING:
            case WS_STREAM_WS_PONG:
                if (msg.len > 125) {
                    abort();
                }

                break;

            default:
                abort();
            }
        }

        if (rc == WS_STREAM_AGAIN && pos != last) {
            abort();
        }

        if (rc == WS_STREAM_ERROR
            && (p.error == NULL
                || (p.close_code != 1002 && p.close_code != 1007
                    && p.close_code != 1009)))
        {
            abort();
        }

        free(chunk);
    }

    free(buf);

    return 0;
}
