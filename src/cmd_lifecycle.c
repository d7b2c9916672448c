/* wedge lifecycle: one container driven through OCI runtime steps by the library's process state
 * machines, in one process, as the shim will drive it (minus containerd). For demos and for the
 * integration tests: every refusal and runtime error a shim client would see shows up here as one
 * line per step.
 *
 * This process is a child subreaper: after `runtime create` and `runtime exec --detach` return,
 * the container's init and exec'd processes are reparented to us, and their exits reach us by
 * SIGCHLD, which is blocked and read from a signalfd. SIGINT, SIGTERM and SIGHUP are read the
 * same way, so an interrupted run still cleans up. Whatever it created is killed (SIGKILL) and
 * force-deleted before it exits, on success as on failure: nothing outlives the command. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <jansson.h>

#include "base/cleanup.h"
#include "base/loop.h"
#include "commands.h"
#include "base/error.h"
#include "runtime/oci.h"
#include "process/process.h"
#include "runtime/reaper.h"
#include "features/spec.h"

#define LC_DEFAULT_ROOT "/run/wedge-lifecycle"
#define LC_DEFAULT_TIMEOUT_S 60
/* How long cleanup waits for a SIGKILLed init before force-deleting anyway. */
#define LC_CLEANUP_WAIT_MS 10000

struct lifecycle
{
  struct oci_runtime rt;
  char *bundle;          /* absolute */
  const char *id;
  int timeout_s;
  int sigfd;
  struct reaper *reaper;
  struct proc *init;
  struct proc *exec;     /* the exec in flight, between its start and its delete */
  char *exec_json;       /* its process.json */
  unsigned n_execs;
  bool create_attempted;
  bool interrupted;
};

struct lc_step;
typedef int (*lc_step_fn)(struct lifecycle *lc, const struct lc_step *step, char **ret_detail, wedge_error_t *err);

enum lc_arg
{
  LC_ARG_NONE,
  LC_ARG_OPTIONAL,
  LC_ARG_REQUIRED,
};

struct lc_step_def
{
  const char *name;
  enum lc_arg arg;
  lc_step_fn run;
  int (*proc_op)(struct proc *p, wedge_error_t *err); /* for lc_step_transition */
};

struct lc_step
{
  const struct lc_step_def *def;
  const char *arg;       /* after ':', NULL when none */
  int signo;             /* kill */
};

static int
lc_oom(wedge_error_t *err)
{
  return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
}

static char *
lc_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
lc_printf(const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  return s;
}

/* Hands a reaped pid to the process it belongs to; others stay in the reaper's cache (a pid
 * reaped before its pid file was read is claimed later with reaper_take). */
static bool
lc_claim_exit(pid_t pid, int wait_status, void *data)
{
  struct lifecycle *lc = data;
  if (lc->init && lc->init->pid == pid)
    {
      proc_set_exited(lc->init, wait_status);
      return true;
    }
  if (lc->exec && lc->exec->pid == pid)
    {
      proc_set_exited(lc->exec, wait_status);
      return true;
    }
  return false;
}

/* Claims an exit reaped before `p`'s pid was known. */
static void
lc_claim_cached(struct lifecycle *lc, struct proc *p)
{
  int wait_status;
  if (p->pid > 0 && reaper_take(lc->reaper, p->pid, &wait_status))
    proc_set_exited(p, wait_status);
}

/* Drains the signalfd: notes an interruption, then reaps whatever has exited. */
static void
lc_collect(struct lifecycle *lc)
{
  struct signalfd_siginfo si;
  while (read(lc->sigfd, &si, sizeof(si)) == (ssize_t) sizeof(si))
    if (si.ssi_signo != SIGCHLD)
      lc->interrupted = true;
  reaper_collect(lc->reaper, lc_claim_exit, lc);
}

