
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * libFuzzer harness of the FLV tag body parser:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -Ingx_ws_stream_module/core test/fuzz/fuzz_flv.c \
 *       ngx_ws_stream_module/core/ws_stream_flv.c \
 *       ngx_ws_stream_module/core/ws_stream_sps.c -o build/fuzz_flv
 */


#include <stdlib.h>

#include "ws_stream_flv.h"


static void
fuzz_check(int rc, ws_stream_flv_info_t *info)
{
    if (rc == WS_STREAM_ERROR) {
        if (info->error == NULL) {
            abort();
        }

        return;
    }

    if (rc != WS_STREAM_OK
        || memchr(info->codec_string, '\0', sizeof(info->codec_string))
           == NULL
        || info->width > 65536 || info->height > 65536)
    {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                       rc;
    ws_stream_flv_info_t  info;

    rc = ws_stream_flv_parse_video(data, size, &info);
    fuzz_check(rc, &info);

    rc = ws_stream_flv_parse_audio(data, size, &info);
    fuzz_check(rc, &info);

    return 0;
}
