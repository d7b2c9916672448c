/* The features gate: refuse, instead of silently dropping, what the runtime cannot honour.
 *
 * runc ignores config.json fields it does not know (the OCI spec says it must), so a container
 * asking for idmapped mounts on a runtime without them starts anyway and writes wrong owners into
 * its volumes. Before create, the gate asks check_needs_features() whether the config uses a
 * refuse-class element (idmapped mounts, seccomp flags, LSM labels, net devices, ...); only then
 * does it get `<runtime> features` (through the features cache in the runtime root), run the
 * checker (check.h) and fail the create with every refusing finding listed. A runtime whose
 * `features` fails is too old to say: every key is missing, which refuses idmapped mounts (as
 * containerd does) and lets the rest through. A config that needs nothing never costs a
 * `features` call. */
#ifndef WEDGE_GATE_H
#define WEDGE_GATE_H

#include <jansson.h>
#include <stdbool.h>

#include "base/error.h"
#include "runtime/oci.h"

/* Index of the first mount carrying uidMappings or gidMappings (or an idmap / ridmap option),
 * or -1. */
int gate_first_idmap_mount(json_t *config);

/* 0: allowed. -EOPNOTSUPP (FailedPrecondition) with a message naming the runtime and every
 * refused element ("<path> (<mount destination>) = <value>: <reason>", joined by "; "); a runtime
 * whose `features` fails is called too old. A runtime that cannot be run at all or times out
 * keeps oci_features' error (-ENOEXEC, -ETIMEDOUT) and its status. */
int gate_check(const struct oci_runtime *rt, json_t *config, wedge_error_t *err);

/* gate_check on <bundle>/config.json; a missing or invalid file fails with its path and the
 * parser's line and column. */
int gate_check_bundle(const struct oci_runtime *rt, const char *bundle, wedge_error_t *err);

#endif