/* Waits until `p` has exited, at most timeout_ms; -ETIMEDOUT or -EINTR (interrupted) otherwise. */
static int
lc_wait_exit(struct lifecycle *lc, struct proc *p, long long timeout_ms)
{
  long long deadline = loop_clock_ms() + timeout_ms;
  for (;;)
    {
      lc_collect(lc);
      lc_claim_cached(lc, p);
      if (p->exited)
        return 0;
      if (lc->interrupted)
        return -EINTR;
      long long left = deadline - loop_clock_ms();
      if (left <= 0)
        return -ETIMEDOUT;
      struct pollfd pfd = { .fd = lc->sigfd, .events = POLLIN };
      if (poll(&pfd, 1, (int) (left > INT_MAX ? INT_MAX : left)) < 0 && errno != EINTR)
        return -errno;
    }
}

/* lc_wait_exit bounded by --timeout, its failures as a step's error. */
static int
lc_wait_step(struct lifecycle *lc, struct proc *p, const char *what, wedge_error_t *err)
{
  int r = lc_wait_exit(lc, p, (long long) lc->timeout_s * 1000);
  if (r == -ETIMEDOUT)
    return wedge_error_set(err, ETIMEDOUT, WEDGE_DEADLINE_EXCEEDED, "%s (pid %d) still running after %d s", what,
                           (int) p->pid, lc->timeout_s);
  if (r == -EINTR)
    return wedge_error_set(err, EINTR, WEDGE_CANCELLED, "interrupted");
  if (r < 0)
    return wedge_error_set_errno(err, r, WEDGE_INTERNAL, "waiting for %s", what);
  return 0;
}

static int
lc_step_create(struct lifecycle *lc, const struct lc_step *step, char **ret_detail, wedge_error_t *err)
{
  (void) step;
  if (lc->init == NULL)
    {
      struct proc_init_config cfg = {
        .id = lc->id,
        .bundle = lc->bundle,
        .rt = &lc->rt,
        .stdio = OCI_STDIO_NULL,
      };
      int r = proc_init_new(&cfg, &lc->init, err);
      if (r < 0)
        return r;
    }
  lc->create_attempted = true;
  int r = proc_create(lc->init, err);
  if (r < 0)
    return r;
  lc_claim_cached(lc, lc->init);
  *ret_detail = lc_printf("state %s, pid %d", proc_state_name(lc->init->state), (int) lc->init->pid);
  return 0;
}

static char *
lc_state_detail(const struct proc *p)
{
  return lc_printf("state %s", proc_state_name(p->state));
}




/* start, pause, resume, delete: the state machine decides; the line shows where it went. */
static int
lc_step_transition(struct lifecycle *lc, const struct lc_step *step, char **ret_detail, wedge_error_t *err)
{
  int r = step->def->proc_op(lc->init, err);
  if (r < 0)
    return r;
  *ret_detail = lc_state_detail(lc->init);
  return 0;
}

static int
lc_step_state(struct lifecycle *lc, const struct lc_step *step, char **ret_detail, wedge_error_t *err)
{
  (void) step;
  struct oci_state st = { 0 };
  int r = oci_state(&lc->rt, lc->id, &st, err);
  if (r < 0)
    return r;
  *ret_detail = lc_printf("runtime %s, state %s, pid %d", st.status ? st.status : "?",
                          proc_state_name(lc->init->state), (int) st.pid);
  oci_state_clear(&st);
  return 0;
}

static int
lc_step_update(struct lifecycle *lc, const struct lc_step *step, char **ret_detail, wedge_error_t *err)
{
  int r = proc_update(lc->init, step->arg, err);
  if (r < 0)
    return r;
  *ret_detail = lc_state_detail(lc->init);
  return 0;
}

static int
lc_step_kill(struct lifecycle *lc, const struct lc_step *step, char **ret_detail, wedge_error_t *err)
{
  int r = proc_kill(lc->init, step->signo, false, err);
  if (r < 0)
    return r;
  *ret_detail = lc_printf("signal %d", step->signo);
  return 0;
}

static int
lc_step_wait(struct lifecycle *lc, const struct lc_step *step, char **ret_detail, wedge_error_t *err)
{
  (void) step;
  if (lc->init->pid <= 0)
    return wedge_error_set(err, EPERM, WEDGE_FAILED_PRECONDITION, "container %s has no init process", lc->id);
  int r = lc_wait_step(lc, lc->init, "init", err);
  if (r < 0)
    return r;
  *ret_detail = lc_printf("exit status %d, state %s", lc->init->exit_status, proc_state_name(lc->init->state));
  return 0;
}

