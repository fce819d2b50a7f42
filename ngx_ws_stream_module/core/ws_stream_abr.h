
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Adaptive bitrate, the decision half: which rendition of a group each
 * viewer should get, from signals the fan-out already has.  The switch
 * itself (at a keyframe of the target) is the fan-out's; it calls
 * ws_stream_abr_update() with every statistics tick or report and
 * ws_stream_abr_switched() once a switch has really happened.  No
 * allocation, no floating point, no clock of its own: all times come in
 * the signals, from a monotonic clock in ms (0 is taken for "never"), at
 * any intervals: every rule is in elapsed time, not in updates.
 *
 * Renditions: 1 to WS_STREAM_ABR_MAX, index 0 the highest, each with its
 * measured bitrate; 0 is a rendition not publishing, which is never
 * chosen.  "Up" is towards index 0, "down" towards n - 1; steps skip
 * renditions that do not publish.
 *
 * The rules, in the order ws_stream_abr_update() applies them:
 *
 *   gone       the current rendition stops publishing: to the nearest
 *              publishing one below, else above (no hold-off, no probe).
 *              A pending target that stops publishing is dropped: GONE
 *              with the current index, unless another rule decides.
 *   emergency  lag >= emergency_lag_ms: the lowest publishing rendition
 *              at once, whatever is pending.
 *   probe      for probe_ms after an up-switch, lag > down_lag_ms, a new
 *              stall, or more than probe_drops frames dropped (the link
 *              copes but the client's decoder does not) send the viewer
 *              back down (PROBE_FAILED) and double the hold-off, at most
 *              holdoff_max_ms (an emergency fails a probe too).  A probe
 *              that lasts probe_ms resets the hold-off to holdoff_ms.
 *   backlog    lag > down_lag_ms at every update for down_for_ms.
 *   stall      the client's stall count rose; a stall reported within
 *              down_for_ms of a down-switch is the old rendition's and
 *              does not count.
 *              A down-switch is at least one step, and when capacity is
 *              known it goes on to the highest rendition whose bitrate is
 *              at most up_fit_permille of it (the lowest if none fits),
 *              so a big drop of capacity costs one switch.
 *   up         one step, when the hold-off since the last down-switch has
 *              passed, lag has stayed < low_lag_ms for probe_ms (the same
 *              proof a probe asks for), no probe runs, and the next
 *              rendition's bitrate is at most up_fit_permille of the
 *              capacity.  Without a capacity (0) the probe alone decides:
 *              a viewer is never stuck low for want of a measurement, and
 *              the back-off bounds what failed tries cost.  The hold-off
 *              only gates the first step after a down-switch; after a
 *              successful probe the next step needs another probe_ms of
 *              low lag.  A new stall restarts the low-lag time.
 *
 * Capacity: while a viewer keeps up, TCP's delivery rate is mostly the
 * stream's rate, not the link's (docs/stats.md, send_rate_bps); the
 * largest sample of a few seconds catches the keyframe bursts, which go
 * at the link's pace.  A figure known to be only the stream's rate is
 * better passed as 0: an up-switch it does not fit is never tried.
 *
 * Decided vs switched: a decision sets the target and returns it until
 * ws_stream_abr_switched(); meanwhile it is not decided again.  A pending
 * down-switch is only overridden by an emergency or by its target going;
 * a pending up-switch is cancelled by any reason to go down (from the
 * current rendition).  What measures the new rendition starts at the
 * switch, not at the decision: the backlog and low-lag times restart,
 * the hold-off counts from a down-switch, the probe from an up-switch.
 * The hold-off doubles at the decision that fails a probe, so a failure
 * is counted once.
 *
 * Pinned (the client's choice): no automatic move at all, not even the
 * emergency one; the server's own lag bound (ws_stream_max_lag) still
 * skips a pinned viewer ahead.  A pinned rendition that stops publishing
 * is left for the nearest one (GONE) and taken again when it is back
 * (PIN).
 *
 * Not used: buffer_ms (a low-latency player keeps a small buffer on
 * purpose; running dry is reported as a stall), dropped frames outside a
 * probe (nothing says that a lower rendition would drop fewer).  The
 * first known stall and dropped counts are a baseline; a count that goes
 * back is a new baseline.
 */


#ifndef _WS_STREAM_ABR_H_INCLUDED_
#define _WS_STREAM_ABR_H_INCLUDED_


#include "ws_stream_core.h"


#define WS_STREAM_ABR_MAX               8       /* renditions of a group */

/* defaults of ws_stream_abr_conf_t */
#define WS_STREAM_ABR_DOWN_LAG          500     /* ms */
#define WS_STREAM_ABR_DOWN_FOR          1000    /* ms */
#define WS_STREAM_ABR_EMERGENCY_LAG     1500    /* ms, below the server's
                                                   skip at 2000 ms */
#define WS_STREAM_ABR_UP_FIT            700     /* per mille, as hls.js's
                                                   abrBandWidthUpFactor */
#define WS_STREAM_ABR_HOLDOFF           10000   /* ms, as mediasoup */
#define WS_STREAM_ABR_HOLDOFF_MAX       60000   /* ms */
#define WS_STREAM_ABR_PROBE             4000    /* ms */
#define WS_STREAM_ABR_LOW_LAG           200     /* ms */
#define WS_STREAM_ABR_PROBE_DROPS       15      /* frames: half a second
                                                   at 30 fps, 12 % of a
                                                   probe (dash.js drops a
                                                   rendition at 15 %) */

/* reasons of a decision */
#define WS_STREAM_ABR_KEEP              0       /* nothing new decided */
#define WS_STREAM_ABR_DOWN_BACKLOG      1
#define WS_STREAM_ABR_DOWN_STALL        2
#define WS_STREAM_ABR_EMERGENCY         3
#define WS_STREAM_ABR_UP                4
#define WS_STREAM_ABR_PROBE_FAILED      5
#define WS_STREAM_ABR_GONE              6       /* stopped publishing */
#define WS_STREAM_ABR_PIN               7       /* the client's choice */


typedef struct {
    uint64_t         down_lag_ms;       /* backlog above which: going down */
    uint64_t         down_for_ms;       /* ... for this long */
    uint64_t         emergency_lag_ms;  /* straight to the lowest */
    uint64_t         up_fit_permille;   /* of the capacity a rendition may
                                           take, 1 to 1000 */
    uint64_t         holdoff_ms;        /* no up sooner after a down */
    uint64_t         holdoff_max_ms;    /* the back-off's cap */
    uint64_t         probe_ms;          /* an up-switch is on trial */
    uint64_t         low_lag_ms;        /* backlog below which: keeping up */
    uint64_t         probe_drops;       /* dropped frames that fail a
                                           probe; 0: not looked at */
} ws_stream_abr_conf_t;


typedef struct {
    uint64_t         now_ms;            /* monotonic */
    uint64_t         lag_ms;            /* backlog (server buffer + kernel)
                                           as media time */
    uint64_t         capacity_bps;      /* largest delivery-rate sample of
                                           the last seconds; 0 unknown */
    int64_t          stalls;            /* client's count; -1 unknown */
    int64_t          buffer_ms;         /* client's buffer; -1 unknown */
    int64_t          dropped;           /* client's count; -1 unknown */
} ws_stream_abr_signal_t;


typedef struct {
    unsigned         current;           /* the rendition being sent */
    unsigned         target;            /* decided; current if none */
    unsigned         reason;            /* of the target, or of the
                                           last switch */
    unsigned         pinned;
    unsigned         pin;               /* when pinned */
    unsigned         probing;           /* an up-switch on trial */
    uint64_t         high_since;        /* lag > down_lag since, 0 none */
    uint64_t         low_since;         /* lag < low_lag since, 0 none */
    uint64_t         down_at;           /* last down-switch, 0 none */
    uint64_t         probe_at;          /* the up-switch on trial */
    uint64_t         holdoff_ms;        /* current hold-off */
    int64_t          stalls;            /* last seen, -1 none */
    int64_t          dropped;           /* last seen, -1 none */
    int64_t          probe_dropped;     /* at the probe's start, -1 none */
} ws_stream_abr_t;


void ws_stream_abr_conf_default(ws_stream_abr_conf_t *conf);

void ws_stream_abr_init(ws_stream_abr_t *abr,
    const ws_stream_abr_conf_t *conf, unsigned start);

/*
 * The rendition a new viewer starts on: with a capacity, the highest that
 * fits in up_fit_permille of it (the lowest if none does); without one,
 * the middle of the publishing ones, rounded up: a fast viewer is one or
 * two probes from the top, a slow one a switch or two from the bottom,
 * and its first second (the keyframe burst) does not risk the emergency
 * at the top.  0 if nothing publishes.
 */
unsigned ws_stream_abr_start(const uint64_t *bitrates, unsigned n,
    uint64_t capacity_bps, const ws_stream_abr_conf_t *conf);

/*
 * One update.  Returns the rendition the viewer should be on: the current
 * one, or a target decided now or before and not yet switched to.
 * *reason is that of a decision made by this call, KEEP if none (the
 * standing target's reason is abr->reason).  n above WS_STREAM_ABR_MAX
 * counts as WS_STREAM_ABR_MAX.
 */
unsigned ws_stream_abr_update(ws_stream_abr_t *abr,
    const ws_stream_abr_conf_t *conf, const uint64_t *bitrates,
    unsigned n, const ws_stream_abr_signal_t *s, unsigned *reason);

/*
 * index 0 .. WS_STREAM_ABR_MAX - 1, or -1 for automatic again;
 * WS_STREAM_ERROR for others.  Drops a pending switch and a probe; the
 * next update moves the viewer (PIN).
 */
int ws_stream_abr_pin(ws_stream_abr_t *abr, int index);

/*
 * The fan-out now sends rendition index, from a keyframe on.  To the
 * current one: nothing; to another than the target: the fan-out's own
 * move, which neither holds off nor probes.
 */
void ws_stream_abr_switched(ws_stream_abr_t *abr, unsigned index,
    uint64_t now_ms);

/*
 * The publishing rendition nearest to i: the nearest below, else above;
 * WS_STREAM_ABR_MAX if none publishes (what GONE chooses).
 */
unsigned ws_stream_abr_near(const uint64_t *bitrates, unsigned n,
    unsigned i);

/* "keep", "backlog", "stall", "emergency", "up", "probe_failed", "gone",
 * "pin"; "unknown" for others */
const char *ws_stream_abr_reason_name(unsigned reason);


#endif /* _WS_STREAM_ABR_H_INCLUDED_ */
