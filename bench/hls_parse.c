/*
 * Sans-IO parsers of the LL-HLS load client: see hls_parse.h.
 */
#include <string.h>
#include <strings.h>

#include "hls_parse.h"

enum { FR_HDR = 0, FR_MOOF, FR_MDAT, FR_SKIP, FR_FAIL };

/* ISO/IEC 14496-12 8.8.7 / 8.8.8 */
#define TFHD_BASE    0x000001
#define TFHD_DESC    0x000002
#define TFHD_DUR     0x000008
#define TFHD_SIZE    0x000010
#define TFHD_FLAGS   0x000020
#define TRUN_OFF     0x000001
#define TRUN_FIRST   0x000004
#define TRUN_DUR     0x000100
#define TRUN_SIZE    0x000200
#define TRUN_FLAGS   0x000400
#define TRUN_CTO     0x000800
#define NON_SYNC     0x00010000


static uint32_t
rb32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


static uint64_t
rb64(const uint8_t *p)
{
    return (uint64_t) rb32(p) << 32 | rb32(p + 4);
}


/* ---- HTTP ---- */

size_t
hls_http_head_end(const char *p, size_t n)
{
    size_t  i;

    for (i = 0; i + 3 < n; i++) {
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r'
            && p[i + 3] == '\n')
        {
            return i + 4;
        }
    }
    return 0;
}


/* p/n equals the token s, case-insensitive, or holds it in a list */
static int
has_token(const char *p, size_t n, const char *s)
{
    size_t  len = strlen(s), i, j;

    for (i = 0; i < n; i = j + 1) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ',')) {
            i++;
        }
        for (j = i; j < n && p[j] != ','; j++) { /* void */ }
        while (j > i && (p[j - 1] == ' ' || p[j - 1] == '\t')) {
            j--;
        }
        if (j - i == len && strncasecmp(p + i, s, len) == 0) {
            return 1;
        }
        while (j < n && p[j] != ',') {
            j++;
        }
    }
    return 0;
}


int
hls_http_head(const char *p, size_t n, hls_http_resp_t *r)
{
    const char  *line, *end, *eol, *colon, *v, *ve;
    size_t       nlen;
    int          http10, keep_alive;
    int64_t      len;

    memset(r, 0, sizeof(*r));
    r->content_length = -1;
    end = p + n;

    eol = memchr(p, '\n', n);
    if (eol == NULL || n < 12 || memcmp(p, "HTTP/1.", 7) != 0
        || (p[7] != '0' && p[7] != '1') || p[8] != ' '
        || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9'
        || p[11] < '0' || p[11] > '9'
        || (p + 12 < eol && p[12] != ' ' && p[12] != '\r'))
    {
        return -1;
    }
    r->status = (unsigned) ((p[9] - '0') * 100 + (p[10] - '0') * 10
                            + (p[11] - '0'));
    http10 = p[7] == '0';
    keep_alive = 0;

    for (line = eol + 1; line < end; line = eol + 1) {
        eol = memchr(line, '\n', (size_t) (end - line));
        if (eol == NULL) {
            eol = end;
        }
        ve = eol;
        if (ve > line && ve[-1] == '\r') {
            ve--;
        }
        if (ve == line) {
            break;                      /* the blank line */
        }
        colon = memchr(line, ':', (size_t) (ve - line));
        if (colon == NULL) {
            continue;
        }
        nlen = (size_t) (colon - line);
        v = colon + 1;
        while (v < ve && (*v == ' ' || *v == '\t')) {
            v++;
        }
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
            ve--;
        }
        if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
            if (v == ve || r->content_length >= 0) {
                return -1;              /* empty or repeated */
            }
            for (len = 0; v < ve; v++) {
                if (*v < '0' || *v > '9' || len > (INT64_MAX - 9) / 10) {
                    return -1;
                }
                len = len * 10 + (*v - '0');
            }
            r->content_length = len;
        } else if (nlen == 10 && strncasecmp(line, "Connection", 10) == 0) {
            if (has_token(v, (size_t) (ve - v), "close")) {
                r->close = 1;
            }
            if (has_token(v, (size_t) (ve - v), "keep-alive")) {
                keep_alive = 1;
            }
        } else if (nlen == 17
                   && strncasecmp(line, "Transfer-Encoding", 17) == 0)
        {
            if (has_token(v, (size_t) (ve - v), "chunked")) {
                r->chunked = 1;
            }
        }
    }
    if (http10 && !keep_alive) {
        r->close = 1;
    }
    return 0;
}


