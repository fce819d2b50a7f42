
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Adaptive bitrate decisions (ws_stream_abr.h has the rules).  Integers
 * only: shares of a capacity are per mille, times are ms of the caller's
 * clock.
 */


#include "ws_stream_abr.h"


#define WS_STREAM_ABR_NONE      WS_STREAM_ABR_MAX   /* no such rendition */

#define ws_stream_abr_pub(b, n, i)   ((i) < (n) && (b)[i] != 0)

/* bitrate b <= capacity c * p / 1000, without overflow */
#define ws_stream_abr_fits(b, c, p)                                          \
    ((b) <= (c) / 1000 * (p) + (c) % 1000 * (p) / 1000)


static uint64_t ws_stream_abr_since(uint64_t now, uint64_t t);
static unsigned ws_stream_abr_higher(const uint64_t *bitrates, unsigned n,
    unsigned i);
static unsigned ws_stream_abr_lower(const uint64_t *bitrates, unsigned n,
    unsigned i);
static unsigned ws_stream_abr_fit(const uint64_t *bitrates, unsigned n,
    unsigned from, uint64_t capacity, uint64_t permille);
static unsigned ws_stream_abr_track(ws_stream_abr_t *abr,
    const ws_stream_abr_conf_t *conf, const ws_stream_abr_signal_t *s);
static unsigned ws_stream_abr_pinned(ws_stream_abr_t *abr,
    const uint64_t *bitrates, unsigned n, unsigned *to);
static unsigned ws_stream_abr_auto(ws_stream_abr_t *abr,
    const ws_stream_abr_conf_t *conf, const uint64_t *bitrates, unsigned n,
    const ws_stream_abr_signal_t *s, unsigned stall, unsigned *to);
static unsigned ws_stream_abr_why_down(ws_stream_abr_t *abr,
    const ws_stream_abr_conf_t *conf, const ws_stream_abr_signal_t *s,
    unsigned stall);


static const char  *ws_stream_abr_reasons[] = {
    "keep", "backlog", "stall", "emergency", "up", "probe_failed", "gone",
    "pin"
};


void
ws_stream_abr_conf_default(ws_stream_abr_conf_t *conf)
{
    conf->down_lag_ms = WS_STREAM_ABR_DOWN_LAG;
    conf->down_for_ms = WS_STREAM_ABR_DOWN_FOR;
    conf->emergency_lag_ms = WS_STREAM_ABR_EMERGENCY_LAG;
    conf->up_fit_permille = WS_STREAM_ABR_UP_FIT;
    conf->holdoff_ms = WS_STREAM_ABR_HOLDOFF;
    conf->holdoff_max_ms = WS_STREAM_ABR_HOLDOFF_MAX;
    conf->probe_ms = WS_STREAM_ABR_PROBE;
    conf->low_lag_ms = WS_STREAM_ABR_LOW_LAG;
    conf->probe_drops = WS_STREAM_ABR_PROBE_DROPS;
}


void
ws_stream_abr_init(ws_stream_abr_t *abr, const ws_stream_abr_conf_t *conf,
    unsigned start)
{
    memset(abr, 0, sizeof(ws_stream_abr_t));

    abr->current = start;
    abr->target = start;
    abr->holdoff_ms = conf->holdoff_ms;
    abr->stalls = -1;
    abr->dropped = -1;
    abr->probe_dropped = -1;
}


unsigned
ws_stream_abr_start(const uint64_t *bitrates, unsigned n,
    uint64_t capacity_bps, const ws_stream_abr_conf_t *conf)
{
    unsigned  i, k, pub[WS_STREAM_ABR_MAX];

    if (n > WS_STREAM_ABR_MAX) {
        n = WS_STREAM_ABR_MAX;
    }

    if (capacity_bps) {
        i = ws_stream_abr_fit(bitrates, n, 0, capacity_bps,
                              conf->up_fit_permille);

        return (i == WS_STREAM_ABR_NONE) ? 0 : i;
    }

    /* the middle of the k publishing renditions, towards the higher */

    k = 0;

    for (i = 0; i < n; i++) {
        if (bitrates[i] != 0) {
            pub[k++] = i;
        }
    }

    return (k > 0) ? pub[(k - 1) / 2] : 0;
}


unsigned
ws_stream_abr_update(ws_stream_abr_t *abr, const ws_stream_abr_conf_t *conf,
    const uint64_t *bitrates, unsigned n, const ws_stream_abr_signal_t *s,
    unsigned *reason)
{
    unsigned  why, to, stall;

    if (n > WS_STREAM_ABR_MAX) {
        n = WS_STREAM_ABR_MAX;
    }

    stall = ws_stream_abr_track(abr, conf, s);

    to = abr->target;

    if (abr->pinned) {
        why = ws_stream_abr_pinned(abr, bitrates, n, &to);

    } else {
        why = ws_stream_abr_auto(abr, conf, bitrates, n, s, stall, &to);
    }

    if (why != WS_STREAM_ABR_KEEP) {
        abr->target = to;
        abr->reason = why;
    }

    if (abr->probing
        && (why == WS_STREAM_ABR_PROBE_FAILED
            || why == WS_STREAM_ABR_EMERGENCY))
    {
        /* the try failed: the hold-off doubles, up to its cap */

        abr->probing = 0;
        abr->holdoff_ms *= 2;

        if (abr->holdoff_ms > conf->holdoff_max_ms) {
            abr->holdoff_ms = conf->holdoff_max_ms;
        }
    }

    *reason = why;

    return abr->target;
}


