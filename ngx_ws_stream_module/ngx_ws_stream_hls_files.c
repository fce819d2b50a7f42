
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The files of the LL-HLS location, built from a stream's index under the
 * zone's mutex: playlists (the media playlist written once per index
 * version per worker), init segments, parts and segments copied out.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_hls.h"
#include "ws_stream_m3u8.h"


/* under the mutex: the media playlist, or NGX_BUSY to wait for it */

ngx_int_t
ngx_ws_stream_hls_media(ngx_http_request_t *r, ngx_ws_stream_hls_ctx_t *ctx,
    ngx_ws_stream_hls_local_t *l, ngx_ws_stream_entry_t *e, ngx_buf_t **b)
{
    int                      rc;
    size_t                   len;
    u_char                  *text;
    uint64_t                 version;
    ngx_uint_t               k;
    const char              *why;
    ngx_ws_stream_hls_sh_t  *hls;
    ws_stream_hls_head_t     head;
    ws_stream_m3u8_media_t   opt;

    hls = e->hls;

    if (e->pub != NGX_WS_STREAM_PUB_ONLINE) {
        return NGX_HTTP_NOT_FOUND;
    }

    if (ws_stream_hls_head(&hls->index, &head) != WS_STREAM_OK) {
        return NGX_BUSY;
    }

    rc = ws_stream_hls_block(&head, &ctx->args, &why);

    if (rc == WS_STREAM_HLS_REFUSE) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ws_stream: HLS playlist request \"%V\" refused: %s",
                      &r->args, why);
        ctx->why = why;
        return NGX_HTTP_BAD_REQUEST;
    }

    if (rc == WS_STREAM_HLS_WAIT || head.committed == 0) {
        ctx->msn = ctx->args.has_msn ? ctx->args.msn : 0;
        ctx->part = ctx->args.has_part ? ctx->args.part
                                       : NGX_WS_STREAM_HLS_WHOLE;
        return NGX_BUSY;
    }

    /*
     * One text per index version and kind for all requests of this
     * worker: the waiters that a part completes get the same bytes, and
     * only the first of them pays for the snapshot and the writing.
     */

    k = (ctx->args.skip == WS_STREAM_HLS_SKIP_YES);
    version = __atomic_load_n(&hls->index.version, __ATOMIC_ACQUIRE);

    if (l->text[k] == NULL || l->version[k] != version || l->of[k] != hls
        || l->born[k] != hls->born || l->reports[k] != ctx->reports_key)
    {
        if (ws_stream_hls_snapshot(&hls->index, ngx_ws_stream_hls_snap)
            != WS_STREAM_OK)
        {
            return NGX_BUSY;
        }

        opt.skip = k;
        opt.reports = ctx->reports;
        opt.nreports = ctx->nreports;

        len = ws_stream_m3u8_media(NULL, 0, ngx_ws_stream_hls_snap, &opt);

        text = ngx_alloc(len, r->connection->log);
        if (text == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        (void) ws_stream_m3u8_media(text, len, ngx_ws_stream_hls_snap, &opt);

        if (l->text[k]) {
            ngx_free(l->text[k]);
        }

        l->text[k] = text;
        l->len[k] = len;
        l->version[k] = version;
        l->of[k] = hls;
        l->born[k] = hls->born;
        l->reports[k] = ctx->reports_key;
    }

    return ngx_ws_stream_hls_buf(r, l->text[k], l->len[k], 1, b);
}


/* under the mutex */

ngx_int_t
ngx_ws_stream_hls_multivariant(ngx_http_request_t *r,
    ngx_ws_stream_entry_t *e, ngx_buf_t **b)
{
    u_char                    *text;
    size_t                     len;
    ngx_ws_stream_hls_sh_t    *hls;
    ws_stream_m3u8_variant_t   v;

    hls = e->hls;

    if (e->pub != NGX_WS_STREAM_PUB_ONLINE) {
        return NGX_HTTP_NOT_FOUND;
    }

    if (ws_stream_hls_snapshot(&hls->index, ngx_ws_stream_hls_snap)
        != WS_STREAM_OK
        || ngx_ws_stream_hls_snap->head.committed == 0)
    {
        /* nothing cut yet: the codecs are not known */
        return NGX_BUSY;
    }

    ngx_memzero(&v, sizeof(ws_stream_m3u8_variant_t));

    ws_stream_m3u8_rates(ngx_ws_stream_hls_snap, &v.bandwidth, &v.average,
                         &v.frame_rate);

    v.uri = "media.m3u8";
    v.codecs = hls->codecs[0] ? hls->codecs : NULL;
    v.width = hls->width;
    v.height = hls->height;

    len = ws_stream_m3u8_multivariant(NULL, 0, &v, 1, hls->index.forced == 0);

    text = ngx_pnalloc(r->pool, len);
    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ws_stream_m3u8_multivariant(text, len, &v, 1,
                                       hls->index.forced == 0);

    return ngx_ws_stream_hls_buf(r, text, len, 0, b);
}