/* ---- playlist ---- */

int
hls_part_before(const hls_part_id_t *a, const hls_part_id_t *b)
{
    return a->msn < b->msn || (a->msn == b->msn && a->part < b->part);
}


/* a decimal number without leading zeros in [p, e): 0, or -1 */
static int
dec(const char *p, const char *e, uint64_t max, uint64_t *v)
{
    uint64_t  x = 0;

    if (p == e || (*p == '0' && e - p > 1)) {
        return -1;
    }
    for ( ; p < e; p++) {
        if (*p < '0' || *p > '9' || x > (max - (uint64_t) (*p - '0')) / 10) {
            return -1;
        }
        x = x * 10 + (uint64_t) (*p - '0');
    }
    *v = x;
    return 0;
}


int
hls_part_uri(const char *p, size_t n, hls_part_id_t *id)
{
    const char  *e = p + n, *s, *d1, *d2;
    uint64_t     msn, part;

    for (s = e; s > p && s[-1] != '/'; s--) { /* void */ }
    if (e - s < 7 || memcmp(e - 4, ".m4s", 4) != 0) {
        return -1;
    }
    e -= 4;
    d1 = memchr(s, '.', (size_t) (e - s));
    if (d1 == NULL) {
        return -1;
    }
    d2 = d1 + 1;
    if (dec(s, d1, UINT64_MAX, &msn) != 0
        || dec(d2, e, UINT32_MAX, &part) != 0)
    {
        return -1;
    }
    id->msn = msn;
    id->part = (uint32_t) part;
    return 0;
}


/* the quoted value of attribute `name` in an attribute list, or NULL */
static const char *
attr(const char *s, size_t n, const char *name, size_t *len)
{
    const char  *p = s, *e = s + n, *q;
    size_t       nl = strlen(name);
    int          quoted;

    while (p < e) {
        if ((size_t) (e - p) > nl && memcmp(p, name, nl) == 0
            && p[nl] == '=' && (p == s || p[-1] == ',' || p[-1] == ':'))
        {
            p += nl + 1;
            quoted = p < e && *p == '"';
            p += quoted;
            for (q = p; q < e && (quoted ? *q != '"' : *q != ','); q++) {
                /* void */
            }
            if (quoted && q == e) {
                return NULL;            /* unterminated */
            }
            *len = (size_t) (q - p);
            return p;
        }
        /* next attribute: skip a quoted string as a whole */
        quoted = 0;
        for ( ; p < e; p++) {
            if (*p == '"') {
                quoted = !quoted;
            } else if (*p == ',' && !quoted) {
                p++;
                break;
            }
        }
    }
    return NULL;
}


static void
queue_part(hls_pl_t *pl, const hls_part_id_t *id)
{
    if (pl->qlen == HLS_PL_QUEUE) {
        pl->qfirst = (pl->qfirst + 1) % HLS_PL_QUEUE;
        pl->qlen--;
        pl->dropped++;
    }
    pl->queue[(pl->qfirst + pl->qlen) % HLS_PL_QUEUE] = *id;
    pl->qlen++;
}


#define TAG(s, n, t)  ((n) >= sizeof(t) - 1 && memcmp(s, t, sizeof(t) - 1) == 0)

