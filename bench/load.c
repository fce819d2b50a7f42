/*
 * ws-stream-load: an epoll load client that opens many live-stream viewers
 * and measures what they receive.
 *
 *   ws-stream-load --mode ws|flv|rtmp|hls --url URL -n VIEWERS
 *       [--duration S (20)] [--warmup S (3)] [--rate CONNECTS_PER_S (1000)]
 *       [--pids PID,PID,...] [--threads T (1)] [--json] [--label TEXT]
 *       [--report-interval MS (0: none)] [--user-agent TEXT]
 *
 *   ws    ws://HOST:PORT/PATH      ngx_ws_stream protocol v1 (wsstream.1)
 *   flv   ws://HOST:PORT/APP/NAME.flv  FLV over WebSocket (node-media-server)
 *   rtmp  rtmp://HOST:PORT/APP/NAME    RTMP play
 *   hls   http://HOST:PORT/PREFIX/APP/NAME/media.m3u8  LL-HLS of
 *         ngx_ws_stream (load_hls.c)
 *
 * --report-interval (ws): every viewer sends a `report` message that often
 * (docs/protocol.md), as the player does once a second.  --user-agent (ws,
 * flv): the User-Agent header of the upgrade request.
 *
 * Timeline: connections are opened at --rate (at most 30 s of connecting);
 * once every viewer is connected or failed, --warmup seconds pass, then
 * --duration seconds are measured (the window).  Then all sockets are
 * closed.  Exit status 0 if something was measured (errors are counted, not
 * fatal), 1 on a usage error or if no viewer connected.
 *
 * "Connected" means: 101 Switching Protocols with a correct accept key (ws,
 * flv), NetStream.Play.Start (rtmp), the first media playlist (hls).
 * Delays are taken when a message (ws media message, FLV tag, RTMP message,
 * fMP4 sample) has been received completely, with one clock reading per
 * read() call.
 *
 * JSON output (--json): one object on one line on stdout; the keys are
 * listed in load_stats.c, which does the counting and the report.  This
 * file runs the test: options, threads and their epoll loops, connection
 * bookkeeping and the timeline.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "load.h"

#define CONNECT_LIMIT_US   30000000ULL
#define MAX_PIDS           32
#define READ_BUF           (256 * 1024)

load_target_t  load_target;

static atomic_int       g_phase = LOAD_PHASE_CONNECT;
static atomic_long      g_unresolved;    /* neither connected nor failed */
static atomic_long      g_connected;
static volatile sig_atomic_t  g_stop;
static uint64_t         g_start_mono;


static void
on_signal(int sig)
{
    (void) sig;
    g_stop = 1;
}


static struct {
    load_mode_e     mode;
    const char     *url;
    long            viewers;
    double          duration;
    double          warmup;
    double          rate;
    int             threads;
    int             json;
    const char     *label;
    double          report_ms;
    const char     *user_agent;
    load_pid_t      pids[MAX_PIDS];
    int             npids;
} opt;


uint64_t
load_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


uint64_t
load_real_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


/* ---- connection bookkeeping ---- */

static void
conn_release(load_conn_t *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (load_target.mode == LOAD_MODE_RTMP) {
        load_rtmp_free(c);
    } else if (load_target.mode == LOAD_MODE_HLS) {
        load_hls_free(c);
    } else {
        load_ws_free(c);
    }
}


void
load_fail(load_thread_t *t, load_conn_t *c, load_err_e kind,
    const char *fmt, ...)
{
    va_list  ap;
    char    *e;

    if (c->state == CS_DEAD) {
        return;
    }
    if (c->state != CS_OPEN) {
        t->st.failed++;
        atomic_fetch_sub(&g_unresolved, 1);
    }
    t->st.errors[kind]++;
    e = t->first_err[kind];
    if (e[0] == '\0') {
        t->first_err_us[kind] = load_mono_us();
        va_start(ap, fmt);
        vsnprintf(e, sizeof(t->first_err[kind]), fmt, ap);
        va_end(ap);
        if (e[0] == '\0') {
            e[0] = '?';
        }
    }
    conn_release(c);
    c->state = CS_DEAD;
}


void
load_connected(load_thread_t *t, load_conn_t *c)
{
    c->state = CS_OPEN;
    t->st.connected++;
    atomic_fetch_add(&g_connected, 1);
    atomic_fetch_sub(&g_unresolved, 1);
}


