/* Checkpoint of a container's init, as containerd 1.6.20's runc shim does it (Container.Checkpoint
 * and Init.checkpoint): CheckpointTaskRequest.options is a containerd.runc.v1.CheckpointOptions
 * (absent: every option off, which is what ctr sends for any runtime but io.containerd.runc.*),
 * the image goes to CheckpointTaskRequest.path (containerd already chose it; the options'
 * image_path and cgroups_mode are not read, as there).
 *
 * Options → runtime flags: exit off → --leave-running; open_tcp → --tcp-established;
 * external_unix_sockets → --ext-unix-sk; terminal → --shell-job; file_locks → --file-locks;
 * each empty_namespaces entry → --empty-ns; work_path → --work-path, else
 * <bundle>/work/criu-work, which is removed afterwards (CRIU's work files and logs are kept only
 * when the caller named a work path).
 *
 * On failure CRIU's dump.log is copied from the work path to <bundle>/criu-dump.log (before the
 * default work path is removed), and the error is the first line of the runtime's message
 * followed by " path= <bundle>/criu-dump.log", the runc shim's text. */
#ifndef WEDGE_CHECKPOINT_H
#define WEDGE_CHECKPOINT_H

#include "base/error.h"
#include "google/protobuf/any.pb-c.h"
#include "process/process.h"
#include "runc_options.pb-c.h"

#define CHECKPOINT_OPTIONS_TYPE_URL "containerd.runc.v1.CheckpointOptions"
#define CHECKPOINT_DUMP_LOG "criu-dump.log"

/* *ret: the decoded options (free with containerd__runc__v1__checkpoint_options__free_unpacked),
 * or NULL when `any` is NULL or empty. Another type URL or a value that does not decode is
 * -EINVAL (InvalidArgument), where the runc shim fails its type assertion. */
int checkpoint_options_unpack(const Google__Protobuf__Any *any, Containerd__Runc__V1__CheckpointOptions **ret,
                              wedge_error_t *err);

/* `o` may be NULL (all options off). The state machine refuses created, stopped and exec
 * processes with the runc shim's texts (proc_checkpoint). */
int checkpoint_run(struct proc *init, const char *bundle, const char *image_path,
                   const Containerd__Runc__V1__CheckpointOptions *o, wedge_error_t *err);

#endif
