
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The one wake path for everything that waits on a stream.  A process
 * that changed a stream (appended records, went offline, retired a ring)
 * bumps the stream's change count and, once per event-loop pass, writes
 * the eventfd of every worker slot that has waiters of it.  A woken worker
 * looks only at the streams it has waiters of, and of those only at the
 * ones whose count moved: per stream, not per viewer of the worker.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <sys/eventfd.h>

#include "ngx_ws_stream.h"


static void ngx_ws_stream_wake_handler(ngx_event_t *ev);
static void ngx_ws_stream_wake_stream(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_local_t *l);


/*
 * One eventfd per worker slot, made by the master before the first fork
 * and kept across reloads: a worker of the old generation that still
 * holds a publisher must be able to wake the waiters of the new one.
 */
static int               *ngx_ws_stream_wake_fds;
static ngx_uint_t         ngx_ws_stream_nwake;

static ngx_connection_t  *ngx_ws_stream_wake_conn;


ngx_int_t
ngx_ws_stream_wake_init_module(ngx_cycle_t *cycle)
{
    int              *fds;
    ngx_uint_t        n, i;
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    n = (ccf->master && ccf->worker_processes > 0) ? ccf->worker_processes
                                                    : 1;

    if (n <= ngx_ws_stream_nwake) {
        return NGX_OK;
    }

    fds = ngx_alloc(n * sizeof(int), cycle->log);
    if (fds == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {

        if (i < ngx_ws_stream_nwake) {
            fds[i] = ngx_ws_stream_wake_fds[i];
            continue;
        }

        fds[i] = eventfd(0, EFD_NONBLOCK|EFD_CLOEXEC);

        if (fds[i] == -1) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "ws_stream: eventfd() failed");
            while (i-- > ngx_ws_stream_nwake) {
                close(fds[i]);
            }
            ngx_free(fds);
            return NGX_ERROR;
        }
    }

    if (ngx_ws_stream_wake_fds) {
        ngx_free(ngx_ws_stream_wake_fds);
    }

    ngx_ws_stream_wake_fds = fds;
    ngx_ws_stream_nwake = n;

    return NGX_OK;
}


ngx_int_t
ngx_ws_stream_local_init(ngx_ws_stream_zone_t *zone, ngx_log_t *log)
{
    ngx_uint_t  s;

    zone->local = ngx_alloc(zone->streams * sizeof(ngx_ws_stream_local_t),
                            log);
    if (zone->local == NULL) {
        return NGX_ERROR;
    }

    for (s = 0; s < zone->streams; s++) {
        ngx_queue_init(&zone->local[s].waiters);
        ngx_queue_init(&zone->local[s].active);
        zone->local[s].seen = 0;
    }

    ngx_queue_init(&zone->active);

    zone->wake_event.handler = ngx_ws_stream_wake_flush;
    zone->wake_event.data = zone;
    zone->wake_event.log = log;

    return NGX_OK;
}


ngx_int_t
ngx_ws_stream_wake_init_process(ngx_cycle_t *cycle, ngx_uint_t slot)
{
    ngx_connection_t  *c;

    if (slot >= ngx_ws_stream_nwake) {
        return NGX_OK;
    }

    c = ngx_get_connection(ngx_ws_stream_wake_fds[slot], cycle->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->read->handler = ngx_ws_stream_wake_handler;
    c->read->log = cycle->log;
    c->data = NULL;

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_CLEAR_EVENT) != NGX_OK) {
        ngx_free_connection(c);
        return NGX_ERROR;
    }

    ngx_ws_stream_wake_conn = c;

    return NGX_OK;
}


/*
 * A worker that is shutting down has closed its viewers; it must stop
 * reading the eventfd it shares with the new worker of its slot: epoll
 * re-checks readiness when it reports an edge, so a counter the old worker
 * has already read would never wake the new one.
 */

void
ngx_ws_stream_wake_stop(void)
{
    ngx_connection_t  *c;

    c = ngx_ws_stream_wake_conn;

    if (c) {
        /* the descriptor stays open in the master for the next workers */
        ngx_del_event(c->read, NGX_READ_EVENT, 0);
        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
        ngx_ws_stream_wake_conn = NULL;
    }
}


void
ngx_ws_stream_wake_exit_master(void)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_ws_stream_nwake; i++) {
        close(ngx_ws_stream_wake_fds[i]);
    }

    ngx_free(ngx_ws_stream_wake_fds);
    ngx_ws_stream_wake_fds = NULL;
    ngx_ws_stream_nwake = 0;
}


void
ngx_ws_stream_waiter_add(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_ws_stream_waiter_t *w)
{
    ngx_ws_stream_local_t  *l;

    l = &zone->local[i];

    if (ngx_queue_empty(&l->waiters)) {
        ngx_queue_insert_tail(&zone->active, &l->active);
        l->seen = zone->sh->streams[i].changes;
    }

    ngx_queue_insert_tail(&l->waiters, &w->queue);
}


