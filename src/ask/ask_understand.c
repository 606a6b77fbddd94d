/*
 * ask/ask_understand.c — from tokens to an intent: what is measured, where, from which source or
 * plant, over which time, aggregated how, ranked or shared by what.
 *
 * Design notes:
 *  1. Order: plant names first (on the raw tokens, so a plant's words and number are neither
 *     "corrected" nor read as a time), then typo correction, then the time expression, then the
 *     remaining entities. Each step marks the tokens it uses.
 *  2. Plants and sources are matched against the tag values stored in the database (fetched by
 *     the caller with SHOW TAG VALUES): a plant is found when the words of its name without the
 *     type prefix (UHE, UTE, EOL, UFV, UTN, PCH, CGH) appear in a row in the question (words of
 *     5+ letters may be one edit away). Several plants matching equally well make the question
 *     ambiguous: the caller answers 422 listing them.
 *  3. Sources map to stored `plant_type` values by their folded prefix (HIDR -> hydro, TERM ->
 *     thermal, EOL -> wind, FOTO/SOLAR -> solar, NUCL -> nuclear), so both the demo's
 *     `HIDROELETRICA` and ONS's `HIDROELÉTRICA` match; fuels (gás, carvão, biomassa, óleo) map to
 *     stored `fuel` values containing the word.
 *  4. Nothing is guessed silently: every default (measure implied by a source, a default time
 *     range) lowers the confidence reported with the answer.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ask/ask_int.h"

const char *const ask_subsystem_code[ASK_SUBSYSTEMS] = {"N", "NE", "SE", "S"};

typedef struct word_map {
    const char *w;
    int v;
} word_map;

static const word_map measure_words[] = {
    {"geracao", ASK_M_GEN},      {"gerado", ASK_M_GEN},       {"gerada", ASK_M_GEN},
    {"gerados", ASK_M_GEN},      {"geradas", ASK_M_GEN},      {"gerou", ASK_M_GEN},
    {"geraram", ASK_M_GEN},      {"gerando", ASK_M_GEN},      {"gerar", ASK_M_GEN},
    {"gera", ASK_M_GEN},         {"producao", ASK_M_GEN},     {"produzida", ASK_M_GEN},
    {"produzido", ASK_M_GEN},    {"produziu", ASK_M_GEN},     {"generation", ASK_M_GEN},
    {"generated", ASK_M_GEN},    {"generating", ASK_M_GEN},   {"produced", ASK_M_GEN},
    {"production", ASK_M_GEN},   {"output", ASK_M_GEN},       {"carga", ASK_M_LOAD},
    {"cargas", ASK_M_LOAD},      {"consumo", ASK_M_LOAD},     {"consumida", ASK_M_LOAD},
    {"consumido", ASK_M_LOAD},   {"consumiu", ASK_M_LOAD},    {"demanda", ASK_M_LOAD},
    {"load", ASK_M_LOAD},        {"consumption", ASK_M_LOAD}, {"demand", ASK_M_LOAD},
    {"consumed", ASK_M_LOAD},    {"intercambio", ASK_M_INTER}, {"intercambios", ASK_M_INTER},
    {"transmissao", ASK_M_INTER}, {"transferencia", ASK_M_INTER}, {"fluxo", ASK_M_INTER},
    {"exportacao", ASK_M_INTER}, {"importacao", ASK_M_INTER}, {"exportou", ASK_M_INTER},
    {"importou", ASK_M_INTER},   {"interchange", ASK_M_INTER}, {"exchange", ASK_M_INTER},
    {"exchanges", ASK_M_INTER},  {"transfer", ASK_M_INTER},   {"flow", ASK_M_INTER},
    {"flows", ASK_M_INTER},      {"export", ASK_M_INTER},     {"exports", ASK_M_INTER},
    {"import", ASK_M_INTER},     {"imports", ASK_M_INTER},    {"exported", ASK_M_INTER},
    {"imported", ASK_M_INTER},   {NULL, 0}};

static const word_map subsystem_words[] = {
    {"norte", 0},     {"north", 0},     {"nordeste", 1},  {"northeast", 1},
    {"north-east", 1}, {"sudeste", 2},  {"southeast", 2}, {"south-east", 2},
    {"centro-oeste", 2}, {"midwest", 2}, {"sul", 3},      {"south", 3},
    {NULL, 0}};

static const word_map source_words[] = {
    {"hidraulica", ASK_SRC_HYDRO},   {"hidraulicas", ASK_SRC_HYDRO},  {"hidrica", ASK_SRC_HYDRO},
    {"hidricas", ASK_SRC_HYDRO},     {"hidreletrica", ASK_SRC_HYDRO}, {"hidreletricas", ASK_SRC_HYDRO},
    {"hidroeletrica", ASK_SRC_HYDRO}, {"hidroeletricas", ASK_SRC_HYDRO}, {"hidro", ASK_SRC_HYDRO},
    {"hydro", ASK_SRC_HYDRO},        {"hydroelectric", ASK_SRC_HYDRO}, {"hydropower", ASK_SRC_HYDRO},
    {"eolica", ASK_SRC_WIND},        {"eolicas", ASK_SRC_WIND},       {"vento", ASK_SRC_WIND},
    {"wind", ASK_SRC_WIND},          {"solar", ASK_SRC_SOLAR},        {"solares", ASK_SRC_SOLAR},
    {"fotovoltaica", ASK_SRC_SOLAR}, {"fotovoltaicas", ASK_SRC_SOLAR}, {"photovoltaic", ASK_SRC_SOLAR},
    {"pv", ASK_SRC_SOLAR},           {"termica", ASK_SRC_THERMAL},    {"termicas", ASK_SRC_THERMAL},
    {"termeletrica", ASK_SRC_THERMAL}, {"termeletricas", ASK_SRC_THERMAL},
    {"termoeletrica", ASK_SRC_THERMAL}, {"thermal", ASK_SRC_THERMAL}, {"nuclear", ASK_SRC_NUCLEAR},
    {"nucleares", ASK_SRC_NUCLEAR},  {"atomica", ASK_SRC_NUCLEAR},    {"gas", ASK_SRC_GAS},
    {"carvao", ASK_SRC_COAL},        {"coal", ASK_SRC_COAL},          {"biomassa", ASK_SRC_BIOMASS},
    {"biomass", ASK_SRC_BIOMASS},    {"oleo", ASK_SRC_OIL},           {"oil", ASK_SRC_OIL},
    {"diesel", ASK_SRC_OIL},         {NULL, 0}};

static int map_find(const word_map *m, const char *w)
{
    for (; m->w; m++)
        if (strcmp(m->w, w) == 0)
            return m->v;
    return -1;
}

static bool is(const ask_text *t, size_t i, const char *w)
{
    return i < t->n && strcmp(t->t[i].s, w) == 0;
}

static bool any(const ask_text *t, const char *const *ws)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->t[i].used)
            continue;
        for (const char *const *w = ws; *w; w++)
            if (strcmp(t->t[i].s, *w) == 0)
                return true;
    }
    return false;
}

static bool is_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* ---- sources ---- */

