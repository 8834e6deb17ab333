/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Self-attacks, compiled only into the test build of the worker
 * (X9P_SELF_ATTACK): after lockdown the worker tries one thing a
 * compromised worker would, so that a test can see it refused or the
 * worker killed.  In a normal build x9p_attack_available() is false and
 * the monitor's request for one is a configuration error.
 *
 * Attacks (the number the monitor passes):
 *   1 open a host file (/etc/passwd)         refused: nothing to open
 *   2 connect to XenStore (/dev/xen/xenbus,  refused
 *     the xenstored socket)
 *   3 map another domain's grant (open       refused
 *     /dev/xen/gntdev)
 *   4 bind an event channel (open            refused
 *     /dev/xen/evtchn)
 *   5 ptrace the monitor                     killed (SIGSYS)
 *   6 kill the monitor                       killed
 *   7 socket(AF_INET)                        killed
 *   8 execve /bin/sh                         killed
 * A refused attempt logs "self-attack N (WHAT): refused (ERROR)"; one that
 * succeeds logs "self-attack N (WHAT): SUCCEEDED" at error level.
 */
#ifndef X9P_WORKER_ATTACK_H
#define X9P_WORKER_ATTACK_H

#include <stdbool.h>
#include <sys/types.h>

#define X9P_ATTACK_MAX 8

bool x9p_attack_available(void);
void x9p_attack(unsigned which, pid_t monitor);

#endif
