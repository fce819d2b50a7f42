/*
 * ws-stream-pub: real-time RTMP publisher for the benchmark.
 *
 *   ws-stream-pub -i FIXTURE.flv -u rtmp://HOST:PORT/APP/STREAM
 *                 [-d SECONDS] [-c CHUNK] [-q]
 *
 * Loads the whole FLV file, publishes onMetaData and the AVC/AAC sequence
 * headers, then every audio/video tag at its due time (CLOCK_MONOTONIC,
 * start + tag timestamp), looping the file forever or for -d seconds with
 * timestamps continuing across loops. Every AVC NALU packet gets the stamp
 * SEI (sei.h) as its first NAL unit, filled in just before the send call.
 *
 * Exit status: 0 on -d expiry or SIGINT/SIGTERM, 1 on any error.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librtmp/log.h>
#include <librtmp/rtmp.h>

#include "flv_fixture.h"

#define CHAN_META 0x05
#define CHAN_VIDEO 0x06
#define CHAN_AUDIO 0x07

#define REPORT_NS 5000000000LL

#define PROG "ws-stream-pub"

static int64_t
now_ns(clockid_t clk)
{
    return fixture_clock_ns(PROG, clk);
}

typedef struct {
    RTMP *r;
    uint8_t *buf;               /* RTMP_MAX_HEADER_SIZE headroom + body */
    size_t cap;
    uint64_t bytes;
} conn_t;

static int
send_body(conn_t *c, uint8_t type, int chan, uint32_t ts, size_t len)
{
    RTMPPacket pkt;

    memset(&pkt, 0, sizeof(pkt));
    pkt.m_headerType = RTMP_PACKET_SIZE_LARGE;
    pkt.m_packetType = type;
    pkt.m_nChannel = chan;
    pkt.m_nTimeStamp = ts;
    pkt.m_hasAbsTimestamp = 1;
    pkt.m_nInfoField2 = c->r->m_stream_id;
    pkt.m_nBodySize = (uint32_t) len;
    pkt.m_body = (char *) c->buf + RTMP_MAX_HEADER_SIZE;
    if (!RTMP_SendPacket(c->r, &pkt, 0)) {
        fprintf(stderr, "ws-stream-pub: send failed (%s)\n",
                errno ? strerror(errno) : "connection closed");
        return -1;
    }
    c->bytes += len;
    return 0;
}

static int
set_chunk_size(conn_t *c, int size)
{
    uint8_t *b = c->buf + RTMP_MAX_HEADER_SIZE;
    RTMPPacket pkt;

    b[0] = (uint8_t) (size >> 24);
    b[1] = (uint8_t) (size >> 16);
    b[2] = (uint8_t) (size >> 8);
    b[3] = (uint8_t) size;
    memset(&pkt, 0, sizeof(pkt));
    pkt.m_headerType = RTMP_PACKET_SIZE_LARGE;
    pkt.m_packetType = RTMP_PACKET_TYPE_CHUNK_SIZE;
    pkt.m_nChannel = 0x02;
    pkt.m_nBodySize = 4;
    pkt.m_body = (char *) b;
    if (!RTMP_SendPacket(c->r, &pkt, 0)) {
        fprintf(stderr, "ws-stream-pub: sending Set Chunk Size failed\n");
        return -1;
    }
    c->r->m_outChunkSize = size;
    return 0;
}

/* Handles whatever the server sent (pings, acks, status); -1 if the
 * server closed the connection. */
