/*
 * ws-stream-floor: the physical floor of fan-out on this machine.
 *
 *   ws-stream-floor -i FIXTURE.flv [--port PORT (0)] [--host 127.0.0.1]
 *                   [--mode each|gather] [--max-lag MS (2000)] [--json]
 *                   [--quiet]
 *
 * Sends the benchmark fixture to WebSocket viewers as protocol v1 binary
 * messages (docs/protocol.md), with nothing between the messages and the
 * sockets: no RTMP ingest, no ring in shared memory, no per-viewer state
 * but where it is in the message sequence.  The fixture is paced and
 * stamped as ws-stream-pub does it (flv_fixture.h): each message is due at
 * start + its timestamp, looping with continuous timestamps, and every
 * AVC frame gets the stamp SEI with the wall clock taken when the message
 * is built, just before it is written.  Each message is framed once (the
 * WebSocket frame header, the 14-byte media header whose ingest field is
 * that same clock) and the same bytes are written to every viewer:
 *
 *   --mode each    one write() per message per viewer, as it is built;
 *   --mode gather  the messages of one event-loop pass (those due when the
 *                  timer fired) in one writev() per viewer.
 *
 * What a viewer has not been sent yet (a new one's backlog from the newest
 * keyframe, or a full socket's once EPOLLOUT comes) goes in one writev()
 * in both modes.
 *
 * A new viewer gets the 101 answer, hello, the codec configuration (AVC
 * and AAC sequence headers, onMetaData), then the messages from the newest
 * keyframe.  A viewer whose socket is full keeps its place (a message and
 * an offset into it) and is written again on EPOLLOUT; one further behind
 * than --max-lag is moved to the newest keyframe with a `skipped` notice,
 * as our server does (the rest of a message it was part-way through is
 * copied and goes first).  A viewer still in a message that leaves the
 * window of FLOOR_WINDOW messages would be closed (a skip comes first).
 * Both are counted.
 *
 * The load client measures it as any server: `ws-stream-load --mode ws
 * --url ws://HOST:PORT/ws/live/x --pids PID`.  On SIGTERM or SIGINT it
 * prints a summary (stderr; with --json also one JSON line on stdout):
 * viewers, messages, write calls, would-blocks, partial writes, skips,
 * drops, how late messages were built.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>

#include "ws_stream_ws.h"
#include "floor.h"

#define EVENTS       512
#define MSG_HEAD     (WS_STREAM_WS_MAX_HDR + WS_STREAM_MEDIA_HDR)

/* where the fixture is: the next tag to send */
typedef struct {
    size_t           tag;
    uint64_t         loop;
    uint32_t         index;           /* of the next stamped frame */
    int64_t          start_ns;        /* monotonic */
} floor_src_t;

static int64_t
mono_ns(void)
{
    return fixture_clock_ns(FLOOR_PROG, CLOCK_MONOTONIC);
}


uint64_t
floor_real_us(void)
{
    return (uint64_t) fixture_clock_ns(FLOOR_PROG, CLOCK_REALTIME) / 1000;
}


/* ---- messages ---- */

/*
 * Frames the payload at buf + MSG_HEAD (plen bytes) in place: the media
 * header before it, the WebSocket frame header before that.
 */
static void
frame(floor_msg_t *m, unsigned kind, uint32_t dts, int32_t cts,
    uint64_t ingest_ms, size_t plen)
{
    uint8_t  *h, ws[WS_STREAM_WS_MAX_HDR];
    size_t    n;

    h = m->buf + WS_STREAM_WS_MAX_HDR;
    h[0] = (uint8_t) kind;
    (void) ws_stream_wb(h + 1, dts, 4);
    (void) ws_stream_wb(h + 5, (uint32_t) cts & 0xffffff, 3);
    (void) ws_stream_wb(h + 8, ingest_ms, 6);
    n = ws_stream_ws_header(ws, WS_STREAM_WS_BINARY,
                            WS_STREAM_MEDIA_HDR + plen);
    m->data = h - n;
    memcpy(m->data, ws, n);
    m->len = n + WS_STREAM_MEDIA_HDR + plen;
}


