
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * What the writer (ws_stream_hls.c) and the readers (ws_stream_hls_read.c)
 * of the LL-HLS index share, and nobody else needs.
 */


#ifndef _WS_STREAM_HLS_INT_H_INCLUDED_
#define _WS_STREAM_HLS_INT_H_INCLUDED_


#include "ws_stream_hls.h"


#define ws_stream_hls_load(p)      __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define ws_stream_hls_store(p, v)  __atomic_store_n(p, v, __ATOMIC_RELEASE)

#define ws_stream_hls_seg(h, msn)  (&(h)->segs[(msn) % WS_STREAM_HLS_SEGS])
#define ws_stream_hls_prt(h, n)    (&(h)->parts[(n) % WS_STREAM_HLS_PARTS])


#endif /* _WS_STREAM_HLS_INT_H_INCLUDED_ */