static int
service_input(conn_t *c)
{
    struct pollfd pfd;
    RTMPPacket pkt;
    int n;

    for (;;) {
        if (c->r->m_sb.sb_size <= 0) {
            pfd.fd = RTMP_Socket(c->r);
            pfd.events = POLLIN;
            pfd.revents = 0;
            n = poll(&pfd, 1, 0);
            if (n < 0) {
                if (errno == EINTR) {
                    return 0;
                }
                perror("ws-stream-pub: poll");
                return -1;
            }
            if (n == 0) {
                return 0;
            }
        }
        memset(&pkt, 0, sizeof(pkt));
        do {
            if (!RTMP_ReadPacket(c->r, &pkt)) {
                RTMPPacket_Free(&pkt);
                fprintf(stderr, "ws-stream-pub: connection closed by "
                        "the server\n");
                return -1;
            }
        } while (!RTMPPacket_IsReady(&pkt));
        RTMP_ClientPacket(c->r, &pkt);
        RTMPPacket_Free(&pkt);
        if (!RTMP_IsConnected(c->r)) {
            fprintf(stderr, "ws-stream-pub: the server ended the "
                    "session\n");
            return -1;
        }
    }
}

static void
usage(void)
{
    fprintf(stderr, "usage: ws-stream-pub -i FIXTURE.flv "
            "-u rtmp://HOST:PORT/APP/STREAM [-d SECONDS] [-c CHUNK] [-q]\n");
    exit(1);
}

typedef struct {
    const char *in;
    char *url;
    double limit_s;             /* -d, 0: forever */
    int quiet;
    int chunk;
    fixture_t fx;
    conn_t c;
    uint64_t loop;              /* loops of the file done */
    uint64_t frames;
    uint64_t audio;
    uint64_t rep_bytes;         /* since the last progress report */
    uint64_t late1;             /* sends more than 1 ms late */
    uint64_t late5;             /* sends more than 5 ms late */
    int64_t start;              /* CLOCK_MONOTONIC ns, 0 before the loop */
    int64_t last_rep;
    int64_t worst;              /* lateness */
    int64_t rep_worst;          /* lateness since the last progress report */
    int64_t worst_send;
} pub_t;

static void
pub_args(pub_t *p, int argc, char **argv)
{
    int opt;

    p->chunk = 4096;
    while ((opt = getopt(argc, argv, "i:u:d:c:q")) != -1) {
        switch (opt) {
        case 'i':
            p->in = optarg;
            break;
        case 'u':
            p->url = optarg;
            break;
        case 'd':
            p->limit_s = strtod(optarg, NULL);
            if (p->limit_s <= 0) {
                usage();
            }
            break;
        case 'c':
            p->chunk = atoi(optarg);
            if (p->chunk < 128 || p->chunk > 0x7FFFFFFF / 2) {
                usage();
            }
            break;
        case 'q':
            p->quiet = 1;
            break;
        default:
            usage();
        }
    }
    if (p->in == NULL || p->url == NULL || optind != argc) {
        usage();
    }
}

/* The send buffer, then connect, publish and set the chunk size; -1 after
 * a message. */
static int
pub_connect(pub_t *p)
{
    conn_t *c = &p->c;

    c->cap = RTMP_MAX_HEADER_SIZE + p->fx.max_len + FIXTURE_STAMP_MAX + 16;
    c->buf = malloc(c->cap);
    if (c->buf == NULL) {
        fprintf(stderr, "ws-stream-pub: out of memory\n");
        return -1;
    }

    RTMP_LogSetLevel(RTMP_LOGERROR);
    c->r = RTMP_Alloc();
    if (c->r == NULL) {
        fprintf(stderr, "ws-stream-pub: out of memory\n");
        return -1;
    }
    RTMP_Init(c->r);
    if (!RTMP_SetupURL(c->r, p->url)) {
        fprintf(stderr, "ws-stream-pub: bad RTMP URL\n");
        return -1;
    }
    c->r->Link.timeout = 5;
    RTMP_EnableWrite(c->r);
    if (!RTMP_Connect(c->r, NULL)) {
        fprintf(stderr, "ws-stream-pub: cannot connect to the RTMP "
                "server\n");
        return -1;
    }
    if (!RTMP_ConnectStream(c->r, 0) || !RTMP_IsConnected(c->r)) {
        fprintf(stderr, "ws-stream-pub: publish refused or timed out\n");
        return -1;
    }
    return set_chunk_size(c, p->chunk);
}

/* @setDataFrame onMetaData {...}, then the sequence headers; -1 after a
 * message. */
