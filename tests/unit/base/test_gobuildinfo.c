#include <elf.h>
#include <errno.h>
#include <link.h>
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

#include "base/cleanup.h"
#include "base/gobuildinfo.h"

#define MODINFO_START "0w\xaf\x0c\x92t\x08\x02" "A\xe1\xc1\x07\xe6\xd6\x18\xe6"

/* A .go.buildinfo section as Go 1.18+ lays it out: magic, pointer size 8, flags 2 (strings
 * inline), padding to 32, then the Go version and the module information, each prefixed with
 * its length as a uvarint. Returns the length. */
static size_t
make_section(uint8_t *buf, size_t cap, const char *go_version, const char *modinfo, size_t modinfo_len)
{
  size_t off = 0;
  memset(buf, 0, 32);
  memcpy(buf, "\xff Go buildinf:", 14);
  buf[14] = 8;
  buf[15] = 2;
  off = 32;
  buf[off++] = (uint8_t) strlen(go_version);
  memcpy(buf + off, go_version, strlen(go_version));
  off += strlen(go_version);
  size_t n = modinfo_len;
  do
    {
      buf[off++] = (uint8_t) ((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
      n >>= 7;
    }
  while (n);
  assert_true(off + modinfo_len <= cap);
  memcpy(buf + off, modinfo, modinfo_len);
  return off + modinfo_len;
}

/* containerd 2.1's, as `go version -m` prints it (a module build). */
static const char modinfo_v2[] = MODINFO_START "path\tgithub.com/containerd/containerd/v2/cmd/containerd\n"
                                               "mod\tgithub.com/containerd/containerd/v2\t(devel)\t\n"
                                               "dep\tgithub.com/containerd/ttrpc\tv1.2.7\th1:x=\n"
                                               "build\t-compiler=gc\n" "\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2";
/* Debian's containerd 1.6.20 (a GOPATH build: no mod line). */
static const char modinfo_v1[] = MODINFO_START "path\tgithub.com/containerd/containerd/cmd/containerd\n"
                                               "build\t-compiler=gc\n";

/* Both layouts of the module information give the main package's path. */
static void
test_module_and_gopath_builds(void **state)
{
  (void) state;
  static const struct
  {
    const char *go, *info;
    size_t info_len;
    const char *want;
  } cases[] = {
    { "go1.23.5", modinfo_v2, sizeof(modinfo_v2) - 1, "github.com/containerd/containerd/v2/cmd/containerd" },
    { "go1.19.8", modinfo_v1, sizeof(modinfo_v1) - 1, "github.com/containerd/containerd/cmd/containerd" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
    {
      uint8_t buf[1024];
      size_t len = make_section(buf, sizeof(buf), cases[i].go, cases[i].info, cases[i].info_len);
      _cleanup_free_ char *path = NULL;
      assert_int_equal(gobuildinfo_parse_section(buf, len, &path), 0);
      assert_string_equal(path, cases[i].want);
    }
}

/* A long module information (a real containerd's is ~10 KiB: the length takes two varint
 * bytes) cut short by the read bound still gives its first line. */
static void
test_long_modinfo_cut_short(void **state)
{
  (void) state;
  static uint8_t buf[8192];
  static char info[4000];
  memset(info, 'x', sizeof(info));
  memcpy(info, modinfo_v1, sizeof(modinfo_v1) - 1);
  size_t len = make_section(buf, sizeof(buf), "go1.23.5", info, sizeof(info));
  _cleanup_free_ char *path = NULL;
  assert_int_equal(gobuildinfo_parse_section(buf, len - 3000, &path), 0);
  assert_string_equal(path, "github.com/containerd/containerd/cmd/containerd");
}

/* Every truncation and every flipped byte is refused or read, never read past. */
static void
test_damaged_sections(void **state)
{
  (void) state;
  uint8_t buf[1024], bad[1024];
  size_t len = make_section(buf, sizeof(buf), "go1.23.5", modinfo_v2, sizeof(modinfo_v2) - 1);
  const uint8_t *line = memmem(buf, len, "path\t", 5);
  size_t first_line_end = (size_t) ((const uint8_t *) memchr(line, '\n', len - (size_t) (line - buf)) - buf) + 1;
  for (size_t cut = 0; cut < len; cut++)
    {
      /* An exact-size copy, so that ASan sees a read past the end. */
      uint8_t *copy = malloc(cut ? cut : 1);
      memcpy(copy, buf, cut);
      char *path = NULL;
      int r = gobuildinfo_parse_section(copy, cut, &path);
      assert_int_equal(r, cut >= first_line_end ? 0 : -ENOENT);
      free(path);
      free(copy);
    }
  for (size_t i = 0; i < len; i++)
    {
      memcpy(bad, buf, len);
      bad[i] ^= 0xff;
      char *path = NULL;
      int r = gobuildinfo_parse_section(bad, len, &path);
      assert_true(r == 0 || r == -ENOENT);
      free(path);
    }
  memcpy(bad, buf, len);
  bad[15] = 0; /* pre-1.18 layout: pointers, not strings */
  char *path = NULL;
  assert_int_equal(gobuildinfo_parse_section(bad, len, &path), -ENOENT);
}

/* A minimal ELF file of this machine's class: null section, .shstrtab, .go.buildinfo. */
static char *
write_elf(const uint8_t *section, size_t section_len)
{
  static const char names[] = "\0.shstrtab\0.go.buildinfo";
  char *path = strdup("/tmp/test_gobuildinfo.XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  ElfW(Ehdr) eh = { 0 };
  memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = __SIZEOF_POINTER__ == 8 ? ELFCLASS64 : ELFCLASS32;
  eh.e_ident[EI_DATA] = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_ehsize = sizeof(eh);
  eh.e_shentsize = sizeof(ElfW(Shdr));
  eh.e_shnum = 3;
  eh.e_shstrndx = 1;
  size_t names_off = sizeof(eh), data_off = names_off + sizeof(names);
  eh.e_shoff = data_off + section_len;
  ElfW(Shdr) sh[3] = { 0 };
  sh[1].sh_name = 1;
  sh[1].sh_type = SHT_STRTAB;
  sh[1].sh_offset = names_off;
  sh[1].sh_size = sizeof(names);
  sh[2].sh_name = 11;
  sh[2].sh_type = SHT_PROGBITS;
  sh[2].sh_offset = data_off;
  sh[2].sh_size = section_len;
  assert_true(write(fd, &eh, sizeof(eh)) == (ssize_t) sizeof(eh));
  assert_true(write(fd, names, sizeof(names)) == (ssize_t) sizeof(names));
  assert_true(write(fd, section, section_len) == (ssize_t) section_len);
  assert_true(write(fd, sh, sizeof(sh)) == (ssize_t) sizeof(sh));
  close(fd);
  return path;
}

static void
test_elf_file(void **state)
{
  (void) state;
  uint8_t buf[1024];
  size_t len = make_section(buf, sizeof(buf), "go1.23.5", modinfo_v2, sizeof(modinfo_v2) - 1);
  _cleanup_free_ char *file = write_elf(buf, len);
  _cleanup_free_ char *path = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(gobuildinfo_main_path(file, &path, &err), 0);
  assert_string_equal(path, "github.com/containerd/containerd/v2/cmd/containerd");

  /* Cut anywhere, the file is refused with a message. */
  struct stat st;
  assert_int_equal(stat(file, &st), 0);
  for (off_t cut = 0; cut < st.st_size; cut += 7)
    {
      assert_int_equal(truncate(file, cut), 0);
      _cleanup_error_ wedge_error_t e = WEDGE_ERROR_INIT;
      char *p = NULL;
      assert_int_equal(gobuildinfo_main_path(file, &p, &e), -ENOENT);
      assert_non_null(strstr(wedge_error_message(&e), file));
      assert_null(p);
    }
  unlink(file);
}

/* A C program (this test) has no Go build information. */
static void
test_not_go(void **state)
{
  (void) state;
  _cleanup_free_ char *path = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(gobuildinfo_main_path("/proc/self/exe", &path, &err), -ENOENT);
  assert_string_equal(wedge_error_message(&err), "/proc/self/exe: no Go build information");
  _cleanup_error_ wedge_error_t err2 = WEDGE_ERROR_INIT;
  assert_int_equal(gobuildinfo_main_path("/nonexistent/containerd", &path, &err2), -ENOENT);
  assert_string_equal(wedge_error_message(&err2), "open /nonexistent/containerd: No such file or directory");
  _cleanup_error_ wedge_error_t err3 = WEDGE_ERROR_INIT;
  assert_int_equal(gobuildinfo_main_path("/dev/null", &path, &err3), -ENOENT);
}

/* The containerd the integration tests run (Debian's 1.6.20). */
static void
test_installed_containerd(void **state)
{
  (void) state;
  if (access("/usr/bin/containerd", R_OK) != 0)
    skip(); /* not installed: the integration tests would not run either */
  _cleanup_free_ char *path = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(gobuildinfo_main_path("/usr/bin/containerd", &path, &err), 0);
  assert_string_equal(path, "github.com/containerd/containerd/cmd/containerd");
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_module_and_gopath_builds),
    cmocka_unit_test(test_long_modinfo_cut_short),
    cmocka_unit_test(test_damaged_sections),
    cmocka_unit_test(test_elf_file),
    cmocka_unit_test(test_not_go),
    cmocka_unit_test(test_installed_containerd),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
