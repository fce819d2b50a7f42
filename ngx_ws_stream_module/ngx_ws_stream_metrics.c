
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * /metrics: the Prometheus text format of the streams' snapshots, one
 * family after another, labelled by app and stream only (never by
 * viewer), so a scrape grows with the streams, not with the viewers.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_api.h"


enum {
    NGX_WS_STREAM_M_UP = 0,
    NGX_WS_STREAM_M_WS,
    NGX_WS_STREAM_M_HLS,
    NGX_WS_STREAM_M_PEAK,
    NGX_WS_STREAM_M_CONNECTIONS,
    NGX_WS_STREAM_M_SENT_WS,
    NGX_WS_STREAM_M_SENT_HLS,
    NGX_WS_STREAM_M_MESSAGES,
    NGX_WS_STREAM_M_RECEIVED,
    NGX_WS_STREAM_M_VFRAMES,
    NGX_WS_STREAM_M_AFRAMES,
    NGX_WS_STREAM_M_KEYFRAMES,
    NGX_WS_STREAM_M_MISALIGNED,
    NGX_WS_STREAM_M_DROPPED,
    NGX_WS_STREAM_M_SKIPS,
    NGX_WS_STREAM_M_SWITCH_UP,
    NGX_WS_STREAM_M_SWITCH_DOWN,
    NGX_WS_STREAM_M_TORN,
    NGX_WS_STREAM_M_HLS_REQUESTS,
    NGX_WS_STREAM_M_REPORTS,
    NGX_WS_STREAM_M_VBPS,
    NGX_WS_STREAM_M_ABPS
};


typedef struct {
    const char                *name;
    const char                *type;
    const char                *help;
    const char                *label;       /* one more label, or NULL */
    const char                *value;
    ngx_uint_t                 what;        /* NGX_WS_STREAM_M_* */
} ngx_ws_stream_metric_t;


/* rows of one family follow each other: its head is written once */

static ngx_ws_stream_metric_t  ngx_ws_stream_metrics[] = {

    { "ws_stream_publisher_up", "gauge",
      "1 while a publisher sends media", NULL, NULL,
      NGX_WS_STREAM_M_UP },

    { "ws_stream_viewers", "gauge",
      "viewers now (hls: clients active in the last 5 to 10 s, estimated)",
      "protocol", "websocket", NGX_WS_STREAM_M_WS },
    { "ws_stream_viewers", NULL, NULL,
      "protocol", "hls", NGX_WS_STREAM_M_HLS },

    { "ws_stream_viewers_peak", "gauge",
      "the most viewers at once", NULL, NULL,
      NGX_WS_STREAM_M_PEAK },

    { "ws_stream_connections_total", "counter",
      "WebSocket viewer connections made", NULL, NULL,
      NGX_WS_STREAM_M_CONNECTIONS },

    { "ws_stream_sent_bytes_total", "counter",
      "bytes sent to viewers", "protocol", "websocket",
      NGX_WS_STREAM_M_SENT_WS },
    { "ws_stream_sent_bytes_total", NULL, NULL,
      "protocol", "hls", NGX_WS_STREAM_M_SENT_HLS },

    { "ws_stream_sent_messages_total", "counter",
      "WebSocket messages sent to viewers", NULL, NULL,
      NGX_WS_STREAM_M_MESSAGES },

    { "ws_stream_received_bytes_total", "counter",
      "media bytes taken from the publisher", NULL, NULL,
      NGX_WS_STREAM_M_RECEIVED },

    { "ws_stream_frames_total", "counter",
      "media frames taken from the publisher", "track", "video",
      NGX_WS_STREAM_M_VFRAMES },
    { "ws_stream_frames_total", NULL, NULL,
      "track", "audio", NGX_WS_STREAM_M_AFRAMES },

    { "ws_stream_keyframes_total", "counter",
      "video keyframes taken from the publisher", NULL, NULL,
      NGX_WS_STREAM_M_KEYFRAMES },

    { "ws_stream_keyframes_misaligned_total", "counter",
      "keyframes at a time no other rendition of the group has one", NULL,
      NULL, NGX_WS_STREAM_M_MISALIGNED },

    { "ws_stream_dropped_frames_total", "counter",
      "frames refused: malformed or too large for the buffer", NULL, NULL,
      NGX_WS_STREAM_M_DROPPED },

    { "ws_stream_skips_total", "counter",
      "slow viewers moved ahead to the newest keyframe", NULL, NULL,
      NGX_WS_STREAM_M_SKIPS },

    { "ws_stream_rendition_switches_total", "counter",
      "group viewers moved to this rendition, from a lower one (up) or a "
      "higher one (down)", "direction", "up", NGX_WS_STREAM_M_SWITCH_UP },
    { "ws_stream_rendition_switches_total", NULL, NULL,
      "direction", "down", NGX_WS_STREAM_M_SWITCH_DOWN },

    { "ws_stream_torn_closes_total", "counter",
      "viewers closed because their data was overwritten while sent",
      NULL, NULL, NGX_WS_STREAM_M_TORN },

    { "ws_stream_hls_requests_total", "counter",
      "LL-HLS requests answered", NULL, NULL,
      NGX_WS_STREAM_M_HLS_REQUESTS },

    { "ws_stream_reports_total", "counter",
      "client reports received", NULL, NULL,
      NGX_WS_STREAM_M_REPORTS },

    { "ws_stream_ingest_bitrate_bps", "gauge",
      "ingest bitrate over the last 5 s, bits per second", "track", "video",
      NGX_WS_STREAM_M_VBPS },
    { "ws_stream_ingest_bitrate_bps", NULL, NULL,
      "track", "audio", NGX_WS_STREAM_M_ABPS },

    { NULL, NULL, NULL, NULL, NULL, 0 }
};


