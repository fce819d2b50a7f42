/*
 * rtmp_play internals shared by its two source files; not for callers.
 *
 * rtmp_play.c      handshake, chunk stream reader, output queue and chunk
 *                  writer, protocol control messages, the public API
 * rtmp_play_amf.c  AMF0 encoding/decoding and the NetConnection/NetStream
 *                  commands: connect, createStream, play out; _result,
 *                  _error, onStatus in
 */
#ifndef RTMP_PLAY_INT_H
#define RTMP_PLAY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "rtmp_play.h"
#include "ws_stream_core.h"    /* nginx-free byte helpers */

#define RP_HS_SIZE      1536
#define RP_MAX_CS       10          /* chunk streams tracked at once */
#define RP_MIN_KEEP     64          /* enough for any control message */
#define RP_CMD_MAX      4096        /* command messages kept up to this */
#define RP_OUT_MAX      65536       /* unsent output allowed to pile up */
#define RP_OUT_CHUNK    128         /* our chunk size (never changed) */
#define RP_MAX_STR      2048        /* tcUrl, app, stream name */
#define RP_BUFFER_MS    1000        /* SetBufferLength value */

enum {
    RP_ST_S0 = 0,
    RP_ST_S1,
    RP_ST_S2,
    RP_ST_HDR,
    RP_ST_BODY,
    RP_ST_ERR
};

enum {
    RP_PH_CONNECT = 0,      /* connect sent, waiting for _result */
    RP_PH_CREATE,           /* createStream sent */
    RP_PH_PLAY,             /* play sent */
    RP_PH_PLAYING
};

typedef struct {
    uint32_t    csid;       /* 0: free slot */
    uint32_t    ts;         /* timestamp of the current/last message */
    uint32_t    delta;      /* last timestamp field (delta, abs for fmt 0) */
    uint32_t    len;        /* message length */
    uint32_t    msid;
    uint32_t    got;        /* payload bytes received of current message */
    uint32_t    cap;        /* size of buf */
    uint32_t    used;       /* rp->clock when a header last arrived */
    uint8_t     type;
    uint8_t     ext;        /* last fmt 0..2 header had extended ts */
    uint8_t     active;     /* a message is in progress */
    uint8_t     seen;       /* a header was seen on this chunk stream */
    uint8_t    *buf;        /* first bytes of the message in progress */
} rp_cs_t;

struct rtmp_play_s {
    int         state;
    int         phase;
    int         playing;
    size_t      keep;       /* caller's keep */
    size_t      ikeep;      /* max(keep, RP_MIN_KEEP) */

    uint32_t    hs_got;     /* bytes of the current handshake part */

    uint8_t     hdr[20];    /* chunk header being assembled */
    uint32_t    hdr_len;
    rp_cs_t    *cur;        /* chunk stream of the chunk being read */
    uint32_t    chunk_left; /* payload bytes left in the current chunk */

    uint32_t    in_chunk;   /* server's chunk size */
    uint32_t    ack_window; /* server's window acknowledgement size */
    uint64_t    bytes_in;
    uint64_t    last_ack;
    uint32_t    stream_id;
    uint32_t    clock;

    rp_cs_t     cs[RP_MAX_CS];

    uint8_t    *out;
    size_t      out_pos;
    size_t      out_len;
    size_t      out_cap;

    uint64_t    rnd;

    char        err[192];

    char       *tcurl;
    char       *app;
    char       *stream;
};


/* rtmp_play.c */

/* keeps the text in rp->err and makes the error sticky (RP_ST_ERR) */
void rp_fail(rtmp_play_t *rp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* queue one message as chunks of RP_OUT_CHUNK; -1 (and rp_fail) on
   overflow or ENOMEM */
int rp_send(rtmp_play_t *rp, uint32_t csid, uint8_t type, uint32_t msid,
    const uint8_t *pl, size_t len);

/* rtmp_play_amf.c */

/* queue the connect command (after the handshake) */
int rp_send_connect(rtmp_play_t *rp);
/* an AMF0 command message (the first n bytes of it; complete: n is all of
   it): drives connect -> createStream -> play; -1 on error/refusal */
int rp_on_command(rtmp_play_t *rp, const uint8_t *p, size_t n, int complete);

#endif /* RTMP_PLAY_INT_H */
