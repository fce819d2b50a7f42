
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * FLV tag body parsing: real x264/x265/AAC/MP3 headers, constructed SPS
 * and AudioSpecificConfig, hostile and truncated input.
 */


#include "test.h"
#include "ws_stream_flv.h"


/* tag bodies from ffmpeg 5.1 -f flv (libx264, aac, libmp3lame) */

static const uint8_t  x264_640x360_high[52] = {
    0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x1e, 0xff, 0xe1, 0x00,
    0x1a, 0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40, 0xa0, 0x2f, 0xf9, 0x70,
    0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x0f,
    0x16, 0x2d, 0x96, 0x01, 0x00, 0x06, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0,
    0xfd, 0xf8, 0xf8, 0x00,
};

static const uint8_t  aac_lc_44100_stereo[7] = {
    0xaf, 0x00, 0x12, 0x10, 0x56, 0xe5, 0x00,
};

static const uint8_t  x264_key_frame[16] = {
    0x17, 0x01, 0x00, 0x00, 0x43, 0x00, 0x00, 0x02, 0xae, 0x06, 0x05, 0xff,
    0xff, 0xaa, 0xdc, 0x45,
};

static const uint8_t  x264_1280x720_main[46] = {
    0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x4d, 0x40, 0x1f, 0xff, 0xe1, 0x00,
    0x19, 0x67, 0x4d, 0x40, 0x1f, 0xec, 0xa0, 0x28, 0x02, 0xdd, 0x80, 0x88,
    0x00, 0x00, 0x03, 0x00, 0x08, 0x00, 0x00, 0x03, 0x01, 0xe0, 0x78, 0xc1,
    0x8c, 0xb0, 0x01, 0x00, 0x05, 0x68, 0xeb, 0xe3, 0xcb, 0x20,
};

static const uint8_t  mp3_22050_mono[105] = {
    0x2a, 0xff, 0xf3, 0x40, 0xc4, 0x00, 0x14, 0x38, 0x86, 0x70, 0x17, 0x58,
    0x18, 0x00, 0x7f, 0xe4, 0xa0, 0x26, 0x3a, 0x63, 0xa6, 0x3a, 0x43, 0xa4,
    0x5a, 0x9b, 0xc0, 0xee, 0x82, 0xa4, 0x2d, 0x99, 0x84, 0xe6, 0xd8, 0x9c,
    0xea, 0x75, 0x99, 0xb5, 0x20, 0xa1, 0xa9, 0xbb, 0x8e, 0xee, 0x46, 0x21,
    0x87, 0xf1, 0xfc, 0x8c, 0x46, 0x29, 0x2c, 0x3b, 0x81, 0x81, 0x81, 0x8b,
    0x07, 0xde, 0x20, 0x04, 0x01, 0x0c, 0xb8, 0x7f, 0x94, 0xdd, 0xcb, 0xf8,
    0x63, 0x80, 0xdf, 0xc3, 0x1c, 0xbf, 0xb8, 0xe4, 0xa0, 0x26, 0x0f, 0xe4,
    0xc1, 0x07, 0x60, 0x37, 0xf7, 0x7e, 0x5c, 0x3e, 0x08, 0x1c, 0xd2, 0x82,
    0x40, 0x00, 0x00, 0x90, 0x61, 0x84, 0xc1, 0x5a, 0x2a,
};

static const uint8_t  x264_1280x720_444[52] = {
    0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0xf4, 0x00, 0x1f, 0xff, 0xe1, 0x00,
    0x1a, 0x67, 0xf4, 0x00, 0x1f, 0x91, 0x9b, 0x28, 0x0a, 0x00, 0xb7, 0x60,
    0x22, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x78, 0x1e,
    0x30, 0x63, 0x2c, 0x01, 0x00, 0x06, 0x68, 0xeb, 0xe3, 0xc4, 0x48, 0x44,
    0xff, 0xf8, 0xf8, 0x00,
};

static const uint8_t  x264_1920x1080_baseline[47] = {
    0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x42, 0xc0, 0x28, 0xff, 0xe1, 0x00,
    0x1a, 0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0xc0,
    0x44, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c,
    0x60, 0xc9, 0x20, 0x01, 0x00, 0x05, 0x68, 0xcb, 0x83, 0xcb, 0x20,
};

static const uint8_t  x264_1920x1080_interlaced[52] = {
    0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x28, 0xff, 0xe1, 0x00,
    0x1a, 0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x04, 0x4f, 0xde,
    0x02, 0x20, 0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x07, 0x83, 0xe2,
    0xc5, 0xb2, 0xc0, 0x01, 0x00, 0x06, 0x68, 0xfb, 0xa3, 0xcb, 0x22, 0xc0,
    0xfd, 0xf8, 0xf8, 0x00,
};

/* x265 1280x720 Main: hvcC with VPS, SPS, PPS (SEI array dropped) */
static const uint8_t  x265_1280x720_hvcc[112] = {
    0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x5d, 0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0x00, 0x00, 0x0f, 0x03, 0xa0,
    0x00, 0x01, 0x00, 0x18, 0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60,
    0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00,
    0x5d, 0x95, 0x98, 0x09, 0xa1, 0x00, 0x01, 0x00, 0x2b, 0x42, 0x01, 0x01,
    0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
    0x03, 0x00, 0x5d, 0xa0, 0x02, 0x80, 0x80, 0x2d, 0x16, 0x59, 0x59, 0xa4,
    0x93, 0x2b, 0xc0, 0x5a, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00,
    0x03, 0x00, 0x3c, 0x10, 0xa2, 0x00, 0x01, 0x00, 0x07, 0x44, 0x01, 0xc1,
    0x72, 0xb4, 0x62, 0x40,
};

