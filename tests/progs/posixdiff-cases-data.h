/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * posixdiff-cases-data.h: posixdiff cases about opening files and their data: open flags and
 * creation modes, offsets past 4 GiB, truncation, seeking, large transfers, mmap, fsync and
 * files that stay open after unlink.  Included once by posixdiff.c after posixdiff-obs.h;
 * each case follows the contract stated there.  pd_large_mib is defined by posixdiff.c.
 */
#ifndef POSIXDIFF_CASES_DATA_H
#define POSIXDIFF_CASES_DATA_H

#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/statvfs.h>

#define GiB (1ll << 30)

static void case_open_excl(void)
{
	int fd = DOFD("O_CREAT|O_EXCL new", open("a", O_CREAT | O_EXCL | O_WRONLY, 0644));
	DO("write", write(fd, "abc", 3));
	DO("close", close(fd));
	cl(DOFD("O_CREAT|O_EXCL existing", open("a", O_CREAT | O_EXCL | O_WRONLY, 0600)));
	see_file("content kept", "a");
	see_stat("mode kept", "a", NULL);
	cl(DOFD("O_CREAT existing, other mode", open("a", O_CREAT | O_WRONLY, 0600)));
	see_stat("mode still kept", "a", NULL);
	DO("symlink dangling", symlink("target", "dangling"));
	cl(DOFD("O_CREAT|O_EXCL on dangling symlink", open("dangling", O_CREAT | O_EXCL | O_WRONLY, 0644)));
	see_lstat("symlink target not created", "target", NULL);
	DO("mkdir", mkdir("d", 0755));
	cl(DOFD("O_CREAT|O_EXCL on directory", open("d", O_CREAT | O_EXCL | O_RDONLY, 0644)));
	cl(DOFD("O_CREAT on directory", open("d", O_CREAT | O_WRONLY, 0644)));
	cl(DOFD("open missing", open("missing", O_RDONLY)));
	cl(DOFD("open below a file", open("a/x", O_RDONLY)));
	cl(DOFD("O_CREAT below missing dir", open("nodir/x", O_CREAT | O_WRONLY, 0644)));
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cl(DOFD("O_CREAT name > NAME_MAX", open(longname, O_CREAT | O_WRONLY, 0644)));
	longname[255] = '\0';
	fd = DOFD("O_CREAT name == NAME_MAX", open(longname, O_CREAT | O_EXCL | O_WRONLY, 0644));
	cl(fd);
	see_lstat("stat NAME_MAX name", longname, NULL);
	fd = DOFD("O_RDONLY", open("a", O_RDONLY));
	DO("write on O_RDONLY fd", write(fd, "x", 1));
	cl(fd);
	fd = DOFD("O_WRONLY", open("a", O_WRONLY));
	char c;
	DO("read on O_WRONLY fd", read(fd, &c, 1));
	cl(fd);
	see_dir("listing", ".");
}

static void case_open_trunc(void)
{
	struct stat before, after;
	mkfile("create", "a", "hello world", 0644);
	see_stat("stat", "a", &before);
	set_old_times("set old times", "a");
	int fd = DOFD("O_WRONLY|O_TRUNC", open("a", O_WRONLY | O_TRUNC));
	see_fstat("fstat after O_TRUNC", fd, NULL);
	check_mtime_moved("O_TRUNC updates mtime", NULL, fd);
	DO("write", write(fd, "xy", 2));
	DO("close", close(fd));
	see_file("content", "a");
	see_stat("stat", "a", &after);
	check("O_TRUNC keeps the inode", before.st_ino == after.st_ino, "ino %llu then %llu",
	      (unsigned long long)before.st_ino, (unsigned long long)after.st_ino);
	fd = DOFD("O_RDWR|O_TRUNC|O_APPEND", open("a", O_RDWR | O_TRUNC | O_APPEND));
	see_fstat("fstat", fd, NULL);
	cl(fd);
	mkfile("refill", "a", "hello again", 0444);
	DO("chmod 0444", chmod("a", 0444));
	/* Linux truncates on O_RDONLY|O_TRUNC (POSIX leaves it unspecified). */
	fd = DOFD("O_RDONLY|O_TRUNC", open("a", O_RDONLY | O_TRUNC));
	see_fstat("fstat", fd, NULL);
	cl(fd);
	DO("mkdir", mkdir("d", 0755));
	cl(DOFD("O_TRUNC on directory", open("d", O_RDONLY | O_TRUNC)));
	cl(DOFD("O_WRONLY|O_TRUNC on directory", open("d", O_WRONLY | O_TRUNC)));
}

