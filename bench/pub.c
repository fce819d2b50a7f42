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

int
main(int argc, char **argv)
{
    const char *in = NULL;
    char *url = NULL;
    double limit_s = 0;
    int quiet = 0, chunk = 4096, opt, rc = 1;
    fixture_t fx;
    conn_t c;
    uint8_t *body;
    const uint8_t *src;
    size_t i, len;
    uint64_t loop = 0, ts_abs, frames = 0, audio = 0, rep_bytes = 0;
    uint32_t index;
    int64_t start = 0, due, now, limit_ns, late, worst = 0, rep_worst = 0;
    int64_t last_rep, t0, send_ns, worst_send = 0;
    uint64_t late1 = 0, late5 = 0;
    bench_stamp_t st;
    double el;

    while ((opt = getopt(argc, argv, "i:u:d:c:q")) != -1) {
        switch (opt) {
        case 'i':
            in = optarg;
            break;
        case 'u':
            url = optarg;
            break;
        case 'd':
            limit_s = strtod(optarg, NULL);
            if (limit_s <= 0) {
                usage();
            }
            break;
        case 'c':
            chunk = atoi(optarg);
            if (chunk < 128 || chunk > 0x7FFFFFFF / 2) {
                usage();
            }
            break;
        case 'q':
            quiet = 1;
            break;
        default:
            usage();
        }
    }
    if (in == NULL || url == NULL || optind != argc) {
        usage();
    }

    memset(&fx, 0, sizeof(fx));
    if (fixture_load(PROG, in, &fx) != 0) {
        return 1;
    }

    if (fixture_signals(PROG) != 0) {
        return 1;
    }

    memset(&c, 0, sizeof(c));
    c.cap = RTMP_MAX_HEADER_SIZE + fx.max_len + FIXTURE_STAMP_MAX + 16;
    c.buf = malloc(c.cap);
    if (c.buf == NULL) {
        fprintf(stderr, "ws-stream-pub: out of memory\n");
        return 1;
    }
    body = c.buf + RTMP_MAX_HEADER_SIZE;

    RTMP_LogSetLevel(RTMP_LOGERROR);
    c.r = RTMP_Alloc();
    if (c.r == NULL) {
        fprintf(stderr, "ws-stream-pub: out of memory\n");
        return 1;
    }
    RTMP_Init(c.r);
    if (!RTMP_SetupURL(c.r, url)) {
        fprintf(stderr, "ws-stream-pub: bad RTMP URL\n");
        goto done;
    }
    c.r->Link.timeout = 5;
    RTMP_EnableWrite(c.r);
    if (!RTMP_Connect(c.r, NULL)) {
        fprintf(stderr, "ws-stream-pub: cannot connect to the RTMP "
                "server\n");
        goto done;
    }
    if (!RTMP_ConnectStream(c.r, 0) || !RTMP_IsConnected(c.r)) {
        fprintf(stderr, "ws-stream-pub: publish refused or timed out\n");
        goto done;
    }
    if (set_chunk_size(&c, chunk) != 0) {
        goto done;
    }

    /* @setDataFrame onMetaData {...}, then the sequence headers */
    if (fx.meta >= 0) {
        static const uint8_t sdf[16] = {
            0x02, 0x00, 0x0D, '@', 's', 'e', 't', 'D', 'a', 't', 'a',
            'F', 'r', 'a', 'm', 'e'
        };
        memcpy(body, sdf, sizeof(sdf));
        memcpy(body + sizeof(sdf), fx.data + fx.tags[fx.meta].off,
               fx.tags[fx.meta].len);
        if (send_body(&c, FLV_SCRIPT, CHAN_META, 0,
                      sizeof(sdf) + fx.tags[fx.meta].len) != 0)
        {
            goto done;
        }
    }
    memcpy(body, fx.data + fx.tags[fx.avc_seq].off, fx.tags[fx.avc_seq].len);
    if (send_body(&c, FLV_VIDEO, CHAN_VIDEO, 0, fx.tags[fx.avc_seq].len)
        != 0)
    {
        goto done;
    }
    if (fx.aac_seq >= 0) {
        memcpy(body, fx.data + fx.tags[fx.aac_seq].off,
               fx.tags[fx.aac_seq].len);
        if (send_body(&c, FLV_AUDIO, CHAN_AUDIO, 0,
                      fx.tags[fx.aac_seq].len) != 0)
        {
            goto done;
        }
    }

    if (!quiet) {
        fprintf(stderr, "ws-stream-pub: publishing %s (%" PRIu32
                " frames, loop %" PRIu32 " ms) to %s\n", in, fx.frames,
                fx.duration, url);
    }
    start = now_ns(CLOCK_MONOTONIC);
    last_rep = start;
    limit_ns = limit_s > 0 ? (int64_t) (limit_s * 1e9) : INT64_MAX;

    for (;;) {
        index = 0;
        for (i = 0; i < fx.ntags && !fixture_stop; i++) {
            const fixture_tag_t *t = &fx.tags[i];

            if (!fixture_sendable(&fx, i)) {
                continue;
            }
            ts_abs = loop * fx.duration + t->ts;
            due = start + (int64_t) ts_abs * 1000000LL;
            if (due - start > limit_ns) {
                goto finished;
            }
            if (service_input(&c) != 0) {
                goto done;
            }
            while (!fixture_stop) {
                struct timespec ts;

                ts.tv_sec = due / 1000000000LL;
                ts.tv_nsec = due % 1000000000LL;
                errno = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
                                        &ts, NULL);
                if (errno == 0) {
                    break;
                }
                if (errno != EINTR) {
                    perror("ws-stream-pub: clock_nanosleep");
                    goto done;
                }
            }
            if (fixture_stop) {
                break;
            }

            src = fx.data + t->off;
            if (fixture_is_frame(t, src)) {
                st.index = index++;
                st.loop = (uint32_t) loop;
                st.pts_ms = ts_abs + (uint64_t) (int64_t) fixture_cts(src);
                now = now_ns(CLOCK_MONOTONIC);
                st.wall_us = (uint64_t) now_ns(CLOCK_REALTIME) / 1000;
                len = fixture_stamp(body, src, t->len, &st);
                frames++;
            } else {
                memcpy(body, src, t->len);
                len = t->len;
                now = now_ns(CLOCK_MONOTONIC);
                if (t->type == FLV_AUDIO) {
                    audio++;
                }
            }
            late = now - due;
            late1 += late > 1000000;
            late5 += late > 5000000;
            if (late > rep_worst) {
                rep_worst = late;
            }
            t0 = now;
            if (send_body(&c, t->type,
                          t->type == FLV_VIDEO ? CHAN_VIDEO : CHAN_AUDIO,
                          (uint32_t) ts_abs, len) != 0)
            {
                goto done;
            }
            now = now_ns(CLOCK_MONOTONIC);
            send_ns = now - t0;
            if (send_ns > worst_send) {
                worst_send = send_ns;
            }
            rep_bytes += len;
            if (now - last_rep >= REPORT_NS) {
                if (!quiet) {
                    fprintf(stderr, "ws-stream-pub: %.1f s, %" PRIu64
                            " frames, %.0f kbit/s, worst lateness %.2f ms\n",
                            (now - start) / 1e9, frames,
                            rep_bytes * 8e6 / (double) (now - last_rep),
                            rep_worst / 1e6);
                }
                if (rep_worst > worst) {
                    worst = rep_worst;
                }
                rep_worst = 0;
                rep_bytes = 0;
                last_rep = now;
            }
        }
        if (fixture_stop) {
            break;
        }
        loop++;
    }

finished:
    rc = 0;

done:
    if (rep_worst > worst) {
        worst = rep_worst;
    }
    if (start > 0) {
        el = (now_ns(CLOCK_MONOTONIC) - start) / 1e9;
        fprintf(stderr, "ws-stream-pub: summary: %.1f s, %" PRIu64
                " frames, %" PRIu64 " audio, %" PRIu64 " loops done, "
                "worst lateness %.2f ms (%" PRIu64 " sends > 1 ms, %" PRIu64
                " > 5 ms), worst send %.2f ms, mean %.0f kbit/s\n",
                el, frames, audio, loop, worst / 1e6, late1, late5,
                worst_send / 1e6,
                el > 0 ? c.bytes * 8 / 1000.0 / el : 0.0);
    }
    if (RTMP_IsConnected(c.r)) {
        RTMP_Close(c.r);
    }
    RTMP_Free(c.r);
    free(c.buf);
    fixture_free(&fx);
    return rc;
}
