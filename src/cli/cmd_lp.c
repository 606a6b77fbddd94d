/*
 * cli/cmd_lp.c — `volta lp parse`: reads line protocol on stdin and prints the points as JSON in
 * the shape of the line-protocol conformance corpus, or the first error with its line and column.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "ingest/lineproto.h"

static void lp_usage(FILE *out)
{
    fprintf(
        out,
        "usage: volta lp parse [--precision ns|us|ms|s|m|h] [--default-time <ns>]\n"
        "\n"
        "Reads InfluxDB line protocol on stdin and prints\n"
        "  {\"result\":[{\"time\":<ns>,\"name\":...,\"tags\":[{\"key\":...,\"value\":...}],\n"
        "               \"fields\":[{\"key\":...,\"value\":{\"float\"|\"int\"|\"uint\"|\"bool\"|"
        "\"string\":<v>}}]}]}\n"
        "(exit 0), or on the first bad line {\"error\":...,\"line\":<n>,\"column\":<n>} (exit 1).\n"
        "\n"
        "  --precision P       unit of the timestamps in the input (default ns)\n"
        "  --default-time NS   time of lines without a timestamp, in ns since the epoch\n"
        "                      (default: now); truncated to the precision\n");
}

static void json_string(vt_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    vt_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        vt_buf_append(b, s + run, i - run);
        run = i + 1;
        if (c == '"' || c == '\\') {
            vt_buf_putc(b, '\\');
            vt_buf_putc(b, c);
        } else {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            vt_buf_append(b, u, sizeof u);
        }
    }
    vt_buf_append(b, s + run, n - run);
    vt_buf_putc(b, '"');
}

static void json_point(vt_buf *b, const vt_point *pt)
{
    vt_buf_printf(b, "{\"time\":%" PRId64 ",\"name\":", pt->time);
    json_string(b, pt->measurement.ptr, pt->measurement.len);
    vt_buf_printf(b, ",\"tags\":[");
    for (size_t i = 0; i < pt->ntags; i++) {
        vt_buf_printf(b, "%s{\"key\":", i ? "," : "");
        json_string(b, pt->tags[i].key.ptr, pt->tags[i].key.len);
        vt_buf_printf(b, ",\"value\":");
        json_string(b, pt->tags[i].value.ptr, pt->tags[i].value.len);
        vt_buf_putc(b, '}');
    }
    vt_buf_printf(b, "],\"fields\":[");
    for (size_t i = 0; i < pt->nfields; i++) {
        const vt_field *f = &pt->fields[i];
        vt_buf_printf(b, "%s{\"key\":", i ? "," : "");
        json_string(b, f->key.ptr, f->key.len);
        vt_buf_printf(b, ",\"value\":{");
        switch (f->value.type) {
        case VT_TYPE_FLOAT: {
            char tmp[32];
            size_t n = lp_format_float(tmp, f->value.v.f); /* finite: LP rejects inf/NaN */
            vt_buf_printf(b, "\"float\":");
            vt_buf_append(b, tmp, n);
            break;
        }
        case VT_TYPE_INT: vt_buf_printf(b, "\"int\":%" PRId64, f->value.v.i); break;
        case VT_TYPE_UINT: vt_buf_printf(b, "\"uint\":%" PRIu64, f->value.v.u); break;
        case VT_TYPE_BOOL: vt_buf_printf(b, "\"bool\":%s", f->value.v.b ? "true" : "false"); break;
        case VT_TYPE_STRING:
            vt_buf_printf(b, "\"string\":");
            json_string(b, f->value.v.s.ptr, f->value.v.s.len);
            break;
        case VT_TYPE_NONE:
        default: vt_buf_printf(b, "\"string\":\"\""); break;
        }
        vt_buf_printf(b, "}}");
    }
    vt_buf_printf(b, "]}");
}

static int lp_parse_main(int argc, char **argv)
{
    lp_options opts;
    memset(&opts, 0, sizeof opts);
    bool have_default = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            lp_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--precision") == 0 && i + 1 < argc) {
            if (lp_precision_parse(argv[++i], &opts.precision) != 0) {
                fprintf(stderr, "volta lp parse: unknown precision '%s'\n\n", argv[i]);
                lp_usage(stderr);
                return 2;
            }
        } else if (strcmp(argv[i], "--default-time") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            long long v = strtoll(argv[++i], &end, 10);
            if (errno != 0 || end == argv[i] || *end != '\0') {
                fprintf(stderr, "volta lp parse: bad --default-time '%s'\n\n", argv[i]);
                lp_usage(stderr);
                return 2;
            }
            opts.default_time = (int64_t)v;
            have_default = true;
        } else {
            fprintf(stderr, "volta lp parse: unknown option '%s'\n\n", argv[i]);
            lp_usage(stderr);
            return 2;
        }
    }
    if (!have_default) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        opts.default_time = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }

    int rc = 1;
    vt_buf in, out;
    vt_buf_init(&in);
    vt_buf_init(&out);
    lp_parser *p = lp_parser_new(&opts);
    if (p == NULL) {
        fprintf(stderr, "volta lp parse: out of memory\n");
        goto cleanup;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        vt_buf_append(&in, chunk, n);
    if (ferror(stdin) || in.oom) {
        fprintf(stderr, "volta lp parse: cannot read stdin%s\n", in.oom ? " (out of memory)" : "");
        goto cleanup;
    }
    if (lp_parser_reset(p, (const char *)in.data, in.len) != VT_OK) {
        printf("{\"error\":\"body too large (%zu bytes)\",\"line\":1,\"column\":1}\n", in.len);
        goto cleanup;
    }
    vt_buf_printf(&out, "{\"result\":[");
    vt_point pt;
    lp_error e;
    int k, npoints = 0;
    while ((k = lp_parser_next(p, &pt, &e)) != LP_END) {
        if (k == LP_ERROR) {
            vt_buf_reset(&out);
            vt_buf_printf(&out, "{\"error\":");
            json_string(&out, e.msg, strlen(e.msg));
            vt_buf_printf(&out, ",\"line\":%zu,\"column\":%zu}\n", e.line, e.column);
            fwrite(out.data, 1, out.len, stdout);
            goto cleanup;
        }
        if (npoints++ > 0)
            vt_buf_putc(&out, ',');
        json_point(&out, &pt);
    }
    vt_buf_printf(&out, "]}\n");
    if (out.oom) {
        fprintf(stderr, "volta lp parse: out of memory\n");
        goto cleanup;
    }
    fwrite(out.data, 1, out.len, stdout);
    rc = fflush(stdout) == 0 ? 0 : 1;

cleanup:
    lp_parser_free(p);
    vt_buf_free(&in);
    vt_buf_free(&out);
    return rc;
}

int cmd_lp(int argc, char **argv)
{
    if (argc < 2) {
        lp_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        lp_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "parse") == 0)
        return lp_parse_main(argc - 1, argv + 1);
    fprintf(stderr, "volta lp: unknown subcommand '%s'\n\n", argv[1]);
    lp_usage(stderr);
    return 2;
}
