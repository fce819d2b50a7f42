
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Adaptive bitrate decisions driven by scripted traces over simulated
 * time: segments of (duration, lag, capacity, stalls, dropped) fed at
 * regular or irregular steps, the switch done a keyframe wait after the
 * decision, every decision and switch recorded with its time.  The lag
 * is scripted, or comes from a link model: the backlog grows by what the
 * rendition sends beyond the link's rate, and goes with a switch (the
 * viewer starts the target at its newest keyframe) or with the server's
 * skip at 2 s.
 */


#include "test.h"
#include "ws_stream_abr.h"


#define TEST_ABR_EVENTS     64
#define TEST_ABR_STEP       250         /* ms between updates */
#define TEST_ABR_KEYFRAME   500         /* ms from decision to switch */
#define TEST_ABR_SKIP       2000        /* the server's lag bound, ms */
#define TEST_ABR_MODEL      -1          /* lag: from the link model */

#define MBIT                1000000     /* bits per second */


typedef struct {
    uint64_t                 ms;            /* how long */
    int64_t                  lag_ms;        /* or TEST_ABR_MODEL */
    uint64_t                 capacity_bps;  /* reported */
    int64_t                  stalls;
    int64_t                  dropped;
    uint64_t                 link_bps;      /* the link model's rate */
} test_abr_seg_t;


typedef struct {
    uint64_t                 at;
    unsigned                 from;
    unsigned                 to;
    unsigned                 reason;
} test_abr_event_t;


typedef struct {
    ws_stream_abr_conf_t     conf;
    ws_stream_abr_t          abr;
    uint64_t                 bitrates[WS_STREAM_ABR_MAX];
    unsigned                 n;

    uint64_t                 end;           /* of the segments so far */
    uint64_t                 next;          /* next update */
    uint64_t                 last;          /* last update */
    uint64_t                 step;
    uint64_t                 jitter;        /* step + 0 .. jitter - 1 */
    uint32_t                 rnd;
    uint64_t                 keyframe_ms;
    uint64_t                 decided_at;
    uint64_t                 backlog;       /* bits, link model */
    uint64_t                 max_holdoff;

    test_abr_event_t         decided[TEST_ABR_EVENTS];
    unsigned                 ndecided;
    test_abr_event_t         switched[TEST_ABR_EVENTS];
    unsigned                 nswitched;
} test_abr_sim_t;


static test_abr_sim_t  test_abr_sim;
static unsigned        test_abr_wrong;     /* updates that returned not
                                              the target */


static test_abr_sim_t *
test_abr_new(const uint64_t *bitrates, unsigned n, unsigned start)
{
    test_abr_sim_t  *sim;

    sim = &test_abr_sim;
    memset(sim, 0, sizeof(test_abr_sim_t));

    ws_stream_abr_conf_default(&sim->conf);
    ws_stream_abr_init(&sim->abr, &sim->conf, start);

    memcpy(sim->bitrates, bitrates, n * sizeof(uint64_t));
    sim->n = n;
    sim->step = TEST_ABR_STEP;
    sim->next = TEST_ABR_STEP;
    sim->keyframe_ms = TEST_ABR_KEYFRAME;
    sim->rnd = 12345;

    return sim;
}


/* updates TEST_ABR_STEP to 1000 ms apart, pseudo-random from seed */

static void
test_abr_jitter(test_abr_sim_t *sim, uint32_t seed)
{
    sim->jitter = 1000 - TEST_ABR_STEP + 1;
    sim->rnd = seed;
}


static void
test_abr_record(test_abr_event_t *ev, unsigned *n, uint64_t at,
    unsigned from, unsigned to, unsigned reason)
{
    if (*n < TEST_ABR_EVENTS) {
        ev[*n].at = at;
        ev[*n].from = from;
        ev[*n].to = to;
        ev[*n].reason = reason;
    }

    (*n)++;
}


static uint64_t
test_abr_lag(test_abr_sim_t *sim, const test_abr_seg_t *seg, uint64_t now)
{
    uint64_t  rate, dt, in, out, lag;

    if (seg->lag_ms != TEST_ABR_MODEL) {
        return (uint64_t) seg->lag_ms;
    }

    rate = sim->abr.current < sim->n ? sim->bitrates[sim->abr.current] : 0;

    if (rate == 0) {
        return 0;
    }

    dt = (now > sim->last) ? now - sim->last : 0;
    in = rate * dt / 1000;
    out = seg->link_bps * dt / 1000;

    sim->backlog = (sim->backlog + in > out) ? sim->backlog + in - out : 0;

    lag = sim->backlog * 1000 / rate;

    if (lag >= TEST_ABR_SKIP) {
        sim->backlog = 0;
        lag = 0;
    }

    return lag;
}


static void
test_abr_update(test_abr_sim_t *sim, const test_abr_seg_t *seg,
    uint64_t now)
{
    unsigned                 to, from, reason;
    ws_stream_abr_signal_t   s;

    s.now_ms = now;
    s.lag_ms = test_abr_lag(sim, seg, now);
    s.capacity_bps = seg->capacity_bps;
    s.stalls = seg->stalls;
    s.buffer_ms = -1;
    s.dropped = seg->dropped;

    sim->last = now;
    from = sim->abr.current;

    to = ws_stream_abr_update(&sim->abr, &sim->conf, sim->bitrates, sim->n,
                              &s, &reason);

    test_abr_wrong += (to != sim->abr.target);

    if (reason != WS_STREAM_ABR_KEEP) {
        test_abr_record(sim->decided, &sim->ndecided, now, from, to, reason);
        sim->decided_at = now;
    }

    if (to != sim->abr.current && now - sim->decided_at >= sim->keyframe_ms)
    {
        test_abr_record(sim->switched, &sim->nswitched, now, from, to,
                        sim->abr.reason);
        ws_stream_abr_switched(&sim->abr, to, now);
        sim->backlog = 0;
    }

    if (sim->abr.holdoff_ms > sim->max_holdoff) {
        sim->max_holdoff = sim->abr.holdoff_ms;
    }
}


