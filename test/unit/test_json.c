
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * Client messages: valid ping and report, every class of error, every
 * prefix of the valid messages.
 */


#include <math.h>

#include "test.h"
#include "ws_stream_json.h"


static int
test_json_parse(const char *s, size_t len, ws_stream_client_msg_t *m)
{
    int       rc;
    uint8_t  *b;

    b = test_dup(s, len);
    rc = ws_stream_json_parse(b, len, m);
    free(b);

    if (rc == WS_STREAM_ERROR && m->error == NULL) {
        return 99;
    }

    return rc;
}


#define test_json_str(s, m)  test_json_parse(s, sizeof(s) - 1, m)

#define test_json_ok(s)                                                      \
    (test_json_str(s, &m) == WS_STREAM_OK)

#define test_json_err(s)                                                     \
    (test_json_str(s, &m) == WS_STREAM_ERROR)


/* every prefix of a message: an error or a result, no read past the end */

static void
test_json_truncate(const char *s)
{
    int                         rc, bad;
    size_t                      i, len;
    ws_stream_client_msg_t  m;

    bad = 0;
    len = strlen(s);

    for (i = 0; i < len; i++) {
        rc = test_json_parse(s, i, &m);

        if (rc != WS_STREAM_OK && rc != WS_STREAM_ERROR) {
            bad++;
        }
    }

    T(bad == 0);
}


/* {"type":"report","<field>":<value>} and what it parses to */

static int
test_json_report_one(const char *field, const char *value,
    ws_stream_client_msg_t *m)
{
    int   n;
    char  buf[128];

    n = snprintf(buf, sizeof(buf), "{\"type\":\"report\",\"%s\":%s}", field,
                 value);

    return test_json_parse(buf, (size_t) n, m);
}


/*
 * Every number of a report: its range, the wrong types, not finite,
 * sent twice; the others stay -1 when it is sent alone.
 */

static void
test_json_report_numbers(void)
{
    int                          ok, rate;
    char                         buf[128];
    size_t                       i, j, k, n;
    ws_stream_client_msg_t   m;

    static const char  *names[] = {
        "latency", "buffer", "bitrate", "dropped", "decoded", "stalls",
        "stall_ms", "startup_ms", "rate", "throughput", "target", "jitter",
        "clock_err"
    };

    static const char  *bad[] = {
        "-1", "-0.001", "-1e-300", "\"1\"", "\"\"", "null", "true", "false",
        "1e999", "-1e999", "NaN", "Infinity", "-Infinity"
    };

    double  *v[] = {
        &m.latency, &m.buffer, &m.bitrate, &m.dropped, &m.decoded, &m.stalls,
        &m.stall_ms, &m.startup_ms, &m.rate, &m.throughput, &m.target,
        &m.jitter, &m.clock_err
    };

    n = sizeof(names) / sizeof(names[0]);

    for (i = 0; i < n; i++) {

        for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
            T(test_json_report_one(names[i], bad[j], &m)
              == WS_STREAM_ERROR);
        }

        T(test_json_report_one(names[i], "-2", &m) == WS_STREAM_ERROR
          && strcmp(m.error, "invalid report number") == 0);

        /* the largest value, and just above it */

        rate = strcmp(names[i], "rate") == 0;

        T(test_json_report_one(names[i], rate ? "16" : "1e12", &m)
          == WS_STREAM_OK);
        T(test_json_report_one(names[i], rate ? "16.001" : "1.000001e12", &m)
          == WS_STREAM_ERROR);

        if (rate) {
            T(test_json_report_one(names[i], "17", &m) == WS_STREAM_ERROR);
            T(test_json_report_one(names[i], "1e12", &m)
              == WS_STREAM_ERROR);
        }

        /* 0 and -0 are +0; the others are not sent: -1 */

        for (j = 0; j < 2; j++) {
            T(test_json_report_one(names[i], j ? "-0" : "0", &m)
              == WS_STREAM_OK);

            ok = *v[i] == 0 && !signbit(*v[i]);

            for (k = 0; k < n; k++) {
                if (k != i && *v[k] != -1) {
                    ok = 0;
                }
            }

            T(ok);
        }

        /* twice */

        snprintf(buf, sizeof(buf), "{\"type\":\"report\",\"%s\":1,\"%s\":1}",
                 names[i], names[i]);
        T(test_json_parse(buf, strlen(buf), &m) == WS_STREAM_ERROR
          && strcmp(m.error, "duplicate field") == 0);
    }
}


