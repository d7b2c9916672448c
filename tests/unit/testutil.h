/* Small helpers shared by the unit tests: temp dirs, files, scripts. Static so each test binary
 * carries only what it uses. The stand-in runtimes are in fake_runtime.h. */
#ifndef WEDGE_TESTUTIL_H
#define WEDGE_TESTUTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline char *
tu_mkdtemp(void)
{
  char *dir = strdup("/tmp/wedge-test-XXXXXX");
  if (dir && mkdtemp(dir) == NULL)
    {
      free(dir);
      return NULL;
    }
  return dir;
}

/* cmocka setup/teardown pair: *state is a fresh temp dir, removed afterwards. */
static inline void tu_rm_rf(const char *path);

static inline int
tu_setup_tmpdir(void **state)
{
  *state = tu_mkdtemp();
  return *state ? 0 : -1;
}

static inline int
tu_teardown_tmpdir(void **state)
{
  tu_rm_rf(*state);
  free(*state);
  return 0;
}

static inline int
tu_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* rm -rf that stays on one file system, so a test that failed to unmount cannot reach through. */
static inline void
tu_rm_rf(const char *path)
{
  if (path)
    nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static inline char *
tu_path(const char *dir, const char *name)
{
  char *p = NULL;
  if (asprintf(&p, "%s/%s", dir, name) < 0)
    return NULL;
  return p;
}

static inline int
tu_write_file(const char *path, const char *content, mode_t mode)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return -1;
  size_t len = strlen(content);
  ssize_t n = write(fd, content, len);
  close(fd);
  return n == (ssize_t) len ? 0 : -1;
}

/* The whole file, NUL terminated; "" for an empty one, NULL when missing. */
static inline char *
tu_read_file(const char *path)
{
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return NULL;
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    fwrite(chunk, 1, n, mem);
  fclose(mem);
  fclose(f);
  return buf;
}

/* What a recording stand-in appended to `path` since the last take ("" when nothing), and the
 * file removed, so that the next take sees only later calls. */
static inline char *
tu_take_file(const char *path)
{
  char *s = tu_read_file(path);
  unlink(path);
  return s ? s : strdup("");
}

/* Writes an executable shell script `name` into `dir`; returns its path. */
static inline char *
tu_write_script(const char *dir, const char *name, const char *body)
{
  char *path = tu_path(dir, name);
  char *text = NULL;
  if (path == NULL || asprintf(&text, "#!/bin/sh\n%s\n", body) < 0 || tu_write_file(path, text, 0755) < 0)
    {
      free(text);
      free(path);
      return NULL;
    }
  free(text);
  return path;
}

/* Whether `name` (a command in PATH, or a path) can be run. */
static inline bool
tu_have_binary(const char *name)
{
  char *cmd = NULL;
  if (asprintf(&cmd, "command -v '%s' >/dev/null 2>&1", name) < 0)
    return false;
  int r = system(cmd);
  free(cmd);
  return r == 0;
}

#ifdef fail_msg
/* The assertions below: include testutil.h after cmocka.h. */

/* Skips the calling test, saying why, when `name` is not installed. */
#define tu_require_binary(name)                                                                    \
  do                                                                                               \
    {                                                                                              \
      if (!tu_have_binary(name))                                                                   \
        {                                                                                          \
          print_message("skipped: %s is not installed\n", name);                                   \
          skip();                                                                                  \
        }                                                                                          \
    }                                                                                              \
  while (0)

/* Fails naming `call` and the message of `err`, the wedge_error_t it fills, when it returns a
 * negative errno. */
#define assert_ok(call, err)                                                                       \
  do                                                                                               \
    {                                                                                              \
      if ((call) < 0)                                                                              \
        fail_msg("%s: %s", #call, wedge_error_message(&(err)));                                    \
    }                                                                                              \
  while (0)

static inline void
assert_contains(const char *haystack, const char *needle)
{
  if (strstr(haystack, needle) == NULL)
    fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}
#endif

#endif