static void
test_abr_run(test_abr_sim_t *sim, const test_abr_seg_t *segs, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        sim->end += segs[i].ms;

        while (sim->next <= sim->end) {
            test_abr_update(sim, &segs[i], sim->next);

            sim->next += sim->step;

            if (sim->jitter) {
                sim->rnd = sim->rnd * 1103515245 + 12345;
                sim->next += (sim->rnd >> 8) % sim->jitter;
            }
        }
    }
}


/* one segment of ms with a scripted lag and capacity, stalls 0 */

static void
test_abr_for(test_abr_sim_t *sim, uint64_t ms, int64_t lag, uint64_t cap)
{
    test_abr_seg_t  seg = { ms, lag, cap, 0, -1, 0 };

    test_abr_run(sim, &seg, 1);
}


/* 2 s keeping up, then ms at lag_ms; the same capacity throughout */

static void
test_abr_slow(test_abr_sim_t *sim, uint64_t ms, int64_t lag, uint64_t cap)
{
    test_abr_for(sim, 2000, 0, cap);
    test_abr_for(sim, ms, lag, cap);
}


static unsigned
test_abr_count(test_abr_sim_t *sim, unsigned reason)
{
    unsigned  i, n;

    n = 0;

    for (i = 0; i < sim->ndecided && i < TEST_ABR_EVENTS; i++) {
        n += (sim->decided[i].reason == reason);
    }

    return n;
}


static int
test_abr_is(const test_abr_event_t *ev, uint64_t at, unsigned to,
    unsigned reason)
{
    if (ev->at != at || ev->to != to || ev->reason != reason) {
        fprintf(stderr, "event at %llu to %u %s, not at %llu to %u %s\n",
                (unsigned long long) ev->at, ev->to,
                ws_stream_abr_reason_name(ev->reason),
                (unsigned long long) at, to,
                ws_stream_abr_reason_name(reason));
        return 0;
    }

    return 1;
}


/* exactly n decisions, the last of them at, to, reason */

static int
test_abr_last(test_abr_sim_t *sim, unsigned n, uint64_t at, unsigned to,
    unsigned reason)
{
    if (sim->ndecided != n || n == 0 || n > TEST_ABR_EVENTS) {
        fprintf(stderr, "%u decisions, not %u\n", sim->ndecided, n);
        return 0;
    }

    return test_abr_is(&sim->decided[n - 1], at, to, reason);
}


static const uint64_t  test_abr_three[] = { 4 * MBIT, 2 * MBIT, 1 * MBIT };
static const uint64_t  test_abr_four[] = {
    4 * MBIT, 2 * MBIT, 1 * MBIT, MBIT / 2
};


static void
test_abr_conf(void)
{
    ws_stream_abr_conf_t  conf;

    ws_stream_abr_conf_default(&conf);

    T(conf.down_lag_ms == 500);
    T(conf.down_for_ms == 1000);
    T(conf.emergency_lag_ms == 1500);
    T(conf.up_fit_permille == 700);
    T(conf.holdoff_ms == 10000);
    T(conf.holdoff_max_ms == 60000);
    T(conf.probe_ms == 4000);
    T(conf.low_lag_ms == 200);
    T(conf.probe_drops == 15);

    T(strcmp(ws_stream_abr_reason_name(WS_STREAM_ABR_KEEP), "keep") == 0);
    T(strcmp(ws_stream_abr_reason_name(WS_STREAM_ABR_DOWN_BACKLOG),
             "backlog") == 0);
    T(strcmp(ws_stream_abr_reason_name(WS_STREAM_ABR_DOWN_STALL), "stall")
      == 0);
    T(strcmp(ws_stream_abr_reason_name(WS_STREAM_ABR_EMERGENCY),
             "emergency") == 0);
    T(strcmp(ws_stream_abr_reason_name(WS_STREAM_ABR_UP), "up") == 0);
    T(strcmp(ws_stream_abr_reason_name(WS_STREAM_ABR_PROBE_FAILED),
             "probe_failed") == 0);
    T(strcmp(ws_stream_abr_reason_name(WS_STREAM_ABR_GONE), "gone") == 0);
    T(strcmp(ws_stream_abr_reason_name(WS_STREAM_ABR_PIN), "pin") == 0);
    T(strcmp(ws_stream_abr_reason_name(8), "unknown") == 0);
    T(strcmp(ws_stream_abr_reason_name(UINT32_MAX), "unknown") == 0);
}


