
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The few nginx-rtmp 1.2.x types the RTMP hook touches, declared here
 * because Debian ships no nginx-rtmp headers.  The layout follows the
 * public headers of nginx-rtmp-module 1.2.2; only ngx_ws_stream_rtmp.c
 * includes this file, and it checks at start-up that the loaded module
 * matches (see ngx_ws_stream_rtmp_check()).
 */


#ifndef _NGX_WS_STREAM_RTMP_H_INCLUDED_
#define _NGX_WS_STREAM_RTMP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <nginx.h>


#define NGX_RTMP_MODULE             0x504D5452      /* "RTMP" */

#define NGX_RTMP_MAIN_CONF          0x02000000
#define NGX_RTMP_SRV_CONF           0x04000000
#define NGX_RTMP_APP_CONF           0x08000000

#define NGX_RTMP_MSG_AUDIO          8
#define NGX_RTMP_MSG_VIDEO          9
#define NGX_RTMP_MSG_AMF_META       18
#define NGX_RTMP_MSG_MAX            22

/* message types, then connect, disconnect, handshake done */
#define NGX_RTMP_MAX_EVENT          (NGX_RTMP_MSG_MAX + 4)

#define NGX_RTMP_MAX_NAME           256
#define NGX_RTMP_MAX_ARGS           NGX_RTMP_MAX_NAME


typedef struct {
    void                  **main_conf;
    void                  **srv_conf;
    void                  **app_conf;
} ngx_rtmp_conf_ctx_t;

#define NGX_RTMP_APP_CONF_OFFSET    offsetof(ngx_rtmp_conf_ctx_t, app_conf)


typedef struct {
    uint32_t                csid;
    uint32_t                timestamp;      /* absolute, ms */
    uint32_t                mlen;
    uint8_t                 type;
    uint32_t                msid;
} ngx_rtmp_header_t;


/* the session up to the last field used here */

typedef struct {
    uint32_t                signature;
    ngx_event_t             close;

    void                  **ctx;
    void                  **main_conf;
    void                  **srv_conf;
    void                  **app_conf;

    ngx_str_t              *addr_text;
    int                     connected;

#if (nginx_version >= 1007005)
    ngx_queue_t             posted_dry_events;
#else
    ngx_event_t            *posted_dry_events;
#endif

    uint32_t                buflen;
    uint32_t                ack_size;

    ngx_str_t               app;
    ngx_str_t               args;
    ngx_str_t               flashver;
    ngx_str_t               swf_url;
    ngx_str_t               tc_url;
    uint32_t                acodecs;
    uint32_t                vcodecs;
    ngx_str_t               page_url;

    ngx_buf_t              *hs_buf;
    u_char                 *hs_digest;
    unsigned                hs_old:1;
    ngx_uint_t              hs_stage;

    ngx_msec_t              epoch;
    ngx_msec_t              peer_epoch;
    ngx_msec_t              base_time;
    uint32_t                current_time;

    ngx_event_t             ping_evt;
    unsigned                ping_active:1;
    unsigned                ping_reset:1;
    unsigned                auto_pushed:1;
    unsigned                relay:1;
    unsigned                static_relay:1;

    void                   *in_streams;
    uint32_t                in_csid;
    ngx_uint_t              in_chunk_size;
    ngx_pool_t             *in_pool;
    uint32_t                in_bytes;
    uint32_t                in_last_ack;

    ngx_pool_t             *in_old_pool;
    ngx_int_t               in_chunk_size_changing;

    ngx_connection_t       *connection;

    /* more fields follow in nginx-rtmp; never used here */
} ngx_rtmp_session_t;


typedef ngx_int_t (*ngx_rtmp_handler_pt)(ngx_rtmp_session_t *s,
    ngx_rtmp_header_t *h, ngx_chain_t *in);


typedef struct {
    ngx_str_t               name;
    ngx_rtmp_handler_pt     handler;
} ngx_rtmp_amf_handler_t;


typedef struct {
    ngx_array_t             servers;
    ngx_array_t             listen;

    ngx_array_t             events[NGX_RTMP_MAX_EVENT];

    ngx_hash_t              amf_hash;
    ngx_array_t             amf_arrays;
    ngx_array_t             amf;
} ngx_rtmp_core_main_conf_t;


typedef struct {
    ngx_array_t             applications;
    ngx_str_t               name;
    void                  **app_conf;
} ngx_rtmp_core_app_conf_t;


typedef struct {
    ngx_int_t             (*preconfiguration)(ngx_conf_t *cf);
    ngx_int_t             (*postconfiguration)(ngx_conf_t *cf);

    void                 *(*create_main_conf)(ngx_conf_t *cf);
    char                 *(*init_main_conf)(ngx_conf_t *cf, void *conf);

    void                 *(*create_srv_conf)(ngx_conf_t *cf);
    char                 *(*merge_srv_conf)(ngx_conf_t *cf, void *prev,
                                            void *conf);

    void                 *(*create_app_conf)(ngx_conf_t *cf);
    char                 *(*merge_app_conf)(ngx_conf_t *cf, void *prev,
                                            void *conf);
} ngx_rtmp_module_t;


typedef struct {
    u_char                  name[NGX_RTMP_MAX_NAME];
    u_char                  args[NGX_RTMP_MAX_ARGS];
    u_char                  type[16];
    int                     silent;
} ngx_rtmp_publish_t;


typedef struct {
    double                  stream;
} ngx_rtmp_close_stream_t;


typedef ngx_int_t (*ngx_rtmp_publish_pt)(ngx_rtmp_session_t *s,
    ngx_rtmp_publish_t *v);
typedef ngx_int_t (*ngx_rtmp_close_stream_pt)(ngx_rtmp_session_t *s,
    ngx_rtmp_close_stream_t *v);


#endif /* _NGX_WS_STREAM_RTMP_H_INCLUDED_ */