/* the kind byte of an FLV tag body sent as it is */
static unsigned
plain_kind(const fixture_tag_t *t, const uint8_t *body)
{
    if (t->type == FLV_AUDIO) {
        return WS_STREAM_TRACK_AUDIO | WS_STREAM_FLAG_KEY;
    }
    if (t->type == FLV_VIDEO) {
        return WS_STREAM_TRACK_VIDEO
               | (t->len > 0 && body[0] >> 4 == 1 ? WS_STREAM_FLAG_KEY : 0);
    }
    return WS_STREAM_TRACK_DATA;
}


/* the codec configuration, framed back to back: what a new viewer is sent
   after hello, as our server sends it */
static int
build_config(floor_srv_t *srv)
{
    const fixture_t      *fx = &srv->fx;
    const fixture_tag_t  *t;
    ssize_t               which[3];
    floor_msg_t           m;
    const uint8_t        *body;
    uint64_t              ingest;
    size_t                i, cap = 0;
    unsigned              kind;

    which[0] = fx->avc_seq;
    which[1] = fx->aac_seq;
    which[2] = fx->meta;
    for (i = 0; i < 3; i++) {
        if (which[i] >= 0) {
            cap += MSG_HEAD + fx->tags[which[i]].len;
        }
    }
    srv->config = malloc(cap);
    if (srv->config == NULL) {
        return -1;
    }
    ingest = floor_real_us() / 1000;
    for (i = 0; i < 3; i++) {
        if (which[i] < 0) {
            continue;
        }
        t = &fx->tags[which[i]];
        body = fx->data + t->off;
        m.buf = malloc(MSG_HEAD + t->len);
        if (m.buf == NULL) {
            return -1;
        }
        memcpy(m.buf + MSG_HEAD, body, t->len);
        kind = plain_kind(t, body) | WS_STREAM_FLAG_CONFIG;
        frame(&m, kind, t->ts,
              t->type == FLV_VIDEO && t->len >= 5 ? fixture_cts(body) : 0,
              ingest, t->len);
        memcpy(srv->config + srv->config_len, m.data, m.len);
        srv->config_len += m.len;
        free(m.buf);
    }
    return 0;
}


/* a message that leaves the window: viewers still in the middle of it
   cannot be given anything else without breaking their stream */
static void
retire(floor_srv_t *srv, floor_msg_t *m, uint64_t seq)
{
    floor_viewer_t  *v;
    size_t           i;

    for (i = 0; m->partial > 0 && i < srv->nviewers; ) {
        v = srv->viewers[i];
        if (v->state != FV_REQUEST && v->seq == seq && v->off > 0) {
            srv->st.dropped++;
            floor_close(srv, v);
            continue;
        }
        i++;
    }
    free(m->buf);
    m->buf = NULL;
}


static int64_t
due_ns(const floor_srv_t *srv, const floor_src_t *src)
{
    uint64_t  ts = src->loop * srv->fx.duration + srv->fx.tags[src->tag].ts;

    return src->start_ns + (int64_t) ts * 1000000LL;
}


/* src at the next tag a loop sends, from src->tag on */
static void
src_settle(const floor_srv_t *srv, floor_src_t *src)
{
    for (;;) {
        if (src->tag == srv->fx.ntags) {
            src->tag = 0;
            src->loop++;
            src->index = 0;
        }
        if (fixture_sendable(&srv->fx, src->tag)) {
            return;
        }
        src->tag++;
    }
}


/* the message of src's tag, stamped now, into the window; -1 out of
   memory */
