
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * libFuzzer harness of the client message parser:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -Ingx_ws_stream_module/core test/fuzz/fuzz_json.c \
 *       ngx_ws_stream_module/core/ws_stream_json.c -o build/fuzz_json
 */


#include <stdlib.h>

#include "ws_stream_json.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                          rc;
    size_t                       n;
    ws_stream_client_msg_t   m;

    rc = ws_stream_json_parse(data, size, &m);

    if (rc == WS_STREAM_ERROR) {
        if (m.error == NULL) {
            abort();
        }

        return 0;
    }

    if (rc != WS_STREAM_OK) {
        abort();
    }

    if (m.type == WS_STREAM_MSG_PING) {
        if (!(m.id >= 0 && m.id <= 9007199254740992.0) || m.t != m.t) {
            abort();
        }

        return 0;
    }

    if (m.type != WS_STREAM_MSG_REPORT) {
        abort();
    }

    n = strnlen(m.state, sizeof(m.state));

    if (n == sizeof(m.state) || strspn(m.state, "abcdefghijklmnopqrstuvwxyz_")
                                != n)
    {
        abort();
    }

    if (m.latency < -1 || m.latency > 1e12 || m.stalls < -1
        || m.stalls > 1e12)
    {
        abort();
    }

    return 0;
}
