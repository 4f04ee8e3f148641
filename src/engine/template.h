/*
 * template.h - a function from a SAM or CloudFormation template (libyaml).
 *
 * Contract. A FUNCTION spec is a template file (any path; .yaml/.yml by
 * convention) or a directory holding template.yaml, template.yml or (SAM
 * CLI's third name) a template.json whose Resources hold a function,
 * optionally followed by "#LogicalId". pt_template_load picks the resource
 * of type AWS::Serverless::Function or AWS::Lambda::Function (the only one,
 * or the one named; several without a name: PT_EUSAGE listing them) and
 * fills a configuration the caller initialised with pt_function_config_init:
 * name (FunctionName, else the logical id), code_dir (CodeUri / Code string,
 * relative to the template's directory, must be an existing directory; or
 * inline code, InlineCode / Code.ZipFile, see pt_template_load_code),
 * Runtime, Handler, MemorySize, Timeout, Environment.Variables,
 * Architectures, EphemeralStorage.Size, ReservedConcurrentExecutions,
 * Description. Globals.Function applies to AWS::Serverless::Function only
 * (as in SAM): a function's own property replaces the global one,
 * Environment.Variables and EphemeralStorage merge key by key (the
 * function's keys win) unless the function has an intrinsic in their place
 * (Fn::If, AWS::NoValue): SAM takes that as a plain value, replacing the
 * global mapping whole. Architectures is replaced, not concatenated.
 * MemorySize, Timeout, EphemeralStorage.Size and ReservedConcurrentExecutions
 * out of Lambda's ranges are refused at their file:line:column (the same
 * refusal from pt_function_validate could not say where the value is).
 * The caller then runs pt_function_detect(c, c->code_dir) (fills a missing
 * Runtime/Handler) and pt_function_validate.
 *
 * Intrinsics, short (!Ref) or long (Ref:, Fn::Sub:) form: Ref, Fn::Sub,
 * Fn::Join, Fn::Select, Fn::Split, Fn::If (with Conditions: Fn::Equals,
 * Fn::Not, Fn::And, Fn::Or, Condition), Fn::FindInMap, Fn::Base64 are
 * resolved from Parameters' Defaults, Mappings and the pseudo parameters
 * below; AWS::NoValue removes the property. Anything else (Fn::GetAtt, a Ref
 * to a resource, a parameter without Default, Fn::ImportValue, ...) is a
 * PT_EUSAGE error "file:line:column: Property.Path: what and why", never
 * dropped. Only what the chosen function uses is resolved: the rest of the
 * template (Events, Outputs, other resources) may hold anything.
 *
 * Bounds: the file is at most PT_TEMPLATE_MAX_BYTES; nesting at most
 * PT_TEMPLATE_MAX_DEPTH; the document with aliases expanded at most
 * PT_TEMPLATE_MAX_NODES nodes (so an alias bomb or an alias cycle is refused
 * instead of expanded); one YAML document; duplicate keys and merge keys
 * (<<) in what is read are refused.
 *
 * For autoOptimize: pt_template_memory_site says where the function's
 * MemorySize is written (or where one would be inserted: its own Properties,
 * never Globals, which other functions share), and pt_template_set_memory
 * rewrites or inserts it, leaving every other byte of the file as it was.
 */
#ifndef PT_ENGINE_TEMPLATE_H
#define PT_ENGINE_TEMPLATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "engine/function.h"

#define PT_TEMPLATE_MAX_BYTES (1024 * 1024) /* CloudFormation's own limit for a template in S3 */
#define PT_TEMPLATE_MAX_DEPTH 64
#define PT_TEMPLATE_MAX_NODES 1000000
#define PT_TEMPLATE_LOGICAL_ID_MAX 255

/* The local values of the pseudo parameters. */
#define PT_TEMPLATE_REGION "us-east-1"
#define PT_TEMPLATE_ACCOUNT_ID "123456789012"
#define PT_TEMPLATE_STACK_NAME "powertune"

/*
 * True if spec names a template: an existing regular file, a directory
 * holding template.yaml/.yml or a template.json with a function, a missing path ending in .yaml/.yml, or any
 * of these followed by "#LogicalId". Code directories are not templates.
 */
bool pt_template_is_template(const char *spec);

