/* The features gate: refuse, instead of silently dropping, what the runtime cannot honour.
 *
 * runc ignores config.json fields it does not know (the OCI spec says it must), so a container
 * asking for idmapped mounts on a runtime without them starts anyway and writes wrong owners into
 * its volumes. Before create, the gate looks at the config; only when it uses something that
 * must not be dropped (for now: mounts[].uidMappings / gidMappings) does it run
 * `<runtime> features`, and it fails the create unless the runtime advertises the feature
 * (linux.mountExtensions.idmap.enabled == true). A runtime whose `features` fails is too old to
 * say, and is refused. A config that needs nothing never costs a `features` call. */
#ifndef WEDGE_GATE_H
#define WEDGE_GATE_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "oci.h"

/* Index of the first mount carrying uidMappings or gidMappings, or -1. */
int gate_first_idmap_mount(json_t *config);

/* 0: allowed. -EOPNOTSUPP (FailedPrecondition) with a message naming the mount, the runtime and
 * the missing feature; a runtime whose `features` fails is called too old. A runtime that cannot
 * be run at all or times out keeps oci_features' error (-ENOEXEC, -ETIMEDOUT) and its status. */
int gate_check(const struct oci_runtime *rt, json_t *config, wedge_error_t *err);

/* gate_check on <bundle>/config.json; a missing or invalid file fails with its path and the
 * parser's line and column. */
int gate_check_bundle(const struct oci_runtime *rt, const char *bundle, wedge_error_t *err);

#endif