static int
lc_step_ps(struct lifecycle *lc, const struct lc_step *step, char **ret_detail, wedge_error_t *err)
{
  (void) step;
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  int r = oci_ps(&lc->rt, lc->id, &pids, &n, err);
  if (r < 0)
    return r;
  /* "pids 1234 1240", at most 11 chars a pid. */
  _cleanup_free_ char *text = malloc(16 + n * 12);
  if (text == NULL)
    return lc_oom(err);
  size_t len = (size_t) sprintf(text, "pids");
  for (size_t i = 0; i < n; i++)
    len += (size_t) sprintf(text + len, " %d", (int) pids[i]);
  *ret_detail = TAKE_PTR(text);
  return 0;
}

/* Writes config.json's process object with `args` replaced to `path`, as the runc shim hands
 * exec a full process spec (env, cwd, user, capabilities) with the client's args. No terminal:
 * there is no console socket. */
static int
lc_write_exec_process(const char *bundle, const char *args_text, const char *path, wedge_error_t *err)
{
  json_t *config = NULL;
  int r = spec_load_bundle(bundle, &config, err);
  if (r < 0)
    return r;
  json_t *process = json_deep_copy(json_object_get(config, "process"));
  json_decref(config);
  if (!json_is_object(process))
    {
      json_decref(process);
      return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s/config.json has no process object", bundle);
    }

  json_t *args = json_array();
  _cleanup_free_ char *copy = strdup(args_text);
  if (args == NULL || copy == NULL)
    {
      json_decref(args);
      json_decref(process);
      return lc_oom(err);
    }
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
    json_array_append_new(args, json_string(tok));
  json_object_set_new(process, "args", args);
  json_object_set_new(process, "terminal", json_false());

  _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      json_decref(process);
      return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "create %s", path);
    }
  r = json_dumpfd(process, fd, JSON_COMPACT);
  json_decref(process);
  if (r < 0)
    return wedge_error_set(err, EIO, WEDGE_INTERNAL, "write %s", path);
  return 0;
}

/* Deletes the exec in flight (killing it first if it still runs) and its process.json. */
static int
lc_exec_finish(struct lifecycle *lc, wedge_error_t *err)
{
  int r = 0;
  if (lc->exec)
    {
      if (lc->exec->state == PROC_RUNNING && !lc->exec->exited)
        {
          (void) proc_kill(lc->exec, SIGKILL, false, NULL);
          (void) lc_wait_exit(lc, lc->exec, LC_CLEANUP_WAIT_MS);
        }
      r = proc_delete(lc->exec, err);
      proc_free(lc->exec);
      lc->exec = NULL;
    }
  if (lc->exec_json)
    {
      (void) unlink(lc->exec_json);
      free(lc->exec_json);
      lc->exec_json = NULL;
    }
  return r;
}

static int
lc_step_exec(struct lifecycle *lc, const struct lc_step *step, char **ret_detail, wedge_error_t *err)
{

  int r;
  char exec_id[32];
  snprintf(exec_id, sizeof(exec_id), "exec-%u", ++lc->n_execs);
  lc->exec_json = lc_printf("%s/%s.json", lc->bundle, exec_id);
  if (lc->exec_json == NULL)
    return lc_oom(err);
  r = lc_write_exec_process(lc->bundle, step->arg, lc->exec_json, err);
  if (r < 0)
    goto out;

  /* The exec'd process writes to our stdout and stderr, so its output shows before the step's
   * line; flush ours first to keep the order. */
  fflush(stdout);
  struct proc_exec_config cfg = {
    .exec_id = exec_id,
    .process_json = lc->exec_json,
    .stdio = { -1, STDOUT_FILENO, STDERR_FILENO },
  };
  r = proc_exec_new(lc->init, &cfg, &lc->exec, err);
  if (r < 0)
    goto out;
  r = proc_start(lc->exec, err);
  if (r < 0)
    goto out;
  r = lc_wait_step(lc, lc->exec, "exec", err);
  if (r < 0)
    goto out;
  *ret_detail = lc_printf("exit %d", lc->exec->exit_status);

out:
  if (r < 0)
    {
      (void) lc_exec_finish(lc, NULL);
      return r;
    }
  return lc_exec_finish(lc, err);
}


