
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * A viewer of a rendition group: which rendition it starts on, what it
 * is told (hello, rendition notices), its choice (pin or automatic), and
 * each second the decision of ws_stream_abr from the figures the
 * statistics tick has.  The move itself is ngx_ws_stream_switch.c's.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_viewer.h"


static ngx_uint_t ngx_ws_stream_group_first(ngx_ws_stream_viewer_t *v,
    uint64_t *bitrates);
static ngx_int_t ngx_ws_stream_group_entry_of(ngx_ws_stream_viewer_t *v,
    ngx_uint_t k);
static void ngx_ws_stream_group_rates(ngx_ws_stream_viewer_t *v,
    uint64_t *bitrates);
static void ngx_ws_stream_group_decide(ngx_ws_stream_viewer_t *v);


/*
 * Called before the viewer joins a stream: if app/name is a rendition
 * group, sets v->group and returns the entry of the rendition to start
 * on (held, as ngx_ws_stream_entry_get() does), NGX_DECLINED for a plain
 * stream, NGX_ERROR.  In an application with ws_stream_variant, a name
 * that is not a rendition is its group, unless a plain stream of that
 * name publishes now.
 */

ngx_int_t
ngx_ws_stream_group_start(ngx_ws_stream_viewer_t *v, ngx_str_t *app,
    ngx_str_t *name)
{
    u_char                 *p, buf[NGX_WS_STREAM_NAME_LEN];
    size_t                  esc;
    uint64_t                bitrates[NGX_WS_STREAM_VARIANTS_MAX];
    ngx_int_t               i;
    ngx_str_t               base, n;
    ngx_uint_t              k;
    ngx_pool_t             *pool;
    ngx_ws_stream_app_t    *a;
    ngx_ws_stream_zone_t   *zone;
    ngx_ws_stream_group_t  *g;

    zone = v->zone;
    a = ngx_ws_stream_app_find(zone, app);

    if (a == NULL || a->variants == NULL
        || ngx_ws_stream_group_member(a, name, &base) != NGX_DECLINED)
    {
        return NGX_DECLINED;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    i = ngx_ws_stream_entry_find(zone, app, name, 0);
    i = (i >= 0 && zone->sh->streams[i].pub != NGX_WS_STREAM_PUB_NONE);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (i) {
        return NGX_DECLINED;
    }

    /*
     * The group's state lives in a pool of the viewer's own, never in the
     * request's, which is freed once the 101 is out: made here at a
     * handshake, by ngx_ws_stream_channel() for a switch; destroyed with
     * the viewer or when it leaves the group (ngx_ws_stream_channel.c).
     */

    if (v->gpool == NULL) {
        v->gpool = ngx_create_pool(1024, v->connection->log);
        if (v->gpool == NULL) {
            return NGX_ERROR;
        }
    }

    pool = v->gpool;

    g = ngx_pcalloc(pool, sizeof(ngx_ws_stream_group_t));
    if (g == NULL) {
        return NGX_ERROR;
    }

    g->app = a;
    g->n = a->variants->nelts;
    g->target = -1;

    g->base.data = ngx_pstrdup(pool, name);
    if (g->base.data == NULL) {
        return NGX_ERROR;
    }

    g->base.len = name->len;

    for (k = 0; k < g->n; k++) {
        g->entries[k] = -1;

        if (ngx_ws_stream_group_name(a, name, k, buf, &n) != NGX_OK) {
            /* too long a name: that rendition cannot exist */
            continue;
        }

        esc = ngx_escape_json(NULL, n.data, n.len);

        p = ngx_pnalloc(pool, 2 * n.len + esc);
        if (p == NULL) {
            return NGX_ERROR;
        }

        g->names[k].data = p;
        g->names[k].len = n.len;
        g->json[k].data = ngx_cpymem(p, n.data, n.len);
        g->json[k].len = (u_char *) ngx_escape_json(g->json[k].data, n.data,
                                                    n.len)
                         - g->json[k].data;
    }

    g->event.handler = ngx_ws_stream_switch_handler;
    g->event.data = v;
    g->event.log = v->connection->log;

    g->waiter.wake = ngx_ws_stream_switch_wake;

    g->sig.stalls = -1;
    g->sig.buffer_ms = -1;
    g->sig.dropped = -1;

    v->group = g;

    ngx_ws_stream_group_rates(v, bitrates);

    g->index = ngx_ws_stream_group_first(v, bitrates);
    g->want = g->index;

    ws_stream_abr_init(&g->abr, &v->conf->abr_conf, (unsigned) g->index);

    if (g->names[g->index].len == 0) {
        return NGX_ERROR;
    }

    i = ngx_ws_stream_entry_get(zone, app, &g->names[g->index],
                                v->connection->log);
    if (i < 0) {
        return NGX_ERROR;
    }

    g->entries[g->index] = i;

    return i;
}


/*
 * The connection's log moved out of its pool (ngx_ws_stream_leave_pool):
 * what was made here with the old one follows, the group's pool and
 * event (nginx's debug logging of a posted event reads its log).
 */

void
ngx_ws_stream_group_log(ngx_ws_stream_viewer_t *v, ngx_log_t *log)
{
    if (v->gpool) {
        v->gpool->log = log;
    }

    if (v->group) {
        v->group->event.log = log;
    }
}


/*
 * Where a new viewer starts, before anything is measured of its link:
 * the highest rendition that publishes (start=top, the default: a viewer
 * whose link takes it never switches; a slower one is moved down within
 * seconds), the middle one (ws_stream_abr_start() without a capacity), or
 * the lowest; the highest if none publishes.
 */

static ngx_uint_t
ngx_ws_stream_group_first(ngx_ws_stream_viewer_t *v, uint64_t *bitrates)
{
    ngx_uint_t              k, first, last;
    ngx_ws_stream_group_t  *g;

    g = v->group;
    first = g->n;
    last = 0;

    for (k = 0; k < g->n; k++) {
        if (bitrates[k]) {
            first = ngx_min(first, k);
            last = k;
        }
    }

    if (first == g->n) {
        return 0;
    }

    switch (v->conf->abr_start) {

    case NGX_WS_STREAM_ABR_START_MIDDLE:
        return ws_stream_abr_start(bitrates, (unsigned) g->n, 0,
                                   &v->conf->abr_conf);

    case NGX_WS_STREAM_ABR_START_BOTTOM:
        return last;

    default: /* TOP */
        return first;
    }
}


/* the rendition's entry if the zone has one, -1 if not (looked up at
 * most once a second per viewer) */

static ngx_int_t
ngx_ws_stream_group_entry_of(ngx_ws_stream_viewer_t *v, ngx_uint_t k)
{
    ngx_int_t               i;
    ngx_uint_t              j;
    ngx_ws_stream_zone_t   *zone;
    ngx_ws_stream_entry_t  *e;
    ngx_ws_stream_group_t  *g;

    g = v->group;
    zone = v->zone;
    i = g->entries[k];

    if (i >= 0) {
        /* an entry is reused for another name only once nobody holds it:
         * a stale read here is corrected at the next look */

        e = &zone->sh->streams[i];

        if (e->state == NGX_WS_STREAM_USED
            && e->name_len == g->names[k].len
            && ngx_memcmp(e->name, g->names[k].data, e->name_len) == 0
            && e->app_len == g->app->name.len
            && ngx_memcmp(e->app, g->app->name.data, e->app_len) == 0)
        {
            return i;
        }

        g->entries[k] = -1;
    }

    if (g->names[k].len == 0) {
        return -1;
    }

    if (ngx_current_msec - g->refind_at < 1000 && g->refind_at) {
        return -1;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (j = 0; j < g->n; j++) {
        if (g->entries[j] < 0 && g->names[j].len) {
            i = ngx_ws_stream_entry_find(zone, &g->app->name, &g->names[j],
                                         0);
            g->entries[j] = (i >= 0) ? i : -1;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    g->refind_at = ngx_current_msec;

    return g->entries[k];
}


/* what each rendition measures now; 0 for one not publishing */

static void
ngx_ws_stream_group_rates(ngx_ws_stream_viewer_t *v, uint64_t *bitrates)
{
    uint64_t                now, bps;
    ngx_int_t               i;
    ngx_uint_t              k;
    ngx_ws_stream_entry_t  *e;

    now = ngx_ws_stream_now_ms();

    for (k = 0; k < v->group->n; k++) {
        bitrates[k] = 0;

        i = ngx_ws_stream_group_entry_of(v, k);

        if (i < 0) {
            continue;
        }

        e = &v->zone->sh->streams[i];

        if (e->pub != NGX_WS_STREAM_PUB_ONLINE) {
            continue;
        }

        bps = ws_stream_rate_bps(&e->stats.pub.vrate, now,
                                 WS_STREAM_RATE_WINDOW)
              + ws_stream_rate_bps(&e->stats.pub.arate, now,
                                   WS_STREAM_RATE_WINDOW);

        /* publishing but not measured yet: last in line, not absent */
        bitrates[k] = bps ? bps : 1;
    }
}


/* ,"renditions":[...],"auto":true for the hello */

u_char *
ngx_ws_stream_group_hello(ngx_ws_stream_viewer_t *v, u_char *p,
    u_char *last)
{
    uint64_t                bitrates[NGX_WS_STREAM_VARIANTS_MAX];
    ngx_int_t               i;
    ngx_uint_t              k;
    ngx_ws_stream_entry_t  *e;
    ngx_ws_stream_group_t  *g;

    g = v->group;

    ngx_ws_stream_group_rates(v, bitrates);

    p = ngx_slprintf(p, last, ",\"renditions\":[");

    for (k = 0; k < g->n; k++) {
        i = ngx_ws_stream_group_entry_of(v, k);
        e = (i >= 0) ? &v->zone->sh->streams[i] : NULL;

        p = ngx_slprintf(p, last,
                         "%s{\"index\":%ui,\"name\":\"%V\",\"online\":%s,"
                         "\"bitrate\":%uL,\"width\":%uD,\"height\":%uD}",
                         k ? "," : "", k, &g->json[k],
                         bitrates[k] ? "true" : "false",
                         bitrates[k] > 1 ? bitrates[k] : 0,
                         e ? e->stats.pub.width : 0,
                         e ? e->stats.pub.height : 0);
    }

    return ngx_slprintf(p, last, "],\"auto\":%s",
                        g->abr.pinned ? "false" : "true");
}


/* the viewer is on rendition g->index from now on (from: -1, the first) */

void
ngx_ws_stream_group_notice(ngx_ws_stream_viewer_t *v, ngx_int_t from,
    const char *reason, ngx_uint_t continuous)
{
    u_char                  buf[512], *p;
    uint64_t                bitrates[NGX_WS_STREAM_VARIANTS_MAX];
    ngx_ws_stream_entry_t  *e;
    ngx_ws_stream_group_t  *g;

    g = v->group;
    e = &v->zone->sh->streams[v->stream];

    ngx_ws_stream_group_rates(v, bitrates);

    p = ngx_snprintf(buf, sizeof(buf),
                     "{\"type\":\"rendition\",\"index\":%ui,\"from\":%i,"
                     "\"reason\":\"%s\",\"auto\":%s,\"name\":\"%V\","
                     "\"bitrate\":%uL,\"width\":%uD,\"height\":%uD,"
                     "\"continuous\":%s}",
                     g->index, from, reason,
                     g->abr.pinned ? "false" : "true", &g->json[g->index],
                     bitrates[g->index] > 1 ? bitrates[g->index] : 0,
                     e->stats.pub.width, e->stats.pub.height,
                     continuous ? "true" : "false");

    (void) ngx_ws_stream_queue(v, WS_STREAM_WS_TEXT, buf, p - buf, 0);
}


/*
 * Every second, from the statistics tick: the backlog as media time and
 * TCP's delivery rate, 0 when it was measured while the sender had too
 * little to send (app-limited); the capacity is the largest of a few
 * seconds, unknown (0) when all of them were app-limited.
 */

void
ngx_ws_stream_group_tick(ngx_ws_stream_viewer_t *v, uint64_t lag_ms,
    uint64_t rate_bps)
{
    ngx_uint_t              k;
    ngx_ws_stream_group_t  *g;

    g = v->group;

    g->cap[g->ncap++ % NGX_WS_STREAM_CAP_SAMPLES] = rate_bps;

    g->sig.lag_ms = lag_ms;
    g->sig.capacity_bps = 0;

    for (k = 0; k < NGX_WS_STREAM_CAP_SAMPLES && k < g->ncap; k++) {
        g->sig.capacity_bps = ngx_max(g->sig.capacity_bps, g->cap[k]);
    }

    ngx_ws_stream_group_decide(v);
}


/* a client report: its stalls and dropped frames count at the next tick */

void
ngx_ws_stream_group_report(ngx_ws_stream_viewer_t *v,
    ws_stream_client_msg_t *m)
{
    ngx_ws_stream_group_t  *g;

    g = v->group;

    g->sig.stalls = (m->stalls >= 0) ? (int64_t) m->stalls : -1;
    g->sig.dropped = (m->dropped >= 0) ? (int64_t) m->dropped : -1;
    g->sig.buffer_ms = (m->buffer >= 0) ? (int64_t) m->buffer : -1;
}


static void
ngx_ws_stream_group_decide(ngx_ws_stream_viewer_t *v)
{
    unsigned                t, reason;
    uint64_t                bitrates[NGX_WS_STREAM_VARIANTS_MAX];
    ngx_uint_t              k;
    ngx_ws_stream_group_t  *g;

    g = v->group;

    ngx_ws_stream_group_rates(v, bitrates);

    if (!v->conf->abr && !g->abr.pinned) {
        /* no automatic move, but off a rendition that stopped publishing
         * to the nearest one that does, as GONE would */

        if (bitrates[g->index] || g->want != g->index) {
            return;
        }

        k = ws_stream_abr_near(bitrates, (unsigned) g->n,
                               (unsigned) g->index);

        if (k < g->n) {
            g->want = k;
            ngx_ws_stream_switch_post(v);
        }

        return;
    }

    g->sig.now_ms = ngx_current_msec ? ngx_current_msec : 1;

    t = ws_stream_abr_update(&g->abr, &v->conf->abr_conf, bitrates,
                             (unsigned) g->n, &g->sig, &reason);

    if (reason != WS_STREAM_ABR_KEEP) {
        g->why = reason;
    }

    if (t != g->want) {
        g->want = t;
        ngx_ws_stream_switch_post(v);
    }
}


/*
 * The client's choice: NGX_OK, or NGX_DECLINED for an index the group
 * does not have (a plain stream takes 0 and -1, and ignores them).
 */

ngx_int_t
ngx_ws_stream_group_pin(ngx_ws_stream_viewer_t *v, int index)
{
    ngx_ws_stream_group_t  *g;

    g = v->group;

    if (g == NULL) {
        return (index <= 0) ? NGX_OK : NGX_DECLINED;
    }

    if (index >= (int) g->n) {
        return NGX_DECLINED;
    }

    if (ws_stream_abr_pin(&g->abr, index) != WS_STREAM_OK) {
        return NGX_DECLINED;
    }

    if (index < 0) {
        ngx_ws_stream_group_notice(v, g->index, "auto", 1);
    }

    ngx_ws_stream_group_decide(v);

    if (index >= 0 && (ngx_uint_t) index == g->index && g->want == g->index) {
        /* pinned where it is: said at once, as a move would say it */
        ngx_ws_stream_group_notice(v, g->index, "pin", 1);
    }

    return NGX_OK;
}


/*
 * ws_stream_abr on | off [start=top|middle|bottom] [down_lag=time]
 *     [down_for=time] [emergency_lag=time] [low_lag=time]
 *     [up_fit=fraction] [holdoff=time] [holdoff_max=time] [probe=time]
 *     [probe_drops=number];
 */

char *
ngx_ws_stream_abr_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ws_stream_loc_conf_t *wlcf = conf;

    u_char                *eq;
    uint64_t              *field;
    ngx_int_t              n;
    ngx_str_t             *value, key, val;
    ngx_uint_t             i, k;
    ws_stream_abr_conf_t  *ac;

    static struct {
        const char        *name;
        size_t             offset;
        ngx_uint_t         time;
    } params[] = {
        { "down_lag", offsetof(ws_stream_abr_conf_t, down_lag_ms), 1 },
        { "down_for", offsetof(ws_stream_abr_conf_t, down_for_ms), 1 },
        { "emergency_lag", offsetof(ws_stream_abr_conf_t, emergency_lag_ms),
          1 },
        { "low_lag", offsetof(ws_stream_abr_conf_t, low_lag_ms), 1 },
        { "up_fit", offsetof(ws_stream_abr_conf_t, up_fit_permille), 2 },
        { "holdoff", offsetof(ws_stream_abr_conf_t, holdoff_ms), 1 },
        { "holdoff_max", offsetof(ws_stream_abr_conf_t, holdoff_max_ms), 1 },
        { "probe", offsetof(ws_stream_abr_conf_t, probe_ms), 1 },
        { "probe_drops", offsetof(ws_stream_abr_conf_t, probe_drops), 0 }
    };

    if (wlcf->abr != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;
    ac = &wlcf->abr_conf;

    ws_stream_abr_conf_default(ac);
    wlcf->abr_start = NGX_WS_STREAM_ABR_START_TOP;

    if (ngx_strcmp(value[1].data, "on") == 0) {
        wlcf->abr = 1;

    } else if (ngx_strcmp(value[1].data, "off") == 0) {
        wlcf->abr = 0;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\": \"on\" or \"off\" first",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "start=top") == 0) {
            wlcf->abr_start = NGX_WS_STREAM_ABR_START_TOP;
            continue;
        }

        if (ngx_strcmp(value[i].data, "start=middle") == 0) {
            wlcf->abr_start = NGX_WS_STREAM_ABR_START_MIDDLE;
            continue;
        }

        if (ngx_strcmp(value[i].data, "start=bottom") == 0) {
            wlcf->abr_start = NGX_WS_STREAM_ABR_START_BOTTOM;
            continue;
        }

        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

        if (eq == NULL) {
            goto invalid;
        }

        key.data = value[i].data;
        key.len = eq - key.data;
        val.data = eq + 1;
        val.len = value[i].data + value[i].len - val.data;

        for (k = 0; k < sizeof(params) / sizeof(params[0]); k++) {
            if (key.len == ngx_strlen(params[k].name)
                && ngx_strncmp(key.data, params[k].name, key.len) == 0)
            {
                break;
            }
        }

        if (k == sizeof(params) / sizeof(params[0]) || val.len == 0) {
            goto invalid;
        }

        switch (params[k].time) {
        case 1:
            n = ngx_parse_time(&val, 0);
            break;
        case 2:
            n = ngx_atofp(val.data, val.len, 3);
            if (n < 1 || n > 1000) {
                n = NGX_ERROR;
            }
            break;
        default:
            n = ngx_atoi(val.data, val.len);
        }

        if (n == NGX_ERROR) {
            goto invalid;
        }

        field = (uint64_t *) ((u_char *) ac + params[k].offset);
        *field = (uint64_t) n;
    }

    if (ac->emergency_lag_ms <= ac->down_lag_ms
        || ac->low_lag_ms >= ac->down_lag_ms
        || ac->holdoff_max_ms < ac->holdoff_ms)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ws_stream_abr\" needs low_lag < down_lag < "
                           "emergency_lag and holdoff <= holdoff_max");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" (start=top|middle|bottom; "
                       "down_lag, down_for, emergency_lag, low_lag, holdoff, "
                       "holdoff_max, probe: times; up_fit: 0.001 to 1; "
                       "probe_drops: a number)",
                       &value[i]);
    return NGX_CONF_ERROR;
}
