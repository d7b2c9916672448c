/* The stand-in OCI runtime of the unit tests that drive lib/process, lib/service and the argv
 * of lib/runtime without a container: a shell script that records its argv and does, for each
 * call, what runc does to the files the shim reads afterwards. What it does is steered by files
 * in its dir, so a test sets up a fault by writing one (no per-test scripts):
 *   next.pid  its text goes into the --pid-file of every call (runc's create and exec);
 *   dump.log  copied into the --work-path of every call (CRIU's log, as runc's checkpoint and
 *             restore leave it there, failed or not);
 *   fail      while it exists, every call fails with its text on stderr, after the above.
 * Not this one: test_task's runtime, whose commands differ (each can be held until told), and
 * test_oci's one-fault scripts (a hang, a crash, a log line), which are a line each. */
#ifndef WEDGE_TEST_FAKE_RUNTIME_H
#define WEDGE_TEST_FAKE_RUNTIME_H

#include <sys/types.h>

#include "runtime/oci.h"

struct fake_runtime
{
  char *dir;    /* a temp dir of its own; fake_runtime_destroy removes it */
  char *bundle; /* dir/bundle: config.json "{}" and an empty rootfs/ */
  char *calls;  /* dir/calls: the argv of each call, one line each */
  char *fail;   /* dir/fail (not there at first) */
  struct oci_runtime rt; /* runs the stand-in, with neither --root nor --log */
};

/* Asserts (a cmocka setup may). */
void fake_runtime_init(struct fake_runtime *fr);
/* Accepts a zeroed fr. */
void fake_runtime_destroy(struct fake_runtime *fr);

/* The calls since the last take ("" when none); the next take sees only later calls. */
char *fake_runtime_calls_take(struct fake_runtime *fr);

/* Write next.pid or dump.log (see above); assert. A test writes `fail` itself. */
void fake_runtime_set_pid(struct fake_runtime *fr, pid_t pid);
void fake_runtime_set_dump_log(struct fake_runtime *fr, const char *text);

/* The features tests' stand-in, in the test's own `dir`: appends its arguments to `calls`,
 * answers `features` with a document and fails every other command. */
struct fake_features
{
  char *dir;
  char *runtime; /* dir/recording-runtime */
  char *calls;   /* dir/calls: one line per call */
  char *root;    /* dir/root: a runtime root for the features cache (the cache makes it) */
};

/* `doc`: a file in tests/fixtures/features/ (README.md there says what each is), an absolute
 * path, or NULL for a runtime without the command, answering like crun 1.8.1 ("unknown command
 * features"). Asserts. */
struct fake_features fake_features_new(const char *dir, const char *doc);
/* A new binary at the same path answering with `doc` (an upgrade); its calls go on in `calls`. */
void fake_features_answer(struct fake_features *ff, const char *doc);
void fake_features_destroy(struct fake_features *ff);
#define _cleanup_fake_features_ __attribute__((cleanup(fake_features_destroy)))

/* The path of tests/fixtures/features/<name>. */
char *fake_features_doc(const char *name);

#endif
