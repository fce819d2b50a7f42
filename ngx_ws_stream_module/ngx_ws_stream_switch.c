
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Moving a group viewer to another rendition (ngx_ws_stream_abr.c
 * decides which).  It is sent one rendition at a time, from that
 * rendition's ring like any viewer, and moved at a keyframe:
 *
 *   1. the target's entry is held and waited on (its writer wakes us);
 *   2. its first keyframe after the newest frame sent is found: the cut.
 *      A viewer that is caught up is ahead of the target's newest frames
 *      by the time they take to arrive: it waits at the current
 *      rendition's next keyframe for the target's of the same time
 *      (within ms when the keyframes line up, NGX_WS_STREAM_HOLD_MAX at
 *      most);
 *   3. the current rendition is sent up to the cut's time (the fan-out
 *      stops before its first frame of the main track at or after it);
 *   4. then, outside any wake-up (a posted event), the viewer leaves the
 *      current ring for the target's: a "rendition" notice, its codec
 *      configuration, its frames from the keyframe; its audio up to what
 *      was sent is left out.  The dts go on without a gap, an overlap or
 *      a step back.
 *
 * Renditions that do not share a timeline (timestamps apart, keyframes
 * that do not line up) are moved between with a jump to the target's
 * newest keyframe, said in the notice ("continuous": false) and warned
 * of once.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_viewer.h"


/* renditions whose dts and ingest times disagree by more share no
 * timeline: a move between them is a jump */
#define NGX_WS_STREAM_TIMELINE  1000    /* ms */

/* a viewer held at a keyframe for the target's of the same time waits
 * at most this long: it comes within ms when the keyframes line up */
#define NGX_WS_STREAM_HOLD_MAX  500     /* ms */

/* a viewer whose rendition stopped waits this long at most for a keyframe
 * of the target that goes on from what it was sent: about a GOP or two */
#define NGX_WS_STREAM_GONE_WAIT 3000    /* ms */


#define ngx_ws_stream_group_online(e)                                        \
    ((e)->pub == NGX_WS_STREAM_PUB_ONLINE && (e)->ring.data && !(e)->retired)

/* a record of the target after the newest frame sent (a jump goes on) */
#define ngx_ws_stream_group_ahead(g, rec)                                    \
    (!(g)->vknown || (int32_t) ((rec)->dts - (g)->vdts) > 0)


static void ngx_ws_stream_switch_step(ngx_ws_stream_viewer_t *v);
static void ngx_ws_stream_switch_warn(ngx_ws_stream_viewer_t *v,
    const char *why);
static void ngx_ws_stream_switch_drop(ngx_ws_stream_viewer_t *v);
static void ngx_ws_stream_switch_move(ngx_ws_stream_viewer_t *v);
static void ngx_ws_stream_switch_late(ngx_ws_stream_viewer_t *v,
    ngx_ws_stream_entry_t *te, const ws_stream_rec_t *rec);


/* the fan-out sent these records (the last perhaps in part) */

void
ngx_ws_stream_group_sent(ngx_ws_stream_viewer_t *v, ws_stream_rec_t *recs,
    ngx_uint_t n)
{
    ngx_uint_t              k, track, main;
    ngx_ws_stream_group_t  *g;

    g = v->group;
    main = v->zone->sh->streams[v->stream].has_video
           ? WS_STREAM_TRACK_VIDEO : WS_STREAM_TRACK_AUDIO;

    for (k = 0; k < n; k++) {

        if (recs[k].type != WS_STREAM_REC_MEDIA
            || (recs[k].kind & WS_STREAM_FLAG_CONFIG))
        {
            continue;
        }

        track = recs[k].kind & WS_STREAM_TRACK_MASK;

        if (track == main) {
            g->vdts = recs[k].dts;
            g->vingest = recs[k].ingest;
            g->vknown = 1;

        } else if (track == WS_STREAM_TRACK_AUDIO) {
            g->adts = recs[k].dts;
            g->aknown = 1;
        }
    }

    if (g->state == NGX_WS_STREAM_SWITCH_WAIT && g->vknown) {
        ngx_ws_stream_switch_post(v);
    }
}


/*
 * The fan-out skipped the viewer ahead to the current ring's newest
 * keyframe: what comes next is from there, and a cut found before is
 * behind it.
 */

