
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The bit reader and the H.264/H.265 SPS parsers: the coded picture size
 * for the codec configuration records of ws_stream_flv.c.
 */


#include "ws_stream_sps.h"


/* the part of a parameter set that is copied and unescaped for parsing */
#define WS_STREAM_PS_MAX        1024

/* sanity limits of the coded picture size, in pixels */
#define WS_STREAM_PIC_MAX       65536


static size_t ws_stream_unescape(uint8_t *dst, const uint8_t *src,
    size_t len);


int
ws_stream_avc_sps(const uint8_t *p, size_t len, uint32_t *width,
    uint32_t *height)
{
    size_t                n;
    int32_t               delta;
    uint8_t               buf[WS_STREAM_PS_MAX];
    uint32_t              profile, chroma, separate, frame_mbs_only, i, j,
                          count, size, last, next, cx, cy, crop[4];
    uint64_t              pw, ph, w, h;
    ws_stream_bits_t  b;

    if (len < 4 || (p[0] & 0x1f) != 7) {
        return WS_STREAM_ERROR;
    }

    /* skip the NAL header, remove emulation prevention bytes */

    n = ws_stream_unescape(buf, p + 1, len - 1);

    ws_stream_bits_init(&b, buf, n);

    profile = ws_stream_bits_read(&b, 8);
    ws_stream_bits_skip(&b, 16);            /* constraints, level */

    if (ws_stream_bits_ue(&b) > 31) {       /* seq_parameter_set_id */
        goto malformed;
    }

    chroma = 1;
    separate = 0;

    if (profile == 100 || profile == 110 || profile == 122
        || profile == 244 || profile == 44 || profile == 83
        || profile == 86 || profile == 118 || profile == 128
        || profile == 138 || profile == 139 || profile == 134
        || profile == 135)
    {
        chroma = ws_stream_bits_ue(&b);

        if (chroma > 3) {
            goto malformed;
        }

        if (chroma == 3) {
            separate = ws_stream_bits_read(&b, 1);
        }

        if (ws_stream_bits_ue(&b) > 6           /* bit_depth_luma */
            || ws_stream_bits_ue(&b) > 6)       /* bit_depth_chroma */
        {
            goto malformed;
        }

        ws_stream_bits_skip(&b, 1);     /* qpprime_y_zero_transform */

        if (ws_stream_bits_read(&b, 1)) {   /* seq_scaling_matrix */

            count = (chroma != 3) ? 8 : 12;

            for (i = 0; i < count && !b.err; i++) {

                if (ws_stream_bits_read(&b, 1) == 0) {
                    continue;
                }

                size = (i < 6) ? 16 : 64;
                last = 8;
                next = 8;

                for (j = 0; j < size && !b.err; j++) {

                    if (next != 0) {
                        delta = ws_stream_bits_se(&b);

                        if (delta < -128 || delta > 127) {
                            goto malformed;
                        }

                        next = (uint32_t) ((int32_t) last + delta + 256) % 256;
                    }

                    last = (next == 0) ? last : next;
                }
            }
        }
    }

    if (ws_stream_bits_ue(&b) > 12) {       /* log2_max_frame_num */
        goto malformed;
    }

    switch (ws_stream_bits_ue(&b)) {        /* pic_order_cnt_type */

    case 0:
        if (ws_stream_bits_ue(&b) > 12) {   /* log2_max_poc_lsb */
            goto malformed;
        }

        break;

    case 1:
        ws_stream_bits_skip(&b, 1);     /* delta_pic_order_always_zero */
        (void) ws_stream_bits_se(&b);   /* offset_for_non_ref_pic */
        (void) ws_stream_bits_se(&b);   /* offset_for_top_to_bottom */

        count = ws_stream_bits_ue(&b);

        if (count > 255) {
            goto malformed;
        }

        for (i = 0; i < count && !b.err; i++) {
            (void) ws_stream_bits_se(&b);
        }

        break;

    case 2:
        break;

    default:
        goto malformed;
    }

    (void) ws_stream_bits_ue(&b);           /* max_num_ref_frames */
    ws_stream_bits_skip(&b, 1);             /* gaps_in_frame_num */

    w = (uint64_t) ws_stream_bits_ue(&b) + 1;
    h = (uint64_t) ws_stream_bits_ue(&b) + 1;

    frame_mbs_only = ws_stream_bits_read(&b, 1);

    if (!frame_mbs_only) {
        ws_stream_bits_skip(&b, 1);         /* mb_adaptive_frame_field */
    }

    ws_stream_bits_skip(&b, 1);             /* direct_8x8_inference */

    crop[0] = crop[1] = crop[2] = crop[3] = 0;

    if (ws_stream_bits_read(&b, 1)) {       /* frame_cropping_flag */
        for (i = 0; i < 4; i++) {
            crop[i] = ws_stream_bits_ue(&b);
        }
    }

    if (b.err) {
        goto malformed;
    }

    pw = w * 16;
    ph = h * 16 * (2 - frame_mbs_only);

    if (pw > WS_STREAM_PIC_MAX || ph > WS_STREAM_PIC_MAX) {
        goto malformed;
    }

    if (separate || chroma == 0) {
        cx = 1;
        cy = 2 - frame_mbs_only;

    } else {
        cx = (chroma == 3) ? 1 : 2;
        cy = ((chroma == 1) ? 2 : 1) * (2 - frame_mbs_only);
    }

    w = ((uint64_t) crop[0] + crop[1]) * cx;
    h = ((uint64_t) crop[2] + crop[3]) * cy;

    if (w >= pw || h >= ph) {
        goto malformed;
    }

    *width = (uint32_t) (pw - w);
    *height = (uint32_t) (ph - h);

    return WS_STREAM_OK;

malformed:

    return WS_STREAM_ERROR;
}


