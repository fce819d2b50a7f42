
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Playlist text: exact media playlists of small indexes (steady, delta
 * update, discontinuity with a second EXT-X-MAP, the hint of a new
 * timeline, rendition report), the multivariant playlist, the counting
 * mode and truncation.  With WS_STREAM_HLS_OUT set, also writes the
 * realistic playlists test/hls/ parses with hls-parser.
 */


#include "test.h"
#include "ws_stream_m3u8.h"


#define TEST_WALL   1700000000000ULL


typedef struct {
    ws_stream_hls_t       *h;
    ws_stream_hls_snap_t  *snap;
    uint64_t               next;
    unsigned               bad;
    unsigned               open;
    uint32_t               vframes;
    uint64_t               ingest;
    int64_t                wall;
} test_m3u8_t;


/* the common head of the small playlists: 1 s segments, 200 ms parts */

#define TEST_M3U8_HEAD(version, msn)                                         \
    "#EXTM3U\n"                                                              \
    "#EXT-X-VERSION:" version "\n"                                           \
    "#EXT-X-TARGETDURATION:1\n"                                              \
    "#EXT-X-MEDIA-SEQUENCE:" msn "\n"                                        \
    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.000,"       \
    "PART-HOLD-BACK=0.600,HOLD-BACK=3.000\n"                                 \
    "#EXT-X-PART-INF:PART-TARGET=0.200\n"

#define TEST_M3U8_PARTS(msn)                                                 \
    "#EXT-X-PART:DURATION=0.200,URI=\"" msn ".0.m4s\",INDEPENDENT=YES\n"     \
    "#EXT-X-PART:DURATION=0.200,URI=\"" msn ".1.m4s\"\n"                     \
    "#EXT-X-PART:DURATION=0.200,URI=\"" msn ".2.m4s\"\n"                     \
    "#EXT-X-PART:DURATION=0.200,URI=\"" msn ".3.m4s\"\n"                     \
    "#EXT-X-PART:DURATION=0.200,URI=\"" msn ".4.m4s\"\n"

#define TEST_M3U8_SEG(msn, time)                                             \
    "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:" time "Z\n"                     \
    "#EXTINF:1.000,\n"                                                       \
    msn ".m4s\n"

#define TEST_M3U8_PSEG(msn, time)                                            \
    "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:" time "Z\n"                     \
    TEST_M3U8_PARTS(msn)                                                     \
    "#EXTINF:1.000,\n"                                                       \
    msn ".m4s\n"

#define TEST_M3U8_OPEN(msn, time)                                            \
    "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:" time "Z\n"                     \
    "#EXT-X-PART:DURATION=0.200,URI=\"" msn ".0.m4s\",INDEPENDENT=YES\n"     \
    "#EXT-X-PART:DURATION=0.200,URI=\"" msn ".1.m4s\"\n"                     \
    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"" msn ".2.m4s\"\n"


static const char  test_m3u8_steady[] =
    TEST_M3U8_HEAD("6", "2")
    "#EXT-X-MAP:URI=\"init-0.mp4\"\n"
    TEST_M3U8_SEG("2", "13:22.000")
    TEST_M3U8_SEG("3", "13:23.000")
    TEST_M3U8_PSEG("4", "13:24.000")
    TEST_M3U8_PSEG("5", "13:25.000")
    TEST_M3U8_OPEN("6", "13:26.000");

static const char  test_m3u8_delta[] =
    TEST_M3U8_HEAD("9", "2")
    "#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n"
    "#EXT-X-MAP:URI=\"init-0.mp4\"\n"
    TEST_M3U8_SEG("6", "13:26.000")
    TEST_M3U8_SEG("7", "13:27.000")
    TEST_M3U8_SEG("8", "13:28.000")
    TEST_M3U8_SEG("9", "13:29.000")
    TEST_M3U8_PSEG("10", "13:30.000")
    TEST_M3U8_PSEG("11", "13:31.000")
    TEST_M3U8_OPEN("12", "13:32.000");

static const char  test_m3u8_hint[] =
    TEST_M3U8_HEAD("6", "1")
    "#EXT-X-MAP:URI=\"init-0.mp4\"\n"
    TEST_M3U8_SEG("1", "13:21.000")
    TEST_M3U8_SEG("2", "13:22.000")
    TEST_M3U8_PSEG("3", "13:23.000")
    "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:24.000Z\n"
    "#EXT-X-PART:DURATION=0.040,URI=\"4.0.m4s\",INDEPENDENT=YES\n"
    "#EXTINF:0.040,\n"
    "4.m4s\n"
    "#EXT-X-DISCONTINUITY\n"
    "#EXT-X-MAP:URI=\"init-1.mp4\"\n"
    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"5.0.m4s\"\n";

