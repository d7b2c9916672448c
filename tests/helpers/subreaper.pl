#!/usr/bin/perl
# subreaper.pl PIDFILE CMD [ARG...]
#
# Becomes a child subreaper (prctl PR_SET_CHILD_SUBREAPER), runs CMD, writes CMD's pid to
# PIDFILE and reaps every descendant that gets reparented to it, until none is left.
#
# Why: containerd's shims daemonize (`containerd-shim-runc-v2 start` forks the real shim and
# exits), so they are reparented to the nearest subreaper, else pid 1. On the test machines pid 1
# is a VM agent that does not reap orphans: every shim and every container process that outlives
# its parent would stay a zombie. Under this reaper they are collected, and the harness knows the
# whole tree it started. SIGTERM is passed on to CMD. Exits with CMD's status once every
# descendant is gone. perl is used because it is Essential on Debian and can call prctl.
use strict;
use warnings;
use POSIX ();

my %sys_prctl = (x86_64 => 157, aarch64 => 167);
my $arch = (POSIX::uname())[4];
my $nr = $sys_prctl{$arch} or die "subreaper: unknown architecture $arch\n";
syscall($nr, 36, 1, 0, 0, 0) == 0 or die "subreaper: prctl(PR_SET_CHILD_SUBREAPER): $!\n";

my $pidfile = shift @ARGV;
@ARGV or die "usage: subreaper.pl PIDFILE CMD [ARG...]\n";

my $child = fork() // die "subreaper: fork: $!\n";
if ($child == 0) {
    exec { $ARGV[0] } @ARGV or die "subreaper: exec $ARGV[0]: $!\n";
}
open(my $fh, '>', "$pidfile.tmp") or die "subreaper: $pidfile: $!\n";
print $fh "$child\n";
close($fh);
rename("$pidfile.tmp", $pidfile) or die "subreaper: $pidfile: $!\n";

$SIG{TERM} = sub { kill 'TERM', $child };
$SIG{INT} = sub { kill 'TERM', $child };

my $status = 0;
while (1) {
    my $pid = waitpid(-1, 0);
    if ($pid == -1) {
        last unless $!{EINTR};
        next;
    }
    if ($pid == $child) {
        $status = POSIX::WIFEXITED($?) ? POSIX::WEXITSTATUS($?) : 128 + POSIX::WTERMSIG($?);
    }
}
exit $status;
