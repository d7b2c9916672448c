/* The task service as containerd sees it over ttrpc: a real server on a unix socket, a client
 * in a thread, and a stand-in OCI runtime (a shell script) so that no container runs. Checks
 * the status codes and texts of errors, the zero-time encoding, the deferred Wait, the event
 * order, Delete's tombstone and Shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <glob.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/cleanup.h"
#include "service/events.h"
#include "events_task.pb-c.h"
#include "base/loop.h"
#include "runc_options.pb-c.h"
#include "shim.pb-c.h"
#include "service/task.h"
#include "testutil.h"
#include "ttrpc/ttrpc.h"

/* A pid no process has (above the default pid_max of 32768 is not enough on 64-bit hosts;
 * 4194303 is pid_max's ceiling, never handed out while we look). */
#define FAKE_PID 4194303
#define FAKE_EXEC_PID 4194302

static const char FAKE_RUNTIME[] =
  "cmd=''; pidfile=''; dir=$(dirname \"$0\")\n"
  "while [ $# -gt 0 ]; do\n"
  "  case \"$1\" in\n"
  "    --pid-file) pidfile=$2; shift 2; continue;;\n"
  "    --root|--log|--log-format|--bundle|--console-socket|--process) shift 2; continue;;\n"
  "    create|start|kill|delete|pause|resume|ps|exec|update) [ -z \"$cmd\" ] && cmd=$1;;\n"
  "  esac\n"
  "  shift\n"
  "done\n"
  /* hold-<command>: that command waits (at most 20 s) until the file is gone, then records. */
  "i=0; while [ -e \"$dir/hold-$cmd\" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done\n"
  "echo \"$cmd\" >> \"$dir/calls\"\n"
  "case $cmd in\n"
  "  create) [ -e \"$dir/fail-create\" ] && { echo 'boom' >&2; exit 1; }\n"
  "          [ -e \"$dir/hold-stdout\" ] && (sleep 0.5; echo late) &\n"
  "          echo " "4194303" " > \"$pidfile\";;\n"
  "  exec) echo 4194302 > \"$pidfile\";;\n"
  "  ps) echo '[4194303,4194302]';;\n"
  "esac\n"
  "exit 0\n";

typedef struct fixture
{
  char *dir;
  char *sock;
  char *bundle;
  char *runtime;
  ttrpc_server_t *server;
  struct loop *loop;
  struct events *events;
  struct task_service *ts;
  char topics[512];
  bool shutdown;
} fixture_t;

static void
observe(const char *topic, const ProtobufCMessage *event, void *data)
{
  (void) event;
  fixture_t *f = data;
  strncat(f->topics, topic, sizeof(f->topics) - strlen(f->topics) - 2);
  strcat(f->topics, " ");
}

static void
on_shutdown(void *data)
{
  fixture_t *f = data;
  f->shutdown = true;
}

static int
on_server(struct loop_source *s, int fd, uint32_t revents, void *data)
{
  (void) s;
  (void) fd;
  (void) revents;
  fixture_t *f = data;
  return ttrpc_server_process(f->server, NULL);
}

static int
setup(void **state)
{
  fixture_t *f = calloc(1, sizeof(*f));
  f->dir = tu_mkdtemp();
  f->sock = tu_path(f->dir, "sock");
  f->bundle = tu_path(f->dir, "bundle");
  assert_int_equal(mkdir(f->bundle, 0700), 0);
  _cleanup_free_ char *rootfs = tu_path(f->bundle, "rootfs");
  _cleanup_free_ char *config = tu_path(f->bundle, "config.json");
  assert_int_equal(mkdir(rootfs, 0700), 0);
  assert_int_equal(tu_write_file(config, "{}", 0600), 0);
  f->runtime = tu_write_script(f->dir, "fake-runtime", FAKE_RUNTIME);

  wedge_error_t err = WEDGE_ERROR_INIT;
  int lfd = ttrpc_listen_unix(f->sock, &err);
  assert_true(lfd >= 0);
  assert_int_equal(ttrpc_server_new(lfd, NULL, &f->server, &err), 0);
  assert_int_equal(loop_new(&f->loop, &err), 0);
  assert_int_equal(loop_add_io(f->loop, ttrpc_server_get_fd(f->server), EPOLLIN, on_server, f, NULL, &err), 0);
  assert_int_equal(events_new(NULL, "testns", NULL, &f->events, &err), 0);
  events_set_observer(f->events, observe, f);
  _cleanup_free_ char *root = tu_path(f->dir, "root");
  struct task_service_config cfg = {
    .loop = f->loop,
    .namespace_ = "testns",
    .events = f->events,
    .runtime_root = root,
    .on_shutdown = on_shutdown,
    .data = f,
  };
  assert_int_equal(task_service_new(&cfg, &f->ts, &err), 0);
  assert_int_equal(task_service_register(f->ts, f->server, &err), 0);
  *state = f;
  return 0;
}

static int
teardown(void **state)
{
  fixture_t *f = *state;
  task_service_free(f->ts);
  ttrpc_server_free(f->server);
  loop_free(f->loop);
  events_free(f->events);
  tu_rm_rf(f->dir);
  free(f->dir);
  free(f->sock);
  free(f->bundle);
  free(f->runtime);
  free(f);
  return 0;
}

/* One call from a client thread while the test thread serves. */
typedef struct call
{
  fixture_t *f;
  const char *service;
  const char *method;
  const ProtobufCMessage *req;
  const ProtobufCMessageDescriptor *resp_desc;
  ProtobufCMessage *resp;
  wedge_error_t err;
  int r;
  atomic_bool done;
  pthread_t th;
} call_t;

static void *
call_main(void *arg)
{
  call_t *c = arg;
  ttrpc_client_t *client = NULL;
  c->r = ttrpc_client_connect(c->f->sock, &client, &c->err);
  if (c->r == 0)
    c->r = ttrpc_client_call_message(client, c->service, c->method, c->req, NULL, 0, 10LL * 1000000000,
                                     c->resp_desc, &c->resp, &c->err);
  ttrpc_client_free(client);
  atomic_store(&c->done, true);
  return NULL;
}

/* The daemon's loop in small steps: requests, and the deferred "output drained" callbacks that
 * release TaskExit. */
