/*
 * ws-stream-load: shared definitions of the epoll load client.
 *
 * load.c        options, threads, event loops, timeline
 * load_stats.c  per-message accounting, histogram, server process
 *               sampling, merge of the statistics, human and JSON report
 * load_ws.c     WebSocket client: protocol v1 of ngx_ws_stream (--mode ws)
 *               and FLV over WebSocket as node-media-server serves it
 *               (--mode flv)
 * load_rtmp.c   RTMP play through rtmp_play.c (--mode rtmp)
 * load_hls.c    LL-HLS client of ngx_ws_stream (--mode hls), parsers in
 *               hls_parse.c
 *
 * One connection keeps only a few hundred bytes of state: the first
 * LOAD_HEAD bytes of the message (or FLV tag) being received, and counts
 * the rest.
 */
#ifndef LOAD_H
#define LOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <netinet/in.h>

#include "rtmp_play.h"

#define LOAD_HEAD        192      /* bytes kept of each message / tag */
#define LOAD_OUT         320      /* pending output of one ws connection */
#define LOAD_CTRL        125      /* ws control frame payload */
#define LOAD_HS_MAX      4096     /* HTTP response header limit */
#define LOAD_HS_TIMEOUT  10000000 /* us from connect() to "connected" */

#define LOAD_HIST_BUCKETS  4096

typedef enum {
    LOAD_MODE_WS = 0,
    LOAD_MODE_FLV,
    LOAD_MODE_RTMP,
    LOAD_MODE_HLS
} load_mode_e;

/* LL-HLS requests and the statuses of their answers */
typedef enum {
    LOAD_HLS_PLAYLIST = 0,        /* media playlist, blocking or not */
    LOAD_HLS_INIT,                /* init segment */
    LOAD_HLS_PART,
    LOAD_HLS_REQ_N
} load_hls_req_e;

typedef enum {
    LOAD_HLS_200 = 0,
    LOAD_HLS_400,
    LOAD_HLS_404,
    LOAD_HLS_503,
    LOAD_HLS_OTHER,
    LOAD_HLS_ST_N
} load_hls_status_e;

typedef enum {
    LOAD_ERR_CONNECT = 0,         /* socket()/connect() failed */
    LOAD_ERR_HANDSHAKE,           /* HTTP upgrade / RTMP play refused */
    LOAD_ERR_TIMEOUT,             /* not connected in time */
    LOAD_ERR_CLOSED,              /* closed by the server once connected */
    LOAD_ERR_PROTOCOL,            /* malformed data from the server */
    LOAD_ERR_N
} load_err_e;

typedef enum {
    LOAD_PHASE_CONNECT = 0,       /* connecting at --rate */
    LOAD_PHASE_CUTOFF,            /* connect time over: fail stragglers */
    LOAD_PHASE_WARMUP,
    LOAD_PHASE_MEASURE,
    LOAD_PHASE_DONE
} load_phase_e;

typedef enum {
    CS_IDLE = 0,                  /* not started yet */
    CS_CONNECTING,                /* connect() in progress */
    CS_HANDSHAKE,                 /* HTTP upgrade / RTMP play under way */
    CS_OPEN,                      /* connected, receiving */
    CS_DEAD                       /* failed or closed */
} conn_state_e;

/* log-linear histogram: exact below 256, then 128 sub-buckets per octave */
typedef struct {
    uint64_t  b[LOAD_HIST_BUCKETS];
    uint64_t  count;
    uint64_t  max;
    double    sum;
} load_hist_t;

typedef struct load_thread_s  load_thread_t;

