/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * posixdiff: differential POSIX behaviour suite.
 *
 *   posixdiff [options] REF_DIR TEST_DIR [case-filter]
 *
 * Runs every case twice, in a fresh subdirectory of REF_DIR (a trusted local filesystem,
 * e.g. tmpfs) and of TEST_DIR (the filesystem under test, e.g. a 9p mount), and compares the
 * two observation logs step by step (posixdiff-obs.h).  Prints TAP ("ok N - name" /
 * "not ok N - name" with the diverging steps side by side as "#" lines) and a final line
 * "N passed, N failed".  Exit status: 0 all passed, 1 some case failed, 2 usage or setup error.
 * Cases and output are documented in docs/testing-posix.md.
 */
#include <fnmatch.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>

#include "posixdiff-obs.h"

static unsigned pd_large_mib = 16;

#include "posixdiff-cases-data.h"
#include "posixdiff-cases-meta.h"
#include "posixdiff-cases-names.h"

enum {
	PD_ROOT = 1 << 0,    /* needs uid 0 (chown, setuid to another user, mknod) */
	PD_SPECIAL = 1 << 1, /* creates FIFOs, device or socket nodes: tag "special" */
	PD_HOSTFS = 1 << 2,  /* result depends on the filesystem backing the export: tag "hostfs" */
	PD_SLOW = 1 << 3,    /* many operations or much data: tag "slow" */
	PD_CLIENT = 1 << 4,  /* the Linux 9p client itself diverges, whatever the server: tag "client" */
};

struct pd_case {
	const char *name;
	void (*fn)(void);
	unsigned flags;
	const char *what;
};