int
load_arm(load_thread_t *t, load_conn_t *c, int want_out)
{
    struct epoll_event  ev;

    if ((want_out != 0) == c->want_out) {
        return 0;
    }
    c->want_out = want_out != 0;
    ev.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0);
    ev.data.ptr = c;
    if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev) == -1) {
        load_fail(t, c, LOAD_ERR_PROTOCOL, "epoll_ctl: %s", strerror(errno));
        return -1;
    }
    return 0;
}


ssize_t
load_write(load_thread_t *t, load_conn_t *c, const uint8_t *p, size_t n)
{
    ssize_t  w;

    for ( ;; ) {
        w = write(c->fd, p, n);
        if (w >= 0) {
            return w;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN) {
            return 0;
        }
        load_fail(t, c, c->state == CS_OPEN ? LOAD_ERR_CLOSED
                                            : LOAD_ERR_HANDSHAKE,
                  "write: %s", strerror(errno));
        return -1;
    }
}


/* ---- per-thread event loop ---- */

static void
conn_start(load_thread_t *t, load_conn_t *c)
{
    struct epoll_event  ev;
    int                 fd, one;

    c->t_connect_us = load_mono_us();
    c->first_key_us = -1;
    c->state = CS_CONNECTING;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        load_fail(t, c, LOAD_ERR_CONNECT, "socket: %s", strerror(errno));
        return;
    }
    c->fd = fd;
    one = 1;
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    if (connect(fd, (struct sockaddr *) &load_target.addr,
                sizeof(load_target.addr)) == -1
        && errno != EINPROGRESS)
    {
        load_fail(t, c, LOAD_ERR_CONNECT, "connect: %s", strerror(errno));
        return;
    }
    ev.events = EPOLLOUT;
    ev.data.ptr = c;
    if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
        load_fail(t, c, LOAD_ERR_CONNECT, "epoll_ctl: %s", strerror(errno));
    }
}


static void
conn_connected_tcp(load_thread_t *t, load_conn_t *c)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
        err = errno;
    }
    if (err != 0) {
        load_fail(t, c, LOAD_ERR_CONNECT, "connect: %s", strerror(err));
        return;
    }
    c->state = CS_HANDSHAKE;
    if (load_target.mode == LOAD_MODE_RTMP) {
        (void) load_rtmp_start(t, c);
    } else if (load_target.mode == LOAD_MODE_HLS) {
        (void) load_hls_start(t, c);
    } else {
        (void) load_ws_start(t, c);
    }
}


static void
conn_event(load_thread_t *t, load_conn_t *c, uint32_t events)
{
    ssize_t  n;
    int      rounds;

    if (c->state == CS_DEAD) {
        return;
    }
    if (c->state == CS_CONNECTING) {
        conn_connected_tcp(t, c);
        return;
    }
    if (events & EPOLLOUT) {
        if (load_target.mode == LOAD_MODE_RTMP) {
            (void) load_rtmp_write(t, c);
        } else if (load_target.mode == LOAD_MODE_HLS) {
            (void) load_hls_write(t, c);
        } else {
            (void) load_ws_write(t, c);
        }
        if (c->state == CS_DEAD) {
            return;
        }
    }
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) == 0) {
        return;
    }

    /* a couple of reads at most: level-triggered, fairness */
    for (rounds = 0; rounds < 4; rounds++) {
        n = read(c->fd, t->rbuf, t->rbuf_size);
        if (n == -1) {
            if (errno == EAGAIN || errno == EINTR) {
                return;
            }
            load_fail(t, c, c->state == CS_OPEN ? LOAD_ERR_CLOSED
                                                : LOAD_ERR_HANDSHAKE,
                      "read: %s", strerror(errno));
            return;
        }
        if (n == 0) {
            load_fail(t, c, c->state == CS_OPEN ? LOAD_ERR_CLOSED
                                                : LOAD_ERR_HANDSHAKE,
                      "connection closed by the server%s",
                      c->state == CS_OPEN ? "" : " during the handshake");
            return;
        }
        t->now_us = load_real_us();
        t->now_mono_us = load_mono_us();
        if (t->measuring && c->state == CS_OPEN) {
            c->bytes += (uint64_t) n;
            t->st.bytes += (uint64_t) n;
        }
        if (load_target.mode == LOAD_MODE_RTMP) {
            if (load_rtmp_read(t, c, t->rbuf, (size_t) n) != 0) {
                return;
            }
        } else if (load_target.mode == LOAD_MODE_HLS) {
            if (load_hls_read(t, c, t->rbuf, (size_t) n) != 0) {
                return;
            }
        } else {
            if (load_ws_read(t, c, t->rbuf, (size_t) n) != 0) {
                return;
            }
        }
        if (c->state == CS_DEAD || (size_t) n < t->rbuf_size) {
            return;
        }
    }
}


