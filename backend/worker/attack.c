// SPDX-License-Identifier: GPL-2.0-or-later
/* Self-attacks of test builds; see attack.h. */
#define G_LOG_DOMAIN "x9p-worker"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "worker/attack.h"

#ifdef X9P_SELF_ATTACK

static const char *const names[X9P_ATTACK_MAX + 1] = {
	NULL, "open a host file", "connect to XenStore", "map a grant", "bind an event channel",
	"ptrace the monitor", "kill the monitor", "socket(AF_INET)", "execve",
};

static int try_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int xenstore(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int rc = try_open("/dev/xen/xenbus"), s;

	if (rc == 0)
		return 0;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	strcpy(sun.sun_path, "/var/run/xenstored/socket");
	rc = connect(s, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
	close(s);
	return rc;
}

bool x9p_attack_available(void)
{
	return true;
}

void x9p_attack(unsigned which, pid_t monitor)
{
	char *const argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)"true", NULL };
	int rc = -EINVAL, s;

	if (which == 0 || which > X9P_ATTACK_MAX)
		return;
	g_message("self-attack %u (%s): trying", which, names[which]);
	switch (which) {
	case 1:
		rc = try_open("/etc/passwd");
		break;
	case 2:
		rc = xenstore();
		break;
	case 3:
		rc = try_open("/dev/xen/gntdev");
		break;
	case 4:
		rc = try_open("/dev/xen/evtchn");
		break;
	case 5:
		rc = ptrace(PTRACE_ATTACH, monitor, NULL, NULL) < 0 ? -errno : 0;
		break;
	case 6:
		rc = kill(monitor, SIGKILL) < 0 ? -errno : 0;
		break;
	case 7:
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		rc = s < 0 ? -errno : 0;
		if (s >= 0)
			close(s);
		break;
	case 8:
		execve(argv[0], argv, NULL);
		rc = -errno;
		break;
	}
	if (rc == 0)
		g_critical("self-attack %u (%s): SUCCEEDED", which, names[which]);
	else
		g_message("self-attack %u (%s): refused (%s)", which, names[which],
			  g_strerror(-rc));
}

#else

bool x9p_attack_available(void)
{
	return false;
}

void x9p_attack(unsigned which, pid_t monitor)
{
}

#endif