/* To add a case: write a void function following posixdiff-obs.h's contract, add a row. */
static const struct pd_case cases[] = {
	{"open_excl", case_open_excl, 0, "O_CREAT|O_EXCL, O_CREAT on existing names, ENOENT/ENOTDIR/ENAMETOOLONG"},
	{"open_trunc", case_open_trunc, 0, "O_TRUNC with each access mode, on directories, mtime update"},
	{"open_append", case_open_append, 0, "O_APPEND with lseek, pwrite, a second writer, F_SETFL"},
	{"open_directory", case_open_directory, 0, "O_DIRECTORY, opening directories for writing, openat"},
	{"open_nofollow", case_open_nofollow, 0, "O_NOFOLLOW, O_PATH on symlinks, O_CREAT through dangling symlinks"},
	{"creat_umask", case_creat_umask, 0, "file and directory creation modes under five umasks"},
	{"sparse_4g", case_sparse_4g, 0, "writes and reads past 4 GiB, holes read as zeros, st_size"},
	{"truncate", case_truncate, 0, "truncate/ftruncate grow and shrink, error cases, mtime"},
	{"seek", case_seek, 0, "lseek SEEK_SET/CUR/END, errors, SEEK_DATA/SEEK_HOLE on dense files"},
	{"large_rw", case_large_rw, PD_SLOW, "large sequential write and read back with checksum"},
	{"mmap_read", case_mmap_read, 0, "read-only mappings of a file"},
	{"fsync", case_fsync, 0, "fsync/fdatasync/syncfs on files and directories, O_SYNC/O_DSYNC"},
	{"unlink_open", case_unlink_open, PD_ROOT, "I/O, ftruncate, fchmod, fchown on an unlinked open file; removed open dir"},
	{"statfs", case_statfs, 0, "statfs/statvfs succeed with plausible fields"},
	{"rename_file", case_rename_file, 0, "rename files: new name, over a file, onto itself, across dirs, errors"},
	{"rename_dir", case_rename_dir, 0, "rename directories: over empty/non-empty dirs, into itself, errors"},
	{"hardlink", case_hardlink, 0, "link counts, shared inode, links to dirs and symlinks"},
	{"symlink", case_symlink, PD_ROOT, "symlink/readlink, dangling, loops, long targets, lstat vs stat"},
	{"mkdir_rmdir", case_mkdir_rmdir, 0, "mkdir/rmdir errors (ENOTEMPTY, ENOTDIR, EEXIST), deep trees"},
	{"readdir_small", case_readdir_small, 0, "odd names, d_type, . and .., rewinddir"},
	{"readdir_dtype", case_readdir_dtype, 0, "d_type filled in for files, directories and symlinks"},
	{"readdir_5000", case_readdir_5000, PD_SLOW, "5000 entries complete and unique, telldir/seekdir"},
	{"readdir_mutate", case_readdir_mutate, PD_SLOW, "readdir while entries are added and removed"},
	{"dir_nlink", case_dir_nlink, PD_HOSTFS, "directory link count is 2 + subdirectories"},
	{"chmod_chown", case_chmod_chown, PD_ROOT, "chmod/chown/lchown, suid clearing, access() as root"},
	{"utimens", case_utimens, 0, "utimensat exact times, UTIME_NOW/UTIME_OMIT, mtime after write"},
	{"utimens_fine", case_utimens_fine, PD_CLIENT, "utimensat with nanoseconds and before 1970"},
	{"setgid_dir", case_setgid_dir, PD_ROOT, "group and setgid inheritance in set-group-ID directories"},
	{"perm_nonroot", case_perm_nonroot, PD_ROOT, "permission checks for an unprivileged user, sticky dirs"},
	{"xattr_user", case_xattr_user, 0, "user.* xattrs: set/get/list/remove, CREATE/REPLACE, ENODATA"},
	{"xattr_empty", case_xattr_empty, PD_CLIENT, "user.* xattrs with empty values"},
	{"fcntl_locks", case_fcntl_locks, 0, "F_SETLK/F_GETLK/F_SETLKW between processes, flock"},
	{"fifo", case_fifo, PD_SPECIAL, "mkfifo and data through a FIFO"},
	{"mknod", case_mknod, PD_SPECIAL | PD_ROOT, "character/block/socket/FIFO nodes with mknod"},
	{"socket_node", case_socket_node, PD_SPECIAL, "bind() of a unix socket in the directory"},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static const struct {
	const char *tag;
	unsigned flag;
} tags[] = {{"special", PD_SPECIAL}, {"hostfs", PD_HOSTFS}, {"slow", PD_SLOW}, {"root", PD_ROOT},
	    {"client", PD_CLIENT}};

/* ---- options ------------------------------------------------------------------------------ */

static struct {
	const char *ref, *test, *filter, *skip;
	int keep, verbose;
	unsigned timeout;
} opt;

static int list_has(const char *list, const char *name, int substring)
{
	if (!list)
		return 0;
	char *dup = strdup(list), *save = NULL;
	if (!dup)
		abort();
	int hit = 0;
	for (char *t = strtok_r(dup, ",", &save); t && !hit; t = strtok_r(NULL, ",", &save)) {
		if (strpbrk(t, "*?["))
			hit = fnmatch(t, name, 0) == 0;
		else
			hit = substring ? strstr(name, t) != NULL : strcmp(t, name) == 0;
	}
	free(dup);
	return hit;
}

static int skipped_by_option(const struct pd_case *c)
{
	if (list_has(opt.skip, c->name, 0))
		return 1;
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		char at[32];
		snprintf(at, sizeof(at), "@%s", tags[i].tag);
		if ((c->flags & tags[i].flag) && list_has(opt.skip, at, 0))
			return 1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: posixdiff [options] REF_DIR TEST_DIR [case-filter]\n"
		   "  case-filter      comma-separated names or globs; a name without wildcards\n"
		   "                   selects every case containing it (\"rename\")\n"
		   "  --skip a,b       report these cases as skipped; @special @hostfs @slow @root\n"
		   "                   @client name every case with that tag\n"
		   "  --keep           keep the case directories\n"
		   "  --large-mib N    size of the large_rw transfer (default 16)\n"
		   "  --timeout S      kill a side's case process after S seconds (default: never)\n"
		   "  --verbose        print every step of both sides, not only differences\n"
		   "  --list           list the cases and exit\n");
}

static void list_cases(void)
{
	for (size_t i = 0; i < NCASES; i++) {
		char fl[64] = "";
		for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++)
			if (cases[i].flags & tags[t].flag)
				snprintf(fl + strlen(fl), sizeof(fl) - strlen(fl), " @%s", tags[t].tag);
		printf("%-16s %s%s%s%s\n", cases[i].name, cases[i].what, *fl ? " [" : "", *fl ? fl + 1 : "", *fl ? "]" : "");
	}
}

/* ---- running a side ----------------------------------------------------------------------- */

