
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * A viewer's connection after the handshake: its event handlers, leaving
 * nginx's HTTP request once the 101 response is out, the close handshake,
 * lingering, and closing.
 *
 * Two phases.  Until the 101 is completely written, c->data is the
 * request and the viewer is its ctx (ngx_ws_stream_upgrade_handler).
 * Then the request is freed the way ngx_http_set_keepalive() frees one
 * (ngx_http_free_request(): the access log line is written then, status
 * 101), with the header buffers it leaves in the connection's pool, and
 * c->data is the viewer (ngx_ws_stream_viewer_handler).  That is what
 * makes a viewer cost its own struct and the connection's pool rather
 * than the ~10 KB of a request kept for the connection's life.  The
 * request is never freed below nginx's HTTP code: only the connection's
 * own event handlers, called from the event loop, free it.
 *
 * Closing is deferred the same way.  ngx_ws_stream_finalize() marks the
 * viewer closed and posts the connection's write event; whatever runs
 * before that event (the rest of a wake-up loop over a stream's waiters,
 * the batch timer's loop, the rest of a read handler) sees v->closed and
 * leaves the viewer alone, and the event's handler closes it: cleanup,
 * the request if it is still there, ngx_http_close_connection() (TLS
 * shutdown, stub_status counters, the connection's pool), the viewer.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_viewer.h"


static void ngx_ws_stream_viewer_handler(ngx_event_t *ev);
static void ngx_ws_stream_event(ngx_ws_stream_viewer_t *v, ngx_event_t *ev);
static void ngx_ws_stream_leave_request(ngx_ws_stream_viewer_t *v);
static void ngx_ws_stream_leave_pool(ngx_ws_stream_viewer_t *v);
static void ngx_ws_stream_free_bufs(ngx_connection_t *c, ngx_chain_t *cl);
static void ngx_ws_stream_close(ngx_ws_stream_viewer_t *v);
static void ngx_ws_stream_viewer_cleanup(ngx_ws_stream_viewer_t *v);


/* before the 101 is out: c->data is the request */

void
ngx_ws_stream_upgrade_handler(ngx_event_t *ev)
{
    ngx_connection_t        *c;
    ngx_http_request_t      *r;
    ngx_ws_stream_viewer_t  *v;

    c = ev->data;
    r = c->data;
    v = ngx_http_get_module_ctx(r, ngx_ws_stream_module);

    if (v->closed) {
        ngx_ws_stream_close(v);
        return;
    }

    ngx_ws_stream_event(v, ev);

    if (!v->closed && !c->buffered) {
        ngx_ws_stream_leave_request(v);
    }
}


/* after: c->data is the viewer */

static void
ngx_ws_stream_viewer_handler(ngx_event_t *ev)
{
    ngx_connection_t        *c;
    ngx_ws_stream_viewer_t  *v;

    c = ev->data;
    v = c->data;

    if (v->closed) {
        ngx_ws_stream_close(v);
        return;
    }

    ngx_ws_stream_event(v, ev);
}


static void
ngx_ws_stream_event(ngx_ws_stream_viewer_t *v, ngx_event_t *ev)
{
    if (v->lingering) {
        ngx_ws_stream_linger_handler(v, ev);

    } else if (ev->write) {
        ngx_ws_stream_write_handler(v, ev);

    } else {
        ngx_ws_stream_read_handler(v, ev);
    }
}


/*
 * The 101 is out: free the request and what ngx_http_set_keepalive() frees
 * of an idle connection (the client header buffer, large header buffers,
 * the TLS write buffer, which only the 101 used: frames go out with
 * c->send).  What stays is the connection's pool (the connection's log,
 * its address text, nginx's per-connection HTTP state) and the viewer.
 */

static void
ngx_ws_stream_leave_request(ngx_ws_stream_viewer_t *v)
{
    ngx_buf_t              *b;
    ngx_connection_t       *c;
    ngx_http_request_t     *r;
    ngx_http_connection_t  *hc;

    r = v->request;
    c = v->connection;
    hc = r->http_connection;

    v->cln->handler = NULL;
    v->cln = NULL;
    v->request = NULL;

    /* the access log line: status 101, the bytes sent so far */
    ngx_http_free_request(r, 0);

    c->data = v;
    c->read->handler = ngx_ws_stream_viewer_handler;
    c->write->handler = ngx_ws_stream_viewer_handler;
    c->log->action = "sending to a WebSocket viewer";

    /* a client may not send before the 101 (RFC 6455, 4.1): whatever the
     * header buffers still hold is dropped, as it was with the request */

    b = c->buffer;

    if (b && b->start && ngx_pfree(c->pool, b->start) == NGX_OK) {
        b->start = NULL;
        b->pos = NULL;
        b->last = NULL;
        b->end = NULL;
    }

    ngx_ws_stream_free_bufs(c, hc->free);
    ngx_ws_stream_free_bufs(c, hc->busy);

    hc->free = NULL;
    hc->busy = NULL;
    hc->nbusy = 0;

#if (NGX_HTTP_SSL)
    if (c->ssl) {
        /* OpenSSL's state is in the pool: it stays */
        ngx_ssl_free_buffer(c);
        return;
    }
#endif

    ngx_ws_stream_leave_pool(v);
}


/*
 * A plain connection's pool (512 bytes by default) holds, once the
 * request is gone, only what nginx's accept and HTTP code made for it:
 * the log, its context, the client's address and its text, and the
 * per-connection HTTP state nobody reads again.  The viewer keeps copies
 * of the first four in one allocation and frees the pool; without the
 * memory for it, the pool stays.
 */

static void
ngx_ws_stream_leave_pool(ngx_ws_stream_viewer_t *v)
{
    u_char                *p;
    size_t                 size, local;
    ngx_pool_t            *pool;
    ngx_connection_t      *c;
    ngx_ws_stream_conn_t  *kept;

    c = v->connection;

    local = (c->local_sockaddr && c->local_sockaddr != c->listening->sockaddr)
            ? c->local_socklen : 0;

    size = sizeof(ngx_ws_stream_conn_t) + c->socklen + local
           + c->addr_text.len;

    if (size <= NGX_WS_STREAM_KEPT_SIZE) {
        kept = ngx_ws_stream_mem_alloc(NGX_WS_STREAM_MEM_KEPT, c->log);

    } else {
        kept = ngx_alloc(size, c->log);
        v->kept_heap = 1;
    }

    if (kept == NULL) {
        return;
    }

    kept->log = *c->log;
    kept->ctx = *(ngx_http_log_ctx_t *) c->log->data;
    kept->log.data = &kept->ctx;

    p = (u_char *) (kept + 1);

    c->sockaddr = (struct sockaddr *) ngx_cpymem(p, c->sockaddr, c->socklen);
    p += c->socklen;

    if (local) {
        c->local_sockaddr = (struct sockaddr *) ngx_cpymem(p,
                                                 c->local_sockaddr, local);
        p += local;
    }

    ngx_memcpy(p, c->addr_text.data, c->addr_text.len);
    c->addr_text.data = p;

    pool = c->pool;

    /* whatever was given the connection's log before: its events, and a
     * rendition group's, made at the handshake */

    c->log = &kept->log;
    c->read->log = c->log;
    c->write->log = c->log;
    c->pool = NULL;
    c->buffer = NULL;

    ngx_ws_stream_group_log(v, c->log);

    ngx_destroy_pool(pool);

    v->kept = kept;
}


/* large header buffers, always outside the connection pool's blocks */

static void
ngx_ws_stream_free_bufs(ngx_connection_t *c, ngx_chain_t *cl)
{
    ngx_chain_t  *ln;

    while (cl) {
        ln = cl;
        cl = cl->next;
        ngx_pfree(c->pool, ln->buf->start);
        ngx_free_chain(c->pool, ln);
    }
}


/*
 * Closed soon, not now: the callers are inside loops over viewers (a
 * stream's waiters, a batch) or go on using the viewer.  The posted write
 * event closes it once they are done (ngx_ws_stream_close()).
 */

void
ngx_ws_stream_finalize(ngx_ws_stream_viewer_t *v)
{
    if (v->closed) {
        return;
    }

    v->closed = 1;

    ngx_post_event(v->connection->write, &ngx_posted_events);
}


/* from the connection's event handler only: nothing uses the viewer after */

static void
ngx_ws_stream_close(ngx_ws_stream_viewer_t *v)
{
    struct linger          linger;
    ngx_connection_t      *c;
    ngx_http_request_t    *r;
    ngx_uint_t             heap;
    ngx_ws_stream_conn_t  *kept;

    c = v->connection;
    r = v->request;

    /* the access log line was written at the 101: this one says how the
     * connection went */

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "ws_stream: viewer closed, %O bytes sent in %M ms",
                  c->sent, (ngx_msec_t) (ngx_current_msec - c->start_time));

    ngx_ws_stream_viewer_cleanup(v);

    if (r) {
        /* before the 101 was out; ngx_http_free_request() resets a timed
         * out connection itself (reset_timedout_connection) */
        v->cln->handler = NULL;
        ngx_ws_stream_mem_free(NGX_WS_STREAM_MEM_VIEWER, v);
        ngx_http_free_request(r, 0);

    } else {
        if (c->timedout && v->reset_timedout) {
            linger.l_onoff = 1;
            linger.l_linger = 0;

            if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER,
                           (const void *) &linger, sizeof(struct linger))
                == -1)
            {
                ngx_log_error(NGX_LOG_ALERT, c->log, ngx_socket_errno,
                              "setsockopt(SO_LINGER) failed");
            }
        }

        kept = v->kept;
        heap = v->kept_heap;
        ngx_ws_stream_mem_free(NGX_WS_STREAM_MEM_VIEWER, v);

        if (kept) {
            /* the pool is gone: ngx_http_close_connection() without it */
#if (NGX_STAT_STUB)
            (void) ngx_atomic_fetch_add(ngx_stat_active, -1);
#endif
            c->destroyed = 1;
            ngx_close_connection(c);

            if (heap) {
                ngx_free(kept);

            } else {
                ngx_ws_stream_mem_free(NGX_WS_STREAM_MEM_KEPT, kept);
            }

            return;
        }
    }

    c->data = NULL;

    ngx_http_close_connection(c);
}