static bool value_is_source(const char *value, ask_source s)
{
    char f[256];
    ask_fold_lower(value, f, sizeof f);
    switch (s) {
    case ASK_SRC_HYDRO: return strncmp(f, "hidr", 4) == 0;
    case ASK_SRC_THERMAL: return strncmp(f, "term", 4) == 0;
    case ASK_SRC_WIND: return strncmp(f, "eol", 3) == 0;
    case ASK_SRC_SOLAR: return strncmp(f, "foto", 4) == 0 || strncmp(f, "solar", 5) == 0;
    case ASK_SRC_NUCLEAR: return strncmp(f, "nucl", 4) == 0;
    case ASK_SRC_GAS: return strstr(f, "gas") != NULL;
    case ASK_SRC_COAL: return strstr(f, "carvao") != NULL;
    case ASK_SRC_BIOMASS: return strstr(f, "biomassa") != NULL || strstr(f, "bagaco") != NULL;
    case ASK_SRC_OIL: return strstr(f, "oleo") != NULL || strstr(f, "diesel") != NULL;
    default: return false;
    }
}

size_t ask_source_values(const ask_tagvals *tv, ask_source s, const char **out, size_t cap)
{
    static const char *const defaults[ASK_SRC_TYPES] = {"HIDROELETRICA", "TERMICA", "EOLICA",
                                                        "FOTOVOLTAICA", "NUCLEAR"};
    size_t n = 0;
    char *const *vals = NULL;
    size_t nvals = 0;
    if (tv) {
        vals = s < ASK_SRC_TYPES ? tv->plant_type : tv->fuel;
        nvals = s < ASK_SRC_TYPES ? tv->nplant_type : tv->nfuel;
    }
    for (size_t i = 0; i < nvals && n < cap; i++)
        if (value_is_source(vals[i], s))
            out[n++] = vals[i];
    if (!tv && s < ASK_SRC_TYPES && cap > 0)
        out[n++] = defaults[s];
    return n;
}

