/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --version, the same in every program: "PROGRAM VERSION" on stdout, exit
 * status 0.  VERSION is the release (the Makefile's VERSION) and, when
 * built from a git checkout, "+g" and the commit.  x9p_version_add()
 * adds the option to a context (after its main entries): the version is
 * printed once the whole command line parsed, so that an unknown option
 * beside it is still refused.
 */
#ifndef X9P_VERSION_H
#define X9P_VERSION_H

#include <glib.h>

void x9p_version_add(GOptionContext *ctx);
const char *x9p_version(void);

#endif
