#include "cgroup/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"

/* github.com/containerd/cgroups converts cpuacct.stat's ticks with a fixed USER_HZ of 100. */
#define METRICS_CLOCK_TICKS 100ULL
#define METRICS_NSEC_PER_SEC 1000000000ULL

#define METRICS_NEW(type, init_fn)              \
  ({                                            \
    type *_m_ = malloc(sizeof(type));           \
    if (_m_)                                    \
      init_fn(_m_);                             \
    _m_;                                        \
  })

static int
metrics_oom(wedge_error_t *err)
{
  return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
}

static void
metrics_freep(void *p)
{
  ProtobufCMessage **m = p;
  if (*m)
    protobuf_c_message_free_unpacked(*m, NULL);
}
#define _cleanup_metrics_ __attribute__((cleanup(metrics_freep)))

/* Go's strconv.ParseUint as the cgroups library wraps it: a negative number reads as 0. */
static int
metrics_parse_uint(const char *s, uint64_t *ret)
{
  if (*s == '\0')
    return -EINVAL;
  char *end = NULL;
  if (*s == '-')
    {
      errno = 0;
      (void) strtoll(s, &end, 10);
      if (*end != '\0' || end == s + 1)
        return -EINVAL;
      *ret = 0;
      return 0;
    }
  if (*s < '0' || *s > '9')
    return -EINVAL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end != '\0')
    return -EINVAL;
  *ret = v;
  return 0;
}

static char *
metrics_trim(char *s)
{
  while (*s == ' ' || *s == '\t' || *s == '\n')
    s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
    s[--n] = '\0';
  return s;
}

/* A cgroup file's content; -ENOENT (error left unset) when that controller or file is absent. */
static int
metrics_read(const struct cgroup *cg, enum cgroup_controller c, const char *file, char **ret, wedge_error_t *err)
{
  _cleanup_free_ char *path = cgroup_file(cg, c, file);
  if (path == NULL)
    return errno == ENOMEM ? metrics_oom(err) : -ENOENT;
  _cleanup_error_ wedge_error_t e = WEDGE_ERROR_INIT;
  ssize_t n = cgroup_read_file(path, ret, &e);
  if (n == -ENOENT)
    return -ENOENT;
  if (n < 0)
    {
      wedge_error_move(err, &e);
      return (int) n;
    }
  return 0;
}

static int
metrics_read_uint(const struct cgroup *cg, enum cgroup_controller c, const char *file, uint64_t *ret,
                  wedge_error_t *err)
{
  _cleanup_free_ char *s = NULL;
  int r = metrics_read(cg, c, file, &s, err);
  if (r < 0)
    return r;
  if (metrics_parse_uint(metrics_trim(s), ret) < 0)
    return wedge_error_set(err, EINVAL, WEDGE_INTERNAL, "%s: not a number: %s", file, metrics_trim(s));
  return 0;
}

static bool
metrics_fatal(int r)
{
  return r < 0 && r != -ENOENT;
}

/* Sets the uint64 field `name` of `m`, when it has one (kernel keys the message does not know are
 * skipped, as the Go maps skip them). */
static void
metrics_set_field(ProtobufCMessage *m, const char *name, uint64_t v)
{
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
  if (f && f->type == PROTOBUF_C_TYPE_UINT64 && f->label != PROTOBUF_C_LABEL_REPEATED)
    *(uint64_t *) (void *) ((char *) m + f->offset) = v;
}

typedef void (*metrics_kv_cb)(const char *key, uint64_t v, void *data);

/* "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control): exactly two
 * fields per line, else the file is malformed (the library's ErrInvalidFormat). */
static int
metrics_parse_kv(char *text, const char *file, metrics_kv_cb cb, void *data, wedge_error_t *err)
{
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
    {
      char *lsave = NULL;
      char *key = strtok_r(line, " \t", &lsave);
      if (key == NULL)
        continue;
      char *val = strtok_r(NULL, " \t", &lsave);
      uint64_t v;
      if (val == NULL || strtok_r(NULL, " \t", &lsave) != NULL || metrics_parse_uint(val, &v) < 0)
        return wedge_error_set(err, EINVAL, WEDGE_INTERNAL, "%s: invalid line for key %s", file, key);
      cb(key, v, data);
    }
  return 0;
}