static void
test_abr_start(void)
{
    ws_stream_abr_conf_t  conf;

    static const uint64_t  five[] = {
        6 * MBIT, 4 * MBIT, 3 * MBIT, 2 * MBIT, MBIT
    };
    static const uint64_t  holes[] = { 0, 2 * MBIT, 1 * MBIT, 0 };
    static const uint64_t  none[] = { 0, 0, 0 };
    static const uint64_t  nine[] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };
    static const uint64_t  edge[] = { 700001, 700000 };

    ws_stream_abr_conf_default(&conf);

    /* with a capacity: the highest under 70 % of it, else the lowest */
    T(ws_stream_abr_start(test_abr_three, 3, 100 * MBIT, &conf) == 0);
    T(ws_stream_abr_start(test_abr_three, 3, 3 * MBIT, &conf) == 1);
    T(ws_stream_abr_start(test_abr_three, 3, 2 * MBIT, &conf) == 2);
    T(ws_stream_abr_start(test_abr_three, 3, 1 * MBIT, &conf) == 2);
    T(ws_stream_abr_start(edge, 2, MBIT, &conf) == 1);
    T(ws_stream_abr_start(edge, 2, MBIT + 2, &conf) == 0);
    T(ws_stream_abr_start(holes, 4, 100 * MBIT, &conf) == 1);
    T(ws_stream_abr_start(holes, 4, MBIT / 2, &conf) == 2);

    /* without: the middle of the publishing ones, towards the higher */
    T(ws_stream_abr_start(test_abr_three, 1, 0, &conf) == 0);
    T(ws_stream_abr_start(test_abr_three, 2, 0, &conf) == 0);
    T(ws_stream_abr_start(test_abr_three, 3, 0, &conf) == 1);
    T(ws_stream_abr_start(test_abr_four, 4, 0, &conf) == 1);
    T(ws_stream_abr_start(five, 5, 0, &conf) == 2);
    T(ws_stream_abr_start(holes, 4, 0, &conf) == 1);
    T(ws_stream_abr_start(nine, 9, 0, &conf) == 3);

    /* nothing publishes, nothing at all */
    T(ws_stream_abr_start(none, 3, 0, &conf) == 0);
    T(ws_stream_abr_start(none, 3, 10 * MBIT, &conf) == 0);
    T(ws_stream_abr_start(none, 0, 0, &conf) == 0);
}


static void
test_abr_backlog(void)
{
    test_abr_sim_t  *sim;

    /* lag 800 from 2250 on: down one step at 3250, switched at 3750;
     * the lower rendition gets its own down_for before the next step */

    sim = test_abr_new(test_abr_three, 3, 0);
    test_abr_slow(sim, 3000, 800, 0);

    T(sim->ndecided == 2);
    T(test_abr_is(&sim->decided[0], 3250, 1, WS_STREAM_ABR_DOWN_BACKLOG));
    T(sim->switched[0].at == 3750);
    T(test_abr_is(&sim->decided[1], 5000, 2, WS_STREAM_ABR_DOWN_BACKLOG));

    /* a spike whose samples span less than down_for: nothing */

    sim = test_abr_new(test_abr_three, 3, 0);
    test_abr_slow(sim, 1000, 1400, 0);       /* 2250 .. 3000 */
    test_abr_slow(sim, 750, 800, 0);
    test_abr_for(sim, 2000, 300, 0);

    T(sim->ndecided == 0);

    /* one more sample: 2250 .. 3250 is down_for */

    sim = test_abr_new(test_abr_three, 3, 0);
    test_abr_slow(sim, 1250, 600, 0);
    test_abr_for(sim, 2000, 0, 0);

    T(test_abr_last(sim, 1, 3250, 1, WS_STREAM_ABR_DOWN_BACKLOG));

    /* down_lag itself is not above it */

    sim = test_abr_new(test_abr_three, 3, 0);
    test_abr_for(sim, 10000, 500, 0);

    T(sim->ndecided == 0);

    /* a pending switch is not decided again while it waits */

    sim = test_abr_new(test_abr_three, 3, 0);
    sim->keyframe_ms = 4000;
    test_abr_slow(sim, 4000, 900, 0);

    T(sim->ndecided == 1);
    T(sim->nswitched == 0);
    T(sim->abr.current == 0 && sim->abr.target == 1);
    T(sim->abr.reason == WS_STREAM_ABR_DOWN_BACKLOG);

    test_abr_for(sim, 2000, 900, 0);

    T(sim->nswitched == 1);
    T(sim->switched[0].at == 7250 && sim->switched[0].to == 1);
    T(sim->ndecided == 1);

    test_abr_for(sim, 500, 900, 0);

    T(test_abr_last(sim, 2, 8500, 2, WS_STREAM_ABR_DOWN_BACKLOG));
}


static void
test_abr_stall(void)
{
    test_abr_sim_t  *sim;

    static const test_abr_seg_t  trace[] = {
        { 2000, 0, 0, 0, -1, 0 },
        { 750, 0, 0, 1, -1, 0 },            /* 2250: down, 2750 switched */
        { 250, 0, 0, 2, -1, 0 },            /* 3000: the old rendition's */
        { 1000, 0, 0, 2, -1, 0 },
        { 1000, 0, 0, 3, -1, 0 },           /* 4250: down again */
    };

    static const test_abr_seg_t  baseline[] = {
        { 1000, 0, 0, -1, -1, 0 },
        { 1000, 0, 0, 5, -1, 0 },           /* the first known: baseline */
        { 500, 0, 0, -1, -1, 0 },
        { 500, 0, 0, 5, -1, 0 },
        { 500, 0, 0, 2, -1, 0 },            /* went back: new baseline */
        { 500, 0, 0, 3, -1, 0 },            /* 3750: a stall */
    };

    sim = test_abr_new(test_abr_three, 3, 0);
    test_abr_run(sim, trace, sizeof(trace) / sizeof(trace[0]));

    T(sim->ndecided == 2);
    T(test_abr_is(&sim->decided[0], 2250, 1, WS_STREAM_ABR_DOWN_STALL));
    T(sim->switched[0].at == 2750);
    T(test_abr_is(&sim->decided[1], 4250, 2, WS_STREAM_ABR_DOWN_STALL));

    sim = test_abr_new(test_abr_three, 3, 0);
    test_abr_run(sim, baseline, sizeof(baseline) / sizeof(baseline[0]));

    T(test_abr_last(sim, 1, 3750, 1, WS_STREAM_ABR_DOWN_STALL));

    /* a stall at the lowest: nowhere to go */

    sim = test_abr_new(test_abr_three, 3, 2);
    test_abr_run(sim, trace, sizeof(trace) / sizeof(trace[0]));

    T(sim->ndecided == 0);
}