static void
check_timeouts(load_thread_t *t, int cutoff)
{
    load_conn_t  *c;
    uint64_t      now;
    size_t        i;

    now = load_mono_us();
    for (i = 0; i < t->nconns; i++) {
        c = &t->conns[i];
        if (c->state == CS_IDLE && cutoff) {
            c->state = CS_CONNECTING;
            load_fail(t, c, LOAD_ERR_TIMEOUT,
                      "not started within the connect time limit");
            continue;
        }
        if (c->state == CS_OPEN) {
            if (load_target.mode == LOAD_MODE_HLS) {
                load_hls_tick(t, c, now);
            } else {
                load_ws_tick(t, c, now);     /* client reports */
            }
            continue;
        }
        if (c->state != CS_CONNECTING && c->state != CS_HANDSHAKE) {
            continue;
        }
        if (cutoff || now - c->t_connect_us > LOAD_HS_TIMEOUT) {
            load_fail(t, c, LOAD_ERR_TIMEOUT, "%s timed out after %.1f s",
                      c->state == CS_CONNECTING ? "connect" : "handshake",
                      (double) (now - c->t_connect_us) / 1e6);
        }
    }
}


static void *
thread_main(void *arg)
{
    load_thread_t       *t = arg;
    struct epoll_event   evs[512];
    uint64_t             now, due, last_check, tick;
    int                  phase, timeout, n, i, burst, cut;

    last_check = load_mono_us();
    /* timeouts and LL-HLS retries: 250 ms; client reports: 50 ms */
    tick = load_target.report_us != 0 ? 50000 : 250000;
    cut = 0;

    for ( ;; ) {
        phase = atomic_load(&g_phase);
        t->measuring = phase == LOAD_PHASE_MEASURE;
        if (phase == LOAD_PHASE_DONE) {
            break;
        }
        now = load_mono_us();

        timeout = 50;
        if (phase == LOAD_PHASE_CONNECT && t->started < t->nconns) {
            due = (uint64_t) ((double) (now - g_start_mono) * t->rate / 1e6)
                  + 1;
            for (burst = 0;
                 burst < 512 && t->started < due && t->started < t->nconns;
                 burst++)
            {
                conn_start(t, &t->conns[t->started++]);
            }
            timeout = 1;
        }

        if (phase >= LOAD_PHASE_CUTOFF && !cut) {
            cut = 1;
            check_timeouts(t, 1);
        } else if (now - last_check > tick) {
            last_check = now;
            check_timeouts(t, 0);
        }

        n = epoll_wait(t->ep, evs, 512, timeout);
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "ws-stream-load: epoll_wait: %s\n",
                    strerror(errno));
            break;
        }
        t->now_us = load_real_us();
        t->now_mono_us = load_mono_us();
        for (i = 0; i < n; i++) {
            conn_event(t, evs[i].data.ptr, evs[i].events);
        }
    }

    for (i = 0; (size_t) i < t->nconns; i++) {
        if (t->conns[i].state != CS_DEAD && t->conns[i].state != CS_IDLE) {
            conn_release(&t->conns[i]);
        }
    }
    return NULL;
}


/* ---- options ---- */

static void
usage(const char *msg)
{
    if (msg != NULL) {
        fprintf(stderr, "ws-stream-load: %s\n", msg);
    }
    fprintf(stderr,
        "usage: ws-stream-load --mode ws|flv|rtmp|hls --url URL -n VIEWERS\n"
        "         [--duration S (20)] [--warmup S (3)]"
        " [--rate CONNECTS_PER_S (1000)]\n"
        "         [--pids PID,PID,...] [--threads T (1)] [--json]"
        " [--label TEXT]\n"
        "         [--report-interval MS (0: none)] [--user-agent TEXT]\n"
        "  ws    ws://HOST:PORT/ws/APP/NAME     (ngx_ws_stream, wsstream.1)\n"
        "  flv   ws://HOST:PORT/APP/NAME.flv    (FLV over WebSocket)\n"
        "  rtmp  rtmp://HOST:PORT/APP/NAME      (RTMP play)\n"
        "  hls   http://HOST:PORT/PREFIX/APP/NAME/media.m3u8"
        "  (LL-HLS, ngx_ws_stream)\n");
    exit(1);
}


