#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cgroup/cgroup.h"
#include "base/cleanup.h"
#include "testutil.h"

/* This test machine's layout: hybrid, cpu and cpuacct mounted apart, a cgroup2 at unified. */
static const char hybrid_mountinfo[]
  = "22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n"
    "30 22 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755\n"
    "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
    "33 30 0:29 / /sys/fs/cgroup/cpu rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,cpu\n"
    "34 30 0:30 / /sys/fs/cgroup/cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpuacct\n"
    "35 30 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory\n"
    "36 30 0:32 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids\n"
    "37 30 0:33 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,blkio\n";

static const char hybrid_pid_cgroup[] = "9:name=systemd:/default/c1\n"
                                        "8:pids:/default/c1\n"
                                        "7:blkio:/default/c1\n"
                                        "4:memory:/default/c1\n"
                                        "2:cpuacct:/default/c1\n"
                                        "1:cpu:/default/c1\n"
                                        "0::/default/c1\n";

static void
test_v1_each_controller_from_its_mount(void **state)
{
  (void) state;
  struct cgroup *cg = NULL;
  assert_int_equal(cgroup_load_text(CGROUP_MODE_V1, hybrid_pid_cgroup, hybrid_mountinfo, CGROUP_ROOT, &cg, NULL), 0);
  assert_int_equal(cg->mode, CGROUP_MODE_V1);
  assert_null(cg->path);
  assert_string_equal(cg->dirs[CGROUP_CPU], "/sys/fs/cgroup/cpu/default/c1");
  assert_string_equal(cg->dirs[CGROUP_CPUACCT], "/sys/fs/cgroup/cpuacct/default/c1");
  assert_string_equal(cg->dirs[CGROUP_MEMORY], "/sys/fs/cgroup/memory/default/c1");
  assert_string_equal(cg->dirs[CGROUP_PIDS], "/sys/fs/cgroup/pids/default/c1");
  assert_string_equal(cg->dirs[CGROUP_BLKIO], "/sys/fs/cgroup/blkio/default/c1");
  /* Not mounted here: no directory, so its statistics are left out. */
  assert_null(cg->dirs[CGROUP_HUGETLB]);
  _cleanup_free_ char *f = cgroup_file(cg, CGROUP_MEMORY, "memory.stat");
  assert_string_equal(f, "/sys/fs/cgroup/memory/default/c1/memory.stat");
  errno = 0;
  assert_null(cgroup_file(cg, CGROUP_HUGETLB, "hugetlb.2MB.usage_in_bytes"));
  assert_int_equal(errno, ENOENT);
  cgroup_free(cg);
}

static void
test_v1_comounted_and_nested_root(void **state)
{
  (void) state;
  /* Debian's systemd co-mounts cpu,cpuacct; in a container the hierarchy is mounted from the
   * container's own cgroup (root field), and a mountpoint may hold an escaped space. */
  static const char mi[]
    = "40 30 0:40 /kube/pod1 /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "41 30 0:41 /kube/pod1 /mnt/my\\040cg rw shared:3 master:1 - cgroup cgroup rw,memory\n";
  static const char pc[] = "5:cpu,cpuacct:/kube/pod1/c2\n3:memory:/kube/pod1/c2\n";
  struct cgroup *cg = NULL;
  assert_int_equal(cgroup_load_text(CGROUP_MODE_V1, pc, mi, CGROUP_ROOT, &cg, NULL), 0);
  assert_string_equal(cg->dirs[CGROUP_CPU], "/sys/fs/cgroup/cpu,cpuacct/c2");
  assert_string_equal(cg->dirs[CGROUP_CPUACCT], "/sys/fs/cgroup/cpu,cpuacct/c2");
  assert_string_equal(cg->dirs[CGROUP_MEMORY], "/mnt/my cg/c2");
  assert_null(cg->dirs[CGROUP_PIDS]);
  cgroup_free(cg);
}

static void
test_unified_uses_the_0_entry(void **state)
{
  (void) state;
  struct cgroup *cg = NULL;
  assert_int_equal(cgroup_load_text(CGROUP_MODE_UNIFIED, "0::/system.slice/containerd.service/c3\n", "", "/sys/fs/cgroup",
                                    &cg, NULL),
                   0);
  assert_string_equal(cg->path, "/sys/fs/cgroup/system.slice/containerd.service/c3");
  _cleanup_free_ char *f = cgroup_file(cg, CGROUP_MEMORY, "memory.events");
  assert_string_equal(f, "/sys/fs/cgroup/system.slice/containerd.service/c3/memory.events");
  cgroup_free(cg);
}

