
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Fan-out: each viewer sends straight from the stream's ring in shared
 * memory.  Only control messages go through the viewer's own buffer; the
 * rest of a frame the socket took part of is sent from the ring too, and
 * copied only if the viewer has to queue behind it or leave the ring.
 * With ws_stream_coalesce the ring's records wait for the batch
 * (ngx_ws_stream_batch.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_viewer.h"


/* the records of one send, after the cursor of each */
typedef struct {
    ngx_uint_t               n;
    uint64_t                 start;         /* ring position of the first */
    uint64_t                 pos[NGX_WS_STREAM_BATCH];  /* of each */
    ws_stream_rec_t          recs[NGX_WS_STREAM_BATCH];
    ws_stream_cursor_t       after[NGX_WS_STREAM_BATCH];
} ngx_ws_stream_out_t;


static void ngx_ws_stream_send_out(ngx_ws_stream_viewer_t *v,
    ngx_uint_t ring);
static ngx_int_t ngx_ws_stream_send_ring(ngx_ws_stream_viewer_t *v);
static ssize_t ngx_ws_stream_write_out(ngx_connection_t *c,
    ngx_ws_stream_out_t *out, ngx_uint_t *tried);
static ngx_int_t ngx_ws_stream_collect(ngx_ws_stream_viewer_t *v,
    ngx_ws_stream_out_t *out);
static ngx_uint_t ngx_ws_stream_wanted(ngx_ws_stream_viewer_t *v,
    ws_stream_rec_t *rec);
static ngx_uint_t ngx_ws_stream_too_late(ngx_ws_stream_viewer_t *v,
    ws_stream_rec_t *rec);
static void ngx_ws_stream_skip(ngx_ws_stream_viewer_t *v, const char *why);
static ngx_int_t ngx_ws_stream_gate(ngx_ws_stream_group_t *g,
    ws_stream_rec_t *rec, ngx_uint_t main);


/*
 * The records and links of one send: scratch of one call, so one set per
 * worker, not per viewer (a worker sends to one viewer at a time).
 */
static ngx_ws_stream_out_t  ngx_ws_stream_out;
static ngx_buf_t            ngx_ws_stream_bufs[NGX_WS_STREAM_BATCH];
static ngx_chain_t          ngx_ws_stream_links[NGX_WS_STREAM_BATCH];


/* record k of a send, linked after k - 1 for one writev */

static ngx_inline void
ngx_ws_stream_link(ngx_uint_t k, const uint8_t *frame, size_t len)
{
    ngx_buf_t  *b;

    b = &ngx_ws_stream_bufs[k];

    b->pos = (u_char *) frame;
    b->last = (u_char *) frame + len;
    b->start = b->pos;
    b->end = b->last;
    b->memory = 1;
    b->temporary = 0;

    ngx_ws_stream_links[k].buf = b;
    ngx_ws_stream_links[k].next = NULL;

    if (k) {
        ngx_ws_stream_links[k - 1].next = &ngx_ws_stream_links[k];
    }
}


/* the connection's write event (ngx_ws_stream_close.c finds the viewer) */

void
ngx_ws_stream_write_handler(ngx_ws_stream_viewer_t *v, ngx_event_t *wev)
{
    ngx_connection_t  *c;

    c = wev->data;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "ws_stream: client did not read for %M ms",
                      v->conf->send_timeout);
        c->timedout = 1;
        ngx_ws_stream_finalize(v);

    } else if (v->blocked) {
        /* the socket takes data again */
        ngx_ws_stream_send(v);

    } else {
        /* epoll reports the socket writable with every client message:
         * with coalescing, the ring's records still wait for the batch */
        ngx_ws_stream_send_lazy(v);
    }
}


void
ngx_ws_stream_send(ngx_ws_stream_viewer_t *v)
{
    ngx_ws_stream_send_out(v, 1);
}


/* the viewer's own buffer only (coalescing: the ring's records wait) */

void
ngx_ws_stream_send_replies(ngx_ws_stream_viewer_t *v)
{
    ngx_ws_stream_send_out(v, 0);
}


