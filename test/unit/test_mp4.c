
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The fragmented MP4 muxer: init segments and fragments against bytes
 * written by hand from ISO/IEC 14496-12/-14/-15, box sizes, decode time
 * continuity, track layouts, hostile input.
 */


#include "test.h"
#include "ws_stream_flv.h"
#include "ws_stream_mp4.h"


/* version 1, High 3.1, 4-byte lengths, SPS 67 64 00 1f, PPS 68 ee */
static const uint8_t  tiny_avcc[17] = {
    0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x64, 0x00, 0x1f,
    0x01, 0x00, 0x02, 0x68, 0xee,
};

/* x265 1280x720 Main: hvcC with VPS, SPS, PPS (as in test_flv.c) */
static const uint8_t  x265_hvcc[112] = {
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

/* AAC LC, 44100 Hz, stereo */
static const uint8_t  aac_asc[2] = { 0x12, 0x10 };


/*
 * Expected bytes as text: hex digits (spaces anywhere), 'text' for
 * ASCII such as box types, zN for N zero bytes.
 */

static size_t
test_hex(const char *s, uint8_t *out)
{
    char    *end;
    size_t   n, z;
    int      hi, d;

    n = 0;
    hi = -1;

    while (*s) {

        if (*s == '\'') {
            for (s++; *s && *s != '\''; s++) {
                out[n++] = (uint8_t) *s;
            }

            s += (*s != '\0');
            continue;
        }

        if (*s == 'z') {
            z = strtoul(s + 1, &end, 10);
            memset(out + n, 0, z);
            n += z;
            s = end;
            continue;
        }

        if (*s == ' ') {
            s++;
            continue;
        }

        d = (*s <= '9') ? *s - '0' : (*s | 0x20) - 'a' + 10;
        s++;

        if (hi < 0) {
            hi = d;

        } else {
            out[n++] = (uint8_t) (hi << 4 | d);
            hi = -1;
        }
    }

    return n;
}


/* bytes of a box's children after its header; 0 for a leaf box */

static size_t
test_children(const uint8_t *box)
{
    static const char  *types[] = {
        "moov", "trak", "mdia", "minf", "dinf", "stbl", "mvex", "moof",
        "traf", "stsd", "dref", "avc1", "hvc1", "mp4a", "esds",
    };
    static const size_t  skip[] = {
        8, 8, 8, 8, 8, 8, 8, 8, 8, 16, 16, 86, 86, 36, 0,
    };

    size_t  i;

    for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
        if (memcmp(box + 4, types[i], 4) == 0) {
            return skip[i];
        }
    }

    return 0;
}


/*
 * Every box size within p .. p + len: each box fits its parent and the
 * children of a container fill it exactly.  The number of boxes, or -1.
 */

static int
test_walk(const uint8_t *p, size_t len)
{
    int     n, k;
    size_t  size, skip;

    n = 0;

    while (len) {
        if (len < 8) {
            return -1;
        }

        size = ws_stream_rb32(p);

        if (size < 8 || size > len) {
            return -1;
        }

        skip = test_children(p);

        if (skip) {
            if (skip > size) {
                return -1;
            }

            k = test_walk(p + skip, size - skip);

            if (k < 0) {
                return -1;
            }

            n += k;
        }

        n++;
        p += size;
        len -= size;
    }

    return n;
}


/*
 * A box by path from the top level: "moov/trak2/mdia/mdhd" (a digit
 * after a type: the nth of that type).  NULL if missing.
 */

static const uint8_t *
test_box(const uint8_t *p, size_t len, const char *path)
{
    size_t          size, nth;
    const uint8_t  *end;

    end = p + len;

    for ( ;; ) {
        nth = 1;

        if (path[4] >= '1' && path[4] <= '9') {
            nth = (size_t) (path[4] - '0');
        }

        for ( ;; ) {
            if (end - p < 8) {
                return NULL;
            }

            size = ws_stream_rb32(p);

            if (size < 8 || size > (size_t) (end - p)) {
                return NULL;
            }

            if (memcmp(p + 4, path, 4) == 0 && --nth == 0) {
                break;
            }

            p += size;
        }

        path += 4;
        path += (*path >= '1' && *path <= '9');

        if (*path++ != '/') {
            return p;
        }

        end = p + size;
        p += test_children(p);
    }
}


