/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Synthetic in-memory filesystem driver, for protocol tests.
 *
 * The tree lives in memory; regular files are backed by memfds so the core
 * reads and writes them through descriptors exactly as it does real files.
 * Nothing touches the host filesystem.
 *
 * The initial tree:
 *   /                  directory
 *   /file              regular file, 0644, "hello, world\n"
 *   /dir/              empty directory
 *   /big/              `bigdir` entries named "entry-00000".."entry-NNNNN"
 *   /blocker           regular file: Tlopen of it blocks until it is
 *                      cancelled (Tflush, then -EINTR) or released
 *   /w00/w01/.../w15/  a chain of 16 directories (one full Twalk)
 *   /ctl/              control directory: Tmkdir of "release" in it releases
 *                      every blocked operation and succeeds without creating
 *                      anything (a control, not a directory)
 *
 * spec: comma-separated list of key=value or flags, e.g. "bigdir=5000,ro".
 * Keys: bigdir=N (entries in /big), ro (read-only export).  NULL or "" is
 * the default.  Unknown keys are an error.
 */
#ifndef X9P_FS_SYNTH_H
#define X9P_FS_SYNTH_H

#include <glib.h>

#include "fs/fs.h"

struct x9p_fs *x9p_synth_new(const char *spec, GError **err);
/* Files are reopened through /proc/self/fd; a confined process without
 * /proc gives a descriptor of that directory instead (kept, not owned). */
void x9p_synth_set_proc_fd(int dirfd);
/* In-process controls for tests that link the driver directly. */
void x9p_synth_release(struct x9p_fs *fs);
/* Number of operations currently blocked on /blocker. */
unsigned x9p_synth_blocked(struct x9p_fs *fs);
/* Adds n entries "prefix-%05u" to the directory at one-component path `dir`. */
int x9p_synth_populate(struct x9p_fs *fs, const char *dir, const char *prefix, unsigned n);

#endif
