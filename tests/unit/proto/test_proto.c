/* The generated messages produce exactly the bytes containerd 1.6.20 and containerd-shim-runc-v2
 * were seen exchanging (docs/protocol.md; the messages of 1.6.20's runtime/v2/task/shim.proto,
 * api/events/task.proto and api/services/ttrpc/events/v1/events.proto), and parse them back. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "hex.h"
#include "ttrpc/ttrpc.h"
#include "shim.pb-c.h"
#include "events_task.pb-c.h"
#include "events_ttrpc.pb-c.h"
#include "runc_options.pb-c.h"
#include "cgroups_v1_metrics.pb-c.h"
#include "cgroups_v2_metrics.pb-c.h"
#include "google/protobuf/any.pb-c.h"

/* Go's zero time.Time, which gogo encodes for a process that has not exited. */
#define GO_ZERO_TIME_SECONDS INT64_C(-62135596800)

static void
assert_packs_to(const ProtobufCMessage *msg, const char *hex)
{
  uint8_t want[512];
  size_t want_len = unhex(hex, want);
  _cleanup_free_ uint8_t *got = NULL;
  size_t got_len = 0;
  assert_int_equal(ttrpc_pack_message(msg, &got, &got_len, NULL), 0);
  assert_int_equal(got_len, want_len);
  if (want_len > 0)
    assert_memory_equal(got, want, want_len);
}

static ProtobufCMessage *
unpack_hex(const ProtobufCMessageDescriptor *desc, const char *hex)
{
  uint8_t buf[512];
  size_t len = unhex(hex, buf);
  ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, len, buf);
  assert_non_null(msg);
  return msg;
}

static void
test_wait_response_exit_3(void **state)
{
  (void) state;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  ts.seconds = 1795916420;
  ts.nanos = 612472396;
  Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
  resp.exit_status = 3;
  resp.exited_at = &ts;
  assert_packs_to(&resp.base, "08 03 12 0c 08 8485aed806 10 ccac86a402");

  Containerd__Task__V2__WaitResponse *back = (Containerd__Task__V2__WaitResponse *) unpack_hex(
    &containerd__task__v2__wait_response__descriptor, "08 03 12 0c 08 8485aed806 10 ccac86a402");
  assert_int_equal(back->exit_status, 3);
  assert_non_null(back->exited_at);
  assert_int_equal(back->exited_at->seconds, 1795916420);
  assert_int_equal(back->exited_at->nanos, 612472396);
  protobuf_c_message_free_unpacked(&back->base, NULL);
}

static void
test_delete_response_of_delete_subcommand(void **state)
{
  (void) state;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  ts.seconds = 1795916420;
  ts.nanos = 645077394;
  Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
  resp.pid = 30720;
  resp.exit_status = 137;
  resp.exited_at = &ts;
  assert_packs_to(&resp.base, "08 80f001 10 8901 1a 0c 08 8485aed806 10 92b3ccb302");

  /* init.pid missing: ReadPidFile's -1 cast to uint32. */
  resp.pid = UINT32_MAX;
  ts.nanos = 0;
  assert_packs_to(&resp.base, "08 ffffffff0f 10 8901 1a 06 08 8485aed806");

  /* Zero scalars are left out; the Timestamp is written even when empty, as gogo's
   * non-nullable field always is. */
  resp.pid = 0;
  resp.exit_status = 0;
  ts.seconds = 0;
  assert_packs_to(&resp.base, "1a 00");
}

static void
test_zero_time_is_ten_byte_varint(void **state)
{
  (void) state;
  Google__Protobuf__Timestamp zero = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  zero.seconds = GO_ZERO_TIME_SECONDS;
  Containerd__Task__V2__StateResponse st = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
  st.id = "c3";
  st.pid = 31101;
  st.status = CONTAINERD__V1__TYPES__STATUS__RUNNING;
  st.exited_at = &zero;
  assert_packs_to(&st.base, "0a02 6333 18 fdf201 20 02 52 0b 08 8092b8c398feffffff01");
}

static void
test_connect_messages(void **state)
{
  (void) state;
  Containerd__Task__V2__ConnectRequest req = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
  req.id = "c2";
  assert_packs_to(&req.base, "0a 02 6332");

  Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
  resp.shim_pid = 30648;
  resp.task_pid = 30720;
  assert_packs_to(&resp.base, "08 b8ef01 10 80f001");

  /* Connect for an unknown id: task_pid 0 is simply absent. */
  resp.task_pid = 0;
  assert_packs_to(&resp.base, "08 b8ef01");
}

static void
test_requests_seen_from_ctr(void **state)
{
  (void) state;
  Containerd__Task__V2__ResizePtyRequest *rz = (Containerd__Task__V2__ResizePtyRequest *) unpack_hex(
    &containerd__task__v2__resize_pty_request__descriptor, "0a026334 1864 201e");
  assert_string_equal(rz->id, "c4");
  assert_string_equal(rz->exec_id, "");
  assert_int_equal(rz->width, 100);
  assert_int_equal(rz->height, 30);
  protobuf_c_message_free_unpacked(&rz->base, NULL);

  Containerd__Task__V2__KillRequest *kill = (Containerd__Task__V2__KillRequest *) unpack_hex(
    &containerd__task__v2__kill_request__descriptor, "0a026333 1809");
  assert_string_equal(kill->id, "c3");
  assert_int_equal(kill->signal, 9);
  assert_false(kill->all);
  protobuf_c_message_free_unpacked(&kill->base, NULL);

  Containerd__Task__V2__PidsResponse *pids = (Containerd__Task__V2__PidsResponse *) unpack_hex(
    &containerd__task__v2__pids_response__descriptor, "0a04 08fdf201");
  assert_int_equal(pids->n_processes, 1);
  assert_int_equal(pids->processes[0]->pid, 31101);
  assert_null(pids->processes[0]->info);
  protobuf_c_message_free_unpacked(&pids->base, NULL);
}

