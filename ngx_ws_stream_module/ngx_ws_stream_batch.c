
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * ws_stream_coalesce: a wake-up, a client's message or a write event
 * sends only the viewer's own replies and puts it on its location's
 * batch; the batch's timer sends each waiting viewer's records in one
 * writev.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_viewer.h"


static ngx_ws_stream_batch_t *ngx_ws_stream_batch(ngx_ws_stream_viewer_t *v);
static void ngx_ws_stream_batch_handler(ngx_event_t *ev);


/*
 * The stream changed, or the client sent something: without coalescing,
 * send now; with it, send only what the viewer's own buffer holds (the
 * replies) and leave the ring's records to the batch.
 */

void
ngx_ws_stream_send_lazy(ngx_ws_stream_viewer_t *v)
{
    ngx_ws_stream_batch_t  *b;

    /* the viewer's own flags first: its connection is another cache line
     * per viewer per wake-up (profiled: most of the wake-up's time).  A
     * blocked viewer goes on from its write event. */

    if (v->blocked) {
        ngx_ws_stream_rest_watch(v);
        return;
    }

    if (v->lingering || v->closed) {
        return;
    }

    if (v->conf->coalesce == 0) {
        ngx_ws_stream_send(v);
        return;
    }

    if (v->in_batch && v->out_pos == v->out_last) {
        /* nothing of its own to send, and the batch sends the rest */
        return;
    }

    ngx_ws_stream_send_replies(v);

    if (v->closed || v->closing || v->lingering || v->in_batch) {
        return;
    }

    b = ngx_ws_stream_batch(v);

    if (b == NULL) {
        ngx_ws_stream_send(v);
        return;
    }

    ngx_queue_insert_tail(&b->due, &v->batched);
    v->in_batch = 1;

    if (!b->event.timer_set) {
        ngx_add_timer(&b->event, b->interval);
    }
}


void
ngx_ws_stream_batch_del(ngx_ws_stream_viewer_t *v)
{
    if (v->in_batch) {
        ngx_queue_remove(&v->batched);
        v->in_batch = 0;
    }
}


/* the location's batch in this worker, made at its first use */

static ngx_ws_stream_batch_t *
ngx_ws_stream_batch(ngx_ws_stream_viewer_t *v)
{
    ngx_ws_stream_batch_t  *b;

    b = v->conf->batch;

    if (b) {
        return b;
    }

    b = ngx_pcalloc(ngx_cycle->pool, sizeof(ngx_ws_stream_batch_t));
    if (b == NULL) {
        ngx_log_error(NGX_LOG_ALERT, v->connection->log, 0,
                      "ws_stream: no memory for ws_stream_coalesce, "
                      "sending at once");
        return NULL;
    }

    b->interval = v->conf->coalesce;
    ngx_queue_init(&b->due);

    b->event.handler = ngx_ws_stream_batch_handler;
    b->event.data = b;
    b->event.log = ngx_cycle->log;
    b->event.cancelable = 1;

    v->conf->batch = b;

    return b;
}


/* the interval is over: each waiting viewer sends what it has */

static void
ngx_ws_stream_batch_handler(ngx_event_t *ev)
{
    ngx_queue_t             *q;
    ngx_ws_stream_batch_t   *b;
    ngx_ws_stream_viewer_t  *v;

    b = ev->data;

    /* a viewer is taken off before it sends, and only a wake-up or a
     * client's message (not this loop) puts it on again */

    while (!ngx_queue_empty(&b->due)) {
        q = ngx_queue_head(&b->due);
        v = ngx_queue_data(q, ngx_ws_stream_viewer_t, batched);

        ngx_queue_remove(q);
        v->in_batch = 0;

        if (v->blocked) {
            /* its socket is full: the write handler goes on */
            continue;
        }

        /* a viewer that fails is closed later (ngx_ws_stream_finalize),
         * so this loop never meets freed memory */
        ngx_ws_stream_send(v);
    }
}
