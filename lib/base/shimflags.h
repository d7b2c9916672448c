/* Command line and environment of containerd-shim-wedge-v2.
 *
 * containerd 1.6.20 runs the shim as (runtime/v2/binary.go `binary.Start`, `binary.Delete`,
 * through runtime/v2/shim/util.go `Command`; docs/protocol.md)
 *   <shim> -namespace NS -address ADDR -publish-binary BIN -id ID [-debug] start
 *   <shim> -namespace NS -address ADDR -publish-binary BIN -id ID -bundle B delete
 * and `start` re-executes the shim as the daemon with `-namespace NS -id ID -address ADDR
 * [-debug]` and no action word. The runc shim parses this with Go's `flag` package (1.6.20
 * runtime/v2/shim/shim.go `parseFlags`) and we accept the same grammar:
 * - one or two dashes; `-name value` or `-name=value`; a bool flag is set bare (`-debug`) or
 *   with `=true/false/1/0/t/f/...` only, never from the next word;
 * - parsing stops at the first word that is not a flag (or `-` alone), which is the action;
 *   `--` ends the flags and is consumed; words after the action are ignored;
 * - a repeated flag keeps its last value.
 * Unlike Go, which exits 2 on an unknown flag, we record it and go on, so that a newer
 * containerd passing a new flag does not break us. An unknown `-name=value` is skipped whole;
 * a bare unknown `-name` also swallows the next word when that word is neither a flag nor an
 * action (`start`, `delete`), since a value flag is the likelier reading.
 *
 * All strings point into argv / the environment; nothing is allocated. */
#ifndef WEDGE_SHIMFLAGS_H
#define WEDGE_SHIMFLAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define SHIMFLAGS_MAX_UNKNOWN 8

enum shim_action
{
  SHIM_ACTION_DAEMON = 0, /* no action word: serve on fd 3 (or -socket) */
  SHIM_ACTION_START,
  SHIM_ACTION_DELETE,
};

struct shim_flags
{
  const char *namespace_;     /* -namespace; "" when not given */
  const char *id;             /* -id */
  const char *address;        /* -address: containerd's gRPC socket path, no scheme */
  const char *publish_binary; /* -publish-binary; "containerd" by default, as in 1.6 */
  const char *bundle;         /* -bundle (delete) */
  const char *socket;         /* -socket: daemon listens there instead of on fd 3 */
  bool debug;                 /* -debug */
  bool version;               /* -v */
  bool info;                  /* -info (containerd 2.0+) */
  enum shim_action action;
  const char *action_word;    /* the word as given; NULL for the daemon */
  const char *unknown[SHIMFLAGS_MAX_UNKNOWN]; /* unknown flags as given, for a debug warning */
  size_t n_unknown;
};

/* Parses argv[1..argc). Fails with -EINVAL and Go's wording on a malformed flag ("bad flag
 * syntax: ---x", "flag needs an argument: -id", "invalid boolean value \"x\" for -debug: parse
 * error") or an action word other than start/delete ("unknown action \"x\""; Go would run the
 * daemon, which containerd never asks for that way). *ret is untouched on failure. */
int shimflags_parse(int argc, char *const argv[], struct shim_flags *ret, wedge_error_t *err);

/* The checks the runc shim makes after -v (runtime/v2/shim/shim.go `run`): -EINVAL "shim
 * namespace cannot be empty"; and a namespace containerd would not accept (ident_validate) is
 * refused. */
int shimflags_check(const struct shim_flags *flags, wedge_error_t *err);

/* What containerd puts in the shim's environment (1.6.20 runtime/v2/shim/util.go `Command`; 2.1
 * pkg/shim/util.go `Command`). */
struct shim_env
{
  const char *ttrpc_address;    /* TTRPC_ADDRESS: where events go (path, no scheme); NULL if unset */
  const char *grpc_address;     /* GRPC_ADDRESS (1.7+) */
  const char *namespace_;       /* NAMESPACE (1.7+) */
  const char *max_shim_version; /* MAX_SHIM_VERSION (1.7+, "2") */
  bool sched_core;              /* SCHED_CORE non-empty: core-scheduling cookie for the daemon */
  /* WEDGE_RUNTIME_TIMEOUT_MS, ours (containerd passes its own environment on): the bound on each
   * runtime call; 0 when unset or not a positive number (the default, OCI_DEFAULT_TIMEOUT_MS).
   * The runc shim has no such bound: a hung runc hangs its Create forever. */
  int runtime_timeout_ms;
};

void shimflags_env(struct shim_env *ret);

#endif
