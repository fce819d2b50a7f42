
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * A viewer's connection: start and end, joining and leaving a stream's
 * ring, client frames and control messages, the close handshake.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_viewer.h"


static void ngx_ws_stream_viewer_cleanup(void *data);
static void ngx_ws_stream_viewer_wake(ngx_ws_stream_waiter_t *w);
static void ngx_ws_stream_read_handler(ngx_event_t *rev);
static ngx_int_t ngx_ws_stream_message(ngx_ws_stream_viewer_t *v,
    ws_stream_ws_msg_t *msg);


/*
 * What a read takes: scratch of one call, one per worker.  A viewer holds
 * a message buffer only while a data message is being received.
 */
static u_char  ngx_ws_stream_recv_buf[NGX_WS_STREAM_RECV];


/* the handshake is valid: make the viewer and switch protocols */

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

    v = ngx_pcalloc(r->pool, sizeof(ngx_ws_stream_viewer_t));
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    v->parser.max = wlcf->max_message;
    ws_stream_ws_parser_init(&v->parser);

    v->request = r;
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

    cln->handler = ngx_ws_stream_viewer_cleanup;
    cln->data = v;

    ngx_ws_stream_stats_join(v);

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

    /* the connection is ours from now on */

    r->main->count++;

    c->idle = 1;
    c->read->handler = ngx_ws_stream_read_handler;
    c->write->handler = ngx_ws_stream_write_handler;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    ngx_add_timer(c->read, wlcf->ping_interval);

    ngx_ws_stream_join(v);
    ngx_ws_stream_send(v);

    if (!v->closed) {
        if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
            ngx_ws_stream_finalize(v);
        }
    }

    return NGX_DONE;
}


static void
ngx_ws_stream_viewer_cleanup(void *data)
{
    ngx_ws_stream_viewer_t *v = data;

    ngx_ws_stream_batch_del(v);
    ngx_ws_stream_group_cleanup(v);
    ngx_ws_stream_leave_ring(v);

    ngx_ws_stream_waiter_del(v->zone, v->stream, &v->waiter);
    ngx_ws_stream_stats_leave(v);
    ngx_ws_stream_entry_put(v->zone, v->stream);
    ngx_ws_stream_channel_cleanup(v);

    if (v->out) {
        ngx_free(v->out);
        v->out = NULL;
    }

    if (v->parser.buf) {
        ngx_free(v->parser.buf);
        v->parser.buf = NULL;
    }

    v->closed = 1;
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
    ngx_connection_t        *c;
    ngx_ws_stream_viewer_t  *v;

    v = (ngx_ws_stream_viewer_t *) ((u_char *) w
                                    - offsetof(ngx_ws_stream_viewer_t,
                                               waiter));

    c = v->connection;

    ngx_ws_stream_send_lazy(v);

    if (v->closed) {
        ngx_http_run_posted_requests(c);
    }
}


static void
ngx_ws_stream_read_handler(ngx_event_t *rev)
{
    ssize_t                  n;
    ngx_int_t                rc;
    const u_char            *pos, *last;
    ngx_connection_t        *c;
    ngx_http_request_t      *r;
    ws_stream_ws_msg_t   msg;
    ngx_ws_stream_viewer_t  *v;

    c = rev->data;
    r = c->data;
    v = ngx_http_get_module_ctx(r, ngx_ws_stream_module);

    if (v == NULL) {
        return;
    }

    if (c->close) {
        /* graceful shutdown of this worker */
        c->close = 0;
        c->idle = 0;
        ngx_ws_stream_protocol_close(v, WS_STREAM_CLOSE_GOING_AWAY,
                                     "server going away");
        goto done;
    }

    if (rev->timedout) {
        rev->timedout = 0;

        if (v->ping_sent) {
            ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                          "ws_stream: client silent for two ping intervals");
            ngx_ws_stream_finalize(v);
            goto done;
        }

        v->ping_sent = 1;
        (void) ngx_ws_stream_queue(v, WS_STREAM_WS_PING, NULL, 0, 1);
        ngx_add_timer(rev, v->conf->ping_interval);
        ngx_ws_stream_send_lazy(v);
        goto done;
    }

    while (!v->closing && !v->closed) {

        n = c->recv(c, ngx_ws_stream_recv_buf, NGX_WS_STREAM_RECV);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_ws_stream_finalize(v);
            goto done;
        }

        v->ping_sent = 0;
        ngx_add_timer(rev, v->conf->ping_interval);

        if (v->parser.buf == NULL) {
            v->parser.buf = ngx_alloc(v->parser.max, c->log);
            if (v->parser.buf == NULL) {
                ngx_ws_stream_finalize(v);
                goto done;
            }
        }

        pos = ngx_ws_stream_recv_buf;
        last = ngx_ws_stream_recv_buf + n;

        while (pos < last && !v->closing) {

            rc = ws_stream_ws_parse(&v->parser, &pos, last, &msg);

            if (rc == WS_STREAM_AGAIN) {
                break;
            }

            if (rc == WS_STREAM_ERROR) {
                ngx_log_error(NGX_LOG_INFO, c->log, 0,
                              "ws_stream: client frame: %s",
                              v->parser.error);
                ngx_ws_stream_protocol_close(v, v->parser.close_code,
                                             v->parser.error);
                break;
            }

            if (ngx_ws_stream_message(v, &msg) != NGX_OK) {
                break;
            }
        }

        if (!v->closed && ws_stream_ws_parser_idle(&v->parser)) {
            ngx_free(v->parser.buf);
            v->parser.buf = NULL;
        }
    }

    if (!v->closed) {
        ngx_ws_stream_send_lazy(v);
    }

    if (!v->closed && ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_ws_stream_finalize(v);
    }

