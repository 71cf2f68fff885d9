/*
 * format_html.c - `lockgraph report --format html`: one self-contained page a CI
 * job keeps as an artifact, as scan-build keeps the clang analyzer's.
 *
 * Does: the summary line; the picture of the findings' lock graph (the SVG
 * Graphviz drew, inline; or, without Graphviz, each cycle as a list); then
 * each distinct finding as the text report prints it, every stack folded
 * under its first frame (<details>, open on click; buttons open or close
 * them all). Everything is inline - style, script, picture - and a
 * Content-Security-Policy forbids the page any network access.
 * Does not: lay out the graph (Graphviz does: the verb draws the DOT
 * format and hands the picture over), or re-derive the findings' text:
 * summary.c prints it with stack marks, and this file turns the marks into
 * folding and escapes everything else.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format.h"

static void esc(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            if (c < ' ' && c != '\n' && c != '\t')
                fputc('?', out);
            else
                fputc(c, out);
        }
    }
}

static void esc_str(FILE *out, const char *s)
{
    esc(out, s, strlen(s));
}

static const char style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;"
    "color:#1d1d1f;background:#fafafa}"
    "header{background:#24292f;color:#fff;padding:14px 24px}"
    "header h1{margin:0;font-size:20px}header p{margin:6px 0 0;color:#d0d7de;font-size:14px}"
    "main{padding:8px 24px 32px;max-width:1200px}"
    "h2{font-size:17px;border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:28px}"
    ".toolbar button{font:inherit;font-size:13px;margin-right:8px;padding:3px 10px;"
    "border:1px solid #8c959f;border-radius:5px;background:#fff;cursor:pointer}"
    "#graph svg{max-width:100%;height:auto;background:#fff;border:1px solid #d0d7de;"
    "border-radius:6px}"
    "article{background:#fff;border:1px solid #d0d7de;border-left:5px solid #8c959f;"
    "border-radius:6px;margin:14px 0;padding:4px 14px 10px}"
    "article.lock-order-cycle,article.self-deadlock,article.deadlock{border-left-color:#cf222e}"
    "article.rank-violation,article.rank-order-cycle,article.long-wait,article.long-hold,"
    "article.held-across-io,article.held-across-wait,article.fork-with-locks-held,"
    "article.held-lock-freed{"
    "border-left-color:#bf8700}"
    "article h3{font-size:15px;margin:8px 0;font-family:ui-monospace,Menlo,Consolas,monospace}"
    "pre,summary{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;"
    "margin:0;white-space:pre-wrap;word-break:break-word}"
    "details.stack>summary{cursor:pointer;white-space:pre-wrap}"
    "details.stack>summary:hover{background:#f3f4f6}"
    "details.stack[open]>summary{background:#eef6ff}"
    ".dl{color:#cf222e;font-weight:600}"
    "ol.cycles li{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;"
    "margin:4px 0}"
    "footer{color:#57606a;font-size:12px;padding:0 24px 24px}";

static const char script[] =
    "(function(){"
    "function all(open){document.querySelectorAll('details.stack').forEach("
    "function(d){d.open=open;});}"
    "var o=document.getElementById('open-all'),c=document.getElementById('close-all');"
    "if(o)o.addEventListener('click',function(){all(true);});"
    "if(c)c.addEventListener('click',function(){all(false);});"
    /* Says the script ran to its end: tests look for it. */
    "document.documentElement.setAttribute('data-lockgraph','ready');"
    "})();";

/* One line of a <pre>: the steps of a scenario that deadlock stand out. */
static void pre_line(FILE *out, const char *line, size_t n)
{
    bool hot = memmem(line, n, ": deadlock", 10) || memmem(line, n, "<- waits for", 12);
    if (hot)
        fputs("<span class=\"dl\">", out);
    esc(out, line, n);
    if (hot)
        fputs("</span>", out);
    fputc('\n', out);
}

/* A finding's text, printed with stack marks, as HTML: the first line a
 * heading, each stack a <details> under its first frame. */
