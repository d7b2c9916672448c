#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cgroup/cgroup.h"
#include "base/cleanup.h"
#include "cgroup/metrics.h"
#include "cgroup/oomwatch.h"
#include "testutil.h"

#define FIXTURES WEDGE_SOURCE_ROOT "/tests/unit/fixtures"

static const struct metrics_v1_host v1_host = {
  .partitions = FIXTURES "/cgroup-v1/partitions",
  .hugepages_dir = FIXTURES "/cgroup-v1/hugepages",
};

/* The v1 fixture as a container's cgroup: each controller in its own directory. */
static struct cgroup *
v1_cgroup(const char *root)
{
  struct cgroup *cg = calloc(1, sizeof(*cg));
  assert_non_null(cg);
  cg->mode = CGROUP_MODE_V1;
  for (int c = 0; c < CGROUP_N_CONTROLLERS; c++)
    assert_true(asprintf(&cg->dirs[c], "%s/%s", root, cgroup_controller_name(c)) > 0);
  return cg;
}

static struct cgroup *
v2_cgroup(const char *dir)
{
  struct cgroup *cg = calloc(1, sizeof(*cg));
  assert_non_null(cg);
  cg->mode = CGROUP_MODE_UNIFIED;
  cg->path = strdup(dir);
  return cg;
}

static void
test_v1_all_controllers(void **state)
{
  (void) state;
  struct cgroup *cg = v1_cgroup(FIXTURES "/cgroup-v1");
  Io__Containerd__Cgroups__V1__Metrics *m = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(metrics_v1_read(cg, &v1_host, &m, &err), 0);

  assert_int_equal(m->cpu->throttling->periods, 12);
  assert_int_equal(m->cpu->throttling->throttled_periods, 3);
  assert_int_equal(m->cpu->throttling->throttled_time, 4500000);
  assert_int_equal(m->cpu->usage->total, 1834567890ULL);
  /* USER_HZ ticks to nanoseconds. */
  assert_int_equal(m->cpu->usage->user, 1500000000ULL);
  assert_int_equal(m->cpu->usage->kernel, 250000000ULL);
  assert_int_equal(m->cpu->usage->n_per_cpu, 2);
  assert_int_equal(m->cpu->usage->per_cpu[1], 834567890ULL);

  assert_int_equal(m->memory->cache, 270336);
  assert_int_equal(m->memory->pg_pg_in, 131);
  assert_int_equal(m->memory->pg_maj_fault, 1);
  assert_int_equal(m->memory->total_pg_fault, 420);
  assert_int_equal(m->memory->hierarchical_memory_limit, 67108864);
  assert_int_equal(m->memory->hierarchical_swap_limit, 9223372036854771712ULL);
  assert_int_equal(m->memory->total_cache, 270336);
  assert_int_equal(m->memory->usage->usage, 380928);
  assert_int_equal(m->memory->usage->max, 1048576);
  assert_int_equal(m->memory->usage->failcnt, 7);
  assert_int_equal(m->memory->usage->limit, 67108864);
  assert_int_equal(m->memory->swap->limit, 67108864);
  assert_int_equal(m->memory->kernel->limit, 9223372036854771712ULL);
  assert_int_equal(m->memory->kernel_tcp->usage, 380928);
  assert_int_equal(m->memory_oom_control->oom_kill, 2);

  /* pids.max "max" is 0 in v1 metrics. */
  assert_int_equal(m->pids->current, 1);
  assert_int_equal(m->pids->limit, 0);

  /* No CFQ files: the throttle files, "Total" lines skipped, devices named from partitions. */
  assert_int_equal(m->blkio->n_io_service_bytes_recursive, 6);
  assert_string_equal(m->blkio->io_service_bytes_recursive[1]->op, "Write");
  assert_string_equal(m->blkio->io_service_bytes_recursive[1]->device, "/dev/vda");
  assert_int_equal(m->blkio->io_service_bytes_recursive[1]->major, 254);
  assert_int_equal(m->blkio->io_service_bytes_recursive[1]->value, 8192);
  assert_int_equal(m->blkio->n_io_serviced_recursive, 6);
  assert_int_equal(m->blkio->n_sectors_recursive, 0);

  /* Sizes from /sys/kernel/mm/hugepages in directory-name order, as the runc shim lists them. */
  assert_int_equal(m->n_hugetlb, 2);
  assert_string_equal(m->hugetlb[0]->pagesize, "1GB");
  assert_string_equal(m->hugetlb[1]->pagesize, "2MB");
  assert_int_equal(m->hugetlb[1]->max, 2097152);

  /* It packs, and unpacks to the same values. */
  size_t len = io__containerd__cgroups__v1__metrics__get_packed_size(m);
  _cleanup_free_ uint8_t *buf = malloc(len);
  io__containerd__cgroups__v1__metrics__pack(m, buf);
  Io__Containerd__Cgroups__V1__Metrics *u = io__containerd__cgroups__v1__metrics__unpack(NULL, len, buf);
  assert_non_null(u);
  assert_int_equal(u->memory->usage->limit, 67108864);
  assert_int_equal(u->cpu->usage->n_per_cpu, 2);
  io__containerd__cgroups__v1__metrics__free_unpacked(u, NULL);

  protobuf_c_message_free_unpacked(&m->base, NULL);
  cgroup_free(cg);
}

