#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "base/cleanup.h"
#include "google/protobuf/any.pb-c.h"
#include "runc_options.pb-c.h"
#include "features/runtime_info.h"
#include "fake_runtime.h"
#include "testutil.h"
#include "types_introspection.pb-c.h"

/* The stdin containerd writes: Any{type_url, value}. Malloc'd into *ret. */
static size_t
pack_any(const char *type_url, const uint8_t *value, size_t value_len, uint8_t **ret)
{
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = (char *) type_url;
  any.value.data = (uint8_t *) value;
  any.value.len = value_len;
  size_t len = google__protobuf__any__get_packed_size(&any);
  *ret = malloc(len);
  assert_non_null(*ret);
  return google__protobuf__any__pack(&any, *ret);
}

static size_t
pack_runc_options(const char *binary_name, const char *root, uint8_t **ret)
{
  Containerd__Runc__V1__Options o = CONTAINERD__RUNC__V1__OPTIONS__INIT;
  o.binary_name = (char *) (binary_name ? binary_name : "");
  o.root = (char *) (root ? root : "");
  uint8_t value[1024];
  assert_true(containerd__runc__v1__options__get_packed_size(&o) <= sizeof(value));
  size_t len = containerd__runc__v1__options__pack(&o, value);
  return pack_any("containerd.runc.v1.Options", value, len, ret);
}

static Containerd__Types__RuntimeInfo *
build_info(const uint8_t *options, size_t options_len, const char *default_root, int want)
{
  struct runtime_info_opts o = {
    .name = "io.containerd.wedge.v2",
    .version = "0.1.0",
    .revision = "abc",
    .options = options,
    .options_len = options_len,
    .default_root = default_root,
  };
  uint8_t *buf = NULL;
  size_t len = 0;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  int r = runtime_info_build(&o, &buf, &len, &err);
  assert_int_equal(r, want);
  if (r < 0)
    {
      assert_true(err.msg != NULL);
      return NULL;
    }
  Containerd__Types__RuntimeInfo *info = containerd__types__runtime_info__unpack(NULL, len, buf);
  free(buf);
  assert_non_null(info);
  return info;
}

static size_t
count_cache_files(const char *dir)
{
  _cleanup_free_ char *cmd = NULL;
  assert_true(asprintf(&cmd, "ls '%s' | grep -c '^wedge-features-.*\\.json$'", dir) > 0);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  unsigned n = 0;
  assert_int_equal(fscanf(p, "%u", &n), 1);
  pclose(p);
  return n;
}

static void
test_info_carries_features_document(void **state)
{
  _cleanup_fake_features_ struct fake_features ff = fake_features_new(*state, "spec-1.2-all.json");

  _cleanup_free_ uint8_t *stdin_bytes = NULL;
  size_t stdin_len = pack_runc_options(ff.runtime, ff.root, &stdin_bytes);
  Containerd__Types__RuntimeInfo *info = build_info(stdin_bytes, stdin_len, NULL, 0);
  assert_string_equal(info->name, "io.containerd.wedge.v2");
  assert_non_null(info->version);
  assert_string_equal(info->version->version, "0.1.0");
  assert_string_equal(info->version->revision, "abc");
  assert_non_null(info->options);
  assert_string_equal(info->options->type_url, "containerd.runc.v1.Options");
  Containerd__Runc__V1__Options *echoed = containerd__runc__v1__options__unpack(NULL, info->options->value.len,
                                                                                info->options->value.data);
  assert_non_null(echoed);
  assert_string_equal(echoed->binary_name, ff.runtime);
  assert_string_equal(echoed->root, ff.root);
  containerd__runc__v1__options__free_unpacked(echoed, NULL);
  assert_non_null(info->features);
  assert_string_equal(info->features->type_url,
                      "types.containerd.io/opencontainers/runtime-spec/1/features/Features");
  json_t *doc = json_loadb((const char *) info->features->value.data, info->features->value.len, 0, NULL);
  assert_non_null(doc);
  assert_true(json_is_true(json_object_get(
    json_object_get(json_object_get(json_object_get(doc, "linux"), "mountExtensions"), "idmap"), "enabled")));
  json_decref(doc);
  containerd__types__runtime_info__free_unpacked(info, NULL);

  /* Cached in Options.root itself (no namespace with -info): a second -info does not ask again. */
  assert_int_equal(count_cache_files(ff.root), 1);
  info = build_info(stdin_bytes, stdin_len, NULL, 0);
  assert_non_null(info->features);
  containerd__types__runtime_info__free_unpacked(info, NULL);
  _cleanup_free_ char *recorded = tu_read_file(ff.calls);
  assert_string_equal(recorded, "features\n");
}

