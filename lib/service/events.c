#include "service/events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/loop.h"
#include "events_task.pb-c.h"
#include "events_ttrpc.pb-c.h"
#include "ttrpc/ttrpc.h"

#define EVENTS_SERVICE "containerd.services.events.ttrpc.v1.Events"

struct events_item
{
  struct events_item *next;
  const char *topic;
  uint8_t *data; /* packed ForwardRequest */
  size_t len;
  char *record; /* exit record to remove once containerd accepted the event */
  bool never_drop;
  unsigned attempts;
  int64_t next_try_ms; /* CLOCK_MONOTONIC */
};

struct events
{
  char *address; /* NULL: discard */
  char *namespace_;
  struct shimlog *log;
  ttrpc_client_t *client;
  struct events_item *head, **tail;
  size_t n;
  events_observer_fn observer;
  void *observer_data;
  events_pending_fn pending_hook;
  void *pending_data;
};

/* runtime/events.go topics, keyed by the message's full name. */
static const struct
{
  const ProtobufCMessageDescriptor *desc;
  const char *topic;
} events_topics[] = {
  { &containerd__events__task_create__descriptor, "/tasks/create" },
  { &containerd__events__task_start__descriptor, "/tasks/start" },
  { &containerd__events__task_exit__descriptor, "/tasks/exit" },
  { &containerd__events__task_delete__descriptor, "/tasks/delete" },
  { &containerd__events__task_exec_added__descriptor, "/tasks/exec-added" },
  { &containerd__events__task_exec_started__descriptor, "/tasks/exec-started" },
  { &containerd__events__task_paused__descriptor, "/tasks/paused" },
  { &containerd__events__task_resumed__descriptor, "/tasks/resumed" },
  { &containerd__events__task_oom__descriptor, "/tasks/oom" },
  { &containerd__events__task_checkpointed__descriptor, "/tasks/checkpointed" },
};

const char *
events_topic(const ProtobufCMessageDescriptor *desc)
{
  for (size_t i = 0; i < ARRAY_SIZE(events_topics); i++)
    if (events_topics[i].desc == desc)
      return events_topics[i].topic;
  return NULL;
}