static const struct lc_step_def lc_steps[] = {
  { "create", LC_ARG_NONE, lc_step_create, NULL },
  { "start", LC_ARG_NONE, lc_step_transition, proc_start },
  { "state", LC_ARG_NONE, lc_step_state, NULL },
  { "pause", LC_ARG_NONE, lc_step_transition, proc_pause },
  { "resume", LC_ARG_NONE, lc_step_transition, proc_resume },
  { "exec", LC_ARG_REQUIRED, lc_step_exec, NULL },
  { "update", LC_ARG_REQUIRED, lc_step_update, NULL },
  { "kill", LC_ARG_OPTIONAL, lc_step_kill, NULL },
  { "wait", LC_ARG_NONE, lc_step_wait, NULL },
  { "ps", LC_ARG_NONE, lc_step_ps, NULL },
  { "delete", LC_ARG_NONE, lc_step_transition, proc_delete },
};

/* "KILL", "SIGKILL", "kill" or "9". */
static int
lc_parse_signal(const char *text)
{
  char *end = NULL;
  errno = 0;
  long n = strtol(text, &end, 10);
  if (end != text && *end == '\0')
    return errno == 0 && n > 0 && n < NSIG ? (int) n : -EINVAL;
  if (strncasecmp(text, "SIG", 3) == 0)
    text += 3;
  for (int s = 1; s < NSIG; s++)
    {
      const char *abbrev = sigabbrev_np(s);
      if (abbrev && strcasecmp(abbrev, text) == 0)
        return s;
    }
  return -EINVAL;
}

/* Parses "name[:arg]"; prints the reason and returns -EINVAL on a usage error. */
static int
lc_parse_step(const char *text, struct lc_step *ret)
{
  const char *colon = strchr(text, ':');
  size_t name_len = colon ? (size_t) (colon - text) : strlen(text);
  const char *arg = colon ? colon + 1 : NULL;

  for (size_t i = 0; i < ARRAY_SIZE(lc_steps); i++)
    {
      const struct lc_step_def *def = &lc_steps[i];
      if (strlen(def->name) != name_len || strncmp(def->name, text, name_len) != 0)
        continue;
      if (def->arg == LC_ARG_NONE && arg)
        {
          fprintf(stderr, "wedge lifecycle: step '%s' takes no argument\n", def->name);
          return -EINVAL;
        }
      if (def->arg == LC_ARG_REQUIRED && (arg == NULL || *arg == '\0'))
        {
          fprintf(stderr, "wedge lifecycle: step '%s' needs an argument (%s:...)\n", def->name, def->name);
          return -EINVAL;
        }
      *ret = (struct lc_step){ .def = def, .arg = arg, .signo = SIGTERM };
      if (def->run == lc_step_kill && arg)
        {
          ret->signo = lc_parse_signal(arg);
          if (ret->signo < 0)
            {
              fprintf(stderr, "wedge lifecycle: unknown signal '%s'\n", arg);
              return -EINVAL;
            }
        }
      return 0;
    }
  fprintf(stderr, "wedge lifecycle: unknown step '%.*s'\n", (int) name_len, text);
  return -EINVAL;
}

/* Leaves nothing behind: SIGKILL to every process of the container (thawed first, a frozen
 * process cannot die), its exit reaped, then `delete --force`, which also removes the state of a
 * container whose create failed half way. */
