
/*
 * Copyright (C) ngx_ws_stream authors
 */


#include "test.h"


unsigned  test_passed;
unsigned  test_failed;


uint8_t *
test_dup(const void *p, size_t len)
{
    uint8_t  *b;

    b = malloc(len ? len : 1);

    if (b == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }

    if (len) {
        memcpy(b, p, len);
    }

    return b;
}


int
main(void)
{
    test_flv();
    test_ws();
    test_json();
    test_ring();
    test_mp4();
    test_hls();
    test_m3u8();
    test_stats();
    test_abr();

    printf("%u passed, %u failed\n", test_passed, test_failed);

    return test_failed ? 1 : 0;
}
