/*
 * bench_serve - `powertune serve` under load (issue 5 §4): invokes per second through the
 * REST API with 1, 8 and 32 concurrent clients on the C no-op (examples/noop-c, 1769 MB),
 * with p50/p99 latency, against the same measurement of a bare loopback HTTP round trip to
 * the same server: GET / (the router answers 404 UnknownOperationException: no registry, no
 * configuration document; the closest this server has to an empty exchange).
 * Goal: the invoke rate is at least one third of the floor rate (an invoke is three HTTP
 * exchanges: the client's request, the runtime's /next and its /response).
 * Until 2026-11-22 the floor was GET .../functions/noop-c/configuration, which builds the
 * configuration's JSON document under the registry lock and costs about twice the CPU of a
 * bare exchange (client and server): that favoured the invoke. --config-floor measures it so.
 *
 * Each client is a thread with its own libcurl easy handle (one keep-alive connection).
 * Each run warms up (unmeasured, so the invoke runs have an environment per client)
 * before the measured window. Starts powertune serve on a free loopback port with a
 * temporary state directory, and removes it at the end.
 *
 * Besides the rates it reports the CPU per request in each measured window by component:
 * its own client threads (getrusage), the serve process (/proc/<pid>/stat), the functions
 * (the serve instance's cpuacct cgroup) and the whole host (/proc/stat), so where an invoke
 * spends its CPU is measured by the same run that measures the rates.
 *
 * Usage: build/bench/bench_serve [--quick] [--seconds N] [--clients 1,8,32] [--config-floor]
 *        [-- serve options]
 *        runs the powertune of its own build directory (build-X/bench/.. -> build-X/powertune)
 *        (root, from the repository root)
 */
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <glob.h>
#include <math.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

static char g_tmp[256];
static char g_powertune[300]; /* the powertune built next to this program */
static pid_t g_server;
static int g_port;
static int g_config_floor; /* floor: GET .../configuration instead of the bare GET / */
static char **g_extra; /* serve options after "--" */
static int g_nextra;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void cleanup(void)
{
    if (g_server > 0) {
        kill(g_server, SIGTERM);
        waitpid(g_server, NULL, 0);
        g_server = 0;
    }
    if (g_tmp[0]) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g_tmp);
        g_tmp[0] = 0;
    }
}

static void die(const char *msg)
{
    fprintf(stderr, "bench_serve: %s\n", msg);
    cleanup();
    exit(1);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t r;
    while (b && (r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2) {
            cap *= 2;
            b = realloc(b, cap);
        }
    }
    fclose(f);
    if (!b)
        return NULL;
    b[n] = 0;
    if (len)
        *len = n;
    return b;
}

static void start_server(void)
{
    char out[300], err[300], state[300];
    snprintf(out, sizeof(out), "%s/serve.out", g_tmp);
    snprintf(err, sizeof(err), "%s/serve.err", g_tmp);
    snprintf(state, sizeof(state), "%s/state", g_tmp);
    if (mkdir(state, 0755) && errno != EEXIST)
        die("mkdir state");
    chmod(state, 0755);
    g_server = fork();
    if (g_server < 0)
        die("fork");
    if (g_server == 0) {
        if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr))
            _exit(127);
        const char *av[64] = {"powertune", "serve", "--port", "0", "--quiet", "--state-dir", state,
                              "--update-window-ms", "0", "--account-concurrency", "1000",
                              "--max-connections", "128"};
        int ac = 13;
        for (int i = 0; i < g_nextra && ac < 63; i++)
            av[ac++] = g_extra[i];
        av[ac] = NULL;
        execv(g_powertune, (char *const *)av);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        char *s = slurp(out, NULL);
        const char *p = s ? strstr(s, "listening on http://127.0.0.1:") : NULL;
        if (p)
            g_port = atoi(p + strlen("listening on http://127.0.0.1:"));
        free(s);
        if (g_port > 0)
            return;
        if (waitpid(g_server, NULL, WNOHANG) == g_server) {
            g_server = 0;
            die("serve exited at start (see its stderr)");
        }
        usleep(50000);
    }
    die("serve did not start");
}

