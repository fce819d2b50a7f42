
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Declarations shared by the nginx side of the module: the shared zone,
 * its streams, and the calls between the HTTP (viewer) and RTMP
 * (publisher) halves.
 */


#ifndef _NGX_WS_STREAM_H_INCLUDED_
#define _NGX_WS_STREAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ws_stream_core.h"
#include "ws_stream_ring.h"
#include "ws_stream_hls.h"
#include "ws_stream_abr.h"


#define NGX_WS_STREAM_PROTOCOL      "wsstream.1"

#define NGX_WS_STREAM_MAX_PROCS     64      /* worker records in a zone */
#define NGX_WS_STREAM_APP_LEN       64
#define NGX_WS_STREAM_NAME_LEN      128

#define NGX_WS_STREAM_VERSION       "0.9.0"

/* codec configuration kept for late joiners */
#define NGX_WS_STREAM_CONF_VIDEO    0
#define NGX_WS_STREAM_CONF_AUDIO    1
#define NGX_WS_STREAM_CONF_META     2
#define NGX_WS_STREAM_CONF_N        3

/* stream entry states */
#define NGX_WS_STREAM_FREE          0
#define NGX_WS_STREAM_USED          1

/* kinds of notice records */
#define NGX_WS_STREAM_NOTICE        0
#define NGX_WS_STREAM_NOTICE_ONLINE 1       /* readers wait for a keyframe */

/* publisher states */
#define NGX_WS_STREAM_PUB_NONE      0
#define NGX_WS_STREAM_PUB_PENDING   1       /* publish accepted, no media */
#define NGX_WS_STREAM_PUB_ONLINE    2


#include "ngx_ws_stream_stats.h"


typedef struct ngx_ws_stream_hls_sh_s  ngx_ws_stream_hls_sh_t;


typedef struct {
    ngx_atomic_t             pid;           /* 0: free */
    ngx_uint_t               slot;          /* ngx_worker of that process */
} ngx_ws_stream_proc_t;


typedef struct {
    u_char                  *data;          /* a complete WebSocket frame */
    size_t                   len;
} ngx_ws_stream_blob_t;


typedef struct {
    ngx_uint_t               state;
    size_t                   app_len;
    size_t                   name_len;
    u_char                   app[NGX_WS_STREAM_APP_LEN];
    u_char                   name[NGX_WS_STREAM_NAME_LEN];

    /* publisher */
    ngx_uint_t               pub;           /* NGX_WS_STREAM_PUB_* */
    ngx_pid_t                pub_pid;
    ngx_msec_t               gone;          /* when it left, monotonic */
    ngx_msec_t               grace;
    uint64_t                 started;       /* wall clock ms of publish */
    ngx_uint_t               has_video;     /* this publish sent video */

    /* viewers: process records that have some, and how many */
    uint64_t                 mask;
    uint32_t                 viewers[NGX_WS_STREAM_MAX_PROCS];
    uint32_t                 attached[NGX_WS_STREAM_MAX_PROCS];

    /* the ring; ring.data is NULL when there is none */
    ngx_uint_t               retired;       /* readers must leave it */
    ws_stream_ring_t     ring;

    ngx_ws_stream_blob_t     conf[NGX_WS_STREAM_CONF_N];

    /* the LL-HLS index, made and freed with the ring; NULL: none */
    ngx_ws_stream_hls_sh_t  *hls;

    /* counters */
    ngx_atomic_t             frames;        /* media frames appended */
    ngx_atomic_t             bytes;         /* payload bytes appended */
    ngx_atomic_t             dropped;       /* frames refused: bad, too
                                               large for the ring */
    ngx_atomic_t             skips;         /* viewer jumps */
    ngx_atomic_t             torn;          /* viewers closed because
                                               their bytes were
                                               overwritten while sent */

    /* bumped by every change a waiter may act on (records, offline,
     * retired): a woken worker wakes only the waiters of streams whose
     * count moved */
    ngx_atomic_t             changes;

    ngx_ws_stream_stats_t    stats;
} ngx_ws_stream_entry_t;