static void
test_v1_missing_controllers_are_left_out(void **state)
{
  (void) state;
  struct cgroup *cg = v1_cgroup(FIXTURES "/cgroup-v1");
  free(cg->dirs[CGROUP_MEMORY]);
  cg->dirs[CGROUP_MEMORY] = strdup(FIXTURES "/cgroup-v1/no-such-dir");
  free(cg->dirs[CGROUP_BLKIO]);
  cg->dirs[CGROUP_BLKIO] = NULL;
  free(cg->dirs[CGROUP_CPUACCT]);
  cg->dirs[CGROUP_CPUACCT] = NULL;
  Io__Containerd__Cgroups__V1__Metrics *m = NULL;
  assert_int_equal(metrics_v1_read(cg, &v1_host, &m, NULL), 0);
  assert_null(m->memory);
  assert_null(m->memory_oom_control);
  assert_null(m->blkio);
  /* cpu is always there, zero where cpuacct is missing. */
  assert_non_null(m->cpu->usage);
  assert_int_equal(m->cpu->usage->total, 0);
  assert_int_equal(m->cpu->throttling->periods, 12);
  assert_non_null(m->pids);
  protobuf_c_message_free_unpacked(&m->base, NULL);
  cgroup_free(cg);
}

static void
test_v1_malformed_file_fails(void **state)
{
  const char *dir = *state;
  _cleanup_free_ char *sub = tu_path(dir, "pids"), *file = tu_path(sub, "pids.current");
  assert_int_equal(mkdir(sub, 0700), 0);
  assert_int_equal(tu_write_file(file, "many\n", 0644), 0);
  struct cgroup *cg = calloc(1, sizeof(*cg));
  cg->mode = CGROUP_MODE_V1;
  cg->dirs[CGROUP_PIDS] = strdup(sub);
  Io__Containerd__Cgroups__V1__Metrics *m = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(metrics_v1_read(cg, &v1_host, &m, &err), -EINVAL);
  assert_null(m);
  assert_int_equal(err.status, WEDGE_INTERNAL);
  assert_string_equal(wedge_error_message(&err), "pids.current: not a number: many");
  cgroup_free(cg);
}

