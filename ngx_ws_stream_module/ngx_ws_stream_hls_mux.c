
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The writer's side of the LL-HLS fallback, run by the worker that holds
 * the publisher: each frame is offered to the cutter before it is stored;
 * when a part closes, its frames are read back from the ring (where they
 * were just written) and muxed once into one moof + mdat in the zone,
 * which every worker then serves.  Init segments are made the same way,
 * once per codec configuration.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_hls.h"
#include "ws_stream_flv.h"


/* a frame of the open part: where it is in the ring */
struct ngx_ws_stream_hls_frame_s {
    uint64_t                 pos;           /* its record */
    uint64_t                 seq;
    uint64_t                 dts;           /* output timeline */
    int32_t                  cts;
    uint32_t                 off;           /* sample data in the frame */
    uint32_t                 len;
    uint8_t                  track;
    uint8_t                  key;
};


static ngx_int_t ngx_ws_stream_hls_track(ngx_ws_stream_hls_pub_t *pub,
    ngx_ws_stream_blob_t *conf, ngx_uint_t video);
static ngx_int_t ngx_ws_stream_hls_close(ngx_ws_stream_zone_t *zone,
    ngx_uint_t i, ngx_ws_stream_hls_pub_t *pub);
static ngx_int_t ngx_ws_stream_hls_mux(ngx_ws_stream_zone_t *zone,
    ngx_uint_t i, ngx_ws_stream_hls_pub_t *pub, u_char **data,
    size_t *size, uint32_t *vframes);
static ngx_int_t ngx_ws_stream_hls_scratch(ngx_uint_t n, ngx_log_t *log);
static ngx_int_t ngx_ws_stream_hls_init_segment(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_hls_pub_t *pub, uint32_t gen);
static u_char *ngx_ws_stream_hls_alloc(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_hls_sh_t *hls, size_t size);
static void ngx_ws_stream_hls_expire(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_hls_sh_t *hls);
static ngx_int_t ngx_ws_stream_hls_grow(ngx_ws_stream_hls_pub_t *pub,
    ngx_uint_t n);


/* scratch of the worker, for the muxer's sample tables */
static ws_stream_mp4_sample_t  *ngx_ws_stream_hls_vs;
static ws_stream_mp4_sample_t  *ngx_ws_stream_hls_as;
static ngx_uint_t               ngx_ws_stream_hls_nscratch;


/*
 * A publish on a zone with HLS: the stream's index is made with the ring
 * and kept with it, so a publisher that comes back within the grace
 * period continues the same playlist after a discontinuity.
 */

ngx_int_t
ngx_ws_stream_hls_start(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_ws_stream_hls_pub_t *pub, ngx_log_t *log)
{
    ngx_ws_stream_entry_t   *e;
    ngx_ws_stream_hls_sh_t  *hls;

    ngx_memzero(pub, sizeof(ngx_ws_stream_hls_pub_t));
    pub->log = log;

    if (!zone->hls.enabled) {
        return NGX_OK;
    }

    e = &zone->sh->streams[i];

    ngx_shmtx_lock(&zone->shpool->mutex);

    hls = e->hls;

    if (hls == NULL) {
        hls = ngx_slab_alloc_locked(zone->shpool,
                                    sizeof(ngx_ws_stream_hls_sh_t));
        if (hls == NULL) {
            ngx_shmtx_unlock(&zone->shpool->mutex);

            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "ws_stream zone \"%V\" is full: no room for the "
                          "HLS index of \"%*s/%*s\"; the stream is served "
                          "over WebSocket only", &zone->name, e->app_len,
                          e->app, e->name_len, e->name);
            return NGX_DECLINED;
        }

        ngx_memzero(hls, sizeof(ngx_ws_stream_hls_sh_t));
        ws_stream_hls_init(&hls->index, &zone->hls.conf);
        hls->born = ngx_ws_stream_now_ms();

        /*
         * Media sequence numbers from twice the wall clock in seconds
         * (segments last about a second at least), init generations from
         * the wall clock in seconds (a publisher restart takes longer):
         * an index made anew for this stream later never reuses the file
         * names of an earlier one, which a cache in front may still hold.
         */
        ws_stream_hls_first(&hls->index, hls->born / 500,
                            (uint32_t) (hls->born / 1000));

        e->hls = hls;

    } else if (ws_stream_hls_discontinuity(&hls->index)
               == WS_STREAM_HLS_SEGMENT)
    {
        /*
         * a new publisher: a new timeline after what the last one left;
         * frames the last one had not closed (its worker died) are gone
         * with it: dropped, which a second call does
         */
        (void) ws_stream_hls_discontinuity(&hls->index);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    pub->hls = hls;

    return NGX_OK;
}