/* what a viewer holds besides its memory */

static void
ngx_ws_stream_viewer_cleanup(ngx_ws_stream_viewer_t *v)
{
    ngx_ws_stream_batch_del(v);
    ngx_ws_stream_group_cleanup(v);

    if (v->out == NULL) {
        /* the rest of a frame in the ring is not sent now */
        v->out_pos = NULL;
        v->out_last = NULL;
    }

    ngx_ws_stream_leave_ring(v);

    ngx_ws_stream_waiter_del(v->zone, v->stream, &v->waiter);
    ngx_ws_stream_stats_leave(v);
    ngx_ws_stream_entry_put(v->zone, v->stream);
    ngx_ws_stream_channel_cleanup(v);

    if (v->out) {
        ngx_free(v->out);
        v->out = NULL;
    }

    if (v->parser) {
        if (v->parser->buf) {
            ngx_free(v->parser->buf);
        }

        ngx_free(v->parser);
        v->parser = NULL;
    }

    v->closed = 1;
}


/*
 * The request's pool cleanup, run only if nginx frees the request while
 * the viewer still lives beside it: the handshake failed after the viewer
 * joined (an error returned to nginx)...
 */

void
ngx_ws_stream_viewer_abort(void *data)
{
    ngx_ws_stream_viewer_t *v = data;

    ngx_ws_stream_viewer_cleanup(v);
    ngx_ws_stream_mem_free(NGX_WS_STREAM_MEM_VIEWER, v);
}


