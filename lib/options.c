/*
 * options.c - the LOCKGRAPH_OPTIONS parser.
 *
 * Runs once, from the library constructor or the first interposed call,
 * possibly before the host's malloc works: it allocates nothing and uses no
 * stdio. It does not decide what a bad option does to the host; init.c does.
 */
#include "options.h"
#include "io.h"
#include "util.h"

#include <string.h>

struct lg_options lg__opt;

/* The defaults onto a struct that is all zero: only what is not zero is
 * written, so the pages of the long string fields left empty are never
 * touched (lg__opt, at every process start: 24 KiB, six pages). */
void lg__options_defaults_on_zero(struct lg_options *o)
{
#define DEF_PATH(name, def)                                                                        \
    if ((def)[0])                                                                                  \
        lg__strlcpy(o->name, def, sizeof(o->name));
#define DEF_ACTION(name, def) o->name = def;
#define DEF_IOACTION(name, def) o->name = def;
#define DEF_LIST(name, def) DEF_PATH(name, def)
#define DEF_INT(name, def) o->name = def;
#define DEF_BOOL(name, def) o->name = def;
#define DEFAULT_OF(name, type, def, lo, hi, help) DEF_##type(name, def)
    LG_OPTION_TABLE(DEFAULT_OF)
}

void lg__options_defaults(struct lg_options *o)
{
    memset(o, 0, sizeof(*o));
    lg__options_defaults_on_zero(o);
}

static int fail(char *err, size_t errlen, const char *a, const char *key, size_t keylen,
                const char *b)
{
    char k[80];
    size_t n = keylen < sizeof(k) - 1 ? keylen : sizeof(k) - 1;
    memcpy(k, key, n);
    k[n] = 0;
    err[0] = 0;
    lg__strlcat(err, a, errlen);
    lg__strlcat(err, k, errlen);
    lg__strlcat(err, b, errlen);
    return -1;
}

static bool is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

static int set_PATH(char *dst, size_t dstlen, const char *v, size_t vlen)
{
    if (vlen == 0 || vlen >= dstlen)
        return -1;
    memcpy(dst, v, vlen);
    dst[vlen] = 0;
    return 0;
}

static int set_ACTION(enum lg_action *dst, const char *v, size_t vlen)
{
    if (is(v, vlen, "report"))
        *dst = LG_ACTION_REPORT;
    else if (is(v, vlen, "abort"))
        *dst = LG_ACTION_ABORT;
    else
        return -1;
    return 0;
}

static int set_IOACTION(enum lg_action *dst, const char *v, size_t vlen)
{
    if (is(v, vlen, "off")) {
        *dst = LG_ACTION_OFF;
        return 0;
    }
    return set_ACTION(dst, v, vlen);
}

/* A list is checked by its owner (io_allow, wait_allow: io.c), which says
 * what is wrong in why; it is kept as text. */
static int set_LIST(char *dst, size_t dstlen, const char *v, size_t vlen, char *why, size_t whylen,
                    const char *name)
{
    if (vlen >= dstlen) {
        lg__strlcpy(why, "' is too long", whylen);
        return -1;
    }
    lg__strlcpy(why, "': ", whylen);
    if (lg__allow_parse(v, vlen, NULL, why + 3, whylen - 3, strcmp(name, "wait_allow") == 0) != 0)
        return -1;
    memcpy(dst, v, vlen);
    dst[vlen] = 0;
    return 0;
}

static int set_BOOL(bool *dst, const char *v, size_t vlen)
{
    if (is(v, vlen, "1") || is(v, vlen, "true") || is(v, vlen, "yes"))
        *dst = true;
    else if (is(v, vlen, "0") || is(v, vlen, "false") || is(v, vlen, "no"))
        *dst = false;
    else
        return -1;
    return 0;
}