static const char  test_m3u8_disc[] =
    TEST_M3U8_HEAD("6", "3")
    "#EXT-X-MAP:URI=\"init-0.mp4\"\n"
    TEST_M3U8_SEG("3", "13:23.000")
    "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:24.000Z\n"
    "#EXTINF:0.040,\n"
    "4.m4s\n"
    "#EXT-X-DISCONTINUITY\n"
    "#EXT-X-MAP:URI=\"init-1.mp4\"\n"
    TEST_M3U8_PSEG("5", "14:24.040")
    TEST_M3U8_PSEG("6", "14:25.040")
    TEST_M3U8_OPEN("7", "14:26.040")
    "#EXT-X-RENDITION-REPORT:URI=\"../low/media.m3u8\",LAST-MSN=7,"
    "LAST-PART=1\n";

static const char  test_m3u8_whole[] =
    TEST_M3U8_HEAD("6", "2")
    "#EXT-X-MAP:URI=\"init-0.mp4\"\n"
    TEST_M3U8_SEG("2", "13:22.000")
    TEST_M3U8_SEG("3", "13:23.000");

/* the window slid past the discontinuity: it is counted in the head */

static const char  test_m3u8_after[] =
    "#EXTM3U\n"
    "#EXT-X-VERSION:6\n"
    "#EXT-X-TARGETDURATION:1\n"
    "#EXT-X-MEDIA-SEQUENCE:6\n"
    "#EXT-X-DISCONTINUITY-SEQUENCE:1\n"
    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.000,"
    "PART-HOLD-BACK=0.600,HOLD-BACK=3.000\n"
    "#EXT-X-PART-INF:PART-TARGET=0.200\n"
    "#EXT-X-MAP:URI=\"init-1.mp4\"\n"
    TEST_M3U8_SEG("6", "14:25.040");


static void
test_m3u8_new(test_m3u8_t *t, uint32_t part, uint32_t segment,
    uint32_t window, uint32_t lead)
{
    ws_stream_hls_conf_t  conf;

    memset(t, 0, sizeof(test_m3u8_t));

    t->h = malloc(sizeof(ws_stream_hls_t));
    t->snap = malloc(sizeof(ws_stream_hls_snap_t));

    if (t->h == NULL || t->snap == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }

    conf.part = part;
    conf.segment = segment;
    conf.window = window;
    conf.lead = lead;

    ws_stream_hls_init(t->h, &conf);
    t->next = 1000;
}


static void
test_m3u8_free(test_m3u8_t *t)
{
    free(t->h);
    free(t->snap);
}


/* the glue: commit with 500 + 100 bytes a video frame, free expired */

static void
test_m3u8_commit(test_m3u8_t *t)
{
    uint64_t                handles[WS_STREAM_HLS_SEG_PARTS];
    ws_stream_hls_commit_t  c;

    c.handle = t->next++;
    c.size = 500 + 100 * t->vframes;
    c.vframes = t->vframes;
    c.ingest = t->ingest;

    if (ws_stream_hls_commit(t->h, &c) != WS_STREAM_OK) {
        t->bad++;
    }

    t->open = 0;
    t->vframes = 0;

    while (ws_stream_hls_expire(t->h, handles, WS_STREAM_HLS_SEG_PARTS)) {
        /* void */
    }
}


static void
test_m3u8_frame(test_m3u8_t *t, unsigned track, unsigned key, uint32_t dts)
{
    int  rc;

    rc = ws_stream_hls_cut(t->h, track, key, dts);

    if (rc == WS_STREAM_HLS_PART || rc == WS_STREAM_HLS_SEGMENT) {
        test_m3u8_commit(t);
    }

    if (rc != WS_STREAM_HLS_APPEND && rc != WS_STREAM_HLS_PART
        && rc != WS_STREAM_HLS_SEGMENT)
    {
        return;
    }

    if (!t->open) {
        t->open = 1;
        t->ingest = TEST_WALL + ws_stream_hls_dts(t->h, dts) + t->wall;
    }

    t->vframes += track == WS_STREAM_TRACK_VIDEO;
}


/* 25 fps video, a key every second, frames first..last */

