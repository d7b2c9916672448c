#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/gobuildinfo.h"

#define BUILDINFO_MAGIC "\xff Go buildinf:"
#define BUILDINFO_HEADER 32
#define BUILDINFO_FLAG_INLINE 0x2
/* The 16 bytes cmd/go puts before the module information (modload's infoStart). */
#define MODINFO_START "0w\xaf\x0c\x92t\x08\x02" "A\xe1\xc1\x07\xe6\xd6\x18\xe6"
/* Bounds on what a file may make us read: a real containerd has ~40 sections and a buildinfo
 * section of a few KiB, and the main package's path is the first line of the module information. */
#define MAX_SECTIONS 4096
#define MAX_SHSTRTAB (64 * 1024)
#define MAX_SECTION_READ (64 * 1024)

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_ELFDATA ELFDATA2LSB
#else
#define NATIVE_ELFDATA ELFDATA2MSB
#endif
#if __SIZEOF_POINTER__ == 8
#define NATIVE_ELFCLASS ELFCLASS64
#else
#define NATIVE_ELFCLASS ELFCLASS32
#endif

/* Go's binary.Uvarint. Returns the bytes used, 0 when the input ends first or overflows. */
static size_t
read_uvarint(const uint8_t *p, size_t len, uint64_t *ret)
{
  uint64_t v = 0;
  for (size_t i = 0; i < len && i < 10; i++)
    {
      if (i == 9 && p[i] > 1)
        return 0;
      v |= (uint64_t) (p[i] & 0x7f) << (7 * i);
      if (!(p[i] & 0x80))
        {
          *ret = v;
          return i + 1;
        }
    }
  return 0;
}

int
gobuildinfo_parse_section(const void *data, size_t len, char **ret_path)
{
  const uint8_t *p = data;
  if (len < BUILDINFO_HEADER || memcmp(p, BUILDINFO_MAGIC, sizeof(BUILDINFO_MAGIC) - 1) != 0)
    return -ENOENT;
  if (!(p[15] & BUILDINFO_FLAG_INLINE))
    return -ENOENT;
  size_t off = BUILDINFO_HEADER;
  uint64_t n;
  size_t used = read_uvarint(p + off, len - off, &n);
  if (used == 0 || n > len - off - used)
    return -ENOENT;
  off += used + (size_t) n; /* the Go version, "go1.23.5" */
  used = read_uvarint(p + off, len - off, &n);
  if (used == 0)
    return -ENOENT;
  off += used;
  /* The module information may go on past what was read; its first line is what we want. */
  size_t info_len = n < len - off ? (size_t) n : len - off;
  const char *info = (const char *) p + off, *end = info + info_len;
  if ((size_t) (end - info) >= sizeof(MODINFO_START) - 1 && memcmp(info, MODINFO_START, sizeof(MODINFO_START) - 1) == 0)
    info += sizeof(MODINFO_START) - 1;

  static const char key[] = "path\t";
  if ((size_t) (end - info) < sizeof(key) - 1 || memcmp(info, key, sizeof(key) - 1) != 0)
    return -ENOENT;
  const char *path = info + sizeof(key) - 1, *q = path;
  while (q < end && *q != '\n' && *q != '\t' && *q != '\0')
    q++;
  if (q == end || *q != '\n' || q == path)
    return -ENOENT;
  char *out = strndup(path, (size_t) (q - path));
  if (out == NULL)
    return -ENOMEM;
  *ret_path = out;
  return 0;
}

/* pread of exactly `len` bytes; a short file is -ENOENT (not what we look for). */
static int
read_at(int fd, void *buf, size_t len, uint64_t off)
{
  size_t done = 0;
  while (done < len)
    {
      if (off + done > (uint64_t) INT64_MAX)
        return -ENOENT;
      ssize_t r = pread(fd, (uint8_t *) buf + done, len - done, (off_t) (off + done));
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -errno;
      if (r == 0)
        return -ENOENT;
      done += (size_t) r;
    }
  return 0;
}

int
gobuildinfo_main_path(const char *path, char **ret_path, wedge_error_t *err)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "open %s", path);

  ElfW(Ehdr) eh;
  int r = read_at(fd, &eh, sizeof(eh), 0);
  if (r == -ENOENT || (r == 0 && (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != NATIVE_ELFCLASS
                                  || eh.e_ident[EI_DATA] != NATIVE_ELFDATA || eh.e_shoff == 0
                                  || eh.e_shentsize != sizeof(ElfW(Shdr)))))
    return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "%s: not an ELF file with sections of this machine's class",
                           path);
  if (r < 0)
    return wedge_error_set_errno(err, -r, WEDGE_UNKNOWN, "read %s", path);

  /* More than SHN_LORESERVE sections: the count and the names' index live in section 0. */
  size_t shnum = eh.e_shnum, shstrndx = eh.e_shstrndx;
  if (shnum == 0 || shstrndx == SHN_XINDEX)
    {
      ElfW(Shdr) first;
      r = read_at(fd, &first, sizeof(first), eh.e_shoff);
      if (r < 0)
        return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "%s: truncated section headers", path);
      if (shnum == 0)
        shnum = (size_t) first.sh_size;
      if (shstrndx == SHN_XINDEX)
        shstrndx = first.sh_link;
    }
  if (shnum == 0 || shnum > MAX_SECTIONS || shstrndx >= shnum)
    return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "%s: %zu sections, names in %zu", path, shnum, shstrndx);

  _cleanup_free_ ElfW(Shdr) *sh = calloc(shnum, sizeof(*sh));
  if (sh == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  if (read_at(fd, sh, shnum * sizeof(*sh), eh.e_shoff) < 0)
    return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "%s: truncated section headers", path);

  size_t names_len = sh[shstrndx].sh_size < MAX_SHSTRTAB ? (size_t) sh[shstrndx].sh_size : MAX_SHSTRTAB;
  _cleanup_free_ char *names = calloc(1, names_len + 1);
  if (names == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  if (read_at(fd, names, names_len, sh[shstrndx].sh_offset) < 0)
    return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "%s: truncated section names", path);

  for (size_t i = 0; i < shnum; i++)
    {
      if (sh[i].sh_name >= names_len || strcmp(names + sh[i].sh_name, ".go.buildinfo") != 0)
        continue;
      if (sh[i].sh_type == SHT_NOBITS)
        break;
      size_t len = sh[i].sh_size < MAX_SECTION_READ ? (size_t) sh[i].sh_size : MAX_SECTION_READ;
      _cleanup_free_ uint8_t *data = malloc(len ? len : 1);
      if (data == NULL)
        return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
      if (read_at(fd, data, len, sh[i].sh_offset) < 0)
        return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "%s: truncated .go.buildinfo", path);
      r = gobuildinfo_parse_section(data, len, ret_path);
      if (r == -ENOMEM)
        return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
      if (r < 0)
        return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "%s: no main package path in its Go build information", path);
      return 0;
    }
  return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "%s: no Go build information", path);
}