static int
pub_headers(pub_t *p)
{
    static const uint8_t sdf[16] = {
        0x02, 0x00, 0x0D, '@', 's', 'e', 't', 'D', 'a', 't', 'a',
        'F', 'r', 'a', 'm', 'e'
    };
    const fixture_t *fx = &p->fx;
    uint8_t *body = p->c.buf + RTMP_MAX_HEADER_SIZE;

    if (fx->meta >= 0) {
        memcpy(body, sdf, sizeof(sdf));
        memcpy(body + sizeof(sdf), fx->data + fx->tags[fx->meta].off,
               fx->tags[fx->meta].len);
        if (send_body(&p->c, FLV_SCRIPT, CHAN_META, 0,
                      sizeof(sdf) + fx->tags[fx->meta].len) != 0)
        {
            return -1;
        }
    }
    memcpy(body, fx->data + fx->tags[fx->avc_seq].off,
           fx->tags[fx->avc_seq].len);
    if (send_body(&p->c, FLV_VIDEO, CHAN_VIDEO, 0, fx->tags[fx->avc_seq].len)
        != 0)
    {
        return -1;
    }
    if (fx->aac_seq >= 0) {
        memcpy(body, fx->data + fx->tags[fx->aac_seq].off,
               fx->tags[fx->aac_seq].len);
        if (send_body(&p->c, FLV_AUDIO, CHAN_AUDIO, 0,
                      fx->tags[fx->aac_seq].len) != 0)
        {
            return -1;
        }
    }
    return 0;
}

/* Sleeps until due (CLOCK_MONOTONIC ns) or a stop signal; -1 after a
 * message. */
static int
pub_sleep(int64_t due)
{
    struct timespec ts;

    while (!fixture_stop) {
        ts.tv_sec = due / 1000000000LL;
        ts.tv_nsec = due % 1000000000LL;
        errno = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        if (errno == 0) {
            break;
        }
        if (errno != EINTR) {
            perror("ws-stream-pub: clock_nanosleep");
            return -1;
        }
    }
    return 0;
}

/* Every REPORT_NS: the progress line, then a new report period. */
static void
pub_progress(pub_t *p, int64_t now)
{
    if (!p->quiet) {
        fprintf(stderr, "ws-stream-pub: %.1f s, %" PRIu64
                " frames, %.0f kbit/s, worst lateness %.2f ms\n",
                (now - p->start) / 1e9, p->frames,
                p->rep_bytes * 8e6 / (double) (now - p->last_rep),
                p->rep_worst / 1e6);
    }
    if (p->rep_worst > p->worst) {
        p->worst = p->rep_worst;
    }
    p->rep_worst = 0;
    p->rep_bytes = 0;
    p->last_rep = now;
}

/* Sends one audio/video tag due now, a frame stamped, and counts its
 * lateness; -1 after a message. */
static int
pub_send_tag(pub_t *p, const fixture_tag_t *t, uint64_t ts_abs, int64_t due,
             uint32_t *index)
{
    uint8_t *body = p->c.buf + RTMP_MAX_HEADER_SIZE;
    const uint8_t *src = p->fx.data + t->off;
    bench_stamp_t st;
    int64_t now, late, t0, send_ns;
    size_t len;

    if (fixture_is_frame(t, src)) {
        st.index = (*index)++;
        st.loop = (uint32_t) p->loop;
        st.pts_ms = ts_abs + (uint64_t) (int64_t) fixture_cts(src);
        now = now_ns(CLOCK_MONOTONIC);
        st.wall_us = (uint64_t) now_ns(CLOCK_REALTIME) / 1000;
        len = fixture_stamp(body, src, t->len, &st);
        p->frames++;
    } else {
        memcpy(body, src, t->len);
        len = t->len;
        now = now_ns(CLOCK_MONOTONIC);
        if (t->type == FLV_AUDIO) {
            p->audio++;
        }
    }
    late = now - due;
    p->late1 += late > 1000000;
    p->late5 += late > 5000000;
    if (late > p->rep_worst) {
        p->rep_worst = late;
    }
    t0 = now;
    if (send_body(&p->c, t->type,
                  t->type == FLV_VIDEO ? CHAN_VIDEO : CHAN_AUDIO,
                  (uint32_t) ts_abs, len) != 0)
    {
        return -1;
    }
    now = now_ns(CLOCK_MONOTONIC);
    send_ns = now - t0;
    if (send_ns > p->worst_send) {
        p->worst_send = send_ns;
    }
    p->rep_bytes += len;
    if (now - p->last_rep >= REPORT_NS) {
        pub_progress(p, now);
    }
    return 0;
}

