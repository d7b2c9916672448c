#include "service/exitstore.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fileio.h"

char *
exitstore_path(const char *dir, const char *exec_id)
{
  char *path = NULL;
  int n = exec_id && exec_id[0] ? asprintf(&path, "%s/" EXITSTORE_EXEC_PREFIX "%s.json", dir, exec_id)
                                : asprintf(&path, "%s/" EXITSTORE_INIT_NAME, dir);
  return n < 0 ? NULL : path;
}

int
exitstore_write(const char *path, const struct exitstore_exit *e, wedge_error_t *err)
{
  json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "container_id", e->container_id ? e->container_id : "",
                        "exec_id", e->exec_id ? e->exec_id : "", "pid", (json_int_t) e->pid, "exit_status",
                        (json_int_t) e->exit_status, "exited_at_seconds", (json_int_t) e->exited_at.tv_sec,
                        "exited_at_nanos", (json_int_t) e->exited_at.tv_nsec);
  if (j == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (text == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  /* Renamed into place but not fsync'ed: the record must outlive the shim (SIGKILL) and
   * containerd (a restart), which the page cache does; a machine crash takes the container with
   * it (containerd's bundles live under /run). An fsync here sat on every exit's path: 13 ms
   * median on the loaded test machine's disk (docs/performance.md). */
  int r = fileio_write_replace(path, text, strlen(text), 0600, err);
  if (r < 0)
    return wedge_error_prefix(err, "exit record");
  return 0;
}

static bool
exitstore_u32(json_t *j, const char *key, uint32_t *ret)
{
  json_t *v = json_object_get(j, key);
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
    return false;
  *ret = (uint32_t) json_integer_value(v);
  return true;
}

int
exitstore_read(const char *path, struct exitstore_exit *ret, wedge_error_t *err)
{
  if (access(path, F_OK) < 0)
    return wedge_error_set_errno(err, errno, errno == ENOENT ? WEDGE_NOT_FOUND : WEDGE_INTERNAL, "exit record %s",
                                 path);
  json_error_t jerr;
  json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (j == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "exit record %s: %s", path, jerr.text);
  struct exitstore_exit e = { 0 };
  const char *cid = json_string_value(json_object_get(j, "container_id"));
  const char *eid = json_string_value(json_object_get(j, "exec_id"));
  json_t *sec = json_object_get(j, "exited_at_seconds"), *ns = json_object_get(j, "exited_at_nanos");
  bool ok = cid && eid && exitstore_u32(j, "pid", &e.pid) && exitstore_u32(j, "exit_status", &e.exit_status)
            && json_is_integer(sec) && json_is_integer(ns) && json_integer_value(ns) >= 0
            && json_integer_value(ns) < 1000000000;
  if (!ok)
    {
      json_decref(j);
      return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "exit record %s: missing or invalid fields", path);
    }
  e.exited_at.tv_sec = (time_t) json_integer_value(sec);
  e.exited_at.tv_nsec = (long) json_integer_value(ns);
  e.container_id = strdup(cid);
  e.exec_id = strdup(eid);
  json_decref(j);
  if (e.container_id == NULL || e.exec_id == NULL)
    {
      exitstore_exit_clear(&e);
      return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
    }
  *ret = e;
  return 0;
}

void
exitstore_exit_clear(struct exitstore_exit *e)
{
  free(e->container_id);
  free(e->exec_id);
  e->container_id = NULL;
  e->exec_id = NULL;
}
