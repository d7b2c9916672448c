#include <errno.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "features/check.h"
#include "base/cleanup.h"
#include "features/features_cache.h"
#include "features/gate.h"
#include "fake_runtime.h"
#include "testutil.h"

/* ---- the features documents (tests/fixtures/features/README.md) ---------------------------- */

enum doc
{
  DOC_RUNC115,
  DOC_ALL,
  DOC_NONE,
  DOC_EMPTY,
  N_DOCS,
};

static const char *const doc_files[N_DOCS] = { "runc-1.1.5.json", "spec-1.2-all.json", "spec-1.2-none.json",
                                               "empty.json" };

static json_t *
load_doc(enum doc d)
{
  _cleanup_free_ char *path = fake_features_doc(doc_files[d]);
  json_error_t e;
  json_t *j = json_load_file(path, 0, &e);
  if (j == NULL)
    fail_msg("%s: %s", path, e.text);
  return j;
}

/* ---- config fragments x documents -> findings ------------------------------------------------ */

static const char plain_config[] =
  "{\"ociVersion\": \"1.0.2-dev\","
  " \"process\": {\"capabilities\": {\"bounding\": [\"CAP_KILL\", \"CAP_FOO\"]}},"
  " \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\","
  "              \"options\": [\"nosuid\", \"rro\", \"mode=755\"]}],"
  " \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}]}}";

static const char idmap_config[] =
  "{\"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
  " {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/srv\", \"options\": [\"rbind\", \"idmap\"],"
  "  \"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}], \"gidMappings\": null}]}";

static const char seccomp_config[] =
  "{\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\","
  " \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_RISCV64\"],"
  " \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\", \"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"],"
  " \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_NOTIFY\","
  "                \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}}}";

static const char lsm_config[] =
  "{\"process\": {\"apparmorProfile\": \"wedge-test\", \"selinuxLabel\": \"system_u:system_r:container_t:s0\"},"
  " \"linux\": {\"mountLabel\": \"system_u:object_r:container_file_t:s0\"}}";

static const char newer_config[] =
  "{\"ociVersion\": \"1.3.0\","
  " \"hooks\": {\"createRuntime\": [{\"path\": \"/bin/true\"}], \"fooHook\": [{\"path\": \"/bin/true\"}],"
  "            \"poststop\": []},"
  " \"annotations\": {\"run.oci.keep_original_groups\": \"1\","
  "                   \"org.systemd.property.TimeoutStopUSec\": \"uint64 5\", \"org.example.note\": \"x\"},"
  " \"process\": {\"ioPriority\": {\"class\": \"IOPRIO_CLASS_IDLE\"}},"
  " \"linux\": {\"namespaces\": [{\"type\": \"time\"}], \"netDevices\": {\"eth1\": {}},"
  "            \"resources\": {\"rdma\": {\"mlx5_0\": {\"hcaHandles\": 1}}},"
  "            \"intelRdt\": {\"closID\": \"g1\", \"schemata\": [\"L3:0=f\"]},"
  "            \"memoryPolicy\": {\"mode\": \"MPOL_BIND\", \"nodes\": \"0\", \"flags\": [\"MPOL_F_STATIC_NODES\"]}}}";

/* What check_config finds in each config against each document: a row per finding, in the order
 * it reports them, "<path> <features key, or - when no key describes the field>", and the
 * finding's severity per document in enum doc's order (runc-1.1.5, spec-1.2-all, spec-1.2-none,
 * empty): r refuse, w warn, u unknown, '.' no finding. */
#define MAX_FINDINGS 16

struct check_case
{
  const char *name;
  const char *config;
  struct
  {
    const char severity[N_DOCS + 1];
    const char *finding;
  } rows[MAX_FINDINGS];
};