static int
build(floor_srv_t *srv, floor_src_t *src, int64_t now)
{
    const fixture_tag_t  *t = &srv->fx.tags[src->tag];
    const uint8_t        *body = srv->fx.data + t->off;
    bench_stamp_t         st;
    floor_msg_t          *m;
    uint64_t              seq = srv->head, ts;
    size_t                plen;
    int64_t               late;
    int32_t               cts;
    unsigned              kind;
    uint8_t              *buf;

    buf = malloc(MSG_HEAD + t->len + FIXTURE_STAMP_MAX);
    if (buf == NULL) {
        return -1;
    }
    m = &srv->window[seq % FLOOR_WINDOW];
    if (m->buf != NULL) {
        retire(srv, m, seq - FLOOR_WINDOW);
    }
    m->buf = buf;
    m->partial = 0;

    ts = src->loop * srv->fx.duration + t->ts;
    cts = t->type == FLV_VIDEO && t->len >= 5 ? fixture_cts(body) : 0;
    kind = plain_kind(t, body);
    st.wall_us = floor_real_us();
    if (fixture_is_frame(t, body)) {
        st.index = src->index++;
        st.loop = (uint32_t) src->loop;
        st.pts_ms = ts + (uint64_t) (int64_t) cts;
        plen = fixture_stamp(buf + MSG_HEAD, body, t->len, &st);
        srv->st.frames++;
    } else {
        memcpy(buf + MSG_HEAD, body, t->len);
        plen = t->len;
    }
    frame(m, kind, (uint32_t) ts, cts, st.wall_us / 1000, plen);
    m->dts = (uint32_t) ts;
    m->video = t->type == FLV_VIDEO;
    m->key = m->video && (kind & WS_STREAM_FLAG_KEY);

    if (m->key) {
        srv->last_key = seq;
    }
    srv->head_dts = m->dts;
    srv->head = seq + 1;
    srv->st.msgs++;

    late = now - due_ns(srv, src);
    if (late > srv->st.late_max_ns) {
        srv->st.late_max_ns = late;
    }
    srv->st.late1 += late > 1000000;

    src->tag++;
    src_settle(srv, src);
    return 0;
}


/* ---- sending ---- */

/*
 * Moves v to the newest keyframe, with a `skipped` notice, when its next
 * message is more than max_lag older than the newest (or half the window
 * behind), as our server does.  The rest of a message v is part-way
 * through becomes v's own bytes first, so the stream stays whole; the
 * notice goes after them.  0, or -1 out of memory.
 */
static int
lag(floor_srv_t *srv, floor_viewer_t *v)
{
    floor_msg_t  *m;
    uint64_t      s, frames = 0, bytes = 0;
    char          text[192];
    uint8_t      *rest;
    int           n;

    if (v->seq >= srv->head || srv->last_key == FLOOR_NONE
        || srv->last_key <= v->seq)
    {
        return 0;
    }
    m = &srv->window[v->seq % FLOOR_WINDOW];
    if (v->seq + FLOOR_WINDOW / 2 > srv->head
        && srv->head_dts - m->dts <= srv->max_lag)
    {
        return 0;
    }
    if (v->off > 0) {
        /* v's own bytes were all sent before it began this message */
        rest = malloc(m->len - v->off);
        if (rest == NULL) {
            return -1;
        }
        memcpy(rest, m->data + v->off, m->len - v->off);
        free(v->pre);
        v->pre = rest;
        v->pre_len = m->len - v->off;
        v->pre_off = 0;
        m->partial--;
        v->off = 0;
        v->seq++;
    }
    for (s = v->seq; s < srv->last_key; s++) {
        m = &srv->window[s % FLOOR_WINDOW];
        frames += m->video;
        bytes += m->len;
    }
    srv->st.skips++;
    srv->st.skipped_msgs += srv->last_key - v->seq;
    v->skips++;
    v->seq = srv->last_key;
    n = snprintf(text, sizeof(text),
                 "{\"type\":\"skipped\",\"frames\":%" PRIu64 ",\"bytes\":%"
                 PRIu64 ",\"count\":%" PRIu64 ",\"reason\":\"behind\"}",
                 frames, bytes, v->skips);
    return floor_notice(v, text, (size_t) n);
}


/* n bytes of what v had to send went out */
static void
advance(floor_srv_t *srv, floor_viewer_t *v, size_t n)
{
    floor_msg_t  *m;
    size_t        take;

    srv->st.bytes += n;
    if (v->pre_off < v->pre_len) {
        take = v->pre_len - v->pre_off;
        take = n < take ? n : take;
        v->pre_off += take;
        n -= take;
        if (v->pre_off == v->pre_len) {
            free(v->pre);
            v->pre = NULL;
            v->pre_len = 0;
            v->pre_off = 0;
        }
    }
    while (n > 0) {
        m = &srv->window[v->seq % FLOOR_WINDOW];
        take = m->len - v->off;
        if (n < take) {
            if (v->off == 0) {
                m->partial++;
            }
            v->off += n;
            return;
        }
        if (v->off > 0) {
            m->partial--;
        }
        n -= take;
        v->off = 0;
        v->seq++;
    }
}


/* after a write or writev of want bytes that returned n: 1 go on, 0 the
   socket is full, -1 error */