static void
test_task_exit_event(void **state)
{
  (void) state;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  ts.seconds = 1795916420;
  ts.nanos = 612472396;
  Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
  ev.container_id = "c3";
  ev.id = "e1";
  ev.pid = 31134;
  ev.exited_at = &ts;
  /* exit_status 0 is omitted, exited_at is always there. */
  assert_packs_to(&ev.base, "0a02 6333 1202 6531 18 9ef301 2a0c 08 8485aed806 10 ccac86a402");
  /* The Any type URL is the bare full name. */
  assert_string_equal(containerd__events__task_exit__descriptor.name, "containerd.events.TaskExit");
}

static void
test_forward_request_task_start(void **state)
{
  (void) state;
  Containerd__Events__TaskStart start = CONTAINERD__EVENTS__TASK_START__INIT;
  start.container_id = "c3";
  start.pid = 31101;
  assert_packs_to(&start.base, "0a02 6333 10 fdf201");

  uint8_t value[16];
  size_t value_len = protobuf_c_message_pack(&start.base, value);
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = (char *) containerd__events__task_start__descriptor.name;
  any.value.data = value;
  any.value.len = value_len;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  ts.seconds = 1795916420;
  Containerd__Services__Events__Ttrpc__V1__Envelope env = CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
  env.timestamp = &ts;
  env.namespace_ = "refns";
  env.topic = "/tasks/start";
  env.event = &any;
  Containerd__Services__Events__Ttrpc__V1__ForwardRequest fwd
    = CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
  fwd.envelope = &env;
  assert_packs_to(&fwd.base,
                  "0a 46"                                       /* 1 envelope */
                  " 0a 06 08 8485aed806"                        /* 1 timestamp */
                  " 12 05 7265666e73"                           /* 2 namespace */
                  " 1a 0c 2f7461736b732f7374617274"             /* 3 topic */
                  " 22 27 0a 1b 636f6e7461696e6572642e6576656e74732e5461736b5374617274" /* 4 event: type_url */
                  " 12 08 0a02 6333 10 fdf201");               /* value = TaskStart */
}

static void
test_runc_options_from_start_stdin(void **state)
{
  (void) state;
  /* ctr run's default runtime options, as written on `start`'s stdin: type_url only. */
  Google__Protobuf__Any *any = (Google__Protobuf__Any *) unpack_hex(
    &google__protobuf__any__descriptor, "0a1a 636f6e7461696e6572642e72756e632e76312e4f7074696f6e73");
  assert_string_equal(any->type_url, containerd__runc__v1__options__descriptor.name);
  assert_int_equal(any->value.len, 0);
  protobuf_c_message_free_unpacked(&any->base, NULL);

  Containerd__Runc__V1__Options opts = CONTAINERD__RUNC__V1__OPTIONS__INIT;
  opts.binary_name = "crun";
  opts.systemd_cgroup = true;
  opts.io_uid = 1000;
  assert_packs_to(&opts.base, "20 e807 32 04 6372756e 48 01");
}

static void
test_cgroup_metrics_pack_repeated_scalars(void **state)
{
  (void) state;
  uint64_t per_cpu[] = { 1, 300 };
  Io__Containerd__Cgroups__V1__CPUUsage usage = IO__CONTAINERD__CGROUPS__V1__CPUUSAGE__INIT;
  usage.total = 301;
  usage.n_per_cpu = 2;
  usage.per_cpu = per_cpu;
  Io__Containerd__Cgroups__V1__CPUStat cpu = IO__CONTAINERD__CGROUPS__V1__CPUSTAT__INIT;
  cpu.usage = &usage;
  Io__Containerd__Cgroups__V1__Metrics m = IO__CONTAINERD__CGROUPS__V1__METRICS__INIT;
  m.cpu = &cpu;
  /* per_cpu packed, as Go's encoder writes it. */
  assert_packs_to(&m.base, "1a 0a 0a 08 08 ad02 22 03 01 ac02");
  assert_string_equal(io__containerd__cgroups__v1__metrics__descriptor.name, "io.containerd.cgroups.v1.Metrics");

  Io__Containerd__Cgroups__V2__MemoryStat mem = IO__CONTAINERD__CGROUPS__V2__MEMORY_STAT__INIT;
  mem.usage = 4096;
  mem.swap_limit = 1;
  Io__Containerd__Cgroups__V2__Metrics m2 = IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;
  m2.memory = &mem;
  assert_packs_to(&m2.base, "22 07 80 02 80 20 98 02 01");
  assert_string_equal(io__containerd__cgroups__v2__metrics__descriptor.name, "io.containerd.cgroups.v2.Metrics");
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_wait_response_exit_3),
    cmocka_unit_test(test_delete_response_of_delete_subcommand),
    cmocka_unit_test(test_zero_time_is_ten_byte_varint),
    cmocka_unit_test(test_connect_messages),
    cmocka_unit_test(test_requests_seen_from_ctr),
    cmocka_unit_test(test_task_exit_event),
    cmocka_unit_test(test_forward_request_task_start),
    cmocka_unit_test(test_runc_options_from_start_stdin),
    cmocka_unit_test(test_cgroup_metrics_pack_repeated_scalars),
  };
  return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
