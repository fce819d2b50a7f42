
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The RTMP hook: the only code that knows nginx-rtmp.  It chains the
 * publish and close_stream calls, takes audio, video and metadata
 * messages as nginx-rtmp hands them to its event handlers, and appends
 * them to the stream's ring as ready-to-send WebSocket frames.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <dlfcn.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_rtmp.h"
#include "ngx_ws_stream_hls.h"
#include "ws_stream_flv.h"
#include "ws_stream_ws.h"


typedef struct {
    ngx_ws_stream_zone_t    *zone;
    ngx_str_t                app;
    ngx_uint_t               app_index;     /* in zone->apps */
    size_t                   buffer;
    ngx_msec_t               grace;
} ngx_ws_stream_rtmp_app_conf_t;


typedef struct {
    ngx_ws_stream_zone_t    *zone;
    ngx_int_t                stream;        /* -1: not captured */
    ngx_str_t                name;
    unsigned                 online:1;
    unsigned                 warned:1;
    unsigned                 cue:1;         /* appending in-band data */
    ngx_ws_stream_hls_pub_t  hls;
} ngx_ws_stream_rtmp_ctx_t;


static ngx_int_t ngx_ws_stream_rtmp_postconfiguration(ngx_conf_t *cf);
static void *ngx_ws_stream_rtmp_create_app_conf(ngx_conf_t *cf);
static char *ngx_ws_stream_rtmp_merge_app_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_ws_stream_rtmp_variant(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_stream_rtmp_ws_stream(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_ws_stream_rtmp_resolve(ngx_conf_t *cf);
static ngx_int_t ngx_ws_stream_rtmp_check(ngx_conf_t *cf,
    ngx_rtmp_core_main_conf_t *cmcf);
static ngx_uint_t ngx_ws_stream_rtmp_session_ok(ngx_rtmp_session_t *s);
static ngx_int_t ngx_ws_stream_rtmp_publish(ngx_rtmp_session_t *s,
    ngx_rtmp_publish_t *v);
static ngx_int_t ngx_ws_stream_rtmp_close_stream(ngx_rtmp_session_t *s,
    ngx_rtmp_close_stream_t *v);
static ngx_int_t ngx_ws_stream_rtmp_av(ngx_rtmp_session_t *s,
    ngx_rtmp_header_t *h, ngx_chain_t *in);
static ngx_int_t ngx_ws_stream_rtmp_meta(ngx_rtmp_session_t *s,
    ngx_rtmp_header_t *h, ngx_chain_t *in);
static ngx_int_t ngx_ws_stream_rtmp_append(ngx_rtmp_session_t *s,
    ngx_ws_stream_rtmp_ctx_t *ctx, ngx_rtmp_header_t *h, ngx_chain_t *in,
    size_t skip);
static void ngx_ws_stream_rtmp_unpublish(ngx_ws_stream_rtmp_ctx_t *ctx);
static ngx_int_t ngx_ws_stream_rtmp_parse(ngx_rtmp_session_t *s,
    ngx_rtmp_header_t *h, ngx_chain_t *in, size_t skip, size_t len,
    ws_stream_flv_info_t *info);
static void ngx_ws_stream_rtmp_copy(u_char *dst, ngx_chain_t *in,
    size_t skip, size_t len);


static ngx_conf_num_bounds_t  ngx_ws_stream_rtmp_buffer_bounds = {
    ngx_conf_check_num_bounds, 64 * 1024, 1024 * 1024 * 1024
};


static ngx_command_t  ngx_ws_stream_rtmp_commands[] = {

    { ngx_string("ws_stream"),
      NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_ws_stream_rtmp_ws_stream,
      NGX_RTMP_APP_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_stream_variant"),
      NGX_RTMP_APP_CONF|NGX_CONF_1MORE,
      ngx_ws_stream_rtmp_variant,
      NGX_RTMP_APP_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_stream_buffer"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_ws_stream_rtmp_app_conf_t, buffer),
      &ngx_ws_stream_rtmp_buffer_bounds },

    { ngx_string("ws_stream_grace"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_ws_stream_rtmp_app_conf_t, grace),
      NULL },

      ngx_null_command
};


static ngx_rtmp_module_t  ngx_ws_stream_rtmp_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_ws_stream_rtmp_postconfiguration,  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    ngx_ws_stream_rtmp_create_app_conf,    /* create app configuration */
    ngx_ws_stream_rtmp_merge_app_conf      /* merge app configuration */
};


ngx_module_t  ngx_ws_stream_rtmp_module = {
    NGX_MODULE_V1,
    &ngx_ws_stream_rtmp_module_ctx,        /* module context */
    ngx_ws_stream_rtmp_commands,           /* module directives */
    NGX_RTMP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* nginx-rtmp, found at run time (see ngx_ws_stream_check_rtmp()) */

static ngx_module_t              *ngx_ws_stream_rtmp_core;
static ngx_uint_t                *ngx_ws_stream_rtmp_max;
static ngx_rtmp_publish_pt       *ngx_ws_stream_rtmp_publish_p;
static ngx_rtmp_close_stream_pt  *ngx_ws_stream_rtmp_close_p;

static ngx_rtmp_publish_pt        ngx_ws_stream_next_publish;
static ngx_rtmp_close_stream_pt   ngx_ws_stream_next_close_stream;

static void                     **ngx_ws_stream_rtmp_main_conf;


/*
 * nginx-rtmp must be loaded first: its symbols are looked up at run time
 * (the module has no link-time dependency on it), so a wrong order gives
 * this message instead of a dlopen() failure.
 */

ngx_int_t
ngx_ws_stream_check_rtmp(ngx_conf_t *cf)
{
    ngx_module_t  *core;

    core = dlsym(RTLD_DEFAULT, "ngx_rtmp_core_module");

    if (core == NULL || core->index >= ngx_ws_stream_module.index) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ngx_ws_stream_module needs ngx_rtmp_module "
                           "loaded before it: put \"load_module "
                           "modules/ngx_rtmp_module.so;\" above the "
                           "load_module line of ngx_ws_stream_module.so");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_ws_stream_rtmp_postconfiguration(ngx_conf_t *cf)
{
    ngx_rtmp_handler_pt        *h;
    ngx_rtmp_conf_ctx_t        *ctx;
    ngx_rtmp_core_main_conf_t  *cmcf;

    if (ngx_ws_stream_rtmp_resolve(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx = cf->ctx;
    cmcf = ctx->main_conf[ngx_ws_stream_rtmp_core->ctx_index];

    if (ngx_ws_stream_rtmp_check(cf, cmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_ws_stream_rtmp_main_conf = ctx->main_conf;

    h = ngx_array_push(&cmcf->events[NGX_RTMP_MSG_AUDIO]);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_ws_stream_rtmp_av;

    h = ngx_array_push(&cmcf->events[NGX_RTMP_MSG_VIDEO]);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_ws_stream_rtmp_av;

    h = ngx_array_push(&cmcf->events[NGX_RTMP_MSG_AMF_META]);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_ws_stream_rtmp_meta;

    /* an http block before this one has declared all its zones */

    if (cf->cycle->conf_ctx[ngx_http_module.index]
        && ngx_ws_stream_zones_declared(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_ws_stream_next_publish = *ngx_ws_stream_rtmp_publish_p;
    *ngx_ws_stream_rtmp_publish_p = ngx_ws_stream_rtmp_publish;

    ngx_ws_stream_next_close_stream = *ngx_ws_stream_rtmp_close_p;
    *ngx_ws_stream_rtmp_close_p = ngx_ws_stream_rtmp_close_stream;

    return NGX_OK;
}


static ngx_int_t
ngx_ws_stream_rtmp_resolve(ngx_conf_t *cf)
{
    if (ngx_ws_stream_check_rtmp(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_ws_stream_rtmp_core = dlsym(RTLD_DEFAULT, "ngx_rtmp_core_module");
    ngx_ws_stream_rtmp_max = dlsym(RTLD_DEFAULT, "ngx_rtmp_max_module");
    ngx_ws_stream_rtmp_publish_p = dlsym(RTLD_DEFAULT, "ngx_rtmp_publish");
    ngx_ws_stream_rtmp_close_p = dlsym(RTLD_DEFAULT,
                                       "ngx_rtmp_close_stream");

    if (ngx_ws_stream_rtmp_core == NULL
        || ngx_ws_stream_rtmp_max == NULL
        || ngx_ws_stream_rtmp_publish_p == NULL
        || ngx_ws_stream_rtmp_close_p == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "ngx_ws_stream_module: the loaded ngx_rtmp_module "
                           "lacks ngx_rtmp_publish, ngx_rtmp_close_stream or "
                           "ngx_rtmp_max_module: nginx-rtmp 1.2.x is "
                           "required");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The loaded nginx-rtmp must be laid out as declared in
 * ngx_ws_stream_rtmp.h; refuse to start otherwise.
 */

static ngx_int_t
ngx_ws_stream_rtmp_check(ngx_conf_t *cf, ngx_rtmp_core_main_conf_t *cmcf)
{
    ngx_uint_t     i, n;
    const char    *what;
    ngx_module_t  *rtmp;

    rtmp = dlsym(RTLD_DEFAULT, "ngx_rtmp_module");

    n = 0;

    for (i = 0; cf->cycle->modules[i]; i++) {
        if (cf->cycle->modules[i]->type == NGX_RTMP_MODULE) {
            n++;
        }
    }

    if (rtmp == NULL
        || rtmp->type != NGX_CORE_MODULE
        || rtmp->name == NULL
        || ngx_strcmp(rtmp->name, "ngx_rtmp_module") != 0)
    {
        what = "module ngx_rtmp_module";
        goto failed;
    }

    if (ngx_ws_stream_rtmp_core->type != NGX_RTMP_MODULE
        || ngx_ws_stream_rtmp_core->name == NULL
        || ngx_strcmp(ngx_ws_stream_rtmp_core->name, "ngx_rtmp_core_module")
           != 0)
    {
        what = "module ngx_rtmp_core_module";
        goto failed;
    }

    if (*ngx_ws_stream_rtmp_max != n) {
        what = "ngx_rtmp_max_module";
        goto failed;
    }

    if (cmcf == NULL) {
        what = "main configuration";
        goto failed;
    }

    for (i = 0; i < NGX_RTMP_MAX_EVENT; i++) {
        if (cmcf->events[i].size != sizeof(ngx_rtmp_handler_pt)
            || cmcf->events[i].pool != cf->pool
            || cmcf->events[i].nalloc == 0)
        {
            what = "event handler arrays";
            goto failed;
        }
    }

    if (cmcf->amf.size != sizeof(ngx_rtmp_amf_handler_t)
        || cmcf->amf.pool != cf->pool)
    {
        what = "AMF handler array";
        goto failed;
    }

    if (*ngx_ws_stream_rtmp_publish_p == NULL
        || *ngx_ws_stream_rtmp_close_p == NULL)
    {
        what = "publish and close_stream chains";
        goto failed;
    }

    return NGX_OK;

failed:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "ngx_ws_stream_module: the loaded nginx-rtmp does not "
                       "match the 1.2.x layout this module was built for "
                       "(%s differs); use Debian's libnginx-mod-rtmp 1.2.x",
                       what);
    return NGX_ERROR;
}


static void *
ngx_ws_stream_rtmp_create_app_conf(ngx_conf_t *cf)
{
    ngx_ws_stream_rtmp_app_conf_t  *wacf;

    wacf = ngx_pcalloc(cf->pool, sizeof(ngx_ws_stream_rtmp_app_conf_t));
    if (wacf == NULL) {
        return NULL;
    }

    wacf->buffer = NGX_CONF_UNSET_SIZE;
    wacf->grace = NGX_CONF_UNSET_MSEC;

    return wacf;
}


static char *
ngx_ws_stream_rtmp_merge_app_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_ws_stream_rtmp_app_conf_t *prev = parent;
    ngx_ws_stream_rtmp_app_conf_t *conf = child;

    ngx_conf_merge_size_value(conf->buffer, prev->buffer, 4 * 1024 * 1024);
    ngx_conf_merge_msec_value(conf->grace, prev->grace, 10000);

    return NGX_CONF_OK;
}


/* application: ws_stream zone; */

static char *
ngx_ws_stream_rtmp_ws_stream(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_stream_rtmp_app_conf_t *wacf = conf;

    ngx_str_t                 *value;
    ngx_module_t              *core;
    ngx_ws_stream_app_t       *app;
    ngx_rtmp_conf_ctx_t       *ctx;
    ngx_rtmp_core_app_conf_t  *cacf;

    if (wacf->zone) {
        return "is duplicate";
    }

    core = dlsym(RTLD_DEFAULT, "ngx_rtmp_core_module");
    if (core == NULL) {
        return "needs ngx_rtmp_module loaded before ngx_ws_stream_module";
    }

    ctx = cf->ctx;
    cacf = ctx->app_conf[core->ctx_index];

    if (cacf == NULL || cacf->name.len == 0
        || cacf->name.len >= NGX_WS_STREAM_APP_LEN)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_stream\" must be inside an application "
                           "whose name has 1 to %d characters",
                           NGX_WS_STREAM_APP_LEN - 1);
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    wacf->zone = ngx_ws_stream_zone_get(cf, &value[1]);
    if (wacf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    app = ngx_array_push(&wacf->zone->apps);
    if (app == NULL) {
        return NGX_CONF_ERROR;
    }

    app->name = cacf->name;
    app->variants = NULL;

    wacf->app = cacf->name;
    wacf->app_index = wacf->zone->apps.nelts - 1;

    return NGX_CONF_OK;
}


/*
 * ws_stream_variant suffix ...;  the stream names base + suffix form the
 * rendition group "base", highest rendition first.
 */

static char *
ngx_ws_stream_rtmp_variant(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_stream_rtmp_app_conf_t *wacf = conf;

    ngx_str_t            *value, *v;
    ngx_uint_t            i, k;
    ngx_ws_stream_app_t  *app;

    if (wacf->zone == NULL) {
        return "needs \"ws_stream\" before it in the application";
    }

    app = (ngx_ws_stream_app_t *) wacf->zone->apps.elts + wacf->app_index;

    if (app->variants) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts - 1 > NGX_WS_STREAM_VARIANTS_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_stream_variant\" takes at most %d "
                           "suffixes", NGX_WS_STREAM_VARIANTS_MAX);
        return NGX_CONF_ERROR;
    }

    app->variants = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                     sizeof(ngx_str_t));
    if (app->variants == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        if (value[i].len == 0 || value[i].len > 32
            || ngx_strlchr(value[i].data, value[i].data + value[i].len, '/'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid variant suffix \"%V\": 1 to 32 "
                               "characters, no \"/\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        for (k = 1; k < i; k++) {
            if (value[k].len == value[i].len
                && ngx_strncmp(value[k].data, value[i].data, value[i].len)
                   == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "variant suffix \"%V\" is given twice",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        v = ngx_array_push(app->variants);
        if (v == NULL) {
            return NGX_CONF_ERROR;
        }

        *v = value[i];
    }

    return NGX_CONF_OK;
}


/*
 * Before reading a session: it belongs to this cycle's nginx-rtmp and to
 * one of this cycle's connections.  A mismatch is logged once and the
 * session left alone.
 */

static ngx_uint_t
ngx_ws_stream_rtmp_session_ok(ngx_rtmp_session_t *s)
{
    ngx_connection_t  *c;

    static ngx_uint_t  logged;

    c = s->connection;

    if (s->main_conf == ngx_ws_stream_rtmp_main_conf
        && c >= ngx_cycle->connections
        && c < ngx_cycle->connections + ngx_cycle->connection_n
        && c->data == s)
    {
        return 1;
    }

    if (!logged) {
        logged = 1;
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "ws_stream: an nginx-rtmp session does not look as "
                      "expected; not capturing it (is the loaded "
                      "nginx-rtmp 1.2.x?)");
    }

    return 0;
}


static ngx_int_t
ngx_ws_stream_rtmp_publish(ngx_rtmp_session_t *s, ngx_rtmp_publish_t *v)
{
    size_t                          len;
    ngx_int_t                       rc;
    ngx_ws_stream_rtmp_ctx_t       *ctx;
    ngx_ws_stream_rtmp_app_conf_t  *wacf;

    ctx = NULL;

    if (!ngx_ws_stream_rtmp_session_ok(s) || s->app_conf == NULL) {
        goto next;
    }

    wacf = s->app_conf[ngx_ws_stream_rtmp_module.ctx_index];

    if (wacf == NULL || wacf->zone == NULL || wacf->zone->sh == NULL) {
        goto next;
    }

    len = ngx_strnlen(v->name, NGX_RTMP_MAX_NAME);

    if (len == 0 || len >= NGX_WS_STREAM_NAME_LEN) {
        ngx_log_error(NGX_LOG_WARN, s->connection->log, 0,
                      "ws_stream: stream name of %uz bytes not captured "
                      "(1 to %d)", len, NGX_WS_STREAM_NAME_LEN - 1);
        goto next;
    }

    ctx = s->ctx[ngx_ws_stream_rtmp_module.ctx_index];

    if (ctx == NULL) {
        ctx = ngx_pcalloc(s->connection->pool,
                          sizeof(ngx_ws_stream_rtmp_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        ctx->stream = -1;
        s->ctx[ngx_ws_stream_rtmp_module.ctx_index] = ctx;
    }

    if (ctx->stream >= 0) {
        /* a second publish on the same session */
        ngx_ws_stream_rtmp_unpublish(ctx);
        ctx->stream = -1;
    }

    ctx->name.data = ngx_pnalloc(s->connection->pool, len);
    if (ctx->name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ctx->name.data, v->name, len);
    ctx->name.len = len;

    rc = ngx_ws_stream_publish(wacf->zone, &wacf->app, &ctx->name,
                               wacf->buffer, wacf->grace, s->connection->log);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "ws_stream: \"%V/%V\" already has a publisher",
                      &wacf->app, &ctx->name);
        goto next;
    }

    ctx->zone = wacf->zone;
    ctx->stream = rc;
    ctx->online = 0;
    ctx->warned = 0;

    ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                  "ws_stream: publish \"%V/%V\"", &wacf->app, &ctx->name);

next:

    rc = ngx_ws_stream_next_publish(s, v);

    if (rc != NGX_OK) {
        /* refused after us (access, notify, live): leave no trace */

        if (ctx && ctx->stream >= 0) {
            ngx_ws_stream_rtmp_unpublish(ctx);
            ctx->stream = -1;
        }
    }

    return rc;
}


static void
ngx_ws_stream_rtmp_unpublish(ngx_ws_stream_rtmp_ctx_t *ctx)
{
    if (ctx->online) {
        ngx_ws_stream_hls_stop(ctx->zone, ctx->stream, &ctx->hls);
    }

    ngx_ws_stream_unpublish(ctx->zone, ctx->stream);
}


static ngx_int_t
ngx_ws_stream_rtmp_close_stream(ngx_rtmp_session_t *s,
    ngx_rtmp_close_stream_t *v)
{
    ngx_ws_stream_rtmp_ctx_t  *ctx;

    if (ngx_ws_stream_rtmp_session_ok(s)) {
        ctx = s->ctx[ngx_ws_stream_rtmp_module.ctx_index];

        if (ctx && ctx->stream >= 0) {
            ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                          "ws_stream: unpublish \"%V\"", &ctx->name);

            ngx_ws_stream_rtmp_unpublish(ctx);
            ctx->stream = -1;
        }
    }

    return ngx_ws_stream_next_close_stream(s, v);
}


static ngx_int_t
ngx_ws_stream_rtmp_av(ngx_rtmp_session_t *s, ngx_rtmp_header_t *h,
    ngx_chain_t *in)
{
    ngx_ws_stream_rtmp_ctx_t  *ctx;

    if (!ngx_ws_stream_rtmp_session_ok(s)) {
        return NGX_OK;
    }

    ctx = s->ctx[ngx_ws_stream_rtmp_module.ctx_index];

    if (ctx && ctx->stream >= 0) {
        (void) ngx_ws_stream_rtmp_append(s, ctx, h, in, 0);
    }

    return NGX_OK;
}


/*
 * AMF0 data: "@setDataFrame" "onMetaData" {...} from encoders, or
 * "onMetaData" {...}; viewers get "onMetaData" and what follows, as the
 * stream's configuration.  Other data a publisher sends in band (OBS's and
 * ffmpeg's "onTextData", "onCuePoint", "onCaption"...: a name of letters,
 * digits and "_") goes to viewers as a data frame of its time, in order
 * with the media.
 */

static ngx_int_t
ngx_ws_stream_rtmp_meta(ngx_rtmp_session_t *s, ngx_rtmp_header_t *h,
    ngx_chain_t *in)
{
    u_char                     buf[32], *p;
    size_t                     n, skip, len;
    ngx_chain_t               *cl;
    ngx_ws_stream_rtmp_ctx_t  *ctx;

    static u_char  set_data_frame[] = "\x02\x00\x0d@setDataFrame";
    static u_char  on_meta_data[] = "\x02\x00\x0aonMetaData";

    if (!ngx_ws_stream_rtmp_session_ok(s)) {
        return NGX_OK;
    }

    ctx = s->ctx[ngx_ws_stream_rtmp_module.ctx_index];

    if (ctx == NULL || ctx->stream < 0) {
        return NGX_OK;
    }

    /* the first bytes, whatever the chain's buffers */

    n = 0;

    for (cl = in; cl && n < sizeof(buf); cl = cl->next) {
        len = ngx_min((size_t) (cl->buf->last - cl->buf->pos),
                      sizeof(buf) - n);
        ngx_memcpy(buf + n, cl->buf->pos, len);
        n += len;
    }

    skip = 0;

    if (n >= sizeof(set_data_frame) - 1
        && ngx_memcmp(buf, set_data_frame, sizeof(set_data_frame) - 1) == 0)
    {
        skip = sizeof(set_data_frame) - 1;
    }

    if (n - skip >= sizeof(on_meta_data) - 1
        && ngx_memcmp(buf + skip, on_meta_data, sizeof(on_meta_data) - 1)
           == 0)
    {
        (void) ngx_ws_stream_rtmp_append(s, ctx, h, in, skip);
        return NGX_OK;
    }

    /* an AMF0 string: 0x02, a 16-bit length, the name */

    if (n - skip < 4 || buf[skip] != 0x02) {
        return NGX_OK;
    }

    len = (buf[skip + 1] << 8) | buf[skip + 2];

    if (len == 0 || len > n - skip - 3) {
        return NGX_OK;
    }

    for (p = buf + skip + 3; p < buf + skip + 3 + len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_'))
        {
            return NGX_OK;
        }
    }

    ctx->cue = 1;
    (void) ngx_ws_stream_rtmp_append(s, ctx, h, in, skip);
    ctx->cue = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_ws_stream_rtmp_append(ngx_rtmp_session_t *s,
    ngx_ws_stream_rtmp_ctx_t *ctx, ngx_rtmp_header_t *h, ngx_chain_t *in,
    size_t skip)
{
    int                    sync;
    u_char                *p, *frame, *payload;
    size_t                 len, hlen, flen;
    uint8_t                hdr[WS_STREAM_WS_MAX_HDR];
    uint64_t               ingest;
    ngx_int_t              rc, hls;
    ngx_uint_t             kind, which;
    ngx_chain_t           *cl;
    ngx_ws_stream_entry_t *e;
    ws_stream_flv_info_t   info;

    len = 0;

    for (cl = in; cl; cl = cl->next) {
        len += cl->buf->last - cl->buf->pos;
    }

    if (len <= skip) {
        return NGX_OK;
    }

    len -= skip;

    e = &ctx->zone->sh->streams[ctx->stream];

    /* parsed before anything is reserved: a message that is dropped or
     * ignored must not cost the ring the records it would overwrite */

    rc = ngx_ws_stream_rtmp_parse(s, h, in, skip, len, &info);

    if (rc == NGX_ERROR) {
        (void) ngx_atomic_fetch_add(&e->dropped, 1);

        if (!ctx->warned) {
            ctx->warned = 1;
            ngx_log_error(NGX_LOG_WARN, s->connection->log, 0,
                          "ws_stream: dropping %s messages of \"%V\": %s",
                          h->type == NGX_RTMP_MSG_VIDEO ? "video" : "audio",
                          &ctx->name, info.error);
        }

        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    if (ctx->cue) {
        /* in-band data of its time, not the stream's configuration */
        info.flags = 0;
    }

    if (!ctx->online) {
        ctx->online = 1;
        ngx_ws_stream_online(ctx->zone, ctx->stream);
        ngx_ws_stream_stats_online(e, &s->connection->addr_text);
        (void) ngx_ws_stream_hls_start(ctx->zone, ctx->stream, &ctx->hls,
                                       s->connection->log);
    }

    /* a frame that starts an HLS part closes the open one first */

    hls = NGX_DECLINED;

    if (info.track != WS_STREAM_TRACK_DATA
        && !(info.flags & WS_STREAM_FLAG_CONFIG))
    {
        hls = ngx_ws_stream_hls_cut(ctx->zone, ctx->stream, &ctx->hls,
                                    &info, h->timestamp);
    }

    hlen = ws_stream_ws_header(hdr, WS_STREAM_WS_BINARY,
                               WS_STREAM_MEDIA_HDR + len);
    flen = hlen + WS_STREAM_MEDIA_HDR + len;

    frame = ws_stream_ring_reserve(&e->ring, flen);

    if (frame == NULL) {
        (void) ngx_atomic_fetch_add(&e->dropped, 1);

        ngx_log_error(NGX_LOG_WARN, s->connection->log, 0,
                      "ws_stream: %uz-byte message of \"%V\" is larger than "
                      "half of ws_stream_buffer; dropped", len, &ctx->name);
        return NGX_ERROR;
    }

    payload = frame + hlen + WS_STREAM_MEDIA_HDR;
    ngx_ws_stream_rtmp_copy(payload, in, skip, len);

    kind = info.track | info.flags;
    ingest = ngx_ws_stream_now_ms();

    p = ngx_cpymem(frame, hdr, hlen);
    *p++ = (u_char) kind;
    p = ws_stream_wb(p, h->timestamp, 4);
    p = ws_stream_wb(p, (uint32_t) info.cts & 0xffffff, 3);
    (void) ws_stream_wb(p, ingest, 6);

    if (info.track == WS_STREAM_TRACK_VIDEO) {
        e->has_video = 1;
    }

    if (info.flags & WS_STREAM_FLAG_CONFIG) {
        which = (info.track == WS_STREAM_TRACK_VIDEO)
                ? NGX_WS_STREAM_CONF_VIDEO
                : (info.track == WS_STREAM_TRACK_AUDIO)
                  ? NGX_WS_STREAM_CONF_AUDIO : NGX_WS_STREAM_CONF_META;

        /* late joiners copy this one; it must be there before the
         * record, so that nobody starts after the record without it */

        (void) ngx_ws_stream_set_conf(ctx->zone, ctx->stream, which, frame,
                                      flen, s->connection->log);
        sync = 0;

    } else if (info.track == WS_STREAM_TRACK_VIDEO) {
        sync = (info.flags & WS_STREAM_FLAG_KEY) != 0;

    } else {
        /* audio of a stream without video; in-band data never */
        sync = (info.track == WS_STREAM_TRACK_AUDIO && !e->has_video);
    }

    ws_stream_ring_commit(&e->ring, WS_STREAM_REC_MEDIA, kind,
                          h->timestamp, ingest, sync);

    /* MP3 has no sequence header: each frame tells */

    if ((info.flags & WS_STREAM_FLAG_CONFIG)
        || (info.track == WS_STREAM_TRACK_AUDIO
            && info.codec == WS_STREAM_CODEC_MP3
            && e->stats.pub.acodec[0] == '\0'))
    {
        ngx_ws_stream_stats_config(e, info.track, info.codec_string,
                                   info.width, info.height,
                                   info.sample_rate, info.channels);
    }

    ngx_ws_stream_stats_frame(e, info.track, info.flags, h->timestamp, len,
                              ingest);

    if (hls == NGX_OK) {
        ngx_ws_stream_hls_add(&ctx->hls, &info, h->timestamp, ingest,
                              e->ring.wpos, e->ring.seq - 1,
                              hlen + WS_STREAM_MEDIA_HDR, len);

    } else if ((info.flags & WS_STREAM_FLAG_CONFIG)
               && info.track != WS_STREAM_TRACK_DATA)
    {
        ngx_ws_stream_hls_config(ctx->zone, ctx->stream, &ctx->hls,
                                 info.track == WS_STREAM_TRACK_VIDEO);
    }

    (void) ngx_atomic_fetch_add(&e->frames, 1);
    (void) ngx_atomic_fetch_add(&e->bytes, len);

    ngx_ws_stream_wake(ctx->zone, ctx->stream);

    return NGX_OK;
}


/*
 * NGX_OK: a message to store; NGX_DECLINED: nothing to decode in it (end
 * of sequence, video info/command frames, enhanced RTMP metadata);
 * NGX_ERROR: malformed, info->error says why.  A coded frame is parsed
 * from its first bytes; only a sequence header, small and rare, is
 * gathered whole when nginx-rtmp's chain splits it.
 */

static ngx_int_t
ngx_ws_stream_rtmp_parse(ngx_rtmp_session_t *s, ngx_rtmp_header_t *h,
    ngx_chain_t *in, size_t skip, size_t len, ws_stream_flv_info_t *info)
{
    int       rc;
    u_char   *p;
    size_t    n;
    u_char    peek[WS_STREAM_FLV_PEEK];

    if (h->type != NGX_RTMP_MSG_VIDEO && h->type != NGX_RTMP_MSG_AUDIO) {
        ngx_memzero(info, sizeof(ws_stream_flv_info_t));
        info->track = WS_STREAM_TRACK_DATA;
        info->flags = WS_STREAM_FLAG_CONFIG;
        return NGX_OK;
    }

    n = ngx_min(len, WS_STREAM_FLV_PEEK);
    ngx_ws_stream_rtmp_copy(peek, in, skip, n);

    rc = (h->type == NGX_RTMP_MSG_VIDEO)
         ? ws_stream_flv_parse_video(peek, n, info)
         : ws_stream_flv_parse_audio(peek, n, info);

    if (len > n
        && (rc != WS_STREAM_OK || (info->flags & WS_STREAM_FLAG_CONFIG)))
    {
        p = ngx_alloc(len, s->connection->log);
        if (p == NULL) {
            info->error = "out of memory";
            return NGX_ERROR;
        }

        ngx_ws_stream_rtmp_copy(p, in, skip, len);

        rc = (h->type == NGX_RTMP_MSG_VIDEO)
             ? ws_stream_flv_parse_video(p, len, info)
             : ws_stream_flv_parse_audio(p, len, info);

        ngx_free(p);
    }

    if (rc != WS_STREAM_OK) {
        return NGX_ERROR;
    }

    if (info->end
        || (h->type == NGX_RTMP_MSG_VIDEO
            && (((peek[0] >> 4) & 7) == 5
                || ((peek[0] & 0x80) && (peek[0] & 0x0f) == 4))))
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static void
ngx_ws_stream_rtmp_copy(u_char *dst, ngx_chain_t *in, size_t skip,
    size_t len)
{
    size_t        n;
    u_char       *pos;
    ngx_chain_t  *cl;

    for (cl = in; cl && len; cl = cl->next) {
        pos = cl->buf->pos;
        n = cl->buf->last - pos;

        if (skip >= n) {
            skip -= n;
            continue;
        }

        pos += skip;
        n -= skip;
        skip = 0;

        n = ngx_min(n, len);
        dst = ngx_cpymem(dst, pos, n);
        len -= n;
    }
}