static const struct check_case check_cases[] = {
  { "plain", plain_config, {
    { "...u", "ociVersion ociVersionMin" },
    /* nosuid is a mount(8) flag every runtime must honour; rro is not. */
    { "..w.", "mounts[0].options[0] mountOptions" },
    { "..wu", "mounts[0].options[1] mountOptions" },
    { "..ru", "linux.namespaces[0].type linux.namespaces" },
    { "..ru", "linux.namespaces[1].type linux.namespaces" },
    { "..wu", "process.capabilities.bounding[0] linux.capabilities" },
    { "wwwu", "process.capabilities.bounding[1] linux.capabilities" },
  } },
  { "idmap", idmap_config, {
    /* Refused by the empty document too: the one exception to "unknown is never refused". */
    { "r.rr", "mounts[1].uidMappings linux.mountExtensions.idmap.enabled" },
    { "r.rr", "mounts[1].options[1] linux.mountExtensions.idmap.enabled" },
    { "r.ru", "mounts[1].options[1] mountOptions" },
    { "..w.", "mounts[1].options[0] mountOptions" },
  } },
  { "seccomp", seccomp_config, {
    { "..ru", "linux.seccomp linux.seccomp.enabled" },
    { "..ru", "linux.seccomp.defaultAction linux.seccomp.actions" },
    { "..ru", "linux.seccomp.syscalls[0].action linux.seccomp.actions" },
    { "..ru", "linux.seccomp.syscalls[0].args[0].op linux.seccomp.operators" },
    { "..ru", "linux.seccomp.architectures[0] linux.seccomp.archs" },
    { "r.ru", "linux.seccomp.architectures[1] linux.seccomp.archs" },
    /* runc 1.1.5 reports neither flag list (and errors on any flag by itself); spec-1.2-all
     * knows WAIT_KILLABLE_RECV but this host does not have it. */
    { "u.ru", "linux.seccomp.flags[0] linux.seccomp.supportedFlags" },
    { "urru", "linux.seccomp.flags[1] linux.seccomp.supportedFlags" },
  } },
  { "lsm", lsm_config, {
    { "..ru", "process.apparmorProfile linux.apparmor.enabled" },
    { "..ru", "process.selinuxLabel linux.selinux.enabled" },
    { "..ru", "linux.mountLabel linux.selinux.enabled" },
  } },
  { "newer", newer_config, {
    { "www.", "ociVersion ociVersionMax" },
    { "...u", "ociVersion ociVersionMin" },
    { "..ru", "hooks.createRuntime hooks" },
    { "rrru", "hooks.fooHook hooks" },
    { "r.ru", "linux.namespaces[0].type linux.namespaces" },
    { "uuuu", "linux.netDevices.eth1 linux.netDevices.enabled" },
    { "uwru", "annotations[\"run.oci.keep_original_groups\"] potentiallyUnsafeConfigAnnotations" },
    { "uwru", "annotations[\"org.systemd.property.TimeoutStopUSec\"] potentiallyUnsafeConfigAnnotations" },
    { "u.wu", "linux.intelRdt linux.intelRdt.enabled" },
    { "uuuu", "linux.intelRdt.schemata linux.intelRdt.schemata" },
    /* runc 1.1.5 omits linux.cgroup.rdma yet supports RDMA: unknown, not unsupported. */
    { "u.wu", "linux.resources.rdma linux.cgroup.rdma" },
    { "uuuu", "linux.memoryPolicy.mode linux.memoryPolicy.modes" },
    { "uuuu", "linux.memoryPolicy.flags[0] linux.memoryPolicy.flags" },
    { "uuuu", "process.ioPriority -" },
  } },
};

static char *
render_findings(const struct check_result *res)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  for (size_t i = 0; i < res->n; i++)
    fprintf(f, "%s %s %s\n", check_severity_name(res->findings[i].severity), res->findings[i].path,
            res->findings[i].key ? res->findings[i].key : "-");
  fclose(f);
  return buf;
}

/* The rows of `c` that document `d` has a finding for, rendered as render_findings does. */
static char *
render_expected(const struct check_case *c, enum doc d)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  for (size_t i = 0; i < MAX_FINDINGS && c->rows[i].finding; i++)
    {
      if (strlen(c->rows[i].severity) != N_DOCS)
        fail_msg("config %s, row %zu: \"%s\" is not one severity per document", c->name, i, c->rows[i].severity);
      switch (c->rows[i].severity[d])
        {
        case '.': break;
        case 'r': fprintf(f, "refuse %s\n", c->rows[i].finding); break;
        case 'w': fprintf(f, "warn %s\n", c->rows[i].finding); break;
        case 'u': fprintf(f, "unknown %s\n", c->rows[i].finding); break;
        default: fail_msg("config %s, row %zu: severity '%c'", c->name, i, c->rows[i].severity[d]);
        }
    }
  fclose(f);
  return buf;
}