void
ngx_ws_stream_group_skipped(ngx_ws_stream_viewer_t *v)
{
    const uint8_t          *frame;
    ws_stream_rec_t         rec;
    ws_stream_cursor_t      cur;
    ngx_ws_stream_group_t  *g;

    g = v->group;
    cur = v->cur;

    g->aknown = 0;
    g->at_cut = 0;
    g->held = 0;

    if (ws_stream_ring_read(&v->zone->sh->streams[v->stream].ring, &cur,
                            &rec, &frame)
        != WS_STREAM_OK)
    {
        g->vknown = 0;
        return;
    }

    g->vdts = rec.dts - 1;
    g->vingest = rec.ingest;
    g->vknown = 1;

    if (g->state == NGX_WS_STREAM_SWITCH_NONE) {
        return;
    }

    /* a move was waiting: it is made here, at the keyframe the skip
     * landed on, before that keyframe is sent (a slow viewer would
     * otherwise be skipped again before it comes to a cut) */

    g->state = NGX_WS_STREAM_SWITCH_HOLD;
    g->held = 1;
    g->held_dts = rec.dts;
    g->held_at = ngx_current_msec;

    ngx_ws_stream_switch_post(v);
}


/*
 * The lag bound would skip a viewer whose move down waits for its cut:
 * the current rendition, sent up to the cut on a link that cannot carry
 * it (a probe up that failed), falls further behind meanwhile.  The move
 * is made at once instead, to the target's newest keyframe, as a skip
 * would go to the current rendition's: 1 if it is.
 */

ngx_uint_t
ngx_ws_stream_group_overtaken(ngx_ws_stream_viewer_t *v)
{
    const uint8_t          *frame;
    ws_stream_rec_t         rec;
    ws_stream_cursor_t      key;
    ngx_ws_stream_entry_t  *te;
    ngx_ws_stream_group_t  *g;

    g = v->group;

    if (g->hurry) {
        return 1;
    }

    if (g->state == NGX_WS_STREAM_SWITCH_NONE || g->to <= g->index) {
        return 0;
    }

    te = &v->zone->sh->streams[g->target];

    if (!ngx_ws_stream_group_online(te)
        || !ws_stream_ring_start(&te->ring, &key)
        || ws_stream_ring_read(&te->ring, &key, &rec, &frame) != WS_STREAM_OK
        || !ngx_ws_stream_group_ahead(g, &rec))
    {
        return 0;
    }

    g->hurry = 1;
    ngx_ws_stream_switch_post(v);

    return 1;
}


/* the fan-out stopped at the cut, or (held) at a keyframe */

void
ngx_ws_stream_group_reached(ngx_ws_stream_viewer_t *v, ws_stream_rec_t *rec)
{
    ngx_ws_stream_group_t  *g;

    g = v->group;

    /* once: the sends that find it again wait for the target's wake-up
     * or the move, not for another pass of their own */

    if (g->state == NGX_WS_STREAM_SWITCH_HOLD) {
        if (g->held) {
            return;
        }

        g->held = 1;
        g->held_dts = rec->dts;
        g->held_at = ngx_current_msec;

    } else {
        if (g->at_cut) {
            return;
        }

        g->at_cut = 1;
    }

    ngx_ws_stream_switch_post(v);
}


void
ngx_ws_stream_switch_post(ngx_ws_stream_viewer_t *v)
{
    if (!v->group->event.posted && !v->closed) {
        ngx_post_event(&v->group->event, &ngx_posted_events);
    }
}


/* the target changed: look for the cut again */

void
ngx_ws_stream_switch_wake(ngx_ws_stream_waiter_t *w)
{
    ngx_ws_stream_group_t  *g;

    g = (ngx_ws_stream_group_t *) ((u_char *) w
                                   - offsetof(ngx_ws_stream_group_t,
                                              waiter));

    if (g->state == NGX_WS_STREAM_SWITCH_WAIT
        || g->state == NGX_WS_STREAM_SWITCH_HOLD)
    {
        ngx_ws_stream_switch_post(g->event.data);
    }
}