static void
ngx_ws_stream_send_out(ngx_ws_stream_viewer_t *v, ngx_uint_t ring)
{
    ngx_int_t               rc;
    ngx_connection_t       *c;
    ngx_ws_stream_entry_t  *e;

    c = v->connection;

    if (v->closed || v->lingering) {
        return;
    }

    if (v->request && c->buffered) {
        /* the rest of the 101 response */
        if (ngx_http_output_filter(v->request, NULL) == NGX_ERROR) {
            ngx_ws_stream_finalize(v);
            return;
        }

        if (c->buffered) {
            goto again;
        }
    }

    e = &v->zone->sh->streams[v->stream];

    for ( ;; ) {

        rc = ngx_ws_stream_send_queued(v);

        if (rc == NGX_ERROR) {
            ngx_ws_stream_finalize(v);
            return;
        }

        if (rc == NGX_AGAIN) {
            goto again;
        }

        if (v->closing) {
            ngx_ws_stream_linger_handler(v, c->read);
            return;
        }

        if (!v->attached) {
            if (e->ring.data && !e->retired) {
                ngx_ws_stream_join(v);
                continue;
            }

            break;
        }

        if (!ring) {
            /* coalescing: the ring's records go with the batch */
            break;
        }

        rc = ngx_ws_stream_send_ring(v);

        if (rc == NGX_ERROR) {
            ngx_ws_stream_finalize(v);
            return;
        }

        if (rc == NGX_AGAIN) {
            goto again;
        }

        if (rc == NGX_DECLINED) {
            /* at a rendition's cut: the move is posted */
            break;
        }

        if (rc == NGX_DONE) {
            /* caught up; a retired ring is left for good */
            if (e->retired) {
                ngx_ws_stream_leave_ring(v);
            }

            break;
        }
    }

    v->blocked = 0;

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    return;

again:

    v->blocked = 1;

    ngx_add_timer(c->write, v->conf->send_timeout);

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_ws_stream_finalize(v);
    }
}


/*
 * Sends a batch of records from the ring: NGX_OK (sent, try for more),
 * NGX_AGAIN (the socket is full), NGX_DONE (nothing new), NGX_DECLINED
 * (a group viewer is at the cut of its move), NGX_ERROR.
 */

static ngx_int_t
ngx_ws_stream_send_ring(ngx_ws_stream_viewer_t *v)
{
    int                      rc;
    size_t                   left, rest;
    ssize_t                  n;
    ngx_uint_t               k, tried;
    ngx_buf_t               *bufs;
    ngx_connection_t        *c;
    ws_stream_ring_t        *ring;
    ngx_ws_stream_out_t     *out;

    out = &ngx_ws_stream_out;

    rc = ngx_ws_stream_collect(v, out);

    if (rc != NGX_OK) {
        /* NGX_ABORT: skipped, go on from the keyframe */
        return (rc == NGX_ABORT) ? NGX_OK : rc;
    }

    c = v->connection;
    ring = &v->zone->sh->streams[v->stream].ring;
    bufs = ngx_ws_stream_bufs;

    n = ngx_ws_stream_write_out(c, out, &tried);

    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (!ws_stream_ring_intact(ring, out->start)) {
        goto torn;
    }

    v->sent += n;
    left = n;
    rc = NGX_OK;

    for (k = 0; k < out->n; k++) {

        if (left >= out->recs[k].len) {
            left -= out->recs[k].len;
            v->cur = out->after[k];
            continue;
        }

        /* the socket took part of this frame (or, with SSL, the record
         * layer holds it): keep the rest, the writer may overwrite it */

        rc = NGX_AGAIN;

        if (left == 0 && !(c->ssl && tried == k)) {
            break;
        }

        rest = out->recs[k].len - left;

        /* the rest stays in the ring, checked as it is sent (the
         * viewer's own buffer was sent and freed before the ring) */
        v->out_pos = bufs[k].start + left;
        v->out_last = v->out_pos + rest;
        v->rest.at = out->pos[k];

        v->cur = out->after[k];
        k++;
        break;
    }

    /* k records are out of the ring (the last perhaps via v->out) */

    ngx_ws_stream_stats_sent(v, n, k, k ? out->recs[k - 1].ingest : 0);

    if (v->group && k) {
        ngx_ws_stream_group_sent(v, out->recs, k);
    }

    return rc;

torn:

    ngx_ws_stream_torn(v);

    return NGX_ERROR;
}


/*
 * Writes the linked records: writev() for a plain connection, SSL record
 * by record.  The bytes the connection took, or NGX_ERROR; *tried is the
 * record an SSL write stopped in (its record layer may hold part of it).
 */

static ssize_t
ngx_ws_stream_write_out(ngx_connection_t *c, ngx_ws_stream_out_t *out,
    ngx_uint_t *tried)
{
    off_t         before;
    ssize_t       n, rc;
    ngx_uint_t    k;
    ngx_chain_t  *cl;

    *tried = out->n;

    if (c->ssl == NULL) {
        before = c->sent;

        cl = c->send_chain(c, &ngx_ws_stream_links[0], 0);

        if (cl == NGX_CHAIN_ERROR) {
            return NGX_ERROR;
        }

        return c->sent - before;
    }

    n = 0;

    for (k = 0; k < out->n; k++) {
        rc = c->send(c, ngx_ws_stream_bufs[k].pos, out->recs[k].len);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_AGAIN) {
            *tried = k;
            break;
        }

        n += rc;

        if ((size_t) rc < out->recs[k].len) {
            *tried = k;
            break;
        }
    }

    return n;
}


