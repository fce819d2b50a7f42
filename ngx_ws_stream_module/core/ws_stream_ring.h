
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The per-stream ring: one writer appends records, any number of readers
 * in any process send from it.  Positions are 64-bit byte counters that
 * only grow; a record never wraps (a pad record fills the end).  The
 * writer publishes head after a record is complete and moves tail before
 * it overwrites; a reader checks tail before and after it uses bytes.
 */


#ifndef _WS_STREAM_RING_H_INCLUDED_
#define _WS_STREAM_RING_H_INCLUDED_


#include "ws_stream_core.h"


#define WS_STREAM_RING_KEYS     64      /* keyframe index entries */
#define WS_STREAM_RING_MIN      4096

/* record types */
#define WS_STREAM_REC_PAD       1
#define WS_STREAM_REC_MEDIA     2       /* media or codec config */
#define WS_STREAM_REC_NOTICE    3       /* text notice (offline...) */

/* ws_stream_ring_read() results besides OK and AGAIN */
#define WS_STREAM_RING_BEHIND   1


typedef struct {
    uint32_t         size;          /* the whole record, multiple of 8 */
    uint8_t          type;          /* WS_STREAM_REC_* */
    uint8_t          kind;          /* media: track | KEY | CONFIG */
    uint16_t         reserved;
    uint32_t         len;           /* bytes of the frame that follows */
    uint32_t         dts;
    uint64_t         ingest;        /* wall clock, ms */
    uint64_t         seq;           /* record number in this ring */
} ws_stream_rec_t;


typedef struct {
    uint64_t         head;          /* end of the newest record */
    uint64_t         tail;          /* start of the oldest intact record */
    uint64_t         size;          /* bytes at data, multiple of 8 */
    uint64_t         margin;        /* readers closer than this to being
                                       overwritten count as behind */
    uint64_t         seq;           /* records committed */
    uint64_t         nkeys;         /* sync points committed */
    uint64_t         keys[WS_STREAM_RING_KEYS];
    uint64_t         key_seq[WS_STREAM_RING_KEYS];

    /* the writer's pending record */
    uint64_t         wpos;
    uint64_t         wneed;
    uint64_t         wlen;

    uint8_t         *data;
} ws_stream_ring_t;


/* where a reader is and what it has seen */
typedef struct {
    uint64_t         pos;
    uint64_t         seq;           /* of the record at pos, or
                                       WS_STREAM_SEQ_UNKNOWN */
} ws_stream_cursor_t;


#define WS_STREAM_SEQ_UNKNOWN   UINT64_MAX


/* size is rounded down to a multiple of 8 */
void ws_stream_ring_init(ws_stream_ring_t *ring, uint8_t *data,
    size_t size);

/* the largest frame a ring of this size takes */
size_t ws_stream_ring_max_frame(ws_stream_ring_t *ring);

/*
 * Writer: makes room for a frame of len bytes (moving tail past the
 * records it will overwrite) and returns where to write the frame, or
 * NULL if len is larger than ws_stream_ring_max_frame().
 */
uint8_t *ws_stream_ring_reserve(ws_stream_ring_t *ring, size_t len);

/*
 * Writer: completes the reserved record and publishes it.  A sync point
 * is where a new reader may start (a video keyframe, or any audio frame
 * of a stream without video).
 */
void ws_stream_ring_commit(ws_stream_ring_t *ring, unsigned type,
    unsigned kind, uint32_t dts, uint64_t ingest, int sync);

/*
 * Reader: the newest sync point that is not about to be overwritten, or
 * head if there is none; returns 1 when it is a sync point, 0 for head.
 */
int ws_stream_ring_start(ws_stream_ring_t *ring,
    ws_stream_cursor_t *cur);

/*
 * Reader: the oldest sync point still safe to read whose record's dts is
 * at or after dts (32-bit, modulo 2^32: a half range either side), for a
 * reader that moves here from another ring on the same timeline; 0 if
 * there is none yet.
 */
int ws_stream_ring_key_at(ws_stream_ring_t *ring, uint32_t dts,
    ws_stream_cursor_t *cur);

/*
 * Reader: the record at cur->pos.  WS_STREAM_OK: *rec is a copy of its
 * header, *frame points at its frame in the ring and cur->pos/seq are NOT
 * moved (call ws_stream_ring_next() once the frame is used);
 * WS_STREAM_AGAIN: nothing new; WS_STREAM_RING_BEHIND: the reader
 * lost or is about to lose data and must restart from
 * ws_stream_ring_start().
 */
int ws_stream_ring_read(ws_stream_ring_t *ring,
    ws_stream_cursor_t *cur, ws_stream_rec_t *rec,
    const uint8_t **frame);

void ws_stream_ring_next(ws_stream_cursor_t *cur,
    ws_stream_rec_t *rec);

/*
 * Reader: whether bytes from pos on were left untouched up to now; call
 * after using bytes that ws_stream_ring_read() pointed at.
 */
int ws_stream_ring_intact(ws_stream_ring_t *ring, uint64_t pos);

uint64_t ws_stream_ring_head(ws_stream_ring_t *ring);


#endif /* _WS_STREAM_RING_H_INCLUDED_ */
