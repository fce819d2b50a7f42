
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The statistics locations: "ws_stream_api" (JSON: the streams, one
 * stream, a page of its viewers) and "ws_stream_metrics" (Prometheus).
 * What the workers wrote is copied out under the zone's mutex, summed,
 * and written out after the mutex is released.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_api.h"


typedef struct {
    ngx_uint_t                 total;
    ngx_uint_t                 offset;
    ngx_uint_t                 limit;
    ngx_uint_t                 n;
    ngx_ws_stream_listed_t    *recs;
} ngx_ws_stream_page_t;


#define NGX_WS_STREAM_ANSWER_LIST       0
#define NGX_WS_STREAM_ANSWER_STREAM     1
#define NGX_WS_STREAM_ANSWER_VIEWERS    2
#define NGX_WS_STREAM_ANSWER_METRICS    3


/* what an answer is written from */
typedef struct {
    ngx_uint_t                 what;        /* NGX_WS_STREAM_ANSWER_* */
    ngx_ws_stream_zone_t      *zone;
    ngx_array_t               *snaps;
    ngx_ws_stream_page_t      *page;
    ngx_str_t                 *app;
    ngx_str_t                 *name;
} ngx_ws_stream_answer_t;


static ngx_int_t ngx_ws_stream_api_handler(ngx_http_request_t *r);
static ngx_int_t ngx_ws_stream_api_route(ngx_http_request_t *r,
    ngx_ws_stream_api_loc_conf_t *alcf);
static ngx_int_t ngx_ws_stream_api_viewers(ngx_http_request_t *r,
    ngx_ws_stream_zone_t *zone, ngx_str_t *app, ngx_str_t *name);
static ngx_int_t ngx_ws_stream_api_answer(ngx_http_request_t *r,
    ngx_ws_stream_answer_t *a, size_t size);
static void ngx_ws_stream_api_write(ws_stream_out_t *o,
    ngx_ws_stream_answer_t *a);
static ngx_int_t ngx_ws_stream_api_arg(ngx_http_request_t *r, char *name,
    ngx_uint_t def, ngx_uint_t max, ngx_uint_t *v);
static void ngx_ws_stream_snap_entry(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_entry_t *e, ngx_ws_stream_snap_t *s, uint64_t now);
static void ngx_ws_stream_agg_read(ngx_ws_stream_slot_t *slot,
    ws_stream_now_t *now);
static char *ngx_ws_stream_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_ws_stream_api_create_loc_conf(ngx_conf_t *cf);
static char *ngx_ws_stream_api_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);


