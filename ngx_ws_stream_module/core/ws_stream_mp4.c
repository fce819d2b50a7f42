
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Box layouts follow ISO/IEC 14496-12 (ISO base media file format),
 * 14496-14 (esds) and 14496-15 (avcC, hvcC sample entries).
 */


#include "ws_stream_mp4_int.h"


#define WS_STREAM_MP4_FOURCC(s)                                              \
    (((uint32_t) (s)[0] << 24) | ((uint32_t) (s)[1] << 16)                   \
     | ((uint32_t) (s)[2] << 8) | (uint32_t) (s)[3])


static int ws_stream_mp4_nals(const uint8_t *p, size_t len, size_t *k,
    size_t count);
static void ws_stream_mp4_ftyp(ws_stream_mp4_out_t *o, unsigned tracks);
static void ws_stream_mp4_mvhd(ws_stream_mp4_out_t *o, unsigned tracks);
static void ws_stream_mp4_trak(ws_stream_mp4_out_t *o,
    const ws_stream_mp4_track_t *t, uint32_t id, unsigned audio);
static void ws_stream_mp4_minf(ws_stream_mp4_out_t *o,
    const ws_stream_mp4_track_t *t, unsigned audio);
static void ws_stream_mp4_visual(ws_stream_mp4_out_t *o,
    const ws_stream_mp4_track_t *t);
static void ws_stream_mp4_mp4a(ws_stream_mp4_out_t *o,
    const ws_stream_mp4_track_t *t);
static void ws_stream_mp4_desc(ws_stream_mp4_out_t *o, unsigned tag,
    size_t len);
static size_t ws_stream_mp4_ber_size(size_t len);


/* the unity matrix of mvhd and tkhd: { 1, 0, 0, 0, 1, 0, 0, 0, 1 } */

static const uint32_t  ws_stream_mp4_matrix[9] = {
    0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000
};


size_t
ws_stream_mp4_init(uint8_t *out, const ws_stream_mp4_track_t *video,
    const ws_stream_mp4_track_t *audio)
{
    uint64_t             moov, mvex, box;
    unsigned             id, tracks;
    ws_stream_mp4_out_t  o;

    if (video == NULL && audio == NULL) {
        return 0;
    }

    if ((video && !ws_stream_mp4_track_ok(video, 0))
        || (audio && !ws_stream_mp4_track_ok(audio, 1)))
    {
        return 0;
    }

    tracks = (video != NULL) + (audio != NULL);

    o.p = out;
    o.n = 0;

    ws_stream_mp4_ftyp(&o, tracks);

    moov = ws_stream_mp4_box(&o, "moov");

    ws_stream_mp4_mvhd(&o, tracks);

    if (video) {
        ws_stream_mp4_trak(&o, video, 1, 0);
    }

    if (audio) {
        ws_stream_mp4_trak(&o, audio, tracks, 1);
    }

    /* trex: every trun gives durations, sizes and flags, no defaults */

    mvex = ws_stream_mp4_box(&o, "mvex");

    for (id = 1; id <= tracks; id++) {
        box = ws_stream_mp4_full(&o, "trex", 0, 0);
        ws_stream_mp4_put(&o, id, 4);       /* track_ID */
        ws_stream_mp4_put(&o, 1, 4);        /* sample_description_index */
        ws_stream_mp4_zero(&o, 12);         /* default duration, size,
                                               flags */
        ws_stream_mp4_end(&o, box);
    }

    ws_stream_mp4_end(&o, mvex);
    ws_stream_mp4_end(&o, moov);

    /* bounded by WS_STREAM_MP4_MAX_CONFIG: far below 4 GiB */

    return (size_t) o.n;
}


