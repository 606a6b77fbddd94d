/*
 * Unit tests of ingest/lineproto: the InfluxDB line-protocol conformance corpus (all decode
 * cases, skipped when ../shared/data is absent), then escapes, limits, CRLF, comments,
 * precisions, error positions and the lp_write_point round trip.
 */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "ingest/lineproto.h"

/* ---- helpers --------------------------------------------------------------------------- */

typedef struct parsed {
    int npoints;
    int nerrors;
    lp_error first_err;
    vt_point pt; /* the last point (valid until the next parse) */
} parsed;

/* Parses body with opts, calling cb on each point; counts points and errors. */
static parsed parse_all(lp_parser *p, const char *body, size_t len,
                        void (*cb)(const vt_point *, void *), void *ctx)
{
    parsed r;
    memset(&r, 0, sizeof r);
    assert_int_equal(lp_parser_reset(p, body, len), VT_OK);
    vt_point pt;
    lp_error e;
    int k;
    while ((k = lp_parser_next(p, &pt, &e)) != LP_END) {
        if (k == LP_POINT) {
            r.npoints++;
            r.pt = pt;
            if (cb)
                cb(&pt, ctx);
        } else {
            if (r.nerrors == 0)
                r.first_err = e;
            r.nerrors++;
        }
    }
    return r;
}

static lp_parser *parser_with(lp_precision prec, int64_t dflt)
{
    lp_options o;
    memset(&o, 0, sizeof o);
    o.precision = prec;
    o.default_time = dflt;
    lp_parser *p = lp_parser_new(&o);
    assert_non_null(p);
    return p;
}

static bool str_is(vt_str s, const char *c)
{
    return s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

/* One point expected from body; returns it in *pt (valid while p lives). */
static void parse_one(lp_parser *p, const char *body, vt_point *pt)
{
    assert_int_equal(lp_parser_reset(p, body, strlen(body)), VT_OK);
    lp_error e;
    int k = lp_parser_next(p, pt, &e);
    if (k != LP_POINT)
        fail_msg("expected a point from \"%s\", got %d (%s at %zu:%zu)", body, k,
                 k == LP_ERROR ? e.msg : "", e.line, e.column);
}

static void expect_error(const char *body, const char *msg_part, size_t line, size_t col)
{
    lp_parser *p = parser_with(LP_PRECISION_NS, 0);
    parsed r = parse_all(p, body, strlen(body), NULL, NULL);
    if (r.nerrors == 0)
        fail_msg("expected an error from \"%s\"", body);
    if (msg_part && strstr(r.first_err.msg, msg_part) == NULL)
        fail_msg("error for \"%s\" is \"%s\", wanted \"%s\"", body, r.first_err.msg, msg_part);
    if (line)
        assert_int_equal(r.first_err.line, line);
    if (col)
        assert_int_equal(r.first_err.column, col);
    lp_parser_free(p);
}

/* Floats: the quick path for plain decimals (parse_f64: [-]digits[.digits], at most 15
 * digits) gives strtod's double bit for bit, at every digit count and dot position, for -0
 * too; longer or other shapes take the general path, also checked against strtod. */
static void test_float_decimals(void **state)
{
    (void)state;
    lp_parser *p = parser_with(LP_PRECISION_NS, 0);
    char num[40], body[64];
    srand(5);
    for (int round = 0; round < 20000; round++) {
        int nd = 1 + rand() % 18, dot = rand() % (nd + 2) - 1; /* -1: no dot; nd: trailing */
        size_t k = 0;
        if (rand() % 3 == 0)
            num[k++] = '-';
        for (int i = 0; i < nd; i++) {
            if (i == dot)
                num[k++] = '.';
            num[k++] = (char)('0' + (round % 7 == 0 ? 0 : rand() % 10));
        }
        if (dot == nd)
            num[k++] = '.';
        num[k] = '\0';
        snprintf(body, sizeof body, "m v=%s 1", num);
        vt_point pt;
        parse_one(p, body, &pt);
        double want = strtod(num, NULL), got = pt.fields[0].value.v.f;
        assert_int_equal(pt.fields[0].value.type, VT_TYPE_FLOAT);
        if (memcmp(&got, &want, sizeof got) != 0)
            fail_msg("\"%s\": %.17g, want %.17g", num, got, want);
    }
    lp_parser_free(p);
}

/* Timestamps: the quick path for plain digits (up to 19, eight at a time) gives what the full
 * parse gives, at every length, with every digit, at the int64 bound, followed by a space, a
 * CR, an LF or the body's end; anything past it (signs, 20 digits, a bad byte) still takes the
 * full path and its errors. */
static void test_timestamps(void **state)
{
    (void)state;
    lp_parser *p = parser_with(LP_PRECISION_NS, 0);
    char body[96], digits[24];
    srand(11);
    for (int len = 1; len <= 19; len++) {
        for (int round = 0; round < 200; round++) {
            for (int i = 0; i < len; i++)
                digits[i] = (char)('0' + (round < 10 ? round : rand() % 10));
            digits[len] = '\0';
            errno = 0;
            long long want = strtoll(digits, NULL, 10);
            bool range = errno == ERANGE;
            static const char *const tails[] = {"", "\n", "\r\n", " ", "  \nm v=2"};
            const char *tail = tails[round % 5];
            snprintf(body, sizeof body, "m v=1 %s%s", digits, tail);
            if (range) {
                expect_error(body, "out of range", 1, 7);
                continue;
            }
            vt_point pt;
            parse_one(p, body, &pt);
            if (pt.time != (int64_t)want)
                fail_msg("\"%s\": %lld, want %lld", body, (long long)pt.time, want);
        }
    }
    vt_point pt;
    parse_one(p, "m v=1 9223372036854775807", &pt);
    assert_true(pt.time == INT64_MAX);
    parse_one(p, "m v=1 0000000000000000001", &pt); /* 19 digits, leading zeros */
    assert_true(pt.time == 1);
    parse_one(p, "m v=1 -9223372036854775808", &pt);
    assert_true(pt.time == INT64_MIN);
    parse_one(p, "m v=1 00000000000000000000042", &pt); /* 23 digits: the full path */
    assert_true(pt.time == 42);
    expect_error("m v=1 9223372036854775808", "out of range", 1, 7);
    expect_error("m v=1 12345678x", "invalid timestamp", 1, 7);
    expect_error("m v=1 1234567812345678x", "invalid timestamp", 1, 7);
    expect_error("m v=1 12345678123456789x", "invalid timestamp", 1, 7);
    lp_parser_free(p);
    /* with a precision the digits are scaled, and the overflow of the scaling is an error */
    p = parser_with(LP_PRECISION_S, 0);
    parse_one(p, "m v=1 1704078000", &pt);
    assert_true(pt.time == 1704078000000000000);
    assert_int_equal(lp_parser_reset(p, "m v=1 9223372037", 16), VT_OK);
    lp_error e;
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_ERROR);
    assert_non_null(strstr(e.msg, "out of range for precision"));
    lp_parser_free(p);
}