typedef struct {
    int             fd;
    uint8_t         state;        /* conn_state_e */
    uint8_t         ws_hdr_len;   /* ws frame header bytes collected */
    uint8_t         ws_opcode;    /* opcode of the current frame */
    uint8_t         ws_fin;
    uint8_t         msg_opcode;   /* opcode of the message being received */
    uint8_t         ctrl_len;
    uint8_t         flv_state;
    uint8_t         flv_hlen;     /* FLV header / tag header bytes */
    uint8_t         want_out;     /* EPOLLOUT registered */
    uint8_t         counted_key;  /* first keyframe seen */
    uint16_t        out_len;
    uint16_t        head_len;
    uint32_t        ws_hdr_need;
    uint64_t        ws_left;      /* payload bytes left in current frame */
    uint64_t        msg_len;      /* bytes of the current message so far */
    uint32_t        flv_left;     /* bytes left in the current FLV part */
    uint32_t        flv_size;     /* FLV tag body size */
    uint8_t         flv_type;

    uint8_t         ws_hdr[14];
    uint8_t         flv_hdr[11];
    uint8_t         ctrl[LOAD_CTRL];
    uint8_t         head[LOAD_HEAD];
    uint8_t        *out;          /* LOAD_OUT bytes, ws modes only */
    char           *hs;           /* handshake buffer, freed when open */
    uint16_t        hs_len;
    rtmp_play_t    *rp;           /* rtmp mode */
    struct load_hls_s  *hls;      /* hls mode */

    uint64_t        t_connect_us; /* monotonic, connect() called */
    int64_t         first_key_us; /* connect() to first keyframe, -1 */
    uint64_t        report_due_us;  /* ws: monotonic, next `report` */
    uint32_t        delay_ms;     /* ws: ingest delay of the newest message */

    /* in-window counters of this viewer */
    uint64_t        bytes;
    uint64_t        msgs;
    uint64_t        vframes;
    uint64_t        lost;
    uint64_t        last_seq;     /* loop * 900 + index + 1, 0 = none */
} load_conn_t;

typedef struct {
    uint64_t        connected;
    uint64_t        failed;
    uint64_t        errors[LOAD_ERR_N];
    uint64_t        bytes;        /* in window */
    uint64_t        msgs;
    uint64_t        vframes;
    uint64_t        keyframes;
    uint64_t        stamped;      /* video frames with a stamp */
    uint64_t        skips;        /* ws `skipped` notices */
    uint64_t        skipped_frames;
    uint64_t        skipped_bytes;
    uint64_t        offline;      /* ws `offline` notices (whole run) */
    uint64_t        online;
    uint64_t        pongs_dropped;
    uint64_t        reports;      /* ws `report` messages sent, window */
    uint64_t        reports_dropped;  /* no room in the output buffer */
    load_hist_t     sei_us;
    load_hist_t     ingest_ms;

    /* hls mode */
    uint64_t        hls_req[LOAD_HLS_REQ_N];     /* answered, window */
    uint64_t        hls_status[LOAD_HLS_ST_N];   /* answers, whole run */
    uint64_t        hls_parts;    /* parts received, window */
    uint64_t        hls_skipped;  /* new parts not fetched, window */
    uint64_t        hls_odd;      /* playlist oddities, whole run */
    load_hist_t     hls_listed_us;  /* stamped frame: listed - sent */
    load_hist_t     hls_hold_us;    /* blocking playlist: sent - answered */
} load_stats_t;

struct load_thread_s {
    int             id;
    int             ep;
    load_conn_t    *conns;
    size_t          nconns;
    size_t          started;      /* connections started so far */
    double          rate;         /* connects per second of this thread */
    uint8_t        *rbuf;
    size_t          rbuf_size;
    uint64_t        now_us;       /* CLOCK_REALTIME at the last read */
    uint64_t        now_mono_us;
    int             measuring;    /* phase == MEASURE at the last check */
    load_stats_t    st;
    char            first_err[LOAD_ERR_N][160];
    uint64_t        first_err_us[LOAD_ERR_N];   /* monotonic */
    char            hls_first_status[160];      /* first answer not 200 */
    char            hls_first_odd[160];
};

/* options and shared state (load.c) */
typedef struct {
    load_mode_e     mode;
    const char     *url;
    struct sockaddr_in addr;
    char            host[256];    /* Host header */
    char            path[1024];   /* ws: request target */
    char            tcurl[1024];  /* rtmp */
    char            app[512];
    char            stream[512];
    const char     *user_agent;   /* ws, flv: User-Agent header, or NULL */
    uint64_t        report_us;    /* ws: `report` interval, 0 = none */
} load_target_t;