/* x265 854x478 Main: coded 856x480, the conformance window crops it */
static const uint8_t  x265_854x478_hvcc[112] = {
    0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x5a, 0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0x00, 0x00, 0x0f, 0x03, 0xa0,
    0x00, 0x01, 0x00, 0x18, 0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60,
    0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00,
    0x5a, 0x95, 0x98, 0x09, 0xa1, 0x00, 0x01, 0x00, 0x2b, 0x42, 0x01, 0x01,
    0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
    0x03, 0x00, 0x5a, 0xa0, 0x06, 0xb2, 0x01, 0xe1, 0xd5, 0x65, 0x95, 0x9a,
    0x49, 0x32, 0xbc, 0x05, 0xa0, 0x20, 0x00, 0x00, 0x03, 0x00, 0x20, 0x00,
    0x00, 0x03, 0x03, 0xc1, 0xa2, 0x00, 0x01, 0x00, 0x07, 0x44, 0x01, 0xc1,
    0x72, 0xb4, 0x62, 0x40,
};


/* a bit writer to build SPS and AudioSpecificConfig */

typedef struct {
    uint8_t   buf[1024];
    size_t    bits;
} test_bits_t;


static void
test_bits_put(test_bits_t *w, uint64_t v, unsigned n)
{
    while (n--) {
        if ((v >> n) & 1) {
            w->buf[w->bits >> 3] |= (uint8_t) (0x80 >> (w->bits & 7));
        }

        w->bits++;
    }
}


static void
test_bits_ue(test_bits_t *w, uint64_t v)
{
    unsigned  n;
    uint64_t  x;

    x = v + 1;

    for (n = 0; (x >> n) > 1; n++) { /* void */ }

    test_bits_put(w, 0, n);
    test_bits_put(w, x, n + 1);
}


static void
test_bits_se(test_bits_t *w, int64_t v)
{
    test_bits_ue(w, v > 0 ? (uint64_t) (2 * v - 1) : (uint64_t) (-2 * v));
}


/* rbsp trailing bits, then emulation prevention: the NAL unit */

static size_t
test_bits_nal(test_bits_t *w, uint8_t *out)
{
    size_t  i, n, len, zeros;

    test_bits_put(w, 1, 1);
    len = (w->bits + 7) / 8;

    n = 0;
    zeros = 0;

    for (i = 0; i < len; i++) {
        if (zeros >= 2 && w->buf[i] <= 3) {
            out[n++] = 3;
            zeros = 0;
        }

        zeros = (w->buf[i] == 0) ? zeros + 1 : 0;
        out[n++] = w->buf[i];
    }

    return n;
}


/* FLV AVC sequence header around an SPS (and a dummy PPS) */

static size_t
test_avc_tag(uint8_t *out, const uint8_t *sps, size_t len)
{
    size_t  n;

    n = 0;
    out[n++] = 0x17;
    out[n++] = 0;
    out[n++] = 0;
    out[n++] = 0;
    out[n++] = 0;
    out[n++] = 1;
    out[n++] = sps[1];
    out[n++] = sps[2];
    out[n++] = sps[3];
    out[n++] = 0xff;
    out[n++] = 0xe1;
    out[n++] = (uint8_t) (len >> 8);
    out[n++] = (uint8_t) len;
    memcpy(out + n, sps, len);
    n += len;
    out[n++] = 1;
    out[n++] = 0;
    out[n++] = 4;
    out[n++] = 0x68;
    out[n++] = 0xee;
    out[n++] = 0x3c;
    out[n++] = 0x80;

    return n;
}


/*
 * SPS: the header fields, then everything after seq_parameter_set_id
 * according to the arguments; chroma < 0 leaves the high profile part out
 */

typedef struct {
    unsigned   profile;
    int        chroma;
    unsigned   separate;
    unsigned   scaling;         /* write scaling lists */
    int        scale_delta;     /* the first delta of each list */
    unsigned   poc_type;
    unsigned   poc_cycle;
    uint64_t   width_mbs;       /* minus 1 */
    uint64_t   height_units;    /* minus 1 */
    unsigned   frame_mbs_only;
    unsigned   crop;
    uint64_t   crop_lrtb[4];
    size_t     cut;             /* only the first bytes of the SPS */
} test_sps_t;


