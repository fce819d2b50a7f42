/*
 * rtmp_play: a small sans-IO RTMP *play* client (one per viewer).
 *
 * The caller owns the socket.  It writes whatever rtmp_play_output() hands
 * out (and reports progress with rtmp_play_consumed()), and feeds every byte
 * it reads to rtmp_play_input(), which calls back once per complete RTMP
 * message with only the first `keep` bytes of its payload.  Memory per
 * connection is a few KiB: a small output queue, the handshake buffer (freed
 * after the handshake) and one `keep`-sized buffer per chunk stream in use.
 *
 * Flow: C0+C1 -> S0 S1 S2 -> C2, connect(app, tcUrl) -> _result,
 * createStream -> _result(stream id), play(stream) + SetBufferLength ->
 * onStatus NetStream.Play.Start (rtmp_play_playing() becomes 1).
 * Acknowledgements are sent per the server's window, PingRequest is
 * answered.  An error onStatus (e.g. NetStream.Play.StreamNotFound) or a
 * connect/createStream _error makes rtmp_play_input() return -1 with the
 * text in rtmp_play_error().
 */
#ifndef RTMP_PLAY_H
#define RTMP_PLAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct rtmp_play_s  rtmp_play_t;

/*
 * One complete RTMP message: type (8 audio, 9 video, 18 data, 20 command,
 * ...), timestamp in ms, the first min(total, keep) bytes of the payload in
 * head, and the full payload length.  Called for every message of the
 * message stream (protocol control messages included, after they have been
 * handled internally), so filter on type.  head is only valid during the
 * call; the callback must not destroy rp.
 */
typedef void (*rtmp_play_msg_pt)(void *ctx, unsigned type, uint32_t ts,
    const uint8_t *head, size_t head_len, size_t total_len);

/* NULL on ENOMEM (or absurd arguments); keep e.g. 256 (at least 64 is used
   internally so that command messages can be parsed; commands are decoded
   from a separate buffer of up to 4 KiB regardless of keep). */
rtmp_play_t *rtmp_play_create(const char *tcurl, const char *app,
    const char *stream, size_t keep);
void rtmp_play_destroy(rtmp_play_t *rp);

/* bytes pending to write, *p points at them (valid until the next call) */
size_t rtmp_play_output(rtmp_play_t *rp, const uint8_t **p);
/* n of them were written */
void rtmp_play_consumed(rtmp_play_t *rp, size_t n);

/* 0 ok, -1 protocol error (sticky: later calls return -1 too) */
int rtmp_play_input(rtmp_play_t *rp, const uint8_t *p, size_t n,
    rtmp_play_msg_pt cb, void *ctx);

/* text of the last error ("" if none) */
const char *rtmp_play_error(rtmp_play_t *rp);

/* 1 once NetStream.Play.Start was seen */
int rtmp_play_playing(rtmp_play_t *rp);

/* optional helpers: all bytes fed so far; heap bytes held right now */
uint64_t rtmp_play_bytes_in(rtmp_play_t *rp);
size_t rtmp_play_memory(rtmp_play_t *rp);

#endif /* RTMP_PLAY_H */