static uint64_t ngx_ws_stream_metric_value(ngx_ws_stream_snap_t *s,
    ngx_uint_t what, uint64_t now);
static void ngx_ws_stream_metrics_hist(ws_stream_out_t *o,
    ngx_array_t *snaps, const char *name, const char *help,
    ngx_uint_t latency);
static void ngx_ws_stream_metrics_aggs(ws_stream_out_t *o,
    ngx_array_t *snaps, const char *name, const char *help,
    ngx_uint_t what);
static ngx_int_t ngx_ws_stream_metrics_now(ngx_ws_stream_snap_t *s,
    ngx_uint_t what, ngx_uint_t stat, double *v);


/* the "viewers now" figures: metrics_aggs' what */
#define NGX_WS_STREAM_NOW_DELAY    0
#define NGX_WS_STREAM_NOW_LATENCY  1
#define NGX_WS_STREAM_NOW_SYNC     2


ngx_int_t
ngx_ws_stream_metrics_write(ngx_ws_stream_zone_t *zone, ngx_array_t *snaps,
    ws_stream_out_t *o)
{
    uint64_t                 now;
    ngx_uint_t               k;
    ws_stream_label_t        l[3];
    ngx_ws_stream_snap_t    *s;
    ngx_ws_stream_metric_t  *m;

    now = ngx_ws_stream_now_ms();
    s = snaps->elts;

    ws_stream_prom_head(o, "ws_stream_build_info", "gauge",
                        "the module's version, nginx's, the protocol's");

    l[0].name = "version";
    l[0].value = (uint8_t *) NGX_WS_STREAM_VERSION;
    l[0].len = sizeof(NGX_WS_STREAM_VERSION) - 1;
    l[1].name = "nginx_version";
    l[1].value = (uint8_t *) NGINX_VERSION;
    l[1].len = sizeof(NGINX_VERSION) - 1;
    l[2].name = "protocol";
    l[2].value = (uint8_t *) NGX_WS_STREAM_PROTOCOL;
    l[2].len = sizeof(NGX_WS_STREAM_PROTOCOL) - 1;

    ws_stream_prom_uint(o, "ws_stream_build_info", l, 3, 1);

    l[0].name = "app";
    l[1].name = "stream";

    for (m = ngx_ws_stream_metrics; m->name; m++) {

        if (m->type) {
            ws_stream_prom_head(o, m->name, m->type, m->help);
        }

        for (k = 0; k < snaps->nelts; k++) {
            l[0].value = s[k].app;
            l[0].len = s[k].app_len;
            l[1].value = s[k].name;
            l[1].len = s[k].name_len;

            if (m->label) {
                l[2].name = m->label;
                l[2].value = (uint8_t *) m->value;
                l[2].len = ngx_strlen(m->value);
            }

            ws_stream_prom_uint(o, m->name, l, m->label ? 3 : 2,
                                ngx_ws_stream_metric_value(&s[k], m->what,
                                                           now));
        }
    }

    ngx_ws_stream_metrics_hist(o, snaps, "ws_stream_viewer_latency_seconds",
                               "client-reported glass-to-glass latency, "
                               "one observation per report", 1);
    ngx_ws_stream_metrics_hist(o, snaps, "ws_stream_send_delay_seconds",
                               "delay from ingest to a viewer's socket, "
                               "one observation per send", 0);

    ngx_ws_stream_metrics_aggs(o, snaps, "ws_stream_viewer_latency",
                               "client-reported latency over the viewers "
                               "now", NGX_WS_STREAM_NOW_LATENCY);
    ngx_ws_stream_metrics_aggs(o, snaps, "ws_stream_send_delay",
                               "mean send delay of the last second over "
                               "the viewers now", NGX_WS_STREAM_NOW_DELAY);
    ngx_ws_stream_metrics_aggs(o, snaps, "ws_stream_viewer_sync",
                               "client-reported offset from the shared "
                               "latency target over the viewers now "
                               "(spread: latest - earliest)",
                               NGX_WS_STREAM_NOW_SYNC);

    return o->overflow ? NGX_ERROR : NGX_OK;
}


