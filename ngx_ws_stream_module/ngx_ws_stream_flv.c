
/*
 * Copyright (C) ngx_ws_stream authors
 */


#include <stdio.h>

#include "ngx_ws_stream_flv.h"


/* the part of a parameter set that is copied and unescaped for parsing */
#define NGX_WS_STREAM_PS_MAX        1024

/* sanity limits of the coded picture size, in pixels */
#define NGX_WS_STREAM_PIC_MAX       65536


typedef struct {
    const uint8_t   *p;
    size_t           len;           /* bytes */
    size_t           pos;           /* bits */
    unsigned         err;
} ngx_ws_stream_bits_t;


static void ngx_ws_stream_bits_init(ngx_ws_stream_bits_t *b, const uint8_t *p,
    size_t len);
static uint32_t ngx_ws_stream_bits_read(ngx_ws_stream_bits_t *b, unsigned n);
static void ngx_ws_stream_bits_skip(ngx_ws_stream_bits_t *b, size_t n);
static uint32_t ngx_ws_stream_bits_ue(ngx_ws_stream_bits_t *b);
static int32_t ngx_ws_stream_bits_se(ngx_ws_stream_bits_t *b);
static size_t ngx_ws_stream_unescape(uint8_t *dst, const uint8_t *src,
    size_t len);
static int ngx_ws_stream_flv_avcc(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info);
static int ngx_ws_stream_flv_avc_sps(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info);
static int ngx_ws_stream_flv_hvcc(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info);
static int ngx_ws_stream_flv_hevc_sps(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info);
static int ngx_ws_stream_flv_video_config(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info);
static int32_t ngx_ws_stream_flv_cts(const uint8_t *p);
static int ngx_ws_stream_flv_asc(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info);
static uint32_t ngx_ws_stream_flv_asc_rate(ngx_ws_stream_bits_t *b);
static uint32_t ngx_ws_stream_flv_asc_aot(ngx_ws_stream_bits_t *b);
static void ngx_ws_stream_flv_mp3(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info);
static int ngx_ws_stream_flv_error(ngx_ws_stream_flv_info_t *info,
    const char *error);


static const uint32_t  ngx_ws_stream_aac_rates[13] = {
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000,
    11025, 8000, 7350
};

static const uint8_t  ngx_ws_stream_aac_channels[16] = {
    0, 1, 2, 3, 4, 5, 6, 8, 0, 0, 0, 7, 8, 0, 8, 0
};

static const uint32_t  ngx_ws_stream_flv_rates[4] = {
    5512, 11025, 22050, 44100
};

static const uint32_t  ngx_ws_stream_mp3_rates[3] = {
    44100, 48000, 32000
};