int
ws_stream_hevc_sps(const uint8_t *p, size_t len, uint32_t *width,
    uint32_t *height)
{
    size_t                n;
    uint8_t               buf[WS_STREAM_PS_MAX];
    uint32_t              sub, i, flags, chroma, cx, cy, crop[4];
    uint64_t              pw, ph, w, h;
    ws_stream_bits_t  b;

    if (len < 3 || ((p[0] >> 1) & 0x3f) != 33) {
        return WS_STREAM_ERROR;
    }

    n = ws_stream_unescape(buf, p + 2, len - 2);

    ws_stream_bits_init(&b, buf, n);

    ws_stream_bits_skip(&b, 4);             /* sps_video_parameter_set */
    sub = ws_stream_bits_read(&b, 3);       /* sps_max_sub_layers - 1 */
    ws_stream_bits_skip(&b, 1);             /* temporal_id_nesting */

    /* profile_tier_level(1, sub) */

    ws_stream_bits_skip(&b, 88 + 8);

    flags = 0;

    for (i = 0; i < sub; i++) {
        flags |= ws_stream_bits_read(&b, 2) << (2 * i);
    }

    if (sub > 0) {
        ws_stream_bits_skip(&b, 2 * (8 - sub));
    }

    for (i = 0; i < sub; i++) {
        if (flags & (2 << (2 * i))) {           /* sub_layer_profile */
            ws_stream_bits_skip(&b, 88);
        }

        if (flags & (1 << (2 * i))) {           /* sub_layer_level */
            ws_stream_bits_skip(&b, 8);
        }
    }

    if (ws_stream_bits_ue(&b) > 15) {       /* sps_seq_parameter_set */
        return WS_STREAM_ERROR;
    }

    chroma = ws_stream_bits_ue(&b);

    if (chroma > 3) {
        return WS_STREAM_ERROR;
    }

    if (chroma == 3 && ws_stream_bits_read(&b, 1)) {
        chroma = 0;                             /* separate_colour_plane */
    }

    pw = ws_stream_bits_ue(&b);
    ph = ws_stream_bits_ue(&b);

    crop[0] = crop[1] = crop[2] = crop[3] = 0;

    if (ws_stream_bits_read(&b, 1)) {       /* conformance_window */
        for (i = 0; i < 4; i++) {
            crop[i] = ws_stream_bits_ue(&b);
        }
    }

    if (b.err || pw == 0 || ph == 0
        || pw > WS_STREAM_PIC_MAX || ph > WS_STREAM_PIC_MAX)
    {
        return WS_STREAM_ERROR;
    }

    cx = (chroma == 1 || chroma == 2) ? 2 : 1;
    cy = (chroma == 1) ? 2 : 1;

    w = ((uint64_t) crop[0] + crop[1]) * cx;
    h = ((uint64_t) crop[2] + crop[3]) * cy;

    if (w >= pw || h >= ph) {
        return WS_STREAM_ERROR;
    }

    *width = (uint32_t) (pw - w);
    *height = (uint32_t) (ph - h);

    return WS_STREAM_OK;
}


static size_t
ws_stream_unescape(uint8_t *dst, const uint8_t *src, size_t len)
{
    size_t    i, n, zeros;

    /* removes emulation prevention bytes: 00 00 03 -> 00 00 */

    n = 0;
    zeros = 0;

    for (i = 0; i < len && n < WS_STREAM_PS_MAX; i++) {

        if (zeros >= 2 && src[i] == 3) {
            zeros = 0;
            continue;
        }

        zeros = (src[i] == 0) ? zeros + 1 : 0;
        dst[n++] = src[i];
    }

    return n;
}


void
ws_stream_bits_init(ws_stream_bits_t *b, const uint8_t *p,
    size_t len)
{
    b->p = p;
    b->len = len;
    b->pos = 0;
    b->err = 0;
}


uint32_t
ws_stream_bits_read(ws_stream_bits_t *b, unsigned n)
{
    uint32_t  v;

    v = 0;

    while (n--) {

        if (b->pos >= b->len * 8) {
            b->err = 1;
            return 0;
        }

        v = (v << 1) | ((b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1);
        b->pos++;
    }

    return v;
}


void
ws_stream_bits_skip(ws_stream_bits_t *b, size_t n)
{
    if (n > b->len * 8 - b->pos) {
        b->err = 1;
        b->pos = b->len * 8;
        return;
    }

    b->pos += n;
}


uint32_t
ws_stream_bits_ue(ws_stream_bits_t *b)
{
    unsigned  zeros;

    /* exp-Golomb: up to 31 leading zero bits, so the value fits */

    for (zeros = 0; ws_stream_bits_read(b, 1) == 0; zeros++) {

        if (b->err || zeros == 31) {
            b->err = 1;
            return 0;
        }
    }

    if (zeros == 0) {
        return 0;
    }

    return ((uint32_t) 1 << zeros) - 1 + ws_stream_bits_read(b, zeros);
}


int32_t
ws_stream_bits_se(ws_stream_bits_t *b)
{
    uint32_t  k;

    k = ws_stream_bits_ue(b);

    if (k & 1) {
        return (int32_t) ((k >> 1) + 1);
    }

    return -(int32_t) (k >> 1);
}
