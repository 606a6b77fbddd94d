/*
 * ask/ask_text.c — normalisation of questions: accent folding, tokens, typo correction against
 * the vocabulary, language detection, number formatting.
 *
 * Design notes:
 *  1. Folding works on UTF-8 bytes: the Latin-1 supplement (U+00C0..U+00FF, two bytes C3 xx)
 *     covers every accented letter of Portuguese; each maps to its base letter. Other non-ASCII
 *     characters (arrows, quotes, emoji) become spaces, so they separate tokens.
 *  2. A token keeps whether it was written in capitals: subsystem codes are accepted only so
 *     ("SE", "NE", "N", "S"), because lowercase "se" is the Portuguese "if".
 *  3. Typo tolerance: a token of 4+ letters that is neither vocabulary nor a stop word is replaced
 *     by the one vocabulary word within edit distance 1 (4-5 letters) or 2 (6+ letters); a tie
 *     corrects nothing. Corrections are reported in the answer (and lower its confidence).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ask/ask_int.h"

/* Every word the understanding step looks for (ask_understand.c and ask_time.c). */
static const char *const vocab[] = {
    /* measures */
    "geracao", "gerado", "gerada", "gerados", "geradas", "gerou", "geraram", "gerando", "gerar",
    "producao", "produzida", "produzido", "produziu", "generation", "generated", "generating",
    "produced", "production", "output", "carga", "cargas", "consumo", "consumida", "consumido",
    "consumiu", "demanda", "load", "consumption", "demand", "consumed", "intercambio",
    "intercambios", "transmissao", "transferencia", "fluxo", "exportacao", "importacao",
    "exportou", "importou", "interchange", "exchange", "exchanges", "transfer", "flow", "flows",
    "export", "exports", "import", "imports", "exported", "imported", "usina", "usinas", "plant",
    "plants", "energia", "energy",
    /* places */
    "norte", "north", "nordeste", "northeast", "sudeste", "southeast", "centro-oeste",
    "centro", "oeste", "midwest", "sul", "south", "subsistema", "subsistemas", "subsystem",
    "subsystems", "regiao", "regioes", "region", "regions", "brasil", "brazil", "nacional",
    "national", "pais", "country",
    /* sources */
    "hidraulica", "hidraulicas", "hidrica", "hidricas", "hidreletrica", "hidreletricas",
    "hidroeletrica", "hidroeletricas", "hydro", "hydroelectric", "hydropower", "eolica",
    "eolicas", "vento", "wind", "solar", "solares", "fotovoltaica", "fotovoltaicas",
    "photovoltaic", "termica", "termicas", "termeletrica", "termeletricas", "termoeletrica",
    "thermal", "nuclear", "nucleares", "atomica", "carvao", "coal", "biomassa", "biomass",
    "diesel", "oleo", "fonte", "fontes", "source", "sources",
    /* time */
    "hoje", "today", "ontem", "yesterday", "anteontem", "agora", "atual", "atualmente",
    "current", "currently", "latest", "momento", "ultima", "ultimas", "ultimo", "ultimos",
    "last", "past", "passada", "passado", "anterior", "previous", "semana", "semanas", "week",
    "weeks", "mes", "meses", "month", "months", "ano", "anos", "year", "years", "dia", "dias",
    "day", "days", "hora", "horas", "hour", "hours", "entre", "between", "desde", "since",
    "until", "esta", "este", "nesta", "neste", "this", "janeiro", "fevereiro", "marco", "abril",
    "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro",
    "january", "february", "march", "april", "june", "july", "august", "september", "october",
    "november", "december",
    /* aggregations, rankings, shares */
    "media", "medio", "mean", "average", "maximum", "minimum", "maximo", "maxima", "pico", "picos", "peak", "peaks",
    "maior", "maiores", "highest", "largest", "biggest", "most", "minimo", "minima", "menor",
    "menores", "lowest", "smallest", "least", "total", "soma", "somatorio", "acumulado",
    "acumulada", "horaria", "hourly", "diaria", "diario", "daily", "ranking", "participacao",
    "percentual", "porcentagem", "percentagem", "proporcao", "share", "percentage", "percent",
    "fraction", "quanto", "quanta",
};

