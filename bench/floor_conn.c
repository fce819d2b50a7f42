/*
 * ws-stream-floor: viewers.  Accepting them, the WebSocket upgrade as the
 * load client's ws mode asks for it (RFC 6455 accept key, the wsstream.1
 * subprotocol), the bytes a new viewer is sent before the messages
 * (101, hello, the codec configuration), reading what viewers send
 * (nothing is used: it is read and dropped) and closing.
 */
#define _GNU_SOURCE                   /* strcasestr */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ws_stream_ws.h"
#include "floor.h"

#define WS_GUID       "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define SUBPROTOCOL   "wsstream.1"
#define BACKLOG       511             /* nginx's default on Linux */

static const char  bad_request[] =
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Length: 0\r\n"
    "Connection: close\r\n\r\n";


int
floor_listen(floor_srv_t *srv, const char *host, int port)
{
    struct sockaddr_in  sa;
    struct epoll_event  ev;
    int                 one = 1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, FLOOR_PROG ": bad address %s\n", host);
        return -1;
    }
    srv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      0);
    if (srv->lfd == -1) {
        perror(FLOOR_PROG ": socket");
        return -1;
    }
    if (setsockopt(srv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))
        == -1
        || bind(srv->lfd, (struct sockaddr *) &sa, sizeof(sa)) == -1
        || listen(srv->lfd, BACKLOG) == -1)
    {
        fprintf(stderr, FLOOR_PROG ": %s:%d: %s\n", host, port,
                strerror(errno));
        return -1;
    }
    ev.events = EPOLLIN;
    ev.data.ptr = &srv->lfd;
    if (epoll_ctl(srv->ep, EPOLL_CTL_ADD, srv->lfd, &ev) == -1) {
        perror(FLOOR_PROG ": epoll_ctl");
        return -1;
    }
    return 0;
}


static int
viewer_add(floor_srv_t *srv, floor_viewer_t *v)
{
    floor_viewer_t  **a;
    size_t            cap;

    if (srv->nviewers == srv->cap) {
        cap = srv->cap ? srv->cap * 2 : 1024;
        a = realloc(srv->viewers, cap * sizeof(floor_viewer_t *));
        if (a == NULL) {
            return -1;
        }
        srv->viewers = a;
        srv->cap = cap;
    }
    v->slot = (uint32_t) srv->nviewers;
    srv->viewers[srv->nviewers++] = v;
    if (srv->nviewers > srv->st.viewers_max) {
        srv->st.viewers_max = srv->nviewers;
    }
    return 0;
}


void
floor_accept(floor_srv_t *srv)
{
    struct epoll_event   ev;
    floor_viewer_t      *v;
    int                  fd, one = 1;

    for (;;) {
        fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                perror(FLOOR_PROG ": accept4");
            }
            return;
        }
        /* as nginx's tcp_nodelay for an upgraded connection */
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

        v = calloc(1, sizeof(floor_viewer_t));
        if (v == NULL || (v->req = malloc(FLOOR_REQ_MAX + 1)) == NULL) {
            fprintf(stderr, FLOOR_PROG ": out of memory for a viewer\n");
            free(v);
            close(fd);
            continue;
        }
        v->fd = fd;
        v->state = FV_REQUEST;
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = v;
        if (epoll_ctl(srv->ep, EPOLL_CTL_ADD, fd, &ev) == -1
            || viewer_add(srv, v) != 0)
        {
            fprintf(stderr, FLOOR_PROG ": cannot take a viewer: %s\n",
                    strerror(errno));
            free(v->req);
            free(v);
            close(fd);
            continue;
        }
        srv->st.accepted++;
    }
}


void
floor_close(floor_srv_t *srv, floor_viewer_t *v)
{
    floor_viewer_t  *last;

    if (v->state != FV_REQUEST) {
        srv->st.closed++;
        if (v->off > 0) {
            srv->window[v->seq % FLOOR_WINDOW].partial--;
        }
    }
    close(v->fd);
    last = srv->viewers[--srv->nviewers];
    srv->viewers[v->slot] = last;
    last->slot = v->slot;
    free(v->req);
    free(v->pre);
    free(v);
}


int
floor_notice(floor_viewer_t *v, const char *text, size_t len)
{
    uint8_t  *p;
    size_t    rest, h;

    rest = v->pre_len - v->pre_off;
    p = malloc(rest + WS_STREAM_WS_MAX_HDR + len);
    if (p == NULL) {
        return -1;
    }
    if (rest > 0) {
        memcpy(p, v->pre + v->pre_off, rest);
    }
    h = ws_stream_ws_header(p + rest, WS_STREAM_WS_TEXT, len);
    memcpy(p + rest + h, text, len);
    free(v->pre);
    v->pre = p;
    v->pre_len = rest + h + len;
    v->pre_off = 0;
    return 0;
}


/* the value of header `name` (the request ends in CRLF), or NULL */
static const char *
req_header(const char *req, const char *name, size_t *len)
{
    char         pat[64];
    const char  *v, *e;
    int          n;

    n = snprintf(pat, sizeof(pat), "\r\n%s:", name);
    if (n < 0 || (size_t) n >= sizeof(pat)) {
        return NULL;
    }
    v = strcasestr(req, pat);
    if (v == NULL) {
        return NULL;
    }
    v += n;
    v += strspn(v, " \t");
    e = strstr(v, "\r\n");
    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) {
        e--;
    }
    *len = (size_t) (e - v);
    return v;
}