struct resp {
    char body[4096];
    size_t n;
    int fn_error; /* X-Amz-Function-Error header seen */
};

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    struct resp *r = ud;
    size_t len = sz * nm, room = sizeof(r->body) - 1 - r->n;
    memcpy(r->body + r->n, p, len < room ? len : room);
    r->n += len < room ? len : room;
    r->body[r->n] = 0;
    return len;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    struct resp *r = ud;
    if (sz * nm >= 20 && strncasecmp(p, "X-Amz-Function-Error", 20) == 0)
        r->fn_error = 1;
    return sz * nm;
}

/* One request on h; returns the HTTP status (0 on a transport error). */
static long request(CURL *h, const char *url, const char *post, struct resp *r)
{
    r->n = 0;
    r->body[0] = 0;
    r->fn_error = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (post) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    if (curl_easy_perform(h) != CURLE_OK)
        return 0;
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

static CURL *client_handle(void)
{
    CURL *h = curl_easy_init();
    if (!h)
        die("curl_easy_init");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    return h;
}

struct client {
    pthread_t th;
    const char *url;
    const char *post; /* NULL: GET */
    int invoke;
    double start, measure_from, end;
    double *lat;
    size_t n, cap;
    long errors;
    char first_error[300];
    pthread_barrier_t *bar;
};

static void *client_run(void *arg)
{
    struct client *c = arg;
    CURL *h = client_handle();
    struct resp *r = malloc(sizeof(*r));
    if (!r)
        return NULL;
    pthread_barrier_wait(c->bar);
    for (;;) {
        double t0 = now_s();
        if (t0 >= c->end)
            break;
        long code = request(h, c->url, c->post, r);
        double t1 = now_s();
        long want = !c->invoke && !g_config_floor ? 404 : 200;
        int ok = code == want && (!c->invoke || (!r->fn_error && strcmp(r->body, "{}") == 0));
        if (t0 < c->measure_from)
            continue;
        if (t1 > c->end) /* started in the window, finished after it: not counted */
            break;
        if (!ok) {
            if (c->errors++ == 0)
                snprintf(c->first_error, sizeof(c->first_error), "HTTP %ld: %.200s", code, r->body);
            continue;
        }
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 4096;
            c->lat = realloc(c->lat, c->cap * sizeof(double));
            if (!c->lat)
                break;
        }
        c->lat[c->n++] = (t1 - t0) * 1e3;
    }
    free(r);
    curl_easy_cleanup(h);
    return NULL;
}

struct result {
    double rate, p50, p99;
    long n, errors;
    /* CPU per request in the measured window, us: this program's client threads, the serve
     * process (all its threads), the function processes (the engine's cgroups) and the whole
     * host (every CPU's busy time, whoever used it). */
    double cpu_client, cpu_serve, cpu_functions, cpu_host;
};

/* CPU seconds so far; a counter that cannot be read gives -1 (printed as n/a). */
struct cpu_sample {
    double client, serve, functions, host;
};

static double rusage_self_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru))
        return -1;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* utime + stime of every thread of pid, live or exited (/proc/<pid>/stat fields 14-15). */
static double process_cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *s = slurp(path, NULL);
    const char *p = s ? strrchr(s, ')') : NULL;
    unsigned long long ut = 0, st = 0;
    int ok = p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                         &st) == 2;
    free(s);
    return ok ? (double)(ut + st) / (double)sysconf(_SC_CLK_TCK) : -1;
}

/* The busy time of all CPUs (/proc/stat: everything but idle and iowait). */
static double host_busy_s(void)
{
    char *s = slurp("/proc/stat", NULL);
    unsigned long long v[8] = {0};
    int ok = s && sscanf(s, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                         &v[3], &v[4], &v[5], &v[6], &v[7]) == 8;
    free(s);
    return ok ? (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK)
              : -1;
}

/* The serve instance's cgroup holds every environment: its usage is the functions' CPU. */
static char g_fn_usage[PATH_MAX];