static void case_open_append(void)
{
	mkfile("create", "a", "0123456789", 0644);
	int fd = DOFD("O_WRONLY|O_APPEND", open("a", O_WRONLY | O_APPEND));
	DO("lseek 0", lseek(fd, 0, SEEK_SET));
	DO("write appends", write(fd, "AB", 2));
	DO("position after append", lseek(fd, 0, SEEK_CUR));
	see_file("content", "a");
	/* Linux appends even with pwrite on an O_APPEND descriptor. */
	DO("pwrite at 0 on O_APPEND", pwrite(fd, "P", 1, 0));
	see_file("content", "a");
	int fd2 = DOFD("second fd O_WRONLY", open("a", O_WRONLY));
	DO("extend through second fd", pwrite(fd2, "ZZZZ", 4, 20));
	DO("append after extension", write(fd, "C", 1));
	see_file("content", "a");
	see_stat("stat", "a", NULL);
	int fl = fcntl(fd, F_GETFL);
	see("F_GETFL has O_APPEND", "%d", fl >= 0 && (fl & O_APPEND));
	DO("F_SETFL clear O_APPEND", fcntl(fd, F_SETFL, 0));
	DO("lseek 1", lseek(fd, 1, SEEK_SET));
	DO("write in place", write(fd, "w", 1));
	see_file("content", "a");
	cl(fd);
	cl(fd2);
	fd = DOFD("O_RDWR|O_APPEND|O_CREAT new", open("b", O_RDWR | O_APPEND | O_CREAT, 0600));
	DO("write", write(fd, "one", 3));
	DO("write", write(fd, "two", 3));
	see_pread("pread 0", fd, 16, 0);
	DO("position", lseek(fd, 0, SEEK_CUR));
	cl(fd);
}

static void case_open_directory(void)
{
	mkfile("create file", "f", "x", 0644);
	DO("mkdir", mkdir("d", 0755));
	DO("symlink to dir", symlink("d", "ld"));
	DO("symlink to file", symlink("f", "lf"));
	cl(DOFD("O_DIRECTORY on file", open("f", O_RDONLY | O_DIRECTORY)));
	cl(DOFD("O_DIRECTORY on symlink to file", open("lf", O_RDONLY | O_DIRECTORY)));
	int fd = DOFD("O_DIRECTORY on dir", open("d", O_RDONLY | O_DIRECTORY));
	see_fstat("fstat dir fd", fd, NULL);
	char buf[8];
	DO("read on dir fd", read(fd, buf, sizeof(buf)));
	DO("pread on dir fd", pread(fd, buf, sizeof(buf), 0));
	DO("write on dir fd", write(fd, buf, 1));
	cl(fd);
	cl(DOFD("O_DIRECTORY on symlink to dir", open("ld", O_RDONLY | O_DIRECTORY)));
	cl(DOFD("O_DIRECTORY|O_NOFOLLOW on symlink to dir", open("ld", O_RDONLY | O_DIRECTORY | O_NOFOLLOW)));
	cl(DOFD("O_WRONLY on dir", open("d", O_WRONLY)));
	cl(DOFD("O_RDWR on dir", open("d", O_RDWR)));
	cl(DOFD("O_DIRECTORY on missing", open("missing", O_RDONLY | O_DIRECTORY)));
	cl(DOFD("O_CREAT|O_DIRECTORY on missing", open("new", O_CREAT | O_DIRECTORY | O_RDONLY, 0755)));
	see_lstat("nothing created", "new", NULL);
	fd = DOFD("openat relative to dir fd", open("d", O_RDONLY | O_DIRECTORY));
	int f2 = DOFD("openat O_CREAT", openat(fd, "inner", O_CREAT | O_WRONLY, 0640));
	cl(f2);
	see_stat("created via openat", "d/inner", NULL);
	cl(DOFD("openat .. escapes to parent", openat(fd, "../f", O_RDONLY)));
	cl(fd);
}