static void
pl_line(hls_pl_t *pl, const char *s, size_t n)
{
    const char     *v;
    size_t          len;
    uint64_t        x;
    hls_part_id_t   id;
    unsigned        ms;

    while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ')) {
        n--;
    }
    if (pl->lines++ == 0) {
        pl->extm3u = n == 7 && memcmp(s, "#EXTM3U", 7) == 0;
        return;
    }
    if (TAG(s, n, "#EXT-X-PART:")) {
        pl->parts++;
        v = attr(s + 12, n - 12, "URI", &len);
        if (v == NULL || hls_part_uri(v, len, &id) != 0) {
            pl->bad++;
            return;
        }
        if (pl->have_last && !hls_part_before(&pl->last, &id)) {
            pl->bad++;                  /* not in order */
            return;
        }
        pl->last = id;
        pl->have_last = 1;
        if (pl->have_after && hls_part_before(&pl->after, &id)) {
            queue_part(pl, &id);
        }
    } else if (TAG(s, n, "#EXT-X-PRELOAD-HINT:")) {
        v = attr(s + 20, n - 20, "TYPE", &len);
        if (v == NULL || len != 4 || memcmp(v, "PART", 4) != 0) {
            return;
        }
        v = attr(s + 20, n - 20, "URI", &len);
        if (v != NULL && hls_part_uri(v, len, &id) == 0) {
            pl->hint = id;
            pl->have_hint = 1;
        }
    } else if (TAG(s, n, "#EXT-X-MAP:")) {
        v = attr(s + 11, n - 11, "URI", &len);
        if (v != NULL && len > 9 && memcmp(v, "init-", 5) == 0
            && memcmp(v + len - 4, ".mp4", 4) == 0
            && dec(v + 5, v + len - 4, UINT32_MAX, &x) == 0)
        {
            pl->map_gen = (uint32_t) x;
            pl->have_map = 1;
        }
    } else if (TAG(s, n, "#EXT-X-PART-INF:")) {
        v = attr(s + 16, n - 16, "PART-TARGET", &len);
        if (v == NULL) {
            return;
        }
        /* seconds with up to 3 decimals */
        for (ms = 0, x = 0; len > 0 && *v != '.'; v++, len--) {
            if (*v < '0' || *v > '9' || x > 100000) {
                return;
            }
            x = x * 10 + (uint64_t) (*v - '0');
        }
        x *= 1000;
        if (len > 0) {
            v++;
            len--;
            for (ms = 100; len > 0 && ms > 0; v++, len--, ms /= 10) {
                if (*v < '0' || *v > '9') {
                    return;
                }
                x += (uint64_t) (*v - '0') * ms;
            }
        }
        pl->part_target_ms = (uint32_t) x;
    }
}


void
hls_pl_init(hls_pl_t *pl, const hls_part_id_t *after)
{
    memset(pl, 0, sizeof(*pl));
    if (after != NULL) {
        pl->after = *after;
        pl->have_after = 1;
    }
}


void
hls_pl_feed(hls_pl_t *pl, const uint8_t *p, size_t n)
{
    const uint8_t  *nl;
    size_t          take;

    while (n > 0) {
        nl = memchr(p, '\n', n);
        take = nl != NULL ? (size_t) (nl - p) : n;
        if (!pl->line_long) {
            if (pl->line_len + take <= HLS_PL_LINE) {
                memcpy(pl->line + pl->line_len, p, take);
                pl->line_len += (unsigned) take;
            } else {
                pl->line_long = 1;
            }
        }
        if (nl == NULL) {
            return;
        }
        if (!pl->line_long) {
            pl_line(pl, pl->line, pl->line_len);
        } else {
            pl->lines++;
        }
        pl->line_len = 0;
        pl->line_long = 0;
        p += take + 1;
        n -= take + 1;
    }
}


void
hls_pl_end(hls_pl_t *pl)
{
    if (pl->line_len > 0 && !pl->line_long) {
        pl_line(pl, pl->line, pl->line_len);
    }
    pl->line_len = 0;
    pl->line_long = 0;
}