int
ws_stream_mp4_track_ok(const ws_stream_mp4_track_t *t, unsigned audio)
{
    size_t          k, i, n;
    const uint8_t  *p;

    p = t->config;
    n = t->config_len;

    if (audio && t->codec == WS_STREAM_CODEC_MP3) {
        return t->sample_rate != 0 && t->channels <= 0xffff;
    }

    if (p == NULL || n == 0 || n > WS_STREAM_MP4_MAX_CONFIG) {
        return 0;
    }

    if (audio) {

        /* AudioSpecificConfig: 5-bit object type (not 0), 4-bit rate... */

        return t->codec == WS_STREAM_CODEC_AAC && n >= 2 && (p[0] >> 3)
               && t->sample_rate != 0 && t->channels <= 0xffff;
    }

    /* 16-bit width and height in the sample entry */

    if (t->width > 0xffff || t->height > 0xffff) {
        return 0;
    }

    if (t->codec == WS_STREAM_CODEC_AVC) {

        /*
         * AVCDecoderConfigurationRecord: configurationVersion 1, profile,
         * compatibility, level, lengthSizeMinusOne, numOfSequence-
         * ParameterSets (5 bits, at least 1) with the SPS, numOfPicture-
         * ParameterSets with the PPS; the profile extension of high
         * profiles may follow, not checked
         */

        if (n < 6 || p[0] != 1 || (p[5] & 0x1f) == 0) {
            return 0;
        }

        k = 6;

        if (ws_stream_mp4_nals(p, n, &k, p[5] & 0x1f) != WS_STREAM_OK
            || k >= n)
        {
            return 0;
        }

        k++;

        return ws_stream_mp4_nals(p, n, &k, p[k - 1]) == WS_STREAM_OK;
    }

    if (t->codec == WS_STREAM_CODEC_HEVC) {

        /*
         * HEVCDecoderConfigurationRecord: configurationVersion 1, 21 bytes
         * of profile, tier, level and stream properties, numOfArrays,
         * then per array a NAL unit type byte, a count and the NAL units
         */

        if (n < 23 || p[0] != 1) {
            return 0;
        }

        k = 23;

        for (i = 0; i < p[22]; i++) {

            if (n - k < 3) {
                return 0;
            }

            k += 3;

            if (ws_stream_mp4_nals(p, n, &k, ws_stream_rb16(p + k - 2))
                != WS_STREAM_OK)
            {
                return 0;
            }
        }

        return 1;
    }

    return 0;
}


/* count NAL units with 16-bit lengths from p + *k, all inside len */

static int
ws_stream_mp4_nals(const uint8_t *p, size_t len, size_t *k, size_t count)
{
    size_t  i, n;

    for (i = 0; i < count; i++) {

        if (len - *k < 2) {
            return WS_STREAM_ERROR;
        }

        n = ws_stream_rb16(p + *k);
        *k += 2;

        if (n > len - *k) {
            return WS_STREAM_ERROR;
        }

        *k += n;
    }

    return WS_STREAM_OK;
}


static void
ws_stream_mp4_ftyp(ws_stream_mp4_out_t *o, unsigned tracks)
{
    uint64_t  start;

    /*
     * iso6: the 14496-12 features used here (tfdt, trun version 1,
     * default-base-is-moof); mp41: mp4a/esds of 14496-14.  cmfc only for
     * a single track: a CMAF header (ISO/IEC 23000-19) holds exactly one
     * track, so a muxed audio+video segment must not claim it.  No
     * "dash": the segments are listed in HLS playlists, not in a DASH
     * MPD, and neither hls.js nor Safari look at the brand.
     */

    start = ws_stream_mp4_box(o, "ftyp");
    ws_stream_mp4_bytes(o, "iso6", 4);      /* major_brand */
    ws_stream_mp4_put(o, 0, 4);             /* minor_version */
    ws_stream_mp4_bytes(o, "iso6", 4);

    if (tracks == 1) {
        ws_stream_mp4_bytes(o, "cmfc", 4);
    }

    ws_stream_mp4_bytes(o, "mp41", 4);
    ws_stream_mp4_end(o, start);
}


static void
ws_stream_mp4_mvhd(ws_stream_mp4_out_t *o, unsigned tracks)
{
    size_t    i;
    uint64_t  start;

    start = ws_stream_mp4_full(o, "mvhd", 0, 0);
    ws_stream_mp4_zero(o, 8);               /* creation, modification */
    ws_stream_mp4_put(o, 1000, 4);          /* timescale */
    ws_stream_mp4_put(o, 0, 4);             /* duration: unknown */
    ws_stream_mp4_put(o, 0x00010000, 4);    /* rate 1.0 */
    ws_stream_mp4_put(o, 0x0100, 2);        /* volume 1.0 */
    ws_stream_mp4_zero(o, 2 + 8);           /* reserved */

    for (i = 0; i < 9; i++) {
        ws_stream_mp4_put(o, ws_stream_mp4_matrix[i], 4);
    }

    ws_stream_mp4_zero(o, 6 * 4);           /* pre_defined */
    ws_stream_mp4_put(o, tracks + 1, 4);    /* next_track_ID */
    ws_stream_mp4_end(o, start);
}