/* ... or before: only the viewer's memory and a group's pool */

void
ngx_ws_stream_viewer_free(void *data)
{
    ngx_ws_stream_viewer_t *v = data;

    ngx_ws_stream_channel_cleanup(v);
    ngx_ws_stream_mem_free(NGX_WS_STREAM_MEM_VIEWER, v);
}


/* queue a close frame; the connection ends once it is sent */

void
ngx_ws_stream_protocol_close(ngx_ws_stream_viewer_t *v, unsigned code,
    const char *reason)
{
    u_char  buf[125];
    size_t  len;

    if (v->closing) {
        return;
    }

    len = ngx_min(ngx_strlen(reason), sizeof(buf) - 2);

    buf[0] = (u_char) (code >> 8);
    buf[1] = (u_char) code;
    ngx_memcpy(buf + 2, reason, len);

    /* the close frame goes out even when the control queue is full */
    (void) ngx_ws_stream_queue(v, WS_STREAM_WS_CLOSE, buf, len + 2, 0);

    v->closing = 1;
}


/*
 * After the close frame: stop writing, read and drop what the client
 * still sends for a moment, so that our close frame is not lost to a
 * reset, then close.  Both events of the connection come here from then
 * on (ngx_ws_stream_event()).
 */

void
ngx_ws_stream_linger_handler(ngx_ws_stream_viewer_t *v, ngx_event_t *ev)
{
    u_char             buf[NGX_WS_STREAM_RECV];
    ssize_t            n;
    ngx_connection_t  *c;

    c = v->connection;

    if (v->closed) {
        return;
    }

    if (!v->lingering) {
        v->lingering = 1;

        if (c->write->timer_set) {
            ngx_del_timer(c->write);
        }

        if (c->ssl || ngx_shutdown_socket(c->fd, NGX_WRITE_SHUTDOWN) == -1) {
            ngx_ws_stream_finalize(v);
            return;
        }

        ngx_add_timer(c->read, NGX_WS_STREAM_LINGER);
    }

    if (ev->timedout || ev->write) {
        if (ev->timedout) {
            ngx_ws_stream_finalize(v);
        }

        return;
    }

    do {
        n = c->recv(c, buf, sizeof(buf));

        if (n == 0 || n == NGX_ERROR) {
            ngx_ws_stream_finalize(v);
            return;
        }

    } while (n > 0);

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_ws_stream_finalize(v);
    }
}