static int
wrote(floor_srv_t *srv, floor_viewer_t *v, ssize_t n, size_t want)
{
    srv->st.writes++;
    if (n == -1) {
        if (errno == EINTR) {
            return 1;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            srv->st.eagain++;
            v->blocked = 1;
            return 0;
        }
        return -1;
    }
    advance(srv, v, (size_t) n);
    if ((size_t) n < want) {
        srv->st.partial++;
        v->blocked = 1;
        return 0;
    }
    return 1;
}


/*
 * What v has to send, its own bytes and the messages from v->seq up to
 * (not including) limit, in one call: write() when it is one piece, else
 * writev().  In the fan-out of --mode each that is the one new message; of
 * --mode gather, those of the pass; for a new viewer or one back from a
 * full socket, its backlog, alike in both modes.
 */
int
floor_flush(floor_srv_t *srv, floor_viewer_t *v, uint64_t limit)
{
    struct iovec   iov[FLOOR_IOV + 1];
    floor_msg_t   *m;
    uint64_t       s;
    size_t         k, total, off;
    ssize_t        n;
    int            rc;

    for (;;) {
        if (lag(srv, v) != 0) {
            return -1;
        }
        k = 0;
        total = 0;
        if (v->pre_off < v->pre_len) {
            iov[0].iov_base = v->pre + v->pre_off;
            iov[0].iov_len = v->pre_len - v->pre_off;
            total = iov[0].iov_len;
            k = 1;
        }
        for (s = v->seq; s < limit && k <= FLOOR_IOV; s++) {
            m = &srv->window[s % FLOOR_WINDOW];
            off = s == v->seq ? v->off : 0;
            iov[k].iov_base = m->data + off;
            iov[k].iov_len = m->len - off;
            total += iov[k].iov_len;
            k++;
        }
        if (k == 0) {
            return 0;
        }
        n = k == 1 ? write(v->fd, iov[0].iov_base, iov[0].iov_len)
                   : writev(v->fd, iov, (int) k);
        if (k > 1) {
            srv->st.gathered++;
        }
        rc = wrote(srv, v, n, total);
        if (rc <= 0 || (v->seq >= limit && v->pre_off == v->pre_len)) {
            return rc < 0 ? -1 : 0;
        }
    }
}


/* every viewer that can take it is sent what it has up to limit */
static void
fanout(floor_srv_t *srv, uint64_t limit)
{
    floor_viewer_t  *v;
    size_t           i = 0;

    while (i < srv->nviewers) {
        v = srv->viewers[i];
        if (v->state == FV_WAIT_KEY) {
            if (srv->last_key == FLOOR_NONE || srv->last_key < v->seq) {
                v->seq = srv->head;
                i++;
                continue;
            }
            v->seq = srv->last_key;
            v->state = FV_LIVE;
        }
        if (v->state != FV_LIVE) {
            i++;
            continue;
        }
        if (v->blocked ? lag(srv, v) : floor_flush(srv, v, limit)) {
            floor_close(srv, v);        /* the last one is at i now */
            continue;
        }
        i++;
    }
}


/*
 * The timer fired: the messages due are built (and stamped) at once, as a
 * live source hands them over whether or not the fan-out keeps up, then
 * sent as the mode does, one by one or together; the timer is set for the
 * next one.  A pass that took longer than a message interval leaves the
 * next ones to the next pass, after the other events.
 */
static int
produce(floor_srv_t *srv, floor_src_t *src)
{
    struct itimerspec  it;
    uint64_t           exp, first, s;
    int64_t            now, due;

    if (read(srv->tfd, &exp, sizeof(exp)) == -1 && errno != EAGAIN) {
        perror(FLOOR_PROG ": timerfd read");
        return -1;
    }
    now = mono_ns();
    first = srv->head;
    while (due_ns(srv, src) <= now) {
        if (build(srv, src, now) != 0) {
            fprintf(stderr, FLOOR_PROG ": out of memory for a message\n");
            return -1;
        }
    }
    if (srv->head > first) {
        srv->st.passes++;
        if (srv->mode == FLOOR_EACH) {
            for (s = first + 1; s <= srv->head; s++) {
                fanout(srv, s);
            }
        } else {
            fanout(srv, srv->head);
        }
    }
    due = due_ns(srv, src);
    memset(&it, 0, sizeof(it));
    it.it_value.tv_sec = due / 1000000000LL;
    it.it_value.tv_nsec = due % 1000000000LL;
    if (timerfd_settime(srv->tfd, TFD_TIMER_ABSTIME, &it, NULL) == -1) {
        perror(FLOOR_PROG ": timerfd_settime");
        return -1;
    }
    return 0;
}


