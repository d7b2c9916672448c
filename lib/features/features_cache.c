#include "features/features_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/sha256.h"

/* Bumped when the file layout changes: an old layout then reads as a mismatch. */
#define FEATURES_CACHE_FORMAT 1

int
features_cache_resolve_binary(const struct oci_runtime *rt, char **ret, wedge_error_t *err)
{
  const char *bin = rt->binary && rt->binary[0] ? rt->binary : OCI_DEFAULT_BINARY;
  char resolved[PATH_MAX];
  if (strchr(bin, '/'))
    {
      if (realpath(bin, resolved) == NULL)
        return wedge_error_set_errno(err, errno, WEDGE_FAILED_PRECONDITION, "runtime %s", bin);
    }
  else
    {
      const char *path = getenv("PATH");
      bool found = false;
      for (const char *p = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"; !found;)
        {
          const char *colon = strchrnul(p, ':');
          _cleanup_free_ char *cand = NULL;
          if (asprintf(&cand, "%.*s/%s", (int) (colon - p), colon == p ? "." : p, bin) < 0)
            return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
          if (access(cand, X_OK) == 0 && realpath(cand, resolved))
            found = true;
          if (*colon == '\0')
            break;
          p = colon + 1;
        }
      if (!found)
        return wedge_error_set(err, ENOENT, WEDGE_FAILED_PRECONDITION, "runtime %s: not found in PATH", bin);
    }
  char *s = strdup(resolved);
  if (s == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  *ret = s;
  return 0;
}

/* What identifies one build of the binary at one place. */
static json_t *
features_cache_identity(const char *path, const struct stat *st)
{
  return json_pack("{s:i, s:s, s:I, s:I, s:I, s:I, s:I}", "format", FEATURES_CACHE_FORMAT, "binary", path, "dev",
                   (json_int_t) st->st_dev, "ino", (json_int_t) st->st_ino, "size", (json_int_t) st->st_size,
                   "mtimeSec", (json_int_t) st->st_mtim.tv_sec, "mtimeNsec", (json_int_t) st->st_mtim.tv_nsec);
}

static bool
features_cache_same_identity(json_t *cached, json_t *id)
{
  const char *k;
  json_t *v;
  json_object_foreach (id, k, v)
    if (!json_equal(json_object_get(cached, k), v))
      return false;
  return true;
}

static char *
features_cache_file(const char *dir, const char *binary)
{
  char hex[SHA256_HEX_SIZE];
  sha256_hex(binary, strlen(binary), hex);
  char *p = NULL;
  if (asprintf(&p, "%s/wedge-features-%.16s.json", dir, hex) < 0)
    return NULL;
  return p;
}

/* The cached answer when it matches `id`: 0 with *ret set (features), -EOPNOTSUPP with the
 * stored message (too old), or -ENOENT for no usable entry (missing, corrupt, stale). */
static int
features_cache_read(const char *file, json_t *id, json_t **ret, wedge_error_t *err)
{
  json_t *doc = json_load_file(file, JSON_REJECT_DUPLICATES, NULL);
  if (!json_is_object(doc) || !features_cache_same_identity(doc, id))
    {
      json_decref(doc);
      return -ENOENT;
    }
  json_t *features = json_object_get(doc, "features");
  const char *too_old = json_string_value(json_object_get(doc, "tooOld"));
  int r = -ENOENT;
  if (json_is_object(features))
    {
      *ret = json_incref(features);
      r = 0;
    }
  else if (too_old)
    r = wedge_error_set(err, EOPNOTSUPP, WEDGE_UNIMPLEMENTED, "%s", too_old);
  json_decref(doc);
  return r;
}

/* Write-temp-then-rename with a unique temp file (mkostemp), not fileio_write_replace(): shims
 * starting containers at once write the same cache file. Failures are silent: the cache only
 * saves work. */
static void
features_cache_write(const char *dir, const char *file, json_t *entry)
{
  _cleanup_free_ char *tmp = NULL;
  if (asprintf(&tmp, "%s/.wedge-features-XXXXXX", dir) < 0)
    return;
  _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0)
    return;
  _cleanup_free_ char *text = json_dumps(entry, JSON_COMPACT);
  bool ok = text != NULL;
  size_t len = ok ? strlen(text) : 0, off = 0;
  while (ok && off < len)
    {
      ssize_t n = write(fd, text + off, len - off);
      if (n < 0 && errno == EINTR)
        continue;
      ok = n > 0;
      off += ok ? (size_t) n : 0;
    }
  ok = ok && fchmod(fd, 0600) == 0 && fsync(fd) == 0;
  if (!ok || rename(tmp, file) < 0)
    unlink(tmp);
}

int
features_cache_get(const struct oci_runtime *rt, const char *dir, json_t **ret, wedge_error_t *err)
{
  if (dir == NULL)
    return oci_features(rt, ret, err);

  _cleanup_free_ char *binary = NULL;
  struct stat before, after;
  if (features_cache_resolve_binary(rt, &binary, NULL) < 0 || stat(binary, &before) < 0)
    /* oci_features reports a binary that cannot be run in its own words. */
    return oci_features(rt, ret, err);

  json_t *id = features_cache_identity(binary, &before);
  _cleanup_free_ char *file = id ? features_cache_file(dir, binary) : NULL;
  if (file == NULL)
    {
      json_decref(id);
      return oci_features(rt, ret, err);
    }
  int r = features_cache_read(file, id, ret, err);
  if (r != -ENOENT)
    {
      json_decref(id);
      return r;
    }

  json_t *features = NULL;
  _cleanup_error_ wedge_error_t ferr = WEDGE_ERROR_INIT;
  r = oci_features(rt, &features, &ferr);
  /* Only a definite answer about a binary that did not change meanwhile is worth keeping. */
  if ((r == 0 || r == -EOPNOTSUPP) && stat(binary, &after) == 0 && after.st_ino == before.st_ino &&
      after.st_dev == before.st_dev && after.st_size == before.st_size &&
      after.st_mtim.tv_sec == before.st_mtim.tv_sec && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec)
    {
      int k = r == 0 ? json_object_set(id, "features", features)
                     : json_object_set_new(id, "tooOld", json_string(wedge_error_message(&ferr)));
      /* The runtime root may not exist before the first create; runc makes it 0700 too. */
      if (k == 0 && (mkdir(dir, 0700) == 0 || errno == EEXIST))
        features_cache_write(dir, file, id);
    }
  json_decref(id);
  if (r < 0)
    {
      wedge_error_move(err, &ferr);
      return r;
    }
  *ret = features;
  return 0;
}
