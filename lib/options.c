/*
 * Detector option tables and detector specs. Every failure is reported as one
 * line that names the detector, the key, the value and the accepted range, so
 * a user can fix a command line without reading the plugin's source.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clocale.h"
#include "logging.h"
#include "mem.h"
#include "options.h"

const char *vqa_option_type_name(VqaOptionType type)
{
    switch (type) {
    case VQA_OPT_BOOL: return "bool";
    case VQA_OPT_INT: return "int";
    case VQA_OPT_DOUBLE: return "double";
    case VQA_OPT_STRING: return "string";
    case VQA_OPT_NONE: break;
    }
    return "none";
}

VQA_PRINTF(3, 4)
static int fail(char *msg, size_t msg_size, const char *fmt, ...)
{
    if (msg && msg_size) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(msg, msg_size, fmt, args);
        va_end(args);
    }
    return VQA_ERR(EINVAL);
}

static int fail_nomem(char *msg, size_t msg_size)
{
    if (msg && msg_size)
        snprintf(msg, msg_size, "out of memory");
    return VQA_ERR(ENOMEM);
}

/* Trim in place: returns the first non-space character, cuts trailing space. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    return s;
}

static int store_push(VqaOptionStore *store, char *s)
{
    char **grown = vqa_realloc(store->strings, (store->count + 1) * sizeof(*grown));
    if (!grown)
        return VQA_ERR(ENOMEM);
    store->strings = grown;
    store->strings[store->count++] = s;
    return 0;
}

void vqa_option_store_free(VqaOptionStore *store)
{
    if (!store)
        return;
    for (size_t i = 0; i < store->count; i++)
        vqa_free(store->strings[i]);
    vqa_freep(&store->strings);
    store->count = 0;
}

/* Values are copied byte-wise: a plugin's offsets need not be aligned for us. */
static void store_bool(void *priv, const VqaOption *o, int v)
{
    memcpy((char *)priv + o->offset, &v, sizeof(v));
}

static void store_int(void *priv, const VqaOption *o, int64_t v)
{
    memcpy((char *)priv + o->offset, &v, sizeof(v));
}

static void store_double(void *priv, const VqaOption *o, double v)
{
    memcpy((char *)priv + o->offset, &v, sizeof(v));
}

