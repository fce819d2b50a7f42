/*
 * Benchmark stamp SEI: the publisher (ws-stream-pub) prepends one SEI NAL
 * unit to every video frame; receivers find it again to measure end-to-end
 * latency and to identify the frame.
 *
 * NAL layout (before emulation prevention):
 *   0x06                      NAL header: nal_unit_type 6 (SEI)
 *   0x05                      payloadType 5 (user_data_unregistered)
 *   0x28                      payloadSize 40
 *   "ngx_ws_stream_bn"        16-byte uuid
 *   u64 wall_us               CLOCK_REALTIME microseconds, big-endian
 *   u32 index                 frame index in the fixture (0..899)
 *   u32 loop                  fixture restarts so far (from 0)
 *   u64 pts_ms                RTMP timestamp + composition offset sent
 *   0x80                      rbsp trailing bits
 * Emulation prevention (00 00 0x -> 00 00 03 0x) is applied to everything
 * after the NAL header byte.
 *
 * No allocation, no global state; safe on untrusted input.
 */

#ifndef BENCH_SEI_H
#define BENCH_SEI_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_SEI_UUID "ngx_ws_stream_bn"
#define BENCH_SEI_PAYLOAD 40
/* Upper bound for the escaped NAL: header + type + size + 41 bytes with at
 * most one emulation prevention byte for every two input bytes. */
#define BENCH_SEI_MAX 72

typedef struct {
    uint64_t wall_us;
    uint32_t index;
    uint32_t loop;
    uint64_t pts_ms;
} bench_stamp_t;

/*
 * Writes the whole SEI NAL unit (header byte included, no length prefix,
 * no start code) to buf. Returns its length, or 0 if size is too small
 * (BENCH_SEI_MAX is always enough).
 */
size_t bench_sei_make(uint8_t *buf, size_t size, const bench_stamp_t *st);

/*
 * p/n: a sequence of NAL units each preceded by a 4-byte big-endian length
 * (the FLV AVC NALU packet body after its 5-byte AVC header). Returns 1 and
 * fills *st when a stamp SEI is found (the first one wins; NALs after it
 * are not examined), 0 when the data is well-formed but holds no stamp,
 * -1 when a length prefix runs past the end before a stamp was found.
 */
int bench_sei_find_avcc(const uint8_t *p, size_t n, bench_stamp_t *st);

/*
 * p/n: Annex-B byte stream (3- or 4-byte start codes), e.g. an H.264 PES
 * payload. Returns 1 and fills *st when a stamp SEI is found, 0 otherwise,
 * -1 if no start code at all is present in non-empty input.
 */
int bench_sei_find_annexb(const uint8_t *p, size_t n, bench_stamp_t *st);

/*
 * Parses one NAL unit (header byte first, still escaped). Returns 1 and
 * fills *st if it is a stamp SEI, 0 otherwise (other NAL types, other
 * UUIDs, truncated or malformed SEI).
 */
int bench_sei_parse_nal(const uint8_t *nal, size_t n, bench_stamp_t *st);

#endif /* BENCH_SEI_H */
