/*
 * sink — the transport ceiling of the ingest benchmark: an HTTP/1.1 server that reads every
 * request body lpload sends and throws it away, answering 204 at once.
 *
 *     sink -p PORT [-n CONNECTIONS]
 *
 * No parsing beyond the request head, no journal, no storage: whatever rate lpload reaches
 * against it is the most ANY server could take from this client on this machine, because the
 * client and the kernel's loopback TCP (copying every body out of lpload and into the server)
 * already cost that much CPU. bench/ingest/run.sh --ceiling runs it next to the real servers;
 * docs/BENCHMARKS.md uses the figure to say what the 10x ingest target would need.
 *
 * One thread per connection (lpload keeps CONNECTIONS keep-alive connections). The head is
 * read up to CRLF CRLF (at most 16 KiB); Content-Length gives the body, which is read into a
 * reused 1 MiB buffer and dropped; "Expect: 100-continue" gets its interim response. Chunked
 * bodies are not supported (lpload never sends them): such a request gets 411 and the
 * connection closes. Exits after CONNECTIONS connections have come and gone (default: runs
 * until killed).
 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX (16u << 10)
#define BODY_BUF (1u << 20)

static atomic_long connections_left = -1;

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Finds header `name` (case-insensitive) in head; returns its value or NULL. */
static const char *header(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            line += n + 1;
            while (*line == ' ' || *line == '\t')
                line++;
            return line;
        }
    }
    return NULL;
}

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *head = malloc(HEAD_MAX + 1);
    char *body = malloc(BODY_BUF);
    size_t have = 0; /* bytes of the next request already read */
    if (!head || !body)
        goto out;
    for (;;) {
        char *end;
        head[have] = '\0';
        while (!(end = strstr(head, "\r\n\r\n"))) {
            if (have == HEAD_MAX)
                goto out;
            ssize_t r = recv(fd, head + have, HEAD_MAX - have, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                goto out;
            have += (size_t)r;
            head[have] = '\0';
        }
        size_t head_len = (size_t)(end - head) + 4;
        const char *cl = header(head, "Content-Length");
        const char *te = header(head, "Transfer-Encoding");
        if (te) {
            static const char r411[] = "HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\n"
                                       "Connection: close\r\n\r\n";
            send_all(fd, r411, sizeof r411 - 1);
            goto out;
        }
        unsigned long long want = cl ? strtoull(cl, NULL, 10) : 0;
        const char *ex = header(head, "Expect");
        if (ex && strncasecmp(ex, "100-continue", 12) == 0 &&
            !send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25))
            goto out;
        size_t extra = have - head_len; /* body bytes read with the head */
        unsigned long long got = extra < want ? extra : want;
        size_t leftover = extra - (size_t)got; /* pipelined next request */
        memmove(head, head + head_len + got, leftover);
        have = leftover;
        while (got < want) {
            size_t n = want - got < BODY_BUF ? (size_t)(want - got) : BODY_BUF;
            ssize_t r = recv(fd, body, n, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                goto out;
            got += (unsigned long long)r;
        }
        if (!send_all(fd, "HTTP/1.1 204 No Content\r\n\r\n", 27))
            goto out;
    }
out:
    free(head);
    free(body);
    close(fd);
    if (atomic_load(&connections_left) > 0 && atomic_fetch_sub(&connections_left, 1) == 1)
        exit(0);
    return NULL;
}

int main(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            atomic_store(&connections_left, atol(argv[++i]));
        else {
            fprintf(stderr, "usage: sink -p PORT [-n CONNECTIONS]\n");
            return 2;
        }
    }
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "sink: -p PORT (1..65535) is required\n");
        return 2;
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 64) != 0) {
        fprintf(stderr, "sink: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        return 1;
    }
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            perror("sink: accept");
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t t;
        if (pthread_create(&t, NULL, serve, (void *)(intptr_t)fd) != 0) {
            close(fd);
            continue;
        }
        pthread_detach(t);
    }
}