static void
test_findings_table(void **state)
{
  (void) state;
  json_t *docs[N_DOCS];
  for (int d = 0; d < N_DOCS; d++)
    docs[d] = load_doc(d);
  for (size_t c = 0; c < sizeof(check_cases) / sizeof(check_cases[0]); c++)
    {
      json_error_t e;
      json_t *config = json_loads(check_cases[c].config, 0, &e);
      if (config == NULL)
        fail_msg("%s: %s", check_cases[c].name, e.text);
      for (int d = 0; d < N_DOCS; d++)
        {
          struct check_result res;
          assert_int_equal(check_config(config, docs[d], &res, NULL), 0);
          _cleanup_free_ char *got = render_findings(&res);
          _cleanup_free_ char *want = render_expected(&check_cases[c], d);
          if (strcmp(got, want) != 0)
            fail_msg("config %s x %s:\n--- want\n%s--- got\n%s", check_cases[c].name, doc_files[d], want, got);
          size_t refuse = 0, warn = 0, unknown = 0;
          for (size_t i = 0; i < res.n; i++)
            {
              refuse += res.findings[i].severity == CHECK_REFUSE;
              warn += res.findings[i].severity == CHECK_WARN;
              unknown += res.findings[i].severity == CHECK_UNKNOWN;
            }
          assert_int_equal(res.n_refuse, refuse);
          assert_int_equal(res.n_warn, warn);
          assert_int_equal(res.n_unknown, unknown);
          check_result_clear(&res);
        }
      json_decref(config);
    }
  for (int d = 0; d < N_DOCS; d++)
    json_decref(docs[d]);
}

/* A runtime that cannot describe itself (NULL) reads as a document without any key. */
static void
test_null_features_is_empty_document(void **state)
{
  (void) state;
  json_t *empty = load_doc(DOC_EMPTY);
  for (size_t c = 0; c < sizeof(check_cases) / sizeof(check_cases[0]); c++)
    {
      json_t *config = json_loads(check_cases[c].config, 0, NULL);
      struct check_result a, b;
      assert_int_equal(check_config(config, NULL, &a, NULL), 0);
      assert_int_equal(check_config(config, empty, &b, NULL), 0);
      _cleanup_free_ char *ra = render_findings(&a);
      _cleanup_free_ char *rb = render_findings(&b);
      assert_string_equal(ra, rb);
      check_result_clear(&a);
      check_result_clear(&b);
      json_decref(config);
    }
  json_decref(empty);
}

static void
test_finding_fields(void **state)
{
  (void) state;
  json_t *config = json_loads(idmap_config, 0, NULL);
  json_t *runc = load_doc(DOC_RUNC115);
  struct check_result res;
  assert_int_equal(check_config(config, runc, &res, NULL), 0);
  assert_true(res.n >= 2);

  const struct check_finding *f = &res.findings[0];
  assert_string_equal(f->path, "mounts[1].uidMappings");
  assert_string_equal(f->context, "/data");
  assert_string_equal(f->value, "[{\"containerID\":0,\"hostID\":100000,\"size\":65536}]");
  assert_string_equal(f->key, "linux.mountExtensions.idmap.enabled");
  assert_contains(f->reason, "does not say");
  assert_true(f->needs_confirming);
  _cleanup_free_ char *line = check_finding_describe(f);
  assert_string_equal(line, "mounts[1].uidMappings (/data) = [{\"containerID\":0,\"hostID\":100000,\"size\":65536}]: "
                            "the runtime does not say whether it supports idmapped mounts "
                            "(linux.mountExtensions.idmap.enabled is absent): refused until it says yes");

  json_t *j = check_finding_to_json(&res.findings[2]);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "severity")), "refuse");
  assert_string_equal(json_string_value(json_object_get(j, "path")), "mounts[1].options[1]");
  assert_string_equal(json_string_value(json_object_get(j, "value")), "idmap");
  assert_string_equal(json_string_value(json_object_get(j, "featuresKey")), "mountOptions");
  assert_string_equal(json_string_value(json_object_get(j, "reason")), "mountOptions does not list it");
  json_decref(j);
  check_result_clear(&res);
  json_decref(runc);
  json_decref(config);

  /* A field no features key describes has a null key. */
  config = json_loads("{\"linux\": {\"personality\": {\"domain\": \"LINUX32\"}}}", 0, NULL);
  assert_int_equal(check_config(config, NULL, &res, NULL), 0);
  assert_int_equal(res.n, 1);
  assert_null(res.findings[0].key);
  j = check_finding_to_json(&res.findings[0]);
  assert_true(json_is_null(json_object_get(j, "featuresKey")));
  json_decref(j);
  check_result_clear(&res);
  json_decref(config);
}

