#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "fake_runtime.h"
#include "testutil.h"

/* %1$s: the stand-in's dir. Both spellings of a flag's value, "--flag v" and "--flag=v", as
 * go-runc writes the former and a runtime must take both. */
static const char fake_runtime_body[] =
  "dir='%1$s'\n"
  "printf '%%s\\n' \"$*\" >> \"$dir/calls\"\n"
  "pidfile=; work=; prev=\n"
  "for a in \"$@\"; do\n"
  "  case \"$prev\" in --pid-file) pidfile=$a;; --work-path) work=$a;; esac\n"
  "  case \"$a\" in --pid-file=*) pidfile=${a#--pid-file=};; --work-path=*) work=${a#--work-path=};; esac\n"
  "  prev=$a\n"
  "done\n"
  "if [ -n \"$work\" ] && [ -e \"$dir/dump.log\" ]; then\n"
  "  mkdir -p \"$work\" && cp \"$dir/dump.log\" \"$work/dump.log\"\n"
  "fi\n"
  "if [ -e \"$dir/fail\" ]; then echo \"$(cat \"$dir/fail\")\" >&2; exit 1; fi\n"
  "if [ -n \"$pidfile\" ] && [ -e \"$dir/next.pid\" ]; then cat \"$dir/next.pid\" > \"$pidfile\"; fi\n"
  "exit 0";

static int
fake_runtime_make(struct fake_runtime *fr)
{
  fr->dir = tu_mkdtemp();
  if (fr->dir == NULL)
    return -1;
  fr->bundle = tu_path(fr->dir, "bundle");
  fr->calls = tu_path(fr->dir, "calls");
  fr->fail = tu_path(fr->dir, "fail");
  _cleanup_free_ char *rootfs = tu_path(fr->dir, "bundle/rootfs");
  _cleanup_free_ char *config = tu_path(fr->dir, "bundle/config.json");
  _cleanup_free_ char *body = NULL;
  if (fr->bundle == NULL || fr->calls == NULL || fr->fail == NULL || rootfs == NULL || config == NULL
      || mkdir(fr->bundle, 0755) < 0 || mkdir(rootfs, 0755) < 0 || tu_write_file(config, "{}", 0644) < 0
      || asprintf(&body, fake_runtime_body, fr->dir) < 0)
    return -1;
  _cleanup_free_ char *script = tu_write_script(fr->dir, "fake-runtime", body);
  if (script == NULL)
    return -1;
  return oci_runtime_init(&fr->rt, script, NULL, NULL, false, NULL);
}

int
fake_runtime_init(struct fake_runtime *fr)
{
  memset(fr, 0, sizeof(*fr));
  if (fake_runtime_make(fr) < 0)
    {
      fake_runtime_destroy(fr);
      return -1;
    }
  return 0;
}

void
fake_runtime_destroy(struct fake_runtime *fr)
{
  oci_runtime_destroy(&fr->rt);
  tu_rm_rf(fr->dir);
  free(fr->dir);
  free(fr->bundle);
  free(fr->calls);
  free(fr->fail);
  memset(fr, 0, sizeof(*fr));
}

char *
fake_runtime_calls_take(struct fake_runtime *fr)
{
  return tu_take_file(fr->calls);
}

static int
fake_runtime_write(struct fake_runtime *fr, const char *name, const char *text)
{
  _cleanup_free_ char *path = tu_path(fr->dir, name);
  return path ? tu_write_file(path, text, 0644) : -1;
}

int
fake_runtime_set_pid(struct fake_runtime *fr, pid_t pid)
{
  char text[32];
  snprintf(text, sizeof(text), "%d", (int) pid);
  return fake_runtime_write(fr, "next.pid", text);
}

int
fake_runtime_set_dump_log(struct fake_runtime *fr, const char *text)
{
  return fake_runtime_write(fr, "dump.log", text);
}

char *
fake_runtime_features(const char *dir, const char *calls, const char *features_file)
{
  _cleanup_free_ char *body = NULL;
  const char *f = features_file ? features_file : "";
  assert_true(asprintf(&body,
                       "echo \"$*\" >> '%s'\n"
                       "[ \"$1\" = features ] || exit 1\n"
                       "[ -n '%s' ] || { echo 'unknown command features' >&2; exit 1; }\n"
                       "cat '%s'",
                       calls, f, f)
              > 0);
  char *path = tu_write_script(dir, "recording-runtime", body);
  assert_non_null(path);
  return path;
}

char *
fake_runtime_features_doc(const char *name)
{
  char *path = NULL;
  assert_true(asprintf(&path, "%s/tests/fixtures/features/%s", WEDGE_SOURCE_ROOT, name) > 0);
  return path;
}