static void run_side(const struct pd_case *c, const char *dir)
{
	obs_log_reset(obs_log);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		obs_emit('X', "case process", "fork failed", strerror(errno));
		return;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (chdir(dir) < 0) {
			obs_emit('X', "case process", "cannot enter the case directory", strerror(errno));
			_exit(0);
		}
		umask(022);
		if (opt.timeout)
			alarm(opt.timeout);
		c->fn();
		_exit(0);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	kill(-pid, SIGKILL); /* stragglers a failing case left behind */
	char why[96];
	if (WIFSIGNALED(st)) {
		snprintf(why, sizeof(why), "killed by signal %d%s", WTERMSIG(st),
			 WTERMSIG(st) == SIGALRM ? " (--timeout)" : "");
		obs_emit('X', "case process", why, NULL);
	} else if (WIFEXITED(st) && WEXITSTATUS(st)) {
		snprintf(why, sizeof(why), "exited with status %d", WEXITSTATUS(st));
		obs_emit('X', "case process", why, NULL);
	}
	if (obs_log->overflow) {
		obs_log->overflow = 0;
		obs_emit('X', "observation log", "overflow", NULL);
	}
}

/* ---- comparing ------------------------------------------------------------------------------ */

struct rec {
	char kind;
	const char *label, *value, *detail;
};

struct side_log {
	char *buf;
	struct rec *r;
	size_t n;
};

static void side_log_take(struct side_log *s)
{
	size_t len = obs_log->len;
	s->buf = malloc(len + 1);
	if (!s->buf)
		abort();
	memcpy(s->buf, obs_log->data, len);
	s->buf[len] = '\0';
	s->r = NULL;
	s->n = 0;
	size_t cap = 0;
	for (char *line = s->buf, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		char *f[4] = {line, NULL, NULL, NULL};
		for (int i = 1; i < 4; i++) {
			f[i] = f[i - 1] ? strchr(f[i - 1], OBS_SEP) : NULL;
			if (f[i])
				*f[i]++ = '\0';
		}
		if (!f[3])
			continue;
		if (s->n == cap) {
			cap = cap ? cap * 2 : 256;
			s->r = realloc(s->r, cap * sizeof(*s->r));
			if (!s->r)
				abort();
		}
		s->r[s->n++] = (struct rec){f[0][0], f[1], f[2], f[3]};
	}
}

static void side_log_free(struct side_log *s)
{
	free(s->buf);
	free(s->r);
	*s = (struct side_log){0};
}

#define SHOW 70

/* Shows up to SHOW characters of v, starting a little before offset `from` when v is long. */
static void clip(char *out, size_t cap, const char *v, size_t from)
{
	size_t len = strlen(v);
	if (len <= SHOW) {
		snprintf(out, cap, "%s", v);
		return;
	}
	size_t start = from > 20 ? from - 20 : 0;
	if (start + SHOW > len)
		start = len - SHOW;
	snprintf(out, cap, "%s%.*s%s", start ? "..." : "", SHOW, v + start, start + SHOW < len ? "..." : "");
}

static size_t first_diff(const char *a, const char *b)
{
	size_t i = 0;
	while (a[i] && a[i] == b[i])
		i++;
	return i;
}

static void fmt_rec(char *out, size_t cap, const struct rec *r, size_t from)
{
	char v[SHOW + 8];
	if (!r) {
		snprintf(out, cap, "(no such step)");
		return;
	}
	clip(v, sizeof(v), r->value, from);
	if (r->kind == '!' && r->detail[0])
		snprintf(out, cap, "%s (%s)", v, r->detail);
	else if (r->kind == 'X' && r->detail[0])
		snprintf(out, cap, "%s: %s", v, r->detail);
	else
		snprintf(out, cap, "%s", v);
}

static void print_diff(FILE *out, size_t step, const char *label, const struct rec *a, const struct rec *b)
{
	char va[1400], vb[1400];
	size_t from = a && b ? first_diff(a->value, b->value) : 0;
	fmt_rec(va, sizeof(va), a, from);
	fmt_rec(vb, sizeof(vb), b, from);
	fprintf(out, "#   %4zu %-40s | ref: %-24s | test: %s\n", step, label, va, vb);
}