static void
test_abr_emergency(void)
{
    test_abr_sim_t  *sim;

    /* straight to the lowest, once */

    sim = test_abr_new(test_abr_four, 4, 0);
    test_abr_slow(sim, 3000, 1600, 0);

    T(test_abr_last(sim, 1, 2250, 3, WS_STREAM_ABR_EMERGENCY));
    T(sim->nswitched == 1 && sim->abr.current == 3);
    T(sim->abr.down_at == 2750);

    /* just below: an ordinary backlog, one step */

    sim = test_abr_new(test_abr_four, 4, 0);
    test_abr_slow(sim, 1250, 1499, 0);

    T(test_abr_last(sim, 1, 3250, 1, WS_STREAM_ABR_DOWN_BACKLOG));

    /* it overrides a pending down-switch */

    sim = test_abr_new(test_abr_four, 4, 0);
    sim->keyframe_ms = 2000;
    test_abr_slow(sim, 1250, 800, 0);
    test_abr_for(sim, 250, 1700, 0);
    test_abr_for(sim, 2000, 1700, 0);

    T(test_abr_last(sim, 2, 3500, 3, WS_STREAM_ABR_EMERGENCY));
    T(sim->nswitched == 1 && sim->switched[0].to == 3);
    T(sim->switched[0].at == 5500);
}


static void
test_abr_capacity(void)
{
    test_abr_sim_t  *sim;

    static const uint64_t  five[] = {
        6 * MBIT, 4 * MBIT, 2500000, 1200000, 600000
    };
    static const test_abr_seg_t  stall = { 250, 0, 2 * MBIT, 1, -1, 0 };

    /* 2 Mbit/s: 1.4 Mbit/s fits 1.2, the 4th, in one switch */

    sim = test_abr_new(five, 5, 0);
    test_abr_slow(sim, 1250, 800, 2 * MBIT);
    test_abr_for(sim, 8000, 100, 2 * MBIT);

    T(sim->ndecided == 1 && sim->nswitched == 1);
    T(test_abr_is(&sim->decided[0], 3250, 3, WS_STREAM_ABR_DOWN_BACKLOG));

    /* 1 Mbit/s: the lowest fits; 0.5 Mbit/s: none does, the lowest */

    sim = test_abr_new(five, 5, 0);
    test_abr_slow(sim, 1250, 800, 1 * MBIT);

    T(sim->ndecided == 1 && sim->decided[0].to == 4);

    sim = test_abr_new(five, 5, 1);
    test_abr_slow(sim, 1250, 800, MBIT / 2);

    T(sim->ndecided == 1 && sim->decided[0].to == 4);

    /* the capacity says all fit: still at least one step */

    sim = test_abr_new(five, 5, 0);
    test_abr_slow(sim, 1250, 800, 100 * MBIT);

    T(sim->ndecided == 1 && sim->decided[0].to == 1);

    /* a stall goes as far as the capacity says too */

    sim = test_abr_new(five, 5, 0);
    test_abr_for(sim, 2000, 0, 2 * MBIT);
    test_abr_run(sim, &stall, 1);

    T(test_abr_last(sim, 1, 2250, 3, WS_STREAM_ABR_DOWN_STALL));
}


static void
test_abr_holdoff(void)
{
    int              ok;
    unsigned         i, u;
    uint64_t         down;
    test_abr_sim_t  *sim;

    /* down switched at 3750: the capacity is back at once, the lag low,
     * yet no up before 13750 */

    sim = test_abr_new(test_abr_three, 3, 0);
    test_abr_slow(sim, 1250, 800, 20 * MBIT);
    test_abr_for(sim, 10250, 0, 20 * MBIT);        /* to 13500 */

    T(sim->ndecided == 1 && sim->nswitched == 1);
    T(sim->switched[0].at == 3750 && sim->abr.current == 1);

    test_abr_for(sim, 250, 0, 20 * MBIT);

    T(test_abr_last(sim, 2, 13750, 0, WS_STREAM_ABR_UP));

    /* the same with irregular updates: 250 .. 1000 ms apart */

    for (i = 0; i < 20; i++) {
        sim = test_abr_new(test_abr_three, 3, 0);
        test_abr_jitter(sim, i);
        test_abr_slow(sim, 3000, 800, 20 * MBIT);
        test_abr_for(sim, 20000, 0, 20 * MBIT);

        /* the first up, and the last down-switch before it */

        for (u = 0; u < sim->ndecided && u < TEST_ABR_EVENTS; u++) {
            if (sim->decided[u].reason == WS_STREAM_ABR_UP) {
                break;
            }

            T(sim->decided[u].reason == WS_STREAM_ABR_DOWN_BACKLOG);
        }

        ok = (u >= 1 && u < sim->ndecided && u < sim->nswitched
              && u < TEST_ABR_EVENTS);

        T(ok);

        if (!ok) {
            continue;
        }

        down = sim->switched[u - 1].at;

        T(sim->switched[u - 1].reason == WS_STREAM_ABR_DOWN_BACKLOG);
        T(sim->decided[u].at >= down + 10000);
        T(sim->decided[u].at < down + 10000 + 1000);
    }
}


