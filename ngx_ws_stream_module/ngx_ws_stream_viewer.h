
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * One WebSocket viewer, shared by the connection code
 * (ngx_ws_stream_viewer.c) and the fan-out (ngx_ws_stream_fanout.c).
 */


#ifndef _NGX_WS_STREAM_VIEWER_H_INCLUDED_
#define _NGX_WS_STREAM_VIEWER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ws_stream_ws.h"
#include "ws_stream_json.h"
#include "ws_stream_abr.h"


#define NGX_WS_STREAM_BATCH       64            /* records per send of a
                                                   coalescing batch: one
                                                   writev (nginx gathers
                                                   64 iovecs) */
#define NGX_WS_STREAM_BATCH_SEND  16            /* ... of any other send:
                                                   one writev may go far
                                                   past send_lowat into a
                                                   slow link's queue */
#define NGX_WS_STREAM_BATCH_BYTES (256 * 1024)
#define NGX_WS_STREAM_RECV        4096
#define NGX_WS_STREAM_CTL_MAX     (64 * 1024)   /* queued control bytes */
#define NGX_WS_STREAM_LINGER      2000


#define NGX_WS_STREAM_CAP_SAMPLES 4             /* s of delivery rates */

/* where a group viewer's move to another rendition is */
#define NGX_WS_STREAM_SWITCH_NONE 0
#define NGX_WS_STREAM_SWITCH_WAIT 1             /* for a keyframe of the
                                                   target after what was
                                                   sent */
#define NGX_WS_STREAM_SWITCH_HOLD 2             /* it is not there yet:
                                                   the current rendition
                                                   waits at its next
                                                   keyframe */
#define NGX_WS_STREAM_SWITCH_CUT  3             /* it is there: sending
                                                   the current rendition
                                                   up to its time */


/*
 * A viewer of a rendition group (ngx_ws_stream_abr.c); NULL for a viewer
 * of a plain stream, which pays one test per batch for it.
 */

typedef struct {
    ngx_ws_stream_app_t         *app;
    ngx_str_t                    base;
    ngx_uint_t                   n;
    ngx_str_t                    names[NGX_WS_STREAM_VARIANTS_MAX];
    ngx_str_t                    json[NGX_WS_STREAM_VARIANTS_MAX];  /* the
                                                   names, escaped */
    ngx_int_t                    entries[NGX_WS_STREAM_VARIANTS_MAX];
    ngx_msec_t                   refind_at;

    ws_stream_abr_t              abr;
    ws_stream_abr_signal_t       sig;           /* the newest */
    uint64_t                     cap[NGX_WS_STREAM_CAP_SAMPLES];
    ngx_uint_t                   ncap;

    ngx_uint_t                   index;         /* being sent */
    ngx_uint_t                   want;          /* decided */
    ngx_uint_t                   why;           /* its reason */

    /* the move: the target's entry (held), waiting on it */
    ngx_uint_t                   state;         /* NGX_WS_STREAM_SWITCH_* */
    ngx_uint_t                   to;
    ngx_int_t                    target;
    ngx_ws_stream_waiter_t       waiter;
    ws_stream_cursor_t           key;
    uint32_t                     cut;           /* the keyframe's dts */
    uint32_t                     held_dts;      /* HOLD: where */
    ngx_msec_t                   held_at;       /* ... since when */
    ngx_msec_t                   gone_at;       /* the current rendition
                                                   had nothing more, since */
    ngx_event_t                  event;         /* moves are made here,
                                                   outside any wake-up */

    /* the newest frames sent */
    uint32_t                     vdts;          /* of the main track */
    uint64_t                     vingest;       /* ... its ingest time */
    uint32_t                     adts;          /* of audio beside video */

    uint64_t                     up;
    uint64_t                     down;
    const char                  *reason;        /* of the last move */

    unsigned                     vknown:1;
    unsigned                     aknown:1;
    unsigned                     at_cut:1;
    unsigned                     held:1;
    unsigned                     skip_audio:1;  /* the target's audio up to
                                                   adts was sent already */
    unsigned                     jump:1;        /* the move cannot keep
                                                   the dts going on */
    unsigned                     late:1;        /* ... for the lag bound */
    unsigned                     hurry:1;       /* a move down the lag bound
                                                   overtook: made at once */
    unsigned                     timeline_warned:1;
} ngx_ws_stream_group_t;