/* ---- main ---- */

static void
summary(const floor_srv_t *srv, double secs, int json)
{
    const floor_stats_t  *s = &srv->st;
    const char           *mode = srv->mode == FLOOR_EACH ? "each" : "gather";

    fprintf(stderr, FLOOR_PROG ": summary: mode %s, %.1f s, %" PRIu64
            " messages (%" PRIu64 " frames) in %" PRIu64 " passes, "
            "viewers %" PRIu64 " upgraded (max %" PRIu64 " at once), %"
            PRIu64 " refused, %" PRIu64 " closed, %" PRIu64 " dropped, %"
            PRIu64 " skips (%" PRIu64 " messages); %" PRIu64 " write calls "
            "(%" PRIu64 " writev), %" PRIu64 " would block, %" PRIu64
            " partial, %.1f MB; built late by %.2f ms at worst (%" PRIu64
            " > 1 ms)\n",
            mode, secs, s->msgs, s->frames, s->passes, s->upgraded,
            s->viewers_max, s->refused, s->closed, s->dropped, s->skips,
            s->skipped_msgs, s->writes, s->gathered, s->eagain, s->partial,
            s->bytes / 1e6, s->late_max_ns / 1e6, s->late1);
    if (!json) {
        return;
    }
    printf("{\"mode\":\"%s\",\"seconds\":%.3f,\"messages\":%" PRIu64
           ",\"frames\":%" PRIu64 ",\"passes\":%" PRIu64
           ",\"accepted\":%" PRIu64 ",\"upgraded\":%" PRIu64
           ",\"viewers_max\":%" PRIu64 ",\"refused\":%" PRIu64
           ",\"closed\":%" PRIu64 ",\"dropped\":%" PRIu64
           ",\"skips\":%" PRIu64 ",\"skipped_messages\":%" PRIu64
           ",\"writes\":%" PRIu64 ",\"writev\":%" PRIu64
           ",\"would_block\":%" PRIu64
           ",\"partial\":%" PRIu64 ",\"bytes\":%" PRIu64
           ",\"late_max_ms\":%.3f,\"late_over_1ms\":%" PRIu64 "}\n",
           mode, secs, s->msgs, s->frames, s->passes, s->accepted,
           s->upgraded, s->viewers_max, s->refused, s->closed, s->dropped,
           s->skips, s->skipped_msgs, s->writes, s->gathered, s->eagain,
           s->partial, s->bytes, s->late_max_ns / 1e6, s->late1);
    fflush(stdout);
}


static void
usage(void)
{
    fprintf(stderr, "usage: " FLOOR_PROG " -i FIXTURE.flv [--port PORT] "
            "[--host ADDR] [--mode each|gather] [--max-lag MS] [--json] "
            "[--quiet]\n");
    exit(1);
}


/* as many open files as the hard limit allows: a socket per viewer */
static void
raise_nofile(void)
{
    struct rlimit  rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
    }
}


static int
setup(floor_srv_t *srv, const char *in, const char *host, int port)
{
    struct epoll_event  ev;

    if (fixture_signals(FLOOR_PROG) != 0) {
        return -1;
    }
    raise_nofile();

    if (fixture_load(FLOOR_PROG, in, &srv->fx) != 0) {
        return -1;
    }
    if (build_config(srv) != 0) {
        fprintf(stderr, FLOOR_PROG ": out of memory\n");
        return -1;
    }
    srv->ep = epoll_create1(EPOLL_CLOEXEC);
    srv->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (srv->ep == -1 || srv->tfd == -1) {
        perror(FLOOR_PROG ": epoll_create1 / timerfd_create");
        return -1;
    }
    ev.events = EPOLLIN;
    ev.data.ptr = &srv->tfd;
    if (epoll_ctl(srv->ep, EPOLL_CTL_ADD, srv->tfd, &ev) == -1) {
        perror(FLOOR_PROG ": epoll_ctl");
        return -1;
    }
    return floor_listen(srv, host, port);
}


typedef struct {
    const char  *in;
    const char  *host;
    int          port;
    int          json;
    int          quiet;
    long         lag_ms;
} floor_opts_t;