static void
test_m3u8_video(test_m3u8_t *t, unsigned first, unsigned last, uint32_t t0)
{
    unsigned  i;

    for (i = first; i <= last; i++) {
        test_m3u8_frame(t, WS_STREAM_TRACK_VIDEO, i % 25 == 0, t0 + i * 40);
    }
}


static void
test_m3u8_restart(test_m3u8_t *t)
{
    if (ws_stream_hls_discontinuity(t->h) == WS_STREAM_HLS_SEGMENT) {
        test_m3u8_commit(t);
    }
}


/* counts, writes exactly, truncates: returns the text, NUL-terminated */

static char *
test_m3u8_write(test_m3u8_t *t, const ws_stream_m3u8_media_t *opt)
{
    char     *text;
    size_t    len, cut;
    uint8_t  *b;

    if (ws_stream_hls_snapshot(t->h, t->snap) != WS_STREAM_OK) {
        t->bad++;
    }

    len = ws_stream_m3u8_media(NULL, 0, t->snap, opt);

    /* exactly len bytes: ASan sees a write past them */
    b = malloc(len);
    T(b != NULL && ws_stream_m3u8_media(b, len, t->snap, opt) == len);

    text = malloc(len + 1);
    memcpy(text, b, len);
    text[len] = '\0';

    /* a short buffer gets the first bytes, the length stays */

    cut = len / 3;
    memset(b, '#', len);
    T(ws_stream_m3u8_media(b, cut, t->snap, opt) == len);
    T(memcmp(b, text, cut) == 0 && (cut == len || b[cut] == '#'));

    free(b);

    return text;
}


static int
test_m3u8_is(char *text, const char *expect)
{
    int  ok;

    ok = strcmp(text, expect) == 0;

    if (!ok) {
        fprintf(stderr, "playlist:\n%s--- expected:\n%s---\n", text, expect);
    }

    free(text);

    return ok;
}


static void
test_m3u8_media(void)
{
    char                     *text;
    test_m3u8_t               t;
    ws_stream_m3u8_media_t    opt;
    ws_stream_m3u8_report_t   report;

    /* 6.4 s of 25 fps: segments 2..5 listed, parts for 4, 5 and 6 */

    test_m3u8_new(&t, 200, 1000, 4, 0);
    test_m3u8_video(&t, 0, 160, 0);

    T(test_m3u8_is(test_m3u8_write(&t, NULL), test_m3u8_steady));
    T(t.snap->first == 2 && t.snap->nsegs == 5 && t.snap->parts_from == 4);

    /* a delta update asked for, but nothing ends 6 s before the end */

    memset(&opt, 0, sizeof(opt));
    opt.skip = WS_STREAM_HLS_SKIP_YES;
    T(ws_stream_m3u8_skippable(t.snap) == 0);
    T(test_m3u8_is(test_m3u8_write(&t, &opt), test_m3u8_steady));

    test_m3u8_free(&t);

    /* a window of 10: segments 2..5 end 6.4 s or more before the end */

    test_m3u8_new(&t, 200, 1000, 10, 0);
    test_m3u8_video(&t, 0, 310, 0);

    T(test_m3u8_is(test_m3u8_write(&t, &opt), test_m3u8_delta));
    T(ws_stream_m3u8_skippable(t.snap) == 4);

    /* the same snapshot whole: version 6, every segment */

    text = test_m3u8_write(&t, NULL);
    T(strncmp(text, test_m3u8_whole, sizeof(test_m3u8_whole) - 1) == 0);
    T(strstr(text, "#EXT-X-SKIP") == NULL && strstr(text, "\n5.m4s\n"));
    free(text);

    test_m3u8_free(&t);

    /* 4 s, then the publisher goes: segment 4 is its last 40 ms; the
     * hint of the next timeline's first part comes with its map */

    test_m3u8_new(&t, 200, 1000, 4, 0);
    test_m3u8_video(&t, 0, 100, 0);
    test_m3u8_restart(&t);

    T(test_m3u8_is(test_m3u8_write(&t, NULL), test_m3u8_hint));

    /* a new publisher, its clock at 0, the wall a minute later */

    t.wall = 60000;
    test_m3u8_video(&t, 0, 60, 0);

    report.uri = "../low/media.m3u8";
    report.msn = 7;
    report.part = 1;
    opt.skip = 0;
    opt.reports = &report;
    opt.nreports = 1;

    T(test_m3u8_is(test_m3u8_write(&t, &opt), test_m3u8_disc));
    T(t.bad == 0);

    /* three segments on, segment 5 (the flagged one) left the window */

    test_m3u8_video(&t, 61, 130, 0);
    text = test_m3u8_write(&t, NULL);
    T(strncmp(text, test_m3u8_after, sizeof(test_m3u8_after) - 1) == 0);
    T(strstr(text, "#EXT-X-DISCONTINUITY\n") == NULL);
    free(text);

    test_m3u8_free(&t);
}