typedef struct {
    ngx_ws_stream_proc_t     procs[NGX_WS_STREAM_MAX_PROCS];
    ngx_atomic_t             viewer_id;     /* the last one given */
    ngx_uint_t               nstreams;
    ngx_ws_stream_entry_t   *streams;
    ngx_ws_stream_text_t    *texts[NGX_WS_STREAM_TEXT_BUCKETS];
} ngx_ws_stream_sh_t;


typedef struct ngx_ws_stream_viewer_s  ngx_ws_stream_viewer_t;
typedef struct ngx_ws_stream_batch_s   ngx_ws_stream_batch_t;
typedef struct ngx_ws_stream_waiter_s  ngx_ws_stream_waiter_t;


/*
 * Anything in a worker that waits on a stream (a WebSocket viewer, the
 * parked HLS requests of a stream) is a waiter: woken once per change of
 * the stream, whatever process made it.
 */

struct ngx_ws_stream_waiter_s {
    ngx_queue_t              queue;         /* in its stream's waiters */
    void                   (*wake)(ngx_ws_stream_waiter_t *w);

    /* every second, if set: update its figures, add to the stream's */
    void                   (*stats)(ngx_ws_stream_waiter_t *w,
                                    ws_stream_now_t *now);
};


/* a stream as seen by this worker */
typedef struct {
    ngx_queue_t              waiters;
    ngx_queue_t              active;        /* in zone->active while it
                                               has waiters */
    ngx_atomic_uint_t        seen;          /* entry's changes acted on */
} ngx_ws_stream_local_t;


/* an rtmp application captured into a zone */
typedef struct {
    ngx_str_t                name;
    ngx_array_t             *variants;      /* ngx_str_t suffixes of a
                                               rendition group, highest
                                               first; NULL: none */
} ngx_ws_stream_app_t;


#define NGX_WS_STREAM_VARIANTS_MAX  8

/* where a group viewer starts */
#define NGX_WS_STREAM_ABR_START_TOP     0
#define NGX_WS_STREAM_ABR_START_MIDDLE  1
#define NGX_WS_STREAM_ABR_START_BOTTOM  2


/* one per zone and cycle, in the cycle's memory */
typedef struct {
    ngx_str_t                name;
    ngx_shm_zone_t          *shm_zone;
    ngx_ws_stream_sh_t      *sh;
    ngx_slab_pool_t         *shpool;
    ngx_uint_t               streams;       /* streams= of the directive */
    ngx_uint_t               declared;      /* by ws_stream_zone */
    ngx_array_t              apps;          /* ngx_ws_stream_app_t */

    /* LL-HLS: set by the ws_stream_hls locations of the zone */
    struct {
        ngx_uint_t           enabled;
        ws_stream_hls_conf_t conf;
    }                        hls;
    void                    *hls_local;     /* per stream, this worker */

    /* this worker */
    ngx_int_t                proc;          /* record index, -1 none */
    ngx_ws_stream_local_t   *local;         /* per stream */
    ngx_queue_t              active;        /* streams with waiters */
    uint64_t                 wake;          /* processes to wake */
    ngx_event_t              wake_event;
} ngx_ws_stream_zone_t;


typedef struct {
    ngx_ws_stream_zone_t    *zone;
    ngx_flag_t               enable;
    size_t                   max_message;
    ngx_msec_t               ping_interval;
    ngx_msec_t               send_timeout;
    ngx_flag_t               stats;
    ngx_array_t             *trusted;       /* ngx_cidr_t */
    ngx_msec_t               max_lag;       /* 0: only the ring bounds it */
    ngx_msec_t               latency;       /* the players' shared target,
                                               0: each its own */
    size_t                   send_lowat;    /* TCP_NOTSENT_LOWAT, 0: off */
    ngx_msec_t               coalesce;      /* ws_stream_coalesce, 0: off */
    ngx_ws_stream_batch_t   *batch;         /* ... this worker's, made at
                                               its first viewer */
    ngx_flag_t               abr;           /* groups switch by themselves */
    ngx_flag_t               channels;      /* ws_stream_switch: to other
                                               streams on the connection */
    ngx_uint_t               abr_start;     /* NGX_WS_STREAM_ABR_START_* */
    ws_stream_abr_conf_t     abr_conf;
} ngx_ws_stream_loc_conf_t;