static uint64_t
ngx_ws_stream_metric_value(ngx_ws_stream_snap_t *s, ngx_uint_t what,
    uint64_t now)
{
    switch (what) {

    case NGX_WS_STREAM_M_UP:
        return s->online;

    case NGX_WS_STREAM_M_WS:
        return s->websocket;

    case NGX_WS_STREAM_M_HLS:
        return s->hls_clients;

    case NGX_WS_STREAM_M_PEAK:
        return s->peak;

    case NGX_WS_STREAM_M_CONNECTIONS:
        return s->c.connections;

    case NGX_WS_STREAM_M_SENT_WS:
        return s->c.sent_bytes;

    case NGX_WS_STREAM_M_SENT_HLS:
        return s->c.hls_bytes;

    case NGX_WS_STREAM_M_MESSAGES:
        return s->c.sent_messages;

    case NGX_WS_STREAM_M_RECEIVED:
        return s->bytes;

    case NGX_WS_STREAM_M_VFRAMES:
        return s->pub.vframes;

    case NGX_WS_STREAM_M_AFRAMES:
        return s->pub.aframes;

    case NGX_WS_STREAM_M_KEYFRAMES:
        return s->pub.keyframes;

    case NGX_WS_STREAM_M_MISALIGNED:
        return s->pub.misaligned;

    case NGX_WS_STREAM_M_DROPPED:
        return s->dropped;

    case NGX_WS_STREAM_M_SKIPS:
        return s->skips;

    case NGX_WS_STREAM_M_SWITCH_UP:
        return s->c.switches_up;

    case NGX_WS_STREAM_M_SWITCH_DOWN:
        return s->c.switches_down;

    case NGX_WS_STREAM_M_TORN:
        return s->torn;

    case NGX_WS_STREAM_M_HLS_REQUESTS:
        return s->c.hls_requests;

    case NGX_WS_STREAM_M_REPORTS:
        return s->c.reports;

    case NGX_WS_STREAM_M_VBPS:
        return ws_stream_rate_bps(&s->pub.vrate, now, WS_STREAM_RATE_WINDOW);

    default: /* NGX_WS_STREAM_M_ABPS */
        return ws_stream_rate_bps(&s->pub.arate, now, WS_STREAM_RATE_WINDOW);
    }
}


