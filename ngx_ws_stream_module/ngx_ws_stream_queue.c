
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * What a viewer has queued and not sent: whole control frames in its own
 * buffer, or the rest of a ring frame the socket took part of, which is
 * left in the ring and copied out only when the viewer has to queue
 * behind it, leaves the ring, or falls so far behind that the writer
 * nears it (architecture.md, "Memory per viewer").
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_viewer.h"


static ngx_int_t ngx_ws_stream_own(ngx_ws_stream_viewer_t *v, size_t len);
static ngx_uint_t ngx_ws_stream_rest_intact(ngx_ws_stream_viewer_t *v);
static size_t ngx_ws_stream_replies(ngx_ws_stream_viewer_t *v);


/* a whole frame into the viewer's own buffer */

ngx_int_t
ngx_ws_stream_queue(ngx_ws_stream_viewer_t *v, unsigned opcode,
    const u_char *data, size_t len, ngx_uint_t ctl)
{
    u_char  hdr[WS_STREAM_WS_MAX_HDR];
    size_t  hlen;

    if (v->closing) {
        return NGX_OK;
    }

    if (ctl && ngx_ws_stream_replies(v) > NGX_WS_STREAM_CTL_MAX) {
        /* a client that sends pings but does not read */
        ngx_ws_stream_protocol_close(v, WS_STREAM_CLOSE_POLICY,
                                     "too many unread replies");
        return NGX_DONE;
    }

    hlen = ws_stream_ws_header(hdr, opcode, len);

    v->messages++;

    if (v->slot) {
        v->slot->c.sent_messages++;
    }

    if (ngx_ws_stream_queue_raw(v, hdr, hlen) != NGX_OK
        || ngx_ws_stream_queue_raw(v, data, len) != NGX_OK)
    {
        ngx_ws_stream_finalize(v);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_ws_stream_queue_raw(ngx_ws_stream_viewer_t *v, const u_char *data,
    size_t len)
{
    if (len == 0) {
        return NGX_OK;
    }

    if (ngx_ws_stream_own(v, len) != NGX_OK) {
        return NGX_ERROR;
    }

    v->out_last = ngx_cpymem(v->out_last, data, len);

    return NGX_OK;
}


/*
 * The viewer leaves its ring, or queues behind the rest of a ring frame:
 * that rest is copied into its own buffer.  NGX_ERROR: no memory, or the
 * rest was overwritten (the connection has to be closed).
 */

ngx_int_t
ngx_ws_stream_keep_rest(ngx_ws_stream_viewer_t *v)
{
    if (v->out || v->out_pos == v->out_last) {
        return NGX_OK;
    }

    return ngx_ws_stream_own(v, 0);
}


/*
 * A blocked viewer, woken because its stream moved on: the rest of a ring
 * frame it waits to send is copied out once the writer is within one
 * largest frame and the margin of it, so that a reader too slow for the
 * ring is skipped when it reads again, not cut off in the middle of a
 * frame.  Most blocked viewers never get that far behind.
 */

void
ngx_ws_stream_rest_watch(ngx_ws_stream_viewer_t *v)
{
    ws_stream_ring_t  *ring;

    if (v->out || v->out_pos == v->out_last) {
        return;
    }

    ring = &v->zone->sh->streams[v->stream].ring;

    if (ws_stream_ring_head(ring) - v->rest.at
        <= ring->size / 2 - ring->margin)
    {
        return;
    }

    if (ngx_ws_stream_keep_rest(v) != NGX_OK) {
        ngx_ws_stream_finalize(v);
    }
}


/* what is unsent is in the viewer's own buffer, with room for len more */

static ngx_int_t
ngx_ws_stream_own(ngx_ws_stream_viewer_t *v, size_t len)
{
    u_char  *p;
    size_t   used, size;

    used = v->out_last - v->out_pos;

    if (v->out && v->out_pos != v->out) {
        ngx_memmove(v->out, v->out_pos, used);
        v->out_pos = v->out;
        v->out_last = v->out + used;
    }

    if (v->out == NULL || used + len > v->out_size) {
        size = ngx_max(v->out_size * 2, 4096);

        while (size < used + len) {
            size *= 2;
        }

        p = ngx_alloc(size, v->connection->log);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (used) {
            ngx_memcpy(p, v->out_pos, used);
        }

        if (!ngx_ws_stream_rest_intact(v)) {
            ngx_free(p);
            ngx_ws_stream_torn(v);
            return NGX_ERROR;
        }

        if (v->out == NULL) {
            /* what was left in the ring is media, not replies */
            v->rest.media = used;
        }

        if (v->out) {
            ngx_free(v->out);
        }

        v->out = p;
        v->out_size = size;
        v->out_pos = p;
        v->out_last = p + used;
    }

    return NGX_OK;
}


/* the control bytes queued and unsent (a frame's rest is not counted) */

static size_t
ngx_ws_stream_replies(ngx_ws_stream_viewer_t *v)
{
    size_t  used;

    if (v->out == NULL) {
        return 0;
    }

    used = v->out_last - v->out_pos;

    return (used > v->rest.media) ? used - v->rest.media : 0;
}


/*
 * Sends what is queued: NGX_OK (all of it, or nothing was; the buffer is
 * freed), NGX_AGAIN (the socket is full), NGX_ERROR (also when a rest in
 * the ring was overwritten while it was sent).
 */

ngx_int_t
ngx_ws_stream_send_queued(ngx_ws_stream_viewer_t *v)
{
    ssize_t            n;
    ngx_connection_t  *c;

    if (v->out_pos == v->out_last) {
        return NGX_OK;
    }

    c = v->connection;

    n = c->send(c, v->out_pos, v->out_last - v->out_pos);

    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (!ngx_ws_stream_rest_intact(v)) {
        ngx_ws_stream_torn(v);
        return NGX_ERROR;
    }

    if (n == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    v->out_pos += n;
    v->sent += n;
    ngx_ws_stream_stats_sent(v, n, 0, 0);

    if (v->out) {
        v->rest.media = (v->rest.media > (size_t) n) ? v->rest.media - n : 0;
    }

    if (v->out_pos < v->out_last) {
        return NGX_AGAIN;
    }

    /* sent: the buffer is made again for the next reply (a few a second
     * for a player, none for most viewers) */
    ngx_free(v->out);
    v->out = NULL;
    v->out_size = 0;
    v->out_pos = NULL;
    v->out_last = NULL;

    return NGX_OK;
}


/* what was sent from the ring was overwritten meanwhile */

void
ngx_ws_stream_torn(ngx_ws_stream_viewer_t *v)
{
    (void) ngx_atomic_fetch_add(
                          &v->zone->sh->streams[v->stream].torn, 1);

    ngx_log_error(NGX_LOG_WARN, v->connection->log, 0,
                  "ws_stream: data was overwritten while it was sent to "
                  "this viewer; closing the connection (make "
                  "ws_stream_buffer larger)");
}


/* the bytes from out_pos on are still the record's at rest.at */

static ngx_uint_t
ngx_ws_stream_rest_intact(ngx_ws_stream_viewer_t *v)
{
    return v->out || v->out_pos == v->out_last
           || ws_stream_ring_intact(&v->zone->sh->streams[v->stream].ring,
                                    v->rest.at);
}
