
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The texts of listed viewers in the zone: a User-Agent or an
 * X-Forwarded-For is kept once per distinct value, with a count of the
 * records that use it, so that an audience of a few browser builds holds
 * a few copies, not one per viewer (architecture.md, "Memory per
 * viewer").  Everything here runs under the zone's mutex.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ws_stream.h"


/* the text of len bytes at data, shared; NULL when len is 0 or there is
 * no room (the viewer is listed without it) */

ngx_ws_stream_text_t *
ngx_ws_stream_text_get_locked(ngx_ws_stream_zone_t *zone, u_char *data,
    size_t len)
{
    uint32_t               hash;
    ngx_ws_stream_text_t  *t, **bucket;

    if (len == 0) {
        return NULL;
    }

    hash = (uint32_t) ngx_hash_key(data, len);
    bucket = &zone->sh->texts[hash % NGX_WS_STREAM_TEXT_BUCKETS];

    for (t = *bucket; t; t = t->next) {
        if (t->hash == hash && t->len == len
            && ngx_memcmp(t->data, data, len) == 0)
        {
            t->refs++;
            return t;
        }
    }

    t = ngx_slab_alloc_locked(zone->shpool,
                              offsetof(ngx_ws_stream_text_t, data) + len);
    if (t == NULL) {
        return NULL;
    }

    t->refs = 1;
    t->hash = hash;
    t->len = (uint16_t) len;
    ngx_memcpy(t->data, data, len);

    t->next = *bucket;
    *bucket = t;

    return t;
}


void
ngx_ws_stream_text_put_locked(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_text_t *t)
{
    ngx_ws_stream_text_t  **p;

    if (t == NULL || --t->refs) {
        return;
    }

    for (p = &zone->sh->texts[t->hash % NGX_WS_STREAM_TEXT_BUCKETS];
         *p != t;
         p = &(*p)->next)
    {
        /* void */
    }

    *p = t->next;

    ngx_slab_free_locked(zone->shpool, t);
}


/* a listed viewer's record goes: its texts with it */

void
ngx_ws_stream_rec_free_locked(ngx_ws_stream_zone_t *zone,
    ngx_ws_stream_vrec_t *rec)
{
    ngx_ws_stream_text_put_locked(zone, rec->ua);
    ngx_ws_stream_text_put_locked(zone, rec->xff);

    ngx_slab_free_locked(zone->shpool, rec);
}


/* the API's copy of a record, made under the mutex */

void
ngx_ws_stream_rec_copy_locked(ngx_ws_stream_listed_t *l,
    ngx_ws_stream_vrec_t *rec)
{
    l->rec = *rec;
    l->ua_len = 0;
    l->xff_len = 0;

    if (rec->ua) {
        l->ua_len = ngx_min(rec->ua->len, NGX_WS_STREAM_UA_LEN);
        ngx_memcpy(l->ua, rec->ua->data, l->ua_len);
    }

    if (rec->xff) {
        l->xff_len = ngx_min(rec->xff->len, NGX_WS_STREAM_ADDR_LEN);
        ngx_memcpy(l->xff, rec->xff->data, l->xff_len);
    }
}


/* the client's address, in binary: its text is made only when listed */

void
ngx_ws_stream_rec_addr(ngx_ws_stream_vrec_t *rec, struct sockaddr *sa)
{
    rec->family = (uint8_t) sa->sa_family;

    switch (sa->sa_family) {

#if (NGX_HAVE_INET6)
    case AF_INET6:
        ngx_memcpy(rec->addr, &((struct sockaddr_in6 *) sa)->sin6_addr, 16);
        break;
#endif

    case AF_INET:
        ngx_memcpy(rec->addr, &((struct sockaddr_in *) sa)->sin_addr, 4);
        break;

    default: /* AF_UNIX */
        break;
    }
}


size_t
ngx_ws_stream_rec_addr_text(ngx_ws_stream_vrec_t *rec, u_char *text,
    size_t len)
{
    switch (rec->family) {

    case AF_INET:
#if (NGX_HAVE_INET6)
    case AF_INET6:
#endif
        return ngx_inet_ntop(rec->family, rec->addr, text, len);

#if (NGX_HAVE_UNIX_DOMAIN)
    case AF_UNIX:
        return ngx_cpystrn(text, (u_char *) "unix:", len) - text;
#endif

    default:
        return 0;
    }
}
