
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The JSON of the statistics API (docs/stats.md): the server, a stream
 * and a viewer, from the copies ngx_ws_stream_api.c took.  Field names
 * are an interface: they carry their unit and are never left out (a
 * figure not known is null).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_api.h"


static void ngx_ws_stream_json_codec(ws_stream_out_t *o, const char *key,
    const char *codec, ngx_uint_t level);
static void ngx_ws_stream_json_agg(ws_stream_out_t *o, const char *key,
    ws_stream_agg_t *a, const uint32_t *bounds);
static void ngx_ws_stream_json_sync(ws_stream_out_t *o, ws_stream_spread_t *s);
static void ngx_ws_stream_json_double(ws_stream_out_t *o, const char *key,
    double v, unsigned decimals);


void
ngx_ws_stream_json_server(ws_stream_out_t *o, ngx_ws_stream_zone_t *zone,
    ngx_array_t *snaps)
{
    ngx_uint_t             p, k;
    uint64_t               ws;
    ngx_ws_stream_snap_t  *s;

    ws_stream_json_open(o, "server", 0);
    ws_stream_json_cstr(o, "version", NGX_WS_STREAM_VERSION);
    ws_stream_json_cstr(o, "nginx_version", NGINX_VERSION);
    ws_stream_json_cstr(o, "protocol", NGX_WS_STREAM_PROTOCOL);
    ws_stream_json_uint(o, "time_unix_ms", ngx_ws_stream_now_ms());
    ws_stream_json_str(o, "zone", zone->name.data, zone->name.len);
    ws_stream_json_open(o, "workers", 1);

    for (p = 0; p < NGX_WS_STREAM_MAX_PROCS; p++) {
        if (zone->sh->procs[p].pid == 0) {
            continue;
        }

        ws = 0;

        for (s = snaps->elts; s < (ngx_ws_stream_snap_t *) snaps->elts
                                  + snaps->nelts; s++)
        {
            for (k = 0; k < s->nworkers; k++) {
                if (s->workers[k].pid == (ngx_pid_t) zone->sh->procs[p].pid) {
                    ws += s->workers[k].websocket;
                }
            }
        }

        ws_stream_json_open(o, NULL, 0);
        ws_stream_json_int(o, "pid", zone->sh->procs[p].pid);
        ws_stream_json_uint(o, "websocket_viewers", ws);
        ws_stream_json_close(o, 0);
    }

    ws_stream_json_close(o, 1);
    ws_stream_json_close(o, 0);
}