static int
metrics_read_kv(const struct cgroup *cg, enum cgroup_controller c, const char *file, metrics_kv_cb cb, void *data,
                wedge_error_t *err)
{
  _cleanup_free_ char *s = NULL;
  int r = metrics_read(cg, c, file, &s, err);
  if (r < 0)
    return r;
  return metrics_parse_kv(s, file, cb, data, err);
}

static void
metrics_kv_to_message(const char *key, uint64_t v, void *data)
{
  metrics_set_field(data, key, v);
}

/* ------------------------------------------------------------------------------------------ */
/* cgroup v1 */

static void
metrics_v1_throttle_kv(const char *key, uint64_t v, void *data)
{
  Io__Containerd__Cgroups__V1__Throttle *t = data;
  if (strcmp(key, "nr_periods") == 0)
    t->periods = v;
  else if (strcmp(key, "nr_throttled") == 0)
    t->throttled_periods = v;
  else if (strcmp(key, "throttled_time") == 0)
    t->throttled_time = v;
}

static int
metrics_v1_cpuacct(const struct cgroup *cg, Io__Containerd__Cgroups__V1__CPUUsage *u, wedge_error_t *err)
{
  _cleanup_free_ char *stat = NULL, *percpu = NULL;
  int r = metrics_read(cg, CGROUP_CPUACCT, "cpuacct.stat", &stat, err);
  if (r < 0)
    return r;
  char name[2][16];
  unsigned long long val[2];
  if (sscanf(stat, "%15s %llu %15s %llu", name[0], &val[0], name[1], &val[1]) != 4 || strcmp(name[0], "user") != 0
      || strcmp(name[1], "system") != 0)
    return wedge_error_set(err, EINVAL, WEDGE_INTERNAL, "cpuacct.stat: expected user and system ticks");
  uint64_t total;
  r = metrics_read_uint(cg, CGROUP_CPUACCT, "cpuacct.usage", &total, err);
  if (r < 0)
    return r;
  r = metrics_read(cg, CGROUP_CPUACCT, "cpuacct.usage_percpu", &percpu, err);
  if (r < 0)
    return r;
  size_t n = 0;
  uint64_t *per = NULL;
  char *save = NULL;
  for (char *tok = strtok_r(percpu, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
    {
      uint64_t v;
      if (metrics_parse_uint(tok, &v) < 0)
        {
          free(per);
          return wedge_error_set(err, EINVAL, WEDGE_INTERNAL, "cpuacct.usage_percpu: not a number: %s", tok);
        }
      uint64_t *np = realloc(per, (n + 1) * sizeof(*per));
      if (np == NULL)
        {
          free(per);
          return metrics_oom(err);
        }
      per = np;
      per[n++] = v;
    }
  u->total = total;
  u->user = val[0] * METRICS_NSEC_PER_SEC / METRICS_CLOCK_TICKS;
  u->kernel = val[1] * METRICS_NSEC_PER_SEC / METRICS_CLOCK_TICKS;
  free(u->per_cpu);
  u->per_cpu = per;
  u->n_per_cpu = n;
  return 0;
}

/* memory.stat keys whose message field is spelled differently. */
static const struct
{
  const char *key, *field;
} metrics_v1_memory_renames[] = {
  { "pgpgin", "pg_pg_in" },
  { "pgpgout", "pg_pg_out" },
  { "pgfault", "pg_fault" },
  { "pgmajfault", "pg_maj_fault" },
  { "hierarchical_memsw_limit", "hierarchical_swap_limit" },
  { "total_pgpgin", "total_pg_pg_in" },
  { "total_pgpgout", "total_pg_pg_out" },
  { "total_pgfault", "total_pg_fault" },
  { "total_pgmajfault", "total_pg_maj_fault" },
};

static void
metrics_v1_memory_kv(const char *key, uint64_t v, void *data)
{
  for (size_t i = 0; i < ARRAY_SIZE(metrics_v1_memory_renames); i++)
    if (strcmp(key, metrics_v1_memory_renames[i].key) == 0)
      {
        metrics_set_field(data, metrics_v1_memory_renames[i].field, v);
        return;
      }
  metrics_set_field(data, key, v);
}

static int
metrics_v1_memory_entry(const struct cgroup *cg, const char *module, Io__Containerd__Cgroups__V1__MemoryEntry *e,
                        wedge_error_t *err)
{
  static const char *const names[] = { "usage_in_bytes", "max_usage_in_bytes", "failcnt", "limit_in_bytes" };
  uint64_t *slots[] = { &e->usage, &e->max, &e->failcnt, &e->limit };
  for (size_t i = 0; i < ARRAY_SIZE(names); i++)
    {
      char file[64];
      snprintf(file, sizeof(file), "memory.%s%s%s", module, module[0] ? "." : "", names[i]);
      int r = metrics_read_uint(cg, CGROUP_MEMORY, file, slots[i], err);
      if (r < 0)
        return r;
    }
  return 0;
}

static int
metrics_v1_memory(const struct cgroup *cg, Io__Containerd__Cgroups__V1__Metrics *m, wedge_error_t *err)
{
  _cleanup_free_ char *stat = NULL;
  int r = metrics_read(cg, CGROUP_MEMORY, "memory.stat", &stat, err);
  if (r < 0)
    return r;
  Io__Containerd__Cgroups__V1__MemoryStat *ms
    = METRICS_NEW(Io__Containerd__Cgroups__V1__MemoryStat, io__containerd__cgroups__v1__memory_stat__init);
  if (ms == NULL)
    return metrics_oom(err);
  m->memory = ms;
  Io__Containerd__Cgroups__V1__MemoryEntry **entries[] = { &ms->usage, &ms->swap, &ms->kernel, &ms->kernel_tcp };
  for (size_t i = 0; i < ARRAY_SIZE(entries); i++)
    if ((*entries[i] = METRICS_NEW(Io__Containerd__Cgroups__V1__MemoryEntry,
                                   io__containerd__cgroups__v1__memory_entry__init))
        == NULL)
      return metrics_oom(err);
  r = metrics_parse_kv(stat, "memory.stat", metrics_v1_memory_kv, ms, err);
  if (r < 0)
    return r;

  Io__Containerd__Cgroups__V1__MemoryOomControl *oc
    = METRICS_NEW(Io__Containerd__Cgroups__V1__MemoryOomControl, io__containerd__cgroups__v1__memory_oom_control__init);
  if (oc == NULL)
    return metrics_oom(err);
  m->memory_oom_control = oc;
  r = metrics_read_kv(cg, CGROUP_MEMORY, "memory.oom_control", metrics_kv_to_message, oc, err);
  if (r < 0)
    return r;

  /* The library's OptionalSwap: without swap accounting there are no memsw files at all. */
  _cleanup_free_ char *memsw = NULL;
  bool swap = metrics_read(cg, CGROUP_MEMORY, "memory.memsw.usage_in_bytes", &memsw, NULL) == 0;
  static const char *const modules[] = { "", "memsw", "kmem", "kmem.tcp" };
  for (size_t i = 0; i < ARRAY_SIZE(modules); i++)
    {
      if (i == 1 && !swap)
        continue;
      r = metrics_v1_memory_entry(cg, modules[i], *entries[i], err);
      if (r < 0)
        return r;
    }
  return 0;
}

static int
metrics_v1_pids(const struct cgroup *cg, Io__Containerd__Cgroups__V1__Metrics *m, wedge_error_t *err)
{
  uint64_t current, limit = 0;
  int r = metrics_read_uint(cg, CGROUP_PIDS, "pids.current", &current, err);
  if (r < 0)
    return r;
  _cleanup_free_ char *max = NULL;
  r = metrics_read(cg, CGROUP_PIDS, "pids.max", &max, err);
  if (r < 0)
    return r;
  char *t = metrics_trim(max);
  if (strcmp(t, "max") != 0 && metrics_parse_uint(t, &limit) < 0)
    return wedge_error_set(err, EINVAL, WEDGE_INTERNAL, "pids.max: not a number: %s", t);
  if ((m->pids = METRICS_NEW(Io__Containerd__Cgroups__V1__PidsStat, io__containerd__cgroups__v1__pids_stat__init))
      == NULL)
    return metrics_oom(err);
  m->pids->current = current;
  m->pids->limit = limit;
  return 0;
}

struct metrics_device
{
  uint64_t major, minor;
  char *name;
};

struct metrics_devices
{
  struct metrics_device *v;
  size_t n;
};

static void
metrics_devices_clear(struct metrics_devices *d)
{
  for (size_t i = 0; i < d->n; i++)
    free(d->v[i].name);
  free(d->v);
  d->v = NULL;
  d->n = 0;
}

/* /proc/partitions: two header lines, then "major minor #blocks name". */
static int
metrics_devices_load(const char *path, struct metrics_devices *ret, wedge_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  ssize_t n = cgroup_read_file(path, &text, err);
  if (n < 0)
    return (int) n;
  char *save = NULL;
  size_t lineno = 0;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), lineno++)
    {
      unsigned long long maj, min, blocks;
      char name[256];
      if (lineno == 0 || sscanf(line, "%llu %llu %llu %255s", &maj, &min, &blocks, name) != 4)
        continue;
      struct metrics_device *nv = realloc(ret->v, (ret->n + 1) * sizeof(*nv));
      if (nv == NULL)
        return metrics_oom(err);
      ret->v = nv;
      if (asprintf(&nv[ret->n].name, "/dev/%s", name) < 0)
        return metrics_oom(err);
      nv[ret->n].major = maj;
      nv[ret->n].minor = min;
      ret->n++;
    }
  return 0;
}

