/*
 * unwinder.c - stack capture: a DWARF CFI walker with a per-PC rule cache.
 *
 * What it does. lg__stack_capture enters here with its caller's pc, stack
 * pointer and frame pointer. Each frame is then one probe of a global table
 * of unwind rules keyed by the return address (the address before it, so a
 * call that ends a function still finds that function's CFI) and two or
 * three loads from the stack: this is what libunwind's per-thread cache and
 * the kernel's ORC tables do, reduced to the x86-64 facts the walk needs:
 *
 *   CFA = rsp + N | rbp + N | *(rbp + N)      (the caller's stack pointer)
 *   return address at CFA - 8
 *   rbp saved at CFA - 8k, at *(rbp), or unchanged
 *
 * plus two kinds that end a frame differently: a signal frame (the return
 * address is glibc's __restore_rt; the interrupted registers are read from
 * the ucontext on the stack) and the end of the stack (the CFI says the
 * return address is undefined, or no FDE covers the pc: libgcc stops there
 * too). A rule is found once, on a miss, by reading the module's
 * .eh_frame_hdr binary search table and running the FDE's CFA program up
 * to the pc, inside dl_iterate_phdr (whose lock keeps the module mapped
 * while its tables are read). What no rule expresses (a CFA from another
 * register or a general expression; a pc in no module's CFI, such as JIT
 * code registered with __register_frame) is cached as "slow", and such a
 * capture is done whole by libgcc's _Unwind_Backtrace, so the stack is the
 * same as before in every case.
 *
 * Safety. The walker never reads outside the stack it walks: the bounds of
 * the thread's stack are found once per thread (the thread pointer is the
 * top of a glibc thread's stack block, __libc_stack_end the top of the main
 * thread's; mincore confirms the range is mapped) and kept in a
 * thread-local; anything else (a sigaltstack, a coroutine's stack) is
 * looked up in /proc/self/maps with raw system calls. Each frame must move
 * up the stack, except across a signal frame. A garbage return address
 * therefore ends the walk or yields garbage frames, never a fault. The
 * table is never freed; its words are read and written atomically, each
 * holding the whole rule and the part of the key that the slot does not
 * imply, so a racing reader sees an old rule, a new one or none. After a
 * module is unloaded (lg__unwind_modules_changed, and glibc's unload count
 * checked on every miss) the table is cleared.
 *
 * What it does not do: allocate from the host (the table comes from
 * lg__map), take a lockgraph lock, or unwind other architectures (they get
 * libgcc). A cache hit is async-signal-safe; a miss calls dl_iterate_phdr,
 * as libgcc's unwinder does on every frame.
 *
 * Locking: none of its own. dl_iterate_phdr takes glibc's loader lock on a
 * miss, so, as stack.h says, no lockgraph lock may be held while capturing.
 */

#include "unwinder.h"
#include "symbols.h"
#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <unistd.h>
#include <unwind.h>

static uintptr_t own_lo, own_hi;

struct counters {
    atomic_uint_fast64_t misses, fallbacks, bounds, flushes;
};
static struct counters counters;
static __thread uint64_t memo_hits __attribute__((tls_model("initial-exec"))); /* (per thread: hot) */