int
ngx_ws_stream_flv_parse_video(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info)
{
    unsigned  frame, type;
    uint32_t  fourcc;

    memset(info, 0, sizeof(ngx_ws_stream_flv_info_t));

    info->track = NGX_WS_STREAM_TRACK_VIDEO;

    if (len < 1) {
        return ngx_ws_stream_flv_error(info, "truncated video tag");
    }

    if (p[0] & 0x80) {

        /* enhanced RTMP: ExVideoTagHeader */

        frame = (p[0] >> 4) & 0x07;
        type = p[0] & 0x0f;

        if (frame == 0 || frame > 5) {
            return ngx_ws_stream_flv_error(info, "invalid video frame type");
        }

        if (frame == 5 && type != 4) {
            /* video command frame: no FourCC, no media */
            return NGX_WS_STREAM_OK;
        }

        if (len < 5) {
            return ngx_ws_stream_flv_error(info, "truncated video tag");
        }

        fourcc = ngx_ws_stream_rb32(p + 1);

        if (fourcc == 0x61766331) {             /* "avc1" */
            info->codec = NGX_WS_STREAM_CODEC_AVC;

        } else if (fourcc == 0x68766331) {      /* "hvc1" */
            info->codec = NGX_WS_STREAM_CODEC_HEVC;

        } else {
            return ngx_ws_stream_flv_error(info, "unsupported video codec");
        }

        if (frame == 1 && type != 4) {
            info->flags |= NGX_WS_STREAM_FLAG_KEY;
        }

        switch (type) {

        case 0:     /* SequenceStart */
            return ngx_ws_stream_flv_video_config(p + 5, len - 5, info);

        case 1:     /* CodedFrames */
            if (len < 8) {
                return ngx_ws_stream_flv_error(info, "truncated video tag");
            }

            info->cts = ngx_ws_stream_flv_cts(p + 5);

            return NGX_WS_STREAM_OK;

        case 2:     /* SequenceEnd */
            info->end = 1;
            return NGX_WS_STREAM_OK;

        case 3:     /* CodedFramesX */
            return NGX_WS_STREAM_OK;

        case 4:     /* Metadata */
            return NGX_WS_STREAM_OK;

        default:
            return ngx_ws_stream_flv_error(info,
                                           "unsupported video packet type");
        }
    }

    /* legacy VideoTagHeader */

    frame = p[0] >> 4;
    info->codec = p[0] & 0x0f;

    if (info->codec != NGX_WS_STREAM_CODEC_AVC
        && info->codec != NGX_WS_STREAM_CODEC_HEVC)
    {
        return ngx_ws_stream_flv_error(info, "unsupported video codec");
    }

    if (frame == 0 || frame > 5) {
        return ngx_ws_stream_flv_error(info, "invalid video frame type");
    }

    if (frame == 5) {
        /* video info/command frame: no packet type, no media */
        return NGX_WS_STREAM_OK;
    }

    if (len < 5) {
        return ngx_ws_stream_flv_error(info, "truncated video tag");
    }

    if (frame == 1) {
        info->flags |= NGX_WS_STREAM_FLAG_KEY;
    }

    info->cts = ngx_ws_stream_flv_cts(p + 2);

    switch (p[1]) {

    case 0:
        return ngx_ws_stream_flv_video_config(p + 5, len - 5, info);

    case 1:
        return NGX_WS_STREAM_OK;

    case 2:
        info->end = 1;
        return NGX_WS_STREAM_OK;

    default:
        return ngx_ws_stream_flv_error(info, "invalid video packet type");
    }
}


static int
ngx_ws_stream_flv_video_config(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info)
{
    info->flags |= NGX_WS_STREAM_FLAG_CONFIG;

    if (info->codec == NGX_WS_STREAM_CODEC_AVC) {
        return ngx_ws_stream_flv_avcc(p, len, info);
    }

    return ngx_ws_stream_flv_hvcc(p, len, info);
}


static int
ngx_ws_stream_flv_avcc(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info)
{
    size_t  n;

    /*
     * AVCDecoderConfigurationRecord: version, profile, compatibility,
     * level, length size, number of SPS, then 16-bit length and SPS
     */

    if (len < 6) {
        return ngx_ws_stream_flv_error(info, "truncated AVC configuration");
    }

    if (p[0] != 1) {
        return ngx_ws_stream_flv_error(info, "unsupported AVC version");
    }

    (void) snprintf(info->codec_string, sizeof(info->codec_string),
                    "avc1.%02x%02x%02x", p[1], p[2], p[3]);

    if ((p[5] & 0x1f) == 0) {
        return ngx_ws_stream_flv_error(info, "no SPS in AVC configuration");
    }

    if (len < 8) {
        return ngx_ws_stream_flv_error(info, "truncated AVC configuration");
    }

    n = ngx_ws_stream_rb16(p + 6);

    if (n > len - 8) {
        return ngx_ws_stream_flv_error(info, "truncated AVC configuration");
    }

    return ngx_ws_stream_flv_avc_sps(p + 8, n, info);
}