static void case_open_nofollow(void)
{
	mkfile("create file", "f", "data", 0644);
	DO("mkdir", mkdir("d", 0755));
	mkfile("create d/x", "d/x", "in d", 0644);
	DO("symlink l -> f", symlink("f", "l"));
	DO("symlink ld -> d", symlink("d", "ld"));
	DO("symlink dangling", symlink("nowhere", "dl"));
	cl(DOFD("O_NOFOLLOW on file", open("f", O_RDONLY | O_NOFOLLOW)));
	cl(DOFD("O_NOFOLLOW on symlink", open("l", O_RDONLY | O_NOFOLLOW)));
	cl(DOFD("O_NOFOLLOW through dir symlink", open("ld/x", O_RDONLY | O_NOFOLLOW)));
	cl(DOFD("O_NOFOLLOW|O_CREAT on symlink", open("l", O_WRONLY | O_CREAT | O_NOFOLLOW, 0644)));
	cl(DOFD("O_NOFOLLOW|O_CREAT on dangling", open("dl", O_WRONLY | O_CREAT | O_NOFOLLOW, 0644)));
	see_lstat("dangling target not created", "nowhere", NULL);
	int fd = DOFD("O_PATH|O_NOFOLLOW on symlink", open("l", O_PATH | O_NOFOLLOW));
	see_fstat("fstat O_PATH fd", fd, NULL);
	char buf[64] = "";
	long n = DO("readlinkat(fd, \"\")", readlinkat(fd, "", buf, sizeof(buf)));
	see("target", "%.*s", n > 0 ? (int)n : 0, buf);
	cl(fd);
	/* Without O_NOFOLLOW, O_CREAT on a dangling symlink creates the target. */
	fd = DOFD("O_CREAT through dangling symlink", open("dl", O_WRONLY | O_CREAT, 0600));
	cl(fd);
	see_lstat("target created", "nowhere", NULL);
	see_dir("listing", ".");
}

/* Creation modes under several umasks, for files, directories and O_CREAT special bits. */
static void case_creat_umask(void)
{
	static const mode_t masks[] = {022, 077, 0, 027, 0777};
	static const mode_t modes[] = {0777, 0666, 0640, 0600, 0755, 0444, 01777, 02755};
	char name[64], label[96];
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		umask(masks[i]);
		for (size_t j = 0; j < sizeof(modes) / sizeof(modes[0]); j++) {
			snprintf(name, sizeof(name), "f-u%03o-m%04o", (unsigned)masks[i], (unsigned)modes[j]);
			snprintf(label, sizeof(label), "create %s", name);
			cl(DOFD(label, open(name, O_CREAT | O_EXCL | O_WRONLY, modes[j])));
			see_stat(name, name, NULL);
			snprintf(name, sizeof(name), "d-u%03o-m%04o", (unsigned)masks[i], (unsigned)modes[j]);
			snprintf(label, sizeof(label), "mkdir %s", name);
			DO(label, mkdir(name, modes[j]));
			see_stat(name, name, NULL);
		}
	}
	umask(022);
	DO("creat()", creat("viacreat", 0751));
	see_stat("creat mode", "viacreat", NULL);
	see_dir("listing", ".");
}

static void case_sparse_4g(void)
{
	const off_t tail = 4 * GiB + 3 * 4096 + 7;
	const off_t far = 5 * GiB + 123;
	int fd = DOFD("create", open("s", O_CREAT | O_RDWR, 0644));
	DO("pwrite past 4 GiB", pwrite(fd, "TAILDATA", 8, tail));
	see_fstat("fstat", fd, NULL);
	DO("pwrite across 4 GiB", pwrite(fd, "CROSS!", 6, 4 * GiB - 3));
	DO("pwrite at 5 GiB", pwrite(fd, "far", 3, far));
	see_fstat("fstat", fd, NULL);
	see_stat("stat by name", "s", NULL);
	see_pread("read across 4 GiB", fd, 8, 4 * GiB - 3);
	see_pread("read tail", fd, 12, tail - 2);
	see_pread("read end", fd, 100, far);
	see_pread("read at EOF", fd, 10, far + 3);
	see_pread("read past EOF", fd, 10, 6 * GiB);
	see_zeros("hole at 2 GiB", fd, 2 * GiB, 65536);
	see_zeros("hole above 4 GiB", fd, 4 * GiB + 3, 3 * 4096 + 4);
	see_zeros("hole at 4.5 GiB", fd, 4 * GiB + GiB / 2, 1 << 20);
	see_zeros("hole at start", fd, 0, 4096);
	DO("lseek SEEK_END", lseek(fd, 0, SEEK_END));
	DO("lseek 3 GiB", lseek(fd, 3 * GiB, SEEK_SET));
	DO("write at 3 GiB", write(fd, "mid", 3));
	DO("position", lseek(fd, 0, SEEK_CUR));
	DO("close", close(fd));
	fd = DOFD("reopen O_RDONLY", open("s", O_RDONLY));
	see_pread("read at 3 GiB", fd, 3, 3 * GiB);
	see_pread("read at 5 GiB", fd, 3, far);
	cl(fd);
	fd = DOFD("reopen O_RDWR", open("s", O_RDWR));
	DO("ftruncate to 4 GiB + 1", ftruncate(fd, 4 * GiB + 1));
	see_fstat("fstat", fd, NULL);
	see_pread("last bytes", fd, 8, 4 * GiB - 3);
	DO("ftruncate to 8 GiB", ftruncate(fd, 8 * GiB));
	see_fstat("fstat", fd, NULL);
	see_zeros("grown region", fd, 8 * GiB - 65536, 65536);
	cl(fd);
	see_stat("final stat", "s", NULL);
}