static inline void count(atomic_uint_fast64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* Changes whenever a walk over the same stack words may give another
 * result: rules flushed, lockgraph's own range set (the walk memo). */
static atomic_uint memo_epoch = 1;

void lg__unwind_init(uintptr_t lo, uintptr_t hi)
{
    own_lo = lo;
    own_hi = hi;
    atomic_fetch_add(&memo_epoch, 1);
}

void lg__unwind_stats(struct lg_unwind_stats *s)
{
    s->misses = atomic_load(&counters.misses);
    s->fallbacks = atomic_load(&counters.fallbacks);
    s->bounds = atomic_load(&counters.bounds);
    s->flushes = atomic_load(&counters.flushes);
    s->memo_hits = memo_hits;
}

static inline bool is_own(uintptr_t pc)
{
    return pc >= own_lo && pc < own_hi;
}

/* ---------------------------------------------------------------------- */
/* The libgcc capture: the fallback and the reference.                     */

struct gcc_walk {
    uintptr_t *pcs, *cfas;
    int n, max;
    uintptr_t start_sp; /* frames below it are the capture's own */
    bool skipping;
};

static _Unwind_Reason_Code gcc_frame(struct _Unwind_Context *ctx, void *arg)
{
    struct gcc_walk *w = arg;
    uintptr_t pc = _Unwind_GetIP(ctx);
    if (pc == 0)
        return _URC_END_OF_STACK;
    uintptr_t sp = _Unwind_GetCFA(ctx); /* the stack pointer in that frame */
    if (sp < w->start_sp)
        return _URC_NO_REASON;
    if (w->skipping && is_own(pc))
        return _URC_NO_REASON;
    w->skipping = false;
    if (w->n >= w->max)
        return _URC_END_OF_STACK;
    w->pcs[w->n] = pc;
    if (w->cfas)
        w->cfas[w->n] = sp;
    w->n++;
    return _URC_NO_REASON;
}

/* libgcc's walk from the frame whose stack pointer is start_sp up. */
static int gcc_capture(uintptr_t *pcs, uintptr_t *cfas, int max, uintptr_t start_sp)
{
    struct gcc_walk w = {pcs, cfas, 0, max, start_sp, true};
    if (max <= 0)
        return 0;
    _Unwind_Backtrace(gcc_frame, &w);
    return w.n;
}

__attribute__((noinline)) int lg__unwind_capture_libgcc(uintptr_t *pcs, uintptr_t *cfas, int max)
{
    /* This function's CFA is its caller's stack pointer. */
    int n = gcc_capture(pcs, cfas, max, (uintptr_t)__builtin_dwarf_cfa());
    __asm__ volatile("" ::: "memory"); /* not a tail call: keep this frame */
    return n;
}

#if defined(__x86_64__)

/* ---------------------------------------------------------------------- */
/* Rules and their cache.                                                   */

enum kind {
    K_EMPTY,     /* no rule (an empty slot) */
    K_RSP,       /* CFA = rsp + off */
    K_RBP,       /* CFA = rbp + off */
    K_RBP_DEREF, /* CFA = *(rbp + off): a realigned stack (DRAP) */
    K_SIGNAL,    /* glibc's __restore_rt: registers from the ucontext at rsp */
    K_STOP,      /* end of the stack */
    K_SLOW       /* not expressible here: libgcc walks this capture */
};

#define RBP_SAME 0      /* rbp unchanged by the frame */
#define RBP_AT_RBP 1023 /* saved at *(rbp) (with K_RBP_DEREF) */
/* otherwise saved at CFA - 8 * rbp, 1 <= rbp <= 1022 */

struct rule {
    unsigned kind;
    int32_t off;  /* a multiple of 8 */
    unsigned rbp; /* RBP_* or the slot */
};

/* One 64-bit word per slot: tag (key >> RULE_BITS, 33 bits) | way (1) |
 * rbp (10) | off / 8 (17, signed) | kind (3). Keys are below 2^47 (x86-64
 * user space); a key above is never cached. Two-way: a key lives in its
 * home slot or the one beside it, and the way bit says which, so tag and
 * slot give back the whole key. */
#define RULE_BITS 14
#define RULE_SLOTS (1u << RULE_BITS)
#define KEY_LIMIT ((uintptr_t)1 << 47)
#define OFF_LIMIT (8 * 65536)

static _Atomic(_Atomic uint64_t *) rules;

static inline uint32_t home(uintptr_t key)
{
    uint64_t tag = key >> RULE_BITS;
    uint32_t mix = (uint32_t)((tag * 0x9E3779B97F4A7C15ull) >> (64 - RULE_BITS));
    return ((uint32_t)key ^ mix) & (RULE_SLOTS - 1);
}

static inline uint64_t encode(uintptr_t key, unsigned way, struct rule r)
{
    return ((uint64_t)(key >> RULE_BITS) << 31) | ((uint64_t)way << 30) | ((uint64_t)r.rbp << 20) |
           ((uint64_t)((uint32_t)(r.off / 8) & 0x1ffff) << 3) | r.kind;
}

static inline unsigned word_kind(uint64_t w)
{
    return (unsigned)(w & 7);
}

static inline intptr_t word_off(uint64_t w)
{
    return (intptr_t)((int64_t)(w << 44) >> 47) * 8; /* bits 19..3, signed */
}

static inline unsigned word_rbp(uint64_t w)
{
    return (unsigned)((w >> 20) & 0x3ff);
}

/* Keys the table holds: a tag of 1 to 2^33 - 1, so an empty slot (0)
 * never matches. */
static inline bool cacheable(uintptr_t key)
{
    return key - ((uintptr_t)1 << RULE_BITS) < KEY_LIMIT - ((uintptr_t)1 << RULE_BITS);
}

/* The word for a cacheable key, or 0. Tag and way are compared at once. */
static inline uint64_t probe(_Atomic uint64_t *t, uintptr_t key)
{
    uint32_t h = home(key);
    uint64_t want = (uint64_t)(key >> RULE_BITS) << 1;
    uint64_t w = atomic_load_explicit(&t[h], memory_order_relaxed);
    if ((w >> 30) == want)
        return w;
    w = atomic_load_explicit(&t[h ^ 1], memory_order_relaxed);
    if ((w >> 30) == (want | 1))
        return w;
    return 0;
}

static void insert(_Atomic uint64_t *t, uintptr_t key, struct rule r)
{
    uint32_t h = home(key);
    if (atomic_load_explicit(&t[h], memory_order_relaxed) != 0 &&
        atomic_load_explicit(&t[h ^ 1], memory_order_relaxed) == 0) {
        atomic_store_explicit(&t[h ^ 1], encode(key, 1, r), memory_order_relaxed);
        return;
    }
    atomic_store_explicit(&t[h], encode(key, 0, r), memory_order_relaxed);
}

static _Atomic uint64_t *rule_table(void)
{
    _Atomic uint64_t *t = atomic_load_explicit(&rules, memory_order_acquire);
    if (t)
        return t;
    /* Populated: a process's first rules land all over it, and a fault per
     * page (a read fault, then a write fault: about 13 us each on a VM)
     * costs far more than making its 32 pages at once. (A fork child
     * writes the parent's table, a page copied for each page it writes:
     * measured about the same as giving it an empty table of its own, and
     * cheaper than copying the parent's into a new one.) */
    t = lg__map_now(sizeof(*t) * RULE_SLOTS);
    if (!t)
        return NULL;
    _Atomic uint64_t *none = NULL;
    if (!atomic_compare_exchange_strong(&rules, &none, t)) {
        lg__unmap((void *)t, sizeof(*t) * RULE_SLOTS);
        t = none;
    }
    return t;
}

static void flush(void)
{
    _Atomic uint64_t *t = atomic_load_explicit(&rules, memory_order_acquire);
    count(&counters.flushes);
    if (t)
        for (uint32_t i = 0; i < RULE_SLOTS; i++)
            atomic_store_explicit(&t[i], 0, memory_order_relaxed);
    /* After: a walk that read the old epoch may have used old rules. */
    atomic_fetch_add(&memo_epoch, 1);
}

void lg__unwind_modules_changed(void)
{
    flush();
}

/* ---------------------------------------------------------------------- */
/* Reading the CFI (DWARF 4 section 6.4, and the LSB's .eh_frame,           */
/* .eh_frame_hdr and pointer encodings). Every read is bounded by the       */
/* loaded segment the data lies in.                                          */

struct rd {
    const uint8_t *p, *end;
    bool bad;
};

static inline bool rd_has(struct rd *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return false;
    }
    return true;
}

static uint64_t rd_fixed(struct rd *r, size_t n)
{
    uint64_t v = 0;
    if (!rd_has(r, n))
        return 0;
    memcpy(&v, r->p, n); /* little-endian */
    r->p += n;
    return v;
}

