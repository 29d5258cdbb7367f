/*
 * The plugin registry. A plugin is untrusted until proven otherwise: every
 * size and version is checked before the host reads a field it might not
 * have, vtables are copied into zeroed structs of the host's own size, and
 * every refusal becomes a VqaPluginFailure rather than a crash.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "logging.h"
#include "mem.h"
#include "registry.h"

#ifndef VQA_PLUGINDIR
#define VQA_PLUGINDIR ""
#endif

/* Bounds on what a descriptor may list; they only stop a runaway walk
 * through a table that lacks its terminator. */
#define MAX_DETECTORS 256
#define MAX_OPTIONS 256
#define MAX_NAME_LEN 64

typedef struct LoadedPlugin {
    VqaPluginInfo info;         /* strings owned by the registry */
    void *handle;               /* dlopen handle, closed last */
    VqaDetectorClass **classes; /* full-size zeroed copies, NULL-terminated */
} LoadedPlugin;

struct VqaRegistry {
    VqaLogger log;
    LoadedPlugin **plugins;
    size_t nb_plugins;
    VqaPluginFailure **failures;
    size_t nb_failures;
    const VqaDetectorClass **detectors;
    size_t nb_detectors;
    int out_of_memory; /* a failure could not be recorded: open() reports ENOMEM */
};

/* A verdict on a plugin under examination: a status and its one-line reason. */
typedef struct Verdict {
    VqaPluginStatus status;
    int out_of_memory; /* the refusal is ours, not the plugin's */
    char reason[512];
} Verdict;

VQA_PRINTF(3, 4)
static VqaPluginStatus refuse(Verdict *v, VqaPluginStatus status, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, args);
    va_end(args);
    v->status = status;
    return status;
}

const char *vqa_plugin_status_name(VqaPluginStatus status)
{
    switch (status) {
    case VQA_PLUGIN_LOADED: return "loaded";
    case VQA_PLUGIN_OPEN_FAILED: return "open-failed";
    case VQA_PLUGIN_NOT_A_PLUGIN: return "not-a-plugin";
    case VQA_PLUGIN_ABI_MISMATCH: return "abi-mismatch";
    case VQA_PLUGIN_BAD_DESCRIPTOR: return "bad-descriptor";
    case VQA_PLUGIN_SHADOWED: return "shadowed";
    }
    return "unknown";
}

const char *vqa_registry_system_dir(void)
{
    return VQA_PLUGINDIR;
}

static VqaPluginStatus refuse_nomem(Verdict *v)
{
    v->out_of_memory = 1;
    return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "out of memory");
}

/* ---- validation ------------------------------------------------------- */

static int valid_name(const char *name)
{
    if (!name || !name[0] || strlen(name) > MAX_NAME_LEN)
        return 0;
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return 0;
    }
    return 1;
}

static size_t option_size(VqaOptionType type)
{
    switch (type) {
    case VQA_OPT_BOOL: return sizeof(int);
    case VQA_OPT_INT: return sizeof(int64_t);
    case VQA_OPT_DOUBLE: return sizeof(double);
    case VQA_OPT_STRING: return sizeof(const char *);
    case VQA_OPT_NONE: break;
    }
    return 0;
}

/* Check one numeric option's range and default. */
static int check_range(const VqaOption *o, const char *who, Verdict *v)
{
    if (!isfinite(o->min) || !isfinite(o->max) || o->min > o->max)
        return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s': option '%s': bad range "
                      "[%g, %g]", who, o->name, o->min, o->max);
    if (!(o->default_num >= o->min && o->default_num <= o->max))
        return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s': option '%s': default %g "
                      "is outside [%g, %g]", who, o->name, o->default_num, o->min, o->max);
    if (o->type == VQA_OPT_INT && o->default_num != floor(o->default_num))
        return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s': option '%s': default %g "
                      "is not an integer", who, o->name, o->default_num);
    return 0;
}