/* Copy a STRING value into the store and point the option at it. */
static int store_string(void *priv, const VqaOption *o, const char *v, VqaOptionStore *store)
{
    const char *stored = NULL;
    if (v) {
        char *copy = vqa_strdup(v);
        if (!copy || store_push(store, copy) < 0) {
            vqa_free(copy);
            return VQA_ERR(ENOMEM);
        }
        stored = copy;
    }
    memcpy((char *)priv + o->offset, &stored, sizeof(stored));
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const truths[] = { "1", "true", "yes", "on" };
    static const char *const lies[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < sizeof(truths) / sizeof(truths[0]); i++) {
        if (strcasecmp(s, truths[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, lies[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int parse_double(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    locale_t host_locale = vqa_c_locale_enter(); /* "0.5" whatever the host's LC_NUMERIC */
    double v = strtod(s, &end);
    vqa_c_locale_leave(host_locale);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Integers may be written "16" or "16.0", never "16.5". */
static int parse_int(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end != s && *end == '\0' && errno == 0) {
        *out = (int64_t)v;
        return 0;
    }
    double d;
    if (parse_double(s, &d) < 0 || d != floor(d) || fabs(d) > 9007199254740992.0)
        return -1;
    *out = (int64_t)d;
    return 0;
}

static int store_defaults(const VqaOption *opts, void *priv, VqaOptionStore *store)
{
    for (const VqaOption *o = opts; o && o->name; o++) {
        switch (o->type) {
        case VQA_OPT_BOOL: store_bool(priv, o, o->default_num != 0); break;
        case VQA_OPT_INT: store_int(priv, o, (int64_t)o->default_num); break;
        case VQA_OPT_DOUBLE: store_double(priv, o, o->default_num); break;
        case VQA_OPT_STRING:
            if (store_string(priv, o, o->default_str, store) < 0)
                return VQA_ERR(ENOMEM);
            break;
        case VQA_OPT_NONE: break;
        }
    }
    return 0;
}

static const VqaOption *find_option(const VqaOption *opts, const char *key)
{
    for (const VqaOption *o = opts; o && o->name; o++) {
        if (strcmp(o->name, key) == 0)
            return o;
    }
    return NULL;
}

static int unknown_option(const char *who, const VqaOption *opts, const char *key,
                          char *msg, size_t msg_size)
{
    char names[256] = "";
    size_t len = 0;
    for (const VqaOption *o = opts; o && o->name && len < sizeof(names); o++) {
        len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
                                len ? ", " : "", o->name);
    }
    if (!names[0])
        return fail(msg, msg_size, "%s: unknown option '%s' (it has no options)", who, key);
    return fail(msg, msg_size, "%s: unknown option '%s' (options: %s)", who, key, names);
}

static int out_of_range(const VqaOption *o, double v)
{
    return v < o->min || v > o->max;
}

/* Parse one value, range-check it and store it. */
static int apply_one(const char *who, const VqaOption *o, void *priv, const char *value,
                     VqaOptionStore *store, char *msg, size_t msg_size)
{
    int b;
    int64_t i;
    double d;
    switch (o->type) {
    case VQA_OPT_BOOL:
        if (parse_bool(value, &b) < 0)
            return fail(msg, msg_size, "%s: %s=%s is not a boolean (use 0/1, true/false, "
                        "yes/no or on/off)", who, o->name, value);
        store_bool(priv, o, b);
        return 0;
    case VQA_OPT_INT:
        if (parse_int(value, &i) < 0)
            return fail(msg, msg_size, "%s: %s=%s is not an integer", who, o->name, value);
        if (out_of_range(o, (double)i))
            break;
        store_int(priv, o, i);
        return 0;
    case VQA_OPT_DOUBLE:
        if (parse_double(value, &d) < 0)
            return fail(msg, msg_size, "%s: %s=%s is not a number", who, o->name, value);
        if (out_of_range(o, d))
            break;
        store_double(priv, o, d);
        return 0;
    case VQA_OPT_STRING:
        return store_string(priv, o, value, store) < 0 ? fail_nomem(msg, msg_size) : 0;
    case VQA_OPT_NONE:
        break;
    }
    if (o->type == VQA_OPT_NONE)
        return fail(msg, msg_size, "%s: option '%s' has no type", who, o->name);
    return fail(msg, msg_size, "%s: %s=%s is out of range [%g, %g]", who, o->name, value,
                o->min, o->max);
}

/* Apply "key=value" items of a writable copy of the args, cut at ':'. */
static int apply_items(const char *who, const VqaOption *opts, void *priv, char *items,
                       VqaOptionStore *store, char *msg, size_t msg_size)
{
    char *next = items;
    while (next) {
        char *item = next;
        next = strchr(item, ':');
        if (next)
            *next++ = '\0';
        item = trim(item);
        if (!item[0])
            continue; /* "freeze:" or "a=1::b=2" — nothing to set */
        char *eq = strchr(item, '=');
        if (eq)
            *eq = '\0';
        char *key = trim(item);
        const VqaOption *o = find_option(opts, key);
        if (!o)
            return unknown_option(who, opts, key, msg, msg_size);
        if (!eq)
            return fail(msg, msg_size, "%s: option '%s' needs a value (%s=VALUE)", who, key,
                        key);
        int err = apply_one(who, o, priv, trim(eq + 1), store, msg, msg_size);
        if (err < 0)
            return err;
    }
    return 0;
}

int vqa_options_apply(const char *who, const VqaOption *opts, void *priv, const char *args,
                      VqaOptionStore *store, char *msg, size_t msg_size)
{
    if (!who || !store || (opts && opts->name && !priv))
        return fail(msg, msg_size, "invalid arguments");
    if (msg && msg_size)
        msg[0] = '\0';
    if (store_defaults(opts, priv, store) < 0)
        return fail_nomem(msg, msg_size);
    if (!args || !args[0])
        return 0;
    char *items = vqa_strdup(args);
    if (!items)
        return fail_nomem(msg, msg_size);
    int err = apply_items(who, opts, priv, items, store, msg, msg_size);
    vqa_free(items);
    return err;
}

/* ---- detector specs ---------------------------------------------------- */

void vqa_spec_free(VqaSpec *spec)
{
    if (!spec)
        return;
    for (size_t i = 0; i < spec->count; i++)
        vqa_free(spec->items[i].args);
    vqa_freep(&spec->items);
    spec->count = 0;
}

static int spec_add(VqaSpec *spec, const VqaDetectorClass *cls, const char *args)
{
    VqaSpecItem *grown = vqa_realloc(spec->items, (spec->count + 1) * sizeof(*grown));
    if (!grown)
        return VQA_ERR(ENOMEM);
    spec->items = grown;
    char *copy = NULL;
    if (args && args[0] && !(copy = vqa_strdup(args)))
        return VQA_ERR(ENOMEM);
    spec->items[spec->count++] = (VqaSpecItem){ cls, copy };
    return 0;
}

static int unknown_detector(const VqaRegistry *reg, const char *name, char *msg,
                            size_t msg_size)
{
    char names[256] = "";
    size_t len = 0;
    size_t n = vqa_registry_detector_count(reg);
    for (size_t i = 0; i < n && len < sizeof(names); i++) {
        len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "",
                                vqa_registry_detector(reg, i)->name);
    }
    if (!n)
        return fail(msg, msg_size, "unknown detector '%s' (no detector is loaded)", name);
    return fail(msg, msg_size, "unknown detector '%s' (available: %s)", name, names);
}

/* Options are checked on a throw-away state so that errors surface at parse time. */
static int validate_item(const VqaSpecItem *item, char *msg, size_t msg_size)
{
    const VqaDetectorClass *cls = item->cls;
    void *scratch = vqa_calloc(1, cls->priv_size ? cls->priv_size : 1);
    if (!scratch)
        return fail_nomem(msg, msg_size);
    VqaOptionStore store = { 0 };
    int err = vqa_options_apply(cls->name, cls->options, scratch, item->args, &store, msg,
                                msg_size);
    vqa_option_store_free(&store);
    vqa_free(scratch);
    return err;
}

/* Add one "name[:k=v…]" item (a writable, already trimmed copy). */
static int spec_parse_item(const VqaRegistry *reg, char *item, VqaSpec *out, char *msg,
                           size_t msg_size)
{
    char *args = strchr(item, ':');
    if (args)
        *args++ = '\0';
    const char *name = trim(item);
    if (!name[0])
        return fail(msg, msg_size, "detector spec has an item without a detector name");
    const VqaDetectorClass *cls = vqa_registry_find(reg, name);
    if (!cls)
        return unknown_detector(reg, name, msg, msg_size);
    for (size_t i = 0; i < out->count; i++) {
        if (out->items[i].cls == cls)
            return fail(msg, msg_size, "detector '%s' given twice", name);
    }
    if (spec_add(out, cls, args) < 0)
        return fail_nomem(msg, msg_size);
    return validate_item(&out->items[out->count - 1], msg, msg_size);
}

static int spec_parse_list(const VqaRegistry *reg, char *list, VqaSpec *out, char *msg,
                           size_t msg_size)
{
    char *next = list;
    while (next) {
        char *item = next;
        next = strchr(item, ',');
        if (next)
            *next++ = '\0';
        item = trim(item);
        if (!item[0])
            return fail(msg, msg_size, "detector spec has an empty item");
        int err = spec_parse_item(reg, item, out, msg, msg_size);
        if (err < 0)
            return err;
    }
    return 0;
}

static int spec_all(const VqaRegistry *reg, VqaSpec *out, char *msg, size_t msg_size)
{
    size_t n = vqa_registry_detector_count(reg);
    for (size_t i = 0; i < n; i++) {
        if (spec_add(out, vqa_registry_detector(reg, i), NULL) < 0)
            return fail_nomem(msg, msg_size);
        int err = validate_item(&out->items[i], msg, msg_size);
        if (err < 0)
            return err;
    }
    return 0;
}

static int spec_is_blank(const char *spec)
{
    while (spec && isspace((unsigned char)*spec))
        spec++;
    return !spec || !*spec;
}

int vqa_spec_parse(const VqaRegistry *reg, const char *spec, VqaSpec *out, char *msg,
                   size_t msg_size)
{
    if (!out)
        return fail(msg, msg_size, "invalid arguments");
    *out = (VqaSpec){ 0 };
    if (msg && msg_size)
        msg[0] = '\0';
    int err;
    if (spec_is_blank(spec)) {
        err = spec_all(reg, out, msg, msg_size);
    } else {
        char *list = vqa_strdup(spec);
        if (!list)
            return fail_nomem(msg, msg_size);
        err = spec_parse_list(reg, list, out, msg, msg_size);
        vqa_free(list);
    }
    if (err == 0 && out->count == 0) {
        if (msg && msg_size)
            snprintf(msg, msg_size, "no detector is loaded (check the plugin path)");
        err = VQA_ERR(ENOENT);
    }
    if (err < 0)
        vqa_spec_free(out);
    return err;
}
