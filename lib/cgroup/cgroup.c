#include "cgroup/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "base/cleanup.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static const char *const cgroup_names[CGROUP_N_CONTROLLERS] = {
  [CGROUP_CPU] = "cpu",
  [CGROUP_CPUACCT] = "cpuacct",
  [CGROUP_MEMORY] = "memory",
  [CGROUP_PIDS] = "pids",
  [CGROUP_BLKIO] = "blkio",
  [CGROUP_HUGETLB] = "hugetlb",
};

const char *
cgroup_controller_name(enum cgroup_controller c)
{
  return c < CGROUP_N_CONTROLLERS ? cgroup_names[c] : NULL;
}

int
cgroup_detect_mode(const char *root, enum cgroup_mode *ret_mode, wedge_error_t *err)
{
  struct statfs fs;
  if (statfs(root, &fs) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "statfs %s", root);
  *ret_mode = fs.f_type == CGROUP2_SUPER_MAGIC ? CGROUP_MODE_UNIFIED : CGROUP_MODE_V1;
  return 0;
}

ssize_t
cgroup_read_file(const char *path, char **ret, wedge_error_t *err)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return wedge_error_set_errno(err, errno, errno == ENOENT ? WEDGE_NOT_FOUND : WEDGE_INTERNAL, "open %s", path);
  size_t cap = 4096, len = 0;
  _cleanup_free_ char *buf = malloc(cap);
  if (buf == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  for (;;)
    {
      if (len + 1 == cap)
        {
          if (cap >= CGROUP_FILE_MAX)
            return wedge_error_set(err, EFBIG, WEDGE_INTERNAL, "%s: larger than %d bytes", path, CGROUP_FILE_MAX);
          char *nb = realloc(buf, cap * 2);
          if (nb == NULL)
            return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
          buf = nb;
          cap *= 2;
        }
      ssize_t n = read(fd, buf + len, cap - 1 - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        /* A cgroup removed under an open file reads ENODEV: the same as gone. */
        return wedge_error_set_errno(err, errno == ENODEV ? ENOENT : errno,
                                     errno == ENODEV ? WEDGE_NOT_FOUND : WEDGE_INTERNAL, "read %s", path);
      if (n == 0)
        break;
      len += (size_t) n;
    }
  buf[len] = '\0';
  *ret = TAKE_PTR(buf);
  return (ssize_t) len;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
cgroup_unescape(char *s)
{
  char *w = s;
  for (const char *r = s; *r;)
    {
      if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7')
        {
          *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
          r += 4;
        }
      else
        *w++ = *r++;
    }
  *w = '\0';
}

static bool
cgroup_list_has(const char *list, const char *name)
{
  size_t nl = strlen(name);
  for (const char *p = list; p && *p;)
    {
      const char *end = strchrnul(p, ',');
      if ((size_t) (end - p) == nl && strncmp(p, name, nl) == 0)
        return true;
      p = *end ? end + 1 : end;
    }
  return false;
}

/* The mountpoint and root of the v1 hierarchy carrying `controller` (NULL: the first v1 one). */
static int
cgroup_v1_mount(const char *mountinfo, const char *controller, char **ret_mountpoint, char **ret_root)
{
  _cleanup_free_ char *copy = strdup(mountinfo);
  if (copy == NULL)
    return -ENOMEM;
  char *save = NULL;
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
    {
      /* id parent major:minor root mountpoint options [optional...] - fstype source superoptions */
      char *f[6] = { 0 };
      char *lsave = NULL, *tok = strtok_r(line, " ", &lsave);
      size_t i = 0;
      for (; tok && i < 5; tok = strtok_r(NULL, " ", &lsave))
        f[i++] = tok;
      while (tok && strcmp(tok, "-") != 0)
        tok = strtok_r(NULL, " ", &lsave);
      if (i < 5 || tok == NULL)
        continue;
      char *fstype = strtok_r(NULL, " ", &lsave);
      (void) strtok_r(NULL, " ", &lsave);
      char *super = strtok_r(NULL, " ", &lsave);
      if (fstype == NULL || strcmp(fstype, "cgroup") != 0 || (controller && !cgroup_list_has(super, controller)))
        continue;
      cgroup_unescape(f[3]);
      cgroup_unescape(f[4]);
      char *mp = strdup(f[4]), *root = strdup(f[3]);
      if (mp == NULL || root == NULL)
        {
          free(mp);
          free(root);
          return -ENOMEM;
        }
      *ret_mountpoint = mp;
      *ret_root = root;
      return 0;
    }
  return -ENOENT;
}

/* The path of `controller` (NULL: the unified hierarchy, "0::") in /proc/<pid>/cgroup. */
static const char *
cgroup_pid_path(char *proc_cgroup_copy, const char *controller)
{
  char *save = NULL;
  for (char *line = strtok_r(proc_cgroup_copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
    {
      char *c1 = strchr(line, ':');
      char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
      if (c2 == NULL)
        continue;
      *c2 = '\0';
      const char *list = c1 + 1;
      if (controller == NULL ? (strncmp(line, "0:", 2) == 0 && *list == '\0') : cgroup_list_has(list, controller))
        return c2 + 1;
    }
  return NULL;
}

static char *
cgroup_join(const char *mountpoint, const char *mount_root, const char *path)
{
  size_t rl = strlen(mount_root);
  /* A hierarchy mounted from a subdirectory (a container's view) holds paths below that root. */
  if (rl > 1 && strncmp(path, mount_root, rl) == 0 && (path[rl] == '/' || path[rl] == '\0'))
    path += rl;
  while (*path == '/')
    path++;
  char *s = NULL;
  if (asprintf(&s, "%s%s%s", mountpoint, *path ? "/" : "", path) < 0)
    return NULL;
  return s;
}

void
cgroup_free(struct cgroup *cg)
{
  if (cg == NULL)
    return;
  free(cg->path);
  for (size_t i = 0; i < CGROUP_N_CONTROLLERS; i++)
    free(cg->dirs[i]);
  free(cg);
}

static int
cgroup_oom(wedge_error_t *err)
{
  return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
}

int
cgroup_load_text(enum cgroup_mode mode, const char *proc_cgroup, const char *mountinfo, const char *v2_root,
                 struct cgroup **ret, wedge_error_t *err)
{
  struct cgroup *cg = calloc(1, sizeof(*cg));
  if (cg == NULL)
    return cgroup_oom(err);
  cg->mode = mode;
  if (mode == CGROUP_MODE_UNIFIED)
    {
      _cleanup_free_ char *copy = strdup(proc_cgroup);
      if (copy == NULL)
        {
          cgroup_free(cg);
          return cgroup_oom(err);
        }
      const char *p = cgroup_pid_path(copy, NULL);
      if (p == NULL)
        {
          cgroup_free(cg);
          return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "no cgroup v2 entry (0::) for the process");
        }
      if ((cg->path = cgroup_join(v2_root, "/", p)) == NULL)
        {
          cgroup_free(cg);
          return cgroup_oom(err);
        }
      *ret = cg;
      return 0;
    }

  bool any = false;
  for (size_t i = 0; i < CGROUP_N_CONTROLLERS; i++)
    {
      _cleanup_free_ char *copy = strdup(proc_cgroup), *mp = NULL, *root = NULL;
      if (copy == NULL)
        {
          cgroup_free(cg);
          return cgroup_oom(err);
        }
      const char *p = cgroup_pid_path(copy, cgroup_names[i]);
      if (p == NULL)
        continue;
      int r = cgroup_v1_mount(mountinfo, cgroup_names[i], &mp, &root);
      if (r == -ENOENT)
        continue;
      if (r < 0 || (cg->dirs[i] = cgroup_join(mp, root, p)) == NULL)
        {
          cgroup_free(cg);
          return cgroup_oom(err);
        }
      any = true;
    }
  if (!any)
    {
      cgroup_free(cg);
      return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "no mounted cgroup v1 controller for the process");
    }
  *ret = cg;
  return 0;
}

int
cgroup_load_pid(pid_t pid, struct cgroup **ret, wedge_error_t *err)
{
  enum cgroup_mode mode;
  int r = cgroup_detect_mode(CGROUP_ROOT, &mode, err);
  if (r < 0)
    return r;
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) pid);
  _cleanup_free_ char *pc = NULL, *mi = NULL;
  ssize_t n = cgroup_read_file(path, &pc, err);
  if (n < 0)
    return (int) n;
  if (mode == CGROUP_MODE_V1)
    {
      n = cgroup_read_file("/proc/self/mountinfo", &mi, err);
      if (n < 0)
        return (int) n;
    }
  return cgroup_load_text(mode, pc, mi ? mi : "", CGROUP_ROOT, ret, err);
}

