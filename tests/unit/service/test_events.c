/* The event publisher against a stand-in containerd: a ttrpc server in a thread serving
 * containerd.services.events.ttrpc.v1.Events/Forward. Checks the envelope containerd validates,
 * the metadata, the order, and that events published while containerd is away are delivered
 * once it is back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "base/cleanup.h"
#include "service/events.h"
#include "events_task.pb-c.h"
#include "events_ttrpc.pb-c.h"
#include "service/exitstore.h"
#include "testutil.h"
#include "ttrpc/ttrpc.h"

#define MAX_SEEN 16

typedef struct fixture
{
  char *dir;
  char *sock;
  ttrpc_server_t *server;
  pthread_t th;
  atomic_bool stop;
  bool running;
  pthread_mutex_t lock;
  char topics[MAX_SEEN][64];
  char type_urls[MAX_SEEN][64];
  char namespaces[MAX_SEEN][64];
  char metadata[MAX_SEEN][64];
  int64_t seconds[MAX_SEEN];
  size_t n;
} fixture_t;

static int
handle_forward(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  fixture_t *f = userdata;
  Containerd__Services__Events__Ttrpc__V1__ForwardRequest *req = NULL;
  int r = ttrpc_call_unpack(call, &containerd__services__events__ttrpc__v1__forward_request__descriptor,
                            (ProtobufCMessage **) &req, err);
  if (r < 0)
    return r;
  pthread_mutex_lock(&f->lock);
  if (f->n < MAX_SEEN && req->envelope)
    {
      Containerd__Services__Events__Ttrpc__V1__Envelope *e = req->envelope;
      snprintf(f->topics[f->n], 64, "%s", e->topic);
      snprintf(f->namespaces[f->n], 64, "%s", e->namespace_);
      snprintf(f->type_urls[f->n], 64, "%s", e->event ? e->event->type_url : "");
      const char *md = ttrpc_call_metadata(call, TTRPC_NAMESPACE_KEY);
      snprintf(f->metadata[f->n], 64, "%s", md ? md : "");
      f->seconds[f->n] = e->timestamp ? e->timestamp->seconds : 0;
      f->n++;
    }
  pthread_mutex_unlock(&f->lock);
  protobuf_c_message_free_unpacked(&req->base, NULL);
  return ttrpc_call_reply(call, NULL, 0), 0;
}

static const ttrpc_method_t events_methods[] = {
  { "Forward", handle_forward },
};

static void *
server_main(void *arg)
{
  fixture_t *f = arg;
  while (!atomic_load(&f->stop))
    {
      struct pollfd p = { .fd = ttrpc_server_get_fd(f->server), .events = POLLIN };
      if (poll(&p, 1, 10) > 0)
        ttrpc_server_process(f->server, NULL);
    }
  return NULL;
}

static void
server_start(fixture_t *f)
{
  wedge_error_t err = WEDGE_ERROR_INIT;
  unlink(f->sock);
  int lfd = ttrpc_listen_unix(f->sock, &err);
  assert_true(lfd >= 0);
  assert_int_equal(ttrpc_server_new(lfd, NULL, &f->server, &err), 0);
  assert_int_equal(ttrpc_server_register(f->server, "containerd.services.events.ttrpc.v1.Events", events_methods,
                                         ARRAY_SIZE(events_methods), f, &err),
                   0);
  atomic_store(&f->stop, false);
  assert_int_equal(pthread_create(&f->th, NULL, server_main, f), 0);
  f->running = true;
}

static void
server_stop(fixture_t *f)
{
  if (!f->running)
    return;
  atomic_store(&f->stop, true);
  pthread_join(f->th, NULL);
  ttrpc_server_free(f->server);
  f->server = NULL;
  unlink(f->sock);
  f->running = false;
}

static int
setup(void **state)
{
  fixture_t *f = calloc(1, sizeof(*f));
  f->dir = tu_mkdtemp();
  f->sock = tu_path(f->dir, "containerd.sock.ttrpc");
  pthread_mutex_init(&f->lock, NULL);
  *state = f;
  return 0;
}

static int
teardown(void **state)
{
  fixture_t *f = *state;
  server_stop(f);
  pthread_mutex_destroy(&f->lock);
  tu_rm_rf(f->dir);
  free(f->dir);
  free(f->sock);
  free(f);
  return 0;
}

static size_t
seen(fixture_t *f)
{
  pthread_mutex_lock(&f->lock);
  size_t n = f->n;
  pthread_mutex_unlock(&f->lock);
  return n;
}

static void
publish_exit(struct events *ev, const char *id)
{
  Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  at.seconds = time(NULL);
  Containerd__Events__TaskExit ex = CONTAINERD__EVENTS__TASK_EXIT__INIT;
  ex.container_id = (char *) id;
  ex.id = (char *) id;
  ex.exit_status = 3;
  ex.exited_at = &at;
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(events_publish(ev, &ex.base, &err), 0);
}

static void
publish_start(struct events *ev, const char *id)
{
  Containerd__Events__TaskStart st = CONTAINERD__EVENTS__TASK_START__INIT;
  st.container_id = (char *) id;
  st.pid = 42;
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(events_publish(ev, &st.base, &err), 0);
}

static void
test_topics(void **state)
{
  (void) state;
  assert_string_equal(events_topic(&containerd__events__task_create__descriptor), "/tasks/create");
  assert_string_equal(events_topic(&containerd__events__task_exec_added__descriptor), "/tasks/exec-added");
  assert_string_equal(events_topic(&containerd__events__task_exec_started__descriptor), "/tasks/exec-started");
  assert_string_equal(events_topic(&containerd__events__task_oom__descriptor), "/tasks/oom");
  assert_null(events_topic(&containerd__services__events__ttrpc__v1__envelope__descriptor));
}

static void
test_envelope_as_containerd_checks_it(void **state)
{
  fixture_t *f = *state;
  server_start(f);
  struct events *ev = NULL;
  wedge_error_t err = WEDGE_ERROR_INIT;
  _cleanup_free_ char *addr = NULL;
  assert_true(asprintf(&addr, "unix://%s", f->sock) > 0);
  assert_int_equal(events_new(addr, "ns1", NULL, &ev, &err), 0);
  publish_start(ev, "c1");
  publish_exit(ev, "c1");
  assert_int_equal(events_pending(ev), 0);
  assert_int_equal(events_retry_in_ms(ev), -1);
  events_free(ev);

  assert_int_equal(seen(f), 2);
  assert_string_equal(f->topics[0], "/tasks/start");
  assert_string_equal(f->type_urls[0], "containerd.events.TaskStart");
  assert_string_equal(f->topics[1], "/tasks/exit");
  assert_string_equal(f->type_urls[1], "containerd.events.TaskExit");
  for (size_t i = 0; i < 2; i++)
    {
      assert_string_equal(f->namespaces[i], "ns1");
      assert_string_equal(f->metadata[i], "ns1");
      assert_true(f->seconds[i] > 1600000000);
    }
}

static void
test_not_a_task_event(void **state)
{
  (void) state;
  struct events *ev = NULL;
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(events_new(NULL, "ns1", NULL, &ev, &err), 0);
  Containerd__Services__Events__Ttrpc__V1__Envelope env = CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
  assert_int_equal(events_publish(ev, &env.base, &err), -EINVAL);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  wedge_error_clear(&err);
  events_free(ev);
}

static void
test_queued_while_containerd_is_away_then_delivered_in_order(void **state)
{
  fixture_t *f = *state;
  struct events *ev = NULL;
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(events_new(f->sock, "ns1", NULL, &ev, &err), 0);
  publish_start(ev, "c1");
  publish_exit(ev, "c1");
  assert_int_equal(events_pending(ev), 2);
  int wait = events_retry_in_ms(ev);
  assert_true(wait > 0 && wait <= EVENTS_BACKOFF_MAX_MS);
  /* Not due yet: a flush sends nothing. */
  assert_int_equal(events_flush(ev), 2);

  server_start(f);
  assert_int_equal(events_drain(ev, 5000), 0);
  assert_int_equal(seen(f), 2);
  assert_string_equal(f->topics[0], "/tasks/start");
  assert_string_equal(f->topics[1], "/tasks/exit");

  /* containerd restarts: the connection breaks, the next event dials again. */
  server_stop(f);
  server_start(f);
  publish_exit(ev, "c2");
  assert_int_equal(events_drain(ev, 5000), 0);
  assert_int_equal(seen(f), 3);
  assert_string_equal(f->topics[2], "/tasks/exit");
  events_free(ev);
}

