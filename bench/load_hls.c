/*
 * ws-stream-load: the LL-HLS viewer (--mode hls) of ngx_ws_stream's
 * ws_stream_hls location, --url http://HOST:PORT/PREFIX/APP/NAME/media.m3u8.
 *
 * One HTTP/1.1 keep-alive connection per viewer, one request at a time,
 * as a player's playlist and part loaders would in turn:
 *
 *   1. media.m3u8 (not blocking): "connected" once it answers 200; its
 *      parts are old, the viewer starts after the last one listed;
 *   2. init-<gen>.mp4 named by EXT-X-MAP, once per generation;
 *   3. media.m3u8?_HLS_msn=M&_HLS_part=P for the part of the playlist's
 *      EXT-X-PRELOAD-HINT: the server holds it until that part exists;
 *      the parts it lists after the last one taken are queued (the newest
 *      HLS_PL_QUEUE; older ones are counted as skipped);
 *   4. GET M.P.m4s for each queued part, walked as moof + mdat
 *      (hls_parse.c): each video sample, once its last byte is in, goes
 *      to load_media() as an FLV video tag (delay = receive time -
 *      stamp), each audio sample counts as a message; *listed delay* =
 *      arrival of the playlist of step 3 - stamp;
 *   5. back to 3.
 *
 * An answer other than 200 is counted by status and the viewer goes on: a
 * part that is gone is skipped, a playlist is asked again (not blocking)
 * at the next tick (250 ms).  No answer within 10 s, a closed connection
 * or malformed data end the viewer (errors as in the other modes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hls_parse.h"
#include "load.h"
#include "sei.h"

#define HLS_HEAD_MAX     1024      /* response head */
#define HLS_OUT          (1024 + 160)
#define HLS_REQ_TIMEOUT  10000000  /* us without an answer */
#define HLS_RETRY        1         /* retry_at: at the next tick */

typedef struct load_hls_s {
    load_thread_t  *t;
    uint8_t         req;          /* load_hls_req_e in flight */
    uint8_t         busy;         /* a request is in flight */
    uint8_t         blocking;     /* ... with _HLS_msn / _HLS_part */
    uint8_t         in_body;
    uint8_t         close;
    uint8_t         have_init;
    uint8_t         have_cursor;
    uint8_t         retry;        /* ask the playlist again at a tick */
    uint16_t        status;
    uint16_t        head_len;
    uint16_t        out_len;
    uint32_t        init_gen;
    uint32_t        init_len;
    uint32_t        video_track;
    unsigned        qi;           /* queued parts taken */
    uint64_t        body_left;
    uint64_t        t_sent;       /* monotonic */
    uint64_t        t_listed;     /* realtime: the playlist listing them */
    hls_part_id_t   cursor;       /* the last part taken from a playlist */
    hls_part_id_t   next;         /* asked for by the blocking request */
    hls_part_id_t   part;         /* being fetched */
    hls_pl_t        pl;
    hls_frag_t      frag;         /* frag.moof also takes the init body */
    char            head[HLS_HEAD_MAX];
    char            out[HLS_OUT];
    uint8_t         tag[5 + HLS_SAMPLE_HEAD];
} load_hls_t;

static const char  *req_names[LOAD_HLS_REQ_N] = { "playlist", "init", "part" };


/* the request target's folder: load_target.path up to its last '/' */
static int
base_len(void)
{
    const char  *q, *s;

    q = strchr(load_target.path, '?');
    if (q == NULL) {
        q = load_target.path + strlen(load_target.path);
    }
    for (s = q; s > load_target.path && s[-1] != '/'; s--) { /* void */ }
    return (int) (s - load_target.path);
}


static int
send_request(load_thread_t *t, load_conn_t *c, load_hls_req_e kind,
    const char *file)
{
    load_hls_t  *h = c->hls;
    ssize_t      w;
    int          n;

    n = snprintf(h->out, sizeof(h->out),
                 "GET %.*s%s HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "User-Agent: ws-stream-load\r\n"
                 "\r\n",
                 base_len(), load_target.path, file, load_target.host);
    if (n < 0 || (size_t) n >= sizeof(h->out)) {
        load_fail(t, c, LOAD_ERR_CONNECT, "request too long");
        return -1;
    }
    h->out_len = (uint16_t) n;
    h->req = (uint8_t) kind;
    h->busy = 1;
    h->in_body = 0;
    h->head_len = 0;
    h->t_sent = load_mono_us();

    w = load_write(t, c, (const uint8_t *) h->out, h->out_len);
    if (w < 0) {
        return -1;
    }
    memmove(h->out, h->out + w, h->out_len - (size_t) w);
    h->out_len = (uint16_t) (h->out_len - (size_t) w);
    return load_arm(t, c, h->out_len > 0);
}


