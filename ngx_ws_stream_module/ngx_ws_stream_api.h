
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The readers of the statistics: the JSON API (ngx_ws_stream_api.c) and
 * the Prometheus metrics (ngx_ws_stream_metrics.c) share the snapshots
 * taken under the zone's mutex.
 */


#ifndef _NGX_WS_STREAM_API_H_INCLUDED_
#define _NGX_WS_STREAM_API_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"


#define NGX_WS_STREAM_API_LIMIT     100     /* viewers per page */
#define NGX_WS_STREAM_API_LIMIT_MAX 1000


/* one stream, summed over the workers */
typedef struct {
    u_char                     app[NGX_WS_STREAM_APP_LEN];
    u_char                     name[NGX_WS_STREAM_NAME_LEN];
    size_t                     app_len;
    size_t                     name_len;

    ngx_uint_t                 online;
    uint64_t                   started;     /* wall clock ms */

    /* a rendition of a group (ws_stream_variant): the group's name is
     * the first group_len bytes of name, the suffix in the configuration;
     * group_len 0: a plain stream */
    size_t                     group_len;
    ngx_uint_t                 group_index;    /* in ws_stream_variant */
    ngx_str_t                  rendition;

    ngx_ws_stream_pub_stats_t  pub;

    uint64_t                   frames;
    uint64_t                   bytes;
    uint64_t                   dropped;
    uint64_t                   skips;
    uint64_t                   torn;

    ngx_ws_stream_counts_t     c;
    ws_stream_now_t            now;
    uint64_t                   websocket;
    uint64_t                   hls_clients;
    uint64_t                   peak;

    ngx_uint_t                 nworkers;
    struct {
        ngx_pid_t              pid;
        uint32_t               websocket;
    }                          workers[NGX_WS_STREAM_MAX_PROCS];
} ngx_ws_stream_snap_t;


typedef struct {
    ngx_ws_stream_zone_t      *zone;
    ngx_uint_t                 type;        /* NGX_WS_STREAM_API_* */
} ngx_ws_stream_api_loc_conf_t;


#define NGX_WS_STREAM_API_JSON      1
#define NGX_WS_STREAM_API_METRICS   2


/* ngx_ws_stream_api.c */
ngx_array_t *ngx_ws_stream_snapshot(ngx_ws_stream_zone_t *zone,
    ngx_str_t *app, ngx_str_t *name, ngx_pool_t *pool);
ngx_int_t ngx_ws_stream_api_send(ngx_http_request_t *r, const char *type,
    ws_stream_out_t *o);

/* ngx_ws_stream_api_json.c */
void ngx_ws_stream_json_server(ws_stream_out_t *o, ngx_ws_stream_zone_t *zone,
    ngx_array_t *snaps);
void ngx_ws_stream_json_stream(ws_stream_out_t *o, ngx_ws_stream_snap_t *s,
    uint64_t now);
void ngx_ws_stream_json_viewer(ws_stream_out_t *o, ngx_ws_stream_listed_t *l,
    uint64_t now);

/* ngx_ws_stream_metrics.c */
ngx_int_t ngx_ws_stream_metrics_write(ngx_ws_stream_zone_t *zone,
    ngx_array_t *snaps, ws_stream_out_t *o);


extern ngx_module_t  ngx_ws_stream_api_module;


#endif /* _NGX_WS_STREAM_API_H_INCLUDED_ */
