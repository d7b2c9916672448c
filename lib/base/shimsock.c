#include "base/shimsock.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fileio.h"
#include "base/sha256.h"

/* Appends one path element to out[0..*w) following filepath.Clean; `dotdot` is the index
 * below which ".." can no longer back up. */
static void
clean_element(char *out, size_t *w, size_t *dotdot, bool rooted, const char *el, size_t len)
{
  if (len == 1 && el[0] == '.')
    return;
  if (len == 2 && el[0] == '.' && el[1] == '.')
    {
      if (*w > *dotdot)
        {
          (*w)--;
          while (*w > *dotdot && out[*w] != '/')
            (*w)--;
        }
      else if (!rooted)
        {
          if (*w > 0)
            out[(*w)++] = '/';
          out[(*w)++] = '.';
          out[(*w)++] = '.';
          *dotdot = *w;
        }
      return;
    }
  if ((rooted && *w != 1) || (!rooted && *w != 0))
    out[(*w)++] = '/';
  memcpy(out + *w, el, len);
  *w += len;
}

char *
shimsock_path_join(const char *const *elems, size_t n_elems)
{
  size_t total = 0;
  bool any = false;
  for (size_t i = 0; i < n_elems; i++)
    if (elems[i] && elems[i][0])
      {
        total += strlen(elems[i]) + 1;
        any = true;
      }
  if (!any)
    return strdup("");

  _cleanup_free_ char *joined = malloc(total);
  char *out = malloc(total + 2);
  if (joined == NULL || out == NULL)
    {
      free(out);
      return NULL;
    }
  size_t j = 0;
  for (size_t i = 0; i < n_elems; i++)
    if (elems[i] && elems[i][0])
      {
        if (j > 0)
          joined[j++] = '/';
        size_t l = strlen(elems[i]);
        memcpy(joined + j, elems[i], l);
        j += l;
      }
  joined[j] = '\0';

  bool rooted = joined[0] == '/';
  size_t w = 0, dotdot = 0;
  if (rooted)
    {
      out[w++] = '/';
      dotdot = 1;
    }
  for (const char *p = joined; *p;)
    {
      while (*p == '/')
        p++;
      const char *end = strchrnul(p, '/');
      if (end > p)
        clean_element(out, &w, &dotdot, rooted, p, (size_t) (end - p));
      p = end;
    }
  if (w == 0)
    out[w++] = '.';
  out[w] = '\0';
  return out;
}

static void
cleanup_json_decref(json_t **j)
{
  if (*j)
    json_decref(*j);
}

int
shimsock_group_id(const char *config_path, const char *id, char **ret_group, wedge_error_t *err)
{
  static const char *const group_labels[] = {
    "io.containerd.runc.v2.group",
    "io.kubernetes.cri.sandbox-id",
  };
  json_error_t jerr;
  __attribute__((cleanup(cleanup_json_decref))) json_t *spec = json_load_file(config_path, 0, &jerr);
  if (spec == NULL)
    {
      if (access(config_path, F_OK) < 0)
        return wedge_error_set_errno(err, errno, WEDGE_NOT_FOUND, "read %s", config_path);
      return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "parse %s: %s", config_path, jerr.text);
    }

  const char *group = id;
  json_t *annotations = json_object_get(spec, "annotations");
  for (size_t i = 0; i < ARRAY_SIZE(group_labels) && json_is_object(annotations); i++)
    {
      json_t *v = json_object_get(annotations, group_labels[i]);
      if (json_is_string(v))
        {
          group = json_string_value(v);
          break;
        }
    }
  char *copy = strdup(group);
  if (copy == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  *ret_group = copy;
  return 0;
}