static int
ngx_ws_stream_flv_avc_sps(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info)
{
    size_t                n;
    int32_t               delta;
    uint8_t               buf[NGX_WS_STREAM_PS_MAX];
    uint32_t              profile, chroma, separate, frame_mbs_only, i, j,
                          count, size, last, next, cx, cy, crop[4];
    uint64_t              width, height, w, h;
    ngx_ws_stream_bits_t  b;

    if (len < 4 || (p[0] & 0x1f) != 7) {
        return ngx_ws_stream_flv_error(info, "malformed SPS");
    }

    /* skip the NAL header, remove emulation prevention bytes */

    n = ngx_ws_stream_unescape(buf, p + 1, len - 1);

    ngx_ws_stream_bits_init(&b, buf, n);

    profile = ngx_ws_stream_bits_read(&b, 8);
    ngx_ws_stream_bits_skip(&b, 16);            /* constraints, level */

    if (ngx_ws_stream_bits_ue(&b) > 31) {       /* seq_parameter_set_id */
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
        chroma = ngx_ws_stream_bits_ue(&b);

        if (chroma > 3) {
            goto malformed;
        }

        if (chroma == 3) {
            separate = ngx_ws_stream_bits_read(&b, 1);
        }

        if (ngx_ws_stream_bits_ue(&b) > 6           /* bit_depth_luma */
            || ngx_ws_stream_bits_ue(&b) > 6)       /* bit_depth_chroma */
        {
            goto malformed;
        }

        ngx_ws_stream_bits_skip(&b, 1);     /* qpprime_y_zero_transform */

        if (ngx_ws_stream_bits_read(&b, 1)) {   /* seq_scaling_matrix */

            count = (chroma != 3) ? 8 : 12;

            for (i = 0; i < count && !b.err; i++) {

                if (ngx_ws_stream_bits_read(&b, 1) == 0) {
                    continue;
                }

                size = (i < 6) ? 16 : 64;
                last = 8;
                next = 8;

                for (j = 0; j < size && !b.err; j++) {

                    if (next != 0) {
                        delta = ngx_ws_stream_bits_se(&b);

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

    if (ngx_ws_stream_bits_ue(&b) > 12) {       /* log2_max_frame_num */
        goto malformed;
    }

    switch (ngx_ws_stream_bits_ue(&b)) {        /* pic_order_cnt_type */

    case 0:
        if (ngx_ws_stream_bits_ue(&b) > 12) {   /* log2_max_poc_lsb */
            goto malformed;
        }

        break;

    case 1:
        ngx_ws_stream_bits_skip(&b, 1);     /* delta_pic_order_always_zero */
        (void) ngx_ws_stream_bits_se(&b);   /* offset_for_non_ref_pic */
        (void) ngx_ws_stream_bits_se(&b);   /* offset_for_top_to_bottom */

        count = ngx_ws_stream_bits_ue(&b);

        if (count > 255) {
            goto malformed;
        }

        for (i = 0; i < count && !b.err; i++) {
            (void) ngx_ws_stream_bits_se(&b);
        }

        break;

    case 2:
        break;

    default:
        goto malformed;
    }

    (void) ngx_ws_stream_bits_ue(&b);           /* max_num_ref_frames */
    ngx_ws_stream_bits_skip(&b, 1);             /* gaps_in_frame_num */

    w = (uint64_t) ngx_ws_stream_bits_ue(&b) + 1;
    h = (uint64_t) ngx_ws_stream_bits_ue(&b) + 1;

    frame_mbs_only = ngx_ws_stream_bits_read(&b, 1);

    if (!frame_mbs_only) {
        ngx_ws_stream_bits_skip(&b, 1);         /* mb_adaptive_frame_field */
    }

    ngx_ws_stream_bits_skip(&b, 1);             /* direct_8x8_inference */

    crop[0] = crop[1] = crop[2] = crop[3] = 0;

    if (ngx_ws_stream_bits_read(&b, 1)) {       /* frame_cropping_flag */
        for (i = 0; i < 4; i++) {
            crop[i] = ngx_ws_stream_bits_ue(&b);
        }
    }

    if (b.err) {
        goto malformed;
    }

    width = w * 16;
    height = h * 16 * (2 - frame_mbs_only);

    if (width > NGX_WS_STREAM_PIC_MAX || height > NGX_WS_STREAM_PIC_MAX) {
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

    if (w >= width || h >= height) {
        goto malformed;
    }

    info->width = (uint32_t) (width - w);
    info->height = (uint32_t) (height - h);

    return NGX_WS_STREAM_OK;

malformed:

    return ngx_ws_stream_flv_error(info, "malformed SPS");
}


static int
ngx_ws_stream_flv_hvcc(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info)
{
    char      *s, *end;
    size_t     i, n, k, arrays, nalus, nlen;
    uint32_t   compat, rev;
    unsigned   type;

    static const char  *spaces[4] = { "", "A", "B", "C" };

    /*
     * HEVCDecoderConfigurationRecord: 23 bytes of general profile, tier,
     * level and stream properties, then arrays of parameter sets
     */

    if (len < 23) {
        return ngx_ws_stream_flv_error(info, "truncated HEVC configuration");
    }

    if (p[0] != 1) {
        return ngx_ws_stream_flv_error(info, "unsupported HEVC version");
    }

    /* ISO/IEC 14496-15 Annex E: hvc1.A1.6.L93.B0 */

    compat = ngx_ws_stream_rb32(p + 2);
    rev = 0;

    for (i = 0; i < 32; i++) {
        rev |= ((compat >> i) & 1) << (31 - i);
    }

    s = info->codec_string;
    end = s + sizeof(info->codec_string);

    s += snprintf(s, end - s, "hvc1.%s%u.%x.%c%u", spaces[p[1] >> 6],
                  (unsigned) (p[1] & 0x1f), (unsigned) rev,
                  (p[1] & 0x20) ? 'H' : 'L', (unsigned) p[12]);

    /* constraint bytes, trailing zero bytes omitted */

    for (n = 6; n > 0 && p[6 + n - 1] == 0; n--) { /* void */ }

    for (i = 0; i < n && end - s > 3; i++) {
        s += snprintf(s, end - s, ".%02X", (unsigned) p[6 + i]);
    }

    /* parameter set arrays: the first SPS gives the picture size */

    arrays = p[22];
    k = 23;

    for (i = 0; i < arrays; i++) {

        if (len - k < 3) {
            return ngx_ws_stream_flv_error(info,
                                           "truncated HEVC configuration");
        }

        type = p[k] & 0x3f;
        nalus = ngx_ws_stream_rb16(p + k + 1);
        k += 3;

        for (n = 0; n < nalus; n++) {

            if (len - k < 2) {
                return ngx_ws_stream_flv_error(info,
                                               "truncated HEVC configuration");
            }

            nlen = ngx_ws_stream_rb16(p + k);
            k += 2;

            if (nlen > len - k) {
                return ngx_ws_stream_flv_error(info,
                                               "truncated HEVC configuration");
            }

            if (type == 33 && info->width == 0) {
                /* a size failure is not fatal: width and height stay 0 */
                (void) ngx_ws_stream_flv_hevc_sps(p + k, nlen, info);
            }

            k += nlen;
        }
    }

    return NGX_WS_STREAM_OK;
}


static int
ngx_ws_stream_flv_hevc_sps(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info)
{
    size_t                n;
    uint8_t               buf[NGX_WS_STREAM_PS_MAX];
    uint32_t              sub, i, flags, chroma, cx, cy, crop[4];
    uint64_t              width, height, w, h;
    ngx_ws_stream_bits_t  b;

    if (len < 3 || ((p[0] >> 1) & 0x3f) != 33) {
        return NGX_WS_STREAM_ERROR;
    }

    n = ngx_ws_stream_unescape(buf, p + 2, len - 2);

    ngx_ws_stream_bits_init(&b, buf, n);

    ngx_ws_stream_bits_skip(&b, 4);             /* sps_video_parameter_set */
    sub = ngx_ws_stream_bits_read(&b, 3);       /* sps_max_sub_layers - 1 */
    ngx_ws_stream_bits_skip(&b, 1);             /* temporal_id_nesting */

    /* profile_tier_level(1, sub) */

    ngx_ws_stream_bits_skip(&b, 88 + 8);

    flags = 0;

    for (i = 0; i < sub; i++) {
        flags |= ngx_ws_stream_bits_read(&b, 2) << (2 * i);
    }

    if (sub > 0) {
        ngx_ws_stream_bits_skip(&b, 2 * (8 - sub));
    }

    for (i = 0; i < sub; i++) {
        if (flags & (2 << (2 * i))) {           /* sub_layer_profile */
            ngx_ws_stream_bits_skip(&b, 88);
        }

        if (flags & (1 << (2 * i))) {           /* sub_layer_level */
            ngx_ws_stream_bits_skip(&b, 8);
        }
    }

    if (ngx_ws_stream_bits_ue(&b) > 15) {       /* sps_seq_parameter_set */
        return NGX_WS_STREAM_ERROR;
    }

    chroma = ngx_ws_stream_bits_ue(&b);

    if (chroma > 3) {
        return NGX_WS_STREAM_ERROR;
    }

    if (chroma == 3 && ngx_ws_stream_bits_read(&b, 1)) {
        chroma = 0;                             /* separate_colour_plane */
    }

    width = ngx_ws_stream_bits_ue(&b);
    height = ngx_ws_stream_bits_ue(&b);

    crop[0] = crop[1] = crop[2] = crop[3] = 0;

    if (ngx_ws_stream_bits_read(&b, 1)) {       /* conformance_window */
        for (i = 0; i < 4; i++) {
            crop[i] = ngx_ws_stream_bits_ue(&b);
        }
    }

    if (b.err || width == 0 || height == 0
        || width > NGX_WS_STREAM_PIC_MAX || height > NGX_WS_STREAM_PIC_MAX)
    {
        return NGX_WS_STREAM_ERROR;
    }

    cx = (chroma == 1 || chroma == 2) ? 2 : 1;
    cy = (chroma == 1) ? 2 : 1;

    w = ((uint64_t) crop[0] + crop[1]) * cx;
    h = ((uint64_t) crop[2] + crop[3]) * cy;

    if (w >= width || h >= height) {
        return NGX_WS_STREAM_ERROR;
    }

    info->width = (uint32_t) (width - w);
    info->height = (uint32_t) (height - h);

    return NGX_WS_STREAM_OK;
}


int
ngx_ws_stream_flv_parse_audio(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info)
{
    memset(info, 0, sizeof(ngx_ws_stream_flv_info_t));

    info->track = NGX_WS_STREAM_TRACK_AUDIO;

    if (len < 1) {
        return ngx_ws_stream_flv_error(info, "truncated audio tag");
    }

    /* every audio frame is a sync point */
    info->flags = NGX_WS_STREAM_FLAG_KEY;

    switch (p[0] >> 4) {

    case NGX_WS_STREAM_CODEC_AAC:
        info->codec = NGX_WS_STREAM_CODEC_AAC;

        if (len < 2) {
            return ngx_ws_stream_flv_error(info, "truncated audio tag");
        }

        if (p[1] == 1) {
            return NGX_WS_STREAM_OK;
        }

        if (p[1] != 0) {
            return ngx_ws_stream_flv_error(info, "invalid AAC packet type");
        }

        info->flags |= NGX_WS_STREAM_FLAG_CONFIG;

        return ngx_ws_stream_flv_asc(p + 2, len - 2, info);

    case NGX_WS_STREAM_CODEC_MP3:
    case 14:                                    /* MP3 8 kHz */
        info->codec = NGX_WS_STREAM_CODEC_MP3;

        memcpy(info->codec_string, "mp4a.6b", sizeof("mp4a.6b"));

        info->sample_rate = ((p[0] >> 4) == 14)
                            ? 8000 : ngx_ws_stream_flv_rates[(p[0] >> 2) & 3];
        info->channels = (p[0] & 1) ? 2 : 1;

        ngx_ws_stream_flv_mp3(p + 1, len - 1, info);

        return NGX_WS_STREAM_OK;

    default:
        return ngx_ws_stream_flv_error(info, "unsupported audio codec");
    }
}


static int
ngx_ws_stream_flv_asc(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info)
{
    uint32_t              aot, rate, chan;
    ngx_ws_stream_bits_t  b;

    ngx_ws_stream_bits_init(&b, p, len);

    aot = ngx_ws_stream_flv_asc_aot(&b);
    rate = ngx_ws_stream_flv_asc_rate(&b);
    chan = ngx_ws_stream_bits_read(&b, 4);

    if (b.err) {
        return ngx_ws_stream_flv_error(info, "truncated AAC configuration");
    }

    if (aot == 0) {
        return ngx_ws_stream_flv_error(info, "invalid AAC object type");
    }

    if (rate == 0) {
        return ngx_ws_stream_flv_error(info, "invalid AAC sampling frequency");
    }

    info->sample_rate = rate;
    info->channels = ngx_ws_stream_aac_channels[chan];

    if (aot == 5 || aot == 29) {

        /* explicit SBR (HE-AAC), PS (HE-AACv2): the output rate follows */

        rate = ngx_ws_stream_flv_asc_rate(&b);
        (void) ngx_ws_stream_flv_asc_aot(&b);

        if (b.err) {
            return ngx_ws_stream_flv_error(info,
                                           "truncated AAC configuration");
        }

        if (rate == 0) {
            return ngx_ws_stream_flv_error(info,
                                           "invalid AAC sampling frequency");
        }

        info->sample_rate = rate;

        if (aot == 29 && info->channels == 1) {
            info->channels = 2;
        }
    }

    (void) snprintf(info->codec_string, sizeof(info->codec_string),
                    "mp4a.40.%u", (unsigned) aot);

    return NGX_WS_STREAM_OK;
}


static uint32_t
ngx_ws_stream_flv_asc_aot(ngx_ws_stream_bits_t *b)
{
    uint32_t  aot;

    aot = ngx_ws_stream_bits_read(b, 5);

    if (aot == 31) {
        aot = 32 + ngx_ws_stream_bits_read(b, 6);
    }

    return aot;
}


static uint32_t
ngx_ws_stream_flv_asc_rate(ngx_ws_stream_bits_t *b)
{
    uint32_t  index;

    index = ngx_ws_stream_bits_read(b, 4);

    if (index == 0x0f) {
        return ngx_ws_stream_bits_read(b, 24);
    }

    if (index >= 13) {
        return 0;
    }

    return ngx_ws_stream_aac_rates[index];
}


static void
ngx_ws_stream_flv_mp3(const uint8_t *p, size_t len,
    ngx_ws_stream_flv_info_t *info)
{
    unsigned  version, layer, index;

    /* an MPEG audio frame header, if the tag starts with one */

    if (len < 4 || p[0] != 0xff || (p[1] & 0xe0) != 0xe0) {
        return;
    }

    version = (p[1] >> 3) & 3;      /* 0 MPEG 2.5, 2 MPEG 2, 3 MPEG 1 */
    layer = (p[1] >> 1) & 3;
    index = (p[2] >> 2) & 3;

    if (version == 1 || layer == 0 || index == 3) {
        return;
    }

    info->sample_rate = ngx_ws_stream_mp3_rates[index]
                        >> (version == 3 ? 0 : (version == 2 ? 1 : 2));
    info->channels = ((p[3] >> 6) == 3) ? 1 : 2;
}


static int32_t
ngx_ws_stream_flv_cts(const uint8_t *p)
{
    uint32_t  v;

    /* signed 24-bit */

    v = ngx_ws_stream_rb24(p);

    if (v & 0x800000) {
        return (int32_t) v - 0x1000000;
    }

    return (int32_t) v;
}


static int
ngx_ws_stream_flv_error(ngx_ws_stream_flv_info_t *info, const char *error)
{
    info->error = error;

    return NGX_WS_STREAM_ERROR;
}


static size_t
ngx_ws_stream_unescape(uint8_t *dst, const uint8_t *src, size_t len)
{
    size_t    i, n, zeros;

    /* removes emulation prevention bytes: 00 00 03 -> 00 00 */

    n = 0;
    zeros = 0;

    for (i = 0; i < len && n < NGX_WS_STREAM_PS_MAX; i++) {

        if (zeros >= 2 && src[i] == 3) {
            zeros = 0;
            continue;
        }

        zeros = (src[i] == 0) ? zeros + 1 : 0;
        dst[n++] = src[i];
    }

    return n;
}


static void
ngx_ws_stream_bits_init(ngx_ws_stream_bits_t *b, const uint8_t *p,
    size_t len)
{
    b->p = p;
    b->len = len;
    b->pos = 0;
    b->err = 0;
}


static uint32_t
ngx_ws_stream_bits_read(ngx_ws_stream_bits_t *b, unsigned n)
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


static void
ngx_ws_stream_bits_skip(ngx_ws_stream_bits_t *b, size_t n)
{
    if (n > b->len * 8 - b->pos) {
        b->err = 1;
        b->pos = b->len * 8;
        return;
    }

    b->pos += n;
}


static uint32_t
ngx_ws_stream_bits_ue(ngx_ws_stream_bits_t *b)
{
    unsigned  zeros;

    /* exp-Golomb: up to 31 leading zero bits, so the value fits */

    for (zeros = 0; ngx_ws_stream_bits_read(b, 1) == 0; zeros++) {

        if (b->err || zeros == 31) {
            b->err = 1;
            return 0;
        }
    }

    if (zeros == 0) {
        return 0;
    }

    return ((uint32_t) 1 << zeros) - 1 + ngx_ws_stream_bits_read(b, zeros);
}


static int32_t
ngx_ws_stream_bits_se(ngx_ws_stream_bits_t *b)
{
    uint32_t  k;

    k = ngx_ws_stream_bits_ue(b);

    if (k & 1) {
        return (int32_t) ((k >> 1) + 1);
    }

    return -(int32_t) (k >> 1);
}