/*
 * A viewer is allocated with ngx_alloc(), not from the request's pool: the
 * request is freed once the 101 response is out (ngx_ws_stream_close.c),
 * and from then on c->data is the viewer.  Nothing it keeps may live in
 * the request's pool.
 */

/* what a plain viewer keeps of its connection's pool, which it frees;
 * the addresses and the address text follow */
typedef struct {
    ngx_log_t                    log;
    ngx_http_log_ctx_t           ctx;
} ngx_ws_stream_conn_t;


#define NGX_WS_STREAM_MEM_VIEWER    0
#define NGX_WS_STREAM_MEM_KEPT      1

/* a kept connection this large or smaller is in a block (IPv4, also with
 * the local address of a wildcard listen; IPv6 without), larger ones are
 * on the heap */
#define NGX_WS_STREAM_KEPT_SIZE     176


struct ngx_ws_stream_viewer_s {
    ngx_http_request_t          *request;       /* until the 101 is out */
    ngx_ws_stream_conn_t        *kept;          /* after: the connection's
                                                   log and addresses, NULL
                                                   while it has its pool */
    ngx_pool_cleanup_t          *cln;           /* ... in its pool: frees
                                                   the viewer if nginx
                                                   frees the request */
    ngx_connection_t            *connection;
    ngx_ws_stream_zone_t        *zone;
    ngx_ws_stream_loc_conf_t    *conf;
    ngx_ws_stream_waiter_t       waiter;        /* of its stream */
    ngx_uint_t                   stream;

    ws_stream_cursor_t       cur;
    ngx_ws_stream_group_t       *group;
    ngx_pool_t                  *gpool;         /* of a group joined by a
                                                   switch, else NULL */

    /*
     * What is queued and unsent: with out, the viewer's own buffer (whole
     * control frames, and what had to be copied), the first rest.media
     * bytes of it the rest of a ring frame; with out NULL and out_pos <
     * out_last, the rest of a ring frame the socket took part of, still
     * in the ring, in the record at ring position rest.at
     */
    u_char                      *out;
    size_t                       out_size;
    u_char                      *out_pos;
    u_char                      *out_last;
    union {
        uint64_t                 at;
        uint64_t                 media;
    } rest;

    ws_stream_ws_parser_t       *parser;        /* only while a frame or
                                                   message is incomplete
                                                   at the end of a read */

    ngx_queue_t                  batched;       /* in conf->batch's due
                                                   viewers (coalescing) */

    uint32_t                     skips;

    unsigned                     joined:1;
    unsigned                     has_sync:1;
    unsigned                     channel:1;     /* switched: the next join
                                                   says "channel" */
    unsigned                     attached:1;
    unsigned                     need_key:1;
    unsigned                     ping_sent:1;
    unsigned                     closing:1;     /* close frame queued */
    unsigned                     lingering:1;
    unsigned                     closed:1;
    unsigned                     in_batch:1;
    unsigned                     blocked:1;     /* the socket was full */
    unsigned                     reset_timedout:1;  /* the location's
                                                   reset_timedout_connection */
    unsigned                     kept_heap:1;   /* kept is not in a block */

    uint64_t                     sent;

    /* statistics: slot NULL when the zone had no room */
    ngx_ws_stream_slot_t        *slot;
    ngx_ws_stream_vrec_t        *rec;       /* NULL: not listed */
    uint64_t                     messages;
    uint64_t                     last_ingest;   /* of the last record out */
    uint64_t                     delay_sum;     /* us, since the tick */
    uint32_t                     delay_n;
    uint32_t                     delay_max;
    uint64_t                     acked;         /* TCP bytes acked */
    ngx_msec_t                   acked_at;
    uint64_t                     acked_bps;     /* ... per second, ×8 */
    uint64_t                     kernel_ms;     /* to send what the kernel
                                                   holds, at that rate,
                                                   but what it held at the
                                                   last skip */
    uint64_t                     skip_sent;     /* sent at the last skip */
    uint64_t                     report_at;
    double                       latency;       /* newest report's */
    double                       sync;          /* ... and its offset from
                                                   the shared target */
};