static void
test_abr_up(void)
{
    unsigned         i;
    test_abr_sim_t  *sim;

    /* from the lowest with plenty of capacity: one step per probe */

    sim = test_abr_new(test_abr_four, 4, 3);
    test_abr_for(sim, 60000, 0, 20 * MBIT);

    T(sim->ndecided == 3);
    T(test_abr_is(&sim->decided[0], 4250, 2, WS_STREAM_ABR_UP));
    T(test_abr_is(&sim->decided[1], 9000, 1, WS_STREAM_ABR_UP));
    T(test_abr_is(&sim->decided[2], 13750, 0, WS_STREAM_ABR_UP));

    for (i = 0; i < 3; i++) {
        T(sim->decided[i].from == 3 - i);
    }

    T(sim->abr.current == 0 && sim->abr.target == 0);
    T(sim->abr.holdoff_ms == 10000);
    T(sim->abr.probing == 0);

    /* the next rendition must fit in 70 % of the capacity: 2 Mbit/s
     * needs 2.86, so with 2.8 it stays at 1 Mbit/s */

    sim = test_abr_new(test_abr_four, 4, 2);
    test_abr_for(sim, 60000, 0, 2800000);

    T(sim->ndecided == 0);

    test_abr_for(sim, 4250, 0, 2860000);

    T(sim->ndecided == 1 && sim->decided[0].to == 1);

    /* a lag between low_lag and down_lag holds it where it is */

    sim = test_abr_new(test_abr_four, 4, 2);
    test_abr_for(sim, 60000, 200, 20 * MBIT);

    T(sim->ndecided == 0);

    /* a pending up-switch is cancelled by a reason to go down */

    sim = test_abr_new(test_abr_four, 4, 2);
    sim->keyframe_ms = 3000;
    test_abr_for(sim, 4250, 0, 20 * MBIT);         /* 4250: up */
    test_abr_for(sim, 1250, 700, 20 * MBIT);       /* 5500: down */
    test_abr_for(sim, 4000, 100, 20 * MBIT);

    T(sim->ndecided == 2);
    T(test_abr_is(&sim->decided[0], 4250, 1, WS_STREAM_ABR_UP));
    T(test_abr_is(&sim->decided[1], 5500, 3, WS_STREAM_ABR_DOWN_BACKLOG));
    T(sim->nswitched == 1 && sim->switched[0].to == 3);
}


static void
test_abr_probe(void)
{
    unsigned         i, ups;
    uint64_t         gap, want;
    test_abr_sim_t  *sim;

    static const uint64_t  two[] = { 2 * MBIT, 1 * MBIT };

    static const test_abr_seg_t  slow = {
        400000, TEST_ABR_MODEL, 0, 0, -1, 1500000
    };

    static const test_abr_seg_t  faster[] = {
        { 70000, TEST_ABR_MODEL, 0, 0, -1, 5 * MBIT },
        { 4000, TEST_ABR_MODEL, 0, 0, -1, 1500000 },
        { 20000, TEST_ABR_MODEL, 0, 0, -1, 5 * MBIT },
    };

    /* 2 Mbit/s on a 1.5 Mbit/s link, no capacity measured: each try
     * fails within its probe, the hold-off doubles up to 60 s, and it
     * keeps trying */

    sim = test_abr_new(two, 2, 1);
    test_abr_run(sim, &slow, 1);

    ups = test_abr_count(sim, WS_STREAM_ABR_UP);

    T(ups == 8);
    T(test_abr_count(sim, WS_STREAM_ABR_PROBE_FAILED) == 8);
    T(sim->ndecided == 16 && sim->nswitched == 16);
    T(test_abr_is(&sim->decided[0], 4250, 0, WS_STREAM_ABR_UP));
    T(test_abr_is(&sim->decided[1], 7000, 1, WS_STREAM_ABR_PROBE_FAILED));
    T(sim->max_holdoff == 60000);
    T(sim->abr.holdoff_ms == 60000);

    /* up i + 1 comes its hold-off after the down-switch of try i */

    for (i = 1; i < ups && 2 * i < TEST_ABR_EVENTS; i++) {
        T(sim->switched[2 * i - 1].reason == WS_STREAM_ABR_PROBE_FAILED);

        gap = sim->decided[2 * i].at - sim->switched[2 * i - 1].at;
        want = (i < 3) ? 10000ULL << i : 60000;

        T(gap == want);
    }

    /* the link gets faster: the next try lasts, the hold-off resets, and
     * a later down-switch holds off 10 s again */

    i = sim->ndecided;
    test_abr_run(sim, faster, 3);

    T(sim->ndecided == i + 3 && sim->nswitched == i + 3);

    if (sim->ndecided > TEST_ABR_EVENTS) {
        return;
    }

    T(sim->decided[i].reason == WS_STREAM_ABR_UP);
    T(sim->decided[i + 1].reason == WS_STREAM_ABR_DOWN_BACKLOG);
    T(sim->decided[i + 2].reason == WS_STREAM_ABR_UP);
    T(sim->decided[i + 2].at - sim->switched[i + 1].at == 10000);
    T(sim->abr.holdoff_ms == 10000);
    T(sim->abr.current == 0);
}