static int
ask_playlist(load_thread_t *t, load_conn_t *c, int blocking)
{
    load_hls_t  *h = c->hls;
    char         file[512];
    const char  *name;

    name = load_target.path + base_len();
    hls_pl_init(&h->pl, h->have_cursor ? &h->cursor : NULL);
    h->blocking = (uint8_t) blocking;
    h->qi = 0;
    if (blocking) {
        snprintf(file, sizeof(file), "%.*s?_HLS_msn=%llu&_HLS_part=%u",
                 (int) strcspn(name, "?"), name,
                 (unsigned long long) h->next.msn, h->next.part);
    } else {
        snprintf(file, sizeof(file), "%.*s", (int) strcspn(name, "?"), name);
    }
    return send_request(t, c, LOAD_HLS_PLAYLIST, file);
}


static void
odd(load_thread_t *t, const char *what)
{
    t->st.hls_odd++;
    if (t->hls_first_odd[0] == '\0') {
        snprintf(t->hls_first_odd, sizeof(t->hls_first_odd), "%s", what);
    }
}


/* the next request once an answer is through */
static int
next_step(load_thread_t *t, load_conn_t *c)
{
    load_hls_t  *h = c->hls;
    char         file[64];

    if (h->pl.have_map && (!h->have_init || h->init_gen != h->pl.map_gen)) {
        snprintf(file, sizeof(file), "init-%u.mp4", h->pl.map_gen);
        h->init_len = 0;
        return send_request(t, c, LOAD_HLS_INIT, file);
    }
    if (h->qi < h->pl.qlen) {
        h->part = h->pl.queue[(h->pl.qfirst + h->qi) % HLS_PL_QUEUE];
        h->qi++;
        snprintf(file, sizeof(file), "%llu.%u.m4s",
                 (unsigned long long) h->part.msn, h->part.part);
        return send_request(t, c, LOAD_HLS_PART, file);
    }
    if (!h->have_cursor) {
        h->retry = HLS_RETRY;         /* nothing listed yet */
        return 0;
    }
    return ask_playlist(t, c, 1);
}


/* one sample of the part being received */
static void
on_sample(void *ctx, int video, int key, const uint8_t *head,
    size_t head_len, uint32_t size)
{
    load_conn_t    *c = ctx;
    load_hls_t     *h = c->hls;
    load_thread_t  *t = h->t;
    bench_stamp_t   st;

    if (!video) {
        load_media(t, c, 8, NULL, 0, size);
        return;
    }
    /* an FLV AVC NALU video tag: what load_media() reads */
    h->tag[0] = key ? 0x17 : 0x27;
    h->tag[1] = 1;
    h->tag[2] = h->tag[3] = h->tag[4] = 0;
    memcpy(h->tag + 5, head, head_len);
    load_media(t, c, 9, h->tag, 5 + head_len, 5 + (size_t) size);

    if (t->measuring && bench_sei_find_avcc(head, head_len, &st) == 1) {
        load_hist_add(&t->st.hls_listed_us,
                      h->t_listed > st.wall_us ? h->t_listed - st.wall_us
                                               : 0);
    }
}


static int
playlist_done(load_thread_t *t, load_conn_t *c)
{
    load_hls_t  *h = c->hls;

    hls_pl_end(&h->pl);
    if (!h->pl.extm3u) {
        load_fail(t, c, c->state == CS_OPEN ? LOAD_ERR_PROTOCOL
                                            : LOAD_ERR_HANDSHAKE,
                  "playlist does not start with #EXTM3U");
        return -1;
    }
    if (c->state != CS_OPEN) {
        load_connected(t, c);
    }
    h->t_listed = t->now_us;
    if (h->blocking) {
        if (t->measuring) {
            load_hist_add(&t->st.hls_hold_us, t->now_mono_us - h->t_sent);
        }
        if (!h->pl.have_last || hls_part_before(&h->pl.last, &h->next)) {
            odd(t, "a blocking playlist answer without the part asked for");
        }
    }
    if (h->pl.bad > 0) {
        odd(t, "EXT-X-PART without a <msn>.<part>.m4s URI, or out of order");
    }
    if (t->measuring) {
        t->st.hls_skipped += h->pl.dropped;
    }
    if (h->pl.have_last) {
        h->cursor = h->pl.last;
        h->have_cursor = 1;
    }
    if (h->pl.have_hint) {
        h->next = h->pl.hint;
    } else if (h->pl.have_last) {
        odd(t, "a playlist without EXT-X-PRELOAD-HINT");
        h->next = h->pl.last;
        h->next.part++;
    }
    return next_step(t, c);
}


