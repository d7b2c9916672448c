#include "service/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/fileio.h"
#include "runtime/oci.h"

int
checkpoint_options_unpack(const Google__Protobuf__Any *any, Containerd__Runc__V1__CheckpointOptions **ret,
                          wedge_error_t *err)
{
  if (any == NULL || any->type_url == NULL || any->type_url[0] == '\0')
    {
      *ret = NULL;
      return 0;
    }
  if (strcmp(any->type_url, CHECKPOINT_OPTIONS_TYPE_URL) != 0)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "checkpoint options of type %s, want %s",
                           any->type_url, CHECKPOINT_OPTIONS_TYPE_URL);
  Containerd__Runc__V1__CheckpointOptions *o
      = containerd__runc__v1__checkpoint_options__unpack(NULL, any->value.len, any->value.data);
  if (o == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "invalid %s", CHECKPOINT_OPTIONS_TYPE_URL);
  *ret = o;
  return 0;
}

/* The runc shim keeps only the first line: CRIU failures come with the runtime's multi-line
 * output ("criu failed: type NOTIFY errno 0\nlog file: ..."). */
static int
checkpoint_fail(int r, const char *dump_log, wedge_error_t *err)
{
  if (err == NULL || err->msg == NULL)
    return r;
  const char *msg = wedge_error_message(err);
  size_t first = strcspn(msg, "\n");
  char *s = NULL;
  if (asprintf(&s, "%.*s path= %s", (int) first, msg, dump_log) >= 0)
    {
      free(err->msg);
      err->msg = s;
    }
  return r;
}

int
checkpoint_run(struct proc *init, const char *bundle, const char *image_path,
               const Containerd__Runc__V1__CheckpointOptions *o, wedge_error_t *err)
{
  static const Containerd__Runc__V1__CheckpointOptions none = CONTAINERD__RUNC__V1__CHECKPOINT_OPTIONS__INIT;
  if (o == NULL)
    o = &none;
  int r = proc_check(init->kind, init->state, PROC_OP_CHECKPOINT, err);
  if (r < 0)
    return r;
  if (image_path == NULL || image_path[0] == '\0')
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "checkpoint: no image path");

  _cleanup_free_ char *default_work = NULL, *dump_log = NULL, *work_log = NULL;
  bool own_work = o->work_path == NULL || o->work_path[0] == '\0';
  if ((own_work && asprintf(&default_work, "%s/work/criu-work", bundle) < 0)
      || asprintf(&dump_log, "%s/" CHECKPOINT_DUMP_LOG, bundle) < 0)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  const char *work = own_work ? default_work : o->work_path;
  if (asprintf(&work_log, "%s/dump.log", work) < 0)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");

  /* A NULL-terminated copy: protobuf-c's repeated string is a counted array. */
  _cleanup_free_ const char **empty_ns = calloc(o->n_empty_namespaces + 1, sizeof(char *));
  if (empty_ns == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < o->n_empty_namespaces; i++)
    empty_ns[i] = o->empty_namespaces[i];

  struct oci_checkpoint_opts co = {
    .image_path = image_path,
    .work_path = work,
    .leave_running = !o->exit,
    .tcp_established = o->open_tcp,
    .ext_unix_sk = o->external_unix_sockets,
    .shell_job = o->terminal,
    .file_locks = o->file_locks,
    .empty_ns = empty_ns,
  };
  r = proc_checkpoint(init, &co, err);
  if (r < 0)
    {
      /* As the runc shim: a failed copy is only logged there; the runtime's error is what the
       * caller needs, and it names where the log would be. */
      (void) fileio_copy(work_log, dump_log, NULL);
      r = checkpoint_fail(r, dump_log, err);
    }
  if (own_work)
    (void) fileio_remove_tree(default_work, NULL);
  return r;
}