static uint64_t rd_uleb(struct rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; rd_has(r, 1); shift += 7) {
        uint8_t b = *r->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    return 0;
}

static int64_t rd_sleb(struct rd *r)
{
    uint64_t v = 0;
    unsigned shift = 0;
    for (; rd_has(r, 1); shift += 7) {
        uint8_t b = *r->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            shift += 7;
            if (shift < 64 && (b & 0x40))
                v |= ~(uint64_t)0 << shift;
            return (int64_t)v;
        }
    }
    return 0;
}

#define PE_OMIT 0xff

/* A pointer in encoding enc; datarel is the base of DW_EH_PE_datarel (the
 * start of .eh_frame_hdr). Indirect pointers are read but not followed:
 * only the personality routine uses them, and it is skipped. */
static uintptr_t rd_encoded(struct rd *r, uint8_t enc, uintptr_t datarel)
{
    uintptr_t field = (uintptr_t)r->p, v;
    if (enc == PE_OMIT)
        return 0;
    switch (enc & 0x0f) {
    case 0x00:
        v = (uintptr_t)rd_fixed(r, 8);
        break;
    case 0x01:
        v = (uintptr_t)rd_uleb(r);
        break;
    case 0x02:
        v = (uintptr_t)rd_fixed(r, 2);
        break;
    case 0x03:
        v = (uintptr_t)rd_fixed(r, 4);
        break;
    case 0x04:
        v = (uintptr_t)rd_fixed(r, 8);
        break;
    case 0x09:
        v = (uintptr_t)rd_sleb(r);
        break;
    case 0x0a:
        v = (uintptr_t)(int64_t)(int16_t)rd_fixed(r, 2);
        break;
    case 0x0b:
        v = (uintptr_t)(int64_t)(int32_t)rd_fixed(r, 4);
        break;
    case 0x0c:
        v = (uintptr_t)rd_fixed(r, 8);
        break;
    default:
        r->bad = true;
        return 0;
    }
    switch (enc & 0x70) {
    case 0x00:
        break;
    case 0x10:
        v += field;
        break; /* pcrel */
    case 0x30:
        v += datarel;
        break; /* datarel */
    default:
        r->bad = true;
        return 0; /* textrel, funcrel: not in x86-64 CFI */
    }
    return v;
}

/* The loaded segments of the module being searched. */
struct module {
    const struct dl_phdr_info *info;
};

/* End of the loaded segment holding [addr, addr + 1), or 0 if none. */
static uintptr_t seg_end(const struct module *m, uintptr_t addr)
{
    const struct dl_phdr_info *info = m->info;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (addr >= lo && addr - lo < ph->p_memsz)
            return lo + ph->p_memsz;
    }
    return 0;
}

static bool rd_at(struct rd *r, const struct module *m, uintptr_t addr)
{
    uintptr_t end = seg_end(m, addr);
    r->p = (const uint8_t *)addr;
    r->end = (const uint8_t *)end;
    r->bad = end == 0;
    return !r->bad;
}

struct cie {
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_enc;
    bool has_z, signal;
    const uint8_t *insns, *end;
};

static bool parse_cie(const struct module *m, uintptr_t addr, struct cie *c)
{
    struct rd r;
    if (!rd_at(&r, m, addr))
        return false;
    uint32_t len = (uint32_t)rd_fixed(&r, 4);
    if (len == 0 || len == 0xffffffffu || !rd_has(&r, len))
        return false;
    r.end = r.p + len;
    if (rd_fixed(&r, 4) != 0) /* a CIE's id is 0 in .eh_frame */
        return false;
    uint8_t version = (uint8_t)rd_fixed(&r, 1);
    if (version != 1 && version != 3 && version != 4)
        return false;
    const char *aug = (const char *)r.p;
    size_t alen = 0;
    while (rd_has(&r, 1) && *r.p) {
        r.p++;
        alen++;
    }
    if (!rd_has(&r, 1))
        return false;
    r.p++; /* the NUL */
    if (alen >= 2 && aug[0] == 'e' && aug[1] == 'h')
        rd_fixed(&r, 8); /* an old GCC's eh pointer */
    if (version == 4)
        rd_fixed(&r, 2); /* address and segment sizes */
    c->code_align = rd_uleb(&r);
    c->data_align = rd_sleb(&r);
    uint64_t ra = version == 1 ? rd_fixed(&r, 1) : rd_uleb(&r);
    if (ra != 16) /* x86-64's return address column */
        return false;
    c->fde_enc = 0; /* absptr */
    c->has_z = alen > 0 && aug[0] == 'z';
    c->signal = false;
    if (c->has_z) {
        uint64_t dlen = rd_uleb(&r);
        if (!rd_has(&r, dlen))
            return false;
        const uint8_t *dend = r.p + dlen;
        for (size_t i = 1; i < alen && !r.bad; i++) {
            switch (aug[i]) {
            case 'R':
                c->fde_enc = (uint8_t)rd_fixed(&r, 1);
                break;
            case 'L':
                rd_fixed(&r, 1);
                break;
            case 'P': {
                uint8_t penc = (uint8_t)rd_fixed(&r, 1);
                rd_encoded(&r, penc & 0x7f, 0);
                break;
            }
            case 'S':
                c->signal = true;
                break;
            default:
                i = alen;
                break; /* unknown: the length says where data ends */
            }
        }
        r.p = dend;
    }
    if (r.bad)
        return false;
    c->insns = r.p;
    c->end = r.end;
    return true;
}

/* Rules of the registers the walk needs: rbp (6), rsp (7), the return
 * address (16). */
enum how { H_UNSPEC, H_SAME, H_UNDEF, H_OFFSET, H_EXPR, H_OTHER };

struct reg {
    uint8_t how;
    int64_t off;
    const uint8_t *expr;
    uint64_t elen;
};

