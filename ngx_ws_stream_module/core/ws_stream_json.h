
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Parser of the client's control messages (docs/protocol.md): one flat
 * JSON object per text message, strictly validated.
 */


#ifndef _WS_STREAM_JSON_H_INCLUDED_
#define _WS_STREAM_JSON_H_INCLUDED_


#include "ws_stream_core.h"


#define WS_STREAM_MSG_PING      1
#define WS_STREAM_MSG_REPORT    2
#define WS_STREAM_MSG_RENDITION 3       /* pin one, or automatic again */
#define WS_STREAM_MSG_SWITCH    4       /* to another stream (channel) */

#define WS_STREAM_MSG_RENDITIONS 8      /* indexes 0 .. 7 */

#define WS_STREAM_STATE_LEN     16
#define WS_STREAM_STREAM_LEN    256     /* "app/name", UTF-8, with its NUL */
#define WS_STREAM_SYNC_MAX      1e6     /* |sync|, ms */


typedef struct {
    unsigned         type;          /* WS_STREAM_MSG_* */

    /* ping */
    double           id;            /* integer 0 .. 2^53 */
    double           t;             /* client clock, ms, finite */

    /*
     * report: fields not sent are -1 (state: empty); 0 .. 10^12 but
     * rate, 0 .. 16, and sync, -10^6 .. 10^6 (has_sync: sent)
     * (docs/protocol.md)
     */
    double           latency;       /* ms, glass-to-glass */
    double           buffer;        /* ms ahead of the playhead */
    double           bitrate;       /* bits per second, encoded */
    double           dropped;       /* frames */
    double           decoded;       /* frames */
    double           stalls;        /* count */
    double           stall_ms;      /* ms stalled in all */
    double           startup_ms;    /* ms to the first frame shown */
    double           rate;          /* playbackRate */
    double           throughput;    /* bits per second received */
    double           target;        /* ms, the latency target held */
    double           jitter;        /* ms, of the media's arrival */
    double           clock_err;     /* ms, of the server clock's estimate */
    double           sync;          /* ms, latency - the shared target */
    unsigned         has_sync;
    char             state[WS_STREAM_STATE_LEN];

    /* rendition: 0 .. WS_STREAM_MSG_RENDITIONS - 1, or -1: automatic */
    int              index;

    /* switch: the stream asked for, decoded; no control characters */
    char             stream[WS_STREAM_STREAM_LEN];
    size_t           stream_len;

    const char      *error;         /* set on WS_STREAM_ERROR */
} ws_stream_client_msg_t;


/*
 * Parses one client text message.  WS_STREAM_OK with *m filled, or
 * WS_STREAM_ERROR with m->error: not a JSON object, nesting, unknown
 * "type", a known field of the wrong type or out of range, duplicate
 * field, trailing bytes.  Unknown fields with scalar values are ignored.
 */
int ws_stream_json_parse(const uint8_t *p, size_t len,
    ws_stream_client_msg_t *m);


#endif /* _WS_STREAM_JSON_H_INCLUDED_ */
