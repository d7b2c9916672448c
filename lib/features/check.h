/* The features checker: what in a config.json would the OCI runtime silently ignore?
 *
 * runc and crun drop config.json fields they do not know (the runtime spec tells them to), so a
 * container asking for an idmapped mount, a seccomp flag or an AppArmor profile on a runtime that
 * cannot honour it starts anyway, with wrong owners or weaker isolation. `<runtime> features`
 * describes what the runtime implements; the checker compares a parsed config.json against that
 * document and returns one finding per element the runtime does not (or may not) honour.
 * See docs/check.md for every field, its features key and its severity.
 *
 * Severities:
 *   CHECK_REFUSE   the loss corrupts data or weakens isolation: idmapped mounts, seccomp
 *                  action / operator / architecture / flag, AppArmor or SELinux labels with the
 *                  LSM not implemented, namespace types, hooks, net devices, behaviour-changing
 *                  annotations the runtime would not honour. Create must fail.
 *   CHECK_WARN     the loss changes behaviour without harm a user must be protected from
 *                  (capabilities, mount options, Intel RDT, RDMA, memory policy, an ociVersion
 *                  outside [ociVersionMin, ociVersionMax]).
 *   CHECK_UNKNOWN  the features document has no answer: the key is absent or null ("the runtime
 *                  does not say": runc 1.1.5 omits linux.cgroup.rdma yet supports RDMA), or no
 *                  features key describes the field at all. Reported, never refused, with one
 *                  exception: an idmapped mount is refused when the key is missing, as
 *                  containerd does.
 *
 * A NULL features document means the runtime cannot describe itself (no `features` command):
 * every key is missing. */
#ifndef WEDGE_CHECK_H
#define WEDGE_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

enum check_severity
{
  CHECK_REFUSE,
  CHECK_WARN,
  CHECK_UNKNOWN,
};

struct check_finding
{
  enum check_severity severity;
  char *path;        /* in config.json: "mounts[3].uidMappings", "process.capabilities.bounding[5]" */
  char *context;     /* what the path is about, e.g. the mount's destination; NULL when none */
  char *value;       /* the value at path, as compact JSON */
  const char *key;   /* the features key consulted; NULL when no features key describes the field */
  char *reason;      /* "linux.seccomp.archs does not list it", "the runtime does not say", ... */
  bool needs_confirming; /* this element alone makes check_needs_features() true */
};

struct check_result
{
  struct check_finding *findings;
  size_t n;
  size_t n_refuse, n_warn, n_unknown;
};

/* Checks `config` against `features` (may be NULL) and fills *ret (to be released with
 * check_result_clear). Findings come in config order within each rule, rules in table order.
 * Fails only on allocation failure (-ENOMEM). */
int check_config(json_t *config, json_t *features, struct check_result *ret, wedge_error_t *err);

void check_result_clear(struct check_result *r);

/* True only when the config uses at least one refuse-class element beyond what every runtime
 * with a `features` command knows (runtime-spec 1.0 namespace types, hooks, seccomp actions,
 * operators and architectures): idmapped mounts, seccomp flags, AppArmor / SELinux labels, net
 * devices, a newer namespace type or hook, behaviour-changing annotations. A container with plain
 * mounts, a default seccomp profile and no LSM labels never pays for `features`. */
bool check_needs_features(json_t *config);

const char *check_severity_name(enum check_severity s);

/* One line for a finding: "<path> (<context>) = <value>: <reason>". Malloc'd, NULL on ENOMEM. */
char *check_finding_describe(const struct check_finding *f);

/* {"severity", "path", "context"?, "value" (the JSON value), "featuresKey" (null when none),
 * "reason", "needsConfirming"}; NULL on ENOMEM. */
json_t *check_finding_to_json(const struct check_finding *f);

#endif
