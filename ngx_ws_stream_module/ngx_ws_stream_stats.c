
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Statistics writers: the per-stream, per-worker slots, the records of
 * the viewers, what the publisher's worker counts, HLS requests, and the
 * tick that rewrites every worker's figures once a second.  The readers
 * are in ngx_ws_stream_api.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_viewer.h"


/* a listed viewer's record is one 256-byte slab chunk: a field more that
 * made it 257 would double it (the build stops here) */
typedef char ngx_ws_stream_vrec_fits_t
    [sizeof(ngx_ws_stream_vrec_t) <= 256 ? 1 : -1];


/* how long bytes take to leave at a rate in bits/s (0: not measured) */
#define ngx_ws_stream_drain_ms(bytes, bps)                                   \
    ((bps) ? (uint64_t) (bytes) * 8000 / (bps) : 0)


static void ngx_ws_stream_slot_leave_locked(ngx_ws_stream_slot_t *slot);
static void ngx_ws_stream_rec_move_locked(ngx_ws_stream_vrec_t *rec,
    ngx_ws_stream_entry_t *e, ngx_ws_stream_entry_t *te);
static void ngx_ws_stream_slot_now(ngx_ws_stream_slot_t *slot,
    ws_stream_now_t *now);
static ngx_int_t ngx_ws_stream_forwarded_for(ngx_ws_stream_viewer_t *v,
    ngx_http_request_t *r, ngx_str_t *xff);


/* under the mutex: this worker's slot of the stream, made if needed */

ngx_ws_stream_slot_t *
ngx_ws_stream_slot_locked(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_entry_t *e)
{
    ngx_ws_stream_slot_t  *slot;

    if (zone->proc < 0) {
        return NULL;
    }

    slot = e->stats.slots[zone->proc];

    if (slot == NULL) {
        slot = ngx_slab_calloc_locked(zone->shpool,
                                      sizeof(ngx_ws_stream_slot_t));
        if (slot == NULL) {
            return NULL;
        }

        ws_stream_now_reset(&slot->now);

        e->stats.slots[zone->proc] = slot;
    }

    return slot;
}


void
ngx_ws_stream_counts_add(ngx_ws_stream_counts_t *dst,
    ngx_ws_stream_counts_t *src)
{
    dst->connections += src->connections;
    dst->sent_bytes += src->sent_bytes;
    dst->sent_messages += src->sent_messages;
    dst->reports += src->reports;
    dst->hls_requests += src->hls_requests;
    dst->hls_bytes += src->hls_bytes;
    dst->switches_up += src->switches_up;
    dst->switches_down += src->switches_down;
    ws_stream_hist_merge(&dst->latency, &src->latency);
    ws_stream_hist_merge(&dst->delay, &src->delay);
}


/*
 * Under the mutex: process p is gone.  Its counters move to the stream's
 * "gone" ones, its gauges and viewer records go.
 */

void
ngx_ws_stream_stats_reclaim(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_entry_t *e, ngx_uint_t p)
{
    ngx_queue_t           *q, *next;
    ngx_ws_stream_vrec_t  *rec;
    ngx_ws_stream_slot_t  *slot;

    slot = e->stats.slots[p];

    if (slot) {
        ngx_ws_stream_counts_add(&e->stats.gone, &slot->c);
        ngx_slab_free_locked(zone->shpool, slot);
        e->stats.slots[p] = NULL;
    }

    if (e->stats.vrecs.next == NULL) {
        return;
    }

    for (q = ngx_queue_head(&e->stats.vrecs);
         q != ngx_queue_sentinel(&e->stats.vrecs);
         q = next)
    {
        next = ngx_queue_next(q);
        rec = ngx_queue_data(q, ngx_ws_stream_vrec_t, queue);

        if (rec->proc == p) {
            ngx_queue_remove(q);
            e->stats.nvrecs--;
            ngx_ws_stream_rec_free_locked(zone, rec);
        }
    }
}


/* under the mutex: the entry goes */

void
ngx_ws_stream_stats_free(ngx_ws_stream_zone_t *zone, ngx_ws_stream_entry_t *e)
{
    ngx_uint_t  p;

    for (p = 0; p < NGX_WS_STREAM_MAX_PROCS; p++) {
        ngx_ws_stream_stats_reclaim(zone, e, p);
    }
}