static void
test_info_default_root_and_binary(void **state)
{
  _cleanup_free_ char *default_root = tu_path(*state, "default-root");
  _cleanup_fake_features_ struct fake_features ff = fake_features_new(*state, "runc-1.1.5.json");

  /* No options at all: "runc" from PATH, cached in the default root, options left out. */
  _cleanup_free_ char *bindir = tu_path(*state, "bin");
  _cleanup_free_ char *runc = tu_path(bindir, "runc");
  assert_int_equal(mkdir(bindir, 0755), 0);
  assert_int_equal(symlink(ff.runtime, runc), 0);
  const char *saved = getenv("PATH");
  _cleanup_free_ char *saved_path = saved ? strdup(saved) : NULL;
  _cleanup_free_ char *path = NULL;
  assert_true(asprintf(&path, "%s:/usr/bin:/bin", bindir) > 0);
  assert_int_equal(setenv("PATH", path, 1), 0);

  Containerd__Types__RuntimeInfo *info = build_info(NULL, 0, default_root, 0);
  assert_null(info->options);
  assert_non_null(info->features);
  containerd__types__runtime_info__free_unpacked(info, NULL);
  assert_int_equal(count_cache_files(default_root), 1);

  /* Another options type: run with the defaults, as Create does, and echo it. */
  static const uint8_t other_value[] = { 0x0a, 0x03, 'a', 'b', 'c' };
  _cleanup_free_ uint8_t *other = NULL;
  size_t other_len = pack_any("runtimeoptions.v1.Options", other_value, sizeof(other_value), &other);
  info = build_info(other, other_len, default_root, 0);
  assert_non_null(info->options);
  assert_string_equal(info->options->type_url, "runtimeoptions.v1.Options");
  assert_non_null(info->features);
  containerd__types__runtime_info__free_unpacked(info, NULL);

  if (saved_path)
    setenv("PATH", saved_path, 1);
  else
    unsetenv("PATH");
  _cleanup_free_ char *recorded = tu_read_file(ff.calls);
  assert_string_equal(recorded, "features\n");
}

static void
test_info_without_features(void **state)
{
  _cleanup_fake_features_ struct fake_features ff = fake_features_new(*state, NULL);
  _cleanup_free_ uint8_t *stdin_bytes = NULL;
  size_t stdin_len = pack_runc_options(ff.runtime, NULL, &stdin_bytes);
  /* As containerd-shim-runc-v2: a runtime that cannot describe itself gives no features. */
  Containerd__Types__RuntimeInfo *info = build_info(stdin_bytes, stdin_len, NULL, 0);
  assert_null(info->features);
  assert_string_equal(info->name, "io.containerd.wedge.v2");
  containerd__types__runtime_info__free_unpacked(info, NULL);
}

static void
test_info_refusals(void **state)
{
  static const uint8_t garbage[] = { 0xff, 0xff, 0xff };
  assert_null(build_info(garbage, sizeof(garbage), NULL, -EINVAL));

  static const uint8_t bad_value[] = { 0x32, 0x10, 'x' };
  _cleanup_free_ uint8_t *bad = NULL;
  size_t bad_len = pack_any("containerd.runc.v1.Options", bad_value, sizeof(bad_value), &bad);
  assert_null(build_info(bad, bad_len, NULL, -EINVAL));

  _cleanup_free_ char *missing = tu_path(*state, "no-such-runtime");
  _cleanup_free_ uint8_t *stdin_bytes = NULL;
  size_t stdin_len = pack_runc_options(missing, NULL, &stdin_bytes);
  assert_null(build_info(stdin_bytes, stdin_len, NULL, -ENOEXEC));
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_info_carries_features_document, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_info_default_root_and_binary, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_info_without_features, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_info_refusals, tu_setup_tmpdir, tu_teardown_tmpdir),
  };
  return cmocka_run_group_tests_name("runtime_info", tests, NULL, NULL);
}
