
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * A viewer's connection: its start, joining and leaving a stream's ring,
 * client frames and control messages.  Leaving the request, the close
 * handshake and closing are in ngx_ws_stream_close.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_viewer.h"


static void ngx_ws_stream_viewer_wake(ngx_ws_stream_waiter_t *w);
static void ngx_ws_stream_parser_keep(ngx_ws_stream_viewer_t *v,
    ws_stream_ws_parser_t *p);
static ngx_int_t ngx_ws_stream_message(ngx_ws_stream_viewer_t *v,
    ws_stream_ws_msg_t *msg);


/*
 * What a read takes: scratch of one call, one per worker.  A viewer holds
 * a parser only while a frame or message is incomplete at the end of a
 * read, and a message buffer only while a data message is received.
 */
static u_char                 ngx_ws_stream_recv_buf[NGX_WS_STREAM_RECV];
static ws_stream_ws_parser_t  ngx_ws_stream_parser;


/*
 * The handshake is valid: make the viewer and switch protocols.  Until the
 * 101 response is out the viewer lives beside the request (its ctx, and a
 * cleanup in its pool that frees the viewer if nginx ends the request);
 * then ngx_ws_stream_close.c frees the request and the connection is the
 * viewer's alone.
 */

ngx_int_t
ngx_ws_stream_viewer_start(ngx_http_request_t *r,
    ngx_ws_stream_loc_conf_t *wlcf, ngx_str_t *app, ngx_str_t *name,
    ngx_str_t *accept, ngx_uint_t offered)
{
    int                        lowat;
    ngx_str_t                  proto;
    ngx_int_t                  stream;
    ngx_connection_t          *c;
    ngx_pool_cleanup_t        *cln;
    ngx_ws_stream_viewer_t    *v;
    ngx_http_core_loc_conf_t  *clcf;

    c = r->connection;

    if (wlcf->zone->local == NULL || wlcf->zone->proc < 0) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    v = ngx_ws_stream_mem_alloc(NGX_WS_STREAM_MEM_VIEWER, c->log);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(v, sizeof(ngx_ws_stream_viewer_t));

    /* until the viewer has joined, an error frees what it holds */
    cln->handler = ngx_ws_stream_viewer_free;
    cln->data = v;

    v->request = r;
    v->cln = cln;
    v->connection = c;
    v->zone = wlcf->zone;
    v->conf = wlcf;

    /* a rendition group starts on one of its renditions */

    stream = ngx_ws_stream_group_start(v, app, name);

    if (stream == NGX_DECLINED) {
        stream = ngx_ws_stream_entry_get(wlcf->zone, app, name, c->log);
    }

    if (stream < 0) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ngx_http_set_ctx(r, v, ngx_ws_stream_module);

    v->stream = stream;

    v->waiter.wake = ngx_ws_stream_viewer_wake;
    v->waiter.stats = ngx_ws_stream_viewer_stats;
    ngx_ws_stream_waiter_add(v->zone, stream, &v->waiter);

    cln->handler = ngx_ws_stream_viewer_abort;

    /* what the statistics keep of the request's headers is copied now */
    ngx_ws_stream_stats_join(v, r);

    ngx_str_set(&proto, "websocket");

    if (ngx_ws_stream_add_header(r, "Upgrade", &proto) != NGX_OK
        || ngx_ws_stream_add_header(r, "Sec-WebSocket-Accept", accept)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (offered) {
        ngx_str_set(&proto, NGX_WS_STREAM_PROTOCOL);

        if (ngx_ws_stream_add_header(r, "Sec-WebSocket-Protocol", &proto)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    ngx_str_set(&r->headers_out.status_line, "101 Switching Protocols");
    r->headers_out.content_length_n = -1;
    r->header_only = 1;
    r->keepalive = 0;

    if (ngx_http_send_header(r) == NGX_ERROR) {
        return NGX_ERROR;
    }

    /* what the kernel queues unsent stays small, so that a slow viewer's
     * backlog is in the ring, where its age is known (ws_stream_max_lag) */

    if (wlcf->send_lowat) {
        lowat = (int) wlcf->send_lowat;

        if (setsockopt(c->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat,
                       sizeof(int))
            == -1)
        {
            ngx_log_error(NGX_LOG_INFO, c->log, ngx_socket_errno,
                          "ws_stream: setsockopt(TCP_NOTSENT_LOWAT) failed");
        }
    }

    /* small frames (audio, notices) go out at once, not after the ACK of
     * the previous ones: nginx's tcp_nodelay, as its proxy sets it for an
     * upgraded connection */

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->tcp_nodelay && ngx_tcp_nodelay(c) != NGX_OK) {
        return NGX_ERROR;
    }

    v->reset_timedout = clcf->reset_timedout_connection;

    /*
     * The connection is ours from now on.  The count keeps the request
     * past this handler's NGX_DONE, for the rest of the 101 if the socket
     * did not take it all.  The request is freed by the connection's
     * event handler, never below nginx's HTTP code: the write event is
     * posted, so that it runs once this handler has returned
     * (ngx_ws_stream_upgrade_handler).
     */

    r->main->count++;

    c->idle = 1;
    c->read->handler = ngx_ws_stream_upgrade_handler;
    c->write->handler = ngx_ws_stream_upgrade_handler;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    ngx_add_timer(c->read, wlcf->ping_interval);

    ngx_ws_stream_join(v);
    ngx_ws_stream_send(v);

    if (!v->closed && ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_ws_stream_finalize(v);
    }

    ngx_post_event(c->write, &ngx_posted_events);

    return NGX_DONE;
}


/*
 * Joining: hello, then (online) the codec configuration and the newest
 * keyframe, or (offline) a notice.  Called again for a viewer that waits
 * while the stream has no ring, whenever the stream changes.
 */

void
ngx_ws_stream_join(ngx_ws_stream_viewer_t *v)
{
    int                     sync;
    u_char                  hello[4096], app[6 * NGX_WS_STREAM_APP_LEN];
    u_char                  name[6 * NGX_WS_STREAM_NAME_LEN], *p;
    size_t                  app_len, name_len;
    ngx_uint_t              online, attach;
    ngx_ws_stream_entry_t  *e;

    e = &v->zone->sh->streams[v->stream];

    if (!v->joined) {
        v->joined = 1;

        /* JSON escapes take at most 6 bytes per byte */

        app_len = (u_char *) ngx_escape_json(app, e->app, e->app_len) - app;
        name_len = (u_char *) ngx_escape_json(name, e->name, e->name_len)
                   - name;

        if (v->group) {
            /* the group's name, as the viewer asked for it */
            name_len = (u_char *) ngx_escape_json(name, v->group->base.data,
                                                  v->group->base.len)
                       - name;
        }

        /* after a switch, the new stream's hello is a channel notice */

        p = ngx_snprintf(hello, sizeof(hello),
                         "{\"type\":%s,"
                         "\"app\":\"%*s\",\"stream\":\"%*s\","
                         "\"online\":%s,\"server_time\":%.3f",
                         v->channel ? "\"channel\""
                                    : "\"hello\",\"version\":1",
                         app_len, app, name_len, name,
                         e->pub == NGX_WS_STREAM_PUB_ONLINE ? "true"
                                                            : "false",
                         ngx_ws_stream_clock());

        if (v->conf->latency) {
            p = ngx_slprintf(p, hello + sizeof(hello) - 1, ",\"latency\":%M",
                             v->conf->latency);
        }

        if (v->conf->channels) {
            p = ngx_slprintf(p, hello + sizeof(hello) - 1, ",\"switch\":true");
        }

        if (v->group) {
            p = ngx_ws_stream_group_hello(v, p, hello + sizeof(hello) - 1);
        }

        *p++ = '}';

        (void) ngx_ws_stream_queue(v, WS_STREAM_WS_TEXT, hello,
                                   p - hello, 0);

        if (v->group) {
            ngx_ws_stream_group_notice(v, -1, "start", 0);
        }

        if (e->pub != NGX_WS_STREAM_PUB_ONLINE) {
            (void) ngx_ws_stream_queue(v, WS_STREAM_WS_TEXT,
                                       (u_char *) "{\"type\":\"offline\"}",
                                       sizeof("{\"type\":\"offline\"}") - 1,
                                       0);
        }

    } else if (e->pub == NGX_WS_STREAM_PUB_ONLINE && e->ring.data
               && !e->retired)
    {
        (void) ngx_ws_stream_queue(v, WS_STREAM_WS_TEXT,
                                   (u_char *) "{\"type\":\"online\"}",
                                   sizeof("{\"type\":\"online\"}") - 1, 0);
    }

    attach = 0;

    ngx_shmtx_lock(&v->zone->shpool->mutex);

    online = (e->pub == NGX_WS_STREAM_PUB_ONLINE);

    if (e->ring.data && !e->retired) {
        attach = 1;
        e->attached[v->zone->proc]++;

        if (online) {
            ngx_ws_stream_queue_conf_locked(v, e);

            sync = ws_stream_ring_start(&e->ring, &v->cur);

        } else {
            v->cur.pos = ws_stream_ring_head(&e->ring);
            v->cur.seq = WS_STREAM_SEQ_UNKNOWN;
            sync = 0;
        }

        v->need_key = !sync;
    }

    ngx_shmtx_unlock(&v->zone->shpool->mutex);

    v->attached = attach;
}


/* under the mutex: the stream's codec configuration, for a viewer that
 * starts on it (the records are complete frames, copied as they are) */

void
ngx_ws_stream_queue_conf_locked(ngx_ws_stream_viewer_t *v,
    ngx_ws_stream_entry_t *e)
{
    ngx_uint_t  k;

    for (k = 0; k < NGX_WS_STREAM_CONF_N; k++) {
        if (e->conf[k].data
            && ngx_ws_stream_queue_raw(v, e->conf[k].data, e->conf[k].len)
               != NGX_OK)
        {
            break;
        }
    }
}


void
ngx_ws_stream_leave_ring(ngx_ws_stream_viewer_t *v)
{
    if (ngx_ws_stream_keep_rest(v) != NGX_OK) {
        ngx_ws_stream_finalize(v);
    }

    if (v->attached) {
        v->attached = 0;
        ngx_ws_stream_detach(v->zone, v->stream);
    }
}


/* the writer appended records or the stream changed: send what is new
 * (ngx_ws_stream_send_lazy decides whether now) */

static void
ngx_ws_stream_viewer_wake(ngx_ws_stream_waiter_t *w)
{
    ngx_ws_stream_viewer_t  *v;

    v = (ngx_ws_stream_viewer_t *) ((u_char *) w
                                    - offsetof(ngx_ws_stream_viewer_t,
                                               waiter));

    /* a viewer that fails is closed later (ngx_ws_stream_finalize):
     * the wake-up loop never meets freed memory */
    ngx_ws_stream_send_lazy(v);
}


/* the connection's read event (ngx_ws_stream_close.c finds the viewer) */

void
ngx_ws_stream_read_handler(ngx_ws_stream_viewer_t *v, ngx_event_t *rev)
{
    ssize_t                 n;
    ngx_int_t               rc;
    const u_char           *pos, *last;
    ngx_connection_t       *c;
    ws_stream_ws_msg_t      msg;
    ws_stream_ws_parser_t  *p;

    c = rev->data;

    if (c->close) {
        /* graceful shutdown of this worker */
        c->close = 0;
        c->idle = 0;
        ngx_ws_stream_protocol_close(v, WS_STREAM_CLOSE_GOING_AWAY,
                                     "server going away");

        /* now, not at the next wake-up: the worker waits for it */
        ngx_ws_stream_send(v);
        return;
    }

    if (rev->timedout) {
        rev->timedout = 0;

        if (v->ping_sent) {
            ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                          "ws_stream: client silent for two ping intervals");
            ngx_ws_stream_finalize(v);
            return;
        }

        v->ping_sent = 1;
        (void) ngx_ws_stream_queue(v, WS_STREAM_WS_PING, NULL, 0, 1);
        ngx_add_timer(rev, v->conf->ping_interval);
        ngx_ws_stream_send_lazy(v);
        return;
    }

    /* a viewer between frames has no parser of its own: this worker's
     * serves it, made new (an idle parser is as good as a new one) */

    p = v->parser;

    if (p == NULL) {
        p = &ngx_ws_stream_parser;
        p->buf = NULL;
        p->max = v->conf->max_message;
        ws_stream_ws_parser_init(p);
    }

    while (!v->closing && !v->closed) {

        n = c->recv(c, ngx_ws_stream_recv_buf, NGX_WS_STREAM_RECV);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_ws_stream_finalize(v);
            break;
        }

        v->ping_sent = 0;
        ngx_add_timer(rev, v->conf->ping_interval);

        if (p->buf == NULL) {
            p->buf = ngx_alloc(p->max, c->log);
            if (p->buf == NULL) {
                ngx_ws_stream_finalize(v);
                break;
            }
        }

        pos = ngx_ws_stream_recv_buf;
        last = ngx_ws_stream_recv_buf + n;

        while (pos < last && !v->closing && !v->closed) {

            rc = ws_stream_ws_parse(p, &pos, last, &msg);

            if (rc == WS_STREAM_AGAIN) {
                break;
            }

            if (rc == WS_STREAM_ERROR) {
                ngx_log_error(NGX_LOG_INFO, c->log, 0,
                              "ws_stream: client frame: %s", p->error);
                ngx_ws_stream_protocol_close(v, p->close_code, p->error);
                break;
            }

            if (ngx_ws_stream_message(v, &msg) != NGX_OK) {
                break;
            }
        }

        if (!v->closed && ws_stream_ws_parser_idle(p)) {
            ngx_free(p->buf);
            p->buf = NULL;
        }
    }

    ngx_ws_stream_parser_keep(v, p);

    if (!v->closed) {
        ngx_ws_stream_send_lazy(v);
    }

    if (!v->closed && ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_ws_stream_finalize(v);
    }
}


