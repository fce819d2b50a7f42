
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The shared zone: the table of worker processes, the stream registry,
 * ring allocation and the stream life cycle.  Everything that changes
 * more than one field runs under the zone's slab mutex, which nginx's
 * master releases if a worker dies holding it.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_hls.h"
#include "ws_stream_ws.h"


static ngx_uint_t ngx_ws_stream_entry_unused(ngx_ws_stream_entry_t *e);
static void ngx_ws_stream_entry_free(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_entry_t *e);
static void ngx_ws_stream_ring_free(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_entry_t *e);
static void ngx_ws_stream_entry_tidy(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_entry_t *e);
static ngx_uint_t ngx_ws_stream_pid_dead(ngx_pid_t pid);
static void ngx_ws_stream_proc_reclaim(ngx_ws_stream_zone_t *zone,
    ngx_uint_t p);


ngx_int_t
ngx_ws_stream_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_ws_stream_zone_t *ozone = data;

    size_t                 len;
    ngx_slab_pool_t       *shpool;
    ngx_ws_stream_sh_t    *sh;
    ngx_ws_stream_zone_t  *zone;

    zone = shm_zone->data;

    if (!zone->declared) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "ws_stream zone \"%V\" is used but not declared: add "
                      "\"ws_stream_zone zone=%V:32m;\" to the http block",
                      &zone->name, &zone->name);
        return NGX_ERROR;
    }

    if (ozone) {
        if (ozone->streams != zone->streams) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "ws_stream zone \"%V\" had streams=%ui and now "
                          "has streams=%ui: rename the zone or restart "
                          "nginx to change it", &zone->name,
                          ozone->streams, zone->streams);
            return NGX_ERROR;
        }

        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;

        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    zone->shpool = shpool;

    if (shm_zone->shm.exists) {
        zone->sh = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_ws_stream_sh_t));
    if (sh == NULL) {
        goto small;
    }

    sh->nstreams = zone->streams;
    sh->streams = ngx_slab_calloc(shpool,
                                  zone->streams
                                  * sizeof(ngx_ws_stream_entry_t));
    if (sh->streams == NULL) {
        goto small;
    }

    shpool->data = sh;
    zone->sh = sh;

    len = sizeof(" in ws_stream zone \"\"") + shm_zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        goto small;
    }

    ngx_sprintf(shpool->log_ctx, " in ws_stream zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* the module says what failed and what it refused instead */
    shpool->log_nomem = 0;

    return NGX_OK;

small:

    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                  "ws_stream zone \"%V\" is too small for streams=%ui: "
                  "make it larger", &zone->name, zone->streams);
    return NGX_ERROR;
}


