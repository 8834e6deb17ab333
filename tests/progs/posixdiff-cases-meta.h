/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * posixdiff-cases-meta.h: posixdiff cases about metadata and everything that is not file data
 * or names: chmod/chown/utimensat, permission checks for an unprivileged user, set-group-ID
 * directories, user.* xattrs, fcntl and flock locks between processes, FIFOs, device nodes
 * and socket nodes.  Included once by posixdiff.c after posixdiff-obs.h; each case follows the
 * contract stated there.
 */
#ifndef POSIXDIFF_CASES_META_H
#define POSIXDIFF_CASES_META_H

#include <grp.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/xattr.h>

static void see_times(const char *label, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		see(label, "-1 %s", errname(errno));
		return;
	}
	see(label, "atime %lld.%09ld mtime %lld.%09ld", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static void case_chmod_chown(void)
{
	static const mode_t modes[] = {0, 0777, 07777, 01755, 04755, 02711, 0444, 0640};
	char label[64];
	mkfile("create f", "f", "x", 0644);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		snprintf(label, sizeof(label), "chmod %04o", (unsigned)modes[i]);
		DO(label, chmod("f", modes[i]));
		see_stat("stat", "f", NULL);
	}
	DO("mkdir d", mkdir("d", 0755));
	DO("chmod dir 01777", chmod("d", 01777));
	see_stat("stat d", "d", NULL);
	DO("chmod dir 02755", chmod("d", 02755));
	see_stat("stat d", "d", NULL);
	DO("chmod missing", chmod("missing", 0644));
	DO("symlink l -> f", symlink("f", "l"));
	DO("chmod through symlink", chmod("l", 0600));
	see_stat("target changed", "f", NULL);
	see_lstat("symlink itself", "l", NULL);
	DO("chown 1234:5678", chown("f", 1234, 5678));
	see_stat("stat", "f", NULL);
	DO("chown -1:42", chown("f", (uid_t)-1, 42));
	see_stat("stat", "f", NULL);
	DO("chown 77:-1", chown("f", 77, (gid_t)-1));
	see_stat("stat", "f", NULL);
	DO("chown -1:-1", chown("f", (uid_t)-1, (gid_t)-1));
	see_stat("stat", "f", NULL);
	/* chown of a non-directory clears set-user-ID, and set-group-ID when group-executable. */
	DO("chmod 06755", chmod("f", 06755));
	DO("chown 1:1", chown("f", 1, 1));
	see_stat("suid/sgid after chown", "f", NULL);
	DO("chmod 06745", chmod("f", 06745));
	DO("chown 2:2", chown("f", 2, 2));
	see_stat("sgid without group-x after chown", "f", NULL);
	DO("chmod dir 06755", chmod("d", 06755));
	DO("chown dir 3:3", chown("d", 3, 3));
	see_stat("dir bits after chown", "d", NULL);
	DO("lchown symlink", lchown("l", 11, 12));
	see_lstat("symlink owner", "l", NULL);
	see_stat("target owner", "f", NULL);
	int fd = DOFD("open", open("f", O_RDONLY));
	DO("fchmod 0751", fchmod(fd, 0751));
	DO("fchown 0:0", fchown(fd, 0, 0));
	see_fstat("fstat", fd, NULL);
	cl(fd);
	DO("fchmodat", fchmodat(AT_FDCWD, "f", 0700, 0));
	DO("fchownat AT_SYMLINK_NOFOLLOW", fchownat(AT_FDCWD, "l", 21, 22, AT_SYMLINK_NOFOLLOW));
	see_lstat("symlink owner", "l", NULL);
	/* root needs an x bit somewhere to pass X_OK; R_OK/W_OK always pass. */
	DO("chmod 0644", chmod("f", 0644));
	DO("access X_OK on 0644 (root)", access("f", X_OK));
	DO("access R_OK|W_OK on 0644 (root)", access("f", R_OK | W_OK));
	DO("chmod 0744", chmod("f", 0744));
	DO("access X_OK on 0744 (root)", access("f", X_OK));
	DO("chmod 0", chmod("f", 0));
	DO("access R_OK on 0000 (root)", access("f", R_OK));
	DO("access missing", access("missing", F_OK));
	struct stat st0, st1;
	int r0 = stat("f", &st0);
	DO("chmod 0640", chmod("f", 0640));
	int r1 = stat("f", &st1);
	check("ctime does not go back on chmod", r0 == 0 && r1 == 0 && !ts_after(st0.st_ctim, st1.st_ctim),
	      "ctime %lld.%09ld then %lld.%09ld", (long long)st0.st_ctim.tv_sec, st0.st_ctim.tv_nsec,
	      (long long)st1.st_ctim.tv_sec, st1.st_ctim.tv_nsec);
}

