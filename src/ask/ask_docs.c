/*
 * ask/ask_docs.c — operational questions answered from volta's own documentation: BM25 over the
 * sections of the .md files of the docs directory.
 *
 * Design notes:
 *  1. Passages: each file is split at its Markdown headings (#, ##, ###, ...; lines inside ```
 *     fences are not headings); a passage is one heading's text, titled "Heading > Subheading".
 *  2. Terms: accents folded, lowercase, words of 2+ letters, stop words (pt and en) dropped, a
 *     light stemmer (plural and verb endings: "restores", "restoring", "restored" -> "restor"), and
 *     Portuguese operational words mapped to the English the docs use (restaurar -> restore,
 *     reverter -> rollback, cópia -> backup ...), so "como restauro um backup?" finds RESTORE.md.
 *  3. Score: Okapi BM25 (k1 = 1.2, b = 0.75) over the passages; the section title counts twice
 *     (it is what the passage is about). A passage must contain at least two thirds of the
 *     question's distinct terms and score at least ASK_DOCS_MIN_SCORE.
 *  4. The index is built per call (the docs are ~100 KB; building takes a few ms) — no cache to
 *     invalidate when docs change.
 */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ask/ask_int.h"

#define ASK_DOCS_MAX_FILES 128
#define ASK_DOCS_MAX_FILE (2u << 20)
#define ASK_DOCS_MIN_SCORE 1.5
#define ASK_MAX_QTERMS 32

typedef struct doc_passage {
    char file[128];
    char section[256];
    const char *text; /* into the file's bytes */
    size_t len;
    char **terms; /* stemmed terms, with repetitions */
    size_t nterms;
} doc_passage;

static const char *const doc_stop[] = {
    "a", "o", "as", "os", "e", "de", "da", "do", "das", "dos", "em", "no", "na", "nos", "nas",
    "um", "uma", "que", "qual", "quais", "como", "faco", "fazer", "faz", "para", "por", "com",
    "se", "eu", "meu", "minha", "ao", "the", "an", "of", "in", "on", "to", "for", "is", "are",
    "how", "do", "does", "i", "my", "what", "which", "and", "or", "it", "be", "can", "with",
    "this", "that", "from", "by", "at", "as", "e", "sao", "ser", "esta", "isso", "volta",
    "posso", "pode", "devo", "deve", "when", "quando", "onde", "where", "why", "por que", "it",
    "you", "your", "we", "sobre", "about", NULL};

static const char *const synonyms[][2] = {
    {"restaurar", "restore"}, {"restauro", "restore"}, {"restauracao", "restore"},
    {"restaura", "restore"},  {"reverter", "rollback"}, {"reversao", "rollback"},
    {"reverto", "rollback"},  {"voltar", "rollback"},   {"copia", "backup"},
    {"copias", "backup"},     {"seguranca", "backup"},  {"instantaneo", "snapshot"},
    {"verificar", "verify"},  {"verifico", "verify"},   {"verificacao", "verify"},
    {"configurar", "config"}, {"configuracao", "config"}, {"configuration", "config"},
    {"replicacao", "replication"}, {"replicar", "replication"}, {"replica", "replication"},
    {"carregar", "load"},     {"carrego", "load"},      {"ingestao", "ingest"},
    {"exportar", "export"},   {"exporto", "export"},    {"importar", "import"},
    {"importo", "import"},    {"recuperar", "recover"}, {"recuperacao", "recover"},
    {"falha", "failure"},     {"falhas", "failure"},    {"chave", "key"},
    {"chaves", "key"},        {"limite", "limit"},      {"senha", "password"},
    {"consulta", "query"},    {"consultas", "query"},   {"pergunta", "question"},
    {"perguntas", "question"}, {"banco", "database"},   {"iniciar", "serve"},
    {"servidor", "server"},   {"diario", "journal"},    {"corrompido", "corrupt"},
    {"corrupcao", "corrupt"}, {"checar", "check"},      {"arquivos", "file"},
    {"arquivo", "file"},      {"escrever", "write"},    {"gravar", "write"},
    {"escrita", "write"},     {"metricas", "metrics"},  {"saude", "health"},
    {NULL, NULL}};