static void
count_status(load_thread_t *t, load_hls_t *h)
{
    load_hls_status_e  st;

    switch (h->status) {
    case 200: st = LOAD_HLS_200; break;
    case 400: st = LOAD_HLS_400; break;
    case 404: st = LOAD_HLS_404; break;
    case 503: st = LOAD_HLS_503; break;
    default: st = LOAD_HLS_OTHER;
    }
    t->st.hls_status[st]++;
    if (st != LOAD_HLS_200 && t->hls_first_status[0] == '\0') {
        snprintf(t->hls_first_status, sizeof(t->hls_first_status),
                 "HTTP %u for %s%s", h->status, req_names[h->req],
                 h->blocking && h->req == LOAD_HLS_PLAYLIST
                 ? " (blocking)" : "");
    }
}


/* the answer is in: what it means, then the next request */
static int
response_done(load_thread_t *t, load_conn_t *c)
{
    load_hls_t  *h = c->hls;

    h->busy = 0;
    count_status(t, h);
    if (t->measuring) {
        t->st.hls_req[h->req]++;
    }
    if (h->close) {
        load_fail(t, c, c->state == CS_OPEN ? LOAD_ERR_CLOSED
                                            : LOAD_ERR_HANDSHAKE,
                  "the server ends the keep-alive connection (HTTP %u)",
                  h->status);
        return -1;
    }

    switch (h->req) {

    case LOAD_HLS_PLAYLIST:
        if (h->status == 200) {
            return playlist_done(t, c);
        }
        if (c->state != CS_OPEN) {
            load_fail(t, c, LOAD_ERR_HANDSHAKE, "playlist refused: HTTP %u",
                      h->status);
            return -1;
        }
        h->retry = HLS_RETRY;
        return 0;

    case LOAD_HLS_INIT:
        if (h->status == 200) {
            if (hls_mp4_video_track(h->frag.moof, h->init_len,
                                    &h->video_track) != 0)
            {
                load_fail(t, c, LOAD_ERR_PROTOCOL,
                          "init segment without a video track");
                return -1;
            }
            h->have_init = 1;
            h->init_gen = h->pl.map_gen;
            return next_step(t, c);
        }
        h->retry = HLS_RETRY;
        return 0;

    default:
        if (h->status == 200) {
            if (hls_frag_end(&h->frag) != 0) {
                load_fail(t, c, LOAD_ERR_PROTOCOL, "part %llu.%u: %s",
                          (unsigned long long) h->part.msn, h->part.part,
                          h->frag.error);
                return -1;
            }
            if (t->measuring) {
                t->st.hls_parts++;
            }
        }
        return next_step(t, c);
    }
}


static int
body_bytes(load_thread_t *t, load_conn_t *c, const uint8_t *p, size_t n)
{
    load_hls_t  *h = c->hls;

    if (h->status != 200) {
        return 0;
    }
    switch (h->req) {
    case LOAD_HLS_PLAYLIST:
        hls_pl_feed(&h->pl, p, n);
        return 0;
    case LOAD_HLS_INIT:
        if (n > sizeof(h->frag.moof) - h->init_len) {
            load_fail(t, c, LOAD_ERR_PROTOCOL, "init segment over %zu bytes",
                      sizeof(h->frag.moof));
            return -1;
        }
        memcpy(h->frag.moof + h->init_len, p, n);
        h->init_len += (uint32_t) n;
        return 0;
    default:
        if (hls_frag_feed(&h->frag, p, n) != 0) {
            load_fail(t, c, LOAD_ERR_PROTOCOL, "part %llu.%u: %s",
                      (unsigned long long) h->part.msn, h->part.part,
                      h->frag.error);
            return -1;
        }
        return 0;
    }
}