static size_t
test_sps_tag(uint8_t *out, test_sps_t *s)
{
    size_t       i, n, count;
    uint8_t      nal[1600];
    test_bits_t  w;

    memset(&w, 0, sizeof(test_bits_t));

    test_bits_put(&w, 0x67, 8);
    test_bits_put(&w, s->profile, 8);
    test_bits_put(&w, 0, 8);
    test_bits_put(&w, 40, 8);
    test_bits_ue(&w, 0);

    if (s->chroma >= 0) {
        test_bits_ue(&w, (unsigned) s->chroma);

        if (s->chroma == 3) {
            test_bits_put(&w, s->separate, 1);
        }

        test_bits_ue(&w, 0);
        test_bits_ue(&w, 0);
        test_bits_put(&w, 0, 1);
        test_bits_put(&w, s->scaling, 1);

        if (s->scaling) {
            count = (s->chroma != 3) ? 8 : 12;

            for (i = 0; i < count; i++) {
                test_bits_put(&w, 1, 1);

                /* one delta, then a delta to next == 0: the rest repeat */
                test_bits_se(&w, s->scale_delta);
                test_bits_se(&w, -(8 + s->scale_delta));
            }
        }
    }

    test_bits_ue(&w, 0);                        /* log2_max_frame_num */
    test_bits_ue(&w, s->poc_type);

    if (s->poc_type == 0) {
        test_bits_ue(&w, 2);

    } else if (s->poc_type == 1) {
        test_bits_put(&w, 0, 1);
        test_bits_se(&w, -3);
        test_bits_se(&w, 5);
        test_bits_ue(&w, s->poc_cycle);

        for (i = 0; i < s->poc_cycle && i < 300; i++) {
            test_bits_se(&w, (int64_t) i - 2);
        }
    }

    test_bits_ue(&w, 4);                        /* max_num_ref_frames */
    test_bits_put(&w, 0, 1);
    test_bits_ue(&w, s->width_mbs);
    test_bits_ue(&w, s->height_units);

    test_bits_put(&w, s->frame_mbs_only, 1);

    if (!s->frame_mbs_only) {
        test_bits_put(&w, 1, 1);
    }

    test_bits_put(&w, 1, 1);
    test_bits_put(&w, s->crop, 1);

    if (s->crop) {
        for (i = 0; i < 4; i++) {
            test_bits_ue(&w, s->crop_lrtb[i]);
        }
    }

    test_bits_put(&w, 0, 1);                    /* vui_parameters_present */

    n = test_bits_nal(&w, nal);

    if (s->cut && s->cut < n) {
        n = s->cut;
    }

    return test_avc_tag(out, nal, n);
}


static int
test_video(const uint8_t *p, size_t len, ws_stream_flv_info_t *info)
{
    int       rc;
    uint8_t  *b;

    b = test_dup(p, len);
    rc = ws_stream_flv_parse_video(b, len, info);
    free(b);

    return rc;
}


static int
test_audio(const uint8_t *p, size_t len, ws_stream_flv_info_t *info)
{
    int       rc;
    uint8_t  *b;

    b = test_dup(p, len);
    rc = ws_stream_flv_parse_audio(b, len, info);
    free(b);

    return rc;
}


/* every prefix: an error or a result, never a read past the end */

static void
test_truncate(const uint8_t *p, size_t len, int video)
{
    int                       rc, bad;
    size_t                    i;
    ws_stream_flv_info_t  info;

    bad = 0;

    for (i = 0; i < len; i++) {
        rc = video ? test_video(p, i, &info) : test_audio(p, i, &info);

        if (rc == WS_STREAM_ERROR && info.error == NULL) {
            bad++;
        }

        if (rc != WS_STREAM_ERROR && rc != WS_STREAM_OK) {
            bad++;
        }
    }

    T(bad == 0);
}


static void
test_flv_x264(void)
{
    ws_stream_flv_info_t  info;

    T(test_video(x264_640x360_high, sizeof(x264_640x360_high), &info)
      == WS_STREAM_OK);
    T(info.track == WS_STREAM_TRACK_VIDEO);
    T(info.flags == (WS_STREAM_FLAG_KEY | WS_STREAM_FLAG_CONFIG));
    T(info.codec == WS_STREAM_CODEC_AVC);
    T(info.width == 640 && info.height == 360);
    T(strcmp(info.codec_string, "avc1.64001e") == 0);
    T(info.cts == 0 && info.end == 0);

    T(test_video(x264_1280x720_main, sizeof(x264_1280x720_main), &info)
      == WS_STREAM_OK);
    T(info.width == 1280 && info.height == 720);
    T(strcmp(info.codec_string, "avc1.4d401f") == 0);

    T(test_video(x264_1280x720_444, sizeof(x264_1280x720_444), &info)
      == WS_STREAM_OK);
    T(info.width == 1280 && info.height == 720);
    T(strcmp(info.codec_string, "avc1.f4001f") == 0);

    T(test_video(x264_1920x1080_baseline, sizeof(x264_1920x1080_baseline),
                 &info)
      == WS_STREAM_OK);
    T(info.width == 1920 && info.height == 1080);
    T(strcmp(info.codec_string, "avc1.42c028") == 0);

    T(test_video(x264_1920x1080_interlaced,
                 sizeof(x264_1920x1080_interlaced), &info)
      == WS_STREAM_OK);
    T(info.width == 1920 && info.height == 1080);
    T(strcmp(info.codec_string, "avc1.640028") == 0);

    T(test_video(x264_key_frame, sizeof(x264_key_frame), &info)
      == WS_STREAM_OK);
    T(info.flags == WS_STREAM_FLAG_KEY);
    T(info.cts == 67);
    T(info.width == 0 && info.codec_string[0] == '\0');

    test_truncate(x264_640x360_high, sizeof(x264_640x360_high), 1);
    test_truncate(x264_1280x720_main, sizeof(x264_1280x720_main), 1);
    test_truncate(x264_1280x720_444, sizeof(x264_1280x720_444), 1);
    test_truncate(x264_1920x1080_baseline, sizeof(x264_1920x1080_baseline),
                  1);
    test_truncate(x264_1920x1080_interlaced,
                  sizeof(x264_1920x1080_interlaced), 1);
    test_truncate(x264_key_frame, sizeof(x264_key_frame), 1);
}


