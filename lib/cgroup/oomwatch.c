#include "cgroup/oomwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "base/cleanup.h"

struct oomwatch
{
  enum cgroup_mode mode;
  struct cgroup cg;        /* a copy of the paths watched */
  struct loop_source *src; /* owns the eventfd / inotify fd */
  int fd;
  uint64_t last;           /* oom_kill count last reported */
  oomwatch_cb cb;
  void *data;
};

static char *
oomwatch_file(const struct cgroup *cg, const char *v1_file, const char *v2_file)
{
  return cgroup_file(cg, CGROUP_MEMORY, cg->mode == CGROUP_MODE_UNIFIED ? v2_file : v1_file);
}

int
oomwatch_read_count(const struct cgroup *cg, uint64_t *ret)
{
  _cleanup_free_ char *path = oomwatch_file(cg, "memory.oom_control", "memory.events");
  if (path == NULL)
    return -errno;
  _cleanup_free_ char *text = NULL;
  ssize_t n = cgroup_read_file(path, &text, NULL);
  if (n < 0)
    return (int) n;
  for (char *line = text; line && *line;)
    {
      char *nl = strchr(line, '\n');
      if (nl)
        *nl = '\0';
      unsigned long long v;
      if (sscanf(line, "oom_kill %llu", &v) == 1)
        {
          *ret = v;
          return 0;
        }
      line = nl ? nl + 1 : NULL;
    }
  return -ENOENT;
}

/* Whether an OOM is to be reported: the counter grew (it is then remembered), or, on v1, the
 * kernel notified while the cgroup still exists and has no counter that says otherwise. */
static bool
oomwatch_new_oom(struct oomwatch *w, bool notified)
{
  uint64_t count;
  int r = oomwatch_read_count(&w->cg, &count);
  if (r == 0 && count > w->last)
    {
      w->last = count;
      return true;
    }
  if (w->mode == CGROUP_MODE_UNIFIED || !notified)
    return false;
  /* v1: the eventfd also fires when the cgroup is removed; a cgroup that still exists had an
   * OOM (the killer may be disabled, then the counter stays). */
  _cleanup_free_ char *path = oomwatch_file(&w->cg, "memory.oom_control", NULL);
  return path && access(path, F_OK) == 0;
}

/* Empties the fd; true when it held a notification. */
static bool
oomwatch_drain(struct oomwatch *w)
{
  bool any = false;
  if (w->mode == CGROUP_MODE_UNIFIED)
    {
      char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
      while (read(w->fd, buf, sizeof(buf)) > 0)
        any = true;
    }
  else
    {
      uint64_t v;
      while (read(w->fd, &v, sizeof(v)) == (ssize_t) sizeof(v))
        any = true;
    }
  return any;
}

static int
oomwatch_on_event(struct loop_source *s, int fd, uint32_t revents, void *data)
{
  (void) s;
  (void) fd;
  (void) revents;
  struct oomwatch *w = data;
  bool notified = oomwatch_drain(w);
  if (oomwatch_new_oom(w, notified))
    w->cb(w->data);
  else if (w->mode == CGROUP_MODE_V1 && notified)
    {
      /* The cgroup is gone: nothing will come any more. */
      _cleanup_free_ char *path = oomwatch_file(&w->cg, "memory.oom_control", NULL);
      if (path == NULL || access(path, F_OK) < 0)
        (void) loop_source_set_enabled(w->src, false);
    }
  return 0;
}

void
oomwatch_check(struct oomwatch *w)
{
  if (w == NULL)
    return;
  bool notified = oomwatch_drain(w);
  if (oomwatch_new_oom(w, notified))
    w->cb(w->data);
}

static int
oomwatch_register_v1(struct oomwatch *w, wedge_error_t *err)
{
  _cleanup_free_ char *control = oomwatch_file(&w->cg, "memory.oom_control", NULL);
  _cleanup_free_ char *events = cgroup_file(&w->cg, CGROUP_MEMORY, "cgroup.event_control");
  if (control == NULL || events == NULL)
    return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "no memory cgroup to watch");
  w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->fd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "eventfd");
  /* The kernel keeps its own reference to memory.oom_control once registered. */
  _cleanup_close_ int cfd = open(control, O_RDONLY | O_CLOEXEC);
  if (cfd < 0)
    return wedge_error_set_errno(err, errno, errno == ENOENT ? WEDGE_NOT_FOUND : WEDGE_INTERNAL, "open %s", control);
  _cleanup_close_ int efd = open(events, O_WRONLY | O_CLOEXEC);
  if (efd < 0)
    return wedge_error_set_errno(err, errno, errno == ENOENT ? WEDGE_NOT_FOUND : WEDGE_INTERNAL, "open %s", events);
  char line[32];
  int len = snprintf(line, sizeof(line), "%d %d", w->fd, cfd);
  if (write(efd, line, (size_t) len) != len)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "register OOM eventfd in %s", events);
  return 0;
}

static int
oomwatch_register_v2(struct oomwatch *w, wedge_error_t *err)
{
  _cleanup_free_ char *events = cgroup_file(&w->cg, CGROUP_MEMORY, "memory.events");
  if (events == NULL)
    return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "no memory cgroup to watch");
  w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (w->fd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "inotify_init1");
  if (inotify_add_watch(w->fd, events, IN_MODIFY) < 0)
    return wedge_error_set_errno(err, errno, errno == ENOENT ? WEDGE_NOT_FOUND : WEDGE_INTERNAL, "watch %s", events);
  return 0;
}

void
oomwatch_free(struct oomwatch *w)
{
  if (w == NULL)
    return;
  if (w->src)
    loop_source_free(w->src);
  else if (w->fd >= 0)
    close(w->fd);
  free(w->cg.path);
  for (size_t i = 0; i < CGROUP_N_CONTROLLERS; i++)
    free(w->cg.dirs[i]);
  free(w);
}

int
oomwatch_new(struct loop *l, const struct cgroup *cg, oomwatch_cb cb, void *data, struct oomwatch **ret,
             wedge_error_t *err)
{
  struct oomwatch *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  w->fd = -1;
  w->mode = w->cg.mode = cg->mode;
  w->cb = cb;
  w->data = data;
  const char *mem = cg->mode == CGROUP_MODE_UNIFIED ? cg->path : cg->dirs[CGROUP_MEMORY];
  if (mem == NULL)
    {
      oomwatch_free(w);
      return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "no memory cgroup to watch");
    }
  char **slot = cg->mode == CGROUP_MODE_UNIFIED ? &w->cg.path : &w->cg.dirs[CGROUP_MEMORY];
  if ((*slot = strdup(mem)) == NULL)
    {
      oomwatch_free(w);
      return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
    }
  int r = cg->mode == CGROUP_MODE_UNIFIED ? oomwatch_register_v2(w, err) : oomwatch_register_v1(w, err);
  if (r < 0)
    {
      oomwatch_free(w);
      return r;
    }
  /* OOMs before the watch began are not this watch's to report (the runc shim starts at 0 and
   * reports on the first notification, which cannot come for an OOM that is already over). */
  (void) oomwatch_read_count(&w->cg, &w->last);
  r = loop_add_io(l, w->fd, EPOLLIN, oomwatch_on_event, w, &w->src, err);
  if (r < 0)
    {
      oomwatch_free(w);
      return r;
    }
  loop_io_own_fd(w->src);
  *ret = w;
  return 0;
}
