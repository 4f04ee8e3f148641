#include "engine/template.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <yaml.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/rand.h"
#include "base/str.h"
#include "engine/limits.h"
#include "engine/package.h"

#define TPL_PATH_MAX 256     /* a property path in messages ("Resources.Fn.Properties.X") */
#define TPL_VALUE_MAX 65536  /* one resolved value (a Fn::Sub or Fn::Join result) */
#define TPL_LIST_MAX 1024    /* items of one resolved list */
#define TPL_VARIABLES_MAX 4096 /* more could never fit Lambda's 4 KB of variables */
#define TPL_STD_TAG "tag:yaml.org,2002:"
#define TPL_BACKUPS_MAX 99     /* <file>.bak.1 .. .bak.99 after <file>.bak */

/* One parsed template. Everything the resolver needs travels in here (no globals). */
struct tpl {
    char file[PATH_MAX]; /* as shown in messages */
    char dir[PATH_MAX];  /* the template's directory, absolute */
    struct pt_buf text;
    yaml_document_t doc;
    bool loaded;
    yaml_node_t *root, *parameters, *conditions, *mappings, *resources, *globals;
    size_t visits; /* nodes looked at, aliases expanded: the alias-bomb budget */
    struct pt_error *err;
    struct pt_template_code *inl; /* where inline code goes; NULL: refused */
};

/* An intrinsic function call: "Ref"/"Fn::Sub"/... and its argument node. */
struct tpl_call {
    char name[64];
    yaml_node_t *arg;
    yaml_node_t *at;
    bool short_form; /* !Tag form: arg is the tagged node itself, read without its tag */
};

struct tpl_list {
    char **items;
    size_t n;
};

/* The function being built: its resource, own Properties and (SAM only) Globals.Function. */
struct tpl_func {
    const char *id;
    yaml_node_t *resource;
    yaml_node_t *props;   /* mapping or NULL */
    yaml_node_t *globals; /* mapping or NULL */
    bool serverless;
};

static int tpl_str(struct tpl *t, yaml_node_t *n, const char *path, int depth, bool untagged,
                   struct pt_buf *out, bool *novalue);
static int tpl_list(struct tpl *t, yaml_node_t *n, const char *path, int depth, bool untagged,
                    struct tpl_list *out, bool *novalue);
static int tpl_cond(struct tpl *t, yaml_node_t *n, const char *path, int depth, bool untagged,
                    bool *out);

/* ---------------------------------------------------------------- messages */

static size_t tpl_line(const yaml_node_t *n)
{
    return n->start_mark.line + 1;
}

static size_t tpl_col(const yaml_node_t *n)
{
    return n->start_mark.column + 1;
}

/* "file:line:col: path: what" - the shape of every template error, so a user can jump to it. */
__attribute__((format(printf, 4, 5))) static int tpl_fail(struct tpl *t, const yaml_node_t *n,
                                                          const char *path, const char *fmt, ...)
{
    char msg[PT_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n)
        return pt_error_set(t->err, PT_EUSAGE, "%s:%zu:%zu: %s: %s", t->file, tpl_line(n),
                            tpl_col(n), path, msg);
    return pt_error_set(t->err, PT_EUSAGE, "%s: %s: %s", t->file, path, msg);
}

static int tpl_nomem(struct tpl *t)
{
    return pt_error_set(t->err, PT_ENOMEM, "%s: out of memory reading the template", t->file);
}

/* Buffer errors: a value over TPL_VALUE_MAX is the template's fault, not the machine's. */
static int tpl_buf_fail(struct tpl *t, const yaml_node_t *n, const char *path, int rc)
{
    if (rc == PT_ELIMIT)
        return tpl_fail(t, n, path, "the value would be longer than %d bytes", TPL_VALUE_MAX);
    return tpl_nomem(t);
}

/* A buffer's text ("" when nothing was appended yet). */
static const char *tpl_bstr(const struct pt_buf *b)
{
    return b->data ? b->data : "";
}

/* parent + "." + key, cut short if needed (paths only label messages). */
static void tpl_path(char *out, size_t size, const char *parent, const char *key)
{
    size_t np = strnlen(parent, size - 1);
    memcpy(out, parent, np);
    size_t n = np;
    if (n && n + 1 < size)
        out[n++] = '.';
    size_t nk = strnlen(key, size - 1 - n);
    memcpy(out + n, key, nk);
    out[n + nk] = '\0';
}

/* ------------------------------------------------------------------- nodes */

static yaml_node_t *tpl_node(struct tpl *t, int index)
{
    return yaml_document_get_node(&t->doc, index);
}

static bool tpl_std_tag(const yaml_node_t *n)
{
    return !n->tag || pt_str_starts_with((const char *)n->tag, TPL_STD_TAG) ||
           strcmp((const char *)n->tag, "!") == 0;
}

static const char *tpl_text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* A plain, untagged empty/~/null scalar: YAML's null. */
static bool tpl_is_null(const yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
        !tpl_std_tag(n))
        return false;
    const char *s = tpl_text(n);
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

/* Budget and depth for every node the resolver looks at (aliases make a DAG, or a cycle). */
static int tpl_step(struct tpl *t, const yaml_node_t *n, const char *path, int depth)
{
    if (depth > PT_TEMPLATE_MAX_DEPTH)
        return tpl_fail(t, n, path, "nested deeper than %d levels (an alias that contains itself?)",
                        PT_TEMPLATE_MAX_DEPTH);
    if (++t->visits > PT_TEMPLATE_MAX_NODES)
        return tpl_fail(t, n, path,
                        "more than %d nodes once YAML aliases are expanded: refused (alias bomb?)",
                        PT_TEMPLATE_MAX_NODES);
    return 0;
}

/* A scalar's text; NUL inside ("\0" escapes) would cut C strings short, so it is refused. */
static int tpl_scalar(struct tpl *t, yaml_node_t *n, const char *path, const char *what,
                      const char **out)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return tpl_fail(t, n, path, "%s must be a single value, not a %s", what,
                        n && n->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
    if (strlen(tpl_text(n)) != n->data.scalar.length)
        return tpl_fail(t, n, path, "%s contains a NUL character", what);
    *out = tpl_text(n);
    return 0;
}

/*
 * The value of key in mapping m, or NULL. Keys that appear twice are refused
 * (YAML forbids them and CloudFormation would keep one silently), as is the
 * YAML 1.1 merge key, which CloudFormation does not know either.
 */
static int tpl_map_get(struct tpl *t, yaml_node_t *m, const char *path, const char *key,
                       yaml_node_t **val, yaml_node_t **keynode)
{
    yaml_node_t *found = NULL, *found_key = NULL;
    *val = NULL;
    if (keynode)
        *keynode = NULL;
    if (!m || m->type != YAML_MAPPING_NODE)
        return 0;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = tpl_node(t, p->key);
        if (++t->visits > PT_TEMPLATE_MAX_NODES)
            return tpl_step(t, k, path, 0);
        if (!k || k->type != YAML_SCALAR_NODE)
            continue;
        if (strcmp(tpl_text(k), "<<") == 0 && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            return tpl_fail(t, k, path, "YAML merge keys (<<) are not supported by CloudFormation");
        if (strcmp(tpl_text(k), key) != 0)
            continue;
        if (found_key)
            return tpl_fail(t, k, path, "duplicate key %s (first at line %zu)", key,
                            tpl_line(found_key));
        found_key = k;
        found = tpl_node(t, p->value);
    }
    *val = found;
    if (keynode)
        *keynode = found_key;
    return 0;
}

/* How many places point at node index idx: more than one means a YAML alias shares it. */
static size_t tpl_refcount(struct tpl *t, int idx)
{
    size_t count = 0;
    for (yaml_node_t *n = t->doc.nodes.start; n < t->doc.nodes.top; n++) {
        if (n->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *i = n->data.sequence.items.start;
                 i < n->data.sequence.items.top; i++)
                count += *i == idx;
        } else if (n->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
                 p < n->data.mapping.pairs.top; p++)
                count += (p->key == idx) + (p->value == idx);
        }
    }
    return count;
}

static int tpl_index_of(struct tpl *t, const yaml_node_t *n)
{
    return (int)(n - t->doc.nodes.start) + 1;
}

/* -------------------------------------------------------------- intrinsics */

/* "Table.Arn", "[a, b]": enough of an argument to recognise it in a message. */
static void tpl_brief(struct tpl *t, yaml_node_t *n, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    if (!n)
        return;
    if (n->type == YAML_SCALAR_NODE) {
        snprintf(out, size, "%.80s", tpl_text(n));
        return;
    }
    if (n->type == YAML_MAPPING_NODE) {
        snprintf(out, size, "{...}");
        return;
    }
    len += (size_t)snprintf(out + len, size - len, "[");
    for (yaml_node_item_t *i = n->data.sequence.items.start;
         i < n->data.sequence.items.top && len + 1 < size; i++) {
        yaml_node_t *c = tpl_node(t, *i);
        const char *s = c && c->type == YAML_SCALAR_NODE ? tpl_text(c) : "...";
        len += (size_t)snprintf(out + len, size - len, "%s%.40s",
                                i == n->data.sequence.items.start ? "" : ", ", s);
    }
    if (len + 1 < size)
        snprintf(out + len, size - len, "]");
}

/* "!GetAtt Table.Arn": how the user wrote the call, in either form. */
static void tpl_describe(struct tpl *t, const struct tpl_call *call, char *out, size_t size)
{
    char arg[160];
    tpl_brief(t, call->arg, arg, sizeof(arg));
    const char *shortname = pt_str_starts_with(call->name, "Fn::") ? call->name + 4 : call->name;
    if (call->short_form)
        snprintf(out, size, "!%s %s", shortname, arg);
    else
        snprintf(out, size, "%s: %s", call->name, arg);
}

/*
 * Is n an intrinsic call? 1 yes (call filled), 0 no, < 0 an unknown tag.
 * Short form: a local tag "!Name" (Ref and Condition keep their names, the
 * rest are Fn::Name). Long form: a one-key mapping {Ref: ...} or
 * {Fn::X: ...}, and {Condition: name} inside conditions.
 */
static int tpl_call_of(struct tpl *t, yaml_node_t *n, const char *path, bool untagged,
                       bool in_condition, struct tpl_call *call)
{
    memset(call, 0, sizeof(*call));
    if (!untagged && !tpl_std_tag(n)) {
        const char *tag = (const char *)n->tag;
        bool ok = tag[0] == '!' && tag[1] != '\0' && strlen(tag) < 40;
        for (const char *p = tag + 1; ok && *p; p++)
            ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
        if (!ok)
            return tpl_fail(t, n, path, "unknown YAML tag %s", tag);
        if (strcmp(tag, "!Ref") == 0 || strcmp(tag, "!Condition") == 0)
            snprintf(call->name, sizeof(call->name), "%s", tag + 1);
        else
            snprintf(call->name, sizeof(call->name), "Fn::%s", tag + 1);
        call->arg = n;
        call->at = n;
        call->short_form = true;
        return 1;
    }
    if (n->type != YAML_MAPPING_NODE ||
        n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
        return 0;
    yaml_node_t *k = tpl_node(t, n->data.mapping.pairs.start->key);
    if (!k || k->type != YAML_SCALAR_NODE)
        return 0;
    const char *key = tpl_text(k);
    if (strcmp(key, "Ref") != 0 && !pt_str_starts_with(key, "Fn::") &&
        !(in_condition && strcmp(key, "Condition") == 0))
        return 0;
    snprintf(call->name, sizeof(call->name), "%.63s", key);
    call->arg = tpl_node(t, n->data.mapping.pairs.start->value);
    call->at = n;
    return call->arg ? 1 : 0;
}

/* The i-th item of a call's list argument, checking the count (n items, or min..max). */
static int tpl_args(struct tpl *t, const struct tpl_call *call, const char *path, size_t min,
                    size_t max, yaml_node_t **items, size_t *count)
{
    yaml_node_t *a = call->arg;
    size_t n = a->type == YAML_SEQUENCE_NODE
                   ? (size_t)(a->data.sequence.items.top - a->data.sequence.items.start)
                   : 0;
    if (a->type != YAML_SEQUENCE_NODE || n < min || n > max) {
        char d[256];
        tpl_describe(t, call, d, sizeof(d));
        if (min == max)
            return tpl_fail(t, call->at, path, "%s: expected a list of %zu arguments", d, min);
        return tpl_fail(t, call->at, path, "%s: expected a list of %zu to %zu arguments", d, min,
                        max);
    }
    for (size_t i = 0; i < n; i++) {
        items[i] = tpl_node(t, a->data.sequence.items.start[i]);
        if (!items[i])
            return tpl_fail(t, call->at, path, "argument %zu is missing", i + 1);
    }
    if (count)
        *count = n;
    return 0;
}

static bool tpl_is_pseudo(const char *name)
{
    return pt_str_starts_with(name, "AWS::");
}

/* Pseudo parameters with sensible local values; AWS::NoValue removes the property. */
static int tpl_pseudo(struct tpl *t, yaml_node_t *at, const char *path, const char *name,
                      struct pt_buf *out, bool *novalue)
{
    static const struct {
        const char *name;
        const char *value;
    } pseudo[] = {
        {"AWS::Region", PT_TEMPLATE_REGION},
        {"AWS::AccountId", PT_TEMPLATE_ACCOUNT_ID},
        {"AWS::StackName", PT_TEMPLATE_STACK_NAME},
        {"AWS::StackId", "arn:aws:cloudformation:" PT_TEMPLATE_REGION ":" PT_TEMPLATE_ACCOUNT_ID
                         ":stack/" PT_TEMPLATE_STACK_NAME "/00000000-0000-0000-0000-000000000000"},
        {"AWS::Partition", "aws"},
        {"AWS::URLSuffix", "amazonaws.com"},
    };
    if (strcmp(name, "AWS::NoValue") == 0) {
        *novalue = true;
        return 0;
    }
    for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++) {
        if (strcmp(name, pseudo[i].name) == 0) {
            int rc = pt_buf_append_str(out, pseudo[i].value, NULL);
            return rc ? tpl_buf_fail(t, at, path, rc) : 0;
        }
    }
    return tpl_fail(t, at, path, "Ref %s: this pseudo parameter has no local value", name);
}