static void
ws_stream_mp4_trak(ws_stream_mp4_out_t *o, const ws_stream_mp4_track_t *t,
    uint32_t id, unsigned audio)
{
    size_t    i;
    uint64_t  trak, box, mdia;

    trak = ws_stream_mp4_box(o, "trak");

    /* tkhd: track_enabled | track_in_movie */

    box = ws_stream_mp4_full(o, "tkhd", 0, 0x000003);
    ws_stream_mp4_zero(o, 8);               /* creation, modification */
    ws_stream_mp4_put(o, id, 4);            /* track_ID */
    ws_stream_mp4_put(o, 0, 4);             /* reserved */
    ws_stream_mp4_put(o, 0, 4);             /* duration */
    ws_stream_mp4_zero(o, 8);               /* reserved */
    ws_stream_mp4_put(o, 0, 2);             /* layer */
    ws_stream_mp4_put(o, 0, 2);             /* alternate_group */
    ws_stream_mp4_put(o, audio ? 0x0100 : 0, 2);    /* volume */
    ws_stream_mp4_put(o, 0, 2);             /* reserved */

    for (i = 0; i < 9; i++) {
        ws_stream_mp4_put(o, ws_stream_mp4_matrix[i], 4);
    }

    ws_stream_mp4_put(o, audio ? 0 : (uint64_t) t->width << 16, 4);
    ws_stream_mp4_put(o, audio ? 0 : (uint64_t) t->height << 16, 4);
    ws_stream_mp4_end(o, box);

    mdia = ws_stream_mp4_box(o, "mdia");

    box = ws_stream_mp4_full(o, "mdhd", 0, 0);
    ws_stream_mp4_zero(o, 8);               /* creation, modification */
    ws_stream_mp4_put(o, audio ? t->sample_rate
                               : WS_STREAM_MP4_VIDEO_TIMESCALE, 4);
    ws_stream_mp4_put(o, 0, 4);             /* duration */
    ws_stream_mp4_put(o, 0x55c4, 2);        /* pad, language "und" */
    ws_stream_mp4_put(o, 0, 2);             /* pre_defined */
    ws_stream_mp4_end(o, box);

    box = ws_stream_mp4_full(o, "hdlr", 0, 0);
    ws_stream_mp4_put(o, 0, 4);             /* pre_defined */
    ws_stream_mp4_bytes(o, audio ? "soun" : "vide", 4);
    ws_stream_mp4_zero(o, 12);              /* reserved */
    ws_stream_mp4_bytes(o, audio ? "SoundHandler" : "VideoHandler", 13);
    ws_stream_mp4_end(o, box);

    ws_stream_mp4_minf(o, t, audio);

    ws_stream_mp4_end(o, mdia);
    ws_stream_mp4_end(o, trak);
}


static void
ws_stream_mp4_minf(ws_stream_mp4_out_t *o, const ws_stream_mp4_track_t *t,
    unsigned audio)
{
    size_t    i;
    uint64_t  minf, box, dinf, stbl;

    static const char  *tables[4] = { "stts", "stsc", "stsz", "stco" };

    minf = ws_stream_mp4_box(o, "minf");

    if (audio) {
        box = ws_stream_mp4_full(o, "smhd", 0, 0);
        ws_stream_mp4_put(o, 0, 2);         /* balance */
        ws_stream_mp4_put(o, 0, 2);         /* reserved */

    } else {
        box = ws_stream_mp4_full(o, "vmhd", 0, 1);
        ws_stream_mp4_put(o, 0, 2);         /* graphicsmode: copy */
        ws_stream_mp4_zero(o, 6);           /* opcolor */
    }

    ws_stream_mp4_end(o, box);

    /* one data reference: "url " with flags 1, media in this file */

    dinf = ws_stream_mp4_box(o, "dinf");
    box = ws_stream_mp4_full(o, "dref", 0, 0);
    ws_stream_mp4_put(o, 1, 4);             /* entry_count */
    ws_stream_mp4_end(o, ws_stream_mp4_full(o, "url ", 0, 1));
    ws_stream_mp4_end(o, box);
    ws_stream_mp4_end(o, dinf);

    stbl = ws_stream_mp4_box(o, "stbl");

    box = ws_stream_mp4_full(o, "stsd", 0, 0);
    ws_stream_mp4_put(o, 1, 4);             /* entry_count */

    if (audio) {
        ws_stream_mp4_mp4a(o, t);

    } else {
        ws_stream_mp4_visual(o, t);
    }

    ws_stream_mp4_end(o, box);

    /* the samples are in the fragments: empty tables */

    for (i = 0; i < 4; i++) {
        box = ws_stream_mp4_full(o, tables[i], 0, 0);

        if (i == 2) {
            ws_stream_mp4_put(o, 0, 4);     /* stsz sample_size */
        }

        ws_stream_mp4_put(o, 0, 4);         /* entry/sample_count */
        ws_stream_mp4_end(o, box);
    }

    ws_stream_mp4_end(o, stbl);
    ws_stream_mp4_end(o, minf);
}