static int
head_done(load_thread_t *t, load_conn_t *c, size_t len)
{
    load_hls_t       *h = c->hls;
    hls_http_resp_t   r;
    char             *eol;

    if (hls_http_head(h->head, len, &r) != 0) {
        eol = memchr(h->head, '\r', len);
        load_fail(t, c, LOAD_ERR_PROTOCOL, "bad response head: %.*s",
                  (int) (eol != NULL && eol - h->head < 80 ? eol - h->head
                                                           : 80), h->head);
        return -1;
    }
    if (r.chunked || (r.content_length < 0 && r.status != 204
                      && r.status != 304))
    {
        load_fail(t, c, LOAD_ERR_PROTOCOL, "HTTP %u %s", r.status,
                  r.chunked ? "chunked (not supported)"
                            : "without Content-Length");
        return -1;
    }
    h->status = (uint16_t) r.status;
    h->close = r.close;
    h->body_left = r.content_length > 0 ? (uint64_t) r.content_length : 0;
    h->in_body = 1;
    if (h->req == LOAD_HLS_PART) {
        hls_frag_init(&h->frag, h->video_track, on_sample, c);
    }
    return 0;
}


int
load_hls_read(load_thread_t *t, load_conn_t *c, const uint8_t *p, size_t n)
{
    load_hls_t  *h = c->hls;
    size_t       take, from, end;

    while (n > 0) {
        if (!h->busy) {
            load_fail(t, c, LOAD_ERR_PROTOCOL, "data without a request");
            return -1;
        }
        if (!h->in_body) {
            take = sizeof(h->head) - h->head_len;
            take = take < n ? take : n;
            from = h->head_len > 3 ? h->head_len - 3 : 0;
            memcpy(h->head + h->head_len, p, take);
            h->head_len = (uint16_t) (h->head_len + take);
            end = hls_http_head_end(h->head + from, h->head_len - from);
            if (end == 0) {
                if (h->head_len == sizeof(h->head)) {
                    load_fail(t, c, LOAD_ERR_PROTOCOL,
                              "response head over %zu bytes",
                              sizeof(h->head));
                    return -1;
                }
                return 0;
            }
            end += from;
            /* of p, what went past the head is body */
            take -= h->head_len - end;
            p += take;
            n -= take;
            if (head_done(t, c, end) != 0) {
                return -1;
            }
        } else {
            take = h->body_left < n ? (size_t) h->body_left : n;
            if (body_bytes(t, c, p, take) != 0) {
                return -1;
            }
            h->body_left -= take;
            p += take;
            n -= take;
        }
        if (h->in_body && h->body_left == 0) {
            h->in_body = 0;
            if (response_done(t, c) != 0) {
                return -1;
            }
        }
    }
    return 0;
}


int
load_hls_write(load_thread_t *t, load_conn_t *c)
{
    load_hls_t  *h = c->hls;
    ssize_t      w;

    while (h->out_len > 0) {
        w = load_write(t, c, (const uint8_t *) h->out, h->out_len);
        if (w <= 0) {
            if (w < 0) {
                return -1;
            }
            break;
        }
        memmove(h->out, h->out + w, h->out_len - (size_t) w);
        h->out_len = (uint16_t) (h->out_len - (size_t) w);
    }
    return load_arm(t, c, h->out_len > 0);
}


int
load_hls_start(load_thread_t *t, load_conn_t *c)
{
    load_hls_t  *h;

    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        load_fail(t, c, LOAD_ERR_CONNECT, "out of memory");
        return -1;
    }
    h->t = t;
    c->hls = h;
    c->want_out = 1;                    /* registered with EPOLLOUT */
    return ask_playlist(t, c, 0);
}


void
load_hls_tick(load_thread_t *t, load_conn_t *c, uint64_t now_mono)
{
    load_hls_t  *h = c->hls;

    if (h == NULL) {
        return;
    }
    if (h->busy && now_mono - h->t_sent > HLS_REQ_TIMEOUT) {
        load_fail(t, c, LOAD_ERR_TIMEOUT, "no answer to a %s request "
                  "in %.0f s%s", req_names[h->req], HLS_REQ_TIMEOUT / 1e6,
                  h->blocking && h->req == LOAD_HLS_PLAYLIST
                  ? " (blocking)" : "");
        return;
    }
    if (!h->busy && h->retry) {
        h->retry = 0;
        (void) ask_playlist(t, c, 0);
    }
}


void
load_hls_free(load_conn_t *c)
{
    free(c->hls);
    c->hls = NULL;
}
