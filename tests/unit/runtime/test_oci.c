#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "runtime/oci.h"
#include "runtime/pidfile.h"
#include "fake_runtime.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------------- */

/* A temp dir with a runtime configured on a private root and log inside it. */
struct fixture
{
  char dir[64];
  char *root;
  char *log;
  struct oci_runtime rt;
};

static void
fixture_init(struct fixture *f, const char *binary)
{
  strcpy(f->dir, "/tmp/wedge-oci-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  f->root = tu_path(f->dir, "root");
  f->log = tu_path(f->dir, "log.json");
  assert_int_equal(oci_runtime_init(&f->rt, binary, f->root, f->log, false, NULL), 0);
}

static void
fixture_destroy(struct fixture *f)
{
  oci_runtime_destroy(&f->rt);
  tu_rm_rf(f->dir);
  free(f->root);
  free(f->log);
}

/* A fake runtime: a shell script with the given body, in the fixture's dir. */
static void
fixture_fake(struct fixture *f, const char *body)
{
  char *script = tu_write_script(f->dir, "fake-runtime", body);
  assert_non_null(script);
  free(f->rt.binary);
  f->rt.binary = script;
}

/* ---- ids, parsing, classification ---------------------------------------------------------- */

static void
test_validate_id(void **state)
{
  (void) state;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(oci_validate_id("abc-123_x.y", &err), 0);
  assert_int_equal(oci_validate_id("", &err), -EINVAL);
  assert_int_equal(oci_validate_id(NULL, &err), -EINVAL);
  assert_int_equal(oci_validate_id(".", &err), -EINVAL);
  assert_int_equal(oci_validate_id("..", &err), -EINVAL);
  assert_int_equal(oci_validate_id("../x", &err), -EINVAL);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  char long_id[1026];
  memset(long_id, 'a', sizeof long_id - 1);
  long_id[1025] = '\0';
  assert_int_equal(oci_validate_id(long_id, &err), -EINVAL);
  long_id[1024] = '\0';
  assert_int_equal(oci_validate_id(long_id, &err), 0);
}

static void
test_invalid_id_runs_nothing(void **state)
{
  (void) state;
  struct fixture f;
  fixture_init(&f, NULL);
  _cleanup_free_ char *marker = tu_path(f.dir, "ran");
  _cleanup_free_ char *body = NULL;
  assert_true(asprintf(&body, "touch %s", marker) > 0);
  fixture_fake(&f, body);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(oci_start(&f.rt, "../escape", &err), -EINVAL);
  assert_int_equal(oci_kill(&f.rt, "a/b", 9, false, &err), -EINVAL);
  assert_int_equal(access(marker, F_OK), -1);
  fixture_destroy(&f);
}

static void
test_defaults_and_namespace_root(void **state)
{
  (void) state;
  struct oci_runtime rt;
  assert_int_equal(oci_runtime_init(&rt, "", NULL, NULL, true, NULL), 0);
  assert_string_equal(rt.binary, "runc");
  assert_null(rt.root);
  assert_true(rt.systemd_cgroup);
  assert_null(rt.criu);
  assert_int_equal(oci_runtime_set_criu(&rt, "/usr/sbin/criu", NULL), 0);
  assert_string_equal(rt.criu, "/usr/sbin/criu");
  assert_int_equal(oci_runtime_set_criu(&rt, "", NULL), 0);
  assert_null(rt.criu);
  oci_runtime_destroy(&rt);
  _cleanup_free_ char *ns = oci_namespace_root("/run/containerd/runc", "k8s.io");
  assert_string_equal(ns, "/run/containerd/runc/k8s.io");
}

static void
test_version_parse(void **state)
{
  (void) state;
  struct oci_version v;
  assert_int_equal(oci_version_parse("runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n"
                                     "go: go1.19.8\nlibseccomp: 2.5.4\n",
                                     &v, NULL),
                   0);
  assert_string_equal(v.name, "runc");
  assert_string_equal(v.version, "1.1.5+ds1");
  assert_string_equal(v.commit, "1.1.5+ds1-1+deb12u1");
  assert_string_equal(v.spec, "1.0.2-dev");
  oci_version_clear(&v);

  assert_int_equal(oci_version_parse("crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\n"
                                     "rundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SELINUX +APPARMOR +CAP +SECCOMP +EBPF +YAJL\n",
                                     &v, NULL),
                   0);
  assert_string_equal(v.name, "crun");
  assert_string_equal(v.version, "1.8.1");
  assert_string_equal(v.commit, "f8a096be060b22ccd3d5f3ebe44108517fbf6c30");
  assert_string_equal(v.spec, "1.0.0");
  oci_version_clear(&v);

  assert_int_equal(oci_version_parse("youki version 0.3.0\nspec: 1.0.2", &v, NULL), 0);
  assert_string_equal(v.name, "youki");
  assert_null(v.commit);
  assert_string_equal(v.spec, "1.0.2");
  oci_version_clear(&v);

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(oci_version_parse("No help topic for 'version'\n", &v, &err), -EBADMSG);
  assert_non_null(strstr(wedge_error_message(&err), "unexpected output"));
}

static void
test_state_parse(void **state)
{
  (void) state;
  const char *runc = "{\n  \"ociVersion\": \"1.0.2-dev\",\n  \"id\": \"c1\",\n  \"pid\": 4242,\n  \"status\": \"running\",\n"
                     "  \"bundle\": \"/b\",\n  \"rootfs\": \"/b/rootfs\",\n  \"created\": \"2026-11-29T01:26:52.1Z\",\n"
                     "  \"owner\": \"\"\n}\n";
  struct oci_state st;
  assert_int_equal(oci_state_parse(runc, strlen(runc), &st, NULL), 0);
  assert_string_equal(st.id, "c1");
  assert_string_equal(st.status, "running");
  assert_int_equal(st.pid, 4242);
  assert_string_equal(st.bundle, "/b");
  assert_string_equal(st.rootfs, "/b/rootfs");
  assert_string_equal(st.created, "2026-11-29T01:26:52.1Z");
  oci_state_clear(&st);

  const char *stopped = "{\"ociVersion\":\"1.0.0\",\"id\":\"c2\",\"pid\":0,\"status\":\"stopped\",\"bundle\":\"/b\"}";
  assert_int_equal(oci_state_parse(stopped, strlen(stopped), &st, NULL), 0);
  assert_int_equal(st.pid, 0);
  assert_null(st.rootfs);
  oci_state_clear(&st);

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(oci_state_parse("{not json", 9, &st, &err), -EBADMSG);
  assert_non_null(strstr(wedge_error_message(&err), "OCI runtime state failed: the runtime printed invalid JSON"));
  assert_int_equal(oci_state_parse("[1]", 3, &st, &err), -EBADMSG);
  assert_int_equal(oci_state_parse("{\"id\":\"x\"}", 10, &st, &err), -EBADMSG);
  assert_int_equal(oci_state_parse("{\"id\":\"x\",\"status\":\"created\",\"pid\":\"7\"}", 38, &st, &err), -EBADMSG);
}

static void
test_ps_parse(void **state)
{
  (void) state;
  pid_t *pids = NULL;
  size_t n = 99;
  assert_int_equal(oci_ps_parse("null\n", 5, &pids, &n, NULL), 0);
  assert_int_equal(n, 0);
  free(pids);
  assert_int_equal(oci_ps_parse("[12,13,14]\n", 11, &pids, &n, NULL), 0);
  assert_int_equal(n, 3);
  assert_int_equal(pids[0], 12);
  assert_int_equal(pids[2], 14);
  free(pids);
  assert_int_equal(oci_ps_parse("[]", 2, &pids, &n, NULL), 0);
  assert_int_equal(n, 0);
  free(pids);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(oci_ps_parse("[1,\"x\"]", 7, &pids, &n, &err), -EBADMSG);
  assert_int_equal(oci_ps_parse("{}", 2, &pids, &n, &err), -EBADMSG);
  assert_int_equal(oci_ps_parse("PID\n12\n", 7, &pids, &n, &err), -EBADMSG);
}

static void
test_classify_error(void **state)
{
  (void) state;
  /* Texts as runc 1.1.5 (libcontainer/error.go) and crun 1.8.1 (src/libcrun/utils.c, status.c)
   * print them (docs/protocol.md), and the Go runtime's "os: process already finished" that containerd's `checkKillError`
   * (1.6.20 pkg/process/utils.go) also matches. */
  assert_int_equal(oci_classify_error("container does not exist"), -ENOENT);
  assert_int_equal(oci_classify_error("exec failed: container does not exist"), -ENOENT);
  assert_int_equal(oci_classify_error("error opening file `/run/crun/nosuch/status`: No such file or directory"),
                   -ENOENT);
  assert_int_equal(oci_classify_error("cannot open directory '/run/crun/nosuch': No such file or directory"), -ENOENT);
  assert_int_equal(oci_classify_error("container `c1` does not exist"), -ENOENT);
  assert_int_equal(oci_classify_error("container not running"), -ESRCH);
  assert_int_equal(oci_classify_error("kill container: No such process"), -ESRCH);
  assert_int_equal(oci_classify_error("os: process already finished"), -ESRCH);
  assert_int_equal(oci_classify_error("Process Already Finished"), -ESRCH);
  assert_int_equal(oci_classify_error("container with given ID already exists"), -EEXIST);
  assert_int_equal(oci_classify_error("container `c1` already exists"), -EEXIST);
  assert_int_equal(oci_classify_error("runc create failed: JSON specification file config.json not found"), 0);
  assert_int_equal(oci_classify_error("cannot start a container that has stopped"), 0);
  assert_int_equal(oci_classify_error("open /etc/foo: No such file or directory"), 0);
  assert_int_equal(oci_classify_error(NULL), 0);
}

/* ---- argv shapes (fake runtime records its arguments) -------------------------------------- */

static void
test_argv_shapes(void **state)
{
  (void) state;
  /* The stand-in that records its argv, on a private root and log as fixture_init's. */
  struct fake_runtime f;
  fake_runtime_init(&f);
  f.rt.root = tu_path(f.dir, "root");
  f.rt.log_path = tu_path(f.dir, "log.json");
  f.rt.systemd_cgroup = true;
  /* Options.criu_path: a global flag on every call, in go-runc's place. */
  assert_int_equal(oci_runtime_set_criu(&f.rt, "/opt/criu", NULL), 0);
  _cleanup_free_ char *g = NULL;
  assert_true(asprintf(&g, "--root %s --log %s --log-format json --criu /opt/criu --systemd-cgroup", f.rt.root, f.rt.log_path)
              > 0);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  char *args;
  char want[1024];

  int fds[] = { 0, 1 };
  struct oci_create_opts co = { .bundle = "/b", .pid_file = "/b/init.pid", .console_socket = "/s.sock",
                                .no_pivot = true, .no_new_keyring = true, .stdio = OCI_STDIO_NULL,
                                .extra_fds = fds, .n_extra_fds = 2 };
  assert_int_equal(oci_create(&f.rt, "c1", &co, &err), 0);
  args = fake_runtime_calls_take(&f);
  snprintf(want, sizeof want, "%s create --bundle /b --pid-file /b/init.pid --console-socket /s.sock --no-pivot "
           "--no-new-keyring --preserve-fds=2 c1\n", g);
  assert_string_equal(args, want);
  free(args);

  struct oci_exec_opts eo = { .process_json = "/p.json", .pid_file = "/e.pid", .detach = true, .stdio = OCI_STDIO_NULL };
  assert_int_equal(oci_exec(&f.rt, "c1", &eo, NULL, &err), 0);
  args = fake_runtime_calls_take(&f);
  snprintf(want, sizeof want, "%s exec --process /p.json --detach --pid-file /e.pid c1\n", g);
  assert_string_equal(args, want);
  free(args);

  assert_int_equal(oci_kill(&f.rt, "c1", 9, true, &err), 0);
  args = fake_runtime_calls_take(&f);
  snprintf(want, sizeof want, "%s kill --all c1 9\n", g);
  assert_string_equal(args, want);
  free(args);

  assert_int_equal(oci_delete(&f.rt, "c1", true, &err), 0);
  args = fake_runtime_calls_take(&f);
  snprintf(want, sizeof want, "%s delete --force c1\n", g);
  assert_string_equal(args, want);
  free(args);

  assert_int_equal(oci_update(&f.rt, "c1", "{}", &err), 0);
  args = fake_runtime_calls_take(&f);
  snprintf(want, sizeof want, "%s update --resources - c1\n", g);
  assert_string_equal(args, want);
  free(args);

  const char *empty_ns[] = { "network", NULL };
  struct oci_checkpoint_opts cp = { .image_path = "/img", .work_path = "/work", .parent_path = "../pre",
                                    .leave_running = true, .tcp_established = true, .ext_unix_sk = true,
                                    .shell_job = true, .file_locks = true, .empty_ns = empty_ns };
  assert_int_equal(oci_checkpoint(&f.rt, "c1", &cp, &err), 0);
  args = fake_runtime_calls_take(&f);
  snprintf(want, sizeof want, "%s checkpoint --image-path /img --work-path /work --parent-path ../pre "
           "--tcp-established --ext-unix-sk --shell-job --file-locks --empty-ns network --leave-running c1\n", g);
  assert_string_equal(args, want);
  free(args);

  struct oci_restore_opts ro = { .bundle = "/b", .image_path = "/img", .pid_file = "/b/init.pid", .detach = true,
                                 .no_subreaper = true, .no_pivot = true, .stdio = OCI_STDIO_NULL };
  assert_int_equal(oci_restore(&f.rt, "c1", &ro, &err), 0);
  args = fake_runtime_calls_take(&f);
  snprintf(want, sizeof want, "%s restore --image-path /img --detach --pid-file /b/init.pid --no-pivot "
           "--no-subreaper --bundle /b c1\n", g);
  assert_string_equal(args, want);
  free(args);

  fake_runtime_destroy(&f);
}

static void
test_update_feeds_stdin(void **state)
{
  (void) state;
  struct fixture f;
  fixture_init(&f, NULL);
  _cleanup_free_ char *body = NULL;
  assert_true(asprintf(&body, "cat > %s/stdin", f.dir) > 0);
  fixture_fake(&f, body);
  assert_int_equal(oci_update(&f.rt, "c1", "{\"pids\":{\"limit\":100}}", NULL), 0);
  _cleanup_free_ char *p = tu_path(f.dir, "stdin");
  _cleanup_free_ char *got = tu_read_file(p);
  assert_string_equal(got, "{\"pids\":{\"limit\":100}}");
  fixture_destroy(&f);
}

/* ---- failures of a fake runtime ------------------------------------------------------------ */

static void
test_hang_times_out(void **state)
{
  (void) state;
  struct fixture f;
  fixture_init(&f, NULL);
  fixture_fake(&f, "exec sleep 30");
  f.rt.timeout_ms = 300;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(oci_start(&f.rt, "c1", &err), -ETIMEDOUT);
  assert_int_equal(err.status, WEDGE_DEADLINE_EXCEEDED);
  assert_non_null(strstr(wedge_error_message(&err), "OCI runtime start failed: "));
  assert_non_null(strstr(wedge_error_message(&err), "did not finish within 300 ms and was killed"));
  fixture_destroy(&f);
}

static void
test_crash_is_echild(void **state)
{
  (void) state;
  struct fixture f;
  fixture_init(&f, NULL);
  fixture_fake(&f, "kill -SEGV $$");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(oci_pause(&f.rt, "c1", &err), -ECHILD);
  _cleanup_free_ char *want = NULL;
  assert_true(asprintf(&want, "OCI runtime pause failed: %s crashed (killed by signal 11 (Segmentation fault))",
                       f.rt.binary) > 0);
  assert_string_equal(wedge_error_message(&err), want);
  fixture_destroy(&f);
}

static void
test_state_invalid_json(void **state)
{
  (void) state;
  struct fixture f;
  fixture_init(&f, NULL);
  fixture_fake(&f, "echo '{\"id\": \"c1\", oops'");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  struct oci_state st;
  assert_int_equal(oci_state(&f.rt, "c1", &st, &err), -EBADMSG);
  assert_non_null(strstr(wedge_error_message(&err), "OCI runtime state failed: the runtime printed invalid JSON"));
  json_t *j = NULL;
  assert_int_equal(oci_features(&f.rt, &j, &err), -EBADMSG);
  assert_non_null(strstr(wedge_error_message(&err), "OCI runtime features failed: the runtime printed invalid JSON"));
  fixture_destroy(&f);
}

static void
test_stale_log_error_is_not_reported(void **state)
{
  (void) state;
  struct fixture f;
  fixture_init(&f, NULL);
  assert_int_equal(tu_write_file(f.log,
                                 "{\"level\":\"error\",\"msg\":\"container does not exist\","
                                 "\"time\":\"2026-11-29T01:26:52Z\"}\n",
                                 0644),
                   0);
  fixture_fake(&f, "echo 'the cgroup is frozen' >&2; exit 1");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(oci_resume(&f.rt, "c1", &err), -EIO);
  assert_string_equal(wedge_error_message(&err), "OCI runtime resume failed: the cgroup is frozen");
  assert_int_equal(err.status, WEDGE_UNKNOWN);

  /* Nothing on stderr either: the exit status is all there is. */
  fixture_fake(&f, "exit 7");
  assert_int_equal(oci_resume(&f.rt, "c1", &err), -EIO);
  assert_string_equal(wedge_error_message(&err), "OCI runtime resume failed: exit status 7");
  fixture_destroy(&f);
}

static void
test_fresh_log_error_wins_over_stderr(void **state)
{
  (void) state;
  struct fixture f;
  fixture_init(&f, NULL);
  assert_int_equal(tu_write_file(f.log, "{\"level\":\"error\",\"msg\":\"an old failure\"}\n", 0644), 0);
  /* $4 is the --log path: `--root R --log L --log-format json start ID`. */
  fixture_fake(&f, "echo '{\"level\":\"warning\",\"msg\":\"just saying\"}' >> \"$4\"\n"
                   "echo '{\"level\":\"error\",\"msg\":\"container does not exist\"}' >> \"$4\"\n"
                   "echo '{\"level\":\"info\",\"msg\":\"bye\"}' >> \"$4\"\n"
                   "echo 'container does not exist (stderr)' >&2; exit 1");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(oci_start(&f.rt, "c1", &err), -ENOENT);
  assert_string_equal(wedge_error_message(&err), "OCI runtime start failed: container does not exist");
  assert_int_equal(err.status, WEDGE_NOT_FOUND);
  fixture_destroy(&f);
}

static void
test_foreground_exit_status_is_the_workloads(void **state)
{
  (void) state;
  struct fixture f;
  fixture_init(&f, NULL);
  fixture_fake(&f, "exit 3");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  struct oci_exec_opts eo = { .process_json = "/p.json", .stdio = OCI_STDIO_NULL };
  int status = -1;
  assert_int_equal(oci_exec(&f.rt, "c1", &eo, &status, &err), 0);
  assert_int_equal(status, 3);

  /* runc's own failure: exit 255 with an error record in this call's log. */
  fixture_fake(&f, "echo '{\"level\":\"error\",\"msg\":\"exec failed: container does not exist\"}' >> \"$4\"; exit 255");
  status = -1;
  assert_int_equal(oci_exec(&f.rt, "c1", &eo, &status, &err), -ENOENT);
  assert_string_equal(wedge_error_message(&err), "OCI runtime exec failed: exec failed: container does not exist");
  assert_int_equal(status, -1);
  fixture_destroy(&f);
}

static void
test_missing_binary(void **state)
{
  (void) state;
  struct fixture f;
  fixture_init(&f, "wedge-no-such-runtime");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(oci_start(&f.rt, "c1", &err), -ENOEXEC);
  assert_string_equal(wedge_error_message(&err),
                      "OCI runtime start failed: cannot run 'wedge-no-such-runtime': not found in PATH");
  struct oci_version v;
  assert_int_equal(oci_version(&f.rt, &v, &err), -ENOEXEC);
  fixture_destroy(&f);
}

/* ---- the real runtimes --------------------------------------------------------------------- */

static void
test_runc_missing_container(void **state)
{
  (void) state;
  tu_require_binary("runc");
  struct fixture f;
  fixture_init(&f, "runc");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  struct oci_state st;
  assert_int_equal(oci_state(&f.rt, "nosuch", &st, &err), -ENOENT);
  assert_string_equal(wedge_error_message(&err), "OCI runtime state failed: container does not exist");
  assert_int_equal(err.status, WEDGE_NOT_FOUND);
  assert_int_equal(oci_kill(&f.rt, "nosuch", 15, false, &err), -ENOENT);
  assert_string_equal(wedge_error_message(&err), "OCI runtime kill failed: container does not exist");
  assert_int_equal(oci_delete(&f.rt, "nosuch", false, &err), -ENOENT);
  assert_int_equal(oci_delete(&f.rt, "nosuch", true, &err), 0);
  pid_t *pids = NULL;
  size_t n = 0;
  assert_int_equal(oci_ps(&f.rt, "nosuch", &pids, &n, &err), -ENOENT);

  struct oci_version v;
  assert_int_equal(oci_version(&f.rt, &v, &err), 0);
  assert_string_equal(v.name, "runc");
  assert_non_null(v.spec);
  oci_version_clear(&v);
  fixture_destroy(&f);
}

static void
test_runc_create_failure_message(void **state)
{
  (void) state;
  tu_require_binary("runc");
  struct fixture f;
  fixture_init(&f, "runc");
  /* stdio goes to /dev/null, as for a container: the message can only come from the log. */
  struct oci_create_opts co = { .bundle = f.dir, .pid_file = "/nonexistent/init.pid", .stdio = OCI_STDIO_NULL };
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(oci_create(&f.rt, "c1", &co, &err), -EIO);
  assert_string_equal(wedge_error_message(&err),
                      "OCI runtime create failed: runc create failed: JSON specification file config.json not found");
  fixture_destroy(&f);
}

static void
test_runc_features(void **state)
{
  (void) state;
  tu_require_binary("runc");
  struct fixture f;
  fixture_init(&f, "runc");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  json_t *j = NULL;
  assert_int_equal(oci_features(&f.rt, &j, &err), 0);
  assert_non_null(json_object_get(j, "ociVersionMax"));
  json_t *linux_ = json_object_get(j, "linux");
  assert_true(json_is_object(linux_));
  assert_true(json_is_array(json_object_get(linux_, "namespaces")));
  /* runc 1.1.5 cannot do idmapped mounts and its features say so by omission. */
  assert_null(json_object_get(linux_, "mountExtensions"));
  json_decref(j);
  fixture_destroy(&f);
}

static void
test_crun_missing_container_and_features(void **state)
{
  (void) state;
  tu_require_binary("crun");
  struct fixture f;
  fixture_init(&f, "crun");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  struct oci_state st;
  assert_int_equal(oci_state(&f.rt, "nosuch", &st, &err), -ENOENT);
  _cleanup_free_ char *want = NULL;
  assert_true(asprintf(&want, "OCI runtime state failed: error opening file `%s/nosuch/status`: No such file or directory",
                       f.root) > 0);
  assert_string_equal(wedge_error_message(&err), want);
  assert_int_equal(err.status, WEDGE_NOT_FOUND);

  assert_int_equal(oci_delete(&f.rt, "nosuch", false, &err), -ENOENT);
  assert_non_null(strstr(wedge_error_message(&err), "OCI runtime delete failed: cannot open directory"));

  /* crun 1.8.1 `ps` fails with exit 253 and logs nothing: the text comes from stderr. */
  pid_t *pids = NULL;
  size_t n = 0;
  assert_int_equal(oci_ps(&f.rt, "nosuch", &pids, &n, &err), -ENOENT);
  assert_non_null(strstr(wedge_error_message(&err), "OCI runtime ps failed: error opening file"));

  json_t *j = NULL;
  struct oci_version v;
  assert_int_equal(oci_version(&f.rt, &v, &err), 0);
  bool old = strcmp(v.version, "1.8.6") < 0 && strncmp(v.version, "1.8.", 4) == 0;
  oci_version_clear(&v);
  if (old)
    {
      assert_int_equal(oci_features(&f.rt, &j, &err), -EOPNOTSUPP);
      assert_int_equal(err.status, WEDGE_UNIMPLEMENTED);
      assert_non_null(strstr(wedge_error_message(&err), "OCI runtime features failed: crun is too old"));
      assert_non_null(strstr(wedge_error_message(&err), "unknown command features"));
    }
  fixture_destroy(&f);
}

/* ---- a real container with runc ------------------------------------------------------------ */

static void
make_bundle(const char *bundle)
{
  _cleanup_free_ char *bin = NULL;
  assert_true(asprintf(&bin, "%s/rootfs/bin", bundle) > 0);
  _cleanup_free_ char *rootfs = tu_path(bundle, "rootfs");
  assert_int_equal(mkdir(bundle, 0755), 0);
  assert_int_equal(mkdir(rootfs, 0755), 0);
  assert_int_equal(mkdir(bin, 0755), 0);
  _cleanup_free_ char *cmd = NULL;
  assert_true(asprintf(&cmd, "cp /bin/busybox %s/busybox && ln -s busybox %s/sh && ln -s busybox %s/sleep"
                       " && cd %s && runc spec", bin, bin, bin, bundle) > 0);
  assert_int_equal(system(cmd), 0);

  _cleanup_free_ char *cfg_path = tu_path(bundle, "config.json");
  json_t *cfg = json_load_file(cfg_path, 0, NULL);
  assert_non_null(cfg);
  json_t *process = json_object_get(cfg, "process");
  json_object_set_new(process, "terminal", json_false());
  json_object_set_new(process, "args", json_pack("[sss]", "sleep", "1000", ""));
  json_array_remove(json_object_get(process, "args"), 2);
  assert_int_equal(json_dump_file(cfg, cfg_path, JSON_INDENT(2)), 0);
  json_decref(cfg);
}

static void
assert_state(const struct oci_runtime *rt, const char *id, const char *status, pid_t pid)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  struct oci_state st;
  int r = oci_state(rt, id, &st, &err);
  if (r < 0)
    fail_msg("%s", wedge_error_message(&err));
  assert_string_equal(st.id, id);
  assert_string_equal(st.status, status);
  assert_int_equal(st.pid, pid);
  oci_state_clear(&st);
}