/* Words never corrected (common words a correction could turn into vocabulary). */
static const char *const stopwords[] = {
    "qual", "quais", "foram", "fora", "estava", "estao", "seria", "sera", "como", "sobre",
    "para", "pelo", "pela", "pelos", "pelas", "mais", "menos", "muito", "quantos", "quantas",
    "what", "which", "were", "have", "been", "there", "their", "then", "than", "about", "over",
    "during", "does", "show", "tell", "give", "much", "many", "with", "from", "into", "when",
    "where", "valor", "valores", "dados", "data", "total", "mostre", "diga", "informe", "quero",
    "saber", "onde", "quando", "isso", "isto", "aqui", "cada", "each", "every", "todas", "todos",
    "toda", "todo", "all", "teve", "tem", "tinha", "houve", "seus", "suas", "nosso", "nossa",
    "faco", "fazer", "faz", "feito", "made", "make", "restore", "rollback", "backup", "backups",
    "snapshot", "restaurar", "reverter", "comando", "command", "configurar", "configure",
    "serra", "vale", "alto", "alta", "real", "nova", "novo", "boas", "mesa", "maria",
};

bool ask_vocab_has(const char *w)
{
    for (size_t i = 0; i < sizeof vocab / sizeof vocab[0]; i++)
        if (strcmp(vocab[i], w) == 0)
            return true;
    return false;
}

static bool is_stopword(const char *w)
{
    for (size_t i = 0; i < sizeof stopwords / sizeof stopwords[0]; i++)
        if (strcmp(stopwords[i], w) == 0)
            return true;
    return false;
}

/* Base letter of U+00C0..U+00FF (second byte 0x80..0xBF of C3 xx); 0 = not a letter. */
static char latin1_base(unsigned char b2)
{
    static const char map[64] = "AAAAAAACEEEEIIII" "DNOOOOO OUUUUY S"
                                "aaaaaaaceeeeiiii" "dnooooo ouuuuy y";
    char c = map[b2 - 0x80];
    return c == ' ' ? 0 : c;
}

size_t ask_fold(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    if (cap == 0)
        return 0;
    while (*p && o + 1 < cap) {
        if (*p < 0x80) {
            out[o++] = (char)*p++;
            continue;
        }
        size_t len = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 1;
        char c = 0;
        if (len == 2 && *p == 0xc3 && (p[1] & 0xc0) == 0x80)
            c = latin1_base(p[1]);
        else if (len == 2 && *p == 0xc2 && (p[1] == 0xba || p[1] == 0xaa))
            c = p[1] == 0xba ? 'o' : 'a'; /* º ª */
        out[o++] = c ? c : ' ';
        for (size_t i = 0; i < len && *p; i++)
            p++;
    }
    out[o] = '\0';
    return o;
}

size_t ask_fold_lower(const char *s, char *out, size_t cap)
{
    size_t n = ask_fold(s, out, cap);
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
    return n;
}

void ask_tokenize(const char *question, ask_text *out)
{
    char folded[ASK_MAX_QUESTION + 1];
    size_t len = ask_fold(question, folded, sizeof folded);
    memset(out, 0, sizeof *out);
    size_t i = 0;
    while (i < len && out->n < ASK_MAX_TOKENS) {
        unsigned char c = (unsigned char)folded[i];
        if (c == '%') {
            strcpy(out->t[out->n++].s, "%");
            i++;
            continue;
        }
        if (!isalnum(c)) {
            i++;
            continue;
        }
        ask_tok *tk = &out->t[out->n];
        size_t o = 0;
        bool has_lower = false, has_upper = false;
        while (i < len) {
            c = (unsigned char)folded[i];
            bool joiner = (c == '/' || c == '-' || c == ':' || c == '.' || c == ',') && i + 1 < len &&
                          isalnum((unsigned char)folded[i + 1]) && o > 0;
            if (c != '-' && joiner) /* '/', ':', '.', ',' join digits only: 15/03/2024, 14:00 */
                joiner = isdigit((unsigned char)folded[i + 1]) && isdigit((unsigned char)tk->s[o - 1]);
            if (!isalnum(c) && !joiner)
                break;
            if (islower(c))
                has_lower = true;
            if (isupper(c))
                has_upper = true;
            if (o + 1 < ASK_TOK_MAX)
                tk->s[o++] = (char)tolower(c);
            i++;
        }
        tk->s[o] = '\0';
        tk->upper = has_upper && !has_lower;
        out->n++;
    }
}

int ask_edit_distance(const char *a, const char *b, int max)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la >= ASK_TOK_MAX || lb >= ASK_TOK_MAX)
        return max + 1;
    if ((la > lb ? la - lb : lb - la) > (size_t)max)
        return max + 1;
    int d[ASK_TOK_MAX][ASK_TOK_MAX];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int rowmin = max + 1;
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
            if (v < rowmin)
                rowmin = v;
        }
        if (rowmin > max)
            return max + 1;
    }
    return d[la][lb] > max ? max + 1 : d[la][lb];
}