int
shimsock_address(const char *dir, const char *containerd_address, const char *namespace_, const char *group,
                 char **ret_address, wedge_error_t *err)
{
  const char *elems[] = { containerd_address, namespace_, group };
  _cleanup_free_ char *key = shimsock_path_join(elems, ARRAY_SIZE(elems));
  if (key == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");

  char hex[SHA256_HEX_SIZE];
  sha256_hex(key, strlen(key), hex);

  char *address = NULL;
  if (asprintf(&address, SHIMSOCK_SCHEME "%s/%s", dir ? dir : SHIMSOCK_DEFAULT_DIR, hex) < 0)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  if (strlen(address) - strlen(SHIMSOCK_SCHEME) > SHIMSOCK_PATH_MAX)
    {
      int r = wedge_error_set(err, ENAMETOOLONG, WEDGE_INVALID_ARGUMENT, "%s: unix socket path too long (> %d)",
                              address, SHIMSOCK_PATH_MAX);
      free(address);
      return r;
    }
  *ret_address = address;
  return 0;
}

const char *
shimsock_path(const char *address)
{
  size_t n = strlen(SHIMSOCK_SCHEME);
  if (strncmp(address, SHIMSOCK_SCHEME, n) != 0)
    return NULL;
  return address + n;
}

static int
sockaddr_fill(const char *address, struct sockaddr_un *sun, wedge_error_t *err)
{
  const char *path = shimsock_path(address);
  if (path == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s: not a unix:// socket address", address);
  if (strlen(path) > SHIMSOCK_PATH_MAX)
    return wedge_error_set(err, ENAMETOOLONG, WEDGE_INVALID_ARGUMENT, "%s: unix socket path too long (> %d)", path,
                           SHIMSOCK_PATH_MAX);
  memset(sun, 0, sizeof(*sun));
  sun->sun_family = AF_UNIX;
  strcpy(sun->sun_path, path);
  return 0;
}

int
shimsock_listen(const char *address, int *ret_fd, wedge_error_t *err)
{
  struct sockaddr_un sun;
  int r = sockaddr_fill(address, &sun, err);
  if (r < 0)
    return r;

  _cleanup_free_ char *dir = strdup(sun.sun_path);
  if (dir == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir)
    {
      *slash = '\0';
      /* The runc shim asks for 0600; 0700 is what it means for root, which needs no x bit,
       * and still lets a non-root test instance reach its sockets. */
      r = fileio_mkdir_parents(dir, 0700, err);
      if (r < 0)
        return r;
    }

  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "socket");
  if (bind(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0)
    return wedge_error_set_errno(err, errno, errno == EADDRINUSE ? WEDGE_ALREADY_EXISTS : WEDGE_UNKNOWN,
                                 "listen on %s", sun.sun_path);
  /* Before listen(): nobody can connect while the mode is still the umask's. */
  if (chmod(sun.sun_path, 0600) < 0 || listen(fd, SOMAXCONN) < 0)
    {
      r = wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "listen on %s", sun.sun_path);
      unlink(sun.sun_path);
      return r;
    }
  *ret_fd = TAKE_FD(fd);
  return 0;
}

bool
shimsock_can_connect(const char *address)
{
  struct sockaddr_un sun;
  if (sockaddr_fill(address, &sun, NULL) < 0)
    return false;
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return false;
  /* A unix stream connect either completes at once or fails with EAGAIN when the backlog is
   * full, which still means a live listener. */
  return connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == 0 || errno == EAGAIN;
}

int
shimsock_write_address(const char *path, const char *address, wedge_error_t *err)
{
  /* 0666 less the umask, as the runc shim's atomicWriteFile leaves it. Renamed into place, so
   * containerd reads the whole address or none, but not fsync'ed (the runc shim syncs it): the
   * file names the socket of a live process, and after a power loss there is neither process nor
   * socket to find, whatever the disk kept. containerd waits for `shim start` to return, so the
   * fsync sat on every container's start: ~10 ms on the test machine's disk. */
  return fileio_write_replace(path, address, strlen(address), 0666, err);
}

int
shimsock_remove_stale(const char *address, wedge_error_t *err)
{
  const char *path = shimsock_path(address);
  if (path == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s: not a unix:// socket address", address);
  if (shimsock_can_connect(address))
    return wedge_error_set(err, EADDRINUSE, WEDGE_ALREADY_EXISTS, "%s: a shim is listening there", path);
  if (unlink(path) < 0 && errno != ENOENT)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "remove socket %s", path);
  return 0;
}

int
shimsock_listener_address(int fd, char **ret_address, wedge_error_t *err)
{
  struct sockaddr_un sun = { 0 };
  socklen_t len = sizeof(sun);
  if (getsockname(fd, (struct sockaddr *) &sun, &len) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "getsockname of fd %d", fd);
  size_t path_len = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
  if (sun.sun_family != AF_UNIX || path_len == 0 || sun.sun_path[0] == '\0')
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "fd %d is not bound to a unix socket path", fd);
  /* The kernel may or may not count the NUL; sun_path has room for one either way. */
  sun.sun_path[path_len < sizeof(sun.sun_path) ? path_len : sizeof(sun.sun_path) - 1] = '\0';
  if (asprintf(ret_address, SHIMSOCK_SCHEME "%s", sun.sun_path) < 0)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  return 0;
}