static void
test_flv_legacy(void)
{
    ws_stream_flv_info_t  info;

    static const uint8_t  inter[] = { 0x27, 0x01, 0xff, 0xff, 0xfe, 0, 0 };
    static const uint8_t  cts_min[] = { 0x27, 0x01, 0x80, 0x00, 0x00 };
    static const uint8_t  cts_max[] = { 0x37, 0x01, 0x7f, 0xff, 0xff };
    static const uint8_t  eos[] = { 0x17, 0x02, 0x00, 0x00, 0x00 };
    static const uint8_t  bad_type[] = { 0x17, 0x03, 0x00, 0x00, 0x00 };
    static const uint8_t  h263[] = { 0x12, 0x00, 0x00, 0x00, 0x00 };
    static const uint8_t  vp6[] = { 0x14, 0x00, 0x00, 0x00, 0x00 };
    static const uint8_t  frame0[] = { 0x07, 0x01, 0x00, 0x00, 0x00 };
    static const uint8_t  frame6[] = { 0x67, 0x01, 0x00, 0x00, 0x00 };
    static const uint8_t  command[] = { 0x57, 0x00 };
    static const uint8_t  empty_config[] = { 0x17, 0x00, 0x00, 0x00, 0x00 };
    static const uint8_t  bad_version[] = { 0x17, 0x00, 0x00, 0x00, 0x00,
                                            0x02, 0x64, 0x00, 0x1e, 0xff,
                                            0xe1, 0x00, 0x00 };
    static const uint8_t  no_sps[] = { 0x17, 0x00, 0x00, 0x00, 0x00,
                                       0x01, 0x64, 0x00, 0x1e, 0xff,
                                       0xe0, 0x01, 0x00, 0x01, 0x68 };
    static const uint8_t  long_sps[] = { 0x17, 0x00, 0x00, 0x00, 0x00,
                                         0x01, 0x64, 0x00, 0x1e, 0xff,
                                         0xe1, 0x01, 0x00, 0x67, 0x64 };

    T(test_video(inter, sizeof(inter), &info) == WS_STREAM_OK);
    T(info.flags == 0 && info.cts == -2 && info.end == 0);

    T(test_video(cts_min, sizeof(cts_min), &info) == WS_STREAM_OK);
    T(info.cts == -8388608);

    T(test_video(cts_max, sizeof(cts_max), &info) == WS_STREAM_OK);
    T(info.cts == 8388607 && info.flags == 0);

    T(test_video(eos, sizeof(eos), &info) == WS_STREAM_OK);
    T(info.end == 1 && !(info.flags & WS_STREAM_FLAG_CONFIG));

    T(test_video(bad_type, sizeof(bad_type), &info) == WS_STREAM_ERROR);
    T(info.error != NULL);

    T(test_video(h263, sizeof(h263), &info) == WS_STREAM_ERROR);
    T(info.error && strcmp(info.error, "unsupported video codec") == 0);

    T(test_video(vp6, sizeof(vp6), &info) == WS_STREAM_ERROR);
    T(test_video(frame0, sizeof(frame0), &info) == WS_STREAM_ERROR);
    T(test_video(frame6, sizeof(frame6), &info) == WS_STREAM_ERROR);

    T(test_video(command, sizeof(command), &info) == WS_STREAM_OK);
    T(info.flags == 0);

    T(test_video(empty_config, sizeof(empty_config), &info)
      == WS_STREAM_ERROR);
    T(test_video(bad_version, sizeof(bad_version), &info)
      == WS_STREAM_ERROR);
    T(test_video(no_sps, sizeof(no_sps), &info) == WS_STREAM_ERROR);
    T(test_video(long_sps, sizeof(long_sps), &info) == WS_STREAM_ERROR);

    T(test_video(NULL, 0, &info) == WS_STREAM_ERROR);
    T(info.error != NULL && info.track == WS_STREAM_TRACK_VIDEO);

    test_truncate(inter, sizeof(inter), 1);
    test_truncate(eos, sizeof(eos), 1);
    test_truncate(no_sps, sizeof(no_sps), 1);
}