static ngx_command_t  ngx_ws_stream_api_commands[] = {

    { ngx_string("ws_stream_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_ws_stream_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_WS_STREAM_API_JSON,
      NULL },

    { ngx_string("ws_stream_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_ws_stream_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_WS_STREAM_API_METRICS,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_ws_stream_api_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_ws_stream_api_create_loc_conf,     /* create location configuration */
    ngx_ws_stream_api_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_ws_stream_api_module = {
    NGX_MODULE_V1,
    &ngx_ws_stream_api_module_ctx,         /* module context */
    ngx_ws_stream_api_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_ws_stream_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_table_elt_t               *h;
    ngx_ws_stream_api_loc_conf_t  *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_ws_stream_api_module);

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "GET, HEAD");

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (alcf->zone->sh == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    return ngx_ws_stream_api_route(r, alcf);
}


/*
 * The path after its "streams" component: nothing (the list), app/name
 * (one stream) or app/name/viewers; the metrics location takes any path.
 */

static ngx_int_t
ngx_ws_stream_api_route(ngx_http_request_t *r,
    ngx_ws_stream_api_loc_conf_t *alcf)
{
    u_char                  *p, *end, *start;
    ngx_str_t                parts[4];
    ngx_uint_t               n, found;
    ngx_array_t             *snaps;
    ngx_ws_stream_answer_t   a;

    ngx_memzero(&a, sizeof(ngx_ws_stream_answer_t));
    a.zone = alcf->zone;

    if (alcf->type == NGX_WS_STREAM_API_METRICS) {
        snaps = ngx_ws_stream_snapshot(alcf->zone, NULL, NULL, r->pool);
        if (snaps == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        a.what = NGX_WS_STREAM_ANSWER_METRICS;
        a.snaps = snaps;

        return ngx_ws_stream_api_answer(r, &a,
                                        16384 + snaps->nelts * 16384);
    }

    /* the components of the URI from "streams" on */

    p = r->uri.data;
    end = p + r->uri.len;
    n = 0;
    found = 0;

    while (p < end) {
        while (p < end && *p == '/') {
            p++;
        }

        start = p;

        while (p < end && *p != '/') {
            p++;
        }

        if (p == start) {
            break;
        }

        if (!found) {
            found = (p - start == sizeof("streams") - 1
                     && ngx_strncmp(start, "streams", p - start) == 0);
            continue;
        }

        if (n == 4) {
            return NGX_HTTP_NOT_FOUND;
        }

        parts[n].data = start;
        parts[n].len = p - start;
        n++;
    }

    if (!found || n == 1 || (n == 3 && (parts[2].len != 7
                     || ngx_strncmp(parts[2].data, "viewers", 7) != 0))
        || n == 4)
    {
        return NGX_HTTP_NOT_FOUND;
    }

    if (n == 3) {
        return ngx_ws_stream_api_viewers(r, alcf->zone, &parts[0],
                                         &parts[1]);
    }

    snaps = ngx_ws_stream_snapshot(alcf->zone, n ? &parts[0] : NULL,
                                   n ? &parts[1] : NULL, r->pool);
    if (snaps == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (n && snaps->nelts == 0) {
        return NGX_HTTP_NOT_FOUND;
    }

    a.what = n ? NGX_WS_STREAM_ANSWER_STREAM : NGX_WS_STREAM_ANSWER_LIST;
    a.snaps = snaps;

    return ngx_ws_stream_api_answer(r, &a, 4096 + snaps->nelts * 4096);
}


static ngx_int_t
ngx_ws_stream_api_viewers(ngx_http_request_t *r, ngx_ws_stream_zone_t *zone,
    ngx_str_t *app, ngx_str_t *name)
{
    ngx_int_t                i;
    ngx_uint_t               k;
    ngx_queue_t             *q;
    ngx_ws_stream_page_t     page;
    ngx_ws_stream_entry_t   *e;
    ngx_ws_stream_answer_t   a;

    if (ngx_ws_stream_api_arg(r, "offset", 0, NGX_MAX_INT32_VALUE,
                              &page.offset) != NGX_OK
        || ngx_ws_stream_api_arg(r, "limit", NGX_WS_STREAM_API_LIMIT,
                                 NGX_WS_STREAM_API_LIMIT_MAX, &page.limit)
           != NGX_OK
        || page.limit == 0)
    {
        return NGX_HTTP_BAD_REQUEST;
    }

    page.recs = ngx_palloc(r->pool,
                           page.limit * sizeof(ngx_ws_stream_listed_t));
    if (page.recs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    page.n = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    ngx_ws_stream_reclaim_dead_locked(zone);

    i = ngx_ws_stream_entry_find(zone, app, name, 0);

    if (i >= 0) {
        e = &zone->sh->streams[i];
        page.total = e->stats.nvrecs;
        k = 0;

        for (q = ngx_queue_head(&e->stats.vrecs);
             q != ngx_queue_sentinel(&e->stats.vrecs)
             && page.n < page.limit;
             q = ngx_queue_next(q), k++)
        {
            if (k >= page.offset) {
                ngx_ws_stream_rec_copy_locked(&page.recs[page.n++],
                                  ngx_queue_data(q, ngx_ws_stream_vrec_t,
                                                 queue));
            }
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (i < 0) {
        return NGX_HTTP_NOT_FOUND;
    }

    ngx_memzero(&a, sizeof(ngx_ws_stream_answer_t));
    a.what = NGX_WS_STREAM_ANSWER_VIEWERS;
    a.zone = zone;
    a.page = &page;
    a.app = app;
    a.name = name;

    return ngx_ws_stream_api_answer(r, &a, 2048 + page.n * 2048);
}


/*
 * Writes the answer into a buffer of size bytes, twice as large again
 * while it does not fit, and sends it.
 */

static ngx_int_t
ngx_ws_stream_api_answer(ngx_http_request_t *r, ngx_ws_stream_answer_t *a,
    size_t size)
{
    u_char           *p;
    ws_stream_out_t   o;

    for ( ;; ) {
        p = ngx_pnalloc(r->pool, size);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ws_stream_out_init(&o, p, size);
        ngx_ws_stream_api_write(&o, a);

        if (!o.overflow) {
            break;
        }

        /* an answer is some KB per stream or viewer: one that does not
         * fit in 64 MB is a bug, not a large zone */

        if (size > 64 * 1024 * 1024) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "ws_stream: a statistics answer does not fit in "
                          "%uz bytes", size);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        size *= 2;
    }

    return ngx_ws_stream_api_send(r,
                                  a->what == NGX_WS_STREAM_ANSWER_METRICS
                                  ? "text/plain; version=0.0.4; "
                                    "charset=utf-8"
                                  : "application/json", &o);
}


static void
ngx_ws_stream_api_write(ws_stream_out_t *o, ngx_ws_stream_answer_t *a)
{
    uint64_t               now;
    ngx_uint_t             k;
    ngx_ws_stream_snap_t  *s;

    now = ngx_ws_stream_now_ms();
    s = a->snaps ? a->snaps->elts : NULL;

    switch (a->what) {

    case NGX_WS_STREAM_ANSWER_METRICS:
        (void) ngx_ws_stream_metrics_write(a->zone, a->snaps, o);
        return;

    case NGX_WS_STREAM_ANSWER_STREAM:
        ngx_ws_stream_json_stream(o, s, now);
        return;

    case NGX_WS_STREAM_ANSWER_LIST:
        ws_stream_json_open(o, NULL, 0);
        ngx_ws_stream_json_server(o, a->zone, a->snaps);
        ws_stream_json_open(o, "streams", 1);

        for (k = 0; k < a->snaps->nelts; k++) {
            ngx_ws_stream_json_stream(o, &s[k], now);
        }

        ws_stream_json_close(o, 1);
        ws_stream_json_close(o, 0);
        return;

    default: /* NGX_WS_STREAM_ANSWER_VIEWERS */
        ws_stream_json_open(o, NULL, 0);
        ws_stream_json_str(o, "app", a->app->data, a->app->len);
        ws_stream_json_str(o, "stream", a->name->data, a->name->len);
        ws_stream_json_uint(o, "total", a->page->total);
        ws_stream_json_uint(o, "offset", a->page->offset);
        ws_stream_json_uint(o, "limit", a->page->limit);
        ws_stream_json_open(o, "viewers", 1);

        for (k = 0; k < a->page->n; k++) {
            ngx_ws_stream_json_viewer(o, &a->page->recs[k], now);
        }

        ws_stream_json_close(o, 1);
        ws_stream_json_close(o, 0);
    }
}


static ngx_int_t
ngx_ws_stream_api_arg(ngx_http_request_t *r, char *name, ngx_uint_t def,
    ngx_uint_t max, ngx_uint_t *v)
{
    ngx_int_t  n;
    ngx_str_t  value;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &value)
        != NGX_OK)
    {
        *v = def;
        return NGX_OK;
    }

    n = ngx_atoi(value.data, value.len);

    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    *v = ngx_min((ngx_uint_t) n, max);

    return NGX_OK;
}


/*
 * Copies of every stream's figures (of app/name only, when given), each
 * summed over the workers, taken under the mutex; NULL: no memory.
 */

ngx_array_t *
ngx_ws_stream_snapshot(ngx_ws_stream_zone_t *zone, ngx_str_t *app,
    ngx_str_t *name, ngx_pool_t *pool)
{
    uint64_t                now;
    ngx_int_t               i;
    ngx_uint_t              k;
    ngx_array_t            *a;
    ngx_ws_stream_snap_t   *s;
    ngx_ws_stream_entry_t  *e;

    a = ngx_array_create(pool, app ? 1 : 8, sizeof(ngx_ws_stream_snap_t));
    if (a == NULL) {
        return NULL;
    }

    now = ngx_ws_stream_now_ms();

    ngx_shmtx_lock(&zone->shpool->mutex);

    ngx_ws_stream_reclaim_dead_locked(zone);

    i = app ? ngx_ws_stream_entry_find(zone, app, name, 0) : 0;

    for (k = (i < 0) ? zone->sh->nstreams : (ngx_uint_t) i;
         k < zone->sh->nstreams;
         k++)
    {
        e = &zone->sh->streams[k];

        if (e->state != NGX_WS_STREAM_FREE) {
            s = ngx_array_push(a);
            if (s == NULL) {
                ngx_shmtx_unlock(&zone->shpool->mutex);
                return NULL;
            }

            ngx_ws_stream_snap_entry(zone, e, s, now);
        }

        if (app) {
            break;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return a;
}


/* under the mutex */

static void
ngx_ws_stream_snap_entry(ngx_ws_stream_zone_t *zone, ngx_ws_stream_entry_t *e,
    ngx_ws_stream_snap_t *s, uint64_t now)
{
    ngx_int_t              k;
    ngx_str_t              base;
    ngx_uint_t             p;
    ws_stream_now_t        figures;
    ngx_ws_stream_app_t   *a;
    ngx_ws_stream_slot_t  *slot;

    ngx_memzero(s, sizeof(ngx_ws_stream_snap_t));

    s->app_len = e->app_len;
    s->name_len = e->name_len;
    ngx_memcpy(s->app, e->app, e->app_len);
    ngx_memcpy(s->name, e->name, e->name_len);

    s->online = (e->pub == NGX_WS_STREAM_PUB_ONLINE);
    s->started = e->started;

    k = ngx_ws_stream_group_entry(zone, e, &a, &base);

    if (k != NGX_DECLINED) {
        s->group_len = base.len;
        s->group_index = k;
        s->rendition = ((ngx_str_t *) a->variants->elts)[k];
    }
    s->pub = e->stats.pub;

    s->frames = e->frames;
    s->bytes = e->bytes;
    s->dropped = e->dropped;
    s->skips = e->skips;
    s->torn = e->torn;

    s->c = e->stats.gone;
    ws_stream_now_reset(&s->now);

    for (p = 0; p < NGX_WS_STREAM_MAX_PROCS; p++) {
        slot = e->stats.slots[p];

        if (slot == NULL) {
            continue;
        }

        ngx_ws_stream_counts_add(&s->c, &slot->c);

        ngx_ws_stream_agg_read(slot, &figures);
        ws_stream_now_merge(&s->now, &figures);

        s->websocket += slot->websocket;

        if (slot->websocket && zone->sh->procs[p].pid) {
            s->workers[s->nworkers].pid = zone->sh->procs[p].pid;
            s->workers[s->nworkers].websocket = slot->websocket;
            s->nworkers++;
        }
    }

    s->hls_clients = ws_stream_seen_count(&e->stats.seen, now);

    if (s->websocket + s->hls_clients > e->stats.peak) {
        e->stats.peak = (uint32_t) (s->websocket + s->hls_clients);
    }

    s->peak = e->stats.peak;
}


/* a slot's "viewers now", rewritten by its worker without the mutex */

static void
ngx_ws_stream_agg_read(ngx_ws_stream_slot_t *slot, ws_stream_now_t *now)
{
    ngx_uint_t         tries;
    ngx_atomic_uint_t  seq;

    for (tries = 0; tries < 4; tries++) {
        seq = slot->seq;
        ngx_memory_barrier();

        *now = slot->now;

        ngx_memory_barrier();

        if (!(seq & 1) && seq == slot->seq) {
            return;
        }
    }

    /* the tick is slower than four copies only if it was stopped in the
     * middle: a worker killed there; its slot goes with it */

    ws_stream_now_reset(now);
}


ngx_int_t
ngx_ws_stream_api_send(ngx_http_request_t *r, const char *type,
    ws_stream_out_t *o)
{
    ngx_int_t    rc;
    ngx_str_t    value;
    ngx_buf_t   *b;
    ngx_chain_t  out;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = o->pos - o->start;

    ngx_str_set(&value, "no-store");

    if (ngx_ws_stream_add_header(r, "Cache-Control", &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_HEAD || o->pos == o->start) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = o->start;
    b->last = o->pos;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* location: ws_stream_api [zone]; ws_stream_metrics [zone]; */

static char *
ngx_ws_stream_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_stream_api_loc_conf_t *alcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (alcf->type) {
        return "is duplicate";
    }

    alcf->type = cmd->offset;

    if (cf->args->nelts == 2) {
        value = cf->args->elts;

        alcf->zone = ngx_ws_stream_zone_get(cf, &value[1]);
        if (alcf->zone == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_ws_stream_api_handler;

    return NGX_CONF_OK;
}


static void *
ngx_ws_stream_api_create_loc_conf(ngx_conf_t *cf)
{
    /*
     * set by ngx_pcalloc():
     *
     *     alcf->zone = NULL;
     *     alcf->type = 0;
     */

    return ngx_pcalloc(cf->pool, sizeof(ngx_ws_stream_api_loc_conf_t));
}


static char *
ngx_ws_stream_api_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_ws_stream_api_loc_conf_t *conf = child;

    /* not inherited: a location is an API or metrics location itself */

    if (conf->type == 0 || conf->zone) {
        return NGX_CONF_OK;
    }

    conf->zone = ngx_ws_stream_zone_default(cf,
                                            conf->type
                                            == NGX_WS_STREAM_API_JSON
                                            ? "ws_stream_api"
                                            : "ws_stream_metrics");

    return conf->zone ? NGX_CONF_OK : NGX_CONF_ERROR;
}