/*
 * The viewer's next records, linked for one writev: NGX_OK (out->n of
 * them), NGX_DONE (nothing new), NGX_DECLINED (a group viewer is at the
 * cut of its move), NGX_ABORT (skipped to a keyframe).  What is passed
 * over (a move's repeated audio, frames before a keyframe) moves the
 * viewer's cursor on at once.
 */

static ngx_int_t
ngx_ws_stream_collect(ngx_ws_stream_viewer_t *v, ngx_ws_stream_out_t *out)
{
    int                      rc;
    size_t                   total;
    ngx_uint_t               nrec, max, main, gate;
    const uint8_t           *frame;
    ws_stream_rec_t          rec;
    ws_stream_ring_t        *ring;
    ws_stream_cursor_t       cur;
    ngx_ws_stream_entry_t   *e;
    ngx_ws_stream_group_t   *g;

    e = &v->zone->sh->streams[v->stream];
    ring = &e->ring;

    /* a group viewer that is being moved: the cut, and the target's
     * audio that repeats what was sent */

    g = v->group;
    gate = g && (g->state >= NGX_WS_STREAM_SWITCH_HOLD || g->skip_audio);
    main = e->has_video ? WS_STREAM_TRACK_VIDEO : WS_STREAM_TRACK_AUDIO;

    cur = v->cur;
    out->start = cur.pos;
    nrec = 0;
    total = 0;

    max = (v->conf->coalesce && !v->blocked) ? NGX_WS_STREAM_BATCH
                                              : NGX_WS_STREAM_BATCH_SEND;

    while (nrec < max && total < NGX_WS_STREAM_BATCH_BYTES) {

        rc = ws_stream_ring_read(ring, &cur, &rec, &frame);

        if (rc == WS_STREAM_AGAIN) {
            break;
        }

        if (rc == WS_STREAM_RING_BEHIND) {
            if (nrec) {
                break;
            }

            ngx_ws_stream_skip(v, "overrun");
            return NGX_ABORT;
        }

        if (nrec == 0 && ngx_ws_stream_too_late(v, &rec)) {

            if (g && ngx_ws_stream_group_overtaken(v)) {
                /* a move down is made at once instead (posted) */
                return NGX_DECLINED;
            }

            ngx_ws_stream_skip(v, "behind");
            return NGX_ABORT;
        }

        if (gate) {
            rc = ngx_ws_stream_gate(g, &rec, main);

            if (rc == NGX_DONE) {
                /* at the cut of a move */
                if (nrec) {
                    break;
                }

                v->cur = cur;
                ngx_ws_stream_group_reached(v, &rec);
                return NGX_DECLINED;
            }

            if (rc == NGX_DECLINED) {
                /* the target's audio that was sent already */
                goto pass;
            }

            gate = g->state >= NGX_WS_STREAM_SWITCH_HOLD || g->skip_audio;
        }

        if (!ngx_ws_stream_wanted(v, &rec)) {
            goto pass;
        }

        ngx_ws_stream_link(nrec, frame, rec.len);

        out->pos[nrec] = cur.pos;
        out->recs[nrec] = rec;
        ws_stream_ring_next(&cur, &rec);
        out->after[nrec] = cur;

        total += rec.len;
        nrec++;
        continue;

    pass:

        ws_stream_ring_next(&cur, &rec);

        if (nrec == 0) {
            v->cur = cur;
            out->start = cur.pos;
        }
    }

    out->n = nrec;

    if (nrec == 0) {
        v->cur = cur;
        return NGX_DONE;
    }

    return NGX_OK;
}


/*
 * Frames before a keyframe are passed over: after a skip that found
 * none, and once a new publisher's notice is read (its media start again
 * at a keyframe).
 */

static ngx_uint_t
ngx_ws_stream_wanted(ngx_ws_stream_viewer_t *v, ws_stream_rec_t *rec)
{
    ngx_uint_t  track;

    if (rec->type == WS_STREAM_REC_NOTICE
        && rec->kind == NGX_WS_STREAM_NOTICE_ONLINE)
    {
        v->need_key = 1;
        return 1;
    }

    if (!v->need_key || rec->type != WS_STREAM_REC_MEDIA
        || (rec->kind & WS_STREAM_FLAG_CONFIG))
    {
        return 1;
    }

    track = rec->kind & WS_STREAM_TRACK_MASK;

    if (track == WS_STREAM_TRACK_VIDEO) {
        if (rec->kind & WS_STREAM_FLAG_KEY) {
            v->need_key = 0;
            return 1;
        }

        return 0;
    }

    return !(track == WS_STREAM_TRACK_AUDIO
             && v->zone->sh->streams[v->stream].has_video);
}