/* The Parameters entry `name` (NULL if none), with its Type. */
static int tpl_param(struct tpl *t, const char *name, yaml_node_t **param, const char **type)
{
    yaml_node_t *p = NULL, *ty = NULL;
    *param = NULL;
    *type = "String";
    int rc = tpl_map_get(t, t->parameters, "Parameters", name, &p, NULL);
    if (rc || !p)
        return rc;
    if (p->type != YAML_MAPPING_NODE)
        return tpl_fail(t, p, "Parameters", "parameter %s must be a mapping (Type, Default)",
                        name);
    rc = tpl_map_get(t, p, "Parameters", "Type", &ty, NULL);
    if (!rc && ty && ty->type == YAML_SCALAR_NODE)
        *type = tpl_text(ty);
    *param = p;
    return rc;
}

/* A parameter's Default, refusing what has no local value. */
static int tpl_param_default(struct tpl *t, yaml_node_t *at, const char *path, const char *name,
                             yaml_node_t *param, const char *type, const char **out)
{
    yaml_node_t *def = NULL;
    if (pt_str_starts_with(type, "AWS::SSM::Parameter::Value"))
        return tpl_fail(t, at, path,
                        "Ref %s: an SSM parameter (%s) cannot be resolved locally: it exists only "
                        "in AWS",
                        name, type);
    int rc = tpl_map_get(t, param, "Parameters", "Default", &def, NULL);
    if (rc)
        return rc;
    if (!def)
        return tpl_fail(t, at, path,
                        "Ref %s: the parameter has no Default, so it cannot be resolved locally "
                        "(give it a Default)",
                        name);
    char ppath[TPL_PATH_MAX];
    snprintf(ppath, sizeof(ppath), "Parameters.%.200s.Default", name);
    if (!tpl_std_tag(def) || def->type != YAML_SCALAR_NODE)
        return tpl_fail(t, def, ppath, "a parameter's Default must be a literal value");
    return tpl_scalar(t, def, ppath, "Default", out);
}

static bool tpl_type_is_list(const char *type)
{
    return strcmp(type, "CommaDelimitedList") == 0 || pt_str_starts_with(type, "List<");
}

/* Ref name where one value is expected. */
static int tpl_ref(struct tpl *t, yaml_node_t *at, const char *path, const char *name,
                   struct pt_buf *out, bool *novalue)
{
    yaml_node_t *param = NULL, *res = NULL;
    const char *type = NULL, *def = NULL;
    if (tpl_is_pseudo(name))
        return tpl_pseudo(t, at, path, name, out, novalue);
    int rc = tpl_param(t, name, &param, &type);
    if (rc)
        return rc;
    if (param) {
        if (tpl_type_is_list(type))
            return tpl_fail(t, at, path, "Ref %s: a %s parameter where one value is expected",
                            name, type);
        rc = tpl_param_default(t, at, path, name, param, type, &def);
        if (rc)
            return rc;
        rc = pt_buf_append_str(out, def, NULL);
        return rc ? tpl_buf_fail(t, at, path, rc) : 0;
    }
    rc = tpl_map_get(t, t->resources, "Resources", name, &res, NULL);
    if (rc)
        return rc;
    if (res)
        return tpl_fail(t, at, path,
                        "Ref %s cannot be resolved locally: the resource's physical id exists "
                        "only in a deployed stack",
                        name);
    return tpl_fail(t, at, path, "Ref %s: no such parameter, pseudo parameter or resource", name);
}

/* Conditions.name, evaluated. */
static int tpl_cond_named(struct tpl *t, yaml_node_t *at, const char *path, const char *name,
                          int depth, bool *out)
{
    yaml_node_t *c = NULL;
    int rc = tpl_map_get(t, t->conditions, "Conditions", name, &c, NULL);
    if (rc)
        return rc;
    if (!c)
        return tpl_fail(t, at, path, "condition %s is not defined in Conditions", name);
    char cpath[TPL_PATH_MAX];
    snprintf(cpath, sizeof(cpath), "Conditions.%.200s", name);
    return tpl_cond(t, c, cpath, depth + 1, false, out);
}

/* Fn::If [condition, then, else]: the chosen branch node. */
static int tpl_if(struct tpl *t, const struct tpl_call *call, const char *path, int depth,
                  yaml_node_t **branch)
{
    yaml_node_t *a[3];
    const char *name = NULL;
    bool yes = false;
    int rc = tpl_args(t, call, path, 3, 3, a, NULL);
    if (!rc)
        rc = tpl_scalar(t, a[0], path, "Fn::If's condition name", &name);
    if (!rc)
        rc = tpl_cond_named(t, a[0], path, name, depth, &yes);
    if (!rc)
        *branch = yes ? a[1] : a[2];
    return rc;
}

/* Fn::FindInMap [map, top key, second key]: the value node in Mappings. */
static int tpl_find_in_map(struct tpl *t, const struct tpl_call *call, const char *path,
                           int depth, yaml_node_t **value)
{
    yaml_node_t *a[4];
    struct pt_buf key[3];
    yaml_node_t *node = t->mappings;
    bool novalue = false;
    int rc = 0;
    for (int i = 0; i < 3; i++)
        pt_buf_init(&key[i], TPL_VALUE_MAX);
    rc = tpl_args(t, call, path, 3, 4, a, NULL);
    for (int i = 0; !rc && i < 3; i++) {
        rc = tpl_str(t, a[i], path, depth + 1, false, &key[i], &novalue);
        if (!rc && novalue)
            rc = tpl_fail(t, a[i], path, "Fn::FindInMap: a key cannot be AWS::NoValue");
    }
    for (int i = 0; !rc && i < 3; i++) {
        yaml_node_t *next = NULL;
        rc = tpl_map_get(t, node, "Mappings", tpl_bstr(&key[i]), &next, NULL);
        if (!rc && !next)
            rc = tpl_fail(t, call->at, path, "Fn::FindInMap: Mappings.%s%s%s%s%s is not defined",
                          tpl_bstr(&key[0]), i >= 1 ? "." : "", i >= 1 ? tpl_bstr(&key[1]) : "",
                          i >= 2 ? "." : "", i >= 2 ? tpl_bstr(&key[2]) : "");
        node = next;
    }
    if (!rc)
        *value = node;
    for (int i = 0; i < 3; i++)
        pt_buf_free(&key[i]);
    return rc;
}

/* ${Name} of Fn::Sub: a variable of its own map, a parameter or a pseudo parameter. */
static int tpl_sub_var(struct tpl *t, const struct tpl_call *call, const char *path, int depth,
                       yaml_node_t *vars, const char *name, struct pt_buf *out)
{
    yaml_node_t *v = NULL, *res = NULL;
    bool novalue = false;
    int rc = tpl_map_get(t, vars, path, name, &v, NULL);
    if (rc)
        return rc;
    if (v)
        rc = tpl_str(t, v, path, depth + 1, false, out, &novalue);
    else if (strchr(name, '.') && !tpl_is_pseudo(name)) {
        char resname[TPL_PATH_MAX];
        snprintf(resname, sizeof(resname), "%.*s", (int)(strchr(name, '.') - name), name);
        rc = tpl_map_get(t, t->resources, "Resources", resname, &res, NULL);
        if (!rc)
            rc = tpl_fail(t, call->at, path,
                          res ? "Fn::Sub ${%s} cannot be resolved locally: resource attributes "
                                "exist only in a deployed stack"
                              : "Fn::Sub ${%s}: no such resource",
                          name);
    } else
        rc = tpl_ref(t, call->at, path, name, out, &novalue);
    if (!rc && novalue)
        rc = tpl_fail(t, call->at, path, "Fn::Sub ${%s}: AWS::NoValue has no text", name);
    return rc;
}

/* Fn::Sub "text ${Var} ${!Literal}" or [text, {Var: value}]. */
static int tpl_sub(struct tpl *t, const struct tpl_call *call, const char *path, int depth,
                   struct pt_buf *out)
{
    yaml_node_t *a[2] = {NULL, NULL}, *vars = NULL, *tmpl = call->arg;
    const char *s = NULL;
    char name[TPL_PATH_MAX];
    int rc = 0;
    if (call->arg->type == YAML_SEQUENCE_NODE) {
        rc = tpl_args(t, call, path, 2, 2, a, NULL);
        if (rc)
            return rc;
        tmpl = a[0];
        vars = a[1];
        if (vars->type != YAML_MAPPING_NODE)
            return tpl_fail(t, vars, path, "Fn::Sub: the variables must be a mapping");
    }
    if (tmpl->type != YAML_SCALAR_NODE ||
        ((!call->short_form || tmpl != call->arg) && !tpl_std_tag(tmpl)))
        return tpl_fail(t, tmpl, path, "Fn::Sub: the template must be a literal string");
    rc = tpl_scalar(t, tmpl, path, "Fn::Sub's string", &s);
    /* Returned as is: the tpl_buf_fail at the end would turn it into "out of memory". */
    if (rc)
        return rc;
    while (!rc && *s) {
        const char *open = strstr(s, "${");
        if (!open) {
            rc = pt_buf_append_str(out, s, NULL);
            break;
        }
        rc = pt_buf_append(out, s, (size_t)(open - s), NULL);
        if (rc)
            break;
        if (open[2] == '!') { /* ${!Literal} writes ${Literal} */
            rc = pt_buf_append_str(out, "${", NULL);
            s = open + 3;
            continue;
        }
        const char *close = strchr(open + 2, '}');
        if (!close)
            return tpl_fail(t, tmpl, path, "Fn::Sub: \"${\" without its closing \"}\"");
        size_t n = (size_t)(close - open - 2);
        if (n == 0 || n >= sizeof(name))
            return tpl_fail(t, tmpl, path, "Fn::Sub: variable name empty or too long");
        memcpy(name, open + 2, n);
        name[n] = '\0';
        rc = tpl_sub_var(t, call, path, depth, vars, name, out);
        if (rc)
            return rc;
        s = close + 1;
    }
    return rc ? tpl_buf_fail(t, tmpl, path, rc) : 0;
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int tpl_base64(const char *s, size_t n, struct pt_buf *out)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (uint32_t)(unsigned char)s[i + 2];
        char q[4] = {b64chars[(v >> 18) & 63], b64chars[(v >> 12) & 63],
                     i + 1 < n ? b64chars[(v >> 6) & 63] : '=', i + 2 < n ? b64chars[v & 63] : '='};
        rc = pt_buf_append(out, q, 4, NULL);
    }
    return rc;
}