/*
 * A codec configuration record was stored: if it differs from what the
 * current init segment was made of, the open segment ends here and the
 * next one starts after a discontinuity with a new init segment.
 */

void
ngx_ws_stream_hls_config(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_ws_stream_hls_pub_t *pub, ngx_uint_t video)
{
    ngx_ws_stream_entry_t  *e;
    ngx_ws_stream_blob_t   *conf;

    if (pub->hls == NULL) {
        return;
    }

    e = &zone->sh->streams[i];
    conf = &e->conf[video ? NGX_WS_STREAM_CONF_VIDEO
                          : NGX_WS_STREAM_CONF_AUDIO];

    if (conf->data == NULL) {
        return;
    }

    if (pub->conf[video].len == conf->len
        && ngx_memcmp(pub->conf[video].data, conf->data, conf->len) == 0)
    {
        return;
    }

    if (pub->gen_made) {
        if (ws_stream_hls_discontinuity(&pub->hls->index)
            == WS_STREAM_HLS_SEGMENT)
        {
            (void) ngx_ws_stream_hls_close(zone, i, pub);
        }

        pub->gen_made = 0;
    }

    if (ngx_ws_stream_hls_track(pub, conf, video) != NGX_OK) {
        return;
    }

    if (video) {
        ws_stream_hls_lead(&pub->hls->index, WS_STREAM_TRACK_VIDEO);
    }
}


/* keeps our own copy of a configuration and what it says */

