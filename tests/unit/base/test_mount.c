#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/mount.h"
#include "testutil.h"

static int
teardown(void **state)
{
  umount2(*state, MNT_DETACH);
  umount2(*state, MNT_DETACH);
  return tu_teardown_tmpdir(state);
}

static void
test_unmount_all_removes_stacked_mounts(void **state)
{
  const char *dir = *state;
  if (mount("wedge-test", dir, "tmpfs", 0, "size=64k") < 0)
    {
      if (errno == EPERM)
        {
          print_message("skipped: mounting tmpfs needs CAP_SYS_ADMIN\n");
          skip();
        }
      fail_msg("mount tmpfs on %s: %s", dir, strerror(errno));
    }
  assert_int_equal(mount("wedge-test", dir, "tmpfs", 0, "size=64k"), 0);
  assert_int_equal(mount_is_mountpoint(dir), 1);

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(mount_unmount_all(dir, &err), 0);
  assert_int_equal(mount_is_mountpoint(dir), 0);

  _cleanup_free_ char *info = tu_read_file("/proc/self/mountinfo");
  assert_non_null(info);
  assert_null(strstr(info, dir));
}

static void
test_missing_target_is_fine(void **state)
{
  _cleanup_free_ char *missing = tu_path(*state, "nope");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(mount_unmount_all(missing, &err), 0);
  assert_int_equal(mount_is_mountpoint(missing), -ENOENT);
}

static void
test_plain_directory_is_fine(void **state)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(mount_unmount_all(*state, &err), 0);
  assert_int_equal(mount_is_mountpoint(*state), 0);
  assert_int_equal(mount_is_mountpoint("/proc"), 1);
}

static void
test_mountinfo_mount_point(void **state)
{
  (void) state;
  char line[] = "36 35 98:0 /mnt1 /mnt/with\\040space\\134x rw,noatime master:1 - ext3 /dev/root rw";
  assert_string_equal(mount_info_mount_point(line), "/mnt/with space\\x");
  char short_line[] = "36 35 98:0 /mnt1";
  assert_null(mount_info_mount_point(short_line));
  /* An escape cut short at the end of the field is kept as it is. */
  char cut[] = "1 2 3:4 / /a\\04";
  assert_string_equal(mount_info_mount_point(cut), "/a\\04");
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_unmount_all_removes_stacked_mounts, tu_setup_tmpdir, teardown),
    cmocka_unit_test_setup_teardown(test_missing_target_is_fine, tu_setup_tmpdir, teardown),
    cmocka_unit_test_setup_teardown(test_plain_directory_is_fine, tu_setup_tmpdir, teardown),
    cmocka_unit_test(test_mountinfo_mount_point),
  };
  return cmocka_run_group_tests_name("mount", tests, NULL, NULL);
}