/* ---- init segment ---- */

/* the first box of type t in [p, e): its body and end, or -1 */
static int
box_find(const uint8_t *p, const uint8_t *e, const char *t,
    const uint8_t **body, const uint8_t **end)
{
    uint64_t  size;
    unsigned  hdr;

    while (e - p >= 8) {
        size = rb32(p);
        hdr = 8;
        if (size == 1) {
            if (e - p < 16) {
                return -1;
            }
            size = rb64(p + 8);
            hdr = 16;
        } else if (size == 0) {
            size = (uint64_t) (e - p);
        }
        if (size < hdr || size > (uint64_t) (e - p)) {
            return -1;
        }
        if (memcmp(p + 4, t, 4) == 0) {
            *body = p + hdr;
            *end = p + size;
            return 0;
        }
        p += size;
    }
    return -1;
}


int
hls_mp4_video_track(const uint8_t *p, size_t n, uint32_t *track)
{
    const uint8_t  *moov, *moov_e, *trak, *trak_e, *b, *be, *h, *he;

    if (box_find(p, p + n, "moov", &moov, &moov_e) != 0) {
        return -1;
    }
    for (trak = moov; ; trak = trak_e) {
        if (box_find(trak, moov_e, "trak", &b, &trak_e) != 0) {
            return -1;
        }
        trak = b;
        if (box_find(trak, trak_e, "mdia", &b, &be) != 0
            || box_find(b, be, "hdlr", &h, &he) != 0 || he - h < 12
            || memcmp(h + 8, "vide", 4) != 0)
        {
            continue;
        }
        if (box_find(trak, trak_e, "tkhd", &h, &he) != 0
            || he - h < (h[0] == 1 ? 24 : 16))
        {
            return -1;
        }
        *track = rb32(h + (h[0] == 1 ? 20 : 12));
        return 0;
    }
}


/* ---- fragments ---- */

void
hls_frag_init(hls_frag_t *f, uint32_t video_track, hls_sample_pt cb,
    void *ctx)
{
    f->video_track = video_track;
    f->on_sample = cb;
    f->ctx = ctx;
    f->state = FR_HDR;
    f->pos = 0;
    f->hdr_len = 0;
    f->hdr_need = 8;
    f->moofs = 0;
    f->samples_out = 0;
    f->samples_lost = 0;
    f->ns = 0;
    f->cur = 0;
    f->head_len = 0;
    f->moof_len = 0;
    f->error = NULL;
}


static int
frag_fail(hls_frag_t *f, const char *why)
{
    f->error = why;
    f->state = FR_FAIL;
    return -1;
}


