/*
 * ws-stream-load: statistics and report.
 *
 * What is counted for each media unit a viewer receives (messages, video
 * frames, keyframes, stamp delays, lost frames), the log-linear histogram
 * the delays go into, the sampling of server processes (/proc/PID/stat,
 * /proc/PID/status) and of our own CPU, and, once the run is over, the
 * merge of the per-thread statistics and the per-viewer counters into the
 * human table (stderr) and the JSON line (stdout, --json).  The run itself
 * (options, threads, timeline, sockets) is in load.c.
 *
 * JSON output (--json): one object on one line on stdout.  Keys:
 *
 *   label              --label text ("" if none)
 *   mode               "ws", "flv", "rtmp" or "hls"
 *   url                --url
 *   threads            --threads
 *   viewers            viewers asked (-n)
 *   connected          viewers that reached "connected"
 *   failed             viewers that never connected
 *   alive_at_end       viewers still open when the window ended
 *   connect_s          seconds from the first connect() until every viewer
 *                      was connected or failed
 *   errors             object: connect (socket/connect() failed, e.g.
 *                      refused), handshake (upgrade or play refused, bad
 *                      accept key), timeout (not connected within 10 s or
 *                      before the 30 s connect limit), closed (closed by
 *                      the server once connected: EOF, reset, close frame),
 *                      protocol (malformed data from the server)
 *   first_error        text of the earliest error of any kind ("" if
 *                      none)
 *   first_errors       object: the first error text of each kind
 *   window_s           measured window length, seconds (wall clock)
 *   first_key_ms       object {count,p50,p95,max}: time from connect() to
 *                      the first complete video keyframe, over viewers
 *                      (ms; whole run, not only the window)
 *   sei_delay_us       object {count,p50,p95,p99,max,mean}: per video frame,
 *                      receive time minus the stamp's wall_us (publisher
 *                      send time), microseconds, window only
 *   ingest_delay_ms    same shape, ws mode only (null otherwise): per media
 *                      message (codec configuration excluded), receive time
 *                      minus the server's ingest stamp, milliseconds
 *   bytes              bytes received in the window, all viewers (payload
 *                      of the TCP stream, framing included)
 *   bytes_per_s        bytes / window_s
 *   bytes_per_s_per_viewer  bytes_per_s / connected
 *   bytes_per_s_min_viewer  lowest bytes/s of one viewer alive at the end
 *   msgs_per_s         media messages (ws binary messages, FLV tags, RTMP
 *                      audio/video/data messages) per second, all viewers
 *   msgs_per_s_per_viewer   msgs_per_s / connected
 *   video_frames_per_s video frames (not codec configuration) per second,
 *                      all viewers
 *   keyframes          video keyframes received in the window, all viewers
 *   stamped_frames     video frames in the window that carried a stamp
 *   frames_lost        gaps in the stamps' (loop, index) sequence, summed
 *                      over viewers (window only; index wraps at 900)
 *   frames_lost_max_viewer  the largest frames_lost of one viewer
 *   viewers_with_loss  viewers with frames_lost > 0
 *   skips              ws `skipped` notices in the window (0 otherwise)
 *   skipped_frames     sum of their `frames`
 *   skipped_bytes      sum of their `bytes`
 *   offline_notices    ws `offline` notices (whole run)
 *   online_notices     ws `online` notices (whole run)
 *   reports            ws `report` messages sent (--report-interval), window
 *   reports_per_s      reports / window_s
 *   reports_dropped    reports not sent for want of room in a viewer's
 *                      output buffer (whole run)
 *   load_cpu_ms        CPU (user + system) of this process in the window
 *   load_cpu_ms_per_viewer_s  load_cpu_ms / (connected * window_s)
 *   server_pids        array of {pid, cpu_ms, rss_kb, ok}: per --pids PID,
 *                      utime+stime over the window from /proc/PID/stat and
 *                      VmRSS at the end; ok false if it could not be read
 *   server_cpu_ms      sum of their cpu_ms
 *   server_rss_kb      sum of their rss_kb
 *   cpu_ms_per_viewer_s     server_cpu_ms / (connected * window_s)
 *   hls                null, or in hls mode an object:
 *       requests       {playlist, init, part}: answers received in the
 *                      window (blocking and other playlist requests alike)
 *       requests_per_s their sum / window_s
 *       status         {"200", "400", "404", "503", "other"}: answers by
 *                      status, whole run
 *       parts          parts received whole (200) in the window
 *       parts_per_s_per_viewer  parts / (connected * window_s)
 *       parts_skipped  new parts a playlist listed that were not fetched
 *                      (more than 16 at once), window
 *       odd            playlist oddities, whole run: a blocking answer
 *                      without the part asked for, no preload hint, an
 *                      EXT-X-PART without a usable URI
 *       first_status   the first answer that was not 200 ("" if none)
 *       first_odd      the first oddity ("" if none)
 *       listed_delay_us  {count,p50,p95,p99,max,mean}: per stamped video
 *                      frame, arrival of the playlist that listed its part
 *                      minus the stamp, window
 *       hold_us        same shape: blocking playlist request sent ->
 *                      answer complete, window
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "load.h"
#include "sei.h"


/* a finished run, summed up: what the human table and the JSON print */
typedef struct {
    load_stats_t    tot;
    const char     *first_err;    /* earliest error of any kind */
    const char     *hls_first_status;
    const char     *hls_first_odd;
    uint64_t       *keys;         /* sorted first-keyframe delays, us */
    uint64_t        nkeys;
    uint64_t        lost;
    uint64_t        lost_max;
    uint64_t        with_loss;
    uint64_t        alive;
    uint64_t        srv_ticks;
    uint64_t        srv_rss;
    int             ok_pids;
    double          win_s;
    double          min_bps;
    double          hz;
    double          per;          /* viewer-seconds */
} load_sum_t;