static bool stop_word(const char *w)
{
    for (size_t i = 0; doc_stop[i]; i++)
        if (strcmp(doc_stop[i], w) == 0)
            return true;
    return false;
}

/* Stems w in place (a light suffix stripper for English and Portuguese). */
static void stem(char *w)
{
    for (size_t i = 0; synonyms[i][0]; i++)
        if (strcmp(w, synonyms[i][0]) == 0) {
            strcpy(w, synonyms[i][1]);
            break;
        }
    size_t n = strlen(w);
    static const char *const suffixes[] = {"ations", "ation", "ing", "ies", "ed", "es", "s",
                                           "e", NULL};
    for (size_t i = 0; suffixes[i]; i++) {
        size_t sl = strlen(suffixes[i]);
        if (n > sl + 3 && strcmp(w + n - sl, suffixes[i]) == 0) {
            w[n - sl] = '\0';
            return;
        }
    }
}

/* Terms of text[0..len) appended to (*terms, *n). */
static void terms_of(const char *text, size_t len, char ***terms, size_t *n, size_t *cap)
{
    char *tmp = malloc(len + 1);
    char *folded = malloc(len + 1);
    if (!tmp || !folded) {
        free(tmp);
        free(folded);
        return;
    }
    memcpy(tmp, text, len);
    tmp[len] = '\0';
    size_t fl = ask_fold_lower(tmp, folded, len + 1);
    size_t i = 0;
    while (i < fl) {
        while (i < fl && !isalnum((unsigned char)folded[i]))
            i++;
        size_t s = i;
        while (i < fl && (isalnum((unsigned char)folded[i]) || folded[i] == '_'))
            i++;
        size_t wl = i - s;
        if (wl < 2 || wl >= 40)
            continue;
        char w[48];
        memcpy(w, folded + s, wl);
        w[wl] = '\0';
        if (stop_word(w))
            continue;
        stem(w);
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            char **nt = realloc(*terms, nc * sizeof *nt);
            if (!nt)
                break;
            *terms = nt;
            *cap = nc;
        }
        (*terms)[*n] = strdup(w);
        if ((*terms)[*n])
            (*n)++;
    }
    free(tmp);
    free(folded);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct doc_index {
    char *files[ASK_DOCS_MAX_FILES];
    size_t nfiles;
    doc_passage *p;
    size_t np, cap;
} doc_index;

static void add_passage(doc_index *ix, const char *file, const char *section, const char *text,
                        size_t len)
{
    while (len && isspace((unsigned char)*text)) {
        text++;
        len--;
    }
    if (ix->np == ix->cap) {
        size_t nc = ix->cap ? ix->cap * 2 : 128;
        doc_passage *np = realloc(ix->p, nc * sizeof *np);
        if (!np)
            return;
        ix->p = np;
        ix->cap = nc;
    }
    doc_passage *p = &ix->p[ix->np++];
    memset(p, 0, sizeof *p);
    snprintf(p->file, sizeof p->file, "%s", file);
    snprintf(p->section, sizeof p->section, "%s", section);
    p->text = text;
    p->len = len;
    size_t cap = 0;
    terms_of(section, strlen(section), &p->terms, &p->nterms, &cap);
    terms_of(section, strlen(section), &p->terms, &p->nterms, &cap);
    terms_of(text, len, &p->terms, &p->nterms, &cap);
}