static void tpl_list_free(struct tpl_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static int tpl_list_push(struct tpl *t, yaml_node_t *at, const char *path, struct tpl_list *l,
                         const char *s, size_t n)
{
    if (l->n >= TPL_LIST_MAX)
        return tpl_fail(t, at, path, "a list of more than %d items", TPL_LIST_MAX);
    char **grown = realloc(l->items, (l->n + 1) * sizeof(*grown));
    if (!grown)
        return tpl_nomem(t);
    l->items = grown;
    l->items[l->n] = strndup(s, n);
    if (!l->items[l->n])
        return tpl_nomem(t);
    l->n++;
    return 0;
}

/* Splits s at every delim (an empty delim is refused by the caller). */
static int tpl_split(struct tpl *t, yaml_node_t *at, const char *path, const char *s,
                     const char *delim, struct tpl_list *out)
{
    size_t dl = strlen(delim);
    for (;;) {
        const char *d = strstr(s, delim);
        int rc = tpl_list_push(t, at, path, out, s, d ? (size_t)(d - s) : strlen(s));
        if (rc || !d)
            return rc;
        s = d + dl;
    }
}

/* An intrinsic where one value is expected. */
static int tpl_call_str(struct tpl *t, const struct tpl_call *call, const char *path, int depth,
                        struct pt_buf *out, bool *novalue)
{
    char d[256];
    yaml_node_t *a[2], *node = NULL;
    const char *s = NULL;
    struct pt_buf tmp;
    struct tpl_list list = {NULL, 0};
    int rc = 0;
    pt_buf_init(&tmp, TPL_VALUE_MAX);
    tpl_describe(t, call, d, sizeof(d));

    if (strcmp(call->name, "Ref") == 0) {
        rc = tpl_scalar(t, call->arg, path, "Ref's argument", &s);
        if (!rc)
            rc = tpl_ref(t, call->at, path, s, out, novalue);
    } else if (strcmp(call->name, "Fn::Sub") == 0) {
        rc = tpl_sub(t, call, path, depth, out);
    } else if (strcmp(call->name, "Fn::If") == 0) {
        rc = tpl_if(t, call, path, depth, &node);
        if (!rc)
            rc = tpl_str(t, node, path, depth + 1, false, out, novalue);
    } else if (strcmp(call->name, "Fn::FindInMap") == 0) {
        rc = tpl_find_in_map(t, call, path, depth, &node);
        if (!rc)
            rc = tpl_str(t, node, path, depth + 1, false, out, novalue);
    } else if (strcmp(call->name, "Fn::Join") == 0) {
        bool nv = false;
        rc = tpl_args(t, call, path, 2, 2, a, NULL);
        if (!rc)
            rc = tpl_str(t, a[0], path, depth + 1, false, &tmp, &nv);
        if (!rc)
            rc = tpl_list(t, a[1], path, depth + 1, false, &list, &nv);
        for (size_t i = 0; !rc && i < list.n; i++) {
            if (i && (rc = pt_buf_append(out, tpl_bstr(&tmp), tmp.len, NULL)))
                rc = tpl_buf_fail(t, call->at, path, rc);
            else if ((rc = pt_buf_append_str(out, list.items[i], NULL)))
                rc = tpl_buf_fail(t, call->at, path, rc);
        }
    } else if (strcmp(call->name, "Fn::Select") == 0) {
        bool nv = false;
        long index = 0;
        rc = tpl_args(t, call, path, 2, 2, a, NULL);
        if (!rc)
            rc = tpl_str(t, a[0], path, depth + 1, false, &tmp, &nv);
        if (!rc && pt_parse_long(tpl_bstr(&tmp), 0, TPL_LIST_MAX, &index) != 0)
            rc = tpl_fail(t, a[0], path, "%s: index \"%s\" is not a whole number >= 0", d,
                          tpl_bstr(&tmp));
        if (!rc)
            rc = tpl_list(t, a[1], path, depth + 1, false, &list, &nv);
        if (!rc && (size_t)index >= list.n)
            rc = tpl_fail(t, call->at, path, "%s: index %ld is past the list's %zu items", d,
                          index, list.n);
        if (!rc && (rc = pt_buf_append_str(out, list.items[index], NULL)))
            rc = tpl_buf_fail(t, call->at, path, rc);
    } else if (strcmp(call->name, "Fn::Base64") == 0) {
        bool nv = false;
        rc = tpl_str(t, call->arg, path, depth + 1, call->short_form, &tmp, &nv);
        if (!rc && (rc = tpl_base64(tpl_bstr(&tmp), tmp.len, out)))
            rc = tpl_buf_fail(t, call->at, path, rc);
    } else if (strcmp(call->name, "Fn::GetAtt") == 0) {
        rc = tpl_fail(t, call->at, path,
                      "%s cannot be resolved locally: resource attributes exist only in a "
                      "deployed stack",
                      d);
    } else if (strcmp(call->name, "Fn::ImportValue") == 0) {
        rc = tpl_fail(t, call->at, path,
                      "%s cannot be resolved locally: other stacks' exports exist only in AWS", d);
    } else if (strcmp(call->name, "Fn::GetAZs") == 0 || strcmp(call->name, "Fn::Split") == 0 ||
               strcmp(call->name, "Fn::Cidr") == 0) {
        rc = tpl_fail(t, call->at, path, "%s gives a list where one value is expected", d);
    } else if (strcmp(call->name, "Fn::Equals") == 0 || strcmp(call->name, "Fn::Not") == 0 ||
               strcmp(call->name, "Fn::And") == 0 || strcmp(call->name, "Fn::Or") == 0 ||
               strcmp(call->name, "Condition") == 0) {
        rc = tpl_fail(t, call->at, path, "%s is a condition, not a value", d);
    } else {
        rc = tpl_fail(t, call->at, path, "%s cannot be resolved locally: %s is not supported", d,
                      call->name);
    }
    pt_buf_free(&tmp);
    tpl_list_free(&list);
    return rc;
}

/*
 * One value (a string) from n: a scalar as written, or an intrinsic
 * resolved. *novalue is set (and nothing appended) for AWS::NoValue.
 */
static int tpl_str(struct tpl *t, yaml_node_t *n, const char *path, int depth, bool untagged,
                   struct pt_buf *out, bool *novalue)
{
    struct tpl_call call;
    const char *s = NULL;
    *novalue = false;
    int rc = tpl_step(t, n, path, depth);
    if (rc)
        return rc;
    rc = tpl_call_of(t, n, path, untagged, false, &call);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return tpl_call_str(t, &call, path, depth, out, novalue);
    if (tpl_is_null(n))
        return tpl_fail(t, n, path, "has no value");
    rc = tpl_scalar(t, n, path, "the value", &s);
    if (!rc && (rc = pt_buf_append_str(out, s, NULL)))
        rc = tpl_buf_fail(t, n, path, rc);
    return rc;
}

/* A list of values from n: a YAML sequence, Fn::Split, a list parameter, Fn::If, ... */
static int tpl_list(struct tpl *t, yaml_node_t *n, const char *path, int depth, bool untagged,
                    struct tpl_list *out, bool *novalue)
{
    struct tpl_call call;
    struct pt_buf a, b;
    yaml_node_t *args[2], *node = NULL, *param = NULL;
    const char *type = NULL, *def = NULL, *s = NULL;
    bool nv = false;
    char d[256];
    *novalue = false;
    pt_buf_init(&a, TPL_VALUE_MAX);
    pt_buf_init(&b, TPL_VALUE_MAX);
    int rc = tpl_step(t, n, path, depth);
    if (!rc)
        rc = tpl_call_of(t, n, path, untagged, false, &call);
    if (rc < 0)
        goto out;
    if (rc == 0) {
        if (n->type != YAML_SEQUENCE_NODE) {
            rc = tpl_fail(t, n, path, "expected a list");
            goto out;
        }
        for (yaml_node_item_t *i = n->data.sequence.items.start;
             !rc && i < n->data.sequence.items.top; i++) {
            pt_buf_reset(&a);
            rc = tpl_str(t, tpl_node(t, *i), path, depth + 1, false, &a, &nv);
            if (!rc && !nv) /* CloudFormation drops AWS::NoValue items from lists */
                rc = tpl_list_push(t, n, path, out, tpl_bstr(&a), a.len);
        }
        goto out;
    }
    rc = 0;
    tpl_describe(t, &call, d, sizeof(d));
    if (strcmp(call.name, "Fn::Split") == 0) {
        rc = tpl_args(t, &call, path, 2, 2, args, NULL);
        if (!rc)
            rc = tpl_str(t, args[0], path, depth + 1, false, &a, &nv);
        if (!rc && !a.len)
            rc = tpl_fail(t, call.at, path, "%s: the delimiter is empty", d);
        if (!rc)
            rc = tpl_str(t, args[1], path, depth + 1, false, &b, &nv);
        if (!rc)
            rc = tpl_split(t, call.at, path, tpl_bstr(&b), tpl_bstr(&a), out);
    } else if (strcmp(call.name, "Fn::If") == 0) {
        rc = tpl_if(t, &call, path, depth, &node);
        if (!rc)
            rc = tpl_list(t, node, path, depth + 1, false, out, novalue);
    } else if (strcmp(call.name, "Fn::FindInMap") == 0) {
        rc = tpl_find_in_map(t, &call, path, depth, &node);
        if (!rc)
            rc = tpl_list(t, node, path, depth + 1, false, out, novalue);
    } else if (strcmp(call.name, "Ref") == 0) {
        rc = tpl_scalar(t, call.arg, path, "Ref's argument", &s);
        if (!rc && !tpl_is_pseudo(s))
            rc = tpl_param(t, s, &param, &type);
        if (!rc && param && tpl_type_is_list(type)) {
            rc = tpl_param_default(t, call.at, path, s, param, type, &def);
            if (!rc)
                rc = tpl_split(t, call.at, path, def, ",", out);
        } else if (!rc) {
            rc = tpl_ref(t, call.at, path, s, &a, novalue);
            if (!rc && !*novalue)
                rc = tpl_fail(t, call.at, path, "%s gives one value where a list is expected", d);
        }
    } else if (strcmp(call.name, "Fn::GetAZs") == 0) {
        rc = tpl_fail(t, call.at, path,
                      "%s cannot be resolved locally: availability zones exist only in AWS", d);
    } else {
        /* Anything else yields one value at most: resolve it for its own errors first. */
        rc = tpl_call_str(t, &call, path, depth, &a, novalue);
        if (!rc && !*novalue)
            rc = tpl_fail(t, call.at, path, "%s gives one value where a list is expected", d);
    }
out:
    pt_buf_free(&a);
    pt_buf_free(&b);
    return rc;
}

/* A condition: Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition. */
static int tpl_cond(struct tpl *t, yaml_node_t *n, const char *path, int depth, bool untagged,
                    bool *out)
{
    struct tpl_call call;
    struct pt_buf a, b;
    yaml_node_t *args[10];
    size_t count = 0;
    bool nv = false, v = false;
    const char *s = NULL;
    char d[256];
    pt_buf_init(&a, TPL_VALUE_MAX);
    pt_buf_init(&b, TPL_VALUE_MAX);
    int rc = tpl_step(t, n, path, depth);
    if (!rc)
        rc = tpl_call_of(t, n, path, untagged, true, &call);
    if (rc < 0)
        goto out;
    if (rc == 0) {
        rc = tpl_fail(t, n, path,
                      "expected a condition (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)");
        goto out;
    }
    rc = 0;
    tpl_describe(t, &call, d, sizeof(d));
    if (strcmp(call.name, "Fn::Equals") == 0) {
        rc = tpl_args(t, &call, path, 2, 2, args, NULL);
        if (!rc)
            rc = tpl_str(t, args[0], path, depth + 1, false, &a, &nv);
        if (!rc)
            rc = tpl_str(t, args[1], path, depth + 1, false, &b, &nv);
        if (!rc)
            *out = a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
    } else if (strcmp(call.name, "Fn::Not") == 0) {
        rc = tpl_args(t, &call, path, 1, 1, args, NULL);
        if (!rc)
            rc = tpl_cond(t, args[0], path, depth + 1, false, &v);
        if (!rc)
            *out = !v;
    } else if (strcmp(call.name, "Fn::And") == 0 || strcmp(call.name, "Fn::Or") == 0) {
        bool is_and = strcmp(call.name, "Fn::And") == 0;
        rc = tpl_args(t, &call, path, 2, 10, args, &count);
        *out = is_and;
        for (size_t i = 0; !rc && i < count; i++) {
            rc = tpl_cond(t, args[i], path, depth + 1, false, &v);
            if (!rc)
                *out = is_and ? (*out && v) : (*out || v);
        }
    } else if (strcmp(call.name, "Condition") == 0) {
        rc = tpl_scalar(t, call.arg, path, "Condition's name", &s);
        if (!rc)
            rc = tpl_cond_named(t, call.at, path, s, depth, out);
    } else {
        rc = tpl_fail(t, call.at, path, "%s is not a condition", d);
    }
out:
    pt_buf_free(&a);
    pt_buf_free(&b);
    return rc;
}

/*
 * Where a mapping or list is expected: follows Fn::If and makes
 * AWS::NoValue (and an empty YAML value) "absent" (*out = NULL).
 */
static int tpl_unwrap(struct tpl *t, yaml_node_t *n, const char *path, int depth,
                      yaml_node_t **out)
{
    struct tpl_call call;
    int rc = 0;
    *out = NULL;
    while (n) {
        rc = tpl_step(t, n, path, depth++);
        if (rc)
            return rc;
        rc = tpl_call_of(t, n, path, false, false, &call);
        if (rc < 0)
            return rc;
        if (rc == 1 && strcmp(call.name, "Fn::If") == 0) {
            rc = tpl_if(t, &call, path, depth, &n);
            if (rc)
                return rc;
            continue;
        }
        if (rc == 1 && strcmp(call.name, "Ref") == 0 && call.arg->type == YAML_SCALAR_NODE &&
            strcmp(tpl_text(call.arg), "AWS::NoValue") == 0)
            return 0;
        if (tpl_is_null(n))
            return 0;
        *out = n;
        return 0;
    }
    return 0;
}

/* A mapping (or absent); anything else is refused naming what was found. */
static int tpl_mapping(struct tpl *t, yaml_node_t *n, const char *path, yaml_node_t **out)
{
    struct tpl_call call;
    int rc = tpl_unwrap(t, n, path, 0, out);
    if (rc || !*out)
        return rc;
    /* An intrinsic call is a one-key mapping too, but not a mapping of properties. */
    rc = tpl_call_of(t, *out, path, false, false, &call);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        char d[256];
        tpl_describe(t, &call, d, sizeof(d));
        return tpl_fail(t, *out, path, "%s cannot be resolved locally to a mapping", d);
    }
    if ((*out)->type != YAML_MAPPING_NODE)
        return tpl_fail(t, *out, path, "expected a mapping, found a %s",
                        (*out)->type == YAML_SEQUENCE_NODE ? "list" : "single value");
    return 0;
}