char *
cgroup_file(const struct cgroup *cg, enum cgroup_controller c, const char *file)
{
  const char *dir = cg->mode == CGROUP_MODE_UNIFIED ? cg->path : (c < CGROUP_N_CONTROLLERS ? cg->dirs[c] : NULL);
  if (dir == NULL)
    {
      errno = ENOENT;
      return NULL;
    }
  char *s = NULL;
  if (asprintf(&s, "%s/%s", dir, file) < 0)
    {
      errno = ENOMEM;
      return NULL;
    }
  return s;
}

int
cgroup_enable_controllers(const struct cgroup *cg, const char *v2_root, wedge_error_t *err)
{
  if (cg->mode != CGROUP_MODE_UNIFIED)
    return 0;
  size_t rl = strlen(v2_root);
  if (strncmp(cg->path, v2_root, rl) != 0 || (cg->path[rl] != '/' && cg->path[rl] != '\0'))
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s is not below %s", cg->path, v2_root);
  _cleanup_free_ char *root_file = NULL, *names = NULL, *line = NULL;
  if (asprintf(&root_file, "%s/cgroup.controllers", v2_root) < 0)
    return cgroup_oom(err);
  ssize_t n = cgroup_read_file(root_file, &names, err);
  if (n < 0)
    return (int) n;
  size_t cap = (size_t) n * 2 + 2, len = 0;
  if ((line = malloc(cap)) == NULL)
    return cgroup_oom(err);
  char *save = NULL;
  for (char *tok = strtok_r(names, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
    len += (size_t) snprintf(line + len, cap - len, "%s+%s", len ? " " : "", tok);
  if (len == 0)
    return 0;

  int last = 0;
  /* The ancestors: v2_root, then each directory down to the parent of the container's. */
  size_t pl = strlen(cg->path);
  for (size_t i = rl; i < pl; i++)
    {
      if (cg->path[i] != '/')
        continue;
      _cleanup_free_ char *ctl = NULL;
      if (asprintf(&ctl, "%.*s/cgroup.subtree_control", (int) i, cg->path) < 0)
        return cgroup_oom(err);
      _cleanup_close_ int fd = open(ctl, O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write(fd, line, len) != (ssize_t) len)
        last = wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "failed to write subtree controllers %s to %s", line,
                                     ctl);
      else
        {
          last = 0;
          wedge_error_clear(err);
        }
    }
  return last;
}

int
cgroup_v1_root(const char *mountinfo, char **ret, wedge_error_t *err)
{
  _cleanup_free_ char *mp = NULL, *root = NULL;
  int r = cgroup_v1_mount(mountinfo, NULL, &mp, &root);
  if (r == -ENOENT)
    return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "no cgroup v1 hierarchy is mounted");
  if (r < 0)
    return cgroup_oom(err);
  char *slash = strrchr(mp, '/');
  if (slash == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INTERNAL, "cgroup v1 mountpoint %s is not absolute", mp);
  if (slash == mp)
    slash++;
  *slash = '\0';
  *ret = TAKE_PTR(mp);
  return 0;
}