static int check_options(const VqaDetectorClass *cls, Verdict *v)
{
    const VqaOption *opts = cls->options;
    for (size_t i = 0; opts && opts[i].name; i++) {
        const VqaOption *o = &opts[i];
        if (i >= MAX_OPTIONS)
            return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s': more than %d options "
                          "(is the table terminated?)", cls->name, MAX_OPTIONS);
        if (!valid_name(o->name))
            return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s': option name '%.64s' "
                          "must match [a-z0-9_-]+", cls->name, o->name);
        size_t size = option_size(o->type);
        if (!size)
            return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s': option '%s' has "
                          "unknown type %d", cls->name, o->name, (int)o->type);
        if (o->offset > cls->priv_size || size > cls->priv_size - o->offset)
            return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s': option '%s' lies "
                          "outside the private state (offset %zu, priv_size %zu)",
                          cls->name, o->name, o->offset, cls->priv_size);
        if ((o->type == VQA_OPT_INT || o->type == VQA_OPT_DOUBLE) && check_range(o, cls->name, v))
            return v->status;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(opts[j].name, o->name) == 0)
                return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s': option '%s' is "
                              "declared twice", cls->name, o->name);
        }
    }
    return 0;
}

static int check_spec(const VqaDetectorClass *cls, const VqaInputSpec *in, Verdict *v)
{
    if (in->type == VQA_MEDIA_VIDEO) {
        if (in->pix_fmt == VQA_PIX_NONE)
            return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s': video input needs a "
                          "pix_fmt", cls->name);
        if (in->pix_fmt < VQA_PIX_NONE || in->pix_fmt > VQA_PIX_RGBA)
            return refuse(v, VQA_PLUGIN_ABI_MISMATCH, "detector '%s': unknown pix_fmt %d",
                          cls->name, (int)in->pix_fmt);
    } else if (in->type == VQA_MEDIA_AUDIO) {
        if (in->sample_fmt == VQA_SAMPLE_NONE)
            return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s': audio input needs a "
                          "sample_fmt", cls->name);
        if (in->sample_fmt < VQA_SAMPLE_NONE || in->sample_fmt > VQA_SAMPLE_FLTP)
            return refuse(v, VQA_PLUGIN_ABI_MISMATCH, "detector '%s': unknown sample_fmt %d",
                          cls->name, (int)in->sample_fmt);
    } else {
        return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s': input.type must be video "
                      "or audio", cls->name);
    }
    if (in->max_width < 0 || in->max_height < 0 || in->sample_rate < 0 || in->channels < 0 ||
        !(in->max_rate_hz >= 0 && isfinite(in->max_rate_hz)))
        return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s': negative or non-finite "
                      "input limits", cls->name);
    return 0;
}

static int check_input(const VqaDetectorClass *cls, Verdict *v)
{
    if (check_spec(cls, &cls->input, v))
        return v->status;
    if (cls->input2.type == VQA_MEDIA_NONE)
        return 0;
    if (cls->input2.type == cls->input.type)
        return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s': input2 must be of the "
                      "other media type", cls->name);
    return check_spec(cls, &cls->input2, v);
}

/* How to call a class in a refusal: its name when the declared size covers
 * the field and the name is well-formed, else its position in the list. */
static void class_label(const VqaDetectorClass *src, size_t index, char *out, size_t size)
{
    if (src->struct_size >= offsetof(VqaDetectorClass, name) + sizeof(src->name) &&
        valid_name(src->name))
        snprintf(out, size, "detector '%s'", src->name);
    else
        snprintf(out, size, "detector #%zu", index);
}

/* Size-check one class and copy it into a zeroed host-size struct (*out). */
static int copy_class(const VqaDetectorClass *src, size_t index, VqaDetectorClass **out,
                      Verdict *v)
{
    size_t min_size = offsetof(VqaDetectorClass, process) + sizeof(src->process);
    char label[MAX_NAME_LEN + 16];
    class_label(src, index, label, sizeof(label));
    if (src->struct_size > sizeof(VqaDetectorClass))
        return refuse(v, VQA_PLUGIN_ABI_MISMATCH, "%s: vtable larger than the host knows "
                      "(%u > %zu bytes): built for a newer ABI", label,
                      (unsigned)src->struct_size, sizeof(VqaDetectorClass));
    if (src->struct_size < min_size)
        return refuse(v, VQA_PLUGIN_ABI_MISMATCH, "%s: vtable too small (%u bytes, at least "
                      "%zu needed)", label, (unsigned)src->struct_size, min_size);
    VqaDetectorClass *cls = vqa_calloc(1, sizeof(*cls));
    if (!cls)
        return refuse_nomem(v);
    memcpy(cls, src, src->struct_size);
    cls->struct_size = sizeof(*cls);
    *out = cls;
    return 0;
}