/* ------------------------------------------------------------ the document */

static void tpl_init(struct tpl *t, struct pt_error *err)
{
    memset(t, 0, sizeof(*t));
    pt_buf_init(&t->text, PT_TEMPLATE_MAX_BYTES);
    t->err = err;
}

static void tpl_free(struct tpl *t)
{
    if (t->loaded)
        yaml_document_delete(&t->doc);
    t->loaded = false;
    pt_buf_free(&t->text);
}

/* Every node once (aliases expanded): the depth and size bounds, before anything is read. */
static int tpl_check(struct tpl *t, yaml_node_t *n, int depth)
{
    int rc = tpl_step(t, n, "YAML", depth);
    if (rc)
        return rc;
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *i = n->data.sequence.items.start;
             !rc && i < n->data.sequence.items.top; i++)
            rc = tpl_check(t, tpl_node(t, *i), depth + 1);
    } else if (n->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             !rc && p < n->data.mapping.pairs.top; p++) {
            rc = tpl_check(t, tpl_node(t, p->key), depth + 1);
            if (!rc)
                rc = tpl_check(t, tpl_node(t, p->value), depth + 1);
        }
    }
    return rc;
}

static int tpl_syntax_error(struct tpl *t, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return tpl_nomem(t);
    if (p->error == YAML_READER_ERROR)
        return pt_error_set(t->err, PT_EUSAGE, "%s: YAML: %s (byte %zu)", t->file,
                            p->problem ? p->problem : "cannot read", p->problem_offset);
    if (p->context)
        return pt_error_set(t->err, PT_EUSAGE, "%s:%zu:%zu: YAML syntax error: %s %s (line %zu, "
                            "column %zu)",
                            t->file, p->problem_mark.line + 1, p->problem_mark.column + 1,
                            p->problem ? p->problem : "error", p->context,
                            p->context_mark.line + 1, p->context_mark.column + 1);
    return pt_error_set(t->err, PT_EUSAGE, "%s:%zu:%zu: YAML syntax error: %s", t->file,
                        p->problem_mark.line + 1, p->problem_mark.column + 1,
                        p->problem ? p->problem : "error");
}

/* Parses t->text into t->doc and finds the sections. */
static int tpl_parse(struct tpl *t)
{
    yaml_parser_t p;
    yaml_document_t extra;
    bool parser_ready = false;
    int rc = 0;

    if (t->text.len >= 2 && ((unsigned char)t->text.data[0] == 0xFE ||
                             (unsigned char)t->text.data[0] == 0xFF ||
                             t->text.data[0] == '\0' || t->text.data[1] == '\0')) {
        rc = pt_error_set(t->err, PT_EUSAGE, "%s: not UTF-8 (UTF-16/32 templates are not read)",
                          t->file);
        goto out;
    }
    if (!yaml_parser_initialize(&p)) {
        rc = tpl_nomem(t);
        goto out;
    }
    parser_ready = true;
    /* No forced encoding: libyaml then skips a UTF-8 BOM (UTF-16/32 were refused above). */
    yaml_parser_set_input_string(&p, (const unsigned char *)(t->text.data ? t->text.data : ""),
                                 t->text.len);
    if (!yaml_parser_load(&p, &t->doc)) {
        rc = tpl_syntax_error(t, &p);
        goto out;
    }
    t->loaded = true;
    t->root = yaml_document_get_root_node(&t->doc);
    if (!t->root) {
        rc = pt_error_set(t->err, PT_EUSAGE, "%s: the file is empty", t->file);
        goto out;
    }
    /* A second document would be ignored by us but refused by CloudFormation: refuse it. */
    if (!yaml_parser_load(&p, &extra)) {
        rc = tpl_syntax_error(t, &p);
        goto out;
    }
    bool more = yaml_document_get_root_node(&extra) != NULL;
    size_t more_line = more ? extra.start_mark.line + 1 : 0;
    yaml_document_delete(&extra);
    if (more) {
        rc = pt_error_set(t->err, PT_EUSAGE,
                          "%s:%zu:1: a second YAML document: a template is one document",
                          t->file, more_line);
        goto out;
    }
    rc = tpl_check(t, t->root, 0);
    if (rc)
        goto out;
    t->visits = 0; /* the resolver gets a budget of its own */
    if (t->root->type != YAML_MAPPING_NODE) {
        rc = tpl_fail(t, t->root, "template", "the template must be a mapping (Resources: ...)");
        goto out;
    }
    yaml_node_t *g = NULL;
    if ((rc = tpl_map_get(t, t->root, "template", "Parameters", &t->parameters, NULL)) ||
        (rc = tpl_map_get(t, t->root, "template", "Conditions", &t->conditions, NULL)) ||
        (rc = tpl_map_get(t, t->root, "template", "Mappings", &t->mappings, NULL)) ||
        (rc = tpl_map_get(t, t->root, "template", "Resources", &t->resources, NULL)) ||
        (rc = tpl_map_get(t, t->root, "template", "Globals", &g, NULL)))
        goto out;
    if (!t->resources || t->resources->type != YAML_MAPPING_NODE) {
        rc = tpl_fail(t, t->resources ? t->resources : t->root, "Resources",
                      t->resources ? "must be a mapping of resources"
                                   : "missing: a template needs a Resources section");
        goto out;
    }
    if (g && g->type == YAML_MAPPING_NODE) {
        yaml_node_t *gf = NULL;
        rc = tpl_map_get(t, g, "Globals", "Function", &gf, NULL);
        if (!rc)
            rc = tpl_mapping(t, gf, "Globals.Function", &t->globals);
    }
out:
    if (parser_ready)
        yaml_parser_delete(&p);
    return rc;
}

/*
 * template.json is SAM CLI's third name for a directory's template, but a function's code
 * directory may hold a data file so named: it is the template only when it is one (JSON whose
 * Resources hold a function).
 */
static bool tpl_json_is_template(const char *file)
{
    struct pt_buf b;
    pt_buf_init(&b, PT_TEMPLATE_MAX_BYTES);
    bool yes = false;
    if (pt_file_read(file, PT_TEMPLATE_MAX_BYTES, &b, NULL) == 0) {
        json_t *j = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
        const char *key;
        json_t *res;
        json_object_foreach(json_object_get(j, "Resources"), key, res) {
            const char *type = json_string_value(json_object_get(res, "Type"));
            if (type && (strcmp(type, "AWS::Serverless::Function") == 0 ||
                         strcmp(type, "AWS::Lambda::Function") == 0)) {
                yes = true;
                break;
            }
        }
        json_decref(j);
    }
    pt_buf_free(&b);
    return yes;
}

/* A directory's template where SAM CLI looks: template.yaml, template.yml, template.json. */
static bool tpl_dir_template(const char *dir, char *file, size_t fsize)
{
    static const char *const names[] = {"template.yaml", "template.yml", "template.json"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (pt_path_join(file, fsize, dir, names[i]) == 0 && pt_path_is_file(file) &&
            (i < 2 || tpl_json_is_template(file)))
            return true;
    return false;
}

/* Turns "dir", "file" or "path#Id" into the template file and the logical id. */
static int tpl_spec(const char *spec, const char *logical_id, char *file, size_t fsize,
                    char *id, size_t isize, struct pt_error *err)
{
    char path[PATH_MAX];
    struct stat st;
    id[0] = '\0';
    if (!spec || !*spec)
        return pt_error_set(err, PT_EUSAGE, "FUNCTION: no template given");
    if (pt_strlcpy(path, spec, sizeof(path)) >= sizeof(path))
        return pt_error_set(err, PT_EUSAGE, "FUNCTION: path too long");
    if (logical_id) {
        if (pt_strlcpy(id, logical_id, isize) >= isize)
            return pt_error_set(err, PT_EUSAGE, "logical id \"%.64s...\": at most %d characters",
                                logical_id, PT_TEMPLATE_LOGICAL_ID_MAX);
    } else if (stat(path, &st) != 0 && strrchr(path, '#')) {
        char *hash = strrchr(path, '#');
        *hash = '\0';
        if (pt_strlcpy(id, hash + 1, isize) >= isize)
            return pt_error_set(err, PT_EUSAGE, "FUNCTION %s: #LogicalId is longer than %d",
                                spec, PT_TEMPLATE_LOGICAL_ID_MAX);
        if (!id[0])
            return pt_error_set(err, PT_EUSAGE, "FUNCTION %s: empty #LogicalId", spec);
    }
    if (pt_path_is_dir(path)) {
        if (tpl_dir_template(path, file, fsize))
            return 0;
        return pt_error_set(err, PT_EUSAGE,
                            "FUNCTION %s: no template.yaml, template.yml or template.json (with "
                            "a function in Resources) in the directory",
                            path);
    }
    if (!pt_path_is_file(path))
        return pt_error_set(err, PT_EUSAGE, "FUNCTION %s: no such template file", path);
    pt_strlcpy(file, path, fsize);
    return 0;
}

/* Reads and parses the template named by spec; id gets the #LogicalId (or ""). */
static int tpl_open(struct tpl *t, const char *spec, const char *logical_id, char *id,
                    size_t isize)
{
    char abs[PATH_MAX];
    int rc = tpl_spec(spec, logical_id, t->file, sizeof(t->file), id, isize, t->err);
    if (rc)
        return rc;
    if (!realpath(t->file, abs))
        return pt_error_errno(t->err, PT_EUSAGE, errno, "%s: cannot resolve the path", t->file);
    char *slash = strrchr(abs, '/');
    if (slash == abs)
        slash[1] = '\0';
    else
        *slash = '\0';
    pt_strlcpy(t->dir, abs, sizeof(t->dir));
    rc = pt_file_read(t->file, PT_TEMPLATE_MAX_BYTES, &t->text, t->err);
    if (rc == PT_ELIMIT)
        return pt_error_set(t->err, PT_EUSAGE, "%s: larger than the %d bytes a template may have",
                            t->file, PT_TEMPLATE_MAX_BYTES);
    if (rc)
        return pt_error_wrap(t->err, "template %s", t->file);
    return tpl_parse(t);
}

static bool tpl_is_function_type(const char *type)
{
    return strcmp(type, "AWS::Serverless::Function") == 0 ||
           strcmp(type, "AWS::Lambda::Function") == 0;
}

/* A resource's Type (NULL if it has none we can read). */
static int tpl_type(struct tpl *t, yaml_node_t *res, const char *path, const char **type)
{
    yaml_node_t *ty = NULL;
    *type = NULL;
    int rc = tpl_map_get(t, res, path, "Type", &ty, NULL);
    if (!rc && ty && ty->type == YAML_SCALAR_NODE && tpl_std_tag(ty))
        *type = tpl_text(ty);
    return rc;
}

/* The function resource: the one named, or the only one. */
static int tpl_pick(struct tpl *t, const char *id, const char **out_id, yaml_node_t **out)
{
    char list[512];
    size_t len = 0, count = 0;
    const char *first = NULL, *type = NULL;
    yaml_node_t *only = NULL;
    list[0] = '\0';
    for (yaml_node_pair_t *p = t->resources->data.mapping.pairs.start;
         p < t->resources->data.mapping.pairs.top; p++) {
        yaml_node_t *k = tpl_node(t, p->key), *v = tpl_node(t, p->value);
        if (!k || k->type != YAML_SCALAR_NODE || !v || v->type != YAML_MAPPING_NODE)
            continue;
        int rc = tpl_type(t, v, "Resources", &type);
        if (rc)
            return rc;
        if (!type || !tpl_is_function_type(type))
            continue;
        if (id[0] && strcmp(tpl_text(k), id) == 0)
            break;
        if (!count++) {
            first = tpl_text(k);
            only = v;
        }
        if (len < sizeof(list))
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "",
                                    tpl_text(k));
    }
    if (id[0]) {
        yaml_node_t *res = NULL;
        int rc = tpl_map_get(t, t->resources, "Resources", id, &res, NULL);
        if (rc)
            return rc;
        if (!res)
            return pt_error_set(t->err, PT_EUSAGE, "%s: no resource %s%s%s", t->file, id,
                                count ? "; its functions are: " : " (and no function at all)",
                                list);
        if (res->type == YAML_MAPPING_NODE && (rc = tpl_type(t, res, "Resources", &type)))
            return rc;
        if (res->type != YAML_MAPPING_NODE || !type || !tpl_is_function_type(type))
            return tpl_fail(t, res, id,
                            "resource %s is %s%s, not an AWS::Serverless::Function or "
                            "AWS::Lambda::Function",
                            id, type ? "a " : "without a Type", type ? type : "");
        *out_id = id;
        *out = res;
        return 0;
    }
    if (count == 0)
        return pt_error_set(t->err, PT_EUSAGE,
                            "%s: no function in Resources (AWS::Serverless::Function or "
                            "AWS::Lambda::Function)",
                            t->file);
    if (count > 1)
        return pt_error_set(t->err, PT_EUSAGE,
                            "%s defines %zu functions (%s): choose one with %s#LogicalId, e.g. "
                            "%s#%s",
                            t->file, count, list, t->file, t->file, first);
    /* Its logical id given twice (the other one not a function) is refused as when it is
     * named: a rewrite names it, and must find the template as the load did. */
    yaml_node_t *res = NULL;
    int rc = tpl_map_get(t, t->resources, "Resources", first, &res, NULL);
    if (rc)
        return rc;
    *out_id = first;
    *out = only;
    return 0;
}