static void
test_flv_hevc(void)
{
    size_t                    n;
    uint8_t                   tag[256];
    ws_stream_flv_info_t  info;

    static const uint8_t  coded[] = { 0x91, 'h', 'v', 'c', '1',
                                      0x00, 0x00, 0x21, 0x00 };
    static const uint8_t  coded_neg[] = { 0xa1, 'h', 'v', 'c', '1',
                                          0xff, 0xff, 0xf0 };
    static const uint8_t  coded_x[] = { 0xa3, 'h', 'v', 'c', '1', 0x00 };
    static const uint8_t  seq_end[] = { 0x92, 'h', 'v', 'c', '1' };
    static const uint8_t  meta[] = { 0x94, 'h', 'v', 'c', '1', 0x02 };
    static const uint8_t  av01[] = { 0x90, 'a', 'v', '0', '1', 0x81 };
    static const uint8_t  vp09[] = { 0x91, 'v', 'p', '0', '9', 0, 0, 0 };
    static const uint8_t  multitrack[] = { 0x96, 'h', 'v', 'c', '1' };
    static const uint8_t  frame0[] = { 0x81, 'h', 'v', 'c', '1', 0, 0, 0 };

    /* enhanced RTMP hvc1 SequenceStart */

    tag[0] = 0x90;
    memcpy(tag + 1, "hvc1", 4);
    memcpy(tag + 5, x265_1280x720_hvcc, sizeof(x265_1280x720_hvcc));
    n = 5 + sizeof(x265_1280x720_hvcc);

    T(test_video(tag, n, &info) == WS_STREAM_OK);
    T(info.codec == WS_STREAM_CODEC_HEVC);
    T(info.flags == (WS_STREAM_FLAG_KEY | WS_STREAM_FLAG_CONFIG));
    T(strcmp(info.codec_string, "hvc1.1.6.L93.90") == 0);
    T(info.width == 1280 && info.height == 720);

    test_truncate(tag, n, 1);

    tag[0] = 0x90;
    memcpy(tag + 5, x265_854x478_hvcc, sizeof(x265_854x478_hvcc));

    T(test_video(tag, n, &info) == WS_STREAM_OK);
    T(strcmp(info.codec_string, "hvc1.1.6.L90.90") == 0);
    T(info.width == 854 && info.height == 478);

    test_truncate(tag, n, 1);

    /* a configuration record without arrays */

    tag[5 + 22] = 0;
    T(test_video(tag, 5 + 23, &info) == WS_STREAM_OK);
    T(info.width == 0 && strcmp(info.codec_string, "hvc1.1.6.L90.90") == 0);

    /* high tier, profile space 1, all constraint bytes */

    tag[5 + 1] = 0x60 | 0x02;
    memset(tag + 5 + 6, 0xff, 6);
    tag[5 + 12] = 255;
    T(test_video(tag, 5 + 23, &info) == WS_STREAM_OK);
    T(strlen(info.codec_string) < sizeof(info.codec_string));
    T(strncmp(info.codec_string, "hvc1.A2.6.H255.FF", 17) == 0);

    tag[5] = 0;
    T(test_video(tag, 5 + 23, &info) == WS_STREAM_ERROR);

    /* legacy FLV codec id 12 */

    tag[0] = 0x1c;
    tag[1] = 0;
    tag[2] = tag[3] = tag[4] = 0;
    memcpy(tag + 5, x265_1280x720_hvcc, sizeof(x265_1280x720_hvcc));

    T(test_video(tag, n, &info) == WS_STREAM_OK);
    T(info.codec == WS_STREAM_CODEC_HEVC);
    T(info.flags == (WS_STREAM_FLAG_KEY | WS_STREAM_FLAG_CONFIG));
    T(info.width == 1280 && info.height == 720);

    /* enhanced avc1 SequenceStart: the x264 record */

    tag[0] = 0x90;
    memcpy(tag + 1, "avc1", 4);
    memcpy(tag + 5, x264_640x360_high + 5, sizeof(x264_640x360_high) - 5);
    n = sizeof(x264_640x360_high);

    T(test_video(tag, n, &info) == WS_STREAM_OK);
    T(info.codec == WS_STREAM_CODEC_AVC);
    T(info.width == 640 && info.height == 360);
    T(strcmp(info.codec_string, "avc1.64001e") == 0);

    T(test_video(coded, sizeof(coded), &info) == WS_STREAM_OK);
    T(info.flags == WS_STREAM_FLAG_KEY && info.cts == 33);

    T(test_video(coded_neg, sizeof(coded_neg), &info) == WS_STREAM_OK);
    T(info.flags == 0 && info.cts == -16);

    T(test_video(coded_x, sizeof(coded_x), &info) == WS_STREAM_OK);
    T(info.flags == 0 && info.cts == 0);

    T(test_video(seq_end, sizeof(seq_end), &info) == WS_STREAM_OK);
    T(info.end == 1);

    T(test_video(meta, sizeof(meta), &info) == WS_STREAM_OK);
    T(info.flags == 0);

    T(test_video(av01, sizeof(av01), &info) == WS_STREAM_ERROR);
    T(info.error && strcmp(info.error, "unsupported video codec") == 0);

    T(test_video(vp09, sizeof(vp09), &info) == WS_STREAM_ERROR);
    T(test_video(multitrack, sizeof(multitrack), &info)
      == WS_STREAM_ERROR);
    T(test_video(frame0, sizeof(frame0), &info) == WS_STREAM_ERROR);

    test_truncate(coded, sizeof(coded), 1);
    test_truncate(coded_x, sizeof(coded_x), 1);
    test_truncate(tag, n, 1);
}


