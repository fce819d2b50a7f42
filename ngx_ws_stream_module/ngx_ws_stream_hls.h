
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The LL-HLS fallback, shared by the writer side (ngx_ws_stream_hls_mux.c:
 * parts cut and muxed once, by the publisher's worker) and the HTTP side
 * (ngx_ws_stream_hls.c: playlists, parts, segments, parked requests).
 */


#ifndef _NGX_WS_STREAM_HLS_H_INCLUDED_
#define _NGX_WS_STREAM_HLS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ws_stream_flv.h"
#include "ws_stream_hls.h"
#include "ws_stream_mp4.h"
#include "ws_stream_m3u8.h"


#define NGX_WS_STREAM_HLS_INITS     4       /* init segments kept */


typedef struct {
    uint64_t                 gen;           /* init generation */
    ngx_ws_stream_blob_t     blob;          /* ftyp + moov */
} ngx_ws_stream_hls_init_t;


/* per stream, in the zone, written by the publisher's worker */
struct ngx_ws_stream_hls_sh_s {
    ws_stream_hls_t          index;
    uint64_t                 born;          /* wall clock ms */
    ngx_ws_stream_hls_init_t init[NGX_WS_STREAM_HLS_INITS];

    /* for the multivariant playlist, of the current generation */
    char                     codecs[80];
    uint32_t                 width;
    uint32_t                 height;
};


typedef struct ngx_ws_stream_hls_frame_s  ngx_ws_stream_hls_frame_t;


/* the publisher's side of one stream (in its RTMP session context) */
typedef struct {
    ngx_ws_stream_hls_sh_t     *hls;        /* NULL: no HLS */
    ngx_log_t                  *log;

    /* the codec configurations, our copies: [0] audio, [1] video */
    ngx_ws_stream_blob_t        conf[2];
    ngx_uint_t                  have[2];
    char                        codec[2][40];
    ws_stream_mp4_track_t       audio;
    ws_stream_mp4_track_t       video;

    /* the init segment made for generation gen, and its tracks */
    uint32_t                    gen;
    ngx_uint_t                  gen_made;
    ngx_uint_t                  init_audio;
    ngx_uint_t                  init_video;

    /* the frames of the open part */
    ngx_ws_stream_hls_frame_t  *frames;
    ngx_uint_t                  nframes;
    ngx_uint_t                  aframes;
    uint64_t                    ingest;     /* of its first frame */

    uint64_t                    sequence;   /* of the last moof */
    ngx_uint_t                  warned;
    ngx_uint_t                  forced;     /* warned of forced cuts */
    ngx_uint_t                  nomem;      /* warned of a full zone */
    ngx_uint_t                  early;      /* warned of early expiry */
} ngx_ws_stream_hls_pub_t;


/* the length of the header of one of our (unmasked) WebSocket frames */

static ngx_inline size_t
ngx_ws_stream_frame_header_len(const u_char *frame)
{
    switch (frame[1] & 0x7f) {
    case 126:
        return 4;
    case 127:
        return 10;
    default:
        return 2;
    }
}


#define NGX_WS_STREAM_HLS_MEDIA_AGE  86400     /* parts, segments, inits */

/* what a parked request waits for */
#define NGX_WS_STREAM_HLS_WHOLE      UINT64_MAX


typedef struct {
    ngx_ws_stream_zone_t    *zone;
    ngx_flag_t               enable;
    ngx_msec_t               part;
    ngx_msec_t               segment;
    ngx_uint_t               window;
    ngx_str_t                cors;          /* empty: off */
} ngx_ws_stream_hls_loc_conf_t;


/* per worker and stream: its parked requests and playlist cache */
typedef struct {
    ngx_ws_stream_waiter_t   waiter;
    ngx_ws_stream_zone_t    *zone;
    ngx_uint_t               stream;
    ngx_queue_t              parked;        /* sorted by (msn, part) */
    uint64_t                 seen;          /* index version woken for */

    /* the last media playlists written, full [0] and delta [1] */
    u_char                  *text[2];
    size_t                   len[2];
    uint64_t                 version[2];
    ngx_ws_stream_hls_sh_t  *of[2];
    uint64_t                 born[2];       /* an index made anew at the
                                               same address is another */
    uint64_t                 reports[2];    /* where the other renditions
                                               were when it was written */
} ngx_ws_stream_hls_local_t;


typedef struct {
    ngx_http_request_t      *request;
    ngx_ws_stream_hls_local_t  *local;
    ngx_queue_t              queue;
    ngx_event_t              timer;
    ngx_str_t                app;
    ngx_str_t                name;
    ws_stream_hls_uri_t      uri;
    ws_stream_hls_args_t     args;
    uint64_t                 msn;           /* waits for (msn, part) */
    uint64_t                 part;
    const char              *why;           /* of a 400 */
    ngx_ws_stream_app_t     *a;

    /* a rendition's playlist: where the others of its group are */
    ws_stream_m3u8_report_t *reports;
    size_t                   nreports;
    uint64_t                 reports_key;

    unsigned                 parked:1;
} ngx_ws_stream_hls_ctx_t;


/* ngx_ws_stream_hls.c */
ngx_int_t ngx_ws_stream_hls_serve(ngx_http_request_t *r,
    ngx_ws_stream_hls_ctx_t *ctx, ngx_uint_t parked);
ngx_int_t ngx_ws_stream_hls_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_buf_t *b, time_t modified, ngx_str_t *etag,
    ngx_int_t max_age);