void
ngx_ws_stream_switch_handler(ngx_event_t *ev)
{
    ngx_connection_t        *c;
    ngx_ws_stream_viewer_t  *v;

    v = ev->data;
    c = v->connection;

    if (v->closed || v->closing || v->lingering) {
        return;
    }

    ngx_ws_stream_switch_step(v);

    if (c->write->ready) {
        ngx_ws_stream_send(v);
    }
}


static void
ngx_ws_stream_switch_step(ngx_ws_stream_viewer_t *v)
{
    int64_t                 off;
    uint32_t                dts;
    const uint8_t          *frame;
    ngx_int_t               t;
    ws_stream_rec_t         rec;
    ws_stream_cursor_t      n;
    ngx_ws_stream_entry_t  *e, *te;
    ngx_ws_stream_group_t  *g;

    g = v->group;


    /* another decision since the move began */

    if (g->state != NGX_WS_STREAM_SWITCH_NONE && g->want != g->to) {
        ngx_ws_stream_switch_drop(v);
    }

    if (g->state == NGX_WS_STREAM_SWITCH_NONE) {

        if (g->want == g->index) {
            return;
        }

        t = ngx_ws_stream_entry_get(v->zone, &g->app->name,
                                    &g->names[g->want], v->connection->log);
        if (t < 0) {
            /* the zone's stream table is full (logged): stay */
            ws_stream_abr_switched(&g->abr, (unsigned) g->index,
                                   ngx_current_msec);
            g->want = g->index;
            return;
        }

        g->target = t;
        g->entries[g->want] = t;
        g->to = g->want;
        g->state = NGX_WS_STREAM_SWITCH_WAIT;
        g->at_cut = 0;
        g->held = 0;
        g->gone_at = 0;

        ngx_ws_stream_waiter_add(v->zone, t, &g->waiter);
    }

    e = &v->zone->sh->streams[v->stream];
    te = &v->zone->sh->streams[g->target];

    if (g->hurry) {
        g->hurry = 0;

        if (ngx_ws_stream_group_online(te)
            && ws_stream_ring_start(&te->ring, &n)
            && ws_stream_ring_read(&te->ring, &n, &rec, &frame)
               == WS_STREAM_OK
            && ngx_ws_stream_group_ahead(g, &rec))
        {
            /* overtaken by the lag bound: to the newest keyframe */
            ngx_log_error(NGX_LOG_INFO, v->connection->log, 0,
                          "ws_stream: slow viewer moved to \"%V\" at its "
                          "newest keyframe (behind)", &g->names[g->to]);

            g->key = n;
            g->jump = 1;
            g->late = 1;
            g->held = 0;
            g->cut = rec.dts;
            g->state = NGX_WS_STREAM_SWITCH_CUT;

            ngx_ws_stream_switch_move(v);
            return;
        }

        /* gone meanwhile: the move waits as it did, the lag bound skips
         * the viewer on the current rendition */
    }

    if (g->state != NGX_WS_STREAM_SWITCH_CUT) {

        if (!ngx_ws_stream_group_online(te)) {
            g->state = NGX_WS_STREAM_SWITCH_WAIT;
            g->held = 0;
            return;
        }

        /* the target's newest keyframe: a new viewer's start, and the
         * test of whether the two renditions share a timeline */

        if (!ws_stream_ring_start(&te->ring, &g->key)
            || ws_stream_ring_read(&te->ring, &g->key, &rec, &frame)
               != WS_STREAM_OK)
        {
            return;
        }

        off = 0;
        g->jump = 0;
        g->late = 0;

        if (g->vknown) {
            /* at the same dts the two were ingested at about the same
             * time, if they share a timeline */

            off = (int64_t) (int32_t) (rec.dts - g->vdts)
                  - ((int64_t) rec.ingest - (int64_t) g->vingest);

            g->jump = (off > NGX_WS_STREAM_TIMELINE
                       || off < -NGX_WS_STREAM_TIMELINE);

        } else if (ngx_ws_stream_group_online(e) && v->attached) {
            /* its first frames are on their way: cut after them */
            return;

        } else {
            /* nothing sent, nothing to send: start as a new viewer */
            g->jump = 1;
        }

        if (!g->jump) {
            n = g->key;
            dts = g->held ? g->held_dts : g->vdts + 1;

            if (ws_stream_ring_key_at(&te->ring, dts, &g->key)
                && ws_stream_ring_read(&te->ring, &g->key, &rec, &frame)
                   == WS_STREAM_OK)
            {
                /* held at a keyframe of the same time: the move is now */
                g->at_cut = g->held && rec.dts == g->held_dts;
                g->held = 0;

                /* a viewer so far behind that the lag bound would skip it
                 * on the target at once goes to its newest keyframe */

                if (v->conf->max_lag
                    && te->stats.pub.last_ingest
                       > rec.ingest + v->conf->max_lag)
                {
                    g->key = n;
                    g->jump = 1;
                    g->late = 1;
                }

            } else if (!g->held && ngx_ws_stream_group_online(e)
                       && v->attached)
            {
                /* the target is not there yet: the current rendition
                 * waits for it at its next keyframe */
                g->state = NGX_WS_STREAM_SWITCH_HOLD;
                return;

            } else if (g->held
                       && ngx_current_msec - g->held_at
                          < NGX_WS_STREAM_HOLD_MAX)
            {
                return;

            } else if (!g->held
                       && (g->gone_at == 0
                           || ngx_current_msec - g->gone_at
                              < NGX_WS_STREAM_GONE_WAIT))
            {
                /* the current rendition has nothing more to send: the
                 * target's next keyframe goes on from it */
                if (g->gone_at == 0) {
                    g->gone_at = ngx_current_msec ? ngx_current_msec : 1;
                }

                return;

            } else {
                /* none came: the keyframes do not line up */
                g->key = n;
                g->jump = 1;
                g->held = 0;
                ngx_ws_stream_switch_warn(v, "keyframes do not line up");
            }

        } else if (g->vknown && !g->late) {
            ngx_ws_stream_switch_warn(v, "timestamps are apart");
        }

        g->cut = rec.dts;
        g->state = NGX_WS_STREAM_SWITCH_CUT;

        if (g->jump) {
            ngx_ws_stream_switch_move(v);
            return;
        }
    }

    /* CUT: the move is made once the current rendition is sent up to the
     * cut's time, or at once if it has nothing more to send */

    if (!g->at_cut && ngx_ws_stream_group_online(e) && v->attached) {
        return;
    }

    ngx_ws_stream_switch_move(v);
}