/* a block of n bytes for the muxer to fill: ASan sees a write past it */

static uint8_t *
test_alloc(size_t n)
{
    uint8_t  *b;

    b = malloc(n ? n : 1);

    if (b == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }

    memset(b, 0xaa, n);

    return b;
}


/* a muxed segment in a heap block of exactly its size (for ASan) */

static uint8_t *
test_init(const ws_stream_mp4_track_t *v, const ws_stream_mp4_track_t *a,
    size_t *len)
{
    size_t    n;
    uint8_t  *b;

    n = ws_stream_mp4_init(NULL, v, a);
    b = test_alloc(n);
    *len = ws_stream_mp4_init(b, v, a);

    T(n > 0 && *len == n);
    T(test_walk(b, *len) > 0);

    return b;
}


static uint8_t *
test_frag(uint32_t seq, const ws_stream_mp4_track_t *v,
    const ws_stream_mp4_sample_t *vs, size_t nv, uint64_t v_end,
    const ws_stream_mp4_track_t *a, const ws_stream_mp4_sample_t *as,
    size_t na, uint64_t a_end, size_t *len)
{
    size_t    n;
    uint8_t  *b;

    n = ws_stream_mp4_fragment(NULL, seq, v, vs, nv, v_end, a, as, na,
                               a_end);
    b = test_alloc(n);
    *len = ws_stream_mp4_fragment(b, seq, v, vs, nv, v_end, a, as, na,
                                  a_end);

    T(n > 0 && *len == n);
    T(test_walk(b, *len) > 0);

    return b;
}


static int
test_eq(const uint8_t *p, size_t len, const char *hex)
{
    size_t   i, n;
    uint8_t  want[4096];

    n = test_hex(hex, want);

    for (i = 0; i < n && i < len && p[i] == want[i]; i++) { /* void */ }

    if (i == n && n == len) {
        return 1;
    }

    fprintf(stderr, "  %zu bytes, want %zu, first difference at %zu\n",
            len, n, i);

    return 0;
}


#define MATRIX  "00010000 z12 00010000 z12 40000000"


static void
test_mp4_init_video(void)
{
    size_t                  len;
    uint8_t                *b, *cfg;
    const uint8_t          *box;
    ws_stream_mp4_track_t   v;

    cfg = test_dup(tiny_avcc, sizeof(tiny_avcc));

    memset(&v, 0, sizeof(ws_stream_mp4_track_t));
    v.codec = WS_STREAM_CODEC_AVC;
    v.config = cfg;
    v.config_len = sizeof(tiny_avcc);
    v.width = 320;
    v.height = 240;

    b = test_init(&v, NULL, &len);

    T(test_walk(b, len) == 23);

    T(test_eq(b, len,
        "0000001c 'ftyp' 'iso6' 00000000 'iso6' 'cmfc' 'mp41'"
        "00000260 'moov'"
        /* mvhd: times, timescale 1000, duration 0, rate, volume, next 2 */
        " 0000006c 'mvhd' 00000000 z8 000003e8 00000000 00010000 0100 z10"
        "  " MATRIX " z24 00000002"
        " 000001c4 'trak'"
        /* tkhd: enabled | in_movie, id 1, volume 0, 320x240 16.16 */
        "  0000005c 'tkhd' 00000003 z8 00000001 z4 00000000 z8 0000 0000"
        "   0000 0000 " MATRIX " 01400000 00f00000"
        "  00000160 'mdia'"
        "   00000020 'mdhd' 00000000 z8 00015f90 00000000 55c4 0000"
        "   0000002d 'hdlr' 00000000 00000000 'vide' z12 'VideoHandler' 00"
        "   0000010b 'minf'"
        "    00000014 'vmhd' 00000001 0000 z6"
        "    00000024 'dinf' 0000001c 'dref' 00000000 00000001"
        "     0000000c 'url ' 00000001"
        "    000000cb 'stbl'"
        "     0000007f 'stsd' 00000000 00000001"
        /* avc1: SampleEntry, VisualSampleEntry fields, avcC */
        "      0000006f 'avc1' z6 0001 0000 0000 z12 0140 00f0 00480000"
        "       00480000 00000000 0001 z32 0018 ffff"
        "       00000019 'avcC' 01 64 00 1f ff e1 0004 6764001f 01 0002 68ee"
        "     00000010 'stts' 00000000 00000000"
        "     00000010 'stsc' 00000000 00000000"
        "     00000014 'stsz' 00000000 00000000 00000000"
        "     00000010 'stco' 00000000 00000000"
        " 00000028 'mvex'"
        "  00000020 'trex' 00000000 00000001 00000001 z12"));

    /* the sample entry of any size within 16 bits */

    v.width = 0xffff;
    v.height = 1;
    free(b);
    b = test_init(&v, NULL, &len);
    box = test_box(b, len, "moov/trak/mdia/minf/stbl/stsd/avc1");
    T(box && memcmp(box + 32, "\xff\xff\x00\x01", 4) == 0);
    box = test_box(b, len, "moov/trak/tkhd");
    T(box && memcmp(box + 84, "\xff\xff\x00\x00\x00\x01\x00\x00", 8) == 0);

    free(b);
    free(cfg);
}