static void
lc_cleanup(struct lifecycle *lc)
{
  (void) lc_exec_finish(lc, NULL);
  if (lc->init == NULL || !lc->create_attempted || lc->init->state == PROC_DELETED)
    return;

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  if (lc->init->state == PROC_PAUSED || lc->init->state == PROC_PAUSING)
    (void) oci_resume(&lc->rt, lc->id, NULL);
  if (lc->init->pid > 0 && !lc->init->exited)
    {
      (void) oci_kill(&lc->rt, lc->id, SIGKILL, true, NULL);
      (void) lc_wait_exit(lc, lc->init, LC_CLEANUP_WAIT_MS);
    }
  /* After a create that failed there is usually nothing to delete; the runtime's complaint
   * about that is noise. */
  int r = oci_delete(&lc->rt, lc->id, true, &err);
  if (lc->init->pid <= 0)
    ;
  else if (r < 0 && r != -ENOENT)
    fprintf(stderr, "wedge lifecycle: cleanup: %s\n", wedge_error_message(&err));
  else
    fprintf(stderr, "wedge lifecycle: cleanup: container %s killed and deleted\n", lc->id);
}

/* Blocks the signals we read from lc->sigfd; *ret_old receives the previous mask (and is
 * filled even on failure, so it can always be restored). */
static int
lc_setup_signals(struct lifecycle *lc, sigset_t *ret_old)
{
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &mask, ret_old) < 0)
    {
      int r = -errno;
      (void) sigprocmask(SIG_BLOCK, NULL, ret_old);
      return r;
    }
  lc->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  return lc->sigfd < 0 ? -errno : 0;
}

void
cmd_lifecycle_usage(FILE *out)
{
  fprintf(out,
          "Usage: wedge lifecycle [--runtime BIN] [--root DIR] [--log FILE] [--timeout SECS] BUNDLE ID STEP...\n"
          "\n"
          "Drives container ID of BUNDLE through the STEPs in order, one line of output per step,\n"
          "and stops at the first that fails. Whatever was created is killed and deleted at the end.\n"
          "\n"
          "Steps: create, start, state, pause, resume, exec:CMD[,ARG...], update:RESOURCES_JSON,\n"
          "       kill[:SIGNAL] (default TERM), wait, ps, delete\n"
          "\n"
          "  --runtime BIN    OCI runtime (default %s)\n"
          "  --root DIR       the runtime's state root (default %s)\n"
          "  --log FILE       the runtime's JSON log (default BUNDLE/log.json)\n"
          "  --timeout SECS   per runtime call, and for wait and exec (default %d)\n"
          "\n"
          "Exit status: 0 every step succeeded, 1 a step failed, 2 usage error.\n",
          OCI_DEFAULT_BINARY, LC_DEFAULT_ROOT, LC_DEFAULT_TIMEOUT_S);
}

static int
lc_usage_error(const char *msg)
{
  if (msg)
    fprintf(stderr, "wedge lifecycle: %s\n", msg);
  fprintf(stderr, "See 'wedge lifecycle --help'.\n");
  return WEDGE_EXIT_USAGE;
}

static int
lc_run(struct lifecycle *lc, const struct lc_step *steps, size_t n_steps)
{
  for (size_t i = 0; i < n_steps; i++)
    {
      _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
      _cleanup_free_ char *detail = NULL;

      lc_collect(lc);
      if (lc->interrupted)
        {
          printf("%s: error: interrupted\n", steps[i].def->name);
          return WEDGE_EXIT_FAILURE;
        }
      int r;
      /* Every step but create acts on the container create made. */
      if (lc->init == NULL && steps[i].def->run != lc_step_create)
        r = wedge_error_set(&err, ENOENT, WEDGE_NOT_FOUND, "container %s: not created", lc->id);
      else
        r = steps[i].def->run(lc, &steps[i], &detail, &err);
      lc_collect(lc);
      if (r < 0)
        {
          printf("%s: error: %s\n", steps[i].def->name,
                 wedge_error_message(&err)[0] ? wedge_error_message(&err) : strerror(-r));
          fflush(stdout);
          return WEDGE_EXIT_FAILURE;
        }
      if (detail)
        printf("%s: ok (%s)\n", steps[i].def->name, detail);
      else
        printf("%s: ok\n", steps[i].def->name);
      fflush(stdout);
    }
  return WEDGE_EXIT_OK;
}

