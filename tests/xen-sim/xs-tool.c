// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * xenstore-read/-write/-rm/-exists/-list/-chmod for the simulated Xen,
 * with the command lines of Xen's xenstore-utils (which the tests cannot
 * install): called through symlinks named after the real tools, or as
 * `xs-tool read ...`.  Like the real tools, each invocation runs in one
 * transaction, retried on EAGAIN.  Built against the real libxenstore
 * header and library, run against the stand-in library.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

static int usage(const char *cmd)
{
	fprintf(stderr, "usage: xenstore-%s ...\n", cmd);
	return 2;
}

static bool chmod_one(struct xs_handle *h, xs_transaction_t t, const char *path,
		      struct xs_permissions *p, unsigned n, bool recurse)
{
	char **kids;
	unsigned nk = 0;
	bool ok = xs_set_permissions(h, t, path, p, n);

	if (!ok || !recurse)
		return ok;
	kids = xs_directory(h, t, path, &nk);
	for (unsigned i = 0; kids && i < nk && ok; i++) {
		char *child;

		if (asprintf(&child, "%s/%s", path, kids[i]) < 0)
			return false;
		ok = chmod_one(h, t, child, p, n, recurse);
		free(child);
	}
	free(kids);
	return ok;
}

/* One attempt; 0 ok, 1 failure, -1 retry (EAGAIN). */
static int run(struct xs_handle *h, const char *cmd, int argc, char **argv)
{
	xs_transaction_t t = xs_transaction_start(h);
	int status = 0;

	if (t == XBT_NULL) {
		perror("xs_transaction_start");
		return 1;
	}
	if (strcmp(cmd, "read") == 0) {
		for (int i = 0; i < argc && !status; i++) {
			unsigned len;
			char *v = xs_read(h, t, argv[i], &len);

			if (!v) {
				fprintf(stderr, "couldn't read path %s\n", argv[i]);
				status = 1;
			} else {
				printf("%.*s\n", (int)len, v);
				free(v);
			}
		}
	} else if (strcmp(cmd, "write") == 0) {
		if (argc % 2)
			return usage(cmd);
		for (int i = 0; i + 1 < argc && !status; i += 2)
			if (!xs_write(h, t, argv[i], argv[i + 1], (unsigned)strlen(argv[i + 1]))) {
				fprintf(stderr, "could not write path %s\n", argv[i]);
				status = 1;
			}
	} else if (strcmp(cmd, "rm") == 0) {
		for (int i = 0; i < argc && !status; i++)
			if (!xs_rm(h, t, argv[i]) && errno != ENOENT) {
				fprintf(stderr, "could not remove path %s\n", argv[i]);
				status = 1;
			}
	} else if (strcmp(cmd, "exists") == 0) {
		for (int i = 0; i < argc && !status; i++) {
			unsigned len;
			char *v = xs_read(h, t, argv[i], &len);

			status = v ? 0 : 1;
			free(v);
		}
	} else if (strcmp(cmd, "list") == 0) {
		for (int i = 0; i < argc && !status; i++) {
			unsigned n = 0;
			char **kids = xs_directory(h, t, argv[i], &n);

			if (!kids) {
				fprintf(stderr, "couldn't list path %s\n", argv[i]);
				status = 1;
				continue;
			}
			for (unsigned k = 0; k < n; k++)
				printf("%s\n", kids[k]);
			free(kids);
		}
	} else if (strcmp(cmd, "chmod") == 0) {
		bool recurse = argc > 0 && strcmp(argv[0], "-r") == 0;
		struct xs_permissions *p;
		int np;

		if (recurse) {
			argc--;
			argv++;
		}
		if (argc < 2)
			return usage(cmd);
		np = argc - 1;
		p = calloc((size_t)np, sizeof(*p));
		for (int i = 0; i < np; i++)
			if (!xs_strings_to_perms(&p[i], 1, argv[i + 1])) {
				fprintf(stderr, "bad permission %s\n", argv[i + 1]);
				free(p);
				xs_transaction_end(h, t, true);
				return 1;
			}
		if (!chmod_one(h, t, argv[0], p, (unsigned)np, recurse)) {
			fprintf(stderr, "could not set permissions of %s\n", argv[0]);
			status = 1;
		}
		free(p);
	} else {
		xs_transaction_end(h, t, true);
		return usage(cmd);
	}
	if (status) {
		xs_transaction_end(h, t, true);
		return status;
	}
	if (!xs_transaction_end(h, t, false))
		return errno == EAGAIN ? -1 : 1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = basename(argv[0]);
	struct xs_handle *h;
	int r;

	if (strncmp(cmd, "xenstore-", 9) == 0) {
		cmd += 9;
	} else {
		if (argc < 2)
			return usage("COMMAND");
		cmd = argv[1];
		argc--;
		argv++;
	}
	h = xs_open(0);
	if (!h) {
		perror("xs_open");
		return 1;
	}
	do {
		fflush(stdout);
		r = run(h, cmd, argc - 1, argv + 1);
	} while (r < 0);
	xs_close(h);
	return r;
}
