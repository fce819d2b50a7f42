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
#include <sys/stat.h>
#include <time.h>

#include <librtmp/log.h>
#include <librtmp/rtmp.h>

#include "ws_stream_core.h"
#include "sei.h"

#define FLV_AUDIO 8
#define FLV_VIDEO 9
#define FLV_SCRIPT 18

#define CHAN_META 0x05
#define CHAN_VIDEO 0x06
#define CHAN_AUDIO 0x07

#define REPORT_NS 5000000000LL

typedef struct {
    uint8_t type;
    uint32_t ts;
    uint32_t len;
    size_t off;
} tag_t;

typedef struct {
    uint8_t *data;
    size_t size;
    tag_t *tags;
    size_t ntags;
    ssize_t meta, avc_seq, aac_seq;
    uint32_t duration;          /* ms, one loop */
    uint32_t frames;            /* AVC NALU packets per loop */
    uint32_t max_len;
} fixture_t;

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
    (void) sig;
    stop_flag = 1;
}

static int64_t
now_ns(clockid_t clk)
{
    struct timespec ts;

    if (clock_gettime(clk, &ts) != 0) {
        perror("ws-stream-pub: clock_gettime");
        exit(1);
    }
    return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
load_file(const char *path, fixture_t *fx)
{
    FILE *f;
    struct stat st;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "ws-stream-pub: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) != 0 || st.st_size <= 0) {
        fprintf(stderr, "ws-stream-pub: %s: cannot stat or empty\n", path);
        fclose(f);
        return -1;
    }
    fx->size = (size_t) st.st_size;
    fx->data = malloc(fx->size);
    if (fx->data == NULL) {
        fprintf(stderr, "ws-stream-pub: out of memory (%zu bytes)\n",
                fx->size);
        fclose(f);
        return -1;
    }
    if (fread(fx->data, 1, fx->size, f) != fx->size) {
        fprintf(stderr, "ws-stream-pub: %s: short read\n", path);
        fclose(f);
        return -1;
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "ws-stream-pub: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Splits the file into tags and finds the headers and the loop length. */
static int
parse_flv(const char *path, fixture_t *fx)
{
    const uint8_t *p = fx->data;
    size_t pos, cap = 0, hdr;
    uint32_t len, first_v = 0, last_v = 0;
    tag_t *t;

    if (fx->size < 13 || memcmp(p, "FLV", 3) != 0) {
        fprintf(stderr, "ws-stream-pub: %s: not an FLV file\n", path);
        return -1;
    }
    hdr = ((size_t) p[5] << 24) | ((size_t) p[6] << 16)
          | ((size_t) p[7] << 8) | p[8];
    if (hdr < 9 || hdr + 4 > fx->size) {
        fprintf(stderr, "ws-stream-pub: %s: bad FLV header\n", path);
        return -1;
    }
    fx->meta = fx->avc_seq = fx->aac_seq = -1;
    pos = hdr + 4;
    while (pos + 11 <= fx->size) {
        len = ws_stream_rb24(p + pos + 1);
        if (len > fx->size - pos - 11) {
            fprintf(stderr, "ws-stream-pub: %s: truncated tag at %zu, "
                    "ignoring the rest\n", path, pos);
            break;
        }
        if (fx->ntags == cap) {
            cap = cap ? cap * 2 : 4096;
            t = realloc(fx->tags, cap * sizeof(tag_t));
            if (t == NULL) {
                fprintf(stderr, "ws-stream-pub: out of memory\n");
                return -1;
            }
            fx->tags = t;
        }
        t = &fx->tags[fx->ntags];
        t->type = p[pos] & 0x1F;
        t->ts = ws_stream_rb24(p + pos + 4) | ((uint32_t) p[pos + 7] << 24);
        t->len = len;
        t->off = pos + 11;
        pos += 11 + (size_t) len + 4;

        if (t->type == FLV_SCRIPT && len > 13 && p[t->off] == 0x02
            && memcmp(p + t->off + 3, "onMetaData", 10) == 0)
        {
            if (fx->meta < 0) {
                fx->meta = (ssize_t) fx->ntags;
            }
        } else if (t->type == FLV_VIDEO && len >= 5
                   && (p[t->off] & 0x0F) == 7)
        {
            if (p[t->off + 1] == 0) {
                if (fx->avc_seq < 0) {
                    fx->avc_seq = (ssize_t) fx->ntags;
                }
            } else if (p[t->off + 1] == 1) {
                if (fx->frames == 0) {
                    first_v = t->ts;
                }
                last_v = t->ts;
                fx->frames++;
            }
        } else if (t->type == FLV_AUDIO && len >= 2
                   && (p[t->off] >> 4) == 10 && p[t->off + 1] == 0)
        {
            if (fx->aac_seq < 0) {
                fx->aac_seq = (ssize_t) fx->ntags;
            }
        }
        if (len > fx->max_len) {
            fx->max_len = len;
        }
        fx->ntags++;
    }
    if (fx->frames < 2 || fx->avc_seq < 0) {
        fprintf(stderr, "ws-stream-pub: %s: needs H.264 video with a "
                "sequence header and at least 2 frames\n", path);
        return -1;
    }
    /* one loop = video span plus one mean frame interval */
    fx->duration = (last_v - first_v)
                   + (last_v - first_v + (fx->frames - 1) / 2)
                     / (fx->frames - 1);
    return 0;
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
    struct sigaction sa;
    uint8_t *body;
    const uint8_t *src;
    size_t i, len;
    uint64_t loop = 0, ts_abs, frames = 0, audio = 0, rep_bytes = 0;
    uint32_t index;
    int64_t start = 0, due, now, limit_ns, late, worst = 0, rep_worst = 0;
    int64_t last_rep, t0, send_ns, worst_send = 0;
    uint64_t late1 = 0, late5 = 0;
    int32_t cts;
    bench_stamp_t st;
    size_t seilen;
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
    if (load_file(in, &fx) != 0 || parse_flv(in, &fx) != 0) {
        return 1;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0
        || sigaction(SIGTERM, &sa, NULL) != 0)
    {
        perror("ws-stream-pub: sigaction");
        return 1;
    }
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0) {
        perror("ws-stream-pub: sigaction");
        return 1;
    }

    memset(&c, 0, sizeof(c));
    c.cap = RTMP_MAX_HEADER_SIZE + fx.max_len + 4 + BENCH_SEI_MAX + 16;
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
        for (i = 0; i < fx.ntags && !stop_flag; i++) {
            const tag_t *t = &fx.tags[i];

            if ((ssize_t) i == fx.meta || (ssize_t) i == fx.avc_seq
                || (ssize_t) i == fx.aac_seq
                || (t->type != FLV_AUDIO && t->type != FLV_VIDEO))
            {
                continue;
            }
            /* audio past the video span would overlap the next loop */
            if (t->type == FLV_AUDIO && t->ts >= fx.duration) {
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
            while (!stop_flag) {
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
            if (stop_flag) {
                break;
            }

            src = fx.data + t->off;
            if (t->type == FLV_VIDEO && t->len >= 5
                && (src[0] & 0x0F) == 7 && src[1] == 1)
            {
                cts = (int32_t) ws_stream_rb24(src + 2);
                if (cts & 0x800000) {
                    cts -= 0x1000000;
                }
                memcpy(body, src, 5);
                st.index = index++;
                st.loop = (uint32_t) loop;
                st.pts_ms = ts_abs + (uint64_t) (int64_t) cts;
                now = now_ns(CLOCK_MONOTONIC);
                st.wall_us = (uint64_t) now_ns(CLOCK_REALTIME) / 1000;
                seilen = bench_sei_make(body + 9, BENCH_SEI_MAX, &st);
                body[5] = 0;
                body[6] = 0;
                body[7] = (uint8_t) (seilen >> 8);
                body[8] = (uint8_t) seilen;
                memcpy(body + 9 + seilen, src + 5, t->len - 5);
                len = t->len + 4 + seilen;
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
        if (stop_flag) {
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
    free(fx.tags);
    free(fx.data);
    return rc;
}