static void
test_m3u8_multi(void)
{
    size_t                     len;
    uint8_t                   *b;
    uint64_t                   peak, average;
    uint32_t                   rate;
    test_m3u8_t                t;
    ws_stream_m3u8_variant_t   v[2];

    static const char  one[] =
        "#EXTM3U\n"
        "#EXT-X-VERSION:6\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=40000,AVERAGE-BANDWIDTH=40000,"
        "CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,"
        "FRAME-RATE=25.000\n"
        "media.m3u8\n";

    static const char  two[] =
        "#EXTM3U\n"
        "#EXT-X-VERSION:6\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=40000,AVERAGE-BANDWIDTH=40000,"
        "CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,"
        "FRAME-RATE=25.000\n"
        "media.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS=\"avc1.42c01e\","
        "FRAME-RATE=29.970\n"
        "../low/media.m3u8\n";

    /* the rates of the first small playlist: 5000 bytes a second */

    test_m3u8_new(&t, 200, 1000, 4, 0);

    ws_stream_hls_snapshot(t.h, t.snap);
    ws_stream_m3u8_rates(t.snap, &peak, &average, &rate);
    T(peak == 0 && average == 0 && rate == 0);

    /* the open segment's parts while none is complete */

    test_m3u8_video(&t, 0, 10, 0);
    ws_stream_hls_snapshot(t.h, t.snap);
    ws_stream_m3u8_rates(t.snap, &peak, &average, &rate);
    T(peak == 40000 && average == 40000 && rate == 25000);

    test_m3u8_video(&t, 11, 160, 0);
    ws_stream_hls_snapshot(t.h, t.snap);
    ws_stream_m3u8_rates(t.snap, &peak, &average, &rate);
    T(peak == 40000 && average == 40000 && rate == 25000);

    v[0].uri = "media.m3u8";
    v[0].bandwidth = peak;
    v[0].average = average;
    v[0].codecs = "avc1.64001f,mp4a.40.2";
    v[0].width = 1280;
    v[0].height = 720;
    v[0].frame_rate = rate;

    len = ws_stream_m3u8_multivariant(NULL, 0, v, 1, 1);
    T(len == sizeof(one) - 1);
    b = malloc(len);
    T(ws_stream_m3u8_multivariant(b, len, v, 1, 1) == len);
    T(memcmp(b, one, len) == 0);
    free(b);

    /* a second rendition, without what it does not know; quotes and
     * line breaks cannot get into the text */

    v[1].uri = "../low/media\r\n.m3u8";
    v[1].bandwidth = 800000;
    v[1].average = 0;
    v[1].codecs = "avc1.\"42c01e\"";
    v[1].width = 0;
    v[1].height = 360;
    v[1].frame_rate = 29970;

    len = ws_stream_m3u8_multivariant(NULL, 0, v, 2, 0);
    T(len == sizeof(two) - 1);
    b = malloc(len);
    T(ws_stream_m3u8_multivariant(b, len, v, 2, 0) == len);
    T(memcmp(b, two, len) == 0);
    free(b);

    test_m3u8_free(&t);
}


/*
 * Realistic playlists for test/hls/: 30 fps video with AAC 48 kHz, 2 s
 * segments, 200 ms parts; a long window for a delta update; a restart;
 * audio only; the multivariant playlist.  expect.json says what the
 * index knew when it wrote each.
 */

static void
test_m3u8_file(const char *dir, const char *name, const uint8_t *p,
    size_t len)
{
    char   path[1024];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "w");

    if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}


static void
test_m3u8_av(test_m3u8_t *t, uint64_t from, uint64_t to, uint32_t t0,
    int video)
{
    uint32_t  v, a;
    uint64_t  i, j;

    /* audio frames up to each video frame; audio alone if !video */

    for (i = from, j = from * 45 / 32; i < to; i++) {
        v = t0 + (uint32_t) ((2000 * i + 30) / 60);

        while ((a = t0 + (uint32_t) ((2000 * 1024 * j + 48000) / 96000))
               <= v)
        {
            test_m3u8_frame(t, WS_STREAM_TRACK_AUDIO, 1, a);
            j++;
        }

        if (video) {
            test_m3u8_frame(t, WS_STREAM_TRACK_VIDEO, i % 60 == 0, v);
        }
    }
}