static void
test_json_ping(void)
{
    ws_stream_client_msg_t  m;

    T(test_json_ok("{\"type\":\"ping\",\"id\":7,\"t\":5123.25}"));
    T(m.type == WS_STREAM_MSG_PING && m.id == 7 && m.t == 5123.25);
    T(m.latency == -1 && m.state[0] == '\0');

    /* white space, any order, exponents, negative t */

    T(test_json_ok(" \t\r\n{ \"t\" : -1.5e3 ,\n\"id\" :0, \"type\":\"ping\" }"
                   " \n"));
    T(m.type == WS_STREAM_MSG_PING && m.id == 0 && m.t == -1500);

    T(test_json_ok("{\"type\":\"ping\",\"id\":9007199254740992,\"t\":0}"));
    T(m.id == 9007199254740992.0);

    T(test_json_ok("{\"type\":\"ping\",\"id\":1E3,\"t\":1e-5}"));
    T(m.id == 1000 && m.t == 1e-5);

    T(test_json_ok("{\"type\":\"ping\",\"id\":2.0,\"t\":-0}"));
    T(m.id == 2);

    T(test_json_ok("{\"type\":\"ping\",\"id\":-0,\"t\":1}"));
    T(m.id == 0);

    T(test_json_ok("{\"type\":\"ping\",\"id\":1,\"t\":1e308}"));

    /* escapes in names and values */

    T(test_json_ok("{\"typ\\u0065\":\"p\\u0069ng\",\"\\u0069d\":1,"
                   "\"t\":2}"));
    T(m.type == WS_STREAM_MSG_PING && m.id == 1 && m.t == 2);

    /* unknown fields, and report fields that a ping does not have */

    T(test_json_ok("{\"type\":\"ping\",\"a\":true,\"b\":false,\"c\":null,"
                   "\"d\":\"x\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\","
                   "\"e\":-0.5e+2,\"latency\":\"abc\",\"state\":7,"
                   "\"rate\":99,\"stall_ms\":null,"
                   "\"\\ud83d\\ude00\":\"\xc3\xa9\xf0\x9f\x98\x80\","
                   "\"id\":3,\"t\":4}"));
    T(m.type == WS_STREAM_MSG_PING && m.id == 3);
    T(m.rate == -1 && m.stall_ms == -1);

    /* id: integer from 0 to 2^53; t finite */

    T(test_json_err("{\"type\":\"ping\",\"id\":9007199254740994,\"t\":0}"));
    T(test_json_err("{\"type\":\"ping\",\"id\":1e16,\"t\":0}"));
    T(test_json_err("{\"type\":\"ping\",\"id\":-1,\"t\":0}"));
    T(test_json_err("{\"type\":\"ping\",\"id\":1.5,\"t\":0}"));
    T(test_json_err("{\"type\":\"ping\",\"id\":\"7\",\"t\":0}"));
    T(test_json_err("{\"type\":\"ping\",\"id\":null,\"t\":0}"));
    T(test_json_err("{\"type\":\"ping\",\"id\":true,\"t\":0}"));
    T(test_json_err("{\"type\":\"ping\",\"id\":1,\"t\":1e309}"));
    T(test_json_err("{\"type\":\"ping\",\"id\":1,\"t\":-1e400}"));
    T(test_json_err("{\"type\":\"ping\",\"id\":1,\"t\":\"1\"}"));
    T(test_json_err("{\"type\":\"ping\",\"id\":1}"));
    T(test_json_err("{\"type\":\"ping\",\"t\":1}"));
    T(test_json_err("{\"type\":\"ping\"}"));

    /* a number too long to convert, where it matters and where not */

    T(test_json_err("{\"type\":\"ping\",\"id\":1,\"t\":0.0000000000000000000"
                    "00000000000000000000000000000000000000000000000000000"
                    "00000000000000000000000000000000000000000000000000000"
                    "1}"));
    T(test_json_ok("{\"type\":\"ping\",\"id\":1,\"t\":1,\"x\":0.00000000000"
                   "00000000000000000000000000000000000000000000000000000"
                   "00000000000000000000000000000000000000000000000000000"
                   "000000001}"));

    test_json_truncate("{\"type\":\"ping\",\"id\":7,\"t\":5123.25}");
    test_json_truncate(" { \"t\" : -1.5e+3 , \"id\" : 0 , \"type\" : \"ping\""
                       " , \"x\" : [ ] } ");
}