/*
 * A group viewer being moved, or just moved: NGX_DONE for the record at
 * the cut (the current rendition's first frame of the main track at or
 * after the cut's dts; while holding, its next keyframe), NGX_DECLINED
 * for the target's audio up to what was sent, NGX_OK to send it.
 */

static ngx_int_t
ngx_ws_stream_gate(ngx_ws_stream_group_t *g, ws_stream_rec_t *rec,
    ngx_uint_t main)
{
    ngx_uint_t  track;

    if (rec->type != WS_STREAM_REC_MEDIA
        || (rec->kind & WS_STREAM_FLAG_CONFIG))
    {
        return NGX_OK;
    }

    track = rec->kind & WS_STREAM_TRACK_MASK;

    if (g->state >= NGX_WS_STREAM_SWITCH_HOLD && track == main
        && (g->state == NGX_WS_STREAM_SWITCH_HOLD
            ? (rec->kind & WS_STREAM_FLAG_KEY)
            : (int32_t) (rec->dts - g->cut) >= 0))
    {
        return NGX_DONE;
    }

    if (g->skip_audio && track == WS_STREAM_TRACK_AUDIO) {
        if ((int32_t) (rec->dts - g->adts) <= 0) {
            return NGX_DECLINED;
        }

        g->skip_audio = 0;
    }

    return NGX_OK;
}


/*
 * The viewer's next record, once the kernel has sent what it holds (as
 * the last statistics tick measured), is older than ws_stream_max_lag
 * behind the newest, and a newer keyframe is there to jump to: one
 * compare for a viewer that keeps up.
 */

static ngx_uint_t
ngx_ws_stream_too_late(ngx_ws_stream_viewer_t *v, ws_stream_rec_t *rec)
{
    uint64_t                newest;
    ws_stream_cursor_t      key;
    ngx_ws_stream_entry_t  *e;

    if (v->conf->max_lag == 0 || rec->type != WS_STREAM_REC_MEDIA) {
        return 0;
    }

    e = &v->zone->sh->streams[v->stream];
    newest = e->stats.pub.last_ingest;

    if (newest + v->kernel_ms <= rec->ingest + v->conf->max_lag) {
        return 0;
    }

    return ws_stream_ring_start(&e->ring, &key) && key.pos > v->cur.pos;
}


/*
 * A skip, or a group viewer's jump to its target's newest keyframe:
 * what the kernel holds now is sent as it is, and the lag bound counts
 * only what is written after it (ngx_ws_stream_viewer_stats).
 */

void
ngx_ws_stream_lag_reset(ngx_ws_stream_viewer_t *v)
{
    v->skip_sent = v->sent;
    v->kernel_ms = 0;
}


/* fell behind: jump to the newest keyframe and say so */

static void
ngx_ws_stream_skip(ngx_ws_stream_viewer_t *v, const char *why)
{
    int                      sync;
    u_char                   buf[160], *p;
    uint64_t                 frames, bytes, to;
    ngx_ws_stream_entry_t   *e;
    ws_stream_cursor_t   cur;

    e = &v->zone->sh->streams[v->stream];

    sync = ws_stream_ring_start(&e->ring, &cur);

    /* at head the record number is not known exactly: the records
     * committed so far are close enough for the notice */

    to = (cur.seq != WS_STREAM_SEQ_UNKNOWN)
         ? cur.seq : __atomic_load_n(&e->ring.seq, __ATOMIC_ACQUIRE);

    bytes = cur.pos - v->cur.pos;
    frames = (v->cur.seq != WS_STREAM_SEQ_UNKNOWN && to > v->cur.seq)
             ? to - v->cur.seq : 0;

    v->cur = cur;
    v->need_key = !sync;
    v->skips++;

    ngx_ws_stream_lag_reset(v);

    if (v->group) {
        ngx_ws_stream_group_skipped(v);
    }

    (void) ngx_atomic_fetch_add(&e->skips, 1);

    ngx_log_error(NGX_LOG_INFO, v->connection->log, 0,
                  "ws_stream: slow viewer of \"%*s/%*s\" skipped %uL bytes "
                  "(%s)", e->app_len, e->app, e->name_len, e->name, bytes,
                  why);

    p = ngx_snprintf(buf, sizeof(buf),
                     "{\"type\":\"skipped\",\"frames\":%uL,\"bytes\":%uL,"
                     "\"count\":%ui,\"reason\":\"%s\"}", frames, bytes,
                     (ngx_uint_t) v->skips, why);

    (void) ngx_ws_stream_queue(v, WS_STREAM_WS_TEXT, buf, p - buf, 0);
}