/* ---- plants ---- */

static bool plant_prefix(const char *w)
{
    static const char *const p[] = {"uhe", "ute", "eol", "ufv", "utn", "pch", "cgh", "ugh",
                                    "usina", "conj", "conjunto", NULL};
    for (size_t i = 0; p[i]; i++)
        if (strcmp(p[i], w) == 0)
            return true;
    return false;
}

static bool word_close(const char *q, const char *w)
{
    if (strcmp(q, w) == 0)
        return true;
    return strlen(w) >= 5 && !is_digits(w) && ask_edit_distance(q, w, 1) <= 1;
}

/* Length of the match of plant tokens pt[0..np) at question token i (0 = none); *exact when no
 * word needed an edit. */
static size_t match_at(const ask_text *t, size_t i, const ask_text *pt, size_t from, size_t np,
                       bool *exact)
{
    *exact = true;
    for (size_t k = from; k < np; k++) {
        size_t qi = i + (k - from);
        if (qi >= t->n || t->t[qi].used || !word_close(t->t[qi].s, pt->t[k].s))
            return 0;
        if (strcmp(t->t[qi].s, pt->t[k].s) != 0)
            *exact = false;
    }
    return np - from;
}

static void find_plant(ask_text *t, const ask_tagvals *tv, ask_intent *out)
{
    if (!tv || tv->nplant == 0)
        return;
    size_t best_len = 0, best_at = 0, best_span = 0;
    double best_score = 0;
    for (size_t p = 0; p < tv->nplant; p++) {
        ask_text pt;
        ask_tokenize(tv->plant[p], &pt);
        size_t from = 0;
        while (from < pt.n && plant_prefix(pt.t[from].s))
            from++;
        if (from >= pt.n)
            continue;
        size_t core = pt.n - from;
        /* a single short word ("Sul", "Rio") is too weak to name a plant */
        if (core == 1 && (strlen(pt.t[from].s) < 5 || ask_vocab_has(pt.t[from].s)))
            continue;
        for (size_t i = 0; i < t->n; i++) {
            bool exact;
            size_t len = match_at(t, i, &pt, from, pt.n, &exact);
            bool partial = false;
            /* "Serra Azul" for "UHE Serra Azul 3": the name without its number */
            if (!len && core >= 3 && is_digits(pt.t[pt.n - 1].s)) {
                len = match_at(t, i, &pt, from, pt.n - 1, &exact);
                partial = len > 0;
                if (partial && i + len < t->n && is_digits(t->t[i + len].s))
                    len = 0; /* another number was given: another plant */
            }
            if (!len)
                continue;
            double score = (double)len + (exact ? 0.5 : 0) - (partial ? 0.75 : 0);
            size_t span = len;
            size_t at = i;
            if (i >= from && from > 0 && strcmp(t->t[i - 1].s, pt.t[from - 1].s) == 0) {
                at = i - 1; /* the prefix was written too */
                span++;
            }
            if (score > best_score + 1e-9) {
                best_score = score;
                best_len = len;
                best_at = at;
                best_span = span;
                out->plant = tv->plant[p];
                out->nplant_candidates = 0;
                out->plant_candidates[out->nplant_candidates++] = tv->plant[p];
            } else if (score > best_score - 1e-9 && out->plant != tv->plant[p]) {
                if (out->nplant_candidates < 8)
                    out->plant_candidates[out->nplant_candidates++] = tv->plant[p];
            }
        }
    }
    (void)best_len;
    if (!out->plant)
        return;
    for (size_t k = best_at; k < best_at + best_span && k < t->n; k++)
        t->t[k].used = true;
    if (out->nplant_candidates > 1)
        out->plant = NULL; /* ambiguous */
    else if (best_score < 1.5)
        out->confidence -= 0.1;
}