struct state {
    uint64_t cfa_reg;
    int64_t cfa_off;
    const uint8_t *cfa_expr; /* non-NULL: CFA by expression */
    uint64_t cfa_elen;
    struct reg rbp, rsp, ra;
};

static struct reg *reg_of(struct state *s, uint64_t n)
{
    switch (n) {
    case 6:
        return &s->rbp;
    case 7:
        return &s->rsp;
    case 16:
        return &s->ra;
    default:
        return NULL;
    }
}

/* DW_CFA_restore: register g (n) as the CIE left it. */
static void restore(struct reg *g, const struct state *init, uint64_t n)
{
    *g = n == 6 ? init->rbp : n == 7 ? init->rsp : init->ra;
}

#define REMEMBER_MAX 8

/* Run a CFA program from loc, stopping before the first row that starts
 * above target. init is the state after the CIE (for DW_CFA_restore).
 * False when the program is malformed or uses what is not supported. */
static bool run_cfa(struct rd *r, const struct cie *c, uintptr_t loc, uintptr_t target,
                    struct state *s, const struct state *init)
{
    struct state saved[REMEMBER_MAX];
    int nsaved = 0;
    while (r->p < r->end && !r->bad) {
        uint8_t op = *r->p++;
        uint64_t reg, delta = 0;
        struct reg *g;
        switch (op & 0xc0) {
        case 0x40:
            delta = (op & 0x3f) * c->code_align;
            goto advance;
        case 0x80:
            if ((g = reg_of(s, op & 0x3f))) {
                g->how = H_OFFSET;
                g->off = (int64_t)rd_uleb(r) * c->data_align;
            } else {
                rd_uleb(r);
            }
            continue;
        case 0xc0:
            if ((g = reg_of(s, op & 0x3f)))
                restore(g, init, op & 0x3f);
            continue;
        }
        switch (op) {
        case 0x00: /* nop */
            continue;
        case 0x01: /* set_loc */
            loc = rd_encoded(r, c->fde_enc, 0);
            if (loc > target)
                return !r->bad;
            continue;
        case 0x02:
            delta = rd_fixed(r, 1) * c->code_align;
            goto advance;
        case 0x03:
            delta = rd_fixed(r, 2) * c->code_align;
            goto advance;
        case 0x04:
            delta = rd_fixed(r, 4) * c->code_align;
            goto advance;
        case 0x05: /* offset_extended */
        case 0x11: /* offset_extended_sf */
        case 0x2f: /* GNU_negative_offset_extended */
            reg = rd_uleb(r);
            if ((g = reg_of(s, reg))) {
                g->how = H_OFFSET;
                g->off = op == 0x11 ? rd_sleb(r) * c->data_align
                                    : (int64_t)rd_uleb(r) * c->data_align * (op == 0x2f ? -1 : 1);
            } else if (op == 0x11) {
                rd_sleb(r);
            } else {
                rd_uleb(r);
            }
            continue;
        case 0x06: /* restore_extended */
            reg = rd_uleb(r);
            if ((g = reg_of(s, reg)))
                restore(g, init, reg);
            continue;
        case 0x07: /* undefined */
        case 0x08: /* same_value */
            if ((g = reg_of(s, rd_uleb(r))))
                g->how = op == 0x07 ? H_UNDEF : H_SAME;
            continue;
        case 0x09: /* register */
            if ((g = reg_of(s, rd_uleb(r))))
                g->how = H_OTHER;
            rd_uleb(r);
            continue;
        case 0x0a: /* remember_state: the CFA too, as GCC expects */
            if (nsaved == REMEMBER_MAX)
                return false;
            saved[nsaved++] = *s;
            continue;
        case 0x0b: /* restore_state */
            if (nsaved == 0)
                return false;
            *s = saved[--nsaved];
            continue;
        case 0x0c: /* def_cfa */
            s->cfa_reg = rd_uleb(r);
            s->cfa_off = (int64_t)rd_uleb(r);
            s->cfa_expr = NULL;
            continue;
        case 0x12: /* def_cfa_sf */
            s->cfa_reg = rd_uleb(r);
            s->cfa_off = rd_sleb(r) * c->data_align;
            s->cfa_expr = NULL;
            continue;
        case 0x0d: /* def_cfa_register */
            s->cfa_reg = rd_uleb(r);
            s->cfa_expr = NULL;
            continue;
        case 0x0e: /* def_cfa_offset */
            s->cfa_off = (int64_t)rd_uleb(r);
            continue;
        case 0x13: /* def_cfa_offset_sf */
            s->cfa_off = rd_sleb(r) * c->data_align;
            continue;
        case 0x0f: /* def_cfa_expression */
            s->cfa_elen = rd_uleb(r);
            if (!rd_has(r, s->cfa_elen))
                return false;
            s->cfa_expr = r->p;
            r->p += s->cfa_elen;
            continue;
        case 0x10:   /* expression */
        case 0x16: { /* val_expression */
            reg = rd_uleb(r);
            uint64_t n = rd_uleb(r);
            if (!rd_has(r, n))
                return false;
            if ((g = reg_of(s, reg))) {
                g->how = op == 0x10 ? H_EXPR : H_OTHER;
                g->expr = r->p;
                g->elen = n;
            }
            r->p += n;
            continue;
        }
        case 0x14: /* val_offset */
        case 0x15: /* val_offset_sf */
            if ((g = reg_of(s, rd_uleb(r))))
                g->how = H_OTHER;
            if (op == 0x15)
                rd_sleb(r);
            else
                rd_uleb(r);
            continue;
        case 0x2e: /* GNU_args_size */
            rd_uleb(r);
            continue;
        default:
            return false;
        }
    advance:
        if (delta > target - loc) /* the next row starts above target */
            return !r->bad;
        loc += delta;
    }
    return !r->bad;
}

/* An expression "DW_OP_breg<n> off [DW_OP_deref]": its register, offset and
 * whether it dereferences; false for anything else. */
