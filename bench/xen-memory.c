// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Memory per idle Xen device (a benchmark, not a test): the real
 * x9p-backend in the simulated Xen environment (tests/xen-sim) serves N
 * guests, each with one 9pfs device on a host directory, connected by a
 * Linux-like frontend whose client attached and made one stat (so that
 * its worker and its helper run), then left idle (rings of order 1: see
 * below).  Prints the private
 * memory (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup) and
 * the proportional set size of the monitor, of the workers and of the
 * helpers, in all and per device.
 *
 *   xen-memory [N]     (default 100)
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib.h>

#include "tests/xen-sim/sim.h"

struct mem {
	unsigned procs;
	unsigned long priv_kb, pss_kb;
};

static pid_t parent_of(pid_t pid)
{
	char *path = g_strdup_printf("/proc/%d/stat", (int)pid), *s = NULL, *p;
	pid_t pp = -1;

	/* "pid (comm) state ppid ...": comm may hold anything but the last ')' */
	if (g_file_get_contents(path, &s, NULL, NULL) && (p = strrchr(s, ')')))
		sscanf(p + 2, "%*c %d", &pp);
	g_free(s);
	g_free(path);
	return pp;
}

static bool below(pid_t pid, pid_t root)
{
	for (int depth = 0; pid > 1 && depth < 16; depth++) {
		if (pid == root)
			return true;
		pid = parent_of(pid);
	}
	return false;
}

static void add(struct mem *m, pid_t pid)
{
	char *path = g_strdup_printf("/proc/%d/smaps_rollup", (int)pid), *s = NULL;
	char **lines;

	if (g_file_get_contents(path, &s, NULL, NULL)) {
		lines = g_strsplit(s, "\n", -1);
		for (char **l = lines; *l; l++) {
			unsigned long kb;

			if (sscanf(*l, "Private_Clean: %lu", &kb) == 1 ||
			    sscanf(*l, "Private_Dirty: %lu", &kb) == 1)
				m->priv_kb += kb;
			else if (sscanf(*l, "Pss: %lu", &kb) == 1)
				m->pss_kb += kb;
		}
		g_strfreev(lines);
		m->procs++;
	}
	g_free(s);
	g_free(path);
}

/* What kind of x9p process pid is: 0 monitor, 1 worker, 2 helper. */
static int kind_of(pid_t pid, pid_t monitor)
{
	char *path = g_strdup_printf("/proc/%d/cmdline", (int)pid), *s = NULL;
	int k = -1;

	if (pid == monitor)
		k = 0;
	else if (g_file_get_contents(path, &s, NULL, NULL))
		k = strstr(s, "worker") ? 1 : strstr(s, "x9p-helper") ? 2 : -1;
	g_free(s);
	g_free(path);
	return k;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "monitor", "workers", "helpers" };
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 100;
	char *dir = g_dir_make_tmp("x9p-bench-mem-XXXXXX", NULL), *file;
	struct fe **fes = g_new0(struct fe *, n);
	struct p9c **cs = g_new0(struct p9c *, n);
	struct mem m[3] = { { 0 } };
	struct sim *s;
	GDir *proc;
	const char *ent;
	gint64 t0;

	if (n == 0 || n > 1000 || !dir) {
		fprintf(stderr, "usage: xen-memory [N]   (1..1000)\n");
		return 2;
	}
	/* The simulated hypervisor holds a descriptor for every granted page
	 * of every device (about a thousand for a Linux frontend's rings),
	 * and the backend it starts inherits the limit: as many as root may. */
	{
		struct rlimit rl = { 1u << 20, 1u << 20 };

		if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	file = g_build_filename(dir, "file", NULL);
	g_file_set_contents(file, "hello, world\n", -1, NULL);
	s = sim_new();
	if (!sim_backend_start(s, NULL)) {
		fprintf(stderr, "xen-memory: the backend did not start\n");
		return 1;
	}
	t0 = g_get_monotonic_time();
	for (unsigned i = 0; i < n; i++) {
		unsigned domid = 10 + i;
		char *name = g_strdup_printf("guest%u", domid);
		struct sim_dev d = { .kind = "9pfs", .domid = domid, .devid = 0, .path = dir,
				     .secmodel = "none", .tag = "share" };
		struct p9_getattr ga;

		hv_domain_create(s->hv, domid, name);
		g_free(name);
		sim_add_device(s, &d);
		/* Small rings: the simulator holds a descriptor per granted page
		 * and a container may not raise RLIMIT_NOFILE past 20000; the
		 * pages are the guest's, not the backend's, either way. */
		fes[i] = sim_frontend_with(s, &(struct fe_opts){ .kind = FE_LINUX, .domid = domid,
								 .max_order = 1 });
		cs[i] = fes[i] ? sim_client(fes[i], "9P2000.L", 1) : NULL;
		if (!cs[i] || p9c_walk_path(cs[i], 1, 2, "file", NULL) < 0 ||
		    p9c_getattr(cs[i], 2, P9_GETATTR_BASIC, &ga) < 0) {
			fprintf(stderr, "xen-memory: device %u did not serve\n", i);
			return 1;
		}
	}
	printf("xen-memory: %u devices connected and idle after %.1f s\n", n,
	       (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC);
	g_usleep(G_USEC_PER_SEC);
	proc = g_dir_open("/proc", 0, NULL);
	while ((ent = g_dir_read_name(proc))) {
		pid_t pid = isdigit((unsigned char)ent[0]) ? (pid_t)atoi(ent) : 0;
		int k;

		if (pid > 0 && below(pid, s->be_pid) && (k = kind_of(pid, s->be_pid)) >= 0)
			add(&m[k], pid);
	}
	g_dir_close(proc);
	printf("%-8s %6s %12s %12s %14s\n", "process", "count", "private_kB", "pss_kB",
	       "private/device");
	for (int k = 0; k < 3; k++)
		printf("%-8s %6u %12lu %12lu %11.0f kB\n", names[k], m[k].procs, m[k].priv_kb,
		       m[k].pss_kb, (double)m[k].priv_kb / n);
	printf("per device (workers + helpers + monitor/N): %.0f kB private, %.0f kB pss\n",
	       (double)(m[0].priv_kb + m[1].priv_kb + m[2].priv_kb) / n,
	       (double)(m[0].pss_kb + m[1].pss_kb + m[2].pss_kb) / n);
	for (unsigned i = 0; i < n; i++) {
		p9c_free(cs[i]);
		fe_free(fes[i]);
	}
	sim_free(s);
	unlink(file);
	rmdir(dir);
	g_free(file);
	g_free(dir);
	g_free(fes);
	g_free(cs);
	return 0;
}
