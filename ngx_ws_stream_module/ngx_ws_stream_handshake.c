
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The WebSocket handshake (RFC 6455) on nginx's HTTP upgrade path: which
 * stream, which subprotocol, and the answers to requests that are not a
 * valid upgrade.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_viewer.h"
#include "ws_stream_ws.h"


#define NGX_WS_STREAM_GUID  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


static ngx_uint_t ngx_ws_stream_has_token(ngx_table_elt_t *h,
    const char *token);
static ngx_int_t ngx_ws_stream_upgrade_required(ngx_http_request_t *r);


ngx_int_t
ngx_ws_stream_handler(ngx_http_request_t *r)
{
    u_char                     accept[20], keybuf[32], *p;
    ngx_str_t                  app, name, key, src, dst;
    ngx_uint_t                 i, offered, ours, version, upgrade;
    ngx_sha1_t                 sha1;
    ngx_list_part_t           *part;
    ngx_table_elt_t           *h;
    ngx_connection_t          *c;
    ngx_ws_stream_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_ws_stream_module);
    c = r->connection;

    if (ngx_ws_stream_parse_uri(&r->uri, &app, &name) != NGX_OK
        || ngx_ws_stream_app_find(wlcf->zone, &app) == NULL)
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
            ours |= ws_stream_ws_offers(h[i].value.data, h[i].value.len,
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

    return ngx_ws_stream_viewer_start(r, wlcf, &app, &name, &dst, offered);
}


/* /anything/<app>/<name>: app and name point into uri */

ngx_int_t
ngx_ws_stream_parse_uri(ngx_str_t *uri, ngx_str_t *app, ngx_str_t *name)
{
    u_char  *p, *end, *slash;

    end = uri->data + uri->len;

    slash = NULL;

    for (p = end; p > uri->data; p--) {
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

    for (p = slash; p > uri->data; p--) {
        if (p[-1] == '/') {
            break;
        }
    }

    if (p == slash || p == uri->data) {
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

    /* names go back to the client in JSON text */

    if (!ws_stream_ws_utf8(app->data, end - app->data)) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_ws_stream_app_t *
ngx_ws_stream_app_find(ngx_ws_stream_zone_t *zone, ngx_str_t *app)
{
    ngx_uint_t            i;
    ngx_ws_stream_app_t  *apps;

    apps = zone->apps.elts;

    for (i = 0; i < zone->apps.nelts; i++) {
        if (apps[i].name.len == app->len
            && ngx_strncmp(apps[i].name.data, app->data, app->len) == 0)
        {
            return &apps[i];
        }
    }

    return NULL;
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


ngx_int_t
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