static void index_file(doc_index *ix, const char *name, const char *data, size_t len)
{
    char heads[6][200];
    memset(heads, 0, sizeof heads);
    const char *sec_start = data;
    char section[256] = "";
    bool fence = false;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le - p >= 3 && strncmp(p, "```", 3) == 0)
            fence = !fence;
        int level = 0;
        while (!fence && p + level < le && p[level] == '#' && level < 6)
            level++;
        if (level > 0 && p + level < le && p[level] == ' ') {
            add_passage(ix, name, section[0] ? section : name, sec_start, (size_t)(p - sec_start));
            snprintf(heads[level - 1], sizeof heads[0], "%.*s", (int)(le - p - level - 1), p + level + 1);
            for (int k = level; k < 6; k++)
                heads[k][0] = '\0';
            section[0] = '\0';
            for (int k = 0; k < level; k++) {
                if (!heads[k][0] || (k == 0 && level > 1))
                    continue; /* the file title is not part of a section's name */
                size_t sl = strlen(section);
                snprintf(section + sl, sizeof section - sl, "%s%s", sl ? " > " : "", heads[k]);
            }
            sec_start = nl ? nl + 1 : end;
        }
        p = nl ? nl + 1 : end;
    }
    add_passage(ix, name, section[0] ? section : name, sec_start, (size_t)(end - sec_start));
}

static void index_free(doc_index *ix)
{
    for (size_t i = 0; i < ix->np; i++) {
        for (size_t k = 0; k < ix->p[i].nterms; k++)
            free(ix->p[i].terms[k]);
        free(ix->p[i].terms);
    }
    free(ix->p);
    for (size_t i = 0; i < ix->nfiles; i++)
        free(ix->files[i]);
}

size_t ask_docs_search(const char *dir, const char *question, ask_passage *out, size_t max,
                       const char **why)
{
    *why = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        *why = "the docs directory cannot be read";
        return 0;
    }
    char *names[ASK_DOCS_MAX_FILES];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) && nn < ASK_DOCS_MAX_FILES) {
        size_t l = strlen(de->d_name);
        if (l > 3 && strcmp(de->d_name + l - 3, ".md") == 0 && de->d_name[0] != '.')
            names[nn++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_name);
    doc_index ix;
    memset(&ix, 0, sizeof ix);
    for (size_t i = 0; i < nn; i++) {
        if (!names[i])
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        char *data = NULL;
        size_t len = 0;
        if (f) {
            data = malloc(ASK_DOCS_MAX_FILE + 1);
            if (data)
                len = fread(data, 1, ASK_DOCS_MAX_FILE, f);
            fclose(f);
        }
        if (data) {
            data[len] = '\0';
            ix.files[ix.nfiles++] = data;
            index_file(&ix, names[i], data, len);
        }
        free(names[i]);
    }
    size_t found = 0;
    char **q = NULL;
    size_t nq = 0, qcap = 0;
    terms_of(question, strlen(question), &q, &nq, &qcap);
    size_t nq_all = nq;
    if (ix.np == 0 || nq == 0) {
        if (!ix.np)
            *why = "no documentation found";
        goto done;
    }
    if (nq > ASK_MAX_QTERMS)
        nq = ASK_MAX_QTERMS;
    double avgdl = 0;
    for (size_t i = 0; i < ix.np; i++)
        avgdl += (double)ix.p[i].nterms;
    avgdl = avgdl / (double)ix.np + 1e-9;
    double idf[ASK_MAX_QTERMS];
    for (size_t k = 0; k < nq; k++) {
        size_t df = 0;
        for (size_t i = 0; i < ix.np; i++)
            for (size_t j = 0; j < ix.p[i].nterms; j++)
                if (strcmp(ix.p[i].terms[j], q[k]) == 0) {
                    df++;
                    break;
                }
        bool dup = false;
        for (size_t m = 0; m < k; m++)
            dup = dup || strcmp(q[m], q[k]) == 0;
        idf[k] = dup ? 0 : log(1.0 + ((double)ix.np - (double)df + 0.5) / ((double)df + 0.5));
    }
    double *score = calloc(ix.np, sizeof *score);
    if (!score)
        goto done;
    size_t distinct = 0;
    for (size_t k = 0; k < nq; k++) {
        bool dup = false;
        for (size_t m = 0; m < k; m++)
            dup = dup || strcmp(q[m], q[k]) == 0;
        distinct += !dup;
    }
    for (size_t i = 0; i < ix.np; i++) {
        if (ix.p[i].len < 20)
            continue;
        double dl = (double)ix.p[i].nterms;
        size_t matched = 0;
        for (size_t k = 0; k < nq; k++) {
            double tf = 0;
            for (size_t j = 0; j < ix.p[i].nterms; j++)
                if (strcmp(ix.p[i].terms[j], q[k]) == 0)
                    tf++;
            if (tf > 0 && idf[k] > 0)
                matched++;
            if (tf > 0)
                score[i] += idf[k] * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * dl / avgdl));
        }
        /* most of the question must be in the passage: "the meaning of life" is not answered by
         * a passage that happens to say "meaning" */
        if (matched * 3 < distinct * 2)
            score[i] = 0;
    }
    while (found < max) {
        size_t best = ix.np;
        for (size_t i = 0; i < ix.np; i++)
            if (score[i] >= ASK_DOCS_MIN_SCORE && (best == ix.np || score[i] > score[best]))
                best = i;
        if (best == ix.np)
            break;
        ask_passage *o = &out[found++];
        snprintf(o->file, sizeof o->file, "%s", ix.p[best].file);
        snprintf(o->section, sizeof o->section, "%s", ix.p[best].section);
        size_t l = ix.p[best].len < sizeof o->text - 1 ? ix.p[best].len : sizeof o->text - 1;
        /* do not cut a UTF-8 sequence */
        while (l > 0 && l < ix.p[best].len && ((unsigned char)ix.p[best].text[l] & 0xc0) == 0x80)
            l--;
        memcpy(o->text, ix.p[best].text, l);
        o->text[l] = '\0';
        while (l > 0 && isspace((unsigned char)o->text[l - 1]))
            o->text[--l] = '\0';
        o->score = score[best];
        score[best] = -1;
    }
    free(score);
