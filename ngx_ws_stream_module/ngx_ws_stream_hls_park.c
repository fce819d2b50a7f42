
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Parked LL-HLS requests: blocking playlist reloads and preload-hinted
 * parts wait on their stream's wake path, sorted by what they wait for,
 * each with its own deadline; a client that leaves unparks itself.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_hls.h"
#include "ws_stream_m3u8.h"


static void ngx_ws_stream_hls_unpark(ngx_ws_stream_hls_ctx_t *ctx);
static void ngx_ws_stream_hls_timeout(ngx_event_t *ev);


/*
 * Parks a request on its stream, in order of what it waits for: a part
 * that completes answers the head of the queue until the first request
 * it does not satisfy.  Answered with 503 after 3 target durations.
 */

ngx_int_t
ngx_ws_stream_hls_park(ngx_http_request_t *r, ngx_ws_stream_hls_ctx_t *ctx,
    ngx_int_t stream)
{
    ngx_msec_t                     wait;
    ngx_queue_t                   *q;
    ngx_ws_stream_hls_ctx_t       *other;
    ngx_ws_stream_hls_local_t     *l;
    ngx_ws_stream_hls_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_ws_stream_hls_module);

    l = &((ngx_ws_stream_hls_local_t *) hlcf->zone->hls_local)[stream];

    if (ngx_queue_empty(&l->parked)) {
        /* this worker now waits on the stream: it is woken for it, and
         * the stream's ring and index stay while it waits */
        ngx_ws_stream_entry_hold(hlcf->zone, stream);
        ngx_ws_stream_waiter_add(hlcf->zone, stream, &l->waiter);
        l->seen = 0;
    }

    for (q = ngx_queue_last(&l->parked);
         q != ngx_queue_sentinel(&l->parked);
         q = ngx_queue_prev(q))
    {
        other = ngx_queue_data(q, ngx_ws_stream_hls_ctx_t, queue);

        if (other->msn < ctx->msn
            || (other->msn == ctx->msn && other->part <= ctx->part))
        {
            break;
        }
    }

    ngx_queue_insert_after(q, &ctx->queue);

    ctx->local = l;
    ctx->parked = 1;

    /* the part target and 3 target durations, as the spec asks */

    wait = 3 * 1000 * (ngx_msec_t) ngx_max(1, (hlcf->segment + 999) / 1000);

    ctx->timer.handler = ngx_ws_stream_hls_timeout;
    ctx->timer.data = ctx;
    ctx->timer.log = r->connection->log;
    ngx_add_timer(&ctx->timer, wait);

    /* a client that goes away is noticed and costs nothing afterwards */

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_ws_stream_hls_unpark(ngx_ws_stream_hls_ctx_t *ctx)
{
    ngx_ws_stream_hls_local_t  *l;

    if (!ctx->parked) {
        return;
    }

    ctx->parked = 0;

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    l = ctx->local;

    ngx_queue_remove(&ctx->queue);

    if (ngx_queue_empty(&l->parked)) {
        ngx_ws_stream_waiter_del(l->zone, l->stream, &l->waiter);
        ngx_ws_stream_entry_release(l->zone, l->stream);
    }
}


/* the request ends, whatever ended it (the client closed, 499) */

void
ngx_ws_stream_hls_cleanup(void *data)
{
    ngx_ws_stream_hls_ctx_t *ctx = data;

    ngx_ws_stream_hls_unpark(ctx);
}


static void
ngx_ws_stream_hls_timeout(ngx_event_t *ev)
{
    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_ws_stream_hls_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;

    ngx_ws_stream_hls_unpark(ctx);

    ngx_http_finalize_request(r,
        ngx_ws_stream_hls_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                "what was asked for did not come in 3 "
                                "target durations\n"));

    ngx_http_run_posted_requests(c);
}


/*
 * The stream changed (any process appended to it).  Only when its index
 * moved are the parked requests looked at, from the one that waits for
 * the least, until one is still not satisfied.
 */

void
ngx_ws_stream_hls_wake(ngx_ws_stream_waiter_t *w)
{
    uint64_t                    version;
    ngx_int_t                   rc;
    ngx_queue_t                *q;
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_ws_stream_entry_t      *e;
    ngx_ws_stream_hls_ctx_t    *ctx;
    ngx_ws_stream_hls_local_t  *l;

    l = (ngx_ws_stream_hls_local_t *) w;
    e = &l->zone->sh->streams[l->stream];

    /* held while we wait: e->hls cannot go, but may not be there yet */

    if (e->hls == NULL) {
        return;
    }

    version = __atomic_load_n(&e->hls->index.version, __ATOMIC_ACQUIRE);

    if (version == l->seen) {
        return;
    }

    l->seen = version;

    while (!ngx_queue_empty(&l->parked)) {
        q = ngx_queue_head(&l->parked);
        ctx = ngx_queue_data(q, ngx_ws_stream_hls_ctx_t, queue);
        r = ctx->request;
        c = r->connection;

        rc = ngx_ws_stream_hls_serve(r, ctx, 1);

        if (rc == NGX_BUSY) {
            break;
        }

        ngx_ws_stream_hls_unpark(ctx);
        ngx_http_finalize_request(r, rc);
        ngx_http_run_posted_requests(c);
    }
}