static void block(FILE *out, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    bool in_pre = false;
    bool first = true;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *next = nl ? nl + 1 : end;
        if (first) {
            fputs("<h3>", out);
            esc(out, p, n);
            fputs("</h3>\n", out);
            first = false;
        } else if (n == 1 && p[0] == LG_MARK_STACK_BEGIN[0]) {
            if (in_pre) {
                fputs("</pre>\n", out);
                in_pre = false;
            }
            /* The frames up to the end mark: the first is the summary. */
            const char *q = next, *stop = q;
            size_t frames = 0;
            while (stop < end &&
                   !(stop[0] == LG_MARK_STACK_END[0] && (stop + 1 == end || stop[1] == '\n'))) {
                const char *e = memchr(stop, '\n', (size_t)(end - stop));
                stop = e ? e + 1 : end;
                frames++;
            }
            const char *e0 = memchr(q, '\n', (size_t)(stop - q));
            size_t n0 = e0 ? (size_t)(e0 - q) : (size_t)(stop - q);
            if (frames <= 1) {
                fputs("<pre class=\"frame\">", out);
                esc(out, q, n0);
                fputs("</pre>\n", out);
            } else {
                fputs("<details class=\"stack\"><summary>", out);
                esc(out, q, n0);
                fputs("</summary><pre>", out);
                const char *r = e0 ? e0 + 1 : stop;
                size_t rn = (size_t)(stop - r);
                if (rn && r[rn - 1] == '\n')
                    rn--;
                esc(out, r, rn);
                fputs("</pre></details>\n", out);
            }
            next = stop < end ? stop + 2 : end; /* past the end mark and its newline */
            if (next > end)
                next = end;
        } else {
            if (!in_pre) {
                fputs("<pre>", out);
                in_pre = true;
            }
            pre_line(out, p, n);
        }
        p = next;
    }
    if (in_pre)
        fputs("</pre>\n", out);
}

/* A CSS class from a kind name: letters, digits and '-' only. */
static void kind_class(FILE *out, const char *kind)
{
    for (; *kind; kind++) {
        char c = *kind;
        fputc((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ? c : '_', out);
    }
}

static void lock_name(struct lg_report *r, const struct lg_finding *f, FILE *out,
                      const struct lg_lock *l)
{
    char cls[1024];
    if (lg_finding_class_scope(f) &&
        lg_class_text(r->sym, f->modules, f->n_modules, l, false, cls, sizeof cls)) {
        fputs("[class: ", out);
        esc_str(out, cls);
        fputc(']', out);
    } else if (l->name) {
        fputc('"', out);
        esc_str(out, l->name);
        fputc('"', out);
    } else if (l->key) {
        esc_str(out, l->key);
    } else {
        fprintf(out, "%s 0x%llx", l->type, (unsigned long long)l->addr);
    }
}

/* Without Graphviz: each cycle as "#1: "a" -> "b" -> "a"". */
static void cycle_list(struct lg_report *r, FILE *out)
{
    fputs("<ol class=\"cycles\">\n", out);
    size_t number = 0;
    for (size_t i = 0; i < r->n_groups; i++) {
        const struct lg_finding *f = r->groups[i].finding;
        if (f->kind != LG_KIND_CYCLE)
            continue;
        fprintf(out, "<li value=\"%zu\">", ++number);
        for (size_t k = 0; k < f->n_edges && k < 50; k++) {
            const struct lg_edge *e = &f->edges[k];
            for (size_t j = 0; j < f->n_locks; j++)
                if (f->locks[j].id == e->from) {
                    lock_name(r, f, out, &f->locks[j]);
                    break;
                }
            fprintf(out, " &rarr;<sub>thread %ld</sub> ", e->thread.seq);
        }
        if (f->n_edges > 50)
            fputs("&hellip; ", out);
        if (f->n_locks)
            lock_name(r, f, out, &f->locks[0]);
        fputs("</li>\n", out);
    }
    fputs("</ol>\n", out);
}

struct html {
    struct lg_report *r;
    FILE *out;
    size_t n; /* articles written */
};

static void *begin(struct lg_report *r, FILE *out, const struct lg_format_opts *o)
{
    const char *svg = o->svg;
    struct html *h = calloc(1, sizeof *h);
    char *line = NULL;
    size_t line_len = 0;
    FILE *lf = h ? open_memstream(&line, &line_len) : NULL;
    if (!lf) {
        free(h);
        return NULL;
    }
    h->r = r;
    h->out = out;
    lg_report_closing(r, lf, NULL);
    fclose(lf);

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>lockgraph report</title>\n<style>",
          out);
    fputs(style, out);
    fputs("</style>\n</head>\n<body>\n<header>\n<h1>lockgraph report</h1>\n<p id=\"summary\">",
          out);
    esc(out, line, line_len && line[line_len - 1] == '\n' ? line_len - 1 : line_len);
    fputs("</p>\n</header>\n<main>\n", out);
    free(line);

    fputs("<section id=\"graph\">\n<h2>Lock graph</h2>\n", out);
    if (!lg_report_has_cycle(r)) {
        fputs("<p>No lock-order cycle.</p>\n", out);
    } else if (svg && strstr(svg, "<svg")) {
        fputs("<p>Each lock once; red edges make a cycle (a potential deadlock), labelled with "
              "the finding's number, the thread and where it took the second lock.</p>\n",
              out);
        fputs(strstr(svg, "<svg"), out);
        fputc('\n', out);
    } else {
        fputs("<p>Each cycle, lock by lock (Graphviz was not available to draw it):</p>\n", out);
        cycle_list(r, out);
    }
    fputs("</section>\n", out);

    fprintf(out, "<section id=\"findings\">\n<h2>Findings (%zu)</h2>\n", r->n_groups);
    if (r->n_groups) {
        fputs("<p class=\"toolbar\"><button type=\"button\" id=\"open-all\">Open all "
              "stacks</button><button type=\"button\" id=\"close-all\">Close all "
              "stacks</button> Click a stack's first frame to see the rest.</p>\n",
              out);
    } else {
        fputs("<p>No findings.</p>\n", out);
    }
    return h;
}