static const char *
metrics_device_name(const struct metrics_devices *d, uint64_t major, uint64_t minor)
{
  for (size_t i = 0; i < d->n; i++)
    if (d->v[i].major == major && d->v[i].minor == minor)
      return d->v[i].name;
  return "";
}

/* blkio.<name>: "major:minor [Op] value" lines and a "Total N" line. */
static int
metrics_v1_blkio_file(const struct cgroup *cg, const struct metrics_devices *devs, const char *name,
                      Io__Containerd__Cgroups__V1__BlkIOEntry ***entries, size_t *n_entries, wedge_error_t *err)
{
  char file[96];
  snprintf(file, sizeof(file), "blkio.%s", name);
  _cleanup_free_ char *text = NULL;
  int r = metrics_read(cg, CGROUP_BLKIO, file, &text, err);
  if (r < 0)
    return r;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
    {
      char *f[5] = { 0 };
      size_t nf = 0;
      char *lsave = NULL;
      for (char *tok = strtok_r(line, " :", &lsave); tok && nf < ARRAY_SIZE(f); tok = strtok_r(NULL, " :", &lsave))
        f[nf++] = tok;
      if (nf == 0)
        continue;
      if (nf == 2 && strcmp(f[0], "Total") == 0)
        continue;
      uint64_t maj, min, v;
      if (nf < 3 || nf > 4 || metrics_parse_uint(f[0], &maj) < 0 || metrics_parse_uint(f[1], &min) < 0
          || metrics_parse_uint(f[nf - 1], &v) < 0)
        return wedge_error_set(err, EINVAL, WEDGE_INTERNAL, "%s: invalid line", file);
      Io__Containerd__Cgroups__V1__BlkIOEntry **ne = realloc(*entries, (*n_entries + 1) * sizeof(*ne));
      if (ne == NULL)
        return metrics_oom(err);
      *entries = ne;
      Io__Containerd__Cgroups__V1__BlkIOEntry *e
        = METRICS_NEW(Io__Containerd__Cgroups__V1__BlkIOEntry, io__containerd__cgroups__v1__blk_ioentry__init);
      if (e == NULL)
        return metrics_oom(err);
      ne[(*n_entries)++] = e;
      e->major = maj;
      e->minor = min;
      e->value = v;
      if ((nf == 4 && (e->op = strdup(f[2])) == NULL)
          || (e->device = strdup(metrics_device_name(devs, maj, min))) == NULL)
        return metrics_oom(err);
    }
  return 0;
}