/* ---- histogram ---- */

static unsigned
hist_index(uint64_t v)
{
    unsigned  shift;

    if (v < 256) {
        return (unsigned) v;
    }
    shift = 63 - (unsigned) __builtin_clzll(v) - 7;
    if (shift > 30) {
        return LOAD_HIST_BUCKETS - 1;
    }
    return 128 * shift + (unsigned) (v >> shift);
}


/* middle of bucket i */
static uint64_t
hist_value(unsigned i)
{
    unsigned  shift;

    if (i < 256) {
        return i;
    }
    shift = i / 128 - 1;
    return ((uint64_t) (i - 128 * shift) << shift)
           + ((1ULL << shift) >> 1);
}


void
load_hist_add(load_hist_t *h, uint64_t v)
{
    h->b[hist_index(v)]++;
    h->count++;
    h->sum += (double) v;
    if (v > h->max) {
        h->max = v;
    }
}


static void
hist_merge(load_hist_t *to, const load_hist_t *from)
{
    unsigned  i;

    for (i = 0; i < LOAD_HIST_BUCKETS; i++) {
        to->b[i] += from->b[i];
    }
    to->count += from->count;
    to->sum += from->sum;
    if (from->max > to->max) {
        to->max = from->max;
    }
}


static uint64_t
hist_pct(const load_hist_t *h, double q)
{
    uint64_t  want, acc, v;
    unsigned  i;

    if (h->count == 0) {
        return 0;
    }
    want = (uint64_t) ceil(q * (double) h->count);
    if (want == 0) {
        want = 1;
    }
    acc = 0;
    for (i = 0; i < LOAD_HIST_BUCKETS; i++) {
        acc += h->b[i];
        if (acc >= want) {
            v = hist_value(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}


/* ---- per media unit ---- */

void
load_media(load_thread_t *t, load_conn_t *c, unsigned type,
    const uint8_t *body, size_t body_len, size_t total_len)
{
    bench_stamp_t  st;
    uint64_t       seq;
    int            key;

    (void) total_len;

    if (type != 8 && type != 9 && type != 18) {
        return;
    }
    if (t->measuring) {
        c->msgs++;
        t->st.msgs++;
    }
    if (type != 9 || body_len < 2) {
        return;
    }
    if ((body[0] & 0x80) == 0 && body[1] != 1) {
        return;                 /* AVC sequence header or end of sequence */
    }
    key = (body[0] >> 4 & 7) == 1;
    if (key && !c->counted_key) {
        c->counted_key = 1;
        c->first_key_us = (int64_t) (t->now_mono_us - c->t_connect_us);
    }
    if (!t->measuring) {
        goto stamp;
    }
    c->vframes++;
    t->st.vframes++;
    if (key) {
        t->st.keyframes++;
    }

stamp:

    if ((body[0] & 0x0f) != 7 || body_len <= 5
        || bench_sei_find_avcc(body + 5, body_len - 5, &st) != 1)
    {
        return;
    }
    seq = (uint64_t) st.loop * 900 + st.index + 1;
    if (t->measuring) {
        t->st.stamped++;
        load_hist_add(&t->st.sei_us,
                      t->now_us > st.wall_us ? t->now_us - st.wall_us : 0);
        if (c->last_seq != 0 && seq > c->last_seq + 1) {
            c->lost += seq - c->last_seq - 1;
        }
    }
    c->last_seq = seq;
}


/* ---- server processes ---- */

int
load_proc_ticks(int pid, uint64_t *ticks)
{
    char                path[64], buf[2048], *p;
    unsigned long long  ut, st;
    ssize_t             n;
    int                 fd, i;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return -1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL) {
        return -1;
    }
    p++;
    /* after ')' come fields 3 (state) ... ; utime is 14, stime 15 */
    for (i = 3; i < 14; i++) {
        p = strchr(p + 1, ' ');
        if (p == NULL) {
            return -1;
        }
    }
    if (sscanf(p, " %llu %llu", &ut, &st) != 2) {
        return -1;
    }
    *ticks = ut + st;
    return 0;
}


int
load_proc_rss(int pid, uint64_t *kb)
{
    char                path[64], line[256];
    unsigned long long  v;
    FILE               *f;
    int                 rc = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    f = fopen(path, "re");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmRSS: %llu", &v) == 1) {
            *kb = v;
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}


uint64_t
load_self_cpu_us(void)
{
    struct rusage  ru;

    if (getrusage(RUSAGE_SELF, &ru) == -1) {
        return 0;
    }
    return (uint64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000
           + (uint64_t) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}


/* ---- summary ---- */

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t  x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return x < y ? -1 : x > y;
}


static const char *err_names[LOAD_ERR_N] = {
    "connect", "handshake", "timeout", "closed", "protocol"
};

static const char *mode_names[] = { "ws", "flv", "rtmp", "hls" };



/* threads merged, viewers summed, pids read; -1 out of memory */
static int
sum_up(const load_run_t *r, load_sum_t *s)
{
    const load_stats_t  *ts;
    const load_conn_t   *c;
    uint64_t             first_us;
    double               bps;
    long                 i;
    int                  k, e;

    memset(s, 0, sizeof(*s));

    for (k = 0; k < r->threads; k++) {
        ts = &r->th[k].st;

        s->tot.connected += ts->connected;
        s->tot.failed += ts->failed;
        for (e = 0; e < LOAD_ERR_N; e++) {
            s->tot.errors[e] += ts->errors[e];
        }
        s->tot.bytes += ts->bytes;
        s->tot.msgs += ts->msgs;
        s->tot.vframes += ts->vframes;
        s->tot.keyframes += ts->keyframes;
        s->tot.stamped += ts->stamped;
        s->tot.skips += ts->skips;
        s->tot.skipped_frames += ts->skipped_frames;
        s->tot.skipped_bytes += ts->skipped_bytes;
        s->tot.offline += ts->offline;
        s->tot.online += ts->online;
        s->tot.reports += ts->reports;
        s->tot.reports_dropped += ts->reports_dropped;
        hist_merge(&s->tot.sei_us, &ts->sei_us);
        hist_merge(&s->tot.ingest_ms, &ts->ingest_ms);
        for (e = 0; e < LOAD_HLS_REQ_N; e++) {
            s->tot.hls_req[e] += ts->hls_req[e];
        }
        for (e = 0; e < LOAD_HLS_ST_N; e++) {
            s->tot.hls_status[e] += ts->hls_status[e];
        }
        s->tot.hls_parts += ts->hls_parts;
        s->tot.hls_skipped += ts->hls_skipped;
        s->tot.hls_odd += ts->hls_odd;
        hist_merge(&s->tot.hls_listed_us, &ts->hls_listed_us);
        hist_merge(&s->tot.hls_hold_us, &ts->hls_hold_us);
        if (s->hls_first_status == NULL && r->th[k].hls_first_status[0]) {
            s->hls_first_status = r->th[k].hls_first_status;
        }
        if (s->hls_first_odd == NULL && r->th[k].hls_first_odd[0]) {
            s->hls_first_odd = r->th[k].hls_first_odd;
        }
    }

    s->win_s = (double) (r->t_w1 - r->t_w0) / 1e6;
    s->keys = calloc((size_t) r->viewers, sizeof(*s->keys));
    if (s->keys == NULL) {
        fprintf(stderr, "ws-stream-load: out of memory\n");
        return -1;
    }
    s->min_bps = -1;
    for (i = 0; i < r->viewers; i++) {
        c = &r->conns[i];

        if (c->first_key_us >= 0) {
            s->keys[s->nkeys++] = (uint64_t) c->first_key_us;
        }
        s->lost += c->lost;
        if (c->lost > s->lost_max) {
            s->lost_max = c->lost;
        }
        s->with_loss += c->lost > 0;
        if (c->state == CS_OPEN) {
            s->alive++;
            bps = s->win_s > 0 ? (double) c->bytes / s->win_s : 0;
            if (s->min_bps < 0 || bps < s->min_bps) {
                s->min_bps = bps;
            }
        }
    }
    qsort(s->keys, s->nkeys, sizeof(*s->keys), cmp_u64);
    if (s->min_bps < 0) {
        s->min_bps = 0;
    }

    for (k = 0; k < r->npids; k++) {
        if (r->pids[k].ok) {
            s->ok_pids++;
            s->srv_ticks += r->pids[k].ticks1 - r->pids[k].ticks0;
            s->srv_rss += r->pids[k].rss_kb;
        }
    }
    s->hz = (double) sysconf(_SC_CLK_TCK);
    if (s->hz <= 0) {
        s->hz = 100;
    }
    s->per = s->tot.connected > 0 && s->win_s > 0
             ? (double) s->tot.connected * s->win_s : 0;

    s->first_err = "";
    first_us = UINT64_MAX;
    for (e = 0; e < LOAD_ERR_N; e++) {
        for (k = 0; k < r->threads; k++) {
            if (r->th[k].first_err[e][0] != '\0'
                && r->th[k].first_err_us[e] < first_us)
            {
                first_us = r->th[k].first_err_us[e];
                s->first_err = r->th[k].first_err[e];
            }
        }
    }
    return 0;
}


/* first keyframe delay percentile, ms */
static double
key_pct(const load_sum_t *s, double q)
{
    return s->nkeys ? (double) s->keys[(size_t) (q * (s->nkeys - 1) + 0.5)]
                      / 1000
                    : 0.0;
}


/* ---- report ---- */

static uint64_t
hls_requests(const load_sum_t *s)
{
    return s->tot.hls_req[LOAD_HLS_PLAYLIST] + s->tot.hls_req[LOAD_HLS_INIT]
           + s->tot.hls_req[LOAD_HLS_PART];
}


static void
report_hls_human(const load_sum_t *s)
{
    const load_stats_t  *h = &s->tot;

    fprintf(stderr,
        "  hls requests in the window: playlist %llu, init %llu, part %llu"
        " (%.0f/s); parts %llu, skipped %llu\n"
        "  hls answers: 200 %llu, 400 %llu, 404 %llu, 503 %llu, other %llu;"
        " oddities %llu%s%s%s%s\n"
        "  part listed delay us: p50 %llu p95 %llu p99 %llu max %llu"
        " (%llu frames); blocking hold us: p50 %llu max %llu\n",
        (unsigned long long) h->hls_req[LOAD_HLS_PLAYLIST],
        (unsigned long long) h->hls_req[LOAD_HLS_INIT],
        (unsigned long long) h->hls_req[LOAD_HLS_PART],
        s->win_s > 0 ? (double) hls_requests(s) / s->win_s : 0,
        (unsigned long long) h->hls_parts,
        (unsigned long long) h->hls_skipped,
        (unsigned long long) h->hls_status[LOAD_HLS_200],
        (unsigned long long) h->hls_status[LOAD_HLS_400],
        (unsigned long long) h->hls_status[LOAD_HLS_404],
        (unsigned long long) h->hls_status[LOAD_HLS_503],
        (unsigned long long) h->hls_status[LOAD_HLS_OTHER],
        (unsigned long long) h->hls_odd,
        s->hls_first_status ? "\n  first answer not 200: " : "",
        s->hls_first_status ? s->hls_first_status : "",
        s->hls_first_odd ? "\n  first oddity: " : "",
        s->hls_first_odd ? s->hls_first_odd : "",
        (unsigned long long) hist_pct(&h->hls_listed_us, 0.5),
        (unsigned long long) hist_pct(&h->hls_listed_us, 0.95),
        (unsigned long long) hist_pct(&h->hls_listed_us, 0.99),
        (unsigned long long) h->hls_listed_us.max,
        (unsigned long long) h->hls_listed_us.count,
        (unsigned long long) hist_pct(&h->hls_hold_us, 0.5),
        (unsigned long long) h->hls_hold_us.max);
}


static void
report_human(const load_run_t *r, const load_sum_t *s)
{
    fprintf(stderr,
        "ws-stream-load%s%s: mode %s, %s\n"
        "  viewers %ld: connected %llu, failed %llu, alive at end %llu"
        " (connect %.1f s)\n"
        "  errors: connect %llu, handshake %llu, timeout %llu, closed %llu,"
        " protocol %llu%s%s\n"
        "  window %.1f s\n"
        "  first keyframe ms: p50 %.0f p95 %.0f max %.0f (%llu viewers)\n"
        "  SEI delay us: p50 %llu p95 %llu p99 %llu max %llu (%llu frames)\n",
        r->label[0] ? " " : "", r->label, mode_names[r->mode], r->url,
        r->viewers,
        (unsigned long long) s->tot.connected,
        (unsigned long long) s->tot.failed,
        (unsigned long long) s->alive,
        (double) (r->t_conn_done - r->start_mono) / 1e6,
        (unsigned long long) s->tot.errors[0],
        (unsigned long long) s->tot.errors[1],
        (unsigned long long) s->tot.errors[2],
        (unsigned long long) s->tot.errors[3],
        (unsigned long long) s->tot.errors[4],
        s->first_err[0] ? "\n  first error: " : "", s->first_err,
        s->win_s, key_pct(s, 0.5), key_pct(s, 0.95), key_pct(s, 1.0),
        (unsigned long long) s->nkeys,
        (unsigned long long) hist_pct(&s->tot.sei_us, 0.5),
        (unsigned long long) hist_pct(&s->tot.sei_us, 0.95),
        (unsigned long long) hist_pct(&s->tot.sei_us, 0.99),
        (unsigned long long) s->tot.sei_us.max,
        (unsigned long long) s->tot.sei_us.count);
    if (r->mode == LOAD_MODE_WS) {
        fprintf(stderr,
            "  ingest delay ms: p50 %llu p95 %llu p99 %llu max %llu\n"
            "  skipped notices %llu (frames %llu, bytes %llu),"
            " offline %llu, online %llu\n"
            "  reports sent %llu in the window, %llu dropped\n",
            (unsigned long long) hist_pct(&s->tot.ingest_ms, 0.5),
            (unsigned long long) hist_pct(&s->tot.ingest_ms, 0.95),
            (unsigned long long) hist_pct(&s->tot.ingest_ms, 0.99),
            (unsigned long long) s->tot.ingest_ms.max,
            (unsigned long long) s->tot.skips,
            (unsigned long long) s->tot.skipped_frames,
            (unsigned long long) s->tot.skipped_bytes,
            (unsigned long long) s->tot.offline,
            (unsigned long long) s->tot.online,
            (unsigned long long) s->tot.reports,
            (unsigned long long) s->tot.reports_dropped);
    }
    if (r->mode == LOAD_MODE_HLS) {
        report_hls_human(s);
    }
    fprintf(stderr,
        "  received: %.0f B/s total, %.0f B/s per viewer (min %.0f),"
        " %.0f msg/s total, %.1f video frames/s per viewer\n"
        "  frames lost %llu (max %llu per viewer, %llu viewers),"
        " stamped frames %llu\n"
        "  load client CPU %.0f ms (%.4f ms per viewer-second)\n",
        s->win_s > 0 ? (double) s->tot.bytes / s->win_s : 0,
        s->per > 0 ? (double) s->tot.bytes / s->per : 0, s->min_bps,
        s->win_s > 0 ? (double) s->tot.msgs / s->win_s : 0,
        s->per > 0 ? (double) s->tot.vframes / s->per : 0,
        (unsigned long long) s->lost, (unsigned long long) s->lost_max,
        (unsigned long long) s->with_loss,
        (unsigned long long) s->tot.stamped,
        (double) (r->cpu1 - r->cpu0) / 1000,
        s->per > 0 ? (double) (r->cpu1 - r->cpu0) / 1000 / s->per : 0);
    if (r->npids > 0) {
        fprintf(stderr,
            "  server CPU %.0f ms (%.4f ms per viewer-second), RSS %llu kB"
            " (%d of %d pids read)\n",
            (double) s->srv_ticks * 1000 / s->hz,
            s->per > 0 ? (double) s->srv_ticks * 1000 / s->hz / s->per : 0,
            (unsigned long long) s->srv_rss, s->ok_pids, r->npids);
    }
}


static void
json_str(FILE *f, const char *s)
{
    const unsigned char  *p;

    fputc('"', f);
    for (p = (const unsigned char *) s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            fprintf(f, "\\%c", *p);
        } else if (*p < 0x20) {
            fprintf(f, "\\u%04x", *p);
        } else {
            fputc(*p, f);
        }
    }
    fputc('"', f);
}


static void
json_hist(FILE *f, const char *name, const load_hist_t *h, int with99)
{
    fprintf(f, ",\"%s\":{\"count\":%llu,\"p50\":%llu,\"p95\":%llu", name,
            (unsigned long long) h->count,
            (unsigned long long) hist_pct(h, 0.50),
            (unsigned long long) hist_pct(h, 0.95));
    if (with99) {
        fprintf(f, ",\"p99\":%llu", (unsigned long long) hist_pct(h, 0.99));
    }
    fprintf(f, ",\"max\":%llu", (unsigned long long) h->max);
    if (with99) {
        fprintf(f, ",\"mean\":%.1f",
                h->count ? h->sum / (double) h->count : 0.0);
    }
    fputc('}', f);
}


static void
report_hls_json(FILE *f, const load_sum_t *s)
{
    static const char   *st[LOAD_HLS_ST_N] = {
        "200", "400", "404", "503", "other"
    };
    const load_stats_t  *h = &s->tot;
    int                  i;

    fprintf(f, ",\"hls\":{\"requests\":{\"playlist\":%llu,\"init\":%llu"
            ",\"part\":%llu},\"requests_per_s\":%.1f,\"status\":{",
            (unsigned long long) h->hls_req[LOAD_HLS_PLAYLIST],
            (unsigned long long) h->hls_req[LOAD_HLS_INIT],
            (unsigned long long) h->hls_req[LOAD_HLS_PART],
            s->win_s > 0 ? (double) hls_requests(s) / s->win_s : 0);
    for (i = 0; i < LOAD_HLS_ST_N; i++) {
        fprintf(f, "%s\"%s\":%llu", i ? "," : "", st[i],
                (unsigned long long) h->hls_status[i]);
    }
    fprintf(f, "},\"parts\":%llu,\"parts_per_s_per_viewer\":%.3f"
            ",\"parts_skipped\":%llu,\"odd\":%llu,\"first_status\":",
            (unsigned long long) h->hls_parts,
            s->per > 0 ? (double) h->hls_parts / s->per : 0,
            (unsigned long long) h->hls_skipped,
            (unsigned long long) h->hls_odd);
    json_str(f, s->hls_first_status ? s->hls_first_status : "");
    fputs(",\"first_odd\":", f);
    json_str(f, s->hls_first_odd ? s->hls_first_odd : "");
    json_hist(f, "listed_delay_us", &h->hls_listed_us, 1);
    json_hist(f, "hold_us", &h->hls_hold_us, 1);
    fputc('}', f);
}


/* one object on one line; the keys are listed at the top of this file */
static void
report_json(FILE *f, const load_run_t *r, const load_sum_t *s)
{
    const char  *txt;
    uint64_t     ticks;
    int          k, e;

    fputs("{\"label\":", f);
    json_str(f, r->label);
    fprintf(f, ",\"mode\":\"%s\",\"url\":", mode_names[r->mode]);
    json_str(f, r->url);
    fprintf(f, ",\"threads\":%d,\"viewers\":%ld,\"connected\":%llu"
            ",\"failed\":%llu,\"alive_at_end\":%llu,\"connect_s\":%.3f",
            r->threads, r->viewers,
            (unsigned long long) s->tot.connected,
            (unsigned long long) s->tot.failed,
            (unsigned long long) s->alive,
            (double) (r->t_conn_done - r->start_mono) / 1e6);
    fputs(",\"errors\":{", f);
    for (e = 0; e < LOAD_ERR_N; e++) {
        fprintf(f, "%s\"%s\":%llu", e ? "," : "", err_names[e],
                (unsigned long long) s->tot.errors[e]);
    }
    fputs("},\"first_error\":", f);
    json_str(f, s->first_err);
    fputs(",\"first_errors\":{", f);
    for (e = 0; e < LOAD_ERR_N; e++) {
        txt = "";
        for (k = 0; k < r->threads; k++) {
            if (r->th[k].first_err[e][0] != '\0') {
                txt = r->th[k].first_err[e];
                break;
            }
        }
        fprintf(f, "%s\"%s\":", e ? "," : "", err_names[e]);
        json_str(f, txt);
    }
    fprintf(f, "},\"window_s\":%.3f", s->win_s);
    fprintf(f, ",\"first_key_ms\":{\"count\":%llu,\"p50\":%.1f"
            ",\"p95\":%.1f,\"max\":%.1f}", (unsigned long long) s->nkeys,
            key_pct(s, 0.5), key_pct(s, 0.95), key_pct(s, 1.0));
    json_hist(f, "sei_delay_us", &s->tot.sei_us, 1);
    if (r->mode == LOAD_MODE_WS) {
        json_hist(f, "ingest_delay_ms", &s->tot.ingest_ms, 1);
    } else {
        fputs(",\"ingest_delay_ms\":null", f);
    }
    fprintf(f, ",\"bytes\":%llu,\"bytes_per_s\":%.0f"
            ",\"bytes_per_s_per_viewer\":%.0f"
            ",\"bytes_per_s_min_viewer\":%.0f"
            ",\"msgs_per_s\":%.1f,\"msgs_per_s_per_viewer\":%.2f"
            ",\"video_frames_per_s\":%.1f,\"keyframes\":%llu"
            ",\"stamped_frames\":%llu",
            (unsigned long long) s->tot.bytes,
            s->win_s > 0 ? (double) s->tot.bytes / s->win_s : 0,
            s->per > 0 ? (double) s->tot.bytes / s->per : 0, s->min_bps,
            s->win_s > 0 ? (double) s->tot.msgs / s->win_s : 0,
            s->per > 0 ? (double) s->tot.msgs / s->per : 0,
            s->win_s > 0 ? (double) s->tot.vframes / s->win_s : 0,
            (unsigned long long) s->tot.keyframes,
            (unsigned long long) s->tot.stamped);
    fprintf(f, ",\"frames_lost\":%llu,\"frames_lost_max_viewer\":%llu"
            ",\"viewers_with_loss\":%llu,\"skips\":%llu"
            ",\"skipped_frames\":%llu,\"skipped_bytes\":%llu"
            ",\"offline_notices\":%llu,\"online_notices\":%llu"
            ",\"reports\":%llu,\"reports_per_s\":%.1f"
            ",\"reports_dropped\":%llu",
            (unsigned long long) s->lost, (unsigned long long) s->lost_max,
            (unsigned long long) s->with_loss,
            (unsigned long long) s->tot.skips,
            (unsigned long long) s->tot.skipped_frames,
            (unsigned long long) s->tot.skipped_bytes,
            (unsigned long long) s->tot.offline,
            (unsigned long long) s->tot.online,
            (unsigned long long) s->tot.reports,
            s->win_s > 0 ? (double) s->tot.reports / s->win_s : 0,
            (unsigned long long) s->tot.reports_dropped);
    fprintf(f, ",\"load_cpu_ms\":%.1f,\"load_cpu_ms_per_viewer_s\":%.5f",
            (double) (r->cpu1 - r->cpu0) / 1000,
            s->per > 0 ? (double) (r->cpu1 - r->cpu0) / 1000 / s->per : 0);
    if (r->mode == LOAD_MODE_HLS) {
        report_hls_json(f, s);
    } else {
        fputs(",\"hls\":null", f);
    }
    fputs(",\"server_pids\":[", f);
    for (k = 0; k < r->npids; k++) {
        ticks = r->pids[k].ok ? r->pids[k].ticks1 - r->pids[k].ticks0 : 0;
        fprintf(f, "%s{\"pid\":%d,\"cpu_ms\":%.0f,\"rss_kb\":%llu"
                ",\"ok\":%s}", k ? "," : "", r->pids[k].pid,
                (double) ticks * 1000 / s->hz,
                (unsigned long long) r->pids[k].rss_kb,
                r->pids[k].ok ? "true" : "false");
    }
    fprintf(f, "],\"server_cpu_ms\":%.0f,\"server_rss_kb\":%llu"
            ",\"cpu_ms_per_viewer_s\":%.5f}\n",
            (double) s->srv_ticks * 1000 / s->hz,
            (unsigned long long) s->srv_rss,
            s->per > 0 ? (double) s->srv_ticks * 1000 / s->hz / s->per : 0);
    fflush(f);
}


int
load_report(const load_run_t *r, uint64_t *connected)
{
    load_sum_t  s;

    if (sum_up(r, &s) != 0) {
        return -1;
    }
    report_human(r, &s);
    if (r->json) {
        report_json(stdout, r, &s);
    }
    *connected = s.tot.connected;
    free(s.keys);
    return 0;
}