/*
 * An intrinsic written as a key among properties: Fn::Transform (a macro, AWS::Include) adds
 * properties that exist only once CloudFormation has run it; we would read the rest without
 * them (a MemorySize or Runtime from the include, lost without a word).
 */
static int tpl_no_key_call(struct tpl *t, yaml_node_t *m, const char *path)
{
    if (!m || m->type != YAML_MAPPING_NODE)
        return 0;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = tpl_node(t, p->key);
        if (!k || k->type != YAML_SCALAR_NODE || !pt_str_starts_with(tpl_text(k), "Fn::"))
            continue;
        struct tpl_call call = {.arg = tpl_node(t, p->value), .at = k};
        char d[256];
        snprintf(call.name, sizeof(call.name), "%.63s", tpl_text(k));
        tpl_describe(t, &call, d, sizeof(d));
        return tpl_fail(t, k, path,
                        "%s cannot be resolved locally: what it adds to these properties exists "
                        "only once CloudFormation has run it",
                        d);
    }
    return 0;
}

static int tpl_func_init(struct tpl *t, const char *id, yaml_node_t *res, struct tpl_func *f)
{
    const char *type = NULL;
    yaml_node_t *props = NULL;
    char path[TPL_PATH_MAX];
    memset(f, 0, sizeof(*f));
    f->id = id;
    f->resource = res;
    int rc = tpl_type(t, res, id, &type);
    if (rc)
        return rc;
    f->serverless = type && strcmp(type, "AWS::Serverless::Function") == 0;
    /* SAM's Globals apply to SAM resources only, as in SAM. */
    f->globals = f->serverless ? t->globals : NULL;
    snprintf(path, sizeof(path), "Resources.%.200s.Properties", id);
    rc = tpl_map_get(t, res, path, "Properties", &props, NULL);
    if (!rc)
        rc = tpl_mapping(t, props, path, &f->props);
    if (!rc)
        rc = tpl_no_key_call(t, f->props, path);
    if (!rc)
        rc = tpl_no_key_call(t, f->globals, "Globals.Function");
    return rc;
}

/* A property: the function's own, else the global one. path gets where it came from. */
static int tpl_prop(struct tpl *t, const struct tpl_func *f, const char *key, yaml_node_t **node,
                    char *path, size_t size)
{
    char base[TPL_PATH_MAX];
    snprintf(base, sizeof(base), "Resources.%.200s.Properties", f->id);
    int rc = tpl_map_get(t, f->props, base, key, node, NULL);
    if (rc)
        return rc;
    if (*node) {
        tpl_path(path, size, base, key);
        return 0;
    }
    tpl_path(path, size, "Globals.Function", key);
    return tpl_map_get(t, f->globals, "Globals.Function", key, node, NULL);
}

/* A string property into out (out->len == 0 and *set false when absent or AWS::NoValue). */
static int tpl_prop_str(struct tpl *t, const struct tpl_func *f, const char *key,
                        struct pt_buf *out, bool *set, char *path, size_t size,
                        yaml_node_t **node)
{
    bool novalue = false;
    *set = false;
    int rc = tpl_prop(t, f, key, node, path, size);
    if (rc || !*node)
        return rc;
    rc = tpl_str(t, *node, path, 0, false, out, &novalue);
    *set = !rc && !novalue;
    return rc;
}

/* Lambda's range of a number property; max TPL_NO_MAX: no upper bound. */
struct tpl_range {
    long min, max;
    const char *unit;
};

#define TPL_NO_MAX 1000000000L

/*
 * text (the value of node, at path) as a whole number within r (NULL: as written), refused
 * where it is written: the same refusal from pt_function_validate could not say whether the
 * value came from Globals or from which function.
 */
static int tpl_number(struct tpl *t, const yaml_node_t *node, const char *path,
                      const char *label, const char *text, const struct tpl_range *r, int *out)
{
    long v = 0;
    if (pt_parse_long(text, -TPL_NO_MAX, TPL_NO_MAX, &v) != 0)
        return tpl_fail(t, node, path, "%s \"%s\" is not a whole number", label, text);
    if (r && r->max == TPL_NO_MAX && v < r->min)
        return tpl_fail(t, node, path, "%s %ld is out of range: allowed %ld and more", label, v,
                        r->min);
    if (r && (v < r->min || v > r->max))
        return tpl_fail(t, node, path, "%s %ld is out of range: allowed %ld to %ld%s", label, v,
                        r->min, r->max, r->unit);
    *out = (int)v;
    return 0;
}

/* A whole number property, within r unless r is NULL (a value about to be rewritten). */
static int tpl_prop_int(struct tpl *t, const struct tpl_func *f, const char *key,
                        const struct tpl_range *r, int *out)
{
    struct pt_buf b;
    char path[TPL_PATH_MAX];
    yaml_node_t *node = NULL;
    bool set = false;
    pt_buf_init(&b, TPL_VALUE_MAX);
    int rc = tpl_prop_str(t, f, key, &b, &set, path, sizeof(path), &node);
    if (!rc && set)
        rc = tpl_number(t, node, path, key, tpl_bstr(&b), r, out);
    pt_buf_free(&b);
    return rc;
}

/*
 * Whether the function's own value of key in m (a mapping or NULL) is an intrinsic (Fn::If,
 * AWS::NoValue, ...). SAM merges a function's mappings with Globals' key by key, but takes an
 * intrinsic as a plain value: the global value it stands in place of is then not merged in.
 */
static int tpl_is_call_at(struct tpl *t, yaml_node_t *m, const char *path, const char *key,
                          bool *is_call)
{
    yaml_node_t *v = NULL;
    struct tpl_call call;
    *is_call = false;
    int rc = tpl_map_get(t, m, path, key, &v, NULL);
    if (rc || !v)
        return rc;
    rc = tpl_call_of(t, v, path, false, false, &call);
    if (rc < 0)
        return rc;
    *is_call = rc == 1;
    return 0;
}

/* A nested property (EphemeralStorage.Size): the function's mapping first, then the global one. */
static int tpl_nested(struct tpl *t, const struct tpl_func *f, const char *outer,
                      const char *inner, yaml_node_t **node, char *path, size_t size)
{
    yaml_node_t *srcs[2] = {f->props, f->globals};
    char base[TPL_PATH_MAX], opath[TPL_PATH_MAX];
    *node = NULL;
    for (int i = 0; i < 2; i++) {
        yaml_node_t *o = NULL, *m = NULL;
        if (!srcs[i])
            continue;
        if (i == 0)
            snprintf(base, sizeof(base), "Resources.%.200s.Properties", f->id);
        else
            snprintf(base, sizeof(base), "Globals.Function");
        tpl_path(opath, sizeof(opath), base, outer);
        bool replaces = false;
        int rc = tpl_map_get(t, srcs[i], base, outer, &o, NULL);
        if (!rc)
            rc = tpl_mapping(t, o, opath, &m);
        if (!rc)
            rc = tpl_map_get(t, m, opath, inner, node, NULL);
        if (!rc && i == 0)
            rc = tpl_is_call_at(t, srcs[i], base, outer, &replaces);
        if (rc)
            return rc;
        if (*node) {
            tpl_path(path, size, opath, inner);
            return 0;
        }
        if (replaces) /* the function's intrinsic stands for the whole global mapping */
            return 0;
    }
    return 0;
}

/* An intrinsic as the function's Environment, or as its Variables, replaces the global ones. */
static int tpl_env_replaces_globals(struct tpl *t, const struct tpl_func *f, bool *replaces)
{
    char base[TPL_PATH_MAX], epath[TPL_PATH_MAX];
    yaml_node_t *own = NULL;
    snprintf(base, sizeof(base), "Resources.%.200s.Properties", f->id);
    tpl_path(epath, sizeof(epath), base, "Environment");
    int rc = tpl_is_call_at(t, f->props, base, "Environment", replaces);
    if (!rc && !*replaces)
        rc = tpl_map_get(t, f->props, base, "Environment", &own, NULL);
    if (!rc && own && own->type == YAML_MAPPING_NODE)
        rc = tpl_is_call_at(t, own, epath, "Variables", replaces);
    return rc;
}

/* Environment.Variables: Globals' first, then the function's (which win), as SAM merges. */
static int tpl_env(struct tpl *t, const struct tpl_func *f, struct pt_function_config *c)
{
    yaml_node_t *srcs[2] = {f->globals, f->props};
    struct pt_buf v;
    bool replaces = false;
    pt_buf_init(&v, TPL_VALUE_MAX);
    int rc = tpl_env_replaces_globals(t, f, &replaces);
    if (replaces)
        srcs[0] = NULL;
    for (int i = 0; !rc && i < 2; i++) {
        yaml_node_t *e = NULL, *env = NULL, *vars = NULL, *varsm = NULL;
        char base[TPL_PATH_MAX], epath[TPL_PATH_MAX], vpath[TPL_PATH_MAX];
        if (!srcs[i])
            continue;
        if (i == 1)
            snprintf(base, sizeof(base), "Resources.%.200s.Properties", f->id);
        else
            snprintf(base, sizeof(base), "Globals.Function");
        tpl_path(epath, sizeof(epath), base, "Environment");
        tpl_path(vpath, sizeof(vpath), epath, "Variables");
        rc = tpl_map_get(t, srcs[i], base, "Environment", &e, NULL);
        if (!rc)
            rc = tpl_mapping(t, e, epath, &env);
        if (!rc)
            rc = tpl_map_get(t, env, epath, "Variables", &vars, NULL);
        if (!rc)
            rc = tpl_mapping(t, vars, vpath, &varsm);
        if (rc || !varsm)
            continue;
        size_t npairs = (size_t)(varsm->data.mapping.pairs.top - varsm->data.mapping.pairs.start);
        if (npairs > TPL_VARIABLES_MAX) {
            rc = tpl_fail(t, varsm, vpath, "more than %d variables", TPL_VARIABLES_MAX);
            break;
        }
        for (size_t j = 0; !rc && j < npairs; j++) {
            yaml_node_pair_t *p = &varsm->data.mapping.pairs.start[j];
            yaml_node_t *k = tpl_node(t, p->key), *val = tpl_node(t, p->value);
            const char *key = NULL;
            char kpath[TPL_PATH_MAX];
            bool novalue = false;
            rc = tpl_scalar(t, k, vpath, "a variable's name", &key);
            if (rc)
                break;
            tpl_path(kpath, sizeof(kpath), vpath, key);
            for (size_t m = 0; m < j; m++) {
                yaml_node_t *k2 = tpl_node(t, varsm->data.mapping.pairs.start[m].key);
                if (k2 && k2->type == YAML_SCALAR_NODE && strcmp(tpl_text(k2), key) == 0) {
                    rc = tpl_fail(t, k, vpath, "duplicate key %s (first at line %zu)", key,
                                  tpl_line(k2));
                    break;
                }
            }
            pt_buf_reset(&v);
            if (!rc)
                rc = tpl_str(t, val, kpath, 0, false, &v, &novalue);
            if (!rc && !novalue && (rc = pt_function_set_env(c, key, tpl_bstr(&v),
                                                             t->err)))
                pt_error_wrap(t->err, "%s:%zu:%zu: %s", t->file, tpl_line(k), tpl_col(k), kpath);
        }
    }
    pt_buf_free(&v);
    return rc;
}

/*
 * Code written in the template (SAM's InlineCode, CloudFormation's Code.ZipFile), resolved
 * (Fn::Sub and the rest apply) into t->inl: CloudFormation saves it as index.py, or index.js
 * for Node.js (a CommonJS module, ES modules are not supported inline), for the caller to write.
 */