/* ---- the conformance corpus -------------------------------------------------------------- */

/* jansson cannot hold integers past int64 (the corpus has uint64 values and big floats written
 * as integers): quote every such number so it arrives as a string. */
static char *quote_big_numbers(const char *in, size_t n)
{
    char *out = malloc(n * 3 + 1);
    assert_non_null(out);
    size_t o = 0;
    bool instr = false;
    for (size_t i = 0; i < n;) {
        char c = in[i];
        if (instr) {
            out[o++] = c;
            if (c == '\\' && i + 1 < n) {
                out[o++] = in[i + 1];
                i += 2;
                continue;
            }
            if (c == '"')
                instr = false;
            i++;
            continue;
        }
        if (c == '"') {
            instr = true;
            out[o++] = c;
            i++;
            continue;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            size_t j = i + (c == '-');
            while (j < n && in[j] >= '0' && in[j] <= '9')
                j++;
            bool plain_int = j == n || (in[j] != '.' && in[j] != 'e' && in[j] != 'E');
            size_t digits = j - i - (c == '-');
            if (plain_int && digits >= 19) {
                char tmp[64] = {0};
                int too_big = 1;
                if (j - i < sizeof tmp) {
                    memcpy(tmp, in + i, j - i);
                    errno = 0;
                    (void)strtoll(tmp, NULL, 10);
                    too_big = errno == ERANGE;
                }
                if (too_big) {
                    out[o++] = '"';
                    memcpy(out + o, in + i, j - i);
                    o += j - i;
                    out[o++] = '"';
                    i = j;
                    continue;
                }
            }
            memcpy(out + o, in + i, j - i);
            o += j - i;
            i = j;
            continue;
        }
        out[o++] = c;
        i++;
    }
    out[o] = '\0';
    return out;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

static size_t b64decode(const char *in, size_t n, char *out)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0)
            continue; /* '=' padding, whitespace */
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    return o;
}

static bool json_str_is(json_t *j, vt_str s)
{
    return json_is_string(j) && json_string_length(j) == s.len &&
           (s.len == 0 || memcmp(json_string_value(j), s.ptr, s.len) == 0);
}