int
ws_stream_abr_pin(ws_stream_abr_t *abr, int index)
{
    if (index < -1 || index >= WS_STREAM_ABR_MAX) {
        return WS_STREAM_ERROR;
    }

    /* whatever was pending or on trial was the automatic choice */

    abr->target = abr->current;
    abr->reason = WS_STREAM_ABR_KEEP;
    abr->probing = 0;

    abr->pinned = (index >= 0);
    abr->pin = (index >= 0) ? (unsigned) index : 0;

    return WS_STREAM_OK;
}


void
ws_stream_abr_switched(ws_stream_abr_t *abr, unsigned index,
    uint64_t now_ms)
{
    unsigned  why;

    if (index == abr->current) {
        return;
    }

    /* a switch nobody decided (the fan-out's own) neither holds off nor
     * probes */

    why = (index == abr->target) ? abr->reason : WS_STREAM_ABR_KEEP;

    abr->current = index;
    abr->target = index;
    abr->reason = why;

    /* the new rendition's record starts now */

    abr->high_since = 0;
    abr->low_since = 0;
    abr->probing = 0;

    switch (why) {

    case WS_STREAM_ABR_DOWN_BACKLOG:
    case WS_STREAM_ABR_DOWN_STALL:
    case WS_STREAM_ABR_EMERGENCY:
    case WS_STREAM_ABR_PROBE_FAILED:
        abr->down_at = now_ms;
        break;

    case WS_STREAM_ABR_UP:
        abr->probing = 1;
        abr->probe_at = now_ms;
        abr->probe_dropped = abr->dropped;
        break;

    default:
        break;
    }
}


const char *
ws_stream_abr_reason_name(unsigned reason)
{
    if (reason >= sizeof(ws_stream_abr_reasons) / sizeof(char *)) {
        return "unknown";
    }

    return ws_stream_abr_reasons[reason];
}


/* ms from t to now: "forever" if t is 0 (never), 0 if the clock is behind */

static uint64_t
ws_stream_abr_since(uint64_t now, uint64_t t)
{
    if (t == 0) {
        return UINT64_MAX;
    }

    return (now > t) ? now - t : 0;
}


/* the nearest publishing rendition above i, NONE if none */

static unsigned
ws_stream_abr_higher(const uint64_t *bitrates, unsigned n, unsigned i)
{
    unsigned  j;

    for (j = (i < n) ? i : n; j > 0; j--) {
        if (bitrates[j - 1] != 0) {
            return j - 1;
        }
    }

    return WS_STREAM_ABR_NONE;
}


/* the nearest publishing rendition below i, NONE if none */

static unsigned
ws_stream_abr_lower(const uint64_t *bitrates, unsigned n, unsigned i)
{
    unsigned  j;

    for (j = i + 1; j < n; j++) {
        if (bitrates[j] != 0) {
            return j;
        }
    }

    return WS_STREAM_ABR_NONE;
}


/* for a rendition that does not publish: below, else above */

unsigned
ws_stream_abr_near(const uint64_t *bitrates, unsigned n, unsigned i)
{
    unsigned  j;

    j = ws_stream_abr_lower(bitrates, n, i);

    if (j == WS_STREAM_ABR_NONE) {
        j = ws_stream_abr_higher(bitrates, n, i);
    }

    return j;
}


/*
 * From index from on: the highest publishing rendition that fits in
 * permille of capacity, else the lowest publishing one; NONE if none
 * publishes.
 */

static unsigned
ws_stream_abr_fit(const uint64_t *bitrates, unsigned n, unsigned from,
    uint64_t capacity, uint64_t permille)
{
    unsigned  i, last;

    last = WS_STREAM_ABR_NONE;

    for (i = from; i < n; i++) {
        if (bitrates[i] == 0) {
            continue;
        }

        if (ws_stream_abr_fits(bitrates[i], capacity, permille)) {
            return i;
        }

        last = i;
    }

    return last;
}


/* the signals into the state; returns whether a new stall was reported */

static unsigned
ws_stream_abr_track(ws_stream_abr_t *abr, const ws_stream_abr_conf_t *conf,
    const ws_stream_abr_signal_t *s)
{
    unsigned  stall;

    if (s->lag_ms <= conf->down_lag_ms) {
        abr->high_since = 0;

    } else if (abr->high_since == 0) {
        abr->high_since = s->now_ms;
    }

    if (s->lag_ms >= conf->low_lag_ms) {
        abr->low_since = 0;

    } else if (abr->low_since == 0) {
        abr->low_since = s->now_ms;
    }

    stall = 0;

    if (s->stalls >= 0) {
        stall = (abr->stalls >= 0 && s->stalls > abr->stalls);
        abr->stalls = s->stalls;
    }

    if (stall) {
        abr->low_since = 0;                 /* it did not keep up */
    }

    if (s->dropped >= 0) {
        if (abr->probing
            && (abr->probe_dropped < 0 || s->dropped < abr->probe_dropped))
        {
            abr->probe_dropped = s->dropped;
        }

        abr->dropped = s->dropped;
    }

    return stall;
}