static void
test_oci_version_range(void **state)
{
  (void) state;
  json_t *features = json_pack("{s:s, s:s}", "ociVersionMin", "1.0.0", "ociVersionMax", "1.0.2-dev");
  static const struct
  {
    const char *version;
    bool warned;
  } cases[] = {
    { "1.0.0", false }, { "1.0.2-dev", false }, { "1.0.1", false }, { "1.0.2", true },
    { "1.2.0", true },  { "0.9.0", true },      { "1.0.0-rc1", true }, { "garbage", false },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
      json_t *config = json_pack("{s:s}", "ociVersion", cases[i].version);
      struct check_result res;
      assert_int_equal(check_config(config, features, &res, NULL), 0);
      if ((res.n == 1) != cases[i].warned)
        fail_msg("ociVersion %s: %zu findings", cases[i].version, res.n);
      /* Never refused: containerd stamps a newer version into every config. */
      assert_int_equal(res.n_refuse, 0);
      check_result_clear(&res);
      json_decref(config);
    }
  json_decref(features);
}

/* ---- check_needs_features -------------------------------------------------------------------- */

/* containerd's default seccomp profile, shortened: spec 1.0 actions, archs and operators. */
#define DEFAULT_SECCOMP                                                                            \
  "\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\","                                           \
  " \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"],"              \
  " \"syscalls\": [{\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"},"           \
  "  {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\","                               \
  "   \"args\": [{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]}]}"

static const struct
{
  const char *config;
  bool needs;
} needs_cases[] = {
  { plain_config, false },
  { "{\"linux\": {" DEFAULT_SECCOMP "}}", false },
  { "{\"hooks\": {\"prestart\": [{\"path\": \"/bin/true\"}]}, \"linux\": {\"intelRdt\": {\"closID\": \"a\"}},"
    " \"process\": {\"apparmorProfile\": \"\", \"ioPriority\": {\"class\": \"IOPRIO_CLASS_RT\"}},"
    " \"annotations\": {\"io.kubernetes.cri.container-type\": \"container\"}}", false },
  { "{\"mounts\": [{\"destination\": \"/a\", \"uidMappings\": null, \"gidMappings\": null}]}", false },
  { idmap_config, true },
  { "{\"mounts\": [{\"destination\": \"/a\", \"gidMappings\": []}]}", true },
  { "{\"mounts\": [{\"destination\": \"/a\", \"options\": [\"rbind\", \"ridmap\"]}]}", true },
  { seccomp_config, true },
  { "{\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_LOG\"}}}", true },
  { "{\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": []}}}", false },
  { "{\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\","
    " \"architectures\": [\"SCMP_ARCH_RISCV64\"]}}}", true },
  { "{\"process\": {\"apparmorProfile\": \"x\"}}", true },
  { "{\"process\": {\"selinuxLabel\": \"x\"}}", true },
  { "{\"linux\": {\"mountLabel\": \"x\"}}", true },
  { "{\"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"time\"}]}}", true },
  { "{\"hooks\": {\"createRuntime\": [{\"path\": \"/bin/true\"}]}}", true },
  { "{\"hooks\": {\"createRuntime\": []}}", false },
  { "{\"linux\": {\"netDevices\": {\"eth1\": {}}}}", true },
  { "{\"annotations\": {\"run.oci.hooks.stderr\": \"/x\"}}", true },
};

static void
test_needs_features(void **state)
{
  (void) state;
  for (size_t i = 0; i < sizeof(needs_cases) / sizeof(needs_cases[0]); i++)
    {
      json_error_t e;
      json_t *config = json_loads(needs_cases[i].config, 0, &e);
      if (config == NULL)
        fail_msg("case %zu: %s", i, e.text);
      if (check_needs_features(config) != needs_cases[i].needs)
        fail_msg("case %zu (%s): check_needs_features != %d", i, needs_cases[i].config, needs_cases[i].needs);
      json_decref(config);
    }
}

/* ---- no `features` call without a need: a recording runtime ---------------------------------- */