/* a move that cannot keep the dts going on, once per viewer */

static void
ngx_ws_stream_switch_warn(ngx_ws_stream_viewer_t *v, const char *why)
{
    ngx_ws_stream_group_t  *g;

    g = v->group;

    if (g->timeline_warned) {
        return;
    }

    g->timeline_warned = 1;

    ngx_log_error(NGX_LOG_WARN, v->connection->log, 0,
                  "ws_stream: the %s between the renditions \"%V\" and "
                  "\"%V\": this viewer is moved with a jump (publish them "
                  "from one encoder with a fixed keyframe interval)", why,
                  &g->names[g->index], &g->names[g->to]);
}


/* a move that is no longer wanted: let its target go */

static void
ngx_ws_stream_switch_drop(ngx_ws_stream_viewer_t *v)
{
    ngx_ws_stream_group_t  *g;

    g = v->group;

    if (g->state == NGX_WS_STREAM_SWITCH_NONE) {
        return;
    }

    ngx_ws_stream_waiter_del(v->zone, g->target, &g->waiter);
    ngx_ws_stream_entry_put(v->zone, g->target);

    g->target = -1;
    g->state = NGX_WS_STREAM_SWITCH_NONE;
    g->at_cut = 0;
    g->held = 0;
    g->hurry = 0;
}