static void
test_mp4_init_audio(void)
{
    size_t                  len;
    uint8_t                *b, *cfg, big[200];
    const uint8_t          *box;
    ws_stream_mp4_track_t   a, v;

    cfg = test_dup(aac_asc, sizeof(aac_asc));

    memset(&a, 0, sizeof(ws_stream_mp4_track_t));
    a.codec = WS_STREAM_CODEC_AAC;
    a.config = cfg;
    a.config_len = sizeof(aac_asc);
    a.sample_rate = 44100;
    a.channels = 2;

    /* audio only: one track, id 1, still a CMAF header */

    b = test_init(NULL, &a, &len);

    T(len == 596);
    T(test_eq(b, 28, "0000001c 'ftyp' 'iso6' 00000000 'iso6' 'cmfc' 'mp41'"));

    box = test_box(b, len, "moov/mvhd");
    T(box && ws_stream_rb32(box + 104) == 2);
    box = test_box(b, len, "moov/trak/tkhd");
    T(box && ws_stream_rb32(box + 20) == 1);
    T(box && ws_stream_rb16(box + 44) == 0x0100);       /* volume 1.0 */
    T(box && ws_stream_rb32(box + 84) == 0 && ws_stream_rb32(box + 88) == 0);
    box = test_box(b, len, "moov/trak/mdia/mdhd");
    T(box && ws_stream_rb32(box + 20) == 44100);
    box = test_box(b, len, "moov/trak/mdia/hdlr");
    T(box && memcmp(box + 16, "soun", 4) == 0);
    box = test_box(b, len, "moov/trak/mdia/minf/smhd");
    T(box && test_eq(box, 16, "00000010 'smhd' 00000000 0000 0000"));
    T(test_box(b, len, "moov/trak/mdia/minf/vmhd") == NULL);
    box = test_box(b, len, "moov/mvex/trex");
    T(box && ws_stream_rb32(box + 12) == 1);
    T(test_box(b, len, "moov/trak2") == NULL);

    /*
     * mp4a: channelcount 2, samplesize 16, 44100 << 16; esds: ES_ID 0,
     * DecoderConfigDescriptor MPEG-4 audio, audio stream, the ASC as
     * DecoderSpecificInfo, SLConfigDescriptor predefined 2
     */

    box = test_box(b, len, "moov/trak/mdia/minf/stbl/stsd/mp4a");
    T(box && test_eq(box, 75,
        "0000004b 'mp4a' z6 0001 z8 0002 0010 0000 0000 ac440000"
        " 00000027 'esds' 00000000"
        "  03 19 0000 00"
        "   04 11 40 15 000000 00000000 00000000"
        "    05 02 1210"
        "   06 01 02"));
    free(b);

    /* MP3: objectTypeIndication 0x6b, no DecoderSpecificInfo */

    a.codec = WS_STREAM_CODEC_MP3;
    a.config = NULL;
    a.config_len = 0;
    a.sample_rate = 22050;
    a.channels = 1;

    b = test_init(NULL, &a, &len);
    box = test_box(b, len, "moov/trak/mdia/minf/stbl/stsd/mp4a");
    T(box && test_eq(box, 71,
        "00000047 'mp4a' z6 0001 z8 0001 0010 0000 0000 56220000"
        " 00000023 'esds' 00000000"
        "  03 15 0000 00"
        "   04 0d 6b 15 000000 00000000 00000000"
        "   06 01 02"));
    free(b);

    /* a 200-byte config: descriptor sizes in two 7-bit groups */

    memset(big, 0x11, sizeof(big));
    a.codec = WS_STREAM_CODEC_AAC;
    a.config = big;
    a.config_len = sizeof(big);
    a.sample_rate = 96000;          /* beyond 16.16: 0 in the entry */
    a.channels = 0;                 /* unknown: 2 */

    b = test_init(NULL, &a, &len);
    box = test_box(b, len, "moov/trak/mdia/minf/stbl/stsd/mp4a/esds");
    T(box && ws_stream_rb32(box) == 12 + 3 + 225);
    T(box && test_eq(box + 12, 9, "03 8161 0000 00 04 8158"));
    T(box && test_eq(box + 21 + 13, 3, "05 8148"));
    T(box && box[37] == 0x11 && box[37 + 199] == 0x11);
    T(box && test_eq(box + 237, 3, "06 01 02"));
    box = test_box(b, len, "moov/trak/mdia/minf/stbl/stsd/mp4a");
    T(box && ws_stream_rb16(box + 24) == 2 && ws_stream_rb32(box + 32) == 0);
    box = test_box(b, len, "moov/trak/mdia/mdhd");
    T(box && ws_stream_rb32(box + 20) == 96000);
    free(b);

    /* both: video id 1, audio id 2, no CMAF brand for a muxed header */

    memset(&v, 0, sizeof(ws_stream_mp4_track_t));
    v.codec = WS_STREAM_CODEC_AVC;
    v.config = tiny_avcc;
    v.config_len = sizeof(tiny_avcc);
    a.config = cfg;
    a.config_len = sizeof(aac_asc);
    a.sample_rate = 48000;

    b = test_init(&v, &a, &len);

    /* ftyp 24, moov header, mvhd, the two trak, mvex with two trex */
    T(len == 24 + 8 + 108 + 452 + 412 + 8 + 2 * 32);
    T(test_eq(b, 24, "00000018 'ftyp' 'iso6' 00000000 'iso6' 'mp41'"));
    box = test_box(b, len, "moov/mvhd");
    T(box && ws_stream_rb32(box + 104) == 3);
    box = test_box(b, len, "moov/trak/mdia/hdlr");
    T(box && memcmp(box + 16, "vide", 4) == 0);
    box = test_box(b, len, "moov/trak2/tkhd");
    T(box && ws_stream_rb32(box + 20) == 2);
    box = test_box(b, len, "moov/trak2/mdia/mdhd");
    T(box && ws_stream_rb32(box + 20) == 48000);
    box = test_box(b, len, "moov/mvex/trex2");
    T(box && ws_stream_rb32(box + 12) == 2);
    free(b);

    free(cfg);
}