/* ---- the rest ---- */

static void add_subsystem(ask_intent *out, int s)
{
    for (size_t i = 0; i < out->nsubsys; i++)
        if (out->subsys[i] == s)
            return;
    if (out->nsubsys < ASK_SUBSYSTEMS)
        out->subsys[out->nsubsys++] = s;
}

static void find_subsystems(ask_text *t, ask_intent *out)
{
    for (size_t i = 0; i < t->n; i++) {
        ask_tok *tk = &t->t[i];
        if (tk->used)
            continue;
        if ((is(t, i, "north") || is(t, i, "south")) && is(t, i + 1, "east")) {
            add_subsystem(out, is(t, i, "north") ? 1 : 2);
            tk->used = t->t[i + 1].used = true;
            continue;
        }
        if (is(t, i, "centro") && is(t, i + 1, "oeste")) {
            add_subsystem(out, 2);
            tk->used = t->t[i + 1].used = true;
            continue;
        }
        int s = map_find(subsystem_words, tk->s);
        if (s < 0 && tk->upper) {
            for (int k = 0; k < ASK_SUBSYSTEMS; k++) {
                char low[4];
                snprintf(low, sizeof low, "%s", ask_subsystem_code[k]);
                for (char *c = low; *c; c++)
                    *c = (char)tolower((unsigned char)*c);
                if (strcmp(tk->s, low) == 0)
                    s = k;
            }
        }
        if (s >= 0) {
            add_subsystem(out, s);
            tk->used = true;
            continue;
        }
        if (strcmp(tk->s, "brasil") == 0 || strcmp(tk->s, "brazil") == 0 ||
            strcmp(tk->s, "nacional") == 0 || strcmp(tk->s, "national") == 0 ||
            strcmp(tk->s, "pais") == 0 || strcmp(tk->s, "country") == 0 ||
            strcmp(tk->s, "interligado") == 0 || (strcmp(tk->s, "sin") == 0 && tk->upper)) {
            out->whole_system = true;
            tk->used = true;
        }
    }
}

static int number_near(const ask_text *t, const char *const *anchors)
{
    for (size_t i = 0; i < t->n; i++) {
        bool anchor = false;
        for (const char *const *a = anchors; *a; a++)
            if (strcmp(t->t[i].s, *a) == 0)
                anchor = true;
        if (!anchor)
            continue;
        for (size_t k = i > 2 ? i - 2 : 0; k <= i + 2 && k < t->n; k++) {
            if (k == i || t->t[k].used || !is_digits(t->t[k].s) || strlen(t->t[k].s) > 3)
                continue;
            int v = atoi(t->t[k].s);
            if (v >= 1 && v <= 100)
                return v;
        }
    }
    return 0;
}

/* "how do I ...", "como faço ...": an operational question even when it names a measure
 * ("how do I load ONS files?"); the docs are searched first. */
static bool howto(const ask_text *t)
{
    static const char *const en2[] = {"do", "can", "to", "should", "does", "would", NULL};
    static const char *const pt2[] = {"faco", "fazer", "posso", "devo", "se", "configurar",
                                      "configuro", "restaurar", "restauro", "executar", "executo",
                                      "rodar", "rodo", "usar", "uso", "criar", "crio", "verificar",
                                      "verifico", "carregar", "carrego", "ativar", "ativo",
                                      "desativar", "habilitar", "listar", "importar", "exportar",
                                      "recuperar", "reverter", NULL};
    if (t->n < 2)
        return false;
    const char *const *second = strcmp(t->t[0].s, "how") == 0    ? en2
                                : strcmp(t->t[0].s, "como") == 0 ? pt2
                                                                 : NULL;
    for (; second && *second; second++)
        if (strcmp(t->t[1].s, *second) == 0)
            return true;
    return false;
}