static void fill_pattern(char *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('a' + (i * 7 + seed) % 26);
}

static void case_truncate(void)
{
	static char buf[10000];
	fill_pattern(buf, sizeof(buf), 3);
	int fd = DOFD("create", open("t", O_CREAT | O_RDWR, 0644));
	DO("write 10000", write(fd, buf, sizeof(buf)));
	set_old_times("set old times", "t");
	DO("truncate to 5000", truncate("t", 5000));
	check_mtime_moved("truncate updates mtime", "t", -1);
	see_stat("stat", "t", NULL);
	see_file("content", "t");
	DO("truncate to 20000", truncate("t", 20000));
	see_stat("stat", "t", NULL);
	see_file("content", "t");
	see_zeros("grown part", fd, 5000, 15000);
	see_pread("boundary", fd, 8, 4996);
	DO("ftruncate to 0", ftruncate(fd, 0));
	see_fstat("fstat", fd, NULL);
	DO("fd position kept", lseek(fd, 0, SEEK_CUR));
	DO("write at old position", write(fd, "end", 3));
	see_fstat("fstat", fd, NULL);
	see_zeros("hole before", fd, 0, 10000);
	DO("ftruncate to 1 GiB + 5", ftruncate(fd, GiB + 5));
	see_fstat("fstat", fd, NULL);
	see_pread("read at 1 GiB", fd, 16, GiB);
	DO("ftruncate to 3", ftruncate(fd, 3));
	see_file("content", "t");
	set_old_times("set old times", "t");
	DO("ftruncate grow to 4", ftruncate(fd, 4));
	check_mtime_moved("ftruncate updates mtime", NULL, fd);
	DO("truncate negative", truncate("t", -1));
	DO("ftruncate negative", ftruncate(fd, -1));
	cl(fd);
	DO("mkdir", mkdir("d", 0755));
	DO("truncate directory", truncate("d", 0));
	DO("truncate missing", truncate("missing", 0));
	fd = DOFD("open O_RDONLY", open("t", O_RDONLY));
	DO("ftruncate read-only fd", ftruncate(fd, 0));
	cl(fd);
	fd = DOFD("open dir", open("d", O_RDONLY | O_DIRECTORY));
	DO("ftruncate dir fd", ftruncate(fd, 0));
	cl(fd);
	DO("symlink", symlink("t", "lt"));
	DO("truncate through symlink", truncate("lt", 2));
	see_stat("target truncated", "t", NULL);
	see_lstat("symlink untouched", "lt", NULL);
	DO("chmod 0444", chmod("t", 0444));
	DO("truncate read-only file (root)", truncate("t", 1));
	see_file("content", "t");
}

