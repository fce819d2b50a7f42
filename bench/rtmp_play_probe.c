/*
 * rtmp_play_probe: play an RTMP stream with rtmp_play for a while and print
 * what arrived.  A check of rtmp_play against a real server.
 *
 *   rtmp-play-probe [-t seconds] [-n viewers] rtmp://host[:port]/app/stream
 *
 * Build: make -C bench ../build/bench/rtmp-play-probe
 *
 * Prints, for viewer 0, message counts per type, video frames / keyframes,
 * the first/last timestamps, the time from connect to the first video
 * keyframe, bytes received; and totals for all viewers.  Exit status 0 if
 * every viewer reached NetStream.Play.Start and saw video, 1 otherwise.
 */
#include "rtmp_play.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_VIEWERS  4096

typedef struct {
    int           fd;
    rtmp_play_t  *rp;
    int           done;
    uint64_t      count[32];
    uint64_t      other;
    uint64_t      vframes;
    uint64_t      keyframes;
    uint64_t      seqhdr;
    uint64_t      payload;
    double        t_start;
    double        t_key;            /* first keyframe, seconds after start */
    double        t_playing;
    uint32_t      first_ts[32];
    uint32_t      last_ts[32];
    int           have_ts[32];
    size_t        max_mem;
} viewer_t;


static double
now_s(void)
{
    struct timespec  ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        perror("clock_gettime");
        exit(2);
    }
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
on_msg(void *ctx, unsigned type, uint32_t ts, const uint8_t *head,
    size_t head_len, size_t total)
{
    viewer_t  *v = ctx;

    if (type < 32) {
        v->count[type]++;
        if (!v->have_ts[type]) {
            v->have_ts[type] = 1;
            v->first_ts[type] = ts;
        }
        v->last_ts[type] = ts;
    } else {
        v->other++;
    }

    if (type == 8 || type == 9) {
        v->payload += total;
    }

    if (type == 9 && head_len >= 2) {
        /* FLV video tag: frame type << 4 | codec; AVC: packet type */
        if ((head[0] & 0x0f) == 7 && head[1] == 0) {
            v->seqhdr++;
        } else {
            v->vframes++;
            if ((head[0] >> 4) == 1) {
                v->keyframes++;
                if (v->t_key == 0) {
                    v->t_key = now_s() - v->t_start;
                }
            }
        }
    }
}


static int
parse_url(const char *url, char *host, size_t hsz, int *port, char *app,
    size_t asz, char *stream, size_t ssz, char *tcurl, size_t tsz)
{
    const char  *p, *h, *slash, *colon;
    size_t       n;

    if (strncmp(url, "rtmp://", 7) != 0) {
        return -1;
    }
    h = url + 7;
    slash = strchr(h, '/');
    if (slash == NULL) {
        return -1;
    }
    colon = memchr(h, ':', (size_t) (slash - h));
    n = (size_t) ((colon ? colon : slash) - h);
    if (n == 0 || n >= hsz) {
        return -1;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    *port = colon ? atoi(colon + 1) : 1935;
    if (*port <= 0 || *port > 65535) {
        return -1;
    }

    p = slash + 1;
    slash = strchr(p, '/');
    if (slash == NULL || slash == p || slash[1] == '\0') {
        return -1;
    }
    n = (size_t) (slash - p);
    if (n >= asz || strlen(slash + 1) >= ssz
        || (size_t) (slash - url) >= tsz)
    {
        return -1;
    }
    memcpy(app, p, n);
    app[n] = '\0';
    strcpy(stream, slash + 1);
    memcpy(tcurl, url, (size_t) (slash - url));
    tcurl[slash - url] = '\0';
    return 0;
}


static int
open_conn(const char *host, int port)
{
    struct sockaddr_in  sa;
    int                 fd, one = 1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "probe: host must be an IPv4 address: %s\n", host);
        return -1;
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("socket");
        return -1;
    }
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
        perror("setsockopt");
    }
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
        fprintf(stderr, "probe: connect %s:%d: %s\n", host, port,
                strerror(errno));
        close(fd);
        return -1;
    }
    if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        perror("fcntl");
        close(fd);
        return -1;
    }
    return fd;
}


static void
viewer_fail(viewer_t *v, int i, const char *what)
{
    fprintf(stderr, "probe: viewer %d: %s\n", i, what);
    close(v->fd);
    v->fd = -1;
    v->done = 1;
}