static void
test_flv_sps(void)
{
    size_t                    n;
    uint8_t                   tag[1700];
    test_sps_t                s;
    ws_stream_flv_info_t  info;

    /* baseline 1280x720, no cropping */

    memset(&s, 0, sizeof(test_sps_t));
    s.profile = 66;
    s.chroma = -1;
    s.width_mbs = 79;
    s.height_units = 44;
    s.frame_mbs_only = 1;

    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_OK);
    T(info.width == 1280 && info.height == 720);
    test_truncate(tag, n, 1);

    /* high, scaling lists, poc type 1, interlaced, cropped to 1080 */

    s.profile = 100;
    s.chroma = 1;
    s.scaling = 1;
    s.scale_delta = 5;
    s.poc_type = 1;
    s.poc_cycle = 3;
    s.width_mbs = 119;
    s.height_units = 33;
    s.frame_mbs_only = 0;
    s.crop = 1;
    s.crop_lrtb[3] = 2;

    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_OK);
    T(info.width == 1920 && info.height == 1080);
    test_truncate(tag, n, 1);

    /* 4:4:4 with 12 scaling lists: crop units of 1 and 2 */

    s.chroma = 3;
    s.poc_type = 2;
    s.crop_lrtb[0] = 3;
    s.crop_lrtb[3] = 4;

    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_OK);
    T(info.width == 1917 && info.height == 1080);

    /* separate colour planes and monochrome: ChromaArrayType 0 */

    s.separate = 1;
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_OK);
    T(info.width == 1917 && info.height == 1080);

    s.chroma = 0;
    s.separate = 0;
    s.frame_mbs_only = 1;
    s.height_units = 67;
    s.crop_lrtb[3] = 8;

    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_OK);
    T(info.width == 1917 && info.height == 1080);

    /* 4:2:2 progressive: crop unit x 2, y 1 */

    s.chroma = 2;
    s.crop_lrtb[0] = 1;
    s.crop_lrtb[1] = 1;

    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_OK);
    T(info.width == 1916 && info.height == 1080);

    /* hostile: huge exp-Golomb values, out of range fields */

    memset(&s, 0, sizeof(test_sps_t));
    s.profile = 66;
    s.chroma = -1;
    s.width_mbs = 0xfffffffe;               /* 31 leading zeros */
    s.height_units = 10;
    s.frame_mbs_only = 1;

    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_ERROR);
    T(info.error && strcmp(info.error, "malformed SPS") == 0);

    s.width_mbs = 0xffffffff;               /* 32 leading zeros */
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_ERROR);

    s.width_mbs = (uint64_t) 1 << 40;
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_ERROR);

    s.width_mbs = 4095;                     /* 65536 pixels: the limit */
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_OK);
    T(info.width == 65536);

    s.width_mbs = 4096;
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_ERROR);

    s.width_mbs = 10;
    s.cut = 5;
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_ERROR);

    s.cut = 0;
    s.crop = 1;
    s.crop_lrtb[0] = 88;                    /* 2 * 88 = 176 = width */
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_ERROR);

    s.crop_lrtb[0] = 87;
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_OK);
    T(info.width == 2);

    s.crop_lrtb[0] = 0xfffffffe;
    s.crop_lrtb[1] = 0xfffffffe;
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_ERROR);

    s.crop_lrtb[0] = 0;
    s.crop_lrtb[1] = 0;
    s.poc_type = 3;
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_ERROR);

    s.poc_type = 1;
    s.poc_cycle = 256;
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_ERROR);

    s.poc_cycle = 255;
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_OK);

    s.poc_type = 0;
    s.profile = 100;
    s.chroma = 4;
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_ERROR);

    s.chroma = 1;
    s.scaling = 1;
    s.scale_delta = 200;
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_ERROR);

    s.scale_delta = -100;
    n = test_sps_tag(tag, &s);
    T(test_video(tag, n, &info) == WS_STREAM_OK);
    test_truncate(tag, n, 1);

    /* all zero bits: exp-Golomb without an end */

    memset(tag, 0, sizeof(tag));
    n = test_avc_tag(tag, (const uint8_t *) "\x67\x64\x00\x1e\x00\x00\x00"
                     "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 18);
    T(test_video(tag, n, &info) == WS_STREAM_ERROR);

    /* not an SPS */

    n = test_avc_tag(tag, (const uint8_t *) "\x68\x64\x00\x1e\xac\xd9", 6);
    T(test_video(tag, n, &info) == WS_STREAM_ERROR);
}