/*
 * ws_stream_coalesce: the viewers of a location in this worker that have
 * records waiting, sent together when the interval's timer fires.  One
 * timer per location and worker, armed only while a viewer waits.
 */

struct ngx_ws_stream_batch_s {
    ngx_event_t                  event;
    ngx_queue_t                  due;
    ngx_msec_t                   interval;
};


/* the kernel's struct tcp_info up to the delivery rate (Linux 4.9);
 * glibc's declares only the part before pacing_rate */
typedef struct {
    struct tcp_info              base;
    uint64_t                     pacing_rate;
    uint64_t                     max_pacing_rate;
    uint64_t                     bytes_acked;
    uint64_t                     bytes_received;
    uint32_t                     segs_out;
    uint32_t                     segs_in;
    uint32_t                     notsent_bytes;
    uint32_t                     min_rtt;
    uint32_t                     data_segs_in;
    uint32_t                     data_segs_out;
    uint64_t                     delivery_rate;
} ngx_ws_stream_tcp_info_t;


/*
 * After a send: n bytes went to the socket, records of them complete
 * ring records, the newest of which was ingested at ingest (wall clock
 * ms).  The only statistics work on the per-frame path.
 */

static ngx_inline void
ngx_ws_stream_stats_sent(ngx_ws_stream_viewer_t *v, size_t n,
    ngx_uint_t records, uint64_t ingest)
{
    uint64_t  now, d;

    if (v->slot == NULL) {
        return;
    }

    v->slot->c.sent_bytes += n;

    if (records == 0) {
        return;
    }

    v->messages += records;
    v->slot->c.sent_messages += records;
    v->last_ingest = ingest;

    if (!v->conf->stats) {
        return;
    }

    now = ngx_ws_stream_now_ms();
    d = (now > ingest) ? (now - ingest) * 1000 : 0;

    ws_stream_hist_add(&v->slot->c.delay, ws_stream_hist_delay, d);

    v->delay_sum += d;
    v->delay_n++;

    if (d > v->delay_max) {
        v->delay_max = (uint32_t) d;
    }
}


ngx_int_t ngx_ws_stream_viewer_start(ngx_http_request_t *r,
    ngx_ws_stream_loc_conf_t *wlcf, ngx_str_t *app, ngx_str_t *name,
    ngx_str_t *accept, ngx_uint_t offered);

void ngx_ws_stream_read_handler(ngx_ws_stream_viewer_t *v,
    ngx_event_t *rev);
void ngx_ws_stream_join(ngx_ws_stream_viewer_t *v);
void ngx_ws_stream_queue_conf_locked(ngx_ws_stream_viewer_t *v,
    ngx_ws_stream_entry_t *e);
void ngx_ws_stream_leave_ring(ngx_ws_stream_viewer_t *v);
double ngx_ws_stream_clock(void);

/* ngx_ws_stream_close.c */
void ngx_ws_stream_upgrade_handler(ngx_event_t *ev);
void ngx_ws_stream_viewer_abort(void *data);
void ngx_ws_stream_viewer_free(void *data);
void ngx_ws_stream_protocol_close(ngx_ws_stream_viewer_t *v, unsigned code,
    const char *reason);
void ngx_ws_stream_linger_handler(ngx_ws_stream_viewer_t *v,
    ngx_event_t *ev);
void ngx_ws_stream_finalize(ngx_ws_stream_viewer_t *v);

/* ngx_ws_stream_fanout.c */
void ngx_ws_stream_write_handler(ngx_ws_stream_viewer_t *v,
    ngx_event_t *wev);
void ngx_ws_stream_send(ngx_ws_stream_viewer_t *v);
void ngx_ws_stream_send_replies(ngx_ws_stream_viewer_t *v);
void ngx_ws_stream_lag_reset(ngx_ws_stream_viewer_t *v);

/* ngx_ws_stream_mem.c: NGX_WS_STREAM_MEM_VIEWER, NGX_WS_STREAM_MEM_KEPT */
void *ngx_ws_stream_mem_alloc(ngx_uint_t kind, ngx_log_t *log);
void ngx_ws_stream_mem_free(ngx_uint_t kind, void *p);

