/* `delete`: cleanup after a shim daemon that is gone, as containerd-shim-runc-v2's
 * manager.Stop (runtime/v2/runc/manager/manager_linux.go, 1.6.20); docs/protocol.md.
 *
 * containerd runs it after EVERY ttrpc disconnect (also after a normal task delete) with a 5 s
 * deadline, stdout and stderr captured separately (1.6.20 runtime/v2/shim.go
 * `cleanupAfterDeadShim`, runtime/v2/binary.go `binary.Delete`). stdout must be a
 * DeleteResponse; stderr is logged as "cleanup warnings". A non-zero exit leaves the bundle
 * behind, so every failure here is a warning on stderr and we still answer {pid, 137, now} and
 * exit 0. An exit the daemon
 * recorded but could not deliver (exitstore.h) is answered instead of 137.
 *
 * It never talks to the daemon: for a grouped shim the daemon keeps serving the others. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "service/exitstore.h"
#include "base/mount.h"
#include "runtime/oci.h"
#include "runtime/pidfile.h"
#include "runtime/runc_options.h"
#include "shim.h"
#include "shimio.h"
#include "shim.pb-c.h"
#include "base/shimsock.h"

/* containerd kills us at 5 s; leave room for unmounting and answering. */
#define DELETE_RUNTIME_TIMEOUT_MS 3000
/* 128 + SIGKILL, what the runc shim reports for a process it could not wait for. */
#define DELETE_EXIT_STATUS 137
/* runc's ReadPidFile returns -1 for a missing file; the runc shim casts it to uint32. */
#define DELETE_PID_UNKNOWN UINT32_MAX

/* Reads a small file whole; NULL with errno set on failure. Trailing whitespace is kept. */
static char *
read_small_file(const char *path)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return NULL;
  char buf[PATH_MAX];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  if (n < 0)
    return NULL;
  buf[n] = '\0';
  return strdup(buf);
}

struct delete_runtime
{
  char *binary; /* from `runtime`; "runc" when the file is empty */
  char *root;   /* from options.json "root"; RUNC_OPTIONS_DEFAULT_ROOT otherwise */
};

static void
delete_runtime_free(struct delete_runtime *rt)
{
  free(rt->binary);
  free(rt->root);
}

/* -ENOENT when there is no `runtime` file: the daemon never created a container in this
 * bundle, so there is nothing for the runtime to delete. */
static int
delete_read_runtime(const char *bundle, struct delete_runtime *ret, wedge_error_t *err)
{
  _cleanup_free_ char *runtime_path = NULL, *options_path = NULL;
  if (asprintf(&runtime_path, "%s/" SHIM_RUNTIME_FILE, bundle) < 0
      || asprintf(&options_path, "%s/" SHIM_OPTIONS_FILE, bundle) < 0)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");

  _cleanup_free_ char *binary = read_small_file(runtime_path);
  if (binary == NULL)
    return wedge_error_set_errno(err, errno, errno == ENOENT ? WEDGE_NOT_FOUND : WEDGE_UNKNOWN, "read %s",
                                 runtime_path);
  if (binary[0] == '\0')
    {
      free(binary);
      binary = strdup(SHIM_DEFAULT_RUNTIME);
    }

  _cleanup_free_ char *root = NULL;
  json_error_t jerr;
  json_t *options = json_load_file(options_path, 0, &jerr);
  if (options)
    {
      const char *r = json_string_value(json_object_get(options, "root"));
      if (r && r[0])
        root = strdup(r);
      json_decref(options);
    }
  else if (access(options_path, F_OK) == 0)
    {
      wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "parse %s: %s", options_path, jerr.text);
      return -EINVAL;
    }
  if (root == NULL)
    root = strdup(RUNC_OPTIONS_DEFAULT_ROOT);
  if (binary == NULL || root == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  ret->binary = TAKE_PTR(binary);
  ret->root = TAKE_PTR(root);
  return 0;
}