static void
test_mp4_init_hevc(void)
{
    size_t                  len;
    uint8_t                *b, *cfg;
    const uint8_t          *box;
    ws_stream_mp4_track_t   v;

    cfg = test_dup(x265_hvcc, sizeof(x265_hvcc));

    memset(&v, 0, sizeof(ws_stream_mp4_track_t));
    v.codec = WS_STREAM_CODEC_HEVC;
    v.config = cfg;
    v.config_len = sizeof(x265_hvcc);
    v.width = 1280;
    v.height = 720;

    b = test_init(&v, NULL, &len);

    T(test_box(b, len, "moov/trak/mdia/minf/stbl/stsd/avc1") == NULL);
    box = test_box(b, len, "moov/trak/mdia/minf/stbl/stsd/hvc1");
    T(box && ws_stream_rb32(box) == 86 + 8 + sizeof(x265_hvcc));
    T(box && test_eq(box + 8, 40, "z6 0001 0000 0000 z12 0500 02d0"
                                  " 00480000 00480000 00000000"));
    T(box && test_eq(box + 86, 8, "00000078 'hvcC'"));
    T(box && memcmp(box + 94, x265_hvcc, sizeof(x265_hvcc)) == 0);
    box = test_box(b, len, "moov/trak/tkhd");
    T(box && ws_stream_rb32(box + 84) == (1280u << 16));

    free(b);
    free(cfg);
}


