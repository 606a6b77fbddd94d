/*
 * lpload — the ingest benchmark's load client. The same client drives InfluxDB and volta.
 *
 *     lpload -u URL -f FILE [-b LINES] [-c CONNECTIONS] [-l LABEL]
 *
 * Reads a line-protocol file into memory, splits it at line ends into bodies of LINES lines
 * (default 5,000), and POSTs them to URL (e.g. http://127.0.0.1:8086/write?db=bench) from
 * CONNECTIONS threads (default 4), each with one libcurl easy handle (keep-alive: one TCP
 * connection per thread). The bodies are handed out in file order through an atomic counter.
 * Every response must be 204: any other status (or a transport error) prints the response and
 * makes lpload exit 1.
 *
 * Measures the wall time from the first request to the last 204 and prints one line:
 *     label=<LABEL> points=<N> bodies=<M> seconds=<S> points_per_s=<P> client_cpu_s=<C>
 *     client_sys_s=<K>
 * where points = non-empty, non-comment lines sent, and C (K) the CPU seconds (the system part)
 * lpload itself used over the same time: on a 2-core machine the client's CPU is CPU the
 * server under test did not have.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define UPLOAD_BUFFER_BYTES (2L << 20) /* libcurl's largest */

typedef struct body {
    const char *data;
    size_t len;
    uint64_t points;
} body;

typedef struct shared {
    const char *url;
    body *bodies;
    size_t nbodies;
    atomic_size_t next;
    atomic_int failed;
} shared;

typedef struct response {
    char text[512];
    size_t len;
} response;

/* CPU seconds (user + system) this process has used so far; *sys gets the system part. */
static double cpu_s(double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_response(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    response *r = userdata;
    size_t n = size * nmemb;
    size_t room = sizeof r->text - 1 - r->len;
    size_t take = n < room ? n : room;
    memcpy(r->text + r->len, ptr, take);
    r->len += take;
    r->text[r->len] = '\0';
    return n;
}

static void *worker(void *arg)
{
    shared *sh = arg;
    CURL *c = curl_easy_init();
    if (!c) {
        fprintf(stderr, "lpload: curl_easy_init failed\n");
        atomic_store(&sh->failed, 1);
        return NULL;
    }
    struct curl_slist *hdr = NULL;
    hdr = curl_slist_append(hdr, "Content-Type: text/plain; charset=utf-8");
    hdr = curl_slist_append(hdr, "Expect:");
    response resp;
    curl_easy_setopt(c, CURLOPT_URL, sh->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_response);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* libcurl copies a POST body through its upload buffer (64 KiB by default) and sends it one
     * buffer at a time: at 2 MiB, a 5,000-line body (~0.8 MB) goes in one copy and one send(),
     * and the client takes a third less CPU from the 2 cores it shares with the server under
     * test (docs/BENCHMARKS.md, 2026-12-07 session 11). */
    if (curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER_BYTES) != CURLE_OK)
        fprintf(stderr, "lpload: libcurl refuses a %ld-byte upload buffer; using its default\n",
                UPLOAD_BUFFER_BYTES);
    for (;;) {
        if (atomic_load(&sh->failed))
            break;
        size_t i = atomic_fetch_add(&sh->next, 1);
        if (i >= sh->nbodies)
            break;
        resp.len = 0;
        resp.text[0] = '\0';
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, sh->bodies[i].data);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)sh->bodies[i].len);
        CURLcode cc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (cc != CURLE_OK || status != 204) {
            fprintf(stderr, "lpload: body %zu of %zu (%llu points): %s, HTTP %ld: %s\n", i,
                    sh->nbodies, (unsigned long long)sh->bodies[i].points,
                    cc != CURLE_OK ? curl_easy_strerror(cc) : "unexpected status", status,
                    resp.text);
            atomic_store(&sh->failed, 1);
            break;
        }
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: lpload -u URL -f FILE [-b LINES] [-c CONNECTIONS] [-l LABEL]\n");
}

