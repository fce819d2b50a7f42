
/*
 * Copyright (C) ngx_ws_stream authors
 */


#include <stdio.h>

#include "ws_stream_flv.h"
#include "ws_stream_sps.h"


static int ws_stream_flv_avcc(const uint8_t *p, size_t len,
    ws_stream_flv_info_t *info);
static int ws_stream_flv_hvcc(const uint8_t *p, size_t len,
    ws_stream_flv_info_t *info);
static int ws_stream_flv_video_config(const uint8_t *p, size_t len,
    ws_stream_flv_info_t *info);
static int32_t ws_stream_flv_cts(const uint8_t *p);
static int ws_stream_flv_asc(const uint8_t *p, size_t len,
    ws_stream_flv_info_t *info);
static uint32_t ws_stream_flv_asc_rate(ws_stream_bits_t *b);
static uint32_t ws_stream_flv_asc_aot(ws_stream_bits_t *b);
static void ws_stream_flv_mp3(const uint8_t *p, size_t len,
    ws_stream_flv_info_t *info);
static int ws_stream_flv_error(ws_stream_flv_info_t *info,
    const char *error);


static const uint32_t  ws_stream_aac_rates[13] = {
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000,
    11025, 8000, 7350
};

static const uint8_t  ws_stream_aac_channels[16] = {
    0, 1, 2, 3, 4, 5, 6, 8, 0, 0, 0, 7, 8, 0, 8, 0
};

static const uint32_t  ws_stream_flv_rates[4] = {
    5512, 11025, 22050, 44100
};

static const uint32_t  ws_stream_mp3_rates[3] = {
    44100, 48000, 32000
};


int
ws_stream_flv_parse_video(const uint8_t *p, size_t len,
    ws_stream_flv_info_t *info)
{
    unsigned  frame, type;
    uint32_t  fourcc;

    memset(info, 0, sizeof(ws_stream_flv_info_t));

    info->track = WS_STREAM_TRACK_VIDEO;

    if (len < 1) {
        return ws_stream_flv_error(info, "truncated video tag");
    }

    if (p[0] & 0x80) {

        /* enhanced RTMP: ExVideoTagHeader */

        frame = (p[0] >> 4) & 0x07;
        type = p[0] & 0x0f;

        if (frame == 0 || frame > 5) {
            return ws_stream_flv_error(info, "invalid video frame type");
        }

        if (frame == 5 && type != 4) {
            /* video command frame: no FourCC, no media */
            return WS_STREAM_OK;
        }

        if (len < 5) {
            return ws_stream_flv_error(info, "truncated video tag");
        }

        fourcc = ws_stream_rb32(p + 1);

        if (fourcc == 0x61766331) {             /* "avc1" */
            info->codec = WS_STREAM_CODEC_AVC;

        } else if (fourcc == 0x68766331) {      /* "hvc1" */
            info->codec = WS_STREAM_CODEC_HEVC;

        } else {
            return ws_stream_flv_error(info, "unsupported video codec");
        }

        if (frame == 1 && type != 4) {
            info->flags |= WS_STREAM_FLAG_KEY;
        }

        switch (type) {

        case 0:     /* SequenceStart */
            info->data = 5;
            return ws_stream_flv_video_config(p + 5, len - 5, info);

        case 1:     /* CodedFrames */
            if (len < 8) {
                return ws_stream_flv_error(info, "truncated video tag");
            }

            info->cts = ws_stream_flv_cts(p + 5);
            info->data = 8;

            return WS_STREAM_OK;

        case 2:     /* SequenceEnd */
            info->end = 1;
            return WS_STREAM_OK;

        case 3:     /* CodedFramesX */
            info->data = 5;
            return WS_STREAM_OK;

        case 4:     /* Metadata */
            return WS_STREAM_OK;

        default:
            return ws_stream_flv_error(info,
                                           "unsupported video packet type");
        }
    }

    /* legacy VideoTagHeader */

    frame = p[0] >> 4;
    info->codec = p[0] & 0x0f;

    if (info->codec != WS_STREAM_CODEC_AVC
        && info->codec != WS_STREAM_CODEC_HEVC)
    {
        return ws_stream_flv_error(info, "unsupported video codec");
    }

    if (frame == 0 || frame > 5) {
        return ws_stream_flv_error(info, "invalid video frame type");
    }

    if (frame == 5) {
        /* video info/command frame: no packet type, no media */
        return WS_STREAM_OK;
    }

    if (len < 5) {
        return ws_stream_flv_error(info, "truncated video tag");
    }

    if (frame == 1) {
        info->flags |= WS_STREAM_FLAG_KEY;
    }

    info->cts = ws_stream_flv_cts(p + 2);
    info->data = 5;

    switch (p[1]) {

    case 0:
        return ws_stream_flv_video_config(p + 5, len - 5, info);

    case 1:
        return WS_STREAM_OK;

    case 2:
        info->end = 1;
        return WS_STREAM_OK;

    default:
        return ws_stream_flv_error(info, "invalid video packet type");
    }
}