/* Exact times are whole seconds from 1970 on: finer or earlier ones are case utimens_fine. */
static void case_utimens(void)
{
	mkfile("create f", "f", "x", 0644);
	struct timespec t[2] = {{1000000000, 0}, {1100000000, 0}};
	DO("utimensat exact", utimensat(AT_FDCWD, "f", t, 0));
	see_times("exactly as asked", "f");
	struct timespec om[2] = {{0, UTIME_OMIT}, {1200000000, 0}};
	DO("utimensat atime OMIT", utimensat(AT_FDCWD, "f", om, 0));
	see_times("atime kept, mtime set", "f");
	struct timespec om2[2] = {{1300000000, 0}, {0, UTIME_OMIT}};
	DO("utimensat mtime OMIT", utimensat(AT_FDCWD, "f", om2, 0));
	see_times("mtime kept, atime set", "f");
	struct timespec both[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	DO("utimensat both OMIT", utimensat(AT_FDCWD, "f", both, 0));
	see_times("unchanged", "f");
	struct timespec nowm[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
	DO("utimensat mtime NOW", utimensat(AT_FDCWD, "f", nowm, 0));
	struct stat st;
	int r = stat("f", &st);
	see("atime kept", "%lld.%09ld", r ? 0ll : (long long)st.st_atim.tv_sec, r ? 0l : st.st_atim.tv_nsec);
	check("mtime NOW is later than what was set", r == 0 && ts_after(st.st_mtim, (struct timespec){1200000000, 0}),
	      "mtime %lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	struct timespec nowa[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
	DO("utimensat exact", utimensat(AT_FDCWD, "f", t, 0));
	DO("utimensat atime NOW", utimensat(AT_FDCWD, "f", nowa, 0));
	r = stat("f", &st);
	see("mtime kept", "%lld.%09ld", r ? 0ll : (long long)st.st_mtim.tv_sec, r ? 0l : st.st_mtim.tv_nsec);
	check("atime NOW is later than what was set", r == 0 && ts_after(st.st_atim, t[0]), "atime %lld.%09ld",
	      (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
	DO("utimensat exact", utimensat(AT_FDCWD, "f", t, 0));
	DO("utimensat NULL (both now)", utimensat(AT_FDCWD, "f", NULL, 0));
	r = stat("f", &st);
	check("both times moved to now", r == 0 && ts_after(st.st_atim, t[0]) && ts_after(st.st_mtim, t[1]),
	      "atime %lld.%09ld mtime %lld.%09ld", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
	      (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	struct timespec fut[2] = {{4102444800ll, 0}, {8000000000ll, 0}};
	DO("utimensat beyond 2038 and 2100", utimensat(AT_FDCWD, "f", fut, 0));
	see_times("64-bit times", "f");
	struct timespec zero[2] = {{0, 0}, {0, 0}};
	DO("utimensat epoch", utimensat(AT_FDCWD, "f", zero, 0));
	see_times("epoch", "f");
	struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
	DO("utimensat tv_nsec out of range", utimensat(AT_FDCWD, "f", bad, 0));
	DO("utimensat missing", utimensat(AT_FDCWD, "missing", t, 0));
	int fd = DOFD("open", open("f", O_WRONLY));
	struct timespec ft[2] = {{1400000000, 0}, {1400000001, 0}};
	DO("futimens", futimens(fd, ft));
	see_times("futimens", "f");
	set_old_times("set old times", "f");
	DO("write", write(fd, "more", 4));
	check_mtime_moved("mtime moves forward after a write", "f", -1);
	r = stat("f", &st);
	see("atime untouched by write", "%lld.%09ld", r ? 0ll : (long long)st.st_atim.tv_sec, r ? 0l : st.st_atim.tv_nsec);
	set_old_times("set old times", "f");
	DO("ftruncate", ftruncate(fd, 1));
	check_mtime_moved("mtime moves forward after ftruncate", "f", -1);
	cl(fd);
	DO("symlink l -> f", symlink("f", "l"));
	struct timespec lt[2] = {{1500000000, 0}, {1500000001, 0}};
	DO("utimensat AT_SYMLINK_NOFOLLOW", utimensat(AT_FDCWD, "l", lt, AT_SYMLINK_NOFOLLOW));
	see_times("symlink times", "l");
	see("target untouched", "%d", stat("f", &st) == 0 && st.st_mtim.tv_sec != 1500000001);
	DO("utimensat through symlink", utimensat(AT_FDCWD, "l", t, 0));
	see_times("target times", "f");
	DO("mkdir d", mkdir("d", 0755));
	DO("utimensat dir", utimensat(AT_FDCWD, "d", t, 0));
	see_times("dir times", "d");
	set_old_times("set old dir times", "d");
	mkfile("create in d", "d/x", "x", 0644);
	check_mtime_moved("creating an entry moves dir mtime", "d", -1);
	set_old_times("set old dir times", "d");
	DO("rename in d", rename("d/x", "d/y"));
	check_mtime_moved("renaming an entry moves dir mtime", "d", -1);
	set_old_times("set old dir times", "d");
	DO("unlink in d", unlink("d/y"));
	check_mtime_moved("removing an entry moves dir mtime", "d", -1);
}

/* Nanoseconds and times before 1970.  The Linux 9p client truncates the times it sets to whole
 * seconds and clamps them at 0 (its superblock keeps the default one-second granularity and a
 * minimum of 0), whatever the server does: tagged @client. */
static void case_utimens_fine(void)
{
	mkfile("create f", "f", "x", 0644);
	struct timespec t[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
	DO("utimensat with nanoseconds", utimensat(AT_FDCWD, "f", t, 0));
	see_times("exactly as asked", "f");
	struct timespec past[2] = {{-1000000000ll, 5}, {-1, 0}};
	DO("utimensat before 1970", utimensat(AT_FDCWD, "f", past, 0));
	see_times("negative times", "f");
	int fd = DOFD("open", open("f", O_RDONLY));
	struct timespec ft[2] = {{1400000000, 400}, {1400000001, 401}};
	DO("futimens with nanoseconds", futimens(fd, ft));
	see_times("futimens", "f");
	cl(fd);
}

/* Files created in a set-group-ID directory take its group; subdirectories inherit the bit. */
static void case_setgid_dir(void)
{
	DO("mkdir sg", mkdir("sg", 0755));
	DO("chown sg 0:4321", chown("sg", 0, 4321));
	DO("chmod sg 02775", chmod("sg", 02775));
	see_stat("sg", "sg", NULL);
	mkfile("create sg/f", "sg/f", "x", 0644);
	see_stat("file takes the dir's group", "sg/f", NULL);
	DO("mkdir sg/d", mkdir("sg/d", 0755));
	see_stat("subdir inherits group and setgid", "sg/d", NULL);
	cl(DOFD("create sg/g with 02755", open("sg/g", O_CREAT | O_WRONLY, 02755)));
	see_stat("sg/g", "sg/g", NULL);
	DO("symlink sg/l", symlink("f", "sg/l"));
	see_lstat("symlink group", "sg/l", NULL);
	DO("chmod sg 0775", chmod("sg", 0775));
	mkfile("create sg/h after clearing setgid", "sg/h", "x", 0644);
	see_stat("sg/h", "sg/h", NULL);
}

/* Runs fn in a child with uid/gid 2000 and no supplementary groups, recording into the log. */
static void as_user(const char *label, void (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(2000) || setuid(2000)) {
			see("drop to uid 2000", "failed: %s", errname(errno));
			_exit(1);
		}
		see("drop to uid 2000", "ok");
		fn();
		_exit(0);
	}
	see_wait(label, pid);
}

static void perm_user_steps(void)
{
	cl(DOFD("open root's 0600 file", open("secret", O_RDONLY)));
	cl(DOFD("create in root's 0755 dir", open("ro/new", O_CREAT | O_WRONLY, 0644)));
	DO("mkdir in root's 0755 dir", mkdir("ro/newd", 0755));
	DO("unlink in root's 0755 dir", unlink("ro/file"));
	DO("rename out of root's dir", rename("ro/file", "tmp/stolen"));
	DO("unlink another user's file in sticky dir", unlink("tmp/rootfile"));
	DO("rename another user's file in sticky dir", rename("tmp/rootfile", "tmp/moved"));
	cl(DOFD("create in sticky dir", open("tmp/own", O_CREAT | O_WRONLY, 0644)));
	see_stat("own file", "tmp/own", NULL);
	DO("unlink own file in sticky dir", unlink("tmp/own"));
	DO("chmod root's file", chmod("secret", 0644));
	DO("chown own file away", chown("mine", 3000, (gid_t)-1));
	DO("chgrp own file to a foreign group", chown("mine", (uid_t)-1, 3000));
	DO("chmod own file", chmod("mine", 0640));
	struct timespec t[2] = {{1000000000, 0}, {1000000000, 0}};
	DO("utimensat exact on own file", utimensat(AT_FDCWD, "mine", t, 0));
	DO("utimensat exact on root's file", utimensat(AT_FDCWD, "shared", t, 0));
	DO("utimensat now on root's writable file", utimensat(AT_FDCWD, "shared", NULL, 0));
	DO("utimensat now on root's read-only file", utimensat(AT_FDCWD, "secret", NULL, 0));
	DO("truncate root's 0666 file", truncate("shared", 1));
	DO("truncate root's 0600 file", truncate("secret", 1));
	DO("access W_OK on root's 0600 file", access("secret", W_OK));
	DO("access R_OK on 0644 dir", access("ro", R_OK | X_OK));
	DO("chdir into 0700 dir", chdir("priv"));
	cl(DOFD("open below 0700 dir", open("priv/f", O_RDONLY)));
	DO("stat below 0700 dir", access("priv/f", F_OK));
	/* Writing clears set-user-ID and set-group-ID (the writer has no CAP_FSETID). */
	int fd = DOFD("open own suid file", open("suid", O_WRONLY));
	DO("write", write(fd, "w", 1));
	cl(fd);
	see_stat("suid/sgid after unprivileged write", "suid", NULL);
	DO("truncate own sgid file", truncate("sgid", 0));
	see_stat("after truncate", "sgid", NULL);
	DO("chmod own file with setgid of foreign group", chmod("foreign", 02755));
	see_stat("setgid silently dropped", "foreign", NULL);
}

static void case_perm_nonroot(void)
{
	mkfile("create secret 0600", "secret", "s", 0600);
	DO("chmod secret 0600", chmod("secret", 0600));
	DO("mkdir ro 0755", mkdir("ro", 0755));
	mkfile("create ro/file", "ro/file", "f", 0644);
	DO("mkdir tmp 01777", mkdir("tmp", 0777) || chmod("tmp", 01777));
	mkfile("create tmp/rootfile 0666", "tmp/rootfile", "r", 0666);
	DO("chmod 0666", chmod("tmp/rootfile", 0666));
	mkfile("create mine", "mine", "m", 0644);
	DO("chown mine 2000", chown("mine", 2000, 2000));
	mkfile("create shared 0666", "shared", "sh", 0666);
	DO("chmod shared 0666", chmod("shared", 0666));
	DO("mkdir priv 0700", mkdir("priv", 0700));
	mkfile("create priv/f", "priv/f", "p", 0644);
	mkfile("create suid", "suid", "s", 0644);
	DO("chown suid 2000", chown("suid", 2000, 2000));
	DO("chmod suid 06755", chmod("suid", 06755));
	mkfile("create sgid", "sgid", "s", 0644);
	DO("chown sgid 2000", chown("sgid", 2000, 2000));
	DO("chmod sgid 02775", chmod("sgid", 02775));
	mkfile("create foreign", "foreign", "f", 0644);
	DO("chown foreign 2000:3000", chown("foreign", 2000, 3000));
	DO("chmod case dir 0755", chmod(".", 0755));
	as_user("unprivileged steps", perm_user_steps);
	see_dir("listing", ".");
	see_dir("tmp", "tmp");
	see_dir("ro", "ro");
}

/* ---- xattrs ------------------------------------------------------------------------------- */

static void see_getxattr(const char *label, const char *path, const char *name, size_t size)
{
	char buf[8192], e[1024];
	if (size > sizeof(buf))
		size = sizeof(buf);
	errno = 0;
	ssize_t r = getxattr(path, name, size ? buf : NULL, size);
	if (r < 0) {
		see(label, "-1 %s", errname(errno));
		return;
	}
	if (!size) {
		see(label, "size %zd", r);
		return;
	}
	if (r <= 200) {
		obs_escape(e, sizeof(e), buf, (size_t)r);
		see(label, "%zd \"%s\"", r, e);
	} else {
		see(label, "%zd bytes fnv %016llx", r, (unsigned long long)fnv1a(FNV_INIT, buf, (size_t)r));
	}
}

/* The user.* names, sorted: other namespaces (security.*, system.*) depend on the setup. */
static void see_listxattr(const char *label, const char *path, int nofollow)
{
	char buf[8192];
	errno = 0;
	ssize_t r = nofollow ? llistxattr(path, buf, sizeof(buf)) : listxattr(path, buf, sizeof(buf));
	if (r < 0) {
		see(label, "-1 %s", errname(errno));
		return;
	}
	struct name_list l = {0};
	for (ssize_t o = 0; o < r; o += (ssize_t)strlen(buf + o) + 1)
		if (!strncmp(buf + o, "user.", 5))
			names_add(&l, buf + o, 0);
	qsort(l.v, l.n, sizeof(*l.v), cmp_str);
	char out[2048];
	size_t w = 0;
	out[0] = '\0';
	for (size_t i = 0; i < l.n && w < sizeof(out); i++)
		w += (size_t)snprintf(out + w, sizeof(out) - w, "%s%s", i ? " " : "", l.v[i]);
	see(label, "[%s]", out);
	names_free(&l);
}

static void case_xattr_user(void)
{
	mkfile("create f", "f", "x", 0644);
	/* The reference filesystem itself may lack user xattrs (tmpfs before Linux 6.6). */
	if (setxattr("f", "user.probe", "1", 1, 0) < 0 && (errno == EOPNOTSUPP || errno == ENOTSUP))
		skip_case("reference filesystem has no user.* xattrs");
	DO("remove probe", removexattr("f", "user.probe"));
	DO("set user.a", setxattr("f", "user.a", "v1", 2, 0));
	see_getxattr("get user.a", "f", "user.a", 100);
	see_getxattr("size query", "f", "user.a", 0);
	see_getxattr("buffer too small", "f", "user.a", 1);
	DO("XATTR_CREATE on existing", setxattr("f", "user.a", "v2", 2, XATTR_CREATE));
	DO("XATTR_REPLACE on missing", setxattr("f", "user.b", "v2", 2, XATTR_REPLACE));
	DO("XATTR_REPLACE on existing", setxattr("f", "user.a", "longer value", 12, XATTR_REPLACE));
	see_getxattr("replaced", "f", "user.a", 100);
	DO("XATTR_CREATE new", setxattr("f", "user.b", "B", 1, XATTR_CREATE));
	see_getxattr("created", "f", "user.b", 100);
	DO("set binary value", setxattr("f", "user.bin", "a\0b\xff\n", 5, 0));
	see_getxattr("binary value", "f", "user.bin", 100);
	char big[4000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 13);
	/* On a file of its own: some filesystems keep all of a file's xattrs in one block. */
	mkfile("create bigx", "bigx", "x", 0644);
	DO("set 4000-byte value", setxattr("bigx", "user.big", big, sizeof(big), 0));
	see_getxattr("4000-byte value", "bigx", "user.big", sizeof(big));
	see_listxattr("list bigx", "bigx", 0);
	DO("set odd name", setxattr("f", "user.with space.and.dots", "x", 1, 0));
	see_listxattr("list", "f", 0);
	errno = 0;
	ssize_t need = listxattr("f", NULL, 0);
	see("list size query covers the list", "%d", need > 0);
	char tiny[4];
	DO("list with tiny buffer", listxattr("f", tiny, sizeof(tiny)));
	see_getxattr("get missing", "f", "user.missing", 100);
	DO("remove user.a", removexattr("f", "user.a"));
	DO("remove again", removexattr("f", "user.a"));
	see_getxattr("get removed", "f", "user.a", 100);
	see_listxattr("list", "f", 0);
	DO("set without namespace", setxattr("f", "noprefix", "x", 1, 0));
	DO("set on missing file", setxattr("missing", "user.a", "x", 1, 0));
	int fd = DOFD("open", open("f", O_RDONLY));
	DO("fsetxattr", fsetxattr(fd, "user.fd", "via fd", 6, 0));
	char fb[64];
	long n = DO("fgetxattr", fgetxattr(fd, "user.fd", fb, sizeof(fb)));
	see("value", "%.*s", n > 0 ? (int)n : 0, fb);
	DO("fremovexattr", fremovexattr(fd, "user.fd"));
	cl(fd);
	DO("mkdir d", mkdir("d", 0755));
	DO("set on dir", setxattr("d", "user.dir", "dv", 2, 0));
	see_getxattr("get on dir", "d", "user.dir", 100);
	see_listxattr("list dir", "d", 0);
	DO("symlink l -> f", symlink("f", "l"));
	DO("set through symlink", setxattr("l", "user.via", "link", 4, 0));
	see_getxattr("landed on the target", "f", "user.via", 100);
	DO("lsetxattr user.* on symlink", lsetxattr("l", "user.onlink", "x", 1, 0));
	see_listxattr("llist symlink", "l", 1);
	mkfile("create g", "g", "x", 0644);
	DO("set on g", setxattr("g", "user.keep", "kept", 4, 0));
	DO("rename g -> h", rename("g", "h"));
	see_getxattr("xattr follows rename", "h", "user.keep", 100);
	DO("link h -> h2", link("h", "h2"));
	see_getxattr("xattr shared by hard link", "h2", "user.keep", 100);
	fd = DOFD("open h", open("h", O_RDONLY));
	DO("unlink h and h2", unlink("h") || unlink("h2"));
	n = DO("fgetxattr on unlinked open file", fgetxattr(fd, "user.keep", fb, sizeof(fb)));
	see("value", "%.*s", n > 0 ? (int)n : 0, fb);
	cl(fd);
}

/* An empty value.  The 9P2000.L client sends a removal as a Txattrcreate of size 0, the same
 * message as setting an empty value, so over 9p one of the two must differ: tagged @client. */
static void case_xattr_empty(void)
{
	mkfile("create f", "f", "x", 0644);
	if (setxattr("f", "user.probe", "1", 1, 0) < 0 && (errno == EOPNOTSUPP || errno == ENOTSUP))
		skip_case("reference filesystem has no user.* xattrs");
	DO("set empty value", setxattr("f", "user.e", "", 0, 0));
	see_getxattr("get empty value", "f", "user.e", 100);
	see_listxattr("listed", "f", 0);
	DO("replace with empty value", setxattr("f", "user.probe", "", 0, XATTR_REPLACE));
	see_getxattr("get it", "f", "user.probe", 100);
}

/* ---- locks -------------------------------------------------------------------------------- */

static int lk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
	return fcntl(fd, cmd, &fl);
}

/* F_GETLK as seen from the calling process: conflict type, range, and whether the reported
 * owner is the expected process (pids differ between sides; the comparison does not). */
static void see_getlk(const char *label, int fd, short type, off_t start, off_t len, pid_t owner)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
	errno = 0;
	if (fcntl(fd, F_GETLK, &fl) < 0) {
		see(label, "-1 %s", errname(errno));
		return;
	}
	if (fl.l_type == F_UNLCK) {
		see(label, "unlocked");
		return;
	}
	see(label, "%s start %lld len %lld owner %s", fl.l_type == F_WRLCK ? "F_WRLCK" : "F_RDLCK",
	    (long long)fl.l_start, (long long)fl.l_len, fl.l_pid == owner ? "locker" : "other");
}

static void xwrite(int fd, char c)
{
	while (write(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static char xread(int fd)
{
	char c = 0;
	ssize_t r;
	while ((r = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return r == 1 ? c : 0;
}

static void case_fcntl_locks(void)
{
	mkfile("create f", "f", "0123456789", 0644);
	int fd = DOFD("open O_RDWR", open("f", O_RDWR));
	DO("F_SETLK write lock [0,100)", lk(fd, F_SETLK, F_WRLCK, 0, 100));
	DO("F_SETLK read lock [200,EOF+)", lk(fd, F_SETLK, F_RDLCK, 200, 0));
	see_getlk("F_GETLK by the owner", fd, F_WRLCK, 0, 10, getpid());
	/* go: parent -> child steps; ack: child -> parent. */
	int go[2], ack[2];
	if (pipe(go) || pipe(ack))
		abort();
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(go[1]);
		close(ack[0]);
		int cfd = open("f", O_RDWR);
		see("child open", cfd >= 0 ? "ok" : "failed");
		see_getlk("child F_GETLK [50,60) write", cfd, F_WRLCK, 50, 10, parent);
		see_getlk("child F_GETLK [100,200) write", cfd, F_WRLCK, 100, 100, parent);
		see_getlk("child F_GETLK [300,301) read", cfd, F_RDLCK, 300, 1, parent);
		see_getlk("child F_GETLK [300,301) write", cfd, F_WRLCK, 300, 1, parent);
		DO("child F_SETLK write [50,60): conflict", lk(cfd, F_SETLK, F_WRLCK, 50, 10));
		DO("child F_SETLK read [99,101): conflict", lk(cfd, F_SETLK, F_RDLCK, 99, 2));
		DO("child F_SETLK write [100,200): free", lk(cfd, F_SETLK, F_WRLCK, 100, 100));
		DO("child F_SETLK read [250,260): shared", lk(cfd, F_SETLK, F_RDLCK, 250, 10));
		DO("child F_SETLK write [250,260): conflict", lk(cfd, F_SETLK, F_WRLCK, 250, 10));
		xwrite(ack[1], '1');
		xread(go[0]); /* parent released [0,100) */
		DO("child F_SETLK write [50,60) after unlock", lk(cfd, F_SETLK, F_WRLCK, 50, 10));
		DO("child F_UNLCK", lk(cfd, F_SETLK, F_UNLCK, 0, 0));
		xwrite(ack[1], '2');
		xread(go[0]); /* parent holds [0,10) again */
		/* Blocks until the parent unlocks; tell the parent when the lock is ours, and log
		 * only once the parent waits for us again (one writer to the log at a time). */
		int r = lk(cfd, F_SETLKW, F_WRLCK, 0, 10);
		int e = errno;
		xwrite(ack[1], '3');
		xread(go[0]);
		see_ret("child F_SETLKW granted after release", r, e);
		close(cfd); /* releases the child's locks */
		xwrite(ack[1], '4');
		_exit(0);
	}
	close(go[0]);
	close(ack[1]);
	see("child ready", "%c", xread(ack[0]));
	see_getlk("parent F_GETLK sees child's lock", fd, F_WRLCK, 100, 100, pid);
	DO("parent F_SETLK write [150,151): conflict", lk(fd, F_SETLK, F_WRLCK, 150, 1));
	DO("parent F_UNLCK [0,100)", lk(fd, F_SETLK, F_UNLCK, 0, 100));
	xwrite(go[1], 'g');
	see("child step 2", "%c", xread(ack[0]));
	DO("parent F_SETLK write [0,10) again", lk(fd, F_SETLK, F_WRLCK, 0, 10));
	xwrite(go[1], 'g');
	struct pollfd p = {.fd = ack[0], .events = POLLIN};
	/* The child is blocked in F_SETLKW (or about to be): it must not report before we unlock.
	 * Polling without waiting observes only what already happened. */
	int early = poll(&p, 1, 0);
	see("child still blocked before release", "%d", early == 0);
	DO("parent F_UNLCK [0,10)", lk(fd, F_SETLK, F_UNLCK, 0, 10));
	see("child step 3", "%c", xread(ack[0]));
	see_getlk("parent F_GETLK sees child's F_SETLKW lock", fd, F_WRLCK, 0, 10, pid);
	xwrite(go[1], 'g');
	see("child step 4", "%c", xread(ack[0]));
	see_getlk("child's close released its locks", fd, F_WRLCK, 0, 0, pid);
	see_wait("child exit", pid);
	/* Closing any descriptor of the file drops the process's locks on it. */
	DO("F_SETLK write [0,10)", lk(fd, F_SETLK, F_WRLCK, 0, 10));
	int fd2 = DOFD("second open", open("f", O_RDONLY));
	DO("close second fd", close(fd2));
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);
		see_getlk("lock gone after closing another fd", cfd, F_WRLCK, 0, 10, parent);
		_exit(0);
	}
	see_wait("child exit", pid);
	int rfd = DOFD("open O_RDONLY", open("f", O_RDONLY));
	DO("write lock on read-only fd", lk(rfd, F_SETLK, F_WRLCK, 0, 1));
	DO("read lock on read-only fd", lk(rfd, F_SETLK, F_RDLCK, 0, 1));
	DO("lock with negative start", lk(rfd, F_SETLK, F_RDLCK, -5, 1));
	cl(rfd);
	/* flock: per open file description. */
	DO("flock LOCK_EX", flock(fd, LOCK_EX | LOCK_NB));
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDONLY);
		DO("child flock LOCK_SH|LOCK_NB: conflict", flock(cfd, LOCK_SH | LOCK_NB));
		DO("child flock on inherited fd (same description)", flock(fd, LOCK_EX | LOCK_NB));
		_exit(0);
	}
	see_wait("child exit", pid);
	DO("flock LOCK_UN", flock(fd, LOCK_UN));
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDONLY);
		DO("child flock LOCK_SH|LOCK_NB after unlock", flock(cfd, LOCK_SH | LOCK_NB));
		_exit(0);
	}
	see_wait("child exit", pid);
	cl(fd);
	see_file("data untouched", "f");
}

/* ---- special files (refused by some security models: skippable) -------------------------- */

static void case_fifo(void)
{
	DO("mkfifo", mkfifo("p", 0640));
	see_lstat("stat fifo", "p", NULL);
	DO("mkfifo existing", mkfifo("p", 0640));
	int fd = DOFD("open O_RDWR", open("p", O_RDWR));
	DO("write", write(fd, "hi", 2));
	char buf[8] = "";
	long n = DO("read", read(fd, buf, sizeof(buf)));
	see("data", "%.*s", n > 0 ? (int)n : 0, buf);
	DO("lseek on fifo", lseek(fd, 0, SEEK_SET));
	cl(fd);
	cl(DOFD("O_WRONLY|O_NONBLOCK without reader", open("p", O_WRONLY | O_NONBLOCK)));
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int w = open("p", O_WRONLY); /* blocks until the reader opens */
		ssize_t r = w >= 0 ? write(w, "through fifo", 12) : -1;
		_exit(r == 12 ? 0 : 1);
	}
	fd = DOFD("open O_RDONLY (writer in child)", open("p", O_RDONLY));
	char rb[32];
	size_t got = 0;
	ssize_t r;
	while (fd >= 0 && (r = read(fd, rb + got, sizeof(rb) - got)) > 0)
		got += (size_t)r;
	see("read until writer closed", "%.*s", (int)got, rb);
	cl(fd);
	see_wait("writer exit", pid);
	DO("chmod fifo", chmod("p", 0600));
	see_lstat("stat fifo", "p", NULL);
	DO("rename fifo", rename("p", "q"));
	see_dir("listing", ".");
	DO("unlink fifo", unlink("q"));
}

static void case_mknod(void)
{
	DO("mknod chr 1:3", mknod("null", S_IFCHR | 0666, makedev(1, 3)));
	see_lstat("stat chr", "null", NULL);
	DO("mknod blk 7:200", mknod("blk", S_IFBLK | 0600, makedev(7, 200)));
	see_lstat("stat blk", "blk", NULL);
	DO("mknod chr with large numbers", mknod("bignum", S_IFCHR | 0600, makedev(4000, 100000)));
	see_lstat("stat", "bignum", NULL);
	DO("mknod regular", mknod("reg", S_IFREG | 0640, 0));
	see_lstat("stat reg", "reg", NULL);
	DO("mknod socket", mknod("sock", S_IFSOCK | 0644, 0));
	see_lstat("stat sock", "sock", NULL);
	DO("mknod fifo", mknod("fifo", S_IFIFO | 0644, 0));
	see_lstat("stat fifo", "fifo", NULL);
	DO("mknod existing", mknod("null", S_IFCHR | 0666, makedev(1, 3)));
	DO("mknod dir type", mknod("dir", S_IFDIR | 0755, 0));
	/* Opening a device node on any filesystem reaches the local device driver. */
	int fd = DOFD("open chr 1:3", open("null", O_RDWR));
	DO("write to it", write(fd, "0123456789", 10));
	char b[4];
	DO("read from it", read(fd, b, sizeof(b)));
	cl(fd);
	DO("chown chr", chown("null", 5, 6));
	see_lstat("stat chr", "null", NULL);
	DO("rename chr", rename("null", "null2"));
	see_lstat("stat renamed", "null2", NULL);
	DO("link chr", link("null2", "null3"));
	see_lstat("stat linked", "null3", NULL);
	see_dir("listing", ".");
}

static void case_socket_node(void)
{
	int s = DOFD("socket", socket(AF_UNIX, SOCK_STREAM, 0));
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "sock");
	DO("bind", bind(s, (struct sockaddr *)&a, sizeof(a)));
	see_lstat("stat socket node", "sock", NULL);
	DO("listen", listen(s, 1));
	int c = DOFD("client socket", socket(AF_UNIX, SOCK_STREAM, 0));
	DO("connect by path", connect(c, (struct sockaddr *)&a, sizeof(a)));
	int acc = DOFD("accept", accept(s, NULL, NULL));
	DO("send", write(c, "ping", 4));
	char buf[8] = "";
	long n = DO("recv", read(acc, buf, sizeof(buf)));
	see("data", "%.*s", n > 0 ? (int)n : 0, buf);
	cl(acc);
	cl(c);
	cl(s);
	int s2 = DOFD("socket", socket(AF_UNIX, SOCK_STREAM, 0));
	DO("bind existing path", bind(s2, (struct sockaddr *)&a, sizeof(a)));
	cl(s2);
	cl(DOFD("open socket node", open("sock", O_RDONLY)));
	DO("unlink socket node", unlink("sock"));
	see_dir("listing", ".");
}

#endif