int
events_new(const char *address, const char *namespace_, struct shimlog *log, struct events **ret,
           wedge_error_t *err)
{
  _cleanup_free_ struct events *ev = calloc(1, sizeof(*ev));
  if (ev == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  if (address && address[0] && (ev->address = strdup(address)) == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  if ((ev->namespace_ = strdup(namespace_ ? namespace_ : "")) == NULL)
    {
      free(ev->address);
      return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
    }
  ev->log = log;
  ev->tail = &ev->head;
  *ret = TAKE_PTR(ev);
  return 0;
}

static void
events_item_free(struct events_item *it)
{
  if (it == NULL)
    return;
  free(it->data);
  free(it->record);
  free(it);
}

void
events_free(struct events *ev)
{
  if (ev == NULL)
    return;
  while (ev->head)
    {
      struct events_item *next = ev->head->next;
      events_item_free(ev->head);
      ev->head = next;
    }
  ttrpc_client_free(ev->client);
  free(ev->address);
  free(ev->namespace_);
  free(ev);
}

void
events_set_observer(struct events *ev, events_observer_fn fn, void *data)
{
  ev->observer = fn;
  ev->observer_data = data;
}

size_t
events_pending(const struct events *ev)
{
  return ev->n;
}

static void
events_remove_record(struct events *ev, const char *record)
{
  if (record && unlink(record) < 0 && errno != ENOENT)
    shimlog(ev->log, SHIMLOG_WARN, "remove exit record %s: %s", record, strerror(errno));
}

static int
events_queue(struct events *ev, const ProtobufCMessage *event, const char *record, wedge_error_t *err)
{
  const char *topic = events_topic(event->descriptor);
  if (topic == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "not a task event: %s", event->descriptor->name);
  bool never_drop = event->descriptor == &containerd__events__task_exit__descriptor;

  if (ev->observer)
    ev->observer(topic, event, ev->observer_data);
  if (ev->address == NULL)
    {
      events_remove_record(ev, record);
      return 0;
    }
  if (ev->n >= EVENTS_QUEUE_MAX && !never_drop)
    {
      shimlog(ev->log, SHIMLOG_ERROR, "event queue full, dropping %s", topic);
      return wedge_error_set(err, ENOBUFS, WEDGE_RESOURCE_EXHAUSTED, "event queue full");
    }

  size_t len = protobuf_c_message_get_packed_size(event);
  _cleanup_free_ uint8_t *value = malloc(len ? len : 1);
  if (value == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  protobuf_c_message_pack(event, value);

  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  ts.seconds = now.tv_sec;
  ts.nanos = (int32_t) now.tv_nsec;
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = (char *) event->descriptor->name;
  any.value.data = value;
  any.value.len = len;
  Containerd__Services__Events__Ttrpc__V1__Envelope env = CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
  env.timestamp = &ts;
  env.namespace_ = ev->namespace_;
  env.topic = (char *) topic;
  env.event = &any;
  Containerd__Services__Events__Ttrpc__V1__ForwardRequest req = CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
  req.envelope = &env;

  _cleanup_free_ struct events_item *it = calloc(1, sizeof(*it));
  if (it == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  int r = ttrpc_pack_message(&req.base, &it->data, &it->len, err);
  if (r < 0)
    return r;
  if (record && (it->record = strdup(record)) == NULL)
    {
      free(it->data);
      return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
    }
  it->topic = topic;
  it->never_drop = never_drop;
  it->next_try_ms = 0;
  *ev->tail = it;
  ev->tail = &it->next;
  TAKE_PTR(it);
  ev->n++;

  if (ev->pending_hook)
    ev->pending_hook(ev->pending_data);
  else
    (void) events_flush(ev);
  return 0;
}

int
events_publish(struct events *ev, const ProtobufCMessage *event, wedge_error_t *err)
{
  return events_queue(ev, event, NULL, err);
}

int
events_publish_durable(struct events *ev, const ProtobufCMessage *event, const char *record, wedge_error_t *err)
{
  return events_queue(ev, event, record, err);
}

void
events_set_pending_hook(struct events *ev, events_pending_fn fn, void *data)
{
  ev->pending_hook = fn;
  ev->pending_data = data;
}

static void
events_pop(struct events *ev)
{
  struct events_item *it = ev->head;
  ev->head = it->next;
  if (ev->head == NULL)
    ev->tail = &ev->head;
  ev->n--;
  events_item_free(it);
}

static int
events_send(struct events *ev, struct events_item *it, wedge_error_t *err)
{
  if (ev->client == NULL)
    {
      int r = ttrpc_client_connect(ev->address, &ev->client, err);
      if (r < 0)
        return r;
    }
  const ttrpc_kv_t md[] = { { TTRPC_NAMESPACE_KEY, ev->namespace_ } };
  int r = ttrpc_client_call(ev->client, EVENTS_SERVICE, "Forward", it->data, it->len, md, ARRAY_SIZE(md),
                            (int64_t) EVENTS_CALL_TIMEOUT_MS * 1000000, NULL, NULL, err);
  if (r < 0 && r != -EREMOTEIO)
    {
      /* Go's publisher reconnects on ErrClosed; any transport failure here means the same. */
      ttrpc_client_free(ev->client);
      ev->client = NULL;
    }
  return r;
}

size_t
events_flush(struct events *ev)
{
  while (ev->head)
    {
      struct events_item *it = ev->head;
      int64_t now = loop_clock_ms();
      if (it->next_try_ms > now)
        break;

      _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
      int r = events_send(ev, it, &err);
      /* A reconnect after containerd restarted: retry once at once, as the runc shim does. */
      if (r < 0 && r != -EREMOTEIO && it->attempts == 0)
        {
          wedge_error_clear(&err);
          r = events_send(ev, it, &err);
        }
      if (r == 0)
        {
          events_remove_record(ev, it->record);
          events_pop(ev);
          continue;
        }

      it->attempts++;
      if (!it->never_drop && it->attempts >= EVENTS_MAX_ATTEMPTS)
        {
          shimlog(ev->log, SHIMLOG_ERROR, "dropping event %s after %u attempts: %s", it->topic, it->attempts,
                  wedge_error_message(&err));
          events_pop(ev);
          continue;
        }
      int64_t backoff = (int64_t) it->attempts * 1000;
      if (backoff > EVENTS_BACKOFF_MAX_MS)
        backoff = EVENTS_BACKOFF_MAX_MS;
      it->next_try_ms = loop_clock_ms() + backoff;
      shimlog(ev->log, SHIMLOG_WARN, "post event %s failed (attempt %u, retry in %d ms): %s", it->topic,
              it->attempts, (int) backoff, wedge_error_message(&err));
      break;
    }
  return ev->n;
}

int
events_retry_in_ms(const struct events *ev)
{
  if (ev->head == NULL)
    return -1;
  int64_t d = ev->head->next_try_ms - loop_clock_ms();
  if (d <= 0)
    return 0;
  return d > EVENTS_BACKOFF_MAX_MS ? EVENTS_BACKOFF_MAX_MS : (int) d;
}

size_t
events_drain(struct events *ev, int timeout_ms)
{
  int64_t deadline = loop_clock_ms() + timeout_ms;
  while (events_flush(ev) > 0)
    {
      int64_t left = deadline - loop_clock_ms();
      if (left <= 0)
        break;
      int wait = events_retry_in_ms(ev);
      if (wait > left)
        wait = (int) left;
      struct timespec ts = { wait / 1000, (long) (wait % 1000) * 1000000 };
      nanosleep(&ts, NULL);
    }
  return ev->n;
}
