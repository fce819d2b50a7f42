
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * What a viewer keeps for its connection's life (its struct, and the
 * connection's log and addresses once nginx's pool is freed) comes from
 * blocks of its own, one free list per size, never from the heap: a
 * burst of handshakes frees its request pools and header buffers around
 * whatever long-lived chunk each leaves behind, and glibc cannot give
 * those holes back while one chunk stays in their pages (measured:
 * architecture.md, "Memory per viewer").  Per worker, no lock; blocks
 * stay for the next viewers, as a slab's pages do.  Under ASan the heap
 * is used, so that the sanitizer still sees every viewer's life.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ws_stream.h"
#include "ngx_ws_stream_viewer.h"


#define NGX_WS_STREAM_MEM_BLOCK  (64 * 1024)


typedef struct {
    size_t                   size;
    void                    *free;          /* the next free one is in
                                               its first word */
} ngx_ws_stream_mem_t;


static ngx_ws_stream_mem_t  ngx_ws_stream_mem[] = {
    { ngx_align(sizeof(ngx_ws_stream_viewer_t), 8), NULL },
    { NGX_WS_STREAM_KEPT_SIZE, NULL }
};


void *
ngx_ws_stream_mem_alloc(ngx_uint_t kind, ngx_log_t *log)
{
#if !defined __SANITIZE_ADDRESS__

    u_char               *p;
    size_t                off;
    ngx_ws_stream_mem_t  *m;

    m = &ngx_ws_stream_mem[kind];

    if (m->free == NULL) {
        p = mmap(NULL, NGX_WS_STREAM_MEM_BLOCK, PROT_READ|PROT_WRITE,
                 MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED) {
            ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                          "ws_stream: mmap(%uz) failed",
                          (size_t) NGX_WS_STREAM_MEM_BLOCK);
            return NULL;
        }

        for (off = 0; off + m->size <= NGX_WS_STREAM_MEM_BLOCK;
             off += m->size)
        {
            *(void **) (p + off) = m->free;
            m->free = p + off;
        }
    }

    p = m->free;
    m->free = *(void **) p;

    return p;

#else

    return ngx_alloc(ngx_ws_stream_mem[kind].size, log);

#endif
}


void
ngx_ws_stream_mem_free(ngx_uint_t kind, void *p)
{
#if !defined __SANITIZE_ADDRESS__

    ngx_ws_stream_mem_t  *m;

    m = &ngx_ws_stream_mem[kind];

    *(void **) p = m->free;
    m->free = p;

#else

    ngx_free(p);

#endif
}