static void
test_missing_entries_are_errors(void **state)
{
  (void) state;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  struct cgroup *cg = NULL;
  assert_int_equal(cgroup_load_text(CGROUP_MODE_UNIFIED, "4:memory:/a\n", "", "/sys/fs/cgroup", &cg, &err), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "no cgroup v2 entry (0::) for the process");
  assert_int_equal(cgroup_load_text(CGROUP_MODE_V1, "0::/a\n", hybrid_mountinfo, CGROUP_ROOT, &cg, &err), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "no mounted cgroup v1 controller for the process");
  assert_null(cg);
}

static void
test_load_pid_self(void **state)
{
  (void) state;
  struct cgroup *cg = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(cgroup_load_pid(getpid(), &cg, &err), 0);
  if (cg->mode == CGROUP_MODE_UNIFIED)
    assert_non_null(cg->path);
  else
    assert_non_null(cg->dirs[CGROUP_MEMORY]);
  cgroup_free(cg);
  assert_int_equal(cgroup_load_pid(0x7ffffff0, &cg, &err), -ENOENT);
  assert_int_equal(err.status, WEDGE_NOT_FOUND);
}

static void
test_read_file_limits(void **state)
{
  (void) state;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  _cleanup_free_ char *s = NULL;
  assert_int_equal(cgroup_read_file("/nonexistent/cgroup.procs", &s, &err), -ENOENT);
  assert_int_equal(err.status, WEDGE_NOT_FOUND);
  assert_true(cgroup_read_file(WEDGE_SOURCE_ROOT "/tests/unit/fixtures/cgroup-v1/pids/pids.max", &s, &err) == 4);
  assert_string_equal(s, "max\n");
}

static void
test_enable_controllers_in_every_ancestor(void **state)
{
  /* A stand-in hierarchy of plain files: root, root/a, root/a/b and the container root/a/b/c. */
  const char *root = *state;
  _cleanup_free_ char *a = tu_path(root, "a"), *b = tu_path(a, "b"), *c = tu_path(b, "c");
  assert_int_equal(mkdir(a, 0700), 0);
  assert_int_equal(mkdir(b, 0700), 0);
  assert_int_equal(mkdir(c, 0700), 0);
  _cleanup_free_ char *rctl = tu_path(root, "cgroup.controllers"), *actl = tu_path(a, "cgroup.subtree_control"),
                      *bctl = tu_path(b, "cgroup.subtree_control"), *cctl = tu_path(c, "cgroup.subtree_control");
  assert_int_equal(tu_write_file(rctl, "cpuset cpu io memory pids\n", 0644), 0);
  /* The root's subtree_control is missing (we may not write it): later ones still succeed. */
  assert_int_equal(tu_write_file(actl, "", 0644), 0);
  assert_int_equal(tu_write_file(bctl, "", 0644), 0);
  assert_int_equal(tu_write_file(cctl, "", 0644), 0);

  struct cgroup cg = { .mode = CGROUP_MODE_UNIFIED, .path = c };
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(cgroup_enable_controllers(&cg, root, &err), 0);
  _cleanup_free_ char *sa = tu_read_file(actl), *sb = tu_read_file(bctl), *sc = tu_read_file(cctl);
  assert_string_equal(sa, "+cpuset +cpu +io +memory +pids");
  assert_string_equal(sb, "+cpuset +cpu +io +memory +pids");
  /* The container's own cgroup is left alone (its processes live there: no internal nodes). */
  assert_string_equal(sc, "");

  /* The last ancestor failing is the error. */
  unlink(bctl);
  assert_int_equal(cgroup_enable_controllers(&cg, root, &err), -ENOENT);
  assert_non_null(strstr(wedge_error_message(&err), "failed to write subtree controllers +cpuset +cpu"));

  struct cgroup v1 = { .mode = CGROUP_MODE_V1 };
  assert_int_equal(cgroup_enable_controllers(&v1, root, NULL), 0);
}

static void
test_v1_root_is_the_parent_of_the_first_v1_mount(void **state)
{
  (void) state;
  _cleanup_free_ char *root = NULL;
  assert_int_equal(cgroup_v1_root(hybrid_mountinfo, &root, NULL), 0);
  assert_string_equal(root, "/sys/fs/cgroup");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  _cleanup_free_ char *none = NULL;
  assert_int_equal(cgroup_v1_root("31 30 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", &none, &err), -ENOENT);
  assert_null(none);
  assert_contains(wedge_error_message(&err), "no cgroup v1 hierarchy");
}

/* A stand-in cgroup tree: `rel` made below `root` with an empty cgroup.procs (procs false: none). */
static void
make_cgroup(const char *root, const char *rel, bool procs)
{
  _cleanup_free_ char *dir = tu_path(root, rel), *cmd = NULL;
  assert_int_equal(asprintf(&cmd, "mkdir -p '%s'", dir) < 0, 0);
  assert_int_equal(system(cmd), 0);
  if (procs)
    {
      _cleanup_free_ char *f = tu_path(dir, "cgroup.procs");
      assert_int_equal(tu_write_file(f, "", 0644), 0);
    }
}

