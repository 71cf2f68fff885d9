/*
 * keys.c - stable keys of locks.
 */

#include "keys.h"
#include "class.h"
#include "registry.h"
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

static bool key_sym_at(uintptr_t addr, char *buf)
{
    struct lg_modinfo m;
    if (!lg__module_of(addr, &m))
        return false;
    char sym[LG_KEY_MAX];
    uintptr_t off = 0;
    buf[0] = 0;
    lg__strlcat(buf, "sym:", LG_KEY_MAX);
    lg__key_put(buf, m.base);
    lg__strlcat(buf, ":", LG_KEY_MAX);
    if (lg__symbol_of(&m, addr, sym, sizeof(sym), &off)) {
        lg__key_put(buf, sym);
        if (off) {
            lg__strlcat(buf, "+", LG_KEY_MAX);
            put_hex(buf, off);
        }
    } else {
        /* No symbol table: the ELF address is still the same every run of
         * this build. */
        put_hex(buf, addr - m.bias);
    }
    return true;
}

bool lg__key_sym(const struct lg_node *n, char *buf)
{
    return key_sym_at(n->addr, buf);
}

/* MODULE+0xOFF of a code address, appended. */
static bool put_site(char *buf, uintptr_t pc)
{
    struct lg_modinfo m;
    if (!lg__module_of(pc, &m))
        return false;
    lg__key_put(buf, m.base);
    lg__strlcat(buf, "+", LG_KEY_MAX);
    put_hex(buf, pc - m.bias);
    return true;
}

/* The site key of class k, when it has one. */
static bool class_site(const struct lg_class *k, char *buf)
{
    buf[0] = 0;
    lg__strlcat(buf, "site:", LG_KEY_MAX);
    if (k->kind == LG_CLASS_SITE)
        return put_site(buf, k->key);
    if (k->kind == LG_CLASS_CHAIN) {
        /* The init site inside the wrapper, then each caller: "<" reads
         * "called from". */
        for (uint32_t i = 0; i < k->chain->n; i++) {
            if (i)
                lg__strlcat(buf, "<", LG_KEY_MAX);
            if (!put_site(buf, k->chain->pc[i]))
                return false;
        }
        return true;
    }
    /* A lock of its own class (never initialized, or named): where it, or
     * the first of its name, was first taken or made. */
    const struct lg_stack *s = atomic_load_explicit(&((struct lg_class *)k)->stack,
                                                    memory_order_acquire);
    return s && s->n && put_site(buf, s->pc[0]);
}

bool lg__key_site(const struct lg_node *n, char *buf)
{
    const struct lg_class *k = atomic_load_explicit(&((struct lg_node *)n)->klass,
                                                    memory_order_acquire);
    if (k)
        return class_site(k, buf);
    /* No class yet (registry.h): where it was first taken, as its addr
     * class will say. */
    const struct lg_stack *s = atomic_load_explicit(&((struct lg_node *)n)->seen,
                                                    memory_order_acquire);
    buf[0] = 0;
    lg__strlcat(buf, "site:", LG_KEY_MAX);
    return s && s->n && put_site(buf, s->pc[0]);
}

static void key_addr(uintptr_t addr, char *buf)
{
    buf[0] = 0;
    lg__strlcat(buf, "addr:", LG_KEY_MAX);
    put_hex(buf, addr);
}

void lg__key_of(const struct lg_node *n, char *buf)
{
    if (lg__key_name(n, buf) || lg__key_sym(n, buf) || lg__key_site(n, buf))
        return;
    key_addr(n->addr, buf);
}

void lg__key_of_class(const struct lg_class *k, char *buf)
{
    switch (k->kind) {
    case LG_CLASS_NAME:
        buf[0] = 0;
        lg__strlcat(buf, "name:", LG_KEY_MAX);
        lg__key_put(buf, k->name);
        return;
    case LG_CLASS_ADDR:
        if (key_sym_at(k->key, buf) || class_site(k, buf))
            return;
        key_addr(k->key, buf);
        return;
    default:
        if (!class_site(k, buf))
            key_addr(k->key, buf);
    }
}