void
ngx_ws_stream_waiter_del(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_ws_stream_waiter_t *w)
{
    ngx_ws_stream_local_t  *l;

    l = &zone->local[i];

    ngx_queue_remove(&w->queue);

    if (ngx_queue_empty(&l->waiters)) {
        ngx_queue_remove(&l->active);
    }
}


/*
 * The writer: stream i changed.  Its waiters in every process are woken
 * after this event-loop pass, however many records it appended.
 */

void
ngx_ws_stream_wake(ngx_ws_stream_zone_t *zone, ngx_uint_t i)
{
    ngx_ws_stream_entry_t  *e;

    e = &zone->sh->streams[i];

    (void) ngx_atomic_fetch_add(&e->changes, 1);

    ngx_ws_stream_wake_mask(zone, __atomic_load_n(&e->mask,
                                                  __ATOMIC_ACQUIRE));
}


/* the processes in mask are woken after this event-loop pass */

void
ngx_ws_stream_wake_mask(ngx_ws_stream_zone_t *zone, uint64_t mask)
{
    zone->wake |= mask;

    if (zone->wake && zone->local && !zone->wake_event.posted) {
        ngx_post_event(&zone->wake_event, &ngx_posted_events);
    }
}


/* posted by the writer: one wake-up per process per burst of records */

void
ngx_ws_stream_wake_flush(ngx_event_t *ev)
{
    ngx_ws_stream_zone_t *zone = ev->data;

    uint64_t     one, mask;
    ngx_uint_t   i, slot;

    mask = zone->wake;
    zone->wake = 0;

    one = 1;

    for (i = 0; mask; i++, mask >>= 1) {

        if (!(mask & 1)) {
            continue;
        }

        if ((ngx_int_t) i == zone->proc) {
            ngx_ws_stream_wake_local(zone, 0);
            continue;
        }

        slot = zone->sh->procs[i].slot;

        if (slot >= ngx_ws_stream_nwake
            || zone->sh->procs[i].pid == 0)
        {
            continue;
        }

        if (write(ngx_ws_stream_wake_fds[slot], &one, sizeof(one)) == -1
            && ngx_errno != NGX_EAGAIN)
        {
            ngx_log_error(NGX_LOG_ALERT, ev->log, ngx_errno,
                          "ws_stream: write() to eventfd failed");
        }
    }
}


static void
ngx_ws_stream_wake_handler(ngx_event_t *ev)
{
    uint64_t               n;
    ngx_uint_t             i;
    ngx_list_part_t       *part;
    ngx_connection_t      *c;
    ngx_ws_stream_zone_t  *zone;

    c = ev->data;

    if (ngx_exiting) {
        ngx_ws_stream_wake_stop();
        return;
    }

    /* the counter is shared with workers of other generations: whoever
     * reads first resets it, everyone woken looks at its streams */

    while (read(c->fd, &n, sizeof(n)) > 0) { /* void */ }

    part = NULL;
    i = 0;

    while ((zone = ngx_ws_stream_zone_next((ngx_cycle_t *) ngx_cycle, &part,
                                           &i)))
    {
        if (zone->local) {
            ngx_ws_stream_wake_local(zone, 0);
        }
    }
}


/*
 * This worker's streams: those whose change count moved since their
 * waiters were last woken (all of them if all is set: the janitor tick).
 */

void
ngx_ws_stream_wake_local(ngx_ws_stream_zone_t *zone, ngx_uint_t all)
{
    ngx_uint_t              changes;
    ngx_queue_t            *q, *next;
    ngx_ws_stream_local_t  *l;

    for (q = ngx_queue_head(&zone->active);
         q != ngx_queue_sentinel(&zone->active);
         q = next)
    {
        next = ngx_queue_next(q);
        l = ngx_queue_data(q, ngx_ws_stream_local_t, active);

        changes = __atomic_load_n(&zone->sh->streams[l - zone->local].changes,
                                  __ATOMIC_ACQUIRE);

        if (changes == l->seen && !all) {
            continue;
        }

        l->seen = changes;

        ngx_ws_stream_wake_stream(zone, l);
    }
}


static void
ngx_ws_stream_wake_stream(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_local_t *l)
{
    ngx_queue_t             *q, *next, *sentinel;
    ngx_ws_stream_waiter_t  *w;

    /* a waiter may leave while it is woken, never take another with it */

    sentinel = ngx_queue_sentinel(&l->waiters);

    for (q = ngx_queue_head(&l->waiters); q != sentinel; q = next) {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_ws_stream_waiter_t, queue);

        w->wake(w);
    }
}