static int group(void *state, const struct lg_group *g, size_t number)
{
    struct html *h = state;
    FILE *out = h->out;
    char *text = NULL;
    size_t len = 0;
    FILE *tf = open_memstream(&text, &len);
    if (!tf)
        return -1;
    lg_report_print_group(h->r, g, number, tf, LG_MARKUP_MARKS);
    fclose(tf);
    fprintf(out, "<article class=\"");
    kind_class(out, lg_finding_kind(g->finding));
    fprintf(out, "\" id=\"finding-%zu\">\n", ++h->n);
    block(out, text, len);
    fputs("</article>\n", out);
    free(text);
    return 0;
}

static int end(void *state)
{
    struct html *h = state;
    struct lg_report *r = h->r;
    FILE *out = h->out;
    fputs("</section>\n", out);

    if (r->suppressed) {
        char *text = NULL;
        size_t len = 0;
        FILE *tf = open_memstream(&text, &len);
        if (tf) {
            lg_report_print_suppressions(r, tf);
            fclose(tf);
            fputs("<section id=\"suppressed\">\n<h2>Suppressed</h2>\n<pre>", out);
            esc(out, text, len);
            fputs("</pre>\n</section>\n", out);
            free(text);
        }
    }
    fputs("<section id=\"inputs\">\n<h2>Inputs</h2>\n<ul>\n", out);
    for (size_t i = 0; i < r->n_paths; i++) {
        fputs("<li><code>", out);
        esc_str(out, r->paths[i]);
        fputs("</code></li>\n", out);
    }
    fputs("</ul>\n</section>\n</main>\n<footer>Written by lockgraph " LG_VERSION
          ". Everything on this page is in this one file.</footer>\n<script>",
          out);
    fputs(script, out);
    fputs("</script>\n</body>\n</html>\n", out);
    free(h);
    return 0;
}

const struct lg_format lg_format_html = {.name = "html",
                                         .utf8 = true,
                                         .all_seen = false,
                                         .streams = false,
                                         .begin = begin,
                                         .group = group,
                                         .end = end};