static int tpl_inline_code(struct tpl *t, yaml_node_t *node, const char *path, const char *key,
                           const struct pt_function_config *c)
{
    if (!t->inl)
        return tpl_fail(t, node, path, "inline code is not run here: put the code in a "
                        "directory and point %s at it", key);
    const char *file = c->family == PT_RUNTIME_PYTHON ? "index.py"
                       : c->family == PT_RUNTIME_NODE ? "index.js"
                                                      : NULL;
    if (!file)
        return tpl_fail(t, node, path, "inline code needs a Python or Node.js Runtime "
                        "(CloudFormation saves it as index.py or index.js)%s",
                        c->family == PT_RUNTIME_UNSET ? "; Runtime is not set" : "");
    struct pt_buf b;
    bool novalue = false;
    pt_buf_init(&b, TPL_VALUE_MAX);
    int rc = tpl_str(t, node, path, 0, false, &b, &novalue);
    if (!rc && (novalue || !b.len))
        rc = tpl_fail(t, node, path, "the inline code is empty");
    if (!rc) {
        pt_template_code_free(t->inl);
        pt_strlcpy(t->inl->file, file, sizeof(t->inl->file));
        t->inl->source = pt_buf_steal(&b, &t->inl->len);
        if (!t->inl->source)
            rc = pt_error_set(t->err, PT_ENOMEM, "out of memory");
    }
    pt_buf_free(&b);
    return rc;
}

/*
 * CodeUri (SAM) or Code (CloudFormation): a local directory, relative to the template; or code
 * written inline (InlineCode, Code.ZipFile), c->code_dir then left empty for the caller.
 */
static int tpl_code(struct tpl *t, const struct tpl_func *f, struct pt_function_config *c)
{
    char path[TPL_PATH_MAX], dir[PATH_MAX], abs[PATH_MAX];
    const char *key = f->serverless ? "CodeUri" : "Code";
    yaml_node_t *node = NULL, *val = NULL, *sub = NULL;
    struct pt_buf b;
    bool novalue = false;
    pt_buf_init(&b, TPL_VALUE_MAX);
    int rc = 0;

    if (f->serverless) {
        if ((rc = tpl_prop(t, f, "ImageUri", &node, path, sizeof(path))))
            goto out;
        if (node) {
            rc = tpl_fail(t, node, path, "container images are not run: point CodeUri at the "
                          "code directory");
            goto out;
        }
        if ((rc = tpl_prop(t, f, "InlineCode", &node, path, sizeof(path))))
            goto out;
        if (node) {
            yaml_node_t *uri = NULL;
            char uri_path[TPL_PATH_MAX];
            if ((rc = tpl_prop(t, f, "CodeUri", &uri, uri_path, sizeof(uri_path))))
                goto out;
            rc = uri ? tpl_fail(t, uri, uri_path, "CodeUri and InlineCode: give one, as SAM "
                                "requires")
                     : tpl_inline_code(t, node, path, "CodeUri", c);
            goto out;
        }
    }
    rc = tpl_prop(t, f, key, &node, path, sizeof(path));
    if (!rc)
        rc = tpl_unwrap(t, node, path, 0, &val);
    if (rc)
        goto out;
    if (!val) {
        if (!f->serverless) {
            rc = tpl_fail(t, f->resource, f->id,
                          "Code is missing: point it at the code directory (Code: ./src)");
            goto out;
        }
        pt_strlcpy(dir, t->dir, sizeof(dir)); /* SAM CLI's default: the template's directory */
    } else if (val->type == YAML_MAPPING_NODE && tpl_std_tag(val)) {
        struct tpl_call call;
        int is_call = tpl_call_of(t, val, path, false, false, &call);
        if (is_call < 0) {
            rc = is_call;
            goto out;
        }
        if (is_call == 0) {
            if ((rc = tpl_map_get(t, val, path, "ZipFile", &sub, NULL)))
                goto out;
            if (sub && !f->serverless) {
                char zpath[TPL_PATH_MAX];
                tpl_path(zpath, sizeof(zpath), path, "ZipFile");
                rc = tpl_inline_code(t, sub, zpath, "Code", c);
                goto out;
            }
            rc = tpl_fail(t, val, path,
                          f->serverless
                              ? "an S3 location (Bucket/Key) is not run: point CodeUri at the "
                                "local code directory"
                              : "an S3 location or image is not run: point Code at the local "
                                "code directory (Code: ./src)");
            goto out;
        }
    }
    if (val) {
        rc = tpl_str(t, val, path, 0, false, &b, &novalue);
        if (rc)
            goto out;
        const char *s = tpl_bstr(&b);
        if (novalue || !*s) {
            rc = tpl_fail(t, val, path, "%s is empty", key);
            goto out;
        }
        if (pt_str_starts_with(s, "s3://") || pt_str_starts_with(s, "https://")) {
            rc = tpl_fail(t, val, path,
                          "%s \"%s\" is an S3 location: only a local directory is run", key, s);
            goto out;
        }
        if ((s[0] == '/' ? pt_strlcpy(dir, s, sizeof(dir)) >= sizeof(dir)
                         : pt_path_join(dir, sizeof(dir), t->dir, s) != 0)) {
            rc = tpl_fail(t, val, path, "%s \"%s\": path too long", key, s);
            goto out;
        }
    }
    if (!realpath(dir, abs)) {
        rc = val ? tpl_fail(t, val, path, "%s: no such directory: %s", key, dir)
                 : tpl_fail(t, f->resource, f->id, "no such directory: %s", dir);
        goto out;
    }
    if (!pt_path_is_dir(abs)) {
        bool zip = pt_package_is_zip(abs);
        if (zip && t->inl) {
            pt_strlcpy(t->inl->package, abs, sizeof(t->inl->package));
            goto out;
        }
        rc = tpl_fail(t, val, path,
                      zip ? "%s %s: a .zip package is not unpacked here: point it at the code "
                            "directory"
                          : "%s %s is neither a directory nor a .zip deployment package",
                      key, abs);
        goto out;
    }
    pt_strlcpy(c->code_dir, abs, sizeof(c->code_dir));
out:
    pt_buf_free(&b);
    return rc;
}

/* Handler, Runtime, FunctionName, Description: strings with a size limit. */
static int tpl_strings(struct tpl *t, const struct tpl_func *f, struct pt_function_config *c)
{
    static const struct {
        const char *key;
        size_t offset, size;
        bool globals;
    } fields[] = {
        {"Runtime", offsetof(struct pt_function_config, runtime), PT_RUNTIME_NAME_MAX + 1, true},
        {"Handler", offsetof(struct pt_function_config, handler), PT_HANDLER_MAX + 1, true},
        {"FunctionName", offsetof(struct pt_function_config, name), PT_FUNCTION_NAME_MAX + 1,
         false},
        {"Description", offsetof(struct pt_function_config, description), PT_DESCRIPTION_MAX + 1,
         true},
    };
    struct pt_buf b;
    int rc = 0;
    pt_buf_init(&b, TPL_VALUE_MAX);
    for (size_t i = 0; !rc && i < sizeof(fields) / sizeof(fields[0]); i++) {
        char path[TPL_PATH_MAX];
        yaml_node_t *node = NULL;
        bool set = false;
        struct tpl_func own = *f;
        if (!fields[i].globals)
            own.globals = NULL; /* FunctionName is one function's, never a global */
        pt_buf_reset(&b);
        rc = tpl_prop_str(t, &own, fields[i].key, &b, &set, path, sizeof(path), &node);
        if (rc || !set)
            continue;
        char *dst = (char *)c + fields[i].offset;
        if (b.len >= fields[i].size) {
            rc = tpl_fail(t, node, path, "%s is %zu characters long: allowed at most %zu",
                          fields[i].key, b.len, fields[i].size - 1);
            break;
        }
        memcpy(dst, b.data, b.len + 1);
        if (strcmp(fields[i].key, "Runtime") == 0)
            rc = pt_runtime_parse(c->runtime, &c->family, t->err);
        else if (strcmp(fields[i].key, "FunctionName") == 0)
            rc = pt_function_check_name(c->name, t->err);
        else if (strcmp(fields[i].key, "Handler") == 0 && c->family != PT_RUNTIME_UNSET)
            rc = pt_function_check_handler(c->runtime, c->family, c->handler, t->err);
        if (rc)
            pt_error_wrap(t->err, "%s:%zu:%zu: %s", t->file, tpl_line(node), tpl_col(node), path);
    }
    pt_buf_free(&b);
    return rc;
}

/* Architectures: a list of one, x86_64 or arm64 (the function's list replaces the global one). */
static int tpl_arch(struct tpl *t, const struct tpl_func *f, struct pt_function_config *c)
{
    char path[TPL_PATH_MAX];
    yaml_node_t *node = NULL;
    struct tpl_list l = {NULL, 0};
    bool novalue = false;
    int rc = tpl_prop(t, f, "Architectures", &node, path, sizeof(path));
    if (rc || !node)
        return rc;
    rc = tpl_list(t, node, path, 0, false, &l, &novalue);
    if (!rc && !novalue) {
        if (l.n != 1)
            rc = tpl_fail(t, node, path, "Architectures must list exactly one (x86_64 or arm64), "
                          "not %zu",
                          l.n);
        else if ((rc = pt_function_check_architecture(l.items[0], t->err)))
            pt_error_wrap(t->err, "%s:%zu:%zu: %s", t->file, tpl_line(node), tpl_col(node), path);
        else
            pt_strlcpy(c->architecture, l.items[0], sizeof(c->architecture));
    }
    tpl_list_free(&l);
    return rc;
}

/*
 * LoggingConfig's LogFormat, ApplicationLogLevel, SystemLogLevel, each from
 * the function's mapping, else from Globals'; LogGroup is a label only (our
 * streams are files). The Text-with-a-level refusal is pt_function_validate's.
 */
static int tpl_logging(struct tpl *t, const struct tpl_func *f, struct pt_function_config *c)
{
    static const char *const keys[] = {"LogFormat", "ApplicationLogLevel", "SystemLogLevel"};
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof(keys) / sizeof(keys[0]); i++) {
        char path[TPL_PATH_MAX];
        yaml_node_t *node = NULL;
        bool novalue = false;
        struct pt_buf b;
        pt_buf_init(&b, TPL_VALUE_MAX);
        rc = tpl_nested(t, f, "LoggingConfig", keys[i], &node, path, sizeof(path));
        if (!rc && node)
            rc = tpl_str(t, node, path, 0, false, &b, &novalue);
        if (!rc && node && !novalue) {
            const char *v = tpl_bstr(&b);
            rc = i == 0   ? pt_log_format_parse(v, &c->log_format, t->err)
                 : i == 1 ? pt_app_log_level_parse(v, &c->app_log_level, t->err)
                          : pt_system_log_level_parse(v, &c->system_log_level, t->err);
            if (rc)
                pt_error_wrap(t->err, "%s:%zu:%zu: %s", t->file, tpl_line(node), tpl_col(node),
                              path);
        }
        pt_buf_free(&b);
    }
    return rc;
}

/* PackageType, resolved like any property: Zip (or absent) runs, Image is refused. */
static int tpl_package_type(struct tpl *t, const struct tpl_func *f)
{
    char path[TPL_PATH_MAX];
    yaml_node_t *node = NULL;
    bool set = false;
    struct pt_buf b;
    pt_buf_init(&b, TPL_VALUE_MAX);
    int rc = tpl_prop_str(t, f, "PackageType", &b, &set, path, sizeof(path), &node);
    if (!rc && set && strcmp(tpl_bstr(&b), "Image") == 0)
        rc = tpl_fail(t, node, path, "container images are not run: PackageType must be Zip");
    else if (!rc && set && strcmp(tpl_bstr(&b), "Zip") != 0)
        rc = tpl_fail(t, node, path, "PackageType \"%.64s\" is not valid: allowed Zip, Image",
                      tpl_bstr(&b));
    pt_buf_free(&b);
    return rc;
}

static int tpl_fill(struct tpl *t, const char *id, yaml_node_t *res, struct pt_function_config *c)
{
    static const struct tpl_range memory = {PT_MEMORY_MIN_MB, PT_MEMORY_MAX_MB,
                                            " (MB, 1 MB steps)"};
    static const struct tpl_range timeout = {PT_TIMEOUT_MIN_S, PT_TIMEOUT_MAX_S, " (seconds)"};
    static const struct tpl_range ephemeral = {PT_EPHEMERAL_MIN_MB, PT_EPHEMERAL_MAX_MB,
                                               " (MB, 1 MB steps)"};
    static const struct tpl_range reserved = {0, TPL_NO_MAX, ""};
    struct tpl_func f;
    char path[TPL_PATH_MAX];
    yaml_node_t *node = NULL;
    int rc = tpl_func_init(t, id, res, &f);
    if (rc)
        return rc;
    if (strlen(id) > PT_FUNCTION_NAME_MAX)
        return tpl_fail(t, res, id, "the logical id is longer than %d characters (set FunctionName)",
                        PT_FUNCTION_NAME_MAX);
    pt_strlcpy(c->name, id, sizeof(c->name));
    rc = tpl_package_type(t, &f);
    if (!rc)
        rc = tpl_strings(t, &f, c);
    if (!rc)
        rc = tpl_code(t, &f, c);
    if (!rc)
        rc = tpl_prop_int(t, &f, "MemorySize", &memory, &c->memory_mb);
    if (!rc)
        rc = tpl_prop_int(t, &f, "Timeout", &timeout, &c->timeout_s);
    if (!rc)
        rc = tpl_prop_int(t, &f, "ReservedConcurrentExecutions", &reserved,
                          &c->reserved_concurrency);
    if (!rc)
        rc = tpl_arch(t, &f, c);
    if (!rc)
        rc = tpl_nested(t, &f, "EphemeralStorage", "Size", &node, path, sizeof(path));
    if (!rc && node) {
        struct pt_buf b;
        bool novalue = false;
        pt_buf_init(&b, TPL_VALUE_MAX);
        rc = tpl_str(t, node, path, 0, false, &b, &novalue);
        if (!rc && !novalue)
            rc = tpl_number(t, node, path, "EphemeralStorage.Size", tpl_bstr(&b), &ephemeral,
                            &c->ephemeral_mb);
        pt_buf_free(&b);
    }
    if (!rc)
        rc = tpl_env(t, &f, c);
    if (!rc)
        rc = tpl_logging(t, &f, c);
    return rc;
}