static void
test_mp4_fragment(void)
{
    size_t                   len;
    uint8_t                 *b;
    const uint8_t           *box;
    ws_stream_mp4_track_t    v, a;
    ws_stream_mp4_sample_t   vs[2], as[2];

    memset(&v, 0, sizeof(ws_stream_mp4_track_t));
    v.codec = WS_STREAM_CODEC_AVC;
    v.config = tiny_avcc;
    v.config_len = sizeof(tiny_avcc);

    memset(&a, 0, sizeof(ws_stream_mp4_track_t));
    a.codec = WS_STREAM_CODEC_AAC;
    a.config = aac_asc;
    a.config_len = sizeof(aac_asc);
    a.sample_rate = 44100;

    memset(vs, 0, sizeof(vs));
    memset(as, 0, sizeof(as));

    vs[0].data = test_dup("\x00\x00\x00\x02\x65\x88", 6);
    vs[0].len = 6;
    vs[0].dts = 1000;
    vs[0].cts = 66;
    vs[0].key = 1;
    vs[1].data = test_dup("\x00\x00\x00\x01\x41", 5);
    vs[1].len = 5;
    vs[1].dts = 1033;

    as[0].data = test_dup("\xde\xad\xbe", 3);
    as[0].len = 3;
    as[0].dts = 1000;
    as[1].data = test_dup("\xef\x01", 2);
    as[1].len = 2;
    as[1].dts = 1023;

    /*
     * video: 90 kHz, 33 ms = 2970; audio: round(dts * 44.1), 44100,
     * 45114 (1023 ms), 46129 (1046 ms): durations 1014 and 1015.
     * Data offsets from the moof start: 216 + 8, then 11 bytes on.
     */

    b = test_frag(7, &v, vs, 2, 1066, &a, as, 2, 1046, &len);

    T(test_walk(b, len) == 11);
    T(test_eq(b, len,
        "000000d8 'moof'"
        " 00000010 'mfhd' 00000000 00000007"
        " 00000060 'traf'"
        "  00000010 'tfhd' 00020000 00000001"
        "  00000014 'tfdt' 01000000 0000000000015f90"
        "  00000034 'trun' 00000f01 00000002 000000e0"
        "   00000b9a 00000006 02000000 00001734"
        "   00000b9a 00000005 01010000 00000000"
        " 00000060 'traf'"
        "  00000010 'tfhd' 00020000 00000002"
        "  00000014 'tfdt' 01000000 000000000000ac44"
        "  00000034 'trun' 00000f01 00000002 000000eb"
        "   000003f6 00000003 02000000 00000000"
        "   000003f7 00000002 02000000 00000000"
        "00000018 'mdat' 00000002 6588 00000001 41 deadbe ef01"));

    /* the data offsets point at the first sample of each run */

    T(b[0xe0 + 4] == 0x65 && b[0xeb] == 0xde);
    free(b);

    /* a negative composition offset: trun version 1, two's complement */

    vs[1].cts = -33;
    b = test_frag(8, &v, vs, 2, 1066, &a, as, 2, 1046, &len);
    box = test_box(b, len, "moof/traf/trun");
    T(box && box[8] == 1 && ws_stream_rb32(box + 48) == 0xfffff466);
    box = test_box(b, len, "moof/traf2/trun");
    T(box && box[8] == 0);
    free(b);

    /* the audio track alone in a fragment keeps its id 2 */

    b = test_frag(9, &v, NULL, 0, 0, &a, as, 2, 1046, &len);
    T(test_walk(b, len) == 7);
    box = test_box(b, len, "moof/traf/tfhd");
    T(box && ws_stream_rb32(box + 12) == 2);
    T(test_box(b, len, "moof/traf2") == NULL);
    box = test_box(b, len, "moof/traf/trun");
    T(box && ws_stream_rb32(box + 16) == 8 + 16 + 96 + 8);
    free(b);

    /* audio-only and video-only layouts: the single track is id 1 */

    b = test_frag(1, NULL, NULL, 0, 0, &a, as, 2, 1046, &len);
    box = test_box(b, len, "moof/traf/tfhd");
    T(box && ws_stream_rb32(box + 12) == 1);
    free(b);

    b = test_frag(1, &v, vs, 2, 1066, NULL, NULL, 0, 0, &len);
    box = test_box(b, len, "moof/traf/tfhd");
    T(box && ws_stream_rb32(box + 12) == 1);
    T(test_box(b, len, "moof/traf2") == NULL);
    T(len == 8 + 16 + 96 + 8 + 11);
    free(b);

    /* equal dts: a zero duration */

    vs[1].dts = 1000;
    b = test_frag(1, &v, vs, 2, 1000, NULL, NULL, 0, 0, &len);
    box = test_box(b, len, "moof/traf/trun");
    T(box && ws_stream_rb32(box + 20) == 0 && ws_stream_rb32(box + 36) == 0);
    free(b);

    free((void *) vs[0].data);
    free((void *) vs[1].data);
    free((void *) as[0].data);
    free((void *) as[1].data);
}