static int check_class(const VqaDetectorClass *cls, size_t index, Verdict *v)
{
    if (!valid_name(cls->name))
        return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector #%zu: name '%.64s' must match "
                      "[a-z0-9_-]+", index, cls->name ? cls->name : "(null)");
    if (check_input(cls, v) || check_options(cls, v))
        return v->status;
    if (!cls->process)
        return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s': process() is NULL",
                      cls->name);
    return 0;
}

/* Read the descriptor into a zeroed host-size copy, checking size and minor first. */
static int read_descriptor(const VqaPluginDesc *src, VqaPluginDesc *desc, Verdict *v)
{
    size_t min_size = offsetof(VqaPluginDesc, detectors) + sizeof(src->detectors);
    if (!src)
        return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "the entry function returned NULL");
    if (src->struct_size < min_size)
        return refuse(v, VQA_PLUGIN_ABI_MISMATCH, "descriptor too small (%u bytes, at least "
                      "%zu needed)", (unsigned)src->struct_size, min_size);
    if (src->struct_size > sizeof(VqaPluginDesc))
        return refuse(v, VQA_PLUGIN_ABI_MISMATCH, "descriptor larger than the host knows "
                      "(%u > %zu bytes): built for a newer ABI", (unsigned)src->struct_size,
                      sizeof(VqaPluginDesc));
    if (src->abi_minor > VQA_PLUGIN_ABI_MINOR)
        return refuse(v, VQA_PLUGIN_ABI_MISMATCH, "built for ABI %d.%u, host supports %d.%d",
                      VQA_PLUGIN_ABI_MAJOR, (unsigned)src->abi_minor, VQA_PLUGIN_ABI_MAJOR,
                      VQA_PLUGIN_ABI_MINOR);
    memset(desc, 0, sizeof(*desc));
    memcpy(desc, src, src->struct_size);
    if (!desc->name || !desc->name[0])
        return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "the descriptor has no name");
    if (!desc->detectors || !desc->detectors[0])
        return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "plugin '%s' lists no detectors",
                      desc->name);
    return 0;
}

/* ---- bookkeeping -------------------------------------------------------- */

static void free_plugin(LoadedPlugin *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->classes && p->classes[i]; i++)
        vqa_free(p->classes[i]);
    vqa_free(p->classes);
    vqa_free((char *)p->info.path);
    vqa_free((char *)p->info.name);
    vqa_free((char *)p->info.version);
    vqa_free((char *)p->info.license);
    vqa_free((char *)p->info.description);
    if (p->handle)
        dlclose(p->handle);
    vqa_free(p);
}

static const LoadedPlugin *find_owner(const VqaRegistry *reg, const char *plugin,
                                      VqaDetectorClass *const *classes)
{
    for (size_t i = 0; i < reg->nb_plugins; i++) {
        const LoadedPlugin *p = reg->plugins[i];
        if (strcmp(p->info.name, plugin) == 0)
            return p;
        for (size_t j = 0; j < p->info.nb_detectors; j++) {
            for (size_t k = 0; classes[k]; k++) {
                if (strcmp(p->classes[j]->name, classes[k]->name) == 0)
                    return p;
            }
        }
    }
    return NULL;
}

static void record_failure(VqaRegistry *reg, const char *path, const Verdict *v)
{
    VqaLogLevel level = v->status == VQA_PLUGIN_SHADOWED ? VQA_LOG_INFO : VQA_LOG_WARNING;
    vqa_log(&reg->log, level, "plugin %s: %s: %s", path, vqa_plugin_status_name(v->status),
            v->reason);
    VqaPluginFailure *f = vqa_calloc(1, sizeof(*f));
    VqaPluginFailure **grown = f ? vqa_realloc(reg->failures,
                                               (reg->nb_failures + 1) * sizeof(*grown)) : NULL;
    if (f && grown) {
        reg->failures = grown;
        f->path = vqa_strdup(path);
        f->status = v->status;
        f->reason = vqa_strdup(v->reason);
    }
    if (!f || !grown || !f->path || !f->reason) {
        if (f) {
            vqa_free((char *)f->path);
            vqa_free((char *)f->reason);
        }
        vqa_free(f);
        reg->out_of_memory = 1;
        return;
    }
    reg->failures[reg->nb_failures++] = f;
}

