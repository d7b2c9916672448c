#!/usr/bin/env bats
# Exits, restarts and kills (docs/reliability.md), wedge driving runc: containerd dies and comes
# back while wedge's containers run, a shim is SIGKILLed, an init dies under a running exec. Each
# test runs on the private containerd of tests/helpers/containerd.bash and ends with its leak
# check; the bodies are in tests/helpers/restart-suite.bash.

load ../helpers/common
load ../helpers/containerd
load ../helpers/shim-suite
load ../helpers/restart-suite

@test "containerd restarts: tasks still listed, the exit it missed (away > 21 s) is reported once, exec/kill/delete work" {
  restart_containerd_away
}

@test "a SIGKILLed shim: delete kills the container, removes it from runc, unmounts, reports 137" {
  restart_shim_killed
}

@test "an exec's exit is published before its init's; an exec after the init was reaped is refused" {
  restart_exec_order
}

@test "an exit recorded while containerd was away survives the shim's death: delete reports it, not 137" {
  restart_record_survives_shim
}