static void
test_abr_drops(void)
{
    test_abr_sim_t  *sim;

    static const uint64_t  two[] = { 2 * MBIT, 1 * MBIT };

    static const test_abr_seg_t  trace[] = {
        { 5000, 0, 20 * MBIT, 0, 100, 0 },     /* 4250 up, 4750 switched */
        { 1000, 0, 20 * MBIT, 0, 110, 0 },     /* 10 in the probe: fine */
        { 1000, 0, 20 * MBIT, 0, 116, 0 },     /* 16: failed at 6250 */
        { 1000, 0, 20 * MBIT, 0, 500, 0 },     /* outside a probe: nothing */
    };

    sim = test_abr_new(two, 2, 1);
    test_abr_run(sim, trace, sizeof(trace) / sizeof(trace[0]));

    T(sim->ndecided == 2);
    T(test_abr_is(&sim->decided[0], 4250, 0, WS_STREAM_ABR_UP));
    T(test_abr_is(&sim->decided[1], 6250, 1, WS_STREAM_ABR_PROBE_FAILED));
    T(sim->abr.holdoff_ms == 20000);

    /* not looked at */

    sim = test_abr_new(two, 2, 1);
    sim->conf.probe_drops = 0;
    test_abr_run(sim, trace, sizeof(trace) / sizeof(trace[0]));

    T(sim->ndecided == 1);
    T(sim->abr.current == 0);
}


static void
test_abr_stuck(void)
{
    unsigned         i, ups, failed;
    test_abr_sim_t  *sim;
    test_abr_seg_t   seg[3];

    static const test_abr_seg_t  trace[] = {
        { 5000, TEST_ABR_MODEL, 0, 0, -1, 20 * MBIT },
        { 30000, TEST_ABR_MODEL, 600000, 0, -1, 600000 },
        { 120000, TEST_ABR_MODEL, 20 * MBIT, 0, -1, 20 * MBIT },
    };

    /* congestion for 30 s, then the capacity is back: to the top again,
     * whether the capacity is measured or not, with steady or irregular
     * updates */

    for (i = 0; i < 4; i++) {
        memcpy(seg, trace, sizeof(trace));

        sim = test_abr_new(test_abr_four, 4, 0);

        if (i & 1) {
            seg[1].capacity_bps = 0;
            seg[2].capacity_bps = 0;
        }

        if (i & 2) {
            test_abr_jitter(sim, i);
        }

        test_abr_run(sim, &seg[0], 1);

        T(sim->ndecided == 0);

        test_abr_run(sim, &seg[1], 1);

        /* measured: one switch to the lowest, no try up; unmeasured:
         * steps or an emergency down, and tries that fail */

        ups = test_abr_count(sim, WS_STREAM_ABR_UP);
        failed = test_abr_count(sim, WS_STREAM_ABR_PROBE_FAILED);

        T(sim->abr.current == 3);
        T((i & 1) ? ups >= 1 && ups <= 2 : sim->ndecided == 1);
        T(failed == ups);

        test_abr_run(sim, &seg[2], 1);

        T(sim->abr.current == 0 && sim->abr.target == 0);
        T(test_abr_count(sim, WS_STREAM_ABR_UP) == ups + 3);
        T(test_abr_count(sim, WS_STREAM_ABR_PROBE_FAILED) == failed);
    }
}


static void
test_abr_unthrottled(void)
{
    unsigned         i;
    test_abr_sim_t  *sim;

    /* ten minutes at the top with keyframe bursts below down_lag */

    static const test_abr_seg_t  trace[] = {
        { 750, 20, 50 * MBIT, 0, 0, 0 },
        { 250, 450, 50 * MBIT, 0, 0, 0 },
        { 1000, 150, 50 * MBIT, 0, 1, 0 },
        { 500, 0, 0, 0, 1, 0 },
    };

    sim = test_abr_new(test_abr_three, 3, 0);

    for (i = 0; i < 240; i++) {
        test_abr_run(sim, trace, sizeof(trace) / sizeof(trace[0]));
    }

    T(sim->end == 600000);
    T(sim->ndecided == 0 && sim->nswitched == 0);
    T(sim->abr.current == 0);
}


static void
test_abr_unpublished(void)
{
    unsigned                 r;
    ws_stream_abr_t          abr;
    test_abr_sim_t          *sim;
    ws_stream_abr_signal_t   s = { 1000, 1600, 0, -1, -1, -1 };

    static const uint64_t  hole[] = { 4 * MBIT, 0, 1 * MBIT };
    static const uint64_t  nine[] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };

    /* down past the one that does not publish, and up past it */

    sim = test_abr_new(hole, 3, 0);
    test_abr_slow(sim, 1250, 800, 0);
    test_abr_for(sim, 20000, 0, 20 * MBIT);

    T(sim->ndecided == 2);
    T(test_abr_is(&sim->decided[0], 3250, 2, WS_STREAM_ABR_DOWN_BACKLOG));
    T(test_abr_is(&sim->decided[1], 13750, 0, WS_STREAM_ABR_UP));

    /* it publishes again: the next step down is to it */

    sim->bitrates[1] = 2 * MBIT;
    test_abr_slow(sim, 1250, 800, 0);

    T(sim->ndecided == 3 && sim->decided[2].to == 1);

    /* more renditions than there may be: the first eight count, the
     * 8th is the lowest */

    ws_stream_abr_init(&abr, &sim->conf, 7);

    T(ws_stream_abr_update(&abr, &sim->conf, nine, 9, &s, &r) == 7);
    T(r == WS_STREAM_ABR_KEEP);

    abr.current = 6;
    abr.target = 6;

    T(ws_stream_abr_update(&abr, &sim->conf, nine, 9, &s, &r) == 7);
    T(r == WS_STREAM_ABR_EMERGENCY);
}