static double
num_arg(const char *name, const char *v, double min, double max)
{
    char    *end;
    double   d;

    errno = 0;
    d = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !(d >= min && d <= max)) {
        fprintf(stderr, "ws-stream-load: bad %s \"%s\" (%g..%g)\n",
                name, v, min, max);
        usage(NULL);
    }
    return d;
}


static void
parse_pids(const char *s)
{
    const char  *p = s;
    char        *end;
    long         v;

    while (*p != '\0') {
        errno = 0;
        v = strtol(p, &end, 10);
        if (errno != 0 || end == p || v <= 0 || v > 0x7fffffff
            || (*end != ',' && *end != '\0'))
        {
            fprintf(stderr, "ws-stream-load: bad --pids \"%s\"\n", s);
            usage(NULL);
        }
        if (opt.npids == MAX_PIDS) {
            usage("too many --pids");
        }
        opt.pids[opt.npids++].pid = (int) v;
        p = *end == ',' ? end + 1 : end;
    }
}


static void
parse_url(void)
{
    const char       *u = opt.url, *hp, *slash, *colon, *last;
    char              host[256], port[16];
    struct addrinfo   hints, *res;
    size_t            hlen;
    int               rc, defport;

    if (opt.mode == LOAD_MODE_RTMP) {
        if (strncmp(u, "rtmp://", 7) != 0) {
            usage("rtmp mode needs an rtmp:// URL");
        }
        hp = u + 7;
        defport = 1935;
    } else if (opt.mode == LOAD_MODE_HLS) {
        if (strncmp(u, "http://", 7) != 0) {
            usage("hls mode needs an http:// URL");
        }
        hp = u + 7;
        defport = 80;
    } else {
        if (strncmp(u, "ws://", 5) != 0) {
            usage("ws and flv modes need a ws:// URL");
        }
        hp = u + 5;
        defport = 80;
    }
    slash = strchr(hp, '/');
    if (slash == NULL || slash == hp) {
        usage("URL without host or path");
    }
    hlen = (size_t) (slash - hp);
    if (hlen >= sizeof(load_target.host)) {
        usage("URL host too long");
    }
    memcpy(load_target.host, hp, hlen);
    load_target.host[hlen] = '\0';

    colon = memchr(hp, ':', hlen);
    if (colon != NULL) {
        memcpy(host, hp, (size_t) (colon - hp));
        host[colon - hp] = '\0';
        snprintf(port, sizeof(port), "%.*s", (int) (slash - colon - 1),
                 colon + 1);
    } else {
        memcpy(host, hp, hlen);
        host[hlen] = '\0';
        snprintf(port, sizeof(port), "%d", defport);
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "ws-stream-load: %s:%s: %s\n", host, port,
                gai_strerror(rc));
        exit(1);
    }
    memcpy(&load_target.addr, res->ai_addr, sizeof(load_target.addr));
    freeaddrinfo(res);

    if (strlen(slash) >= sizeof(load_target.path)) {
        usage("URL path too long");
    }
    strcpy(load_target.path, slash);

    if (opt.mode == LOAD_MODE_RTMP) {
        last = strrchr(slash, '/');
        if (last == slash || last[1] == '\0') {
            usage("rtmp URL must be rtmp://HOST[:PORT]/APP/STREAM");
        }
        snprintf(load_target.app, sizeof(load_target.app), "%.*s",
                 (int) (last - slash - 1), slash + 1);
        snprintf(load_target.stream, sizeof(load_target.stream), "%s",
                 last + 1);
        snprintf(load_target.tcurl, sizeof(load_target.tcurl), "%.*s",
                 (int) (last - u), u);
    }
}