static void
test_m3u8_put(test_m3u8_t *t, const char *dir, const char *name,
    unsigned skip, FILE *json)
{
    static unsigned         n;

    size_t                  len;
    uint8_t                *b;
    ws_stream_m3u8_media_t  opt;

    memset(&opt, 0, sizeof(opt));
    opt.skip = skip;

    if (ws_stream_hls_snapshot(t->h, t->snap) != WS_STREAM_OK) {
        t->bad++;
    }

    len = ws_stream_m3u8_media(NULL, 0, t->snap, &opt);
    b = malloc(len);
    ws_stream_m3u8_media(b, len, t->snap, &opt);
    test_m3u8_file(dir, name, b, len);
    free(b);

    fprintf(json, "%s\"%s\": {\"target\": %u, \"part\": %u, "
            "\"first\": %llu, \"open\": %llu, \"openParts\": %u, "
            "\"skipped\": %u, \"parts_from\": %llu}",
            n++ ? ",\n  " : "", name, t->snap->target,
            t->snap->head.part_target, (unsigned long long) t->snap->first,
            (unsigned long long) t->snap->head.open,
            t->snap->head.open_parts,
            skip ? ws_stream_m3u8_skippable(t->snap) : 0,
            (unsigned long long) t->snap->parts_from);
}


static void
test_m3u8_realistic(const char *dir)
{
    FILE                      *json;
    size_t                     len;
    uint8_t                   *b;
    test_m3u8_t                t;
    ws_stream_m3u8_variant_t   v;
    char                       path[1024];

    snprintf(path, sizeof(path), "%s/expect.json", dir);
    json = fopen(path, "w");

    if (json == NULL) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }

    fprintf(json, "{\n  ");

    /* 41.3 s: steady state; the multivariant playlist from it */

    test_m3u8_new(&t, 200, 2000, 7, 0);
    test_m3u8_av(&t, 0, 1240, 0, 1);
    test_m3u8_put(&t, dir, "steady.m3u8", 0, json);

    v.uri = "media.m3u8";
    ws_stream_m3u8_rates(t.snap, &v.bandwidth, &v.average, &v.frame_rate);
    v.codecs = "avc1.64001f,mp4a.40.2";
    v.width = 1280;
    v.height = 720;

    len = ws_stream_m3u8_multivariant(NULL, 0, &v, 1, t.h->forced == 0);
    b = malloc(len);
    ws_stream_m3u8_multivariant(b, len, &v, 1, t.h->forced == 0);
    test_m3u8_file(dir, "multivariant.m3u8", b, len);
    free(b);

    fprintf(json, ",\n  \"multivariant.m3u8\": {\"bandwidth\": %llu, "
            "\"average\": %llu, \"frameRate\": %u}",
            (unsigned long long) v.bandwidth,
            (unsigned long long) v.average, v.frame_rate);

    test_m3u8_free(&t);

    /* a window of 12: a delta update and the whole playlist */

    test_m3u8_new(&t, 200, 2000, 12, 0);
    test_m3u8_av(&t, 0, 2010, 1000, 1);
    test_m3u8_put(&t, dir, "delta.m3u8", 1, json);
    test_m3u8_put(&t, dir, "full.m3u8", 0, json);
    test_m3u8_free(&t);

    /* 20 s, a restart at another clock, 7.1 s more */

    test_m3u8_new(&t, 200, 2000, 7, 0);
    test_m3u8_av(&t, 0, 600, 0, 1);
    test_m3u8_restart(&t);
    t.wall = 90000;
    test_m3u8_av(&t, 0, 213, 123456, 1);
    test_m3u8_put(&t, dir, "discontinuity.m3u8", 0, json);
    test_m3u8_free(&t);

    /* audio only, 30.5 s */

    test_m3u8_new(&t, 200, 2000, 7, WS_STREAM_TRACK_AUDIO);
    test_m3u8_av(&t, 0, 915, 0, 0);
    test_m3u8_put(&t, dir, "audio.m3u8", 0, json);
    T(t.bad == 0);
    test_m3u8_free(&t);

    fprintf(json, "\n}\n");
    fclose(json);
}


void
test_m3u8(void)
{
    const char  *dir;

    test_m3u8_media();
    test_m3u8_multi();

    dir = getenv("WS_STREAM_HLS_OUT");

    if (dir != NULL) {
        test_m3u8_realistic(dir);
    }
}