static void
test_json_report(void)
{
    ws_stream_client_msg_t  m;

    T(test_json_ok("{\"type\":\"report\",\"latency\":420.5,\"buffer\":380,"
                   "\"bitrate\":2100000,\"dropped\":0,\"decoded\":1800,"
                   "\"stalls\":0,\"state\":\"playing\"}"));
    T(m.type == WS_STREAM_MSG_REPORT);
    T(m.latency == 420.5 && m.buffer == 380 && m.bitrate == 2100000);
    T(m.dropped == 0 && m.decoded == 1800 && m.stalls == 0);
    T(strcmp(m.state, "playing") == 0);

    /* an old client's report: the newer fields are not sent */

    T(m.stall_ms == -1 && m.startup_ms == -1 && m.rate == -1
      && m.throughput == -1);

    /* every field (docs/protocol.md) */

    T(test_json_ok("{\"type\":\"report\",\"latency\":162.5,\"buffer\":171,"
                   "\"bitrate\":1450000,\"throughput\":1530000,"
                   "\"dropped\":2,\"decoded\":5400,\"stalls\":1,"
                   "\"stall_ms\":480,\"startup_ms\":412.3,\"rate\":1.015,"
                   "\"state\":\"playing\"}"));
    T(m.type == WS_STREAM_MSG_REPORT);
    T(m.latency == 162.5 && m.buffer == 171 && m.bitrate == 1450000);
    T(m.throughput == 1530000 && m.dropped == 2 && m.decoded == 5400);
    T(m.stalls == 1 && m.stall_ms == 480 && m.startup_ms == 412.3);
    T(m.rate == 1.015 && strcmp(m.state, "playing") == 0);

    T(test_json_ok("{\"type\":\"report\"}"));
    T(m.type == WS_STREAM_MSG_REPORT && m.latency == -1
      && m.buffer == -1 && m.bitrate == -1 && m.dropped == -1
      && m.decoded == -1 && m.stalls == -1 && m.state[0] == '\0');
    T(m.stall_ms == -1 && m.startup_ms == -1 && m.rate == -1
      && m.throughput == -1);

    /* each alone (the loop below), and in other spellings */

    T(test_json_ok("{\"type\":\"report\",\"rate\":1.6e1,"
                   "\"throughput\":1E12,\"stall_ms\":12.75,"
                   "\"startup_ms\":0}"));
    T(m.rate == 16 && m.throughput == 1e12 && m.stall_ms == 12.75
      && m.startup_ms == 0);

    T(test_json_ok("{\"stalls\":1e12,\"type\":\"report\","
                   "\"state\":\"abcdefghijklmn_\",\"id\":\"x\",\"t\":[]}")
      == 0);
    T(test_json_ok("{\"stalls\":1e12,\"type\":\"report\","
                   "\"state\":\"abcdefghijklmn_\",\"id\":\"x\",\"t\":{}}")
      == 0);
    T(test_json_ok("{\"stalls\":1e12,\"type\":\"report\","
                   "\"state\":\"abcdefghijklmn_\",\"id\":\"x\",\"t\":null}"));
    T(m.stalls == 1e12 && strcmp(m.state, "abcdefghijklmn_") == 0);

    T(test_json_ok("{\"type\":\"report\",\"state\":\"\\u0070l\\u0061y\"}"));
    T(strcmp(m.state, "play") == 0);

    T(test_json_ok("{\"type\":\"report\",\"state\":\"_\"}"));

    /* ranges and types */

    T(test_json_err("{\"type\":\"report\",\"latency\":-1}"));
    T(test_json_err("{\"type\":\"report\",\"latency\":-0.001}"));
    T(test_json_err("{\"type\":\"report\",\"buffer\":1000000000001}"));
    T(test_json_err("{\"type\":\"report\",\"bitrate\":1.0000001e12}"));
    T(test_json_err("{\"type\":\"report\",\"dropped\":\"1\"}"));
    T(test_json_err("{\"type\":\"report\",\"decoded\":null}"));
    T(test_json_err("{\"type\":\"report\",\"stalls\":false}"));
    T(test_json_err("{\"type\":\"report\",\"latency\":1e999}"));

    test_json_report_numbers();

    T(test_json_err("{\"type\":\"report\",\"state\":\"\"}"));
    T(test_json_err("{\"type\":\"report\",\"state\":\"abcdefghijklmnop\"}"));
    T(test_json_err("{\"type\":\"report\",\"state\":\"Playing\"}"));
    T(test_json_err("{\"type\":\"report\",\"state\":\"play-ing\"}"));
    T(test_json_err("{\"type\":\"report\",\"state\":\"play ing\"}"));
    T(test_json_err("{\"type\":\"report\",\"state\":\"pl\\u0000ay\"}"));
    T(test_json_err("{\"type\":\"report\",\"state\":\"\xc3\xa9\"}"));
    T(test_json_err("{\"type\":\"report\",\"state\":null}"));
    T(test_json_err("{\"type\":\"report\",\"state\":1}"));

    test_json_truncate("{\"type\":\"report\",\"latency\":420.5,\"buffer\":380,"
                       "\"bitrate\":2100000,\"dropped\":0,\"decoded\":1800,"
                       "\"stalls\":0,\"state\":\"playing\"}");
    test_json_truncate("{\"type\":\"report\",\"stall_ms\":480,"
                       "\"startup_ms\":412.3,\"rate\":1.015,"
                       "\"throughput\":1530000}");
}