static bool simple_expr(const uint8_t *e, uint64_t len, uint64_t *regno, int64_t *off, bool *deref)
{
    struct rd r = {e, e + len, false};
    uint8_t op = (uint8_t)rd_fixed(&r, 1);
    if (op < 0x70 || op > 0x8f) /* DW_OP_breg0..31 */
        return false;
    *regno = op - 0x70u;
    *off = rd_sleb(&r);
    *deref = false;
    if (r.p < r.end && *r.p == 0x06) { /* DW_OP_deref */
        *deref = true;
        r.p++;
    }
    return !r.bad && r.p == r.end;
}

/* mov $15, %rax; syscall: glibc's __restore_rt (rt_sigreturn). */
static bool is_sigreturn(const struct module *m, uintptr_t pc)
{
    static const uint8_t code[9] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
    uintptr_t end = seg_end(m, pc);
    return end && end - pc >= sizeof(code) && memcmp((const void *)pc, code, sizeof(code)) == 0;
}

static struct rule make(unsigned kind, int64_t off, unsigned rbp)
{
    struct rule r = {kind, (int32_t)off, rbp};
    if ((kind == K_RSP || kind == K_RBP || kind == K_RBP_DEREF) &&
        (off % 8 != 0 || off >= OFF_LIMIT || off <= -OFF_LIMIT))
        r.kind = K_SLOW;
    return r;
}

/* The rule for the row of state s at pc (key is pc, or pc - 1 for a
 * return address). */
static struct rule reduce(const struct module *m, const struct cie *c, const struct state *s,
                          uintptr_t pc)
{
    if (c->signal)
        return make(is_sigreturn(m, pc) ? K_SIGNAL : K_SLOW, 0, 0);
    if (s->ra.how == H_UNDEF)
        return make(K_STOP, 0, 0);
    if (s->ra.how != H_OFFSET || s->ra.off != -8)
        return make(K_SLOW, 0, 0);
    if (s->rsp.how != H_UNSPEC && s->rsp.how != H_SAME)
        return make(K_SLOW, 0, 0);
    unsigned kind;
    int64_t off;
    if (s->cfa_expr) {
        uint64_t regno;
        bool deref;
        if (!simple_expr(s->cfa_expr, s->cfa_elen, &regno, &off, &deref) || regno != 6 || !deref)
            return make(K_SLOW, 0, 0);
        kind = K_RBP_DEREF;
    } else if (s->cfa_reg == 7) {
        kind = K_RSP;
        off = s->cfa_off;
    } else if (s->cfa_reg == 6) {
        kind = K_RBP;
        off = s->cfa_off;
    } else {
        return make(K_SLOW, 0, 0);
    }
    unsigned rbp;
    switch (s->rbp.how) {
    case H_UNSPEC:
    case H_SAME:
        rbp = RBP_SAME;
        break;
    case H_OFFSET:
        if (s->rbp.off >= 0 || s->rbp.off % 8 != 0 || -s->rbp.off / 8 >= RBP_AT_RBP)
            return make(K_SLOW, 0, 0);
        rbp = (unsigned)(-s->rbp.off / 8);
        break;
    case H_EXPR: {
        uint64_t regno;
        int64_t eoff;
        bool deref;
        if (!simple_expr(s->rbp.expr, s->rbp.elen, &regno, &eoff, &deref) || regno != 6 ||
            eoff != 0 || deref)
            return make(K_SLOW, 0, 0);
        rbp = RBP_AT_RBP;
        break;
    }
    default:
        return make(K_SLOW, 0, 0);
    }
    return make(kind, off, rbp);
}

/* The FDE that may cover key, by binary search in .eh_frame_hdr's sorted
 * table, or 0 when none can. *searched is false when there is no usable
 * table (then .eh_frame must be scanned). */
static uintptr_t fde_by_table(const struct module *m, uintptr_t hdr, uintptr_t key,
                              uintptr_t *eh_frame, bool *searched)
{
    struct rd r;
    *searched = false;
    if (!rd_at(&r, m, hdr))
        return 0;
    uint8_t version = (uint8_t)rd_fixed(&r, 1);
    uint8_t ptr_enc = (uint8_t)rd_fixed(&r, 1);
    uint8_t count_enc = (uint8_t)rd_fixed(&r, 1);
    uint8_t table_enc = (uint8_t)rd_fixed(&r, 1);
    if (r.bad || version != 1)
        return 0;
    *eh_frame = rd_encoded(&r, ptr_enc, hdr);
    if (count_enc == PE_OMIT || table_enc != 0x3b) /* datarel | sdata4 */
        return 0;
    uint64_t n = rd_encoded(&r, count_enc, hdr);
    if (r.bad || n == 0 || !rd_has(&r, n * 8))
        return 0;
    *searched = true;
    const uint8_t *t = r.p;
    uint64_t lo = 0, hi = n; /* the last entry starting at or below key */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        int32_t start;
        memcpy(&start, t + mid * 8, 4);
        if (hdr + (intptr_t)start <= key)
            lo = mid;
        else
            hi = mid;
    }
    int32_t start, fde;
    memcpy(&start, t + lo * 8, 4);
    memcpy(&fde, t + lo * 8 + 4, 4);
    if (hdr + (intptr_t)start > key)
        return 0;
    return hdr + (intptr_t)fde;
}

/* Parse the FDE at addr: its CIE, range and program. */
static bool parse_fde(const struct module *m, uintptr_t addr, struct cie *c, uintptr_t *begin,
                      uintptr_t *range, struct rd *prog)
{
    struct rd r;
    if (!rd_at(&r, m, addr))
        return false;
    uint32_t len = (uint32_t)rd_fixed(&r, 4);
    if (len == 0 || len == 0xffffffffu || !rd_has(&r, len))
        return false;
    r.end = r.p + len;
    uintptr_t id_at = (uintptr_t)r.p;
    uint32_t id = (uint32_t)rd_fixed(&r, 4);
    if (r.bad || id == 0)
        return false;
    if (!parse_cie(m, id_at - id, c))
        return false;
    *begin = rd_encoded(&r, c->fde_enc, 0);
    *range = rd_encoded(&r, c->fde_enc & 0x0f, 0);
    if (c->has_z) {
        uint64_t n = rd_uleb(&r);
        if (rd_has(&r, n))
            r.p += n;
    }
    *prog = r;
    return !r.bad;
}

