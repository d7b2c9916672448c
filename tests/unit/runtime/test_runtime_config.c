/* The runtime config file (runtimeoptions.v1.Options.config_path) and how runc_options_unpack
 * reaches it: what a user writes in the file is what the shim runs with, and what it cannot
 * honour is refused with the file and line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "runtime/runc_options.h"
#include "runtime/runtime_config.h"
#include "runtimeoptions.pb-c.h"
#include "testutil.h"

static int
parse(const char *text, Containerd__Runc__V1__Options **ret, wedge_error_t *err)
{
  return runtime_config_parse(text, strlen(text), "wedge.toml", ret, err);
}

/* The message of a refused file. */
static char *
refused(const char *text)
{
  _cleanup_runc_options_ Containerd__Runc__V1__Options *o = NULL;
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(parse(text, &o, &err), -EINVAL);
  assert_null(o);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  return err.msg;
}

static void
test_every_option_as_the_cri_table_spells_it(void **state)
{
  (void) state;
  _cleanup_runc_options_ Containerd__Runc__V1__Options *o = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(parse("# wedge's runc options\n"
                         "BinaryName = \"/usr/bin/crun\"   # a comment after the value\n"
                         "Root = '/run/wedge/crun'\n"
                         "\n"
                         "SystemdCgroup = true\n"
                         "NoPivotRoot = false\n"
                         "NoNewKeyring = true\n"
                         "ShimCgroup = \"/wedge\"\n"
                         "IoUid = 1_000\n"
                         "IoGid = +2000\n"
                         "CriuPath = \"/usr/sbin/criu\"\n"
                         "CriuImagePath = \"/var/lib/criu/images\"\n"
                         "CriuWorkPath = \"/var/lib/criu/work\"\n",
                         &o, &err),
                   0);
  assert_non_null(o);
  assert_string_equal(o->binary_name, "/usr/bin/crun");
  assert_string_equal(o->root, "/run/wedge/crun");
  assert_true(o->systemd_cgroup);
  assert_false(o->no_pivot_root);
  assert_true(o->no_new_keyring);
  assert_string_equal(o->shim_cgroup, "/wedge");
  assert_int_equal(o->io_uid, 1000);
  assert_int_equal(o->io_gid, 2000);
  assert_string_equal(o->criu_path, "/usr/sbin/criu");
  assert_string_equal(o->criu_image_path, "/var/lib/criu/images");
  assert_string_equal(o->criu_work_path, "/var/lib/criu/work");
}

static void
test_proto_names_crlf_and_escapes(void **state)
{
  (void) state;
  _cleanup_runc_options_ Containerd__Runc__V1__Options *o = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(parse("\xef\xbb\xbf"
                         "binary_name=\"/opt/r\\u00e9n\\\"c\\\\\"\r\n"
                         "root = 'C:\\literal'\r\n"
                         "systemdcgroup = true",
                         &o, &err),
                   0);
  assert_string_equal(o->binary_name, "/opt/r\xc3\xa9n\"c\\");
  assert_string_equal(o->root, "C:\\literal");
  assert_true(o->systemd_cgroup);
  assert_string_equal(o->shim_cgroup, "");
}

static void
test_empty_file_means_defaults(void **state)
{
  (void) state;
  _cleanup_runc_options_ Containerd__Runc__V1__Options *o = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(parse("", &o, &err), 0);
  assert_string_equal(o->binary_name, "");
  assert_false(o->systemd_cgroup);
}

