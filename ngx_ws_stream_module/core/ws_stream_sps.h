
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * A bit reader with exp-Golomb codes and the picture size from H.264 and
 * H.265 sequence parameter sets.
 */


#ifndef _WS_STREAM_SPS_H_INCLUDED_
#define _WS_STREAM_SPS_H_INCLUDED_


#include "ws_stream_core.h"


typedef struct {
    const uint8_t   *p;
    size_t           len;           /* bytes */
    size_t           pos;           /* bits */
    unsigned         err;
} ws_stream_bits_t;


/*
 * A big-endian bit reader over p .. p + len.  Reading past the end sets
 * err, returns 0 and leaves the position at the end; callers check err
 * once after a run of reads.
 */
void ws_stream_bits_init(ws_stream_bits_t *b, const uint8_t *p,
    size_t len);
/* n up to 32 bits */
uint32_t ws_stream_bits_read(ws_stream_bits_t *b, unsigned n);
void ws_stream_bits_skip(ws_stream_bits_t *b, size_t n);
/* exp-Golomb ue(v) and se(v); more than 31 leading zero bits set err */
uint32_t ws_stream_bits_ue(ws_stream_bits_t *b);
int32_t ws_stream_bits_se(ws_stream_bits_t *b);

/*
 * The cropped picture size from an H.264 SPS NAL unit (p starts with the
 * NAL header, type 7; emulation prevention bytes still in).  Returns
 * WS_STREAM_OK with *width and *height set, or WS_STREAM_ERROR
 * for a malformed SPS, leaving them unchanged.
 */
int ws_stream_avc_sps(const uint8_t *p, size_t len, uint32_t *width,
    uint32_t *height);
/*
 * The same for an H.265 SPS NAL unit (two-byte NAL header, type 33).
 */
int ws_stream_hevc_sps(const uint8_t *p, size_t len, uint32_t *width,
    uint32_t *height);


#endif /* _WS_STREAM_SPS_H_INCLUDED_ */