static void
test_runc_lifecycle(void **state)
{
  (void) state;
  tu_require_binary("runc");
  tu_require_binary("/bin/busybox");
  /* The init is reparented to us once `create` has exited, as in the shim. */
  assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);

  struct fixture f;
  fixture_init(&f, "runc");
  _cleanup_free_ char *bundle = tu_path(f.dir, "bundle");
  make_bundle(bundle);
  _cleanup_free_ char *pid_file = tu_path(bundle, "init.pid");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  char id[64];
  snprintf(id, sizeof id, "wedge-test-%d", (int) getpid());

  struct oci_create_opts co = { .bundle = bundle, .pid_file = pid_file, .stdio = OCI_STDIO_NULL };
  assert_ok(oci_create(&f.rt, id, &co, &err), err);
  pid_t pid = pidfile_read(pid_file, &err);
  assert_true(pid > 0);
  assert_state(&f.rt, id, "created", pid);

  assert_int_equal(oci_create(&f.rt, id, &co, &err), -EEXIST);
  assert_int_equal(err.status, WEDGE_ALREADY_EXISTS);

  assert_ok(oci_start(&f.rt, id, &err), err);
  assert_state(&f.rt, id, "running", pid);
  assert_ok(oci_pause(&f.rt, id, &err), err);
  assert_state(&f.rt, id, "paused", pid);
  assert_ok(oci_resume(&f.rt, id, &err), err);
  assert_state(&f.rt, id, "running", pid);

  pid_t *pids = NULL;
  size_t n = 0;
  assert_ok(oci_ps(&f.rt, id, &pids, &n, &err), err);
  assert_int_equal(n, 1);
  assert_int_equal(pids[0], pid);
  free(pids);

  assert_ok(oci_update(&f.rt, id, "{\"pids\":{\"limit\":100}}", &err), err);

  assert_ok(oci_kill(&f.rt, id, SIGKILL, false, &err), err);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGKILL);
  assert_state(&f.rt, id, "stopped", 0);

  assert_int_equal(oci_kill(&f.rt, id, SIGTERM, false, &err), -ESRCH);
  assert_int_equal(err.status, WEDGE_NOT_FOUND);

  assert_ok(oci_delete(&f.rt, id, false, &err), err);
  struct oci_state st;
  assert_int_equal(oci_state(&f.rt, id, &st, &err), -ENOENT);

  DIR *d = opendir(f.root);
  assert_non_null(d);
  struct dirent *de;
  int entries = 0;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      entries++;
  closedir(d);
  assert_int_equal(entries, 0);

  fixture_destroy(&f);
  prctl(PR_SET_CHILD_SUBREAPER, 0);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_validate_id),
    cmocka_unit_test(test_invalid_id_runs_nothing),
    cmocka_unit_test(test_defaults_and_namespace_root),
    cmocka_unit_test(test_version_parse),
    cmocka_unit_test(test_state_parse),
    cmocka_unit_test(test_ps_parse),
    cmocka_unit_test(test_classify_error),
    cmocka_unit_test(test_argv_shapes),
    cmocka_unit_test(test_update_feeds_stdin),
    cmocka_unit_test(test_hang_times_out),
    cmocka_unit_test(test_crash_is_echild),
    cmocka_unit_test(test_state_invalid_json),
    cmocka_unit_test(test_stale_log_error_is_not_reported),
    cmocka_unit_test(test_fresh_log_error_wins_over_stderr),
    cmocka_unit_test(test_foreground_exit_status_is_the_workloads),
    cmocka_unit_test(test_missing_binary),
    cmocka_unit_test(test_runc_create_failure_message),
    cmocka_unit_test(test_runc_missing_container),
    cmocka_unit_test(test_runc_features),
    cmocka_unit_test(test_crun_missing_container_and_features),
    cmocka_unit_test(test_runc_lifecycle),
  };
  return cmocka_run_group_tests_name("oci", tests, NULL, NULL);
}
