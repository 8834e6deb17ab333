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
 *   3 map a grant: a Xen worker with the      killed (SIGSYS: the
 *     gntdev descriptor it holds, others    map ioctl); others:
 *     by opening /dev/xen/gntdev            refused
 *   4 bind an event channel: a Xen worker    killed (the bind
 *     with an evtchn descriptor it holds,   ioctl); others:
 *     others by opening /dev/xen/evtchn     refused
 *   5 ptrace the monitor                     killed (SIGSYS)
 *   6 kill the monitor                       killed
 *   7 socket(AF_INET)                        killed
 *   8 execve /bin/sh                         killed
 * And crashes at a chosen point, for the tests of a worker's death (a Xen
 * worker that finds no previous session in its journal arms the point;
 * the one after it does not):
 *   9 die right after the first Rmkdir is published
 *  10 die right before the first Rwalk is published (its fid made)
 *  11 die right before any Rmkdir is published, in every worker (a
 *     request that kills every worker)
 *  12 die right before the first Rclunk is published (its fid gone)
 *  13 die right after the first Rflush is published (a Tflush of nothing
 *     is answered by the ring's own thread, before it moves on)
 * And one wrong answer, for the tests that must tell a changed reply:
 *  14 every Rgetattr a Xen ring carries has its mode's lowest bit flipped
 * A refused attempt logs "self-attack N (WHAT): refused (ERROR)"; one that
 * succeeds logs "self-attack N (WHAT): SUCCEEDED" at error level.
 */
#ifndef X9P_WORKER_ATTACK_H
#define X9P_WORKER_ATTACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "9p/p9.h"

#define X9P_ATTACK_MAX 14
#define X9P_ATTACK_PERTURB 14

enum x9p_attack_point { X9P_AP_REPLY_PUBLISHED, X9P_AP_REPLY_PUBLISHING };

/* What the worker holds that an attack may abuse. */
struct x9p_attack_target {
	pid_t monitor;
	void *gnttab;               /* xengnttab_handle of a Xen worker, or NULL */
	void *evtchn;               /* one of its xenevtchn_handles, or NULL */
	unsigned domid;             /* its frontend's domain */
	bool restored;              /* a previous worker's session was taken over */
};

/* The crash point armed (test builds), or 0. */
extern unsigned x9p_attack_armed;

/* Dies (SIGKILL) at point p for a reply of type rtype when the armed
 * attack is that one. */
void x9p_attack_crash(enum x9p_attack_point p, uint8_t rtype);

static inline void x9p_attack_point(enum x9p_attack_point p, uint8_t rtype)
{
	if (__builtin_expect(x9p_attack_armed != 0, 0))
		x9p_attack_crash(p, rtype);
}

/* Attack 14: whether to flip the mode of this reply. */
static inline bool x9p_attack_perturbs(uint8_t rtype)
{
	return __builtin_expect(x9p_attack_armed == X9P_ATTACK_PERTURB, 0) && rtype == P9_RGETATTR;
}

bool x9p_attack_available(void);
void x9p_attack(unsigned which, const struct x9p_attack_target *t);

#endif