static void
ngx_ws_stream_switch_move(ngx_ws_stream_viewer_t *v)
{
    const char             *reason;
    ngx_int_t               from;
    ngx_uint_t              old, up, waited;
    const uint8_t          *frame;
    ws_stream_rec_t         rec;
    ws_stream_cursor_t      cur;
    ngx_ws_stream_entry_t  *te;
    ngx_ws_stream_group_t  *g;

    g = v->group;
    te = &v->zone->sh->streams[g->target];

    /* the keyframe may have been overwritten while the current rendition
     * was sent up to it: find the next one */

    cur = g->key;

    if (ws_stream_ring_read(&te->ring, &cur, &rec, &frame) != WS_STREAM_OK) {
        g->state = NGX_WS_STREAM_SWITCH_WAIT;
        g->at_cut = 0;
        g->vdts = g->cut;
        ngx_ws_stream_switch_post(v);
        return;
    }

    ngx_ws_stream_switch_late(v, te, &rec);

    old = v->stream;
    from = g->index;
    up = (g->to < g->index);
    waited = !v->attached
             || !ngx_ws_stream_group_online(&v->zone->sh->streams[old]);

    ngx_ws_stream_leave_ring(v);

    ngx_ws_stream_waiter_del(v->zone, old, &v->waiter);
    ngx_ws_stream_waiter_add(v->zone, g->target, &v->waiter);
    ngx_ws_stream_waiter_del(v->zone, g->target, &g->waiter);

    ngx_ws_stream_stats_move(v, g->target, up);

    v->stream = g->target;
    g->index = g->to;
    g->target = -1;
    g->state = NGX_WS_STREAM_SWITCH_NONE;
    g->at_cut = 0;
    g->held = 0;
    g->skip_audio = g->aknown && te->has_video && !g->jump;

    if (g->late || !up) {
        /* to the newest keyframe, like a skip; or down: what the kernel
         * holds of the rendition left is not the target's lag, and no
         * skip could shorten it */
        ngx_ws_stream_lag_reset(v);
    }

    if (up) {
        g->up++;

    } else {
        g->down++;
    }

    ws_stream_abr_switched(&g->abr, (unsigned) g->index, ngx_current_msec);

    reason = ws_stream_abr_reason_name(g->abr.reason);

    if (g->abr.reason == WS_STREAM_ABR_KEEP) {
        reason = g->abr.pinned ? "pin" : "gone";
    }

    if (waited) {
        (void) ngx_ws_stream_queue(v, WS_STREAM_WS_TEXT,
                                   (u_char *) "{\"type\":\"online\"}",
                                   sizeof("{\"type\":\"online\"}") - 1, 0);
    }

    g->reason = reason;

    ngx_ws_stream_group_notice(v, from, reason, !g->jump);

    /* its codec configuration, then its frames from the keyframe */

    ngx_shmtx_lock(&v->zone->shpool->mutex);

    te->attached[v->zone->proc]++;
    ngx_ws_stream_queue_conf_locked(v, te);

    ngx_shmtx_unlock(&v->zone->shpool->mutex);

    v->attached = 1;
    v->cur = g->key;
    v->need_key = 0;

    ngx_ws_stream_entry_put(v->zone, old);

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, v->connection->log, 0,
                   "ws_stream: rendition %i -> %ui (%s) at dts %uD",
                   from, g->index, reason, g->cut);
}


/*
 * A cut that was within the lag bound when it was found may be past it
 * once the current rendition has been sent up to it on a slow link: the
 * lag bound would skip the viewer at its first frame on the target.  The
 * move goes to the target's newest keyframe instead (g->key).
 */

static void
ngx_ws_stream_switch_late(ngx_ws_stream_viewer_t *v,
    ngx_ws_stream_entry_t *te, const ws_stream_rec_t *rec)
{
    const uint8_t          *frame;
    ws_stream_rec_t         newest;
    ws_stream_cursor_t      key;
    ngx_ws_stream_group_t  *g;

    g = v->group;

    if (g->jump || v->conf->max_lag == 0
        || te->stats.pub.last_ingest <= rec->ingest + v->conf->max_lag)
    {
        return;
    }

    if (!ws_stream_ring_start(&te->ring, &key)
        || key.pos <= g->key.pos
        || ws_stream_ring_read(&te->ring, &key, &newest, &frame)
           != WS_STREAM_OK)
    {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, v->connection->log, 0,
                  "ws_stream: slow viewer moved to \"%V\" at its newest "
                  "keyframe (behind)", &g->names[g->to]);

    g->key = key;
    g->cut = newest.dts;
    g->jump = 1;
    g->late = 1;
}


void
ngx_ws_stream_group_cleanup(ngx_ws_stream_viewer_t *v)
{
    ngx_ws_stream_group_t  *g;

    g = v->group;

    if (g == NULL) {
        return;
    }

    if (g->event.posted) {
        ngx_delete_posted_event(&g->event);
    }

    ngx_ws_stream_switch_drop(v);
}
