
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * RFC 6455 framing: server frame headers and an incremental parser of
 * client frames (masking, fragmentation, control frames, size limit).
 */


#ifndef _WS_STREAM_WS_H_INCLUDED_
#define _WS_STREAM_WS_H_INCLUDED_


#include "ws_stream_core.h"


#define WS_STREAM_WS_CONT       0x0
#define WS_STREAM_WS_TEXT       0x1
#define WS_STREAM_WS_BINARY     0x2
#define WS_STREAM_WS_CLOSE      0x8
#define WS_STREAM_WS_PING       0x9
#define WS_STREAM_WS_PONG       0xa

#define WS_STREAM_WS_MAX_HDR    10

/* close codes */
#define WS_STREAM_CLOSE_NORMAL      1000
#define WS_STREAM_CLOSE_GOING_AWAY  1001
#define WS_STREAM_CLOSE_PROTOCOL    1002
#define WS_STREAM_CLOSE_DATA        1003
#define WS_STREAM_CLOSE_INVALID     1007
#define WS_STREAM_CLOSE_POLICY      1008
#define WS_STREAM_CLOSE_TOO_BIG     1009
#define WS_STREAM_CLOSE_INTERNAL    1011

/* parser result: a complete message is available */
#define WS_STREAM_WS_MESSAGE    1


/*
 * Writes an unmasked server frame header with FIN set into buf (at least
 * WS_STREAM_WS_MAX_HDR bytes); returns its length: 2, 4 or 10.
 */
size_t ws_stream_ws_header(uint8_t *buf, unsigned opcode, uint64_t len);


typedef struct {
    /* set by the caller before use */
    uint8_t         *buf;           /* data message assembly buffer */
    size_t           max;           /* its size: the maximum message */

    /* parser state, private */
    unsigned         state;
    uint8_t          hdr[14];
    size_t           hdr_len;
    size_t           hdr_need;
    unsigned         opcode;        /* of the frame being read */
    unsigned         fin;
    uint64_t         frame_len;
    uint64_t         frame_got;
    uint8_t          mask[4];
    unsigned         msg_opcode;    /* TEXT/BINARY of a fragmented message,
                                       0 when none is open */
    size_t           msg_len;       /* bytes in buf */
    uint8_t          ctl[125];      /* control frame payload */
    size_t           ctl_len;
    unsigned         utf8_state;    /* incremental UTF-8 check of text */

    /* set on WS_STREAM_ERROR */
    unsigned         close_code;    /* 1002, 1007 or 1009 */
    const char      *error;         /* short static sentence */
} ws_stream_ws_parser_t;


typedef struct {
    unsigned         opcode;        /* TEXT, BINARY, CLOSE, PING, PONG */
    const uint8_t   *data;          /* unmasked payload */
    size_t           len;
    unsigned         close_code;    /* CLOSE: code sent, 1005 if none */
} ws_stream_ws_msg_t;


/*
 * Sets the private state to the start of a frame; keeps buf and max.
 */
void ws_stream_ws_parser_init(ws_stream_ws_parser_t *p);

/*
 * 1 between messages (no frame begun, no fragmented message open): buf
 * holds nothing and may be released until the next call.
 */
int ws_stream_ws_parser_idle(const ws_stream_ws_parser_t *p);

/*
 * Consumes bytes from *pos up to last.  Returns:
 *   WS_STREAM_WS_MESSAGE  a complete message in *msg (valid until the
 *                             next call); *pos points past what was used;
 *   WS_STREAM_AGAIN       all bytes consumed, need more;
 *   WS_STREAM_ERROR       protocol violation: p->close_code, p->error.
 * Violations: unmasked frame (1002), reserved bits or opcodes (1002),
 * fragmented or over-125-byte control frame (1002), continuation without
 * a start or a new data frame inside a fragmented message (1002),
 * non-minimal length encoding or 64-bit length with the top bit set
 * (1002), a data message larger than max (1009), text that is not UTF-8
 * (1007), close frame with a 1-byte payload, an invalid code or a reason
 * that is not UTF-8 (1002/1007).
 */
int ws_stream_ws_parse(ws_stream_ws_parser_t *p, const uint8_t **pos,
    const uint8_t *last, ws_stream_ws_msg_t *msg);

/*
 * Whether a Sec-WebSocket-Protocol header value (comma separated tokens,
 * optional white space) offers the protocol "want".
 */
int ws_stream_ws_offers(const uint8_t *value, size_t len,
    const char *want);

/* 1 if the bytes are valid UTF-8 (no overlongs, no surrogates) */
int ws_stream_ws_utf8(const uint8_t *p, size_t len);


#endif /* _WS_STREAM_WS_H_INCLUDED_ */