done:
    for (size_t k = 0; k < nq_all; k++)
        free(q[k]);
    free(q);
    index_free(&ix);
    return found;
}

/* ---- where the docs are ---- */

static pthread_mutex_t docs_mu = PTHREAD_MUTEX_INITIALIZER;
static char docs_set[PATH_MAX];
static char docs_found[PATH_MAX];

void ask_docs_set_dir(const char *dir)
{
    pthread_mutex_lock(&docs_mu);
    snprintf(docs_set, sizeof docs_set, "%s", dir ? dir : "");
    pthread_mutex_unlock(&docs_mu);
}

static bool has_md(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool yes = false;
    struct dirent *de;
    while (!yes && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        yes = l > 3 && strcmp(de->d_name + l - 3, ".md") == 0;
    }
    closedir(d);
    return yes;
}

const char *ask_docs_dir(void)
{
    pthread_mutex_lock(&docs_mu);
    const char *r = NULL;
    if (docs_set[0]) {
        r = docs_set;
    } else if (getenv("VOLTA_DOCS_DIR") && getenv("VOLTA_DOCS_DIR")[0]) {
        snprintf(docs_found, sizeof docs_found, "%s", getenv("VOLTA_DOCS_DIR"));
        r = docs_found;
    } else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = '\0';
            char *slash = strrchr(exe, '/');
            if (slash)
                *slash = '\0';
            static const char *const rel[] = {"../docs", "../../docs", "../share/doc/volta", NULL};
            for (size_t i = 0; rel[i] && !r; i++) {
                char cand[PATH_MAX + 32];
                snprintf(cand, sizeof cand, "%s/%s", exe, rel[i]);
                if (has_md(cand)) {
                    char real[PATH_MAX];
                    snprintf(docs_found, sizeof docs_found, "%s", realpath(cand, real) ? real : cand);
                    r = docs_found;
                }
            }
        }
        if (!r) {
            snprintf(docs_found, sizeof docs_found, "docs");
            r = docs_found;
        }
    }
    pthread_mutex_unlock(&docs_mu);
    return r;
}