/* Returns the number of differences; prints at most a screenful of them. */
static size_t compare(FILE *out, const struct side_log *a, const struct side_log *b)
{
	enum { MAX_SHOWN = 15 };
	size_t diffs = 0, n = a->n > b->n ? a->n : b->n;
	for (size_t i = 0; i < n; i++) {
		const struct rec *ra = i < a->n ? &a->r[i] : NULL, *rb = i < b->n ? &b->r[i] : NULL;
		int bad;
		char label[600];
		if (ra && rb && (ra->kind != rb->kind || strcmp(ra->label, rb->label))) {
			/* The two runs took different paths: later steps no longer line up. */
			snprintf(label, sizeof(label), "steps diverge: %s / %s", ra->label, rb->label);
			if (diffs++ < MAX_SHOWN)
				print_diff(out, i + 1, label, ra, rb);
			diffs += n - i - 1;
			break;
		}
		const struct rec *any = ra ? ra : rb;
		if (!ra || !rb)
			bad = 1;
		else if (any->kind == '=')
			bad = strcmp(ra->value, rb->value) != 0;
		else if (any->kind == '!')
			bad = strcmp(ra->value, "ok") || strcmp(rb->value, "ok");
		else
			bad = 1;
		if (!bad) {
			if (opt.verbose)
				print_diff(out, i + 1, any->label, ra, rb);
			continue;
		}
		snprintf(label, sizeof(label), "%s%s", any->kind == '!' ? "(check) " : "", any->label);
		if (diffs++ < MAX_SHOWN || opt.verbose)
			print_diff(out, i + 1, label, ra, rb);
	}
	if (diffs > MAX_SHOWN && !opt.verbose)
		fprintf(out, "#   ... %zu more differing steps\n", diffs - MAX_SHOWN);
	return diffs;
}

/* ---- case directories ----------------------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		chmod(path, 0700); /* a case may leave a directory without write permission */
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stdout, "# cleanup: %s: %s\n", path, strerror(errno));
	return 0;
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* The filesystem type of the mount holding dir, from /proc/self/mounts (statfs is no help: a
 * 9p mount reports the exporting host filesystem's f_type). */
static const char *fs_name(const char *dir, char *best_type, size_t cap)
{
	char real[PATH_MAX], line[4096];
	size_t best = 0;
	snprintf(best_type, cap, "?");
	if (!realpath(dir, real))
		return best_type;
	FILE *f = fopen("/proc/self/mounts", "r");
	if (!f)
		return best_type;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], type[64];
		if (sscanf(line, "%*s %4095s %63s", mnt, type) != 2)
			continue;
		/* Undo the \ooo escapes of spaces and the like. */
		char *w = mnt;
		for (char *r = mnt; *r; r++) {
			if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] && r[3]) {
				*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
				r += 3;
			} else {
				*w++ = *r;
			}
		}
		*w = '\0';
		size_t n = strlen(mnt);
		int under = !strcmp(mnt, "/") || (!strncmp(real, mnt, n) && (real[n] == '/' || real[n] == '\0'));
		if (under && n >= best) {
			best = n;
			snprintf(best_type, cap, "%s", type);
		}
	}
	fclose(f);
	return best_type;
}

