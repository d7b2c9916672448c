#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/shimsock.h"

static void
assert_join(const char *want, const char *a, const char *b, const char *c)
{
  const char *elems[] = { a, b, c };
  _cleanup_free_ char *got = shimsock_path_join(elems, ARRAY_SIZE(elems));
  assert_non_null(got);
  assert_string_equal(got, want);
}

/* Cases from Go's path/filepath join and clean tests. */
static void
test_join_like_go(void **state)
{
  (void) state;
  assert_join("/run/containerd/containerd.sock/default/c1", "/run/containerd/containerd.sock", "default", "c1");
  assert_join("", "", "", "");
  assert_join("a", "a", "", "");
  assert_join("a/b", "a", "", "b");
  assert_join("/", "/", "", "");
  assert_join("/a/b", "/a//", "/b/", "");
  assert_join("/b", "/a/..", "b", "");
  assert_join("/", "/..", "..", "");
  assert_join("../b", "a/../..", "b", "");
  assert_join("../../x", "..", "../x", "");
  assert_join(".", "a", "..", "");
  assert_join("/a/c", "/a/./b/", "../c/.", "");
  assert_join("ns/id", "", "ns", "id");
  assert_join("/run/x.sock/ns", "/run/x.sock/", "ns", "");
  assert_join("abc/def", "abc/./def", "", "");
  assert_join("/abc", "/abc/", "", "");
  assert_join("a/b/c", "a", "b/c", "");
  assert_join("b", "a", "../b", "");
}

static void
test_address_is_sha256_of_joined_path(void **state)
{
  (void) state;
  _cleanup_free_ char *address = NULL;
  /* printf %s /run/containerd/containerd.sock/default/c1 | sha256sum */
  assert_int_equal(shimsock_address(NULL, "/run/containerd/containerd.sock", "default", "c1", &address, NULL), 0);
  assert_string_equal(address,
                      "unix:///run/containerd/s/d25aa4ef11a84e954e74a5bcff06557d0b6ea8d0c00243896f29826694bbd888");
  assert_string_equal(shimsock_path(address),
                      "/run/containerd/s/d25aa4ef11a84e954e74a5bcff06557d0b6ea8d0c00243896f29826694bbd888");
  assert_null(shimsock_path("/containerd-shim/x.sock"));

  /* A trailing slash or "." in -address does not change the socket: the joined path is cleaned. */
  _cleanup_free_ char *same = NULL;
  assert_int_equal(shimsock_address(NULL, "/run/containerd/./containerd.sock/", "default", "c1", &same, NULL), 0);
  assert_string_equal(same, address);

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  char longdir[80];
  memset(longdir, 'd', sizeof(longdir) - 1);
  longdir[0] = '/';
  longdir[sizeof(longdir) - 1] = '\0';
  char *never = NULL;
  assert_int_equal(shimsock_address(longdir, "/a", "ns", "c1", &never, &err), -ENAMETOOLONG);
  assert_null(never);
  assert_non_null(strstr(wedge_error_message(&err), "unix socket path too long (> 107)"));
}

static char *
make_tmpdir(void)
{
  char *dir = strdup("/tmp/test_shimsock.XXXXXX");
  assert_non_null(mkdtemp(dir));
  return dir;
}

static void
write_file(const char *dir, const char *name, const char *content)
{
  _cleanup_free_ char *path = NULL;
  assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
  FILE *f = fopen(path, "we");
  assert_non_null(f);
  fputs(content, f);
  fclose(f);
}

static char *
group_of(const char *dir, const char *config, wedge_error_t *err, int *ret_r)
{
  _cleanup_free_ char *path = NULL;
  assert_true(asprintf(&path, "%s/config.json", dir) > 0);
  if (config)
    write_file(dir, "config.json", config);
  char *group = NULL;
  *ret_r = shimsock_group_id(path, "task1", &group, err);
  if (config)
    unlink(path);
  return group;
}

static void
test_group_id_from_annotations(void **state)
{
  (void) state;
  _cleanup_free_ char *dir = make_tmpdir();
  int r;
  char *g;

  g = group_of(dir, "{\"ociVersion\":\"1.0.2\"}", NULL, &r);
  assert_int_equal(r, 0);
  assert_string_equal(g, "task1");
  free(g);

  g = group_of(dir, "{\"annotations\":{\"io.kubernetes.cri.sandbox-id\":\"sb\",\"io.containerd.runc.v2.group\":\"grp\"}}",
               NULL, &r);
  assert_string_equal(g, "grp");
  free(g);

  g = group_of(dir, "{\"annotations\":{\"io.kubernetes.cri.sandbox-id\":\"sb\"}}", NULL, &r);
  assert_string_equal(g, "sb");
  free(g);

  g = group_of(dir, "{\"annotations\":{\"io.containerd.runc.v2.group\":\"\"}}", NULL, &r);
  assert_string_equal(g, "");
  free(g);

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  g = group_of(dir, NULL, &err, &r);
  assert_null(g);
  assert_int_equal(r, -ENOENT);
  assert_non_null(strstr(wedge_error_message(&err), "/config.json: No such file or directory"));

  g = group_of(dir, "{not json", &err, &r);
  assert_null(g);
  assert_int_equal(r, -EINVAL);
  assert_non_null(strstr(wedge_error_message(&err), "parse /tmp/test_shimsock."));

  rmdir(dir);
}