/* the publisher's worker: a publish sent its first media */

void
ngx_ws_stream_stats_online(ngx_ws_stream_entry_t *e, ngx_str_t *addr)
{
    ngx_ws_stream_pub_stats_t  *ps;

    ps = &e->stats.pub;

    ps->addr_len = ngx_min(addr->len, NGX_WS_STREAM_ADDR_LEN);
    ngx_memcpy(ps->addr, addr->data, ps->addr_len);

    /* what describes a publish is its own; counters go on */

    ps->vcodec[0] = '\0';
    ps->acodec[0] = '\0';
    ps->width = 0;
    ps->height = 0;
    ps->sample_rate = 0;
    ps->channels = 0;
    ps->has_key = 0;
    ps->since_key = 0;
    ps->nkeys = 0;
    ps->checked = 0;
    ps->align_warned = 0;
    ps->gop_frames = 0;
    ps->gop_ms = 0;
}


void
ngx_ws_stream_stats_config(ngx_ws_stream_entry_t *e, unsigned track,
    const char *codec, uint32_t width, uint32_t height, uint32_t sample_rate,
    uint32_t channels)
{
    ngx_ws_stream_pub_stats_t  *ps;

    ps = &e->stats.pub;

    if (track == WS_STREAM_TRACK_VIDEO) {
        ngx_cpystrn((u_char *) ps->vcodec, (u_char *) codec,
                    NGX_WS_STREAM_CODEC_LEN);
        ps->width = width;
        ps->height = height;

    } else if (track == WS_STREAM_TRACK_AUDIO) {
        ngx_cpystrn((u_char *) ps->acodec, (u_char *) codec,
                    NGX_WS_STREAM_CODEC_LEN);
        ps->sample_rate = sample_rate;
        ps->channels = channels;
    }
}


/* the publisher's worker: a media frame was stored */

void
ngx_ws_stream_stats_frame(ngx_ws_stream_entry_t *e, unsigned track,
    unsigned flags, uint32_t dts, size_t len, uint64_t ingest)
{
    ngx_ws_stream_pub_stats_t  *ps;

    ps = &e->stats.pub;
    ps->last_ingest = ingest;

    if (flags & WS_STREAM_FLAG_CONFIG) {
        return;
    }

    if (track == WS_STREAM_TRACK_AUDIO) {
        ps->aframes++;
        ps->abytes += len;
        ws_stream_rate_add(&ps->arate, ingest, len);
        return;
    }

    if (track != WS_STREAM_TRACK_VIDEO) {
        return;
    }

    ps->vframes++;
    ps->vbytes += len;
    ws_stream_rate_add(&ps->vrate, ingest, len);

    if (flags & WS_STREAM_FLAG_KEY) {
        ps->keyframes++;

        if (ps->has_key) {
            ps->gop_frames = ps->since_key + 1;
            ps->gop_ms = dts - ps->key_dts;
        }

        ps->has_key = 1;
        ps->key_dts = dts;
        ps->since_key = 0;

        ps->keys[ps->nkeys % NGX_WS_STREAM_STATS_KEYS] = dts;
        ps->nkeys++;

    } else {
        ps->since_key++;
    }
}


/* under the mutex: an LL-HLS request of the stream was answered */

void
ngx_ws_stream_stats_hls_locked(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_entry_t *e, ngx_http_request_t *r, size_t bytes)
{
    uint32_t               h;
    ngx_table_elt_t       *ua;
    ngx_ws_stream_slot_t  *slot;

    slot = ngx_ws_stream_slot_locked(zone, e);

    if (slot) {
        slot->c.hls_requests++;
        slot->c.hls_bytes += bytes;
    }

    /* a client is its address and User-Agent: players behind one NAT
     * with the same browser count once */

    h = ws_stream_seen_hash(r->connection->addr_text.data,
                            r->connection->addr_text.len, 2166136261u);

    ua = r->headers_in.user_agent;

    if (ua) {
        h = ws_stream_seen_hash(ua->value.data, ua->value.len, h);
    }

    ws_stream_seen_add(&e->stats.seen, ngx_ws_stream_now_ms(), h);
}


/*
 * Every second in every worker: each waiter with figures rewrites them
 * (viewers: their records), and the worker's "viewers now" aggregates of
 * each stream are replaced under the slot's sequence count.
 */