static int make_top(const char *root, const char *side, char *out, size_t cap)
{
	snprintf(out, cap, "%s/posixdiff-%s.%ld", root, side, (long)getpid());
	if (mkdir(out, 0755) < 0) {
		fprintf(stderr, "posixdiff: cannot create %s: %s\n", out, strerror(errno));
		return -1;
	}
	/* The directory mode must not depend on the umask of whoever runs us. */
	chmod(out, 0755);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"skip", required_argument, NULL, 's'},	 {"keep", no_argument, NULL, 'k'},
		{"large-mib", required_argument, NULL, 'm'}, {"timeout", required_argument, NULL, 't'},
		{"list", no_argument, NULL, 'l'},	 {"help", no_argument, NULL, 'h'},
		{"verbose", no_argument, NULL, 'v'},
		{0},
	};
	int ch;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 's':
			opt.skip = optarg;
			break;
		case 'k':
			opt.keep = 1;
			break;
		case 'm':
			pd_large_mib = (unsigned)strtoul(optarg, NULL, 10);
			if (!pd_large_mib || pd_large_mib > 4096) {
				fprintf(stderr, "posixdiff: --large-mib must be 1..4096\n");
				return 2;
			}
			break;
		case 't':
			opt.timeout = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'l':
			list_cases();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 2 || argc - optind > 3) {
		usage(stderr);
		return 2;
	}
	opt.ref = argv[optind];
	opt.test = argv[optind + 1];
	opt.filter = argc - optind == 3 ? argv[optind + 2] : NULL;

	obs_log = obs_log_new();
	if (!obs_log) {
		perror("posixdiff: mmap");
		return 2;
	}
	char rtop[PATH_MAX], ttop[PATH_MAX];
	if (make_top(opt.ref, "ref", rtop, sizeof(rtop)) < 0)
		return 2;
	if (make_top(opt.test, "test", ttop, sizeof(ttop)) < 0) {
		rm_tree(rtop);
		return 2;
	}
	size_t planned = 0;
	for (size_t i = 0; i < NCASES; i++)
		planned += !opt.filter || list_has(opt.filter, cases[i].name, 1);
	char rtype[64], ttype[64];
	printf("# posixdiff: ref %s (%s), test %s (%s)\n", rtop, fs_name(rtop, rtype, sizeof(rtype)), ttop,
	       fs_name(ttop, ttype, sizeof(ttype)));
	printf("1..%zu\n", planned);

	int root = geteuid() == 0;
	size_t num = 0, passed = 0, failed = 0, skipped = 0;
	for (size_t i = 0; i < NCASES; i++) {
		const struct pd_case *c = &cases[i];
		if (opt.filter && !list_has(opt.filter, c->name, 1))
			continue;
		num++;
		if (skipped_by_option(c)) {
			/* "by design:": make check's account of skips (tests/run-all.sh)
			 * lists these and does not count them as missing prerequisites. */
			printf("ok %zu - %s # SKIP by design: --skip\n", num, c->name);
			skipped++;
			continue;
		}
		if ((c->flags & PD_ROOT) && !root) {
			printf("ok %zu - %s # SKIP needs root\n", num, c->name);
			skipped++;
			continue;
		}
		char rdir[PATH_MAX + 64], tdir[PATH_MAX + 64];
		snprintf(rdir, sizeof(rdir), "%s/%s", rtop, c->name);
		snprintf(tdir, sizeof(tdir), "%s/%s", ttop, c->name);
		if (mkdir(rdir, 0755) < 0 || mkdir(tdir, 0755) < 0) {
			printf("not ok %zu - %s\n#   cannot create the case directories: %s\n", num, c->name, strerror(errno));
			failed++;
			continue;
		}
		chmod(rdir, 0755);
		chmod(tdir, 0755);
		struct side_log ref = {0}, test = {0};
		run_side(c, rdir);
		side_log_take(&ref);
		const struct rec *sk = NULL;
		for (size_t k = 0; k < ref.n && !sk; k++)
			if (ref.r[k].kind == 'S')
				sk = &ref.r[k];
		if (sk) {
			printf("ok %zu - %s # SKIP by design: %s\n", num, c->name, sk->value);
			skipped++;
		} else {
			run_side(c, tdir);
			side_log_take(&test);
			/* The verdict line comes first, the differences after it. */
			char *diffbuf = NULL;
			size_t difflen = 0;
			FILE *mem = open_memstream(&diffbuf, &difflen);
			if (!mem) {
				perror("posixdiff: open_memstream");
				return 2;
			}
			size_t diffs = compare(mem, &ref, &test);
			fclose(mem);
			if (diffs) {
				printf("not ok %zu - %s\n", num, c->name);
				failed++;
			} else {
				printf("ok %zu - %s\n", num, c->name);
				passed++;
			}
			fputs(diffbuf, stdout);
			free(diffbuf);
		}
		side_log_free(&ref);
		side_log_free(&test);
		if (!opt.keep) {
			rm_tree(rdir);
			rm_tree(tdir);
		}
	}
	if (!opt.keep) {
		rm_tree(rtop);
		rm_tree(ttop);
	} else {
		printf("# case directories kept under %s and %s\n", rtop, ttop);
	}
	if (skipped)
		printf("# %zu skipped\n", skipped);
	printf("%zu passed, %zu failed\n", passed, failed);
	return failed ? 1 : 0;
}