/* ngx_ws_stream_module.c */
ngx_ws_stream_zone_t *ngx_ws_stream_zone_get(ngx_conf_t *cf,
    ngx_str_t *name);
ngx_int_t ngx_ws_stream_zones_declared(ngx_conf_t *cf);
ngx_ws_stream_zone_t *ngx_ws_stream_zone_default(ngx_conf_t *cf,
    const char *directive);
ngx_ws_stream_zone_t *ngx_ws_stream_zone_next(ngx_cycle_t *cycle,
    ngx_list_part_t **part, ngx_uint_t *i);
uint64_t ngx_ws_stream_now_ms(void);

/* ngx_ws_stream_rtmp.c: the only code that knows nginx-rtmp */
ngx_int_t ngx_ws_stream_check_rtmp(ngx_conf_t *cf);

/* ngx_ws_stream_shm.c */
ngx_int_t ngx_ws_stream_init_zone(ngx_shm_zone_t *shm_zone, void *data);
ngx_int_t ngx_ws_stream_proc_register(ngx_ws_stream_zone_t *zone,
    ngx_log_t *log);
ngx_int_t ngx_ws_stream_entry_get(ngx_ws_stream_zone_t *zone, ngx_str_t *app,
    ngx_str_t *name, ngx_log_t *log);
void ngx_ws_stream_entry_put(ngx_ws_stream_zone_t *zone, ngx_uint_t i);
ngx_int_t ngx_ws_stream_entry_find(ngx_ws_stream_zone_t *zone,
    ngx_str_t *app, ngx_str_t *name, ngx_uint_t create);
void ngx_ws_stream_entry_hold(ngx_ws_stream_zone_t *zone, ngx_uint_t i);
void ngx_ws_stream_entry_release(ngx_ws_stream_zone_t *zone, ngx_uint_t i);
ngx_int_t ngx_ws_stream_publish(ngx_ws_stream_zone_t *zone, ngx_str_t *app,
    ngx_str_t *name, size_t size, ngx_msec_t grace, ngx_log_t *log);
void ngx_ws_stream_online(ngx_ws_stream_zone_t *zone, ngx_uint_t i);
void ngx_ws_stream_unpublish(ngx_ws_stream_zone_t *zone, ngx_uint_t i);
ngx_int_t ngx_ws_stream_set_conf(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_uint_t which, u_char *frame, size_t len, ngx_log_t *log);
void ngx_ws_stream_append_notice(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    const char *json, ngx_uint_t kind);
void ngx_ws_stream_detach(ngx_ws_stream_zone_t *zone, ngx_uint_t i);
void ngx_ws_stream_janitor(ngx_ws_stream_zone_t *zone, ngx_log_t *log);

/* ngx_ws_stream_handshake.c */
ngx_int_t ngx_ws_stream_handler(ngx_http_request_t *r);
ngx_int_t ngx_ws_stream_parse_uri(ngx_str_t *uri, ngx_str_t *app,
    ngx_str_t *name);
ngx_ws_stream_app_t *ngx_ws_stream_app_find(ngx_ws_stream_zone_t *zone,
    ngx_str_t *app);

/* ngx_ws_stream_abr.c */
char *ngx_ws_stream_abr_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_ws_stream_group.c */
ngx_int_t ngx_ws_stream_group_member(ngx_ws_stream_app_t *a, ngx_str_t *name,
    ngx_str_t *base);