/* the samples of the moof in f->moof, sorted by offset */
static int
moof_parse(hls_frag_t *f)
{
    const uint8_t  *m = f->moof, *me = m + f->moof_len, *traf, *te, *b,
                   *be, *q;
    uint64_t        base, off, next;
    uint32_t        tf, rf, track, count, i, dsize, dflags, size, flags,
                    first;
    unsigned        per, k, video;
    hls_sample_t    s;

    f->ns = 0;
    f->cur = 0;
    for (traf = m + 8; box_find(traf, me, "traf", &b, &te) == 0; traf = te) {
        traf = b;
        if (box_find(traf, te, "tfhd", &b, &be) != 0 || be - b < 8) {
            return frag_fail(f, "traf without a tfhd");
        }
        tf = rb32(b) & 0xffffff;
        track = rb32(b + 4);
        q = b + 8;
        base = f->box_start;            /* default-base-is-moof, or first */
        dsize = 0;
        dflags = 0;
        if ((size_t) (be - q) < 8u * !!(tf & TFHD_BASE) + 4u * (!!(tf
            & TFHD_DESC) + !!(tf & TFHD_DUR) + !!(tf & TFHD_SIZE)
            + !!(tf & TFHD_FLAGS)))
        {
            return frag_fail(f, "short tfhd");
        }
        if (tf & TFHD_BASE) {
            base = rb64(q);
            q += 8;
        }
        q += 4 * (!!(tf & TFHD_DESC) + !!(tf & TFHD_DUR));
        if (tf & TFHD_SIZE) {
            dsize = rb32(q);
            q += 4;
        }
        if (tf & TFHD_FLAGS) {
            dflags = rb32(q);
        }
        video = f->video_track == 0 || track == f->video_track;

        next = base;
        for (q = traf; box_find(q, te, "trun", &b, &be) == 0; q = be) {
            if (be - b < 8) {
                return frag_fail(f, "short trun");
            }
            rf = rb32(b) & 0xffffff;
            count = rb32(b + 4);
            b += 8;
            off = next;
            first = 0;
            if (rf & TRUN_OFF) {
                if (be - b < 4) {
                    return frag_fail(f, "short trun");
                }
                off = base + (uint64_t) (int64_t) (int32_t) rb32(b);
                b += 4;
            }
            if (rf & TRUN_FIRST) {
                if (be - b < 4) {
                    return frag_fail(f, "short trun");
                }
                first = rb32(b);
                b += 4;
            }
            per = 4 * (!!(rf & TRUN_DUR) + !!(rf & TRUN_SIZE)
                       + !!(rf & TRUN_FLAGS) + !!(rf & TRUN_CTO));
            if ((uint64_t) count * per > (uint64_t) (be - b)) {
                return frag_fail(f, "trun sample table runs past its box");
            }
            for (i = 0; i < count; i++) {
                b += 4 * !!(rf & TRUN_DUR);
                size = dsize;
                flags = dflags;
                if (rf & TRUN_SIZE) {
                    size = rb32(b);
                    b += 4;
                }
                if (rf & TRUN_FLAGS) {
                    flags = rb32(b);
                    b += 4;
                }
                b += 4 * !!(rf & TRUN_CTO);
                if (i == 0 && (rf & TRUN_FIRST)) {
                    flags = first;
                }
                if (f->ns == HLS_SAMPLES_MAX) {
                    return frag_fail(f, "too many samples in a moof");
                }
                s.off = off;
                s.size = size;
                s.video = (uint8_t) video;
                s.key = (flags & NON_SYNC) == 0;
                /* insertion in offset order: tracks usually follow on */
                for (k = f->ns; k > 0 && f->s[k - 1].off > s.off; k--) {
                    f->s[k] = f->s[k - 1];
                }
                f->s[k] = s;
                f->ns++;
                off += size;
            }
            next = off;
        }
    }
    return 0;
}


static void
sample_done(hls_frag_t *f)
{
    hls_sample_t  *s = &f->s[f->cur];

    f->on_sample(f->ctx, s->video, s->key, f->head,
                 s->video ? f->head_len : 0, s->size);
    f->samples_out++;
    f->cur++;
    f->head_len = 0;
}


/* mdat bytes p/n at f->pos: the heads of the samples they hold */
static void
mdat_bytes(hls_frag_t *f, const uint8_t *p, size_t n)
{
    hls_sample_t  *s;
    uint64_t       at = f->pos, end = f->pos + n, from;
    size_t         want, take;

    while (f->cur < f->ns) {
        s = &f->s[f->cur];
        if (s->off < f->data_start || s->off + s->size > f->box_end) {
            f->samples_lost++;          /* not in this mdat */
            f->cur++;
            continue;
        }
        want = s->video ? (s->size < HLS_SAMPLE_HEAD ? s->size
                                                     : HLS_SAMPLE_HEAD)
                        : 0;
        if (f->head_len == want) {
            if (s->off + s->size > end) {
                return;                 /* handed back once it is whole */
            }
            sample_done(f);
            continue;
        }
        from = s->off + f->head_len;    /* the next byte wanted */
        if (from >= end) {
            return;
        }
        if (from < at) {
            f->samples_lost++;          /* overlaps the one before */
            f->cur++;
            f->head_len = 0;
            continue;
        }
        take = want - f->head_len;
        if (take > end - from) {
            take = (size_t) (end - from);
        }
        memcpy(f->head + f->head_len, p + (from - at), take);
        f->head_len += (unsigned) take;
    }
}