ngx_int_t ngx_ws_stream_hls_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *text);

/* ngx_ws_stream_hls_group.c */
ngx_int_t ngx_ws_stream_hls_group_multivariant(ngx_http_request_t *r,
    ngx_ws_stream_hls_ctx_t *ctx, ngx_ws_stream_zone_t *zone,
    ngx_buf_t **b);
ngx_int_t ngx_ws_stream_hls_reports(ngx_http_request_t *r,
    ngx_ws_stream_hls_ctx_t *ctx, ngx_ws_stream_zone_t *zone);

/* ngx_ws_stream_hls_files.c */
ngx_int_t ngx_ws_stream_hls_buf(ngx_http_request_t *r, u_char *data,
    size_t len, ngx_uint_t copy, ngx_buf_t **b);
ngx_int_t ngx_ws_stream_hls_media(ngx_http_request_t *r,
    ngx_ws_stream_hls_ctx_t *ctx, ngx_ws_stream_hls_local_t *l,
    ngx_ws_stream_entry_t *e, ngx_buf_t **b);
ngx_int_t ngx_ws_stream_hls_multivariant(ngx_http_request_t *r,
    ngx_ws_stream_entry_t *e, ngx_buf_t **b);
ngx_int_t ngx_ws_stream_hls_blob(ngx_http_request_t *r,
    ngx_ws_stream_hls_ctx_t *ctx, ngx_ws_stream_entry_t *e, ngx_buf_t **b,
    time_t *modified);

/* ngx_ws_stream_hls_park.c */
ngx_int_t ngx_ws_stream_hls_park(ngx_http_request_t *r,
    ngx_ws_stream_hls_ctx_t *ctx, ngx_int_t stream);
void ngx_ws_stream_hls_cleanup(void *data);
void ngx_ws_stream_hls_wake(ngx_ws_stream_waiter_t *w);

extern ws_stream_hls_snap_t  *ngx_ws_stream_hls_snap;
extern ngx_module_t           ngx_ws_stream_hls_module;


/* ngx_ws_stream_hls_mux.c */
ngx_int_t ngx_ws_stream_hls_start(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_ws_stream_hls_pub_t *pub, ngx_log_t *log);
void ngx_ws_stream_hls_config(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_ws_stream_hls_pub_t *pub, ngx_uint_t video);
ngx_int_t ngx_ws_stream_hls_cut(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_ws_stream_hls_pub_t *pub, ws_stream_flv_info_t *info,
    uint32_t dts);
void ngx_ws_stream_hls_add(ngx_ws_stream_hls_pub_t *pub,
    ws_stream_flv_info_t *info, uint32_t dts, uint64_t ingest,
    uint64_t pos, uint64_t seq, size_t off, size_t len);
void ngx_ws_stream_hls_stop(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_ws_stream_hls_pub_t *pub);
void ngx_ws_stream_hls_free(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_hls_sh_t *hls);


#endif /* _NGX_WS_STREAM_HLS_H_INCLUDED_ */