/* No search table: walk .eh_frame from its start. */
static uintptr_t fde_by_scan(const struct module *m, uintptr_t eh_frame, uintptr_t key)
{
    struct rd r;
    if (!eh_frame || !rd_at(&r, m, eh_frame))
        return 0;
    while (rd_has(&r, 8)) {
        uintptr_t at = (uintptr_t)r.p;
        uint32_t len = (uint32_t)rd_fixed(&r, 4);
        if (len == 0 || len == 0xffffffffu || !rd_has(&r, len))
            return 0;
        uint32_t id;
        memcpy(&id, r.p, 4);
        r.p += len;
        if (id == 0)
            continue; /* a CIE */
        struct cie c;
        struct rd prog;
        uintptr_t begin, range;
        if (parse_fde(m, at, &c, &begin, &range, &prog) && key >= begin && key - begin < range)
            return at;
    }
    return 0;
}

struct search {
    uintptr_t key, pc;
    bool in_module;
    struct rule rule;
    unsigned long long subs;
    bool have_subs;
};

static int search_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct search *s = arg;
    if (!s->have_subs &&
        size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
        s->subs = info->dlpi_subs;
        s->have_subs = true;
    }
    struct module m = {info};
    const ElfW(Phdr) *eh = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
            eh = &info->dlpi_phdr[i];
    if (!seg_end(&m, s->key))
        return 0;
    s->in_module = true;
    if (!eh)
        return 1; /* libgcc looks among registered frames: slow */
    uintptr_t eh_frame = 0, hdr = info->dlpi_addr + eh->p_vaddr;
    bool searched;
    uintptr_t fde = fde_by_table(&m, hdr, s->key, &eh_frame, &searched);
    if (!searched)
        fde = fde_by_scan(&m, eh_frame, s->key);
    struct cie c;
    struct rd prog;
    uintptr_t begin, range;
    if (!fde || !parse_fde(&m, fde, &c, &begin, &range, &prog) || s->key < begin ||
        s->key - begin >= range) {
        /* No CFI covers it: libgcc's x86-64 fallback still knows the
         * sigreturn trampoline by its code, and otherwise stops. */
        s->rule = make(is_sigreturn(&m, s->pc) ? K_SIGNAL : K_STOP, 0, 0);
        return 1;
    }
    /* The CIE's program gives the initial row, the FDE's the rest. */
    struct state init = {0};
    struct rd cr = {c.insns, c.end, false};
    if (!run_cfa(&cr, &c, begin, UINTPTR_MAX, &init, &init)) {
        s->rule = make(K_SLOW, 0, 0);
        return 1;
    }
    struct state st = init;
    if (!run_cfa(&prog, &c, begin, s->key, &st, &init)) {
        s->rule = make(K_SLOW, 0, 0);
        return 1;
    }
    s->rule = reduce(&m, &c, &st, s->pc);
    return 1;
}

static atomic_ullong last_subs;

/* The rule for pc (exact: not a return address), looked up in the CFI. */
static struct rule find_rule(uintptr_t key, uintptr_t pc)
{
    struct search s = {0};
    s.key = key;
    s.pc = pc;
    s.rule = make(K_SLOW, 0, 0);
    count(&counters.misses);
    lg__iterate_modules(search_module, &s); /* (none in a _Fork child: libgcc then) */
    /* A module went away since the last look: rules cached for its
     * addresses may be wrong for whatever is there now. */
    if (s.have_subs) {
        unsigned long long old = atomic_load_explicit(&last_subs, memory_order_relaxed);
        if (old != s.subs &&
            atomic_compare_exchange_strong(&last_subs, &old, (unsigned long long)s.subs) &&
            old != 0)
            flush();
    }
    return s.rule;
}

/* ---------------------------------------------------------------------- */
/* Stack bounds.                                                            */

struct span {
    uintptr_t lo, hi; /* [lo, hi) is mapped and readable */
};

/* The thread's own stack, and the last other stack walked (a signal
 * stack, a coroutine's). Zero: not known yet. */
static __thread struct span own_stack __attribute__((tls_model("initial-exec")));
static __thread struct span other_stack __attribute__((tls_model("initial-exec")));

extern void *__libc_stack_end __attribute__((weak));

#define PAGE 4096ul
#define STACK_MAX ((uintptr_t)1 << 30) /* a bigger distance is not one stack */

/* Is every page of [lo, hi) mapped? mincore fails with ENOMEM on a hole. */
static bool mapped(uintptr_t lo, uintptr_t hi)
{
    unsigned char vec[512];
    for (uintptr_t a = lo; a < hi;) {
        size_t len = hi - a < sizeof(vec) * PAGE ? hi - a : sizeof(vec) * PAGE;
        if (syscall(SYS_mincore, a, len, vec) != 0)
            return false;
        a += len;
    }
    return true;
}

static uintptr_t hex(const char **p)
{
    uintptr_t v = 0;
    for (;; (*p)++) {
        char ch = **p;
        if (ch >= '0' && ch <= '9')
            v = v * 16 + (uintptr_t)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v = v * 16 + (uintptr_t)(ch - 'a' + 10);
        else
            return v;
    }
}

/* The readable mapping holding sp, joined with readable mappings right
 * above it, from /proc/self/maps, read with raw system calls (no stdio,
 * no malloc, no interposed call). */