int
main(int argc, char **argv)
{
    char            host[256], app[256], stream[256], tcurl[600];
    int             port, i, n = 1, opt, rc, live, ok;
    double          secs = 10, t0, t_end, left;
    viewer_t       *vs, *v, tot;
    struct pollfd  *pfd;
    const uint8_t  *out;
    size_t          k;
    ssize_t         r;
    static uint8_t  buf[65536];

    while ((opt = getopt(argc, argv, "t:n:")) != -1) {
        switch (opt) {
        case 't':
            secs = atof(optarg);
            break;
        case 'n':
            n = atoi(optarg);
            break;
        default:
            goto usage;
        }
    }
    if (optind != argc - 1 || secs <= 0 || secs > 3600 || n < 1
        || n > MAX_VIEWERS
        || parse_url(argv[optind], host, sizeof(host), &port, app,
                     sizeof(app), stream, sizeof(stream), tcurl,
                     sizeof(tcurl)) != 0)
    {
        goto usage;
    }

    vs = calloc((size_t) n, sizeof(*vs));
    pfd = calloc((size_t) n, sizeof(*pfd));
    if (vs == NULL || pfd == NULL) {
        fprintf(stderr, "probe: out of memory\n");
        return 2;
    }

    t0 = now_s();
    for (i = 0; i < n; i++) {
        v = &vs[i];
        v->t_start = now_s();
        v->fd = open_conn(host, port);
        if (v->fd < 0) {
            return 2;
        }
        v->rp = rtmp_play_create(tcurl, app, stream, 256);
        if (v->rp == NULL) {
            fprintf(stderr, "probe: rtmp_play_create failed\n");
            return 2;
        }
    }
    t_end = t0 + secs;

    for ( ;; ) {
        left = t_end - now_s();
        if (left <= 0) {
            break;
        }
        live = 0;
        for (i = 0; i < n; i++) {
            v = &vs[i];
            pfd[i].fd = v->fd;
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
            if (v->fd >= 0 && rtmp_play_output(v->rp, &out) > 0) {
                pfd[i].events |= POLLOUT;
            }
            live += v->fd >= 0;
        }
        if (live == 0) {
            break;
        }
        rc = poll(pfd, (nfds_t) n, (int) (left * 1000) + 1);
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("poll");
            return 2;
        }

        for (i = 0; i < n; i++) {
            v = &vs[i];
            if (v->fd < 0) {
                continue;
            }
            if (pfd[i].revents & POLLOUT) {
                k = rtmp_play_output(v->rp, &out);
                r = send(v->fd, out, k, MSG_NOSIGNAL);
                if (r < 0 && errno != EAGAIN && errno != EINTR) {
                    viewer_fail(v, i, strerror(errno));
                    continue;
                }
                if (r > 0) {
                    rtmp_play_consumed(v->rp, (size_t) r);
                }
            }
            if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                r = recv(v->fd, buf, sizeof(buf), 0);
                if (r == 0) {
                    viewer_fail(v, i, "server closed the connection");
                    continue;
                }
                if (r < 0) {
                    if (errno != EAGAIN && errno != EINTR) {
                        viewer_fail(v, i, strerror(errno));
                    }
                    continue;
                }
                if (rtmp_play_input(v->rp, buf, (size_t) r, on_msg, v)
                    != 0)
                {
                    viewer_fail(v, i, rtmp_play_error(v->rp));
                    continue;
                }
                if (v->t_playing == 0 && rtmp_play_playing(v->rp)) {
                    v->t_playing = now_s() - v->t_start;
                }
                k = rtmp_play_memory(v->rp);
                if (k > v->max_mem) {
                    v->max_mem = k;
                }
            }
        }
    }

    memset(&tot, 0, sizeof(tot));
    ok = 1;
    for (i = 0; i < n; i++) {
        v = &vs[i];
        for (k = 0; k < 32; k++) {
            tot.count[k] += v->count[k];
        }
        tot.vframes += v->vframes;
        tot.keyframes += v->keyframes;
        tot.payload += v->payload;
        if (v->max_mem > tot.max_mem) {
            tot.max_mem = v->max_mem;
        }
        if (v->t_key > tot.t_key) {
            tot.t_key = v->t_key;
        }
        tot.other += rtmp_play_bytes_in(v->rp);
        if (!rtmp_play_playing(v->rp) || v->vframes == 0) {
            ok = 0;
        }
    }

    v = &vs[0];
    printf("url %s (tcUrl %s app %s stream %s), %.1f s, %d viewer(s)\n",
           argv[optind], tcurl, app, stream, secs, n);
    printf("viewer 0: playing %s after %.3f s, first keyframe after "
           "%.3f s\n", rtmp_play_playing(v->rp) ? "yes" : "NO",
           v->t_playing, v->t_key);
    for (k = 0; k < 32; k++) {
        if (v->count[k]) {
            printf("  type %2zu: %6llu messages, ts %u .. %u\n", k,
                   (unsigned long long) v->count[k], v->first_ts[k],
                   v->last_ts[k]);
        }
    }
    printf("  video: %llu frames (%llu keyframes), %llu sequence headers\n",
           (unsigned long long) v->vframes,
           (unsigned long long) v->keyframes,
           (unsigned long long) v->seqhdr);
    printf("  bytes received %llu (%.0f kbit/s), audio+video payload %llu,"
           " max rtmp_play memory %zu bytes\n",
           (unsigned long long) rtmp_play_bytes_in(v->rp),
           rtmp_play_bytes_in(v->rp) * 8 / secs / 1000,
           (unsigned long long) v->payload, v->max_mem);
    if (rtmp_play_error(v->rp)[0]) {
        printf("  error: %s\n", rtmp_play_error(v->rp));
    }
    if (n > 1) {
        printf("all: video frames %llu (%.1f per viewer), audio %llu, "
               "bytes %llu, slowest first keyframe %.3f s, max memory %zu\n",
               (unsigned long long) tot.vframes, (double) tot.vframes / n,
               (unsigned long long) tot.count[8],
               (unsigned long long) tot.other, tot.t_key, tot.max_mem);
    }

    for (i = 0; i < n; i++) {
        if (vs[i].fd >= 0) {
            close(vs[i].fd);
        }
        rtmp_play_destroy(vs[i].rp);
    }
    free(vs);
    free(pfd);
    return ok ? 0 : 1;

usage:
    fprintf(stderr, "usage: rtmp_play_probe [-t seconds] [-n viewers] "
            "rtmp://host[:port]/app/stream\n");
    return 2;
}
