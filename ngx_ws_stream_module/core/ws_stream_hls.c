
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The writer's side of the LL-HLS index: configuration checks, the
 * cutter, commits, discontinuities, expiry.  The readers' side (lookups,
 * snapshots, request arguments, URIs) is ws_stream_hls_read.c.
 */


#include <stdio.h>

#include "ws_stream_hls_int.h"


/* the periodic interval estimate: spans compared, longest period */
#define WS_STREAM_HLS_SPANS        32
#define WS_STREAM_HLS_PERIOD       32
#define WS_STREAM_HLS_RECENT       16

/* the last frame of a timeline without any measured interval */
#define WS_STREAM_HLS_FRAME        40

/* PROGRAM-DATE-TIME follows the media clock until it is this far off */
#define WS_STREAM_HLS_DRIFT        1000

#define ws_stream_hls_back(c, i)                                             \
    ((c)->hist[((c)->nhist - 1 - (i)) % WS_STREAM_HLS_HISTORY])


static void ws_stream_hls_begin(ws_stream_hls_t *h);
static void ws_stream_hls_end(ws_stream_hls_t *h);
static int64_t ws_stream_hls_interval(const ws_stream_hls_cutter_t *c,
    int64_t part);
static int ws_stream_hls_close(ws_stream_hls_t *h, int64_t end, int seg,
    unsigned key);
static void ws_stream_hls_next(ws_stream_hls_t *h);
static void ws_stream_hls_complete(ws_stream_hls_t *h);
static size_t ws_stream_hls_retire(ws_stream_hls_t *h, uint64_t *handles,
    size_t n, int force);


int
ws_stream_hls_check(const ws_stream_hls_conf_t *conf, char *err,
    size_t len)
{
    uint64_t  td, seg_max, seg_min, per_seg, segs, parts, w;

    if (conf->part < WS_STREAM_HLS_PART_MIN
        || conf->part > WS_STREAM_HLS_PART_MAX)
    {
        snprintf(err, len, "the part target must be %u..%u ms, not %u",
                 WS_STREAM_HLS_PART_MIN, WS_STREAM_HLS_PART_MAX, conf->part);
        return WS_STREAM_ERROR;
    }

    if (conf->segment < WS_STREAM_HLS_SEG_MIN
        || conf->segment > WS_STREAM_HLS_SEG_MAX
        || conf->part > conf->segment)
    {
        snprintf(err, len, "the segment target must be %u..%u ms and not "
                 "below the part target, not %u", WS_STREAM_HLS_SEG_MIN,
                 WS_STREAM_HLS_SEG_MAX, conf->segment);
        return WS_STREAM_ERROR;
    }

    w = conf->window;

    if (w < WS_STREAM_HLS_WINDOW_MIN || w > WS_STREAM_HLS_WINDOW_MAX) {
        snprintf(err, len, "the window must be %u..%u segments, not %u",
                 WS_STREAM_HLS_WINDOW_MIN, WS_STREAM_HLS_WINDOW_MAX,
                 conf->window);
        return WS_STREAM_ERROR;
    }

    if (conf->lead != 0 && conf->lead != WS_STREAM_TRACK_VIDEO
        && conf->lead != WS_STREAM_TRACK_AUDIO)
    {
        snprintf(err, len, "the lead track must be video or audio");
        return WS_STREAM_ERROR;
    }

    td = (conf->segment + 999) / 1000;
    seg_max = conf->segment + WS_STREAM_HLS_SEG_SLACK;
    seg_min = conf->segment - WS_STREAM_HLS_TOL_MAX;

    /* RFC 8216 6.2.2: a live playlist lasts at least 3 target durations */

    if (w * seg_min < 3000 * td) {
        snprintf(err, len, "a window of %u segments of %u ms is shorter "
                 "than 3 target durations (%u s): use at least %u",
                 conf->window, conf->segment, (unsigned) (3 * td),
                 (unsigned) ((3000 * td + seg_min - 1) / seg_min));
        return WS_STREAM_ERROR;
    }

    /* parts are at least 85% of the target, but the last of a segment */

    per_seg = (seg_max * 100 + conf->part * 85 - 1) / (conf->part * 85) + 1;

    /* listed, open, next, and those that left the window within its
     * longest duration plus their own (all segments at their longest) */

    segs = w + 3 + (w + 2) * seg_max / seg_min;
    parts = segs * per_seg;

    if (per_seg > WS_STREAM_HLS_SEG_PARTS || segs > WS_STREAM_HLS_SEGS
        || parts > WS_STREAM_HLS_PARTS)
    {
        snprintf(err, len, "a window of %u segments of %u ms with %u ms "
                 "parts needs room for %u segments, %u parts, %u parts "
                 "in one segment; the index holds %u, %u, %u: use fewer "
                 "or shorter segments or longer parts", conf->window,
                 conf->segment, conf->part, (unsigned) segs,
                 (unsigned) parts, (unsigned) per_seg, WS_STREAM_HLS_SEGS,
                 WS_STREAM_HLS_PARTS, WS_STREAM_HLS_SEG_PARTS);
        return WS_STREAM_ERROR;
    }

    return WS_STREAM_OK;
}