static bool all_alpha(const char *s)
{
    for (; *s; s++)
        if (!isalpha((unsigned char)*s) && *s != '-')
            return false;
    return true;
}

void ask_correct_typos(ask_text *t)
{
    for (size_t i = 0; i < t->n; i++) {
        ask_tok *tk = &t->t[i];
        size_t len = strlen(tk->s);
        if (tk->used || len < 4 || !all_alpha(tk->s) || ask_vocab_has(tk->s) || is_stopword(tk->s))
            continue;
        int max = len >= 6 ? 2 : 1;
        const char *best = NULL;
        int bestd = max + 1;
        bool tie = false;
        for (size_t v = 0; v < sizeof vocab / sizeof vocab[0]; v++) {
            if (strlen(vocab[v]) < 4)
                continue;
            int d = ask_edit_distance(tk->s, vocab[v], max);
            if (d < bestd) {
                bestd = d;
                best = vocab[v];
                tie = false;
            } else if (d == bestd && d <= max && best && strcmp(best, vocab[v]) != 0) {
                tie = true;
            }
        }
        if (!best || bestd > max || tie)
            continue;
        if (t->ncorr < ASK_MAX_CORRECTIONS) {
            snprintf(t->corr[t->ncorr].from, ASK_TOK_MAX, "%s", tk->s);
            snprintf(t->corr[t->ncorr].to, ASK_TOK_MAX, "%s", best);
            t->ncorr++;
        }
        snprintf(tk->s, ASK_TOK_MAX, "%s", best);
    }
}

ask_lang ask_detect_language(const char *question, const ask_text *t)
{
    static const char *const pt[] = {"qual", "quais", "de", "da", "do", "das", "dos", "no", "na",
                                     "foi", "geracao", "carga", "hoje", "ontem", "atual", "media",
                                     "maior", "usinas", "usina", "como", "faco", "um", "uma",
                                     "entre", "ultimas", "ultima", "semana", "mes", "em", "e",
                                     "quanto", "para", "intercambio", "consumo", "pico", "agora",
                                     "passado", "passada", "sudeste", "nordeste", "sul", "norte"};
    static const char *const en[] = {"what", "which", "the", "of", "is", "was", "in", "how",
                                     "generation", "load", "today", "yesterday", "current",
                                     "average", "peak", "plants", "plant", "do", "i", "a",
                                     "between", "last", "week", "month", "and", "much", "many",
                                     "now", "interchange", "consumption", "southeast", "northeast",
                                     "south", "north", "top", "share", "wind", "hydro", "by",
                                     "per", "total", "from", "to", "on", "at"};
    int npt = 0, nen = 0;
    for (const unsigned char *p = (const unsigned char *)question; *p; p++)
        if (*p == 0xc3)
            npt++; /* an accented letter */
    for (size_t i = 0; i < t->n; i++) {
        for (size_t k = 0; k < sizeof pt / sizeof pt[0]; k++)
            if (strcmp(t->t[i].s, pt[k]) == 0)
                npt++;
        for (size_t k = 0; k < sizeof en / sizeof en[0]; k++)
            if (strcmp(t->t[i].s, en[k]) == 0)
                nen++;
    }
    return nen > npt ? ASK_EN : ASK_PT;
}

void ask_fmt_number(char *out, size_t cap, double v, int decimals, ask_lang lang)
{
    char raw[64];
    snprintf(raw, sizeof raw, "%.*f", decimals, v < 0 ? -v : v);
    char *dot = strchr(raw, '.');
    size_t intlen = dot ? (size_t)(dot - raw) : strlen(raw);
    char thou = lang == ASK_PT ? '.' : ',', dec = lang == ASK_PT ? ',' : '.';
    char buf[96];
    size_t o = 0;
    if (v < 0 && strspn(raw, "0.") != strlen(raw))
        buf[o++] = '-';
    for (size_t i = 0; i < intlen; i++) {
        buf[o++] = raw[i];
        size_t left = intlen - i - 1;
        if (left > 0 && left % 3 == 0)
            buf[o++] = thou;
    }
    if (dot) {
        buf[o++] = dec;
        for (const char *p = dot + 1; *p && o + 1 < sizeof buf; p++)
            buf[o++] = *p;
    }
    buf[o] = '\0';
    snprintf(out, cap, "%s", buf);
}