void
ngx_ws_stream_json_stream(ws_stream_out_t *o, ngx_ws_stream_snap_t *s,
    uint64_t now)
{
    ngx_uint_t                  k;
    ngx_ws_stream_pub_stats_t  *ps;

    ps = &s->pub;

    ws_stream_json_open(o, NULL, 0);
    ws_stream_json_str(o, "app", s->app, s->app_len);
    ws_stream_json_str(o, "stream", s->name, s->name_len);
    ws_stream_json_bool(o, "online", s->online);

    if (s->group_len) {
        ws_stream_json_open(o, "group", 0);
        ws_stream_json_str(o, "name", s->name, s->group_len);
        ws_stream_json_str(o, "rendition", s->rendition.data,
                           s->rendition.len);
        ws_stream_json_uint(o, "index", s->group_index);
        ws_stream_json_close(o, 0);

    } else {
        ws_stream_json_null(o, "group");
    }

    if (s->online) {
        ws_stream_json_open(o, "publisher", 0);
        ws_stream_json_str(o, "address", ps->addr, ps->addr_len);
        ws_stream_json_uint(o, "since_unix_ms", s->started);
        ws_stream_json_uint(o, "uptime_ms",
                            now > s->started ? now - s->started : 0);
        ws_stream_json_close(o, 0);

    } else {
        ws_stream_json_null(o, "publisher");
    }

    if (ps->vframes || ps->vcodec[0]) {
        ngx_ws_stream_json_codec(o, "video", ps->vcodec, 1);
        ws_stream_json_uint(o, "width", ps->width);
        ws_stream_json_uint(o, "height", ps->height);
        ws_stream_json_num(o, "frame_rate",
                           ws_stream_rate_fps(&ps->vrate, now,
                                              WS_STREAM_RATE_WINDOW), 2);
        ws_stream_json_uint(o, "bitrate_bps",
                            ws_stream_rate_bps(&ps->vrate, now,
                                               WS_STREAM_RATE_WINDOW));
        ws_stream_json_uint(o, "frames", ps->vframes);
        ws_stream_json_uint(o, "keyframes", ps->keyframes);
        ws_stream_json_uint(o, "keyframes_misaligned", ps->misaligned);
        ws_stream_json_uint(o, "received_bytes", ps->vbytes);

        if (ps->gop_frames) {
            ws_stream_json_uint(o, "gop_frames", ps->gop_frames);
            ws_stream_json_uint(o, "gop_ms", ps->gop_ms);

        } else {
            ws_stream_json_null(o, "gop_frames");
            ws_stream_json_null(o, "gop_ms");
        }

        ws_stream_json_close(o, 0);

    } else {
        ws_stream_json_null(o, "video");
    }

    if (ps->aframes || ps->acodec[0]) {
        ngx_ws_stream_json_codec(o, "audio", ps->acodec, 0);
        ws_stream_json_uint(o, "sample_rate_hz", ps->sample_rate);
        ws_stream_json_uint(o, "channels", ps->channels);
        ws_stream_json_uint(o, "bitrate_bps",
                            ws_stream_rate_bps(&ps->arate, now,
                                               WS_STREAM_RATE_WINDOW));
        ws_stream_json_uint(o, "frames", ps->aframes);
        ws_stream_json_uint(o, "received_bytes", ps->abytes);
        ws_stream_json_close(o, 0);

    } else {
        ws_stream_json_null(o, "audio");
    }

    ws_stream_json_uint(o, "ingest_bitrate_bps",
                        ws_stream_rate_bps(&ps->vrate, now,
                                           WS_STREAM_RATE_WINDOW)
                        + ws_stream_rate_bps(&ps->arate, now,
                                             WS_STREAM_RATE_WINDOW));
    ws_stream_json_uint(o, "received_bytes", s->bytes);
    ws_stream_json_uint(o, "dropped_frames", s->dropped);
    ws_stream_json_uint(o, "sent_bytes", s->c.sent_bytes);
    ws_stream_json_uint(o, "sent_messages", s->c.sent_messages);
    ws_stream_json_uint(o, "skips", s->skips);
    ws_stream_json_uint(o, "torn_closes", s->torn);

    if (s->group_len) {
        /* group viewers moved to this rendition */
        ws_stream_json_open(o, "switches", 0);
        ws_stream_json_uint(o, "up", s->c.switches_up);
        ws_stream_json_uint(o, "down", s->c.switches_down);
        ws_stream_json_close(o, 0);

    } else {
        ws_stream_json_null(o, "switches");
    }

    ws_stream_json_open(o, "viewers", 0);
    ws_stream_json_uint(o, "now", s->websocket + s->hls_clients);
    ws_stream_json_uint(o, "websocket", s->websocket);
    ws_stream_json_uint(o, "hls", s->hls_clients);
    ws_stream_json_uint(o, "peak", s->peak);
    ws_stream_json_uint(o, "connections", s->c.connections);
    ws_stream_json_open(o, "by_worker", 1);

    for (k = 0; k < s->nworkers; k++) {
        ws_stream_json_open(o, NULL, 0);
        ws_stream_json_int(o, "pid", s->workers[k].pid);
        ws_stream_json_uint(o, "websocket", s->workers[k].websocket);
        ws_stream_json_close(o, 0);
    }

    ws_stream_json_close(o, 1);
    ws_stream_json_close(o, 0);

    ws_stream_json_open(o, "hls", 0);
    ws_stream_json_uint(o, "requests", s->c.hls_requests);
    ws_stream_json_uint(o, "sent_bytes", s->c.hls_bytes);
    ws_stream_json_uint(o, "clients", s->hls_clients);
    ws_stream_json_close(o, 0);

    ngx_ws_stream_json_agg(o, "send_delay_ms", &s->now.delay,
                           ws_stream_hist_delay);
    ngx_ws_stream_json_agg(o, "latency_ms", &s->now.latency,
                           ws_stream_hist_latency);
    ngx_ws_stream_json_sync(o, &s->now.sync);

    ws_stream_json_close(o, 0);
}