ngx_uint_t ngx_ws_stream_group_find_locked(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_app_t *a, ngx_str_t *base, ngx_int_t *entries);
ngx_int_t ngx_ws_stream_group_name(ngx_ws_stream_app_t *a, ngx_str_t *base,
    ngx_uint_t k, u_char *buf, ngx_str_t *name);
ngx_int_t ngx_ws_stream_group_entry(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_entry_t *e, ngx_ws_stream_app_t **a, ngx_str_t *base);
void ngx_ws_stream_group_align(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_log_t *log);
ngx_int_t ngx_ws_stream_add_header(ngx_http_request_t *r, const char *key,
    ngx_str_t *value);

/* ngx_ws_stream_text.c */
ngx_ws_stream_text_t *ngx_ws_stream_text_get_locked(
    ngx_ws_stream_zone_t *zone, u_char *data, size_t len);
void ngx_ws_stream_text_put_locked(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_text_t *t);
void ngx_ws_stream_rec_free_locked(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_vrec_t *rec);
void ngx_ws_stream_rec_copy_locked(ngx_ws_stream_listed_t *l,
    ngx_ws_stream_vrec_t *rec);
void ngx_ws_stream_rec_addr(ngx_ws_stream_vrec_t *rec, struct sockaddr *sa);
size_t ngx_ws_stream_rec_addr_text(ngx_ws_stream_vrec_t *rec, u_char *text,
    size_t len);

/* ngx_ws_stream_stats.c */
ngx_ws_stream_slot_t *ngx_ws_stream_slot_locked(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_entry_t *e);
void ngx_ws_stream_counts_add(ngx_ws_stream_counts_t *dst,
    ngx_ws_stream_counts_t *src);
void ngx_ws_stream_stats_reclaim(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_entry_t *e, ngx_uint_t p);
void ngx_ws_stream_stats_free(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_entry_t *e);
void ngx_ws_stream_stats_online(ngx_ws_stream_entry_t *e,
    ngx_str_t *addr);
void ngx_ws_stream_stats_frame(ngx_ws_stream_entry_t *e, unsigned track,
    unsigned flags, uint32_t dts, size_t len, uint64_t ingest);
void ngx_ws_stream_stats_config(ngx_ws_stream_entry_t *e, unsigned track,
    const char *codec, uint32_t width, uint32_t height,
    uint32_t sample_rate, uint32_t channels);
void ngx_ws_stream_stats_hls_locked(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_entry_t *e, ngx_http_request_t *r, size_t bytes);
void ngx_ws_stream_stats_tick(ngx_ws_stream_zone_t *zone);
void ngx_ws_stream_reclaim_dead_locked(ngx_ws_stream_zone_t *zone);

/* ngx_ws_stream_wake.c */
ngx_int_t ngx_ws_stream_wake_init_module(ngx_cycle_t *cycle);
ngx_int_t ngx_ws_stream_wake_init_process(ngx_cycle_t *cycle,
    ngx_uint_t slot);
void ngx_ws_stream_wake_stop(void);
void ngx_ws_stream_wake_exit_master(void);
ngx_int_t ngx_ws_stream_local_init(ngx_ws_stream_zone_t *zone,
    ngx_log_t *log);
void ngx_ws_stream_waiter_add(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_ws_stream_waiter_t *w);
void ngx_ws_stream_waiter_del(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_ws_stream_waiter_t *w);
void ngx_ws_stream_wake(ngx_ws_stream_zone_t *zone, ngx_uint_t i);
void ngx_ws_stream_wake_mask(ngx_ws_stream_zone_t *zone, uint64_t mask);
void ngx_ws_stream_wake_flush(ngx_event_t *ev);
void ngx_ws_stream_wake_local(ngx_ws_stream_zone_t *zone, ngx_uint_t all);


extern ngx_module_t  ngx_ws_stream_module;


#endif /* _NGX_WS_STREAM_H_INCLUDED_ */
