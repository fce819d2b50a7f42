/*
 * ws-stream-floor: shared definitions of the floor sender.
 *
 * floor.c       options, the fixture's messages (framed and stamped once),
 *               the message window, the event loop and the fan-out
 * floor_conn.c  viewers: accept, the WebSocket upgrade, what a new viewer
 *               is sent first (hello, codec configuration), reading, closing
 *
 * The floor has no protocol logic and no ring in shared memory: it is what
 * per-message delivery costs on this machine, one write() (or one writev()
 * per loop pass) per message per viewer from a message built once.
 */
#ifndef FLOOR_H
#define FLOOR_H

#include <stddef.h>
#include <stdint.h>

#include "flv_fixture.h"

#define FLOOR_PROG      "ws-stream-floor"
#define FLOOR_WINDOW    512           /* messages kept, a power of two */
#define FLOOR_REQ_MAX   4096          /* upgrade request header */
#define FLOOR_IOV       64            /* messages per writev() */
#define FLOOR_NONE      UINT64_MAX

typedef enum {
    FLOOR_EACH = 0,                   /* a write() per message per viewer */
    FLOOR_GATHER                      /* a writev() per viewer per pass */
} floor_mode_e;

/* one message as every viewer is sent it: frame header, media header,
 * payload */
typedef struct {
    uint8_t         *buf;             /* malloc()ed, NULL when free */
    uint8_t         *data;            /* the WebSocket frame header */
    size_t           len;
    uint32_t         dts;
    uint32_t         partial;         /* viewers part-way through it */
    uint8_t          key;             /* video keyframe */
    uint8_t          video;           /* video frame */
} floor_msg_t;

typedef enum {
    FV_REQUEST = 0,                   /* reading the upgrade request */
    FV_WAIT_KEY,                      /* upgraded, no keyframe to start at */
    FV_LIVE
} floor_state_e;

typedef struct {
    int              fd;
    uint8_t          state;           /* floor_state_e */
    uint8_t          blocked;         /* socket full: waits for EPOLLOUT */
    uint32_t         slot;            /* index in floor_srv_t.viewers */
    uint64_t         seq;             /* next message to send */
    size_t           off;             /* bytes of it sent */
    uint8_t         *pre;             /* own bytes before message seq: the
                                         upgrade answer, hello and config,
                                         or a `skipped` notice */
    size_t           pre_len;
    size_t           pre_off;
    char            *req;             /* upgrade request being read */
    size_t           req_len;
    uint64_t         skips;
} floor_viewer_t;

typedef struct {
    uint64_t         accepted;
    uint64_t         upgraded;
    uint64_t         refused;         /* bad upgrade request */
    uint64_t         closed;          /* by the viewer, or a write error */
    uint64_t         dropped;         /* stuck in a message leaving the
                                         window */
    uint64_t         skips;           /* moved to the newest keyframe */
    uint64_t         skipped_msgs;
    uint64_t         viewers_max;
    uint64_t         msgs;            /* built */
    uint64_t         frames;          /* of them stamped video frames */
    uint64_t         passes;          /* loop passes that built messages */
    uint64_t         writes;          /* write() / writev() calls */
    uint64_t         gathered;        /* of them writev() */
    uint64_t         eagain;          /* of them that took nothing */
    uint64_t         partial;         /* that took part */
    uint64_t         bytes;
    int64_t          late_max_ns;     /* worst build time after due */
    uint64_t         late1;           /* builds more than 1 ms late */
} floor_stats_t;

typedef struct {
    floor_mode_e     mode;
    int              ep;
    int              lfd;
    int              tfd;
    uint32_t         max_lag;         /* ms */
    const char      *app;             /* what hello names */
    const char      *stream;

    fixture_t        fx;
    uint8_t         *config;          /* configuration messages, framed */
    size_t           config_len;

    /* the message window: seq s is window[s % FLOOR_WINDOW] for
       head - FLOOR_WINDOW <= s < head */
    floor_msg_t      window[FLOOR_WINDOW];
    uint64_t         head;
    uint64_t         last_key;        /* seq of the newest keyframe */
    uint32_t         head_dts;        /* dts of the newest message */

    floor_viewer_t **viewers;
    size_t           nviewers;
    size_t           cap;

    floor_stats_t    st;
} floor_srv_t;

/* floor.c */
uint64_t floor_real_us(void);
/* sends v what it has to be sent up to message limit (not included) in
   one call; -1: close it */
int floor_flush(floor_srv_t *srv, floor_viewer_t *v, uint64_t limit);

/* floor_conn.c */
int floor_listen(floor_srv_t *srv, const char *host, int port);
/* accepts every pending connection */
void floor_accept(floor_srv_t *srv);
void floor_viewer_event(floor_srv_t *srv, floor_viewer_t *v,
    uint32_t events);
void floor_close(floor_srv_t *srv, floor_viewer_t *v);
/* a text message after v's own bytes still unsent (all of them go before
   message v->seq); -1 out of memory */
int floor_notice(floor_viewer_t *v, const char *text, size_t len);

#endif /* FLOOR_H */