/* ngx_ws_stream_queue.c */
ngx_int_t ngx_ws_stream_queue(ngx_ws_stream_viewer_t *v, unsigned opcode,
    const u_char *data, size_t len, ngx_uint_t ctl);
ngx_int_t ngx_ws_stream_queue_raw(ngx_ws_stream_viewer_t *v,
    const u_char *data, size_t len);
ngx_int_t ngx_ws_stream_keep_rest(ngx_ws_stream_viewer_t *v);
void ngx_ws_stream_rest_watch(ngx_ws_stream_viewer_t *v);
ngx_int_t ngx_ws_stream_send_queued(ngx_ws_stream_viewer_t *v);
void ngx_ws_stream_torn(ngx_ws_stream_viewer_t *v);

/* ngx_ws_stream_batch.c */
void ngx_ws_stream_send_lazy(ngx_ws_stream_viewer_t *v);
void ngx_ws_stream_batch_del(ngx_ws_stream_viewer_t *v);

/* ngx_ws_stream_abr.c */
ngx_int_t ngx_ws_stream_group_start(ngx_ws_stream_viewer_t *v,
    ngx_str_t *app, ngx_str_t *name);
u_char *ngx_ws_stream_group_hello(ngx_ws_stream_viewer_t *v, u_char *p,
    u_char *last);
void ngx_ws_stream_group_notice(ngx_ws_stream_viewer_t *v,
    ngx_int_t from, const char *reason, ngx_uint_t continuous);
void ngx_ws_stream_group_tick(ngx_ws_stream_viewer_t *v, uint64_t lag_ms,
    uint64_t rate_bps);
void ngx_ws_stream_group_report(ngx_ws_stream_viewer_t *v,
    ws_stream_client_msg_t *m);
ngx_int_t ngx_ws_stream_group_pin(ngx_ws_stream_viewer_t *v, int index);

/* ngx_ws_stream_channel.c */
ngx_int_t ngx_ws_stream_channel(ngx_ws_stream_viewer_t *v,
    ws_stream_client_msg_t *m);
void ngx_ws_stream_channel_cleanup(ngx_ws_stream_viewer_t *v);

/* ngx_ws_stream_switch.c */
void ngx_ws_stream_switch_post(ngx_ws_stream_viewer_t *v);
void ngx_ws_stream_switch_wake(ngx_ws_stream_waiter_t *w);
void ngx_ws_stream_switch_handler(ngx_event_t *ev);
void ngx_ws_stream_group_sent(ngx_ws_stream_viewer_t *v,
    ws_stream_rec_t *recs, ngx_uint_t n);
void ngx_ws_stream_group_skipped(ngx_ws_stream_viewer_t *v);
ngx_uint_t ngx_ws_stream_group_overtaken(ngx_ws_stream_viewer_t *v);
void ngx_ws_stream_group_log(ngx_ws_stream_viewer_t *v, ngx_log_t *log);
void ngx_ws_stream_group_reached(ngx_ws_stream_viewer_t *v,
    ws_stream_rec_t *rec);
void ngx_ws_stream_group_cleanup(ngx_ws_stream_viewer_t *v);

/* ngx_ws_stream_stats.c */
void ngx_ws_stream_stats_join(ngx_ws_stream_viewer_t *v,
    ngx_http_request_t *r);
void ngx_ws_stream_stats_leave(ngx_ws_stream_viewer_t *v);
void ngx_ws_stream_stats_move(ngx_ws_stream_viewer_t *v, ngx_uint_t to,
    ngx_uint_t up);
void ngx_ws_stream_stats_channel(ngx_ws_stream_viewer_t *v, ngx_uint_t to,
    ngx_uint_t group);
void ngx_ws_stream_stats_report(ngx_ws_stream_viewer_t *v,
    ws_stream_client_msg_t *m);
void ngx_ws_stream_viewer_stats(ngx_ws_stream_waiter_t *w,
    ws_stream_now_t *now);


#endif /* _NGX_WS_STREAM_VIEWER_H_INCLUDED_ */