/* containerd 1.6's runc shim drops a TaskExit after 5 retries (~21 s); ours stays queued and on
 * disk however long containerd is away, is delivered once it is back, and is never sent twice. */
static void
test_exit_record_kept_until_containerd_takes_it(void **state)
{
  fixture_t *f = *state;
  struct events *ev = NULL;
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(events_new(f->sock, "ns1", NULL, &ev, &err), 0);

  _cleanup_free_ char *record = exitstore_path(f->dir, "");
  struct exitstore_exit e = { .container_id = (char *) "c1", .exec_id = (char *) "", .pid = 7, .exit_status = 3 };
  assert_int_equal(exitstore_write(record, &e, &err), 0);
  Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  Containerd__Events__TaskExit ex = CONTAINERD__EVENTS__TASK_EXIT__INIT;
  ex.container_id = (char *) "c1";
  ex.id = (char *) "c1";
  ex.pid = 7;
  ex.exit_status = 3;
  ex.exited_at = &at;
  assert_int_equal(events_publish_durable(ev, &ex.base, record, &err), 0);
  publish_start(ev, "c2");

  /* containerd is away: queued, on disk, retried later. (Retries past the runc shim's sixth take
   * 15 s of backoff: restart.bats keeps containerd away that long.) */
  assert_int_equal(events_flush(ev), 2);
  assert_true(events_retry_in_ms(ev) > 0);
  assert_int_equal(access(record, F_OK), 0);
  assert_int_equal(seen(f), 0);

  server_start(f);
  assert_int_equal(events_drain(ev, 3 * EVENTS_BACKOFF_MAX_MS), 0);
  assert_int_equal(seen(f), 2);
  assert_string_equal(f->topics[0], "/tasks/exit");
  assert_string_equal(f->topics[1], "/tasks/start");
  assert_int_equal(access(record, F_OK), -1);
  assert_int_equal(errno, ENOENT);

  /* Delivered is delivered: later flushes send nothing again. */
  assert_int_equal(events_flush(ev), 0);
  assert_int_equal(seen(f), 2);
  events_free(ev);
}