static void case_seek(void)
{
	char buf[1000];
	fill_pattern(buf, sizeof(buf), 1);
	int fd = DOFD("create", open("f", O_CREAT | O_RDWR, 0644));
	DO("write 1000", write(fd, buf, sizeof(buf)));
	DO("SEEK_END 0", lseek(fd, 0, SEEK_END));
	DO("SEEK_END -10", lseek(fd, -10, SEEK_END));
	char rb[32];
	DO("read 20 near EOF", read(fd, rb, 20));
	DO("SEEK_CUR 0", lseek(fd, 0, SEEK_CUR));
	DO("read at EOF", read(fd, rb, 20));
	DO("SEEK_SET 5000", lseek(fd, 5000, SEEK_SET));
	DO("read past EOF", read(fd, rb, 20));
	DO("write past EOF", write(fd, "x", 1));
	see_fstat("fstat", fd, NULL);
	see_zeros("gap", fd, 1000, 4000);
	DO("SEEK_SET -1", lseek(fd, -1, SEEK_SET));
	DO("position unchanged", lseek(fd, 0, SEEK_CUR));
	DO("SEEK_CUR -100000", lseek(fd, -100000, SEEK_CUR));
	DO("SEEK_END -100000", lseek(fd, -100000, SEEK_END));
	DO("bad whence", lseek(fd, 0, 99));
	DO("SEEK_SET 1 TiB", lseek(fd, 1ll << 40, SEEK_SET));
	DO("read far away", read(fd, rb, 1));
	cl(fd);
	/* Only what a filesystem without hole tracking answers the same way: a dense file is
	 * all data, and past EOF there is no data. */
	fd = DOFD("create dense", open("dense", O_CREAT | O_RDWR, 0644));
	DO("write 1000", write(fd, buf, sizeof(buf)));
	DO("SEEK_DATA 0", lseek(fd, 0, SEEK_DATA));
	DO("SEEK_DATA 500", lseek(fd, 500, SEEK_DATA));
	DO("SEEK_HOLE 0", lseek(fd, 0, SEEK_HOLE));
	DO("SEEK_DATA at EOF", lseek(fd, 1000, SEEK_DATA));
	DO("SEEK_HOLE past EOF", lseek(fd, 2000, SEEK_HOLE));
	cl(fd);
	DO("mkdir", mkdir("d", 0755));
	fd = DOFD("open dir", open("d", O_RDONLY | O_DIRECTORY));
	DO("lseek dir to 0", lseek(fd, 0, SEEK_SET));
	cl(fd);
}

/* Deterministic content for the large transfer: a splitmix64 stream. */
static uint64_t stream_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void stream_fill(uint64_t *s, unsigned char *buf, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = stream_next(s);
		memcpy(buf + i, &v, n - i < 8 ? n - i : 8);
	}
}

static void case_large_rw(void)
{
	const size_t total = (size_t)pd_large_mib << 20;
	const size_t wchunk = 65536 + 17, rchunk = (1 << 20) - 3;
	unsigned char *buf = malloc(1 << 20);
	if (!buf)
		abort();
	uint64_t s = 42, h = FNV_INIT;
	int fd = DOFD("create", open("big", O_CREAT | O_WRONLY | O_TRUNC, 0644));
	size_t done = 0;
	ssize_t w = 0;
	while (done < total && fd >= 0) {
		size_t n = total - done < wchunk ? total - done : wchunk;
		n &= ~(size_t)7; /* keep the stream aligned; the tail is written below */
		if (n == 0)
			n = total - done;
		stream_fill(&s, buf, n);
		h = fnv1a(h, buf, n);
		w = write(fd, buf, n);
		if (w != (ssize_t)n)
			break;
		done += n;
	}
	if (done == total)
		see("sequential write", "complete");
	else
		see("sequential write", "stopped at %zu: %s", done, w < 0 ? errname(errno) : "short write");
	DO("fsync", fsync(fd));
	DO("close", close(fd));
	see_stat("stat", "big", NULL);
	fd = DOFD("reopen", open("big", O_RDONLY));
	uint64_t rh = FNV_INIT;
	size_t got = 0;
	ssize_t r = 0;
	while (fd >= 0 && (r = read(fd, buf, rchunk)) > 0) {
		rh = fnv1a(rh, buf, (size_t)r);
		got += (size_t)r;
	}
	see("sequential read", "%zu bytes%s", got, r < 0 ? " then error" : "");
	check("read checksum equals written", rh == h && got == total, "wrote %zu fnv %016llx, read %zu fnv %016llx",
	      total, (unsigned long long)h, got, (unsigned long long)rh);
	see("checksum", "%016llx", (unsigned long long)rh);
	/* Random-offset reads of the same data. */
	uint64_t rs = 7, mism = 0;
	for (int i = 0; i < 64 && fd >= 0; i++) {
		size_t off = (size_t)(stream_next(&rs) % (total / 8)) * 8;
		size_t n = 4096 + (size_t)(stream_next(&rs) % 8192);
		if (off + n > total)
			n = total - off;
		uint64_t es = 42 + (uint64_t)(off / 8) * 0x9e3779b97f4a7c15ull;
		unsigned char exp[16384];
		stream_fill(&es, exp, (n + 7) & ~(size_t)7);
		if (pread(fd, buf, n, (off_t)off) != (ssize_t)n || memcmp(buf, exp, n))
			mism++;
	}
	see("64 random preads match", "%llu mismatches", (unsigned long long)mism);
	cl(fd);
	DO("unlink", unlink("big"));
	free(buf);
}