static void
parse_args(int argc, char **argv)
{
    const char  *a, *v;
    int          i;

    opt.viewers = -1;
    opt.duration = 20;
    opt.warmup = 3;
    opt.rate = 1000;
    opt.threads = 1;
    opt.label = "";
    opt.mode = (load_mode_e) -1;

    for (i = 1; i < argc; i++) {
        a = argv[i];
        if (strcmp(a, "--json") == 0) {
            opt.json = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(NULL);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "ws-stream-load: %s needs a value\n", a);
            usage(NULL);
        }
        v = argv[++i];
        if (strcmp(a, "--mode") == 0) {
            if (strcmp(v, "ws") == 0) {
                opt.mode = LOAD_MODE_WS;
            } else if (strcmp(v, "flv") == 0) {
                opt.mode = LOAD_MODE_FLV;
            } else if (strcmp(v, "rtmp") == 0) {
                opt.mode = LOAD_MODE_RTMP;
            } else if (strcmp(v, "hls") == 0) {
                opt.mode = LOAD_MODE_HLS;
            } else {
                usage("--mode must be ws, flv, rtmp or hls");
            }
        } else if (strcmp(a, "--url") == 0) {
            opt.url = v;
        } else if (strcmp(a, "-n") == 0) {
            opt.viewers = (long) num_arg("-n", v, 1, 1000000);
        } else if (strcmp(a, "--duration") == 0) {
            opt.duration = num_arg(a, v, 0.1, 86400);
        } else if (strcmp(a, "--warmup") == 0) {
            opt.warmup = num_arg(a, v, 0, 3600);
        } else if (strcmp(a, "--rate") == 0) {
            opt.rate = num_arg(a, v, 0.01, 1e6);
        } else if (strcmp(a, "--threads") == 0) {
            opt.threads = (int) num_arg(a, v, 1, 256);
        } else if (strcmp(a, "--label") == 0) {
            opt.label = v;
        } else if (strcmp(a, "--pids") == 0) {
            parse_pids(v);
        } else if (strcmp(a, "--report-interval") == 0) {
            opt.report_ms = num_arg(a, v, 0, 3600000);
        } else if (strcmp(a, "--user-agent") == 0) {
            if (strlen(v) > 512 || strpbrk(v, "\r\n") != NULL) {
                usage("--user-agent: at most 512 bytes, one line");
            }
            opt.user_agent = v;
        } else {
            fprintf(stderr, "ws-stream-load: unknown option %s\n", a);
            usage(NULL);
        }
    }
    if ((int) opt.mode == -1 || opt.url == NULL || opt.viewers < 1) {
        usage("--mode, --url and -n are required");
    }
    if (opt.threads > opt.viewers) {
        opt.threads = (int) opt.viewers;
    }
    if (opt.report_ms > 0 && opt.mode != LOAD_MODE_WS) {
        usage("--report-interval needs --mode ws");
    }
    load_target.mode = opt.mode;
    load_target.url = opt.url;
    load_target.user_agent = opt.user_agent;
    load_target.report_us = (uint64_t) (opt.report_ms * 1000);
    parse_url();
}


static void
raise_nofile(rlim_t need)
{
    struct rlimit  rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
        fprintf(stderr, "ws-stream-load: getrlimit: %s\n", strerror(errno));
        return;
    }
    if (rl.rlim_cur >= need) {
        return;
    }
    if (rl.rlim_max < need) {
        rl.rlim_max = need;     /* works as root (up to fs.nr_open) */
    }
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
            rl.rlim_cur = rl.rlim_max;
            (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        fprintf(stderr, "ws-stream-load: warning: could not raise "
                "RLIMIT_NOFILE to %lu (now %lu): some connections will "
                "fail\n", (unsigned long) need,
                (unsigned long) rl.rlim_cur);
    }
}


