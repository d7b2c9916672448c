#!/usr/bin/env bats
# restart.bats on crun 1.8.1 (`containerd_start crun`: wedge's default "runc" is crun there, and
# io.containerd.runc.v2, compared with in the exec test, gets --runc-binary crun).

load ../helpers/common
load ../helpers/containerd
load ../helpers/shim-suite
load ../helpers/restart-suite

setup_file() {
  shim_suite_setup_file crun
}

@test "crun: containerd restarts: tasks still listed, the exit it missed (away > 21 s) is reported once, exec/kill/delete work" {
  restart_containerd_away
}

@test "crun: a SIGKILLed shim: delete kills the container, removes it from runc, unmounts, reports 137" {
  restart_shim_killed
}

@test "crun: an exec's exit is published before its init's; an exec after the init was reaped is refused" {
  restart_exec_order
}

@test "crun: an exit recorded while containerd was away survives the shim's death: delete reports it, not 137" {
  restart_record_survives_shim
}
