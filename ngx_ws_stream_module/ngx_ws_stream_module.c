
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The HTTP half of the module: the shared zone, the WebSocket location's
 * directives, the process life cycle and the janitor timer.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"


static ngx_int_t ngx_ws_stream_postconfiguration(ngx_conf_t *cf);
static void *ngx_ws_stream_create_loc_conf(ngx_conf_t *cf);
static char *ngx_ws_stream_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_ws_stream_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ws_stream(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_ws_stream_trusted_proxy(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_ws_stream_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_ws_stream_init_process(ngx_cycle_t *cycle);
static void ngx_ws_stream_exit_process(ngx_cycle_t *cycle);
static void ngx_ws_stream_exit_master(ngx_cycle_t *cycle);
static void ngx_ws_stream_janitor_handler(ngx_event_t *ev);


static ngx_conf_num_bounds_t  ngx_ws_stream_max_message_bounds = {
    ngx_conf_check_num_bounds, 125, 16 * 1024 * 1024
};


/* a target the player can hold: 0 (none: the player's own) .. 60 s */
static ngx_conf_num_bounds_t  ngx_ws_stream_latency_bounds = {
    ngx_conf_check_num_bounds, 0, 60000
};


static ngx_conf_num_bounds_t  ngx_ws_stream_coalesce_bounds = {
    ngx_conf_check_num_bounds, 0, 1000
};


static ngx_command_t  ngx_ws_stream_commands[] = {

    { ngx_string("ws_stream_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_ws_stream_zone,
      0,
      0,
      NULL },

    { ngx_string("ws_stream"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_ws_stream,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_stream_max_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_stream_loc_conf_t, max_message),
      &ngx_ws_stream_max_message_bounds },

    { ngx_string("ws_stream_ping_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_stream_loc_conf_t, ping_interval),
      NULL },

    { ngx_string("ws_stream_send_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_stream_loc_conf_t, send_timeout),
      NULL },

    { ngx_string("ws_stream_stats"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_stream_loc_conf_t, stats),
      NULL },

    { ngx_string("ws_stream_max_lag"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_stream_loc_conf_t, max_lag),
      NULL },

    { ngx_string("ws_stream_latency"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_stream_loc_conf_t, latency),
      &ngx_ws_stream_latency_bounds },

    { ngx_string("ws_stream_switch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_stream_loc_conf_t, channels),
      NULL },

    { ngx_string("ws_stream_send_lowat"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_stream_loc_conf_t, send_lowat),
      NULL },

    { ngx_string("ws_stream_coalesce"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ws_stream_loc_conf_t, coalesce),
      &ngx_ws_stream_coalesce_bounds },

    { ngx_string("ws_stream_abr"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_ws_stream_abr_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ws_stream_trusted_proxy"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_ws_stream_trusted_proxy,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_ws_stream_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_ws_stream_postconfiguration,       /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_ws_stream_create_loc_conf,         /* create location configuration */
    ngx_ws_stream_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_ws_stream_module = {
    NGX_MODULE_V1,
    &ngx_ws_stream_module_ctx,             /* module context */
    ngx_ws_stream_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_ws_stream_init_module,             /* init module */
    ngx_ws_stream_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_ws_stream_exit_process,            /* exit process */
    ngx_ws_stream_exit_master,             /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_event_t        ngx_ws_stream_janitor_event;


#define NGX_WS_STREAM_JANITOR   1000


static ngx_int_t
ngx_ws_stream_postconfiguration(ngx_conf_t *cf)
{
    if (ngx_ws_stream_check_rtmp(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_ws_stream_zones_declared(cf);
}


/*
 * Every zone named by a "ws_stream" is declared by "ws_stream_zone";
 * checked once both blocks are parsed, or nginx would only say "zero
 * size shared memory zone".
 */

ngx_int_t
ngx_ws_stream_zones_declared(ngx_conf_t *cf)
{
    ngx_uint_t             i;
    ngx_list_part_t       *part;
    ngx_ws_stream_zone_t  *zone;

    part = NULL;
    i = 0;

    while ((zone = ngx_ws_stream_zone_next(cf->cycle, &part, &i))) {
        if (!zone->declared) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "ws_stream zone \"%V\" is used but not "
                               "declared: add \"ws_stream_zone zone=%V:32m;\" "
                               "to the http block", &zone->name,
                               &zone->name);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void *
ngx_ws_stream_create_loc_conf(ngx_conf_t *cf)
{
    ngx_ws_stream_loc_conf_t  *wlcf;

    wlcf = ngx_pcalloc(cf->pool, sizeof(ngx_ws_stream_loc_conf_t));
    if (wlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     wlcf->zone = NULL;
     *     wlcf->batch = NULL;
     */

    wlcf->stats = NGX_CONF_UNSET;
    wlcf->max_lag = NGX_CONF_UNSET_MSEC;
    wlcf->latency = NGX_CONF_UNSET_MSEC;
    wlcf->send_lowat = NGX_CONF_UNSET_SIZE;
    wlcf->coalesce = NGX_CONF_UNSET_MSEC;
    wlcf->trusted = NGX_CONF_UNSET_PTR;
    wlcf->abr = NGX_CONF_UNSET;
    wlcf->channels = NGX_CONF_UNSET;

    wlcf->enable = NGX_CONF_UNSET;
    wlcf->max_message = NGX_CONF_UNSET_SIZE;
    wlcf->ping_interval = NGX_CONF_UNSET_MSEC;
    wlcf->send_timeout = NGX_CONF_UNSET_MSEC;

    return wlcf;
}


static char *
ngx_ws_stream_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_ws_stream_loc_conf_t *prev = parent;
    ngx_ws_stream_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_size_value(conf->max_message, prev->max_message, 4096);
    ngx_conf_merge_msec_value(conf->ping_interval, prev->ping_interval,
                              30000);
    ngx_conf_merge_msec_value(conf->send_timeout, prev->send_timeout, 10000);
    ngx_conf_merge_value(conf->stats, prev->stats, 1);
    ngx_conf_merge_ptr_value(conf->trusted, prev->trusted, NULL);
    ngx_conf_merge_msec_value(conf->max_lag, prev->max_lag, 2000);
    ngx_conf_merge_msec_value(conf->latency, prev->latency, 0);
    ngx_conf_merge_value(conf->channels, prev->channels, 0);
    ngx_conf_merge_size_value(conf->send_lowat, prev->send_lowat, 65536);
    ngx_conf_merge_msec_value(conf->coalesce, prev->coalesce, 0);

    if (conf->abr == NGX_CONF_UNSET) {
        if (prev->abr == NGX_CONF_UNSET) {
            prev->abr = 1;
            ws_stream_abr_conf_default(&prev->abr_conf);
        }

        conf->abr = prev->abr;
        conf->abr_start = prev->abr_start;
        conf->abr_conf = prev->abr_conf;
    }

    if (!conf->enable || conf->zone) {
        return NGX_CONF_OK;
    }

    conf->zone = ngx_ws_stream_zone_default(cf, "ws_stream");

    return conf->zone ? NGX_CONF_OK : NGX_CONF_ERROR;
}


/* "ws_stream;" or "ws_stream_hls;" without a name: the only declared zone */

ngx_ws_stream_zone_t *
ngx_ws_stream_zone_default(ngx_conf_t *cf, const char *directive)
{
    ngx_uint_t             n, i;
    ngx_list_part_t       *part;
    ngx_ws_stream_zone_t  *zone, *found;

    n = 0;
    found = NULL;
    part = NULL;
    i = 0;

    while ((zone = ngx_ws_stream_zone_next(cf->cycle, &part, &i))) {
        if (zone->declared) {
            found = zone;
            n++;
        }
    }

    if (n != 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           n ? "\"%s\" must name its zone when several "
                               "\"ws_stream_zone\" are declared"
                             : "\"%s\" needs a \"ws_stream_zone\" in the "
                               "http block", directive);
        return NULL;
    }

    return found;
}


ngx_ws_stream_zone_t *
ngx_ws_stream_zone_get(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_shm_zone_t        *shm_zone;
    ngx_ws_stream_zone_t  *zone;

    shm_zone = ngx_shared_memory_add(cf, name, 0, &ngx_ws_stream_module);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        return shm_zone->data;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_ws_stream_zone_t));
    if (zone == NULL) {
        return NULL;
    }

    if (ngx_array_init(&zone->apps, cf->pool, 4,
                       sizeof(ngx_ws_stream_app_t))
        != NGX_OK)
    {
        return NULL;
    }

    zone->name = *name;
    zone->shm_zone = shm_zone;
    zone->streams = 64;
    zone->proc = -1;

    shm_zone->init = ngx_ws_stream_init_zone;
    shm_zone->data = zone;
    shm_zone->noreuse = 0;

    return zone;
}


ngx_ws_stream_zone_t *
ngx_ws_stream_zone_next(ngx_cycle_t *cycle, ngx_list_part_t **part,
    ngx_uint_t *i)
{
    ngx_shm_zone_t  *shm_zone;

    if (*part == NULL) {
        *part = &cycle->shared_memory.part;
        *i = 0;
    }

    for ( ;; ) {

        if (*i >= (*part)->nelts) {
            if ((*part)->next == NULL) {
                return NULL;
            }

            *part = (*part)->next;
            *i = 0;
            continue;
        }

        shm_zone = (ngx_shm_zone_t *) (*part)->elts + (*i)++;

        if (shm_zone->tag == &ngx_ws_stream_module && shm_zone->data) {
            return shm_zone->data;
        }
    }
}


/* ws_stream_zone zone=name:size [streams=number]; */

static char *
ngx_ws_stream_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char                *p;
    ssize_t                size;
    ngx_int_t              streams;
    ngx_str_t             *value, name, s;
    ngx_uint_t             i;
    ngx_ws_stream_zone_t  *zone;

    value = cf->args->elts;

    size = 0;
    streams = 64;
    name.len = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {

            name.data = value[i].data + 5;
            p = (u_char *) ngx_strchr(name.data, ':');

            if (p == NULL) {
                goto invalid_zone;
            }

            name.len = p - name.data;

            s.data = p + 1;
            s.len = value[i].data + value[i].len - s.data;

            size = ngx_parse_size(&s);

            if (name.len == 0 || size == NGX_ERROR) {
                goto invalid_zone;
            }

            if (size < (ssize_t) (8 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "zone \"%V\" is too small: at least %uz "
                                   "bytes", &name, 8 * ngx_pagesize);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "streams=", 8) == 0) {

            streams = ngx_atoi(value[i].data + 8, value[i].len - 8);

            if (streams < 1 || streams > 65536) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\": streams= takes a number "
                                   "from 1 to 65536", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have the \"zone=name:size\" "
                           "parameter", &cmd->name);
        return NGX_CONF_ERROR;
    }

    zone = ngx_ws_stream_zone_get(cf, &name);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (zone->declared) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    zone->declared = 1;
    zone->streams = streams;
    zone->shm_zone->shm.size = size;

    return NGX_CONF_OK;

invalid_zone:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid zone \"%V\": use zone=name:size",
                       &value[i]);
    return NGX_CONF_ERROR;
}


/* location: ws_stream [zone]; */

static char *
ngx_ws_stream(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_stream_loc_conf_t *wlcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (wlcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    wlcf->enable = 1;

    if (cf->args->nelts == 2) {
        value = cf->args->elts;

        wlcf->zone = ngx_ws_stream_zone_get(cf, &value[1]);
        if (wlcf->zone == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_ws_stream_handler;

    return NGX_CONF_OK;
}


/* ws_stream_trusted_proxy address | CIDR ...; */

static char *
ngx_ws_stream_trusted_proxy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_stream_loc_conf_t *wlcf = conf;

    ngx_int_t    rc;
    ngx_str_t   *value;
    ngx_uint_t   i;
    ngx_cidr_t  *cidr;

    if (wlcf->trusted != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    wlcf->trusted = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                     sizeof(ngx_cidr_t));
    if (wlcf->trusted == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        cidr = ngx_array_push(wlcf->trusted);
        if (cidr == NULL) {
            return NGX_CONF_ERROR;
        }

        rc = ngx_ptocidr(&value[i], cidr);

        if (rc == NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid address or network \"%V\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_DONE) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "low address bits of %V are meaningless",
                               &value[i]);
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_ws_stream_init_module(ngx_cycle_t *cycle)
{
    return ngx_ws_stream_wake_init_module(cycle);
}


static ngx_int_t
ngx_ws_stream_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t             i, slot;
    ngx_list_part_t       *part;
    ngx_ws_stream_zone_t  *zone;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    part = NULL;
    i = 0;

    while ((zone = ngx_ws_stream_zone_next(cycle, &part, &i))) {

        if (zone->sh == NULL) {
            continue;
        }

        if (ngx_ws_stream_local_init(zone, cycle->log) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_ws_stream_proc_register(zone, cycle->log) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                          "ws_stream zone \"%V\": more than %d processes, "
                          "viewers on this worker will not be served",
                          &zone->name, NGX_WS_STREAM_MAX_PROCS);
        }
    }

    slot = (ngx_process == NGX_PROCESS_WORKER) ? (ngx_uint_t) ngx_worker : 0;

    if (ngx_ws_stream_wake_init_process(cycle, slot) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_ws_stream_janitor_event.handler = ngx_ws_stream_janitor_handler;
    ngx_ws_stream_janitor_event.log = cycle->log;
    ngx_ws_stream_janitor_event.cancelable = 1;

    ngx_add_timer(&ngx_ws_stream_janitor_event, NGX_WS_STREAM_JANITOR);

    return NGX_OK;
}


static void
ngx_ws_stream_exit_process(ngx_cycle_t *cycle)
{
    ngx_ws_stream_wake_stop();
}


static void
ngx_ws_stream_exit_master(ngx_cycle_t *cycle)
{
    ngx_ws_stream_wake_exit_master();
}


static void
ngx_ws_stream_janitor_handler(ngx_event_t *ev)
{
    ngx_uint_t             i;
    ngx_list_part_t       *part;
    ngx_ws_stream_zone_t  *zone;

    part = NULL;
    i = 0;

    while ((zone = ngx_ws_stream_zone_next((ngx_cycle_t *) ngx_cycle, &part,
                                           &i)))
    {
        if (zone->local == NULL) {
            continue;
        }

        /* every waiter, changed or not: viewers of retired rings leave
         * them, parked requests see their time */
        ngx_ws_stream_wake_local(zone, 1);
        ngx_ws_stream_janitor(zone, ev->log);
        ngx_ws_stream_stats_tick(zone);
    }

    if (ngx_exiting) {
        ngx_ws_stream_wake_stop();
    }

    ngx_add_timer(ev, NGX_WS_STREAM_JANITOR);
}


uint64_t
ngx_ws_stream_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (uint64_t) tp->sec * 1000 + tp->msec;
}