static void
ws_stream_mp4_visual(ws_stream_mp4_out_t *o, const ws_stream_mp4_track_t *t)
{
    unsigned  hevc;
    uint64_t  entry, box;

    /*
     * hvc1/avc1: the parameter sets are in the configuration record;
     * in-band repetitions on key frames are tolerated by decoders
     */

    hevc = (t->codec == WS_STREAM_CODEC_HEVC);

    entry = ws_stream_mp4_box(o, hevc ? "hvc1" : "avc1");

    /* SampleEntry */
    ws_stream_mp4_zero(o, 6);               /* reserved */
    ws_stream_mp4_put(o, 1, 2);             /* data_reference_index */

    /* VisualSampleEntry */
    ws_stream_mp4_put(o, 0, 2);             /* pre_defined */
    ws_stream_mp4_put(o, 0, 2);             /* reserved */
    ws_stream_mp4_zero(o, 12);              /* pre_defined */
    ws_stream_mp4_put(o, t->width, 2);
    ws_stream_mp4_put(o, t->height, 2);
    ws_stream_mp4_put(o, 0x00480000, 4);    /* horizresolution 72 dpi */
    ws_stream_mp4_put(o, 0x00480000, 4);    /* vertresolution */
    ws_stream_mp4_put(o, 0, 4);             /* reserved */
    ws_stream_mp4_put(o, 1, 2);             /* frame_count */
    ws_stream_mp4_zero(o, 32);              /* compressorname: empty */
    ws_stream_mp4_put(o, 0x0018, 2);        /* depth */
    ws_stream_mp4_put(o, 0xffff, 2);        /* pre_defined -1 */

    box = ws_stream_mp4_box(o, hevc ? "hvcC" : "avcC");
    ws_stream_mp4_bytes(o, t->config, t->config_len);
    ws_stream_mp4_end(o, box);

    ws_stream_mp4_end(o, entry);
}