static void
test_abr_gone(void)
{
    test_abr_sim_t  *sim;

    /* the current one stops: the nearest below */

    sim = test_abr_new(test_abr_three, 3, 1);
    test_abr_for(sim, 1000, 0, 0);
    sim->bitrates[1] = 0;
    test_abr_for(sim, 1000, 0, 0);

    T(test_abr_last(sim, 1, 1250, 2, WS_STREAM_ABR_GONE));
    T(sim->nswitched == 1 && sim->abr.current == 2);
    T(sim->abr.down_at == 0);

    /* no hold-off after it: up once the lag stayed low for a probe */

    sim->bitrates[1] = 2 * MBIT;
    test_abr_for(sim, 4000, 0, 0);

    T(test_abr_last(sim, 2, 6000, 1, WS_STREAM_ABR_UP));
    T(sim->abr.current == 2);

    /* all but the highest stop, the up-switch pending: to the highest */

    sim->bitrates[1] = 0;
    sim->bitrates[2] = 0;
    test_abr_for(sim, 1000, 0, 0);

    T(test_abr_last(sim, 3, 6250, 0, WS_STREAM_ABR_GONE));
    T(sim->abr.current == 0);

    /* nothing publishes: nowhere to go */

    sim->bitrates[0] = 0;
    test_abr_for(sim, 5000, 1600, 0);

    T(sim->ndecided == 3 && sim->abr.target == 0);

    /* fewer renditions than the current index */

    sim = test_abr_new(test_abr_three, 3, 2);
    sim->n = 2;
    test_abr_for(sim, 250, 0, 0);

    T(sim->ndecided == 1 && sim->decided[0].to == 1);
    T(sim->decided[0].reason == WS_STREAM_ABR_GONE);

    /* a pending target stops: decided again from the current one */

    sim = test_abr_new(test_abr_three, 3, 0);
    sim->keyframe_ms = 5000;
    test_abr_slow(sim, 1500, 800, 0);
    sim->bitrates[1] = 0;
    test_abr_for(sim, 250, 800, 0);

    T(test_abr_last(sim, 2, 3750, 2, WS_STREAM_ABR_DOWN_BACKLOG));

    sim = test_abr_new(test_abr_three, 3, 1);
    sim->keyframe_ms = 5000;
    test_abr_for(sim, 4250, 0, 0);
    sim->bitrates[0] = 0;
    test_abr_for(sim, 250, 0, 0);

    T(sim->ndecided == 2);
    T(test_abr_is(&sim->decided[0], 4250, 0, WS_STREAM_ABR_UP));
    T(test_abr_is(&sim->decided[1], 4500, 1, WS_STREAM_ABR_GONE));
    T(sim->abr.target == 1 && sim->nswitched == 0);

    /* the current one stops while a switch is pending: it goes on */

    sim = test_abr_new(test_abr_three, 3, 0);
    sim->keyframe_ms = 5000;
    test_abr_slow(sim, 1250, 800, 0);
    sim->bitrates[0] = 0;
    test_abr_for(sim, 1000, 800, 0);

    T(sim->ndecided == 1 && sim->abr.target == 1);
}


static void
test_abr_pinned(void)
{
    test_abr_sim_t  *sim;

    static const test_abr_seg_t  trace[] = {
        { 5000, 900, 0, 0, -1, 0 },
        { 5000, 1800, 300000, 1, -1, 0 },
        { 5000, 0, 0, 5, -1, 0 },
        { 60000, 0, 100 * MBIT, 5, -1, 0 },
    };

    sim = test_abr_new(test_abr_three, 3, 0);

    T(ws_stream_abr_pin(&sim->abr, 8) == WS_STREAM_ERROR);
    T(ws_stream_abr_pin(&sim->abr, -2) == WS_STREAM_ERROR);
    T(sim->abr.pinned == 0);

    /* pinned to what it has: no decision, and none ever */

    T(ws_stream_abr_pin(&sim->abr, 0) == WS_STREAM_OK);
    test_abr_run(sim, trace, sizeof(trace) / sizeof(trace[0]));

    T(sim->ndecided == 0);

    /* pinned elsewhere: one move there (no hold-off), then none */

    sim = test_abr_new(test_abr_three, 3, 0);
    T(ws_stream_abr_pin(&sim->abr, 2) == WS_STREAM_OK);
    test_abr_run(sim, trace, sizeof(trace) / sizeof(trace[0]));

    T(test_abr_last(sim, 1, 250, 2, WS_STREAM_ABR_PIN));
    T(sim->abr.current == 2 && sim->abr.down_at == 0);

    /* its rendition stops: the nearest; back: to it again */

    sim->bitrates[2] = 0;
    test_abr_for(sim, 1000, 0, 0);
    sim->bitrates[2] = 1 * MBIT;
    test_abr_for(sim, 1000, 0, 0);

    T(sim->ndecided == 3);
    T(sim->decided[1].to == 1 && sim->decided[1].reason == WS_STREAM_ABR_GONE);
    T(sim->decided[2].to == 2 && sim->decided[2].reason == WS_STREAM_ABR_PIN);

    /* automatic again: up after a probe's worth of low lag */

    T(ws_stream_abr_pin(&sim->abr, -1) == WS_STREAM_OK);
    test_abr_for(sim, 5000, 0, 100 * MBIT);

    T(sim->ndecided == 4);
    T(sim->decided[3].to == 1 && sim->decided[3].reason == WS_STREAM_ABR_UP);

    /* a pin drops a pending automatic switch and a probe */

    sim = test_abr_new(test_abr_three, 3, 1);
    sim->keyframe_ms = 0;
    test_abr_for(sim, 4250, 0, 100 * MBIT);

    T(sim->abr.current == 0 && sim->abr.probing == 1);

    T(ws_stream_abr_pin(&sim->abr, 0) == WS_STREAM_OK);
    T(sim->abr.probing == 0);
    test_abr_for(sim, 5000, 1000, 0);

    T(sim->ndecided == 1 && sim->abr.current == 0);
}