void ask_understand(ask_text *t, const char *question, const ask_tagvals *tv, int64_t now,
                    const vt_tz *tz, ask_intent *out)
{
    memset(out, 0, sizeof *out);
    out->confidence = 0.95;
    find_plant(t, tv, out);
    ask_correct_typos(t);
    out->confidence -= 0.05 * (double)t->ncorr;
    out->lang = ask_detect_language(question, t);
    ask_time_extract(t, now, tz, &out->time);
    find_subsystems(t, out);

    for (size_t i = 0; i < t->n; i++) {
        ask_tok *tk = &t->t[i];
        if (tk->used)
            continue;
        int m = map_find(measure_words, tk->s);
        if (m > 0 && out->measure == ASK_M_NONE)
            out->measure = (ask_measure)m;
        int s = map_find(source_words, tk->s);
        if (s >= 0)
            out->sources |= 1u << s;
        if (strcmp(tk->s, "gas") == 0 && is(t, i + 1, "natural"))
            t->t[i + 1].used = true;
    }

    static const char *const w_mean[] = {"media", "medio", "mean", "average", "avg", NULL};
    static const char *const w_max[] = {"maximo", "maxima", "max", "maximum", "pico", "picos", "peak", "peaks", NULL};
    static const char *const w_min[] = {"minimo", "minima", "min", "minimum", NULL};
    static const char *const w_sum[] = {"soma", "somatorio", "sum", "acumulado", "acumulada", NULL};
    static const char *const w_more[] = {"maior", "maiores", "highest", "largest", "biggest",
                                         "most", "mais", "top", "ranking", "rank", NULL};
    static const char *const w_less[] = {"menor", "menores", "lowest", "smallest", "least",
                                         "menos", NULL};
    static const char *const w_share[] = {"participacao", "percentual", "porcentagem",
                                          "percentagem", "proporcao", "fatia", "share",
                                          "percentage", "percent", "fraction", "%", NULL};
    static const char *const w_plant1[] = {"usina", "plant", NULL};
    static const char *const w_plantn[] = {"usinas", "plants", NULL};
    static const char *const w_sub1[] = {"subsistema", "regiao", "subsystem", "region", NULL};
    static const char *const w_subn[] = {"subsistemas", "regioes", "subsystems", "regions", NULL};
    static const char *const w_src1[] = {"fonte", "source", "tipo", "type", NULL};
    static const char *const w_srcn[] = {"fontes", "sources", "tipos", "types", NULL};
    static const char *const w_by[] = {"por", "by", "per", "cada", "each", "every", NULL};
    static const char *const w_which[] = {"qual", "quais", "which", "what", NULL};

    bool more = any(t, w_more), less = any(t, w_less), share = any(t, w_share);
    bool by = any(t, w_by), which = any(t, w_which);
    bool plant1 = any(t, w_plant1), plantn = any(t, w_plantn);
    bool sub1 = any(t, w_sub1), subn = any(t, w_subn);
    bool src1 = any(t, w_src1), srcn = any(t, w_srcn);
    bool ranked = more || less;

    if (any(t, w_mean))
        out->agg = ASK_AGG_MEAN;
    if (any(t, w_max))
        out->agg = ASK_AGG_MAX;
    else if (any(t, w_min))
        out->agg = ASK_AGG_MIN;
    else if (any(t, w_sum) ||
             (out->time.kind == ASK_T_RANGE && !out->time.single_hour && !out->agg &&
              (any(t, (const char *const[]){"total", "totais", NULL}) ||
               (any(t, (const char *const[]){"quanta", "quanto", "much", NULL}) &&
                any(t, (const char *const[]){"energia", "energy", NULL})))))
        out->agg = out->agg ? out->agg : ASK_AGG_SUM;

    /* "quanto geraram em março?", "how much did wind generate?": the energy of the range */
    if (out->agg == ASK_AGG_NONE && out->time.kind == ASK_T_RANGE && !out->time.single_hour &&
        (any(t, (const char *const[]){"quanto", "quanta", NULL}) ||
         (any(t, (const char *const[]){"how", NULL}) && any(t, (const char *const[]){"much", NULL}))) &&
        any(t, (const char *const[]){"gerou", "geraram", "gerado", "gerada", "produziu", "consumiu",
                                     "consumido", "generated", "generate", "produced", "consumed",
                                     "consume", NULL}))
        out->agg = ASK_AGG_SUM;

    /* granularity: "por hora", "por dia", hourly, daily, "hora a hora", "each day" */
    for (size_t i = 0; i < t->n; i++) {
        if (t->t[i].used)
            continue;
        bool hour = is(t, i, "hora") || is(t, i, "hour"), day = is(t, i, "dia") || is(t, i, "day");
        bool lead = i > 0 && (is(t, i - 1, "por") || is(t, i - 1, "per") || is(t, i - 1, "each") ||
                              is(t, i - 1, "every") || is(t, i - 1, "by") || is(t, i - 1, "cada") ||
                              is(t, i - 1, "a"));
        if ((hour || day) && lead)
            out->gran = hour ? ASK_GRAN_HOUR : ASK_GRAN_DAY;
        if (is(t, i, "horaria") || is(t, i, "hourly"))
            out->gran = ASK_GRAN_HOUR;
        if (is(t, i, "diaria") || is(t, i, "diario") || is(t, i, "daily"))
            out->gran = ASK_GRAN_DAY;
    }

    /* measure */
    if (out->measure == ASK_M_NONE && (out->sources || out->plant || out->nplant_candidates ||
                                       plant1 || plantn)) {
        out->measure = ASK_M_GEN;
        if (!out->sources && !out->plant)
            out->measure_inferred = true;
    }
    if (out->measure == ASK_M_NONE) {
        out->docs = true;
        return;
    }
    out->howto = howto(t);
    if (out->measure_inferred)
        out->confidence -= 0.1;

    /* grouping: rankings, breakdowns, shares */
    bool grouped_words = ranked || share || by || which;
    ask_group g = ASK_G_NONE;
    bool plural = false;
    if ((plant1 || plantn) && grouped_words && !out->plant && out->measure == ASK_M_GEN) {
        g = ASK_G_PLANT;
        plural = plantn;
    } else if ((sub1 || subn) && grouped_words) {
        g = ASK_G_SUBSYSTEM;
        plural = subn;
    } else if ((src1 || srcn) && grouped_words && out->measure == ASK_M_GEN) {
        g = ASK_G_SOURCE;
        plural = srcn;
    }
    if (share && g == ASK_G_NONE) {
        if (out->plant)
            g = ASK_G_PLANT;
        else if (out->sources && out->measure == ASK_M_GEN)
            g = ASK_G_SOURCE;
        else if (out->nsubsys)
            g = ASK_G_SUBSYSTEM;
        else
            g = out->measure == ASK_M_GEN ? ASK_G_SOURCE : ASK_G_SUBSYSTEM;
        plural = true;
    }
    if (out->measure == ASK_M_INTER && g != ASK_G_NONE)
        g = ASK_G_LINK;
    if (out->measure == ASK_M_INTER && out->nsubsys == 0 && g == ASK_G_NONE)
        g = ASK_G_LINK;
    out->group = g;
    out->share = share && g != ASK_G_NONE;
    if (g != ASK_G_NONE) {
        out->ascending = less && !more;
        if (ranked) {
            static const char *const anchors[] = {"top", "maiores", "menores", "largest", "biggest",
                                                  "highest", "lowest", "smallest", "usinas",
                                                  "plants", "subsistemas", "fontes", "sources",
                                                  NULL};
            int n = number_near(t, anchors);
            bool top = any(t, (const char *const[]){"top", NULL});
            if (n)
                out->top_n = n;
            else if (g == ASK_G_PLANT && (plural || top))
                out->top_n = 5;
            else
                out->top_n = plural || top ? 0 : 1;
        }
        /* "maior"/"menor" rank the groups; they are not the max/min over time */
        if (ranked && (out->agg == ASK_AGG_MAX || out->agg == ASK_AGG_MIN) &&
            !any(t, w_max) && !any(t, w_min))
            out->agg = ASK_AGG_NONE;
    } else if (ranked && !share && out->agg == ASK_AGG_NONE) {
        /* no group: "maior carga" is the maximum over time, "menor" the minimum */
        out->agg = less && !more ? ASK_AGG_MIN : ASK_AGG_MAX;
    }

    /* time defaults */
    if (out->time.kind == ASK_T_NONE) {
        out->time.kind = ASK_T_LATEST;
        if (out->agg != ASK_AGG_NONE || out->gran != ASK_GRAN_NONE) {
            out->time_defaulted = true; /* the last 24 hours of data */
            out->confidence -= 0.1;
        }
    }
    if (out->time.kind == ASK_T_LATEST && out->agg == ASK_AGG_NONE && !out->time_defaulted)
        out->time.single_hour = true;
    if (out->confidence < 0.3)
        out->confidence = 0.3;
}