/*
 * Under the mutex: an init segment, a part or a segment, copied out of
 * the zone; NGX_BUSY for a part or segment still to come.
 */

ngx_int_t
ngx_ws_stream_hls_blob(ngx_http_request_t *r, ngx_ws_stream_hls_ctx_t *ctx,
    ngx_ws_stream_entry_t *e, ngx_buf_t **b, time_t *modified)
{
    int                        rc;
    u_char                    *p, *q;
    size_t                     k;
    ngx_ws_stream_hls_sh_t    *hls;
    ngx_ws_stream_hls_init_t  *init;
    ws_stream_hls_chunk_t      chunk;
    ws_stream_hls_seg_ref_t   *seg;

    hls = e->hls;

    *modified = (time_t) (hls->born / 1000);

    switch (ctx->uri.type) {

    case WS_STREAM_HLS_URI_INIT:
        init = &hls->init[ctx->uri.gen % NGX_WS_STREAM_HLS_INITS];

        if (init->blob.data == NULL || init->gen != ctx->uri.gen) {
            return NGX_HTTP_NOT_FOUND;
        }

        p = ngx_pnalloc(r->pool, init->blob.len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(p, init->blob.data, init->blob.len);

        return ngx_ws_stream_hls_buf(r, p, init->blob.len, 0, b);

    case WS_STREAM_HLS_URI_PART:
        rc = ws_stream_hls_part(&hls->index, ctx->uri.msn, ctx->uri.part,
                                &chunk);

        if (rc == WS_STREAM_HLS_NOT_YET || rc == WS_STREAM_HLS_BUSY) {
            ctx->msn = ctx->uri.msn;
            ctx->part = ctx->uri.part;
            return NGX_BUSY;
        }

        if (rc != WS_STREAM_HLS_FOUND) {
            return NGX_HTTP_NOT_FOUND;
        }

        p = ngx_pnalloc(r->pool, chunk.size);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(p, (u_char *) (uintptr_t) chunk.handle, chunk.size);

        return ngx_ws_stream_hls_buf(r, p, chunk.size, 0, b);

    default: /* WS_STREAM_HLS_URI_SEGMENT */

        seg = ngx_palloc(r->pool, sizeof(ws_stream_hls_seg_ref_t));
        if (seg == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = ws_stream_hls_segment(&hls->index, ctx->uri.msn, seg);

        if (rc == WS_STREAM_HLS_NOT_YET || rc == WS_STREAM_HLS_BUSY) {
            ctx->msn = ctx->uri.msn;
            ctx->part = NGX_WS_STREAM_HLS_WHOLE;
            return NGX_BUSY;
        }

        if (rc != WS_STREAM_HLS_FOUND) {
            return NGX_HTTP_NOT_FOUND;
        }

        p = ngx_pnalloc(r->pool, seg->bytes);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        q = p;

        for (k = 0; k < seg->nparts; k++) {
            q = ngx_cpymem(q, (u_char *) (uintptr_t) seg->parts[k].handle,
                           seg->parts[k].size);
        }

        return ngx_ws_stream_hls_buf(r, p, q - p, 0, b);
    }
}


/* the response body: data itself, or a copy of it (a cached text) */

ngx_int_t
ngx_ws_stream_hls_buf(ngx_http_request_t *r, u_char *data, size_t len,
    ngx_uint_t copy, ngx_buf_t **b)
{
    u_char  *p;

    p = data;

    if (copy) {
        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(p, data, len);
    }

    *b = ngx_calloc_buf(r->pool);
    if (*b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (*b)->pos = p;
    (*b)->last = p + len;
    (*b)->memory = 1;
    (*b)->last_buf = (r == r->main) ? 1 : 0;
    (*b)->last_in_chain = 1;

    return NGX_OK;
}