int
main(int argc, char **argv)
{
    load_thread_t     *th;
    load_conn_t       *conns;
    load_run_t         run;
    pthread_t         *tids;
    struct sigaction   sa;
    uint64_t           t_conn_done, t_w0, t_w1, cpu0, cpu1, now, connected;
    size_t             per_thread, lo, cnt;
    long               i;
    int                k, rc, e;

    parse_args(argc, argv);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    (void) sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;
    (void) sigaction(SIGINT, &sa, NULL);
    (void) sigaction(SIGTERM, &sa, NULL);

    raise_nofile((rlim_t) opt.viewers + 64 + (rlim_t) opt.threads * 2);

    conns = calloc((size_t) opt.viewers, sizeof(*conns));
    th = calloc((size_t) opt.threads, sizeof(*th));
    tids = calloc((size_t) opt.threads, sizeof(*tids));
    if (conns == NULL || th == NULL || tids == NULL) {
        fprintf(stderr, "ws-stream-load: out of memory\n");
        return 1;
    }
    for (i = 0; i < opt.viewers; i++) {
        conns[i].fd = -1;
        conns[i].first_key_us = -1;
    }

    atomic_store(&g_unresolved, opt.viewers);
    g_start_mono = load_mono_us();

    per_thread = (size_t) opt.viewers / (size_t) opt.threads;
    lo = 0;
    for (k = 0; k < opt.threads; k++) {
        cnt = per_thread + ((size_t) k < (size_t) opt.viewers
                                         % (size_t) opt.threads);
        th[k].id = k;
        th[k].conns = conns + lo;
        th[k].nconns = cnt;
        th[k].rate = opt.rate / opt.threads;
        th[k].rbuf_size = READ_BUF;
        th[k].rbuf = malloc(READ_BUF);
        th[k].ep = epoll_create1(EPOLL_CLOEXEC);
        if (th[k].rbuf == NULL || th[k].ep == -1) {
            fprintf(stderr, "ws-stream-load: thread setup: %s\n",
                    th[k].rbuf == NULL ? "out of memory" : strerror(errno));
            return 1;
        }
        lo += cnt;
    }
    for (k = 0; k < opt.threads; k++) {
        rc = pthread_create(&tids[k], NULL, thread_main, &th[k]);
        if (rc != 0) {
            fprintf(stderr, "ws-stream-load: pthread_create: %s\n",
                    strerror(rc));
            atomic_store(&g_phase, LOAD_PHASE_DONE);
            for (e = 0; e < k; e++) {
                pthread_join(tids[e], NULL);
            }
            return 1;
        }
    }

    /* connecting */
    for ( ;; ) {
        now = load_mono_us();
        if (atomic_load(&g_unresolved) <= 0 || g_stop) {
            break;
        }
        if (now - g_start_mono > CONNECT_LIMIT_US) {
            atomic_store(&g_phase, LOAD_PHASE_CUTOFF);
            while (atomic_load(&g_unresolved) > 0
                   && load_mono_us() - now < 5000000)
            {
                usleep(10000);
            }
            break;
        }
        usleep(10000);
    }
    t_conn_done = load_mono_us();

    connected = (uint64_t) atomic_load(&g_connected);

    t_w0 = t_w1 = t_conn_done;
    cpu0 = cpu1 = 0;
    if (connected > 0) {
        atomic_store(&g_phase, LOAD_PHASE_WARMUP);
        while (load_mono_us() - t_conn_done < opt.warmup * 1e6 && !g_stop) {
            usleep(10000);
        }
        for (k = 0; k < opt.npids; k++) {
            opt.pids[k].ok = load_proc_ticks(opt.pids[k].pid,
                                             &opt.pids[k].ticks0) == 0;
        }
        cpu0 = load_self_cpu_us();
        t_w0 = load_mono_us();
        atomic_store(&g_phase, LOAD_PHASE_MEASURE);
        while (load_mono_us() - t_w0 < opt.duration * 1e6 && !g_stop) {
            usleep(10000);
        }
        atomic_store(&g_phase, LOAD_PHASE_WARMUP);
        t_w1 = load_mono_us();
        cpu1 = load_self_cpu_us();
        for (k = 0; k < opt.npids; k++) {
            if (opt.pids[k].ok) {
                opt.pids[k].ok =
                    load_proc_ticks(opt.pids[k].pid, &opt.pids[k].ticks1) == 0
                    && load_proc_rss(opt.pids[k].pid,
                                     &opt.pids[k].rss_kb) == 0;
            }
        }
    }
    atomic_store(&g_phase, LOAD_PHASE_DONE);
    for (k = 0; k < opt.threads; k++) {
        pthread_join(tids[k], NULL);
    }

    run.label = opt.label;
    run.mode = opt.mode;
    run.url = opt.url;
    run.threads = opt.threads;
    run.viewers = opt.viewers;
    run.json = opt.json;
    run.th = th;
    run.conns = conns;
    run.pids = opt.pids;
    run.npids = opt.npids;
    run.start_mono = g_start_mono;
    run.t_conn_done = t_conn_done;
    run.t_w0 = t_w0;
    run.t_w1 = t_w1;
    run.cpu0 = cpu0;
    run.cpu1 = cpu1;
    if (load_report(&run, &connected) != 0) {
        return 1;
    }

    for (k = 0; k < opt.threads; k++) {
        free(th[k].rbuf);
        close(th[k].ep);
    }
    free(th);
    free(tids);
    free(conns);

    if (connected == 0) {
        fprintf(stderr, "ws-stream-load: no viewer connected\n");
        return 1;
    }
    return 0;
}