static bool json_num_u64(json_t *j, uint64_t *out)
{
    if (json_is_integer(j)) {
        if (json_integer_value(j) < 0)
            return false;
        *out = (uint64_t)json_integer_value(j);
        return true;
    }
    if (json_is_string(j)) {
        char *e;
        errno = 0;
        *out = strtoull(json_string_value(j), &e, 10);
        return errno == 0 && *e == '\0';
    }
    return false;
}

static bool json_num_f64(json_t *j, double *out)
{
    if (json_is_real(j) || json_is_integer(j)) {
        *out = json_number_value(j);
        return true;
    }
    if (json_is_string(j)) {
        *out = strtod(json_string_value(j), NULL);
        return true;
    }
    return false;
}

/* Compares one produced point with one corpus point; returns NULL or what differs. */
static const char *corpus_point_diff(const vt_point *pt, json_t *exp)
{
    json_t *jt = json_object_get(exp, "time");
    if (!json_is_integer(jt) || json_integer_value(jt) != pt->time)
        return "time";
    if (!json_str_is(json_object_get(exp, "name"), pt->measurement))
        return "name";
    json_t *tags = json_object_get(exp, "tags");
    size_t ntags = json_is_array(tags) ? json_array_size(tags) : 0;
    if (ntags != pt->ntags)
        return "tag count";
    for (size_t i = 0; i < ntags; i++) {
        json_t *t = json_array_get(tags, i);
        if (!json_str_is(json_object_get(t, "key"), pt->tags[i].key) ||
            !json_str_is(json_object_get(t, "value"), pt->tags[i].value))
            return "tag";
    }
    json_t *fields = json_object_get(exp, "fields");
    size_t nfields = json_is_array(fields) ? json_array_size(fields) : 0;
    if (nfields != pt->nfields)
        return "field count";
    for (size_t i = 0; i < nfields; i++) {
        json_t *f = json_array_get(fields, i);
        const vt_field *pf = &pt->fields[i];
        if (!json_str_is(json_object_get(f, "key"), pf->key))
            return "field key";
        json_t *v = json_object_get(f, "value");
        json_t *x;
        if ((x = json_object_get(v, "float")) != NULL) {
            double d;
            if (pf->value.type != VT_TYPE_FLOAT || !json_num_f64(x, &d) || d != pf->value.v.f)
                return "float value";
        } else if ((x = json_object_get(v, "int")) != NULL) {
            if (pf->value.type != VT_TYPE_INT || !json_is_integer(x) ||
                json_integer_value(x) != pf->value.v.i)
                return "int value";
        } else if ((x = json_object_get(v, "uint")) != NULL) {
            uint64_t u;
            if (pf->value.type != VT_TYPE_UINT || !json_num_u64(x, &u) || u != pf->value.v.u)
                return "uint value";
        } else if ((x = json_object_get(v, "bool")) != NULL) {
            if (pf->value.type != VT_TYPE_BOOL || json_is_true(x) != pf->value.v.b)
                return "bool value";
        } else if ((x = json_object_get(v, "string")) != NULL) {
            if (pf->value.type != VT_TYPE_STRING || !json_str_is(x, pf->value.v.s))
                return "string value";
        } else {
            return "unknown value kind";
        }
    }
    return NULL;
}