/* Copy and check every class of the descriptor into p->classes. */
static int take_classes(LoadedPlugin *p, const VqaPluginDesc *desc, Verdict *v)
{
    size_t n = 0;
    while (desc->detectors[n] && n <= MAX_DETECTORS)
        n++;
    if (n > MAX_DETECTORS)
        return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "more than %d detectors (is the list "
                      "terminated?)", MAX_DETECTORS);
    p->classes = vqa_calloc(n + 1, sizeof(*p->classes));
    if (!p->classes)
        return refuse_nomem(v);
    for (size_t i = 0; i < n; i++) {
        if (copy_class(desc->detectors[i], i, &p->classes[i], v) ||
            check_class(p->classes[i], i, v))
            return v->status;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->classes[j]->name, p->classes[i]->name) == 0)
                return refuse(v, VQA_PLUGIN_BAD_DESCRIPTOR, "detector '%s' is listed twice",
                              p->classes[i]->name);
        }
    }
    p->info.nb_detectors = n;
    p->info.detectors = (const VqaDetectorClass *const *)p->classes;
    return 0;
}

static int copy_info(LoadedPlugin *p, const char *path, const VqaPluginDesc *desc)
{
    p->info.path = vqa_strdup(path);
    p->info.name = vqa_strdup(desc->name);
    p->info.version = vqa_strdup(desc->version ? desc->version : "");
    p->info.license = vqa_strdup(desc->license ? desc->license : "");
    p->info.description = vqa_strdup(desc->description ? desc->description : "");
    p->info.abi_minor = desc->abi_minor;
    return p->info.path && p->info.name && p->info.version && p->info.license &&
                   p->info.description
               ? 0
               : VQA_ERR(ENOMEM);
}

/* Explain a missing entry symbol: another ABI major is the usual cause. */
static VqaPluginStatus no_entry(void *handle, Verdict *v)
{
    for (int major = VQA_PLUGIN_ABI_MAJOR + 1; major <= 9; major++) {
        char sym[32];
        snprintf(sym, sizeof(sym), "vqa_plugin_entry_v%d", major);
        if (dlsym(handle, sym))
            return refuse(v, VQA_PLUGIN_NOT_A_PLUGIN, "exports %s: built for ABI major %d, "
                          "host supports %d", sym, major, VQA_PLUGIN_ABI_MAJOR);
    }
    return refuse(v, VQA_PLUGIN_NOT_A_PLUGIN, "no %s symbol", VQA_PLUGIN_ENTRY_NAME);
}

/* Open and examine one file; on success *out holds the loaded plugin. */
static VqaPluginStatus examine(const VqaRegistry *reg, const char *path, LoadedPlugin *p,
                               Verdict *v)
{
    dlerror();
    p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!p->handle) {
        const char *err = dlerror();
        return refuse(v, VQA_PLUGIN_OPEN_FAILED, "%s", err ? err : "dlopen failed");
    }
    /* ISO C forbids converting void * to a function pointer; POSIX requires it to work. */
    VqaPluginEntryFn entry;
    void *sym = dlsym(p->handle, VQA_PLUGIN_ENTRY_NAME);
    if (!sym)
        return no_entry(p->handle, v);
    memcpy(&entry, &sym, sizeof(entry));
    VqaPluginDesc desc;
    if (read_descriptor(entry(), &desc, v) || take_classes(p, &desc, v))
        return v->status;
    const LoadedPlugin *owner = find_owner(reg, desc.name, p->classes);
    if (owner)
        return refuse(v, VQA_PLUGIN_SHADOWED, "shadowed by %s", owner->info.path);
    if (copy_info(p, path, &desc) < 0)
        return refuse_nomem(v);
    return VQA_PLUGIN_LOADED;
}

