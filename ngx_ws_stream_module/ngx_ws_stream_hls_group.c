
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * LL-HLS of a rendition group (ws_stream_variant): the group's
 * multivariant playlist lists every rendition that has cut a part, with
 * what its own index measured (BANDWIDTH, CODECS, RESOLUTION), and each
 * rendition's media playlist reports where the others are
 * (EXT-X-RENDITION-REPORT), so that a player's own ABR switches among
 * them without a playlist request more.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_hls.h"
#include "ws_stream_m3u8.h"


static u_char *ngx_ws_stream_hls_sibling_uri(ngx_http_request_t *r,
    ngx_ws_stream_entry_t *e);


/* under the mutex */

ngx_int_t
ngx_ws_stream_hls_group_multivariant(ngx_http_request_t *r,
    ngx_ws_stream_hls_ctx_t *ctx, ngx_ws_stream_zone_t *zone, ngx_buf_t **b)
{
    u_char                    *text;
    size_t                     len;
    ngx_int_t                  entries[NGX_WS_STREAM_VARIANTS_MAX];
    ngx_uint_t                 k, n, independent;
    ngx_ws_stream_entry_t     *e;
    ngx_ws_stream_hls_sh_t    *hls;
    ws_stream_m3u8_variant_t   v[NGX_WS_STREAM_VARIANTS_MAX];

    (void) ngx_ws_stream_group_find_locked(zone, ctx->a, &ctx->name,
                                           entries);
    n = 0;
    independent = 1;

    for (k = 0; k < ctx->a->variants->nelts; k++) {

        if (entries[k] < 0) {
            continue;
        }

        e = &zone->sh->streams[entries[k]];
        hls = e->hls;

        if (e->pub != NGX_WS_STREAM_PUB_ONLINE || hls == NULL
            || ws_stream_hls_snapshot(&hls->index, ngx_ws_stream_hls_snap)
               != WS_STREAM_OK
            || ngx_ws_stream_hls_snap->head.committed == 0)
        {
            continue;
        }

        ngx_memzero(&v[n], sizeof(ws_stream_m3u8_variant_t));

        ws_stream_m3u8_rates(ngx_ws_stream_hls_snap, &v[n].bandwidth,
                             &v[n].average, &v[n].frame_rate);

        v[n].uri = (char *) ngx_ws_stream_hls_sibling_uri(r, e);
        if (v[n].uri == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        v[n].codecs = hls->codecs[0] ? hls->codecs : NULL;
        v[n].width = hls->width;
        v[n].height = hls->height;

        if (hls->index.forced) {
            independent = 0;
        }

        n++;
    }

    if (n == 0) {
        return NGX_HTTP_NOT_FOUND;
    }

    len = ws_stream_m3u8_multivariant(NULL, 0, v, n, independent);

    text = ngx_pnalloc(r->pool, len);
    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ws_stream_m3u8_multivariant(text, len, v, n, independent);

    return ngx_ws_stream_hls_buf(r, text, len, 0, b);
}


/*
 * Under the mutex, for the media playlist of a rendition: the last part
 * of every other rendition of its group, and a key that changes when any
 * of them does (the worker's cached playlist text depends on them).
 */

ngx_int_t
ngx_ws_stream_hls_reports(ngx_http_request_t *r, ngx_ws_stream_hls_ctx_t *ctx,
    ngx_ws_stream_zone_t *zone)
{
    ngx_int_t                 self, entries[NGX_WS_STREAM_VARIANTS_MAX];
    ngx_str_t                 base;
    ngx_uint_t                k;
    ws_stream_hls_head_t      head;
    ngx_ws_stream_entry_t    *e;
    ws_stream_m3u8_report_t  *rep;

    ctx->nreports = 0;
    ctx->reports_key = 0;

    self = ngx_ws_stream_group_member(ctx->a, &ctx->name, &base);

    if (self == NGX_DECLINED) {
        return NGX_OK;
    }

    (void) ngx_ws_stream_group_find_locked(zone, ctx->a, &base, entries);

    ctx->reports = ngx_palloc(r->pool, NGX_WS_STREAM_VARIANTS_MAX
                                       * sizeof(ws_stream_m3u8_report_t));
    if (ctx->reports == NULL) {
        return NGX_ERROR;
    }

    for (k = 0; k < ctx->a->variants->nelts; k++) {

        if ((ngx_int_t) k == self || entries[k] < 0) {
            continue;
        }

        e = &zone->sh->streams[entries[k]];

        if (e->pub != NGX_WS_STREAM_PUB_ONLINE || e->hls == NULL
            || ws_stream_hls_head(&e->hls->index, &head) != WS_STREAM_OK
            || (head.open_parts == 0 && head.prev_parts == 0))
        {
            continue;
        }

        rep = &ctx->reports[ctx->nreports++];

        rep->uri = (char *) ngx_ws_stream_hls_sibling_uri(r, e);
        if (rep->uri == NULL) {
            return NGX_ERROR;
        }

        if (head.open_parts) {
            rep->msn = head.open;
            rep->part = head.open_parts - 1;

        } else {
            rep->msn = head.open - 1;
            rep->part = head.prev_parts - 1;
        }

        ctx->reports_key = ctx->reports_key * 1000003
                           + (rep->msn << 8) + rep->part + k + 1;
    }

    return NGX_OK;
}


/* "../<name>/media.m3u8", the name escaped, NUL-terminated */

static u_char *
ngx_ws_stream_hls_sibling_uri(ngx_http_request_t *r, ngx_ws_stream_entry_t *e)
{
    u_char  *uri, *p;
    size_t   len;

    len = sizeof("../") - 1
          + e->name_len + 2 * ngx_escape_uri(NULL, e->name, e->name_len,
                                             NGX_ESCAPE_URI_COMPONENT)
          + sizeof("/media.m3u8");

    uri = ngx_pnalloc(r->pool, len);
    if (uri == NULL) {
        return NULL;
    }

    p = ngx_cpymem(uri, "../", sizeof("../") - 1);
    p = (u_char *) ngx_escape_uri(p, e->name, e->name_len,
                                  NGX_ESCAPE_URI_COMPONENT);
    ngx_memcpy(p, "/media.m3u8", sizeof("/media.m3u8"));

    return uri;
}