static void
test_flv_aac(void)
{
    size_t                    n;
    test_bits_t               w;
    ws_stream_flv_info_t  info;

    static const uint8_t  raw[] = { 0xaf, 0x01, 0x21, 0x10 };
    static const uint8_t  bad_type[] = { 0xaf, 0x02, 0x12, 0x10 };
    static const uint8_t  short_asc[] = { 0xaf, 0x00, 0x12 };
    static const uint8_t  rate13[] = { 0xaf, 0x00, 0x16, 0x90 };
    static const uint8_t  aot0[] = { 0xaf, 0x00, 0x02, 0x10 };
    static const uint8_t  mono_48k[] = { 0xaf, 0x00, 0x11, 0x88 };
    static const uint8_t  seven_one[] = { 0xaf, 0x00, 0x11, 0xb8 };

    T(test_audio(aac_lc_44100_stereo, sizeof(aac_lc_44100_stereo), &info)
      == WS_STREAM_OK);
    T(info.track == WS_STREAM_TRACK_AUDIO);
    T(info.codec == WS_STREAM_CODEC_AAC);
    T(info.flags == (WS_STREAM_FLAG_KEY | WS_STREAM_FLAG_CONFIG));
    T(info.sample_rate == 44100 && info.channels == 2);
    T(strcmp(info.codec_string, "mp4a.40.2") == 0);
    test_truncate(aac_lc_44100_stereo, sizeof(aac_lc_44100_stereo), 0);

    T(test_audio(raw, sizeof(raw), &info) == WS_STREAM_OK);
    T(info.flags == WS_STREAM_FLAG_KEY);
    T(info.codec == WS_STREAM_CODEC_AAC);

    T(test_audio(bad_type, sizeof(bad_type), &info) == WS_STREAM_ERROR);
    T(test_audio(short_asc, sizeof(short_asc), &info) == WS_STREAM_ERROR);
    T(test_audio(rate13, sizeof(rate13), &info) == WS_STREAM_ERROR);
    T(test_audio(aot0, sizeof(aot0), &info) == WS_STREAM_ERROR);

    T(test_audio(mono_48k, sizeof(mono_48k), &info) == WS_STREAM_OK);
    T(info.sample_rate == 48000 && info.channels == 1);

    T(test_audio(seven_one, sizeof(seven_one), &info) == WS_STREAM_OK);
    T(info.channels == 8);

    /* escaped object type 42, explicit 24-bit frequency */

    memset(&w, 0, sizeof(test_bits_t));
    test_bits_put(&w, 0xaf, 8);
    test_bits_put(&w, 0, 8);
    test_bits_put(&w, 31, 5);
    test_bits_put(&w, 10, 6);
    test_bits_put(&w, 15, 4);
    test_bits_put(&w, 12345, 24);
    test_bits_put(&w, 2, 4);
    n = (w.bits + 7) / 8;

    T(test_audio(w.buf, n, &info) == WS_STREAM_OK);
    T(strcmp(info.codec_string, "mp4a.40.42") == 0);
    T(info.sample_rate == 12345 && info.channels == 2);
    test_truncate(w.buf, n, 0);

    /* explicit frequency 0 */

    memset(&w, 0, sizeof(test_bits_t));
    test_bits_put(&w, 0xaf00, 16);
    test_bits_put(&w, 2, 5);
    test_bits_put(&w, 15, 4);
    test_bits_put(&w, 0, 24);
    test_bits_put(&w, 1, 4);
    n = (w.bits + 7) / 8;

    T(test_audio(w.buf, n, &info) == WS_STREAM_ERROR);

    /* HE-AAC with explicit SBR: 24 kHz core, 48 kHz output */

    memset(&w, 0, sizeof(test_bits_t));
    test_bits_put(&w, 0xaf00, 16);
    test_bits_put(&w, 5, 5);
    test_bits_put(&w, 6, 4);
    test_bits_put(&w, 2, 4);
    test_bits_put(&w, 3, 4);
    test_bits_put(&w, 2, 5);
    n = (w.bits + 7) / 8;

    T(test_audio(w.buf, n, &info) == WS_STREAM_OK);
    T(strcmp(info.codec_string, "mp4a.40.5") == 0);
    T(info.sample_rate == 48000 && info.channels == 2);
    test_truncate(w.buf, n, 0);

    /* HE-AACv2: mono core, parametric stereo */

    memset(&w, 0, sizeof(test_bits_t));
    test_bits_put(&w, 0xaf00, 16);
    test_bits_put(&w, 29, 5);
    test_bits_put(&w, 7, 4);
    test_bits_put(&w, 1, 4);
    test_bits_put(&w, 4, 4);
    test_bits_put(&w, 2, 5);
    n = (w.bits + 7) / 8;

    T(test_audio(w.buf, n, &info) == WS_STREAM_OK);
    T(strcmp(info.codec_string, "mp4a.40.29") == 0);
    T(info.sample_rate == 44100 && info.channels == 2);

    /* SBR extension frequency index 14 */

    memset(&w, 0, sizeof(test_bits_t));
    test_bits_put(&w, 0xaf00, 16);
    test_bits_put(&w, 5, 5);
    test_bits_put(&w, 6, 4);
    test_bits_put(&w, 2, 4);
    test_bits_put(&w, 14, 4);
    test_bits_put(&w, 2, 5);
    n = (w.bits + 7) / 8;

    T(test_audio(w.buf, n, &info) == WS_STREAM_ERROR);
}