/* containerd/cgroups v1 defaults(): the subsystems the runc shim's Load considers, in its order
 * (the one a failed move stops at). "systemd" is the name=systemd hierarchy's directory. */
static const char *const cgroup_v1_subsystems[] = {
  "systemd", "freezer", "pids",   "net_cls", "net_prio", "perf_event", "cpuset",
  "cpu",     "cpuacct", "memory", "blkio",   "rdma",     "devices",    "hugetlb",
};

/* containerd's RunningInUserNS: the identity map of the initial namespace is "0 0 4294967295". */
static bool
cgroup_in_user_ns(void)
{
  _cleanup_free_ char *map = NULL;
  if (cgroup_read_file("/proc/self/uid_map", &map, NULL) < 0)
    return false;
  unsigned long inside, outside, count;
  if (sscanf(map, "%lu %lu %lu", &inside, &outside, &count) != 3)
    return false;
  return !(inside == 0 && outside == 0 && count == 4294967295UL);
}

static int
cgroup_write_pid(const char *dir, const char *path, pid_t pid, wedge_error_t *err)
{
  _cleanup_free_ char *file = NULL;
  if (asprintf(&file, "%s/cgroup.procs", dir) < 0)
    return cgroup_oom(err);
  char buf[24];
  int n = snprintf(buf, sizeof(buf), "%d", (int) pid);
  /* No O_CREAT: every cgroup directory has cgroup.procs, and a directory without one is not a
   * cgroup we should write into. */
  _cleanup_close_ int fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_FAILED_PRECONDITION, "failed to join cgroup %s: open %s", path,
                                 file);
  ssize_t w;
  do
    w = write(fd, buf, (size_t) n);
  while (w < 0 && errno == EINTR);
  if (w != n)
    return wedge_error_set_errno(err, w < 0 ? errno : EIO, WEDGE_FAILED_PRECONDITION,
                                 "failed to join cgroup %s: write %s", path, file);
  return 0;
}