/* `<runtime> --root <root>/<ns> delete --force <id>` through the OCI runtime client, unless the
 * runtime keeps no state for the container: 1 when it was skipped.
 *
 * containerd waits for this command before it answers the client's task delete, so after every
 * normal Delete RPC (which has already removed the container) one more runtime start-up sat on
 * the client's critical path: 30 ms of `runc`/`crun delete --force` on a loaded machine, for a
 * no-op. runc, crun and youki keep a container's state in <root>/<id>; without it `delete
 * --force` has nothing to remove and exits 0 (runc removes that very directory, crun looks up
 * its status file there), so the runtime is not started. When the directory is there, or cannot
 * be looked at, the runtime decides, and a failure is warned about as the runc shim does. */
static int
delete_run_runtime(const struct delete_runtime *drt, const char *ns, const char *id, wedge_error_t *err)
{
  _cleanup_free_ char *root = oci_namespace_root(drt->root, ns);
  _cleanup_free_ char *state = NULL;
  if (root == NULL || asprintf(&state, "%s/%s", root, id) < 0)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  struct stat st;
  if (lstat(state, &st) < 0 && errno == ENOENT)
    return 1;
  struct oci_runtime rt;
  int r = oci_runtime_init(&rt, drt->binary, root, NULL, false, err);
  if (r < 0)
    return r;
  rt.timeout_ms = DELETE_RUNTIME_TIMEOUT_MS;
  r = oci_delete(&rt, id, true, err);
  oci_runtime_destroy(&rt);
  return r;
}


/* Go's runc.ReadPidFile: a missing (or unreadable) file gives -1 (0xFFFFFFFF on the wire);
 * content that is not a number gives strconv.Atoi's 0. pidfile_read also takes a trailing
 * newline (runc and crun write none, a human or a test may). */
static uint32_t
delete_read_pid(const char *bundle, wedge_error_t *err)
{
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "%s/init.pid", bundle) < 0)
    return DELETE_PID_UNKNOWN;
  pid_t pid = pidfile_read(path, err);
  if (pid == -EINVAL)
    return 0;
  return pid < 0 ? DELETE_PID_UNKNOWN : (uint32_t) pid;
}

/* The runc shim derives the bundle from its cwd (filepath.Join(filepath.Dir(cwd), id)); -bundle
 * names the same directory and is preferred when given. */
static char *
delete_bundle_path(const struct shim_flags *flags)
{
  if (flags->bundle[0])
    return strdup(flags->bundle);
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) == NULL)
    return strdup(".");
  char *slash = strrchr(cwd, '/');
  if (slash)
    *slash = '\0';
  char *path = NULL;
  if (asprintf(&path, "%s/%s", cwd, flags->id) < 0)
    return NULL;
  return path;
}

static void
delete_warn(struct shim_ctx *ctx, const char *what, wedge_error_t *err)
{
  const struct shimlog_field f[] = { { "error", wedge_error_message(err) } };
  shimlog_with(&ctx->log, SHIMLOG_WARN, f, ARRAY_SIZE(f), "%s", what);
  wedge_error_clear(err);
}

/* The daemon removes its socket when it exits (daemon.c); one that was killed (OOM, SIGKILL)
 * leaves it, and containerd's cleanup after a dead shim is this command. So the socket named
 * by the bundle's `address` goes unless a daemon still accepts there: after a normal task
 * delete, and for every container of a group but the last, the daemon is alive and keeps it.
 * The runc shim's delete leaves the file; its next `start` of the same group replaces it, but a
 * group that never comes back (every CRI pod, every ctr container) leaks one per kill. */
static void
delete_remove_socket(struct shim_ctx *ctx, const char *bundle)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "%s/address", bundle) < 0)
    return;
  _cleanup_free_ char *address = read_small_file(path);
  if (address == NULL)
    {
      if (errno != ENOENT)
        shimlog(&ctx->log, SHIMLOG_WARN, "failed to read %s: %s", path, strerror(errno));
      return;
    }
  int r = shimsock_remove_stale(address, &err);
  if (r == -EADDRINUSE)
    shimlog(&ctx->log, SHIMLOG_DEBUG, "%s", wedge_error_message(&err));
  else if (r < 0)
    delete_warn(ctx, "failed to remove the shim socket", &err);
}

