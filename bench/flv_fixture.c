/*
 * The benchmark fixture: loading, splitting, the loop's tags and the
 * stamp, the senders' clocks and signals; see flv_fixture.h.  Moved out
 * of pub.c unchanged but for the program name in the messages.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ws_stream_core.h"
#include "flv_fixture.h"

volatile sig_atomic_t fixture_stop;

static void
on_signal(int sig)
{
    (void) sig;
    fixture_stop = 1;
}

int
fixture_signals(const char *prog)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0
        || sigaction(SIGTERM, &sa, NULL) != 0)
    {
        fprintf(stderr, "%s: sigaction: %s\n", prog, strerror(errno));
        return -1;
    }
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0) {
        fprintf(stderr, "%s: sigaction: %s\n", prog, strerror(errno));
        return -1;
    }
    return 0;
}

int64_t
fixture_clock_ns(const char *prog, clockid_t clk)
{
    struct timespec ts;

    if (clock_gettime(clk, &ts) != 0) {
        fprintf(stderr, "%s: clock_gettime: %s\n", prog, strerror(errno));
        exit(1);
    }
    return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
load_file(const char *prog, const char *path, fixture_t *fx)
{
    FILE *f;
    struct stat st;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) != 0 || st.st_size <= 0) {
        fprintf(stderr, "%s: %s: cannot stat or empty\n", prog, path);
        fclose(f);
        return -1;
    }
    fx->size = (size_t) st.st_size;
    fx->data = malloc(fx->size);
    if (fx->data == NULL) {
        fprintf(stderr, "%s: out of memory (%zu bytes)\n", prog, fx->size);
        fclose(f);
        return -1;
    }
    if (fread(fx->data, 1, fx->size, f) != fx->size) {
        fprintf(stderr, "%s: %s: short read\n", prog, path);
        fclose(f);
        return -1;
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Splits the file into tags and finds the headers and the loop length. */
static int
parse_flv(const char *prog, const char *path, fixture_t *fx)
{
    const uint8_t *p = fx->data;
    size_t pos, cap = 0, hdr;
    uint32_t len, first_v = 0, last_v = 0;
    fixture_tag_t *t;

    if (fx->size < 13 || memcmp(p, "FLV", 3) != 0) {
        fprintf(stderr, "%s: %s: not an FLV file\n", prog, path);
        return -1;
    }
    hdr = ((size_t) p[5] << 24) | ((size_t) p[6] << 16)
          | ((size_t) p[7] << 8) | p[8];
    if (hdr < 9 || hdr + 4 > fx->size) {
        fprintf(stderr, "%s: %s: bad FLV header\n", prog, path);
        return -1;
    }
    fx->meta = fx->avc_seq = fx->aac_seq = -1;
    pos = hdr + 4;
    while (pos + 11 <= fx->size) {
        len = ws_stream_rb24(p + pos + 1);
        if (len > fx->size - pos - 11) {
            fprintf(stderr, "%s: %s: truncated tag at %zu, "
                    "ignoring the rest\n", prog, path, pos);
            break;
        }
        if (fx->ntags == cap) {
            cap = cap ? cap * 2 : 4096;
            t = realloc(fx->tags, cap * sizeof(fixture_tag_t));
            if (t == NULL) {
                fprintf(stderr, "%s: out of memory\n", prog);
                return -1;
            }
            fx->tags = t;
        }
        t = &fx->tags[fx->ntags];
        t->type = p[pos] & 0x1F;
        t->ts = ws_stream_rb24(p + pos + 4) | ((uint32_t) p[pos + 7] << 24);
        t->len = len;
        t->off = pos + 11;
        pos += 11 + (size_t) len + 4;

        if (t->type == FLV_SCRIPT && len > 13 && p[t->off] == 0x02
            && memcmp(p + t->off + 3, "onMetaData", 10) == 0)
        {
            if (fx->meta < 0) {
                fx->meta = (ssize_t) fx->ntags;
            }
        } else if (t->type == FLV_VIDEO && len >= 5
                   && (p[t->off] & 0x0F) == 7)
        {
            if (p[t->off + 1] == 0) {
                if (fx->avc_seq < 0) {
                    fx->avc_seq = (ssize_t) fx->ntags;
                }
            } else if (p[t->off + 1] == 1) {
                if (fx->frames == 0) {
                    first_v = t->ts;
                }
                last_v = t->ts;
                fx->frames++;
            }
        } else if (t->type == FLV_AUDIO && len >= 2
                   && (p[t->off] >> 4) == 10 && p[t->off + 1] == 0)
        {
            if (fx->aac_seq < 0) {
                fx->aac_seq = (ssize_t) fx->ntags;
            }
        }
        if (len > fx->max_len) {
            fx->max_len = len;
        }
        fx->ntags++;
    }
    if (fx->frames < 2 || fx->avc_seq < 0) {
        fprintf(stderr, "%s: %s: needs H.264 video with a "
                "sequence header and at least 2 frames\n", prog, path);
        return -1;
    }
    /* one loop = video span plus one mean frame interval */
    fx->duration = (last_v - first_v)
                   + (last_v - first_v + (fx->frames - 1) / 2)
                     / (fx->frames - 1);
    return 0;
}

int
fixture_load(const char *prog, const char *path, fixture_t *fx)
{
    if (load_file(prog, path, fx) != 0) {
        return -1;
    }
    return parse_flv(prog, path, fx);
}

void
fixture_free(fixture_t *fx)
{
    free(fx->tags);
    free(fx->data);
    fx->tags = NULL;
    fx->data = NULL;
}

int
fixture_sendable(const fixture_t *fx, size_t i)
{
    const fixture_tag_t *t = &fx->tags[i];

    if ((ssize_t) i == fx->meta || (ssize_t) i == fx->avc_seq
        || (ssize_t) i == fx->aac_seq
        || (t->type != FLV_AUDIO && t->type != FLV_VIDEO))
    {
        return 0;
    }
    /* audio past the video span would overlap the next loop */
    return !(t->type == FLV_AUDIO && t->ts >= fx->duration);
}

int
fixture_is_frame(const fixture_tag_t *t, const uint8_t *body)
{
    return t->type == FLV_VIDEO && t->len >= 5 && (body[0] & 0x0F) == 7
           && body[1] == 1;
}

int32_t
fixture_cts(const uint8_t *body)
{
    int32_t cts;

    cts = (int32_t) ws_stream_rb24(body + 2);
    if (cts & 0x800000) {
        cts -= 0x1000000;
    }
    return cts;
}

size_t
fixture_stamp(uint8_t *dst, const uint8_t *body, uint32_t len,
    const bench_stamp_t *st)
{
    size_t seilen;

    memcpy(dst, body, 5);
    seilen = bench_sei_make(dst + 9, BENCH_SEI_MAX, st);
    dst[5] = 0;
    dst[6] = 0;
    dst[7] = (uint8_t) (seilen >> 8);
    dst[8] = (uint8_t) seilen;
    memcpy(dst + 9 + seilen, body + 5, len - 5);
    return len + 4 + seilen;
}