static void
test_refusals_name_the_line_and_the_problem(void **state)
{
  (void) state;
  static const struct
  {
    const char *text, *message;
  } cases[] = {
    { "BinaryName = \"crun\"\nRuntimeType = \"io.containerd.runc.v2\"\n",
      "wedge.toml:2: unknown option \"RuntimeType\" (wedge reads the containerd.runc.v1.Options keys:" },
    { "Root = \"/a\"\nroot = \"/b\"\n", "wedge.toml:2: Root is set twice" },
    { "[plugins.options]\nBinaryName = \"crun\"\n", "wedge.toml:1: tables are not read here" },
    { "SystemdCgroup = \"true\"\n", "wedge.toml:1: SystemdCgroup wants true or false" },
    { "BinaryName = crun\n", "wedge.toml:1: BinaryName wants a string" },
    { "IoUid = -1\n", "wedge.toml:1: IoUid wants a non-negative integer" },
    { "IoUid = 4294967296\n", "wedge.toml:1: integer out of range" },
    { "IoUid = 0100\n", "wedge.toml:1: leading zeros are not allowed" },
    { "IoUid = 1__0\n", "wedge.toml:1: an underscore in an integer must sit between digits" },
    { "IoUid = 1.5\n", "wedge.toml:1: unexpected text after the value of IoUid" },
    { "BinaryName = \"crun\n", "wedge.toml:1: unterminated string" },
    { "BinaryName = \"\"\"crun\"\"\"\n", "wedge.toml:1: multi-line strings are not read" },
    { "BinaryName = \"a\\qb\"\n", "wedge.toml:1: unknown escape \\q" },
    { "BinaryName = \"\\u0000\"\n", "wedge.toml:1: \\u escape is not a usable character" },
    { "\"BinaryName\" = \"crun\"\n", "wedge.toml:1: expected an option name" },
    { "BinaryName \"crun\"\n", "wedge.toml:1: expected '=' after BinaryName" },
    { "BinaryName =\n", "wedge.toml:1: BinaryName has no value" },
    { "BinaryName = \"crun\" Root\n", "wedge.toml:1: unexpected text after the value of BinaryName" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
      _cleanup_free_ char *msg = refused(cases[i].text);
      assert_contains(msg, cases[i].message);
    }
  _cleanup_runc_options_ Containerd__Runc__V1__Options *o = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(runtime_config_parse("Root = \"/a\"\0", 12, "wedge.toml", &o, &err), -EINVAL);
  assert_contains(err.msg, "wedge.toml: not a text file");
}

static void
test_read_names_the_missing_or_oversized_file(void **state)
{
  const char *dir = *state;
  _cleanup_free_ char *missing = tu_path(dir, "missing.toml");
  _cleanup_runc_options_ Containerd__Runc__V1__Options *o = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(runtime_config_read(missing, &o, &err), -ENOENT);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  assert_contains(err.msg, "open runtime config ");
  assert_contains(err.msg, "missing.toml: No such file or directory");

  _cleanup_free_ char *big = tu_path(dir, "big.toml");
  _cleanup_free_ char *text = malloc(RUNTIME_CONFIG_MAX_BYTES + 2);
  memset(text, '#', RUNTIME_CONFIG_MAX_BYTES + 1);
  text[RUNTIME_CONFIG_MAX_BYTES + 1] = '\0';
  assert_int_equal(tu_write_file(big, text, 0600), 0);
  wedge_error_cleanup(&err);
  assert_int_equal(runtime_config_read(big, &o, &err), -EFBIG);
  assert_contains(err.msg, "larger than 65536 bytes");
}

/* The Any containerd sends for `ctr run --runtime-config-path` / CRI's options table. */
static void
unpack_runtimeoptions(const char *type_url, const char *config_path, Containerd__Runc__V1__Options **ret, int want,
                      wedge_error_t *err)
{
  Runtimeoptions__V1__Options ro = RUNTIMEOPTIONS__V1__OPTIONS__INIT;
  ro.type_url = (char *) type_url;
  ro.config_path = (char *) config_path;
  uint8_t buf[512];
  assert_true(runtimeoptions__v1__options__get_packed_size(&ro) <= sizeof(buf));
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = (char *) RUNC_OPTIONS_RUNTIMEOPTIONS_TYPE_URL;
  any.value.data = buf;
  any.value.len = runtimeoptions__v1__options__pack(&ro, buf);
  assert_int_equal(runc_options_unpack(&any, ret, err), want);
}

static void
test_runtimeoptions_reach_the_config_file(void **state)
{
  const char *dir = *state;
  _cleanup_free_ char *path = tu_path(dir, "wedge.toml");
  assert_int_equal(tu_write_file(path, "BinaryName = \"/usr/bin/crun\"\nRoot = \"/run/wedge\"\n", 0600), 0);

  const char *accepted[] = { "", "containerd.runc.v1.Options", "type.googleapis.com/containerd.runc.v1.Options" };
  for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
    {
      _cleanup_runc_options_ Containerd__Runc__V1__Options *o = NULL;
      _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
      unpack_runtimeoptions(accepted[i], path, &o, 0, &err);
      assert_non_null(o);
      assert_string_equal(o->binary_name, "/usr/bin/crun");
      assert_string_equal(o->root, "/run/wedge");
    }

  _cleanup_runc_options_ Containerd__Runc__V1__Options *o = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  unpack_runtimeoptions("io.containerd.kata.v2.Config", path, &o, -EINVAL, &err);
  assert_null(o);
  assert_contains(err.msg, "TypeUrl io.containerd.kata.v2.Config is not containerd.runc.v1.Options");

  /* No path: nothing to read, the defaults apply (what CRI sends for a bare options table). */
  wedge_error_cleanup(&err);
  unpack_runtimeoptions("", "", &o, 0, &err);
  assert_null(o);

  Google__Protobuf__Any bad = GOOGLE__PROTOBUF__ANY__INIT;
  bad.type_url = (char *) RUNC_OPTIONS_RUNTIMEOPTIONS_TYPE_URL;
  bad.value.data = (uint8_t *) "\x0a\x7f";
  bad.value.len = 2;
  assert_int_equal(runc_options_unpack(&bad, &o, &err), -EINVAL);
  assert_contains(err.msg, "invalid runtimeoptions.v1.Options");
}

/* `start`'s stdin: the serialized Any itself. */
static void
test_start_stdin_bytes(void **state)
{
  const char *dir = *state;
  Containerd__Runc__V1__Options in = CONTAINERD__RUNC__V1__OPTIONS__INIT;
  in.shim_cgroup = (char *) "/system.slice/shims";
  uint8_t value[256], packed[512];
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = (char *) RUNC_OPTIONS_TYPE_URL;
  any.value.data = value;
  any.value.len = containerd__runc__v1__options__pack(&in, value);
  size_t len = google__protobuf__any__pack(&any, packed);

  _cleanup_runc_options_ Containerd__Runc__V1__Options *o = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(runc_options_unpack_bytes(packed, len, &o, &err), 0);
  assert_non_null(o);
  assert_string_equal(o->shim_cgroup, "/system.slice/shims");
  containerd__runc__v1__options__free_unpacked(TAKE_PTR(o), NULL);

  /* ctr --runtime-config-path: the file's ShimCgroup. */
  _cleanup_free_ char *path = tu_path(dir, "wedge.toml");
  assert_int_equal(tu_write_file(path, "ShimCgroup = \"/shims\"\n", 0600), 0);
  Runtimeoptions__V1__Options ro = RUNTIMEOPTIONS__V1__OPTIONS__INIT;
  ro.config_path = path;
  any.type_url = (char *) RUNC_OPTIONS_RUNTIMEOPTIONS_TYPE_URL;
  any.value.len = runtimeoptions__v1__options__pack(&ro, value);
  len = google__protobuf__any__pack(&any, packed);
  assert_int_equal(runc_options_unpack_bytes(packed, len, &o, &err), 0);
  assert_non_null(o);
  assert_string_equal(o->shim_cgroup, "/shims");
  containerd__runc__v1__options__free_unpacked(TAKE_PTR(o), NULL);

  /* A file that does not parse is an error here too. */
  assert_int_equal(tu_write_file(path, "ShimCgroup = /shims\n", 0600), 0);
  assert_int_equal(runc_options_unpack_bytes(packed, len, &o, &err), -EINVAL);
  assert_contains(err.msg, "wedge.toml:1:");
  assert_null(o);

  /* Nothing, bytes that are no Any, another type: no options. */
  o = (Containerd__Runc__V1__Options *) &in;
  assert_int_equal(runc_options_unpack_bytes(NULL, 0, &o, NULL), 0);
  assert_null(o);
  assert_int_equal(runc_options_unpack_bytes("\x0a\x7f", 2, &o, NULL), 0);
  assert_null(o);
  any.type_url = (char *) "containerd.linux.runc.RuncOptions";
  len = google__protobuf__any__pack(&any, packed);
  assert_int_equal(runc_options_unpack_bytes(packed, len, &o, NULL), 0);
  assert_null(o);
}

/* What no shim acts on is refused when set, from the message and from the file alike. */
static void
test_fields_no_shim_reads_are_refused(void **state)
{
  const char *dir = *state;
  uint8_t value[256];
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = (char *) RUNC_OPTIONS_TYPE_URL;
  any.value.data = value;
  _cleanup_runc_options_ Containerd__Runc__V1__Options *o = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;

  Containerd__Runc__V1__Options in = CONTAINERD__RUNC__V1__OPTIONS__INIT;
  in.criu_image_path = (char *) "/var/lib/criu/images";
  any.value.len = containerd__runc__v1__options__pack(&in, value);
  assert_int_equal(runc_options_unpack(&any, &o, &err), -EINVAL);
  assert_null(o);
  assert_contains(err.msg, "CriuImagePath (criu_image_path) /var/lib/criu/images is not supported");

  in = (Containerd__Runc__V1__Options) CONTAINERD__RUNC__V1__OPTIONS__INIT;
  in.task_api_address = (char *) "ttrpc+unix:///run/sandbox.sock";
  any.value.len = containerd__runc__v1__options__pack(&in, value);
  assert_int_equal(runc_options_unpack(&any, &o, &err), -EINVAL);
  assert_contains(err.msg, "TaskApiAddress/TaskApiVersion (task_api_address ttrpc+unix:///run/sandbox.sock, "
                           "task_api_version 0) are not supported");
  in = (Containerd__Runc__V1__Options) CONTAINERD__RUNC__V1__OPTIONS__INIT;
  in.task_api_version = 3;
  any.value.len = containerd__runc__v1__options__pack(&in, value);
  assert_int_equal(runc_options_unpack(&any, &o, &err), -EINVAL);

  _cleanup_free_ char *path = tu_path(dir, "wedge.toml");
  assert_int_equal(tu_write_file(path, "CriuImagePath = \"/img\"\n", 0600), 0);
  unpack_runtimeoptions("", path, &o, -EINVAL, &err);
  assert_null(o);
  assert_contains(err.msg, "runtime config ");
  assert_contains(err.msg, "wedge.toml: CriuImagePath (criu_image_path) /img is not supported");

  /* Empty is unset: CRI's default runc options table has CriuImagePath = "". */
  assert_int_equal(tu_write_file(path, "CriuImagePath = \"\"\n", 0600), 0);
  unpack_runtimeoptions("", path, &o, 0, &err);
  assert_non_null(o);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_option_as_the_cri_table_spells_it),
    cmocka_unit_test(test_proto_names_crlf_and_escapes),
    cmocka_unit_test(test_empty_file_means_defaults),
    cmocka_unit_test(test_refusals_name_the_line_and_the_problem),
    cmocka_unit_test_setup_teardown(test_read_names_the_missing_or_oversized_file, tu_setup_tmpdir,
                                    tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_runtimeoptions_reach_the_config_file, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_start_stdin_bytes, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_fields_no_shim_reads_are_refused, tu_setup_tmpdir, tu_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