static bool span_from_maps(uintptr_t sp, struct span *out)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char buf[4096];
    size_t have = 0;
    bool found = false, done = false;
    struct span s = {0, 0};
    while (!done) {
        long got = syscall(SYS_read, fd, buf + have, sizeof(buf) - 1 - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
            *nl = 0;
            const char *p = line;
            uintptr_t lo = hex(&p);
            p++; /* '-' */
            uintptr_t hi = hex(&p);
            bool readable = p[0] == ' ' && p[1] == 'r';
            if (!found) {
                if (sp >= lo && sp < hi) {
                    if (!readable) {
                        done = true;
                        break;
                    }
                    s.lo = lo;
                    s.hi = hi;
                    found = true;
                }
            } else if (lo == s.hi && readable) {
                s.hi = hi;
            } else {
                done = true;
                break;
            }
            line = nl + 1;
        }
        size_t rest = have - (size_t)(line - buf);
        if (rest == sizeof(buf) - 1)
            rest = 0; /* a line longer than the buffer: not one of ours */
        memmove(buf, line, rest);
        have = rest;
    }
    syscall(SYS_close, fd);
    *out = s;
    return found;
}

static bool find_bounds(uintptr_t sp, struct span *out);

/* Readable bounds for the stack that sp is on; false when unknown. */
static bool bounds(uintptr_t sp, struct span *out)
{
    if (sp >= own_stack.lo && sp < own_stack.hi) {
        *out = own_stack;
        return true;
    }
    if (sp >= other_stack.lo && sp < other_stack.hi) {
        *out = other_stack;
        return true;
    }
    count(&counters.bounds);
    int saved_errno = errno; /* the host's, whatever the system calls do */
    bool ok = find_bounds(sp, out);
    errno = saved_errno;
    return ok;
}

static bool find_bounds(uintptr_t sp, struct span *out)
{
    /* A glibc thread's stack block ends with its thread control block,
     * which the thread pointer points to; the main thread's stack ends
     * just above __libc_stack_end. */
    uintptr_t tp, top = 0;
    __asm__("movq %%fs:0, %0" : "=r"(tp));
    if (tp > sp && tp - sp <= STACK_MAX)
        top = tp;
    else if (&__libc_stack_end && (uintptr_t)__libc_stack_end > sp &&
             (uintptr_t)__libc_stack_end - sp <= STACK_MAX)
        top = ((uintptr_t)__libc_stack_end | (PAGE - 1)) + 1;
    uintptr_t lo = sp & ~(PAGE - 1);
    if (top) {
        /* Known down to own_stack.lo already: only the new part. */
        uintptr_t check_hi = top == own_stack.hi && own_stack.lo > lo ? own_stack.lo : top;
        if (mapped(lo, check_hi)) {
            own_stack.lo = lo;
            own_stack.hi = top;
            *out = own_stack;
            return true;
        }
    }
    struct span s;
    if (!span_from_maps(sp, &s))
        return false;
    other_stack = s;
    *out = s;
    return true;
}

/* ---------------------------------------------------------------------- */
/* The walk.                                                                */

#define SKIP_MAX 64 /* lockgraph's own frames at most */

/* [addr, addr + 8) inside the span. Alignment is not checked: x86-64
 * reads any address in mapped memory. */
static inline bool readable8(uintptr_t lo, uintptr_t hi, uintptr_t addr)
{
    return addr - lo <= hi - lo - 8;
}

static inline uintptr_t load(uintptr_t addr)
{
    return *(const uintptr_t *)addr;
}

/* Called with the register state of a frame that is below every frame it
 * walks (its own caller's), so that libgcc can take over. */
__attribute__((noinline)) static int fallback(uintptr_t *pcs, uintptr_t *cfas, int max,
                                              uintptr_t start_sp)
{
    count(&counters.fallbacks);
    int n = gcc_capture(pcs, cfas, max, start_sp);
    __asm__ volatile("" ::: "memory");
    return n;
}

/* The walk memo: this thread's last walk, kept with every stack word it
 * read. A walk is a function of its start (pc, sp, rbp), of the rules and
 * lockgraph's own range (memo_epoch), and of the words it reads: when they
 * all still hold what they held, it would give what it gave, and that is
 * given without probing a rule. A loop taking new locks at one call site
 * walks the same stack each time, and what such a walk waits for is the
 * rule table's lines, evicted by the new locks and their records. A walk
 * in a signal handler that interrupted a walk leaves the memo alone. */
#define MEMO_READS 48
#define MEMO_FRAMES 24

struct memo {
    bool busy, valid;
    int max, n;
    unsigned epoch;
    uint32_t nreads; /* over MEMO_READS: too long to keep */
    uintptr_t pc, sp, rbp;
    uintptr_t at[MEMO_READS], val[MEMO_READS];
    uintptr_t pcs[MEMO_FRAMES], cfas[MEMO_FRAMES];
};
static __thread struct memo memo __attribute__((tls_model("initial-exec")));

static inline uintptr_t memo_load(struct memo *m, uintptr_t at)
{
    uintptr_t v = load(at);
    if (m) {
        if (m->nreads < MEMO_READS) {
            m->at[m->nreads] = at;
            m->val[m->nreads] = v;
        }
        m->nreads++;
    }
    return v;
}

static bool memo_holds(const struct memo *m, int max, uintptr_t pc, uintptr_t sp, uintptr_t rbp,
                       unsigned epoch, uintptr_t lo, uintptr_t hi)
{
    if (!m->valid || m->pc != pc || m->sp != sp || m->rbp != rbp || m->max != max ||
        m->epoch != epoch)
        return false;
    for (uint32_t i = 0; i < m->nreads; i++)
        if (!readable8(lo, hi, m->at[i]) || load(m->at[i]) != m->val[i])
            return false;
    return true;
}

/* The walk itself over the span [lo, hi) that sp is on, its reads kept in
 * m (when not NULL). The frame count, or -1: libgcc must do it. */