static void
test_listen_creates_0600_socket_and_detects_reuse(void **state)
{
  (void) state;
  _cleanup_free_ char *dir = make_tmpdir();
  _cleanup_free_ char *address = NULL;
  _cleanup_free_ char *sockdir = NULL;
  assert_true(asprintf(&sockdir, "%s/deep/s", dir) > 0);
  assert_int_equal(shimsock_address(sockdir, "/a.sock", "ns", "c1", &address, NULL), 0);

  assert_false(shimsock_can_connect(address));
  int fd = -1;
  assert_int_equal(shimsock_listen(address, &fd, NULL), 0);
  assert_true(fd >= 0);
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  struct stat st;
  assert_int_equal(stat(shimsock_path(address), &st), 0);
  assert_true(S_ISSOCK(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_true(shimsock_can_connect(address));

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  int fd2 = -1;
  assert_int_equal(shimsock_listen(address, &fd2, &err), -EADDRINUSE);
  assert_int_equal(fd2, -1);
  assert_int_equal(err.status, WEDGE_ALREADY_EXISTS);

  /* A socket file whose listener is gone is stale: nobody answers. */
  close(fd);
  assert_false(shimsock_can_connect(address));
  assert_int_equal(unlink(shimsock_path(address)), 0);
  assert_int_equal(shimsock_listen(address, &fd, NULL), 0);
  close(fd);
  unlink(shimsock_path(address));

  assert_int_equal(shimsock_listen("abstract-name", &fd, &err), -EINVAL);

  rmdir(sockdir);
  *strrchr(sockdir, '/') = '\0';
  rmdir(sockdir);
  rmdir(dir);
}

static void
test_write_address_atomically(void **state)
{
  (void) state;
  _cleanup_free_ char *dir = make_tmpdir();
  _cleanup_free_ char *path = NULL;
  _cleanup_free_ char *tmp = NULL;
  assert_true(asprintf(&path, "%s/address", dir) > 0);
  assert_true(asprintf(&tmp, "%s/.address", dir) > 0);
  write_file(dir, ".address", "stale temp from a crash");

  const char *addr = "unix:///run/containerd/s/d25aa4ef11a84e954e74a5bcff06557d0b6ea8d0c00243896f29826694bbd888";
  assert_int_equal(shimsock_write_address(path, addr, NULL), 0);
  char buf[256] = { 0 };
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(read(fd, buf, sizeof(buf) - 1), strlen(addr));
  close(fd);
  assert_string_equal(buf, addr);
  assert_int_equal(access(tmp, F_OK), -1);

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(shimsock_write_address("/nonexistent-dir/address", addr, &err), -ENOENT);
  assert_string_equal(wedge_error_message(&err), "write /nonexistent-dir/.address: No such file or directory");

  unlink(path);
  rmdir(dir);
}

/* The daemon's address comes from its listening fd; `start` and `delete` remove a socket file
 * only when nobody listens on it. */
static void
test_listener_address_and_remove_stale(void **state)
{
  (void) state;
  _cleanup_free_ char *dir = make_tmpdir();
  _cleanup_free_ char *address = NULL, *bound = NULL;
  assert_int_equal(shimsock_address(dir, "/a.sock", "ns", "grp", &address, NULL), 0);
  int fd = -1;
  assert_int_equal(shimsock_listen(address, &fd, NULL), 0);
  assert_int_equal(shimsock_listener_address(fd, &bound, NULL), 0);
  assert_string_equal(bound, address);

  /* A live listener keeps its file. */
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(shimsock_remove_stale(address, &err), -EADDRINUSE);
  assert_int_equal(access(shimsock_path(address), F_OK), 0);
  wedge_error_clear(&err);

  /* Once it is closed the file is stale and goes; a second call finds nothing to do. */
  close(fd);
  assert_int_equal(shimsock_remove_stale(address, NULL), 0);
  assert_int_equal(access(shimsock_path(address), F_OK), -1);
  assert_int_equal(shimsock_remove_stale(address, NULL), 0);
  assert_int_equal(shimsock_remove_stale("abstract-name", &err), -EINVAL);
  wedge_error_clear(&err);

  /* An unnamed socket has no path to give. */
  int pair[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  _cleanup_free_ char *none = NULL;
  assert_int_equal(shimsock_listener_address(pair[0], &none, &err), -EINVAL);
  assert_null(none);
  close(pair[0]);
  close(pair[1]);
  rmdir(dir);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_join_like_go),
    cmocka_unit_test(test_address_is_sha256_of_joined_path),
    cmocka_unit_test(test_group_id_from_annotations),
    cmocka_unit_test(test_listen_creates_0600_socket_and_detects_reuse),
    cmocka_unit_test(test_write_address_atomically),
    cmocka_unit_test(test_listener_address_and_remove_stale),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