void
ws_stream_hls_init(ws_stream_hls_t *h, const ws_stream_hls_conf_t *conf)
{
    memset(h, 0, sizeof(ws_stream_hls_t));

    h->conf = *conf;
    h->target = (conf->segment + 999) / 1000;
    h->cut.lead = conf->lead;
}


void
ws_stream_hls_first(ws_stream_hls_t *h, uint64_t msn, uint32_t gen)
{
    if (h->committed == 0 && msn < UINT64_MAX / 2 && gen < UINT32_MAX / 2) {
        h->open = msn;
        h->oldest = msn;
        h->cut.gen = gen;
        h->next_gen = gen;
    }
}


void
ws_stream_hls_lead(ws_stream_hls_t *h, unsigned track)
{
    if (!h->cut.started
        && (track == WS_STREAM_TRACK_VIDEO || track == WS_STREAM_TRACK_AUDIO))
    {
        h->cut.lead = track;
    }
}


static void
ws_stream_hls_begin(ws_stream_hls_t *h)
{
    __atomic_store_n(&h->version, h->version + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}


static void
ws_stream_hls_end(ws_stream_hls_t *h)
{
    ws_stream_hls_store(&h->version, h->version + 1);
}


/* the interval expected after the last lead frame; 0 if none is known */

static int64_t
ws_stream_hls_interval(const ws_stream_hls_cutter_t *c, int64_t part)
{
    int64_t   span, d, max;
    uint32_t  n, p, j;

    n = c->nhist < WS_STREAM_HLS_HISTORY ? c->nhist : WS_STREAM_HLS_HISTORY;

    for (p = 1; p <= WS_STREAM_HLS_PERIOD && p + WS_STREAM_HLS_SPANS <= n;
         p++)
    {
        span = ws_stream_hls_back(c, 0) - ws_stream_hls_back(c, p);

        for (j = 1; j + p < n; j++) {
            if (ws_stream_hls_back(c, j) - ws_stream_hls_back(c, j + p)
                != span)
            {
                break;
            }
        }

        if (j + p == n) {
            return ws_stream_hls_back(c, p - 1) - ws_stream_hls_back(c, p);
        }
    }

    /* else the longest recent interval; one longer than a part is a gap
     * that makes its own part long anyway: it does not count */

    max = 0;
    d = 0;

    for (j = 0; j + 1 < n && j < WS_STREAM_HLS_RECENT; j++) {
        d = ws_stream_hls_back(c, j) - ws_stream_hls_back(c, j + 1);

        if (d > max && d <= part) {
            max = d;
        }
    }

    return max ? max : d;
}


int
ws_stream_hls_cut(ws_stream_hls_t *h, unsigned track, unsigned key,
    uint32_t dts)
{
    int64_t                  ext, d, est, tol, elapsed;
    ws_stream_hls_cutter_t  *c;

    c = &h->cut;

    if (c->closing) {
        return WS_STREAM_ERROR;
    }

    if (track != WS_STREAM_TRACK_VIDEO && track != WS_STREAM_TRACK_AUDIO) {
        return WS_STREAM_HLS_SKIP;
    }

    ext = c->have_ref ? c->ref64 + (int32_t) (dts - c->ref32) : dts;
    c->ref64 = ext;
    c->ref32 = dts;
    c->have_ref = 1;

    if (c->lead == 0) {
        if (track == WS_STREAM_TRACK_VIDEO) {
            c->lead = WS_STREAM_TRACK_VIDEO;

        } else {
            if (!c->have_audio) {
                c->audio_first = ext;
                c->have_audio = 1;
            }

            if (ext - c->audio_first < WS_STREAM_HLS_LEAD_WAIT) {
                return WS_STREAM_HLS_SKIP;
            }

            c->lead = WS_STREAM_TRACK_AUDIO;
        }
    }

    if (track != c->lead) {
        if (!c->started || ext + c->offset < c->tl_start) {
            return WS_STREAM_HLS_SKIP;
        }

        return WS_STREAM_HLS_APPEND;
    }

    if (track == WS_STREAM_TRACK_AUDIO) {
        key = 1;
    }

    if (!c->started) {

        /* a timeline starts: where the last one ended */

        if (!key) {
            return WS_STREAM_HLS_SKIP;
        }

        c->offset = h->committed ? (int64_t) h->end - ext : 0;
        d = ext + c->offset;

        if (c->nhist && d <= ws_stream_hls_back(c, 0)) {
            c->nhist = 0;
        }

        c->started = 1;
        c->used = 1;
        c->tl_start = d;
        c->seg_start = d;
        c->part_start = d;
        c->last = d;
        c->part_key = 1;
        c->seg_key = 1;
        c->seg_disc = c->pending_disc;
        c->seg_new = 1;
        c->seg_gen = c->gen;
        c->seg_parts = 0;
        c->pending_disc = 0;
        c->hist[c->nhist++ % WS_STREAM_HLS_HISTORY] = d;

        return WS_STREAM_HLS_APPEND;
    }

    d = ext + c->offset;

    if (d <= c->last) {
        return WS_STREAM_HLS_APPEND;
    }

    c->hist[c->nhist++ % WS_STREAM_HLS_HISTORY] = d;
    c->last = d;

    est = ws_stream_hls_interval(c, h->conf.part);
    tol = est / 2 < WS_STREAM_HLS_TOL_MAX ? est / 2 : WS_STREAM_HLS_TOL_MAX;
    elapsed = d - c->seg_start;

    if ((key && elapsed + tol >= h->conf.segment)
        || elapsed + est > h->conf.segment + WS_STREAM_HLS_SEG_SLACK)
    {
        return ws_stream_hls_close(h, d, 1, key);
    }

    if (c->seg_parts + 1 < WS_STREAM_HLS_SEG_PARTS
        && d - c->part_start + est > h->conf.part)
    {
        return ws_stream_hls_close(h, d, 0, key);
    }

    return WS_STREAM_HLS_APPEND;
}


/* the open part ends at end; a new part (and segment) starts there */

static int
ws_stream_hls_close(ws_stream_hls_t *h, int64_t end, int seg, unsigned key)
{
    ws_stream_hls_cutter_t  *c;

    c = &h->cut;

    c->closing = 1;
    c->close_seg = (uint8_t) seg;
    c->close_key = c->part_key;
    c->close_start = c->part_start;
    c->close_end = end;
    c->close_seg_start = c->seg_start;
    c->close_seg_key = c->seg_key;
    c->close_seg_disc = c->seg_disc;
    c->close_seg_new = c->seg_new;
    c->close_seg_gen = c->seg_gen;

    if (end - c->part_start > h->conf.part) {
        h->long_parts++;
    }

    c->part_start = end;
    c->part_key = key ? 1 : 0;

    if (!seg) {
        c->seg_parts++;
        return WS_STREAM_HLS_PART;
    }

    if (end - c->seg_start > h->conf.segment + WS_STREAM_HLS_SEG_SLACK) {
        h->long_segs++;
    }

    if (!key && c->started) {
        h->forced++;
    }

    c->seg_start = end;
    c->seg_key = c->part_key;
    c->seg_disc = 0;
    c->seg_new = 0;
    c->seg_gen = c->gen;
    c->seg_parts = 0;

    return WS_STREAM_HLS_SEGMENT;
}


uint64_t
ws_stream_hls_dts(const ws_stream_hls_t *h, uint32_t dts)
{
    int64_t  d;

    d = h->cut.ref64 + (int32_t) (dts - h->cut.ref32) + h->cut.offset;

    return d > 0 ? (uint64_t) d : 0;
}


uint64_t
ws_stream_hls_part_end(const ws_stream_hls_t *h)
{
    return (uint64_t) h->cut.close_end;
}


int
ws_stream_hls_commit(ws_stream_hls_t *h, const ws_stream_hls_commit_t *in)
{
    int64_t                  start, wall;
    uint64_t                 msn, n, k;
    ws_stream_hls_seg_t     *s;
    ws_stream_hls_part_t    *p;
    ws_stream_hls_cutter_t  *c;

    c = &h->cut;

    if (!c->closing) {
        return WS_STREAM_ERROR;
    }

    msn = h->open;
    n = h->committed;
    k = h->open_parts;

    if (n - h->oldest_part >= WS_STREAM_HLS_PARTS
        || (k == 0 && msn - h->oldest >= WS_STREAM_HLS_SEGS))
    {
        return WS_STREAM_AGAIN;
    }

    s = ws_stream_hls_seg(h, msn);
    p = ws_stream_hls_prt(h, n);

    ws_stream_hls_begin(h);

    if (k == 0) {

        /* PROGRAM-DATE-TIME: the ingest clock at the start of a timeline,
         * then the media clock, unless they drift apart */

        start = c->close_seg_start;
        wall = (int64_t) c->anchor_wall + (start - c->anchor_dts);

        if (!c->have_anchor || c->close_seg_new
            || (in->ingest
                && (wall - (int64_t) in->ingest > WS_STREAM_HLS_DRIFT
                    || (int64_t) in->ingest - wall > WS_STREAM_HLS_DRIFT)))
        {
            c->have_anchor = 1;
            c->anchor_dts = start;
            c->anchor_wall = in->ingest;
            wall = (int64_t) in->ingest;
        }

        h->discs += c->close_seg_disc;

        memset(s, 0, sizeof(ws_stream_hls_seg_t));
        s->id = msn + 1;
        s->start = (uint64_t) start;
        s->pdt = wall > 0 ? (uint64_t) wall : 0;
        s->first = n;
        s->dsn = h->discs;
        s->gen = c->close_seg_gen;
        s->discontinuity = c->close_seg_disc;
        s->independent = c->close_seg_key;
    }

    p->id = n + 1;
    p->handle = in->handle;
    p->msn = msn;
    p->start = (uint64_t) c->close_start;
    p->ingest = in->ingest;
    p->size = in->size;
    p->duration = (uint32_t) (c->close_end - c->close_start);
    p->vframes = in->vframes;
    p->n = (uint16_t) k;
    p->independent = c->close_key;

    s->nparts++;
    s->bytes += in->size;
    s->vframes += in->vframes;
    s->duration = (uint32_t) (c->close_end - c->close_seg_start);

    h->committed = n + 1;
    h->open_parts = (uint32_t) k + 1;
    h->end = (uint64_t) c->close_end;

    c->closing = 0;

    if (c->close_seg) {
        ws_stream_hls_complete(h);
    }

    ws_stream_hls_next(h);

    if (h->win_dur + (h->open_parts ? s->duration : 0) > h->playlist_max) {
        h->playlist_max = h->win_dur + (h->open_parts ? s->duration : 0);
    }

    ws_stream_hls_end(h);

    return WS_STREAM_OK;
}


/* in a writer section: the open segment is complete */

static void
ws_stream_hls_complete(ws_stream_hls_t *h)
{
    uint64_t  m, first;

    ws_stream_hls_seg(h, h->open)->complete = 1;
    h->open++;
    h->open_parts = 0;

    first = h->open > h->conf.window ? h->open - h->conf.window : 0;
    h->win_dur = 0;

    for (m = first > h->oldest ? first : h->oldest; m < h->open; m++) {
        h->win_dur += ws_stream_hls_seg(h, m)->duration;
    }
}


/* in a writer section: what the segment to come will be */

static void
ws_stream_hls_next(ws_stream_hls_t *h)
{
    ws_stream_hls_cutter_t  *c;

    c = &h->cut;

    h->next_gen = c->started ? c->seg_gen : c->gen;
    h->next_disc = c->started ? c->seg_disc : c->pending_disc;
}


int
ws_stream_hls_discontinuity(ws_stream_hls_t *h)
{
    int                      rc;
    int64_t                  est, end;
    ws_stream_hls_cutter_t  *c;

    c = &h->cut;
    rc = WS_STREAM_OK;

    if (c->closing) {

        /* the part was not muxed: its segment ends before it */

        c->closing = 0;

        if (h->open_parts) {
            ws_stream_hls_begin(h);
            ws_stream_hls_complete(h);
            ws_stream_hls_end(h);
        }

    } else if (c->started) {

        est = ws_stream_hls_interval(c, h->conf.part);
        end = c->last + (est > 0 ? est : WS_STREAM_HLS_FRAME);

        if (end > c->part_start + h->conf.part) {
            end = c->part_start + h->conf.part;
        }

        if (end <= c->last) {
            end = c->last + 1;
        }

        rc = ws_stream_hls_close(h, end, 1, 1);
    }

    if (h->committed || rc == WS_STREAM_HLS_SEGMENT) {
        c->pending_disc = 1;
    }

    c->started = 0;
    c->have_audio = 0;
    c->lead = h->conf.lead;

    /* a new generation only after the last one had a segment: a stop
     * and a start without media between them make one discontinuity */

    if (c->used) {
        c->gen++;
        c->used = 0;
    }

    ws_stream_hls_begin(h);
    ws_stream_hls_next(h);
    ws_stream_hls_end(h);

    return rc;
}


uint32_t
ws_stream_hls_gen(const ws_stream_hls_t *h)
{
    return h->cut.gen;
}


uint32_t
ws_stream_hls_close_gen(const ws_stream_hls_t *h)
{
    return h->cut.closing ? h->cut.close_seg_gen : h->cut.gen;
}


uint32_t
ws_stream_hls_oldest_gen(const ws_stream_hls_t *h)
{
    if (h->oldest < h->open || h->open_parts) {
        return ws_stream_hls_seg(h, h->oldest)->gen;
    }

    return h->cut.closing ? h->cut.close_seg_gen : h->next_gen;
}


size_t
ws_stream_hls_expire(ws_stream_hls_t *h, uint64_t *handles, size_t n)
{
    return ws_stream_hls_retire(h, handles, n, 0);
}


size_t
ws_stream_hls_drop(ws_stream_hls_t *h, uint64_t *handles, size_t n)
{
    return ws_stream_hls_retire(h, handles, n, 1);
}


static size_t
ws_stream_hls_retire(ws_stream_hls_t *h, uint64_t *handles, size_t n,
    int force)
{
    int                   old, room;
    uint64_t              m, i, left;
    ws_stream_hls_seg_t  *s, *last;

    m = h->oldest;

    if (m >= h->open || n < WS_STREAM_HLS_SEG_PARTS) {
        return 0;
    }

    s = ws_stream_hls_seg(h, m);

    /* out of the window since segment m + window completed: gone after
     * its own duration and the longest playlist (RFC 8216 6.2.2) */

    old = 0;

    if (m + h->conf.window < h->open) {
        last = ws_stream_hls_seg(h, m + h->conf.window);
        left = last->start + last->duration;
        old = h->end >= left + s->duration + h->playlist_max;
    }

    /* room for the next commit: a part, and a segment if one opens */

    room = h->committed - h->oldest_part >= WS_STREAM_HLS_PARTS
           || h->open + (h->open_parts ? 1 : 0) - m >= WS_STREAM_HLS_SEGS;

    if (!old && !room && !force) {
        return 0;
    }

    if (!old) {
        h->early++;
    }

    for (i = 0; i < s->nparts; i++) {
        handles[i] = ws_stream_hls_prt(h, s->first + i)->handle;
    }

    ws_stream_hls_begin(h);
    h->oldest = m + 1;
    ws_stream_hls_store(&h->oldest_part, s->first + s->nparts);
    ws_stream_hls_end(h);

    /* readers that see bytes change also see oldest_part moved */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    return s->nparts;
}
