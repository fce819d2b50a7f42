
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Rendition groups: an application with "ws_stream_variant _720p _360p"
 * makes the streams demo_720p and demo_360p the renditions of the group
 * "demo", highest first.  Each rendition is a stream of its own in the
 * zone (its ring, its HLS index, its statistics); a group is only names.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ws_stream.h"


/* the rendition k of the group base: name in buf (NGX_WS_STREAM_NAME_LEN) */

ngx_int_t
ngx_ws_stream_group_name(ngx_ws_stream_app_t *a, ngx_str_t *base,
    ngx_uint_t k, u_char *buf, ngx_str_t *name)
{
    ngx_str_t  *suffix;

    suffix = (ngx_str_t *) a->variants->elts + k;

    if (base->len + suffix->len >= NGX_WS_STREAM_NAME_LEN) {
        return NGX_ERROR;
    }

    name->data = buf;
    name->len = ngx_cpymem(ngx_cpymem(buf, base->data, base->len),
                           suffix->data, suffix->len)
                - buf;

    return NGX_OK;
}


/*
 * The rendition that name is (its index, base set to the group's name),
 * or NGX_DECLINED: a plain stream.  The longest matching suffix wins.
 */

ngx_int_t
ngx_ws_stream_group_member(ngx_ws_stream_app_t *a, ngx_str_t *name,
    ngx_str_t *base)
{
    ngx_int_t    found;
    ngx_uint_t   k;
    ngx_str_t   *suffix;

    if (a == NULL || a->variants == NULL) {
        return NGX_DECLINED;
    }

    suffix = a->variants->elts;
    found = NGX_DECLINED;

    for (k = 0; k < a->variants->nelts; k++) {

        if (suffix[k].len >= name->len
            || ngx_strncmp(name->data + name->len - suffix[k].len,
                           suffix[k].data, suffix[k].len)
               != 0)
        {
            continue;
        }

        if (found == NGX_DECLINED || suffix[k].len > suffix[found].len) {
            found = k;
        }
    }

    if (found != NGX_DECLINED) {
        base->data = name->data;
        base->len = name->len - suffix[found].len;
    }

    return found;
}


/* the rendition an entry is, as ngx_ws_stream_group_member(); *a its app */

ngx_int_t
ngx_ws_stream_group_entry(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_entry_t *e, ngx_ws_stream_app_t **a, ngx_str_t *base)
{
    ngx_str_t  app, name;

    app.data = e->app;
    app.len = e->app_len;
    name.data = e->name;
    name.len = e->name_len;

    *a = ngx_ws_stream_app_find(zone, &app);

    return ngx_ws_stream_group_member(*a, &name, base);
}


/*
 * Under the mutex: the entries of the renditions of base (-1 for one the
 * zone does not have); how many it has.
 */

ngx_uint_t
ngx_ws_stream_group_find_locked(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_app_t *a, ngx_str_t *base, ngx_int_t *entries)
{
    u_char      buf[NGX_WS_STREAM_NAME_LEN];
    ngx_str_t   name;
    ngx_uint_t  k, n;

    n = 0;

    for (k = 0; k < a->variants->nelts; k++) {
        entries[k] = -1;

        if (ngx_ws_stream_group_name(a, base, k, buf, &name) != NGX_OK) {
            continue;
        }

        entries[k] = ngx_ws_stream_entry_find(zone, &a->name, &name, 0);

        if (entries[k] >= 0) {
            n++;

        } else {
            entries[k] = -1;
        }
    }

    return n;
}


/*
 * The publisher's worker, every second: are the keyframes of rendition i
 * at the times of those of the group's other renditions?  A keyframe is
 * judged once every other rendition that publishes has passed its time;
 * one found in a rendition that covers that time, but not there, counts
 * as misaligned (a warning once per publish).
 */

void
ngx_ws_stream_group_align(ngx_ws_stream_zone_t *zone, ngx_uint_t i,
    ngx_log_t *log)
{
    uint32_t                    d, key, first, last;
    ngx_int_t                   self, entries[NGX_WS_STREAM_VARIANTS_MAX];
    ngx_str_t                   base;
    ngx_uint_t                  j, k, m, n, bad, found;
    ngx_ws_stream_app_t        *a;
    ngx_ws_stream_entry_t      *e, *s;
    ngx_ws_stream_pub_stats_t  *ps, *ss;

    e = &zone->sh->streams[i];
    ps = &e->stats.pub;

    if (ps->checked == ps->nkeys) {
        return;
    }

    self = ngx_ws_stream_group_entry(zone, e, &a, &base);

    if (self == NGX_DECLINED) {
        ps->checked = ps->nkeys;
        return;
    }

    bad = 0;
    d = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    (void) ngx_ws_stream_group_find_locked(zone, a, &base, entries);

    if (ps->nkeys - ps->checked > NGX_WS_STREAM_STATS_KEYS) {
        ps->checked = ps->nkeys - NGX_WS_STREAM_STATS_KEYS;
    }

    for (j = ps->checked; j < ps->nkeys; j++) {
        d = ps->keys[j % NGX_WS_STREAM_STATS_KEYS];
        found = 1;

        for (m = 0; m < a->variants->nelts; m++) {

            if ((ngx_int_t) m == self || entries[m] < 0) {
                continue;
            }

            s = &zone->sh->streams[entries[m]];
            ss = &s->stats.pub;

            if (s->pub != NGX_WS_STREAM_PUB_ONLINE || ss->nkeys == 0) {
                continue;
            }

            n = ngx_min(ss->nkeys, NGX_WS_STREAM_STATS_KEYS);
            first = ss->keys[(ss->nkeys - n) % NGX_WS_STREAM_STATS_KEYS];
            last = ss->keys[(ss->nkeys - 1) % NGX_WS_STREAM_STATS_KEYS];

            if (last < d) {
                /* it has not come to that time yet: judge later */
                goto done;
            }

            if (d < first) {
                continue;
            }

            found = 0;

            for (k = ss->nkeys - n; k < ss->nkeys; k++) {
                key = ss->keys[k % NGX_WS_STREAM_STATS_KEYS];

                if (key + 1 >= d && key <= d + 1) {
                    found = 1;
                    break;
                }
            }

            if (!found) {
                break;
            }
        }

        if (!found) {
            ps->misaligned++;
            bad++;
        }
    }

done:

    ps->checked = j;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (bad && !ps->align_warned) {
        ps->align_warned = 1;
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "ws_stream: the keyframes of \"%*s/%*s\" do not line "
                      "up with those of the other renditions of \"%V\" (one "
                      "at %uD ms has no match): give the encoder a fixed "
                      "keyframe interval for all of them", e->app_len, e->app,
                      e->name_len, e->name, &base, d);
    }
}