static void
pump_once(fixture_t *f, int ms)
{
  assert_true(loop_run_once(f->loop, ms) >= 0);
}

static void
call_begin(call_t *c, fixture_t *f, const char *method, const ProtobufCMessage *req,
           const ProtobufCMessageDescriptor *resp_desc)
{
  memset(c, 0, sizeof(*c));
  c->f = f;
  c->service = TASK_SERVICE_V2;
  c->method = method;
  c->req = req;
  c->resp_desc = resp_desc;
  assert_int_equal(pthread_create(&c->th, NULL, call_main, c), 0);
}

static void
call_end(call_t *c)
{
  for (int i = 0; i < 1000 && !atomic_load(&c->done); i++)
    pump_once(c->f, 10);
  assert_true(atomic_load(&c->done));
  pthread_join(c->th, NULL);
}

static int
call(fixture_t *f, const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
     ProtobufCMessage **ret_resp, char *ret_msg, size_t msg_len, enum wedge_status *ret_status)
{
  call_t c;
  call_begin(&c, f, method, req, resp_desc);
  call_end(&c);
  if (ret_msg)
    snprintf(ret_msg, msg_len, "%s", wedge_error_message(&c.err));
  if (ret_status)
    *ret_status = c.err.status;
  wedge_error_clear(&c.err);
  if (ret_resp)
    *ret_resp = c.resp;
  else if (c.resp)
    protobuf_c_message_free_unpacked(c.resp, NULL);
  return c.r;
}

static void
assert_error(fixture_t *f, const char *method, const ProtobufCMessage *req, enum wedge_status status,
             const char *msg)
{
  char got[512];
  enum wedge_status st;
  assert_int_equal(call(f, method, req, NULL, NULL, got, sizeof(got), &st), -EREMOTEIO);
  assert_string_equal(got, msg);
  assert_int_equal(st, status);
}

static void
test_unknown_id_is_not_found(void **state)
{
  fixture_t *f = *state;
  Containerd__Task__V2__StateRequest st = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
  st.id = "nope";
  assert_error(f, "State", &st.base, WEDGE_NOT_FOUND, "container not created: not found");
  Containerd__Task__V2__WaitRequest w = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
  w.id = "nope";
  assert_error(f, "Wait", &w.base, WEDGE_NOT_FOUND, "container not created: not found");
  Containerd__Task__V2__KillRequest k = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
  k.id = "nope";
  k.signal = 9;
  assert_error(f, "Kill", &k.base, WEDGE_NOT_FOUND, "container not created: not found");
  Containerd__Task__V2__DeleteRequest d = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
  d.id = "nope";
  /* What containerd expects after a failed Create. */
  assert_error(f, "Delete", &d.base, WEDGE_NOT_FOUND, "container not created: not found");
  Containerd__Task__V2__PidsRequest p = CONTAINERD__TASK__V2__PIDS_REQUEST__INIT;
  p.id = "nope";
  assert_error(f, "Pids", &p.base, WEDGE_NOT_FOUND, "container not created: not found");
  Containerd__Task__V2__ResizePtyRequest rz = CONTAINERD__TASK__V2__RESIZE_PTY_REQUEST__INIT;
  rz.id = "nope";
  assert_error(f, "ResizePty", &rz.base, WEDGE_NOT_FOUND, "container not created: not found");
  Containerd__Task__V2__CheckpointTaskRequest c = CONTAINERD__TASK__V2__CHECKPOINT_TASK_REQUEST__INIT;
  c.id = "nope";
  c.path = "/img";
  assert_error(f, "Checkpoint", &c.base, WEDGE_NOT_FOUND, "container not created: not found");
  Containerd__Task__V2__StatsRequest sr = CONTAINERD__TASK__V2__STATS_REQUEST__INIT;
  sr.id = "nope";
  assert_error(f, "Stats", &sr.base, WEDGE_NOT_FOUND, "container not created: not found");
}

static void
test_connect_never_fails_and_v3(void **state)
{
  fixture_t *f = *state;
  Containerd__Task__V2__ConnectRequest req = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
  req.id = "nope";
  call_t c;
  call_begin(&c, f, "Connect", &req.base, &containerd__task__v2__connect_response__descriptor);
  c.service = TASK_SERVICE_V3;
  call_end(&c);
  assert_int_equal(c.r, 0);
  Containerd__Task__V2__ConnectResponse *resp = (Containerd__Task__V2__ConnectResponse *) c.resp;
  assert_int_equal(resp->shim_pid, getpid());
  assert_int_equal(resp->task_pid, 0);
  protobuf_c_message_free_unpacked(c.resp, NULL);
}

/* Create's options: the stand-in runtime as BinaryName, packed into `buf` (512 bytes). */
static Google__Protobuf__Any
runtime_options(fixture_t *f, uint8_t *buf)
{
  Containerd__Runc__V1__Options o = CONTAINERD__RUNC__V1__OPTIONS__INIT;
  o.binary_name = f->runtime;
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = "containerd.runc.v1.Options";
  any.value.len = containerd__runc__v1__options__pack(&o, buf);
  any.value.data = buf;
  return any;
}

/* A Create of `id` in the fixture's bundle by the stand-in runtime; `buf` and `any` hold its
 * options. */
static void
create_request(fixture_t *f, const char *id, uint8_t *buf, Google__Protobuf__Any *any,
               Containerd__Task__V2__CreateTaskRequest *req)
{
  *any = runtime_options(f, buf);
  *req = (Containerd__Task__V2__CreateTaskRequest) CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
  req->id = (char *) id;
  req->bundle = f->bundle;
  req->options = any;
  req->stdout = "";
}

static void
create_with_stdout(fixture_t *f, const char *id, const char *stdout_path, uint32_t *ret_pid)
{
  uint8_t buf[512];
  Google__Protobuf__Any any;
  Containerd__Task__V2__CreateTaskRequest req;
  create_request(f, id, buf, &any, &req);
  req.stdout = (char *) (stdout_path ? stdout_path : "");
  ProtobufCMessage *resp = NULL;
  char msg[512];
  assert_int_equal(call(f, "Create", &req.base, &containerd__task__v2__create_task_response__descriptor, &resp, msg,
                        sizeof(msg), NULL), 0);
  *ret_pid = ((Containerd__Task__V2__CreateTaskResponse *) resp)->pid;
  protobuf_c_message_free_unpacked(resp, NULL);
}