static int
ws_stream_flv_video_config(const uint8_t *p, size_t len,
    ws_stream_flv_info_t *info)
{
    info->flags |= WS_STREAM_FLAG_CONFIG;

    if (info->codec == WS_STREAM_CODEC_AVC) {
        return ws_stream_flv_avcc(p, len, info);
    }

    return ws_stream_flv_hvcc(p, len, info);
}


static int
ws_stream_flv_avcc(const uint8_t *p, size_t len,
    ws_stream_flv_info_t *info)
{
    size_t  n;

    /*
     * AVCDecoderConfigurationRecord: version, profile, compatibility,
     * level, length size, number of SPS, then 16-bit length and SPS
     */

    if (len < 6) {
        return ws_stream_flv_error(info, "truncated AVC configuration");
    }

    if (p[0] != 1) {
        return ws_stream_flv_error(info, "unsupported AVC version");
    }

    (void) snprintf(info->codec_string, sizeof(info->codec_string),
                    "avc1.%02x%02x%02x", p[1], p[2], p[3]);

    if ((p[5] & 0x1f) == 0) {
        return ws_stream_flv_error(info, "no SPS in AVC configuration");
    }

    if (len < 8) {
        return ws_stream_flv_error(info, "truncated AVC configuration");
    }

    n = ws_stream_rb16(p + 6);

    if (n > len - 8) {
        return ws_stream_flv_error(info, "truncated AVC configuration");
    }

    if (ws_stream_avc_sps(p + 8, n, &info->width, &info->height)
        != WS_STREAM_OK)
    {
        return ws_stream_flv_error(info, "malformed SPS");
    }

    return WS_STREAM_OK;
}


static int
ws_stream_flv_hvcc(const uint8_t *p, size_t len,
    ws_stream_flv_info_t *info)
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
        return ws_stream_flv_error(info, "truncated HEVC configuration");
    }

    if (p[0] != 1) {
        return ws_stream_flv_error(info, "unsupported HEVC version");
    }

    /* ISO/IEC 14496-15 Annex E: hvc1.A1.6.L93.B0 */

    compat = ws_stream_rb32(p + 2);
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
            return ws_stream_flv_error(info,
                                           "truncated HEVC configuration");
        }

        type = p[k] & 0x3f;
        nalus = ws_stream_rb16(p + k + 1);
        k += 3;

        for (n = 0; n < nalus; n++) {

            if (len - k < 2) {
                return ws_stream_flv_error(info,
                                               "truncated HEVC configuration");
            }

            nlen = ws_stream_rb16(p + k);
            k += 2;

            if (nlen > len - k) {
                return ws_stream_flv_error(info,
                                               "truncated HEVC configuration");
            }

            if (type == 33 && info->width == 0) {
                /* a size failure is not fatal: width and height stay 0 */
                (void) ws_stream_hevc_sps(p + k, nlen, &info->width,
                                              &info->height);
            }

            k += nlen;
        }
    }

    return WS_STREAM_OK;
}