static int
count_lines(const char *path)
{
  _cleanup_free_ char *text = tu_read_file(path);
  int n = 0;
  for (const char *p = text; p && *p; p++)
    n += *p == '\n';
  return n;
}

static int
gate_on(const char *runtime, const char *root, const char *config_json, wedge_error_t *err)
{
  struct oci_runtime rt;
  assert_int_equal(oci_runtime_init(&rt, runtime, root, NULL, false, NULL), 0);
  json_t *config = json_loads(config_json, 0, NULL);
  assert_non_null(config);
  int r = gate_check(&rt, config, err);
  json_decref(config);
  oci_runtime_destroy(&rt);
  return r;
}

static void
test_no_features_call_without_need(void **state)
{
  _cleanup_fake_features_ struct fake_features ff = fake_features_new(*state, "spec-1.2-none.json");

  for (size_t i = 0; i < sizeof(needs_cases) / sizeof(needs_cases[0]); i++)
    {
      if (needs_cases[i].needs)
        continue;
      _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
      /* A runtime that says no to everything: only an unasked runtime lets these through. */
      assert_int_equal(gate_on(ff.runtime, NULL, needs_cases[i].config, &err), 0);
      assert_int_equal(count_lines(ff.calls), 0);
    }

  /* The same runtime is asked once a config needs it, so the silence above means something. */
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(gate_on(ff.runtime, NULL, lsm_config, &err), -EOPNOTSUPP);
  assert_int_equal(count_lines(ff.calls), 1);
  assert_int_equal(err.status, WEDGE_FAILED_PRECONDITION);
  /* Every refusal listed, not only the first. */
  const char *msg = wedge_error_message(&err);
  assert_contains(msg, "refused (3): process.apparmorProfile = \"wedge-test\": the runtime does not support AppArmor "
                       "(linux.apparmor.enabled is false); process.selinuxLabel");
  assert_contains(msg, "; linux.mountLabel");
}

/* ---- the features cache ---------------------------------------------------------------------- */

static char *
cache_file(const char *dir)
{
  _cleanup_free_ char *pattern = tu_path(dir, "wedge-features-*.json");
  glob_t g;
  char *found = NULL;
  if (glob(pattern, 0, NULL, &g) == 0)
    {
      assert_int_equal(g.gl_pathc, 1);
      found = strdup(g.gl_pathv[0]);
      globfree(&g);
    }
  return found;
}

static int
cache_get(const char *runtime, const char *dir, json_t **ret, wedge_error_t *err)
{
  struct oci_runtime rt;
  assert_int_equal(oci_runtime_init(&rt, runtime, NULL, NULL, false, NULL), 0);
  int r = features_cache_get(&rt, dir, ret, err);
  oci_runtime_destroy(&rt);
  return r;
}

static void
test_cache_hit(void **state)
{
  _cleanup_fake_features_ struct fake_features ff = fake_features_new(*state, "runc-1.1.5.json");

  json_t *a = NULL, *b = NULL;
  assert_int_equal(cache_get(ff.runtime, ff.root, &a, NULL), 0);
  assert_int_equal(cache_get(ff.runtime, ff.root, &b, NULL), 0);
  assert_int_equal(count_lines(ff.calls), 1);
  assert_true(json_equal(a, b));
  assert_string_equal(json_string_value(json_object_get(a, "ociVersionMax")), "1.0.2-dev");
  json_decref(a);
  json_decref(b);

  /* 100 idmapped containers, one `features`: the gate uses the cache in the runtime root. */
  for (int i = 0; i < 100; i++)
    {
      _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
      assert_int_equal(gate_on(ff.runtime, ff.root, idmap_config, &err), -EOPNOTSUPP);
      assert_contains(wedge_error_message(&err), "mounts[1].uidMappings (/data)");
    }
  assert_int_equal(count_lines(ff.calls), 1);

  /* No cache dir: asked every time. */
  assert_int_equal(cache_get(ff.runtime, NULL, &a, NULL), 0);
  json_decref(a);
  assert_int_equal(count_lines(ff.calls), 2);
}