/* The init's exit as the daemon recorded it and containerd never took (exitstore.h): the real
 * status rather than 137, which containerd then publishes as the task's exit. */
static bool
delete_read_exit(struct shim_ctx *ctx, const char *bundle, struct exitstore_exit *ret)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  _cleanup_free_ char *path = exitstore_path(bundle, "");
  if (path == NULL)
    return false;
  int r = exitstore_read(path, ret, &err);
  if (r == -ENOENT)
    return false;
  if (r < 0)
    {
      delete_warn(ctx, "failed to read exit record", &err);
      return false;
    }
  shimlog(&ctx->log, SHIMLOG_INFO, "reporting the recorded exit status %u of pid %u", ret->exit_status, ret->pid);
  return true;
}

int
shim_delete(struct shim_ctx *ctx)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  char pid_str[16];

  /* As the runc shim's delete logger: stderr, with namespace and pid fields. */
  shimlog_init_fd(&ctx->log, STDERR_FILENO, ctx->flags.debug);
  snprintf(pid_str, sizeof(pid_str), "%d", (int) getpid());
  shimlog_add_field(&ctx->log, "runtime", SHIM_RUNTIME_NAME);
  shimlog_add_field(&ctx->log, "namespace", ctx->flags.namespace_);
  shimlog_add_field(&ctx->log, "pid", pid_str);
  for (size_t i = 0; i < ctx->flags.n_unknown; i++)
    shimlog(&ctx->log, SHIMLOG_DEBUG, "ignoring unknown flag %s", ctx->flags.unknown[i]);

  _cleanup_free_ char *bundle = delete_bundle_path(&ctx->flags);
  uint32_t pid = DELETE_PID_UNKNOWN;
  struct exitstore_exit stored = { 0 };
  bool have_exit = false;
  if (bundle)
    {
      struct delete_runtime rt = { 0 };
      int r = delete_read_runtime(bundle, &rt, &err);
      if (r == 0)
        {
          r = delete_run_runtime(&rt, ctx->flags.namespace_, ctx->flags.id, &err);
          if (r < 0)
            delete_warn(ctx, "failed to remove runc container", &err);
          else if (r > 0)
            shimlog(&ctx->log, SHIMLOG_DEBUG, "the runtime has no state for %s: nothing to delete", ctx->flags.id);
        }
      else if (r == -ENOENT)
        {
          shimlog(&ctx->log, SHIMLOG_DEBUG, "no runtime file in %s: no container to delete", bundle);
          wedge_error_clear(&err);
        }
      else
        delete_warn(ctx, "failed to read runtime options", &err);
      delete_runtime_free(&rt);

      _cleanup_free_ char *rootfs = NULL;
      if (asprintf(&rootfs, "%s/rootfs", bundle) >= 0 && mount_unmount_all(rootfs, &err) < 0)
        delete_warn(ctx, "failed to cleanup rootfs mount", &err);

      pid = delete_read_pid(bundle, &err);
      if (err.msg)
        delete_warn(ctx, "failed to read init pid file", &err);
      have_exit = delete_read_exit(ctx, bundle, &stored);
      delete_remove_socket(ctx, bundle);
    }

  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  Google__Protobuf__Timestamp exited_at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  exited_at.seconds = have_exit ? stored.exited_at.tv_sec : now.tv_sec;
  exited_at.nanos = (int32_t) (have_exit ? stored.exited_at.tv_nsec : now.tv_nsec);
  Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
  resp.pid = have_exit ? stored.pid : pid;
  resp.exit_status = have_exit ? stored.exit_status : DELETE_EXIT_STATUS;
  exitstore_exit_clear(&stored);
  resp.exited_at = &exited_at;
  uint8_t out[64]; /* two uint32 fields and a Timestamp: 36 bytes at most */
  assert(containerd__task__v2__delete_response__get_packed_size(&resp) <= sizeof(out));
  size_t n = containerd__task__v2__delete_response__pack(&resp, out);
  (void) shim_write_stdout(out, n, NULL);
  shimlog_close(&ctx->log);
  return 0;
}