static void
test_flv_mp3(void)
{
    ws_stream_flv_info_t  info;

    static const uint8_t  bare[] = { 0x2f };
    static const uint8_t  mpeg1[] = { 0x2a, 0xff, 0xfb, 0x94, 0x44, 0x00 };
    static const uint8_t  mpeg25[] = { 0x2f, 0xff, 0xe3, 0x18, 0xc4 };
    static const uint8_t  reserved[] = { 0x26, 0xff, 0xfb, 0x9c, 0x44 };
    static const uint8_t  mp3_8k[] = { 0xe2, 0x00 };
    static const uint8_t  speex[] = { 0xb2, 0x00 };
    static const uint8_t  pcm[] = { 0x3f, 0x00 };

    T(test_audio(mp3_22050_mono, sizeof(mp3_22050_mono), &info)
      == WS_STREAM_OK);
    T(info.codec == WS_STREAM_CODEC_MP3);
    T(info.flags == WS_STREAM_FLAG_KEY);
    T(strcmp(info.codec_string, "mp4a.6b") == 0);
    T(info.sample_rate == 22050 && info.channels == 1);
    test_truncate(mp3_22050_mono, sizeof(mp3_22050_mono), 0);

    T(test_audio(bare, sizeof(bare), &info) == WS_STREAM_OK);
    T(info.sample_rate == 44100 && info.channels == 2);

    /* the frame header wins over the FLV bits */

    T(test_audio(mpeg1, sizeof(mpeg1), &info) == WS_STREAM_OK);
    T(info.sample_rate == 48000 && info.channels == 2);

    T(test_audio(mpeg25, sizeof(mpeg25), &info) == WS_STREAM_OK);
    T(info.sample_rate == 8000 && info.channels == 1);

    T(test_audio(reserved, sizeof(reserved), &info) == WS_STREAM_OK);
    T(info.sample_rate == 11025 && info.channels == 1);

    T(test_audio(mp3_8k, sizeof(mp3_8k), &info) == WS_STREAM_OK);
    T(info.codec == WS_STREAM_CODEC_MP3 && info.sample_rate == 8000);

    T(test_audio(speex, sizeof(speex), &info) == WS_STREAM_ERROR);
    T(info.error && strcmp(info.error, "unsupported audio codec") == 0);
    T(test_audio(pcm, sizeof(pcm), &info) == WS_STREAM_ERROR);

    T(test_audio(NULL, 0, &info) == WS_STREAM_ERROR);
    T(info.error != NULL && info.track == WS_STREAM_TRACK_AUDIO);

    test_truncate(mpeg1, sizeof(mpeg1), 0);
}


/* a few thousand pseudo-random bodies: only the absence of faults */

static void
test_flv_noise(void)
{
    int                       rc, bad;
    size_t                    i, j, n;
    uint8_t                   buf[64], *b;
    uint32_t                  x;
    ws_stream_flv_info_t  info;

    static const uint8_t  heads[] = { 0x17, 0x27, 0x1c, 0x90, 0x91, 0xaf,
                                      0x2f };

    x = 12345;
    bad = 0;

    for (i = 0; i < 20000; i++) {
        n = i % sizeof(buf);

        for (j = 0; j < n; j++) {
            x = x * 1103515245 + 12345;
            buf[j] = (uint8_t) (x >> 16);
        }

        if (n > 0) {
            buf[0] = heads[i % sizeof(heads)];
        }

        if (n > 1 && buf[0] != 0x90) {
            buf[1] = 0;
        }

        if (n > 4 && (buf[0] & 0x80)) {
            memcpy(buf + 1, (i & 1) ? "hvc1" : "avc1", 4);
        }

        b = test_dup(buf, n);

        rc = (buf[0] == 0xaf || buf[0] == 0x2f)
             ? ws_stream_flv_parse_audio(b, n, &info)
             : ws_stream_flv_parse_video(b, n, &info);

        if (rc == WS_STREAM_ERROR ? info.error == NULL
                                      : rc != WS_STREAM_OK)
        {
            bad++;
        }

        free(b);
    }

    T(bad == 0);
}


/*
 * Coded frames parse the same from their first WS_STREAM_FLV_PEEK bytes
 * as whole, and say where their coded data starts.
 */

static void
test_flv_peek(void)
{
    size_t                    i, n;
    uint8_t                   msg[64];
    ws_stream_flv_info_t  full, peek;

    static const struct {
        uint8_t   head[9];
        size_t    head_len;
        int       video;
        uint32_t  data;
    } cases[] = {
        { { 0x17, 0x01, 0x00, 0x00, 0x21 }, 5, 1, 5 },     /* AVC key */
        { { 0x27, 0x01, 0xff, 0xff, 0xfe }, 5, 1, 5 },     /* AVC inter */
        { { 0x1c, 0x01, 0x00, 0x00, 0x00 }, 5, 1, 5 },     /* HEVC legacy */
        { { 0x91, 'h', 'v', 'c', '1', 0x00, 0x00, 0x42 }, 8, 1, 8 },
        { { 0xa3, 'a', 'v', 'c', '1' }, 5, 1, 5 },         /* FramesX */
        { { 0xaf, 0x01 }, 2, 0, 2 },                       /* AAC raw */
        { { 0x2f, 0xff, 0xfb, 0x90, 0x64 }, 5, 0, 1 },     /* MP3 */
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(msg, 0x5a, sizeof(msg));
        memcpy(msg, cases[i].head, cases[i].head_len);

        n = sizeof(msg);

        if (cases[i].video) {
            T(test_video(msg, n, &full) == WS_STREAM_OK);
            T(test_video(msg, WS_STREAM_FLV_PEEK, &peek) == WS_STREAM_OK);

        } else {
            T(test_audio(msg, n, &full) == WS_STREAM_OK);
            T(test_audio(msg, WS_STREAM_FLV_PEEK, &peek) == WS_STREAM_OK);
        }

        T(!(full.flags & WS_STREAM_FLAG_CONFIG));
        T(memcmp(&full, &peek, sizeof(full)) == 0);
        T(full.data == cases[i].data);
    }
}


void
test_flv(void)
{
    test_flv_x264();
    test_flv_legacy();
    test_flv_hevc();
    test_flv_sps();
    test_flv_aac();
    test_flv_mp3();
    test_flv_noise();
    test_flv_peek();
}