static unsigned
ws_stream_abr_pinned(ws_stream_abr_t *abr, const uint64_t *bitrates,
    unsigned n, unsigned *to)
{
    unsigned  want;

    want = abr->pin;

    if (!ws_stream_abr_pub(bitrates, n, want)) {
        want = ws_stream_abr_near(bitrates, n, want);
    }

    if (want == WS_STREAM_ABR_NONE || want == abr->target) {
        return WS_STREAM_ABR_KEEP;
    }

    *to = want;

    return (want == abr->pin) ? WS_STREAM_ABR_PIN : WS_STREAM_ABR_GONE;
}


static unsigned
ws_stream_abr_auto(ws_stream_abr_t *abr, const ws_stream_abr_conf_t *conf,
    const uint64_t *bitrates, unsigned n, const ws_stream_abr_signal_t *s,
    unsigned stall, unsigned *to)
{
    unsigned  cur, low, up, why, gone;
    uint64_t  now;

    now = s->now_ms;
    cur = abr->current;
    low = ws_stream_abr_higher(bitrates, n, n);    /* the lowest */

    if (low == WS_STREAM_ABR_NONE) {
        return WS_STREAM_ABR_KEEP;          /* nothing publishes */
    }

    gone = 0;

    if (abr->target != cur && !ws_stream_abr_pub(bitrates, n, abr->target)) {
        abr->target = cur;
        gone = 1;
    }

    if (!ws_stream_abr_pub(bitrates, n, cur)) {
        if (abr->target != cur) {
            return WS_STREAM_ABR_KEEP;      /* leaving it already */
        }

        *to = ws_stream_abr_near(bitrates, n, cur);
        return WS_STREAM_ABR_GONE;
    }

    if (s->lag_ms >= conf->emergency_lag_ms && abr->target != low) {
        *to = low;
        return WS_STREAM_ABR_EMERGENCY;
    }

    if (abr->target > cur) {
        return WS_STREAM_ABR_KEEP;          /* going down already */
    }

    if (abr->probing
        && ws_stream_abr_since(now, abr->probe_at) >= conf->probe_ms)
    {
        abr->probing = 0;
        abr->holdoff_ms = conf->holdoff_ms;
    }

    why = ws_stream_abr_why_down(abr, conf, s, stall);

    if (why != WS_STREAM_ABR_KEEP) {

        /* at least one step, and as far as the capacity says */

        *to = ws_stream_abr_lower(bitrates, n, cur);

        if (*to == WS_STREAM_ABR_NONE) {
            *to = cur;

        } else if (s->capacity_bps) {
            *to = ws_stream_abr_fit(bitrates, n, *to, s->capacity_bps,
                                    conf->up_fit_permille);
        }

        if (*to != abr->target) {
            return why;
        }
    }

    if (abr->target != cur) {
        return WS_STREAM_ABR_KEEP;          /* going up already */
    }

    /* the low lag since the switch proves that a probe is over */

    up = ws_stream_abr_higher(bitrates, n, cur);

    if (up != WS_STREAM_ABR_NONE
        && ws_stream_abr_since(now, abr->down_at) >= abr->holdoff_ms
        && abr->low_since
        && ws_stream_abr_since(now, abr->low_since) >= conf->probe_ms
        && (s->capacity_bps == 0
            || ws_stream_abr_fits(bitrates[up], s->capacity_bps,
                                  conf->up_fit_permille)))
    {
        *to = up;
        return WS_STREAM_ABR_UP;
    }

    *to = cur;

    return gone ? WS_STREAM_ABR_GONE : WS_STREAM_ABR_KEEP;
}


static unsigned
ws_stream_abr_why_down(ws_stream_abr_t *abr,
    const ws_stream_abr_conf_t *conf, const ws_stream_abr_signal_t *s,
    unsigned stall)
{
    uint64_t  now;

    now = s->now_ms;

    if (abr->probing) {
        if (s->lag_ms > conf->down_lag_ms || stall
            || (conf->probe_drops && abr->probe_dropped >= 0
                && abr->dropped - abr->probe_dropped
                   > (int64_t) conf->probe_drops))
        {
            return WS_STREAM_ABR_PROBE_FAILED;
        }

        return WS_STREAM_ABR_KEEP;
    }

    if (abr->high_since
        && ws_stream_abr_since(now, abr->high_since) >= conf->down_for_ms)
    {
        return WS_STREAM_ABR_DOWN_BACKLOG;
    }

    /* a stall just after a down-switch is the old rendition's */

    if (stall && ws_stream_abr_since(now, abr->down_at) >= conf->down_for_ms)
    {
        return WS_STREAM_ABR_DOWN_STALL;
    }

    return WS_STREAM_ABR_KEEP;
}