static void
test_v2_unified(void **state)
{
  (void) state;
  struct cgroup *cg = v2_cgroup(FIXTURES "/cgroup-v2");
  Io__Containerd__Cgroups__V2__Metrics *m = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(metrics_v2_read(cg, &m, &err), 0);
  assert_int_equal(m->pids->current, 2);
  /* Unlike v1, pids.max "max" is UINT64_MAX. */
  assert_true(m->pids->limit == UINT64_MAX);
  assert_int_equal(m->cpu->usage_usec, 215034);
  assert_int_equal(m->cpu->system_usec, 95034);
  assert_int_equal(m->cpu->throttled_usec, 3300);
  assert_int_equal(m->memory->anon, 4096000);
  assert_int_equal(m->memory->slab, 300000);
  assert_int_equal(m->memory->pgmajfault, 5);
  assert_int_equal(m->memory->anon_thp, 2097152);
  assert_int_equal(m->memory->usage, 4407296);
  assert_int_equal(m->memory->usage_limit, 67108864);
  assert_true(m->memory->swap_limit == UINT64_MAX);
  assert_non_null(m->memory_events);
  assert_int_equal(m->memory_events->max, 14);
  assert_int_equal(m->memory_events->oom_kill, 1);
  assert_int_equal(m->io->n_usage, 1);
  assert_int_equal(m->io->usage[0]->major, 254);
  assert_int_equal(m->io->usage[0]->rbytes, 1052672);
  assert_int_equal(m->io->usage[0]->wios, 1);
  assert_non_null(m->rdma);
  /* hugetlb.2MB.rsvd.* are not sizes of their own. */
  assert_int_equal(m->n_hugetlb, 1);
  assert_string_equal(m->hugetlb[0]->pagesize, "2MB");
  assert_true(m->hugetlb[0]->max == UINT64_MAX);
  protobuf_c_message_free_unpacked(&m->base, NULL);

  uint64_t oom_kill = 0;
  assert_int_equal(oomwatch_read_count(cg, &oom_kill), 0);
  assert_int_equal(oom_kill, 1);
  cgroup_free(cg);
}

static void
test_v2_gone_cgroup_is_not_found(void **state)
{
  (void) state;
  struct cgroup *cg = v2_cgroup(FIXTURES "/no-such-cgroup");
  Io__Containerd__Cgroups__V2__Metrics *m = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(metrics_v2_read(cg, &m, &err), -ENOENT);
  assert_int_equal(err.status, WEDGE_NOT_FOUND);
  uint64_t n;
  assert_int_equal(oomwatch_read_count(cg, &n), -ENOENT);
  cgroup_free(cg);
}

static void
test_pack_names_the_type(void **state)
{
  (void) state;
  struct cgroup *cg = v2_cgroup(FIXTURES "/cgroup-v2");
  _cleanup_free_ uint8_t *data = NULL;
  size_t len = 0;
  const char *url = NULL;
  assert_int_equal(metrics_pack(cg, &data, &len, &url, NULL), 0);
  assert_string_equal(url, "io.containerd.cgroups.v2.Metrics");
  Io__Containerd__Cgroups__V2__Metrics *u = io__containerd__cgroups__v2__metrics__unpack(NULL, len, data);
  assert_non_null(u);
  assert_int_equal(u->memory->usage, 4407296);
  /* An empty rdma section is still sent, as Go sends a non-nil empty message. */
  assert_non_null(u->rdma);
  io__containerd__cgroups__v2__metrics__free_unpacked(u, NULL);
  cgroup_free(cg);

  uint64_t oom_kill = 0;
  struct cgroup *v1 = v1_cgroup(FIXTURES "/cgroup-v1");
  assert_int_equal(oomwatch_read_count(v1, &oom_kill), 0);
  assert_int_equal(oom_kill, 2);
  cgroup_free(v1);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_v1_all_controllers),
    cmocka_unit_test(test_v1_missing_controllers_are_left_out),
    cmocka_unit_test_setup_teardown(test_v1_malformed_file_fails, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test(test_v2_unified),
    cmocka_unit_test(test_v2_gone_cgroup_is_not_found),
    cmocka_unit_test(test_pack_names_the_type),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