static void see_map(const char *label, void *p)
{
	if (p == MAP_FAILED)
		see(label, "failed: %s", errname(errno));
	else
		see(label, "ok");
}

static void case_mmap_read(void)
{
	const size_t n = (1 << 20) + 333;
	unsigned char *buf = malloc(n);
	if (!buf)
		abort();
	uint64_t s = 9;
	stream_fill(&s, buf, n);
	int fd = DOFD("create", open("m", O_CREAT | O_RDWR | O_TRUNC, 0644));
	DO("write", write(fd, buf, n));
	DO("close", close(fd));
	fd = DOFD("open O_RDONLY", open("m", O_RDONLY));
	void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
	see_map("mmap MAP_PRIVATE", p);
	if (p != MAP_FAILED) {
		see("mapped bytes equal", "%d", memcmp(p, buf, n) == 0);
		see("tail of last page is zero", "%d", ((unsigned char *)p)[n] == 0);
		munmap(p, n);
	} else {
		see("mapped bytes equal", "n/a");
		see("tail of last page is zero", "n/a");
	}
	p = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, 0);
	see_map("mmap MAP_SHARED read-only", p);
	if (p != MAP_FAILED) {
		see("mapped bytes equal", "%d", memcmp(p, buf, n) == 0);
		munmap(p, n);
	} else {
		see("mapped bytes equal", "n/a");
	}
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	see_map("mmap MAP_SHARED writable on O_RDONLY fd", p);
	if (p != MAP_FAILED)
		munmap(p, n);
	cl(fd);
	free(buf);
}

static void case_fsync(void)
{
	int fd = DOFD("create", open("f", O_CREAT | O_RDWR, 0644));
	DO("write", write(fd, "data", 4));
	DO("fsync file", fsync(fd));
	DO("fdatasync file", fdatasync(fd));
	DO("syncfs", syncfs(fd));
	DO("sync_file_range", sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER));
	cl(fd);
	fd = DOFD("open O_RDONLY", open("f", O_RDONLY));
	DO("fsync read-only fd", fsync(fd));
	DO("fdatasync read-only fd", fdatasync(fd));
	cl(fd);
	DO("mkdir", mkdir("d", 0755));
	fd = DOFD("open dir", open("d", O_RDONLY | O_DIRECTORY));
	DO("fsync dir", fsync(fd));
	DO("fdatasync dir", fdatasync(fd));
	cl(fd);
	fd = DOFD("open cwd", open(".", O_RDONLY | O_DIRECTORY));
	DO("fsync case dir", fsync(fd));
	cl(fd);
	fd = DOFD("open O_PATH", open("f", O_PATH));
	DO("fsync O_PATH fd", fsync(fd));
	cl(fd);
	fd = DOFD("open O_SYNC", open("f", O_WRONLY | O_SYNC));
	DO("write O_SYNC", write(fd, "sync", 4));
	cl(fd);
	fd = DOFD("open O_DSYNC", open("f", O_WRONLY | O_DSYNC | O_APPEND));
	DO("write O_DSYNC", write(fd, "dsync", 5));
	cl(fd);
	see_file("content", "f");
}