/* whether the comma-separated list v/len holds the token SUBPROTOCOL */
static int
offers_subprotocol(const char *v, size_t len)
{
    const char  *end = v + len, *p, *q, *a, *b;
    size_t       want = strlen(SUBPROTOCOL);

    for (p = v; p < end; p = q + 1) {
        q = memchr(p, ',', (size_t) (end - p));
        if (q == NULL) {
            q = end;
        }
        for (a = p; a < q && (*a == ' ' || *a == '\t'); a++) {
            /* void */
        }
        for (b = q; b > a && (b[-1] == ' ' || b[-1] == '\t'); b--) {
            /* void */
        }
        if ((size_t) (b - a) == want && memcmp(a, SUBPROTOCOL, want) == 0) {
            return 1;
        }
    }
    return 0;
}


static int
refuse(floor_srv_t *srv, floor_viewer_t *v)
{
    srv->st.refused++;
    if (write(v->fd, bad_request, sizeof(bad_request) - 1) == -1) {
        /* closed anyway */
    }
    return -1;
}


/*
 * The request is in: the 101 answer, hello and the codec configuration
 * go into the viewer's own bytes, and it starts at the newest keyframe.
 */
static int
upgrade(floor_srv_t *srv, floor_viewer_t *v)
{
    const char     *key, *proto;
    size_t          klen, plen, hlen, tlen, h;
    unsigned char   digest[SHA_DIGEST_LENGTH];
    char            kbuf[128], accept[32], hs[256], hello[256];
    uint64_t        now;
    uint8_t        *p;
    int             n;

    if (strncmp(v->req, "GET ", 4) != 0) {
        return refuse(srv, v);
    }
    key = req_header(v->req, "Sec-WebSocket-Key", &klen);
    if (key == NULL || klen == 0 || klen + sizeof(WS_GUID) > sizeof(kbuf)) {
        return refuse(srv, v);
    }
    memcpy(kbuf, key, klen);
    memcpy(kbuf + klen, WS_GUID, sizeof(WS_GUID) - 1);
    SHA1((const unsigned char *) kbuf, klen + sizeof(WS_GUID) - 1, digest);
    EVP_EncodeBlock((unsigned char *) accept, digest, SHA_DIGEST_LENGTH);

    proto = req_header(v->req, "Sec-WebSocket-Protocol", &plen);
    n = snprintf(hs, sizeof(hs),
                 "HTTP/1.1 101 Switching Protocols\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n"
                 "%s\r\n",
                 accept,
                 proto != NULL && offers_subprotocol(proto, plen)
                 ? "Sec-WebSocket-Protocol: " SUBPROTOCOL "\r\n" : "");
    if (n < 0 || (size_t) n >= sizeof(hs)) {
        return refuse(srv, v);
    }
    hlen = (size_t) n;

    now = floor_real_us();
    n = snprintf(hello, sizeof(hello),
                 "{\"type\":\"hello\",\"version\":1,\"app\":\"%s\","
                 "\"stream\":\"%s\",\"online\":true,"
                 "\"server_time\":%" PRIu64 ".%03u}",
                 srv->app, srv->stream, now / 1000,
                 (unsigned) (now % 1000));
    if (n < 0 || (size_t) n >= sizeof(hello)) {
        return refuse(srv, v);
    }
    tlen = (size_t) n;

    p = malloc(hlen + WS_STREAM_WS_MAX_HDR + tlen + srv->config_len);
    if (p == NULL) {
        fprintf(stderr, FLOOR_PROG ": out of memory for a viewer\n");
        return -1;
    }
    memcpy(p, hs, hlen);
    h = ws_stream_ws_header(p + hlen, WS_STREAM_WS_TEXT, tlen);
    memcpy(p + hlen + h, hello, tlen);
    memcpy(p + hlen + h + tlen, srv->config, srv->config_len);
    v->pre = p;
    v->pre_len = hlen + h + tlen + srv->config_len;
    v->pre_off = 0;

    free(v->req);
    v->req = NULL;
    v->req_len = 0;
    if (srv->last_key != FLOOR_NONE) {
        v->seq = srv->last_key;
        v->state = FV_LIVE;
    } else {
        v->seq = srv->head;
        v->state = FV_WAIT_KEY;
    }
    srv->st.upgraded++;
    return floor_flush(srv, v, srv->head);
}


/* 0, or -1: close v */
static int
viewer_read(floor_srv_t *srv, floor_viewer_t *v)
{
    static uint8_t   sink[4096];
    char            *end;
    ssize_t          n;

    for (;;) {
        if (v->state == FV_REQUEST) {
            if (v->req_len == FLOOR_REQ_MAX) {
                return refuse(srv, v);
            }
            n = read(v->fd, v->req + v->req_len, FLOOR_REQ_MAX - v->req_len);
        } else {
            n = read(v->fd, sink, sizeof(sink));
        }
        if (n == 0) {
            return -1;
        }
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        if (v->state != FV_REQUEST) {
            continue;
        }
        v->req_len += (size_t) n;
        v->req[v->req_len] = '\0';
        end = strstr(v->req, "\r\n\r\n");
        if (end != NULL) {
            end[2] = '\0';              /* the last header's CRLF kept */
            if (upgrade(srv, v) != 0) {
                return -1;
            }
        }
    }
}


void
floor_viewer_event(floor_srv_t *srv, floor_viewer_t *v, uint32_t events)
{
    if (events & EPOLLERR) {
        floor_close(srv, v);
        return;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
        && viewer_read(srv, v) != 0)
    {
        floor_close(srv, v);
        return;
    }
    if ((events & EPOLLOUT) && v->state != FV_REQUEST && v->blocked) {
        v->blocked = 0;
        if (floor_flush(srv, v, srv->head) != 0) {
            floor_close(srv, v);
        }
    }
}