static void
test_abr_irregular(void)
{
    unsigned         i, j;
    uint64_t         t;
    test_abr_sim_t  *sim;

    for (i = 0; i < 20; i++) {

        /* sustained backlog: down between down_for and down_for plus two
         * intervals after it began */

        sim = test_abr_new(test_abr_three, 3, 0);
        test_abr_jitter(sim, i);
        test_abr_for(sim, 2000, 0, 0);
        t = sim->end;
        test_abr_for(sim, 4000, 800, 0);

        T(sim->ndecided >= 1);
        T(sim->decided[0].reason == WS_STREAM_ABR_DOWN_BACKLOG);
        T(sim->decided[0].at >= t + 1000 && sim->decided[0].at <= t + 3000);

        /* spikes shorter than down_for never are */

        sim = test_abr_new(test_abr_three, 3, 0);
        test_abr_jitter(sim, i);

        for (j = 0; j < 50; j++) {
            test_abr_slow(sim, 990, 1400, 0);
        }

        T(sim->ndecided == 0);

        /* the emergency at its first sample */

        sim = test_abr_new(test_abr_three, 3, 0);
        test_abr_jitter(sim, i);
        test_abr_for(sim, 2000, 0, 0);
        t = sim->next;
        test_abr_for(sim, 2000, 1500, 0);

        T(test_abr_last(sim, 1, t, 2, WS_STREAM_ABR_EMERGENCY));
    }

    /* updates 3 s apart: two high samples make a sustained backlog */

    sim = test_abr_new(test_abr_three, 3, 0);
    sim->step = 3000;
    sim->next = 3000;
    test_abr_for(sim, 6000, 0, 0);
    test_abr_for(sim, 6000, 800, 0);

    T(test_abr_last(sim, 1, 12000, 1, WS_STREAM_ABR_DOWN_BACKLOG));

    /* a clock that goes back is taken as no time passing */

    sim = test_abr_new(test_abr_three, 3, 0);
    test_abr_for(sim, 1750, 0, 0);
    test_abr_for(sim, 250, 800, 0);             /* high since 2000 */
    sim->next = 1000;
    test_abr_for(sim, 0, 800, 0);               /* 1000 .. 2000 */

    T(sim->ndecided == 0);

    test_abr_for(sim, 1000, 800, 0);

    T(test_abr_last(sim, 1, 3000, 1, WS_STREAM_ABR_DOWN_BACKLOG));
}


static void
test_abr_one(void)
{
    unsigned                 r;
    test_abr_sim_t          *sim;
    ws_stream_abr_signal_t   s = { 1000, 1800, 0, 1, -1, -1 };

    static const uint64_t  one[] = { 3 * MBIT };

    static const test_abr_seg_t  trace[] = {
        { 5000, 0, 100 * MBIT, 0, 0, 0 },
        { 5000, 900, 1 * MBIT, 1, 50, 0 },
        { 5000, 1800, 1 * MBIT, 2, 100, 0 },
        { 60000, 0, 100 * MBIT, 3, 100, 0 },
    };

    sim = test_abr_new(one, 1, 0);
    test_abr_run(sim, trace, sizeof(trace) / sizeof(trace[0]));

    T(sim->ndecided == 0 && sim->abr.current == 0);

    sim->bitrates[0] = 0;
    test_abr_run(sim, trace, sizeof(trace) / sizeof(trace[0]));

    T(sim->ndecided == 0 && sim->abr.current == 0);

    /* no renditions at all */

    sim = test_abr_new(one, 1, 0);

    T(ws_stream_abr_update(&sim->abr, &sim->conf, one, 0, &s, &r) == 0);
    T(r == WS_STREAM_ABR_KEEP);
}


static void
test_abr_switched(void)
{
    ws_stream_abr_t       abr;
    ws_stream_abr_conf_t  conf;

    ws_stream_abr_conf_default(&conf);
    ws_stream_abr_init(&abr, &conf, 1);

    T(abr.current == 1 && abr.target == 1);
    T(abr.holdoff_ms == 10000);
    T(abr.stalls == -1 && abr.dropped == -1);

    /* a switch the fan-out made alone: no hold-off, no probe */

    ws_stream_abr_switched(&abr, 2, 5000);

    T(abr.current == 2 && abr.target == 2);
    T(abr.down_at == 0 && abr.probing == 0);

    ws_stream_abr_switched(&abr, 0, 6000);

    T(abr.current == 0 && abr.probing == 0);

    /* to where it is: nothing */

    abr.target = 1;
    abr.reason = WS_STREAM_ABR_DOWN_BACKLOG;
    ws_stream_abr_switched(&abr, 0, 7000);

    T(abr.current == 0 && abr.target == 1 && abr.down_at == 0);

    ws_stream_abr_switched(&abr, 1, 8000);

    T(abr.current == 1 && abr.down_at == 8000);
}


void
test_abr(void)
{
    test_abr_conf();
    test_abr_start();
    test_abr_backlog();
    test_abr_stall();
    test_abr_emergency();
    test_abr_capacity();
    test_abr_holdoff();
    test_abr_up();
    test_abr_probe();
    test_abr_drops();
    test_abr_stuck();
    test_abr_unthrottled();
    test_abr_unpublished();
    test_abr_gone();
    test_abr_pinned();
    test_abr_irregular();
    test_abr_one();
    test_abr_switched();

    T(test_abr_wrong == 0);
}
