
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The HTTP side of the LL-HLS fallback: a location that serves, for
 * /<prefix>/<app>/<name>/<file>, the multivariant and media playlists,
 * init segments, parts and segments that the publisher's worker cut into
 * the zone, on any worker.  Blocking playlist reloads and preload-hinted
 * parts are parked on their stream's wake path, sorted by what they wait
 * for, so a part that completes answers exactly the requests it
 * satisfies and an append that completes nothing costs one comparison.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_hls.h"
#include "ws_stream_m3u8.h"


static ngx_int_t ngx_ws_stream_hls_handler(ngx_http_request_t *r);
static ngx_int_t ngx_ws_stream_hls_cors(ngx_http_request_t *r);
static char *ngx_ws_stream_hls(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_ws_stream_hls_create_loc_conf(ngx_conf_t *cf);
static char *ngx_ws_stream_hls_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_ws_stream_hls_init_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_ws_stream_hls_window_bounds = {
    ngx_conf_check_num_bounds, WS_STREAM_HLS_WINDOW_MIN,
    WS_STREAM_HLS_WINDOW_MAX
};


static ngx_command_t  ngx_ws_stream_hls_commands[] = {

    { ngx_string("ws_stream_hls"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_ws_stream_hls,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_stream_hls_part"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_stream_hls_loc_conf_t, part),
      NULL },

    { ngx_string("ws_stream_hls_segment"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_stream_hls_loc_conf_t, segment),
      NULL },

    { ngx_string("ws_stream_hls_window"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_stream_hls_loc_conf_t, window),
      &ngx_ws_stream_hls_window_bounds },

    { ngx_string("ws_stream_hls_cors"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_stream_hls_loc_conf_t, cors),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_ws_stream_hls_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_ws_stream_hls_create_loc_conf,     /* create location configuration */
    ngx_ws_stream_hls_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_ws_stream_hls_module = {
    NGX_MODULE_V1,
    &ngx_ws_stream_hls_module_ctx,         /* module context */
    ngx_ws_stream_hls_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_ws_stream_hls_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* one per worker: a snapshot is about 64 KB */
ws_stream_hls_snap_t  *ngx_ws_stream_hls_snap;


static ngx_int_t
ngx_ws_stream_hls_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_str_t                      path, file;
    ngx_ws_stream_hls_ctx_t       *ctx;
    ngx_http_cleanup_t            *cln;
    ngx_ws_stream_hls_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_ws_stream_hls_module);

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_OPTIONS))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (hlcf->zone->local == NULL || ngx_ws_stream_hls_snap == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_ws_stream_hls_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;

    /* /anything/<app>/<name>/<file> */

    for (file.data = r->uri.data + r->uri.len;
         file.data > r->uri.data && file.data[-1] != '/';
         file.data--)
    { /* void */ }

    file.len = r->uri.data + r->uri.len - file.data;
    path.data = r->uri.data;
    path.len = (file.data > r->uri.data) ? file.data - 1 - r->uri.data : 0;

    if (ngx_ws_stream_parse_uri(&path, &ctx->app, &ctx->name) != NGX_OK) {
        return ngx_ws_stream_hls_error(r, NGX_HTTP_NOT_FOUND,
                                       "not an HLS path: "
                                       "<location>/<app>/<name>/<file>\n");
    }

    ctx->a = ngx_ws_stream_app_find(hlcf->zone, &ctx->app);

    if (ctx->a == NULL) {
        return ngx_ws_stream_hls_error(r, NGX_HTTP_NOT_FOUND,
                                       "no such application\n");
    }

    if (ws_stream_hls_uri(file.data, file.len, &ctx->uri)
        == WS_STREAM_HLS_URI_NONE)
    {
        return ngx_ws_stream_hls_error(r, NGX_HTTP_NOT_FOUND,
                                       "no such HLS file\n");
    }

    if (r->method == NGX_HTTP_OPTIONS) {
        return ngx_ws_stream_hls_send(r, NGX_HTTP_NO_CONTENT, NULL, NULL, 0,
                                      NULL, -1);
    }

    if (ctx->uri.type == WS_STREAM_HLS_URI_MEDIA
        && ws_stream_hls_args(r->args.data, r->args.len, &ctx->args)
           != WS_STREAM_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws_stream: bad HLS playlist request \"%V\": %s",
                      &r->args, ctx->args.error);
        return ngx_ws_stream_hls_error(r, NGX_HTTP_BAD_REQUEST,
                                       ctx->args.error);
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_ws_stream_hls_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_ws_stream_hls_module);

    return ngx_ws_stream_hls_serve(r, ctx, 0);
}


/*
 * Answers the request, or parks it (NGX_DONE) while what it asks for is
 * still to come.  Called again for a parked request when its stream's
 * index changed (parked set): then NGX_BUSY while it must wait on.
 */

ngx_int_t
ngx_ws_stream_hls_serve(ngx_http_request_t *r, ngx_ws_stream_hls_ctx_t *ctx,
    ngx_uint_t parked)
{
    time_t                         modified;
    ngx_str_t                      etag, base;
    ngx_int_t                      rc, stream, age;
    ngx_buf_t                     *b;
    const char                    *type;
    ngx_ws_stream_zone_t          *zone;
    ngx_ws_stream_entry_t         *e;
    ngx_ws_stream_hls_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_ws_stream_hls_module);
    zone = hlcf->zone;

    b = NULL;
    modified = 0;
    etag.len = 0;
    age = NGX_WS_STREAM_HLS_MEDIA_AGE;
    type = "video/mp4";

    /* the index is read under the zone's mutex: the stream, its index
     * and the parts it names cannot go while we copy */

    ngx_shmtx_lock(&zone->shpool->mutex);

    stream = ngx_ws_stream_entry_find(zone, &ctx->app, &ctx->name, 0);
    e = (stream >= 0) ? &zone->sh->streams[stream] : NULL;

    if ((e == NULL || e->hls == NULL)
        && ctx->uri.type == WS_STREAM_HLS_URI_MULTI && ctx->a->variants
        && ngx_ws_stream_group_member(ctx->a, &ctx->name, &base)
           == NGX_DECLINED)
    {
        /* the name of a rendition group */
        rc = ngx_ws_stream_hls_group_multivariant(r, ctx, zone, &b);
        type = "application/vnd.apple.mpegurl";
        age = 0;

    } else if (e == NULL || e->hls == NULL) {
        rc = NGX_HTTP_NOT_FOUND;

    } else {
        switch (ctx->uri.type) {

        case WS_STREAM_HLS_URI_MULTI:
            rc = ngx_ws_stream_hls_multivariant(r, e, &b);
            type = "application/vnd.apple.mpegurl";
            age = 0;
            break;

        case WS_STREAM_HLS_URI_MEDIA:
            if (ngx_ws_stream_hls_reports(r, ctx, zone) != NGX_OK) {
                rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
                break;
            }

            rc = ngx_ws_stream_hls_media(r, ctx,
                                         &((ngx_ws_stream_hls_local_t *)
                                           zone->hls_local)[stream],
                                         e, &b);
            type = "application/vnd.apple.mpegurl";

            /* a blocking reload names a playlist that will not change:
             * caches may keep it (rfc8216bis 6.2.5.2: 6 target durations) */
            age = ctx->args.has_msn ? 6 * e->hls->index.target : 0;
            break;

        default:
            rc = ngx_ws_stream_hls_blob(r, ctx, e, &b, &modified);

            /* unique for the life of the zone: the index's birth, the
             * file's numbers */

            if (rc == NGX_OK) {
                etag.data = ngx_pnalloc(r->pool, 3 * NGX_INT64_LEN + 4);
                if (etag.data == NULL) {
                    rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
                    break;
                }

                etag.len = ngx_sprintf(etag.data, "\"%xL-%xL-%xD\"",
                                       e->hls->born, ctx->uri.msn,
                                       ctx->uri.type
                                       == WS_STREAM_HLS_URI_SEGMENT
                                       ? 0xffffffff
                                       : ctx->uri.type
                                         == WS_STREAM_HLS_URI_INIT
                                         ? ctx->uri.gen : ctx->uri.part)
                           - etag.data;
            }

            break;
        }
    }

    if (rc == NGX_OK && b && e) {
        ngx_ws_stream_stats_hls_locked(zone, e, r, b->last - b->pos);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    /* NGX_BUSY: not there yet (NGX_AGAIN is the output's, once sent) */

    if (rc == NGX_BUSY) {
        if (parked) {
            return NGX_BUSY;
        }

        return ngx_ws_stream_hls_park(r, ctx, stream);
    }

    if (rc == NGX_HTTP_NOT_FOUND) {
        return ngx_ws_stream_hls_error(r, rc,
                       (e == NULL || e->pub != NGX_WS_STREAM_PUB_ONLINE)
                       ? "stream is offline or does not exist\n"
                       : "not in the stream's HLS window\n");
    }

    if (rc == NGX_HTTP_BAD_REQUEST && ctx->why) {
        return ngx_ws_stream_hls_error(r, rc, ctx->why);
    }

    if (rc != NGX_OK) {
        return ngx_ws_stream_hls_error(r, rc, NULL);
    }

    return ngx_ws_stream_hls_send(r, NGX_HTTP_OK, type, b, modified,
                                  etag.len ? &etag : NULL, age);
}


ngx_int_t
ngx_ws_stream_hls_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_buf_t *b, time_t modified, ngx_str_t *etag,
    ngx_int_t max_age)
{
    ngx_int_t     rc;
    ngx_str_t     value;
    ngx_chain_t   out;

    if (ngx_ws_stream_hls_cors(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;

    if (type) {
        r->headers_out.content_type.data = (u_char *) type;
        r->headers_out.content_type.len = ngx_strlen(type);
        r->headers_out.content_type_len = r->headers_out.content_type.len;
    }

    if (b == NULL) {
        r->header_only = 1;
        r->headers_out.content_length_n = 0;
        return ngx_http_send_header(r);
    }

    r->headers_out.content_length_n = b->last - b->pos;

    if (max_age > 0) {
        value.data = ngx_pnalloc(r->pool, sizeof("public, max-age=") - 1
                                          + NGX_INT_T_LEN);
        if (value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        value.len = ngx_sprintf(value.data, "public, max-age=%i", max_age)
                    - value.data;

    } else {
        ngx_str_set(&value, "no-cache");
    }

    if (ngx_ws_stream_add_header(r, "Cache-Control", &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (etag) {
        /* parts, segments and init segments never change: validators
         * and ranges, as for a static file */
        r->headers_out.last_modified_time = modified;
        r->allow_ranges = 1;

        r->headers_out.etag = ngx_list_push(&r->headers_out.headers);
        if (r->headers_out.etag == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        r->headers_out.etag->hash = 1;
        ngx_str_set(&r->headers_out.etag->key, "ETag");
        r->headers_out.etag->value = *etag;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_ws_stream_hls_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *text)
{
    ngx_buf_t  *b;

    if (text == NULL) {
        return status;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = (u_char *) text;
    b->last = b->pos + ngx_strlen(text);
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    return ngx_ws_stream_hls_send(r, status, "text/plain", b, 0, NULL, 0);
}


/* ws_stream_hls_cors: a page on another origin may play the stream */

static ngx_int_t
ngx_ws_stream_hls_cors(ngx_http_request_t *r)
{
    ngx_str_t                      value;
    ngx_ws_stream_hls_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_ws_stream_hls_module);

    if (hlcf->cors.len == 0) {
        return NGX_OK;
    }

    if (ngx_ws_stream_add_header(r, "Access-Control-Allow-Origin",
                                 &hlcf->cors)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "Age, Date, Content-Length, Content-Range");

    if (ngx_ws_stream_add_header(r, "Access-Control-Expose-Headers", &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (r->method != NGX_HTTP_OPTIONS) {
        return NGX_OK;
    }

    ngx_str_set(&value, "GET, HEAD, OPTIONS");

    if (ngx_ws_stream_add_header(r, "Access-Control-Allow-Methods", &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "Range");

    if (ngx_ws_stream_add_header(r, "Access-Control-Allow-Headers", &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "86400");

    return ngx_ws_stream_add_header(r, "Access-Control-Max-Age", &value);
}


/* location: ws_stream_hls [zone]; */

static char *
ngx_ws_stream_hls(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_stream_hls_loc_conf_t *hlcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (hlcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    hlcf->enable = 1;

    if (cf->args->nelts == 2) {
        value = cf->args->elts;

        hlcf->zone = ngx_ws_stream_zone_get(cf, &value[1]);
        if (hlcf->zone == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_ws_stream_hls_handler;

    return NGX_CONF_OK;
}


static void *
ngx_ws_stream_hls_create_loc_conf(ngx_conf_t *cf)
{
    ngx_ws_stream_hls_loc_conf_t  *hlcf;

    hlcf = ngx_pcalloc(cf->pool, sizeof(ngx_ws_stream_hls_loc_conf_t));
    if (hlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     hlcf->zone = NULL;
     *     hlcf->cors = { 0, NULL };
     */

    hlcf->enable = NGX_CONF_UNSET;
    hlcf->part = NGX_CONF_UNSET_MSEC;
    hlcf->segment = NGX_CONF_UNSET_MSEC;
    hlcf->window = NGX_CONF_UNSET_UINT;
    hlcf->cors.len = NGX_CONF_UNSET_SIZE;

    return hlcf;
}


static char *
ngx_ws_stream_hls_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_ws_stream_hls_loc_conf_t *prev = parent;
    ngx_ws_stream_hls_loc_conf_t *conf = child;

    char                   err[320];
    ws_stream_hls_conf_t   hc;
    ngx_ws_stream_zone_t  *zone;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_msec_value(conf->part, prev->part, 200);
    ngx_conf_merge_msec_value(conf->segment, prev->segment, 2000);
    ngx_conf_merge_uint_value(conf->window, prev->window, 7);

    if (conf->cors.len == NGX_CONF_UNSET_SIZE) {
        conf->cors = (prev->cors.len == NGX_CONF_UNSET_SIZE)
                     ? (ngx_str_t) ngx_null_string : prev->cors;
    }

    if (conf->cors.len == 3 && ngx_strncmp(conf->cors.data, "off", 3) == 0)
    {
        conf->cors.len = 0;
    }

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    if (conf->zone == NULL) {
        conf->zone = ngx_ws_stream_zone_default(cf, "ws_stream_hls");
        if (conf->zone == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    ngx_memzero(&hc, sizeof(ws_stream_hls_conf_t));
    hc.part = conf->part;
    hc.segment = conf->segment;
    hc.window = conf->window;

    if (ws_stream_hls_check(&hc, err, sizeof(err)) != WS_STREAM_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "ws_stream_hls: %s", err);
        return NGX_CONF_ERROR;
    }

    /* the zone's streams are cut once for all its HLS locations */

    zone = conf->zone;

    if (zone->hls.enabled
        && ngx_memcmp(&zone->hls.conf, &hc, sizeof(hc)) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ws_stream_hls locations of zone \"%V\" differ "
                           "in ws_stream_hls_part, ws_stream_hls_segment or "
                           "ws_stream_hls_window: the parts of a stream are "
                           "cut once, for all of them", &zone->name);
        return NGX_CONF_ERROR;
    }

    zone->hls.enabled = 1;
    zone->hls.conf = hc;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_ws_stream_hls_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i, s;
    ngx_list_part_t            *part;
    ngx_ws_stream_zone_t       *zone;
    ngx_ws_stream_hls_local_t  *l;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    part = NULL;
    i = 0;

    while ((zone = ngx_ws_stream_zone_next(cycle, &part, &i))) {

        if (!zone->hls.enabled || zone->local == NULL) {
            continue;
        }

        l = ngx_calloc(zone->streams * sizeof(ngx_ws_stream_hls_local_t),
                       cycle->log);
        if (l == NULL) {
            return NGX_ERROR;
        }

        for (s = 0; s < zone->streams; s++) {
            l[s].waiter.wake = ngx_ws_stream_hls_wake;
            l[s].zone = zone;
            l[s].stream = s;
            ngx_queue_init(&l[s].parked);
        }

        zone->hls_local = l;

        if (ngx_ws_stream_hls_snap == NULL) {
            ngx_ws_stream_hls_snap = ngx_alloc(sizeof(ws_stream_hls_snap_t),
                                               cycle->log);
            if (ngx_ws_stream_hls_snap == NULL) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}
