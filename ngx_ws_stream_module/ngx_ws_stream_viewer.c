
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The WebSocket location: handshake on nginx's HTTP upgrade path, client
 * frames, and fan-out: each viewer sends straight from the stream's ring
 * in shared memory; only control messages and, when the socket takes part
 * of a frame, the rest of that frame are kept in the viewer's own buffer.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_ws.h"
#include "ngx_ws_stream_json.h"


#define NGX_WS_STREAM_BATCH       16            /* records per send */
#define NGX_WS_STREAM_BATCH_BYTES (256 * 1024)
#define NGX_WS_STREAM_RECV        4096
#define NGX_WS_STREAM_CTL_MAX     (64 * 1024)   /* queued control bytes */
#define NGX_WS_STREAM_LINGER      2000

#define NGX_WS_STREAM_GUID  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


struct ngx_ws_stream_viewer_s {
    ngx_http_request_t          *request;
    ngx_connection_t            *connection;
    ngx_ws_stream_zone_t        *zone;
    ngx_ws_stream_loc_conf_t    *conf;
    ngx_queue_t                  queue;
    ngx_uint_t                   stream;

    ngx_ws_stream_cursor_t       cur;

    /* whole frames, and the rest of a ring frame the socket took part of */
    u_char                      *out;
    size_t                       out_size;
    u_char                      *out_pos;
    u_char                      *out_last;
    u_char                      *in;

    ngx_ws_stream_ws_parser_t    parser;
    ngx_ws_stream_client_msg_t   report;

    ngx_buf_t                    bufs[NGX_WS_STREAM_BATCH];
    ngx_chain_t                  links[NGX_WS_STREAM_BATCH];

    ngx_uint_t                   skips;
    uint64_t                     sent;

    unsigned                     joined:1;
    unsigned                     attached:1;
    unsigned                     need_key:1;
    unsigned                     ping_sent:1;
    unsigned                     closing:1;     /* close frame queued */
    unsigned                     lingering:1;
    unsigned                     closed:1;
};


static ngx_int_t ngx_ws_stream_parse_uri(ngx_http_request_t *r,
    ngx_str_t *app, ngx_str_t *name);
static ngx_int_t ngx_ws_stream_app_known(ngx_ws_stream_zone_t *zone,
    ngx_str_t *app);
static ngx_uint_t ngx_ws_stream_has_token(ngx_table_elt_t *h,
    const char *token);
static ngx_int_t ngx_ws_stream_upgrade_required(ngx_http_request_t *r);
static ngx_int_t ngx_ws_stream_add_header(ngx_http_request_t *r,
    const char *key, ngx_str_t *value);
static void ngx_ws_stream_viewer_cleanup(void *data);
static void ngx_ws_stream_read_handler(ngx_event_t *rev);
static void ngx_ws_stream_write_handler(ngx_event_t *wev);
static void ngx_ws_stream_linger_handler(ngx_event_t *rev);
static ngx_int_t ngx_ws_stream_message(ngx_ws_stream_viewer_t *v,
    ngx_ws_stream_ws_msg_t *msg);
static void ngx_ws_stream_protocol_close(ngx_ws_stream_viewer_t *v,
    unsigned code, const char *reason);
static void ngx_ws_stream_join(ngx_ws_stream_viewer_t *v);
static void ngx_ws_stream_leave_ring(ngx_ws_stream_viewer_t *v);
static void ngx_ws_stream_send(ngx_ws_stream_viewer_t *v);
static ngx_int_t ngx_ws_stream_send_ring(ngx_ws_stream_viewer_t *v);
static void ngx_ws_stream_skip(ngx_ws_stream_viewer_t *v);
static ngx_int_t ngx_ws_stream_queue(ngx_ws_stream_viewer_t *v,
    unsigned opcode, const u_char *data, size_t len, ngx_uint_t ctl);
static ngx_int_t ngx_ws_stream_queue_raw(ngx_ws_stream_viewer_t *v,
    const u_char *data, size_t len);
