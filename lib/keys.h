/*
 * keys.h - a lock's stable key: what names it across runs (FINDINGS.md,
 * "Stable keys").
 *
 *     name:NAME              named with lg_name_lock
 *     sym:MODULE:SYMBOL[+0xOFF]  in a module's static storage
 *     site:MODULE+0xOFF      elsewhere: its class's init site (where it was
 *                            created), or where it was first taken;
 *     site:M+0xOFF<M+0xOFF..  made inside a lock wrapper: the init site and
 *                            the callers that make its class (class.h)
 *     addr:0xADDR            none of those could be found
 *
 * A key never holds a blank, '#' or '%': those bytes (and other control
 * bytes) of a name, module or symbol are written %XX, so a key is one word
 * in a rank file. Rank files (ranks.h) and graph files (dump.h) use them. Computing one may
 * read a module's symbol table (symbols.h): never with a lockgraph lock held.
 */
#ifndef LG_KEYS_H
#define LG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lg_node;

#define LG_KEY_MAX 512

/* Each writes a NUL-terminated key into buf (LG_KEY_MAX bytes) and returns
 * true, or returns false when the lock has no key of that kind. */
bool lg__key_name(const struct lg_node *n, char *buf);
bool lg__key_sym(const struct lg_node *n, char *buf);
bool lg__key_site(const struct lg_node *n, char *buf);

/* Append text to the key in buf (LG_KEY_MAX bytes), %XX-encoding as above. */
void lg__key_put(char *buf, const char *text);

/* The key of lock n: the first of name, sym, site, else addr (the keys
 * rank files and io_allow match a lock by). */
void lg__key_of(const struct lg_node *n, char *buf);

/* The key of class k, which graph files and class-level cycles name it by:
 * name: for a name class, site: for a site or chain class, and for a lock
 * of its own class (never initialized) its sym:, else its first site:,
 * else addr:. */
struct lg_class;
void lg__key_of_class(const struct lg_class *k, char *buf);

#endif