static ngx_int_t
ngx_ws_stream_hls_track(ngx_ws_stream_hls_pub_t *pub,
    ngx_ws_stream_blob_t *conf, ngx_uint_t video)
{
    int                     rc;
    u_char                 *copy, *body;
    size_t                  hlen, len;
    ws_stream_flv_info_t    info;
    ws_stream_mp4_track_t  *t;

    copy = ngx_alloc(conf->len, pub->log);
    if (copy == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(copy, conf->data, conf->len);

    if (pub->conf[video].data) {
        ngx_free(pub->conf[video].data);
    }

    pub->conf[video].data = copy;
    pub->conf[video].len = conf->len;

    /* the blob is our WebSocket frame: its header, ours, the FLV body */

    hlen = ngx_ws_stream_frame_header_len(copy);
    body = copy + hlen + WS_STREAM_MEDIA_HDR;
    len = conf->len - hlen - WS_STREAM_MEDIA_HDR;

    rc = video ? ws_stream_flv_parse_video(body, len, &info)
               : ws_stream_flv_parse_audio(body, len, &info);

    t = video ? &pub->video : &pub->audio;
    ngx_memzero(t, sizeof(ws_stream_mp4_track_t));

    if (rc != WS_STREAM_OK || !(info.flags & WS_STREAM_FLAG_CONFIG)) {
        pub->have[video] = 0;
        return NGX_ERROR;
    }

    t->codec = info.codec;
    t->config = body + info.data;
    t->config_len = len - info.data;
    t->width = info.width;
    t->height = info.height;
    t->sample_rate = info.sample_rate;
    t->channels = info.channels;

    (void) ngx_cpystrn((u_char *) pub->codec[video],
                       (u_char *) info.codec_string,
                       sizeof(pub->codec[video]));

    pub->have[video] = 1;

    return NGX_OK;
}


/*
 * Before a frame is stored: NGX_OK if it belongs to HLS (call
 * ngx_ws_stream_hls_add() once it is in the ring), NGX_DECLINED if not.
 * Closes the open part first when the frame starts a new one.
 */

ngx_int_t
ngx_ws_stream_hls_cut(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_ws_stream_hls_pub_t *pub, ws_stream_flv_info_t *info,
    uint32_t dts)
{
    int  rc;

    if (pub->hls == NULL) {
        return NGX_DECLINED;
    }

    rc = ws_stream_hls_cut(&pub->hls->index, info->track,
                           (info->flags & WS_STREAM_FLAG_KEY) != 0, dts);

    switch (rc) {

    case WS_STREAM_HLS_APPEND:
        return NGX_OK;

    case WS_STREAM_HLS_PART:
    case WS_STREAM_HLS_SEGMENT:
        (void) ngx_ws_stream_hls_close(zone, i, pub);
        return NGX_OK;

    default:
        return NGX_DECLINED;
    }
}


/* after the frame's record was committed at pos */

void
ngx_ws_stream_hls_add(ngx_ws_stream_hls_pub_t *pub,
    ws_stream_flv_info_t *info, uint32_t dts, uint64_t ingest,
    uint64_t pos, uint64_t seq, size_t off, size_t len)
{
    ngx_ws_stream_hls_frame_t  *f;

    if (pub->nframes == 0) {
        pub->ingest = ingest;
    }

    if (pub->nframes == pub->aframes
        && ngx_ws_stream_hls_grow(pub, pub->nframes + 1) != NGX_OK)
    {
        /* the part will lack this frame: better than no part at all */
        return;
    }

    f = &pub->frames[pub->nframes++];

    f->pos = pos;
    f->seq = seq;
    f->dts = ws_stream_hls_dts(&pub->hls->index, dts);
    f->cts = info->cts;
    f->off = off + info->data;
    f->len = len - info->data;
    f->track = info->track;
    f->key = (info->flags & WS_STREAM_FLAG_KEY) != 0;
}


/* the publisher left: its open part is the last of its timeline */

void
ngx_ws_stream_hls_stop(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_ws_stream_hls_pub_t *pub)
{
    ngx_uint_t  k;

    if (pub->hls) {
        if (ws_stream_hls_discontinuity(&pub->hls->index)
            == WS_STREAM_HLS_SEGMENT)
        {
            (void) ngx_ws_stream_hls_close(zone, i, pub);
        }
    }

    for (k = 0; k < 2; k++) {
        if (pub->conf[k].data) {
            ngx_free(pub->conf[k].data);
            pub->conf[k].data = NULL;
        }
    }

    if (pub->frames) {
        ngx_free(pub->frames);
        pub->frames = NULL;
    }

    pub->hls = NULL;
}


/* mux the closed part, publish it, free what expired */

static ngx_int_t
ngx_ws_stream_hls_close(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_ws_stream_hls_pub_t *pub)
{
    int                      rc;
    u_char                  *data;
    size_t                   size;
    uint32_t                 vframes, gen;
    ngx_int_t                mrc;
    ngx_ws_stream_hls_sh_t  *hls;
    ws_stream_hls_commit_t   c;

    hls = pub->hls;

    /* the part belongs to its segment's generation, whatever comes next */
    gen = ws_stream_hls_close_gen(&hls->index);

    /* set by a mux that succeeds; clang's -Wconditional-uninitialized
     * (nginx's flags for clang) cannot tell */
    data = NULL;
    size = 0;
    vframes = 0;

    mrc = NGX_OK;

    if (!pub->gen_made || pub->gen != gen) {
        mrc = ngx_ws_stream_hls_init_segment(zone, pub, gen);
    }

    if (mrc == NGX_OK) {
        mrc = ngx_ws_stream_hls_mux(zone, i, pub, &data, &size, &vframes);
    }

    pub->nframes = 0;

    if (mrc != NGX_OK) {
        /* the part is not published; the segment ends before it */
        (void) ws_stream_hls_discontinuity(&hls->index);
        pub->gen_made = 0;
        return NGX_ERROR;
    }

    c.handle = (uint64_t) (uintptr_t) data;
    c.size = size;
    c.vframes = vframes;
    c.ingest = pub->ingest;

    rc = ws_stream_hls_commit(&hls->index, &c);

    if (rc == WS_STREAM_AGAIN) {
        ngx_ws_stream_hls_expire(zone, hls);
        rc = ws_stream_hls_commit(&hls->index, &c);
    }

    if (rc != WS_STREAM_OK) {
        ngx_shmtx_lock(&zone->shpool->mutex);
        ngx_slab_free_locked(zone->shpool, data);
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_ERROR;
    }

    ngx_ws_stream_hls_expire(zone, hls);

    if (hls->index.forced && !pub->forced) {
        pub->forced = 1;
        ngx_log_error(NGX_LOG_WARN, pub->log, 0,
                      "ws_stream: \"%*s/%*s\" sent no keyframe within "
                      "ws_stream_hls_segment + 499 ms: HLS segments are "
                      "cut without one (not independent); set the "
                      "encoder's keyframe interval to divide the segment "
                      "duration",
                      zone->sh->streams[i].app_len, zone->sh->streams[i].app,
                      zone->sh->streams[i].name_len,
                      zone->sh->streams[i].name);
    }

    /* no wake-up of its own: every caller ends in one (the append of
     * the frame that closed the part, the unpublish, the config record) */

    return NGX_OK;
}


static ngx_int_t
ngx_ws_stream_hls_mux(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_ws_stream_hls_pub_t *pub, u_char **data, size_t *size,
    uint32_t *vframes)
{
    u_char                     *p;
    size_t                      n, nv, na;
    uint64_t                    v_end, a_end;
    ngx_uint_t                  k;
    const uint8_t              *frame;
    ws_stream_rec_t             rec;
    ws_stream_cursor_t          cur;
    ngx_ws_stream_entry_t      *e;
    ws_stream_mp4_sample_t     *s;
    ws_stream_mp4_track_t      *video, *audio;
    ngx_ws_stream_hls_frame_t  *f;

    e = &zone->sh->streams[i];

    if (ngx_ws_stream_hls_scratch(pub->nframes, pub->log) != NGX_OK) {
        return NGX_ERROR;
    }

    video = pub->init_video ? &pub->video : NULL;
    audio = pub->init_audio ? &pub->audio : NULL;

    nv = 0;
    na = 0;
    a_end = 0;

    /* the frames were written by this process a moment ago: they are in
     * the ring unless it is too small to hold one part */

    for (k = 0; k < pub->nframes; k++) {
        f = &pub->frames[k];

        cur.pos = f->pos;
        cur.seq = f->seq;

        if (ws_stream_ring_read(&e->ring, &cur, &rec, &frame)
            != WS_STREAM_OK
            || f->off + f->len > rec.len)
        {
            if (!pub->warned) {
                pub->warned = 1;
                ngx_log_error(NGX_LOG_WARN, pub->log, 0,
                              "ws_stream: frames of \"%*s/%*s\" were "
                              "overwritten before their HLS part was "
                              "complete: make ws_stream_buffer larger",
                              e->app_len, e->app, e->name_len, e->name);
            }

            continue;
        }

        if (f->track == WS_STREAM_TRACK_VIDEO) {
            if (video == NULL) {
                continue;
            }

            s = &ngx_ws_stream_hls_vs[nv++];

        } else {
            if (audio == NULL) {
                continue;
            }

            s = &ngx_ws_stream_hls_as[na++];

            /*
             * the next audio frame is not here yet: this one lasts what
             * a frame of its codec lasts, in whole ms rounded down (23
             * for 1024 samples at 44.1 kHz): the next part's audio then
             * starts a fraction of a ms later, a gap players bridge,
             * where rounding up would overlap it
             */

            a_end = f->dts + (audio->codec == WS_STREAM_CODEC_AAC
                              ? 1024 : 1152) * 1000 / audio->sample_rate;
        }

        s->data = frame + f->off;
        s->len = f->len;
        s->dts = f->dts;
        s->cts = f->cts;
        s->key = f->key;
    }

    if (nv + na == 0) {
        return NGX_ERROR;
    }

    v_end = ws_stream_hls_part_end(&pub->hls->index);

    if (nv && v_end < ngx_ws_stream_hls_vs[nv - 1].dts) {
        v_end = ngx_ws_stream_hls_vs[nv - 1].dts;
    }

    n = ws_stream_mp4_fragment(NULL, (uint32_t) ++pub->sequence,
                               video, ngx_ws_stream_hls_vs, nv, v_end,
                               audio, ngx_ws_stream_hls_as, na, a_end);
    if (n == 0) {
        return NGX_ERROR;
    }

    p = ngx_ws_stream_hls_alloc(zone, pub->hls, n);

    if (p == NULL) {
        if (!pub->nomem) {
            pub->nomem = 1;
            ngx_log_error(NGX_LOG_ERR, pub->log, 0,
                          "ws_stream zone \"%V\" is full: no room for a "
                          "%uz-byte HLS part of \"%*s/%*s\"; parts are "
                          "skipped until there is (make the zone larger)",
                          &zone->name, n, e->app_len, e->app, e->name_len,
                          e->name);
        }

        return NGX_ERROR;
    }

    pub->nomem = 0;

    if (pub->hls->index.early && !pub->early) {
        pub->early = 1;
        ngx_log_error(NGX_LOG_WARN, pub->log, 0,
                      "ws_stream zone \"%V\" is full: HLS segments of "
                      "\"%*s/%*s\" are dropped before their time, so its "
                      "playlist is shorter than ws_stream_hls_window "
                      "(make the zone larger)", &zone->name, e->app_len,
                      e->app, e->name_len, e->name);
    }

    (void) ws_stream_mp4_fragment(p, (uint32_t) pub->sequence,
                                  video, ngx_ws_stream_hls_vs, nv, v_end,
                                  audio, ngx_ws_stream_hls_as, na, a_end);

    *data = p;
    *size = n;
    *vframes = (uint32_t) nv;

    return NGX_OK;
}


/* the worker's sample tables, for at least n samples of each track */

static ngx_int_t
ngx_ws_stream_hls_scratch(ngx_uint_t n, ngx_log_t *log)
{
    if (ngx_ws_stream_hls_nscratch >= n) {
        return NGX_OK;
    }

    if (ngx_ws_stream_hls_vs) {
        ngx_free(ngx_ws_stream_hls_vs);
        ngx_free(ngx_ws_stream_hls_as);
        ngx_ws_stream_hls_nscratch = 0;
    }

    n = ngx_max(n, 256);

    ngx_ws_stream_hls_vs = ngx_alloc(n * sizeof(ws_stream_mp4_sample_t), log);
    ngx_ws_stream_hls_as = ngx_alloc(n * sizeof(ws_stream_mp4_sample_t), log);

    if (ngx_ws_stream_hls_vs == NULL || ngx_ws_stream_hls_as == NULL) {
        if (ngx_ws_stream_hls_vs) {
            ngx_free(ngx_ws_stream_hls_vs);
        }

        if (ngx_ws_stream_hls_as) {
            ngx_free(ngx_ws_stream_hls_as);
        }

        ngx_ws_stream_hls_vs = NULL;
        ngx_ws_stream_hls_as = NULL;
        return NGX_ERROR;
    }

    ngx_ws_stream_hls_nscratch = n;

    return NGX_OK;
}


/* the init segment of a generation, from the configurations we hold */

static ngx_int_t
ngx_ws_stream_hls_init_segment(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_hls_pub_t *pub, uint32_t gen)
{
    u_char                    *p;
    size_t                     n;
    ngx_ws_stream_hls_sh_t    *hls;
    ngx_ws_stream_hls_init_t  *init;
    ws_stream_mp4_track_t     *video, *audio;

    hls = pub->hls;

    video = pub->have[1] ? &pub->video : NULL;
    audio = pub->have[0] ? &pub->audio : NULL;

    if (video == NULL && audio == NULL) {
        return NGX_ERROR;
    }

    n = ws_stream_mp4_init(NULL, video, audio);
    if (n == 0) {
        if (!pub->warned) {
            pub->warned = 1;
            ngx_log_error(NGX_LOG_WARN, pub->log, 0,
                          "ws_stream: no HLS init segment for this codec "
                          "configuration; HLS waits for another one");
        }

        return NGX_ERROR;
    }

    init = &hls->init[gen % NGX_WS_STREAM_HLS_INITS];

    ngx_shmtx_lock(&zone->shpool->mutex);

    p = ngx_slab_alloc_locked(zone->shpool, n);

    if (p == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        ngx_log_error(NGX_LOG_ERR, pub->log, 0,
                      "ws_stream zone \"%V\" is full: no room for an HLS "
                      "init segment", &zone->name);
        return NGX_ERROR;
    }

    (void) ws_stream_mp4_init(p, video, audio);

    if (init->blob.data) {
        ngx_slab_free_locked(zone->shpool, init->blob.data);
    }

    init->blob.data = p;
    init->blob.len = n;
    init->gen = gen;

    /* what the multivariant playlist says */

    hls->codecs[0] = '\0';

    if (video) {
        (void) ngx_cpystrn((u_char *) hls->codecs, (u_char *) pub->codec[1],
                           sizeof(hls->codecs));
        hls->width = video->width;
        hls->height = video->height;
    }

    if (audio) {
        n = ngx_strlen(hls->codecs);
        (void) ngx_snprintf((u_char *) hls->codecs + n,
                            sizeof(hls->codecs) - 1 - n, "%s%s%Z",
                            n ? "," : "", pub->codec[0]);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    pub->init_video = (video != NULL);
    pub->init_audio = (audio != NULL);
    pub->gen = gen;
    pub->gen_made = 1;

    return NGX_OK;
}


/*
 * A part's block; when the zone is full, the stream's own oldest complete
 * segments go first, early: a live playlist shorter than its window is
 * better than one that stops.
 */

static u_char *
ngx_ws_stream_hls_alloc(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_hls_sh_t *hls, size_t size)
{
    u_char    *p;
    size_t     n, k;
    uint64_t   handles[WS_STREAM_HLS_SEG_PARTS];

    ngx_shmtx_lock(&zone->shpool->mutex);

    for ( ;; ) {
        p = ngx_slab_alloc_locked(zone->shpool, size);

        if (p) {
            break;
        }

        n = ws_stream_hls_drop(&hls->index, handles, WS_STREAM_HLS_SEG_PARTS);

        if (n == 0) {
            break;
        }

        for (k = 0; k < n; k++) {
            ngx_slab_free_locked(zone->shpool,
                                 (void *) (uintptr_t) handles[k]);
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return p;
}


static void
ngx_ws_stream_hls_expire(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_hls_sh_t *hls)
{
    size_t    n, k;
    uint64_t  handles[WS_STREAM_HLS_SEG_PARTS];

    while ((n = ws_stream_hls_expire(&hls->index, handles,
                                     WS_STREAM_HLS_SEG_PARTS)))
    {
        ngx_shmtx_lock(&zone->shpool->mutex);

        for (k = 0; k < n; k++) {
            ngx_slab_free_locked(zone->shpool,
                                 (void *) (uintptr_t) handles[k]);
        }

        ngx_shmtx_unlock(&zone->shpool->mutex);
    }
}


/* under the mutex: the stream's ring goes, and its HLS index with it */

void
ngx_ws_stream_hls_free(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_hls_sh_t *hls)
{
    size_t                    k;
    uint64_t                  msn;
    ws_stream_hls_head_t      head;
    ws_stream_hls_chunk_t     chunk;
    ws_stream_hls_seg_ref_t  *seg;

    /* nobody writes the index any more: what it still names is live */

    seg = ngx_alloc(sizeof(ws_stream_hls_seg_ref_t), ngx_cycle->log);

    if (seg && ws_stream_hls_head(&hls->index, &head) == WS_STREAM_OK)
    {
        for (msn = head.oldest; msn < head.open; msn++) {
            if (ws_stream_hls_segment(&hls->index, msn, seg)
                == WS_STREAM_HLS_FOUND)
            {
                for (k = 0; k < seg->nparts; k++) {
                    ngx_slab_free_locked(zone->shpool,
                                 (void *) (uintptr_t) seg->parts[k].handle);
                }
            }
        }

        for (k = 0; k < head.open_parts; k++) {
            if (ws_stream_hls_part(&hls->index, head.open, k, &chunk)
                == WS_STREAM_HLS_FOUND)
            {
                ngx_slab_free_locked(zone->shpool,
                                     (void *) (uintptr_t) chunk.handle);
            }
        }
    }

    if (seg) {
        ngx_free(seg);
    }

    for (k = 0; k < NGX_WS_STREAM_HLS_INITS; k++) {
        if (hls->init[k].blob.data) {
            ngx_slab_free_locked(zone->shpool, hls->init[k].blob.data);
        }
    }

    ngx_slab_free_locked(zone->shpool, hls);
}


static ngx_int_t
ngx_ws_stream_hls_grow(ngx_ws_stream_hls_pub_t *pub, ngx_uint_t n)
{
    ngx_uint_t                  a;
    ngx_ws_stream_hls_frame_t  *frames;

    a = ngx_max(2 * pub->aframes, ngx_max(n, 64));

    frames = ngx_alloc(a * sizeof(ngx_ws_stream_hls_frame_t), pub->log);
    if (frames == NULL) {
        return NGX_ERROR;
    }

    if (pub->frames) {
        ngx_memcpy(frames, pub->frames,
                   pub->nframes * sizeof(ngx_ws_stream_hls_frame_t));
        ngx_free(pub->frames);
    }

    pub->frames = frames;
    pub->aframes = a;

    return NGX_OK;
}