/* the decode times of AAC frames (1024 samples, ms dts as in FLV) */

static void
test_mp4_continuity(uint32_t rate)
{
    size_t                   i, j, k, len, n[3];
    uint8_t                 *b, one;
    uint32_t                 d;
    uint64_t                 t, sum;
    const uint8_t           *box;
    ws_stream_mp4_track_t    a;
    ws_stream_mp4_sample_t   s[64];

    memset(&a, 0, sizeof(ws_stream_mp4_track_t));
    a.codec = WS_STREAM_CODEC_AAC;
    a.config = aac_asc;
    a.config_len = sizeof(aac_asc);
    a.sample_rate = rate;

    one = 0;

    for (i = 0; i < 64; i++) {
        s[i].data = &one;
        s[i].len = 1;
        s[i].dts = 5000 + (i * 1024 * 1000 + rate / 2) / rate;
        s[i].cts = 0;
        s[i].key = 0;
    }

    /* fragments of 21, 22 and 20 frames: each joins the last exactly */

    n[0] = 21;
    n[1] = 22;
    n[2] = 20;
    k = 0;
    t = ws_stream_mp4_audio_time(s[0].dts, rate);

    for (i = 0; i < 3; i++) {
        b = test_frag((uint32_t) i, NULL, NULL, 0, 0, &a, s + k, n[i],
                      s[k + n[i]].dts, &len);

        box = test_box(b, len, "moof/traf/tfdt");
        T(box && ((uint64_t) ws_stream_rb32(box + 12) << 32
                  | ws_stream_rb32(box + 16)) == t);

        box = test_box(b, len, "moof/traf/trun");
        sum = 0;

        for (j = 0; box && j < n[i]; j++) {
            d = ws_stream_rb32(box + 20 + 16 * j);
            sum += d;

            /* 1024 samples give or take the rounding to a millisecond */
            T(d + rate / 1000 + 1 >= 1024 && d <= 1024 + rate / 1000 + 1);
        }

        t += sum;
        k += n[i];
        free(b);
    }

    T(t == ws_stream_mp4_audio_time(s[k].dts, rate));
}