static void
floor_args(int argc, char **argv, floor_srv_t *srv, floor_opts_t *o)
{
    static const struct option  longs[] = {
        { "fixture", required_argument, NULL, 'i' },
        { "port", required_argument, NULL, 'p' },
        { "host", required_argument, NULL, 'H' },
        { "mode", required_argument, NULL, 'm' },
        { "max-lag", required_argument, NULL, 'l' },
        { "json", no_argument, NULL, 'j' },
        { "quiet", no_argument, NULL, 'q' },
        { NULL, 0, NULL, 0 }
    };
    int  opt;

    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->lag_ms = 2000;
    srv->mode = FLOOR_EACH;

    while ((opt = getopt_long(argc, argv, "i:p:H:m:l:jq", longs, NULL))
           != -1)
    {
        switch (opt) {
        case 'i':
            o->in = optarg;
            break;
        case 'p':
            o->port = atoi(optarg);
            break;
        case 'H':
            o->host = optarg;
            break;
        case 'm':
            if (strcmp(optarg, "each") == 0) {
                srv->mode = FLOOR_EACH;
            } else if (strcmp(optarg, "gather") == 0) {
                srv->mode = FLOOR_GATHER;
            } else {
                usage();
            }
            break;
        case 'l':
            o->lag_ms = strtol(optarg, NULL, 10);
            break;
        case 'j':
            o->json = 1;
            break;
        case 'q':
            o->quiet = 1;
            break;
        default:
            usage();
        }
    }
    if (o->in == NULL || optind != argc || o->port < 0 || o->port > 65535
        || o->lag_ms <= 0 || o->lag_ms > 60000)
    {
        usage();
    }
}


/* until SIGINT/SIGTERM: accept, read the viewers, produce on the timer */
static int
floor_loop(floor_srv_t *srv, floor_src_t *src)
{
    struct epoll_event  evs[EVENTS];
    int                 n, i, timer;

    while (!fixture_stop) {
        n = epoll_wait(srv->ep, evs, EVENTS, -1);
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            perror(FLOOR_PROG ": epoll_wait");
            return 1;
        }
        /* the timer last: its fan-out may close viewers that other
           events of this pass name */
        timer = 0;
        for (i = 0; i < n; i++) {
            if (evs[i].data.ptr == &srv->lfd) {
                floor_accept(srv);
            } else if (evs[i].data.ptr == &srv->tfd) {
                timer = 1;
            } else {
                floor_viewer_event(srv, evs[i].data.ptr, evs[i].events);
            }
        }
        if (timer && produce(srv, src) != 0) {
            return 1;
        }
    }
    return 0;
}


int
main(int argc, char **argv)
{
    static floor_srv_t   srv;
    struct sockaddr_in   sa;
    socklen_t            salen = sizeof(sa);
    floor_src_t          src;
    floor_opts_t         o;
    int                  port, rc;
    size_t               k;

    floor_args(argc, argv, &srv, &o);
    srv.max_lag = (uint32_t) o.lag_ms;
    srv.app = "live";
    srv.stream = "floor";
    srv.last_key = FLOOR_NONE;
    srv.ep = srv.lfd = srv.tfd = -1;

    if (setup(&srv, o.in, o.host, o.port) != 0) {
        return 1;
    }
    port = o.port;
    if (getsockname(srv.lfd, (struct sockaddr *) &sa, &salen) == 0) {
        port = ntohs(sa.sin_port);
    }
    if (!o.quiet) {
        fprintf(stderr, FLOOR_PROG ": %s:%d, mode %s, %s (%" PRIu32
                " frames, loop %" PRIu32 " ms)\n", o.host, port,
                srv.mode == FLOOR_EACH ? "each" : "gather", o.in,
                srv.fx.frames, srv.fx.duration);
    }

    memset(&src, 0, sizeof(src));
    src.start_ns = mono_ns();
    src_settle(&srv, &src);
    if (produce(&srv, &src) != 0) {
        return 1;
    }

    rc = floor_loop(&srv, &src);

    summary(&srv, (mono_ns() - src.start_ns) / 1e9, o.json);
    while (srv.nviewers > 0) {
        floor_close(&srv, srv.viewers[srv.nviewers - 1]);
    }
    for (k = 0; k < FLOOR_WINDOW; k++) {
        free(srv.window[k].buf);
    }
    free(srv.viewers);
    free(srv.config);
    fixture_free(&srv.fx);
    return rc;
}
