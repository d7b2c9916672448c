#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "features/gate.h"
#include "fake_runtime.h"
#include "testutil.h"

#define IDMAP_CONFIG                                                                               \
  "{\"ociVersion\": \"1.0.2\", \"mounts\": ["                                                      \
  "{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"                        \
  "{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/srv\", \"options\": [\"rbind\"]," \
  " \"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],"                 \
  " \"gidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}]}]}"

#define PLAIN_CONFIG                                                                               \
  "{\"ociVersion\": \"1.0.2\", \"mounts\": ["                                                      \
  "{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"                        \
  "{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/srv\", \"options\": [\"rbind\"]}]}"

static void
write_config(const char *dir, const char *json)
{
  _cleanup_free_ char *path = tu_path(dir, "config.json");
  assert_int_equal(tu_write_file(path, json, 0644), 0);
}

/* Runs the gate on the bundle `dir` with runtime `binary`; returns its result, message in err. */
static int
run_gate(const char *dir, const char *binary, wedge_error_t *err)
{
  struct oci_runtime rt;
  assert_int_equal(oci_runtime_init(&rt, binary, NULL, NULL, false, NULL), 0);
  int r = gate_check_bundle(&rt, dir, err);
  oci_runtime_destroy(&rt);
  return r;
}

static void
test_first_idmap_mount(void **state)
{
  (void) state;
  json_t *c = json_loads(IDMAP_CONFIG, 0, NULL);
  assert_int_equal(gate_first_idmap_mount(c), 1);
  json_decref(c);

  c = json_loads(PLAIN_CONFIG, 0, NULL);
  assert_int_equal(gate_first_idmap_mount(c), -1);
  json_decref(c);

  /* null mappings are Go's nil: not idmapped; an idmap option is. */
  c = json_loads("{\"mounts\": [{\"destination\": \"/a\", \"uidMappings\": null},"
                 " {\"destination\": \"/b\", \"options\": [\"ro\", \"idmap\"]}]}", 0, NULL);
  assert_int_equal(gate_first_idmap_mount(c), 1);
  json_decref(c);

  c = json_loads("{\"mounts\": 3}", 0, NULL);
  assert_int_equal(gate_first_idmap_mount(c), -1);
  json_decref(c);
}

static void
test_runc_115_without_mount_extensions_is_refused(void **state)
{
  tu_require_binary("runc");
  write_config(*state, IDMAP_CONFIG);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(run_gate(*state, "runc", &err), -EOPNOTSUPP);
  assert_int_equal(err.status, WEDGE_FAILED_PRECONDITION);
  const char *msg = wedge_error_message(&err);
  assert_contains(msg, "runtime runc would silently ignore");
  assert_contains(msg, "mounts[1].uidMappings (/data)");
  assert_contains(msg, "mounts[1].gidMappings (/data)");
  assert_contains(msg, "does not say whether it supports idmapped mounts");
  assert_contains(msg, "linux.mountExtensions.idmap.enabled is absent");
}

static void
test_crun_181_without_features_is_too_old(void **state)
{
  tu_require_binary("crun");
  write_config(*state, IDMAP_CONFIG);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(run_gate(*state, "crun", &err), -EOPNOTSUPP);
  assert_int_equal(err.status, WEDGE_FAILED_PRECONDITION);
  const char *msg = wedge_error_message(&err);
  assert_contains(msg, "mounts[1].uidMappings (/data)");
  assert_contains(msg, "runtime crun is too old");
  assert_contains(msg, "`features` command failed");
  assert_contains(msg, "linux.mountExtensions.idmap.enabled");
}

static const char features_idmap[] =
  "{\"ociVersionMin\": \"1.0.0\", \"ociVersionMax\": \"1.2.0\","
  " \"linux\": {\"mountExtensions\": {\"idmap\": {\"enabled\": %s}}}}";