static void
test_mp4_invalid(void)
{
    uint8_t                  bad[32], *cut, one;
    ws_stream_mp4_track_t    v, a, h;
    ws_stream_mp4_sample_t   s[2], big[2];

    memset(&v, 0, sizeof(ws_stream_mp4_track_t));
    v.codec = WS_STREAM_CODEC_AVC;
    v.config = tiny_avcc;
    v.config_len = sizeof(tiny_avcc);

    memset(&a, 0, sizeof(ws_stream_mp4_track_t));
    a.codec = WS_STREAM_CODEC_AAC;
    a.config = aac_asc;
    a.config_len = sizeof(aac_asc);
    a.sample_rate = 44100;

    T(ws_stream_mp4_init(NULL, NULL, NULL) == 0);

#define INIT_BAD(field, value, track)                                        \
    do {                                                                     \
        ws_stream_mp4_track_t  t_ = track;                                   \
        t_.field = value;                                                    \
        T(ws_stream_mp4_init(NULL, &t_, NULL) == 0                           \
          && ws_stream_mp4_init(NULL, NULL, &t_) == 0                        \
          && ws_stream_mp4_init(bad, &t_, &a) == 0);                         \
    } while (0)

    /* zero-length or missing config, unsupported codec, too wide */

    INIT_BAD(config_len, 0, v);
    INIT_BAD(config, NULL, v);
    INIT_BAD(codec, 99, v);
    INIT_BAD(width, 65536, v);
    INIT_BAD(config_len, 0, a);
    INIT_BAD(sample_rate, 0, a);
    INIT_BAD(codec, WS_STREAM_CODEC_HEVC, a);

    /* avcC: shorter than its header, version 0, no SPS, cut in lists */

    cut = test_dup(tiny_avcc, 5);
    h = v;
    h.config = cut;
    INIT_BAD(config_len, 5, h);
    free(cut);
    memcpy(bad, tiny_avcc, sizeof(tiny_avcc));
    bad[0] = 0;
    INIT_BAD(config, bad, v);
    bad[0] = 1;
    bad[5] = 0xe0;
    INIT_BAD(config, bad, v);
    INIT_BAD(config_len, 7, v);             /* SPS length cut */
    INIT_BAD(config_len, 11, v);            /* SPS cut */
    INIT_BAD(config_len, 12, v);            /* no PPS count */
    INIT_BAD(config_len, 16, v);            /* PPS cut */

    /* hvcC: short, array header cut, NAL unit cut */

    h = v;
    h.codec = WS_STREAM_CODEC_HEVC;
    h.config = x265_hvcc;
    INIT_BAD(config_len, 22, h);
    INIT_BAD(config_len, 25, h);
    INIT_BAD(config_len, 40, h);
    INIT_BAD(config_len, sizeof(x265_hvcc) - 1, h);

    /* AAC: a one-byte ASC, object type 0 */

    INIT_BAD(config_len, 1, a);
    INIT_BAD(config, (const uint8_t *) "\x00\x10", a);

    /* the precise lengths are fine: exact-size heap copies */

    v.config = test_dup(tiny_avcc, sizeof(tiny_avcc));
    h.config = test_dup(x265_hvcc, sizeof(x265_hvcc));
    h.config_len = sizeof(x265_hvcc);
    T(ws_stream_mp4_init(NULL, &v, NULL) == 636);
    T(ws_stream_mp4_init(NULL, &h, &a) > 0);
    free((void *) v.config);
    free((void *) h.config);
    v.config = tiny_avcc;

    /* fragments */

    one = 0;
    memset(s, 0, sizeof(s));
    s[0].data = &one;
    s[0].len = 1;
    s[0].dts = 100;
    s[1] = s[0];
    s[1].dts = 140;

    T(ws_stream_mp4_fragment(NULL, 1, &v, s, 2, 200, &a, s, 2, 200) > 0);
    T(ws_stream_mp4_fragment(NULL, 1, &v, s, 0, 0, &a, s, 0, 0) == 0);
    T(ws_stream_mp4_fragment(NULL, 1, NULL, s, 2, 200, &a, s, 0, 0) == 0);
    T(ws_stream_mp4_fragment(NULL, 1, &v, NULL, 2, 200, &a, s, 0, 0) == 0);
    T(ws_stream_mp4_fragment(NULL, 1, &a, s, 2, 200, NULL, s, 0, 0) == 0);
    T(ws_stream_mp4_fragment(NULL, 1, &v, s, 0, 0, &v, s, 2, 200) == 0);
    T(ws_stream_mp4_fragment(bad, 1, &v, s, 2, 139, NULL, s, 0, 0) == 0);

    h = a;
    h.sample_rate = 0;
    T(ws_stream_mp4_fragment(bad, 1, NULL, s, 0, 0, &h, s, 2, 200) == 0);

    s[1].dts = 99;                              /* decreasing dts */
    T(ws_stream_mp4_fragment(bad, 1, &v, s, 2, 200, NULL, s, 0, 0) == 0);
    T(ws_stream_mp4_fragment(bad, 1, NULL, s, 0, 0, &a, s, 2, 200) == 0);
    s[1].dts = 140;

    /* durations and composition offsets beyond 32 bits */

    T(ws_stream_mp4_fragment(NULL, 1, &v, s, 2, 140 + 47721859, NULL, s, 0,
                             0) == 0);
    T(ws_stream_mp4_fragment(NULL, 1, &v, s, 2, 140 + 47721858, NULL, s, 0,
                             0) > 0);
    s[0].cts = 47721859;
    T(ws_stream_mp4_fragment(NULL, 1, &v, s, 2, 200, NULL, s, 0, 0) == 0);
    s[0].cts = 47721858;
    T(ws_stream_mp4_fragment(NULL, 1, &v, s, 2, 200, NULL, s, 0, 0) > 0);
    s[1].cts = -1;                              /* version 1: signed */
    T(ws_stream_mp4_fragment(NULL, 1, &v, s, 2, 200, NULL, s, 0, 0) == 0);
    s[0].cts = 23860929;
    T(ws_stream_mp4_fragment(NULL, 1, &v, s, 2, 200, NULL, s, 0, 0) > 0);
    s[0].cts = 0;
    s[1].cts = 0;

    /* a dts whose decode time would overflow 64 bits */

    T(ws_stream_mp4_fragment(NULL, 1, &v, s, 2, UINT64_MAX / 90 + 1, NULL,
                             s, 0, 0) == 0);
    T(ws_stream_mp4_fragment(NULL, 1, NULL, s, 0, 0, &a, s, 2, UINT64_MAX)
      == 0);

    /* over 4 GiB of samples (sizes only: the data is never read) */

    big[0] = s[0];
    big[1] = s[1];
    big[0].len = 0x80000000;
    big[1].len = 0x80000000;

    T(ws_stream_mp4_fragment(NULL, 1, &v, big, 2, 200, NULL, s, 0, 0) == 0);
    big[1].len = 0x7fffff00;
    T(ws_stream_mp4_fragment(NULL, 1, &v, big, 2, 200, NULL, s, 0, 0)
      == 8 + 16 + 96 + 8 + (size_t) 0xffffff00);

    /* the audio data offset past 2 GiB does not fit the signed field */

    T(ws_stream_mp4_fragment(NULL, 1, &v, big, 2, 200, &a, s, 1, 200) == 0);
    big[0].len = 0x7fffff00;
    T(ws_stream_mp4_fragment(NULL, 1, &v, big, 1, 200, &a, s, 1, 200) > 0);
    T(ws_stream_mp4_fragment(NULL, 1, &v, big, 1, 200, &a, big, 2, 200)
      == 0);

#undef INIT_BAD
}


void
test_mp4(void)
{
    test_mp4_init_video();
    test_mp4_init_audio();
    test_mp4_init_hevc();
    test_mp4_fragment();
    test_mp4_continuity(44100);
    test_mp4_continuity(48000);
    test_mp4_invalid();
}
