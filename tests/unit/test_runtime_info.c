#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "cleanup.h"
#include "google/protobuf/any.pb-c.h"
#include "runtime_info.h"
#include "testutil.h"
#include "types_introspection.pb-c.h"

static char *
write_runtime(const char *dir, const char *calls, const char *features_file)
{
  char *path = tu_write_recording_runtime(dir, calls, features_file);
  assert_non_null(path);
  return path;
}

static Containerd__Types__RuntimeInfo *
build_info(const char *runtime, const char *cache, const uint8_t *options, size_t options_len, int want)
{
  struct oci_runtime rt;
  assert_int_equal(oci_runtime_init(&rt, runtime, NULL, NULL, false, NULL), 0);
  struct runtime_info_opts o = {
    .name = "io.containerd.wedge.v2",
    .version = "0.1.0",
    .revision = "abc",
    .options = options,
    .options_len = options_len,
    .cache_dir = cache,
  };
  uint8_t *buf = NULL;
  size_t len = 0;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  int r = runtime_info_build(&rt, &o, &buf, &len, &err);
  oci_runtime_destroy(&rt);
  assert_int_equal(r, want);
  if (r < 0)
    return NULL;
  Containerd__Types__RuntimeInfo *info = containerd__types__runtime_info__unpack(NULL, len, buf);
  free(buf);
  assert_non_null(info);
  return info;
}

static void
test_info_carries_features_document(void **state)
{
  _cleanup_free_ char *calls = tu_path(*state, "calls");
  _cleanup_free_ char *cache = tu_path(*state, "root");
  _cleanup_free_ char *features = NULL;
  assert_true(asprintf(&features, "%s/tests/fixtures/features/spec-1.2-all.json", WEDGE_SOURCE_ROOT) > 0);
  _cleanup_free_ char *rt = write_runtime(*state, calls, features);

  /* runc options as containerd would send them: Any{containerd.runc.v1.Options, BinaryName}. */
  static const uint8_t options_value[] = { 0x1a, 0x04, 'r', 'u', 'n', 'c' };
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = (char *) "containerd.runc.v1.Options";
  any.value.data = (uint8_t *) options_value;
  any.value.len = sizeof(options_value);
  uint8_t packed[64];
  size_t packed_len = google__protobuf__any__pack(&any, packed);

  Containerd__Types__RuntimeInfo *info = build_info(rt, cache, packed, packed_len, 0);
  assert_string_equal(info->name, "io.containerd.wedge.v2");
  assert_non_null(info->version);
  assert_string_equal(info->version->version, "0.1.0");
  assert_string_equal(info->version->revision, "abc");
  assert_non_null(info->options);
  assert_string_equal(info->options->type_url, "containerd.runc.v1.Options");
  assert_memory_equal(info->options->value.data, options_value, sizeof(options_value));
  assert_non_null(info->features);
  assert_string_equal(info->features->type_url,
                      "types.containerd.io/opencontainers/runtime-spec/1/features/Features");
  json_t *doc = json_loadb((const char *) info->features->value.data, info->features->value.len, 0, NULL);
  assert_non_null(doc);
  assert_true(json_is_true(json_object_get(
    json_object_get(json_object_get(json_object_get(doc, "linux"), "mountExtensions"), "idmap"), "enabled")));
  json_decref(doc);
  containerd__types__runtime_info__free_unpacked(info, NULL);

  /* Cached: a second -info (and the create gate) does not ask again. */
  info = build_info(rt, cache, NULL, 0, 0);
  assert_null(info->options);
  assert_non_null(info->features);
  containerd__types__runtime_info__free_unpacked(info, NULL);
  _cleanup_free_ char *recorded = tu_read_file(calls);
  assert_string_equal(recorded, "features\n");
}

static void
test_info_without_features(void **state)
{
  _cleanup_free_ char *calls = tu_path(*state, "calls");
  _cleanup_free_ char *rt = write_runtime(*state, calls, NULL);
  /* As containerd-shim-runc-v2: a runtime that cannot describe itself gives no features. */
  Containerd__Types__RuntimeInfo *info = build_info(rt, NULL, NULL, 0, 0);
  assert_null(info->features);
  assert_string_equal(info->name, "io.containerd.wedge.v2");
  containerd__types__runtime_info__free_unpacked(info, NULL);

  static const uint8_t garbage[] = { 0xff, 0xff, 0xff };
  assert_null(build_info(rt, NULL, garbage, sizeof(garbage), -EINVAL));
  _cleanup_free_ char *missing = tu_path(*state, "no-such-runtime");
  assert_null(build_info(missing, NULL, NULL, 0, -ENOEXEC));
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_info_carries_features_document, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_info_without_features, tu_setup_tmpdir, tu_teardown_tmpdir),
  };
  return cmocka_run_group_tests_name("runtime_info", tests, NULL, NULL);
}
