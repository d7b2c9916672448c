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

void
fake_runtime_init(struct fake_runtime *fr)
{
  *fr = (struct fake_runtime){ 0 };
  fr->dir = tu_mkdtemp();
  assert_non_null(fr->dir);
  fr->bundle = tu_path(fr->dir, "bundle");
  fr->calls = tu_path(fr->dir, "calls");
  fr->fail = tu_path(fr->dir, "fail");
  _cleanup_free_ char *rootfs = tu_path(fr->dir, "bundle/rootfs");
  _cleanup_free_ char *config = tu_path(fr->dir, "bundle/config.json");
  _cleanup_free_ char *body = NULL;
  assert_int_equal(mkdir(fr->bundle, 0755), 0);
  assert_int_equal(mkdir(rootfs, 0755), 0);
  assert_int_equal(tu_write_file(config, "{}", 0644), 0);
  assert_true(asprintf(&body, fake_runtime_body, fr->dir) > 0);
  _cleanup_free_ char *script = tu_write_script(fr->dir, "fake-runtime", body);
  assert_non_null(script);
  assert_int_equal(oci_runtime_init(&fr->rt, script, NULL, NULL, false, NULL), 0);
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
  *fr = (struct fake_runtime){ 0 };
}

char *
fake_runtime_calls_take(struct fake_runtime *fr)
{
  return tu_take_file(fr->calls);
}

static void
fake_runtime_write(struct fake_runtime *fr, const char *name, const char *text)
{
  _cleanup_free_ char *path = tu_path(fr->dir, name);
  assert_int_equal(tu_write_file(path, text, 0644), 0);
}

void
fake_runtime_set_pid(struct fake_runtime *fr, pid_t pid)
{
  char text[32];
  snprintf(text, sizeof(text), "%d", (int) pid);
  fake_runtime_write(fr, "next.pid", text);
}

void
fake_runtime_set_dump_log(struct fake_runtime *fr, const char *text)
{
  fake_runtime_write(fr, "dump.log", text);
}

char *
fake_features_doc(const char *name)
{
  char *path = NULL;
  assert_true(asprintf(&path, "%s/tests/fixtures/features/%s", WEDGE_SOURCE_ROOT, name) > 0);
  return path;
}

void
fake_features_answer(struct fake_features *ff, const char *doc)
{
  _cleanup_free_ char *file = doc == NULL ? strdup("") : doc[0] == '/' ? strdup(doc) : fake_features_doc(doc);
  _cleanup_free_ char *body = NULL;
  assert_non_null(file);
  assert_true(asprintf(&body,
                       "echo \"$*\" >> '%s'\n"
                       "[ \"$1\" = features ] || exit 1\n"
                       "[ -n '%s' ] || { echo 'unknown command features' >&2; exit 1; }\n"
                       "cat '%s'",
                       ff->calls, file, file)
              > 0);
  _cleanup_free_ char *path = tu_write_script(ff->dir, "recording-runtime", body);
  assert_string_equal(path, ff->runtime);
}

struct fake_features
fake_features_new(const char *dir, const char *doc)
{
  struct fake_features ff = {
    .dir = strdup(dir),
    .runtime = tu_path(dir, "recording-runtime"),
    .calls = tu_path(dir, "calls"),
    .root = tu_path(dir, "root"),
  };
  assert_true(ff.dir && ff.runtime && ff.calls && ff.root);
  fake_features_answer(&ff, doc);
  return ff;
}

void
fake_features_destroy(struct fake_features *ff)
{
  free(ff->dir);
  free(ff->runtime);
  free(ff->calls);
  free(ff->root);
  *ff = (struct fake_features){ 0 };
}