static void
create(fixture_t *f, const char *id, uint32_t *ret_pid)
{
  create_with_stdout(f, id, NULL, ret_pid);
}

static Containerd__Task__V2__StateResponse *
state_of(fixture_t *f, const char *id, const char *exec_id)
{
  Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
  req.id = (char *) id;
  req.exec_id = (char *) exec_id;
  ProtobufCMessage *resp = NULL;
  assert_int_equal(call(f, "State", &req.base, &containerd__task__v2__state_response__descriptor, &resp, NULL, 0, NULL), 0);
  return (Containerd__Task__V2__StateResponse *) resp;
}

static void
test_lifecycle(void **state)
{
  fixture_t *f = *state;
  uint32_t pid = 0;
  create(f, "c1", &pid);
  assert_int_equal(pid, FAKE_PID);
  assert_int_equal(task_service_count(f->ts), 1);

  _cleanup_free_ char *opts_path = tu_path(f->bundle, "options.json");
  _cleanup_free_ char *opts = tu_read_file(opts_path);
  assert_non_null(opts);
  assert_non_null(strstr(opts, "\"binary_name\""));

  Containerd__Task__V2__StateResponse *st = state_of(f, "c1", "");
  assert_int_equal(st->status, CONTAINERD__V1__TYPES__STATUS__CREATED);
  assert_string_equal(st->id, "c1");
  assert_string_equal(st->bundle, f->bundle);
  assert_int_equal(st->pid, FAKE_PID);
  /* Go's zero time: containerd 1.6 decodes an absent or out-of-range one differently. */
  assert_non_null(st->exited_at);
  assert_int_equal(st->exited_at->seconds, -62135596800LL);
  assert_int_equal(st->exited_at->nanos, 0);
  protobuf_c_message_free_unpacked(&st->base, NULL);

  /* A Wait before the exit is answered only once it happened. */
  Containerd__Task__V2__WaitRequest w = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
  w.id = "c1";
  call_t waiter1, waiter2;
  call_begin(&waiter1, f, "Wait", &w.base, &containerd__task__v2__wait_response__descriptor);
  call_begin(&waiter2, f, "Wait", &w.base, &containerd__task__v2__wait_response__descriptor);

  Containerd__Task__V2__StartRequest s = CONTAINERD__TASK__V2__START_REQUEST__INIT;
  s.id = "c1";
  assert_int_equal(call(f, "Start", &s.base, NULL, NULL, NULL, 0, NULL), 0);
  st = state_of(f, "c1", "");
  assert_int_equal(st->status, CONTAINERD__V1__TYPES__STATUS__RUNNING);
  protobuf_c_message_free_unpacked(&st->base, NULL);
  /* The fake runtime's pid is no process: no cgroup, the runc shim's answer for that. */
  Containerd__Task__V2__StatsRequest stats = CONTAINERD__TASK__V2__STATS_REQUEST__INIT;
  stats.id = "c1";
  assert_error(f, "Stats", &stats.base, WEDGE_NOT_FOUND, "cgroup does not exist: not found");

  Containerd__Task__V2__ExecProcessRequest ex = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
  Google__Protobuf__Any spec = GOOGLE__PROTOBUF__ANY__INIT;
  spec.type_url = "types.containerd.io/opencontainers/runtime-spec/1/Process";
  spec.value.data = (uint8_t *) "{\"args\":[\"true\"],\"cwd\":\"/\"}";
  spec.value.len = strlen((char *) spec.value.data);
  ex.id = "c1";
  ex.exec_id = "e1";
  ex.spec = &spec;
  assert_int_equal(call(f, "Exec", &ex.base, NULL, NULL, NULL, 0, NULL), 0);
  assert_error(f, "Exec", &ex.base, WEDGE_ALREADY_EXISTS, "id e1: already exists");
  Containerd__Task__V2__KillRequest k = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
  k.id = "c1";
  k.exec_id = "e2";
  k.signal = 9;
  assert_error(f, "Kill", &k.base, WEDGE_NOT_FOUND, "process does not exist e2: not found");
  /* An exec that never started cannot be signalled. */
  k.exec_id = "e1";
  assert_error(f, "Kill", &k.base, WEDGE_FAILED_PRECONDITION, "process not created: failed precondition");
  /* ResizePty: an unknown exec is NotFound as everywhere; a process without a terminal ignores
   * it, as with the runc shim. */
  Containerd__Task__V2__ResizePtyRequest rz = CONTAINERD__TASK__V2__RESIZE_PTY_REQUEST__INIT;
  rz.id = "c1";
  rz.exec_id = "e2";
  rz.width = 80;
  rz.height = 24;
  assert_error(f, "ResizePty", &rz.base, WEDGE_NOT_FOUND, "process does not exist e2: not found");
  rz.exec_id = "e1";
  assert_int_equal(call(f, "ResizePty", &rz.base, NULL, NULL, NULL, 0, NULL), 0);
  rz.exec_id = "";
  assert_int_equal(call(f, "ResizePty", &rz.base, NULL, NULL, NULL, 0, NULL), 0);
  st = state_of(f, "c1", "e1");
  assert_int_equal(st->status, CONTAINERD__V1__TYPES__STATUS__CREATED);
  /* As the runc shim: the exec is named in id, exec_id stays empty. */
  assert_string_equal(st->id, "e1");
  assert_string_equal(st->exec_id, "");
  protobuf_c_message_free_unpacked(&st->base, NULL);
  /* A second exec, started: Pids names it with a ProcessDetails. */
  ex.exec_id = "e3";
  assert_int_equal(call(f, "Exec", &ex.base, NULL, NULL, NULL, 0, NULL), 0);
  Containerd__Task__V2__StartRequest sx = CONTAINERD__TASK__V2__START_REQUEST__INIT;
  sx.id = "c1";
  sx.exec_id = "e3";
  ProtobufCMessage *sresp = NULL;
  assert_int_equal(call(f, "Start", &sx.base, &containerd__task__v2__start_response__descriptor, &sresp, NULL, 0, NULL), 0);
  assert_int_equal(((Containerd__Task__V2__StartResponse *) sresp)->pid, FAKE_EXEC_PID);
  protobuf_c_message_free_unpacked(sresp, NULL);
  Containerd__Task__V2__PidsRequest pr = CONTAINERD__TASK__V2__PIDS_REQUEST__INIT;
  pr.id = "c1";
  ProtobufCMessage *presp = NULL;
  assert_int_equal(call(f, "Pids", &pr.base, &containerd__task__v2__pids_response__descriptor, &presp, NULL, 0, NULL), 0);
  Containerd__Task__V2__PidsResponse *pids = (Containerd__Task__V2__PidsResponse *) presp;
  assert_int_equal(pids->n_processes, 2);
  assert_int_equal(pids->processes[0]->pid, FAKE_PID);
  assert_null(pids->processes[0]->info);
  assert_int_equal(pids->processes[1]->pid, FAKE_EXEC_PID);
  assert_non_null(pids->processes[1]->info);
  assert_string_equal(pids->processes[1]->info->type_url, "containerd.runc.v1.ProcessDetails");
  Containerd__Runc__V1__ProcessDetails *pd = containerd__runc__v1__process_details__unpack(
    NULL, pids->processes[1]->info->value.len, pids->processes[1]->info->value.data);
  assert_non_null(pd);
  assert_string_equal(pd->exec_id, "e3");
  protobuf_c_message_free_unpacked(&pd->base, NULL);
  protobuf_c_message_free_unpacked(presp, NULL);
  assert_true(task_service_reap(f->ts, FAKE_EXEC_PID, 9));
  Containerd__Task__V2__DeleteRequest dx3 = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
  dx3.id = "c1";
  dx3.exec_id = "e3";
  ProtobufCMessage *dresp = NULL;
  assert_int_equal(call(f, "Delete", &dx3.base, &containerd__task__v2__delete_response__descriptor, &dresp, NULL, 0, NULL), 0);
  assert_int_equal(((Containerd__Task__V2__DeleteResponse *) dresp)->exit_status, 128 + 9);
  protobuf_c_message_free_unpacked(dresp, NULL);
  Containerd__Task__V2__StateRequest gone = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
  gone.id = "c1";
  gone.exec_id = "e3";
  assert_error(f, "State", &gone.base, WEDGE_NOT_FOUND, "process does not exist e3: not found");

  /* Update hands the resources JSON to the runtime; Pause/Resume publish their events. */
  Google__Protobuf__Any res = GOOGLE__PROTOBUF__ANY__INIT;
  res.type_url = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
  res.value.data = (uint8_t *) "{\"pids\":{\"limit\":10}}";
  res.value.len = strlen((char *) res.value.data);
  Containerd__Task__V2__UpdateTaskRequest up = CONTAINERD__TASK__V2__UPDATE_TASK_REQUEST__INIT;
  up.id = "c1";
  assert_error(f, "Update", &up.base, WEDGE_INVALID_ARGUMENT, "update: no resources: invalid argument");
  up.resources = &res;
  assert_int_equal(call(f, "Update", &up.base, NULL, NULL, NULL, 0, NULL), 0);
  Containerd__Task__V2__PauseRequest pa = CONTAINERD__TASK__V2__PAUSE_REQUEST__INIT;
  pa.id = "c1";
  assert_int_equal(call(f, "Pause", &pa.base, NULL, NULL, NULL, 0, NULL), 0);
  st = state_of(f, "c1", "");
  assert_int_equal(st->status, CONTAINERD__V1__TYPES__STATUS__PAUSED);
  protobuf_c_message_free_unpacked(&st->base, NULL);
  Containerd__Task__V2__ResumeRequest re = CONTAINERD__TASK__V2__RESUME_REQUEST__INIT;
  re.id = "c1";
  assert_int_equal(call(f, "Resume", &re.base, NULL, NULL, NULL, 0, NULL), 0);

  Containerd__Task__V2__DeleteRequest dx = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
  dx.id = "c1";
  dx.exec_id = "e1";
  assert_int_equal(call(f, "Delete", &dx.base, NULL, NULL, NULL, 0, NULL), 0);

  for (int i = 0; i < 20; i++)
    pump_once(f, 5);
  assert_false(atomic_load(&waiter1.done));
  assert_false(atomic_load(&waiter2.done));

  Containerd__Task__V2__DeleteRequest d = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
  d.id = "c1";
  char msg[256];
  enum wedge_status status;
  assert_int_equal(call(f, "Delete", &d.base, NULL, NULL, msg, sizeof(msg), &status), -EREMOTEIO);
  assert_int_equal(status, WEDGE_UNKNOWN);
  assert_string_equal(msg, "cannot delete a running process");

  assert_true(task_service_reap(f->ts, FAKE_PID, 3 << 8));
  assert_false(task_service_reap(f->ts, FAKE_PID, 3 << 8));
  call_end(&waiter1);
  call_end(&waiter2);
  assert_int_equal(waiter1.r, 0);
  Containerd__Task__V2__WaitResponse *wr = (Containerd__Task__V2__WaitResponse *) waiter1.resp;
  assert_int_equal(wr->exit_status, 3);
  assert_true(wr->exited_at->seconds > 1600000000);
  protobuf_c_message_free_unpacked(waiter1.resp, NULL);
  protobuf_c_message_free_unpacked(waiter2.resp, NULL);

  st = state_of(f, "c1", "");
  assert_int_equal(st->status, CONTAINERD__V1__TYPES__STATUS__STOPPED);
  assert_int_equal(st->exit_status, 3);
  protobuf_c_message_free_unpacked(&st->base, NULL);

  /* Shutdown is ignored while a container is left. */
  Containerd__Task__V2__ShutdownRequest sd = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
  assert_int_equal(call(f, "Shutdown", &sd.base, NULL, NULL, NULL, 0, NULL), 0);
  assert_false(f->shutdown);

  ProtobufCMessage *resp = NULL;
  assert_int_equal(call(f, "Delete", &d.base, &containerd__task__v2__delete_response__descriptor, &resp, NULL, 0, NULL), 0);
  Containerd__Task__V2__DeleteResponse *dr = (Containerd__Task__V2__DeleteResponse *) resp;
  assert_int_equal(dr->pid, FAKE_PID);
  assert_int_equal(dr->exit_status, 3);
  int64_t seconds = dr->exited_at->seconds;
  protobuf_c_message_free_unpacked(resp, NULL);
  assert_int_equal(task_service_count(f->ts), 0);

  /* A repeated Delete answers the same; everything else no longer knows the container. */
  assert_int_equal(call(f, "Delete", &d.base, &containerd__task__v2__delete_response__descriptor, &resp, NULL, 0, NULL), 0);
  dr = (Containerd__Task__V2__DeleteResponse *) resp;
  assert_int_equal(dr->exit_status, 3);
  assert_int_equal(dr->exited_at->seconds, seconds);
  protobuf_c_message_free_unpacked(resp, NULL);
  Containerd__Task__V2__StateRequest sr = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
  sr.id = "c1";
  assert_error(f, "State", &sr.base, WEDGE_NOT_FOUND, "container not created: not found");

  assert_string_equal(f->topics, "/tasks/create /tasks/start /tasks/exec-added /tasks/exec-added /tasks/exec-started /tasks/exit "
                      "/tasks/paused /tasks/resumed /tasks/exit /tasks/delete ");

  assert_int_equal(call(f, "Shutdown", &sd.base, NULL, NULL, NULL, 0, NULL), 0);
  assert_true(f->shutdown);
}

