/* rootfs: fstab-style options of CreateTaskRequest.rootfs into mount flags and data, as
 * containerd's parseMountOptions reads them, and the errors a failed mount reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/mount.h>

#include "base/cleanup.h"
#include "service/rootfs.h"
#include "testutil.h"

static void
parse(const char *const *opts, size_t n, struct rootfs_options *ret)
{
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(rootfs_parse_options(opts, n, ret, &err), 0);
  assert_null(err.msg);
}

static void
test_overlay_options_are_data(void **state)
{
  (void) state;
  const char *opts[] = { "index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l1:/l2" };
  struct rootfs_options o;
  parse(opts, 4, &o);
  assert_int_equal(o.flags, 0);
  assert_int_equal(o.propagation, 0);
  assert_string_equal(o.data, "index=off,workdir=/w,upperdir=/u,lowerdir=/l1:/l2");
  rootfs_options_clear(&o);
}

static void
test_bind_ro_flags(void **state)
{
  (void) state;
  const char *opts[] = { "ro", "rbind" };
  struct rootfs_options o;
  parse(opts, 2, &o);
  assert_int_equal(o.flags, MS_RDONLY | MS_BIND | MS_REC);
  assert_string_equal(o.data, "");
  rootfs_options_clear(&o);
}

static void
test_clearing_words_and_mixed(void **state)
{
  (void) state;
  const char *opts[] = { "nosuid", "nodev", "ro", "defaults", "rw", "suid", "noexec", "mode=755", "size=65536k" };
  struct rootfs_options o;
  parse(opts, ARRAY_SIZE(opts), &o);
  assert_int_equal(o.flags, MS_NODEV | MS_NOEXEC);
  assert_string_equal(o.data, "mode=755,size=65536k");
  rootfs_options_clear(&o);
}

static void
test_propagation_is_separate(void **state)
{
  (void) state;
  const char *opts[] = { "bind", "rslave" };
  struct rootfs_options o;
  parse(opts, 2, &o);
  assert_int_equal(o.flags, MS_BIND);
  assert_int_equal(o.propagation, MS_SLAVE | MS_REC);
  rootfs_options_clear(&o);

  const char *opts2[] = { "private" };
  parse(opts2, 1, &o);
  assert_int_equal(o.flags, 0);
  assert_int_equal(o.propagation, MS_PRIVATE);
  rootfs_options_clear(&o);
}

static void
test_no_options(void **state)
{
  (void) state;
  struct rootfs_options o;
  parse(NULL, 0, &o);
  assert_int_equal(o.flags, 0);
  assert_string_equal(o.data, "");
  rootfs_options_clear(&o);
}

static void
test_failed_mount_names_the_component(void **state)
{
  const char *dir = *state;
  const char *opts[] = { "ro", "rbind" };
  _cleanup_free_ char *missing = tu_path(dir, "does-not-exist");
  struct rootfs_mount m = { .type = "bind", .source = missing, .options = opts, .n_options = 2 };
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(rootfs_mount_all(&m, 1, dir, &err), -ENOENT);
  _cleanup_free_ char *want = NULL;
  assert_true(asprintf(&want, "failed to mount rootfs component bind %s (ro,rbind): %s", missing, strerror(ENOENT)) > 0);
  assert_string_equal(wedge_error_message(&err), want);
  wedge_error_clear(&err);
}

static void
test_oversized_data_is_refused(void **state)
{
  const char *dir = *state;
  char big[8192];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  memcpy(big, "lowerdir=", 9);
  const char *opts[] = { big };
  struct rootfs_mount m = { .type = "overlay", .source = "overlay", .options = opts, .n_options = 1 };
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(rootfs_mount_one(&m, dir, &err), -E2BIG);
  assert_non_null(strstr(wedge_error_message(&err), "failed to mount rootfs component overlay overlay"));
  wedge_error_clear(&err);
}

static void
test_bind_mount_ro_really_ro(void **state)
{
  const char *dir = *state;
  if (geteuid() != 0)
    skip();
  _cleanup_free_ char *src = tu_path(dir, "src");
  _cleanup_free_ char *dst = tu_path(dir, "dst");
  _cleanup_free_ char *file = tu_path(dir, "dst/f");
  assert_int_equal(mkdir(src, 0755), 0);
  assert_int_equal(mkdir(dst, 0755), 0);
  const char *opts[] = { "ro", "rbind" };
  struct rootfs_mount m = { .type = "bind", .source = src, .options = opts, .n_options = 2 };
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(rootfs_mount_all(&m, 1, dst, &err), 0);
  int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  int e = errno;
  if (fd >= 0)
    close(fd);
  assert_int_equal(umount2(dst, MNT_DETACH), 0);
  assert_int_equal(fd, -1);
  assert_int_equal(e, EROFS);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_overlay_options_are_data),
    cmocka_unit_test(test_bind_ro_flags),
    cmocka_unit_test(test_clearing_words_and_mixed),
    cmocka_unit_test(test_propagation_is_separate),
    cmocka_unit_test(test_no_options),
    cmocka_unit_test_setup_teardown(test_failed_mount_names_the_component, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_oversized_data_is_refused, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_bind_mount_ro_really_ro, tu_setup_tmpdir, tu_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