void
ngx_ws_stream_stats_tick(ngx_ws_stream_zone_t *zone)
{
    ngx_uint_t               i;
    ngx_queue_t             *q;
    ws_stream_now_t          now;
    ngx_ws_stream_slot_t    *slot;
    ngx_ws_stream_entry_t   *e;
    ngx_ws_stream_local_t   *l;
    ngx_ws_stream_waiter_t  *w;

    if (zone->proc < 0 || zone->local == NULL) {
        return;
    }

    for (i = 0; i < zone->sh->nstreams; i++) {
        e = &zone->sh->streams[i];

        if (e->pub == NGX_WS_STREAM_PUB_ONLINE && e->pub_pid == ngx_pid) {
            ngx_ws_stream_group_align(zone, i, ngx_cycle->log);
        }

        l = &zone->local[i];

        /* a waiter of this worker holds the entry, so that its slot
         * cannot go while it is read without the mutex; a worker's
         * gauges are cleared when its last viewer of the stream leaves */

        if (ngx_queue_empty(&l->waiters)) {
            continue;
        }

        slot = e->stats.slots[zone->proc];

        if (slot == NULL) {
            continue;
        }

        ws_stream_now_reset(&now);

        for (q = ngx_queue_head(&l->waiters);
             q != ngx_queue_sentinel(&l->waiters);
             q = ngx_queue_next(q))
        {
            w = ngx_queue_data(q, ngx_ws_stream_waiter_t, queue);

            if (w->stats) {
                w->stats(w, &now);
            }
        }

        ngx_ws_stream_slot_now(slot, &now);
    }
}


/* under the mutex: one WebSocket viewer less in a worker's slot; none left,
 * its "viewers now" are empty */

static void
ngx_ws_stream_slot_leave_locked(ngx_ws_stream_slot_t *slot)
{
    ws_stream_now_t  none;

    if (slot && slot->websocket && --slot->websocket == 0) {
        ws_stream_now_reset(&none);
        ngx_ws_stream_slot_now(slot, &none);
    }
}


/* a worker's "viewers now" of a stream, under the slot's sequence count */

static void
ngx_ws_stream_slot_now(ngx_ws_stream_slot_t *slot, ws_stream_now_t *now)
{
    (void) ngx_atomic_fetch_add(&slot->seq, 1);
    ngx_memory_barrier();

    slot->now = *now;

    ngx_memory_barrier();
    (void) ngx_atomic_fetch_add(&slot->seq, 1);
}


/*
 * A WebSocket viewer joins: counted, and listed if its location says.
 * Called at the handshake only: what the record keeps of the request's
 * headers (User-Agent, X-Forwarded-For) is copied here, as the request is
 * freed once the 101 is out.
 */

void
ngx_ws_stream_stats_join(ngx_ws_stream_viewer_t *v, ngx_http_request_t *r)
{
    ngx_uint_t               p;
    ngx_str_t                xff;
    uint64_t                 now;
    ngx_connection_t        *c;
    ngx_table_elt_t         *ua;
    ngx_ws_stream_zone_t    *zone;
    ngx_ws_stream_entry_t   *e;
    ngx_ws_stream_vrec_t    *rec;
    ngx_ws_stream_slot_t    *slot;

    static ngx_uint_t        warned;

    zone = v->zone;
    e = &zone->sh->streams[v->stream];
    c = v->connection;

    rec = NULL;

    ngx_shmtx_lock(&zone->shpool->mutex);

    slot = ngx_ws_stream_slot_locked(zone, e);

    if (slot) {
        slot->websocket++;
        slot->c.connections++;

        now = ws_stream_seen_count(&e->stats.seen, ngx_ws_stream_now_ms());

        for (p = 0; p < NGX_WS_STREAM_MAX_PROCS; p++) {
            if (e->stats.slots[p]) {
                now += e->stats.slots[p]->websocket;
            }
        }

        if (now > e->stats.peak) {
            e->stats.peak = (uint32_t) now;
        }
    }

    if (slot && v->conf->stats) {
        rec = ngx_slab_calloc_locked(zone->shpool,
                                     sizeof(ngx_ws_stream_vrec_t));
    }

    if (rec) {
        rec->rendition = -1;
        rec->id = ngx_atomic_fetch_add(&zone->sh->viewer_id, 1) + 1;
        rec->pid = ngx_pid;
        rec->proc = zone->proc;
        rec->since = ngx_ws_stream_now_ms();
        rec->report_at = 0;

        ngx_ws_stream_rec_addr(rec, c->sockaddr);

        ua = r->headers_in.user_agent;

        if (ua) {
            rec->ua = ngx_ws_stream_text_get_locked(zone, ua->value.data,
                          ngx_min(ua->value.len, NGX_WS_STREAM_UA_LEN - 1));
        }

        if (ngx_ws_stream_forwarded_for(v, r, &xff) == NGX_OK) {
            rec->xff = ngx_ws_stream_text_get_locked(zone, xff.data,
                           ngx_min(xff.len, NGX_WS_STREAM_ADDR_LEN - 1));
        }

        rec->tls = (c->ssl != NULL);
        rec->port = (uint16_t) ngx_inet_get_port(c->sockaddr);

        ngx_queue_insert_tail(&e->stats.vrecs, &rec->queue);
        e->stats.nvrecs++;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    v->slot = slot;
    v->rec = rec;
    v->acked_at = ngx_current_msec;

    if ((slot == NULL || (rec == NULL && v->conf->stats)) && !warned) {
        warned = 1;
        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "ws_stream zone \"%V\" is full: viewers are served "
                      "but left out of the statistics (make the zone "
                      "larger)", &zone->name);
    }
}