static void test_corpus(void **state)
{
    (void)state;
    const char *path = VOLTA_SHARED_DATA "/lp-corpus/corpus.json";
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        printf("SKIP: line-protocol corpus not found at %s (needs ../shared/data)\n", path);
        skip();
        return;
    }
    vt_buf raw;
    vt_buf_init(&raw);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        vt_buf_append(&raw, chunk, n);
    fclose(f);
    assert_false(raw.oom);
    char *text = quote_big_numbers((const char *)raw.data, raw.len);
    vt_buf_free(&raw);
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_ALLOW_NUL, &jerr);
    free(text);
    if (root == NULL)
        fail_msg("corpus.json: %s (line %d)", jerr.text, jerr.line);
    json_t *dec = json_object_get(root, "decode");
    assert_true(json_is_object(dec));

    size_t total = 0, passed = 0, results = 0, errors = 0;
    const char *key;
    json_t *tc;
    char *bin = NULL;
    size_t bin_cap = 0;
    json_object_foreach(dec, key, tc)
    {
        total++;
        json_t *in = json_object_get(tc, "input");
        json_t *outj = json_object_get(tc, "output");
        json_t *jtext = json_object_get(in, "text");
        const char *body;
        size_t len;
        if (json_is_string(jtext)) {
            body = json_string_value(jtext);
            len = json_string_length(jtext);
        } else {
            json_t *b = json_object_get(jtext, "binary");
            assert_true(json_is_string(b));
            size_t need = json_string_length(b);
            if (need + 1 > bin_cap) {
                bin_cap = need + 1;
                bin = realloc(bin, bin_cap);
                assert_non_null(bin);
            }
            len = b64decode(json_string_value(b), need, bin);
            body = bin;
        }
        lp_precision prec;
        const char *ps = json_string_value(json_object_get(in, "precision"));
        assert_int_equal(lp_precision_parse(ps, &prec), 0);
        int64_t dflt = (int64_t)json_integer_value(json_object_get(in, "defaultTime"));

        lp_parser *p = parser_with(prec, dflt);
        assert_int_equal(lp_parser_reset(p, body, len), VT_OK);
        json_t *expect = json_object_get(outj, "result");
        const char *why = NULL;
        size_t idx = 0;
        vt_point pt;
        lp_error e;
        int k;
        bool got_error = false;
        while ((k = lp_parser_next(p, &pt, &e)) != LP_END) {
            if (k == LP_ERROR) {
                got_error = true;
                break;
            }
            if (expect != NULL) {
                if (idx >= json_array_size(expect)) {
                    why = "too many points";
                    break;
                }
                why = corpus_point_diff(&pt, json_array_get(expect, idx));
                if (why)
                    break;
            }
            idx++;
        }
        if (expect != NULL) {
            results++;
            if (why == NULL && got_error)
                why = "unexpected error";
            if (why == NULL && idx != json_array_size(expect))
                why = "too few points";
        } else {
            errors++;
            if (!got_error)
                why = "expected an error";
        }
        if (why == NULL) {
            passed++;
        } else {
            char *dump = json_dumps(tc, JSON_COMPACT | JSON_ENSURE_ASCII);
            printf("corpus case %s FAILED (%s)%s%s: %s\n", key, why, got_error ? ": " : "",
                   got_error ? e.msg : "", dump ? dump : "");
            free(dump);
        }
        lp_parser_free(p);
    }
    free(bin);
    json_decref(root);
    printf("line-protocol corpus: %zu of %zu decode cases passed (%zu results, %zu errors)\n",
           passed, total, results, errors);
    assert_int_equal(total, 6615);
    assert_int_equal(passed, total);
}

/* ---- syntax ------------------------------------------------------------------------------ */

static void test_basic_types(void **state)
{
    (void)state;
    lp_parser *p = parser_with(LP_PRECISION_NS, 7);
    vt_point pt;
    parse_one(p, "cpu,host=a,dc=x f=1.5,i=-3i,u=18446744073709551615u,b=t,B=FALSE,s=\"hi\" 123",
              &pt);
    assert_true(str_is(pt.measurement, "cpu"));
    assert_int_equal(pt.ntags, 2);
    assert_true(str_is(pt.tags[0].key, "dc")); /* sorted */
    assert_true(str_is(pt.tags[1].key, "host"));
    assert_int_equal(pt.nfields, 6);
    assert_int_equal(pt.fields[0].value.type, VT_TYPE_FLOAT);
    assert_true(pt.fields[0].value.v.f == 1.5);
    assert_int_equal(pt.fields[1].value.type, VT_TYPE_INT);
    assert_int_equal(pt.fields[1].value.v.i, -3);
    assert_int_equal(pt.fields[2].value.type, VT_TYPE_UINT);
    assert_true(pt.fields[2].value.v.u == UINT64_MAX);
    assert_int_equal(pt.fields[3].value.type, VT_TYPE_BOOL);
    assert_true(pt.fields[3].value.v.b);
    assert_false(pt.fields[4].value.v.b);
    assert_int_equal(pt.fields[5].value.type, VT_TYPE_STRING);
    assert_true(str_is(pt.fields[5].value.v.s, "hi"));
    assert_int_equal(pt.time, 123);

    parse_one(p, "m v=-9223372036854775808i", &pt);
    assert_true(pt.fields[0].value.v.i == INT64_MIN);
    assert_int_equal(pt.time, 7); /* default time */
    parse_one(p, "m v=1e3,w=.5,x=-0.25,y=0x1.8p1,z=1_000.5", &pt);
    assert_true(pt.fields[0].value.v.f == 1000.0);
    assert_true(pt.fields[1].value.v.f == 0.5);
    assert_true(pt.fields[2].value.v.f == -0.25);
    assert_true(pt.fields[3].value.v.f == 3.0);
    assert_true(pt.fields[4].value.v.f == 1000.5);
    parse_one(p, "m v=0.1,w=123456789012345678901234567890", &pt);
    assert_true(pt.fields[0].value.v.f == 0.1);
    assert_true(pt.fields[1].value.v.f == 123456789012345678901234567890.0);
    for (const char *const *b = (const char *const[]){"t", "T", "true", "True", "TRUE", NULL}; *b;
         b++) {
        char line[32];
        snprintf(line, sizeof line, "m v=%s", *b);
        parse_one(p, line, &pt);
        assert_int_equal(pt.fields[0].value.type, VT_TYPE_BOOL);
        assert_true(pt.fields[0].value.v.b);
    }
    lp_parser_free(p);

    expect_error("m v=tRUE", "invalid field value", 1, 5);
    expect_error("m v=1.5.5", "invalid field value", 1, 5);
    expect_error("m v=9223372036854775808i", "out of range", 1, 5);
    expect_error("m v=-1u", "invalid field value", 1, 5);
    expect_error("m v=1e400", "out of range", 1, 5);
    expect_error("m v=-Inf", "invalid field value", 1, 5);
    expect_error("m v=NaN", "invalid field value", 1, 5);
    expect_error("m v=+1", "invalid field value", 1, 5);
    expect_error("m v=1__0", "invalid field value", 1, 5);
    expect_error("m v=0x10", "invalid field value", 1, 5);
    expect_error("m v=abc", "invalid field value", 1, 5);
}

