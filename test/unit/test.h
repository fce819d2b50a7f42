
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * The unit tests of the nginx-free core: a tiny check macro and the
 * entry points of each area.
 */


#ifndef _TEST_H_INCLUDED_
#define _TEST_H_INCLUDED_


#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>


extern unsigned  test_passed;
extern unsigned  test_failed;


#define T(expr)                                                              \
    do {                                                                     \
        if (expr) {                                                          \
            test_passed++;                                                   \
                                                                             \
        } else {                                                             \
            test_failed++;                                                   \
            fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__,      \
                    #expr);                                                  \
        }                                                                    \
    } while (0)


/* a copy in a heap block of exactly len bytes: ASan sees any over-read */
uint8_t *test_dup(const void *p, size_t len);

void test_flv(void);
void test_ws(void);
void test_json(void);
void test_ring(void);
void test_mp4(void);
void test_hls(void);
void test_m3u8(void);
void test_stats(void);
void test_abr(void);


#endif /* _TEST_H_INCLUDED_ */