static int set_INT(long *dst, const char *v, size_t vlen, long lo, long hi)
{
    if (vlen == 0 || vlen > 12)
        return -1;
    long x = 0;
    for (size_t i = 0; i < vlen; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    if (x < lo || x > hi)
        return -1;
    *dst = x;
    return 0;
}

static const char *const why_PATH = "' needs a non-empty path shorter than 4096 bytes";
static const char *const why_ACTION = "' takes 'report' or 'abort'";
static const char *const why_IOACTION = "' takes 'report', 'abort' or 'off'";
#define why_LIST why
static const char *const why_BOOL = "' takes 1 or 0";
#define WHY_PATH(lo, hi) why_PATH
#define WHY_ACTION(lo, hi) why_ACTION
#define WHY_IOACTION(lo, hi) why_IOACTION
#define WHY_LIST(lo, hi) why_LIST
#define WHY_BOOL(lo, hi) why_BOOL
#define WHY_INT(lo, hi) "' takes a whole number from " #lo " to " #hi

#define CALL_PATH(name, lo, hi) set_PATH(o->name, sizeof(o->name), v, vlen)
#define CALL_ACTION(name, lo, hi) set_ACTION(&o->name, v, vlen)
#define CALL_IOACTION(name, lo, hi) set_IOACTION(&o->name, v, vlen)
#define CALL_LIST(name, lo, hi) set_LIST(o->name, sizeof(o->name), v, vlen, why, sizeof(why), #name)
#define CALL_BOOL(name, lo, hi) set_BOOL(&o->name, v, vlen)
#define CALL_INT(name, lo, hi) set_INT(&o->name, v, vlen, lo, hi)

static int parse_one(struct lg_options *o, const char *key, size_t keylen, const char *v,
                     size_t vlen, char *err, size_t errlen)
{
    char why[256] = "";
#define TRY_OF(name, type, def, lo, hi, help)                                                      \
    if (is(key, keylen, #name))                                                                    \
        return CALL_##type(name, lo, hi) == 0                                                      \
                   ? 0                                                                             \
                   : fail(err, errlen, "option '", key, keylen, WHY_##type(lo, hi));
    LG_OPTION_TABLE(TRY_OF)
#define NAME_OF(name, type, def, lo, hi, help) " " #name
    return fail(err, errlen, "unknown option '", key, keylen,
                "' (known:" LG_OPTION_TABLE(NAME_OF) ")");
}

#define IS_LIST_PATH 0
#define IS_LIST_ACTION 0
#define IS_LIST_IOACTION 0
#define IS_LIST_INT 0
#define IS_LIST_BOOL 0
#define IS_LIST_LIST 1

static bool is_list(const char *key, size_t keylen)
{
#define LIST_OF(name, type, def, lo, hi, help)                                                     \
    if (IS_LIST_##type && is(key, keylen, #name))                                                  \
        return true;
    LG_OPTION_TABLE(LIST_OF)
    return false;
}

/* A list value may hold ':' (name:foo, site:prog+0x1a2b): it ends at the
 * first ':' followed by another key=, or at the end of the string. */
static const char *list_end(const char *v)
{
    for (const char *c = strchr(v, ':'); c; c = strchr(c + 1, ':')) {
        const char *k = c + 1;
        while ((*k >= 'a' && *k <= 'z') || *k == '_')
            k++;
        if (k > c + 1 && *k == '=')
            return c;
    }
    return v + strlen(v);
}

int lg__options_parse(const char *s, struct lg_options *o, char *err, size_t errlen)
{
    if (!s)
        return 0;
    const char *p = s;
    while (*p) {
        const char *end = strchr(p, ':');
        if (!end)
            end = p + strlen(p);
        if (end != p) { /* skip empty items: "a=1::b=2", a trailing ':' */
            const char *eq = memchr(p, '=', (size_t)(end - p));
            if (!eq)
                return fail(err, errlen, "malformed option '", p, (size_t)(end - p),
                            "': expected key=value");
            if (is_list(p, (size_t)(eq - p)))
                end = list_end(eq + 1);
            if (parse_one(o, p, (size_t)(eq - p), eq + 1, (size_t)(end - eq - 1), err, errlen))
                return -1;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

int lg__options_set_report(struct lg_options *o, const char *value, char *err, size_t errlen)
{
    err[0] = 0;
    if (!*value) {
        lg__strlcat(err,
                    "LOCKGRAPH_REPORT is set but empty: name a file, or unset it for the "
                    "default (lockgraph.%p.jsonl in the working directory)",
                    errlen);
        return -1;
    }
    if (strlen(value) >= sizeof(o->report)) {
        lg__strlcat(err, "LOCKGRAPH_REPORT is longer than 4095 bytes: name a shorter path", errlen);
        return -1;
    }
    lg__strlcpy(o->report, value, sizeof(o->report));
    return 0;
}

/* What help=1 says of a type's values: an INT's range, from the table. */
#define RANGE_PATH(lo, hi) ""
#define RANGE_ACTION(lo, hi) ""
#define RANGE_IOACTION(lo, hi) ""
#define RANGE_LIST(lo, hi) ""
#define RANGE_BOOL(lo, hi) ""
#define RANGE_INT(lo, hi) " " #lo "-" #hi

void lg__options_help(int fd)
{
    lg__write_str(fd, "lockgraph options, LOCKGRAPH_OPTIONS=key=value:key=value\n");
#define HELP_OF(name, type, def, lo, hi, help)                                                     \
    lg__write_str(fd, "  " #name "=" #type RANGE_##type(lo, hi) "  " help "\n");
    LG_OPTION_TABLE(HELP_OF)
}
