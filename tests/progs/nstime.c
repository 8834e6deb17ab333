/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nstime: prints the current time in nanoseconds as one decimal integer and a newline
 * (busybox date has no %N).  For timing boots and steps in guest scripts.
 *
 *   nstime            CLOCK_REALTIME (nanoseconds since the epoch)
 *   nstime -m         CLOCK_MONOTONIC
 *   nstime -b         CLOCK_BOOTTIME (includes time suspended; starts at guest boot)
 *   nstime -s ...     seconds with 9 decimals instead ("1712345678.123456789")
 *
 * Exit 0, or 2 on a bad option or a failing clock.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	clockid_t clk = CLOCK_REALTIME;
	int seconds = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-m"))
			clk = CLOCK_MONOTONIC;
		else if (!strcmp(argv[i], "-b"))
			clk = CLOCK_BOOTTIME;
		else if (!strcmp(argv[i], "-s"))
			seconds = 1;
		else {
			fprintf(stderr, "usage: nstime [-m|-b] [-s]\n");
			return 2;
		}
	}
	struct timespec ts;
	if (clock_gettime(clk, &ts) < 0) {
		perror("nstime: clock_gettime");
		return 2;
	}
	if (seconds)
		printf("%lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
	else if (ts.tv_sec)
		printf("%lld%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
	else /* no leading zeros: shells read those as octal */
		printf("%ld\n", ts.tv_nsec);
	return 0;
}
