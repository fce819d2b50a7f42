
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Low-Latency HLS (draft-pantos-hls-rfc8216bis) without nginx: where
 * parts and segments are cut, the index of what was cut, lookups,
 * playlist request arguments and URIs, blocking reload decisions.
 *
 * Memory.  ws_stream_hls_t lives in shared memory: one process (the
 * publisher's worker) writes it, every worker reads it without a lock.
 * It is a plain struct of fixed arrays without pointers: the bytes of a
 * part are named by an opaque 64-bit handle the glue gives (an offset in
 * its zone).  Every change the writer makes is one seqlock section
 * (version odd while writing, release/acquire fences); a reader copies
 * what it needs and checks that version did not move, else copies again.
 * Entries also carry their own id (msn + 1, part number + 1) which the
 * copy must show.  Handles are handed back by ws_stream_hls_expire()
 * only after the index published that they are gone, so a reader that
 * copied a handle calls ws_stream_hls_intact() after it used the bytes:
 * 0 means they may have been freed and reused meanwhile.
 *
 * Numbers.  Media sequence numbers start at 0 (the value the spec
 * assumes without EXT-X-MEDIA-SEQUENCE) and only grow, also across
 * discontinuities.  Part n is the n-th part of its segment, from 0.
 * A part has a global number too (0, 1, 2... since init).  Times are ms
 * on the output timeline: input RTMP dts are 32-bit ms, unwrapped to 64
 * bits, and shifted at each discontinuity so that the new media starts
 * where the old ended: the timeline never jumps.
 *
 * Caps.  WS_STREAM_HLS_SEGS segments and WS_STREAM_HLS_PARTS parts.  The
 * spec (RFC 8216 6.2.2, kept in rfc8216bis) wants a segment removed from
 * the playlist to stay available for its duration plus the duration of
 * the longest playlist that held it, more than 3 target durations: so a
 * segment leaves the playlist when the window slides past it and is
 * expired once the timeline grew by its duration + the longest
 * playlist so far after it left.  The index then holds about 2 windows:
 * with the default 2 s segments, 200 ms parts and a window of 7 it
 * needs at most 21 segments and 336 parts; 64 and 1024 (62 KB in all)
 * also take a window of 20, or 6 s segments with 200 ms parts.
 * ws_stream_hls_check() says whether a configuration fits.  Should a
 * stream still outgrow them (parts far below the target), the oldest
 * segment is expired early and counted in h->early.
 *
 * Use.  Writer: ws_stream_hls_check() at configuration, _init() once,
 * then per frame _cut(); on PART/SEGMENT mux the frames so far (their
 * end: _part_end()), _commit(), then _expire() until 0, freeing what it
 * returns; then mux-buffer the frame (its dts: _dts()).  A publisher
 * restart or codec change: _discontinuity() (and commit if it says so).
 * Readers: _head() + _block() for playlist requests, _snapshot() for
 * the playlist text, _part()/_segment() for media, _intact() after.
 */


#ifndef _WS_STREAM_HLS_H_INCLUDED_
#define _WS_STREAM_HLS_H_INCLUDED_


#include "ws_stream_core.h"


#define WS_STREAM_HLS_SEGS          64
#define WS_STREAM_HLS_PARTS         1024
#define WS_STREAM_HLS_SEG_PARTS     64      /* parts of one segment */
#define WS_STREAM_HLS_HISTORY       96      /* lead frames remembered */

/* configuration ranges, ms and segments */
#define WS_STREAM_HLS_PART_MIN      200
#define WS_STREAM_HLS_PART_MAX      2000
#define WS_STREAM_HLS_SEG_MIN       1000
#define WS_STREAM_HLS_SEG_MAX       10000
#define WS_STREAM_HLS_WINDOW_MIN    3
#define WS_STREAM_HLS_WINDOW_MAX    32

/*
 * A segment without a keyframe is cut when it would pass segment + 499
 * ms: rounded to whole seconds its EXTINF stays within TARGETDURATION.
 */
#define WS_STREAM_HLS_SEG_SLACK     499

/* the keyframe tolerance: half a frame interval, at most this */
#define WS_STREAM_HLS_TOL_MAX       100

/* without a lead track set, audio waits this long for video */
#define WS_STREAM_HLS_LEAD_WAIT     1000

/* ws_stream_hls_cut() */
#define WS_STREAM_HLS_SKIP          1       /* drop the frame */
#define WS_STREAM_HLS_APPEND        2       /* it goes into the open part */
#define WS_STREAM_HLS_PART          3       /* close the part before it */
#define WS_STREAM_HLS_SEGMENT       4       /* close part and segment */

/* lookups */
#define WS_STREAM_HLS_FOUND         1
#define WS_STREAM_HLS_NOT_YET       2       /* may come: park the request */
#define WS_STREAM_HLS_GONE          3       /* expired or never was: 404 */
#define WS_STREAM_HLS_BAD           4       /* too far ahead to wait: 404 */
#define WS_STREAM_HLS_BUSY          5       /* the writer kept changing it */

/* ws_stream_hls_block() */
#define WS_STREAM_HLS_READY         1       /* answer now */
#define WS_STREAM_HLS_WAIT          2       /* park, ask again per commit */
#define WS_STREAM_HLS_REFUSE        3       /* 400 Bad Request */

/* _HLS_skip */
#define WS_STREAM_HLS_SKIP_NO       0
#define WS_STREAM_HLS_SKIP_YES      1
#define WS_STREAM_HLS_SKIP_V2       2

/* ws_stream_hls_uri() */
#define WS_STREAM_HLS_URI_NONE      0
#define WS_STREAM_HLS_URI_MULTI     1       /* index.m3u8 */
#define WS_STREAM_HLS_URI_MEDIA     2       /* media.m3u8 */
#define WS_STREAM_HLS_URI_INIT      3       /* init-<gen>.mp4 */
#define WS_STREAM_HLS_URI_SEGMENT   4       /* <msn>.m4s */
#define WS_STREAM_HLS_URI_PART      5       /* <msn>.<part>.m4s */


typedef struct {
    uint32_t         part;          /* part target, ms */
    uint32_t         segment;       /* segment target, ms */
    uint32_t         window;        /* complete segments listed */
    uint32_t         lead;          /* WS_STREAM_TRACK_VIDEO or _AUDIO,
                                       0: video once seen, else audio */
} ws_stream_hls_conf_t;


typedef struct {
    uint64_t         id;            /* msn + 1; 0: unused */
    uint64_t         start;         /* ms */
    uint64_t         pdt;           /* wall clock of start, ms (epoch) */
    uint64_t         first;         /* global number of its part 0 */
    uint64_t         bytes;
    uint64_t         dsn;           /* discontinuity sequence number */
    uint32_t         duration;      /* ms, of the parts so far */
    uint32_t         nparts;
    uint32_t         vframes;
    uint32_t         gen;           /* init segment generation */
    uint8_t          discontinuity; /* EXT-X-DISCONTINUITY before it */
    uint8_t          independent;   /* starts with a keyframe */
    uint8_t          complete;
    uint8_t          reserved[5];
} ws_stream_hls_seg_t;


typedef struct {
    uint64_t         id;            /* global number + 1; 0: unused */
    uint64_t         handle;
    uint64_t         msn;
    uint64_t         start;         /* ms */
    uint64_t         ingest;        /* wall clock of its first frame */
    uint32_t         size;
    uint32_t         duration;      /* ms */
    uint32_t         vframes;
    uint16_t         n;             /* in its segment */
    uint8_t          independent;   /* starts with a keyframe */
    uint8_t          reserved;
} ws_stream_hls_part_t;


/* the cutter: the writer's own state, readers never look */
typedef struct {
    uint32_t         lead;
    uint32_t         ref32;         /* last input dts */
    int64_t          ref64;         /* ... unwrapped */
    int64_t          offset;        /* output = unwrapped + offset */
    int64_t          tl_start;      /* first dts of this timeline */
    int64_t          audio_first;   /* lead unknown: first audio dts */
    int64_t          seg_start;
    int64_t          part_start;
    int64_t          last;          /* last lead dts */
    int64_t          hist[WS_STREAM_HLS_HISTORY];
    uint32_t         nhist;
    uint32_t         gen;           /* of the next segment to start */
    uint32_t         seg_parts;     /* parts closed in the open segment */
    uint8_t          have_ref;
    uint8_t          have_audio;
    uint8_t          started;       /* a segment is open */
    uint8_t          pending_disc;  /* the next segment is flagged */
    uint8_t          part_key;
    uint8_t          seg_key;
    uint8_t          seg_disc;
    uint8_t          seg_new;       /* first segment of its timeline */
    uint8_t          used;          /* gen has had a segment */
    uint32_t         seg_gen;

    /* the part being closed, until ws_stream_hls_commit() */
    uint8_t          closing;
    uint8_t          close_seg;     /* its segment closes with it */
    uint8_t          close_key;
    uint8_t          close_seg_key;
    uint8_t          close_seg_disc;
    uint8_t          close_seg_new;
    uint32_t         close_seg_gen;
    int64_t          close_start;
    int64_t          close_end;
    int64_t          close_seg_start;

    /* PROGRAM-DATE-TIME anchor of the timeline */
    uint8_t          have_anchor;
    int64_t          anchor_dts;
    uint64_t         anchor_wall;
} ws_stream_hls_cutter_t;


typedef struct {
    ws_stream_hls_conf_t    conf;
    uint32_t                target;     /* TARGETDURATION, s */

    /* published, under the seqlock */
    uint64_t                version;    /* odd while the writer writes */
    uint64_t                open;       /* msn of the open segment */
    uint64_t                committed;  /* parts committed since init */
    uint32_t                open_parts; /* ... in the open segment */
    uint32_t                next_gen;   /* open segment without parts: */
    uint8_t                 next_disc;  /*     its generation and flag */
    uint8_t                 reserved[3];
    uint64_t                oldest;     /* msn of the oldest retained */
    uint64_t                oldest_part;
    uint64_t                end;        /* end of the last part, ms */
    uint64_t                discs;      /* discontinuities committed */

    /* the writer's counters */
    uint64_t                win_dur;    /* of the listed segments */
    uint64_t                playlist_max;
    uint64_t                forced;     /* segments cut without a key */
    uint64_t                long_parts; /* parts over the target */
    uint64_t                long_segs;  /* over segment + 499 ms */
    uint64_t                early;      /* expired inside the window */

    ws_stream_hls_seg_t     segs[WS_STREAM_HLS_SEGS];
    ws_stream_hls_part_t    parts[WS_STREAM_HLS_PARTS];

    ws_stream_hls_cutter_t  cut;
} ws_stream_hls_t;


/* what the glue gives for a closed part it muxed */
typedef struct {
    uint64_t         handle;
    uint32_t         size;          /* bytes: a whole moof + mdat */
    uint32_t         vframes;       /* video frames in it */
    uint64_t         ingest;        /* wall clock of its first frame, ms */
} ws_stream_hls_commit_t;


/* where the playlist is: for blocking decisions and reports */
typedef struct {
    uint64_t         open;
    uint64_t         oldest;
    uint64_t         committed;
    uint64_t         end;
    uint32_t         open_parts;
    uint32_t         prev_parts;    /* parts of segment open - 1 */
    uint32_t         part_target;
} ws_stream_hls_head_t;


/* the bytes of a part */
typedef struct {
    uint64_t         handle;
    uint64_t         number;        /* global part number */
    uint32_t         size;
    uint32_t         gen;
} ws_stream_hls_chunk_t;


/* a segment: its parts' bytes, in order */
typedef struct {
    uint64_t                 msn;
    uint64_t                 bytes;
    uint32_t                 nparts;
    uint32_t                 gen;
    uint32_t                 duration;
    ws_stream_hls_chunk_t    parts[WS_STREAM_HLS_SEG_PARTS];
} ws_stream_hls_seg_ref_t;


/*
 * What a media playlist shows, copied out of the index: the listed
 * segments (the window, then the open one if it has parts) and the
 * parts of the segments from parts_from on.  About 61 KB: keep one per
 * worker, not on the stack.
 */
typedef struct {
    ws_stream_hls_head_t     head;
    uint32_t                 target;    /* s */
    uint32_t                 segment;   /* ms */
    uint32_t                 window;
    uint32_t                 next_gen;
    uint8_t                  next_disc;
    uint64_t                 discs;
    uint64_t                 first;     /* msn of segs[0] */
    uint32_t                 nsegs;
    uint64_t                 parts_from;    /* msn */
    uint64_t                 first_part;    /* number of parts[0] */
    uint32_t                 nparts;
    ws_stream_hls_seg_t      segs[WS_STREAM_HLS_SEGS];
    ws_stream_hls_part_t     parts[WS_STREAM_HLS_PARTS];
} ws_stream_hls_snap_t;


typedef struct {
    uint64_t         msn;
    uint64_t         part;
    uint8_t          has_msn;
    uint8_t          has_part;
    uint8_t          skip;          /* WS_STREAM_HLS_SKIP_* */
    const char      *error;         /* why WS_STREAM_ERROR */
} ws_stream_hls_args_t;


typedef struct {
    unsigned         type;          /* WS_STREAM_HLS_URI_* */
    uint64_t         msn;
    uint32_t         part;
    uint32_t         gen;
} ws_stream_hls_uri_t;


/*
 * Configuration time: WS_STREAM_OK if conf is in range and fits the
 * caps, else WS_STREAM_ERROR with a sentence in err (NUL-terminated).
 * Besides the ranges above: part <= segment, a window of at least 3
 * target durations (RFC 8216 6.2.2) and the retention described above.
 */
int ws_stream_hls_check(const ws_stream_hls_conf_t *conf, char *err,
    size_t len);

/* the writer, on memory of sizeof(ws_stream_hls_t); conf was checked */
void ws_stream_hls_init(ws_stream_hls_t *h,
    const ws_stream_hls_conf_t *conf);

/*
 * Writer, before the first commit: the media sequence number of the first
 * segment and the first init generation (0 and 0 without this call).  An
 * index made anew for a stream (after its buffer was freed) should not
 * start where an earlier one did: its file names would be those of
 * different bytes in a cache in front.
 */
void ws_stream_hls_first(ws_stream_hls_t *h, uint64_t msn, uint32_t gen);

/*
 * Writer: the lead track, if the glue learns it after init (before the
 * first segment of a timeline starts; ignored later).
 */
void ws_stream_hls_lead(ws_stream_hls_t *h, unsigned track);

/*
 * Writer, for every audio and video frame before it is stored (not for
 * codec configuration): SKIP, APPEND, PART or SEGMENT (WS_STREAM_ERROR
 * while a closed part waits for its commit).  Frames are skipped until
 * the lead track has a keyframe (any audio frame when audio leads), and
 * other-track frames before that keyframe's dts.  The first frame of a
 * timeline returns APPEND: there is nothing to close.  PART/SEGMENT:
 * the frames so far are a closed part, ending at ws_stream_hls_part_end();
 * mux them, commit, then append this frame to the new part.
 *
 * Cuts.  Only lead frames cut.  A segment is cut before the first
 * keyframe at segment + half a frame interval or later; without one,
 * before the frame that would take it past segment + 499 ms (counted in
 * h->forced; that segment and its first part are not independent).  A
 * part is closed before the lead frame F when F + the interval expected
 * after F would pass the part target.  The expected interval is exact
 * for constant frame rates on a ms clock: when all spans of p frames (p
 * up to 32, at least 32 spans) in the last 96 lead frames are equal, the
 * next interval is the one p frames back (30 fps: 33, 34, 33...; 29.97:
 * p = 30).  Otherwise it is the longest of the last 16 intervals that
 * are not longer than a part (a gap makes its own part long anyway).
 * So parts pass the target only when an interval is longer than all
 * recent ones (counted in h->long_parts: none in 24.8 million parts at
 * 18 common video and AAC rates and every target from 200 to 1000 ms;
 * about 1% of parts, by 1 or 2 ms, with random +-2 ms jitter), are
 * never empty, and at 30 fps a 200 ms target makes 200 ms parts once the
 * pattern is known (35 frames; before, 167 ms).  A longest-interval rule
 * alone would stop at 167 ms in 2 of 3 phases, below the 85% of the
 * target that rfc8216bis wants of every part but a segment's last.
 * Where 85% cannot be had (29.97 fps: 6 frames span 200 or 201 ms),
 * the part stays within the target and is shorter.
 * Lead dts that do not grow are appended, never cut at.  A segment has
 * at most WS_STREAM_HLS_SEG_PARTS parts: the last one then runs to the
 * segment's end.
 */
int ws_stream_hls_cut(ws_stream_hls_t *h, unsigned track, unsigned key,
    uint32_t dts);

/*
 * Writer: the output dts of an input dts, for the muxer; valid for the
 * frame just given to ws_stream_hls_cut() (and frames near it in time).
 */
uint64_t ws_stream_hls_dts(const ws_stream_hls_t *h, uint32_t dts);

/* Writer: the end of the part being closed (the next part's start) */
uint64_t ws_stream_hls_part_end(const ws_stream_hls_t *h);

/*
 * Writer, for the part the last PART/SEGMENT (or discontinuity) closed:
 * assigns its msn and number and publishes it.  WS_STREAM_OK;
 * WS_STREAM_AGAIN: no room, ws_stream_hls_expire() was not called;
 * WS_STREAM_ERROR: no part is being closed.
 */
int ws_stream_hls_commit(ws_stream_hls_t *h,
    const ws_stream_hls_commit_t *c);

/*
 * Writer: a publisher restart or codec change.  The next segment is
 * flagged EXT-X-DISCONTINUITY, gets the next init generation and starts
 * where the timeline ends.  Returns WS_STREAM_HLS_SEGMENT when the open
 * part has frames: mux them (their end is ws_stream_hls_part_end(): the
 * last lead frame lasts the expected interval) and commit; WS_STREAM_OK
 * when nothing was open.  On a mux failure, call this and drop the
 * frames: the part is not committed and the segment ends before it.
 */
int ws_stream_hls_discontinuity(ws_stream_hls_t *h);

/* Writer: the init generation of the segment to start next */
uint32_t ws_stream_hls_gen(const ws_stream_hls_t *h);

/* Writer: the init generation of the part being closed (its segment's) */
uint32_t ws_stream_hls_close_gen(const ws_stream_hls_t *h);

/* Writer: init segments older than this generation are unused */
uint32_t ws_stream_hls_oldest_gen(const ws_stream_hls_t *h);

/*
 * Writer, after every commit, until it returns 0: hands back the
 * handles of one expired segment's parts (at most WS_STREAM_HLS_SEG_PARTS;
 * n must be at least that) to free at once.  The index already says
 * they are gone.  Also makes room for the next commit.
 */
size_t ws_stream_hls_expire(ws_stream_hls_t *h, uint64_t *handles,
    size_t n);

/*
 * Writer: as ws_stream_hls_expire(), but the oldest complete segment goes
 * whether its time came or not (counted in h->early): for a glue that
 * has no memory for the next part.  0 when no complete segment is left.
 */
size_t ws_stream_hls_drop(ws_stream_hls_t *h, uint64_t *handles,
    size_t n);

/*
 * Readers, any process.  head and snapshot return WS_STREAM_OK or
 * WS_STREAM_AGAIN (the writer kept changing the index: try later);
 * part and segment FOUND, NOT_YET (within what a blocking request may
 * ask for), GONE, BAD (further ahead) or BUSY.
 */
int ws_stream_hls_head(const ws_stream_hls_t *h, ws_stream_hls_head_t *hd);
int ws_stream_hls_part(const ws_stream_hls_t *h, uint64_t msn,
    uint64_t n, ws_stream_hls_chunk_t *c);
int ws_stream_hls_segment(const ws_stream_hls_t *h, uint64_t msn,
    ws_stream_hls_seg_ref_t *s);
int ws_stream_hls_snapshot(const ws_stream_hls_t *h,
    ws_stream_hls_snap_t *s);

/* Reader, after using a part's bytes: 1 if it was not expired */
int ws_stream_hls_intact(const ws_stream_hls_t *h, uint64_t number);

/* the last committed part: 0 if none */
int ws_stream_hls_last(const ws_stream_hls_head_t *hd, uint64_t *msn,
    uint64_t *part);

/*
 * The query string of a playlist request (without '?'): _HLS_msn,
 * _HLS_part (unsigned decimal-integers, up to 2^64 - 1), _HLS_skip (YES
 * or v2).  Unknown arguments are ignored; a repeated, empty or malformed
 * value is WS_STREAM_ERROR with a->error set.
 */
int ws_stream_hls_args(const uint8_t *p, size_t len,
    ws_stream_hls_args_t *a);

/*
 * Whether to answer a playlist request now, park it or refuse it (400),
 * with *why a static sentence for REFUSE.  rfc8216bis 6.2.5.2:
 *   _HLS_part without _HLS_msn: REFUSE;
 *   _HLS_msn more than 2 past the last segment shown (complete or by
 *   its parts): REFUSE;
 *   _HLS_part more than the Advance Part Limit past the last part
 *   (3 / part target in s if that is under 1 s, else 3): REFUSE;
 *   _HLS_msn=M: READY once segment M is complete;
 *   with _HLS_part=N: once part N of M is there or M is complete;
 *   _HLS_skip=v2: REFUSE: it asks to skip EXT-X-DATERANGE tags, which
 *   needs CAN-SKIP-DATERANGES=YES; we offer none, so a conforming client
 *   never sends it, and answering it as YES would leave out the
 *   RECENTLY-REMOVED-DATERANGES attribute such an update must carry.
 */
int ws_stream_hls_block(const ws_stream_hls_head_t *hd,
    const ws_stream_hls_args_t *a, const char **why);

/*
 * A file name in the stream's folder: index.m3u8, media.m3u8,
 * init-<gen>.mp4, <msn>.m4s, <msn>.<part>.m4s.  Numbers are decimal
 * without leading zeros ("0" alone), msn below 2^64, gen and part below
 * 2^32.  Anything else is WS_STREAM_HLS_URI_NONE.
 */
unsigned ws_stream_hls_uri(const uint8_t *p, size_t len,
    ws_stream_hls_uri_t *u);


#endif /* _WS_STREAM_HLS_H_INCLUDED_ */
