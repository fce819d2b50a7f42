/*
 * Sans-IO parsers of the LL-HLS load client (load_hls.c): an HTTP/1.1
 * response head, a media playlist fed in pieces (only what the client
 * loop needs: the parts listed, the preload hint, the init segment), the
 * init segment's video track and a streaming fMP4 fragment walker that
 * hands back the first bytes of every sample of a moof + mdat.
 *
 * No allocation, no global state; safe on untrusted input.  Tests:
 * test_hls_parse.c (make -C bench test).
 */
#ifndef HLS_PARSE_H
#define HLS_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define HLS_PL_LINE      256      /* longer playlist lines are skipped */
#define HLS_PL_QUEUE     16       /* new parts kept from one playlist */
#define HLS_MOOF_MAX     4096     /* largest moof the walker takes */
#define HLS_SAMPLES_MAX  128      /* samples of one moof */
#define HLS_SAMPLE_HEAD  192      /* bytes kept of a video sample */


/* ---- HTTP/1.1 response head ---- */

typedef struct {
    unsigned     status;
    int64_t      content_length;  /* -1: none */
    unsigned     close:1;         /* the server closes after the body */
    unsigned     chunked:1;
} hls_http_resp_t;

/*
 * Length of the head at the start of p/n, the blank line included, or 0
 * if p/n does not hold all of it yet.
 */
size_t hls_http_head_end(const char *p, size_t n);

/*
 * p/n: a whole head (status line, headers, blank line).  0 and *r filled,
 * or -1 if the status line or a Content-Length is malformed.
 */
int hls_http_head(const char *p, size_t n, hls_http_resp_t *r);


/* ---- media playlist ---- */

typedef struct {
    uint64_t     msn;
    uint32_t     part;
} hls_part_id_t;

typedef struct {
    /* in: parts at or before `after` are old (not queued) */
    hls_part_id_t  after;
    unsigned       have_after:1;

    /* out */
    unsigned       extm3u:1;      /* the first line was #EXTM3U */
    unsigned       have_last:1;
    unsigned       have_hint:1;
    unsigned       have_map:1;
    hls_part_id_t  last;          /* the last part listed */
    hls_part_id_t  hint;          /* EXT-X-PRELOAD-HINT:TYPE=PART */
    uint32_t       map_gen;       /* EXT-X-MAP URI="init-<gen>.mp4" */
    uint32_t       part_target_ms;
    uint32_t       parts;         /* EXT-X-PART lines */
    uint32_t       bad;           /* EXT-X-PART without a part URI */

    /* the newest HLS_PL_QUEUE new parts, in order: queue[(qfirst + i)
     * % HLS_PL_QUEUE] for i < qlen; older new parts are `dropped` */
    hls_part_id_t  queue[HLS_PL_QUEUE];
    unsigned       qfirst;
    unsigned       qlen;
    unsigned       dropped;

    /* the line being collected */
    char           line[HLS_PL_LINE];
    unsigned       line_len;
    unsigned       line_long:1;
    unsigned       lines;
} hls_pl_t;

/* after: NULL to queue no part (the first playlist) */
void hls_pl_init(hls_pl_t *pl, const hls_part_id_t *after);
void hls_pl_feed(hls_pl_t *pl, const uint8_t *p, size_t n);
/* the body ended: a last line without a line feed counts */
void hls_pl_end(hls_pl_t *pl);

/* "<msn>.<part>.m4s", after the last '/': 0 and *id, or -1 */
int hls_part_uri(const char *p, size_t n, hls_part_id_t *id);
/* a < b */
int hls_part_before(const hls_part_id_t *a, const hls_part_id_t *b);


/* ---- fMP4 ---- */

/*
 * The track_ID of the first track with a 'vide' handler in an init
 * segment (ftyp + moov) p/n: 0, or -1 if there is none or it is
 * malformed.
 */
int hls_mp4_video_track(const uint8_t *p, size_t n, uint32_t *track);

/*
 * A sample of the fragment being walked, once all its bytes went through
 * the walker: video (of video_track, or of any track if that is 0) with
 * its first min(size, HLS_SAMPLE_HEAD) bytes, other tracks with none
 * (head_len 0), in mdat order.
 */
typedef void (*hls_sample_pt)(void *ctx, int video, int key,
    const uint8_t *head, size_t head_len, uint32_t size);

typedef struct {
    uint64_t   off;               /* in the body */
    uint32_t   size;
    uint8_t    video;
    uint8_t    key;
} hls_sample_t;

typedef struct {
    uint32_t       video_track;
    hls_sample_pt  on_sample;
    void          *ctx;

    unsigned       state;
    uint64_t       pos;           /* body bytes walked */
    uint8_t        hdr[16];
    unsigned       hdr_len;
    unsigned       hdr_need;
    uint64_t       box_start;
    uint64_t       box_end;       /* UINT64_MAX: to the end */
    uint64_t       data_start;    /* of the mdat being walked */
    uint32_t       moofs;
    uint32_t       samples_out;   /* samples handed back */
    uint32_t       samples_lost;  /* named by a trun, not in an mdat */

    hls_sample_t   s[HLS_SAMPLES_MAX];
    unsigned       ns;
    unsigned       cur;
    uint8_t        head[HLS_SAMPLE_HEAD];
    unsigned       head_len;

    uint8_t        moof[HLS_MOOF_MAX];
    unsigned       moof_len;
    const char    *error;
} hls_frag_t;

void hls_frag_init(hls_frag_t *f, uint32_t video_track, hls_sample_pt cb,
    void *ctx);
/* 0, or -1 with f->error (a static sentence); then feed no more */
int hls_frag_feed(hls_frag_t *f, const uint8_t *p, size_t n);
/* the body ended: 0, or -1 if it ended inside a box (f->error) */
int hls_frag_end(hls_frag_t *f);

#endif /* HLS_PARSE_H */