static void test_escapes(void **state)
{
    (void)state;
    lp_parser *p = parser_with(LP_PRECISION_NS, 0);
    vt_point pt;
    parse_one(p, "c\\ p\\,u=x,t\\ a\\=g\\,=v\\ a\\=l\\,ue f\\ i\\=e\\,ld=\"q\\\"uo\\\\te\\n\"",
              &pt);
    assert_true(str_is(pt.measurement, "c p,u=x"));
    assert_true(str_is(pt.tags[0].key, "t a=g,"));
    assert_true(str_is(pt.tags[0].value, "v a=l,ue"));
    assert_true(str_is(pt.fields[0].key, "f i=e,ld"));
    assert_true(str_is(pt.fields[0].value.v.s, "q\"uo\\te\\n")); /* \n is not an escape */
    /* a backslash before an ordinary byte is kept; "\\ " in a tag value = backslash + space */
    parse_one(p, "m,k=a\\b\\\\\\ c f=1", &pt);
    assert_true(str_is(pt.tags[0].value, "a\\b\\\\ c"));
    parse_one(p, "m,k=\\\\ e f=1", &pt);
    assert_true(str_is(pt.tags[0].value, "\\ e"));
    /* a string field may hold a newline: the entry spans two lines */
    const char *two = "m s=\"a\nb\" 5\nm v=2";
    assert_int_equal(lp_parser_reset(p, two, strlen(two)), VT_OK);
    lp_error e;
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_POINT);
    assert_true(str_is(pt.fields[0].value.v.s, "a\nb"));
    assert_int_equal(pt.time, 5);
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_POINT);
    assert_true(pt.fields[0].value.v.f == 2.0);
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_END);
    /* escapes in a long line force the arena to grow mid-line: earlier strings stay intact */
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(&b, "m\\ x");
    for (int i = 0; i < 200; i++)
        vt_buf_printf(&b, ",k%03d\\ =v\\ %0100d", i, i);
    vt_buf_printf(&b, " f=1");
    parse_one(p, vt_buf_cstr(&b), &pt);
    assert_true(str_is(pt.measurement, "m x"));
    assert_int_equal(pt.ntags, 200);
    for (size_t i = 0; i < 200; i++) {
        char k[16], v[128];
        snprintf(k, sizeof k, "k%03zu ", i);
        snprintf(v, sizeof v, "v %0100zu", i);
        assert_true(str_is(pt.tags[i].key, k));
        assert_true(str_is(pt.tags[i].value, v));
    }
    vt_buf_free(&b);
    lp_parser_free(p);

    expect_error("m,k=v\\", NULL, 1, 0);
    expect_error("m\xff v=1", "UTF-8", 1, 1);
    expect_error("m s=\"\xc0\xaf\"", "UTF-8", 1, 5);     /* overlong */
    expect_error("m s=\"\xed\xa0\x80\"", "UTF-8", 1, 5); /* surrogate */
}