/*
 * After a read: a frame or message that goes on in the next read keeps
 * its parser (moved off this worker's one), anything else keeps none.
 */

static void
ngx_ws_stream_parser_keep(ngx_ws_stream_viewer_t *v,
    ws_stream_ws_parser_t *p)
{
    ws_stream_ws_parser_t  *keep;

    if (!v->closing && !v->closed && !ws_stream_ws_parser_idle(p)) {

        if (p == v->parser) {
            return;
        }

        keep = ngx_alloc(sizeof(ws_stream_ws_parser_t), v->connection->log);

        if (keep) {
            *keep = *p;
            v->parser = keep;
            return;
        }

        ngx_ws_stream_finalize(v);
    }

    if (p->buf) {
        ngx_free(p->buf);
        p->buf = NULL;
    }

    if (p == v->parser) {
        ngx_free(p);
        v->parser = NULL;
    }
}


static ngx_int_t
ngx_ws_stream_message(ngx_ws_stream_viewer_t *v, ws_stream_ws_msg_t *msg)
{
    u_char                      buf[256], *p;
    ws_stream_client_msg_t  m;

    switch (msg->opcode) {

    case WS_STREAM_WS_PING:
        return ngx_ws_stream_queue(v, WS_STREAM_WS_PONG, msg->data,
                                   msg->len, 1);

    case WS_STREAM_WS_PONG:
        return NGX_OK;

    case WS_STREAM_WS_CLOSE:
        ngx_ws_stream_protocol_close(v,
                                     msg->close_code == 1005
                                     ? WS_STREAM_CLOSE_NORMAL
                                     : msg->close_code, "");
        return NGX_DONE;

    case WS_STREAM_WS_BINARY:
        ngx_ws_stream_protocol_close(v, WS_STREAM_CLOSE_DATA,
                                     "binary messages are not accepted");
        return NGX_DONE;

    default: /* TEXT */
        break;
    }

    if (ws_stream_json_parse(msg->data, msg->len, &m) != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, v->connection->log, 0,
                      "ws_stream: client message: %s", m.error);
        ngx_ws_stream_protocol_close(v, WS_STREAM_CLOSE_INVALID,
                                     "invalid message");
        return NGX_DONE;
    }

    if (m.type == WS_STREAM_MSG_REPORT) {
        ngx_ws_stream_stats_report(v, &m);

        if (v->group) {
            ngx_ws_stream_group_report(v, &m);
        }

        return NGX_OK;
    }

    if (m.type == WS_STREAM_MSG_RENDITION) {
        if (ngx_ws_stream_group_pin(v, m.index) != NGX_OK) {
            ngx_log_error(NGX_LOG_INFO, v->connection->log, 0,
                          "ws_stream: client message: no rendition %d",
                          m.index);
            ngx_ws_stream_protocol_close(v, WS_STREAM_CLOSE_INVALID,
                                         "invalid message");
            return NGX_DONE;
        }

        ngx_ws_stream_send(v);
        return NGX_OK;
    }

    if (m.type == WS_STREAM_MSG_SWITCH) {
        return ngx_ws_stream_channel(v, &m);
    }

    /* ping: %.17g keeps every double exact */

    p = ngx_snprintf(buf, sizeof(buf),
                     "{\"type\":\"pong\",\"id\":%uL,\"t\":",
                     (uint64_t) m.id);
    p += snprintf((char *) p, buf + sizeof(buf) - p, "%.17g", m.t);
    p = ngx_snprintf(p, buf + sizeof(buf) - p, ",\"server_time\":%.3f}",
                     ngx_ws_stream_clock());

    return ngx_ws_stream_queue(v, WS_STREAM_WS_TEXT, buf, p - buf, 1);
}


/* wall clock in ms with a fraction */

double
ngx_ws_stream_clock(void)
{
    struct timeval  tv;

    ngx_gettimeofday(&tv);

    return (double) tv.tv_sec * 1000 + (double) tv.tv_usec / 1000;
}