static void
ws_stream_mp4_mp4a(ws_stream_mp4_out_t *o, const ws_stream_mp4_track_t *t)
{
    size_t    dsi, dcd, esd;
    uint64_t  entry, box;

    entry = ws_stream_mp4_box(o, "mp4a");

    /* SampleEntry */
    ws_stream_mp4_zero(o, 6);               /* reserved */
    ws_stream_mp4_put(o, 1, 2);             /* data_reference_index */

    /* AudioSampleEntry (version 0) */
    ws_stream_mp4_zero(o, 8);               /* reserved */
    ws_stream_mp4_put(o, t->channels ? t->channels : 2, 2);
    ws_stream_mp4_put(o, 16, 2);            /* samplesize */
    ws_stream_mp4_put(o, 0, 2);             /* pre_defined */
    ws_stream_mp4_put(o, 0, 2);             /* reserved */

    /* 16.16; a rate above 65535 Hz does not fit: the ASC tells it */
    ws_stream_mp4_put(o, t->sample_rate <= 0xffff
                         ? (uint64_t) t->sample_rate << 16 : 0, 4);

    /*
     * esds (14496-14): an ES_Descriptor with a DecoderConfigDescriptor
     * (with the AudioSpecificConfig as DecoderSpecificInfo for AAC) and
     * an SLConfigDescriptor; descriptor sizes in the shortest form
     */

    dsi = 0;

    if (t->codec == WS_STREAM_CODEC_AAC) {
        dsi = 1 + ws_stream_mp4_ber_size(t->config_len) + t->config_len;
    }

    dcd = 13 + dsi;
    esd = 3 + 1 + ws_stream_mp4_ber_size(dcd) + dcd + 3;

    box = ws_stream_mp4_full(o, "esds", 0, 0);

    ws_stream_mp4_desc(o, 0x03, esd);       /* ES_DescrTag */
    ws_stream_mp4_put(o, 0, 2);             /* ES_ID: 0 as stored */
    ws_stream_mp4_put(o, 0, 1);             /* no dependency, URL, OCR */

    ws_stream_mp4_desc(o, 0x04, dcd);       /* DecoderConfigDescrTag */

    /* objectTypeIndication: 0x40 MPEG-4 audio, 0x6b MPEG-1 audio */
    ws_stream_mp4_put(o, t->codec == WS_STREAM_CODEC_AAC ? 0x40 : 0x6b, 1);

    /* streamType 5 (audio) << 2, upStream 0, reserved 1 */
    ws_stream_mp4_put(o, 0x15, 1);
    ws_stream_mp4_put(o, 0, 3);             /* bufferSizeDB: unknown */
    ws_stream_mp4_put(o, 0, 4);             /* maxBitrate: unknown */
    ws_stream_mp4_put(o, 0, 4);             /* avgBitrate: variable */

    if (dsi) {
        ws_stream_mp4_desc(o, 0x05, t->config_len);     /* DecSpecificInfo */
        ws_stream_mp4_bytes(o, t->config, t->config_len);
    }

    ws_stream_mp4_desc(o, 0x06, 1);         /* SLConfigDescrTag */
    ws_stream_mp4_put(o, 2, 1);             /* predefined: MP4 files */

    ws_stream_mp4_end(o, box);
    ws_stream_mp4_end(o, entry);
}


void
ws_stream_mp4_put(ws_stream_mp4_out_t *o, uint64_t v, size_t n)
{
    if (o->p) {
        (void) ws_stream_wb(o->p + o->n, v, n);
    }

    o->n += n;
}


/* p NULL: n zero bytes */

void
ws_stream_mp4_bytes(ws_stream_mp4_out_t *o, const void *p, size_t n)
{
    if (o->p && n) {
        if (p) {
            memcpy(o->p + o->n, p, n);

        } else {
            memset(o->p + o->n, 0, n);
        }
    }

    o->n += n;
}


/* a box header with its size left for ws_stream_mp4_end() */

uint64_t
ws_stream_mp4_box(ws_stream_mp4_out_t *o, const char *type)
{
    uint64_t  start;

    start = o->n;

    ws_stream_mp4_put(o, 0, 4);
    ws_stream_mp4_put(o, WS_STREAM_MP4_FOURCC(type), 4);

    return start;
}


uint64_t
ws_stream_mp4_full(ws_stream_mp4_out_t *o, const char *type,
    unsigned version, uint32_t flags)
{
    uint64_t  start;

    start = ws_stream_mp4_box(o, type);

    ws_stream_mp4_put(o, version, 1);
    ws_stream_mp4_put(o, flags, 3);

    return start;
}


void
ws_stream_mp4_end(ws_stream_mp4_out_t *o, uint64_t start)
{
    if (o->p) {
        (void) ws_stream_wb(o->p + start, o->n - start, 4);
    }
}


/* a descriptor tag and its size (14496-1 expandable class: 7-bit groups) */

static void
ws_stream_mp4_desc(ws_stream_mp4_out_t *o, unsigned tag, size_t len)
{
    size_t  n;

    ws_stream_mp4_put(o, tag, 1);

    for (n = ws_stream_mp4_ber_size(len); n > 1; n--) {
        ws_stream_mp4_put(o, 0x80 | ((len >> (7 * (n - 1))) & 0x7f), 1);
    }

    ws_stream_mp4_put(o, len & 0x7f, 1);
}


static size_t
ws_stream_mp4_ber_size(size_t len)
{
    size_t  n;

    for (n = 1; len >= 0x80; n++) {
        len >>= 7;
    }

    return n;
}
