/*
 * tests/fuzz/fuzz_flux.c — libFuzzer target for query/flux_parser.
 *
 * The input is parsed as a Flux program. It must never crash or leak; a rejected program must
 * carry a message, a VT_EPARSE/VT_ELIMIT/VT_ENOMEM code and no tree. An accepted program is
 * printed (s1); s1 must parse again into a tree equal to the first one (same kinds, names,
 * values and shape; positions aside), and printing that tree must give s1 again (s1 is a
 * fixpoint). A small arena budget on odd first bytes reaches the out-of-memory paths too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/flux_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "fuzz_flux: %s\n  first:  %s\n  second: %s\n", what, a, b ? b : "");
    abort();
}

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool node_eq(const flux_node *a, const flux_node *b);

static bool props_eq(const flux_property *a, size_t na, const flux_property *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        if (!str_eq(a[i].key, b[i].key) || a[i].key_is_string != b[i].key_is_string ||
            !node_eq(a[i].value, b[i].value))
            return false;
    }
    return true;
}

static bool list_eq(flux_node *const *a, size_t na, flux_node *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!node_eq(a[i], b[i]))
            return false;
    return true;
}

static bool node_eq(const flux_node *a, const flux_node *b)
{
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind || a->height != b->height)
        return false;
    switch (a->kind) {
    case FLUX_NODE_FILE:
        if (!str_eq(a->u.file.package, b->u.file.package) ||
            a->u.file.nimports != b->u.file.nimports)
            return false;
        for (size_t i = 0; i < a->u.file.nimports; i++)
            if (!str_eq(a->u.file.imports[i].alias, b->u.file.imports[i].alias) ||
                !str_eq(a->u.file.imports[i].path, b->u.file.imports[i].path))
                return false;
        return list_eq(a->u.file.body, a->u.file.nbody, b->u.file.body, b->u.file.nbody);
    case FLUX_STMT_VAR:
    case FLUX_STMT_OPTION:
        return str_eq(a->u.assign.name, b->u.assign.name) &&
               str_eq(a->u.assign.member, b->u.assign.member) &&
               node_eq(a->u.assign.init, b->u.assign.init);
    case FLUX_STMT_EXPR:
    case FLUX_STMT_RETURN:
    case FLUX_EXPR_PAREN:
        return node_eq(a->u.expr, b->u.expr);
    case FLUX_EXPR_IDENT:
        return str_eq(a->u.ident, b->u.ident);
    case FLUX_EXPR_INT:
        return a->u.integer == b->u.integer;
    case FLUX_EXPR_FLOAT:
        return a->u.flt == b->u.flt;
    case FLUX_EXPR_STRING:
        return str_eq(a->u.str, b->u.str);
    case FLUX_EXPR_STRING_INTERP:
        if (a->u.interp.nparts != b->u.interp.nparts)
            return false;
        for (size_t i = 0; i < a->u.interp.nparts; i++)
            if (!str_eq(a->u.interp.parts[i].text, b->u.interp.parts[i].text) ||
                !node_eq(a->u.interp.parts[i].expr, b->u.interp.parts[i].expr))
                return false;
        return true;
    case FLUX_EXPR_DURATION:
        if (a->u.duration.nparts != b->u.duration.nparts)
            return false;
        for (size_t i = 0; i < a->u.duration.nparts; i++)
            if (a->u.duration.parts[i].magnitude != b->u.duration.parts[i].magnitude ||
                a->u.duration.parts[i].unit != b->u.duration.parts[i].unit)
                return false;
        return true;
    case FLUX_EXPR_DATETIME:
        return a->u.datetime.secs == b->u.datetime.secs &&
               a->u.datetime.nsecs == b->u.datetime.nsecs &&
               a->u.datetime.offset_min == b->u.datetime.offset_min;
    case FLUX_EXPR_REGEX:
        return str_eq(a->u.regex, b->u.regex);
    case FLUX_EXPR_PIPE_LIT:
        return true;
    case FLUX_EXPR_ARRAY:
        return list_eq(a->u.array.elems, a->u.array.n, b->u.array.elems, b->u.array.n);
    case FLUX_EXPR_DICT:
        return list_eq(a->u.dict.keys, a->u.dict.n, b->u.dict.keys, b->u.dict.n) &&
               list_eq(a->u.dict.values, a->u.dict.n, b->u.dict.values, b->u.dict.n);
    case FLUX_EXPR_RECORD:
        return str_eq(a->u.record.with, b->u.record.with) &&
               props_eq(a->u.record.props, a->u.record.nprops, b->u.record.props,
                        b->u.record.nprops);
    case FLUX_EXPR_MEMBER:
        return a->u.member.bracket == b->u.member.bracket &&
               str_eq(a->u.member.property, b->u.member.property) &&
               node_eq(a->u.member.object, b->u.member.object);
    case FLUX_EXPR_INDEX:
        return node_eq(a->u.index.object, b->u.index.object) &&
               node_eq(a->u.index.index, b->u.index.index);
    case FLUX_EXPR_CALL:
        return node_eq(a->u.call.callee, b->u.call.callee) &&
               props_eq(a->u.call.args, a->u.call.nargs, b->u.call.args, b->u.call.nargs);
    case FLUX_EXPR_PIPE:
        return node_eq(a->u.pipe.arg, b->u.pipe.arg) && node_eq(a->u.pipe.call, b->u.pipe.call);
    case FLUX_EXPR_FUNCTION:
        return a->u.fn.is_block == b->u.fn.is_block &&
               props_eq(a->u.fn.params, a->u.fn.nparams, b->u.fn.params, b->u.fn.nparams) &&
               node_eq(a->u.fn.expr, b->u.fn.expr) &&
               list_eq(a->u.fn.body, a->u.fn.nbody, b->u.fn.body, b->u.fn.nbody);
    case FLUX_EXPR_UNARY:
        return a->u.unary.op == b->u.unary.op && node_eq(a->u.unary.arg, b->u.unary.arg);
    case FLUX_EXPR_BINARY:
    case FLUX_EXPR_LOGICAL:
        return a->u.binary.op == b->u.binary.op && node_eq(a->u.binary.lhs, b->u.binary.lhs) &&
               node_eq(a->u.binary.rhs, b->u.binary.rhs);
    case FLUX_EXPR_CONDITIONAL:
        return node_eq(a->u.cond.test, b->u.cond.test) &&
               node_eq(a->u.cond.cons, b->u.cond.cons) && node_eq(a->u.cond.alt, b->u.cond.alt);
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t budget = (size > 0 && (data[0] & 1)) ? 4096 + (size_t)data[0] * 64 : 0;
    arena *a = arena_new(budget);
    if (!a)
        return 0;
    flux_file *f = NULL;
    flux_error err;
    vt_rc rc = flux_parse(a, (const char *)data, size, &f, &err);
    if (rc != VT_OK) {
        if ((rc != VT_EPARSE && rc != VT_ELIMIT && rc != VT_ENOMEM) || !err.msg[0] || f ||
            err.rc != rc)
            die("bad error report", err.msg, NULL);
        arena_free(a);
        return 0;
    }
    vt_buf s1, s2;
    vt_buf_init(&s1);
    vt_buf_init(&s2);
    flux_format(f, &s1);
    if (s1.oom)
        goto out;
    arena *a2 = arena_new(0);
    if (!a2)
        goto out;
    flux_file *f2 = NULL;
    rc = flux_parse(a2, (const char *)s1.data, s1.len, &f2, &err);
    if (rc != VT_OK)
        die("canonical text does not parse", vt_buf_cstr(&s1), err.msg);
    if (!node_eq(f, f2))
        die("reparsed tree differs", vt_buf_cstr(&s1), NULL);
    flux_format(f2, &s2);
    if (!s2.oom && (s1.len != s2.len || (s1.len && memcmp(s1.data, s2.data, s1.len) != 0)))
        die("not a fixpoint", vt_buf_cstr(&s1), vt_buf_cstr(&s2));
    arena_free(a2);
out:
    vt_buf_free(&s1);
    vt_buf_free(&s2);
    arena_free(a);
    return 0;
}