static void test_structure_errors(void **state)
{
    (void)state;
    expect_error("m", "missing fields", 1, 2);
    expect_error("m,t=v", "missing fields", 1, 6);
    expect_error("m,t=v\nx f=1", "missing fields", 1, 6);
    /* line numbers count the newlines inside a string field, CRLF and blank lines */
    expect_error("m s=\"a\nb\nc\" 1\nbad line", NULL, 4, 0);
    expect_error("m s=\"a\nb\" 1\r\n\nm v=1\nbad line", NULL, 5, 0);
    expect_error("m v=1\nm s=\"x\ny\"\n\r\nm v=2 1 junk", NULL, 5, 0);
    expect_error("m,t= f=1", "missing tag value", 1, 5);
    expect_error("m,=v f=1", "missing tag key", 1, 3);
    expect_error("m, f=1", "expected tag key", 1, 3);
    expect_error("m,t f=1", "expected '='", 1, 4);
    expect_error("m f", "expected '='", 1, 4);
    expect_error("m f=1,", "missing field key", 1, 7);
    expect_error("m f=", "missing field value", 1, 5);
    expect_error("m f=\"abc", "unterminated", 1, 5);
    expect_error("m f=\"abc\"x", "unexpected character", 1, 10);
    expect_error("m f=1 12a", "invalid timestamp", 1, 7);
    expect_error("m f=1 1 2", "unexpected text after timestamp", 1, 9);
    expect_error("m f=1 -", "invalid timestamp", 1, 7);
    expect_error("m f=1 99999999999999999999", "out of range", 1, 7);
    expect_error("\tm f=1", "invalid character", 1, 1);
    expect_error(" ,m f=1", "invalid character", 1, 2);
    expect_error("m,b=1,a=2,b=3 f=1", "duplicate tag key", 1, 2);
    expect_error("m f=1\rx", NULL, 1, 0);
    /* the error names the right line and the next lines still parse */
    lp_parser *p = parser_with(LP_PRECISION_NS, 0);
    const char *body = "ok v=1\n\nbad,x v=1\r\nok v=2\nbad v=1 x\nok v=3";
    parsed r = parse_all(p, body, strlen(body), NULL, NULL);
    assert_int_equal(r.npoints, 3);
    assert_int_equal(r.nerrors, 2);
    assert_int_equal(r.first_err.line, 3);
    assert_int_equal(r.first_err.column, 6);
    assert_int_equal(r.first_err.line_len, 9);
    assert_memory_equal(r.first_err.line_start, "bad,x v=1", 9);
    /* lp_parser_last_line gives the line that produced the point */
    assert_int_equal(lp_parser_reset(p, "a v=1\r\n  b v=2\n", 15), VT_OK);
    vt_point pt;
    lp_error e;
    const char *ls;
    size_t ll;
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_POINT);
    lp_parser_last_line(p, &ls, &ll);
    assert_int_equal(ll, 5);
    assert_memory_equal(ls, "a v=1", 5);
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_POINT);
    lp_parser_last_line(p, &ls, &ll);
    assert_int_equal(ll, 5);
    assert_memory_equal(ls, "b v=2", 5);
    lp_parser_free(p);
}

static void test_comments_crlf_blank(void **state)
{
    (void)state;
    lp_parser *p = parser_with(LP_PRECISION_NS, 0);
    const char *body = "# header\r\n\r\n   \n  # indented comment\na v=1 1\r\nb v=2 2   \r\n\n"
                       "#last\nc v=3 3\r";
    int64_t times[3];
    int n = 0;
    assert_int_equal(lp_parser_reset(p, body, strlen(body)), VT_OK);
    vt_point pt;
    lp_error e;
    int k;
    while ((k = lp_parser_next(p, &pt, &e)) != LP_END) {
        assert_int_equal(k, LP_POINT);
        assert_true(n < 3);
        times[n++] = pt.time;
        assert_int_equal(pt.fields[0].value.v.f, (double)pt.time);
    }
    assert_int_equal(n, 3);
    assert_int_equal(times[2], 3);
    lp_parser_free(p);
    /* a comment with a control character is an error; so is a lone CR inside a line */
    expect_error("# bad\tcomment\nm v=1", "comment", 1, 1);
    expect_error("\n\nm v=1\rm v=2", NULL, 3, 0);
    expect_error("\n\nm v=\"a\nb\" 1 x", "unexpected text", 4, 6);
}

static void test_duplicate_fields(void **state)
{
    (void)state;
    lp_parser *p = parser_with(LP_PRECISION_NS, 0);
    vt_point pt;
    parse_one(p, "m a=1,b=2,a=3i", &pt);
    assert_int_equal(pt.nfields, 2);
    assert_true(str_is(pt.fields[0].key, "a"));
    assert_int_equal(pt.fields[0].value.type, VT_TYPE_INT);
    assert_int_equal(pt.fields[0].value.v.i, 3);
    assert_true(str_is(pt.fields[1].key, "b"));
    /* many fields: the sort-based path */
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(&b, "m ");
    for (int i = 0; i < 100; i++)
        vt_buf_printf(&b, "%sf%d=%di", i ? "," : "", i % 50, i);
    parse_one(p, vt_buf_cstr(&b), &pt);
    assert_int_equal(pt.nfields, 50);
    for (int i = 0; i < 50; i++) {
        char k[8];
        snprintf(k, sizeof k, "f%d", i);
        assert_true(str_is(pt.fields[i].key, k));
        assert_int_equal(pt.fields[i].value.v.i, i + 50);
    }
    vt_buf_free(&b);
    lp_parser_free(p);
}