static void ngx_ws_stream_finalize(ngx_ws_stream_viewer_t *v);
static double ngx_ws_stream_clock(void);


ngx_int_t
ngx_ws_stream_handler(ngx_http_request_t *r)
{
    u_char                     accept[20], keybuf[32], *p;
    ngx_str_t                  app, name, key, src, dst, proto;
    ngx_int_t                  stream;
    ngx_uint_t                 i, offered, ours, version, upgrade;
    ngx_sha1_t                 sha1;
    ngx_list_part_t           *part;
    ngx_table_elt_t           *h;
    ngx_connection_t          *c;
    ngx_pool_cleanup_t        *cln;
    ngx_ws_stream_viewer_t    *v;
    ngx_ws_stream_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_ws_stream_module);
    c = r->connection;

    if (ngx_ws_stream_parse_uri(r, &app, &name) != NGX_OK
        || ngx_ws_stream_app_known(wlcf->zone, &app) != NGX_OK)
    {
        return NGX_HTTP_NOT_FOUND;
    }

    if (!ngx_ws_stream_has_token(r->headers_in.upgrade, "websocket")) {
        return ngx_ws_stream_upgrade_required(r);
    }

    key.len = 0;
    version = 0;
    offered = 0;
    ours = 0;
    upgrade = 0;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Sec-WebSocket-Key") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Sec-WebSocket-Key",
                               h[i].key.len) == 0)
        {
            key = h[i].value;

        } else if (h[i].key.len == sizeof("Connection") - 1
                   && ngx_strncasecmp(h[i].key.data, (u_char *) "Connection",
                                      h[i].key.len) == 0)
        {
            upgrade |= ngx_ws_stream_has_token(&h[i], "upgrade");

        } else if (h[i].key.len == sizeof("Sec-WebSocket-Version") - 1
                   && ngx_strncasecmp(h[i].key.data,
                                      (u_char *) "Sec-WebSocket-Version",
                                      h[i].key.len) == 0)
        {
            version = (h[i].value.len == 2
                       && ngx_strncmp(h[i].value.data, "13", 2) == 0);

        } else if (h[i].key.len == sizeof("Sec-WebSocket-Protocol") - 1
                   && ngx_strncasecmp(h[i].key.data,
                                      (u_char *) "Sec-WebSocket-Protocol",
                                      h[i].key.len) == 0)
        {
            offered = 1;
            ours |= ngx_ws_stream_ws_offers(h[i].value.data, h[i].value.len,
                                            NGX_WS_STREAM_PROTOCOL);
        }
    }

    if (r->method != NGX_HTTP_GET
        || r->http_version != NGX_HTTP_VERSION_11
        || !upgrade
        || r->headers_in.content_length_n > 0
        || r->headers_in.chunked)
    {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws_stream: bad WebSocket handshake: needs GET, "
                      "HTTP/1.1, \"Connection: upgrade\" and no body");
        return NGX_HTTP_BAD_REQUEST;
    }

    if (!version) {
        return ngx_ws_stream_upgrade_required(r);
    }

    /* the key is 16 random bytes in base64 */

    src = key;
    dst.data = keybuf;

    if (key.len != 24
        || ngx_decode_base64(&dst, &src) != NGX_OK
        || dst.len != 16)
    {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws_stream: bad Sec-WebSocket-Key \"%V\"", &key);
        return NGX_HTTP_BAD_REQUEST;
    }

    if (offered && !ours) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ws_stream: client does not offer the subprotocol "
                      "\"" NGX_WS_STREAM_PROTOCOL "\"");
        return NGX_HTTP_BAD_REQUEST;
    }

    if (wlcf->zone->local == NULL || wlcf->zone->proc < 0) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    v = ngx_pcalloc(r->pool, sizeof(ngx_ws_stream_viewer_t));
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    v->in = ngx_pnalloc(r->pool, NGX_WS_STREAM_RECV);
    v->parser.buf = ngx_pnalloc(r->pool, wlcf->max_message);
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (v->in == NULL || v->parser.buf == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    v->parser.max = wlcf->max_message;
    ngx_ws_stream_ws_parser_init(&v->parser);

    stream = ngx_ws_stream_entry_get(wlcf->zone, &app, &name, c->log);
    if (stream < 0) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ngx_http_set_ctx(r, v, ngx_ws_stream_module);

    v->request = r;
    v->connection = c;
    v->zone = wlcf->zone;
    v->conf = wlcf;
    v->stream = stream;

    ngx_queue_insert_tail(&v->zone->local[stream], &v->queue);

    cln->handler = ngx_ws_stream_viewer_cleanup;
    cln->data = v;

    /* Sec-WebSocket-Accept: base64(sha1(key + GUID)) */

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, key.data, key.len);
    ngx_sha1_update(&sha1, NGX_WS_STREAM_GUID, sizeof(NGX_WS_STREAM_GUID) - 1);
    ngx_sha1_final(accept, &sha1);

    p = ngx_pnalloc(r->pool, ngx_base64_encoded_length(20));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    src.data = accept;
    src.len = 20;
    dst.data = p;
    ngx_encode_base64(&dst, &src);

    ngx_str_set(&proto, "websocket");

    if (ngx_ws_stream_add_header(r, "Upgrade", &proto) != NGX_OK
        || ngx_ws_stream_add_header(r, "Sec-WebSocket-Accept", &dst)
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


/* /anything/<app>/<name> */

static ngx_int_t
ngx_ws_stream_parse_uri(ngx_http_request_t *r, ngx_str_t *app,
    ngx_str_t *name)
{
    u_char  *p, *end, *slash;

    end = r->uri.data + r->uri.len;

    slash = NULL;

    for (p = end; p > r->uri.data; p--) {
        if (p[-1] == '/') {
            slash = p - 1;
            break;
        }
    }

    if (slash == NULL || slash + 1 == end) {
        return NGX_DECLINED;
    }

    name->data = slash + 1;
    name->len = end - name->data;

    for (p = slash; p > r->uri.data; p--) {
        if (p[-1] == '/') {
            break;
        }
    }

    if (p == slash || p == r->uri.data) {
        return NGX_DECLINED;
    }

    app->data = p;
    app->len = slash - p;

    if (app->len >= NGX_WS_STREAM_APP_LEN
        || name->len >= NGX_WS_STREAM_NAME_LEN)
    {
        return NGX_DECLINED;
    }

    for (p = app->data; p < end; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_ws_stream_app_known(ngx_ws_stream_zone_t *zone, ngx_str_t *app)
{
    ngx_str_t   *apps;
    ngx_uint_t   i;

    apps = zone->apps.elts;

    for (i = 0; i < zone->apps.nelts; i++) {
        if (apps[i].len == app->len
            && ngx_strncmp(apps[i].data, app->data, app->len) == 0)
        {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/* a comma separated header value holds the token, case-insensitively */

static ngx_uint_t
ngx_ws_stream_has_token(ngx_table_elt_t *h, const char *token)
{
    size_t   n;
    u_char  *p, *end, *start;

    if (h == NULL) {
        return 0;
    }

    n = ngx_strlen(token);
    p = h->value.data;
    end = p + h->value.len;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        start = p;

        while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }

        if ((size_t) (p - start) == n
            && ngx_strncasecmp(start, (u_char *) token, n) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_ws_stream_upgrade_required(ngx_http_request_t *r)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_str_t     value;
    ngx_chain_t   out;

    static u_char  text[] = "This is a WebSocket endpoint (subprotocol "
                            NGX_WS_STREAM_PROTOCOL "): connect with a "
                            "WebSocket client.\n";

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&value, "websocket");

    if (ngx_ws_stream_add_header(r, "Upgrade", &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&value, "13");

    if (ngx_ws_stream_add_header(r, "Sec-WebSocket-Version", &value)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = 426;
    ngx_str_set(&r->headers_out.status_line, "426 Upgrade Required");
    r->headers_out.content_length_n = sizeof(text) - 1;
    ngx_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = text;
    b->last = text + sizeof(text) - 1;
    b->memory = 1;
    b->last_buf = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_ws_stream_add_header(ngx_http_request_t *r, const char *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;

    return NGX_OK;
}


static void
ngx_ws_stream_viewer_cleanup(void *data)
{
    ngx_ws_stream_viewer_t *v = data;

    ngx_ws_stream_leave_ring(v);

    ngx_queue_remove(&v->queue);
    ngx_ws_stream_entry_put(v->zone, v->stream);

    if (v->out) {
        ngx_free(v->out);
        v->out = NULL;
    }

    v->closed = 1;
}


/*
 * Joining: hello, then (online) the codec configuration and the newest
 * keyframe, or (offline) a notice.  Called again for a viewer that waits
 * while the stream has no ring, whenever the stream changes.
 */

static void
ngx_ws_stream_join(ngx_ws_stream_viewer_t *v)
{
    int                     sync;
    u_char                  hello[512], *p;
    ngx_uint_t              k, online, attach;
    ngx_ws_stream_entry_t  *e;

    e = &v->zone->sh->streams[v->stream];

    if (!v->joined) {
        v->joined = 1;

        p = ngx_snprintf(hello, sizeof(hello),
                         "{\"type\":\"hello\",\"version\":1,"
                         "\"app\":\"%*s\",\"stream\":\"%*s\","
                         "\"online\":%s,\"server_time\":%.3f}",
                         e->app_len, e->app, e->name_len, e->name,
                         e->pub == NGX_WS_STREAM_PUB_ONLINE ? "true"
                                                            : "false",
                         ngx_ws_stream_clock());

        (void) ngx_ws_stream_queue(v, NGX_WS_STREAM_WS_TEXT, hello,
                                   p - hello, 0);

        if (e->pub != NGX_WS_STREAM_PUB_ONLINE) {
            (void) ngx_ws_stream_queue(v, NGX_WS_STREAM_WS_TEXT,
                                       (u_char *) "{\"type\":\"offline\"}",
                                       sizeof("{\"type\":\"offline\"}") - 1,
                                       0);
        }

    } else if (e->pub == NGX_WS_STREAM_PUB_ONLINE && e->ring.data
               && !e->retired)
    {
        (void) ngx_ws_stream_queue(v, NGX_WS_STREAM_WS_TEXT,
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
            for (k = 0; k < NGX_WS_STREAM_CONF_N; k++) {
                if (e->conf[k].data
                    && ngx_ws_stream_queue_raw(v, e->conf[k].data,
                                               e->conf[k].len)
                       != NGX_OK)
                {
                    break;
                }
            }

            sync = ngx_ws_stream_ring_start(&e->ring, &v->cur);

        } else {
            v->cur.pos = ngx_ws_stream_ring_head(&e->ring);
            v->cur.seq = NGX_WS_STREAM_SEQ_UNKNOWN;
            sync = 0;
        }

        v->need_key = !sync;
    }

    ngx_shmtx_unlock(&v->zone->shpool->mutex);

    v->attached = attach;
}


static void
ngx_ws_stream_leave_ring(ngx_ws_stream_viewer_t *v)
{
    if (v->attached) {
        v->attached = 0;
        ngx_ws_stream_detach(v->zone, v->stream);
    }
}


/* the writer appended records or the stream changed */

void
ngx_ws_stream_viewers_wake(ngx_ws_stream_zone_t *zone, ngx_uint_t stream)
{
    ngx_uint_t               s, from, to;
    ngx_queue_t             *q, *next;
    ngx_connection_t        *c;
    ngx_ws_stream_viewer_t  *v;

    if (stream == NGX_CONF_UNSET_UINT) {
        from = 0;
        to = zone->streams;

    } else {
        from = stream;
        to = stream + 1;
    }

    for (s = from; s < to; s++) {

        for (q = ngx_queue_head(&zone->local[s]);
             q != ngx_queue_sentinel(&zone->local[s]);
             q = next)
        {
            next = ngx_queue_next(q);
            v = ngx_queue_data(q, ngx_ws_stream_viewer_t, queue);
            c = v->connection;

            if (!c->write->ready || v->lingering) {
                continue;
            }

            ngx_ws_stream_send(v);

            if (v->closed) {
                ngx_http_run_posted_requests(c);
            }
        }
    }
}


/* every second: viewers of retired rings leave them */

void
ngx_ws_stream_viewers_tick(ngx_ws_stream_zone_t *zone)
{
    ngx_ws_stream_viewers_wake(zone, NGX_CONF_UNSET_UINT);
}


static void
ngx_ws_stream_read_handler(ngx_event_t *rev)
{
    ssize_t                  n;
    ngx_int_t                rc;
    const u_char            *pos;
    ngx_connection_t        *c;
    ngx_http_request_t      *r;
    ngx_ws_stream_ws_msg_t   msg;
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
        ngx_ws_stream_protocol_close(v, NGX_WS_STREAM_CLOSE_GOING_AWAY,
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
        (void) ngx_ws_stream_queue(v, NGX_WS_STREAM_WS_PING, NULL, 0, 1);
        ngx_add_timer(rev, v->conf->ping_interval);
        ngx_ws_stream_send(v);
        goto done;
    }

    while (!v->closing && !v->closed) {

        n = c->recv(c, v->in, NGX_WS_STREAM_RECV);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_ws_stream_finalize(v);
            goto done;
        }

        v->ping_sent = 0;
        ngx_add_timer(rev, v->conf->ping_interval);

        pos = v->in;

        while (pos < v->in + n && !v->closing) {

            rc = ngx_ws_stream_ws_parse(&v->parser, &pos, v->in + n, &msg);

            if (rc == NGX_WS_STREAM_AGAIN) {
                break;
            }

            if (rc == NGX_WS_STREAM_ERROR) {
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
    }

    if (!v->closed) {
        ngx_ws_stream_send(v);
    }

    if (!v->closed && ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_ws_stream_finalize(v);
    }

done:

    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_ws_stream_message(ngx_ws_stream_viewer_t *v, ngx_ws_stream_ws_msg_t *msg)
{
    u_char                      buf[256], *p;
    ngx_ws_stream_client_msg_t  m;

    switch (msg->opcode) {

    case NGX_WS_STREAM_WS_PING:
        return ngx_ws_stream_queue(v, NGX_WS_STREAM_WS_PONG, msg->data,
                                   msg->len, 1);

    case NGX_WS_STREAM_WS_PONG:
        return NGX_OK;

    case NGX_WS_STREAM_WS_CLOSE:
        ngx_ws_stream_protocol_close(v,
                                     msg->close_code == 1005
                                     ? NGX_WS_STREAM_CLOSE_NORMAL
                                     : msg->close_code, "");
        return NGX_DONE;

    case NGX_WS_STREAM_WS_BINARY:
        ngx_ws_stream_protocol_close(v, NGX_WS_STREAM_CLOSE_DATA,
                                     "binary messages are not accepted");
        return NGX_DONE;

    default: /* TEXT */
        break;
    }

    if (ngx_ws_stream_json_parse(msg->data, msg->len, &m) != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, v->connection->log, 0,
                      "ws_stream: client message: %s", m.error);
        ngx_ws_stream_protocol_close(v, NGX_WS_STREAM_CLOSE_INVALID,
                                     "invalid message");
        return NGX_DONE;
    }

    if (m.type == NGX_WS_STREAM_MSG_REPORT) {
        v->report = m;
        return NGX_OK;
    }

    /* ping: %.17g keeps every double exact */

    p = ngx_snprintf(buf, sizeof(buf),
                     "{\"type\":\"pong\",\"id\":%uL,\"t\":",
                     (uint64_t) m.id);
    p += snprintf((char *) p, buf + sizeof(buf) - p, "%.17g", m.t);
    p = ngx_snprintf(p, buf + sizeof(buf) - p, ",\"server_time\":%.3f}",
                     ngx_ws_stream_clock());

    return ngx_ws_stream_queue(v, NGX_WS_STREAM_WS_TEXT, buf, p - buf, 1);
}


/* queue a close frame; the connection ends once it is sent */

static void
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
    (void) ngx_ws_stream_queue(v, NGX_WS_STREAM_WS_CLOSE, buf, len + 2, 0);

    v->closing = 1;
}


static void
ngx_ws_stream_write_handler(ngx_event_t *wev)
{
    ngx_connection_t        *c;
    ngx_http_request_t      *r;
    ngx_ws_stream_viewer_t  *v;

    c = wev->data;
    r = c->data;
    v = ngx_http_get_module_ctx(r, ngx_ws_stream_module);

    if (v == NULL) {
        return;
    }

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "ws_stream: client did not read for %M ms",
                      v->conf->send_timeout);
        c->timedout = 1;
        ngx_ws_stream_finalize(v);

    } else {
        ngx_ws_stream_send(v);
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_ws_stream_send(ngx_ws_stream_viewer_t *v)
{
    ssize_t                 n;
    ngx_int_t               rc;
    ngx_connection_t       *c;
    ngx_ws_stream_entry_t  *e;

    c = v->connection;

    if (v->closed || v->lingering) {
        return;
    }

    if (c->buffered) {
        /* the rest of the 101 response */
        if (ngx_http_output_filter(v->request, NULL) == NGX_ERROR) {
            ngx_ws_stream_finalize(v);
            return;
        }

        if (c->buffered) {
            goto again;
        }
    }

    e = &v->zone->sh->streams[v->stream];

    for ( ;; ) {

        if (v->out_pos < v->out_last) {
            n = c->send(c, v->out_pos, v->out_last - v->out_pos);

            if (n == NGX_ERROR) {
                ngx_ws_stream_finalize(v);
                return;
            }

            if (n == NGX_AGAIN) {
                goto again;
            }

            v->out_pos += n;
            v->sent += n;

            if (v->out_pos < v->out_last) {
                goto again;
            }

            v->out_pos = v->out;
            v->out_last = v->out;
        }

        if (v->closing) {
            ngx_ws_stream_linger_handler(c->read);
            return;
        }

        if (!v->attached) {
            if (e->ring.data && !e->retired) {
                ngx_ws_stream_join(v);
                continue;
            }

            break;
        }

        rc = ngx_ws_stream_send_ring(v);

        if (rc == NGX_ERROR) {
            ngx_ws_stream_finalize(v);
            return;
        }

        if (rc == NGX_AGAIN) {
            goto again;
        }

        if (rc == NGX_DONE) {
            /* caught up; a retired ring is left for good */
            if (e->retired || e->ring_gen == 0) {
                ngx_ws_stream_leave_ring(v);
            }

            break;
        }
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    return;

again:

    ngx_add_timer(c->write, v->conf->send_timeout);

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_ws_stream_finalize(v);
    }
}


/*
 * Sends a batch of records from the ring: NGX_OK (sent, try for more),
 * NGX_AGAIN (the socket is full), NGX_DONE (nothing new), NGX_ERROR.
 */

static ngx_int_t
ngx_ws_stream_send_ring(ngx_ws_stream_viewer_t *v)
{
    int                      rc;
    off_t                    before;
    size_t                   total, left, rest;
    ssize_t                  n;
    uint64_t                 start;
    ngx_uint_t               k, nrec, track, tried;
    ngx_chain_t             *cl;
    const uint8_t           *frame;
    ngx_connection_t        *c;
    ngx_ws_stream_rec_t      rec, recs[NGX_WS_STREAM_BATCH];
    ngx_ws_stream_ring_t    *ring;
    ngx_ws_stream_cursor_t   cur, after[NGX_WS_STREAM_BATCH];

    c = v->connection;
    ring = &v->zone->sh->streams[v->stream].ring;

    cur = v->cur;
    start = cur.pos;
    nrec = 0;
    total = 0;

    while (nrec < NGX_WS_STREAM_BATCH && total < NGX_WS_STREAM_BATCH_BYTES) {

        rc = ngx_ws_stream_ring_read(ring, &cur, &rec, &frame);

        if (rc == NGX_WS_STREAM_AGAIN) {
            break;
        }

        if (rc == NGX_WS_STREAM_RING_BEHIND) {
            if (nrec) {
                break;
            }

            ngx_ws_stream_skip(v);
            return NGX_OK;
        }

        track = rec.kind & NGX_WS_STREAM_TRACK_MASK;

        if (v->need_key && rec.type == NGX_WS_STREAM_REC_MEDIA
            && !(rec.kind & NGX_WS_STREAM_FLAG_CONFIG))
        {
            if (track == NGX_WS_STREAM_TRACK_VIDEO
                && (rec.kind & NGX_WS_STREAM_FLAG_KEY))
            {
                v->need_key = 0;

            } else if (track == NGX_WS_STREAM_TRACK_VIDEO) {
                ngx_ws_stream_ring_next(&cur, &rec);

                if (nrec == 0) {
                    v->cur = cur;
                    start = cur.pos;
                }

                continue;
            }
        }

        v->bufs[nrec].pos = (u_char *) frame;
        v->bufs[nrec].last = (u_char *) frame + rec.len;
        v->bufs[nrec].start = v->bufs[nrec].pos;
        v->bufs[nrec].end = v->bufs[nrec].last;
        v->bufs[nrec].memory = 1;
        v->bufs[nrec].temporary = 0;

        v->links[nrec].buf = &v->bufs[nrec];
        v->links[nrec].next = NULL;

        if (nrec) {
            v->links[nrec - 1].next = &v->links[nrec];
        }

        recs[nrec] = rec;
        ngx_ws_stream_ring_next(&cur, &rec);
        after[nrec] = cur;

        total += rec.len;
        nrec++;
    }

    if (nrec == 0) {
        v->cur = cur;
        return NGX_DONE;
    }

    /* send: writev() for plain connections; SSL record by record */

    tried = nrec;

    if (c->ssl) {
        n = 0;

        for (k = 0; k < nrec; k++) {
            rc = c->send(c, v->bufs[k].pos, recs[k].len);

            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

            if (rc == NGX_AGAIN) {
                tried = k;
                break;
            }

            n += rc;

            if ((size_t) rc < recs[k].len) {
                tried = k;
                break;
            }
        }

    } else {
        before = c->sent;

        cl = c->send_chain(c, &v->links[0], 0);

        if (cl == NGX_CHAIN_ERROR) {
            return NGX_ERROR;
        }

        n = c->sent - before;
    }

    if (!ngx_ws_stream_ring_intact(ring, start)) {
        goto torn;
    }

    v->sent += n;
    left = n;

    for (k = 0; k < nrec; k++) {

        if (left >= recs[k].len) {
            left -= recs[k].len;
            v->cur = after[k];
            continue;
        }

        /* the socket took part of this frame (or, with SSL, the record
         * layer holds it): keep the rest, the writer may overwrite it */

        if (left == 0 && !(c->ssl && tried == k)) {
            return NGX_AGAIN;
        }

        rest = recs[k].len - left;

        if (ngx_ws_stream_queue_raw(v, v->bufs[k].pos + left, rest)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (!ngx_ws_stream_ring_intact(ring, start)) {
            goto torn;
        }

        v->cur = after[k];

        return NGX_AGAIN;
    }

    return NGX_OK;

torn:

    (void) ngx_atomic_fetch_add(
                          &v->zone->sh->streams[v->stream].torn, 1);

    ngx_log_error(NGX_LOG_WARN, c->log, 0,
                  "ws_stream: data was overwritten while it was sent to "
                  "this viewer; closing the connection (make "
                  "ws_stream_buffer larger)");

    return NGX_ERROR;
}


/* fell behind: jump to the newest keyframe and say so */

static void
ngx_ws_stream_skip(ngx_ws_stream_viewer_t *v)
{
    int                      sync;
    u_char                   buf[160], *p;
    uint64_t                 frames, bytes;
    ngx_ws_stream_entry_t   *e;
    ngx_ws_stream_cursor_t   cur;

    e = &v->zone->sh->streams[v->stream];

    sync = ngx_ws_stream_ring_start(&e->ring, &cur);

    bytes = cur.pos - v->cur.pos;
    frames = (cur.seq != NGX_WS_STREAM_SEQ_UNKNOWN
              && v->cur.seq != NGX_WS_STREAM_SEQ_UNKNOWN
              && cur.seq > v->cur.seq) ? cur.seq - v->cur.seq : 0;

    v->cur = cur;
    v->need_key = !sync;
    v->skips++;

    (void) ngx_atomic_fetch_add(&e->skips, 1);

    ngx_log_error(NGX_LOG_INFO, v->connection->log, 0,
                  "ws_stream: slow viewer of \"%*s/%*s\" skipped %uL bytes",
                  e->app_len, e->app, e->name_len, e->name, bytes);

    p = ngx_snprintf(buf, sizeof(buf),
                     "{\"type\":\"skipped\",\"frames\":%uL,\"bytes\":%uL,"
                     "\"count\":%ui}", frames, bytes, v->skips);

    (void) ngx_ws_stream_queue(v, NGX_WS_STREAM_WS_TEXT, buf, p - buf, 0);
}


/* a whole frame into the viewer's own buffer */

static ngx_int_t
ngx_ws_stream_queue(ngx_ws_stream_viewer_t *v, unsigned opcode,
    const u_char *data, size_t len, ngx_uint_t ctl)
{
    u_char  hdr[NGX_WS_STREAM_WS_MAX_HDR];
    size_t  hlen;

    if (v->closing) {
        return NGX_OK;
    }

    if (ctl && (size_t) (v->out_last - v->out_pos) > NGX_WS_STREAM_CTL_MAX) {
        /* a client that sends pings but does not read */
        ngx_ws_stream_protocol_close(v, NGX_WS_STREAM_CLOSE_POLICY,
                                     "too many unread replies");
        return NGX_DONE;
    }

    hlen = ngx_ws_stream_ws_header(hdr, opcode, len);

    if (ngx_ws_stream_queue_raw(v, hdr, hlen) != NGX_OK
        || ngx_ws_stream_queue_raw(v, data, len) != NGX_OK)
    {
        ngx_ws_stream_finalize(v);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_ws_stream_queue_raw(ngx_ws_stream_viewer_t *v, const u_char *data,
    size_t len)
{
    u_char  *p;
    size_t   used, size;

    if (len == 0) {
        return NGX_OK;
    }

    used = v->out_last - v->out_pos;

    if (v->out && v->out_pos != v->out) {
        ngx_memmove(v->out, v->out_pos, used);
        v->out_pos = v->out;
        v->out_last = v->out + used;
    }

    if (used + len > v->out_size) {
        size = ngx_max(v->out_size * 2, 4096);

        while (size < used + len) {
            size *= 2;
        }

        p = ngx_alloc(size, v->connection->log);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (used) {
            ngx_memcpy(p, v->out_pos, used);
        }

        if (v->out) {
            ngx_free(v->out);
        }

        v->out = p;
        v->out_size = size;
        v->out_pos = p;
        v->out_last = p + used;
    }

    v->out_last = ngx_cpymem(v->out_last, data, len);

    return NGX_OK;
}


/*
 * After the close frame: stop writing, read and drop what the client
 * still sends for a moment, so that our close frame is not lost to a
 * reset, then close.
 */

static void
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


static void
ngx_ws_stream_finalize(ngx_ws_stream_viewer_t *v)
{
    if (v->closed) {
        return;
    }

    v->closed = 1;

    ngx_http_finalize_request(v->request, NGX_HTTP_CLOSE);
}


/* wall clock in ms with a fraction */

static double
ngx_ws_stream_clock(void)
{
    struct timeval  tv;

    ngx_gettimeofday(&tv);

    return (double) tv.tv_sec * 1000 + (double) tv.tv_usec / 1000;
}
