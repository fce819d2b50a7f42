
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


#define NGX_WS_STREAM_BATCH       16            /* records per send */
#define NGX_WS_STREAM_BATCH_BYTES (256 * 1024)
#define NGX_WS_STREAM_RECV        4096
#define NGX_WS_STREAM_CTL_MAX     (64 * 1024)   /* queued control bytes */
#define NGX_WS_STREAM_LINGER      2000


struct ngx_ws_stream_viewer_s {
    ngx_http_request_t          *request;
    ngx_connection_t            *connection;
    ngx_ws_stream_zone_t        *zone;
    ngx_ws_stream_loc_conf_t    *conf;
    ngx_ws_stream_waiter_t       waiter;        /* of its stream */
    ngx_uint_t                   stream;

    ws_stream_cursor_t       cur;

    /* whole frames, and the rest of a ring frame the socket took part of */
    u_char                      *out;
    size_t                       out_size;
    u_char                      *out_pos;
    u_char                      *out_last;
    u_char                      *in;

    ws_stream_ws_parser_t    parser;
    ws_stream_client_msg_t   report;

    ngx_buf_t                    bufs[NGX_WS_STREAM_BATCH];
    ngx_chain_t                  links[NGX_WS_STREAM_BATCH];

    ngx_uint_t                   skips;
    uint64_t                     sent;

    unsigned                     joined:1;
    unsigned                     attached:1;
    unsigned                     need_key:1;
    unsigned                     ping_sent:1;
    unsigned                     closing:1;     /* close frame queued */
    unsigned                     lingering:1;
    unsigned                     closed:1;
};


ngx_int_t ngx_ws_stream_viewer_start(ngx_http_request_t *r,
    ngx_ws_stream_loc_conf_t *wlcf, ngx_str_t *app, ngx_str_t *name,
    ngx_str_t *accept, ngx_uint_t offered);

void ngx_ws_stream_join(ngx_ws_stream_viewer_t *v);
void ngx_ws_stream_leave_ring(ngx_ws_stream_viewer_t *v);
void ngx_ws_stream_protocol_close(ngx_ws_stream_viewer_t *v, unsigned code,
    const char *reason);
void ngx_ws_stream_linger_handler(ngx_event_t *rev);
void ngx_ws_stream_finalize(ngx_ws_stream_viewer_t *v);
double ngx_ws_stream_clock(void);

void ngx_ws_stream_write_handler(ngx_event_t *wev);
void ngx_ws_stream_send(ngx_ws_stream_viewer_t *v);
ngx_int_t ngx_ws_stream_queue(ngx_ws_stream_viewer_t *v, unsigned opcode,
    const u_char *data, size_t len, ngx_uint_t ctl);
ngx_int_t ngx_ws_stream_queue_raw(ngx_ws_stream_viewer_t *v,
    const u_char *data, size_t len);


#endif /* _NGX_WS_STREAM_VIEWER_H_INCLUDED_ */