static int
metrics_v1_blkio(const struct cgroup *cg, const struct metrics_v1_host *host, Io__Containerd__Cgroups__V1__Metrics *m,
                 wedge_error_t *err)
{
  if (cg->dirs[CGROUP_BLKIO] == NULL)
    return -ENOENT;
  Io__Containerd__Cgroups__V1__BlkIOStat *b
    = METRICS_NEW(Io__Containerd__Cgroups__V1__BlkIOStat, io__containerd__cgroups__v1__blk_iostat__init);
  if (b == NULL)
    return metrics_oom(err);
  m->blkio = b;
  const struct
  {
    const char *name;
    Io__Containerd__Cgroups__V1__BlkIOEntry ***entries;
    size_t *n;
  } cfq[] = {
    { "sectors_recursive", &b->sectors_recursive, &b->n_sectors_recursive },
    { "io_service_bytes_recursive", &b->io_service_bytes_recursive, &b->n_io_service_bytes_recursive },
    { "io_serviced_recursive", &b->io_serviced_recursive, &b->n_io_serviced_recursive },
    { "io_queued_recursive", &b->io_queued_recursive, &b->n_io_queued_recursive },
    { "io_service_time_recursive", &b->io_service_time_recursive, &b->n_io_service_time_recursive },
    { "io_wait_time_recursive", &b->io_wait_time_recursive, &b->n_io_wait_time_recursive },
    { "io_merged_recursive", &b->io_merged_recursive, &b->n_io_merged_recursive },
    { "time_recursive", &b->io_time_recursive, &b->n_io_time_recursive },
  },
    throttle[] = {
      { "throttle.io_serviced", &b->io_serviced_recursive, &b->n_io_serviced_recursive },
      { "throttle.io_service_bytes", &b->io_service_bytes_recursive, &b->n_io_service_bytes_recursive },
    };
  _cleanup_free_ char *probe = NULL;
  bool has_cfq = metrics_read(cg, CGROUP_BLKIO, "blkio.io_serviced_recursive", &probe, NULL) == 0;

  struct metrics_devices devs = { 0 };
  int r = metrics_devices_load(host && host->partitions ? host->partitions : "/proc/partitions", &devs, err);
  size_t total = 0;
  for (size_t i = 0; r >= 0 && has_cfq && i < ARRAY_SIZE(cfq); i++)
    {
      r = metrics_v1_blkio_file(cg, &devs, cfq[i].name, cfq[i].entries, cfq[i].n, err);
      total += *cfq[i].n;
    }
  /* A cgroup whose devices do not use CFQ has empty CFQ files: the throttle files count its IO. */
  for (size_t i = 0; r >= 0 && total == 0 && i < ARRAY_SIZE(throttle); i++)
    r = metrics_v1_blkio_file(cg, &devs, throttle[i].name, throttle[i].entries, throttle[i].n, err);
  metrics_devices_clear(&devs);
  return r < 0 ? r : 0;
}