static void find_function_cgroup(void)
{
    static const char *const patterns[] = {
        "/sys/fs/cgroup/cpuacct/powertune/%d-*/cpuacct.usage",
        "/sys/fs/cgroup/cpu,cpuacct/powertune/%d-*/cpuacct.usage",
        "/sys/fs/cgroup/powertune/%d-*/cpu.stat",
    };
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]) && !g_fn_usage[0]; i++) {
        char pat[200];
        snprintf(pat, sizeof(pat), patterns[i], (int)g_server);
        glob_t g;
        if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc == 1)
            snprintf(g_fn_usage, sizeof(g_fn_usage), "%s", g.gl_pathv[0]);
        globfree(&g);
    }
}

static double functions_cpu_s(void)
{
    char *s = g_fn_usage[0] ? slurp(g_fn_usage, NULL) : NULL;
    unsigned long long v = 0;
    const char *usec = s ? strstr(s, "usage_usec ") : NULL;
    int ok = usec ? sscanf(usec, "usage_usec %llu", &v) == 1 : s && sscanf(s, "%llu", &v) == 1;
    free(s);
    if (!ok)
        return -1;
    return usec ? (double)v / 1e6 : (double)v / 1e9;
}

static void cpu_sample_take(struct cpu_sample *c)
{
    c->client = rusage_self_s();
    c->serve = process_cpu_s(g_server);
    c->functions = functions_cpu_s();
    c->host = host_busy_s();
}

static double per_request_us(double a, double b, long n)
{
    return a < 0 || b < 0 || n <= 0 ? NAN : (b - a) * 1e6 / (double)n;
}