/* ------------------------------------------------------------------ public */

/* Template files by their extension (JSON templates are YAML too). */
static bool tpl_is_template_name(const char *path)
{
    return pt_str_ends_with(path, ".yaml") || pt_str_ends_with(path, ".yml") ||
           pt_str_ends_with(path, ".json") || pt_str_ends_with(path, ".template");
}

bool pt_template_is_template(const char *spec)
{
    char path[PATH_MAX], file[PATH_MAX];
    struct stat st;
    if (!spec || !*spec || pt_strlcpy(path, spec, sizeof(path)) >= sizeof(path))
        return false;
    if (stat(path, &st) != 0) {
        char *hash = strrchr(path, '#');
        if (hash) /* "x#Id" is only ever a template spec */
            return true;
        return tpl_is_template_name(path);
    }
    if (S_ISREG(st.st_mode))
        return tpl_is_template_name(path);
    if (!S_ISDIR(st.st_mode))
        return false;
    return tpl_dir_template(path, file, sizeof(file));
}

int pt_template_load(const char *spec, struct pt_function_config *c, struct pt_error *err)
{
    return pt_template_load_code(spec, c, NULL, err);
}

void pt_template_code_free(struct pt_template_code *inl)
{
    if (!inl)
        return;
    free(inl->source);
    memset(inl, 0, sizeof(*inl));
}

int pt_template_inline_write(const struct pt_template_code *inl, const char *root,
                             char *code_dir, size_t size, struct pt_error *err)
{
    /* Named by a hash of what it holds: the same code is written once, and a template edited
     * meanwhile never changes the code of a function that is running. */
    char file[PATH_MAX];
    int rc = pt_package_content_dir(root, "inline-code", inl->file, strlen(inl->file) + 1,
                                    inl->source, inl->len, code_dir, size, err);
    if (rc)
        return rc;
    if (pt_path_join(file, sizeof(file), code_dir, inl->file) != 0)
        return pt_error_set(err, PT_EUSAGE, "state directory path is too long for inline code");
    struct pt_buf old;
    pt_buf_init(&old, inl->len + 1);
    bool same = pt_file_read(file, inl->len + 1, &old, NULL) == 0 && old.len == inl->len &&
                memcmp(old.data, inl->source, inl->len) == 0;
    pt_buf_free(&old);
    if (same)
        return 0;
    /* Readable by the sandbox's unprivileged user, as a deployment package is. */
    rc = pt_mkdir_p(code_dir, 0755, err);
    if (!rc && chmod(code_dir, 0755) != 0) /* whatever the umask */
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot make %s readable", code_dir);
    if (!rc)
        rc = pt_file_write_atomic(file, inl->source, inl->len, err);
    if (!rc && chmod(file, 0644) != 0)
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot make %s readable", file);
    return rc;
}

int pt_template_load_code(const char *spec, struct pt_function_config *c,
                            struct pt_template_code *inl, struct pt_error *err)
{
    struct tpl t;
    char id[PT_TEMPLATE_LOGICAL_ID_MAX + 1];
    const char *fid = NULL;
    yaml_node_t *res = NULL;
    tpl_init(&t, err);
    if (inl)
        memset(inl, 0, sizeof(*inl));
    t.inl = inl;
    int rc = tpl_open(&t, spec, NULL, id, sizeof(id));
    if (!rc)
        rc = tpl_pick(&t, id, &fid, &res);
    if (!rc)
        rc = tpl_fill(&t, fid, res, c);
    tpl_free(&t);
    if (rc)
        pt_template_code_free(inl);
    return rc;
}

/* ----------------------------------------------------------- MemorySize */