/* the X-Forwarded-For of a viewer that comes through a trusted proxy */

static ngx_int_t
ngx_ws_stream_forwarded_for(ngx_ws_stream_viewer_t *v, ngx_http_request_t *r,
    ngx_str_t *xff)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (v->conf->trusted == NULL
        || ngx_cidr_match(v->connection->sockaddr, v->conf->trusted)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NGX_DECLINED;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("X-Forwarded-For") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "X-Forwarded-For",
                               h[i].key.len) == 0)
        {
            *xff = h[i].value;
            return NGX_OK;
        }
    }
}


void
ngx_ws_stream_stats_leave(ngx_ws_stream_viewer_t *v)
{
    ngx_ws_stream_zone_t   *zone;
    ngx_ws_stream_entry_t  *e;
    ngx_ws_stream_slot_t   *slot;

    zone = v->zone;
    e = &zone->sh->streams[v->stream];
    slot = v->slot;

    if (slot == NULL && v->rec == NULL) {
        return;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    ngx_ws_stream_slot_leave_locked(slot);

    if (v->rec) {
        ngx_queue_remove(&v->rec->queue);
        e->stats.nvrecs--;
        ngx_ws_stream_rec_free_locked(zone, v->rec);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    v->slot = NULL;
    v->rec = NULL;
}


/* a client report: into the histogram and the viewer's record */

/*
 * A group viewer moves to the rendition of entry to: it is one viewer of
 * that stream from now on, in its count and its list, and a switch (up or
 * down) there.
 */

void
ngx_ws_stream_stats_move(ngx_ws_stream_viewer_t *v, ngx_uint_t to,
    ngx_uint_t up)
{
    ngx_ws_stream_zone_t   *zone;
    ngx_ws_stream_entry_t  *e, *te;
    ngx_ws_stream_slot_t   *slot;

    zone = v->zone;
    e = &zone->sh->streams[v->stream];
    te = &zone->sh->streams[to];

    ngx_shmtx_lock(&zone->shpool->mutex);

    slot = v->slot;

    ngx_ws_stream_slot_leave_locked(slot);

    slot = ngx_ws_stream_slot_locked(zone, te);

    if (slot) {
        slot->websocket++;

        if (up) {
            slot->c.switches_up++;

        } else {
            slot->c.switches_down++;
        }
    }

    if (v->rec) {
        ngx_ws_stream_rec_move_locked(v->rec, e, te);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    v->slot = slot;
}


/* under the mutex: a viewer's record into the list of another stream */

static void
ngx_ws_stream_rec_move_locked(ngx_ws_stream_vrec_t *rec,
    ngx_ws_stream_entry_t *e, ngx_ws_stream_entry_t *te)
{
    ngx_queue_remove(&rec->queue);
    e->stats.nvrecs--;

    ngx_queue_insert_tail(&te->stats.vrecs, &rec->queue);
    te->stats.nvrecs++;
}


/*
 * A switch to another stream: one connection more of that stream, and
 * one viewer of it from now on; its record goes with it, the rendition
 * state of a group it left set back.
 */

void
ngx_ws_stream_stats_channel(ngx_ws_stream_viewer_t *v, ngx_uint_t to,
    ngx_uint_t group)
{
    ngx_ws_stream_zone_t   *zone;
    ngx_ws_stream_entry_t  *e, *te;
    ngx_ws_stream_slot_t   *slot;
    ngx_ws_stream_vrec_t   *rec;

    zone = v->zone;
    e = &zone->sh->streams[v->stream];
    te = &zone->sh->streams[to];

    ngx_shmtx_lock(&zone->shpool->mutex);

    ngx_ws_stream_slot_leave_locked(v->slot);

    slot = ngx_ws_stream_slot_locked(zone, te);

    if (slot) {
        slot->websocket++;
        slot->c.connections++;
    }

    rec = v->rec;

    if (rec) {
        ngx_ws_stream_rec_move_locked(rec, e, te);

        rec->rendition = group ? 0 : -1;
        rec->rendition_auto = 0;
        rec->switches_up = 0;
        rec->switches_down = 0;
        rec->switch_reason[0] = '\0';
        rec->channels++;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    v->slot = slot;
}


void
ngx_ws_stream_stats_report(ngx_ws_stream_viewer_t *v,
    ws_stream_client_msg_t *m)
{
    ngx_ws_stream_vrec_t  *rec;

    v->report_at = ngx_ws_stream_now_ms();
    v->latency = m->latency;
    v->sync = m->sync;
    v->has_sync = m->has_sync;

    if (v->slot == NULL || !v->conf->stats) {
        return;
    }

    v->slot->c.reports++;

    if (m->latency >= 0) {
        ws_stream_hist_add(&v->slot->c.latency, ws_stream_hist_latency,
                           (uint64_t) (m->latency * 1000));
    }

    rec = v->rec;

    if (rec == NULL) {
        return;
    }

    rec->latency = m->latency;
    rec->buffer = m->buffer;
    rec->bitrate = m->bitrate;
    rec->throughput = m->throughput;
    rec->dropped = m->dropped;
    rec->decoded = m->decoded;
    rec->stalls = m->stalls;
    rec->stall_ms = m->stall_ms;
    rec->startup_ms = m->startup_ms;
    rec->rate = m->rate;
    rec->target = m->target;
    rec->jitter = m->jitter;
    rec->clock_err = m->clock_err;
    rec->sync = m->sync;
    rec->sync_known = m->has_sync;
    ngx_memcpy(rec->state, m->state, sizeof(rec->state));
    rec->state[sizeof(rec->state) - 1] = '\0';

    ngx_memory_barrier();
    rec->report_at = v->report_at;
}


/*
 * The tick for one viewer: its record from the kernel's TCP_INFO (the
 * delivery rate TCP measures, RTT, bytes not yet sent) and from where
 * it is in the ring; its mean send delay and newest latency into the
 * stream's aggregates.
 */

void
ngx_ws_stream_viewer_stats(ngx_ws_stream_waiter_t *w, ws_stream_now_t *agg)
{
    uint64_t                 now, lag, lag_ms, unsent, bps, dt, rate;
    uint64_t                 drain_bps, kernel_ms, old;
    socklen_t                len;
    ngx_uint_t               app_limited;
    ngx_ws_stream_group_t   *g;
    ngx_ws_stream_tcp_info_t ti;
    ngx_ws_stream_vrec_t    *rec;
    ngx_ws_stream_entry_t   *e;
    ngx_ws_stream_viewer_t  *v;
    ngx_ws_stream_pub_stats_t *ps;

    v = (ngx_ws_stream_viewer_t *) ((u_char *) w
                                    - offsetof(ngx_ws_stream_viewer_t,
                                               waiter));
    now = ngx_ws_stream_now_ms();

    if (v->delay_n) {
        ws_stream_agg_add(&agg->delay, ws_stream_hist_delay,
                          v->delay_sum / v->delay_n);
    }

    if (v->report_at && now - v->report_at < NGX_WS_STREAM_REPORT_AGE) {
        if (v->latency >= 0) {
            ws_stream_agg_add(&agg->latency, ws_stream_hist_latency,
                              (uint64_t) (v->latency * 1000));
        }

        if (v->has_sync) {
            ws_stream_spread_add(&agg->sync, v->sync);
        }
    }

    rec = v->rec;

    if (rec) {
        rec->sent_bytes = v->sent;
        rec->sent_messages = v->messages;
        rec->skips = v->skips;

        rec->delay_known = (v->delay_n != 0);
        rec->delay_us = v->delay_n ? (uint32_t) (v->delay_sum / v->delay_n)
                                   : 0;
        rec->delay_max_us = v->delay_max;
    }

    v->delay_n = 0;
    v->delay_sum = 0;
    v->delay_max = 0;

    /* the rest is TCP's view and the backlog: for the API, the lag bound
     * and the decisions of a group viewer */

    if (rec == NULL && v->group == NULL && v->conf->max_lag == 0) {
        return;
    }

    ngx_memzero(&ti, sizeof(ti));
    len = sizeof(ti);

    if (getsockopt(v->connection->fd, IPPROTO_TCP, TCP_INFO, &ti, &len)
        == -1)
    {
        len = 0;
    }

    unsent = 0;
    rate = 0;

    if (len >= offsetof(ngx_ws_stream_tcp_info_t, delivery_rate)
               + sizeof(ti.delivery_rate))
    {
        rate = ti.delivery_rate * 8;
        unsent = ti.notsent_bytes;

        dt = ngx_current_msec - v->acked_at;

        if (dt >= 500 && ti.bytes_acked >= v->acked) {
            v->acked_bps = (ti.bytes_acked - v->acked) * 8000 / dt;
            v->acked = ti.bytes_acked;
            v->acked_at = ngx_current_msec;
        }
    }

    e = &v->zone->sh->streams[v->stream];
    ps = &e->stats.pub;

    lag = unsent + (v->out_last - v->out_pos);

    if (v->attached && e->ring.data) {
        lag += ws_stream_ring_head(&e->ring) - v->cur.pos;
    }

    bps = ws_stream_rate_bps(&ps->vrate, now, WS_STREAM_RATE_WINDOW)
          + ws_stream_rate_bps(&ps->arate, now, WS_STREAM_RATE_WINDOW);

    /* what the kernel holds takes as long as the client acknowledges it
     * (the stream's rate before that is measured) */

    drain_bps = v->acked_bps ? v->acked_bps : bps;
    kernel_ms = ngx_ws_stream_drain_ms(unsent, drain_bps);

    /* the lag bound counts it too, until the next tick, but not the part
     * written before the viewer's last skip: a skip cannot shorten that,
     * so it would only skip again */

    old = (v->skip_sent + unsent > v->sent)
          ? v->skip_sent + unsent - v->sent : 0;

    v->kernel_ms = ngx_ws_stream_drain_ms(unsent - old, drain_bps);

    lag_ms = (ps->last_ingest > v->last_ingest && v->last_ingest
              ? ps->last_ingest - v->last_ingest : 0)
             + kernel_ms;

    g = v->group;

    if (g) {
        /* a rate measured while the sender had too little to send says
         * nothing of the link (the byte after tcpi_snd_wscale, bit 0:
         * tcpi_delivery_rate_app_limited, Linux 4.9) */

        app_limited = len > 7 && (((u_char *) &ti.base)[7] & 1);

        ngx_ws_stream_group_tick(v, lag_ms, app_limited ? 0 : rate);
    }

    if (rec == NULL) {
        return;
    }

    rec->rate_bps = rate;
    rec->acked_bps = v->acked_bps;
    rec->lag_bytes = lag;
    rec->lag_ms = (uint32_t) ngx_min(lag_ms, UINT32_MAX);

    if (len >= offsetof(struct tcp_info, tcpi_rttvar)) {
        rec->rtt_us = ti.base.tcpi_rtt;
    }

    if (g) {
        rec->rendition = (int8_t) g->index;
        rec->rendition_auto = !g->abr.pinned;
        rec->switches_up = (uint32_t) g->up;
        rec->switches_down = (uint32_t) g->down;

        if (g->reason) {
            ngx_cpystrn((u_char *) rec->switch_reason, (u_char *) g->reason,
                        sizeof(rec->switch_reason));
        }
    }
}