ngx_int_t
ngx_ws_stream_proc_register(ngx_ws_stream_zone_t *zone, ngx_log_t *log)
{
    ngx_int_t              found;
    ngx_uint_t             p;
    ngx_ws_stream_proc_t  *procs;

    procs = zone->sh->procs;
    found = -1;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (p = 0; p < NGX_WS_STREAM_MAX_PROCS; p++) {

        if (procs[p].pid && ngx_ws_stream_pid_dead(procs[p].pid)) {
            ngx_ws_stream_proc_reclaim(zone, p);
        }

        if (procs[p].pid == 0 && found == -1) {
            found = p;
        }
    }

    if (found != -1) {
        procs[found].pid = ngx_pid;
        procs[found].slot = (ngx_process == NGX_PROCESS_WORKER)
                            ? (ngx_uint_t) ngx_worker : 0;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    zone->proc = found;

    return found == -1 ? NGX_ERROR : NGX_OK;
}


static ngx_uint_t
ngx_ws_stream_pid_dead(ngx_pid_t pid)
{
    return pid != ngx_pid && kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH;
}


/* a dead process's viewers are gone: forget them */

static void
ngx_ws_stream_proc_reclaim(ngx_ws_stream_zone_t *zone, ngx_uint_t p)
{
    ngx_uint_t              i;
    ngx_ws_stream_entry_t  *e;

    for (i = 0; i < zone->sh->nstreams; i++) {
        e = &zone->sh->streams[i];

        if (e->state == NGX_WS_STREAM_FREE) {
            continue;
        }

        ngx_ws_stream_stats_reclaim(zone, e, p);

        e->viewers[p] = 0;
        e->attached[p] = 0;
        __atomic_and_fetch(&e->mask, ~((uint64_t) 1 << p), __ATOMIC_RELEASE);
    }

    zone->sh->procs[p].pid = 0;
}


/* under the mutex: the entry of app/name, made if create is set; -1 */

ngx_int_t
ngx_ws_stream_entry_find(ngx_ws_stream_zone_t *zone, ngx_str_t *app,
    ngx_str_t *name, ngx_uint_t create)
{
    ngx_int_t               free;
    ngx_uint_t              i;
    ngx_ws_stream_entry_t  *e;

    free = -1;

    for (i = 0; i < zone->sh->nstreams; i++) {
        e = &zone->sh->streams[i];

        if (e->state == NGX_WS_STREAM_FREE) {
            if (free == -1) {
                free = i;
            }
            continue;
        }

        if (e->app_len == app->len && e->name_len == name->len
            && ngx_memcmp(e->app, app->data, app->len) == 0
            && ngx_memcmp(e->name, name->data, name->len) == 0)
        {
            return i;
        }
    }

    if (!create || free == -1) {
        return NGX_DECLINED;
    }

    e = &zone->sh->streams[free];

    e->state = NGX_WS_STREAM_USED;
    e->app_len = app->len;
    e->name_len = name->len;
    ngx_memcpy(e->app, app->data, app->len);
    ngx_memcpy(e->name, name->data, name->len);
    ngx_queue_init(&e->stats.vrecs);

    return free;
}


static ngx_uint_t
ngx_ws_stream_entry_unused(ngx_ws_stream_entry_t *e)
{
    ngx_uint_t  p;

    if (e->pub != NGX_WS_STREAM_PUB_NONE || e->ring.data) {
        return 0;
    }

    for (p = 0; p < NGX_WS_STREAM_MAX_PROCS; p++) {
        if (e->viewers[p]) {
            return 0;
        }
    }

    return 1;
}


static void
ngx_ws_stream_entry_free(ngx_ws_stream_zone_t *zone, ngx_ws_stream_entry_t *e)
{
    ngx_uint_t  k;

    for (k = 0; k < NGX_WS_STREAM_CONF_N; k++) {
        if (e->conf[k].data) {
            ngx_slab_free_locked(zone->shpool, e->conf[k].data);
        }
    }

    ngx_ws_stream_stats_free(zone, e);

    ngx_memzero(e, sizeof(ngx_ws_stream_entry_t));
}


/* under the mutex: free a retired ring nobody reads, and an idle entry */

static void
ngx_ws_stream_entry_tidy(ngx_ws_stream_zone_t *zone, ngx_ws_stream_entry_t *e)
{
    ngx_uint_t  p, attached;

    if (e->state == NGX_WS_STREAM_FREE) {
        return;
    }

    if (e->ring.data && e->retired) {
        attached = 0;

        for (p = 0; p < NGX_WS_STREAM_MAX_PROCS; p++) {
            attached += e->attached[p];
        }

        if (attached == 0) {
            ngx_ws_stream_ring_free(zone, e);
        }
    }

    if (ngx_ws_stream_entry_unused(e)) {
        ngx_ws_stream_entry_free(zone, e);
    }
}


static void
ngx_ws_stream_ring_free(ngx_ws_stream_zone_t *zone, ngx_ws_stream_entry_t *e)
{
    ngx_slab_free_locked(zone->shpool, e->ring.data);
    ngx_memzero(&e->ring, sizeof(ws_stream_ring_t));

    if (e->hls) {
        ngx_ws_stream_hls_free(zone, e->hls);
        e->hls = NULL;
    }
    e->retired = 0;
}


/* a viewer joins: the stream's entry, made if needed */

ngx_int_t
ngx_ws_stream_entry_get(ngx_ws_stream_zone_t *zone, ngx_str_t *app,
    ngx_str_t *name, ngx_log_t *log)
{
    ngx_int_t               i;
    ngx_ws_stream_entry_t  *e;

    ngx_shmtx_lock(&zone->shpool->mutex);

    i = ngx_ws_stream_entry_find(zone, app, name, 1);

    if (i >= 0) {
        e = &zone->sh->streams[i];
        e->viewers[zone->proc]++;
        __atomic_or_fetch(&e->mask, (uint64_t) 1 << zone->proc,
                          __ATOMIC_RELEASE);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (i < 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ws_stream zone \"%V\" has no free stream slot "
                      "(streams=%ui) for \"%V/%V\"", &zone->name,
                      zone->streams, app, name);
    }

    return i;
}


/*
 * Something of this worker other than a viewer waits on stream i (parked
 * HLS requests): wake this worker for it and keep its ring and index.
 */

void
ngx_ws_stream_entry_hold(ngx_ws_stream_zone_t *zone, ngx_uint_t i)
{
    ngx_ws_stream_entry_t  *e;

    e = &zone->sh->streams[i];

    ngx_shmtx_lock(&zone->shpool->mutex);

    e->viewers[zone->proc]++;
    e->attached[zone->proc]++;
    __atomic_or_fetch(&e->mask, (uint64_t) 1 << zone->proc,
                      __ATOMIC_RELEASE);

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


void
ngx_ws_stream_entry_release(ngx_ws_stream_zone_t *zone, ngx_uint_t i)
{
    ngx_ws_stream_detach(zone, i);
    ngx_ws_stream_entry_put(zone, i);
}


/* a viewer leaves */

void
ngx_ws_stream_entry_put(ngx_ws_stream_zone_t *zone, ngx_uint_t i)
{
    ngx_ws_stream_entry_t  *e;

    e = &zone->sh->streams[i];

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (e->viewers[zone->proc] && --e->viewers[zone->proc] == 0) {
        __atomic_and_fetch(&e->mask, ~((uint64_t) 1 << zone->proc),
                           __ATOMIC_RELEASE);
    }

    ngx_ws_stream_entry_tidy(zone, e);

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/*
 * A publish: NGX_OK with the stream's index in *index, NGX_DECLINED when
 * a live publisher already has the stream, NGX_ERROR when the zone has
 * no room (logged).
 */

ngx_int_t
ngx_ws_stream_publish(ngx_ws_stream_zone_t *zone, ngx_str_t *app,
    ngx_str_t *name, size_t size, ngx_msec_t grace, ngx_log_t *log)
{
    u_char                 *mem;
    ngx_int_t               i;
    ngx_ws_stream_entry_t  *e;

    ngx_shmtx_lock(&zone->shpool->mutex);

    i = ngx_ws_stream_entry_find(zone, app, name, 1);

    if (i < 0) {
        ngx_shmtx_unlock(&zone->shpool->mutex);

        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ws_stream zone \"%V\" has no free stream slot "
                      "(streams=%ui): publish of \"%V/%V\" refused",
                      &zone->name, zone->streams, app, name);
        return NGX_ERROR;
    }

    e = &zone->sh->streams[i];

    if (e->pub != NGX_WS_STREAM_PUB_NONE
        && !ngx_ws_stream_pid_dead(e->pub_pid))
    {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_DECLINED;
    }

    if (e->ring.data == NULL) {
        mem = ngx_slab_alloc_locked(zone->shpool, size);

        if (mem == NULL) {
            if (ngx_ws_stream_entry_unused(e)) {
                ngx_ws_stream_entry_free(zone, e);
            }

            ngx_shmtx_unlock(&zone->shpool->mutex);

            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "ws_stream zone \"%V\" is full: no room for a "
                          "%uz-byte buffer: publish of \"%V/%V\" refused "
                          "(make the zone larger or ws_stream_buffer "
                          "smaller)", &zone->name, size, app, name);
            return NGX_ERROR;
        }

        ws_stream_ring_init(&e->ring, mem, size);
    }

    /* a publisher back within the grace period continues the same ring,
     * so attached viewers stay where they are */

    e->retired = 0;
    e->pub = NGX_WS_STREAM_PUB_PENDING;
    e->pub_pid = ngx_pid;
    e->grace = grace;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return i;
}


/* the first media of an accepted publish */

void
ngx_ws_stream_online(ngx_ws_stream_zone_t *zone, ngx_uint_t i)
{
    ngx_uint_t              k;
    ngx_ws_stream_entry_t  *e;

    e = &zone->sh->streams[i];

    ngx_shmtx_lock(&zone->shpool->mutex);

    /* the new publisher brings its own codec configuration */

    for (k = 0; k < NGX_WS_STREAM_CONF_N; k++) {
        if (e->conf[k].data) {
            ngx_slab_free_locked(zone->shpool, e->conf[k].data);
            e->conf[k].data = NULL;
            e->conf[k].len = 0;
        }
    }

    e->pub = NGX_WS_STREAM_PUB_ONLINE;
    e->has_video = 0;
    e->started = ngx_ws_stream_now_ms();

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_ws_stream_append_notice(zone, i, "{\"type\":\"online\"}",
                                NGX_WS_STREAM_NOTICE_ONLINE);
    ngx_ws_stream_wake(zone, i);
}


void
ngx_ws_stream_unpublish(ngx_ws_stream_zone_t *zone, ngx_uint_t i)
{
    ngx_ws_stream_entry_t  *e;

    e = &zone->sh->streams[i];

    if (e->pub == NGX_WS_STREAM_PUB_ONLINE) {
        ngx_ws_stream_append_notice(zone, i, "{\"type\":\"offline\"}",
                                    NGX_WS_STREAM_NOTICE);
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    /* a publish refused before any media was seen by nobody: its ring
     * goes at once unless viewers still read the previous publisher's */

    if (e->grace == 0 || e->pub == NGX_WS_STREAM_PUB_PENDING) {
        e->retired = 1;
    }

    e->pub = NGX_WS_STREAM_PUB_NONE;
    e->pub_pid = 0;
    e->gone = ngx_current_msec;

    ngx_ws_stream_entry_tidy(zone, e);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_ws_stream_wake(zone, i);
}


/* keeps a copy of a codec configuration frame for late joiners */

ngx_int_t
ngx_ws_stream_set_conf(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_uint_t which, u_char *frame, size_t len, ngx_log_t *log)
{
    u_char                 *p;
    ngx_ws_stream_entry_t  *e;

    e = &zone->sh->streams[i];

    ngx_shmtx_lock(&zone->shpool->mutex);

    p = ngx_slab_alloc_locked(zone->shpool, len);

    if (p) {
        ngx_memcpy(p, frame, len);

        if (e->conf[which].data) {
            ngx_slab_free_locked(zone->shpool, e->conf[which].data);
        }

        e->conf[which].data = p;
        e->conf[which].len = len;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (p == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ws_stream zone \"%V\" is full: no room for the %uz-"
                      "byte codec configuration of \"%*s/%*s\": viewers "
                      "joining later may not decode", &zone->name, len,
                      e->app_len, e->app, e->name_len, e->name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the writer (or the janitor standing in for a dead one) */

void
ngx_ws_stream_append_notice(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    const char *json, ngx_uint_t kind)
{
    u_char                 *p;
    size_t                  len, hlen;
    uint8_t                 hdr[WS_STREAM_WS_MAX_HDR];
    ngx_ws_stream_entry_t  *e;

    e = &zone->sh->streams[i];

    if (e->ring.data == NULL) {
        return;
    }

    len = ngx_strlen(json);
    hlen = ws_stream_ws_header(hdr, WS_STREAM_WS_TEXT, len);

    p = ws_stream_ring_reserve(&e->ring, hlen + len);
    if (p == NULL) {
        return;
    }

    p = ngx_cpymem(p, hdr, hlen);
    ngx_memcpy(p, json, len);

    ws_stream_ring_commit(&e->ring, WS_STREAM_REC_NOTICE, kind, 0,
                              ngx_ws_stream_now_ms(), 0);
}


/* a viewer leaves the ring; the last one out frees a retired ring */

void
ngx_ws_stream_detach(ngx_ws_stream_zone_t *zone, ngx_uint_t i)
{
    ngx_ws_stream_entry_t  *e;

    e = &zone->sh->streams[i];

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (e->attached[zone->proc]) {
        e->attached[zone->proc]--;
    }

    ngx_ws_stream_entry_tidy(zone, e);

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* under the mutex: forget processes that are gone, keep what they counted */

void
ngx_ws_stream_reclaim_dead_locked(ngx_ws_stream_zone_t *zone)
{
    ngx_uint_t  p;

    for (p = 0; p < NGX_WS_STREAM_MAX_PROCS; p++) {
        if (zone->sh->procs[p].pid
            && ngx_ws_stream_pid_dead(zone->sh->procs[p].pid))
        {
            ngx_ws_stream_proc_reclaim(zone, p);
        }
    }
}


/*
 * Every second in every worker: forget dead processes, stand in for a
 * publisher that died, retire rings whose grace period is over and free
 * what nobody uses.
 */

void
ngx_ws_stream_janitor(ngx_ws_stream_zone_t *zone, ngx_log_t *log)
{
    uint64_t                wake;
    ngx_uint_t              i;
    ngx_ws_stream_entry_t  *e;

    wake = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    ngx_ws_stream_reclaim_dead_locked(zone);

    for (i = 0; i < zone->sh->nstreams; i++) {
        e = &zone->sh->streams[i];

        if (e->state == NGX_WS_STREAM_FREE) {
            continue;
        }

        if (e->pub != NGX_WS_STREAM_PUB_NONE
            && ngx_ws_stream_pid_dead(e->pub_pid))
        {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "ws_stream: the publisher of \"%*s/%*s\" (pid %P) "
                          "died; stream is offline", e->app_len, e->app,
                          e->name_len, e->name, e->pub_pid);

            if (e->pub == NGX_WS_STREAM_PUB_ONLINE) {
                ngx_ws_stream_append_notice(zone, i,
                                            "{\"type\":\"offline\"}",
                                            NGX_WS_STREAM_NOTICE);
            }

            e->pub = NGX_WS_STREAM_PUB_NONE;
            e->pub_pid = 0;
            e->gone = ngx_current_msec;
            (void) ngx_atomic_fetch_add(&e->changes, 1);
            wake |= e->mask;
        }

        if (e->pub == NGX_WS_STREAM_PUB_NONE && e->ring.data && !e->retired
            && ngx_current_msec - e->gone >= e->grace)
        {
            e->retired = 1;
            (void) ngx_atomic_fetch_add(&e->changes, 1);
            wake |= e->mask;
        }

        ngx_ws_stream_entry_tidy(zone, e);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (wake) {
        ngx_ws_stream_wake_mask(zone, wake);
    }
}
