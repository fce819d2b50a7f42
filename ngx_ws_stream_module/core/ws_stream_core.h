
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Shared definitions of the nginx-free core: FLV parsing, WebSocket
 * framing, the ring and the client message parser.  Nothing here includes
 * nginx headers, so the same files build into the unit tests.
 */


#ifndef _WS_STREAM_CORE_H_INCLUDED_
#define _WS_STREAM_CORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <string.h>


#define WS_STREAM_OK          0
#define WS_STREAM_ERROR      -1
#define WS_STREAM_AGAIN      -2


/* tracks and flags of a media message (docs/protocol.md) */

#define WS_STREAM_TRACK_VIDEO   0x01
#define WS_STREAM_TRACK_AUDIO   0x02
#define WS_STREAM_TRACK_DATA    0x03
#define WS_STREAM_TRACK_MASK    0x0f

#define WS_STREAM_FLAG_KEY      0x10
#define WS_STREAM_FLAG_CONFIG   0x20

/* byte 0 track/flags, dts u32, cts s24, ingest wall-clock u48 */
#define WS_STREAM_MEDIA_HDR     14


static inline uint32_t
ws_stream_rb16(const uint8_t *p)
{
    return ((uint32_t) p[0] << 8) | p[1];
}


static inline uint32_t
ws_stream_rb24(const uint8_t *p)
{
    return ((uint32_t) p[0] << 16) | ((uint32_t) p[1] << 8) | p[2];
}


static inline uint32_t
ws_stream_rb32(const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


static inline uint8_t *
ws_stream_wb(uint8_t *p, uint64_t v, size_t n)
{
    size_t  i;

    for (i = n; i > 0; i--) {
        p[i - 1] = (uint8_t) v;
        v >>= 8;
    }

    return p + n;
}


#endif /* _WS_STREAM_CORE_H_INCLUDED_ */
