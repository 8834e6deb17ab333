/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-request identity for the passthrough model.
 *
 * Contract:
 *  - hx_creds_enter() makes the calling thread act as uid/gid for the
 *    creation of one object, so that it is born with the guest's
 *    ownership; hx_creds_leave() restores the helper's own identity.
 *  - Only this thread changes: the raw setresuid/setresgid/setgroups
 *    system calls are used (the C library would apply them to every
 *    thread).  Supplementary groups are dropped for the thread: the guest
 *    sends none, and keeping the helper's would grant them to the guest
 *    (CVE-2022-0358).
 *  - The capabilities the helper holds stay effective while switched, as
 *    the guest kernel already checked permissions (the effective set is
 *    restored from the permitted set with capset, also per thread).
 *  - Outside passthrough both are no-ops.  A failure to switch back is
 *    fatal: the process aborts rather than serve with a wrong identity.
 */
#ifndef X9P_HELPER_CREDS_H
#define X9P_HELPER_CREDS_H

#include <stdbool.h>
#include <sys/types.h>

struct hx_creds {
	bool switched;
};

void hx_creds_init(void);
int hx_creds_enter(uid_t uid, gid_t gid, struct hx_creds *save);
void hx_creds_leave(struct hx_creds *save);

#endif