/* A runtime that reports idmapped mounts enabled or not. */
static struct fake_features
features_runtime(const char *dir, const char *enabled)
{
  _cleanup_free_ char *json = NULL;
  assert_true(asprintf(&json, features_idmap, enabled) > 0);
  _cleanup_free_ char *features = tu_path(dir, "features.json");
  assert_int_equal(tu_write_file(features, json, 0644), 0);
  return fake_features_new(dir, features);
}

static void
test_runtime_with_idmap_is_allowed(void **state)
{
  write_config(*state, IDMAP_CONFIG);
  _cleanup_fake_features_ struct fake_features ff = features_runtime(*state, "true");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(run_gate(*state, ff.runtime, &err), 0);
  assert_string_equal(wedge_error_message(&err), "");
}

static void
test_runtime_with_idmap_disabled_is_refused(void **state)
{
  write_config(*state, IDMAP_CONFIG);
  _cleanup_fake_features_ struct fake_features ff = features_runtime(*state, "false");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(run_gate(*state, ff.runtime, &err), -EOPNOTSUPP);
  assert_contains(wedge_error_message(&err), "does not support idmapped mounts");
  /* Every refusal is listed, not only the first. */
  assert_contains(wedge_error_message(&err), "refused (2): mounts[1].uidMappings");
  assert_contains(wedge_error_message(&err), "; mounts[1].gidMappings");
}

static void
test_missing_runtime_is_not_called_too_old(void **state)
{
  write_config(*state, IDMAP_CONFIG);
  _cleanup_free_ char *missing = tu_path(*state, "no-such-runtime");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(run_gate(*state, missing, &err), -ENOEXEC);
  assert_contains(wedge_error_message(&err), "could not be asked");
  assert_null(strstr(wedge_error_message(&err), "too old"));
}

static void
test_features_not_run_without_idmap_mounts(void **state)
{
  _cleanup_fake_features_ struct fake_features ff = fake_features_new(*state, NULL);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;

  write_config(*state, PLAIN_CONFIG);
  assert_int_equal(run_gate(*state, ff.runtime, &err), 0);
  _cleanup_free_ char *recorded = tu_read_file(ff.calls);
  assert_true(recorded == NULL || recorded[0] == '\0');

  /* The same runtime is asked once the config needs it, so the silence above means something. */
  write_config(*state, IDMAP_CONFIG);
  assert_int_equal(run_gate(*state, ff.runtime, &err), -EOPNOTSUPP);
  _cleanup_free_ char *recorded2 = tu_read_file(ff.calls);
  assert_non_null(recorded2);
  assert_contains(recorded2, "features");
}

static void
test_invalid_config_reports_path_line_column(void **state)
{
  write_config(*state, "{\"mounts\": [\n  {\"destination\": \"/x\",}\n]}");
  _cleanup_fake_features_ struct fake_features ff = fake_features_new(*state, NULL);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(run_gate(*state, ff.runtime, &err), -EINVAL);
  _cleanup_free_ char *want = NULL;
  assert_true(asprintf(&want, "%s/config.json: invalid JSON at line 2, column ", (char *) *state) > 0);
  assert_memory_equal(wedge_error_message(&err), want, strlen(want));
  assert_null(tu_read_file(ff.calls));

  _cleanup_free_ char *config = tu_path(*state, "config.json");
  unlink(config);
  assert_int_equal(run_gate(*state, ff.runtime, &err), -ENOENT);
  assert_contains(wedge_error_message(&err), config);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_first_idmap_mount),
    cmocka_unit_test_setup_teardown(test_runc_115_without_mount_extensions_is_refused, tu_setup_tmpdir,
                                    tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_crun_181_without_features_is_too_old, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_runtime_with_idmap_is_allowed, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_runtime_with_idmap_disabled_is_refused, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_missing_runtime_is_not_called_too_old, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_features_not_run_without_idmap_mounts, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_invalid_config_reports_path_line_column, tu_setup_tmpdir,
                                    tu_teardown_tmpdir),
  };
  return cmocka_run_group_tests_name("gate", tests, NULL, NULL);
}
