/*
 * keys.c - stable keys of locks.
 */

#include "keys.h"
#include "graph.h"
#include "stack.h"
#include "symbols.h"
#include "util.h"

#include <stdatomic.h>
#include <string.h>

/* "0x" and lower-case hex digits, as lg__buf_hex writes them. */
static void put_hex(char *buf, uintptr_t v)
{
    char tmp[2 + 2 * sizeof(v) + 1];
    int i = (int)sizeof(tmp) - 1;
    tmp[i] = 0;
    do {
        tmp[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    tmp[--i] = 'x';
    tmp[--i] = '0';
    lg__strlcat(buf, tmp + i, LG_KEY_MAX);
}

void lg__key_put(char *buf, const char *text)
{
    size_t len = strlen(buf);
    for (const unsigned char *p = (const unsigned char *)text; *p && len + 4 < LG_KEY_MAX; p++) {
        if (*p <= ' ' || *p == '#' || *p == '%' || *p == 0x7f) {
            buf[len++] = '%';
            buf[len++] = "0123456789ABCDEF"[*p >> 4];
            buf[len++] = "0123456789ABCDEF"[*p & 15];
        } else {
            buf[len++] = (char)*p;
        }
    }
    buf[len] = 0;
}

bool lg__key_name(const struct lg_node *n, char *buf)
{
    const char *name = atomic_load_explicit(&((struct lg_node *)n)->name, memory_order_acquire);
    if (!name)
        return false;
    buf[0] = 0;
    lg__strlcat(buf, "name:", LG_KEY_MAX);
    lg__key_put(buf, name);
    return true;
}

bool lg__key_sym(const struct lg_node *n, char *buf)
{
    struct lg_modinfo m;
    if (!lg__module_of(n->addr, &m))
        return false;
    char sym[LG_KEY_MAX];
    uintptr_t off = 0;
    buf[0] = 0;
    lg__strlcat(buf, "sym:", LG_KEY_MAX);
    lg__key_put(buf, m.base);
    lg__strlcat(buf, ":", LG_KEY_MAX);
    if (lg__symbol_of(&m, n->addr, sym, sizeof(sym), &off)) {
        lg__key_put(buf, sym);
        if (off) {
            lg__strlcat(buf, "+", LG_KEY_MAX);
            put_hex(buf, off);
        }
    } else {
        /* No symbol table: the ELF address is still the same every run of
         * this build. */
        put_hex(buf, n->addr - m.bias);
    }
    return true;
}

bool lg__key_site(const struct lg_node *n, char *buf)
{
    const struct lg_stack *s = atomic_load_explicit(&((struct lg_node *)n)->stack,
                                                    memory_order_acquire);
    struct lg_modinfo m;
    if (!s || s->n == 0 || !lg__module_of(s->pc[0], &m))
        return false;
    buf[0] = 0;
    lg__strlcat(buf, "site:", LG_KEY_MAX);
    lg__key_put(buf, m.base);
    lg__strlcat(buf, "+", LG_KEY_MAX);
    put_hex(buf, s->pc[0] - m.bias);
    return true;
}

void lg__key_of(const struct lg_node *n, char *buf)
{
    if (lg__key_name(n, buf) || lg__key_sym(n, buf) || lg__key_site(n, buf))
        return;
    buf[0] = 0;
    lg__strlcat(buf, "addr:", LG_KEY_MAX);
    put_hex(buf, n->addr);
}