static void
ngx_ws_stream_metrics_hist(ws_stream_out_t *o, ngx_array_t *snaps,
    const char *name, const char *help, ngx_uint_t latency)
{
    ngx_uint_t             k;
    ws_stream_label_t      l[2];
    ngx_ws_stream_snap_t  *s;

    s = snaps->elts;

    l[0].name = "app";
    l[1].name = "stream";

    ws_stream_prom_head(o, name, "histogram", help);

    for (k = 0; k < snaps->nelts; k++) {
        l[0].value = s[k].app;
        l[0].len = s[k].app_len;
        l[1].value = s[k].name;
        l[1].len = s[k].name_len;

        ws_stream_prom_hist(o, name, l, 2,
                            latency ? &s[k].c.latency : &s[k].c.delay,
                            latency ? ws_stream_hist_latency
                                    : ws_stream_hist_delay);
    }
}


/*
 * name_min_seconds, _avg_, _max_ (and for sync _spread_): streams
 * without such viewers have none
 */

static void
ngx_ws_stream_metrics_aggs(ws_stream_out_t *o, ngx_array_t *snaps,
    const char *name, const char *help, ngx_uint_t what)
{
    char                   metric[64];
    double                 v;
    ngx_uint_t             k, i, n;
    ws_stream_label_t      l[2];
    ngx_ws_stream_snap_t  *s;

    static const char     *stat[] = { "min", "avg", "max", "spread" };

    s = snaps->elts;
    n = (what == NGX_WS_STREAM_NOW_SYNC) ? 4 : 3;

    l[0].name = "app";
    l[1].name = "stream";

    for (i = 0; i < n; i++) {
        ngx_sprintf((u_char *) metric, "%s_%s_seconds%Z", name, stat[i]);
        ws_stream_prom_head(o, metric, "gauge", help);

        for (k = 0; k < snaps->nelts; k++) {

            if (ngx_ws_stream_metrics_now(&s[k], what, i, &v) != NGX_OK) {
                continue;
            }

            l[0].value = s[k].app;
            l[0].len = s[k].app_len;
            l[1].value = s[k].name;
            l[1].len = s[k].name_len;

            ws_stream_prom_num(o, metric, l, 2, v);
        }
    }
}


/* one figure of a stream's viewers now, in seconds */

static ngx_int_t
ngx_ws_stream_metrics_now(ngx_ws_stream_snap_t *s, ngx_uint_t what,
    ngx_uint_t stat, double *v)
{
    ws_stream_agg_t     *a;
    ws_stream_spread_t  *sp;

    if (what == NGX_WS_STREAM_NOW_SYNC) {
        sp = &s->now.sync;

        if (sp->n == 0) {
            return NGX_DECLINED;
        }

        *v = (stat == 0) ? sp->min
             : (stat == 1) ? sp->sum / sp->n
             : (stat == 2) ? sp->max : sp->max - sp->min;
        *v /= 1e3;

        return NGX_OK;
    }

    a = (what == NGX_WS_STREAM_NOW_LATENCY) ? &s->now.latency : &s->now.delay;

    if (a->n == 0) {
        return NGX_DECLINED;
    }

    *v = (stat == 0) ? a->min_us
         : (stat == 1) ? (double) a->sum_us / a->n : a->max_us;
    *v /= 1e6;

    return NGX_OK;
}