static void
test_json_errors(void)
{
    size_t                      i, n;
    char                        buf[2048];
    ws_stream_client_msg_t  m;

    /* not an object */

    T(test_json_err(""));
    T(test_json_err("   "));
    T(test_json_err("[]"));
    T(test_json_err("null"));
    T(test_json_err("\"ping\""));
    T(test_json_err("{"));
    T(test_json_err("{\"type\":\"ping\",\"id\":1,\"t\":1"));
    T(test_json_err("{\"type\":\"ping\",\"id\":1,\"t\":1,"));
    T(m.error != NULL);

    /* type */

    T(test_json_err("{}"));
    T(m.error && strcmp(m.error, "no type") == 0);
    T(test_json_err("{\"type\":\"pong\"}"));
    T(m.error && strcmp(m.error, "unknown type") == 0);
    T(test_json_err("{\"type\":\"Ping\",\"id\":1,\"t\":1}"));
    T(test_json_err("{\"type\":\"ping \",\"id\":1,\"t\":1}"));
    T(test_json_err("{\"type\":\"pin\",\"id\":1,\"t\":1}"));
    T(test_json_err("{\"type\":\"\",\"id\":1,\"t\":1}"));
    T(test_json_err("{\"type\":1}"));
    T(test_json_err("{\"type\":null}"));
    T(test_json_err("{\"Type\":\"ping\",\"id\":1,\"t\":1}"));

    /* nesting */

    T(test_json_err("{\"type\":\"report\",\"x\":{}}"));
    T(m.error && strcmp(m.error, "nested value") == 0);
    T(test_json_err("{\"type\":\"report\",\"x\":[1]}"));
    T(test_json_err("{\"type\":\"report\",\"x\":{\"y\":1}}"));
    T(test_json_err("{{}}"));

    /* duplicates, also of unknown fields and through escapes */

    T(test_json_err("{\"type\":\"ping\",\"type\":\"ping\",\"id\":1,\"t\":1}"));
    T(m.error && strcmp(m.error, "duplicate field") == 0);
    T(test_json_err("{\"type\":\"ping\",\"id\":1,\"t\":1,\"id\":2}"));
    T(test_json_err("{\"a\":1,\"type\":\"report\",\"a\":2}"));
    T(test_json_err("{\"a\":1,\"type\":\"report\",\"\\u0061\":2}"));
    T(test_json_err("{\"\\ud83d\\ude00\":1,\"type\":\"report\","
                    "\"\xf0\x9f\x98\x80\":2}"));
    T(test_json_ok("{\"a\":1,\"type\":\"report\",\"A\":2,\"a \":3,\"\":4}"));
    T(test_json_err("{\"\\n\":1,\"type\":\"report\",\"\\u000a\":2}"));
    T(test_json_err("{\"\\b\\f\\n\\r\\t\\/\\\\\\\"\":1,\"type\":\"report\","
                    "\"\\u0008\\u000c\\u000A\\u000d\\u0009/\\u005c"
                    "\\u0022\":2}"));
    T(test_json_ok("{\"\\b\\f\\n\\r\\t\\/\\\\\\\"\":1,\"type\":\"report\","
                   "\"\\u0008\\u000c\\u000A\\u000d\\u0009/\\u005c"
                   "\\u0023\":2}"));

    /* trailing bytes, separators */

    T(test_json_err("{\"type\":\"report\"} x"));
    T(m.error && strcmp(m.error, "trailing bytes") == 0);
    T(test_json_err("{\"type\":\"report\"}{}"));
    T(test_json_err("{\"type\":\"report\"}\0"));
    T(test_json_err("{\"type\":\"report\",}"));
    T(test_json_err("{,\"type\":\"report\"}"));
    T(test_json_err("{\"type\" \"report\"}"));
    T(test_json_err("{\"type\":\"report\" \"a\":1}"));
    T(test_json_err("{\"type\":\"report\";\"a\":1}"));
    T(test_json_err("{\"type\"::\"report\"}"));
    T(test_json_err("{\"type\":}"));
    T(test_json_err("{type:\"report\"}"));
    T(test_json_err("{'type':'report'}"));
    T(test_json_err("{\"type\":\"report\"\f}"));
    T(test_json_err("\xef\xbb\xbf{\"type\":\"report\"}"));

    /* numbers */

    T(test_json_ok("{\"type\":\"report\",\"a\":0,\"b\":-0,\"c\":0.5,"
                   "\"d\":1E5,\"e\":1e-5,\"f\":-12.5e+3,\"g\":10}"));
    T(test_json_err("{\"type\":\"report\",\"a\":01}"));
    T(test_json_err("{\"type\":\"report\",\"a\":-01}"));
    T(test_json_err("{\"type\":\"report\",\"a\":00}"));
    T(test_json_err("{\"type\":\"report\",\"a\":+1}"));
    T(test_json_err("{\"type\":\"report\",\"a\":-}"));
    T(test_json_err("{\"type\":\"report\",\"a\":--1}"));
    T(test_json_err("{\"type\":\"report\",\"a\":1.}"));
    T(test_json_err("{\"type\":\"report\",\"a\":.5}"));
    T(test_json_err("{\"type\":\"report\",\"a\":1e}"));
    T(test_json_err("{\"type\":\"report\",\"a\":1e+}"));
    T(test_json_err("{\"type\":\"report\",\"a\":1.5e}"));
    T(test_json_err("{\"type\":\"report\",\"a\":0x10}"));
    T(test_json_err("{\"type\":\"report\",\"a\":NaN}"));
    T(test_json_err("{\"type\":\"report\",\"a\":Infinity}"));
    T(test_json_err("{\"type\":\"report\",\"a\":-Infinity}"));
    T(test_json_err("{\"type\":\"report\",\"latency\":nan}"));
    T(test_json_err("{\"type\":\"report\",\"latency\":inf}"));
    T(test_json_err("{\"type\":\"report\",\"a\":1 2}"));
    T(test_json_err("{\"type\":\"report\",\"a\":1,5}"));

    /* literals */

    T(test_json_err("{\"type\":\"report\",\"a\":tru}"));
    T(test_json_err("{\"type\":\"report\",\"a\":True}"));
    T(test_json_err("{\"type\":\"report\",\"a\":nul}"));
    T(test_json_err("{\"type\":\"report\",\"a\":falsey}"));
    T(test_json_err("{\"type\":\"report\",\"a\":undefined}"));
    T(test_json_err("{\"type\":\"report\",\"a\":nulll}"));

    /* strings */

    T(test_json_err("{\"type\":\"report\",\"a\":\"x}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"x\ny\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"x\ty\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"x\0y\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\\x\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\\'\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\\u12\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\\u12g4\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\\U0041\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\\udc00\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\\ud83d\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\\ud83dx\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\\ud83d\\u0041\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\\ud83d\\ud83d\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\\ud83d\\n\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\\"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\\u"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\\ud83d\\u"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\xc3(\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\xc0\xaf\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\xed\xa0\x80\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\xf4\x90\x80\x80\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\xff\"}"));
    T(test_json_err("{\"type\":\"report\",\"a\":\"\xe2\x82\"}"));
    T(test_json_err("{\"type\":\"report\",\"\xc3\":1}"));
    T(test_json_ok("{\"type\":\"report\",\"a\":\"\\uD83D\\uDE00\\u00E9\","
                   "\"b\":\"\x7f\"}"));

    /* the number of fields */

    n = (size_t) sprintf(buf, "{\"type\":\"report\"");

    for (i = 1; i < 64; i++) {
        n += (size_t) sprintf(buf + n, ",\"k%u\":%u", (unsigned) i,
                              (unsigned) i);
    }

    memcpy(buf + n, "}", 2);

    T(test_json_parse(buf, n + 1, &m) == WS_STREAM_OK);

    memcpy(buf + n, ",\"k64\":64}", 11);

    T(test_json_parse(buf, n + 10, &m) == WS_STREAM_ERROR);
}


/* a rendition request: pin 0 .. 7, or -1 for automatic */

static void
test_json_rendition(void)
{
    ws_stream_client_msg_t  m;

    T(test_json_ok("{\"type\":\"rendition\",\"index\":2}")
      && m.type == WS_STREAM_MSG_RENDITION && m.index == 2);
    T(test_json_ok("{\"index\":-1,\"type\":\"rendition\"}")
      && m.index == -1);
    T(test_json_ok("{\"type\":\"rendition\",\"index\":0,\"x\":1}")
      && m.index == 0);
    T(test_json_ok("{\"type\":\"rendition\",\"index\":7}")
      && m.index == 7);
    T(test_json_ok("{\"type\":\"rendition\",\"index\":2e0}")
      && m.index == 2);

    T(test_json_err("{\"type\":\"rendition\"}")
      && strcmp(m.error, "invalid rendition index") == 0);
    T(test_json_err("{\"type\":\"rendition\",\"index\":8}"));
    T(test_json_err("{\"type\":\"rendition\",\"index\":-2}"));
    T(test_json_err("{\"type\":\"rendition\",\"index\":1.5}"));
    T(test_json_err("{\"type\":\"rendition\",\"index\":\"1\"}"));
    T(test_json_err("{\"type\":\"rendition\",\"index\":null}"));
    T(test_json_err("{\"type\":\"rendition\",\"index\":1e300}"));
    T(test_json_err("{\"type\":\"rendition\",\"index\":1,"
                    "\"index\":2}"));

    /* a report or a ping with an index is still that */

    T(test_json_ok("{\"type\":\"report\",\"index\":9}")
      && m.type == WS_STREAM_MSG_REPORT);

    test_json_truncate("{\"type\":\"rendition\",\"index\":-1}");
}


/* sync: signed, -10^6 .. 10^6, and whether it was sent */

static void
test_json_sync(void)
{
    ws_stream_client_msg_t  m;

    T(test_json_ok("{\"type\":\"report\",\"latency\":160}")
      && !m.has_sync && m.target == -1 && m.clock_err == -1);
    T(test_json_ok("{\"type\":\"report\",\"sync\":-12.5}")
      && m.has_sync && m.sync == -12.5);
    T(test_json_ok("{\"type\":\"report\",\"sync\":-1}")
      && m.has_sync && m.sync == -1);
    T(test_json_ok("{\"type\":\"report\",\"sync\":0,\"target\":150,"
                   "\"jitter\":31.5,\"clock_err\":0.25}")
      && m.has_sync && m.sync == 0 && m.target == 150 && m.jitter == 31.5
      && m.clock_err == 0.25);
    T(test_json_ok("{\"type\":\"report\",\"sync\":1e6}") && m.sync == 1e6);
    T(test_json_ok("{\"type\":\"report\",\"sync\":-1e6}"));
    T(test_json_err("{\"type\":\"report\",\"sync\":1000001}")
      && strcmp(m.error, "invalid report number") == 0);
    T(test_json_err("{\"type\":\"report\",\"sync\":-1000001}"));
    T(test_json_err("{\"type\":\"report\",\"sync\":\"1\"}"));
    T(test_json_err("{\"type\":\"report\",\"sync\":null}"));
    T(test_json_err("{\"type\":\"report\",\"sync\":1,\"sync\":2}"));

    test_json_truncate("{\"type\":\"report\",\"sync\":-3.25,"
                       "\"clock_err\":1}");
}


/* a switch: a string, decoded, no control characters, bounded */

static void
test_json_switch(void)
{
    char                     buf[600];
    size_t                   n;
    ws_stream_client_msg_t  m;

    T(test_json_ok("{\"type\":\"switch\",\"stream\":\"live/other\"}")
      && m.type == WS_STREAM_MSG_SWITCH && m.stream_len == 10
      && strcmp(m.stream, "live/other") == 0);
    T(test_json_ok("{\"stream\":\"a\\/b\",\"type\":\"switch\"}")
      && strcmp(m.stream, "a/b") == 0);
    T(test_json_ok("{\"type\":\"switch\",\"stream\":\"x/\\u00e9\\ud83d"
                   "\\ude00\\u0800\"}")
      && m.stream_len == 2 + 2 + 4 + 3
      && memcmp(m.stream, "x/\xc3\xa9\xf0\x9f\x98\x80\xe0\xa0\x80", 11) == 0);

    /* the server says whether a name exists; the parser only its form */
    T(test_json_ok("{\"type\":\"switch\",\"stream\":\"noslash\"}"));

    T(test_json_err("{\"type\":\"switch\"}")
      && strcmp(m.error, "switch without a stream") == 0);
    T(test_json_err("{\"type\":\"switch\",\"stream\":\"\"}"));
    T(test_json_err("{\"type\":\"switch\",\"stream\":1}"));
    T(test_json_err("{\"type\":\"switch\",\"stream\":null}"));
    T(test_json_err("{\"type\":\"switch\",\"stream\":\"a/\\nb\"}")
      && strcmp(m.error, "invalid switch stream") == 0);
    T(test_json_err("{\"type\":\"switch\",\"stream\":\"a/\\u007f\"}"));
    T(test_json_err("{\"type\":\"switch\",\"stream\":\"a/\\u0000\"}"));

    /* 251 bytes fit with the NUL (the last code point may take 4) */

    n = (size_t) sprintf(buf, "{\"type\":\"switch\",\"stream\":\"a/");
    memset(buf + n, 'b', 249);
    n += 249;
    memcpy(buf + n, "\"}", 3);
    T(test_json_parse(buf, n + 2, &m) == WS_STREAM_OK
      && m.stream_len == 251);

    memset(buf + n, 'b', 300);
    n += 300;
    memcpy(buf + n, "\"}", 3);
    T(test_json_parse(buf, n + 2, &m) == WS_STREAM_ERROR
      && strcmp(m.error, "switch stream too long") == 0);

    test_json_truncate("{\"type\":\"switch\",\"stream\":\"live/\\u00e9\"}");
}


void
test_json(void)
{
    test_json_ping();
    test_json_report();
    test_json_errors();
    test_json_rendition();
    test_json_sync();
    test_json_switch();
}
