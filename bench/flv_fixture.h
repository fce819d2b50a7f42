/*
 * The benchmark fixture as its senders use it: the whole FLV file in
 * memory, split into tags, with the headers found and the loop length
 * worked out; which tags a loop sends, and the stamp SEI put into an AVC
 * frame.  Shared by ws-stream-pub (pub.c, over RTMP) and ws-stream-floor
 * (floor.c, straight to WebSocket viewers), so that both send the same
 * message sequence at the same times with the same stamps.
 *
 * A loop sends every audio and video tag but the sequence headers, at
 * start + loop * duration + tag timestamp; audio past the video span is
 * left out (it would overlap the next loop).  Every AVC NALU packet gets
 * the stamp SEI (sei.h) as its first NAL unit.
 *
 * Also what both senders run on: the clocks, and the signals that stop
 * them (SIGINT, SIGTERM) or would kill them on a closed socket (SIGPIPE).
 */

#ifndef FLV_FIXTURE_H
#define FLV_FIXTURE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include "sei.h"

#define FLV_AUDIO 8
#define FLV_VIDEO 9
#define FLV_SCRIPT 18

/* bytes the stamp adds to an AVC frame at the most: length prefix + NAL */
#define FIXTURE_STAMP_MAX (4 + BENCH_SEI_MAX)

typedef struct {
    uint8_t type;
    uint32_t ts;
    uint32_t len;
    size_t off;                 /* of the body in fixture_t.data */
} fixture_tag_t;

typedef struct {
    uint8_t *data;
    size_t size;
    fixture_tag_t *tags;
    size_t ntags;
    ssize_t meta, avc_seq, aac_seq;
    uint32_t duration;          /* ms, one loop */
    uint32_t frames;            /* AVC NALU packets per loop */
    uint32_t max_len;
} fixture_t;

/*
 * Reads and splits the file; fx must be zeroed.  Errors go to stderr
 * after "prog: ".  0 ok, -1 on error (fixture_free() frees what was
 * taken).
 */
int fixture_load(const char *prog, const char *path, fixture_t *fx);
void fixture_free(fixture_t *fx);

/* 1 if tag i is sent in every loop (audio or video, not a header) */
int fixture_sendable(const fixture_t *fx, size_t i);

/* 1 if the tag is an AVC NALU packet: it gets a stamp */
int fixture_is_frame(const fixture_tag_t *t, const uint8_t *body);

/* composition time offset of an AVC packet, ms */
int32_t fixture_cts(const uint8_t *body);

/*
 * The frame's body with the stamp st as its first NAL unit, into dst
 * (room for len + FIXTURE_STAMP_MAX bytes); returns its length.
 */
size_t fixture_stamp(uint8_t *dst, const uint8_t *body, uint32_t len,
    const bench_stamp_t *st);

/* set by SIGINT and SIGTERM once fixture_signals() ran */
extern volatile sig_atomic_t fixture_stop;

/* SIGINT, SIGTERM set fixture_stop; SIGPIPE ignored; 0, or -1 after a
   message */
int fixture_signals(const char *prog);

/* clk in ns; exits after a message if the clock cannot be read */
int64_t fixture_clock_ns(const char *prog, clockid_t clk);

#endif /* FLV_FIXTURE_H */