static void test_precisions(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        lp_precision p;
        int64_t ns;
    } cases[] = {
        {"ns", LP_PRECISION_NS, 1},           {"n", LP_PRECISION_NS, 1},
        {"1ns", LP_PRECISION_NS, 1},          {"", LP_PRECISION_NS, 1},
        {"us", LP_PRECISION_US, 1000},        {"u", LP_PRECISION_US, 1000},
        {"\xc2\xb5s", LP_PRECISION_US, 1000}, {"1\xc2\xb5s", LP_PRECISION_US, 1000},
        {"ms", LP_PRECISION_MS, 1000000},     {"1ms", LP_PRECISION_MS, 1000000},
        {"s", LP_PRECISION_S, 1000000000},    {"1s", LP_PRECISION_S, 1000000000},
        {"m", LP_PRECISION_M, 60000000000},   {"1m", LP_PRECISION_M, 60000000000},
        {"h", LP_PRECISION_H, 3600000000000}, {"1h", LP_PRECISION_H, 3600000000000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lp_precision p = LP_PRECISION_H;
        assert_int_equal(lp_precision_parse(cases[i].name, &p), 0);
        assert_int_equal(p, cases[i].p);
        assert_true(lp_precision_ns(p) == cases[i].ns);
    }
    lp_precision x;
    assert_int_equal(lp_precision_parse(NULL, &x), 0);
    assert_int_equal(x, LP_PRECISION_NS);
    assert_int_equal(lp_precision_parse("sec", &x), -1);
    assert_int_equal(lp_precision_parse("2s", &x), -1);

    vt_point pt;
    lp_parser *p = parser_with(LP_PRECISION_S, 1999999999);
    parse_one(p, "m v=1 1700000000", &pt);
    assert_true(pt.time == INT64_C(1700000000000000000));
    parse_one(p, "m v=1", &pt); /* default time truncated to the precision */
    assert_true(pt.time == INT64_C(1000000000));
    parse_one(p, "m v=1 -5", &pt);
    assert_true(pt.time == INT64_C(-5000000000));
    parse_one(p, "m v=1 9223372036", &pt);
    assert_true(pt.time == INT64_C(9223372036000000000));
    lp_parser_free(p);
    p = parser_with(LP_PRECISION_S, -1500000000); /* floor for negative defaults */
    parse_one(p, "m v=1", &pt);
    assert_true(pt.time == INT64_C(-2000000000));
    assert_int_equal(lp_parser_reset(p, "m v=1 9223372037", 16), VT_OK);
    lp_error e;
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_ERROR);
    assert_non_null(strstr(e.msg, "out of range"));
    lp_parser_free(p);
    p = parser_with(LP_PRECISION_H, 0);
    parse_one(p, "m v=1 2", &pt);
    assert_true(pt.time == INT64_C(7200000000000));
    lp_parser_free(p);
}

static void test_limits(void **state)
{
    (void)state;
    lp_options o;
    memset(&o, 0, sizeof o);
    o.limits.max_tags = 2;
    o.limits.max_fields = 3;
    o.limits.max_line_bytes = 40;
    o.limits.max_body_bytes = 100;
    lp_parser *p = lp_parser_new(&o);
    assert_non_null(p);
    vt_point pt;
    lp_error e;
    const char *ok = "m,a=1,b=2 x=1,y=2,z=3";
    parse_one(p, ok, &pt);
    assert_int_equal(pt.ntags, 2);
    assert_int_equal(pt.nfields, 3);

    assert_int_equal(lp_parser_reset(p, "m,a=1,b=2,c=3 x=1", 17), VT_OK);
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_ERROR);
    assert_string_equal(e.msg, "tag limit exceeded (3 > 2)");
    assert_int_equal(e.column, 11);

    assert_int_equal(lp_parser_reset(p, "m x=1,y=2,z=3,w=4", 17), VT_OK);
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_ERROR);
    assert_string_equal(e.msg, "field limit exceeded (4 > 3)");

    const char *longl = "m v=1\nm s=\"0123456789012345678901234567890123456789\"\nm v=2";
    assert_int_equal(lp_parser_reset(p, longl, strlen(longl)), VT_OK);
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_POINT);
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_ERROR);
    assert_non_null(strstr(e.msg, "line too long"));
    assert_int_equal(e.line, 2);
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_POINT);
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_END);

    /* a string that spans lines counts as one long entry */
    const char *multi = "m s=\"0123456789\n0123456789\n0123456789\n0123456789\"";
    assert_int_equal(lp_parser_reset(p, multi, strlen(multi)), VT_OK);
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_ERROR);
    assert_non_null(strstr(e.msg, "line too long"));
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_END);

    char big[101];
    memset(big, '#', sizeof big);
    assert_int_equal(lp_parser_reset(p, big, sizeof big), VT_ELIMIT);
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_END);
    lp_parser_free(p);

    /* defaults: 256 tags pass, 257 fail */
    p = parser_with(LP_PRECISION_NS, 0);
    vt_buf b;
    vt_buf_init(&b);
    vt_buf_printf(&b, "m");
    for (int i = 0; i < 257; i++)
        vt_buf_printf(&b, ",t%03d=v", i);
    vt_buf_printf(&b, " f=1");
    assert_int_equal(lp_parser_reset(p, (const char *)b.data, b.len), VT_OK);
    assert_int_equal(lp_parser_next(p, &pt, &e), LP_ERROR);
    assert_string_equal(e.msg, "tag limit exceeded (257 > 256)");
    vt_buf_free(&b);
    lp_parser_free(p);
}