/* Fills c from the function spec names (see above). Inline code and packages are refused
 * (PT_EUSAGE). */
int pt_template_load(const char *spec, struct pt_function_config *c, struct pt_error *err);

/*
 * Code the caller must put in place before the function can run: code written in the template
 * itself (SAM's InlineCode or CloudFormation's Code.ZipFile, for a Python or Node.js Runtime,
 * resolved like any other value, at most 64 KiB once resolved; CloudFormation saves it as one
 * file, index.py or index.js, which Node.js treats as CommonJS, so the Handler is
 * index.<function>), or a deployment package (CodeUri / Code naming a .zip file, as SAM CLI
 * takes it).
 */
struct pt_template_code {
    char *source;  /* inline code, or NULL */
    size_t len;
    char file[16]; /* "index.py" or "index.js" */
    char package[PATH_MAX]; /* the .zip's absolute path, or "" */
};

/*
 * pt_template_load that also takes inline code and packages: code gets them (the caller writes
 * or unpacks them where it keeps such code and sets c->code_dir), c->code_dir is then empty.
 * code is zeroed first and freed on failure; else the caller frees it.
 */
int pt_template_load_code(const char *spec, struct pt_function_config *c,
                          struct pt_template_code *code, struct pt_error *err);
void pt_template_code_free(struct pt_template_code *code); /* code may be NULL */
/* Writes inl's file under root/inline-code/<sha256 of it>/ (once: the same code is reused) and
 * puts that directory in code_dir. */
int pt_template_inline_write(const struct pt_template_code *inl, const char *root,
                             char *code_dir, size_t size, struct pt_error *err);

enum pt_template_memory_kind {
    PT_TEMPLATE_MEMORY_VALUE,         /* a literal MemorySize in the function's Properties */
    PT_TEMPLATE_MEMORY_INTRINSIC,     /* MemorySize is an intrinsic: not rewritable in place */
    PT_TEMPLATE_MEMORY_INSERT,        /* no MemorySize in Properties: insert one here */
    PT_TEMPLATE_MEMORY_INSERT_PROPERTIES, /* no Properties at all: insert both here */
};

struct pt_template_memory_site {
    char file[PATH_MAX]; /* the template file (as given, or dir + "/template.yaml") */
    enum pt_template_memory_kind kind;
    int line, column;    /* 1-based: the value, or the key before which one is inserted */
    size_t offset;       /* byte offset of the value (quotes included) or of the insertion */
    size_t length;       /* bytes of the value; 0 for an insertion */
    int memory_mb;       /* the function's current MemorySize (from Globals or 128 if unset) */
};

/*
 * Where MemorySize of the function logical_id of the template at path (a
 * file or a directory holding one) is, or goes. logical_id NULL: path is a
 * FUNCTION spec, split as pt_template_load splits it ("path#LogicalId", an
 * existing path holding '#' being a path), else the only function.
 */
int pt_template_memory_site(const char *path, const char *logical_id,
                            struct pt_template_memory_site *site, struct pt_error *err);

/*
 * Sets the function's MemorySize to mb (128..10240) in the file: the value's
 * bytes are replaced (its quotes kept) or a "MemorySize: mb" line is inserted
 * in the function's Properties; nothing else changes. The result is parsed
 * again and must resolve to mb before anything is written. The original is
 * first copied to backup_path (NULL: "<file>.bak" beside the real file when
 * the template is a symlink, or, if that holds other data, the first
 * "<file>.bak.N" free or holding the template as it is: an earlier backup is
 * never replaced by different data); the file is then replaced atomically (temporary
 * file beside it, fsync, rename), keeping its mode. backup_used (if not NULL)
 * gets the backup's path. An intrinsic MemorySize is refused (PT_EUSAGE),
 * never overwritten.
 */
int pt_template_set_memory(const char *path, const char *logical_id, int mb,
                           const char *backup_path, char *backup_used, size_t backup_size,
                           struct pt_error *err);

/*
 * Every check pt_template_set_memory(path, logical_id, mb, NULL) makes, nothing written: the
 * value can be rewritten in place, the result loads, the file and its backup can be written.
 * autoOptimize runs it before tuning, so a refusal does not come after the run.
 */
int pt_template_check_memory(const char *path, const char *logical_id, int mb,
                             struct pt_error *err);

#endif
