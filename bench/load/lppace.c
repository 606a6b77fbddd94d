/*
 * lppace — the replication benchmark's load client: bench/ingest/lpload plus an optional pace.
 *
 *     lppace -u URL -f FILE [-b LINES] [-c CONNECTIONS] [-r POINTS_PER_S] [-l LABEL]
 *
 * Like lpload: mmaps a line-protocol file, splits it at line ends into bodies of LINES lines
 * (default 5,000), POSTs them to URL from CONNECTIONS threads (default 4, one keep-alive libcurl
 * handle each), bodies handed out in file order; any response other than 204 fails the run.
 * With -r R > 0, body i is not sent before t0 + (points in bodies 0..i-1) / R, so the offered
 * load is R points/s on average (if the server keeps up); -r 0 (default) sends as fast as the
 * server answers, exactly as lpload does.
 *
 * Prints one line (times are CLOCK_REALTIME seconds, to line up with other samplers):
 *     label=<L> points=<N> bodies=<M> seconds=<S> points_per_s=<P> t_start=<unix> t_end=<unix>
 *         max_behind_s=<B>
 * where max_behind_s is how late (vs its schedule) the latest body was sent (paced runs: > 0
 * means the server did not keep up with the pace).
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct body {
    const char *data;
    size_t len;
    uint64_t points;
    uint64_t points_before; /* points in the bodies before this one: its place in the schedule */
} body;

typedef struct shared {
    const char *url;
    body *bodies;
    size_t nbodies;
    double rate;  /* points/s; 0 = unpaced */
    double t0;    /* CLOCK_MONOTONIC start */
    atomic_size_t next;
    atomic_int failed;
    pthread_mutex_t mu;
    double max_behind;
} shared;

typedef struct response {
    char text[512];
    size_t len;
} response;

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
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

/* Sleeps until body b's turn in the schedule; records how late it is when already past. */
static void wait_turn(shared *sh, const body *b)
{
    if (sh->rate <= 0)
        return;
    double due = sh->t0 + (double)b->points_before / sh->rate;
    double now = clock_s(CLOCK_MONOTONIC);
    if (now < due) {
        double d = due - now;
        struct timespec ts = {.tv_sec = (time_t)d, .tv_nsec = (long)((d - (double)(time_t)d) * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    } else {
        pthread_mutex_lock(&sh->mu);
        if (now - due > sh->max_behind)
            sh->max_behind = now - due;
        pthread_mutex_unlock(&sh->mu);
    }
}

static void *worker(void *arg)
{
    shared *sh = arg;
    CURL *c = curl_easy_init();
    if (!c) {
        fprintf(stderr, "lppace: curl_easy_init failed\n");
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
    for (;;) {
        if (atomic_load(&sh->failed))
            break;
        size_t i = atomic_fetch_add(&sh->next, 1);
        if (i >= sh->nbodies)
            break;
        wait_turn(sh, &sh->bodies[i]);
        resp.len = 0;
        resp.text[0] = '\0';
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, sh->bodies[i].data);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)sh->bodies[i].len);
        CURLcode cc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (cc != CURLE_OK || status != 204) {
            fprintf(stderr, "lppace: body %zu of %zu (%llu points): %s, HTTP %ld: %s\n", i,
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
    fprintf(stderr,
            "usage: lppace -u URL -f FILE [-b LINES] [-c CONNECTIONS] [-r POINTS_PER_S] [-l LABEL]\n");
}

int main(int argc, char **argv)
{
    const char *url = NULL, *path = NULL, *label = "run";
    long batch = 5000, conns = 4;
    double rate = 0;
    int opt;
    while ((opt = getopt(argc, argv, "u:f:b:c:r:l:h")) != -1) {
        switch (opt) {
        case 'u': url = optarg; break;
        case 'f': path = optarg; break;
        case 'b': batch = strtol(optarg, NULL, 10); break;
        case 'c': conns = strtol(optarg, NULL, 10); break;
        case 'r': rate = strtod(optarg, NULL); break;
        case 'l': label = optarg; break;
        default: usage(); return 2;
        }
    }
    if (!url || !path || batch < 1 || conns < 1 || conns > 256 || rate < 0) {
        usage();
        return 2;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "lppace: open %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        fprintf(stderr, "lppace: %s: empty or unreadable\n", path);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    const char *data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
        fprintf(stderr, "lppace: mmap %s: %s\n", path, strerror(errno));
        return 1;
    }
    madvise((void *)data, size, MADV_SEQUENTIAL);

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
        bodies[nb] = (body){.data = start, .len = (size_t)(p - start), .points = pts,
                            .points_before = total_points};
        nb++;
        total_points += pts;
    }
    if (!bodies) {
        fprintf(stderr, "lppace: out of memory\n");
        return 1;
    }
    volatile unsigned char sink = 0; /* reading the file from disk is not part of the time */
    for (size_t i = 0; i < size; i += 4096)
        sink ^= (unsigned char)data[i];
    (void)sink;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    shared sh = {.url = url, .bodies = bodies, .nbodies = nb, .rate = rate};
    atomic_init(&sh.next, 0);
    atomic_init(&sh.failed, 0);
    pthread_mutex_init(&sh.mu, NULL);
    pthread_t *th = calloc((size_t)conns, sizeof *th);
    if (!th) {
        fprintf(stderr, "lppace: out of memory\n");
        return 1;
    }
    double wall0 = clock_s(CLOCK_REALTIME);
    sh.t0 = clock_s(CLOCK_MONOTONIC);
    long started = 0;
    for (long i = 0; i < conns; i++) {
        if (pthread_create(&th[i], NULL, worker, &sh) != 0) {
            fprintf(stderr, "lppace: pthread_create failed\n");
            atomic_store(&sh.failed, 1);
            break;
        }
        started++;
    }
    for (long i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double secs = clock_s(CLOCK_MONOTONIC) - sh.t0;
    curl_global_cleanup();
    free(th);
    free(bodies);
    munmap((void *)data, size);
    close(fd);
    if (atomic_load(&sh.failed)) {
        fprintf(stderr, "lppace: FAILED (%s)\n", label);
        return 1;
    }
    printf("label=%s points=%llu bodies=%zu seconds=%.3f points_per_s=%.0f t_start=%.3f t_end=%.3f "
           "max_behind_s=%.3f\n",
           label, (unsigned long long)total_points, nb, secs,
           secs > 0 ? (double)total_points / secs : 0.0, wall0, wall0 + secs, sh.max_behind);
    return 0;
}