/* "hugepages-2048kB" → "2MB": the size in bytes in the largest unit that keeps it >= 1, as
 * docker's units.CustomSize("%g%s", size, 1024, ...) prints it; the kernel names the hugetlb
 * files the same way. */
static int
metrics_hugepage_name(const char *dirent, char *buf, size_t len)
{
  static const char *const units[] = { "B", "KB", "MB", "GB", "TB", "PB" };
  unsigned long long kb;
  char suffix[4];
  if (sscanf(dirent, "hugepages-%llu%3s", &kb, suffix) != 2 || strcmp(suffix, "kB") != 0)
    return -EINVAL;
  double size = (double) kb * 1024.0;
  size_t u = 0;
  while (size >= 1024.0 && u + 1 < ARRAY_SIZE(units))
    {
      size /= 1024.0;
      u++;
    }
  snprintf(buf, len, "%g%s", size, units[u]);
  return 0;
}

static int
metrics_name_cmp(const void *a, const void *b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int
metrics_v1_hugetlb(const struct cgroup *cg, const struct metrics_v1_host *host, Io__Containerd__Cgroups__V1__Metrics *m,
                   wedge_error_t *err)
{
  if (cg->dirs[CGROUP_HUGETLB] == NULL)
    return -ENOENT;
  const char *dir = host && host->hugepages_dir ? host->hugepages_dir : "/sys/kernel/mm/hugepages";
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (d == NULL)
    return errno == ENOENT ? -ENOENT : wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "open %s", dir);
  /* Go's ReadDir order: sorted by the directory entry's name. */
  char *names[64];
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL && n < ARRAY_SIZE(names))
    if (strncmp(de->d_name, "hugepages-", 10) == 0)
      {
        if ((names[n] = strdup(de->d_name)) == NULL)
          {
            while (n > 0)
              free(names[--n]);
            return metrics_oom(err);
          }
        n++;
      }
  qsort(names, n, sizeof(names[0]), metrics_name_cmp);
  int r = 0;
  for (size_t i = 0; i < n; i++)
    {
      char size[32];
      if (r < 0 || metrics_hugepage_name(names[i], size, sizeof(size)) < 0)
        continue;
      Io__Containerd__Cgroups__V1__HugetlbStat **nh = realloc(m->hugetlb, (m->n_hugetlb + 1) * sizeof(*nh));
      Io__Containerd__Cgroups__V1__HugetlbStat *h
        = METRICS_NEW(Io__Containerd__Cgroups__V1__HugetlbStat, io__containerd__cgroups__v1__hugetlb_stat__init);
      if (nh)
        m->hugetlb = nh;
      if (nh == NULL || h == NULL || (h->pagesize = strdup(size)) == NULL)
        {
          free(h);
          r = metrics_oom(err);
          continue;
        }
      m->hugetlb[m->n_hugetlb++] = h;
      static const char *const fields[] = { "usage_in_bytes", "max_usage_in_bytes", "failcnt" };
      uint64_t *slots[] = { &h->usage, &h->max, &h->failcnt };
      for (size_t k = 0; r >= 0 && k < ARRAY_SIZE(fields); k++)
        {
          char file[96];
          snprintf(file, sizeof(file), "hugetlb.%s.%s", size, fields[k]);
          r = metrics_read_uint(cg, CGROUP_HUGETLB, file, slots[k], err);
        }
    }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  return r;
}