static char *
procs_of(const char *root, const char *rel)
{
  _cleanup_free_ char *dir = tu_path(root, rel);
  _cleanup_free_ char *f = tu_path(dir, "cgroup.procs");
  return tu_read_file(f);
}

static void
test_attach_v1_joins_where_the_cgroup_exists(void **state)
{
  const char *root = *state;
  make_cgroup(root, "systemd/shims", true);
  make_cgroup(root, "cpu/shims", true);
  make_cgroup(root, "memory/shims", true);
  make_cgroup(root, "pids", true);           /* mounted, no shims: skipped */
  make_cgroup(root, "unified/shims", true);  /* a hybrid host's cgroup2: not the runc shim's */
  make_cgroup(root, "net_cls/shims", false); /* no cgroup.procs: not a cgroup */

  /* The first directory that cannot take the pid is the error. */
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(cgroup_attach_pid_at(CGROUP_MODE_V1, root, "/shims", 4242, &err), -ENOENT);
  assert_contains(wedge_error_message(&err), "failed to join cgroup /shims: open ");
  assert_contains(wedge_error_message(&err), "net_cls/shims/cgroup.procs: No such file or directory");

  const char *joined[] = { "systemd/shims", "cpu/shims", "memory/shims" };
  const char *forms[] = { "/shims", "shims" };
  _cleanup_free_ char *nc = tu_path(root, "net_cls/shims");
  assert_int_equal(rmdir(nc), 0);
  for (size_t f = 0; f < 2; f++)
    {
      assert_int_equal(cgroup_attach_pid_at(CGROUP_MODE_V1, root, forms[f], 4242 + (int) f, &err), 0);
      for (size_t i = 0; i < 3; i++)
        {
          _cleanup_free_ char *got = procs_of(root, joined[i]);
          assert_int_equal(atoi(got), 4242 + (int) f);
        }
      _cleanup_free_ char *pids = procs_of(root, "pids"), *uni = procs_of(root, "unified/shims");
      assert_string_equal(pids, "");
      assert_string_equal(uni, "");
    }

  assert_int_equal(cgroup_attach_pid_at(CGROUP_MODE_V1, root, "/none", 1, &err), -ENOENT);
  assert_contains(wedge_error_message(&err), "failed to load cgroup /none: it exists in no cgroup v1 hierarchy");
  assert_int_equal(cgroup_attach_pid_at(CGROUP_MODE_V1, root, "/shims/../..", 1, &err), -EINVAL);
  assert_contains(wedge_error_message(&err), "failed to load cgroup /shims/../..: invalid group path");
  assert_int_equal(cgroup_attach_pid_at(CGROUP_MODE_V1, root, "", 1, &err), -EINVAL);
}

static void
test_attach_unified_wants_a_clean_absolute_path(void **state)
{
  const char *root = *state;
  make_cgroup(root, "system.slice/shims", true);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(cgroup_attach_pid_at(CGROUP_MODE_UNIFIED, root, "/system.slice/shims", 77, &err), 0);
  _cleanup_free_ char *got = procs_of(root, "system.slice/shims");
  assert_string_equal(got, "77");

  const char *bad[] = { "system.slice/shims", "/system.slice/shims/", "/system.slice//shims", "/a/../system.slice",
                        "/./system.slice", "/sys/fs/cgroup/system.slice" };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    {
      assert_int_equal(cgroup_attach_pid_at(CGROUP_MODE_UNIFIED, root, bad[i], 77, &err), -EINVAL);
      assert_contains(wedge_error_message(&err), "invalid group path");
    }

  assert_int_equal(cgroup_attach_pid_at(CGROUP_MODE_UNIFIED, root, "/none", 77, &err), -ENOENT);
  assert_contains(wedge_error_message(&err), "failed to join cgroup /none: open ");
  assert_contains(wedge_error_message(&err), "/none/cgroup.procs: No such file or directory");
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_v1_each_controller_from_its_mount),
    cmocka_unit_test(test_v1_comounted_and_nested_root),
    cmocka_unit_test(test_unified_uses_the_0_entry),
    cmocka_unit_test(test_missing_entries_are_errors),
    cmocka_unit_test(test_load_pid_self),
    cmocka_unit_test(test_read_file_limits),
    cmocka_unit_test_setup_teardown(test_enable_controllers_in_every_ancestor, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test(test_v1_root_is_the_parent_of_the_first_v1_mount),
    cmocka_unit_test_setup_teardown(test_attach_v1_joins_where_the_cgroup_exists, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_attach_unified_wants_a_clean_absolute_path, tu_setup_tmpdir,
                                    tu_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
