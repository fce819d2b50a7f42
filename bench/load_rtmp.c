/*
 * ws-stream-load: the RTMP play viewer (--mode rtmp), on top of the sans-IO
 * client in rtmp_play.c.  The socket, epoll and the statistics are ours;
 * rtmp_play does the handshake, connect/createStream/play and hands back
 * the first LOAD_HEAD bytes of every message.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "load.h"


typedef struct {
    load_thread_t  *t;
    load_conn_t    *c;
} rtmp_ctx_t;


static void
on_message(void *ctx, unsigned type, uint32_t ts, const uint8_t *head,
    size_t head_len, size_t total_len)
{
    rtmp_ctx_t  *x = ctx;

    (void) ts;
    /* the FLV tag body is the RTMP message payload */
    load_media(x->t, x->c, type, head, head_len, total_len);
}


int
load_rtmp_write(load_thread_t *t, load_conn_t *c)
{
    const uint8_t  *p;
    size_t          n;
    ssize_t         w;

    while ((n = rtmp_play_output(c->rp, &p)) > 0) {
        w = load_write(t, c, p, n);
        if (w <= 0) {
            if (w < 0) {
                return -1;
            }
            break;
        }
        rtmp_play_consumed(c->rp, (size_t) w);
    }
    return load_arm(t, c, n > 0);
}


int
load_rtmp_start(load_thread_t *t, load_conn_t *c)
{
    c->rp = rtmp_play_create(load_target.tcurl, load_target.app,
                             load_target.stream, LOAD_HEAD);
    if (c->rp == NULL) {
        load_fail(t, c, LOAD_ERR_CONNECT, "rtmp_play_create failed");
        return -1;
    }
    c->want_out = 1;                    /* registered with EPOLLOUT */
    return load_rtmp_write(t, c);
}


int
load_rtmp_read(load_thread_t *t, load_conn_t *c, const uint8_t *p, size_t n)
{
    rtmp_ctx_t  x;
    int         was_open;

    x.t = t;
    x.c = c;
    was_open = c->state == CS_OPEN;
    if (rtmp_play_input(c->rp, p, n, on_message, &x) != 0) {
        load_fail(t, c, was_open ? LOAD_ERR_PROTOCOL : LOAD_ERR_HANDSHAKE,
                  "rtmp: %s", rtmp_play_error(c->rp));
        return -1;
    }
    if (!was_open && rtmp_play_playing(c->rp)) {
        load_connected(t, c);
    }
    /* acknowledgements, pongs, the next command */
    return load_rtmp_write(t, c);
}


void
load_rtmp_free(load_conn_t *c)
{
    if (c->rp != NULL) {
        rtmp_play_destroy(c->rp);
        c->rp = NULL;
    }
}