int
ws_stream_flv_parse_audio(const uint8_t *p, size_t len,
    ws_stream_flv_info_t *info)
{
    memset(info, 0, sizeof(ws_stream_flv_info_t));

    info->track = WS_STREAM_TRACK_AUDIO;

    if (len < 1) {
        return ws_stream_flv_error(info, "truncated audio tag");
    }

    /* every audio frame is a sync point */
    info->flags = WS_STREAM_FLAG_KEY;

    switch (p[0] >> 4) {

    case WS_STREAM_CODEC_AAC:
        info->codec = WS_STREAM_CODEC_AAC;

        if (len < 2) {
            return ws_stream_flv_error(info, "truncated audio tag");
        }

        info->data = 2;

        if (p[1] == 1) {
            return WS_STREAM_OK;
        }

        if (p[1] != 0) {
            return ws_stream_flv_error(info, "invalid AAC packet type");
        }

        info->flags |= WS_STREAM_FLAG_CONFIG;

        return ws_stream_flv_asc(p + 2, len - 2, info);

    case WS_STREAM_CODEC_MP3:
    case 14:                                    /* MP3 8 kHz */
        info->codec = WS_STREAM_CODEC_MP3;

        memcpy(info->codec_string, "mp4a.6b", sizeof("mp4a.6b"));

        info->sample_rate = ((p[0] >> 4) == 14)
                            ? 8000 : ws_stream_flv_rates[(p[0] >> 2) & 3];
        info->channels = (p[0] & 1) ? 2 : 1;
        info->data = 1;

        ws_stream_flv_mp3(p + 1, len - 1, info);

        return WS_STREAM_OK;

    default:
        return ws_stream_flv_error(info, "unsupported audio codec");
    }
}


static int
ws_stream_flv_asc(const uint8_t *p, size_t len,
    ws_stream_flv_info_t *info)
{
    uint32_t              aot, rate, chan;
    ws_stream_bits_t  b;

    ws_stream_bits_init(&b, p, len);

    aot = ws_stream_flv_asc_aot(&b);
    rate = ws_stream_flv_asc_rate(&b);
    chan = ws_stream_bits_read(&b, 4);

    if (b.err) {
        return ws_stream_flv_error(info, "truncated AAC configuration");
    }

    if (aot == 0) {
        return ws_stream_flv_error(info, "invalid AAC object type");
    }

    if (rate == 0) {
        return ws_stream_flv_error(info, "invalid AAC sampling frequency");
    }

    info->sample_rate = rate;
    info->channels = ws_stream_aac_channels[chan];

    if (aot == 5 || aot == 29) {

        /* explicit SBR (HE-AAC), PS (HE-AACv2): the output rate follows */

        rate = ws_stream_flv_asc_rate(&b);
        (void) ws_stream_flv_asc_aot(&b);

        if (b.err) {
            return ws_stream_flv_error(info,
                                           "truncated AAC configuration");
        }

        if (rate == 0) {
            return ws_stream_flv_error(info,
                                           "invalid AAC sampling frequency");
        }

        info->sample_rate = rate;

        if (aot == 29 && info->channels == 1) {
            info->channels = 2;
        }
    }

    (void) snprintf(info->codec_string, sizeof(info->codec_string),
                    "mp4a.40.%u", (unsigned) aot);

    return WS_STREAM_OK;
}


static uint32_t
ws_stream_flv_asc_aot(ws_stream_bits_t *b)
{
    uint32_t  aot;

    aot = ws_stream_bits_read(b, 5);

    if (aot == 31) {
        aot = 32 + ws_stream_bits_read(b, 6);
    }

    return aot;
}


static uint32_t
ws_stream_flv_asc_rate(ws_stream_bits_t *b)
{
    uint32_t  index;

    index = ws_stream_bits_read(b, 4);

    if (index == 0x0f) {
        return ws_stream_bits_read(b, 24);
    }

    if (index >= 13) {
        return 0;
    }

    return ws_stream_aac_rates[index];
}


static void
ws_stream_flv_mp3(const uint8_t *p, size_t len,
    ws_stream_flv_info_t *info)
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

    info->sample_rate = ws_stream_mp3_rates[index]
                        >> (version == 3 ? 0 : (version == 2 ? 1 : 2));
    info->channels = ((p[3] >> 6) == 3) ? 1 : 2;
}


static int32_t
ws_stream_flv_cts(const uint8_t *p)
{
    uint32_t  v;

    /* signed 24-bit */

    v = ws_stream_rb24(p);

    if (v & 0x800000) {
        return (int32_t) v - 0x1000000;
    }

    return (int32_t) v;
}


static int
ws_stream_flv_error(ws_stream_flv_info_t *info, const char *error)
{
    info->error = error;

    return WS_STREAM_ERROR;
}