static void sleep_until(double t)
{
    for (double left = t - now_s(); left > 0; left = t - now_s()) {
        struct timespec ts = {.tv_sec = (time_t)left,
                              .tv_nsec = (long)((left - (double)(time_t)left) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static struct result measure(int invoke, int nclients, double warm, double secs)
{
    char url[200];
    if (invoke)
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/2015-03-31/functions/noop-c/invocations", g_port);
    else if (g_config_floor)
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/2015-03-31/functions/noop-c/configuration", g_port);
    else
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/", g_port);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, (unsigned)nclients + 1);
    struct client *cs = calloc((size_t)nclients, sizeof(*cs));
    if (!cs)
        die("ENOMEM");
    for (int i = 0; i < nclients; i++) {
        cs[i].url = url;
        cs[i].post = invoke ? "{}" : NULL;
        cs[i].invoke = invoke;
        cs[i].bar = &bar;
        cs[i].end = 1e300; /* set before the barrier releases below */
    }
    for (int i = 0; i < nclients; i++)
        if (pthread_create(&cs[i].th, NULL, client_run, &cs[i]))
            die("pthread_create");
    double t = now_s();
    for (int i = 0; i < nclients; i++) {
        cs[i].start = t;
        cs[i].measure_from = t + warm;
        cs[i].end = t + warm + secs;
    }
    pthread_barrier_wait(&bar);
    struct cpu_sample c0, c1;
    sleep_until(t + warm);
    cpu_sample_take(&c0);
    sleep_until(t + warm + secs);
    cpu_sample_take(&c1);
    struct result res = {0};
    size_t total = 0;
    for (int i = 0; i < nclients; i++) {
        pthread_join(cs[i].th, NULL);
        total += cs[i].n;
        res.errors += cs[i].errors;
        if (cs[i].errors && res.errors == cs[i].errors)
            fprintf(stderr, "bench_serve: %s x%d: first error: %s\n", invoke ? "invoke" : "floor",
                    nclients, cs[i].first_error);
    }
    double *all = malloc((total ? total : 1) * sizeof(double));
    if (!all)
        die("ENOMEM");
    size_t k = 0;
    for (int i = 0; i < nclients; i++) {
        memcpy(all + k, cs[i].lat, cs[i].n * sizeof(double));
        k += cs[i].n;
        free(cs[i].lat);
    }
    res.n = (long)total;
    res.rate = (double)total / secs;
    res.cpu_client = per_request_us(c0.client, c1.client, res.n);
    res.cpu_serve = per_request_us(c0.serve, c1.serve, res.n);
    res.cpu_functions = per_request_us(c0.functions, c1.functions, res.n);
    res.cpu_host = per_request_us(c0.host, c1.host, res.n);
    if (total) {
        res.p50 = bench_pct(all, total, 50);
        res.p99 = bench_pct(all, total, 99);
    }
    free(all);
    free(cs);
    pthread_barrier_destroy(&bar);
    return res;
}

static void create_function(void)
{
    char zip[300], cmd[600];
    snprintf(zip, sizeof(zip), "%s/noop.zip", g_tmp);
    if (access("examples/noop-c/bootstrap", X_OK))
        die("examples/noop-c/bootstrap is not built (make examples)");
    snprintf(cmd, sizeof(cmd), "cd examples/noop-c && zip -q '%s' bootstrap", zip);
    if (system(cmd) != 0)
        die("zip failed");
    size_t zn;
    char *z = slurp(zip, &zn);
    if (!z)
        die("read zip");
    char *b64 = malloc(4 * ((zn + 2) / 3) + 1);
    if (!b64)
        die("ENOMEM");
    EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)z, (int)zn);
    size_t bn = strlen(b64);
    char *body = malloc(bn + 512);
    if (!body)
        die("ENOMEM");
    snprintf(body, bn + 512,
             "{\"FunctionName\":\"noop-c\",\"Runtime\":\"provided.al2023\",\"Handler\":\"bootstrap\","
             "\"Role\":\"arn:aws:iam::123456789012:role/bench\",\"MemorySize\":1769,\"Timeout\":10,"
             "\"Code\":{\"ZipFile\":\"%s\"}}",
             b64);
    char url[200];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/2015-03-31/functions", g_port);
    CURL *h = client_handle();
    struct resp *r = malloc(sizeof(*r));
    if (!r)
        die("ENOMEM");
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    long code = request(h, url, body, r);
    if (code != 201) {
        fprintf(stderr, "CreateFunction: HTTP %ld %s\n", code, r->body);
        die("CreateFunction failed");
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/2015-03-31/functions/noop-c/configuration", g_port);
    int active = 0;
    for (int i = 0; i < 100 && !active; i++) {
        if (request(h, url, NULL, r) == 200 && strstr(r->body, "\"State\":\"Active\""))
            active = 1;
        else
            usleep(50000);
    }
    if (!active)
        die("noop-c did not become Active");
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    free(r);
    free(body);
    free(b64);
    free(z);
}

static void print_cpu(double us)
{
    if (isnan(us))
        printf(" n/a |");
    else
        printf(" %.0f |", us);
}

int main(int argc, char **argv)
{
    double secs = 5, warm = 1;
    int counts[8] = {1, 8, 32}, ncounts = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            secs = 2;
            warm = 0.5;
        } else if (!strcmp(argv[i], "--")) {
            g_extra = argv + i + 1;
            g_nextra = argc - i - 1;
            break;
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            secs = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--config-floor")) {
            g_config_floor = 1;
        } else if (!strcmp(argv[i], "--clients") && i + 1 < argc) {
            ncounts = 0;
            for (char *tok = strtok(argv[++i], ","); tok && ncounts < 8; tok = strtok(NULL, ","))
                counts[ncounts++] = atoi(tok);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--seconds N] [--clients N,N,...] "
                    "[--config-floor] [-- serve options]\n", argv[0]);
            return 2;
        }
    }
    for (int i = 0; i < ncounts; i++)
        if (counts[i] < 1 || counts[i] > 64) {
            fprintf(stderr, "--clients: each count must be 1..64\n");
            return 2;
        }
    if (!(secs > 0 && secs <= 3600)) {
        fprintf(stderr, "--seconds must be in (0, 3600]\n");
        return 2;
    }
    /* build-X/bench/bench_serve runs build-X/powertune: each build directory measures itself. */
    const char *slash = strrchr(argv[0], '/');
    int dir_len = slash ? (int)(slash - argv[0]) : 0;
    snprintf(g_powertune, sizeof(g_powertune), "%.*s%s../powertune", dir_len, argv[0],
             slash ? "/" : "");
    if (access(g_powertune, X_OK))
        die("powertune not found next to the bench directory (run from the repository root "
            "after make)");
    snprintf(g_tmp, sizeof(g_tmp), "/tmp/pt-bench-serve-XXXXXX");
    if (!mkdtemp(g_tmp)) {
        g_tmp[0] = 0;
        die("mkdtemp");
    }
    chmod(g_tmp, 0755); /* sandboxed functions run unprivileged: their code must be reachable */
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    start_server();
    find_function_cgroup();
    create_function();

    /* Environments for every client before anything is measured. */
    measure(1, 32, 1.0, 0.5);

    struct result fl[8], inv[8];
    for (int i = 0; i < ncounts; i++) {
        fl[i] = measure(0, counts[i], warm, secs);
        inv[i] = measure(1, counts[i], warm, secs);
    }
    cleanup();
    curl_global_cleanup();

    char date[64];
    time_t tt = time(NULL);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M %Z", localtime(&tt));
    struct utsname u;
    uname(&u);
    char *load = slurp("/proc/loadavg", NULL);
    printf("## serve (issue 5)\n\n");
    printf("%s, %s %s, %ld CPUs; load (/proc/loadavg) after the run: %s\n", date, u.sysname,
           u.release, sysconf(_SC_NPROCESSORS_ONLN), load ? strtok(load, "\n") : "?");
    printf("Each run: %.1f s warm-up, %.1f s measured; clients are libcurl keep-alive threads on "
           "the same host. Floor request: %s.",
           warm, secs,
           g_config_floor ? "GET .../functions/noop-c/configuration (--config-floor)"
                          : "GET / (answered 404 UnknownOperationException by the router)");
    if (g_nextra) {
        printf(" Extra serve options:");
        for (int i = 0; i < g_nextra; i++)
            printf(" %s", g_extra[i]);
    }
    printf("\n\n");
    printf("| clients | floor req/s | floor p50 ms | floor p99 ms | invoke req/s | invoke p50 ms "
           "| invoke p99 ms | invoke/floor | goal >= 1/3 |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|:---|\n");
    int fail = 0;
    for (int i = 0; i < ncounts; i++) {
        double ratio = fl[i].rate > 0 ? inv[i].rate / fl[i].rate : 0;
        int met = ratio >= 1.0 / 3.0;
        printf("| %d | %.0f | %.3f | %.3f | %.0f | %.3f | %.3f | %.2f | %s |\n", counts[i],
               fl[i].rate, fl[i].p50, fl[i].p99, inv[i].rate, inv[i].p50, inv[i].p99, ratio,
               met ? "met" : "**missed**");
    }
    printf("\nCPU per request in the measured windows, us (client: this program's threads; "
           "serve: the server process; functions: the environments' cgroups; host: every CPU's "
           "busy time, whoever used it; other = host - the three):\n\n");
    printf("| clients | floor: client | floor: serve | floor: host | invoke: client "
           "| invoke: serve | invoke: functions | invoke: other | invoke: host |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < ncounts; i++) {
        const struct result *f = &fl[i], *v = &inv[i];
        double other = v->cpu_host - v->cpu_client - v->cpu_serve - v->cpu_functions;
        const double cells[] = {f->cpu_client, f->cpu_serve,     f->cpu_host, v->cpu_client,
                                v->cpu_serve,  v->cpu_functions, other,       v->cpu_host};
        printf("| %d |", counts[i]);
        for (size_t k = 0; k < sizeof(cells) / sizeof(cells[0]); k++)
            print_cpu(cells[k]);
        printf("\n");
    }
    for (int i = 0; i < ncounts; i++) {
        if (fl[i].errors || inv[i].errors) {
            printf("\nerrors with %d clients: floor %ld, invoke %ld\n", counts[i], fl[i].errors,
                   inv[i].errors);
            fail = 1;
        }
    }
    free(load);
    return fail;
}