int
cmd_lifecycle(int argc, char **argv)
{
  static const struct option options[] = {
    { "runtime", required_argument, NULL, 'r' },
    { "root", required_argument, NULL, 'R' },
    { "log", required_argument, NULL, 'l' },
    { "timeout", required_argument, NULL, 't' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *runtime = OCI_DEFAULT_BINARY, *root = LC_DEFAULT_ROOT, *log = NULL;
  int timeout_s = LC_DEFAULT_TIMEOUT_S;
  int c;

  /* '+': options end at the first operand, so a step never reads as an option. */
  optind = 1;
  while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1)
    {
      switch (c)
        {
        case 'r': runtime = optarg; break;
        case 'R': root = optarg; break;
        case 'l': log = optarg; break;
        case 't':
          {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || v <= 0 || v > 24 * 3600)
              return lc_usage_error("--timeout wants a number of seconds between 1 and 86400");
            timeout_s = (int) v;
            break;
          }
        case 'h':
          cmd_lifecycle_usage(stdout);
          return WEDGE_EXIT_OK;
        default:
          return lc_usage_error(NULL);
        }
    }
  if (argc - optind < 3)
    return lc_usage_error("BUNDLE, ID and at least one STEP are required");

  const char *bundle_arg = argv[optind];
  const char *id = argv[optind + 1];
  size_t n_steps = (size_t) (argc - optind - 2);
  _cleanup_free_ struct lc_step *steps = calloc(n_steps, sizeof(*steps));
  if (steps == NULL)
    {
      fprintf(stderr, "wedge lifecycle: out of memory\n");
      return WEDGE_EXIT_FAILURE;
    }
  for (size_t i = 0; i < n_steps; i++)
    if (lc_parse_step(argv[optind + 2 + (int) i], &steps[i]) < 0)
      return lc_usage_error(NULL);

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  if (oci_validate_id(id, &err) < 0)
    {
      fprintf(stderr, "wedge lifecycle: %s\n", wedge_error_message(&err));
      return WEDGE_EXIT_USAGE;
    }

  struct lifecycle lc = { .id = id, .timeout_s = timeout_s, .sigfd = -1 };
  lc.bundle = realpath(bundle_arg, NULL);
  if (lc.bundle == NULL)
    {
      fprintf(stderr, "wedge lifecycle: bundle %s: %s\n", bundle_arg, strerror(errno));
      return WEDGE_EXIT_FAILURE;
    }
  _cleanup_free_ char *default_log = NULL;
  if (log == NULL)
    {
      default_log = lc_printf("%s/log.json", lc.bundle);
      log = default_log;
    }

  int status = WEDGE_EXIT_FAILURE;
  sigset_t old_mask;
  int r = lc_setup_signals(&lc, &old_mask);
  if (r < 0)
    fprintf(stderr, "wedge lifecycle: signals: %s\n", strerror(-r));
  else if (log == NULL || oci_runtime_init(&lc.rt, runtime, root, log, false, &err) < 0)
    fprintf(stderr, "wedge lifecycle: %s\n", log ? wedge_error_message(&err) : "out of memory");
  else
    {
      lc.rt.timeout_ms = timeout_s * 1000;
      if (reaper_new(&lc.reaper, &err) < 0)
        fprintf(stderr, "wedge lifecycle: %s\n", wedge_error_message(&err));
      else
        {
          status = lc_run(&lc, steps, n_steps);
          lc_cleanup(&lc);
        }
      oci_runtime_destroy(&lc.rt);
    }

  if (lc.init)
    {
      /* The runtime's pid file is ours to remove: nothing of this run stays in the bundle but the
       * runtime's log. */
      _cleanup_free_ char *pid_file = lc_printf("%s/init.pid", lc.bundle);
      if (pid_file)
        (void) unlink(pid_file);
      proc_free(lc.init);
    }
  if (lc.reaper)
    {
      reaper_collect(lc.reaper, NULL, NULL);
      reaper_free(lc.reaper);
    }
  if (lc.sigfd >= 0)
    close(lc.sigfd);
  (void) sigprocmask(SIG_SETMASK, &old_mask, NULL);
  free(lc.bundle);
  return status;
}