extern load_target_t  load_target;

/* a server process named with --pids, sampled over the window */
typedef struct {
    int             pid;
    int             ok;
    uint64_t        ticks0;
    uint64_t        ticks1;
    uint64_t        rss_kb;
} load_pid_t;

/* a finished run, as load.c hands it to load_report() (load_stats.c) */
typedef struct {
    const char     *label;
    load_mode_e     mode;
    const char     *url;
    int             threads;
    long            viewers;
    int             json;
    load_thread_t  *th;           /* threads[threads], joined */
    load_conn_t    *conns;        /* conns[viewers] */
    load_pid_t     *pids;
    int             npids;
    uint64_t        start_mono;   /* monotonic us: connecting began */
    uint64_t        t_conn_done;  /* every viewer connected or failed */
    uint64_t        t_w0;         /* the measured window */
    uint64_t        t_w1;
    uint64_t        cpu0;         /* our CPU time (us) at t_w0, t_w1 */
    uint64_t        cpu1;
} load_run_t;

/* load_stats.c */

/*
 * One media unit received in full (ws media message, FLV tag, RTMP
 * message): kind 8 audio, 9 video, 18 data; body = the FLV tag body (head
 * bytes of it), body_len its full length.
 */
void load_media(load_thread_t *t, load_conn_t *c, unsigned type,
    const uint8_t *body, size_t body_len, size_t total_len);

void load_hist_add(load_hist_t *h, uint64_t v);
/* utime + stime of /proc/PID/stat in clock ticks; 0 ok, -1 unreadable */
int load_proc_ticks(int pid, uint64_t *ticks);
/* VmRSS of /proc/PID/status in kB; 0 ok, -1 unreadable */
int load_proc_rss(int pid, uint64_t *kb);
/* CPU time (user + system) of this process, us */
uint64_t load_self_cpu_us(void);
/* human table to stderr, JSON line to stdout if run->json; *connected =
   viewers that connected; -1 if out of memory (after a message) */
int load_report(const load_run_t *run, uint64_t *connected);

/* load.c */
uint64_t load_mono_us(void);
uint64_t load_real_us(void);

/* marks the connection dead, counts the error (kind), keeps its text */
void load_fail(load_thread_t *t, load_conn_t *c, load_err_e kind,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* connection reached "connected" (101 received, RTMP playing) */
void load_connected(load_thread_t *t, load_conn_t *c);
/* re-arm epoll for c if EPOLLOUT is to be added or dropped (want_out) */
int load_arm(load_thread_t *t, load_conn_t *c, int want_out);
/* write to c's socket: bytes written, 0 if it would block, -1 after
   load_fail() */
ssize_t load_write(load_thread_t *t, load_conn_t *c, const uint8_t *p,
    size_t n);

/* mode modules */
int load_ws_start(load_thread_t *t, load_conn_t *c);      /* after connect */
int load_ws_read(load_thread_t *t, load_conn_t *c, const uint8_t *p,
    size_t n);
int load_ws_write(load_thread_t *t, load_conn_t *c);
/* every 50 ms (--report-interval; else 250 ms) for an open connection:
   client reports */
void load_ws_tick(load_thread_t *t, load_conn_t *c, uint64_t now_mono);
void load_ws_free(load_conn_t *c);

int load_rtmp_start(load_thread_t *t, load_conn_t *c);
int load_rtmp_read(load_thread_t *t, load_conn_t *c, const uint8_t *p,
    size_t n);
int load_rtmp_write(load_thread_t *t, load_conn_t *c);
void load_rtmp_free(load_conn_t *c);

int load_hls_start(load_thread_t *t, load_conn_t *c);
int load_hls_read(load_thread_t *t, load_conn_t *c, const uint8_t *p,
    size_t n);
int load_hls_write(load_thread_t *t, load_conn_t *c);
/* every 250 ms for an open connection: retries and request timeouts */
void load_hls_tick(load_thread_t *t, load_conn_t *c, uint64_t now_mono);
void load_hls_free(load_conn_t *c);

#endif /* LOAD_H */