/*
 * The audience's offsets from the shared latency target (reports'
 * "sync"), and the spread between the earliest and the latest viewer
 */

static void
ngx_ws_stream_json_sync(ws_stream_out_t *o, ws_stream_spread_t *s)
{
    ws_stream_json_open(o, "sync_ms", 0);
    ws_stream_json_uint(o, "viewers", s->n);

    if (s->n == 0) {
        ws_stream_json_null(o, "min");
        ws_stream_json_null(o, "avg");
        ws_stream_json_null(o, "max");
        ws_stream_json_null(o, "spread");

    } else {
        ws_stream_json_num(o, "min", s->min, 1);
        ws_stream_json_num(o, "avg", s->sum / s->n, 1);
        ws_stream_json_num(o, "max", s->max, 1);
        ws_stream_json_num(o, "spread", s->max - s->min, 1);
    }

    ws_stream_json_close(o, 0);
}


/* opens the object of a track: its codec, format, profile (and level) */

static void
ngx_ws_stream_json_codec(ws_stream_out_t *o, const char *key,
    const char *codec, ngx_uint_t level)
{
    char  family[16], profile[32], lvl[8];

    ws_stream_codec_describe(codec, family, sizeof(family), profile,
                             sizeof(profile), lvl, sizeof(lvl));

    ws_stream_json_open(o, key, 0);
    ws_stream_json_cstr(o, "codec", codec);
    ws_stream_json_cstr(o, "format", family);
    ws_stream_json_cstr(o, "profile", profile);

    if (level) {
        ws_stream_json_cstr(o, "level", lvl);
    }
}


static void
ngx_ws_stream_json_agg(ws_stream_out_t *o, const char *key,
    ws_stream_agg_t *a, const uint32_t *bounds)
{
    ws_stream_json_open(o, key, 0);
    ws_stream_json_uint(o, "viewers", a->n);

    if (a->n == 0) {
        ws_stream_json_null(o, "min");
        ws_stream_json_null(o, "avg");
        ws_stream_json_null(o, "max");
        ws_stream_json_null(o, "p50");
        ws_stream_json_null(o, "p95");

    } else {
        ws_stream_json_num(o, "min", a->min_us / 1000.0, 1);
        ws_stream_json_num(o, "avg", (double) a->sum_us / a->n / 1000.0, 1);
        ws_stream_json_num(o, "max", a->max_us / 1000.0, 1);
        ws_stream_json_num(o, "p50",
                           ws_stream_agg_quantile(a, bounds, 0.5) / 1000.0,
                           1);
        ws_stream_json_num(o, "p95",
                           ws_stream_agg_quantile(a, bounds, 0.95) / 1000.0,
                           1);
    }

    ws_stream_json_close(o, 0);
}