static void
test_create_failure(void **state)
{
  fixture_t *f = *state;
  _cleanup_free_ char *flag = tu_path(f->dir, "fail-create");
  assert_int_equal(tu_write_file(flag, "", 0600), 0);
  uint8_t buf[512];
  Google__Protobuf__Any any = runtime_options(f, buf);
  Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
  req.id = "bad";
  req.bundle = f->bundle;
  req.options = &any;
  char msg[512];
  enum wedge_status st;
  assert_int_equal(call(f, "Create", &req.base, NULL, NULL, msg, sizeof(msg), &st), -EREMOTEIO);
  assert_non_null(strstr(msg, "OCI runtime create failed"));
  assert_int_equal(task_service_count(f->ts), 0);
  assert_string_equal(f->topics, "");
}

/* Ids and the bundle come from the request: a bad one is refused before the runtime runs or a
 * file is written (the runtime's own checks differ: crun 1.8.1 takes "../x" as a path). */
static void
test_bad_ids_create_nothing(void **state)
{
  fixture_t *f = *state;
  _cleanup_free_ char *calls = tu_path(f->dir, "calls");
  _cleanup_free_ char *opts_path = tu_path(f->bundle, "options.json");
  _cleanup_free_ char *escape = NULL;
  assert_true(asprintf(&escape, "%s/../bundle", f->bundle) > 0);
  const struct
  {
    const char *id, *bundle, *msg;
  } cases[] = {
    { "../x", f->bundle,
      "container id: identifier \"../x\" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument" },
    { "a/b", f->bundle, NULL },
    { "", f->bundle, "container id: identifier must not be empty: invalid argument" },
    { "-h", f->bundle, NULL },
    { "c1", escape, NULL },
    { "c1", "bundle", "bundle path must be absolute: bundle: invalid argument" },
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
    {
      Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
      req.id = (char *) cases[i].id;
      req.bundle = (char *) cases[i].bundle;
      char msg[512];
      enum wedge_status st;
      assert_int_equal(call(f, "Create", &req.base, NULL, NULL, msg, sizeof(msg), &st), -EREMOTEIO);
      assert_int_equal(st, WEDGE_INVALID_ARGUMENT);
      if (cases[i].msg)
        assert_string_equal(msg, cases[i].msg);
    }
  assert_int_equal(access(calls, F_OK), -1);
  assert_int_equal(access(opts_path, F_OK), -1);
  assert_int_equal(task_service_count(f->ts), 0);
  assert_string_equal(f->topics, "");

  uint32_t pid;
  create(f, "c1", &pid);
  Containerd__Task__V2__ExecProcessRequest ex = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
  ex.id = "c1";
  ex.exec_id = "../../e1";
  assert_error(f, "Exec", &ex.base, WEDGE_INVALID_ARGUMENT,
               "exec id: identifier \"../../e1\" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument");
  ex.exec_id = "";
  assert_error(f, "Exec", &ex.base, WEDGE_INVALID_ARGUMENT, "exec id: identifier must not be empty: invalid argument");
  Containerd__Task__V2__DeleteRequest d = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
  d.id = "c1";
  assert_int_equal(call(f, "Delete", &d.base, NULL, NULL, NULL, 0, NULL), 0);
}

/* runc and crun send the pty master before create exits; a runtime that does not fails Create
 * after CONSOLE_RECEIVE_TIMEOUT_MS instead of hanging it, and the container is deleted. */
static void
test_terminal_without_master(void **state)
{
  fixture_t *f = *state;
  _cleanup_free_ char *out = tu_path(f->dir, "tty-stdout");
  assert_int_equal(mkfifo(out, 0600), 0);
  unsetenv("XDG_RUNTIME_DIR");
  setenv("TMPDIR", f->dir, 1);
  uint8_t buf[512];
  Google__Protobuf__Any any = runtime_options(f, buf);
  Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
  req.id = "tty";
  req.bundle = f->bundle;
  req.options = &any;
  req.terminal = true;
  req.stdout = out;
  char msg[512];
  enum wedge_status st;
  assert_int_equal(call(f, "Create", &req.base, NULL, NULL, msg, sizeof(msg), &st), -EREMOTEIO);
  unsetenv("TMPDIR");
  assert_string_equal(msg, "failed to retrieve console master: console socket: the runtime did not connect within "
                           "2000 ms");
  assert_int_equal(st, WEDGE_DEADLINE_EXCEEDED);
  assert_int_equal(task_service_count(f->ts), 0);
  assert_string_equal(f->topics, "");
  _cleanup_free_ char *calls = tu_path(f->dir, "calls");
  _cleanup_free_ char *text = tu_read_file(calls);
  assert_non_null(text);
  assert_string_equal(text, "create\ndelete\n");
  /* The console socket's directory is gone. */
  char pattern[512];
  snprintf(pattern, sizeof(pattern), "%s/wedge-pty.*", f->dir);
  glob_t g;
  assert_int_equal(glob(pattern, 0, NULL, &g), GLOB_NOMATCH);
}

static void
test_unknown_options_type_is_ignored(void **state)
{
  fixture_t *f = *state;
  /* The stand-in runtime is not the default one, so with the options ignored `runc` would be
   * run; give it a PATH where `runc` is our script. */
  _cleanup_free_ char *runc = tu_path(f->dir, "runc");
  assert_int_equal(symlink(f->runtime, runc), 0);
  const char *old = getenv("PATH");
  _cleanup_free_ char *saved = strdup(old ? old : "");
  _cleanup_free_ char *path = NULL;
  assert_true(asprintf(&path, "%s:%s", f->dir, saved) > 0);
  setenv("PATH", path, 1);

  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = "runtimeoptions.v1.Options";
  Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
  req.id = "c2";
  req.bundle = f->bundle;
  req.options = &any;
  int r = call(f, "Create", &req.base, NULL, NULL, NULL, 0, NULL);
  setenv("PATH", saved, 1);
  assert_int_equal(r, 0);
  _cleanup_free_ char *opts_path = tu_path(f->bundle, "options.json");
  _cleanup_free_ char *opts = tu_read_file(opts_path);
  assert_string_equal(opts, "{}");
}

/* Creates and starts `id` with stdout to a FIFO, while a process the stand-in runtime leaves
 * behind holds the stdout pipe and writes "late\n" half a second later. Returns the FIFO's
 * read end (non-blocking). */
static int
start_with_late_output(fixture_t *f, const char *id)
{
  _cleanup_free_ char *flag = tu_path(f->dir, "hold-stdout");
  _cleanup_free_ char *fifo = tu_path(f->dir, "stdout");
  assert_int_equal(tu_write_file(flag, "", 0600), 0);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  int rd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  assert_true(rd >= 0);
  uint32_t pid;
  create_with_stdout(f, id, fifo, &pid);
  Containerd__Task__V2__StartRequest s = CONTAINERD__TASK__V2__START_REQUEST__INIT;
  s.id = (char *) id;
  assert_int_equal(call(f, "Start", &s.base, NULL, NULL, NULL, 0, NULL), 0);
  return rd;
}

/* The exit is reported (TaskExit, Wait) only once everything the container wrote reached the
 * client: here a process that outlives the init holds the stdout pipe for half a second. */
static void
test_exit_waits_for_output(void **state)
{
  fixture_t *f = *state;
  _cleanup_close_ int rd = start_with_late_output(f, "c1");
  Containerd__Task__V2__WaitRequest w = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
  w.id = "c1";
  call_t waiter;
  call_begin(&waiter, f, "Wait", &w.base, &containerd__task__v2__wait_response__descriptor);
  assert_true(task_service_reap(f->ts, FAKE_PID, 0));
  for (int i = 0; i < 10; i++)
    pump_once(f, 10);
  assert_false(atomic_load(&waiter.done));
  assert_null(strstr(f->topics, "/tasks/exit"));

  /* The output still sits in the client's FIFO, unread: the exit is not reported yet either
   * (iocopy: done once the client has read its FIFOs). The client reads, then Wait returns. */
  char buf[64] = "";
  size_t got = 0;
  for (int i = 0; i < 500 && got < 5; i++)
    {
      pump_once(f, 10);
      assert_false(atomic_load(&waiter.done));
      ssize_t n = read(rd, buf + got, sizeof(buf) - 1 - got);
      if (n > 0)
        got += (size_t) n;
    }
  assert_int_equal(got, 5);
  assert_string_equal(buf, "late\n");

  call_end(&waiter);
  assert_int_equal(waiter.r, 0);
  protobuf_c_message_free_unpacked(waiter.resp, NULL);
  assert_string_equal(f->topics, "/tasks/create /tasks/start /tasks/exit ");

  Containerd__Task__V2__DeleteRequest d = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
  d.id = "c1";
  assert_int_equal(call(f, "Delete", &d.base, NULL, NULL, NULL, 0, NULL), 0);
}

/* Exec e1 of c1, created and started (the fake runtime gives it FAKE_EXEC_PID). */
static void
start_exec(fixture_t *f, const char *id, const char *exec_id)
{
  Google__Protobuf__Any spec = GOOGLE__PROTOBUF__ANY__INIT;
  spec.value.data = (uint8_t *) "{\"args\":[\"true\"],\"cwd\":\"/\"}";
  spec.value.len = strlen((char *) spec.value.data);
  Containerd__Task__V2__ExecProcessRequest ex = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
  ex.id = (char *) id;
  ex.exec_id = (char *) exec_id;
  ex.spec = &spec;
  assert_int_equal(call(f, "Exec", &ex.base, NULL, NULL, NULL, 0, NULL), 0);
  Containerd__Task__V2__StartRequest st = CONTAINERD__TASK__V2__START_REQUEST__INIT;
  st.id = (char *) id;
  st.exec_id = (char *) exec_id;
  assert_int_equal(call(f, "Start", &st.base, NULL, NULL, NULL, 0, NULL), 0);
}

static size_t
exits_published(const fixture_t *f)
{
  size_t n = 0;
  for (const char *p = f->topics; (p = strstr(p, "/tasks/exit")); p++)
    n++;
  return n;
}

/* The init reaped first (a pid namespace's init can be, when its exec's exit waits for output):
 * its TaskExit waits for the exec's, and for at most TASK_EXIT_HOLD_MS when the exec's never
 * comes. Each exit's record is gone once published. */
static void
test_init_exit_waits_for_execs(void **state)
{
  fixture_t *f = *state;
  uint32_t pid;
  create(f, "c1", &pid);
  Containerd__Task__V2__StartRequest s = CONTAINERD__TASK__V2__START_REQUEST__INIT;
  s.id = "c1";
  assert_int_equal(call(f, "Start", &s.base, NULL, NULL, NULL, 0, NULL), 0);
  start_exec(f, "c1", "e1");

  assert_true(task_service_reap(f->ts, FAKE_PID, 9));
  for (int i = 0; i < 20; i++)
    pump_once(f, 5);
  assert_int_equal(exits_published(f), 0);
  assert_true(task_service_reap(f->ts, FAKE_EXEC_PID, 9));
  for (int i = 0; i < 20 && exits_published(f) < 2; i++)
    pump_once(f, 5);
  assert_int_equal(exits_published(f), 2);
  Containerd__Task__V2__StateResponse *st = state_of(f, "c1", "");
  assert_int_equal(st->status, CONTAINERD__V1__TYPES__STATUS__STOPPED);
  protobuf_c_message_free_unpacked(&st->base, NULL);
  _cleanup_free_ char *record = tu_path(f->bundle, "wedge-exit.json");
  assert_int_equal(access(record, F_OK), -1);

  /* An exec that never exits (its pid is never reaped) holds the init's exit only so long. */
  Containerd__Task__V2__DeleteRequest d = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
  d.id = "c1";
  assert_int_equal(call(f, "Delete", &d.base, NULL, NULL, NULL, 0, NULL), 0);
  f->topics[0] = '\0';
  create(f, "c1", &pid);
  assert_int_equal(call(f, "Start", &s.base, NULL, NULL, NULL, 0, NULL), 0);
  start_exec(f, "c1", "e1");
  assert_true(task_service_reap(f->ts, FAKE_PID, 9));
  int64_t t0 = loop_clock_ms();
  for (int i = 0; i < 1000 && exits_published(f) == 0; i++)
    pump_once(f, 10);
  assert_int_equal(exits_published(f), 1);
  assert_true(loop_clock_ms() - t0 >= 2900);
  assert_true(task_service_reap(f->ts, FAKE_EXEC_PID, 9));
  for (int i = 0; i < 20 && exits_published(f) < 2; i++)
    pump_once(f, 5);
  assert_int_equal(exits_published(f), 2);
  assert_int_equal(call(f, "Delete", &d.base, NULL, NULL, NULL, 0, NULL), 0);
}

/* ---- Ordering: one process's requests in turn, other processes meanwhile ---- */

static void
hold(fixture_t *f, const char *cmd, bool on)
{
  _cleanup_free_ char *name = NULL;
  assert_true(asprintf(&name, "%s/hold-%s", f->dir, cmd) > 0);
  if (on)
    assert_int_equal(tu_write_file(name, "", 0600), 0);
  else
    assert_int_equal(unlink(name), 0);
}

/* The loop runs for a while: a call still not answered after it is waiting for something. */
static void
pump_for(fixture_t *f, int ms)
{
  for (int i = 0; i < ms / 10; i++)
    pump_once(f, 10);
}

static char *
calls_take(fixture_t *f)
{
  _cleanup_free_ char *path = tu_path(f->dir, "calls");
  return tu_take_file(path);
}

/* A runtime call that hangs for one container holds up none of the others' requests. */
static void
test_runtime_call_does_not_hold_other_containers(void **state)
{
  fixture_t *f = *state;
  uint32_t pid = 0;
  create(f, "c1", &pid);
  create(f, "c2", &pid);
  Containerd__Task__V2__StartRequest s = CONTAINERD__TASK__V2__START_REQUEST__INIT;
  s.id = "c2";
  assert_int_equal(call(f, "Start", &s.base, NULL, NULL, NULL, 0, NULL), 0);
  free(calls_take(f));

  hold(f, "start", true);
  s.id = "c1";
  call_t slow;
  call_begin(&slow, f, "Start", &s.base, NULL);
  pump_for(f, 200);
  assert_false(atomic_load(&slow.done));

  /* c2's state, exec and kill go through while c1's Start waits in the runtime. */
  Containerd__Task__V2__StateResponse *st = state_of(f, "c2", "");
  assert_int_equal(st->status, CONTAINERD__V1__TYPES__STATUS__RUNNING);
  protobuf_c_message_free_unpacked(&st->base, NULL);
  start_exec(f, "c2", "e1");
  Containerd__Task__V2__KillRequest k = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
  k.id = "c2";
  k.signal = SIGTERM;
  assert_int_equal(call(f, "Kill", &k.base, NULL, NULL, NULL, 0, NULL), 0);
  assert_false(atomic_load(&slow.done));
  _cleanup_free_ char *during = calls_take(f);
  assert_string_equal(during, "exec\nkill\n");

  hold(f, "start", false);
  call_end(&slow);
  assert_int_equal(slow.r, 0);
  wedge_error_clear(&slow.err);
}

/* Requests naming one process run in arrival order, each after the one before is over: a Kill
 * or a State sent during Start waits for it, as with the runc shim's per-process mutex. */
static void
test_one_process_requests_in_turn(void **state)
{
  fixture_t *f = *state;
  uint32_t pid = 0;
  create(f, "c1", &pid);
  free(calls_take(f)); /* the Create's calls: this test looks at what comes after */

  hold(f, "start", true);
  Containerd__Task__V2__StartRequest s = CONTAINERD__TASK__V2__START_REQUEST__INIT;
  s.id = "c1";
  call_t start, kill_, state_;
  call_begin(&start, f, "Start", &s.base, NULL);
  pump_for(f, 200);
  Containerd__Task__V2__KillRequest k = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
  k.id = "c1";
  k.signal = SIGTERM;
  call_begin(&kill_, f, "Kill", &k.base, NULL);
  pump_for(f, 200);
  Containerd__Task__V2__StateRequest sr = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
  sr.id = "c1";
  call_begin(&state_, f, "State", &sr.base, &containerd__task__v2__state_response__descriptor);
  pump_for(f, 200);
  assert_false(atomic_load(&start.done));
  assert_false(atomic_load(&kill_.done));
  assert_false(atomic_load(&state_.done));

  hold(f, "start", false);
  call_end(&start);
  call_end(&kill_);
  call_end(&state_);
  assert_int_equal(start.r, 0);
  assert_int_equal(kill_.r, 0);
  assert_int_equal(state_.r, 0);
  /* State ran after Start was over: running, not created. */
  assert_int_equal(((Containerd__Task__V2__StateResponse *) state_.resp)->status,
                   CONTAINERD__V1__TYPES__STATUS__RUNNING);
  protobuf_c_message_free_unpacked(state_.resp, NULL);
  _cleanup_free_ char *calls = calls_take(f);
  assert_string_equal(calls, "start\nkill\n");
}

/* While a container's Create is in flight, requests naming it wait for it (and then see the
 * container), a second Create of the id is refused, and other containers are served. */
static void
test_requests_wait_for_create(void **state)
{
  fixture_t *f = *state;
  uint32_t pid = 0;
  create(f, "c1", &pid);

  hold(f, "create", true);
  uint8_t buf[512];
  Google__Protobuf__Any any;
  Containerd__Task__V2__CreateTaskRequest req;
  create_request(f, "c2", buf, &any, &req);
  call_t create_, state_;
  call_begin(&create_, f, "Create", &req.base, &containerd__task__v2__create_task_response__descriptor);
  pump_for(f, 200);
  Containerd__Task__V2__StateRequest sr = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
  sr.id = "c2";
  call_begin(&state_, f, "State", &sr.base, &containerd__task__v2__state_response__descriptor);
  pump_for(f, 200);
  assert_false(atomic_load(&state_.done));
  assert_error(f, "Create", &req.base, WEDGE_ALREADY_EXISTS, "id c2: already exists");
  Containerd__Task__V2__StateResponse *st = state_of(f, "c1", "");
  assert_int_equal(st->status, CONTAINERD__V1__TYPES__STATUS__CREATED);
  protobuf_c_message_free_unpacked(&st->base, NULL);
  /* Not a container yet to Shutdown: it stays. */
  Containerd__Task__V2__ShutdownRequest sd = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
  assert_int_equal(call(f, "Shutdown", &sd.base, NULL, NULL, NULL, 0, NULL), 0);
  assert_false(f->shutdown);

  hold(f, "create", false);
  call_end(&create_);
  call_end(&state_);
  assert_int_equal(create_.r, 0);
  assert_int_equal(state_.r, 0);
  assert_int_equal(((Containerd__Task__V2__StateResponse *) state_.resp)->status,
                   CONTAINERD__V1__TYPES__STATUS__CREATED);
  protobuf_c_message_free_unpacked(state_.resp, NULL);
  protobuf_c_message_free_unpacked(create_.resp, NULL);
}

/* A Create that fails answers the requests waiting behind it as if the container never was. */
static void
test_failed_create_answers_waiting_requests(void **state)
{
  fixture_t *f = *state;
  _cleanup_free_ char *fail = tu_path(f->dir, "fail-create");
  assert_int_equal(tu_write_file(fail, "", 0600), 0);
  hold(f, "create", true);
  uint8_t buf[512];
  Google__Protobuf__Any any;
  Containerd__Task__V2__CreateTaskRequest req;
  create_request(f, "c2", buf, &any, &req);
  call_t create_, kill_;
  call_begin(&create_, f, "Create", &req.base, &containerd__task__v2__create_task_response__descriptor);
  pump_for(f, 200);
  Containerd__Task__V2__KillRequest k = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
  k.id = "c2";
  k.signal = SIGKILL;
  call_begin(&kill_, f, "Kill", &k.base, NULL);
  pump_for(f, 200);
  hold(f, "create", false);
  call_end(&create_);
  call_end(&kill_);
  assert_int_equal(create_.r, -EREMOTEIO);
  assert_int_equal(kill_.r, -EREMOTEIO);
  assert_int_equal(kill_.err.status, WEDGE_NOT_FOUND);
  assert_string_equal(wedge_error_message(&kill_.err), "container not created: not found");
  wedge_error_clear(&create_.err);
  wedge_error_clear(&kill_.err);
  assert_int_equal(task_service_count(f->ts), 0);
}

/* Delete lets the output drain first (at most PROC_IO_DRAIN_TIMEOUT_MS), on the loop: another
 * container's requests are answered meanwhile. */
static void
test_delete_drains_output_on_the_loop(void **state)
{
  fixture_t *f = *state;
  uint32_t pid;
  create(f, "c2", &pid);
  _cleanup_close_ int rd = start_with_late_output(f, "c1");
  assert_true(task_service_reap(f->ts, FAKE_PID, 0));

  Containerd__Task__V2__DeleteRequest d = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
  d.id = "c1";
  call_t del;
  call_begin(&del, f, "Delete", &d.base, &containerd__task__v2__delete_response__descriptor);
  pump_for(f, 200);
  assert_false(atomic_load(&del.done));
  Containerd__Task__V2__StateResponse *st = state_of(f, "c2", "");
  assert_int_equal(st->status, CONTAINERD__V1__TYPES__STATUS__CREATED);
  protobuf_c_message_free_unpacked(&st->base, NULL);
  assert_false(atomic_load(&del.done));

  /* The client reads the late output: the Delete goes on. */
  char buf[64] = "";
  size_t got = 0;
  for (int i = 0; i < 500 && got < 5; i++)
    {
      pump_once(f, 10);
      ssize_t n = read(rd, buf + got, sizeof(buf) - 1 - got);
      if (n > 0)
        got += (size_t) n;
    }
  assert_string_equal(buf, "late\n");
  call_end(&del);
  assert_int_equal(del.r, 0);
  protobuf_c_message_free_unpacked(del.resp, NULL);
  assert_int_equal(task_service_count(f->ts), 1);
}

int
main(void)
{
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_unknown_id_is_not_found, setup, teardown),
    cmocka_unit_test_setup_teardown(test_connect_never_fails_and_v3, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
    cmocka_unit_test_setup_teardown(test_create_failure, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bad_ids_create_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_terminal_without_master, setup, teardown),
    cmocka_unit_test_setup_teardown(test_exit_waits_for_output, setup, teardown),
    cmocka_unit_test_setup_teardown(test_init_exit_waits_for_execs, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unknown_options_type_is_ignored, setup, teardown),
    cmocka_unit_test_setup_teardown(test_runtime_call_does_not_hold_other_containers, setup, teardown),
    cmocka_unit_test_setup_teardown(test_one_process_requests_in_turn, setup, teardown),
    cmocka_unit_test_setup_teardown(test_requests_wait_for_create, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failed_create_answers_waiting_requests, setup, teardown),
    cmocka_unit_test_setup_teardown(test_delete_drains_output_on_the_loop, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