int main(int argc, char **argv)
{
    const char *url = NULL, *path = NULL, *label = "run";
    long batch = 5000, conns = 4;
    int opt;
    while ((opt = getopt(argc, argv, "u:f:b:c:l:h")) != -1) {
        switch (opt) {
        case 'u': url = optarg; break;
        case 'f': path = optarg; break;
        case 'b': batch = strtol(optarg, NULL, 10); break;
        case 'c': conns = strtol(optarg, NULL, 10); break;
        case 'l': label = optarg; break;
        default: usage(); return 2;
        }
    }
    if (!url || !path || batch < 1 || conns < 1 || conns > 256) {
        usage();
        return 2;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "lpload: open %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        fprintf(stderr, "lpload: %s: empty or unreadable\n", path);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    /* The whole file is read into anonymous memory, advised for huge pages, before the clock
     * starts. (Sending straight from an mmap of the file cost the client twice the CPU when
     * the file had just been written, as bench/ingest/run.sh's always is: 0.5 s instead of
     * 0.25 s per demo load, CPU the server under test then did not have.) */
    char *data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED) {
        fprintf(stderr, "lpload: no memory for %s (%zu bytes): %s\n", path, size, strerror(errno));
        return 1;
    }
    (void)madvise(data, size, MADV_HUGEPAGE); /* advice only */
    for (size_t got = 0; got < size;) {
        ssize_t r = pread(fd, data + got, size - got, (off_t)got);
        if (r <= 0) {
            fprintf(stderr, "lpload: read %s: %s\n", path, r < 0 ? strerror(errno) : "short file");
            return 1;
        }
        got += (size_t)r;
    }

    /* Split into bodies of `batch` lines; count points (non-empty, non-comment lines). */
    size_t cap = 1024, nb = 0;
    body *bodies = malloc(cap * sizeof *bodies);
    uint64_t total_points = 0;
    const char *p = data, *end = data + size;
    while (p < end && bodies) {
        const char *start = p;
        uint64_t pts = 0;
        for (long l = 0; l < batch && p < end; l++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            if (le > p && *p != '#')
                pts++;
            p = nl ? nl + 1 : end;
        }
        if (nb == cap) {
            cap *= 2;
            body *nbp = realloc(bodies, cap * sizeof *bodies);
            if (!nbp) {
                free(bodies);
                bodies = NULL;
                break;
            }
            bodies = nbp;
        }
        bodies[nb].data = start;
        bodies[nb].len = (size_t)(p - start);
        bodies[nb].points = pts;
        nb++;
        total_points += pts;
    }
    if (!bodies) {
        fprintf(stderr, "lpload: out of memory\n");
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    shared sh = {.url = url, .bodies = bodies, .nbodies = nb};
    atomic_init(&sh.next, 0);
    atomic_init(&sh.failed, 0);
    pthread_t *th = calloc((size_t)conns, sizeof *th);
    if (!th) {
        fprintf(stderr, "lpload: out of memory\n");
        return 1;
    }
    double sys0, sys1;
    double t0 = now_s(), cpu0 = cpu_s(&sys0);
    long started = 0;
    for (long i = 0; i < conns; i++) {
        if (pthread_create(&th[i], NULL, worker, &sh) != 0) {
            fprintf(stderr, "lpload: pthread_create failed\n");
            atomic_store(&sh.failed, 1);
            break;
        }
        started++;
    }
    for (long i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double secs = now_s() - t0, cpu = cpu_s(&sys1) - cpu0;
    curl_global_cleanup();
    free(th);
    free(bodies);
    munmap(data, size);
    close(fd);
    if (atomic_load(&sh.failed)) {
        fprintf(stderr, "lpload: FAILED (%s)\n", label);
        return 1;
    }
    printf("label=%s points=%llu bodies=%zu seconds=%.3f points_per_s=%.0f client_cpu_s=%.3f "
           "client_sys_s=%.3f\n",
           label, (unsigned long long)total_points, nb, secs,
           secs > 0 ? (double)total_points / secs : 0.0, cpu, sys1 - sys0);
    return 0;
}
