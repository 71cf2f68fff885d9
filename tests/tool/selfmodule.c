/*
 * selfmodule.c - build the module record of the test executable: path
 * through /proc/self/exe, load bias, highest PT_LOAD address and GNU
 * build-id from dl_iterate_phdr. Test support only.
 */
#include "selfmodule.h"

#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int first_module(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct lg_module *m = data;
    /* The first object dl_iterate_phdr reports is the main program. */
    m->base = info->dlpi_addr;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && info->dlpi_addr + ph->p_vaddr + ph->p_memsz > m->end)
            m->end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
        const char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const void *)p;
            const char *name = p + sizeof *nh;
            const unsigned char *desc = (const unsigned char *)name + ((nh->n_namesz + 3) & ~3u);
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
                !m->build_id) {
                m->build_id = calloc(nh->n_descsz * 2 + 1, 1);
                for (unsigned j = 0; m->build_id && j < nh->n_descsz; j++)
                    sprintf(m->build_id + 2 * j, "%02x", desc[j]);
            }
            p = (const char *)desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
    return 1; /* stop after the first */
}

int selfmodule_get(struct lg_module *m)
{
    memset(m, 0, sizeof *m);
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
        return -1;
    path[n] = '\0';
    m->path = strdup(path);
    dl_iterate_phdr(first_module, m);
    return m->path && m->end > m->base ? 0 : -1;
}

void selfmodule_free(struct lg_module *m)
{
    free(m->path);
    free(m->build_id);
    memset(m, 0, sizeof *m);
}