static bool
cgroup_path_has_dotdot(const char *path)
{
  for (const char *p = path; *p;)
    {
      const char *end = strchrnul(p, '/');
      if (end - p == 2 && p[0] == '.' && p[1] == '.')
        return true;
      p = *end ? end + 1 : end;
    }
  return false;
}

/* cgroups v2 VerifyGroupPath: absolute, as filepath.Clean leaves it, not below the mount. */
static bool
cgroup_v2_group_ok(const char *path)
{
  if (path[0] != '/' || strncmp(path, CGROUP_ROOT, strlen(CGROUP_ROOT)) == 0)
    return false;
  if (strcmp(path, "/") == 0)
    return true;
  size_t len = strlen(path);
  if (path[len - 1] == '/' || strstr(path, "//") != NULL)
    return false;
  for (const char *p = path + 1; *p;)
    {
      const char *end = strchrnul(p, '/');
      if ((end - p == 1 && p[0] == '.') || (end - p == 2 && p[0] == '.' && p[1] == '.'))
        return false;
      p = *end ? end + 1 : end;
    }
  return true;
}

int
cgroup_attach_pid_at(enum cgroup_mode mode, const char *root, const char *path, pid_t pid, wedge_error_t *err)
{
  if (path == NULL || path[0] == '\0')
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "failed to load cgroup: empty path");
  if (mode == CGROUP_MODE_UNIFIED)
    {
      if (!cgroup_v2_group_ok(path))
        return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT,
                               "failed to load cgroup %s: invalid group path (cgroup v2 wants an absolute, clean "
                               "path below %s, such as /system.slice/shims)",
                               path, root);
      _cleanup_free_ char *dir = cgroup_join(root, "/", path);
      if (dir == NULL)
        return cgroup_oom(err);
      return cgroup_write_pid(dir, path, pid, err);
    }

  if (cgroup_path_has_dotdot(path))
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT,
                           "failed to load cgroup %s: invalid group path (\"..\" would leave the hierarchy)", path);
  bool userns = cgroup_in_user_ns();
  size_t n_dirs = 0;
  char *dirs[sizeof(cgroup_v1_subsystems) / sizeof(cgroup_v1_subsystems[0])] = { 0 };
  int r = 0;
  for (size_t i = 0; i < sizeof(cgroup_v1_subsystems) / sizeof(cgroup_v1_subsystems[0]); i++)
    {
      if (userns && strcmp(cgroup_v1_subsystems[i], "devices") == 0)
        continue;
      _cleanup_free_ char *sub = NULL;
      struct stat st;
      if (asprintf(&sub, "%s/%s", root, cgroup_v1_subsystems[i]) < 0)
        {
          r = cgroup_oom(err);
          break;
        }
      if (lstat(sub, &st) < 0)
        continue;
      char *dir = cgroup_join(sub, "/", path);
      if (dir == NULL)
        {
          r = cgroup_oom(err);
          break;
        }
      if (lstat(dir, &st) < 0)
        {
          free(dir);
          continue;
        }
      dirs[n_dirs++] = dir;
    }
  if (r == 0 && n_dirs == 0)
    r = wedge_error_set(err, ENOENT, WEDGE_FAILED_PRECONDITION,
                        "failed to load cgroup %s: it exists in no cgroup v1 hierarchy under %s (the shim joins "
                        "a cgroup, it does not create one)",
                        path, root);
  for (size_t i = 0; r == 0 && i < n_dirs; i++)
    r = cgroup_write_pid(dirs[i], path, pid, err);
  for (size_t i = 0; i < n_dirs; i++)
    free(dirs[i]);
  return r;
}

int
cgroup_attach_pid(const char *path, pid_t pid, wedge_error_t *err)
{
  enum cgroup_mode mode;
  int r = cgroup_detect_mode(CGROUP_ROOT, &mode, err);
  if (r < 0)
    return r;
  if (mode == CGROUP_MODE_UNIFIED)
    return cgroup_attach_pid_at(mode, CGROUP_ROOT, path, pid, err);
  _cleanup_free_ char *mountinfo = NULL, *root = NULL;
  ssize_t n = cgroup_read_file("/proc/self/mountinfo", &mountinfo, err);
  if (n < 0)
    return (int) n;
  r = cgroup_v1_root(mountinfo, &root, err);
  if (r < 0)
    return wedge_error_prefix(err, "failed to load cgroup %s", path);
  return cgroup_attach_pid_at(mode, root, path, pid, err);
}