static int add_plugin(VqaRegistry *reg, LoadedPlugin *p)
{
    LoadedPlugin **plugins = vqa_realloc(reg->plugins, (reg->nb_plugins + 1) * sizeof(*plugins));
    if (!plugins)
        return VQA_ERR(ENOMEM);
    reg->plugins = plugins;
    const VqaDetectorClass **dets = vqa_realloc(reg->detectors, (reg->nb_detectors +
                                                p->info.nb_detectors) * sizeof(*dets));
    if (!dets)
        return VQA_ERR(ENOMEM);
    reg->detectors = dets;
    for (size_t i = 0; i < p->info.nb_detectors; i++)
        reg->detectors[reg->nb_detectors++] = p->classes[i];
    reg->plugins[reg->nb_plugins++] = p;
    return 0;
}

VqaPluginStatus vqa_registry_load_file(VqaRegistry *reg, const char *path)
{
    Verdict v = { VQA_PLUGIN_LOADED, 0, "" };
    LoadedPlugin *p = vqa_calloc(1, sizeof(*p));
    if (!reg || !path || !p) {
        vqa_free(p);
        if (reg && path)
            reg->out_of_memory = 1;
        return VQA_PLUGIN_OPEN_FAILED;
    }
    if (examine(reg, path, p, &v) == VQA_PLUGIN_LOADED && add_plugin(reg, p) < 0)
        refuse_nomem(&v);
    if (v.status != VQA_PLUGIN_LOADED) {
        free_plugin(p);
        if (v.out_of_memory)
            reg->out_of_memory = 1;
        record_failure(reg, path, &v);
        return v.status;
    }
    vqa_log(&reg->log, VQA_LOG_INFO, "plugin %s: loaded %s %s (%zu detector%s)", path,
            p->info.name, p->info.version, p->info.nb_detectors,
            p->info.nb_detectors == 1 ? "" : "s");
    return VQA_PLUGIN_LOADED;
}

/* ---- search path -------------------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_plugin_name(const char *name)
{
    size_t len = strlen(name);
    return name[0] != '.' && len > 3 && strcmp(name + len - 3, ".so") == 0;
}

/* The "*.so" entries of a directory, sorted; NULL-terminated in *out. */
static int list_dir(DIR *dir, char ***out, size_t *count)
{
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (!is_plugin_name(e->d_name))
            continue;
        char **grown = vqa_realloc(names, (n + 1) * sizeof(*names));
        char *copy = grown ? vqa_strdup(e->d_name) : NULL;
        if (grown)
            names = grown;
        if (!copy) {
            for (size_t i = 0; i < n; i++)
                vqa_free(names[i]);
            vqa_free(names);
            return VQA_ERR(ENOMEM);
        }
        names[n++] = copy;
    }
    if (n)
        qsort(names, n, sizeof(*names), name_cmp);
    *out = names;
    *count = n;
    return 0;
}

static void scan_dir(VqaRegistry *reg, const char *dir_path)
{
    DIR *dir = opendir(dir_path);
    if (!dir) {
        vqa_log(&reg->log, VQA_LOG_DEBUG, "plugin directory %s: not readable, skipped",
                dir_path);
        return;
    }
    char **names = NULL;
    size_t n = 0;
    if (list_dir(dir, &names, &n) < 0)
        reg->out_of_memory = 1;
    closedir(dir);
    vqa_log(&reg->log, VQA_LOG_DEBUG, "plugin directory %s: %zu candidate%s", dir_path, n,
            n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(dir_path) + strlen(names[i]) + 2;
        char *path = vqa_malloc(len);
        if (path) {
            snprintf(path, len, "%s/%s", dir_path, names[i]);
            struct stat st;
            if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode))
                vqa_registry_load_file(reg, path);
        } else {
            reg->out_of_memory = 1;
        }
        vqa_free(path);
        vqa_free(names[i]);
    }
    vqa_free(names);
}

/* Directories already scanned, by real path, so that a directory named twice
 * (host path and VQA_PLUGIN_PATH alike) does not shadow itself. */
typedef struct SeenDirs {
    char **paths;
    size_t count;
} SeenDirs;

static void scan_once(VqaRegistry *reg, SeenDirs *seen, const char *dir_path)
{
    char *real = realpath(dir_path, NULL); /* libc-allocated: released with free() */
    if (!real) {
        vqa_log(&reg->log, VQA_LOG_DEBUG, "plugin directory %s: missing, skipped", dir_path);
        return;
    }
    for (size_t i = 0; i < seen->count; i++) {
        if (strcmp(seen->paths[i], real) == 0) {
            free(real);
            return;
        }
    }
    char **grown = vqa_realloc(seen->paths, (seen->count + 1) * sizeof(*grown));
    char *copy = grown ? vqa_strdup(real) : NULL;
    free(real);
    if (grown)
        seen->paths = grown;
    if (!copy) {
        reg->out_of_memory = 1;
        return;
    }
    seen->paths[seen->count++] = copy;
    scan_dir(reg, dir_path);
}