void
ngx_ws_stream_json_viewer(ws_stream_out_t *o, ngx_ws_stream_listed_t *l,
    uint64_t now)
{
    u_char                 addr[NGX_SOCKADDR_STRLEN];
    ngx_ws_stream_vrec_t  *v;

    v = &l->rec;

    ws_stream_json_open(o, NULL, 0);
    ws_stream_json_uint(o, "id", v->id);
    ws_stream_json_str(o, "address", addr,
                       ngx_ws_stream_rec_addr_text(v, addr, sizeof(addr)));
    ws_stream_json_uint(o, "port", v->port);

    if (l->xff_len) {
        ws_stream_json_str(o, "forwarded_for", l->xff, l->xff_len);

    } else {
        ws_stream_json_null(o, "forwarded_for");
    }

    ws_stream_json_str(o, "user_agent", l->ua, l->ua_len);
    ws_stream_json_int(o, "worker_pid", v->pid);
    ws_stream_json_cstr(o, "protocol", v->tls ? "wss" : "ws");
    ws_stream_json_uint(o, "since_unix_ms", v->since);
    ws_stream_json_uint(o, "connected_ms",
                        now > v->since ? now - v->since : 0);
    ws_stream_json_uint(o, "sent_bytes", v->sent_bytes);
    ws_stream_json_uint(o, "sent_messages", v->sent_messages);
    ws_stream_json_uint(o, "skips", v->skips);
    ws_stream_json_uint(o, "send_rate_bps", v->rate_bps);
    ws_stream_json_uint(o, "acked_bps", v->acked_bps);
    ws_stream_json_num(o, "rtt_ms", v->rtt_us / 1000.0, 3);
    ws_stream_json_uint(o, "lag_bytes", v->lag_bytes);
    ws_stream_json_uint(o, "lag_ms", v->lag_ms);

    if (v->rendition >= 0) {
        ws_stream_json_open(o, "rendition", 0);
        ws_stream_json_uint(o, "index", (uint64_t) v->rendition);
        ws_stream_json_bool(o, "auto", v->rendition_auto);
        ws_stream_json_open(o, "switches", 0);
        ws_stream_json_uint(o, "up", v->switches_up);
        ws_stream_json_uint(o, "down", v->switches_down);
        ws_stream_json_close(o, 0);

        if (v->switch_reason[0]) {
            ws_stream_json_cstr(o, "reason", v->switch_reason);

        } else {
            ws_stream_json_null(o, "reason");
        }

        ws_stream_json_close(o, 0);

    } else {
        ws_stream_json_null(o, "rendition");
    }

    ws_stream_json_uint(o, "channel_switches", v->channels);

    if (v->delay_known) {
        ws_stream_json_num(o, "send_delay_ms", v->delay_us / 1000.0, 1);
        ws_stream_json_num(o, "send_delay_max_ms", v->delay_max_us / 1000.0,
                           1);

    } else {
        ws_stream_json_null(o, "send_delay_ms");
        ws_stream_json_null(o, "send_delay_max_ms");
    }

    if (v->report_at == 0) {
        ws_stream_json_null(o, "report");
        ws_stream_json_close(o, 0);
        return;
    }

    ws_stream_json_open(o, "report", 0);
    ws_stream_json_uint(o, "age_ms",
                        now > v->report_at ? now - v->report_at : 0);
    ngx_ws_stream_json_double(o, "latency_ms", v->latency, 1);
    ngx_ws_stream_json_double(o, "buffer_ms", v->buffer, 1);
    ngx_ws_stream_json_double(o, "bitrate_bps", v->bitrate, 0);
    ngx_ws_stream_json_double(o, "throughput_bps", v->throughput, 0);
    ngx_ws_stream_json_double(o, "dropped_frames", v->dropped, 0);
    ngx_ws_stream_json_double(o, "decoded_frames", v->decoded, 0);
    ngx_ws_stream_json_double(o, "stalls", v->stalls, 0);
    ngx_ws_stream_json_double(o, "stall_ms", v->stall_ms, 1);
    ngx_ws_stream_json_double(o, "startup_ms", v->startup_ms, 1);
    ngx_ws_stream_json_double(o, "playback_rate", v->rate, 3);
    ngx_ws_stream_json_double(o, "target_ms", v->target, 1);
    ngx_ws_stream_json_double(o, "jitter_ms", v->jitter, 1);
    ngx_ws_stream_json_double(o, "clock_error_ms", v->clock_err, 1);

    if (v->sync_known) {
        ws_stream_json_num(o, "sync_ms", v->sync, 1);

    } else {
        ws_stream_json_null(o, "sync_ms");
    }

    if (v->state[0]) {
        ws_stream_json_cstr(o, "state", v->state);

    } else {
        ws_stream_json_null(o, "state");
    }

    ws_stream_json_close(o, 0);
    ws_stream_json_close(o, 0);
}


/* a report's field: -1 is "not sent" */

static void
ngx_ws_stream_json_double(ws_stream_out_t *o, const char *key, double v,
    unsigned decimals)
{
    if (v < 0) {
        ws_stream_json_null(o, key);

    } else {
        ws_stream_json_num(o, key, v, decimals);
    }
}