int
metrics_v1_read(const struct cgroup *cg, const struct metrics_v1_host *host, Io__Containerd__Cgroups__V1__Metrics **ret,
                wedge_error_t *err)
{
  _cleanup_metrics_ Io__Containerd__Cgroups__V1__Metrics *m
    = METRICS_NEW(Io__Containerd__Cgroups__V1__Metrics, io__containerd__cgroups__v1__metrics__init);
  if (m == NULL)
    return metrics_oom(err);
  if ((m->cpu = METRICS_NEW(Io__Containerd__Cgroups__V1__CPUStat, io__containerd__cgroups__v1__cpustat__init)) == NULL
      || (m->cpu->usage = METRICS_NEW(Io__Containerd__Cgroups__V1__CPUUsage, io__containerd__cgroups__v1__cpuusage__init))
           == NULL
      || (m->cpu->throttling
          = METRICS_NEW(Io__Containerd__Cgroups__V1__Throttle, io__containerd__cgroups__v1__throttle__init))
           == NULL)
    return metrics_oom(err);

  /* IgnoreNotExist: a controller whose files are missing is left out, any other failure fails
   * the whole call. */
  int r = metrics_read_kv(cg, CGROUP_CPU, "cpu.stat", metrics_v1_throttle_kv, m->cpu->throttling, err);
  if (metrics_fatal(r))
    return r;
  r = metrics_v1_cpuacct(cg, m->cpu->usage, err);
  if (metrics_fatal(r))
    return r;
  r = metrics_v1_memory(cg, m, err);
  if (metrics_fatal(r))
    return r;
  r = metrics_v1_pids(cg, m, err);
  if (metrics_fatal(r))
    return r;
  r = metrics_v1_blkio(cg, host, m, err);
  if (metrics_fatal(r))
    return r;
  r = metrics_v1_hugetlb(cg, host, m, err);
  if (metrics_fatal(r))
    return r;
  wedge_error_clear(err);
  *ret = TAKE_PTR(m);
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* cgroup v2 */

/* Go's getStatFileContentUint64: "max" is UINT64_MAX, anything unreadable is 0. */
static uint64_t
metrics_v2_value(const struct cgroup *cg, const char *file)
{
  _cleanup_free_ char *s = NULL;
  if (metrics_read(cg, 0, file, &s, NULL) < 0)
    return 0;
  char *t = metrics_trim(s);
  uint64_t v = 0;
  if (strcmp(t, "max") == 0)
    return UINT64_MAX;
  (void) metrics_parse_uint(t, &v);
  return v;
}

static int
metrics_v2_io(const struct cgroup *cg, Io__Containerd__Cgroups__V2__IOStat *io, wedge_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  if (metrics_read(cg, 0, "io.stat", &text, NULL) < 0)
    return 0;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
    {
      char *lsave = NULL;
      char *dev = strtok_r(line, " ", &lsave);
      unsigned long long maj, min;
      char extra;
      if (dev == NULL || sscanf(dev, "%llu:%llu%c", &maj, &min, &extra) != 2)
        continue;
      Io__Containerd__Cgroups__V2__IOEntry **nu = realloc(io->usage, (io->n_usage + 1) * sizeof(*nu));
      if (nu == NULL)
        return metrics_oom(err);
      io->usage = nu;
      Io__Containerd__Cgroups__V2__IOEntry *e
        = METRICS_NEW(Io__Containerd__Cgroups__V2__IOEntry, io__containerd__cgroups__v2__ioentry__init);
      if (e == NULL)
        return metrics_oom(err);
      nu[io->n_usage++] = e;
      e->major = maj;
      e->minor = min;
      for (char *kv = strtok_r(NULL, " ", &lsave); kv; kv = strtok_r(NULL, " ", &lsave))
        {
          char *eq = strchr(kv, '=');
          uint64_t v;
          if (eq == NULL || metrics_parse_uint(eq + 1, &v) < 0)
            continue;
          *eq = '\0';
          if (strcmp(kv, "rbytes") == 0 || strcmp(kv, "wbytes") == 0 || strcmp(kv, "rios") == 0
              || strcmp(kv, "wios") == 0)
            metrics_set_field(&e->base, kv, v);
        }
    }
  return 0;
}

/* hugetlb.<size>.current and hugetlb.<size>.max, one entry per size. */
static int
metrics_v2_hugetlb(const struct cgroup *cg, Io__Containerd__Cgroups__V2__Metrics *m, wedge_error_t *err)
{
  _cleanup_closedir_ DIR *d = opendir(cg->path);
  if (d == NULL)
    return 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    {
      char size[64], kind[16], extra;
      if (sscanf(de->d_name, "hugetlb.%63[^.].%15[^.]%c", size, kind, &extra) != 2)
        continue;
      bool is_max = strcmp(kind, "max") == 0;
      if (!is_max && strcmp(kind, "current") != 0)
        continue;
      Io__Containerd__Cgroups__V2__HugeTlbStat *h = NULL;
      for (size_t i = 0; i < m->n_hugetlb; i++)
        if (strcmp(m->hugetlb[i]->pagesize, size) == 0)
          h = m->hugetlb[i];
      if (h == NULL)
        {
          Io__Containerd__Cgroups__V2__HugeTlbStat **nh = realloc(m->hugetlb, (m->n_hugetlb + 1) * sizeof(*nh));
          if (nh == NULL)
            return metrics_oom(err);
          m->hugetlb = nh;
          h = METRICS_NEW(Io__Containerd__Cgroups__V2__HugeTlbStat, io__containerd__cgroups__v2__huge_tlb_stat__init);
          if (h == NULL)
            return metrics_oom(err);
          nh[m->n_hugetlb++] = h;
          if ((h->pagesize = strdup(size)) == NULL)
            return metrics_oom(err);
        }
      uint64_t v = metrics_v2_value(cg, de->d_name);
      if (is_max)
        h->max = v;
      else
        h->current = v;
    }
  return 0;
}

int
metrics_v2_read(const struct cgroup *cg, Io__Containerd__Cgroups__V2__Metrics **ret, wedge_error_t *err)
{
  _cleanup_free_ char *controllers = NULL;
  int r = metrics_read(cg, 0, "cgroup.controllers", &controllers, err);
  if (r == -ENOENT)
    return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "%s/cgroup.controllers: no such file or directory", cg->path);
  if (r < 0)
    return r;
  bool has_cpu = false, has_memory = false;
  char *save = NULL;
  for (char *tok = strtok_r(controllers, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
    {
      has_cpu |= strcmp(tok, "cpu") == 0;
      has_memory |= strcmp(tok, "memory") == 0;
    }

  _cleanup_metrics_ Io__Containerd__Cgroups__V2__Metrics *m
    = METRICS_NEW(Io__Containerd__Cgroups__V2__Metrics, io__containerd__cgroups__v2__metrics__init);
  if (m == NULL || (m->pids = METRICS_NEW(Io__Containerd__Cgroups__V2__PidsStat, io__containerd__cgroups__v2__pids_stat__init)) == NULL
      || (m->cpu = METRICS_NEW(Io__Containerd__Cgroups__V2__CPUStat, io__containerd__cgroups__v2__cpustat__init)) == NULL
      || (m->memory = METRICS_NEW(Io__Containerd__Cgroups__V2__MemoryStat, io__containerd__cgroups__v2__memory_stat__init))
           == NULL
      || (m->io = METRICS_NEW(Io__Containerd__Cgroups__V2__IOStat, io__containerd__cgroups__v2__iostat__init)) == NULL
      || (m->rdma = METRICS_NEW(Io__Containerd__Cgroups__V2__RdmaStat, io__containerd__cgroups__v2__rdma_stat__init))
           == NULL)
    return metrics_oom(err);

  if (has_cpu)
    {
      r = metrics_read_kv(cg, 0, "cpu.stat", metrics_kv_to_message, m->cpu, err);
      if (r < 0 && r != -ENOENT)
        return r;
    }
  if (has_memory)
    {
      r = metrics_read_kv(cg, 0, "memory.stat", metrics_kv_to_message, m->memory, err);
      if (r < 0 && r != -ENOENT)
        return r;
    }
  /* pids.max "max" is UINT64_MAX here (getPidValue), unlike v1's 0. */
  m->pids->current = metrics_v2_value(cg, "pids.current");
  m->pids->limit = metrics_v2_value(cg, "pids.max");
  m->memory->usage = metrics_v2_value(cg, "memory.current");
  m->memory->usage_limit = metrics_v2_value(cg, "memory.max");
  m->memory->swap_usage = metrics_v2_value(cg, "memory.swap.current");
  m->memory->swap_limit = metrics_v2_value(cg, "memory.swap.max");

  Io__Containerd__Cgroups__V2__MemoryEvents *ev
    = METRICS_NEW(Io__Containerd__Cgroups__V2__MemoryEvents, io__containerd__cgroups__v2__memory_events__init);
  if (ev == NULL)
    return metrics_oom(err);
  r = metrics_read_kv(cg, 0, "memory.events", metrics_kv_to_message, ev, err);
  if (r == 0)
    m->memory_events = ev;
  else
    free(ev);
  if (r < 0 && r != -ENOENT)
    return r;

  r = metrics_v2_io(cg, m->io, err);
  if (r < 0)
    return r;
  r = metrics_v2_hugetlb(cg, m, err);
  if (r < 0)
    return r;
  wedge_error_clear(err);
  *ret = TAKE_PTR(m);
  return 0;
}

int
metrics_pack(const struct cgroup *cg, uint8_t **ret_data, size_t *ret_len, const char **ret_type_url,
             wedge_error_t *err)
{
  _cleanup_metrics_ ProtobufCMessage *m = NULL;
  const char *url;
  int r;
  if (cg->mode == CGROUP_MODE_UNIFIED)
    {
      Io__Containerd__Cgroups__V2__Metrics *m2 = NULL;
      r = metrics_v2_read(cg, &m2, err);
      m = m2 ? &m2->base : NULL;
      url = METRICS_V2_TYPE_URL;
    }
  else
    {
      Io__Containerd__Cgroups__V1__Metrics *m1 = NULL;
      r = metrics_v1_read(cg, NULL, &m1, err);
      m = m1 ? &m1->base : NULL;
      url = METRICS_V1_TYPE_URL;
    }
  if (r < 0)
    return r;
  size_t len = protobuf_c_message_get_packed_size(m);
  uint8_t *data = malloc(len ? len : 1);
  if (data == NULL)
    return metrics_oom(err);
  protobuf_c_message_pack(m, data);
  *ret_data = data;
  *ret_len = len;
  *ret_type_url = url;
  return 0;
}
