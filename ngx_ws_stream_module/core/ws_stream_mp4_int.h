
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * What the init segment writer (ws_stream_mp4.c) and the fragment writer
 * (ws_stream_mp4_frag.c) share: the box writer and the track checks.
 */


#ifndef _WS_STREAM_MP4_INT_H_INCLUDED_
#define _WS_STREAM_MP4_INT_H_INCLUDED_


#include "ws_stream_mp4.h"


#define ws_stream_mp4_zero(o, n)  ws_stream_mp4_bytes(o, NULL, n)


typedef struct {
    uint8_t                        *p;      /* NULL: count only */
    uint64_t                        n;      /* bytes written */
} ws_stream_mp4_out_t;


int ws_stream_mp4_track_ok(const ws_stream_mp4_track_t *t,
    unsigned audio);
void ws_stream_mp4_put(ws_stream_mp4_out_t *o, uint64_t v,
    size_t n);
void ws_stream_mp4_bytes(ws_stream_mp4_out_t *o, const void *p,
    size_t n);
uint64_t ws_stream_mp4_box(ws_stream_mp4_out_t *o, const char *type);
uint64_t ws_stream_mp4_full(ws_stream_mp4_out_t *o, const char *type,
    unsigned version, uint32_t flags);
void ws_stream_mp4_end(ws_stream_mp4_out_t *o, uint64_t start);


#endif /* _WS_STREAM_MP4_INT_H_INCLUDED_ */
