/* The event publisher: containerd.events.Task* messages to containerd, in order.
 *
 * Each event is wrapped in an Envelope (timestamp = when it was published, the shim's namespace,
 * topic /tasks/<kind>, Any with the bare type URL such as "containerd.events.TaskExit", as
 * typeurl v1.0.2 registers it) inside a ForwardRequest, and sent as
 * containerd.services.events.ttrpc.v1.Events/Forward on the ttrpc socket named by TTRPC_ADDRESS,
 * with the containerd-namespace-ttrpc metadata the runc shim sends.
 *
 * Ordering: events leave in the order they were published; a failed event stays at the head and
 * holds the ones behind it back (the runc shim lets a retried event be overtaken; we do not, so
 * TaskExit can never land after TaskDelete). Connection trouble (containerd restarting) drops the
 * connection; the next attempt dials again. Retries back off 1 s, 2 s, ... up to
 * EVENTS_BACKOFF_MAX_MS. A TaskExit is never dropped; any other event is dropped (and logged)
 * after EVENTS_MAX_ATTEMPTS failed attempts, as the runc shim gives up after its sixth.
 *
 * BLOCKING: a send is a blocking ttrpc client call bounded by EVENTS_CALL_TIMEOUT_MS. containerd
 * answers Forward at once, so in practice a send costs a round trip; when containerd hangs, the
 * loop stalls for at most that timeout per attempt, and the next attempt waits for the backoff
 * (driven by the caller through events_retry_in_ms / events_flush). */
#ifndef WEDGE_EVENTS_H
#define WEDGE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "base/error.h"
#include "base/shimlog.h"

#define EVENTS_CALL_TIMEOUT_MS 2000
#define EVENTS_BACKOFF_MAX_MS 5000
#define EVENTS_MAX_ATTEMPTS 6
#define EVENTS_QUEUE_MAX 2048

struct events;

/* Observes every event accepted for publishing (tests, debug logs). */
typedef void (*events_observer_fn)(const char *topic, const ProtobufCMessage *event, void *data);

/* `address`: containerd's ttrpc socket path (TTRPC_ADDRESS; "unix://" accepted). NULL or "":
 * events are accepted, observed and discarded. `log` may be NULL. */
int events_new(const char *address, const char *namespace_, struct shimlog *log, struct events **ret,
               wedge_error_t *err);
void events_free(struct events *ev);

void events_set_observer(struct events *ev, events_observer_fn fn, void *data);

/* The topic for an event message type ("/tasks/exit" for containerd.events.TaskExit), NULL for
 * a type that is not a task event. */
const char *events_topic(const ProtobufCMessageDescriptor *desc);

/* Queues `event` (packed now, so the caller keeps ownership) and tries to send the queue (see
 * events_set_pending_hook).
 * Fails only when the event cannot be queued: -EINVAL (not a task event), -ENOMEM, or -ENOBUFS
 * when EVENTS_QUEUE_MAX events are waiting (a TaskExit is queued even then). */
int events_publish(struct events *ev, const ProtobufCMessage *event, wedge_error_t *err);

/* As events_publish, for an event whose exit record (exitstore.h) is at `record`: the file is
 * removed once containerd accepted the event (at once when events are discarded), and left in
 * place when the publisher is freed with the event still queued, so that `delete` finds it. */
int events_publish_durable(struct events *ev, const ProtobufCMessage *event, const char *record,
                           wedge_error_t *err);

/* With a hook set, events_publish only queues the event and calls `fn(data)`; the caller then
 * flushes (events_flush) when it has finished what it was doing. The shim's loop sends them
 * after the replies of the same iteration: the runc shim hands events to a goroutine and answers
 * at once, while a send costs a round trip to containerd (3 ms idle, 10 ms and more loaded), which
 * otherwise sat between each of Create, Start, Delete and the exit and their replies. Without a
 * hook (the default) events_publish tries to send at once. */
typedef void (*events_pending_fn)(void *data);
void events_set_pending_hook(struct events *ev, events_pending_fn fn, void *data);

/* Sends queued events whose retry time has come, in order, until one fails. Returns how many
 * are still queued. */
size_t events_flush(struct events *ev);

/* Milliseconds until the head event's retry is due (0: now), -1 when nothing is queued. */
int events_retry_in_ms(const struct events *ev);

size_t events_pending(const struct events *ev);

/* For shutdown: keeps flushing (sleeping between retries) until the queue is empty or
 * `timeout_ms` has passed. Returns the number left. */
size_t events_drain(struct events *ev, int timeout_ms);

#endif
