/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "x9p-sandbox"

#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sandbox-process.h"

/*
 * The C library and GLib open some files by path lazily: the time zone
 * (GLib reloads the local zone for every log line unless TZ names it),
 * charset aliases, the gconv configuration.  After pivot_root those paths
 * would name files of the export, which the guest controls (a FIFO there
 * would hang the helper, a crafted file would be parsed).  Load them now
 * from the host, and pin the zone through TZ so nothing reloads it.
 */
void x9p_sb_prewarm_libraries(void)
{
	const char *charset;
	GTimeZone *tz;

	g_get_charset(&charset);
	g_free(g_convert("", 0, charset, "UTF-8", NULL, NULL, NULL));
	tz = g_time_zone_new_local();
	if (!g_getenv("TZ"))
		g_setenv("TZ", g_time_zone_get_identifier(tz), FALSE);
	g_time_zone_unref(tz);
	tzset();
}

/* Threads of this process per /proc, or -1 when /proc cannot tell. */
int x9p_sb_count_threads(void)
{
	char line[128];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Without close_range(2) (Linux < 5.9): whatever /proc/self/fd lists. */
static void close_listed_fds(const int *keep, size_t nkeep)
{
	GArray *fds = g_array_new(FALSE, FALSE, sizeof(int));
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d) {
		g_warning("sandbox: cannot list descriptors to close: %s", g_strerror(errno));
		g_array_free(fds, TRUE);
		return;
	}
	while ((de = readdir(d))) {
		char *end;
		long v = strtol(de->d_name, &end, 10);
		int fd = (int)v;

		if (*end || end == de->d_name || v < 0 || v > INT_MAX || fd == dirfd(d))
			continue;
		g_array_append_val(fds, fd);
	}
	closedir(d);
	for (guint i = 0; i < fds->len; i++) {
		int fd = g_array_index(fds, int, i);
		bool kept = false;

		for (size_t k = 0; k < nkeep; k++)
			kept |= keep[k] == fd;
		if (!kept)
			close(fd);
	}
	g_array_free(fds, TRUE);
}

void x9p_sb_close_stray_fds(int a, int b)
{
	int keep[] = { 0, 1, 2, a, b };
	unsigned next = 0;

	qsort(keep, G_N_ELEMENTS(keep), sizeof(keep[0]), cmp_int);
	for (size_t i = 0; i < G_N_ELEMENTS(keep); i++) {
		if ((unsigned)keep[i] > next && close_range(next, keep[i] - 1, 0) < 0)
			goto fallback;
		if ((unsigned)keep[i] + 1 > next)
			next = keep[i] + 1;
	}
	if (close_range(next, ~0U, 0) == 0)
		return;
fallback:
	close_listed_fds(keep, G_N_ELEMENTS(keep));
}

/* CVE-2022-0358: a root helper kept root's groups for files it created. */
int x9p_sb_drop_groups(char **err)
{
	int e, n;

	if (setgroups(0, NULL) == 0)
		return 0;
	e = errno;
	n = getgroups(0, NULL);
	if (n == 0)
		return 0;
	if (e == EPERM) {
		g_warning("sandbox: cannot drop %d supplementary groups without privilege; "
			  "inside a user namespace they are unmapped and unusable, otherwise "
			  "run the helper as a user without supplementary groups", n);
		return 0;
	}
	return x9p_sb_fail(err, e, "setgroups(0)");
}

int x9p_sb_set_limit(int resource, rlim_t value, const char *name, char **err)
{
	struct rlimit r = { value, value };

	if (setrlimit(resource, &r) < 0)
		return x9p_sb_fail(err, errno, "setrlimit(%s, %llu)", name,
				   (unsigned long long)value);
	return 0;
}

/* The highest RLIMIT_NOFILE this process may set (raising the hard limit
 * takes CAP_SYS_RESOURCE, and never goes past fs.nr_open). */
static rlim_t nofile_ceiling(void)
{
	struct rlimit cur = { 0, 0 };
	unsigned long long nr_open = 1024 * 1024; /* the kernel's default */
	FILE *f;

	getrlimit(RLIMIT_NOFILE, &cur);
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_RESOURCE) != 1)
		return cur.rlim_max;
	f = fopen("/proc/sys/fs/nr_open", "re");
	if (f) {
		if (fscanf(f, "%llu", &nr_open) != 1)
			nr_open = 1024 * 1024;
		fclose(f);
	}
	return nr_open;
}

/*
 * Set before the namespaces: raising the RLIMIT_NOFILE hard limit needs
 * CAP_SYS_RESOURCE over the initial user namespace, lost on entering a new one.
 */
int x9p_sb_set_rlimits(const struct x9p_sandbox_cfg *cfg, char **err)
{
	int rc = x9p_sb_set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE", err);

	if (rc < 0)
		return rc;
	if (cfg->max_files) {
		rlim_t want = cfg->max_files, most = nofile_ceiling();

		if (want > most) {
			g_warning("sandbox: %u descriptors asked for, the system allows %llu",
				  cfg->max_files, (unsigned long long)most);
			want = most;
		}
		rc = x9p_sb_set_limit(RLIMIT_NOFILE, want, "RLIMIT_NOFILE", err);
		if (rc < 0)
			return rc;
	}
	if (cfg->readonly) {
		/* Nothing may grow a file.  Ignoring SIGXFSZ turns an attempt
		 * into EFBIG instead of a killed helper. */
		signal(SIGXFSZ, SIG_IGN);
		rc = x9p_sb_set_limit(RLIMIT_FSIZE, 0, "RLIMIT_FSIZE", err);
	}
	return rc;
}