static void
test_cache_replaced_binary(void **state)
{
  _cleanup_fake_features_ struct fake_features ff = fake_features_new(*state, "runc-1.1.5.json");

  json_t *f = NULL;
  assert_int_equal(cache_get(ff.runtime, ff.root, &f, NULL), 0);
  assert_null(json_object_get(json_object_get(f, "linux"), "mountExtensions"));
  json_decref(f);

  /* An upgrade installs a new binary at the same path. */
  fake_features_answer(&ff, "spec-1.2-all.json");
  assert_int_equal(cache_get(ff.runtime, ff.root, &f, NULL), 0);
  assert_int_equal(count_lines(ff.calls), 2);
  assert_true(json_is_true(json_object_get(
    json_object_get(json_object_get(json_object_get(f, "linux"), "mountExtensions"), "idmap"), "enabled")));
  json_decref(f);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(gate_on(ff.runtime, ff.root, idmap_config, &err), 0);
  assert_int_equal(count_lines(ff.calls), 2);
}

static void
test_cache_corrupt_file_is_rewritten(void **state)
{
  _cleanup_fake_features_ struct fake_features ff = fake_features_new(*state, "runc-1.1.5.json");

  json_t *f = NULL;
  assert_int_equal(cache_get(ff.runtime, ff.root, &f, NULL), 0);
  json_decref(f);
  _cleanup_free_ char *file = cache_file(ff.root);
  assert_non_null(file);
  struct stat st;
  assert_int_equal(stat(file, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);

  assert_int_equal(tu_write_file(file, "{\"format\": 1, \"binary\": ", 0600), 0);
  assert_int_equal(cache_get(ff.runtime, ff.root, &f, NULL), 0);
  assert_string_equal(json_string_value(json_object_get(f, "ociVersionMin")), "1.0.0");
  json_decref(f);
  assert_int_equal(count_lines(ff.calls), 2);
  json_t *rewritten = json_load_file(file, 0, NULL);
  assert_non_null(rewritten);
  assert_non_null(json_object_get(rewritten, "features"));
  json_decref(rewritten);

  assert_int_equal(cache_get(ff.runtime, ff.root, &f, NULL), 0);
  json_decref(f);
  assert_int_equal(count_lines(ff.calls), 2);

  /* No temporary file is left behind. */
  _cleanup_free_ char *tmp_pattern = tu_path(ff.root, ".wedge-features-*");
  glob_t g;
  assert_int_equal(glob(tmp_pattern, GLOB_PERIOD, NULL, &g), GLOB_NOMATCH);
}

static void
test_cache_too_old_is_cached(void **state)
{
  _cleanup_fake_features_ struct fake_features ff = fake_features_new(*state, NULL);
  for (int i = 0; i < 3; i++)
    {
      json_t *f = NULL;
      _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
      assert_int_equal(cache_get(ff.runtime, ff.root, &f, &err), -EOPNOTSUPP);
      assert_null(f);
      assert_int_equal(err.status, WEDGE_UNIMPLEMENTED);
      assert_contains(wedge_error_message(&err), "too old");
    }
  assert_int_equal(count_lines(ff.calls), 1);

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(gate_on(ff.runtime, ff.root, idmap_config, &err), -EOPNOTSUPP);
  assert_contains(wedge_error_message(&err), "is too old");
  assert_int_equal(count_lines(ff.calls), 1);
}

static void
test_cache_missing_runtime(void **state)
{
  _cleanup_free_ char *root = tu_path(*state, "root");
  _cleanup_free_ char *missing = tu_path(*state, "no-such-runtime");
  json_t *f = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(cache_get(missing, root, &f, &err), -ENOEXEC);
  assert_null(cache_file(root));

  char *resolved = NULL;
  assert_int_equal(features_cache_resolve_binary(&(struct oci_runtime){ .binary = (char *) "sh" }, &resolved, NULL),
                   0);
  assert_true(resolved[0] == '/');
  free(resolved);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_findings_table),
    cmocka_unit_test(test_null_features_is_empty_document),
    cmocka_unit_test(test_finding_fields),
    cmocka_unit_test(test_oci_version_range),
    cmocka_unit_test(test_needs_features),
    cmocka_unit_test_setup_teardown(test_no_features_call_without_need, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_cache_hit, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_cache_replaced_binary, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_cache_corrupt_file_is_rewritten, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_cache_too_old_is_cached, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_cache_missing_runtime, tu_setup_tmpdir, tu_teardown_tmpdir),
  };
  return cmocka_run_group_tests_name("check", tests, NULL, NULL);
}