static inline __attribute__((always_inline)) int walk(uintptr_t *pcs, uintptr_t *cfas, int max,
                                                      uintptr_t pc, uintptr_t sp, uintptr_t rbp,
                                                      _Atomic uint64_t *t, struct span b,
                                                      struct memo *m)
{
    uintptr_t lo = b.lo, hi = b.hi;
    int n = 0;
    bool skipping = true, exact = false;
    for (int steps = 0; steps < max + SKIP_MAX && pc != 0; steps++) {
        if (!(skipping && is_own(pc))) {
            skipping = false;
            pcs[n] = pc;
            if (cfas)
                cfas[n] = sp;
            if (++n == max)
                break;
        }
        uintptr_t key = pc - !exact;
        uint64_t w = 0;
        if (__builtin_expect(cacheable(key), 1))
            w = probe(t, key);
        if (__builtin_expect(w == 0, 0)) {
            struct rule r = find_rule(key, pc);
            if (cacheable(key))
                insert(t, key, r);
            w = encode(key, 0, r);
        }
        unsigned kind = word_kind(w);
        uintptr_t cfa;
        if (__builtin_expect(kind == K_RSP, 1)) {
            cfa = sp + word_off(w);
        } else if (kind == K_RBP) {
            cfa = rbp + word_off(w);
        } else if (kind == K_RBP_DEREF) {
            if (!readable8(lo, hi, rbp + word_off(w)))
                return n;
            cfa = memo_load(m, rbp + word_off(w));
        } else if (kind == K_SIGNAL) {
            /* The handler returned here with rsp at the ucontext. */
            const uintptr_t at = sp + offsetof(ucontext_t, uc_mcontext.gregs);
            if (at < lo || at > hi - sizeof(greg_t) * NGREG)
                return n;
            pc = memo_load(m, at + REG_RIP * sizeof(greg_t));
            rbp = memo_load(m, at + REG_RBP * sizeof(greg_t));
            sp = memo_load(m, at + REG_RSP * sizeof(greg_t));
            exact = true;
            if (sp < lo || sp >= hi) {
                if (!bounds(sp, &b))
                    return n;
                lo = b.lo;
                hi = b.hi;
                if (m) /* (its words are checked against the first span) */
                    m->nreads = MEMO_READS + 1;
            }
            continue;
        } else if (kind == K_STOP) {
            return n;
        } else {
            return -1;
        }
        /* The caller's frame is above this one, on this stack. */
        if (cfa <= sp || !readable8(lo, hi, cfa - 8))
            return n;
        uintptr_t ra = memo_load(m, cfa - 8);
        unsigned saved = word_rbp(w);
        if (saved != RBP_SAME) {
            uintptr_t at = saved == RBP_AT_RBP ? rbp : cfa - 8 * (uintptr_t)saved;
            if (!readable8(lo, hi, at))
                return n;
            rbp = memo_load(m, at);
        }
        sp = cfa;
        pc = ra;
        exact = false;
    }
    return n;
}

int lg__unwind_walk(uintptr_t *pcs, uintptr_t *cfas, int max, uintptr_t pc, uintptr_t sp,
                    uintptr_t rbp)
{
    if (max <= 0)
        return 0;
    const uintptr_t start_sp = sp;
    _Atomic uint64_t *t = rule_table();
    struct span b;
    if (!t || !bounds(sp, &b))
        return fallback(pcs, cfas, max, start_sp);
    struct memo *m = NULL;
    if (max <= MEMO_FRAMES && !memo.busy) {
        m = &memo;
        m->busy = true;
        atomic_signal_fence(memory_order_seq_cst);
        unsigned epoch = atomic_load_explicit(&memo_epoch, memory_order_acquire);
        if (memo_holds(m, max, pc, sp, rbp, epoch, b.lo, b.hi)) {
            int n = m->n;
            memcpy(pcs, m->pcs, sizeof(*pcs) * (size_t)n);
            if (cfas)
                memcpy(cfas, m->cfas, sizeof(*cfas) * (size_t)n);
            memo_hits++;
            atomic_signal_fence(memory_order_seq_cst);
            m->busy = false;
            return n;
        }
        m->valid = false;
        m->nreads = 0;
        m->pc = pc;
        m->sp = sp;
        m->rbp = rbp;
        m->max = max;
        m->epoch = epoch;
    }
    int n = walk(pcs, cfas ? cfas : m ? m->cfas : NULL, max, pc, sp, rbp, t, b, m);
    if (m) {
        if (n >= 0 && m->nreads <= MEMO_READS) {
            m->n = n;
            memcpy(m->pcs, pcs, sizeof(*pcs) * (size_t)n);
            if (cfas)
                memcpy(m->cfas, cfas, sizeof(*cfas) * (size_t)n);
            m->valid = true;
        }
        atomic_signal_fence(memory_order_seq_cst);
        m->busy = false;
    }
    return n >= 0 ? n : fallback(pcs, cfas, max, start_sp);
}

/* lg__stack_capture(pcs, cfas, max): the walk from its caller's state. At
 * entry the return address is at (%rsp), the caller's stack pointer after
 * the return is %rsp + 8, and %rbp is still the caller's. */
__asm__(".text\n"
        ".globl lg__stack_capture\n"
        ".hidden lg__stack_capture\n"
        ".type lg__stack_capture, @function\n"
        "lg__stack_capture:\n"
        ".cfi_startproc\n"
#ifdef __CET__
        "endbr64\n"
#endif
        "movq (%rsp), %rcx\n"
        "leaq 8(%rsp), %r8\n"
        "movq %rbp, %r9\n"
        "jmp lg__unwind_walk\n"
        ".cfi_endproc\n"
        ".size lg__stack_capture, .-lg__stack_capture\n");

#else /* not x86-64: libgcc throughout */

void lg__unwind_modules_changed(void) {}

int lg__unwind_walk(uintptr_t *pcs, uintptr_t *cfas, int max, uintptr_t pc, uintptr_t sp,
                    uintptr_t rbp)
{
    (void)pc;
    (void)rbp;
    return gcc_capture(pcs, cfas, max, sp);
}

__attribute__((noinline)) int lg__stack_capture(uintptr_t *pcs, uintptr_t *cfas, int max)
{
    int n = gcc_capture(pcs, cfas, max, (uintptr_t)__builtin_dwarf_cfa());
    __asm__ volatile("" ::: "memory");
    return n;
}

#endif
