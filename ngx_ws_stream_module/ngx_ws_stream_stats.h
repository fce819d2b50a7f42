
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Statistics in the shared zone (docs/stats.md, architecture.md
 * "Statistics").  Every figure has one writer: the publisher's worker
 * for what comes in, each worker for its own viewers and HLS requests
 * (one slot per stream and worker), so nothing on the per-frame path
 * takes a lock; a reader sums the slots under the zone's mutex, which
 * the fan-out never takes.  What a process that exited or died counted
 * is folded into the stream's "gone" counters, so totals only grow.
 */


#ifndef _NGX_WS_STREAM_STATS_H_INCLUDED_
#define _NGX_WS_STREAM_STATS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ws_stream_stats.h"


/* included by ngx_ws_stream.h, which defines NGX_WS_STREAM_MAX_PROCS */


#define NGX_WS_STREAM_UA_LEN        128
#define NGX_WS_STREAM_ADDR_LEN      48
#define NGX_WS_STREAM_CODEC_LEN     32
#define NGX_WS_STREAM_REPORT_AGE    10000   /* ms a report counts */
#define NGX_WS_STREAM_STATS_KEYS    8       /* keyframe times kept */


/* counters of one worker for one stream; summed over workers */
typedef struct {
    uint64_t                 connections;   /* WebSocket viewers made */
    uint64_t                 sent_bytes;
    uint64_t                 sent_messages;
    uint64_t                 reports;
    uint64_t                 hls_requests;
    uint64_t                 hls_bytes;
    uint64_t                 switches_up;   /* group viewers moved here */
    uint64_t                 switches_down;
    ws_stream_hist_t         latency;       /* client reports */
    ws_stream_hist_t         delay;         /* ingest -> socket */
} ngx_ws_stream_counts_t;


/* one worker's figures for one stream, in the zone */
typedef struct {
    ngx_ws_stream_counts_t   c;

    /* gauges of this worker's viewers now, rewritten every second */
    uint32_t                 websocket;     /* exact: at join and leave */
    ngx_atomic_t             seq;           /* odd while rewritten */
    ws_stream_now_t          now;
} ngx_ws_stream_slot_t;


/* what the publisher's worker writes */
typedef struct {
    u_char                   addr[NGX_WS_STREAM_ADDR_LEN];
    size_t                   addr_len;
    char                     vcodec[NGX_WS_STREAM_CODEC_LEN];
    char                     acodec[NGX_WS_STREAM_CODEC_LEN];
    uint32_t                 width;
    uint32_t                 height;
    uint32_t                 sample_rate;
    uint32_t                 channels;

    uint64_t                 vframes;
    uint64_t                 aframes;
    uint64_t                 keyframes;
    uint64_t                 vbytes;
    uint64_t                 abytes;

    uint32_t                 key_dts;       /* of the last keyframe */
    uint32_t                 keys[NGX_WS_STREAM_STATS_KEYS];  /* dts of
                                               the newest keyframes */
    uint32_t                 nkeys;         /* keyframes of this publish */
    uint32_t                 checked;       /* of them checked against the
                                               group's other renditions */
    uint64_t                 misaligned;    /* found in no other one */
    unsigned                 align_warned:1;
    uint32_t                 since_key;     /* frames after it */
    uint32_t                 gop_frames;    /* 0: not known yet */
    uint32_t                 gop_ms;
    unsigned                 has_key:1;

    uint64_t                 last_ingest;   /* wall clock ms */
    ws_stream_rate_t         vrate;
    ws_stream_rate_t         arate;
} ngx_ws_stream_pub_stats_t;


/*
 * A User-Agent or X-Forwarded-For of listed viewers, in the zone once per
 * distinct value (ngx_ws_stream_text.c)
 */
typedef struct ngx_ws_stream_text_s  ngx_ws_stream_text_t;

struct ngx_ws_stream_text_s {
    ngx_ws_stream_text_t    *next;          /* in its bucket */
    uint32_t                 refs;          /* records that use it */
    uint32_t                 hash;
    uint16_t                 len;
    u_char                   data[1];
};

#define NGX_WS_STREAM_TEXT_BUCKETS  256


/*
 * One WebSocket viewer, in the zone: listed by the API.  It fits a
 * 256-byte slab chunk (the address in binary, the texts shared): most of
 * a viewer's memory beyond the kernel's socket buffers.
 */
typedef struct {
    ngx_queue_t              queue;         /* in its stream's records */
    uint64_t                 id;
    uint64_t                 since;         /* wall clock ms */
    ngx_pid_t                pid;
    uint16_t                 proc;
    uint16_t                 port;          /* the client's */

    u_char                   addr[16];      /* the client's, binary */
    ngx_ws_stream_text_t    *ua;            /* NULL: none */
    ngx_ws_stream_text_t    *xff;           /* NULL: none */
    uint8_t                  family;        /* of addr */
    uint8_t                  tls:1;
    uint8_t                  delay_known:1;
    uint8_t                  sync_known:1;
    uint8_t                  rendition_auto:1;

    /* a group viewer's rendition; index -1: a plain stream */
    int8_t                   rendition;
    char                     switch_reason[13];  /* of the newest */
    uint32_t                 switches_up;
    uint32_t                 switches_down;
    uint32_t                 channels;      /* switches to another stream */

    /* written by the viewer's worker every second */
    uint32_t                 skips;
    uint64_t                 sent_bytes;
    uint64_t                 sent_messages;
    uint64_t                 rate_bps;      /* TCP delivery rate */
    uint64_t                 acked_bps;     /* acknowledged per second */
    uint64_t                 lag_bytes;
    uint32_t                 lag_ms;
    uint32_t                 rtt_us;
    uint32_t                 delay_us;      /* mean of the last second */
    uint32_t                 delay_max_us;

    /* the newest client report; fields not sent are -1.  Counts in
     * doubles, the rest in floats (7 digits) */
    uint64_t                 report_at;     /* wall clock ms, 0: none */
    double                   dropped;
    double                   decoded;
    double                   stalls;
    float                    bitrate;
    float                    throughput;
    float                    latency;
    float                    buffer;
    float                    stall_ms;
    float                    startup_ms;
    float                    rate;
    float                    target;        /* the player's latency target */
    float                    jitter;
    float                    clock_err;
    float                    sync;          /* latency - the shared target */
    char                     state[16];
} ngx_ws_stream_vrec_t;


/* a listed viewer as the API copies it out, with its texts */
typedef struct {
    ngx_ws_stream_vrec_t     rec;
    size_t                   ua_len;
    size_t                   xff_len;
    u_char                   ua[NGX_WS_STREAM_UA_LEN];
    u_char                   xff[NGX_WS_STREAM_ADDR_LEN];
} ngx_ws_stream_listed_t;


/* the statistics part of a stream entry */
typedef struct {
    ngx_ws_stream_slot_t    *slots[NGX_WS_STREAM_MAX_PROCS];
    ngx_ws_stream_counts_t   gone;          /* of processes that left */
    ngx_queue_t              vrecs;
    ngx_uint_t               nvrecs;
    uint32_t                 peak;
    ngx_ws_stream_pub_stats_t pub;
    ws_stream_seen_t         seen;          /* HLS clients */
} ngx_ws_stream_stats_t;


#endif /* _NGX_WS_STREAM_STATS_H_INCLUDED_ */