/* The paced send loop, the file over and over: 0 at the -d limit or on
 * SIGINT/SIGTERM, -1 after a message. */
static int
pub_loop(pub_t *p)
{
    const fixture_tag_t *t;
    uint64_t ts_abs;
    uint32_t index;
    int64_t due, limit_ns;
    size_t i;

    if (!p->quiet) {
        fprintf(stderr, "ws-stream-pub: publishing %s (%" PRIu32
                " frames, loop %" PRIu32 " ms) to %s\n", p->in, p->fx.frames,
                p->fx.duration, p->url);
    }
    p->start = now_ns(CLOCK_MONOTONIC);
    p->last_rep = p->start;
    limit_ns = p->limit_s > 0 ? (int64_t) (p->limit_s * 1e9) : INT64_MAX;

    for (;;) {
        index = 0;
        for (i = 0; i < p->fx.ntags && !fixture_stop; i++) {
            t = &p->fx.tags[i];
            if (!fixture_sendable(&p->fx, i)) {
                continue;
            }
            ts_abs = p->loop * p->fx.duration + t->ts;
            due = p->start + (int64_t) ts_abs * 1000000LL;
            if (due - p->start > limit_ns) {
                return 0;
            }
            if (service_input(&p->c) != 0 || pub_sleep(due) != 0) {
                return -1;
            }
            if (fixture_stop) {
                break;
            }
            if (pub_send_tag(p, t, ts_abs, due, &index) != 0) {
                return -1;
            }
        }
        if (fixture_stop) {
            return 0;
        }
        p->loop++;
    }
}

/* The summary line, once the loop has started. */
static void
pub_report(pub_t *p)
{
    double el;

    if (p->rep_worst > p->worst) {
        p->worst = p->rep_worst;
    }
    if (p->start > 0) {
        el = (now_ns(CLOCK_MONOTONIC) - p->start) / 1e9;
        fprintf(stderr, "ws-stream-pub: summary: %.1f s, %" PRIu64
                " frames, %" PRIu64 " audio, %" PRIu64 " loops done, "
                "worst lateness %.2f ms (%" PRIu64 " sends > 1 ms, %" PRIu64
                " > 5 ms), worst send %.2f ms, mean %.0f kbit/s\n",
                el, p->frames, p->audio, p->loop, p->worst / 1e6, p->late1,
                p->late5, p->worst_send / 1e6,
                el > 0 ? p->c.bytes * 8 / 1000.0 / el : 0.0);
    }
}

static void
pub_close(pub_t *p)
{
    if (p->c.r != NULL) {
        if (RTMP_IsConnected(p->c.r)) {
            RTMP_Close(p->c.r);
        }
        RTMP_Free(p->c.r);
    }
    free(p->c.buf);
    fixture_free(&p->fx);
}

int
main(int argc, char **argv)
{
    pub_t p;
    int rc = 1;

    memset(&p, 0, sizeof(p));
    pub_args(&p, argc, argv);
    if (fixture_load(PROG, p.in, &p.fx) != 0) {
        return 1;
    }
    if (fixture_signals(PROG) != 0) {
        return 1;
    }
    if (pub_connect(&p) == 0 && pub_headers(&p) == 0 && pub_loop(&p) == 0) {
        rc = 0;
    }
    pub_report(&p);
    pub_close(&p);
    return rc;
}