/* An unlinked file stays usable through its open descriptors. */
static void case_unlink_open(void)
{
	int fd = DOFD("create", open("u", O_CREAT | O_RDWR, 0644));
	DO("write", write(fd, "hello", 5));
	int fd2 = DOFD("second open", open("u", O_RDONLY));
	struct stat st1, st2;
	DO("unlink", unlink("u"));
	see_lstat("name gone", "u", NULL);
	see_fstat("fstat after unlink", fd, &st1);
	see_fd_data("read after unlink", fd);
	DO("pwrite at 100", pwrite(fd, "late", 4, 100));
	see_fstat("fstat", fd, NULL);
	see_pread("read back", fd, 8, 100);
	see_zeros("hole", fd, 5, 95);
	see_fd_data("second fd sees it", fd2);
	DO("ftruncate 3", ftruncate(fd, 3));
	see_fstat("fstat", fd, NULL);
	see_fd_data("content", fd);
	DO("fchmod 0600", fchmod(fd, 0600));
	see_fstat("fstat", fd, NULL);
	DO("fchown 1234:5678", fchown(fd, 1234, 5678));
	see_fstat("fstat", fd, NULL);
	struct timespec t[2] = {{1200000000, 0}, {1300000000, 0}};
	DO("futimens", futimens(fd, t));
	see_fstat("fstat second fd", fd2, &st2);
	see("times via second fd", "%lld.%09ld %lld.%09ld", (long long)st2.st_atim.tv_sec, st2.st_atim.tv_nsec,
	    (long long)st2.st_mtim.tv_sec, st2.st_mtim.tv_nsec);
	check("same inode through both fds", st1.st_ino == st2.st_ino, "ino %llu vs %llu",
	      (unsigned long long)st1.st_ino, (unsigned long long)st2.st_ino);
	DO("fsync", fsync(fd));
	mkfile("recreate name", "u", "new file", 0644);
	see_file("new file", "u");
	see_fd_data("old fd unaffected", fd);
	see_dir("listing", ".");
	DO("close", close(fd));
	DO("close second", close(fd2));
	/* A removed directory that is still open. */
	DO("mkdir", mkdir("d", 0755));
	fd = DOFD("open dir", open("d", O_RDONLY | O_DIRECTORY));
	DO("rmdir", rmdir("d"));
	struct stat sd;
	int r = fstat(fd, &sd);
	if (r < 0)
		see("fstat removed dir", "-1 %s", errname(errno));
	else
		see("fstat removed dir", "%s nlink %lu", ftype(sd.st_mode), (unsigned long)sd.st_nlink);
	char dbuf[4096];
	DO("getdents on removed dir", syscall(SYS_getdents64, fd, dbuf, sizeof(dbuf)));
	cl(DOFD("create in removed dir", openat(fd, "x", O_CREAT | O_WRONLY, 0644)));
	DO("mkdirat in removed dir", mkdirat(fd, "x", 0755));
	cl(fd);
	see_dir("listing", ".");
}

static void case_statfs(void)
{
	struct statfs sf;
	struct statvfs sv;
	int r = DO("statfs", statfs(".", &sf));
	check("f_bsize > 0", r == 0 && sf.f_bsize > 0, "f_bsize %ld", (long)sf.f_bsize);
	check("f_namelen > 0", r == 0 && sf.f_namelen > 0, "f_namelen %ld", (long)sf.f_namelen);
	check("f_bfree <= f_blocks", r == 0 && sf.f_bfree <= sf.f_blocks, "blocks %llu bfree %llu",
	      (unsigned long long)sf.f_blocks, (unsigned long long)sf.f_bfree);
	check("f_bavail <= f_blocks", r == 0 && sf.f_bavail <= sf.f_blocks, "blocks %llu bavail %llu",
	      (unsigned long long)sf.f_blocks, (unsigned long long)sf.f_bavail);
	check("f_ffree <= f_files", r == 0 && (sf.f_files == 0 || sf.f_ffree <= sf.f_files), "files %llu ffree %llu",
	      (unsigned long long)sf.f_files, (unsigned long long)sf.f_ffree);
	r = DO("statvfs", statvfs(".", &sv));
	check("f_frsize > 0", r == 0 && sv.f_frsize > 0, "f_frsize %lu", sv.f_frsize);
	check("f_namemax > 0", r == 0 && sv.f_namemax > 0, "f_namemax %lu", sv.f_namemax);
	mkfile("create", "f", "x", 0644);
	int fd = DOFD("open", open("f", O_RDONLY));
	DO("fstatfs", fstatfs(fd, &sf));
	DO("fstatvfs", fstatvfs(fd, &sv));
	cl(fd);
	DO("statfs on a file", statfs("f", &sf));
	DO("statfs missing", statfs("missing", &sf));
}

#endif
