#!/usr/bin/perl
# default-signals.pl CMD [ARG...]: runs CMD with every signal disposition at SIG_DFL.
#
# Why: GNU make (4.3, Debian 12) starts its recipes with signals 32 and 33 ignored, and an
# ignored disposition survives exec. glibc reserves those two for itself (thread cancellation,
# setxid) and its sigaction() refuses to touch them, so neither bash nor the tests can undo it,
# and a test that checks what a spawned child inherits sees them ignored under `make test` only.
# The raw rt_sigaction system call is not filtered; it resets all of them here.
use strict;
use warnings;
use POSIX ();

my %sys_rt_sigaction = (x86_64 => 13, aarch64 => 134);
my $arch = (POSIX::uname())[4];
my $nr = $sys_rt_sigaction{$arch} or die "default-signals: unknown architecture $arch\n";
@ARGV or die "usage: default-signals.pl CMD [ARG...]\n";

# struct kernel_sigaction { handler, flags, restorer, mask }: SIG_DFL is 0; sigsetsize is 8.
for my $sig (1 .. 64) {
    my $act = pack('Q4', 0, 0, 0, 0);
    syscall($nr, $sig, $act, 0, 8);    # SIGKILL and SIGSTOP fail (EINVAL): already default
}
exec { $ARGV[0] } @ARGV or die "default-signals: exec $ARGV[0]: $!\n";
