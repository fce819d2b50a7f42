
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