/* A publisher freed with the exit still queued (the shim is going away) leaves the record for
 * `delete`; with no containerd address at all, nobody will ever take it and it goes at once. */
static void
test_exit_record_left_for_delete_when_undelivered(void **state)
{
  fixture_t *f = *state;
  wedge_error_t err = WEDGE_ERROR_INIT;
  _cleanup_free_ char *record = exitstore_path(f->dir, "e1");
  struct exitstore_exit e = { .container_id = (char *) "c1", .exec_id = (char *) "e1", .pid = 8, .exit_status = 1 };
  Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  Containerd__Events__TaskExit ex = CONTAINERD__EVENTS__TASK_EXIT__INIT;
  ex.container_id = (char *) "c1";
  ex.id = (char *) "e1";
  ex.exited_at = &at;

  struct events *ev = NULL;
  assert_int_equal(events_new(f->sock, "ns1", NULL, &ev, &err), 0);
  assert_int_equal(exitstore_write(record, &e, &err), 0);
  assert_int_equal(events_publish_durable(ev, &ex.base, record, &err), 0);
  events_free(ev);
  assert_int_equal(access(record, F_OK), 0);

  assert_int_equal(events_new(NULL, "ns1", NULL, &ev, &err), 0);
  assert_int_equal(events_publish_durable(ev, &ex.base, record, &err), 0);
  assert_int_equal(access(record, F_OK), -1);
  events_free(ev);
}

static void
count_pending(void *data)
{
  (*(int *) data)++;
}

static void
test_with_a_pending_hook_publish_only_queues(void **state)
{
  fixture_t *f = *state;
  server_start(f);
  struct events *ev = NULL;
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(events_new(f->sock, "ns1", NULL, &ev, &err), 0);
  int calls = 0;
  events_set_pending_hook(ev, count_pending, &calls);
  publish_start(ev, "c1");
  publish_exit(ev, "c1");
  assert_int_equal(calls, 2);
  assert_int_equal(events_pending(ev), 2);
  assert_int_equal(events_retry_in_ms(ev), 0);
  assert_int_equal(seen(f), 0);

  assert_int_equal(events_flush(ev), 0);
  assert_int_equal(seen(f), 2);
  assert_string_equal(f->topics[0], "/tasks/start");
  assert_string_equal(f->topics[1], "/tasks/exit");
  events_free(ev);
}

int
main(void)
{
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_topics),
    cmocka_unit_test_setup_teardown(test_envelope_as_containerd_checks_it, setup, teardown),
    cmocka_unit_test(test_not_a_task_event),
    cmocka_unit_test_setup_teardown(test_queued_while_containerd_is_away_then_delivered_in_order, setup, teardown),
    cmocka_unit_test_setup_teardown(test_exit_record_kept_until_containerd_takes_it, setup, teardown),
    cmocka_unit_test_setup_teardown(test_exit_record_left_for_delete_when_undelivered, setup, teardown),
    cmocka_unit_test_setup_teardown(test_with_a_pending_hook_publish_only_queues, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