int
hls_frag_feed(hls_frag_t *f, const uint8_t *p, size_t n)
{
    size_t    take;
    uint64_t  size;

    while (n > 0) {
        switch (f->state) {

        case FR_HDR:
            take = f->hdr_need - f->hdr_len;
            take = take < n ? take : n;
            memcpy(f->hdr + f->hdr_len, p, take);
            f->hdr_len += (unsigned) take;
            f->pos += take;
            p += take;
            n -= take;
            if (f->hdr_len < f->hdr_need) {
                return 0;
            }
            size = rb32(f->hdr);
            if (size == 1 && f->hdr_need == 8) {
                f->hdr_need = 16;
                continue;
            }
            if (size == 1) {
                size = rb64(f->hdr + 8);
            }
            f->box_start = f->pos - f->hdr_len;
            if (size == 0 && memcmp(f->hdr + 4, "mdat", 4) == 0) {
                f->box_end = UINT64_MAX;
            } else if (size < f->hdr_len) {
                return frag_fail(f, "bad box size");
            } else {
                f->box_end = f->box_start + size;
            }
            f->hdr_len = 0;
            f->hdr_need = 8;
            if (memcmp(f->hdr + 4, "moof", 4) == 0) {
                if (size > HLS_MOOF_MAX) {
                    return frag_fail(f, "moof too large");
                }
                if (f->box_start + 8 != f->pos) {
                    return frag_fail(f, "moof with a 64-bit size");
                }
                memcpy(f->moof, f->hdr, 8);
                f->moof_len = 8;
                f->state = FR_MOOF;
            } else if (memcmp(f->hdr + 4, "mdat", 4) == 0) {
                f->state = FR_MDAT;
                f->data_start = f->pos;
                mdat_bytes(f, p, 0);
            } else {
                f->state = FR_SKIP;
            }
            break;

        case FR_MOOF:
            take = (size_t) (f->box_end - f->pos);
            take = take < n ? take : n;
            memcpy(f->moof + f->moof_len, p, take);
            f->moof_len += (unsigned) take;
            f->pos += take;
            p += take;
            n -= take;
            if (f->pos == f->box_end) {
                f->moofs++;
                if (moof_parse(f) != 0) {
                    return -1;
                }
                f->state = FR_HDR;
            }
            break;

        case FR_MDAT:
        case FR_SKIP:
            take = n;
            if (f->box_end - f->pos < take) {
                take = (size_t) (f->box_end - f->pos);
            }
            if (f->state == FR_MDAT) {
                mdat_bytes(f, p, take);
            }
            f->pos += take;
            p += take;
            n -= take;
            if (f->pos == f->box_end) {
                if (f->state == FR_MDAT) {
                    f->samples_lost += f->ns - f->cur;
                    f->ns = 0;
                    f->cur = 0;
                }
                f->state = FR_HDR;
            }
            break;

        default:
            return -1;
        }
    }
    return 0;
}


int
hls_frag_end(hls_frag_t *f)
{
    if (f->state == FR_FAIL) {
        return -1;
    }
    if (f->state == FR_MDAT && f->box_end == UINT64_MAX) {
        f->samples_lost += f->ns - f->cur;
        f->ns = 0;
        f->state = FR_HDR;
    }
    if (f->state != FR_HDR || f->hdr_len != 0) {
        return frag_fail(f, "body ended inside a box");
    }
    if (f->ns > f->cur) {
        f->samples_lost += f->ns - f->cur;
        f->ns = 0;
    }
    return 0;
}
