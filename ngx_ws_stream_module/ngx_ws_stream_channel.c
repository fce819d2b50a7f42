
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Channels: a viewer switches to another stream on its open connection
 * (ws_stream_switch on).  It is then what a new connection to that name
 * would be: a viewer of that stream, or of that rendition group, sent a
 * "channel" notice (the hello of the new stream), its codec
 * configuration, and its frames from the newest keyframe.
 *
 * Access: a switch never leaves the location that accepted the
 * connection.  The location's access rules (allow/deny, auth_request,
 * tokens in the URI) ran for the stream the connection was opened for;
 * turning switching on says they hold for every stream the location
 * serves (docs/directives.md).  A name the location's applications do not
 * have gets the answer a new connection would get, 404; a full zone, 503.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_viewer.h"


static ngx_int_t ngx_ws_stream_channel_failed(ngx_ws_stream_viewer_t *v,
    ws_stream_client_msg_t *m, ngx_uint_t status, const char *reason);


ngx_int_t
ngx_ws_stream_channel(ngx_ws_stream_viewer_t *v, ws_stream_client_msg_t *m)
{
    u_char                 *slash;
    ngx_int_t               stream;
    ngx_str_t               app, name;
    ngx_pool_t             *pool, *old_pool;
    ngx_connection_t       *c;
    ngx_ws_stream_zone_t   *zone;
    ngx_ws_stream_group_t  *group, *old_group;

    c = v->connection;
    zone = v->zone;

    if (!v->conf->channels) {
        return ngx_ws_stream_channel_failed(v, m, 403,
                                            "switching is off here");
    }

    /* "app/name", as the last two parts of a new connection's URI */

    app.data = (u_char *) m->stream;
    slash = ngx_strlchr(app.data, app.data + m->stream_len, '/');

    if (slash == NULL) {
        return ngx_ws_stream_channel_failed(v, m, 404, "no such stream");
    }

    app.len = slash - app.data;
    name.data = slash + 1;
    name.len = app.data + m->stream_len - name.data;

    if (app.len == 0 || name.len == 0
        || app.len >= NGX_WS_STREAM_APP_LEN
        || name.len >= NGX_WS_STREAM_NAME_LEN
        || ngx_strlchr(name.data, name.data + name.len, '/'))
    {
        return ngx_ws_stream_channel_failed(v, m, 404, "no such stream");
    }

    if (ngx_ws_stream_app_find(zone, &app) == NULL) {
        return ngx_ws_stream_channel_failed(v, m, 404,
                                            "no such application");
    }

    /*
     * The new stream first, so that a full zone leaves the viewer where
     * it is.  A group's state lives in a pool of its own, freed when the
     * viewer leaves the group: switching back and forth costs nothing
     * that stays.
     */

    pool = ngx_create_pool(1024, c->log);
    if (pool == NULL) {
        return ngx_ws_stream_channel_failed(v, m, 503, "out of memory");
    }

    old_group = v->group;
    old_pool = v->gpool;

    v->group = NULL;
    v->gpool = pool;

    stream = ngx_ws_stream_group_start(v, &app, &name);

    if (stream == NGX_DECLINED) {
        stream = ngx_ws_stream_entry_get(zone, &app, &name, c->log);
    }

    group = v->group;

    v->group = old_group;
    v->gpool = old_pool;

    if (stream < 0) {
        ngx_destroy_pool(pool);
        return ngx_ws_stream_channel_failed(v, m, 503, "zone full");
    }

    if (group == NULL) {
        ngx_destroy_pool(pool);
        pool = NULL;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "ws_stream: switch to \"%V/%V\"%s", &app, &name,
                   group ? " (a group)" : "");

    /* leave the old one: its move, ring, waiter, statistics, entry */

    ngx_ws_stream_group_cleanup(v);
    ngx_ws_stream_leave_ring(v);
    ngx_ws_stream_waiter_del(zone, v->stream, &v->waiter);
    ngx_ws_stream_stats_channel(v, stream, group != NULL);
    ngx_ws_stream_entry_put(zone, v->stream);

    if (old_pool) {
        ngx_destroy_pool(old_pool);
    }

    v->group = group;
    v->gpool = pool;
    v->stream = stream;

    ngx_ws_stream_waiter_add(zone, stream, &v->waiter);

    v->joined = 0;
    v->channel = 1;
    v->need_key = 0;
    v->last_ingest = 0;

    ngx_ws_stream_join(v);

    return NGX_OK;
}


/* the viewer stays where it is */

static ngx_int_t
ngx_ws_stream_channel_failed(ngx_ws_stream_viewer_t *v,
    ws_stream_client_msg_t *m, ngx_uint_t status, const char *reason)
{
    u_char  buf[6 * WS_STREAM_STREAM_LEN + 128], *p;

    ngx_log_error(NGX_LOG_INFO, v->connection->log, 0,
                  "ws_stream: switch to \"%s\" refused: %s",
                  m->stream, reason);

    p = ngx_cpymem(buf, "{\"type\":\"switch_failed\",\"stream\":\"",
                   sizeof("{\"type\":\"switch_failed\",\"stream\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, (u_char *) m->stream, m->stream_len);
    p = ngx_sprintf(p, "\",\"status\":%ui,\"reason\":\"%s\"}",
                    status, reason);

    return ngx_ws_stream_queue(v, WS_STREAM_WS_TEXT, buf, p - buf, 1);
}


/* the pool of a group joined by a switch, when the connection ends */

void
ngx_ws_stream_channel_cleanup(ngx_ws_stream_viewer_t *v)
{
    if (v->gpool) {
        ngx_destroy_pool(v->gpool);
        v->gpool = NULL;
    }

    v->group = NULL;
}