/* libyaml marks count characters (a CRLF is two); the file is UTF-8, maybe with a BOM. */
static size_t tpl_byte_offset(const struct tpl *t, size_t char_index)
{
    const unsigned char *p = (const unsigned char *)t->text.data;
    size_t len = t->text.len, i = 0;
    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        i = 3;
    for (size_t n = 0; n < char_index && i < len; n++) {
        i++;
        while (i < len && (p[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

/* What set_memory needs beyond the public site. */
struct tpl_site {
    struct pt_template_memory_site pub;
    char quote;        /* the value's quote character, or 0 */
    bool flow;         /* insert into a { } mapping */
    bool empty;        /* ... which is empty */
    bool own_line;     /* ... on a line of its own, before its first key's */
    bool quote_keys;   /* its keys are "quoted" (a JSON template stays JSON) */
    size_t indent_at;  /* a line insertion: the next key's indentation, copied from the text */
    size_t indent_len;
    const char *eol;
    const char *refuse; /* why the value cannot be rewritten in place (NULL: it can) */
};

/*
 * Where the line holding byte at starts (a BOM skipped); true if only spaces (and tabs, where
 * allowed: between flow tokens they are blanks) come before at on that line.
 */
static bool tpl_line_start(const struct tpl *t, size_t at, bool tabs, size_t *start)
{
    const char *text = t->text.data;
    size_t i = at;
    while (i > 0 && text[i - 1] != '\n')
        i--;
    if (i == 0 && t->text.len >= 3 && (unsigned char)text[0] == 0xEF)
        i = 3;
    *start = i;
    for (; i < at; i++)
        if (text[i] != ' ' && !(tabs && text[i] == '\t'))
            return false;
    return true;
}

/* A new line before key k, indented as k's line, ended as k's line is. */
static void tpl_line_before(const struct tpl *t, const yaml_node_t *k, size_t start, size_t at,
                            struct tpl_site *s)
{
    s->pub.offset = start;
    s->pub.line = (int)tpl_line(k);
    s->pub.column = (int)tpl_col(k);
    s->indent_at = start;
    s->indent_len = at - start;
    const char *nl = memchr(t->text.data + at, '\n', t->text.len - at);
    s->eol = nl && nl > t->text.data && nl[-1] == '\r' ? "\r\n" : "\n";
}

/* The line of a block mapping's first key starts with spaces only: we can insert a line before it. */
static int tpl_block_insert_at(struct tpl *t, yaml_node_t *m, const char *path,
                               struct tpl_site *s)
{
    yaml_node_t *k = tpl_node(t, m->data.mapping.pairs.start->key);
    size_t at = tpl_byte_offset(t, k->start_mark.index), start = 0;
    if (!tpl_line_start(t, at, false, &start))
        return tpl_fail(t, k, path, "cannot insert MemorySize before this key: it does not "
                        "start its line");
    tpl_line_before(t, k, start, at, s);
    return 0;
}

static bool tpl_double_quoted(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE &&
           n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

/*
 * Past a node's properties (an anchor "&a", a tag "!!str"), where its start mark is, to its
 * content: each property ends at a blank and is followed by blanks, and, where lines allows,
 * line breaks and comments. Content never starts with '!' or '&' (they are indicators).
 */
static size_t tpl_skip_properties(const struct tpl *t, size_t at, bool lines)
{
    const char *text = t->text.data;
    size_t n = t->text.len;
    while (at < n && (text[at] == '!' || text[at] == '&')) {
        while (at < n && !strchr(" \t\r\n", text[at]))
            at++;
        while (at < n && (text[at] == ' ' || text[at] == '\t' ||
                          (lines && (text[at] == '\r' || text[at] == '\n' || text[at] == '#')))) {
            if (text[at] == '#')
                while (at < n && text[at] != '\n')
                    at++;
            else
                at++;
        }
    }
    return at;
}

/*
 * Just after the '{' of a flow mapping, or, when its first key starts a later line (JSON as
 * it is usually written), on a line of its own before that key. Keys are quoted when the
 * mapping's are (or, empty, when the key holding it is). The mapping's start mark is that of
 * its properties when it has some (an anchor "&p", a tag "!!map"): they are skipped with the
 * blanks after them (each ends at a blank, and they are ASCII, so columns count bytes here).
 */
static int tpl_flow_insert_at(struct tpl *t, yaml_node_t *m, const yaml_node_t *holder,
                              const char *path, struct tpl_site *s)
{
    const char *text = t->text.data;
    size_t start = tpl_byte_offset(t, m->start_mark.index), n = t->text.len;
    size_t at = tpl_skip_properties(t, start, false);
    if (at >= n || text[at] != '{')
        return tpl_fail(t, m, path, "cannot insert MemorySize: this mapping's '{' is not on the "
                        "line of its anchor or tag");
    s->flow = true;
    s->empty = m->data.mapping.pairs.top == m->data.mapping.pairs.start;
    yaml_node_t *first = s->empty ? NULL : tpl_node(t, m->data.mapping.pairs.start->key);
    s->quote_keys = first ? tpl_double_quoted(first) : tpl_double_quoted(holder);
    if (first && first->type == YAML_SCALAR_NODE) {
        size_t kat = tpl_byte_offset(t, first->start_mark.index), kstart = 0;
        if (tpl_line_start(t, kat, true, &kstart) && kstart > at) {
            s->own_line = true;
            tpl_line_before(t, first, kstart, kat, s);
            return 0;
        }
    }
    s->pub.offset = at + 1;
    s->pub.line = (int)tpl_line(m);
    s->pub.column = (int)(tpl_col(m) + (at - start)) + 1;
    return 0;
}

/* Nodes reached through a YAML alias are shared: writing them would change other places too. */
static int tpl_not_shared(struct tpl *t, yaml_node_t *n, const char *path)
{
    if (n && tpl_refcount(t, tpl_index_of(t, n)) > 1)
        return tpl_fail(t, n, path,
                        "shared through a YAML alias: MemorySize cannot be set for this function "
                        "alone");
    return 0;
}

static int tpl_site_find(struct tpl *t, const char *id, yaml_node_t *res, struct tpl_site *s)
{
    struct tpl_func f;
    yaml_node_t *props = NULL, *pkey = NULL, *mem = NULL;
    char rpath[TPL_PATH_MAX], ppath[TPL_PATH_MAX], mpath[TPL_PATH_MAX];
    snprintf(rpath, sizeof(rpath), "Resources.%.200s", id);
    tpl_path(ppath, sizeof(ppath), rpath, "Properties");
    tpl_path(mpath, sizeof(mpath), ppath, "MemorySize");
    s->pub.memory_mb = PT_MEMORY_DEFAULT_MB;
    s->eol = "\n";
    int rc = tpl_func_init(t, id, res, &f);
    if (!rc)
        rc = tpl_prop_int(t, &f, "MemorySize", NULL, &s->pub.memory_mb);
    if (!rc)
        rc = tpl_not_shared(t, res, rpath);
    if (!rc)
        rc = tpl_map_get(t, res, rpath, "Properties", &props, &pkey);
    if (rc)
        return rc;
    if (!props) {
        s->pub.kind = PT_TEMPLATE_MEMORY_INSERT_PROPERTIES;
        if (res->data.mapping.style == YAML_FLOW_MAPPING_STYLE)
            return tpl_flow_insert_at(t, res, NULL, rpath, s);
        return tpl_block_insert_at(t, res, rpath, s);
    }
    if (props->type != YAML_MAPPING_NODE || !tpl_std_tag(props) || props != f.props) {
        s->pub.kind = PT_TEMPLATE_MEMORY_INTRINSIC;
        s->pub.line = (int)tpl_line(props);
        s->pub.column = (int)tpl_col(props);
        s->pub.offset = tpl_byte_offset(t, props->start_mark.index);
        s->refuse = "Properties is not a plain mapping here";
        return 0;
    }
    rc = tpl_not_shared(t, props, ppath);
    if (!rc)
        rc = tpl_map_get(t, props, ppath, "MemorySize", &mem, NULL);
    if (rc)
        return rc;
    if (!mem) {
        s->pub.kind = PT_TEMPLATE_MEMORY_INSERT;
        if (props->data.mapping.style == YAML_FLOW_MAPPING_STYLE)
            return tpl_flow_insert_at(t, props, pkey, ppath, s);
        return tpl_block_insert_at(t, props, ppath, s);
    }
    s->pub.line = (int)tpl_line(mem);
    s->pub.column = (int)tpl_col(mem);
    s->pub.offset = tpl_byte_offset(t, mem->start_mark.index);
    s->pub.length = tpl_byte_offset(t, mem->end_mark.index) - s->pub.offset;
    struct tpl_call call;
    rc = tpl_call_of(t, mem, mpath, false, false, &call);
    if (rc < 0)
        return rc;
    if (rc == 1 || mem->type != YAML_SCALAR_NODE) {
        s->pub.kind = PT_TEMPLATE_MEMORY_INTRINSIC;
        s->refuse = "it is an intrinsic function, not a number";
        return 0;
    }
    /* A tag or anchor before the number is kept: only the number (and its quotes) is replaced. */
    size_t value_at = tpl_skip_properties(t, s->pub.offset, true);
    if (value_at < s->pub.offset + s->pub.length) {
        s->pub.length -= value_at - s->pub.offset;
        s->pub.offset = value_at;
    }
    s->pub.kind = PT_TEMPLATE_MEMORY_VALUE;
    switch (mem->data.scalar.style) {
    case YAML_SINGLE_QUOTED_SCALAR_STYLE: s->quote = '\''; break;
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE: s->quote = '"'; break;
    case YAML_PLAIN_SCALAR_STYLE: break;
    default: s->refuse = "it is a block scalar (| or >)"; break;
    }
    if (!s->refuse && tpl_refcount(t, tpl_index_of(t, mem)) > 1)
        s->refuse = "it is shared through a YAML alias";
    return 0;
}

/* Opens the template and finds the site; the chosen function's id goes to fid_out. */
static int tpl_site_open(struct tpl *t, const char *path, const char *logical_id,
                         struct tpl_site *s, char *fid_out, size_t fid_size)
{
    char id[PT_TEMPLATE_LOGICAL_ID_MAX + 1];
    const char *fid = NULL;
    yaml_node_t *res = NULL;
    memset(s, 0, sizeof(*s));
    int rc = tpl_open(t, path, logical_id, id, sizeof(id));
    if (!rc)
        rc = tpl_pick(t, id, &fid, &res);
    if (!rc)
        rc = tpl_site_find(t, fid, res, s);
    if (!rc) {
        pt_strlcpy(s->pub.file, t->file, sizeof(s->pub.file));
        pt_strlcpy(fid_out, fid, fid_size);
    }
    return rc;
}

int pt_template_memory_site(const char *path, const char *logical_id,
                            struct pt_template_memory_site *site, struct pt_error *err)
{
    struct tpl t;
    struct tpl_site s;
    char id[PT_TEMPLATE_LOGICAL_ID_MAX + 1];
    tpl_init(&t, err);
    int rc = tpl_site_open(&t, path, logical_id, &s, id, sizeof(id));
    if (!rc)
        *site = s.pub;
    tpl_free(&t);
    return rc;
}

/* The new bytes for the site: the number (quotes kept), or a MemorySize entry to insert. */
static int tpl_site_text(const struct tpl *t, const struct tpl_site *s, int mb, struct pt_buf *out)
{
    const char *q = s->quote_keys ? "\"" : "";
    int in = (int)s->indent_len;
    const char *indent = t->text.data + s->indent_at;
    switch (s->pub.kind) {
    case PT_TEMPLATE_MEMORY_VALUE:
        if (s->quote)
            return pt_buf_printf(out, NULL, "%c%d%c", s->quote, mb, s->quote);
        return pt_buf_printf(out, NULL, "%d", mb);
    case PT_TEMPLATE_MEMORY_INSERT:
        if (s->own_line)
            return pt_buf_printf(out, NULL, "%.*s%sMemorySize%s: %d,%s", in, indent, q, q, mb,
                                 s->eol);
        if (s->flow)
            return pt_buf_printf(out, NULL, "%sMemorySize%s: %d%s", q, q, mb,
                                 s->empty ? "" : ", ");
        return pt_buf_printf(out, NULL, "%.*sMemorySize: %d%s", in, indent, mb, s->eol);
    case PT_TEMPLATE_MEMORY_INSERT_PROPERTIES:
        if (s->own_line)
            return pt_buf_printf(out, NULL, "%.*s%sProperties%s: {%sMemorySize%s: %d},%s", in,
                                 indent, q, q, q, q, mb, s->eol);
        if (s->flow)
            return pt_buf_printf(out, NULL, "%sProperties%s: {%sMemorySize%s: %d}, ", q, q, q,
                                 q, mb);
        return pt_buf_printf(out, NULL, "%.*sProperties:%s%.*s  MemorySize: %d%s", in, indent,
                             s->eol, in, indent, mb, s->eol);
    case PT_TEMPLATE_MEMORY_INTRINSIC: break;
    }
    return PT_EUSAGE;
}

/* Writes data to path through a temporary file beside it, keeping mode and owner. */
static int tpl_write_atomic(const char *path, const char *data, size_t n, const struct stat *like,
                            struct pt_error *err)
{
    char tmp[PATH_MAX], suffix[17], dir[PATH_MAX];
    int fd = -1, rc = 0;
    size_t done = 0;
    pt_random_hex(suffix, 16);
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, suffix) >= sizeof(tmp))
        return pt_error_set(err, PT_ELIMIT, "path too long: %s", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return pt_error_errno(err, PT_ESYS, errno, "cannot create %s", tmp);
    while (!rc && done < n) {
        ssize_t w = write(fd, data + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = pt_error_errno(err, PT_EIO, errno, "cannot write %s", tmp);
        else
            done += (size_t)w;
    }
    if (!rc && fchmod(fd, like->st_mode & 07777) != 0)
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot set the mode of %s", tmp);
    /* Only root may give a file away; anyone else keeps the owner they can. */
    if (!rc && (like->st_uid != geteuid() || like->st_gid != getegid()) &&
        fchown(fd, like->st_uid, like->st_gid) != 0 && geteuid() == 0)
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot set the owner of %s", tmp);
    if (!rc && fsync(fd) != 0)
        rc = pt_error_errno(err, PT_EIO, errno, "cannot write %s", tmp);
    close(fd);
    if (!rc && rename(tmp, path) != 0)
        rc = pt_error_errno(err, PT_ESYS, errno, "cannot rename %s to %s", tmp, path);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    /* The rename itself must survive a crash too. */
    pt_strlcpy(dir, path, sizeof(dir));
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

/*
 * The default backup of real: "<real>.bak", or, when that holds something other than the
 * template as it is now (an earlier run's original), the first "<real>.bak.N" that is free or
 * holds it: a backup is never replaced by different data.
 */
static int tpl_backup_name(const char *real, const struct pt_buf *text, char *out, size_t size,
                           struct pt_error *err)
{
    struct pt_buf old;
    struct stat st;
    int rc = 0;
    pt_buf_init(&old, 0);
    for (int i = 0; i <= TPL_BACKUPS_MAX; i++) {
        int n = i ? snprintf(out, size, "%s.bak.%d", real, i) : snprintf(out, size, "%s.bak", real);
        if (n < 0 || (size_t)n >= size) {
            rc = pt_error_set(err, PT_ELIMIT, "%s: path too long for a backup", real);
            goto out;
        }
        if (lstat(out, &st) != 0) {
            if (errno != ENOENT)
                rc = pt_error_errno(err, PT_ESYS, errno, "cannot look at %s", out);
            goto out;
        }
        if (!S_ISREG(st.st_mode) || (size_t)st.st_size != text->len)
            continue;
        pt_buf_reset(&old);
        if (pt_file_read(out, text->len, &old, NULL) == 0 && old.len == text->len &&
            (!old.len || memcmp(old.data, text->data, old.len) == 0))
            goto out;
    }
    rc = pt_error_set(err, PT_EUSAGE,
                      "%s.bak and %s.bak.1 to .bak.%d all hold other versions of the template: "
                      "move some away",
                      real, real, TPL_BACKUPS_MAX);
out:
    pt_buf_free(&old);
    return rc;
}

/* pt_template_set_memory, or (write false) all its checks without writing anything. */
static int tpl_set_memory(const char *path, const char *logical_id, int mb,
                          const char *backup_path, bool write, char *backup_used,
                          size_t backup_size, struct pt_error *err)
{
    struct tpl t, check;
    struct tpl_site s, after;
    struct pt_buf text, repl;
    char real[PATH_MAX], backup[PATH_MAX], id[PT_TEMPLATE_LOGICAL_ID_MAX + 1];
    const char *fid = NULL;
    yaml_node_t *res = NULL;
    struct stat st;
    int rc = 0;
    tpl_init(&t, err);
    tpl_init(&check, err);
    pt_buf_init(&text, 0);
    pt_buf_init(&repl, 0);

    if (mb < PT_MEMORY_MIN_MB || mb > PT_MEMORY_MAX_MB) {
        rc = pt_error_set(err, PT_EUSAGE,
                          "MemorySize %d is out of range: allowed %d to %d (MB, 1 MB steps)", mb,
                          PT_MEMORY_MIN_MB, PT_MEMORY_MAX_MB);
        goto out;
    }
    rc = tpl_site_open(&t, path, logical_id, &s, id, sizeof(id));
    if (rc)
        goto out;
    if (s.pub.kind == PT_TEMPLATE_MEMORY_INTRINSIC || s.refuse) {
        /* Before a run (!write) mb is no result yet: no size to set by hand. */
        rc = pt_error_set(err, PT_EUSAGE, "%s:%d:%d: MemorySize cannot be set in place: %s%s%.0d",
                          t.file, s.pub.line, s.pub.column,
                          s.refuse ? s.refuse : "it is not a literal",
                          write ? "; set it by hand to " : "", write ? mb : 0);
        goto out;
    }
    /* The template symlinked elsewhere: write the real file, keep the link. */
    if (!realpath(t.file, real) || stat(real, &st) != 0) {
        rc = pt_error_errno(err, PT_ESYS, errno, "%s: cannot resolve the path", t.file);
        goto out;
    }
    if ((rc = tpl_site_text(&t, &s, mb, &repl)) ||
        (rc = pt_buf_append(&text, t.text.data, s.pub.offset, NULL)) ||
        (rc = pt_buf_append(&text, repl.data, repl.len, NULL)) ||
        (rc = pt_buf_append(&text, t.text.data + s.pub.offset + s.pub.length,
                            t.text.len - s.pub.offset - s.pub.length, NULL))) {
        rc = pt_error_set(err, PT_ENOMEM, "%s: out of memory", t.file);
        goto out;
    }
    /* Proof before writing: the new text parses and gives this function exactly mb. */
    pt_strlcpy(check.file, t.file, sizeof(check.file));
    pt_strlcpy(check.dir, t.dir, sizeof(check.dir));
    if ((rc = pt_buf_append(&check.text, text.data, text.len, err))) {
        rc = pt_error_set(err, PT_EUSAGE, "%s: the new template would be over %d bytes", t.file,
                          PT_TEMPLATE_MAX_BYTES);
        goto out;
    }
    memset(&after, 0, sizeof(after));
    rc = tpl_parse(&check);
    if (!rc)
        rc = tpl_pick(&check, id, &fid, &res);
    if (!rc)
        rc = tpl_site_find(&check, fid, res, &after);
    if (rc) {
        pt_error_wrap(err, "%s: internal error: the rewritten template does not load", t.file);
        if (err)
            err->code = PT_ESTATE;
        rc = PT_ESTATE;
        goto out;
    }
    if (after.pub.kind != PT_TEMPLATE_MEMORY_VALUE || after.pub.memory_mb != mb) {
        rc = pt_error_set(err, PT_ESTATE,
                          "%s: internal error: the rewritten template gives MemorySize %d, not %d",
                          t.file, after.pub.memory_mb, mb);
        goto out;
    }
    if (!backup_path) {
        if ((rc = tpl_backup_name(real, &t.text, backup, sizeof(backup), err)))
            goto out;
        backup_path = backup;
    }
    /* Both files are replaced through a temporary file beside them: their directories must be
     * writable (a read-only one is found here, before a tuning run, not after it). */
    if ((rc = pt_path_check_writable(backup_path, err)) ||
        (rc = pt_path_check_writable(real, err))) {
        pt_error_wrap(err, "%s: MemorySize cannot be set", t.file);
        goto out;
    }
    if (!write)
        goto out;
    rc = tpl_write_atomic(backup_path, t.text.data ? t.text.data : "", t.text.len, &st, err);
    if (!rc)
        rc = tpl_write_atomic(real, text.data, text.len, &st, err);
    if (!rc && backup_used)
        pt_strlcpy(backup_used, backup_path, backup_size);
out:
    pt_buf_free(&text);
    pt_buf_free(&repl);
    tpl_free(&check);
    tpl_free(&t);
    return rc;
}

int pt_template_set_memory(const char *path, const char *logical_id, int mb,
                           const char *backup_path, char *backup_used, size_t backup_size,
                           struct pt_error *err)
{
    return tpl_set_memory(path, logical_id, mb, backup_path, true, backup_used, backup_size, err);
}

int pt_template_check_memory(const char *path, const char *logical_id, int mb,
                             struct pt_error *err)
{
    return tpl_set_memory(path, logical_id, mb, NULL, false, NULL, 0, err);
}