done:

    ngx_http_run_posted_requests(c);
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


/* queue a close frame; the connection ends once it is sent */

void
ngx_ws_stream_protocol_close(ngx_ws_stream_viewer_t *v, unsigned code,
    const char *reason)
{
    u_char  buf[125];
    size_t  len;

    if (v->closing) {
        return;
    }

    len = ngx_min(ngx_strlen(reason), sizeof(buf) - 2);

    buf[0] = (u_char) (code >> 8);
    buf[1] = (u_char) code;
    ngx_memcpy(buf + 2, reason, len);

    /* the close frame goes out even when the control queue is full */
    (void) ngx_ws_stream_queue(v, WS_STREAM_WS_CLOSE, buf, len + 2, 0);

    v->closing = 1;
}


/*
 * After the close frame: stop writing, read and drop what the client
 * still sends for a moment, so that our close frame is not lost to a
 * reset, then close.
 */

void
ngx_ws_stream_linger_handler(ngx_event_t *rev)
{
    u_char                   buf[NGX_WS_STREAM_RECV];
    ssize_t                  n;
    ngx_connection_t        *c;
    ngx_http_request_t      *r;
    ngx_ws_stream_viewer_t  *v;

    c = rev->data;
    r = c->data;
    v = ngx_http_get_module_ctx(r, ngx_ws_stream_module);

    if (v == NULL || v->closed) {
        return;
    }

    if (!v->lingering) {
        v->lingering = 1;
        c->read->handler = ngx_ws_stream_linger_handler;
        c->write->handler = ngx_ws_stream_linger_handler;

        if (c->write->timer_set) {
            ngx_del_timer(c->write);
        }

        if (c->ssl || ngx_shutdown_socket(c->fd, NGX_WRITE_SHUTDOWN) == -1) {
            ngx_ws_stream_finalize(v);
            return;
        }

        ngx_add_timer(c->read, NGX_WS_STREAM_LINGER);
    }

    if (rev->timedout || rev->write) {
        if (rev->timedout) {
            ngx_ws_stream_finalize(v);
        }

        goto done;
    }

    do {
        n = c->recv(c, buf, sizeof(buf));

        if (n == 0 || n == NGX_ERROR) {
            ngx_ws_stream_finalize(v);
            goto done;
        }

    } while (n > 0);

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_ws_stream_finalize(v);
    }

done:

    ngx_http_run_posted_requests(c);
}


void
ngx_ws_stream_finalize(ngx_ws_stream_viewer_t *v)
{
    if (v->closed) {
        return;
    }

    v->closed = 1;

    ngx_http_finalize_request(v->request, NGX_HTTP_CLOSE);
}


/* wall clock in ms with a fraction */

double
ngx_ws_stream_clock(void)
{
    struct timeval  tv;

    ngx_gettimeofday(&tv);

    return (double) tv.tv_sec * 1000 + (double) tv.tv_usec / 1000;
}