/* ---- writer round trip --------------------------------------------------------------------- */

static void roundtrip_cb(const vt_point *pt, void *ctx)
{
    int *count = ctx;
    vt_buf b;
    vt_buf_init(&b);
    lp_write_point(&b, pt);
    assert_false(b.oom);
    assert_true(b.len > 0 && b.data[b.len - 1] == '\n');
    lp_parser *q = parser_with(LP_PRECISION_NS, 1);
    assert_int_equal(lp_parser_reset(q, (const char *)b.data, b.len), VT_OK);
    vt_point again;
    lp_error e;
    int k = lp_parser_next(q, &again, &e);
    if (k != LP_POINT)
        fail_msg("re-parse of \"%.*s\" failed: %s", (int)b.len, (const char *)b.data, e.msg);
    if (!lp_point_equal(pt, &again))
        fail_msg("round trip changed \"%.*s\"", (int)b.len, (const char *)b.data);
    assert_int_equal(lp_parser_next(q, &again, &e), LP_END);
    lp_parser_free(q);
    vt_buf_free(&b);
    (*count)++;
}

static void test_write_roundtrip(void **state)
{
    (void)state;
    const char *body =
        "c\\ p\\,u=x,t\\ a\\=g\\,=v\\ a\\=l\\,ue f\\ i\\=e\\,ld=\"q\\\"uo\\\\te\\n\" 1\n"
        "m,k=a\\b\\\\\\ c f=1,g=0.1,h=-0,i=1e300,j=5e-324,k=123456789.123456789 -1\n"
        "m i=-9223372036854775808i,u=18446744073709551615u,t=T,f=false\n"
        "m s=\"multi\nline \\\\\\\" string\",e=\"\"\n"
        "m\\\\y\\z x=1\n"
        "\xc3\xa9t\xc3\xa9,\xe2\x82\xac=\xf0\x9f\x98\x80 \xe6\x97\xa5=1\n";
    lp_parser *p = parser_with(LP_PRECISION_NS, 42);
    int count = 0;
    parsed r = parse_all(p, body, strlen(body), roundtrip_cb, &count);
    if (r.nerrors != 0)
        fail_msg("line %zu: %s", r.first_err.line, r.first_err.msg);
    assert_int_equal(count, 6);
    lp_parser_free(p);

    /* the exact canonical text */
    vt_tag tags[1] = {{vt_str_c("h st"), vt_str_c("a,b=c")}};
    vt_field fields[2];
    fields[0].key = vt_str_c("v=1");
    fields[0].value.type = VT_TYPE_FLOAT;
    fields[0].value.v.f = 0.1;
    fields[1].key = vt_str_c("s");
    fields[1].value.type = VT_TYPE_STRING;
    fields[1].value.v.s = vt_str_c("say \"hi\" \\o/");
    vt_point pt = {vt_str_c("my m,x"), tags, 1, fields, 2, 1234};
    vt_buf b;
    vt_buf_init(&b);
    lp_write_point(&b, &pt);
    assert_string_equal(vt_buf_cstr(&b),
                        "my\\ m\\,x,h\\ st=a\\,b\\=c v\\=1=0.1,s=\"say \\\"hi\\\" \\\\o/\" 1234\n");
    vt_buf_free(&b);

    char f[32];
    assert_int_equal(lp_format_float(f, 0.1), 3);
    assert_string_equal(f, "0.1");
    lp_format_float(f, 1.0 / 3.0);
    assert_true(strtod(f, NULL) == 1.0 / 3.0);
    lp_format_float(f, 1e21);
    assert_string_equal(f, "1e+21");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_basic_types),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_float_decimals),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_comments_crlf_blank),
        cmocka_unit_test(test_duplicate_fields),
        cmocka_unit_test(test_precisions),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_write_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