/* Scan each entry of a colon-separated list, in order; empty entries are skipped. */
static void scan_list(VqaRegistry *reg, SeenDirs *seen, const char *list)
{
    const char *p = list;
    while (p && *p) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len) {
            char *dir = vqa_strndup(p, len);
            if (dir)
                scan_once(reg, seen, dir);
            else
                reg->out_of_memory = 1;
            vqa_free(dir);
        }
        p = colon ? colon + 1 : NULL;
    }
}

int vqa_registry_open(VqaRegistry **out, const VqaLogger *log, const char *const *host_paths)
{
    if (!out)
        return VQA_ERR(EINVAL);
    *out = NULL;
    VqaRegistry *reg = vqa_calloc(1, sizeof(*reg));
    if (!reg)
        return VQA_ERR(ENOMEM);
    if (log)
        reg->log = *log;
    SeenDirs seen = { NULL, 0 };
    for (size_t i = 0; host_paths && host_paths[i]; i++)
        scan_once(reg, &seen, host_paths[i]);
    scan_list(reg, &seen, getenv("VQA_PLUGIN_PATH"));
    const char *system = getenv("VQA_PLUGIN_SYSTEM_PATH");
    scan_list(reg, &seen, system ? system : vqa_registry_system_dir());
    for (size_t i = 0; i < seen.count; i++)
        vqa_free(seen.paths[i]);
    vqa_free(seen.paths);
    if (reg->out_of_memory) {
        vqa_registry_close(&reg);
        return VQA_ERR(ENOMEM);
    }
    vqa_log(&reg->log, VQA_LOG_DEBUG, "%zu plugin%s loaded, %zu refused", reg->nb_plugins,
            reg->nb_plugins == 1 ? "" : "s", reg->nb_failures);
    *out = reg;
    return 0;
}

void vqa_registry_close(VqaRegistry **preg)
{
    if (!preg || !*preg)
        return;
    VqaRegistry *reg = *preg;
    /* Unload in reverse load order, as a dynamic loader would. */
    for (size_t i = reg->nb_plugins; i-- > 0;)
        free_plugin(reg->plugins[i]);
    vqa_free(reg->plugins);
    for (size_t i = 0; i < reg->nb_failures; i++) {
        vqa_free((char *)reg->failures[i]->path);
        vqa_free((char *)reg->failures[i]->reason);
        vqa_free(reg->failures[i]);
    }
    vqa_free(reg->failures);
    vqa_free(reg->detectors);
    vqa_freep(preg);
}

/* ---- queries -------------------------------------------------------------- */

size_t vqa_registry_plugin_count(const VqaRegistry *reg)
{
    return reg ? reg->nb_plugins : 0;
}

const VqaPluginInfo *vqa_registry_plugin(const VqaRegistry *reg, size_t i)
{
    return reg && i < reg->nb_plugins ? &reg->plugins[i]->info : NULL;
}

size_t vqa_registry_failure_count(const VqaRegistry *reg)
{
    return reg ? reg->nb_failures : 0;
}

const VqaPluginFailure *vqa_registry_failure(const VqaRegistry *reg, size_t i)
{
    return reg && i < reg->nb_failures ? reg->failures[i] : NULL;
}

size_t vqa_registry_detector_count(const VqaRegistry *reg)
{
    return reg ? reg->nb_detectors : 0;
}

const VqaDetectorClass *vqa_registry_detector(const VqaRegistry *reg, size_t i)
{
    return reg && i < reg->nb_detectors ? reg->detectors[i] : NULL;
}

const VqaDetectorClass *vqa_registry_find(const VqaRegistry *reg, const char *name)
{
    for (size_t i = 0; reg && name && i < reg->nb_detectors; i++) {
        if (strcmp(reg->detectors[i]->name, name) == 0)
            return reg->detectors[i];
    }
    return NULL;
}
